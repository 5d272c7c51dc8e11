//! DHCP (RFC 2131/2132) and DHCPv6 (RFC 8415) messages: what a device calls itself. A client
//! sends its host name (option 12, or the Client FQDN of RFC 4702 / RFC 4704) and a client
//! identifier (option 61, DHCPv6 option 1); servers echo the name in their ACK with the address
//! they lease (`yiaddr`). Pure functions over the UDP payload; hostile bytes give `None`.

use std::net::Ipv4Addr;

use crate::extract::name;
pub use crate::model::DhcpClient;

/// BOOTP fixed header (op … file) before the magic cookie.
const BOOTP_FIXED: usize = 236;
const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];

/// At most this many bytes of a host name or identifier are kept (RFC 1035 names are ≤ 255).
const MAX_NAME: usize = 255;
const MAX_ID: usize = 64;

/// Reads a DHCPv4 message (UDP 67/68). `None` when it is not one or says nothing about a device.
pub fn parse_v4(payload: &[u8]) -> Option<DhcpClient> {
    let fixed = payload.get(..BOOTP_FIXED)?;
    let op = fixed[0];
    if op != 1 && op != 2 {
        return None;
    }
    if payload.get(BOOTP_FIXED..BOOTP_FIXED + 4)? != MAGIC_COOKIE {
        return None;
    }
    let (htype, hlen) = (fixed[1], fixed[2]);
    let ip = |at: usize| Ipv4Addr::new(fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]);
    let (ciaddr, yiaddr) = (ip(12), ip(16));
    let mut out = DhcpClient { from_client: op == 1, ..DhcpClient::default() };
    if htype == 1 && hlen == 6 {
        let mut mac = [0; 6];
        mac.copy_from_slice(&fixed[28..34]);
        out.mac = Some(mac);
    }
    let mut msg_type = None;
    let mut fqdn = None;
    let mut options = &payload[BOOTP_FIXED + 4..];
    while let Some((&code, rest)) = options.split_first() {
        match code {
            0 => {
                options = rest;
                continue;
            }
            255 => break,
            _ => {}
        }
        let (&len, rest) = rest.split_first()?;
        let data = rest.get(..usize::from(len))?;
        options = &rest[usize::from(len)..];
        match code {
            53 => msg_type = data.first().copied(),
            12 if !data.is_empty() => out.host_name = Some(text_name(data)),
            61 if !data.is_empty() => out.client_id = Some(hex_id(data)),
            // RFC 4702: flags, RCODE1, RCODE2, then the name (wire format when flag E is set).
            81 if data.len() > 3 => fqdn = Some((data[0] & 0x04 != 0, &data[3..])),
            _ => {}
        }
    }
    if out.host_name.is_none()
        && let Some((wire, name)) = fqdn
    {
        out.host_name = if wire { wire_name(name) } else { Some(text_name(name)) };
    }
    out.addr = match msg_type {
        Some(5) if !yiaddr.is_unspecified() => Some(yiaddr),
        _ if !ciaddr.is_unspecified() => Some(ciaddr),
        _ => None,
    };
    (!out.is_empty()).then_some(out)
}

/// Reads a DHCPv6 client message (UDP 546 → 547: Solicit, Request, Renew, Rebind,
/// Information-request) for its DUID (option 1) and Client FQDN (option 39, RFC 4704).
pub fn parse_v6(payload: &[u8]) -> Option<DhcpClient> {
    let (&msg_type, rest) = payload.split_first()?;
    if !matches!(msg_type, 1 | 3 | 5 | 6 | 11) {
        return None;
    }
    let mut options = rest.get(3..)?;
    let mut out = DhcpClient { from_client: true, ..DhcpClient::default() };
    while options.len() >= 4 {
        let code = u16::from_be_bytes([options[0], options[1]]);
        let len = usize::from(u16::from_be_bytes([options[2], options[3]]));
        let Some(data) = options.get(4..4 + len) else { break };
        match code {
            1 if !data.is_empty() => out.client_id = Some(hex_id(data)),
            39 if data.len() > 1 => out.host_name = wire_name(&data[1..]),
            _ => {}
        }
        options = &options[4 + len..];
    }
    (!out.is_empty()).then_some(out)
}

/// A host name sent as text (option 12, RFC 2132 §3.14): one label's worth of escaping rules
/// for each dot-separated part, so that no byte reaches an output unescaped.
fn text_name(data: &[u8]) -> String {
    let data = &data[..data.len().min(MAX_NAME)];
    // Some clients NUL-terminate it.
    let data = data.split(|&b| b == 0).next().unwrap_or_default();
    name::host_presentation(data)
}

/// A name in DNS wire format (labels, possibly without the root: RFC 4704 §4.2).
fn wire_name(mut data: &[u8]) -> Option<String> {
    let mut out = String::new();
    let mut total = 0;
    while let Some((&len, rest)) = data.split_first() {
        if len == 0 || len > 63 {
            break;
        }
        let label = rest.get(..usize::from(len))?;
        total += label.len() + 1;
        if total > MAX_NAME {
            return None;
        }
        if !out.is_empty() {
            out.push('.');
        }
        name::push_label(&mut out, label);
        data = &rest[usize::from(len)..];
    }
    (!out.is_empty()).then_some(out)
}

fn hex_id(data: &[u8]) -> String {
    let data = &data[..data.len().min(MAX_ID)];
    let mut s = String::with_capacity(data.len() * 3);
    for (i, b) in data.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// A BOOTP message: the first 34 bytes (op … chaddr's 6 bytes), zeros to byte 236 (the rest of
    /// chaddr, sname, file), then the magic cookie and the options.
    fn bootp(head: &str, options: &str) -> Vec<u8> {
        let mut v = hex(head);
        v.resize(BOOTP_FIXED, 0);
        v.extend(hex(options));
        v
    }

    /// captures/email/mail-opens-gateway.pcap frame 3: dhclient's DHCPREQUEST for alice-laptop.
    fn alice_request() -> Vec<u8> {
        bootp(
            "010106008d8591150000000000000000000000000000000000000000029900000101",
            "6382536335010336040a63000132040a6300650c0c616c6963652d6c6170746f703707011c03060f0c1a3d07\
             01029900000101ff000000000000000000000000",
        )
    }

    /// Frame 8: dnsmasq's DHCPACK to bob-phone (yiaddr 10.99.0.102, host name echoed).
    fn bob_ack() -> Vec<u8> {
        bootp(
            "02010600ac08f35a00000000000000000a6300660a63000100000000029900000102",
            "6382536335010536040a630001330400000e103a04000007083b0400000c4e0104ffff00001c040a63ffff0c\
             09626f622d70686f6e6506040a63000103040a630001ff",
        )
    }

    #[test]
    fn real_request_and_ack() {
        let req = alice_request();
        assert_eq!(req.len(), 300);
        assert_eq!(bob_ack().len(), 303);
        let a = parse_v4(&req).unwrap();
        assert_eq!(a.host_name.as_deref(), Some("alice-laptop"));
        assert_eq!(a.client_id.as_deref(), Some("01:02:99:00:00:01:01"));
        assert_eq!(a.mac, Some([0x02, 0x99, 0, 0, 1, 1]));
        assert_eq!(a.addr, None, "a REQUEST from 0.0.0.0 has no address yet");
        assert!(a.from_client);
        let ack = bob_ack();
        let b = parse_v4(&ack).unwrap();
        assert_eq!(b.host_name.as_deref(), Some("bob-phone"));
        assert_eq!(b.mac, Some([0x02, 0x99, 0, 0, 1, 2]));
        assert_eq!(b.addr, Some(Ipv4Addr::new(10, 99, 0, 102)));
        assert!(!b.from_client);
    }

    #[test]
    fn hostile_bytes_never_panic_and_names_are_escaped() {
        let mut req = alice_request();
        // Every truncation.
        for n in 0..req.len() {
            let _ = parse_v4(&req[..n]);
            let _ = parse_v6(&req[..n]);
        }
        // A host name with a quote, a newline and a NUL-terminated tail.
        let at = req.windows(2).position(|w| w == [12, 12]).unwrap();
        req[at + 2..at + 14].copy_from_slice(b"a\"b\nc\0xxxxxx");
        let a = parse_v4(&req).unwrap();
        assert_eq!(a.host_name.as_deref(), Some("a\"b\\010c"), "the newline is escaped, the NUL ends it");
        // An option length past the end.
        let mut bad = alice_request();
        let at = bad.windows(2).position(|w| w == [12, 12]).unwrap();
        bad[at + 1] = 250;
        assert!(parse_v4(&bad).is_none_or(|c| c.host_name.is_none()));
    }

    #[test]
    fn dhcpv6_solicit_with_duid_and_fqdn() {
        // Solicit, xid 0x0a0b0c, Client ID (DUID-LL, Ethernet 02:99:00:00:01:01),
        // Client FQDN flags 0x01 "alice-laptop.home" in wire format.
        let mut m = vec![1, 0x0a, 0x0b, 0x0c];
        m.extend_from_slice(&[0, 1, 0, 10, 0, 3, 0, 1, 2, 0x99, 0, 0, 1, 1]);
        let mut fqdn = vec![1u8, 12];
        fqdn.extend_from_slice(b"alice-laptop");
        fqdn.push(4);
        fqdn.extend_from_slice(b"home");
        m.extend_from_slice(&[0, 39, 0, fqdn.len() as u8]);
        m.extend_from_slice(&fqdn);
        let c = parse_v6(&m).unwrap();
        assert_eq!(c.host_name.as_deref(), Some("alice-laptop.home"));
        assert_eq!(c.client_id.as_deref(), Some("00:03:00:01:02:99:00:00:01:01"));
        // A server's Advertise (2) is not a client's message.
        m[0] = 2;
        assert!(parse_v6(&m).is_none());
    }
}

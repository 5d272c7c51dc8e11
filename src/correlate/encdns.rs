//! Encrypted DNS awareness: connections to DNS-over-TLS (RFC 7858, port 853), DNS-over-QUIC
//! (RFC 9250, UDP 853) and DNS-over-HTTPS (RFC 8484) resolvers. A client using one is invisible
//! to DNS-based detection from then on; the metric lets a user see that.
//!
//! DoH runs on port 443 like any web traffic, so it is recognised by the SNI of well-known public
//! endpoints, or — for connections that show no name — by the resolvers' well-known addresses.

use std::net::IpAddr;

use crate::model::{FlowTuple, Transport};

/// Well-known DoH/DoT endpoints (the resolvers' own documentation) → operator (a bounded label).
const ENDPOINTS: &[(&str, &str)] = &[
    ("dns.google", "Google"),
    ("dns.google.com", "Google"),
    ("8888.google", "Google"),
    ("cloudflare-dns.com", "Cloudflare"),
    ("one.one.one.one", "Cloudflare"),
    ("1dot1dot1dot1.cloudflare-dns.com", "Cloudflare"),
    ("mozilla.cloudflare-dns.com", "Cloudflare"),
    ("chrome.cloudflare-dns.com", "Cloudflare"),
    ("security.cloudflare-dns.com", "Cloudflare"),
    ("family.cloudflare-dns.com", "Cloudflare"),
    ("dns.quad9.net", "Quad9"),
    ("dns9.quad9.net", "Quad9"),
    ("dns10.quad9.net", "Quad9"),
    ("dns11.quad9.net", "Quad9"),
    ("doh.opendns.com", "OpenDNS"),
    ("dns.opendns.com", "OpenDNS"),
    ("doh.familyshield.opendns.com", "OpenDNS"),
    ("dns.nextdns.io", "NextDNS"),
    ("dns.adguard-dns.com", "AdGuard"),
    ("dns.adguard.com", "AdGuard"),
    ("unfiltered.adguard-dns.com", "AdGuard"),
    ("family.adguard-dns.com", "AdGuard"),
    ("doh.cleanbrowsing.org", "CleanBrowsing"),
    ("dns.mullvad.net", "Mullvad"),
    ("doh.mullvad.net", "Mullvad"),
    ("base.dns.mullvad.net", "Mullvad"),
    ("dns.controld.com", "Control D"),
    ("freedns.controld.com", "Control D"),
    ("doh.dns.sb", "DNS.SB"),
    ("dns0.eu", "dns0.eu"),
    ("ordns.he.net", "Hurricane Electric"),
    ("dns.alidns.com", "AliDNS"),
    ("doh.pub", "DNSPod"),
    ("dns.pub", "DNSPod"),
    ("doh.libredns.gr", "LibreDNS"),
];

/// Well-known anycast addresses of the same operators (for connections without a name).
const ADDRESSES: &[(&str, &str)] = &[
    ("8.8.8.8", "Google"),
    ("8.8.4.4", "Google"),
    ("2001:4860:4860::8888", "Google"),
    ("2001:4860:4860::8844", "Google"),
    ("1.1.1.1", "Cloudflare"),
    ("1.0.0.1", "Cloudflare"),
    ("2606:4700:4700::1111", "Cloudflare"),
    ("2606:4700:4700::1001", "Cloudflare"),
    ("9.9.9.9", "Quad9"),
    ("149.112.112.112", "Quad9"),
    ("2620:fe::fe", "Quad9"),
    ("2620:fe::9", "Quad9"),
    ("208.67.222.222", "OpenDNS"),
    ("208.67.220.220", "OpenDNS"),
    ("94.140.14.14", "AdGuard"),
    ("94.140.15.15", "AdGuard"),
    ("185.228.168.168", "CleanBrowsing"),
    ("194.242.2.2", "Mullvad"),
];

/// The DoT/DoQ port (RFC 7858 §3.1, RFC 9250 §4.1.1).
pub const ENCRYPTED_DNS_PORT: u16 = 853;

/// Every resolver label value, for the metric's documentation and tests.
pub fn resolver_labels() -> impl Iterator<Item = &'static str> {
    let mut v: Vec<&'static str> = ENDPOINTS.iter().chain(ADDRESSES).map(|(_, op)| *op).collect();
    v.push("other");
    v.sort_unstable();
    v.dedup();
    v.into_iter()
}

/// The operator of a well-known DoH/DoT endpoint name (exact or a subdomain, e.g.
/// `abc123.dns.nextdns.io`), case-insensitively.
pub fn endpoint_operator(name: &str) -> Option<&'static str> {
    let name = name.strip_suffix('.').unwrap_or(name);
    ENDPOINTS.iter().find_map(|(host, op)| {
        let matches = name.len() >= host.len()
            && name.get(name.len() - host.len()..).is_some_and(|tail| tail.eq_ignore_ascii_case(host))
            && (name.len() == host.len() || name.as_bytes().get(name.len() - host.len() - 1) == Some(&b'.'));
        matches.then_some(*op)
    })
}

fn address_operator(addr: IpAddr) -> Option<&'static str> {
    ADDRESSES.iter().find_map(|(a, op)| (a.parse::<IpAddr>().ok() == Some(addr)).then_some(*op))
}

/// A flow with a name (TLS or QUIC SNI): (operator, protocol) when it is encrypted DNS.
pub fn classify_named(name: &str, flow: &FlowTuple) -> Option<(&'static str, &'static str)> {
    let operator = endpoint_operator(name);
    if flow.dport == ENCRYPTED_DNS_PORT {
        let protocol = if flow.transport == Transport::Udp { "doq" } else { "dot" };
        return Some((operator.unwrap_or("other"), protocol));
    }
    operator.map(|op| (op, if flow.transport == Transport::Udp { "doh3" } else { "doh" }))
}

/// A flow that shows no name: encrypted DNS when it goes to port 853, or to a resolver's
/// well-known address on 443.
pub fn classify_unnamed(flow: &FlowTuple) -> Option<(&'static str, &'static str)> {
    let operator = address_operator(flow.dst);
    match flow.dport {
        ENCRYPTED_DNS_PORT => {
            Some((operator.unwrap_or("other"), if flow.transport == Transport::Udp { "doq" } else { "dot" }))
        }
        443 => operator.map(|op| (op, if flow.transport == Transport::Udp { "doh3" } else { "doh" })),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(transport: Transport, dst: &str, dport: u16) -> FlowTuple {
        FlowTuple { transport, src: "192.168.1.10".parse().unwrap(), dst: dst.parse().unwrap(), sport: 50000, dport }
    }

    #[test]
    fn resolvers_by_name_port_and_address() {
        let tls = flow(Transport::Tcp, "203.0.113.5", 443);
        assert_eq!(classify_named("dns.google", &tls), Some(("Google", "doh")));
        assert_eq!(classify_named("Mozilla.Cloudflare-DNS.com.", &tls), Some(("Cloudflare", "doh")));
        assert_eq!(classify_named("abc123.dns.nextdns.io", &tls), Some(("NextDNS", "doh")));
        assert_eq!(classify_named("notdns.google", &tls), None, "label boundary");
        assert_eq!(classify_named("www.google-analytics.com", &tls), None);
        assert_eq!(classify_named("dns.quad9.net", &flow(Transport::Tcp, "9.9.9.9", 853)), Some(("Quad9", "dot")));
        assert_eq!(
            classify_named("resolver.example", &flow(Transport::Udp, "198.51.100.1", 853)),
            Some(("other", "doq"))
        );
        assert_eq!(classify_unnamed(&flow(Transport::Tcp, "1.1.1.1", 443)), Some(("Cloudflare", "doh")));
        assert_eq!(classify_unnamed(&flow(Transport::Tcp, "198.51.100.1", 853)), Some(("other", "dot")));
        assert_eq!(classify_unnamed(&flow(Transport::Tcp, "198.51.100.1", 443)), None);
        assert!(resolver_labels().count() < 20, "bounded label set");
    }
}

//! Capture link layers (libpcap `LINKTYPE_*`): dispatch, plus the small non-Ethernet headers
//! (Linux cooked SLL/SLL2, BSD NULL/LOOP, raw IP, PPP, Cisco HDLC, NFLOG, FDDI).
//!
//! Header layouts follow <https://www.tcpdump.org/linktypes.html> and the per-type pages it links.

use super::{Cx, Layer, Next, be16, error, ether, skipped};

/// libpcap link-type values handled by [`start`] (`LINKTYPE_*`; `DLT_RAW` is 12 or 14 on Linux/BSD).
pub mod linktype {
    pub const NULL: i32 = 0;
    pub const ETHERNET: i32 = 1;
    pub const PPP: i32 = 9;
    pub const FDDI: i32 = 10;
    pub const DLT_RAW: i32 = 12;
    pub const DLT_RAW_BSD: i32 = 14;
    pub const RAW: i32 = 101;
    pub const C_HDLC: i32 = 104;
    pub const IEEE802_11: i32 = 105;
    pub const LOOP: i32 = 108;
    pub const LINUX_SLL: i32 = 113;
    pub const IEEE802_11_RADIOTAP: i32 = 127;
    pub const IPV4: i32 = 228;
    pub const IPV6: i32 = 229;
    pub const NFLOG: i32 = 239;
    pub const LINUX_SLL2: i32 = 276;

    /// Every link type the decoder reads, e.g. for fuzzing.
    pub const SUPPORTED: [i32; 16] = [
        NULL,
        ETHERNET,
        PPP,
        FDDI,
        DLT_RAW,
        DLT_RAW_BSD,
        RAW,
        C_HDLC,
        IEEE802_11,
        LOOP,
        LINUX_SLL,
        IEEE802_11_RADIOTAP,
        IPV4,
        IPV6,
        NFLOG,
        LINUX_SLL2,
    ];
}

/// Chooses the first header from the capture's link type.
pub(super) fn start<'a>(cx: &mut Cx<'a, '_>, linktype: i32, data: &'a [u8]) -> Next<'a> {
    use linktype::*;
    match linktype {
        ETHERNET => Next::Ethernet(data),
        DLT_RAW | DLT_RAW_BSD | RAW => Next::Ip(data),
        IPV4 => raw_version(data, 4),
        IPV6 => raw_version(data, 6),
        NULL => null(data),
        LOOP => loopback(data),
        LINUX_SLL => sll(cx, data),
        LINUX_SLL2 => sll2(cx, data),
        PPP => ppp_frame(data),
        C_HDLC => cisco_hdlc(data),
        IEEE802_11 => Next::Ieee80211(data),
        IEEE802_11_RADIOTAP => super::wlan::radiotap(data),
        NFLOG => nflog(data),
        FDDI => fddi(data),
        _ => error(Layer::Link),
    }
}

/// LINKTYPE_IPV4 / LINKTYPE_IPV6: raw IP of one version only.
fn raw_version(data: &[u8], version: u8) -> Next<'_> {
    match data.first() {
        Some(b) if b >> 4 == version => Next::Ip(data),
        _ => error(Layer::Ip),
    }
}

/// BSD address family values that mean IPv4 or IPv6 (the IPv6 value differs per OS:
/// 24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS).
fn af_is_ip(af: u32) -> bool {
    matches!(af, 2 | 24 | 28 | 30)
}

/// LINKTYPE_NULL: a 4-byte address family in the byte order of the host that wrote the file.
/// Both orders are accepted: a real family is small, so the wrong order gives a value ≥ 2^16.
fn null(data: &[u8]) -> Next<'_> {
    let (Some(h), Some(rest)) = (data.get(..4), data.get(4..)) else {
        return error(Layer::Link);
    };
    let Ok(h): Result<[u8; 4], _> = h.try_into() else {
        return error(Layer::Link);
    };
    let le = u32::from_le_bytes(h);
    let af = if le < 0x1_0000 { le } else { u32::from_be_bytes(h) };
    if af_is_ip(af) { Next::Ip(rest) } else { skipped() }
}

/// LINKTYPE_LOOP (OpenBSD loopback): like NULL, but the family is always big-endian.
fn loopback(data: &[u8]) -> Next<'_> {
    match (super::be32(data, 0), data.get(4..)) {
        (Some(af), Some(rest)) if af_is_ip(af) => Next::Ip(rest),
        (Some(_), Some(_)) => skipped(),
        _ => error(Layer::Link),
    }
}

/// `ARPHRD_ETHER`: the SLL address is a 6-byte MAC.
const ARPHRD_ETHER: u16 = 1;

/// LINKTYPE_LINUX_SLL: packet type (2), ARPHRD type (2), address length (2), address (8),
/// protocol (2). The protocol is an EtherType, or 0x0004 for 802.2 LLC frames.
fn sll<'a>(cx: &mut Cx<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let (Some(hatype), Some(halen), Some(proto), Some(rest)) =
        (be16(data, 2), be16(data, 4), be16(data, 14), data.get(16..))
    else {
        return error(Layer::Link);
    };
    sll_common(cx, hatype, halen, data.get(6..12), proto, rest)
}

/// LINKTYPE_LINUX_SLL2: protocol (2), reserved (2), interface index (4), ARPHRD type (2),
/// packet type (1), address length (1), address (8): 20 bytes.
fn sll2<'a>(cx: &mut Cx<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let (Some(proto), Some(hatype), Some(&halen), Some(rest)) =
        (be16(data, 0), be16(data, 8), data.get(11), data.get(20..))
    else {
        return error(Layer::Link);
    };
    sll_common(cx, hatype, u16::from(halen), data.get(12..18), proto, rest)
}

fn sll_common<'a>(
    cx: &mut Cx<'a, '_>,
    hatype: u16,
    halen: u16,
    addr: Option<&[u8]>,
    proto: u16,
    rest: &'a [u8],
) -> Next<'a> {
    if hatype == ARPHRD_ETHER && halen == 6 && cx.src_mac.is_none() {
        cx.src_mac = addr.and_then(|a| a.try_into().ok());
    }
    match proto {
        0x0004 => ether::llc(rest),
        0..0x0600 => skipped(),
        _ => Next::EtherType(proto, rest),
    }
}

/// PPP in HDLC-like framing (RFC 1662 §3.1): optional Address 0xFF and Control 0x03 (they may be
/// omitted under Address-and-Control-Field-Compression, RFC 1661 §6.6), then the Protocol field.
pub(super) fn ppp_frame(data: &[u8]) -> Next<'_> {
    match data {
        [0xff, 0x03, rest @ ..] => Next::Ppp(rest),
        _ => Next::Ppp(data),
    }
}

/// PPP Protocol field (RFC 1661 §2), 1 byte when Protocol-Field-Compression applies (§6.5: the
/// low bit of the last protocol byte is 1). 0x0021 IPv4 (RFC 1332), 0x0057 IPv6 (RFC 5072),
/// 0x0281 MPLS unicast (RFC 3032 §5).
pub(super) fn ppp_protocol(data: &[u8]) -> Next<'_> {
    let (proto, rest) = match data {
        [p, rest @ ..] if p & 1 == 1 => (u16::from(*p), rest),
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => return error(Layer::Link),
    };
    match proto {
        0x0021 | 0x0057 => Next::Ip(rest),
        0x0281 => Next::EtherType(0x8847, rest),
        _ => skipped(),
    }
}

/// Cisco HDLC (LINKTYPE_C_HDLC): address (1), control (1), protocol (2, an EtherType).
fn cisco_hdlc(data: &[u8]) -> Next<'_> {
    match (be16(data, 2), data.get(4..)) {
        (Some(proto), Some(rest)) => Next::EtherType(proto, rest),
        _ => error(Layer::Link),
    }
}

/// `NFULA_PAYLOAD`: the TLV holding the packet.
const NFULA_PAYLOAD: u16 = 9;

/// LINKTYPE_NFLOG: family (1), version (1), resource id (2), then TLVs: length (2) and type (2)
/// in the writer's byte order, value, padding to 4 bytes. The length counts the 4-byte TLV
/// header. The packet is the value of the `NFULA_PAYLOAD` TLV.
fn nflog(data: &[u8]) -> Next<'_> {
    let Some(mut tlvs) = data.get(4..) else {
        return error(Layer::Link);
    };
    let big_endian = match tlvs {
        // A real first TLV length fits in its low byte in the writer's order.
        [l0, l1, ..] => *l0 == 0 && *l1 != 0,
        _ => false,
    };
    let read = |b: &[u8], at: usize| -> Option<u16> {
        let v = be16(b, at)?;
        Some(if big_endian { v } else { v.swap_bytes() })
    };
    while !tlvs.is_empty() {
        let (Some(len), Some(kind)) = (read(tlvs, 0), read(tlvs, 2)) else {
            return error(Layer::Link);
        };
        let len = usize::from(len);
        if len < 4 {
            return error(Layer::Link);
        }
        if kind & 0x7fff == NFULA_PAYLOAD {
            // A snaplen cut shortens the last TLV: IP will see the packet as truncated.
            return Next::Ip(tlvs.get(4..len).or(tlvs.get(4..)).unwrap_or(&[]));
        }
        if len > tlvs.len() {
            return error(Layer::Link);
        }
        let padded = len.saturating_add(3) & !3;
        tlvs = tlvs.get(padded..).unwrap_or(&[]);
    }
    skipped()
}

/// FDDI (ANSI X3.139): frame control (1), destination (6), source (6), then 802.2 LLC/SNAP.
fn fddi(data: &[u8]) -> Next<'_> {
    match data.get(13..) {
        Some(rest) => ether::llc(rest),
        None => error(Layer::Link),
    }
}

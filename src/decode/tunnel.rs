//! Tunnel headers between an outer and an inner packet: GRE (with ERSPAN, PPTP, Aruba),
//! and over UDP: VXLAN, Geneve, GTP-U, Teredo, GRE-in-UDP, CAPWAP data, AYIYA. IP-in-IP
//! needs no header.

use super::{Cx, Layer, Next, be16, error, ether, link, skipped, wlan};

/// UDP ports that identify a tunnel (IANA service names in the comments).
mod port {
    /// `gtp-user`, both directions (3GPP TS 29.281 §4.4.2.3).
    pub const GTP_U: u16 = 2152;
    /// `teredo`: the server/relay side, either direction (RFC 4380 §5.2).
    pub const TEREDO: u16 = 3544;
    /// `GRE-in-UDP` (RFC 8086 §3.1), destination.
    pub const GRE_IN_UDP: u16 = 4754;
    /// `vxlan` (RFC 7348 §5), destination.
    pub const VXLAN: u16 = 4789;
    /// `geneve` (RFC 8926 §3.3), destination.
    pub const GENEVE: u16 = 6081;
    /// `capwap-data` (RFC 5415 §3.1), the controller side, either direction.
    pub const CAPWAP_DATA: u16 = 5247;
    /// `ayiya-ipv6-tunneled` (draft-massar-v6ops-ayiya §7), either direction.
    pub const AYIYA: u16 = 5072;
}

/// The tunnel a UDP datagram carries, judged by its ports; `None` for ordinary traffic.
pub(super) fn over_udp<'a>(cx: &Cx<'a, '_>, sport: u16, dport: u16, payload: &'a [u8]) -> Option<Next<'a>> {
    Some(match (sport, dport) {
        (_, port::VXLAN) => vxlan(cx, payload),
        (_, port::GENEVE) => geneve(cx, payload),
        (port::GTP_U, _) | (_, port::GTP_U) => gtp_u(cx, payload),
        (port::TEREDO, _) | (_, port::TEREDO) => teredo(cx, payload),
        (_, port::GRE_IN_UDP) => gre(cx, payload),
        (port::CAPWAP_DATA, _) | (_, port::CAPWAP_DATA) => capwap_data(cx, payload),
        (port::AYIYA, _) | (_, port::AYIYA) => return ayiya(cx, payload),
        _ => return None,
    })
}

/// GRE flag bits of the first 16-bit word (RFC 2784 §2, RFC 2890 §2, RFC 2637 §4.1).
const GRE_C: u16 = 0x8000;
const GRE_R: u16 = 0x4000;
const GRE_K: u16 = 0x2000;
const GRE_S: u16 = 0x1000;
/// PPTP enhanced GRE: Acknowledgment Number present.
const GRE_A: u16 = 0x0080;

/// GRE header. Version 0 (RFC 2784 §2.1 + RFC 2890 §2): C, K, S flags, Ver, Protocol Type,
/// then Checksum+Reserved1 (if C), Key (if K), Sequence Number (if S), 4 bytes each.
/// Version 1 is PPTP's enhanced GRE (RFC 2637 §4.1): Key (payload length + call id, always
/// present), Sequence Number (if S), Acknowledgment Number (if A); it carries PPP.
/// The RFC 1701 routing variant (R bit) is not read.
pub(super) fn gre<'a>(cx: &Cx<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let (Some(flags), Some(protocol)) = (be16(data, 0), be16(data, 2)) else {
        return cx.short(Layer::Tunnel);
    };
    let present = |bit: u16| if flags & bit != 0 { 4 } else { 0 };
    let len = match flags & 0x0007 {
        0 if flags & GRE_R != 0 => return skipped(),
        0 => 4 + present(GRE_C) + present(GRE_K) + present(GRE_S),
        1 if flags & GRE_K != 0 && flags & (GRE_C | GRE_R) == 0 => 8 + present(GRE_S) + present(GRE_A),
        _ => return error(Layer::Tunnel),
    };
    let Some(rest) = data.get(len..) else {
        return cx.short(Layer::Tunnel);
    };
    match protocol {
        0x880b => link::ppp_frame(rest),
        0x88be => erspan2(cx, flags & GRE_S != 0, rest),
        0x22eb => erspan3(cx, rest),
        // Aruba access points tunnel 802.11 frames with these values.
        0x8200..=0x83ff if protocol & 0x000f == 0 => Next::Ieee80211(rest),
        _ => ether::ethertype(protocol, rest),
    }
}

/// ERSPAN (draft-foschiano-erspan-03 §4.1–4.2). Type I has no header (GRE without Sequence
/// Number); Type II has 8 bytes (Ver = 1 in the first nibble). The mirrored Ethernet follows.
fn erspan2<'a>(cx: &Cx<'a, '_>, sequenced: bool, data: &'a [u8]) -> Next<'a> {
    if !sequenced {
        return Next::Ethernet(data);
    }
    match (data.first().map(|b| b >> 4), data.get(8..)) {
        (Some(1), Some(rest)) => Next::Ethernet(rest),
        (Some(_), Some(_)) => error(Layer::Tunnel),
        _ => cx.short(Layer::Tunnel),
    }
}

/// ERSPAN Type III (draft-foschiano-erspan-03 §4.3): 12 bytes (Ver = 2), plus an 8-byte
/// platform-specific subheader when the O flag (last bit of byte 11) is set.
fn erspan3<'a>(cx: &Cx<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let (Some(&first), Some(&flags)) = (data.first(), data.get(11)) else {
        return cx.short(Layer::Tunnel);
    };
    if first >> 4 != 2 {
        return error(Layer::Tunnel);
    }
    let len = if flags & 0x01 != 0 { 20 } else { 12 };
    match data.get(len..) {
        Some(rest) => Next::Ethernet(rest),
        None => cx.short(Layer::Tunnel),
    }
}

/// VXLAN header (RFC 7348 §5): Flags (1, I = 0x08), Reserved (3), VNI (3), Reserved (1),
/// then an Ethernet frame. Like Wireshark, the flags are not enforced (RFC: "ignored on receipt").
fn vxlan<'a>(cx: &Cx<'a, '_>, data: &'a [u8]) -> Next<'a> {
    match data.get(8..) {
        Some(frame) => Next::Ethernet(frame),
        None => cx.short(Layer::Tunnel),
    }
}

/// Geneve header (RFC 8926 §3.4): Ver (2 bits) = 0, Opt Len (6 bits, 4-byte units), O, C,
/// Rsvd, Protocol Type (2, an EtherType; 0x6558 = Ethernet), VNI (3), Reserved (1): 8 bytes,
/// then Opt Len × 4 bytes of options, then the payload.
fn geneve<'a>(cx: &Cx<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let (Some(&first), Some(protocol)) = (data.first(), be16(data, 2)) else {
        return cx.short(Layer::Tunnel);
    };
    if first >> 6 != 0 {
        return error(Layer::Tunnel);
    }
    let len = 8 + usize::from(first & 0x3f) * 4;
    match data.get(len..) {
        Some(rest) => ether::ethertype(protocol, rest),
        None => cx.short(Layer::Tunnel),
    }
}

/// GTP-U message type of a G-PDU (user data).
const GTP_G_PDU: u8 = 0xff;
/// Longest chain of GTP-U extension headers followed.
const MAX_GTP_EXTENSIONS: usize = 16;

/// GTPv1-U header (3GPP TS 29.281 §5.1): flags (Version = 1 in 3 bits, PT = 1, spare, E, S, PN),
/// Message Type, Length (bytes after the first 8), TEID. If any of E/S/PN is set, Sequence
/// Number (2), N-PDU Number (1) and Next Extension Header Type (1) follow; each extension
/// header (§5.2) has a Length in 4-byte units and ends with the next type (0 = none). A G-PDU
/// carries a T-PDU: IPv4 or IPv6 by the version nibble.
fn gtp_u<'a>(cx: &Cx<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let (Some(&flags), Some(&message_type), Some(length)) = (data.first(), data.get(1), be16(data, 2)) else {
        return cx.short(Layer::Tunnel);
    };
    if flags >> 5 != 1 || flags & 0x10 == 0 {
        return error(Layer::Tunnel);
    }
    if message_type != GTP_G_PDU {
        return skipped();
    }
    let end = 8 + usize::from(length);
    let body = match data.get(..end) {
        Some(body) => body,
        None if cx.truncated => data,
        None => return error(Layer::Tunnel),
    };
    let mut pos = 8;
    if flags & 0x07 != 0 {
        let Some(&next) = body.get(11) else {
            return cx.short(Layer::Tunnel);
        };
        pos = 12;
        let mut next_type = next;
        for _ in 0..MAX_GTP_EXTENSIONS {
            if next_type == 0 {
                break;
            }
            let ext_len = body.get(pos).map_or(0, |l| usize::from(*l) * 4);
            if ext_len == 0 {
                return cx.short(Layer::Tunnel);
            }
            let Some(&t) = body.get(pos + ext_len - 1) else {
                return cx.short(Layer::Tunnel);
            };
            next_type = t;
            pos += ext_len;
        }
        if next_type != 0 {
            return error(Layer::Tunnel);
        }
    }
    match body.get(pos..) {
        Some(t_pdu) if t_pdu.first().is_some_and(|b| matches!(b >> 4, 4 | 6)) => Next::Ip(t_pdu),
        Some(_) => skipped(),
        None => cx.short(Layer::Tunnel),
    }
}

/// Teredo (RFC 4380 §5.1.1): an IPv6 packet in UDP, optionally preceded by an Authentication
/// Indicator (0x0001, ID-len, AU-len, Client identifier, Authentication value, Nonce (8),
/// Confirmation (1)) and/or an Origin Indication (0x0000, port (2), address (4)).
fn teredo<'a>(cx: &Cx<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let mut rest = data;
    for _ in 0..2 {
        let len = match rest {
            [0x00, 0x01, id_len, au_len, ..] => 4 + usize::from(*id_len) + usize::from(*au_len) + 9,
            [0x00, 0x00, ..] => 8,
            _ => break,
        };
        let Some(tail) = rest.get(len..) else {
            return cx.short(Layer::Tunnel);
        };
        rest = tail;
    }
    match rest.first().map(|b| b >> 4) {
        Some(6) => Next::Ip(rest),
        Some(_) => error(Layer::Tunnel),
        None => cx.short(Layer::Tunnel),
    }
}

/// CAPWAP data channel header (RFC 5415 §4.3): Preamble (1: Version 0, Type 0), HLEN (5 bits,
/// header length in 4-byte words), RID (5), WBID (5), flags T (native frame), F (fragment), L,
/// W, M, K… With T set the payload is a frame of the wireless binding (WBID 1 = IEEE 802.11,
/// RFC 5416); without it an IEEE 802.3 frame. Fragments are not reassembled.
fn capwap_data<'a>(cx: &Cx<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let (Some(&preamble), Some(&b1), Some(&b2), Some(&b3)) = (data.first(), data.get(1), data.get(2), data.get(3))
    else {
        return cx.short(Layer::Tunnel);
    };
    if preamble != 0 {
        return skipped();
    }
    let hlen = usize::from(b1 >> 3) * 4;
    let (wbid, native, fragment) = ((b2 >> 1) & 0x1f, b2 & 0x01 != 0, b3 & 0x80 != 0);
    if hlen < 8 {
        return error(Layer::Tunnel);
    }
    let Some(payload) = data.get(hlen..) else {
        return cx.short(Layer::Tunnel);
    };
    match (fragment, native, wbid) {
        (true, _, _) => skipped(),
        // Cisco controllers send the Frame Control bytes swapped (Wireshark swaps by default);
        // a protocol version other than 0 in the first byte gives it away.
        (false, true, 1) => match payload {
            [fc0, fc1, ..] if fc0 & 0x03 != 0 && fc1 & 0x03 == 0 => wlan::data_frame_fc(*fc1, *fc0, payload),
            _ => Next::Ieee80211(payload),
        },
        (false, true, _) => skipped(),
        (false, false, _) => Next::Ethernet(payload),
    }
}

/// AYIYA header (draft-massar-v6ops-ayiya-02 §4): IDLen (4 bits) and IDType, SigLen (4 bits,
/// 4-byte words) and HshMeth, AutMeth and OpCode (1 = forward), Next Header (an IP protocol
/// number), Epoch Time (4), Identity (2^IDLen bytes), Signature; then the tunnelled packet.
/// Other opcodes (heartbeats…) carry no packet: `None`, the datagram is reported as is.
fn ayiya<'a>(cx: &Cx<'a, '_>, data: &'a [u8]) -> Option<Next<'a>> {
    let (Some(&id), Some(&sig), Some(&op), Some(&next_header)) = (data.first(), data.get(1), data.get(2), data.get(3))
    else {
        return Some(cx.short(Layer::Tunnel));
    };
    if op & 0x0f != 1 {
        return None;
    }
    let len = 8 + (1usize << (id >> 4)) + usize::from(sig >> 4) * 4;
    let Some(payload) = data.get(len..) else {
        return Some(cx.short(Layer::Tunnel));
    };
    Some(match next_header {
        4 | 41 => Next::Ip(payload),
        _ => skipped(),
    })
}

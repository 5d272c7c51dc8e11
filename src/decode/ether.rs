//! Ethernet and what an EtherType can lead to: 802.1Q/802.1ad VLAN tags, 802.2 LLC/SNAP,
//! PPPoE sessions and MPLS label stacks.

use super::{Cx, Layer, Next, be16, error, skipped};

/// Ethernet II frame (RFC 894): destination (6), source (6), EtherType (2). A value ≤ 1500 in the
/// type field is an IEEE 802.3 length, followed by an 802.2 LLC header.
pub(super) fn ethernet<'a>(cx: &mut Cx<'a, '_>, frame: &'a [u8]) -> Next<'a> {
    let (Some(dst), Some(src), Some(ty), Some(rest)) =
        (frame.get(..6), frame.get(6..12), be16(frame, 12), frame.get(14..))
    else {
        return error(Layer::Link);
    };
    if cx.src_mac.is_none() {
        cx.src_mac = src.try_into().ok();
        cx.dst_mac = dst.try_into().ok();
    }
    type_or_length(ty, rest)
}

/// IEEE 802.3 §3.2.6 Length/Type: ≤ 1500 is a length (LLC follows), ≥ 0x0600 an EtherType.
fn type_or_length(ty: u16, rest: &[u8]) -> Next<'_> {
    match ty {
        0..=1500 => llc(rest.get(..usize::from(ty)).unwrap_or(rest)),
        0x0600.. => Next::EtherType(ty, rest),
        _ => skipped(),
    }
}

/// IEEE 802.2 LLC with a SNAP header (RFC 1042): DSAP 0xAA, SSAP 0xAA, control 0x03, OUI (3),
/// EtherType (2). Other LLC payloads (STP, NetBIOS…) are not IP.
pub(super) fn llc(data: &[u8]) -> Next<'_> {
    match data {
        [0xaa, 0xaa, 0x03, _, _, _, t0, t1, rest @ ..] => Next::EtherType(u16::from_be_bytes([*t0, *t1]), rest),
        [_, _, _, ..] => skipped(),
        _ => error(Layer::Link),
    }
}

/// Dispatch on an EtherType (IEEE registry values).
pub(super) fn ethertype(ty: u16, data: &[u8]) -> Next<'_> {
    match ty {
        0x0800 | 0x86dd => Next::Ip(data),
        // 802.1Q C-tag, 802.1ad S-tag, and the pre-standard QinQ values.
        0x8100 | 0x88a8 | 0x9100 | 0x9200 | 0x9300 => vlan(data),
        0x8864 => pppoe_session(data),
        0x8847 | 0x8848 => mpls(data),
        // Transparent Ethernet bridging (GRE, Geneve, SLL of a bridge port).
        0x6558 => Next::Ethernet(data),
        _ => skipped(),
    }
}

/// IEEE 802.1Q §9.6 tag: TCI (PCP, DEI, VID: 2), then the inner Length/Type (2). Each tag is one
/// decoding step, so stacks of any depth up to the step limit are followed.
fn vlan(data: &[u8]) -> Next<'_> {
    match (be16(data, 2), data.get(4..)) {
        (Some(ty), Some(rest)) => type_or_length(ty, rest),
        _ => error(Layer::Link),
    }
}

/// PPPoE session stage (RFC 2516 §4): VER (4 bits) = 1, TYPE (4 bits) = 1, CODE = 0x00,
/// SESSION_ID (2), LENGTH (2) of the PPP payload, which starts with the PPP Protocol field.
fn pppoe_session(data: &[u8]) -> Next<'_> {
    let (Some(&ver_type), Some(&code), Some(len), Some(rest)) =
        (data.first(), data.get(1), be16(data, 4), data.get(6..))
    else {
        return error(Layer::Link);
    };
    if ver_type != 0x11 || code != 0 {
        return error(Layer::Link);
    }
    // LENGTH excludes Ethernet padding; a snaplen cut leaves fewer bytes (IP will notice).
    Next::Ppp(rest.get(..usize::from(len)).unwrap_or(rest))
}

/// Longest label stack followed (RFC 3032 sets no limit; real stacks have a handful of labels).
const MAX_MPLS_LABELS: usize = 16;

/// MPLS label stack (RFC 3032 §2.1): 4-byte entries, Label (20), TC (3), S (1, bottom of stack),
/// TTL (8). The payload type is not signalled: IPv4/IPv6 are told by the version nibble (as
/// routers do, RFC 3032 §2.2 note) and a first nibble of 0 is the pseudowire control word of
/// RFC 4385 §3 followed by an Ethernet frame (RFC 4448).
fn mpls(data: &[u8]) -> Next<'_> {
    let mut rest = data;
    for _ in 0..MAX_MPLS_LABELS {
        let (Some(entry), Some(tail)) = (rest.get(..4), rest.get(4..)) else {
            return error(Layer::Tunnel);
        };
        rest = tail;
        let bottom = entry.get(2).is_some_and(|b| b & 0x01 != 0);
        if bottom {
            return match rest.first().map(|b| b >> 4) {
                Some(4 | 6) => Next::Ip(rest),
                Some(0) => Next::Ethernet(rest.get(4..).unwrap_or(&[])),
                _ => skipped(),
            };
        }
    }
    error(Layer::Tunnel)
}

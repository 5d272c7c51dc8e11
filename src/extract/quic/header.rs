//! QUIC long headers (RFC 9000 §17.2, invariants RFC 8999 §5.1), variable-length integers
//! (RFC 9000 §16) and the packets coalesced in one UDP datagram (RFC 9000 §12.2).

use super::version::{LongType, VersionParams, version_params};
use crate::extract::Outcome;

/// Longest connection ID of QUIC v1/v2 and the drafts read here (RFC 9000 §17.2).
pub const MAX_CID_LEN: usize = 20;

/// Reads a variable-length integer (RFC 9000 §16): the two high bits of the first byte give its
/// length (1, 2, 4 or 8 bytes). Returns the value and the rest of `buf`.
pub fn read_varint(buf: &[u8]) -> Option<(u64, &[u8])> {
    let first = *buf.first()?;
    let len = 1usize << (first >> 6);
    let (bytes, rest) = buf.split_at_checked(len)?;
    let mut v = u64::from(first & 0x3f);
    for b in bytes.get(1..)? {
        v = (v << 8) | u64::from(*b);
    }
    Some((v, rest))
}

/// A length-prefixed byte string with an 8-bit length (connection IDs).
fn read_u8_prefixed(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&len, rest) = buf.split_first()?;
    rest.split_at_checked(usize::from(len))
}

/// What follows the connection IDs of a long header, by packet type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongKind<'a> {
    /// RFC 9000 §17.2.2: Token and Length, then the protected packet number and payload.
    /// `pn_offset` counts from the first byte of the packet.
    Initial {
        token: &'a [u8],
        pn_offset: usize,
        params: &'static VersionParams,
    },
    /// RFC 9000 §17.2.3 (0-RTT) and §17.2.4 (Handshake): protected with keys we do not have.
    ZeroRtt,
    Handshake,
    /// RFC 9000 §17.2.5: the server asks the client to start again with a token; its Source
    /// Connection ID becomes the client's Destination Connection ID (and key material).
    Retry {
        token: &'a [u8],
    },
    /// RFC 9000 §17.2.1: version 0, sent by servers; lists the versions they support.
    VersionNegotiation,
    /// A version whose layout past the connection IDs we do not know (RFC 8999 §5.1).
    Unsupported,
}

/// One long-header packet of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongPacket<'a> {
    /// First byte as on the wire (its low bits are header-protected for Initial packets).
    pub first: u8,
    pub version: u32,
    /// Destination Connection ID.
    pub dcid: &'a [u8],
    /// Source Connection ID.
    pub scid: &'a [u8],
    pub kind: LongKind<'a>,
    /// All bytes of this packet: header, packet number and protected payload. For Retry,
    /// version negotiation and unsupported versions, the rest of the datagram.
    pub bytes: &'a [u8],
}

impl LongPacket<'_> {
    /// An Initial long enough to be opened: a 16-byte header protection sample 4 bytes after the
    /// packet number offset, and a 16-byte AEAD tag (RFC 9001 §5.3, §5.4.2). Checked before any
    /// key derivation.
    pub fn is_openable_initial(&self) -> bool {
        match self.kind {
            LongKind::Initial { pn_offset, .. } => self.bytes.len() >= pn_offset + 4 + 16,
            _ => false,
        }
    }
}

/// Parses the long-header packet at the start of `buf` (RFC 9000 §17.2). Returns it and the bytes
/// that follow it in the datagram (coalesced packets, RFC 9000 §12.2).
///
/// `NotThis` for a short header (first bit 0); `Malformed` for connection IDs longer than the
/// version allows or a Length past the end of the datagram (a truncated capture included).
pub fn parse_long_packet(buf: &[u8]) -> Outcome<(LongPacket<'_>, &[u8])> {
    let Some((&first, after_first)) = buf.split_first() else { return Outcome::Incomplete { needed: 1 } };
    if first & 0x80 == 0 {
        return Outcome::NotThis;
    }
    let Some((version, after_version)) = after_first.split_first_chunk::<4>() else {
        return Outcome::Incomplete { needed: 5usize.saturating_sub(buf.len()) };
    };
    let version = u32::from_be_bytes(*version);
    let Some((dcid, after_dcid)) = read_u8_prefixed(after_version) else { return Outcome::Malformed };
    let Some((scid, rest)) = read_u8_prefixed(after_dcid) else { return Outcome::Malformed };
    let whole = |kind| LongPacket { first, version, dcid, scid, kind, bytes: buf };
    if version == 0 {
        return Outcome::Found((whole(LongKind::VersionNegotiation), &[]));
    }
    let Some(params) = version_params(version) else {
        return Outcome::Found((whole(LongKind::Unsupported), &[]));
    };
    if dcid.len() > MAX_CID_LEN || scid.len() > MAX_CID_LEN {
        return Outcome::Malformed;
    }
    let long_type = params.long_type(first);
    let (token, rest) = match long_type {
        LongType::Retry => {
            // Retry Token, then a 16-byte Retry Integrity Tag (RFC 9001 §5.8).
            let Some(token_len) = rest.len().checked_sub(16) else { return Outcome::Malformed };
            let token = rest.get(..token_len).unwrap_or_default();
            return Outcome::Found((whole(LongKind::Retry { token }), &[]));
        }
        LongType::Initial => {
            let Some((token_len, after_len)) = read_varint(rest) else { return Outcome::Malformed };
            let Some((token, after_token)) =
                usize::try_from(token_len).ok().and_then(|n| after_len.split_at_checked(n))
            else {
                return Outcome::Malformed;
            };
            (token, after_token)
        }
        LongType::ZeroRtt | LongType::Handshake => (&[][..], rest),
    };
    let Some((length, payload)) = read_varint(rest) else { return Outcome::Malformed };
    let pn_offset = buf.len() - payload.len();
    let Some(end) = usize::try_from(length).ok().and_then(|l| l.checked_add(pn_offset)) else {
        return Outcome::Malformed;
    };
    let Some((bytes, after)) = buf.split_at_checked(end) else { return Outcome::Malformed };
    let kind = match long_type {
        LongType::Initial => LongKind::Initial { token, pn_offset, params },
        LongType::ZeroRtt => LongKind::ZeroRtt,
        _ => LongKind::Handshake,
    };
    Outcome::Found((LongPacket { first, version, dcid, scid, kind, bytes }, after))
}

/// The long-header packets of one UDP datagram, in order (RFC 9000 §12.2). Stops at the end, at
/// a short-header packet (always last), at zero bytes (padding after the last packet, RFC 9000
/// §14.1) and after a packet whose end cannot be found. Yields `Err(())` once for bytes that do
/// not parse as a long-header packet.
pub struct Packets<'a> {
    rest: &'a [u8],
}

/// Iterates the long-header packets coalesced in `datagram`.
pub fn packets(datagram: &[u8]) -> Packets<'_> {
    Packets { rest: datagram }
}

impl<'a> Iterator for Packets<'a> {
    type Item = Result<LongPacket<'a>, ()>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.rest.first() {
            None | Some(0) => return None,
            Some(b) if b & 0x80 == 0 => return None,
            Some(_) => {}
        }
        match parse_long_packet(self.rest) {
            Outcome::Found((packet, rest)) => {
                self.rest = rest;
                Some(Ok(packet))
            }
            _ => {
                self.rest = &[];
                Some(Err(()))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn varints_of_rfc9000_appendix_a1() {
        // RFC 9000 §A.1 example encodings.
        let cases: [(&[u8], u64); 5] = [
            (&[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c], 151_288_809_941_952_652),
            (&[0x9d, 0x7f, 0x3e, 0x7d], 494_878_333),
            (&[0x7b, 0xbd], 15_293),
            (&[0x25], 37),
            (&[0x40, 0x25], 37),
        ];
        for (bytes, value) in cases {
            assert_eq!(read_varint(bytes), Some((value, &[][..])));
        }
        assert_eq!(read_varint(&[0x7b]), None, "a 2-byte varint with one byte");
        assert_eq!(read_varint(&[]), None);
    }

    #[test]
    fn short_header_and_oversized_cids() {
        assert_eq!(parse_long_packet(&[0x40, 1, 2, 3]), Outcome::NotThis);
        // v1 Initial with a 21-byte DCID: RFC 9000 §17.2 allows at most 20.
        let mut p = vec![0xc0, 0, 0, 0, 1, 21];
        p.extend([7u8; 21]);
        p.extend([0, 0, 1, 0]);
        assert_eq!(parse_long_packet(&p), Outcome::Malformed);
        // An unknown version may carry up to 255 bytes (RFC 8999 §5.1).
        p[4] = 0x77;
        match parse_long_packet(&p) {
            Outcome::Found((pkt, _)) => assert_eq!((pkt.kind, pkt.dcid.len()), (LongKind::Unsupported, 21)),
            other => panic!("{other:?}"),
        }
    }
}

//! QUIC Initial packets (RFC 9000 §17.2, RFC 9001 §5, RFC 9369): long headers, client Initial
//! decryption and the CRYPTO frames that carry the TLS ClientHello. Pure: no state, no clock.
//!
//! A reader walks a datagram's coalesced packets ([`packets`]), derives [`InitialKeys`] from the
//! client's *original* Destination Connection ID (and caches them: `crate::flow::quic` does),
//! opens each client Initial ([`InitialKeys::open`]) and walks its [`frames`]; the CRYPTO
//! fragments, put together by offset, form the ClientHello handshake message (RFC 9001 §4.1.3).
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod frames;
pub mod header;
pub mod keys;
pub mod version;

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
pub(crate) mod vectors;

pub use frames::{Frame, FrameError, Frames, frames};
pub use header::{LongKind, LongPacket, MAX_CID_LEN, Packets, packets, parse_long_packet, read_varint};
pub use keys::{InitialKeys, KeyMaterial, OpenError, Opened, decode_packet_number};
pub use version::{
    LongType, VERSION_1, VERSION_2, VersionParams, family_label, is_google_quic, is_known_family, version_params,
};

/// TLS HandshakeType client_hello (RFC 8446 §4).
pub const CLIENT_HELLO: u8 = 1;

/// The header of a TLS handshake message (RFC 8446 §4: msg_type, uint24 length): the type and
/// the length of the whole message including these 4 bytes.
pub fn handshake_message_len(head: &[u8]) -> Option<(u8, usize)> {
    let [msg_type, a, b, c, ..] = *head else { return None };
    Some((msg_type, 4 + ((usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c))))
}

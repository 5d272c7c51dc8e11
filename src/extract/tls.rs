//! TLS ClientHello (RFC 8446 §4.1.2) and its server_name (RFC 6066 §3) and
//! encrypted_client_hello (0xfe0d) extensions, from the client's first bytes of a TCP stream.

use crate::extract::Outcome;

/// What we keep of a ClientHello.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientHello {
    /// host_name of the server_name extension, presentation form (see [`crate::extract::name`]).
    pub sni: Option<String>,
    /// encrypted_client_hello (0xfe0d) present, real or GREASE.
    pub ech: bool,
    /// legacy_version of the ClientHello.
    pub version: u16,
    /// The ClientHello random (used to match key-log lines).
    pub random: [u8; 32],
    /// How many TLS records carried the handshake message.
    pub records: u16,
}

/// Parses the ClientHello at the start of a client's TCP byte stream (in order, from its first
/// byte). Handles a handshake message split over several records and several records in one
/// buffer. `Incomplete { needed }` while more stream bytes are required.
pub fn parse_client_hello_stream(stream: &[u8]) -> Outcome<ClientHello> {
    let _ = stream;
    Outcome::NotThis
}

/// Parses a bare handshake message (no record layer), as carried in QUIC CRYPTO frames.
pub fn parse_client_hello_message(msg: &[u8]) -> Outcome<ClientHello> {
    let _ = msg;
    Outcome::NotThis
}

/// The first bytes are a TLS handshake record carrying (the start of) a ClientHello.
pub fn looks_like_client_hello(buf: &[u8]) -> bool {
    matches!(buf, [0x16, 0x03, 0x00..=0x04, _, _, 0x01, ..])
}

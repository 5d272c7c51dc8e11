//! The QUIC handshake tracker's bounds, outcomes and counters.

use crate::model::Ts;

/// Bounds of the QUIC handshake table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuicLimits {
    /// Connections tracked at once (in handshake, or done and kept to recognise retransmissions).
    pub max_connections: usize,
    /// CRYPTO bytes buffered over all connections.
    pub max_buffer_bytes: usize,
    /// Longest ClientHello handshake message accepted (header included).
    pub max_hello_bytes: usize,
    /// Capture-time microseconds a connection may stay idle.
    pub idle_timeout: i64,
}

impl Default for QuicLimits {
    fn default() -> Self {
        QuicLimits {
            max_connections: 4096,
            max_buffer_bytes: 4 * 1024 * 1024,
            max_hello_bytes: 16 * 1024,
            idle_timeout: 30 * Ts::MICROS_PER_SEC,
        }
    }
}

/// What one datagram completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuicOutcome {
    /// Nothing to report: a short-header packet (the fast path), a server packet, a client
    /// Initial of a connection whose ClientHello was already reported, an ACK-only Initial.
    None,
    /// A long header that does not parse as QUIC.
    NotQuic,
    /// A version whose Initial packets we do not open; 0 is version negotiation (RFC 9000 §17.2.1).
    Unsupported { version: u32 },
    /// An Initial of a supported version that no known keys open: a client Initial whose
    /// connection's first packet was not captured, a server Initial of an unseen connection,
    /// corrupted bytes.
    Undecryptable { version: u32 },
    /// Client Initial(s) opened; the ClientHello is not complete yet.
    Pending,
    /// The whole ClientHello handshake message of a connection (RFC 8446 §4.1.2), reported once.
    ClientHello {
        version: u32,
        hello: Vec<u8>,
        /// Client Initial packets opened in this connection so far.
        initials: u16,
        /// CRYPTO frames that carried the message.
        crypto_frames: u16,
    },
}

/// Distinct unsupported versions counted one by one; the rest go to `unsupported_other`.
pub const MAX_COUNTED_VERSIONS: usize = 32;

/// Counters of the QUIC handshake table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QuicStats {
    /// Connections tracked now.
    pub connections: usize,
    /// CRYPTO bytes buffered now.
    pub buffered_bytes: usize,
    pub client_hellos: u64,
    pub initials_opened: u64,
    pub undecryptable: u64,
    pub not_quic: u64,
    /// Initial payloads whose frame walk stopped on an unexpected or truncated frame.
    pub frame_errors: u64,
    /// CRYPTO fragments refused by the byte budget or the range limit.
    pub fragments_refused: u64,
    /// Handshake messages that were not a ClientHello, or longer than `max_hello_bytes`.
    pub bad_hellos: u64,
    /// A ClientHello seen again on the same 5-tuple (e.g. after a Retry) and not reported twice.
    pub duplicate_hellos: u64,
    pub evicted_timeout: u64,
    pub evicted_capacity: u64,
    /// Connections evicted before their ClientHello was complete.
    pub evicted_incomplete: u64,
    /// Unsupported versions (0 = version negotiation) and their packet counts.
    pub unsupported: Vec<(u32, u64)>,
    pub unsupported_other: u64,
}

//! Pure parsers: bytes in, names out. No flows, no state, no clock, no I/O.
//!
//! Every entry point returns an [`Outcome`] and never panics, whatever the bytes.

pub mod dns;
pub mod h2;
pub mod http;
pub mod name;
pub mod quic;
pub mod tls;

/// The result of running a parser over bytes that may hold a message of its protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// The message parsed.
    Found(T),
    /// These bytes are not this protocol (or not the message we look for).
    NotThis,
    /// A prefix of a message: at least `needed` more bytes are required.
    Incomplete { needed: usize },
    /// The protocol is recognised but the message is broken.
    Malformed,
}

impl<T> Outcome<T> {
    pub fn found(self) -> Option<T> {
        match self {
            Outcome::Found(t) => Some(t),
            _ => None,
        }
    }
}

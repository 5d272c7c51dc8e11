//! Client-direction TLS decryption with secrets from a key log, and the HTTP requests inside.
//!
//! Pure and incremental (no I/O, no clock): [`parse_server_hello_stream`] reads the server's first
//! bytes; [`ClientDecryptor`] takes the ClientHello, the ServerHello and a [`KeyLog`], then the
//! client's in-order stream bytes in any split, and appends the application-data plaintext;
//! [`RequestReader`] turns that plaintext into [`DecryptedRequest`]s (HTTP/1.x or HTTP/2).
//!
//! TLS 1.3 (RFC 8446): handshake records under CLIENT_HANDSHAKE_TRAFFIC_SECRET until the client's
//! Finished, then CLIENT_TRAFFIC_SECRET_0, KeyUpdate followed (§4.6.3, §7.2), 0-RTT data under
//! CLIENT_EARLY_TRAFFIC_SECRET when the key log has it. TLS 1.2 (RFC 5246): every record after
//! the client's ChangeCipherSpec under the key_block from the CLIENT_RANDOM master secret (AEAD
//! suites only: AES-GCM, ChaCha20-Poly1305).
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

mod decrypt;
mod handshake;
mod keys;
mod requests;
mod server_hello;

#[cfg(test)]
mod captures_tests;
#[cfg(test)]
mod tests;

pub use decrypt::{
    ClientDecryptor, DEFAULT_PLAINTEXT_BUDGET, DecryptStats, MAX_RECORD_BUFFER, Missing, NewError, Status, Stop,
};
pub use keys::{Aead, Hash, Suite};
pub use requests::{DecryptedRequest, MAX_REQUESTS, RequestReader};
pub use server_hello::{HELLO_RETRY_REQUEST_RANDOM, ServerHello, parse_server_hello_body, parse_server_hello_stream};

use super::keylog::KeyLog;

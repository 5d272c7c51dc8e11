//! TLS ClientHello (RFC 8446 §4.1.2) and its server_name (RFC 6066 §3) and
//! encrypted_client_hello (0xfe0d) extensions, from the client's first bytes of a TCP stream.
//!
//! Two entry points:
//! - [`parse_client_hello_stream`]: the client's in-order TCP byte stream from its first byte. The
//!   record layer (RFC 8446 §5.1) is walked here: the first handshake message may be split over
//!   several records, and it is parsed as soon as its last byte is in the buffer.
//! - [`parse_client_hello_message`]: a bare handshake message (QUIC CRYPTO stream, RFC 9001 §4).
//!
//! The ClientHello grammar itself is in `hello.rs` (hand-written, checked reads; see its header for
//! why this is not done through `tls-parser`).
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

mod hello;
pub mod keylog;
pub mod session;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod oracle;
#[cfg(test)]
mod testdata;
#[cfg(test)]
mod tests;

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
    /// How many TLS records carried the handshake message (0 for a bare message).
    pub records: u16,
}

/// Largest ClientHello body accepted (the `length` of the Handshake header). RFC 8446 §5.1 caps one
/// record at 2^14 bytes; real ClientHellos are 0.1–2 KB (Chromium's post-quantum one is ~2 KB).
pub const MAX_CLIENT_HELLO_LEN: usize = 16 * 1024;

/// Most TLS records the first handshake message may span before we give up.
pub const MAX_RECORDS: usize = 64;

/// Longest stream prefix that can still end in `Found`: past this, more bytes never help.
/// (Handshake header + body, plus one record header per record.)
pub const MAX_STREAM_PREFIX: usize = HANDSHAKE_HEADER_LEN + MAX_CLIENT_HELLO_LEN + MAX_RECORDS * RECORD_HEADER_LEN;

/// TLSPlaintext header: ContentType type, ProtocolVersion legacy_record_version, uint16 length.
const RECORD_HEADER_LEN: usize = 5;
/// Handshake header: HandshakeType msg_type, uint24 length.
const HANDSHAKE_HEADER_LEN: usize = 4;
/// ContentType handshake(22).
const CONTENT_TYPE_HANDSHAKE: u8 = 22;
/// HandshakeType client_hello(1).
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
/// RFC 8446 §5.1: "The length MUST NOT exceed 2^14 bytes."
const MAX_FRAGMENT_LEN: usize = 1 << 14;

/// Is `major.minor` a record-layer version a ClientHello may carry: SSL 3.0 (0x0300) to TLS 1.3
/// (0x0304). RFC 8446 §5.1 says 0x0301 or 0x0303; older stacks send 0x0300..0x0303.
fn is_record_version(major: u8, minor: u8) -> bool {
    major == 3 && minor <= 4
}

/// Parses the ClientHello at the start of a client's TCP byte stream (in order, from its first
/// byte). Handles a handshake message split over several records and several records in one
/// buffer. `Incomplete { needed }` while more stream bytes are required.
///
/// RFC 8446 §5.1 (record layer): `struct { ContentType type; ProtocolVersion
/// legacy_record_version; uint16 length; opaque fragment[length]; } TLSPlaintext;` —
/// "Handshake messages MAY be coalesced into a single TLSPlaintext record or fragmented across
/// several records" and "MUST NOT be interleaved with other record types".
/// RFC 8446 §4 (handshake): `struct { HandshakeType msg_type; uint24 length; ... } Handshake;`.
///
/// - `NotThis`: the stream does not start with a handshake record of version 0x0300..=0x0304, or
///   its first handshake message is not a ClientHello (e.g. a server stream, or SSLv2).
/// - `Incomplete { needed }`: `needed` is a lower bound on the bytes missing before the ClientHello
///   is complete; it is exact once the handshake header has been seen and the rest of the message
///   fits in the current record (a `NotThis`/`Malformed` verdict may come sooner, from headers).
///   This path only reads record headers (≤ [`MAX_RECORDS`]), so calling again on each growing
///   prefix costs O(records), not O(bytes).
/// - `Malformed`: a record of another type or version inside the message, a record longer than
///   2^14, a ClientHello longer than [`MAX_CLIENT_HELLO_LEN`], more than [`MAX_RECORDS`] records,
///   or a ClientHello whose fixed part or extensions block does not fit its length.
///
/// Zero-length handshake records (forbidden by RFC 8446 §5.1) are tolerated and counted.
pub fn parse_client_hello_stream(stream: &[u8]) -> Outcome<ClientHello> {
    // Cheap first-bytes check: 0x16 0x03 0x00..=0x04.
    match stream {
        [] => {
            return Outcome::Incomplete { needed: RECORD_HEADER_LEN + HANDSHAKE_HEADER_LEN };
        }
        [CONTENT_TYPE_HANDSHAKE] | [CONTENT_TYPE_HANDSHAKE, 3] => {}
        [CONTENT_TYPE_HANDSHAKE, major, minor, ..] if is_record_version(*major, *minor) => {}
        _ => return Outcome::NotThis,
    }

    let mut pos = 0usize; // start of the current record header in `stream`
    let mut records = 0usize;
    let mut hs_have = 0usize; // handshake bytes seen so far (in all records up to `pos`)
    let mut hs_header = [0u8; HANDSHAKE_HEADER_LEN];
    let mut msg_len: Option<usize> = None; // HANDSHAKE_HEADER_LEN + body length, once known

    loop {
        // Lower bound on handshake bytes still missing: the message, or at least its header.
        let want = msg_len.unwrap_or(HANDSHAKE_HEADER_LEN);
        let rest = stream.get(pos..).unwrap_or_default();
        let Some((header, after)) = rest.split_first_chunk::<RECORD_HEADER_LEN>() else {
            // Stream ends inside (or right before) a record header.
            let missing_header = RECORD_HEADER_LEN - rest.len().min(RECORD_HEADER_LEN);
            return Outcome::Incomplete { needed: missing_header + want.saturating_sub(hs_have) };
        };
        let [content_type, major, minor, len_hi, len_lo] = *header;
        if content_type != CONTENT_TYPE_HANDSHAKE || !is_record_version(major, minor) {
            // The first record was checked above: this is a later one, inside the message.
            return Outcome::Malformed;
        }
        let length = usize::from(u16::from_be_bytes([len_hi, len_lo]));
        if length > MAX_FRAGMENT_LEN {
            return Outcome::Malformed;
        }
        records += 1;
        if records > MAX_RECORDS {
            return Outcome::Malformed;
        }
        // The part of this record's fragment that is in the buffer.
        let fragment = after.get(..length).unwrap_or(after);

        // Collect the 4-byte handshake header, which may itself be split over records.
        if msg_len.is_none() {
            for (slot, &b) in hs_header.iter_mut().skip(hs_have).zip(fragment) {
                *slot = b;
            }
            let seen = (hs_have + fragment.len()).min(HANDSHAKE_HEADER_LEN);
            if seen >= 1 && hs_header[0] != HANDSHAKE_CLIENT_HELLO {
                return Outcome::NotThis;
            }
            if seen == HANDSHAKE_HEADER_LEN {
                let [_, l0, l1, l2] = hs_header;
                let body_len = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
                if body_len > MAX_CLIENT_HELLO_LEN {
                    return Outcome::Malformed;
                }
                msg_len = Some(HANDSHAKE_HEADER_LEN + body_len);
            }
        }

        let have_now = hs_have + fragment.len();
        if let Some(total) = msg_len
            && have_now >= total
        {
            // `records` ≤ MAX_RECORDS, so it fits in u16.
            let records = u16::try_from(records).unwrap_or(u16::MAX);
            return finish(stream, total, records);
        }

        if fragment.len() < length {
            // The stream ends inside this record.
            let missing_in_record = length - fragment.len();
            let want = msg_len.unwrap_or(HANDSHAKE_HEADER_LEN);
            let remaining = want.saturating_sub(have_now);
            let needed = if remaining <= missing_in_record {
                remaining
            } else {
                // The message continues in at least one more record.
                missing_in_record + RECORD_HEADER_LEN + (remaining - missing_in_record)
            };
            return Outcome::Incomplete { needed };
        }
        hs_have = have_now;
        pos += RECORD_HEADER_LEN + length;
    }
}

/// The message is complete in `stream`: gather its `total` bytes (zero-copy when one record holds
/// it, the common case) and parse the ClientHello body.
fn finish(stream: &[u8], total: usize, records: u16) -> Outcome<ClientHello> {
    let first_fragment = stream.get(RECORD_HEADER_LEN..).unwrap_or_default();
    let first_len =
        stream.get(3..5).and_then(|b| b.first_chunk::<2>()).map_or(0, |b| usize::from(u16::from_be_bytes(*b)));
    if total <= first_len {
        return match first_fragment.get(HANDSHAKE_HEADER_LEN..total) {
            Some(body) => hello::parse_client_hello_body(body, records),
            None => Outcome::Malformed,
        };
    }
    // Several records: copy the fragments (bounded by MAX_CLIENT_HELLO_LEN + 4).
    let mut msg = Vec::with_capacity(total);
    let mut rest = stream;
    while msg.len() < total {
        let Some((header, after)) = rest.split_first_chunk::<RECORD_HEADER_LEN>() else {
            return Outcome::Malformed; // unreachable: the walk above saw these records
        };
        let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let take = length.min(total - msg.len());
        let Some((fragment, _)) = after.split_at_checked(take) else {
            return Outcome::Malformed;
        };
        msg.extend_from_slice(fragment);
        rest = after.get(length..).unwrap_or_default();
    }
    match msg.get(HANDSHAKE_HEADER_LEN..total) {
        Some(body) => hello::parse_client_hello_body(body, records),
        None => Outcome::Malformed,
    }
}

/// Parses a bare handshake message (no record layer), as carried in QUIC CRYPTO frames
/// (RFC 9001 §4.1.3). `msg` is the CRYPTO stream from offset 0; bytes after the ClientHello are
/// ignored. `records` is 0 in the result. `Incomplete { needed }` is exact once the 4-byte header
/// is in.
///
/// RFC 8446 §4: `struct { HandshakeType msg_type; uint24 length; select (msg_type) { case
/// client_hello: ClientHello; ... }; } Handshake;`.
pub fn parse_client_hello_message(msg: &[u8]) -> Outcome<ClientHello> {
    let Some((header, after)) = msg.split_first_chunk::<HANDSHAKE_HEADER_LEN>() else {
        if msg.first().is_some_and(|&t| t != HANDSHAKE_CLIENT_HELLO) {
            return Outcome::NotThis;
        }
        return Outcome::Incomplete { needed: HANDSHAKE_HEADER_LEN - msg.len() };
    };
    let [msg_type, l0, l1, l2] = *header;
    if msg_type != HANDSHAKE_CLIENT_HELLO {
        return Outcome::NotThis;
    }
    let body_len = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
    if body_len > MAX_CLIENT_HELLO_LEN {
        return Outcome::Malformed;
    }
    match after.get(..body_len) {
        Some(body) => hello::parse_client_hello_body(body, 0),
        None => Outcome::Incomplete { needed: body_len - after.len() },
    }
}

/// The first bytes are a TLS handshake record (RFC 8446 §5.1: type 22, legacy version 0x0300–0x0304)
/// carrying the start of a ClientHello (handshake type 1): the cheap test that decides whether a
/// TCP stream is worth following.
pub fn looks_like_client_hello(buf: &[u8]) -> bool {
    matches!(buf, [0x16, 0x03, 0x00..=0x04, _, _, 0x01, ..])
}

//! ServerHello (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3) from the server's first bytes of a TCP stream:
//! negotiated version (supported_versions, RFC 8446 §4.2.1), cipher suite and server random.
//! A HelloRetryRequest (RFC 8446 §4.1.4) is recognised and stepped over.

use crate::extract::Outcome;

/// What we keep of a ServerHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The negotiated version: supported_versions' selected_version when present (TLS 1.3 puts
    /// 0x0304 there), else legacy_version (0x0303 for TLS 1.2).
    pub version: u16,
    pub cipher_suite: u16,
    pub random: [u8; 32],
    /// A HelloRetryRequest came first (its cipher suite is the one kept here too).
    pub after_hello_retry: bool,
}

/// RFC 8446 §4.1.3: the HelloRetryRequest "random" is SHA-256("HelloRetryRequest").
pub const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
    0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

const RECORD_HEADER_LEN: usize = 5;
const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
const CONTENT_HANDSHAKE: u8 = 22;
const HANDSHAKE_SERVER_HELLO: u8 = 2;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
/// Most handshake bytes gathered (an HRR and a ServerHello are each well under 1 KiB).
const MAX_HANDSHAKE_BYTES: usize = 16 * 1024 + 8;
/// RFC 8446 §5.1: a plaintext fragment is at most 2^14 bytes.
const MAX_FRAGMENT_LEN: usize = 1 << 14;

/// Parses the ServerHello at the start of a server's TCP byte stream (in order, from its first
/// byte), stepping over a HelloRetryRequest and the ChangeCipherSpec records that may follow it.
///
/// RFC 8446 §5.1 (TLSPlaintext records; handshake messages may be split over records) and §4
/// (`struct { HandshakeType msg_type; uint24 length; ... } Handshake`).
/// - `NotThis`: the stream does not start with a handshake record, or its first message is not a
///   ServerHello.
/// - `Incomplete { needed }`: more bytes are needed (`needed` is a lower bound).
/// - `Malformed`: a record of another type (an alert) or over 2^14 bytes, or a ServerHello whose
///   fixed part does not fit its length.
pub fn parse_server_hello_stream(stream: &[u8]) -> Outcome<ServerHello> {
    match stream {
        [] | [CONTENT_HANDSHAKE] | [CONTENT_HANDSHAKE, 3] => return Outcome::Incomplete { needed: 1 },
        [CONTENT_HANDSHAKE, 3, _, ..] => {}
        _ => return Outcome::NotThis,
    }
    let mut handshake: Vec<u8> = Vec::new();
    let mut rest = stream;
    let mut after_hello_retry = false;
    let mut consumed = 0usize; // handshake bytes of messages already parsed (HRRs)
    loop {
        let Some((header, after)) = rest.split_first_chunk::<RECORD_HEADER_LEN>() else {
            return Outcome::Incomplete { needed: RECORD_HEADER_LEN - rest.len() };
        };
        let [content_type, major, _, len_hi, len_lo] = *header;
        let length = usize::from(u16::from_be_bytes([len_hi, len_lo]));
        if major != 3 || length > MAX_FRAGMENT_LEN {
            return Outcome::Malformed;
        }
        let Some((fragment, next)) = after.split_at_checked(length) else {
            return Outcome::Incomplete { needed: length - after.len() };
        };
        rest = next;
        match content_type {
            CONTENT_HANDSHAKE => {}
            CONTENT_CHANGE_CIPHER_SPEC if after_hello_retry => continue,
            _ => return Outcome::Malformed,
        }
        if handshake.len() + fragment.len() > MAX_HANDSHAKE_BYTES {
            return Outcome::Malformed;
        }
        handshake.extend_from_slice(fragment);
        // Parse every complete message gathered so far.
        loop {
            let msgs = handshake.get(consumed..).unwrap_or_default();
            let Some((&[msg_type, l0, l1, l2], body_and_more)) = msgs.split_first_chunk::<4>() else {
                if msgs.first().is_some_and(|&t| t != HANDSHAKE_SERVER_HELLO) {
                    return Outcome::NotThis;
                }
                break;
            };
            if msg_type != HANDSHAKE_SERVER_HELLO {
                return Outcome::NotThis;
            }
            let body_len = usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2);
            let Some(body) = body_and_more.get(..body_len) else { break };
            let Some(mut hello) = parse_server_hello_body(body) else { return Outcome::Malformed };
            if hello.random == HELLO_RETRY_REQUEST_RANDOM && !after_hello_retry {
                after_hello_retry = true;
                consumed += 4 + body_len;
                continue;
            }
            hello.after_hello_retry = after_hello_retry;
            return Outcome::Found(hello);
        }
    }
}

/// RFC 8446 §4.1.3:
/// ```text
/// struct {
///     ProtocolVersion legacy_version = 0x0303;    /* TLS v1.2 */
///     Random random;
///     opaque legacy_session_id_echo<0..32>;
///     CipherSuite cipher_suite;
///     uint8 legacy_compression_method = 0;
///     Extension extensions<6..2^16-1>;
/// } ServerHello;
/// ```
/// RFC 5246 §7.4.1.3: the extensions block may be absent. supported_versions (RFC 8446 §4.2.1) in a
/// ServerHello is `ProtocolVersion selected_version`.
pub fn parse_server_hello_body(body: &[u8]) -> Option<ServerHello> {
    let (&legacy_version, rest) = body.split_first_chunk::<2>()?;
    let (&random, rest) = rest.split_first_chunk::<32>()?;
    let (&session_id_len, rest) = rest.split_first()?;
    let rest = rest.get(usize::from(session_id_len)..)?;
    let (&cipher_suite, rest) = rest.split_first_chunk::<2>()?;
    let (_compression, rest) = rest.split_first()?;
    let mut hello = ServerHello {
        version: u16::from_be_bytes(legacy_version),
        cipher_suite: u16::from_be_bytes(cipher_suite),
        random,
        after_hello_retry: false,
    };
    if rest.is_empty() {
        return Some(hello);
    }
    let (&ext_len, rest) = rest.split_first_chunk::<2>()?;
    let mut exts = rest.get(..usize::from(u16::from_be_bytes(ext_len)))?;
    while let Some((&[t0, t1, l0, l1], after)) = exts.split_first_chunk::<4>() {
        let (data, next) = after.split_at_checked(usize::from(u16::from_be_bytes([l0, l1])))?;
        if u16::from_be_bytes([t0, t1]) == EXT_SUPPORTED_VERSIONS
            && let Some(&selected) = data.first_chunk::<2>()
        {
            hello.version = u16::from_be_bytes(selected);
        }
        exts = next;
    }
    Some(hello)
}

//! HTTP/1.x request heads (RFC 9112 §2–§3, §6): method, request target, Host, Referer, Cookie and
//! how the body is delimited, so a stream parser can skip to the next request.

use crate::extract::Outcome;

/// How the message body after a request head is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    None,
    ContentLength(u64),
    Chunked,
}

/// A parsed request head. Slices borrow the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead<'a> {
    pub method: &'a [u8],
    pub target: &'a [u8],
    /// Raw Host header value (may carry a port or an IPv6 literal in brackets).
    pub host: Option<&'a [u8]>,
    pub referer: Option<&'a [u8]>,
    pub cookie: Option<&'a [u8]>,
    /// Bytes from the start of the request line to the end of the empty line.
    pub head_len: usize,
    pub body: BodyLength,
}

/// Parses a request head at the start of `buf`. `Incomplete` while the empty line is missing,
/// `NotThis` when `buf` does not start with a request line.
pub fn parse_request_head(buf: &[u8]) -> Outcome<RequestHead<'_>> {
    let _ = buf;
    Outcome::NotThis
}

/// Host without port / IPv6 brackets, in presentation form; None when empty.
pub fn host_name(raw_host: &[u8]) -> Option<String> {
    let _ = raw_host;
    None
}

/// `buf` is (a prefix of) a request method followed by SP.
pub fn looks_like_request_start(buf: &[u8]) -> bool {
    let _ = buf;
    false
}

/// Total length of the complete chunked body at the start of `buf` (chunks, last chunk, trailers).
pub fn chunked_body_len(buf: &[u8]) -> Outcome<usize> {
    let _ = buf;
    Outcome::NotThis
}

//! HTTP/1.x request heads (RFC 9112 §2–§3, §6): method, request target, Host, Referer, Cookie and
//! how the body is delimited, so a stream parser can skip to the next request.

mod chunked;

pub use chunked::{ChunkedBody, ChunkedError, MAX_CHUNK_LINE, chunked_body_len};

use crate::extract::Outcome;
use crate::extract::name::host_presentation;

/// A request head longer than this is not buffered further: `Malformed` (RFC 9112 §2.3 lets a
/// server refuse long heads; common servers stop at 8–16 KiB).
pub const MAX_HEAD_LEN: usize = 16 * 1024;

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
    /// HTTP-version as sent (`HTTP/1.1`); empty when the request line has none (tshark still
    /// decodes such requests, and so do we).
    pub version: &'a [u8],
    /// The body cannot be delimited (RFC 9112 §6.3 items 4–5: Transfer-Encoding whose final
    /// coding is not chunked, or an invalid or conflicting Content-Length). A server must answer
    /// 400 and close the connection, so nothing after this head should be parsed as a request.
    /// `body` is then [`BodyLength::None`].
    pub bad_framing: bool,
}

/// Request methods we recognise: RFC 9110 §9, PATCH (RFC 5789), WebDAV and its extensions
/// (RFC 4918, 3253, 3648, 3744, 4437, 4791, 5323, 5842), and a few common vendor methods.
/// Grouped by first byte so that a rejection costs one `match`.
fn methods_starting_with(first: u8) -> &'static [&'static [u8]] {
    match first {
        b'A' => &[b"ACL"],
        b'B' => &[b"BIND", b"BCOPY", b"BMOVE", b"BDELETE", b"BPROPFIND", b"BPROPPATCH", b"BASELINE-CONTROL"],
        b'C' => &[b"COPY", b"CONNECT", b"CHECKIN", b"CHECKOUT", b"CCM_POST"],
        b'D' => &[b"DELETE"],
        b'G' => &[b"GET"],
        b'H' => &[b"HEAD"],
        b'L' => &[b"LOCK", b"LINK", b"LABEL"],
        b'M' => &[b"MOVE", b"MKCOL", b"MERGE", b"MKCALENDAR", b"MKACTIVITY", b"MKWORKSPACE", b"MKREDIRECTREF"],
        b'N' => &[b"NOTIFY"],
        b'O' => &[b"OPTIONS", b"ORDERPATCH"],
        b'P' => &[b"PUT", b"POST", b"POLL", b"PATCH", b"PURGE", b"PROPFIND", b"PROPPATCH"],
        b'R' => &[b"REBIND", b"REPORT", b"RPC_IN_DATA", b"RPC_OUT_DATA", b"RPC_CONNECT"],
        b'S' => &[b"SEARCH", b"SOURCE", b"SUBSCRIBE"],
        b'T' => &[b"TRACE"],
        b'U' => &[b"UNBIND", b"UNLOCK", b"UNLINK", b"UPDATE", b"UNCHECKOUT", b"UNSUBSCRIBE", b"UPDATEREDIRECTREF"],
        b'V' => &[b"VERSION-CONTROL"],
        _ => &[],
    }
}

/// Length of the known method `buf` starts with, when it is followed by SP (RFC 9112 §3).
fn method_len(buf: &[u8]) -> Option<usize> {
    let first = *buf.first()?;
    methods_starting_with(first).iter().find(|m| buf.get(m.len()) == Some(&b' ') && buf.starts_with(m)).map(|m| m.len())
}

/// True when `buf` (at least one byte) starts with a known method and SP, or is a prefix of
/// one: a segment worth buffering as the start of a request. Costs one `match` for most bytes.
pub fn looks_like_request_start(buf: &[u8]) -> bool {
    let Some(&first) = buf.first() else {
        return false;
    };
    methods_starting_with(first).iter().any(|m| {
        let (method, rest) = buf.split_at_checked(m.len()).unwrap_or((buf, &[]));
        if method.len() < m.len() {
            m.starts_with(method)
        } else {
            method == *m && rest.first().is_none_or(|&b| b == b' ')
        }
    })
}

/// Parses a request head at the start of `buf` (RFC 9112 §2.1: start-line, field lines, empty
/// line; §3: request-line = method SP request-target SP HTTP-version; §5: field-line =
/// field-name ":" OWS field-value OWS; §2.2: a bare LF ends a line too; §6.3: body length).
///
/// - `NotThis` unless `buf` starts with a known method and SP (or a prefix of that).
/// - `Incomplete` while the empty line ending the head is missing, up to [`MAX_HEAD_LEN`].
/// - `Malformed` when no head ends within [`MAX_HEAD_LEN`] bytes, or the request line has no
///   target.
/// - `Found` otherwise. Like tshark, the request line may lack the HTTP-version (`version` is
///   then empty) and a target containing spaces is kept whole. Header names are matched
///   case-insensitively; the first Host, Referer and Cookie are kept, OWS trimmed. Lines
///   without a colon and obs-fold continuation lines are skipped.
pub fn parse_request_head(buf: &[u8]) -> Outcome<RequestHead<'_>> {
    let Some(mlen) = method_len(buf) else {
        return if looks_like_request_start(buf) { Outcome::Incomplete { needed: 1 } } else { Outcome::NotThis };
    };
    let window = buf.get(..MAX_HEAD_LEN).unwrap_or(buf);
    let incomplete = || {
        if window.len() >= MAX_HEAD_LEN {
            Outcome::Malformed
        } else {
            // A bare LF can finish the head: one byte after a line end, two inside a line.
            let needed = if buf.ends_with(b"\n") || buf.ends_with(b"\n\r") { 1 } else { 2 };
            Outcome::Incomplete { needed }
        }
    };
    let mut lines = Lines { buf: window, pos: 0 };
    let Some(request_line) = lines.next() else {
        return incomplete();
    };
    let (method, rest) = request_line.split_at_checked(mlen).unwrap_or((request_line, &[]));
    let rest = trim_ows(rest);
    let (target, version) = match rest.iter().rposition(|&b| b == b' ' || b == b'\t') {
        Some(sp) if rest.get(sp + 1..).is_some_and(|v| v.starts_with(b"HTTP/")) => {
            (trim_ows(rest.get(..sp).unwrap_or_default()), rest.get(sp + 1..).unwrap_or_default())
        }
        _ => (rest, &b""[..]),
    };
    if target.is_empty() {
        return Outcome::Malformed;
    }

    let mut head = RequestHead {
        method,
        target,
        host: None,
        referer: None,
        cookie: None,
        head_len: 0,
        body: BodyLength::None,
        version,
        bad_framing: false,
    };
    let mut content_length = ContentLength::Absent;
    let mut transfer_encoding: Option<&[u8]> = None;
    loop {
        let Some(line) = lines.next() else {
            return incomplete();
        };
        if line.is_empty() {
            break;
        }
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            continue; // obs-fold (RFC 9112 §5.2): continuation of the previous value
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = line.split_at_checked(colon).unwrap_or((line, &[]));
        let name = trim_ows(name);
        let value = trim_ows(value.get(1..).unwrap_or_default());
        if name.eq_ignore_ascii_case(b"host") {
            head.host.get_or_insert(value);
        } else if name.eq_ignore_ascii_case(b"referer") {
            head.referer.get_or_insert(value);
        } else if name.eq_ignore_ascii_case(b"cookie") {
            head.cookie.get_or_insert(value);
        } else if name.eq_ignore_ascii_case(b"content-length") {
            content_length = content_length.add(value);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // The final coding is the last list member of the last field line (RFC 9110 §5.3).
            if let Some(last) = value.split(|&b| b == b',').map(trim_ows).rfind(|c| !c.is_empty()) {
                transfer_encoding = Some(last);
            }
        }
    }
    head.head_len = lines.pos;
    // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length (item 3); a request whose final
    // coding is not chunked cannot be delimited (item 4); an invalid Content-Length (item 5).
    match (transfer_encoding, content_length) {
        (Some(coding), _) if coding.eq_ignore_ascii_case(b"chunked") => head.body = BodyLength::Chunked,
        (Some(_), _) | (None, ContentLength::Invalid) => head.bad_framing = true,
        (None, ContentLength::Value(0) | ContentLength::Absent) => {}
        (None, ContentLength::Value(n)) => head.body = BodyLength::ContentLength(n),
    }
    Outcome::Found(head)
}

/// Content-Length so far (RFC 9110 §8.6): `1*DIGIT`; repeated fields or list members must agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContentLength {
    Absent,
    Value(u64),
    Invalid,
}

impl ContentLength {
    fn add(self, field_value: &[u8]) -> ContentLength {
        let mut acc = self;
        for member in field_value.split(|&b| b == b',').map(trim_ows) {
            let parsed = parse_decimal(member);
            acc = match (acc, parsed) {
                (ContentLength::Invalid, _) | (_, None) => ContentLength::Invalid,
                (ContentLength::Absent, Some(n)) => ContentLength::Value(n),
                (ContentLength::Value(a), Some(n)) if a == n => acc,
                (ContentLength::Value(_), Some(_)) => ContentLength::Invalid,
            };
        }
        acc
    }
}

/// `1*DIGIT` as a u64; None when empty, not digits, or too large.
fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() { n.checked_mul(10)?.checked_add(u64::from(b - b'0')) } else { None }
    })
}

/// Strips optional whitespace (RFC 9110 §5.6.3: SP / HTAB) from both ends.
fn trim_ows(s: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = s.iter().position(|b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !is_ows(b)).map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or_default()
}

/// Complete lines of `buf`, without their CRLF or bare LF (RFC 9112 §2.2); `pos` is the offset
/// just after the last line returned.
struct Lines<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.buf.get(self.pos..)?;
        let lf = rest.iter().position(|&b| b == b'\n')?;
        self.pos += lf + 1;
        let line = rest.get(..lf)?;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}

/// The name of a Host header value (RFC 9110 §7.2: uri-host [ ":" port ]): without the port,
/// an IP-literal without its brackets (`[::1]:8080` → `::1`), in presentation form
/// ([`host_presentation`]). A value with several colons and no brackets is kept whole.
/// `None` when empty. Same rule as the corpus oracle's `host_without_port`; like tshark (and
/// C servers) the value ends at a NUL byte.
pub fn host_name(raw_host: &[u8]) -> Option<String> {
    let until_nul = raw_host.split(|&b| b == 0).next().unwrap_or_default();
    let h = trim_ows(until_nul);
    let name = if let Some(inner) = h.strip_prefix(b"[") {
        match inner.iter().position(|&b| b == b']') {
            Some(end) => inner.get(..end).unwrap_or_default(),
            None => h,
        }
    } else {
        let mut parts = h.splitn(3, |&b| b == b':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(host), Some(port), None) if port.iter().all(u8::is_ascii_digit) => host,
            _ => h,
        }
    };
    if name.is_empty() { None } else { Some(host_presentation(name)) }
}

#[cfg(test)]
mod tests;

//! [`RequestReader`]: HTTP requests in decrypted client plaintext — HTTP/2 when the stream starts
//! with the connection preface (RFC 9113 §3.4), else HTTP/1.x request heads (RFC 9112), bodies
//! skipped.

use crate::extract::h2::{H2Connection, H2Request};
use crate::extract::{Outcome, http};

/// Requests reported per connection at most (only the first requests are wanted).
pub const MAX_REQUESTS: usize = 64;

/// A request seen inside a decrypted TLS connection. Byte strings as sent (HTTP/2 values after
/// HPACK decoding), to be handled like their plain-HTTP counterparts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptedRequest {
    pub method: Vec<u8>,
    /// HTTP/1.x Host header, HTTP/2 `:authority` (or Host when `:authority` is absent).
    pub authority: Option<Vec<u8>>,
    /// HTTP/1.x request-target, HTTP/2 `:path`.
    pub path: Vec<u8>,
    pub referer: Option<Vec<u8>>,
    /// HTTP/2 splits cookies into several fields (RFC 9113 §8.2.3): joined with "; ".
    pub cookie: Option<Vec<u8>>,
    pub http2: bool,
    /// HTTP/2 stream identifier; 0 for HTTP/1.x.
    pub stream_id: u32,
}

impl From<H2Request> for DecryptedRequest {
    fn from(r: H2Request) -> Self {
        DecryptedRequest {
            method: r.method,
            authority: r.authority,
            path: r.path,
            referer: r.referer,
            cookie: r.cookie,
            http2: true,
            stream_id: r.stream_id,
        }
    }
}

/// HTTP/2 connection preface (RFC 9113 §3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum Mode {
    /// Not enough bytes to tell HTTP/2 from HTTP/1.x.
    Detect,
    Http1 {
        skip: u64,
        chunked: Option<http::ChunkedBody>,
    },
    Http2(Box<H2Connection>),
    Done,
}

/// Reads requests from a connection's decrypted client plaintext, fed in order in any split.
pub struct RequestReader {
    mode: Mode,
    /// HTTP/1.x: an unfinished request head (≤ [`http::MAX_HEAD_LEN`]); detection: the first bytes.
    buf: Vec<u8>,
    requests: usize,
}

impl std::fmt::Debug for RequestReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.mode {
            Mode::Detect => "detect",
            Mode::Http1 { .. } => "http1",
            Mode::Http2(_) => "http2",
            Mode::Done => "done",
        };
        f.debug_struct("RequestReader").field("mode", &mode).field("requests", &self.requests).finish()
    }
}

impl Default for RequestReader {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestReader {
    pub fn new() -> Self {
        RequestReader { mode: Mode::Detect, buf: Vec::new(), requests: 0 }
    }

    /// Nothing more will be reported (request cap, or the stream is neither HTTP/1.x nor HTTP/2,
    /// or its framing was lost).
    pub fn is_done(&self) -> bool {
        matches!(self.mode, Mode::Done)
    }

    /// Requests reported so far.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// The next plaintext bytes; complete requests are appended to `out`.
    pub fn feed(&mut self, plaintext: &[u8], out: &mut Vec<DecryptedRequest>) {
        let mut input = plaintext;
        if let Mode::Detect = self.mode {
            // `buf` holds fewer bytes than the preface while detecting.
            let want = PREFACE.len().saturating_sub(self.buf.len());
            let (head, rest) = input.split_at(want.min(input.len()));
            self.buf.extend_from_slice(head);
            input = rest;
            if self.buf.len() < PREFACE.len() && PREFACE.starts_with(&self.buf) {
                return; // still a prefix of the preface
            }
            let seen = std::mem::take(&mut self.buf);
            if seen == PREFACE {
                self.mode = Mode::Http2(Box::new(H2Connection::after_preface()));
            } else if http::looks_like_request_start(&seen) {
                self.mode = Mode::Http1 { skip: 0, chunked: None };
                self.feed_http1(&seen, out);
            } else {
                self.mode = Mode::Done;
            }
        }
        match &mut self.mode {
            Mode::Http2(h2) => {
                let before = out.len();
                let mut got = Vec::new();
                h2.feed(input, &mut got);
                let room = MAX_REQUESTS.saturating_sub(self.requests);
                out.extend(got.into_iter().take(room).map(DecryptedRequest::from));
                self.requests += out.len() - before;
                if self.requests >= MAX_REQUESTS || h2.is_failed() {
                    self.mode = Mode::Done;
                }
            }
            Mode::Http1 { .. } => self.feed_http1(input, out),
            Mode::Detect | Mode::Done => {}
        }
    }

    /// RFC 9112: request heads parsed with [`http::parse_request_head`]; bodies (RFC 9112 §6.3:
    /// Content-Length or chunked) stepped over without buffering.
    fn feed_http1(&mut self, mut input: &[u8], out: &mut Vec<DecryptedRequest>) {
        while !input.is_empty() {
            let Mode::Http1 { skip, chunked } = &mut self.mode else { return };
            if let Some(walker) = chunked {
                match walker.feed(input) {
                    Ok(used) => {
                        input = input.get(used..).unwrap_or_default();
                        if walker.is_done() {
                            *chunked = None;
                        }
                    }
                    Err(_) => {
                        self.mode = Mode::Done;
                        return;
                    }
                }
                continue;
            }
            if *skip > 0 {
                let step = usize::try_from(*skip).map_or(input.len(), |s| s.min(input.len()));
                *skip -= step as u64;
                input = input.get(step..).unwrap_or_default();
                continue;
            }
            // A request head: parsed in place when nothing is buffered, else appended to the buffer.
            let old_len = self.buf.len();
            let (parsed, appended) = if old_len == 0 {
                (parse_head(input), input.len())
            } else {
                let take = http::MAX_HEAD_LEN.saturating_sub(old_len).min(input.len()).max(1).min(input.len());
                self.buf.extend_from_slice(input.get(..take).unwrap_or_default());
                (parse_head(&self.buf), take)
            };
            match parsed {
                Head::Found { request, head_len, body, bad_framing } => {
                    out.push(request);
                    self.requests += 1;
                    // The head ends inside `input` (a buffered prefix was incomplete).
                    input = input.get(head_len.saturating_sub(old_len)..).unwrap_or_default();
                    self.buf.clear();
                    if bad_framing || self.requests >= MAX_REQUESTS {
                        self.mode = Mode::Done;
                        return;
                    }
                    if let Mode::Http1 { skip, chunked } = &mut self.mode {
                        match body {
                            http::BodyLength::None => {}
                            http::BodyLength::ContentLength(n) => *skip = n,
                            http::BodyLength::Chunked => *chunked = Some(http::ChunkedBody::new()),
                        }
                    }
                }
                Head::Incomplete => {
                    if old_len == 0 {
                        self.buf.extend_from_slice(input);
                    }
                    input = input.get(appended..).unwrap_or_default();
                }
                Head::Stop => {
                    self.buf = Vec::new();
                    self.mode = Mode::Done;
                    return;
                }
            }
        }
    }
}

enum Head {
    Found { request: DecryptedRequest, head_len: usize, body: http::BodyLength, bad_framing: bool },
    Incomplete,
    Stop,
}

fn parse_head(bytes: &[u8]) -> Head {
    match http::parse_request_head(bytes) {
        Outcome::Found(head) => Head::Found {
            request: DecryptedRequest {
                method: head.method.to_vec(),
                authority: head.host.map(<[u8]>::to_vec),
                path: head.target.to_vec(),
                referer: head.referer.map(<[u8]>::to_vec),
                cookie: head.cookie.map(<[u8]>::to_vec),
                http2: false,
                stream_id: 0,
            },
            head_len: head.head_len,
            body: head.body,
            bad_framing: head.bad_framing,
        },
        Outcome::Incomplete { .. } => Head::Incomplete,
        Outcome::NotThis | Outcome::Malformed => Head::Stop,
    }
}

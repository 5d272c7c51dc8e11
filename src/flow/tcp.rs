//! One direction of a TCP connection: in-order reassembly of its bytes (RFC 9293 §3.4 sequence
//! numbers) and the application parser those bytes are fed to — TLS ClientHello, HTTP/1.x request
//! heads, DNS over TCP.
//!
//! Only the beginning of most streams is read: once a ClientHello is found the stream is `Done`
//! and costs one table lookup per packet. HTTP and DNS streams are followed for their lifetime,
//! but body bytes are skipped without being copied. Everything buffered is bounded.

use super::StreamKey;
use super::tls_session::{SERVER_HELLO_CAP, TlsDecrypt, TlsSession};
use crate::extract::tls::session::{ServerHello, parse_server_hello_stream};
use crate::extract::{Outcome, dns, http, tls};
use crate::model::{ObservationKind, Ts, UnnamedReason};

/// Most bytes buffered while waiting for the rest of a ClientHello (RFC 8446 §5.1: a handshake
/// message up to 16 KiB plus record headers).
pub const TLS_BUFFER_CAP: usize = tls::MAX_STREAM_PREFIX;
/// Most bytes of an HTTP request head buffered while waiting for its empty line.
pub const HTTP_HEAD_CAP: usize = 16 * 1024;
/// A DNS message over TCP is at most 65535 bytes plus its 2-byte prefix.
pub const DNS_BUFFER_CAP: usize = 65_537;
/// Out-of-order segments kept while waiting for a gap to fill.
pub const OOO_MAX_SEGMENTS: usize = 16;
pub const OOO_MAX_BYTES: usize = 32 * 1024;
/// Client bytes scanned for a ClientHello after a plaintext start (STARTTLS, CONNECT, SOCKS…).
pub const SCAN_MAX_BYTES: u32 = 64 * 1024;
pub const SCAN_MAX_SEGMENTS: u16 = 32;

/// Idle timeouts in capture time: a SYN with nothing after it, a stream we are done with, and an
/// active one.
pub const SYN_TIMEOUT: i64 = 30 * Ts::MICROS_PER_SEC;
pub const DONE_TIMEOUT: i64 = 120 * Ts::MICROS_PER_SEC;
pub const ACTIVE_TIMEOUT: i64 = 300 * Ts::MICROS_PER_SEC;
/// Mail connections stay open for long (IMAP IDLE re-issues every 29 minutes, RFC 2177).
pub const WATCH_TIMEOUT: i64 = 1800 * Ts::MICROS_PER_SEC;

/// What the stream's bytes are being read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    /// Nothing seen yet.
    Probe,
    /// Plaintext start: look for a ClientHello at the start of later segments.
    Scan,
    Tls,
    Http(HttpState),
    Dns,
    /// With a key log: the client's bytes after its ClientHello go to [`Stream::session`].
    Decrypt,
    /// With a key log: the server's first bytes, searched for the ServerHello.
    ServerHello,
    /// Nothing more to read in this direction.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HttpState {
    /// Body bytes still to skip.
    skip: u64,
    chunked: bool,
    /// Lost track of message boundaries: wait for a segment that starts with a request line.
    resync: bool,
}

/// Where observations go, with the context of the packet being processed.
pub struct Emit<'o> {
    pub out: &'o mut Vec<ObservationKind>,
    /// With a key log: the decryption state and this packet's context (None: nothing is followed
    /// after a ClientHello).
    pub tls: Option<TlsContext<'o>>,
    /// A server stream read its ServerHello (`Some(None)`: its first bytes are not one).
    pub server_hello: Option<Option<ServerHello>>,
}

/// The packet context a TLS session starts with.
pub struct TlsContext<'o> {
    pub state: &'o mut TlsDecrypt,
    pub key: StreamKey,
    pub ts: Ts,
    pub macs: (Option<[u8; 6]>, Option<[u8; 6]>),
}

impl<'o> Emit<'o> {
    pub fn new(out: &'o mut Vec<ObservationKind>) -> Emit<'o> {
        Emit { out, tls: None, server_hello: None }
    }
}

/// One direction of a TCP connection.
#[derive(Debug)]
pub struct Stream {
    pub app: App,
    next_seq: u32,
    buf: Vec<u8>,
    ooo: Vec<(u32, Vec<u8>)>,
    ooo_bytes: usize,
    scanned_bytes: u32,
    scanned_segments: u16,
    /// Where a chunked request body stands (RFC 9112 §7.1), while one is being skipped.
    chunked: Option<http::ChunkedBody>,
    /// A SYN was seen and no payload yet: a cheaper timeout applies.
    pub syn_only: bool,
    /// A mail connection: client payload is reported as mail activity, and the stream is kept
    /// through long idle periods (IMAP IDLE).
    pub watch: bool,
    /// When mail activity was last reported for this stream.
    pub last_activity: Option<Ts>,
    /// With a key log: the decryption of this (client) direction after its ClientHello.
    pub session: Option<Box<TlsSession>>,
}

impl Stream {
    /// A stream whose next byte has sequence number `next_seq`.
    pub fn new(next_seq: u32, app: App) -> Stream {
        Stream {
            app,
            next_seq,
            buf: Vec::new(),
            ooo: Vec::new(),
            ooo_bytes: 0,
            scanned_bytes: 0,
            scanned_segments: 0,
            chunked: None,
            syn_only: true,
            watch: false,
            last_activity: None,
            session: None,
        }
    }

    /// Heap bytes held by this stream.
    pub fn buffered(&self) -> usize {
        self.buf.capacity()
            + self.ooo.iter().map(|(_, v)| v.capacity()).sum::<usize>()
            + self.session.as_ref().map_or(0, |s| s.buffered())
    }

    /// A segment carrying `payload` at sequence number `seq`.
    pub fn segment(&mut self, seq: u32, payload: &[u8], emit: &mut Emit<'_>) {
        if payload.is_empty() || self.app == App::Done {
            return;
        }
        self.syn_only = false;
        let off = seq.wrapping_sub(self.next_seq) as i32;
        if off > 0 {
            self.hold_out_of_order(seq, payload, emit);
            return;
        }
        let skip = off.unsigned_abs() as usize;
        let Some(fresh) = payload.get(skip..).filter(|f| !f.is_empty()) else {
            return; // a retransmission of bytes already read
        };
        self.next_seq = self.next_seq.wrapping_add(fresh.len() as u32);
        self.deliver(fresh, skip == 0, emit);
        self.drain_out_of_order(emit);
    }

    fn hold_out_of_order(&mut self, seq: u32, payload: &[u8], emit: &mut Emit<'_>) {
        if self.ooo.iter().any(|(s, _)| *s == seq) {
            return;
        }
        if self.ooo.len() >= OOO_MAX_SEGMENTS || self.ooo_bytes + payload.len() > OOO_MAX_BYTES {
            // A hole that does not fill (lost from the capture): give up on it.
            self.give_up_holes(emit);
            if self.app == App::Done {
                return;
            }
            let off = seq.wrapping_sub(self.next_seq) as i32;
            if off <= 0 {
                self.segment(seq, payload, emit);
                return;
            }
            if payload.len() > OOO_MAX_BYTES {
                return;
            }
        }
        self.ooo_bytes += payload.len();
        self.ooo.push((seq, payload.to_vec()));
    }

    fn drain_out_of_order(&mut self, emit: &mut Emit<'_>) {
        while !self.ooo.is_empty() && self.app != App::Done {
            let next = self.next_seq;
            let Some(i) = self.ooo.iter().position(|(s, _)| next.wrapping_sub(*s) as i32 >= 0) else {
                return;
            };
            let (seq, data) = self.ooo.swap_remove(i);
            self.ooo_bytes -= data.len();
            let skip = next.wrapping_sub(seq) as usize;
            if let Some(fresh) = data.get(skip..).filter(|f| !f.is_empty()) {
                self.next_seq = self.next_seq.wrapping_add(fresh.len() as u32);
                self.deliver(fresh, skip == 0, emit);
            }
        }
    }

    /// Gives up on the missing bytes: the parser loses its place (HTTP waits for a segment that
    /// starts a request; a ClientHello or DNS framing cannot be recovered), and every held
    /// segment is delivered in sequence order, holes between them skipped.
    fn give_up_holes(&mut self, emit: &mut Emit<'_>) {
        self.buf = Vec::new();
        self.chunked = None;
        self.app = match self.app {
            App::Http(_) => App::Http(HttpState { resync: true, ..HttpState::default() }),
            App::Probe | App::Scan => App::Scan,
            App::Tls | App::Dns | App::Decrypt | App::ServerHello | App::Done => App::Done,
        };
        let next = self.next_seq;
        let mut held = std::mem::take(&mut self.ooo);
        self.ooo_bytes = 0;
        held.sort_by_key(|(s, _)| s.wrapping_sub(next));
        for (seq, data) in held {
            if self.app == App::Done {
                return;
            }
            let off = seq.wrapping_sub(self.next_seq) as i32;
            let skip = if off >= 0 {
                self.next_seq = seq;
                0
            } else {
                off.unsigned_abs() as usize
            };
            if let Some(fresh) = data.get(skip..).filter(|f| !f.is_empty()) {
                self.next_seq = self.next_seq.wrapping_add(fresh.len() as u32);
                self.deliver(fresh, skip == 0, emit);
            }
        }
    }

    /// In-order bytes; `at_start` when they begin at a segment boundary.
    fn deliver(&mut self, data: &[u8], at_start: bool, emit: &mut Emit<'_>) {
        if self.buf.is_empty() {
            let used = self.process(data, at_start, emit);
            if let Some(rest) = data.get(used..).filter(|r| !r.is_empty()) {
                self.keep(rest);
            }
            return;
        }
        self.keep(data);
        let buf = std::mem::take(&mut self.buf);
        let used = self.process(&buf, false, emit).min(buf.len());
        let mut buf = buf;
        if self.app == App::Done {
            buf = Vec::new();
        } else {
            buf.drain(..used);
        }
        // Bytes appended by `keep` during `process` (none today) would be lost: process never keeps.
        self.buf = buf;
    }

    /// Buffers bytes the current parser needs to see again with more data, within its cap.
    fn keep(&mut self, data: &[u8]) {
        let cap = match self.app {
            App::Tls => TLS_BUFFER_CAP,
            App::Dns => DNS_BUFFER_CAP,
            App::Http(_) | App::Probe | App::Scan => HTTP_HEAD_CAP,
            App::ServerHello => SERVER_HELLO_CAP,
            App::Decrypt | App::Done => 0,
        };
        if self.buf.len() + data.len() > cap {
            self.buf = Vec::new();
            self.app = match self.app {
                App::Http(_) => App::Http(HttpState { resync: true, ..HttpState::default() }),
                _ => App::Done,
            };
            return;
        }
        self.buf.extend_from_slice(data);
    }

    /// Runs the application parser over `input`; returns how many bytes it consumed for good.
    /// Unconsumed bytes are kept by the caller and offered again with the next data.
    fn process(&mut self, input: &[u8], at_start: bool, emit: &mut Emit<'_>) -> usize {
        let mut used = 0usize;
        loop {
            let rest = input.get(used..).unwrap_or_default();
            match self.app {
                App::Done => return input.len(),
                App::Probe => {
                    if rest.is_empty() {
                        return used;
                    }
                    match proxy_header_len(rest) {
                        ProxyHeader::Absent => {}
                        ProxyHeader::Len(n) => {
                            used += n;
                            continue;
                        }
                        ProxyHeader::Partial => return used,
                    }
                    self.app = if tls::looks_like_client_hello(rest) || is_tls_record_prefix(rest) {
                        App::Tls
                    } else if http::looks_like_request_start(rest) {
                        if rest.len() < 8 && !rest.contains(&b' ') {
                            return used; // a method prefix: wait for more
                        }
                        App::Http(HttpState::default())
                    } else {
                        App::Scan
                    };
                }
                App::Scan => {
                    if rest.is_empty() {
                        return used;
                    }
                    if at_start && used == 0 {
                        if tls::looks_like_client_hello(rest) {
                            self.app = App::Tls;
                            continue;
                        }
                        // A request after a SOCKS or proxy handshake.
                        if rest.len() >= 8 && http::looks_like_request_start(rest) {
                            self.app = App::Http(HttpState::default());
                            continue;
                        }
                    }
                    self.scanned_bytes = self.scanned_bytes.saturating_add(rest.len() as u32);
                    self.scanned_segments = self.scanned_segments.saturating_add(1);
                    if self.scanned_bytes > SCAN_MAX_BYTES || self.scanned_segments > SCAN_MAX_SEGMENTS {
                        self.app = App::Done;
                    }
                    return input.len();
                }
                App::Tls => {
                    return match tls::parse_client_hello_stream(rest) {
                        Outcome::Found(hello) => {
                            let Some(ctx) = emit.tls.as_mut() else {
                                emit.out.push(match hello.sni {
                                    Some(name) => ObservationKind::TlsSni { name, ech: hello.ech },
                                    None => ObservationKind::UnnamedFlow { reason: UnnamedReason::NoSni },
                                });
                                self.app = App::Done;
                                return input.len();
                            };
                            // With a key log the connection is followed on (its ClientHello bytes
                            // included: the decryptor steps over plaintext handshake records).
                            emit.out.push(match &hello.sni {
                                Some(name) => ObservationKind::TlsSni { name: name.clone(), ech: hello.ech },
                                None => ObservationKind::UnnamedFlow { reason: UnnamedReason::NoSni },
                            });
                            self.session = ctx.state.start(hello, rest, ctx.key, ctx.ts, ctx.macs);
                            self.app = if self.session.is_some() { App::Decrypt } else { App::Done };
                            input.len()
                        }
                        Outcome::Incomplete { .. } => used,
                        Outcome::NotThis | Outcome::Malformed => {
                            self.app = App::Done;
                            input.len()
                        }
                    };
                }
                App::Http(mut st) => {
                    if rest.is_empty() {
                        return used;
                    }
                    if st.skip > 0 {
                        let n = st.skip.min(rest.len() as u64);
                        st.skip -= n;
                        used += n as usize;
                        self.app = App::Http(st);
                        continue;
                    }
                    if st.chunked {
                        let walker = self.chunked.get_or_insert_with(http::ChunkedBody::new);
                        match walker.feed(rest) {
                            Ok(n) if walker.is_done() => {
                                used += n;
                                self.chunked = None;
                                st.chunked = false;
                                self.app = App::Http(st);
                                continue;
                            }
                            Ok(_) => return input.len(),
                            Err(_) => {
                                self.chunked = None;
                                self.app = App::Http(HttpState { resync: true, ..HttpState::default() });
                                return input.len();
                            }
                        }
                    }
                    if st.resync {
                        let segment_start = at_start && used == 0;
                        if !(segment_start && http::looks_like_request_start(rest)) {
                            return input.len();
                        }
                        st.resync = false;
                        self.app = App::Http(st);
                    }
                    match http::parse_request_head(rest) {
                        Outcome::Found(head) => {
                            // An empty Host header is still a request (with an empty name).
                            if let Some(name) = head.host.map(|h| http::host_name(h).unwrap_or_default()) {
                                emit.out.push(ObservationKind::HttpHost {
                                    name,
                                    path: String::from_utf8_lossy(head.target).into_owned(),
                                    method: String::from_utf8_lossy(head.method).into_owned(),
                                    referer: head.referer.map(|v| String::from_utf8_lossy(v).into_owned()),
                                    cookie: head.cookie.map(|v| String::from_utf8_lossy(v).into_owned()),
                                    decrypted: false,
                                });
                            }
                            used += head.head_len.max(1);
                            if head.bad_framing {
                                // RFC 9112 §6.3: the server must close; nothing after it is a request.
                                self.app = App::Done;
                                return input.len();
                            }
                            if head.method.eq_ignore_ascii_case(b"CONNECT") {
                                self.app = App::Scan;
                                return input.len();
                            }
                            st = HttpState::default();
                            self.chunked = None;
                            match head.body {
                                http::BodyLength::None => {}
                                http::BodyLength::ContentLength(n) => st.skip = n,
                                http::BodyLength::Chunked => st.chunked = true,
                            }
                            self.app = App::Http(st);
                        }
                        Outcome::Incomplete { .. } if rest.len() < HTTP_HEAD_CAP => return used,
                        _ => {
                            self.app = App::Http(HttpState { resync: true, ..HttpState::default() });
                            return input.len();
                        }
                    }
                }
                App::Decrypt => {
                    match (self.session.as_mut(), emit.tls.as_mut()) {
                        (Some(session), Some(ctx)) => {
                            session.client_bytes(rest, ctx.state, ctx.ts);
                            if session.is_done() {
                                self.app = App::Done;
                            }
                        }
                        _ => self.app = App::Done,
                    }
                    return input.len();
                }
                App::ServerHello => {
                    return match parse_server_hello_stream(rest) {
                        Outcome::Found(hello) => {
                            emit.server_hello = Some(Some(hello));
                            self.app = App::Done;
                            input.len()
                        }
                        Outcome::Incomplete { .. } if rest.len() < SERVER_HELLO_CAP => used,
                        _ => {
                            emit.server_hello = Some(None);
                            self.app = App::Done;
                            input.len()
                        }
                    };
                }
                App::Dns => {
                    let (messages, consumed) = dns::split_tcp_messages(rest);
                    for message in messages {
                        if let Outcome::Found(m) = dns::parse_message(message) {
                            crate::flow::dns_observations(&m, emit.out);
                        }
                    }
                    used += consumed;
                    return used;
                }
            }
        }
    }
}

impl crate::flow::table::Idle for Stream {
    fn idle_timeout(&self) -> i64 {
        if self.session.as_ref().is_some_and(|s| s.awaits_secrets()) {
            super::tls_session::SECRETS_WAIT
        } else if self.watch {
            WATCH_TIMEOUT
        } else if self.syn_only {
            SYN_TIMEOUT
        } else if self.app == App::Done {
            DONE_TIMEOUT
        } else {
            ACTIVE_TIMEOUT
        }
    }
}

/// A PROXY protocol header in front of the client's bytes (haproxy's proxy-protocol.txt: v1 is
/// a text line of at most 107 bytes, v2 a 16-byte binary header plus an address block).
#[derive(Debug, PartialEq, Eq)]
enum ProxyHeader {
    Absent,
    Len(usize),
    Partial,
}

const PROXY_V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// The bytes start with a PROXY protocol v1 or v2 header (worth following without a SYN).
pub fn starts_with_proxy_header(b: &[u8]) -> bool {
    b.starts_with(b"PROXY ") || b.starts_with(PROXY_V2_SIGNATURE)
}

fn proxy_header_len(b: &[u8]) -> ProxyHeader {
    if let Some(line) = b.strip_prefix(b"PROXY ") {
        return match line.windows(2).take(101).position(|w| w == b"\r\n") {
            Some(end) => ProxyHeader::Len(6 + end + 2),
            None if b.len() < 107 => ProxyHeader::Partial,
            None => ProxyHeader::Absent,
        };
    }
    if b.len() < PROXY_V2_SIGNATURE.len() {
        return if PROXY_V2_SIGNATURE.starts_with(b) { ProxyHeader::Partial } else { ProxyHeader::Absent };
    }
    if !b.starts_with(PROXY_V2_SIGNATURE) {
        return ProxyHeader::Absent;
    }
    match b.get(14..16) {
        Some(&[hi, lo]) => ProxyHeader::Len(16 + usize::from(u16::from_be_bytes([hi, lo]))),
        _ => ProxyHeader::Partial,
    }
}

/// Fewer than 6 bytes that could still become a TLS handshake record.
fn is_tls_record_prefix(b: &[u8]) -> bool {
    b.len() < 6 && matches!(b, [0x16] | [0x16, 0x03] | [0x16, 0x03, 0x00..=0x04, ..])
}

//! With a TLS key log (`--tls-keylog`): the client direction of a TLS connection after its
//! ClientHello. The ServerHello is read from the server's first bytes, the client's records are
//! decrypted with the key log's secrets ([`ClientDecryptor`]) and the HTTP requests inside
//! ([`RequestReader`]) become `HttpHost { decrypted: true }` observations.
//!
//! Only built when a key log is given: without one the flow layer never creates a session.
//! Everything is bounded: the client bytes held while the ServerHello or the secrets are missing
//! ([`CLIENT_PENDING_CAP`]), the server bytes searched for the ServerHello ([`SERVER_HELLO_CAP`]),
//! the plaintext read per connection (the decryptor's budget), the sessions alive at once
//! ([`MAX_SESSIONS`]) and the time a session waits for secrets ([`SECRETS_WAIT`], capture time).
//! Each connection whose ClientHello was read ends in exactly one [`TlsResult`].

use std::collections::VecDeque;

use zeroize::Zeroize;

use super::StreamKey;
use crate::extract::http;
use crate::extract::tls::ClientHello;
use crate::extract::tls::keylog::KeyLog;
use crate::extract::tls::session::{
    ClientDecryptor, DecryptedRequest, NewError, RequestReader, ServerHello, Status, Stop,
};
use crate::model::{FlowTuple, Observation, ObservationKind, Transport, Ts};

/// Client stream bytes (ciphertext, ClientHello included) held while the ServerHello or the
/// secrets are missing: the first 64 KiB of the connection after its ClientHello.
pub const CLIENT_PENDING_CAP: usize = 64 * 1024 + crate::extract::tls::MAX_STREAM_PREFIX;
/// Server bytes searched for the ServerHello (RFC 8446 §4.1.3; it is well under 1 KiB, a
/// HelloRetryRequest before it included).
pub const SERVER_HELLO_CAP: usize = 16 * 1024;
/// How long (capture time since the ClientHello) a live connection waits for its secrets: a
/// browser writes its key-log lines during the handshake, and the file is read every 200 ms.
pub const SECRETS_WAIT: i64 = 10 * Ts::MICROS_PER_SEC;
/// Sessions alive at once (each holds at most ~100 KiB; idle ones a few KiB). Connections beyond
/// are not decrypted and count as `failed`.
pub const MAX_SESSIONS: usize = 512;

/// How the decryption of one connection ended (`pixelwatch_tls_decrypted_flows_total{result}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsResult {
    /// At least one of the client's protected records opened with the key log's secrets.
    Decrypted,
    /// The key log has no (usable) secrets for the connection's ClientHello random.
    NoSecrets,
    /// A version or cipher suite we do not decrypt (CBC, CCM, TLS 1.0/1.1…).
    UnsupportedSuite,
    /// Anything else: no ServerHello seen, records that do not open (a wrong key log, lost
    /// bytes), too many sessions at once.
    Failed,
}

impl TlsResult {
    pub const ALL: [TlsResult; 4] =
        [TlsResult::Decrypted, TlsResult::NoSecrets, TlsResult::UnsupportedSuite, TlsResult::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            TlsResult::Decrypted => "decrypted",
            TlsResult::NoSecrets => "no_secrets",
            TlsResult::UnsupportedSuite => "unsupported_suite",
            TlsResult::Failed => "failed",
        }
    }

    fn index(self) -> usize {
        match self {
            TlsResult::Decrypted => 0,
            TlsResult::NoSecrets => 1,
            TlsResult::UnsupportedSuite => 2,
            TlsResult::Failed => 3,
        }
    }
}

/// Counters of the key-log decryption (never secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TlsStats {
    /// Connections by result, indexed as [`TlsResult::ALL`].
    pub flows: [u64; 4],
    /// Decrypted requests reported as observations.
    pub requests: u64,
}

impl TlsStats {
    pub fn flows(&self, result: TlsResult) -> u64 {
        self.flows.get(result.index()).copied().unwrap_or(0)
    }
}

/// The key log and what the flow layer needs around it.
pub struct TlsDecrypt {
    pub keys: KeyLog,
    /// The key log is complete (replay): secrets missing now never come.
    complete: bool,
    stats: TlsStats,
    sessions: usize,
    /// Client streams of live sessions waiting for their secrets, oldest first (≤ MAX_SESSIONS).
    waiting: VecDeque<StreamKey>,
    /// Observations decrypted in the current step, each with its client → server flow.
    pub out: Vec<Observation>,
}

impl std::fmt::Debug for TlsDecrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsDecrypt").field("stats", &self.stats).field("sessions", &self.sessions).finish()
    }
}

impl TlsDecrypt {
    pub fn new(keys: KeyLog, complete: bool) -> TlsDecrypt {
        TlsDecrypt {
            keys,
            complete,
            stats: TlsStats::default(),
            sessions: 0,
            waiting: VecDeque::new(),
            out: Vec::new(),
        }
    }

    pub fn stats(&self) -> TlsStats {
        self.stats
    }

    /// Sessions alive now.
    pub fn sessions(&self) -> usize {
        self.sessions
    }

    fn count(&mut self, result: TlsResult) {
        if let Some(n) = self.stats.flows.get_mut(result.index()) {
            *n += 1;
        }
    }

    /// Starts a session for a connection whose ClientHello was just read, when there is room.
    pub(crate) fn start(
        &mut self,
        hello: ClientHello,
        first_bytes: &[u8],
        key: StreamKey,
        ts: Ts,
        macs: (Option<[u8; 6]>, Option<[u8; 6]>),
    ) -> Option<Box<TlsSession>> {
        // A complete key log (replay) without this random: nothing to follow.
        if self.complete && self.keys.get(&hello.random).is_none() {
            self.count(TlsResult::NoSecrets);
            return None;
        }
        if self.sessions >= MAX_SESSIONS || first_bytes.len() > CLIENT_PENDING_CAP {
            self.count(TlsResult::Failed);
            return None;
        }
        self.sessions += 1;
        Some(Box::new(TlsSession {
            hello,
            key,
            macs,
            started: ts,
            server: None,
            pending: first_bytes.to_vec(),
            decryptor: None,
            reader: RequestReader::new(),
            plain: Vec::new(),
            found: Vec::new(),
            reported: false,
            waiting: false,
            done: false,
        }))
    }

    /// A session leaves (its connection ended, timed out or was evicted, or it is done): its
    /// result is counted unless it already was.
    pub(crate) fn end(&mut self, session: Box<TlsSession>) {
        self.sessions = self.sessions.saturating_sub(1);
        if !session.reported {
            self.count(session.final_result());
        }
    }

    /// Takes the client streams waiting for secrets (to retry after new key-log lines).
    pub(crate) fn take_waiting(&mut self) -> VecDeque<StreamKey> {
        std::mem::take(&mut self.waiting)
    }

    /// When every session slot is taken: the client stream that has waited longest for its
    /// secrets, to be given up (a gateway sees many TLS connections of other devices whose
    /// secrets never come; they must not crowd out the key log's own).
    pub(crate) fn oldest_waiting_when_full(&mut self) -> Option<StreamKey> {
        if self.sessions < MAX_SESSIONS {
            return None;
        }
        self.waiting.pop_front()
    }
}

/// One connection being decrypted. See the module documentation.
pub struct TlsSession {
    hello: ClientHello,
    /// The client → server direction.
    key: StreamKey,
    /// (client, server) MAC addresses of the packet that carried the ClientHello.
    macs: (Option<[u8; 6]>, Option<[u8; 6]>),
    started: Ts,
    server: Option<ServerHello>,
    /// Client bytes from the ClientHello on, until the decryptor exists (≤ CLIENT_PENDING_CAP).
    pending: Vec<u8>,
    decryptor: Option<ClientDecryptor>,
    reader: RequestReader,
    plain: Vec<u8>,
    found: Vec<DecryptedRequest>,
    /// The result was counted.
    reported: bool,
    /// Registered in the waiting list.
    waiting: bool,
    done: bool,
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession")
            .field("server", &self.server.is_some())
            .field("pending", &self.pending.len())
            .field("decryptor", &self.decryptor)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Drop for TlsSession {
    fn drop(&mut self) {
        self.plain.zeroize();
    }
}

impl TlsSession {
    /// Nothing more to read: the connection can stop being followed.
    pub fn is_done(&self) -> bool {
        self.done
    }

    pub fn awaits_server_hello(&self) -> bool {
        !self.done && self.server.is_none()
    }

    /// The ServerHello is known but not the secrets (a live key log may lag).
    pub fn awaits_secrets(&self) -> bool {
        !self.done && self.server.is_some() && self.decryptor.is_none()
    }

    /// Heap bytes held.
    pub fn buffered(&self) -> usize {
        self.pending.capacity() + self.plain.capacity() + self.decryptor.as_ref().map_or(0, |d| d.buffered())
    }

    /// What to count when the session leaves without a result.
    fn final_result(&self) -> TlsResult {
        match (&self.server, &self.decryptor) {
            (Some(_), None) => TlsResult::NoSecrets,
            _ => TlsResult::Failed,
        }
    }

    fn report(&mut self, tls: &mut TlsDecrypt, result: TlsResult) {
        if !self.reported {
            self.reported = true;
            tls.count(result);
        }
    }

    fn finish_with(&mut self, tls: &mut TlsDecrypt, result: TlsResult) {
        self.report(tls, result);
        self.done = true;
        self.pending = Vec::new();
    }

    /// The client's next in-order stream bytes.
    pub(crate) fn client_bytes(&mut self, bytes: &[u8], tls: &mut TlsDecrypt, ts: Ts) {
        if self.done {
            return;
        }
        if self.decryptor.is_some() {
            self.decrypt(bytes, tls, ts);
            return;
        }
        if self.pending.len() + bytes.len() > CLIENT_PENDING_CAP {
            let result = self.final_result();
            self.finish_with(tls, result);
            return;
        }
        self.pending.extend_from_slice(bytes);
        if self.server.is_some() {
            self.try_start(tls, ts);
        }
    }

    /// The server's ServerHello (`None`: the server's first bytes are not one).
    pub(crate) fn server_hello(&mut self, hello: Option<ServerHello>, tls: &mut TlsDecrypt, ts: Ts) {
        if self.done || self.server.is_some() {
            return;
        }
        match hello {
            Some(h) => {
                self.server = Some(h);
                self.try_start(tls, ts);
            }
            None => self.finish_with(tls, TlsResult::Failed),
        }
    }

    /// Builds the decryptor when the key log has the secrets, and decrypts what was held.
    pub(crate) fn try_start(&mut self, tls: &mut TlsDecrypt, ts: Ts) {
        let Some(server) = &self.server else { return };
        if self.done || self.decryptor.is_some() {
            return;
        }
        match ClientDecryptor::new(&self.hello, server, &tls.keys) {
            Ok(d) => {
                self.decryptor = Some(d);
                let held = std::mem::take(&mut self.pending);
                self.decrypt(&held, tls, ts);
            }
            Err(NewError::Missing(_)) => {
                if tls.complete || ts.since(self.started) > SECRETS_WAIT {
                    self.finish_with(tls, TlsResult::NoSecrets);
                } else if !self.waiting {
                    if tls.waiting.len() >= MAX_SESSIONS {
                        tls.waiting.pop_front();
                    }
                    tls.waiting.push_back(self.key);
                    self.waiting = true;
                }
            }
            Err(NewError::UnsupportedVersion(_) | NewError::UnsupportedCipherSuite(_)) => {
                self.finish_with(tls, TlsResult::UnsupportedSuite);
            }
        }
    }

    /// Gives up waiting for the secrets (the session slot is needed).
    pub(crate) fn give_up_waiting(&mut self, tls: &mut TlsDecrypt) {
        if self.awaits_secrets() {
            self.finish_with(tls, TlsResult::NoSecrets);
        }
    }

    /// After new key-log lines: retried by the flow layer for the sessions of the waiting list.
    pub(crate) fn retry(&mut self, tls: &mut TlsDecrypt, ts: Ts) {
        self.waiting = false;
        self.try_start(tls, ts);
    }

    fn decrypt(&mut self, bytes: &[u8], tls: &mut TlsDecrypt, ts: Ts) {
        let Some(d) = &mut self.decryptor else { return };
        let status = d.feed(bytes, &mut self.plain);
        let opened = d.stats().opened > 0;
        if !self.plain.is_empty() {
            self.reader.feed(&self.plain, &mut self.found);
            self.plain.zeroize();
            self.plain.clear();
        }
        if opened {
            self.report(tls, TlsResult::Decrypted);
        }
        for request in self.found.drain(..) {
            let Some(kind) = observation(request, self.hello.sni.as_deref()) else { continue };
            tls.stats.requests += 1;
            let k = self.key;
            let flow = FlowTuple { transport: Transport::Tcp, src: k.src, dst: k.dst, sport: k.sport, dport: k.dport };
            tls.out.push(Observation { ts, flow, src_mac: self.macs.0, dst_mac: self.macs.1, kind });
        }
        let stopped = match status {
            Status::Running => false,
            Status::Stopped(Stop::BadRecord | Stop::NotTls | Stop::Oversized) if !opened => {
                self.report(tls, TlsResult::Failed);
                true
            }
            Status::Stopped(_) => true,
        };
        if stopped || self.reader.is_done() {
            self.done = true;
        }
    }
}

/// A decrypted request as plain HTTP reports it: `name` is the Host / `:authority` without port
/// (the ClientHello's server_name when the request has neither).
fn observation(r: DecryptedRequest, sni: Option<&str>) -> Option<ObservationKind> {
    let lossy =
        |v: Vec<u8>| String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    let name = match &r.authority {
        Some(a) => http::host_name(a).unwrap_or_default(),
        None => sni?.to_owned(),
    };
    Some(ObservationKind::HttpHost {
        name,
        path: lossy(r.path),
        method: lossy(r.method),
        referer: r.referer.map(lossy),
        cookie: r.cookie.map(lossy),
        decrypted: true,
    })
}

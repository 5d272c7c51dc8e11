//! [`ClientDecryptor`]: the client's TLS records (RFC 8446 §5, RFC 5246 §6.2), framed from an
//! in-order byte stream, opened with key-log secrets, application data appended to a buffer.

use zeroize::Zeroize;

use super::KeyLog;
use super::handshake::HandshakeWalker;
use super::keys::{RecordKey, Suite, next_traffic_secret};
use super::server_hello::ServerHello;
use crate::extract::tls::ClientHello;
use crate::extract::tls::keylog::Secret;

/// Largest record accepted: header + 2^14 + 2048 (RFC 5246 §6.2.3 TLSCiphertext; TLS 1.3 allows
/// only 2^14 + 256). This is also the most the decryptor buffers between calls.
pub const MAX_RECORD_BUFFER: usize = 5 + (1 << 14) + 2048;
/// Application plaintext delivered per connection by default before stopping (first requests only).
pub const DEFAULT_PLAINTEXT_BUDGET: usize = 64 * 1024;
/// Records that open under no key before the application keys are in use, tolerated: 0-RTT data
/// whose secret is not in the key log, handshake records without CLIENT_HANDSHAKE_TRAFFIC_SECRET.
const MAX_SKIPPED_RECORDS: u64 = 8;

const RECORD_HEADER_LEN: usize = 5;
const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
const CONTENT_ALERT: u8 = 21;
const CONTENT_HANDSHAKE: u8 = 22;
const CONTENT_APPLICATION_DATA: u8 = 23;

/// Which secrets the key log lacks for this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// No line with this ClientHello random.
    NoKeyLogEntry,
    /// TLS 1.2: no `CLIENT_RANDOM` line.
    NoMasterSecret,
    /// TLS 1.3: no `CLIENT_TRAFFIC_SECRET_0` line.
    NoClientTrafficSecret,
}

/// Why a connection cannot be decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewError {
    /// The key log has not (or not yet: a live key log may lag) the secrets.
    Missing(Missing),
    /// Not TLS 1.2 or 1.3 (the ServerHello's negotiated version).
    UnsupportedVersion(u16),
    /// A suite we do not decrypt (CBC, CCM, …), or one that does not match the version.
    UnsupportedCipherSuite(u16),
}

/// Why decryption stopped for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The plaintext budget is spent.
    Budget,
    /// The client sent an alert (close_notify or an error).
    Alert,
    /// A record failed authentication (wrong secrets, corrupted or missing bytes).
    BadRecord,
    /// Bytes that are not TLS records of the expected kind.
    NotTls,
    /// A record longer than [`MAX_RECORD_BUFFER`].
    Oversized,
    /// TLS 1.2 renegotiation (a second ChangeCipherSpec): not followed.
    Renegotiation,
}

/// The state after a [`ClientDecryptor::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    Stopped(Stop),
}

/// Counters of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecryptStats {
    /// Records framed (plaintext and protected).
    pub records: u64,
    /// Records opened (tag verified).
    pub opened: u64,
    /// Protected records that opened under no key before the application keys (tolerated).
    pub skipped: u64,
    /// Application-data plaintext bytes delivered (0-RTT included).
    pub plaintext_bytes: u64,
    /// TLS 1.3 KeyUpdate messages followed.
    pub key_updates: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// TLS 1.2 before the client's ChangeCipherSpec: plaintext handshake records.
    Tls12Plain,
    /// TLS 1.2 after it: every record protected.
    Tls12Protected,
    /// TLS 1.3 before the client's Finished.
    Tls13Handshake,
    Tls13Application,
}

/// A protection key and the sequence number of the next record under it (RFC 8446 §5.3: reset
/// to 0 at each key change).
struct Keyed {
    key: RecordKey,
    seq: u64,
}

/// Decrypts the client → server direction of one TLS connection.
pub struct ClientDecryptor {
    suite: Suite,
    phase: Phase,
    handshake: Option<Keyed>,
    early: Option<Keyed>,
    application: Option<Keyed>,
    /// TLS 1.3: the current client application traffic secret (for KeyUpdate).
    app_secret: Option<Secret>,
    walker: HandshakeWalker,
    /// A partial record carried over between calls (≤ MAX_RECORD_BUFFER).
    buf: Vec<u8>,
    scratch: Vec<u8>,
    budget: usize,
    stats: DecryptStats,
    stopped: Option<Stop>,
}

impl std::fmt::Debug for ClientDecryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientDecryptor")
            .field("suite", &self.suite)
            .field("phase", &self.phase)
            .field("stats", &self.stats)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl Drop for ClientDecryptor {
    fn drop(&mut self) {
        self.scratch.zeroize();
        self.buf.zeroize();
    }
}

impl ClientDecryptor {
    /// Keys for the client's records of the connection that began with `client_hello` and
    /// `server_hello`, from the secrets `keys` holds for its client random. Cheap to retry later
    /// when the key log lags (`Err(NewError::Missing(..))`). Plaintext budget: [`DEFAULT_PLAINTEXT_BUDGET`].
    pub fn new(client_hello: &ClientHello, server_hello: &ServerHello, keys: &KeyLog) -> Result<Self, NewError> {
        let suite = Suite::from_id(server_hello.cipher_suite)
            .ok_or(NewError::UnsupportedCipherSuite(server_hello.cipher_suite))?;
        match (server_hello.version, suite.tls13) {
            (0x0304, true) | (0x0303, false) => {}
            (0x0304 | 0x0303, _) => return Err(NewError::UnsupportedCipherSuite(suite.id)),
            (v, _) => return Err(NewError::UnsupportedVersion(v)),
        }
        let secrets = keys.get(&client_hello.random).ok_or(NewError::Missing(Missing::NoKeyLogEntry))?;
        let mut d = ClientDecryptor {
            suite,
            phase: Phase::Tls12Plain,
            handshake: None,
            early: None,
            application: None,
            app_secret: None,
            walker: HandshakeWalker::default(),
            buf: Vec::new(),
            scratch: Vec::new(),
            budget: DEFAULT_PLAINTEXT_BUDGET,
            stats: DecryptStats::default(),
            stopped: None,
        };
        let keyed = |key: RecordKey| Keyed { key, seq: 0 };
        if suite.tls13 {
            let secret0 = secrets.client_traffic_0.as_ref().ok_or(NewError::Missing(Missing::NoClientTrafficSecret))?;
            let bad = NewError::Missing(Missing::NoClientTrafficSecret);
            d.application = Some(keyed(RecordKey::tls13(suite, secret0).ok_or(bad)?));
            d.app_secret = Some(secret0.clone());
            d.handshake = secrets.client_handshake.as_ref().and_then(|s| RecordKey::tls13(suite, s)).map(keyed);
            d.early = secrets.client_early.as_ref().and_then(|s| RecordKey::tls13(suite, s)).map(keyed);
            d.phase = Phase::Tls13Handshake;
        } else {
            let master = secrets.master_secret.as_ref().ok_or(NewError::Missing(Missing::NoMasterSecret))?;
            let key = RecordKey::tls12_client(suite, master, &client_hello.random, &server_hello.random)
                .ok_or(NewError::Missing(Missing::NoMasterSecret))?;
            d.application = Some(keyed(key));
        }
        Ok(d)
    }

    /// Stop after `bytes` of application plaintext (default [`DEFAULT_PLAINTEXT_BUDGET`]).
    pub fn with_budget(mut self, bytes: usize) -> Self {
        self.budget = bytes;
        self
    }

    pub fn suite(&self) -> Suite {
        self.suite
    }

    pub fn stats(&self) -> DecryptStats {
        self.stats
    }

    pub fn status(&self) -> Status {
        self.stopped.map_or(Status::Running, Status::Stopped)
    }

    /// Heap bytes held (the partial record and the scratch buffer).
    pub fn buffered(&self) -> usize {
        self.buf.capacity() + self.scratch.capacity()
    }

    /// The next in-order bytes of the client's stream, in any split. The stream may be fed from
    /// its first byte (ClientHello records are skipped as plaintext handshake records) or from
    /// any record boundary before the first protected record. Application-data plaintext is
    /// appended to `plaintext`. Once stopped, bytes are ignored.
    pub fn feed(&mut self, bytes: &[u8], plaintext: &mut Vec<u8>) -> Status {
        let mut input = bytes;
        if self.stopped.is_none() && !self.buf.is_empty() {
            let mut buf = std::mem::take(&mut self.buf);
            let header_missing = RECORD_HEADER_LEN.saturating_sub(buf.len());
            let (head, rest) = input.split_at(header_missing.min(input.len()));
            buf.extend_from_slice(head);
            input = rest;
            match buf.first_chunk::<RECORD_HEADER_LEN>().map(|h| self.record_len(h)) {
                None => self.buf = buf,
                Some(Err(stop)) => self.stopped = Some(stop),
                Some(Ok(total)) => {
                    let (body, rest) = input.split_at(total.saturating_sub(buf.len()).min(input.len()));
                    buf.extend_from_slice(body);
                    input = rest;
                    if buf.len() >= total {
                        if let Some((header, payload)) = buf.split_first_chunk::<RECORD_HEADER_LEN>() {
                            self.record(header, payload, plaintext);
                        }
                        buf.zeroize();
                    }
                    self.buf = buf;
                }
            }
        }
        while self.stopped.is_none() && self.buf.is_empty() && !input.is_empty() {
            let Some(header) = input.first_chunk::<RECORD_HEADER_LEN>() else {
                self.buf.extend_from_slice(input);
                break;
            };
            let total = match self.record_len(header) {
                Ok(total) => total,
                Err(stop) => {
                    self.stopped = Some(stop);
                    break;
                }
            };
            let Some((whole, rest)) = input.split_at_checked(total) else {
                self.buf.extend_from_slice(input);
                break;
            };
            if let Some((header, payload)) = whole.split_first_chunk::<RECORD_HEADER_LEN>() {
                self.record(header, payload, plaintext);
            }
            input = rest;
        }
        if self.stopped.is_some() {
            self.buf.zeroize();
            self.buf = Vec::new();
            self.scratch.zeroize();
            self.scratch = Vec::new();
        }
        self.status()
    }

    /// Checks a record header (RFC 8446 §5.1: ContentType 20–23, legacy version 3.x) and returns
    /// the whole record's length.
    fn record_len(&self, header: &[u8; RECORD_HEADER_LEN]) -> Result<usize, Stop> {
        let [content_type, major, _, hi, lo] = *header;
        if !(CONTENT_CHANGE_CIPHER_SPEC..=CONTENT_APPLICATION_DATA).contains(&content_type) || major != 3 {
            return Err(Stop::NotTls);
        }
        let total = RECORD_HEADER_LEN + usize::from(u16::from_be_bytes([hi, lo]));
        if total > MAX_RECORD_BUFFER { Err(Stop::Oversized) } else { Ok(total) }
    }

    fn record(&mut self, header: &[u8; RECORD_HEADER_LEN], payload: &[u8], out: &mut Vec<u8>) {
        self.stats.records += 1;
        let content_type = header[0];
        let stop = match (self.phase, content_type) {
            (_, CONTENT_ALERT) if self.phase != Phase::Tls12Protected => Some(Stop::Alert),
            (Phase::Tls12Plain, CONTENT_HANDSHAKE) => None,
            (Phase::Tls12Plain, CONTENT_CHANGE_CIPHER_SPEC) => {
                self.phase = Phase::Tls12Protected;
                None
            }
            (Phase::Tls12Protected, CONTENT_CHANGE_CIPHER_SPEC) => Some(Stop::Renegotiation),
            (Phase::Tls12Protected, _) => self.tls12_record(header, payload, out),
            // RFC 8446 §5: ChangeCipherSpec (middlebox compatibility, §D.4) and, after a
            // HelloRetryRequest, the second ClientHello are plaintext.
            (Phase::Tls13Handshake, CONTENT_CHANGE_CIPHER_SPEC | CONTENT_HANDSHAKE) => None,
            (Phase::Tls13Application, CONTENT_CHANGE_CIPHER_SPEC) => None,
            (Phase::Tls13Handshake, CONTENT_APPLICATION_DATA) => self.tls13_handshake_record(header, payload, out),
            (Phase::Tls13Application, CONTENT_APPLICATION_DATA) => self.tls13_application_record(header, payload, out),
            _ => Some(Stop::NotTls),
        };
        if stop.is_some() {
            self.stopped = stop;
        }
    }

    /// RFC 5246 §6.2.3.3: every record after ChangeCipherSpec is protected, sequence numbers from 0
    /// (the first one is the client's Finished).
    fn tls12_record(&mut self, header: &[u8; RECORD_HEADER_LEN], payload: &[u8], out: &mut Vec<u8>) -> Option<Stop> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let opened = self.application.as_mut().and_then(|k| open(k, header, payload, &mut scratch).map(|p| p.to_vec()));
        let result = match opened {
            None => Some(Stop::BadRecord),
            Some(plain) => {
                self.stats.opened += 1;
                match header[0] {
                    CONTENT_APPLICATION_DATA => self.emit(&plain, out),
                    CONTENT_ALERT => Some(Stop::Alert),
                    _ => None, // Finished (or a HelloRequest-era handshake message)
                }
            }
        };
        self.scratch = scratch;
        result
    }

    /// A protected record before the client's Finished: tried under the handshake key, then the
    /// 0-RTT key, then the application key (the handshake secret may be missing from the log).
    fn tls13_handshake_record(
        &mut self,
        header: &[u8; RECORD_HEADER_LEN],
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<Stop> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let result = if let Some(inner) = self.handshake.as_mut().and_then(|k| open(k, header, payload, &mut scratch)) {
            self.stats.opened += 1;
            match inner_plaintext(inner) {
                Some((CONTENT_HANDSHAKE, messages)) => {
                    if self.walker.feed(messages).finished {
                        self.phase = Phase::Tls13Application;
                    }
                    None
                }
                Some((CONTENT_ALERT, _)) => Some(Stop::Alert),
                Some(_) => None,
                None => Some(Stop::BadRecord),
            }
        } else if let Some(inner) = self.early.as_mut().and_then(|k| open(k, header, payload, &mut scratch)) {
            self.stats.opened += 1;
            match inner_plaintext(inner) {
                Some((CONTENT_APPLICATION_DATA, data)) => {
                    let data = data.to_vec();
                    self.emit(&data, out)
                }
                Some(_) => None, // EndOfEarlyData
                None => Some(Stop::BadRecord),
            }
        } else if self.application.as_ref().is_some_and(|k| k.seq == 0)
            && let Some(k) = self.application.as_mut()
            && let Some(_) = open(k, header, payload, &mut scratch)
        {
            // The Finished went by under a handshake key we do not have: this is application data.
            self.phase = Phase::Tls13Application;
            self.walker = HandshakeWalker::default();
            if let Some(k) = self.application.as_mut() {
                k.seq = 0;
            }
            self.scratch = scratch;
            return self.tls13_application_record(header, payload, out);
        } else {
            self.stats.skipped += 1;
            (self.stats.skipped > MAX_SKIPPED_RECORDS).then_some(Stop::BadRecord)
        };
        self.scratch = scratch;
        result
    }

    /// RFC 8446 §5.2, §5.4: application data, alerts, and post-handshake messages (KeyUpdate,
    /// §4.6.3: the records after it use the next generation of keys, §7.2).
    fn tls13_application_record(
        &mut self,
        header: &[u8; RECORD_HEADER_LEN],
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<Stop> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let opened = self.application.as_mut().and_then(|k| open(k, header, payload, &mut scratch));
        let result = match opened.map(|inner| inner_plaintext(inner)) {
            None | Some(None) => Some(Stop::BadRecord),
            Some(Some((content_type, content))) => {
                self.stats.opened += 1;
                match content_type {
                    CONTENT_APPLICATION_DATA => {
                        let content = content.to_vec();
                        self.emit(&content, out)
                    }
                    CONTENT_HANDSHAKE => {
                        let updates = self.walker.feed(content).key_updates;
                        (0..updates).find_map(|_| self.key_update())
                    }
                    CONTENT_ALERT => Some(Stop::Alert),
                    _ => Some(Stop::NotTls),
                }
            }
        };
        self.scratch = scratch;
        result
    }

    fn key_update(&mut self) -> Option<Stop> {
        let next = self.app_secret.as_ref().and_then(|s| next_traffic_secret(self.suite, s));
        let key = next.as_ref().and_then(|s| RecordKey::tls13(self.suite, s));
        match (next, key) {
            (Some(secret), Some(key)) => {
                self.app_secret = Some(secret);
                self.application = Some(Keyed { key, seq: 0 });
                self.stats.key_updates += 1;
                None
            }
            _ => Some(Stop::BadRecord),
        }
    }

    fn emit(&mut self, data: &[u8], out: &mut Vec<u8>) -> Option<Stop> {
        let take = data.len().min(self.budget);
        out.extend_from_slice(data.get(..take).unwrap_or_default());
        self.budget -= take;
        self.stats.plaintext_bytes += take as u64;
        (self.budget == 0).then_some(Stop::Budget)
    }
}

/// Copies `payload` into `scratch` and opens it under `k` at its sequence number; the number
/// advances only when the record opens.
fn open<'s>(
    k: &mut Keyed,
    header: &[u8; RECORD_HEADER_LEN],
    payload: &[u8],
    scratch: &'s mut Vec<u8>,
) -> Option<&'s mut [u8]> {
    scratch.clear();
    scratch.extend_from_slice(payload);
    let plain = k.key.open(header, scratch, k.seq)?;
    k.seq += 1;
    Some(plain)
}

/// RFC 8446 §5.4: `struct { opaque content[length]; ContentType type; uint8 zeros[length_of_padding]; }
/// TLSInnerPlaintext` — the last non-zero byte is the type. `None` when all bytes are zero.
fn inner_plaintext(inner: &[u8]) -> Option<(u8, &[u8])> {
    let end = inner.iter().rposition(|&b| b != 0)?;
    let (content, rest) = inner.split_at_checked(end)?;
    Some((*rest.first()?, content))
}

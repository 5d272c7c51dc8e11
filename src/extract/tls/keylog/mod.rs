//! TLS key log in the NSS format (`SSLKEYLOGFILE`): parsing, and a bounded, expiring store of
//! the client-direction secrets keyed by ClientHello random. Secrets are wiped on drop and never
//! printed (`Debug` shows lengths only).
//!
//! Format (NSS "Key Log Format"): one entry per line, `<label> SP <client_random hex> SP <secret
//! hex>`; lines starting with `#` are comments. Labels kept here: `CLIENT_RANDOM` (TLS 1.2 master
//! secret, 48 bytes), `CLIENT_EARLY_TRAFFIC_SECRET`, `CLIENT_HANDSHAKE_TRAFFIC_SECRET`,
//! `CLIENT_TRAFFIC_SECRET_0` (TLS 1.3, 32 or 48 bytes). Server-direction and exporter labels are
//! recognised and counted but not kept (only the client's requests are read).

use std::collections::VecDeque;
use std::fmt;

use foldhash::HashMap;
use zeroize::Zeroize;

use crate::model::Ts;

/// Longest secret: a TLS 1.2 master secret (48 bytes) or a SHA-384 traffic secret (48 bytes).
pub const MAX_SECRET_LEN: usize = 48;
/// Longest line considered; longer ones are bad lines (the longest valid one is ~200 bytes).
pub const MAX_LINE_LEN: usize = 512;

/// A secret from the key log. Wiped when dropped; `Debug` prints only its length.
#[derive(Clone)]
pub struct Secret {
    bytes: [u8; MAX_SECRET_LEN],
    len: u8,
}

impl Secret {
    /// `None` when `bytes` is empty or longer than [`MAX_SECRET_LEN`].
    pub fn new(bytes: &[u8]) -> Option<Secret> {
        let len = u8::try_from(bytes.len()).ok().filter(|&l| l > 0 && usize::from(l) <= MAX_SECRET_LEN)?;
        let mut s = Secret { bytes: [0; MAX_SECRET_LEN], len };
        s.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(s)
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.len)
    }
}

/// The key-log labels (NSS key log format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// TLS 1.2 (and earlier): the 48-byte master secret.
    ClientRandom,
    ClientEarlyTrafficSecret,
    ClientHandshakeTrafficSecret,
    ServerHandshakeTrafficSecret,
    ClientTrafficSecret0,
    ServerTrafficSecret0,
    EarlyExporterSecret,
    ExporterSecret,
}

impl Label {
    fn parse(word: &[u8]) -> Option<Label> {
        Some(match word {
            b"CLIENT_RANDOM" => Label::ClientRandom,
            b"CLIENT_EARLY_TRAFFIC_SECRET" => Label::ClientEarlyTrafficSecret,
            b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Label::ClientHandshakeTrafficSecret,
            b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => Label::ServerHandshakeTrafficSecret,
            b"CLIENT_TRAFFIC_SECRET_0" => Label::ClientTrafficSecret0,
            b"SERVER_TRAFFIC_SECRET_0" => Label::ServerTrafficSecret0,
            b"EARLY_EXPORTER_SECRET" => Label::EarlyExporterSecret,
            b"EXPORTER_SECRET" => Label::ExporterSecret,
            _ => return None,
        })
    }

    /// Is this secret needed to read the client's records.
    pub fn is_client_direction(self) -> bool {
        matches!(
            self,
            Label::ClientRandom
                | Label::ClientEarlyTrafficSecret
                | Label::ClientHandshakeTrafficSecret
                | Label::ClientTrafficSecret0
        )
    }
}

/// One parsed key-log line.
#[derive(Debug)]
pub struct Line {
    pub label: Label,
    pub client_random: [u8; 32],
    pub secret: Secret,
}

/// Why a line was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// Empty or whitespace-only line.
    Blank,
    /// `#` comment.
    Comment,
    /// A label we do not know (e.g. `RSA`, or a future one): ignored, not an error.
    UnknownLabel,
    /// Wrong field count, bad hex, wrong lengths, or too long.
    Bad,
}

/// Parses one line (without its line feed; a trailing CR is allowed).
///
/// NSS key log format: `<Label> <ClientRandom> <Secret>`, fields separated by one space (any run
/// of spaces or tabs accepted), ClientRandom 32 bytes in hex, Secret in hex; `#` starts a comment.
pub fn parse_line(line: &[u8]) -> Result<Line, LineError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > MAX_LINE_LEN {
        return Err(LineError::Bad);
    }
    let mut words = line.split(|&b| b == b' ' || b == b'\t').filter(|w| !w.is_empty());
    let Some(first) = words.next() else { return Err(LineError::Blank) };
    if first.starts_with(b"#") {
        return Err(LineError::Comment);
    }
    let (Some(random_hex), Some(secret_hex), None) = (words.next(), words.next(), words.next()) else {
        return Err(match Label::parse(first) {
            Some(_) => LineError::Bad,
            None => LineError::UnknownLabel,
        });
    };
    let Some(label) = Label::parse(first) else { return Err(LineError::UnknownLabel) };
    let mut client_random = [0u8; 32];
    if !decode_hex(random_hex, &mut client_random) {
        return Err(LineError::Bad);
    }
    let mut buf = [0u8; MAX_SECRET_LEN];
    let n = secret_hex.len() / 2;
    let ok = secret_hex.len() % 2 == 0 && buf.get_mut(..n).is_some_and(|out| decode_hex(secret_hex, out));
    let secret = if ok { Secret::new(buf.get(..n).unwrap_or_default()) } else { None };
    buf.zeroize();
    let secret = secret.ok_or(LineError::Bad)?;
    let length_ok = match label {
        Label::ClientRandom => secret.len() == 48,
        _ => secret.len() == 32 || secret.len() == 48,
    };
    if !length_ok {
        return Err(LineError::Bad);
    }
    Ok(Line { label, client_random, secret })
}

/// Decodes `hex` (upper or lower case) into exactly `out.len()` bytes.
fn decode_hex(hex: &[u8], out: &mut [u8]) -> bool {
    if hex.len() != out.len() * 2 {
        return false;
    }
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let (Some(hi), Some(lo)) = (pair.first().and_then(|&c| nibble(c)), pair.get(1).and_then(|&c| nibble(c))) else {
            return false;
        };
        *o = hi << 4 | lo;
    }
    true
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The client-direction secrets of one connection (one ClientHello random).
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    /// TLS 1.2 master secret (`CLIENT_RANDOM`).
    pub master_secret: Option<Secret>,
    pub client_early: Option<Secret>,
    pub client_handshake: Option<Secret>,
    pub client_traffic_0: Option<Secret>,
}

impl Secrets {
    fn set(&mut self, label: Label, secret: Secret) {
        let slot = match label {
            Label::ClientRandom => &mut self.master_secret,
            Label::ClientEarlyTrafficSecret => &mut self.client_early,
            Label::ClientHandshakeTrafficSecret => &mut self.client_handshake,
            Label::ClientTrafficSecret0 => &mut self.client_traffic_0,
            _ => return,
        };
        *slot = Some(secret);
    }
}

/// Bounds of a [`KeyLog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLogLimits {
    /// Most connections kept; the oldest insertion is evicted first.
    pub max_entries: usize,
    /// An entry older than this (microseconds since its insertion) is dropped by [`KeyLog::expire`]
    /// and by every [`KeyLog::feed`]. `i64::MAX` disables expiry (replay of a finished key log).
    pub max_age_micros: i64,
}

impl Default for KeyLogLimits {
    /// 16,384 connections (~2.5 MiB), one hour.
    fn default() -> Self {
        KeyLogLimits { max_entries: 16 * 1024, max_age_micros: 3600 * Ts::MICROS_PER_SEC }
    }
}

/// Counters of a [`KeyLog`] (for metrics; never secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyLogStats {
    /// Complete lines seen (blank ones included).
    pub lines: u64,
    /// Client-direction secrets stored.
    pub secrets: u64,
    /// Known labels of the server direction or exporters: recognised, not kept.
    pub ignored: u64,
    pub comments: u64,
    /// Lines with an unknown label.
    pub unknown_labels: u64,
    /// Malformed lines (bad hex, lengths, field count, too long).
    pub bad_lines: u64,
    /// Entries dropped because the store was full.
    pub evicted: u64,
    /// Entries dropped because they were too old.
    pub expired: u64,
}

struct Entry {
    inserted: Ts,
    secrets: Secrets,
}

/// A bounded store of key-log secrets keyed by ClientHello random, fed incrementally (a growing
/// file: partial last lines are kept until their line feed arrives).
pub struct KeyLog {
    limits: KeyLogLimits,
    entries: HashMap<[u8; 32], Entry>,
    /// Insertion order, oldest first: every entry of `entries` appears here exactly once.
    order: VecDeque<([u8; 32], Ts)>,
    /// The unfinished last line (≤ MAX_LINE_LEN), wiped when consumed.
    pending: Vec<u8>,
    /// The current line is too long: drop bytes until the next line feed.
    discarding: bool,
    stats: KeyLogStats,
}

impl fmt::Debug for KeyLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLog").field("entries", &self.entries.len()).field("stats", &self.stats).finish()
    }
}

impl Drop for KeyLog {
    fn drop(&mut self) {
        self.pending.zeroize();
    }
}

impl KeyLog {
    pub fn new(limits: KeyLogLimits) -> KeyLog {
        KeyLog {
            limits,
            entries: HashMap::default(),
            order: VecDeque::new(),
            pending: Vec::new(),
            discarding: false,
            stats: KeyLogStats::default(),
        }
    }

    /// Reads the next bytes of the key log (any split: a line may end in a later call). Each
    /// complete line is parsed; entries inserted now carry the time `now`. Expired entries go first.
    pub fn feed(&mut self, bytes: &[u8], now: Ts) {
        self.expire(now);
        let mut rest = bytes;
        while let Some(lf) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(lf);
            rest = after.get(1..).unwrap_or_default();
            if self.discarding {
                self.discarding = false;
                continue;
            }
            if self.pending.is_empty() {
                self.line(line, now);
            } else if self.pending.len() + line.len() > MAX_LINE_LEN + 1 {
                self.pending.zeroize();
                self.stats.lines += 1;
                self.stats.bad_lines += 1;
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.extend_from_slice(line);
                self.line(&whole, now);
                whole.zeroize();
            }
        }
        if self.discarding || rest.is_empty() {
            return;
        }
        if self.pending.len() + rest.len() > MAX_LINE_LEN + 1 {
            self.pending.zeroize();
            self.discarding = true;
            self.stats.lines += 1;
            self.stats.bad_lines += 1;
        } else {
            self.pending.extend_from_slice(rest);
        }
    }

    /// End of input (a file read to its end and not growing): parses a last line without line feed.
    pub fn finish(&mut self, now: Ts) {
        if !self.pending.is_empty() && !self.discarding {
            let mut whole = std::mem::take(&mut self.pending);
            self.line(&whole, now);
            whole.zeroize();
        }
        self.discarding = false;
    }

    fn line(&mut self, line: &[u8], now: Ts) {
        self.stats.lines += 1;
        match parse_line(line) {
            Ok(Line { label, client_random, secret }) => {
                if label.is_client_direction() {
                    self.stats.secrets += 1;
                    self.insert(client_random, label, secret, now);
                } else {
                    self.stats.ignored += 1;
                }
            }
            Err(LineError::Blank) => {}
            Err(LineError::Comment) => self.stats.comments += 1,
            Err(LineError::UnknownLabel) => self.stats.unknown_labels += 1,
            Err(LineError::Bad) => self.stats.bad_lines += 1,
        }
    }

    fn insert(&mut self, client_random: [u8; 32], label: Label, secret: Secret, now: Ts) {
        if let Some(entry) = self.entries.get_mut(&client_random) {
            entry.secrets.set(label, secret);
            return;
        }
        if self.limits.max_entries == 0 {
            self.stats.evicted += 1;
            return;
        }
        while self.entries.len() >= self.limits.max_entries {
            let Some((oldest, _)) = self.order.pop_front() else { break };
            self.entries.remove(&oldest);
            self.stats.evicted += 1;
        }
        let mut secrets = Secrets::default();
        secrets.set(label, secret);
        self.entries.insert(client_random, Entry { inserted: now, secrets });
        self.order.push_back((client_random, now));
    }

    /// Drops entries inserted more than `max_age_micros` before `now`.
    pub fn expire(&mut self, now: Ts) {
        while let Some(&(random, inserted)) = self.order.front() {
            if now.since(inserted) <= self.limits.max_age_micros {
                break;
            }
            self.order.pop_front();
            self.entries.remove(&random);
            self.stats.expired += 1;
        }
    }

    /// The secrets logged for the connection whose ClientHello carried `client_random`.
    pub fn get(&self, client_random: &[u8; 32]) -> Option<&Secrets> {
        self.entries.get(client_random).map(|e| &e.secrets)
    }

    /// When the entry for `client_random` was inserted.
    pub fn inserted_at(&self, client_random: &[u8; 32]) -> Option<Ts> {
        self.entries.get(client_random).map(|e| e.inserted)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn stats(&self) -> &KeyLogStats {
        &self.stats
    }
}

#[cfg(test)]
mod tests;

//! QUIC connections in their handshake: client Initial keys cached per connection, the
//! ClientHello reassembled from CRYPTO frames over several Initial packets (RFC 9000 §7, §17.2.2;
//! RFC 9001 §4.1.3, §5.2), bounded in connections and bytes, expired in capture time.
//!
//! Cost model: a short-header (1-RTT) datagram, most of UDP/443, is rejected on its first bit
//! with no table lookup. Only long-header packets touch the table; only client Initials of a
//! connection without a ClientHello yet are decrypted (key derivation once per connection).
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod crypto_stream;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;
mod types;

use std::net::IpAddr;

pub use crypto_stream::{CryptoStream, MAX_RANGES, Progress, Stored};
pub use types::{MAX_COUNTED_VERSIONS, QuicLimits, QuicOutcome, QuicStats};

use crate::extract::quic::{
    Frame, InitialKeys, KeyMaterial, LongKind, LongPacket, MAX_CID_LEN, VersionParams, frames, is_known_family,
    packets, version_params,
};
use crate::flow::table::{BoundedMap, Idle};
use crate::model::Ts;

/// The client → server direction of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ConnKey {
    client: IpAddr,
    server: IpAddr,
    client_port: u16,
    server_port: u16,
}

impl ConnKey {
    fn reversed(self) -> ConnKey {
        ConnKey {
            client: self.server,
            server: self.client,
            client_port: self.server_port,
            server_port: self.client_port,
        }
    }
}

/// A connection ID stored inline (RFC 9000 §17.2: at most 20 bytes in the versions we open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct ConnId {
    len: u8,
    bytes: [u8; MAX_CID_LEN],
}

impl ConnId {
    fn new(cid: &[u8]) -> ConnId {
        let mut id = ConnId::default();
        let n = cid.len().min(MAX_CID_LEN);
        if let (Some(dst), Some(src)) = (id.bytes.get_mut(..n), cid.get(..n)) {
            dst.copy_from_slice(src);
        }
        id.len = n as u8;
        id
    }

    fn is(&self, cid: &[u8]) -> bool {
        self.bytes.get(..usize::from(self.len)) == Some(cid)
    }
}

/// One connection's handshake state.
#[derive(Debug)]
struct Conn {
    version: u32,
    /// Keys of the connection ID that opened its first Initial (the client's original DCID, or
    /// the Retry's SCID after a Retry): 44 bytes always, expanded (about 800 bytes) only while
    /// the ClientHello is incomplete.
    material: KeyMaterial,
    keys: Option<Box<InitialKeys>>,
    key_cid: ConnId,
    /// The server's connection ID (SCID of its Initial or Retry): the DCID of later client Initials.
    server_cid: Option<ConnId>,
    largest_pn: Option<u64>,
    crypto: CryptoStream,
    /// The ClientHello was reported (or given up on): later Initials are not decrypted.
    done: bool,
    /// `random` of the last reported ClientHello (RFC 8446 §4.1.2), so a hello resent after a
    /// Retry or a key change is not reported twice.
    hello_random: Option<[u8; 32]>,
    initials: u16,
    idle_timeout: i64,
}

impl Idle for Conn {
    fn idle_timeout(&self) -> i64 {
        self.idle_timeout
    }
}

/// See the module documentation.
pub struct QuicTracker {
    conns: BoundedMap<ConnKey, Conn>,
    limits: QuicLimits,
    /// Decryption happens in a copy of the packet.
    scratch: Vec<u8>,
    buffered: usize,
    stats: QuicStats,
}

impl QuicTracker {
    pub fn new(limits: QuicLimits) -> Self {
        QuicTracker {
            conns: BoundedMap::new(limits.max_connections),
            limits,
            scratch: Vec::with_capacity(1500),
            buffered: 0,
            stats: QuicStats::default(),
        }
    }

    /// A UDP datagram from `src:sport` to `dst:dport` captured at `ts`. Returns what it completed.
    #[inline]
    pub fn datagram(
        &mut self,
        ts: Ts,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        payload: &[u8],
    ) -> QuicOutcome {
        match payload.first() {
            // RFC 9000 §17.3: Header Form 0 is a short header (1-RTT data): nothing to read.
            Some(&first) if first & 0x80 == 0 => QuicOutcome::None,
            Some(_) => {
                let key = ConnKey { client: src, server: dst, client_port: sport, server_port: dport };
                self.long_header(ts, key, payload)
            }
            None => QuicOutcome::NotQuic,
        }
    }

    /// Drops connections idle past the timeout at capture time `now`.
    pub fn expire(&mut self, now: Ts) {
        let Self { conns, buffered, stats, .. } = self;
        conns.expire(now, |_, conn| forget(&conn, buffered, stats));
    }

    pub fn stats(&self) -> QuicStats {
        QuicStats {
            connections: self.conns.len(),
            buffered_bytes: self.buffered,
            evicted_timeout: self.conns.evicted_timeout,
            evicted_capacity: self.conns.evicted_capacity,
            ..self.stats.clone()
        }
    }

    #[inline(never)]
    fn long_header(&mut self, ts: Ts, key: ConnKey, datagram: &[u8]) -> QuicOutcome {
        self.expire(ts);
        // RFC 8999 §5.1: the version follows the first byte in every long header.
        let version = match datagram.get(1..5).and_then(|v| <[u8; 4]>::try_from(v).ok()) {
            Some(v) => u32::from_be_bytes(v),
            None => return self.not_quic(),
        };
        if version_params(version).is_none() {
            return self.unsupported(version, datagram);
        }
        let mut outcome = QuicOutcome::None;
        let mut first_dcid = None;
        for packet in packets(datagram) {
            let Ok(packet) = packet else {
                if outcome == QuicOutcome::None {
                    return self.not_quic();
                }
                break;
            };
            // RFC 9000 §12.2: coalesced packets share the first packet's DCID; receivers ignore
            // the others (this also bounds key derivations to one connection per datagram).
            if *first_dcid.get_or_insert(packet.dcid) != packet.dcid {
                break;
            }
            let this = match packet.kind {
                LongKind::Initial { params, .. } => self.initial(ts, key, &packet, params),
                LongKind::Retry { .. } => {
                    self.server_packet(ts, key.reversed(), &packet);
                    QuicOutcome::None
                }
                LongKind::ZeroRtt | LongKind::Handshake => continue,
                // Not reached: the version was checked above.
                LongKind::VersionNegotiation | LongKind::Unsupported => break,
            };
            if rank(&this) > rank(&outcome) {
                outcome = this;
            }
            if matches!(outcome, QuicOutcome::ClientHello { .. }) {
                break;
            }
        }
        outcome
    }

    fn not_quic(&mut self) -> QuicOutcome {
        self.stats.not_quic += 1;
        QuicOutcome::NotQuic
    }

    /// Counts a version we do not open, if the packet looks like QUIC at all: a known version
    /// family, or the invariant header (RFC 8999 §5.1) with plausible connection IDs in a
    /// datagram of Initial size (RFC 9000 §14.1: at least 1200 bytes).
    fn unsupported(&mut self, version: u32, datagram: &[u8]) -> QuicOutcome {
        let plausible = is_known_family(version)
            || (invariant_cid_lens(datagram).is_some_and(|(d, s)| d <= MAX_CID_LEN && s <= MAX_CID_LEN)
                && datagram.len() >= 1200);
        if !plausible {
            return self.not_quic();
        }
        let counts = &mut self.stats.unsupported;
        if let Some(entry) = counts.iter_mut().find(|(v, _)| *v == version) {
            entry.1 += 1;
        } else if counts.len() < MAX_COUNTED_VERSIONS {
            counts.push((version, 1));
        } else {
            self.stats.unsupported_other += 1;
        }
        QuicOutcome::Unsupported { version }
    }

    /// A long-header packet sent by the server of a known connection: learn the connection ID
    /// the client will use next (RFC 9000 §7.2: the SCID of the server's first Initial or Retry).
    fn server_packet(&mut self, ts: Ts, client_key: ConnKey, packet: &LongPacket<'_>) {
        if let Some(conn) = self.conns.get_mut(&client_key, ts) {
            conn.server_cid = Some(ConnId::new(packet.scid));
        }
    }

    fn initial(
        &mut self,
        ts: Ts,
        key: ConnKey,
        packet: &LongPacket<'_>,
        params: &'static VersionParams,
    ) -> QuicOutcome {
        if self.conns.peek(&key).is_none() {
            if self.conns.peek(&key.reversed()).is_some() {
                self.server_packet(ts, key.reversed(), packet);
                return QuicOutcome::None;
            }
            return self.first_initial(ts, key, packet, params);
        }
        let Self { conns, scratch, buffered, stats, limits } = self;
        let Some(conn) = conns.get_mut(&key, ts) else { return QuicOutcome::None };
        if !packet.is_openable_initial() {
            stats.undecryptable += 1;
            return QuicOutcome::Undecryptable { version: packet.version };
        }
        let same_cid = conn.key_cid.is(packet.dcid) || conn.server_cid.is_some_and(|c| c.is(packet.dcid));
        if conn.done && same_cid && conn.version == packet.version {
            // A retransmission, an ACK, or the rest of a handshake already reported.
            return QuicOutcome::None;
        }
        if conn.keys.is_none() {
            conn.keys = InitialKeys::from_material(&conn.material).map(Box::new);
        }
        let opened = match &conn.keys {
            Some(keys) if conn.version == packet.version => keys.open(packet, conn.largest_pn, scratch).ok(),
            _ => None,
        };
        let payload = match opened {
            Some(o) => {
                conn.largest_pn = Some(conn.largest_pn.map_or(o.packet_number, |l| l.max(o.packet_number)));
                o.payload
            }
            None => {
                // New keys: a version change (RFC 9368: same original DCID), a Retry (its SCID),
                // or a new connection on the same 5-tuple (its own DCID).
                let candidates =
                    [(conn.version != packet.version).then_some(conn.key_cid), Some(ConnId::new(packet.dcid))];
                let mut found = None;
                for cid in candidates.into_iter().flatten() {
                    let Some(material) =
                        cid.bytes.get(..usize::from(cid.len)).and_then(|c| KeyMaterial::client(params, c))
                    else {
                        continue;
                    };
                    let Some(keys) = InitialKeys::from_material(&material) else { continue };
                    if keys.open(packet, None, scratch).is_ok() {
                        found = Some((material, keys, cid));
                        break;
                    }
                }
                let Some((material, keys, cid)) = found else {
                    stats.undecryptable += 1;
                    return QuicOutcome::Undecryptable { version: packet.version };
                };
                // The CRYPTO stream starts again from offset 0 under the new keys.
                *buffered = buffered.saturating_sub(conn.crypto.clear());
                conn.material = material;
                conn.key_cid = cid;
                conn.version = packet.version;
                conn.done = false;
                conn.server_cid = None;
                let opened = keys.open(packet, None, scratch);
                conn.keys = Some(Box::new(keys));
                match opened {
                    Ok(o) => {
                        conn.largest_pn = Some(o.packet_number);
                        o.payload
                    }
                    Err(_) => return QuicOutcome::Undecryptable { version: packet.version },
                }
            }
        };
        stats.initials_opened += 1;
        absorb(conn, payload, limits, buffered, stats)
    }

    /// A client Initial with no state for its 5-tuple in either direction: keys from its DCID.
    fn first_initial(
        &mut self,
        ts: Ts,
        key: ConnKey,
        packet: &LongPacket<'_>,
        params: &'static VersionParams,
    ) -> QuicOutcome {
        if !packet.is_openable_initial() {
            self.stats.undecryptable += 1;
            return QuicOutcome::Undecryptable { version: packet.version };
        }
        let Some((material, keys)) =
            KeyMaterial::client(params, packet.dcid).and_then(|m| Some((m, InitialKeys::from_material(&m)?)))
        else {
            return self.not_quic();
        };
        let Self { conns, scratch, buffered, stats, limits } = self;
        let Ok(opened) = keys.open(packet, None, scratch) else {
            stats.undecryptable += 1;
            return QuicOutcome::Undecryptable { version: packet.version };
        };
        stats.initials_opened += 1;
        let mut conn = Conn {
            version: packet.version,
            material,
            keys: Some(Box::new(keys)),
            key_cid: ConnId::new(packet.dcid),
            server_cid: None,
            largest_pn: Some(opened.packet_number),
            crypto: CryptoStream::default(),
            done: false,
            hello_random: None,
            initials: 0,
            idle_timeout: limits.idle_timeout,
        };
        let outcome = absorb(&mut conn, opened.payload, limits, buffered, stats);
        if let Some((_, evicted)) = conns.insert(key, conn, ts) {
            forget(&evicted, buffered, stats);
        }
        outcome
    }
}

/// Accounts for a connection leaving the table.
fn forget(conn: &Conn, buffered: &mut usize, stats: &mut QuicStats) {
    *buffered = buffered.saturating_sub(conn.crypto.heap_bytes());
    if !conn.done {
        stats.evicted_incomplete += 1;
    }
}

/// Which outcome of several packets in one datagram is reported.
fn rank(o: &QuicOutcome) -> u8 {
    match o {
        QuicOutcome::None => 0,
        QuicOutcome::NotQuic => 1,
        QuicOutcome::Unsupported { .. } => 2,
        QuicOutcome::Undecryptable { .. } => 3,
        QuicOutcome::Pending => 4,
        QuicOutcome::ClientHello { .. } => 5,
    }
}

/// The Destination and Source Connection ID lengths of an invariant long header (RFC 8999 §5.1).
fn invariant_cid_lens(datagram: &[u8]) -> Option<(usize, usize)> {
    let dcid_len = usize::from(*datagram.get(5)?);
    let scid_len = usize::from(*datagram.get(6 + dcid_len)?);
    (datagram.len() >= 7 + dcid_len + scid_len).then_some((dcid_len, scid_len))
}

/// Feeds the CRYPTO frames of an opened client Initial (RFC 9000 §19.6) to the connection's
/// stream; reports the ClientHello when it is complete.
fn absorb(
    conn: &mut Conn,
    payload: &[u8],
    limits: &QuicLimits,
    buffered: &mut usize,
    stats: &mut QuicStats,
) -> QuicOutcome {
    conn.initials = conn.initials.saturating_add(1);
    if conn.done {
        conn.keys = None;
        return QuicOutcome::None;
    }
    for frame in frames(payload) {
        match frame {
            Ok(Frame::Crypto { offset, data }) => {
                let budget = limits.max_buffer_bytes.saturating_sub(*buffered);
                match conn.crypto.insert(offset, data, limits.max_hello_bytes, budget) {
                    Stored::Grew(n) => *buffered += n,
                    Stored::Beyond => {}
                    Stored::Refused => stats.fragments_refused += 1,
                }
            }
            Ok(_) => {}
            Err(_) => {
                stats.frame_errors += 1;
                break;
            }
        }
    }
    match conn.crypto.progress(limits.max_hello_bytes) {
        Progress::Partial => QuicOutcome::Pending,
        Progress::NotClientHello | Progress::TooLarge => {
            stats.bad_hellos += 1;
            conn.done = true;
            conn.keys = None;
            *buffered = buffered.saturating_sub(conn.crypto.clear());
            QuicOutcome::None
        }
        Progress::Complete { len } => {
            let crypto_frames = conn.crypto.fragments;
            let held = conn.crypto.heap_bytes();
            let hello = conn.crypto.take(len);
            *buffered = buffered.saturating_sub(held);
            conn.done = true;
            conn.keys = None;
            // ClientHello: msg_type (1), length (3), legacy_version (2), random (32).
            let random = hello.get(6..38).and_then(|r| <[u8; 32]>::try_from(r).ok());
            if random.is_some() && random == conn.hello_random {
                stats.duplicate_hellos += 1;
                return QuicOutcome::None;
            }
            conn.hello_random = random;
            stats.client_hellos += 1;
            QuicOutcome::ClientHello { version: conn.version, hello, initials: conn.initials, crypto_frames }
        }
    }
}

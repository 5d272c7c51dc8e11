//! Bounded IPv4/IPv6 fragment reassembly (RFC 791 §3.2, RFC 8200 §4.5, RFC 5722), driven by
//! capture time.
//!
//! Each datagram being reassembled keeps the bytes it received in an arena (in arrival order)
//! and a sorted list of the byte ranges they cover. Overlaps keep the first bytes; an overlap
//! with different bytes drops the datagram (RFC 5722 §4 for IPv6; the same rule for IPv4 since
//! conflicting overlaps only serve evasion). Limits: `max_entries` datagrams, `max_bytes` of
//! buffers (arena capacity + range lists), `timeout_micros` after the first fragment; the
//! oldest datagram is evicted first. A completed datagram is copied into one reusable buffer.

use std::collections::VecDeque;
use std::net::IpAddr;

use crate::model::Ts;

use super::{DecodeStats, DefragLimits};

/// Largest reassembled payload: the 16-bit IP length fields (RFC 791 §3.1, RFC 8200 §3).
const MAX_DATAGRAM: usize = 65_535;
/// Fragments kept per datagram; more is an attack (65,535 / 8-byte fragments).
const MAX_PIECES: usize = 512;
/// Arenas kept for reuse after a datagram completes or is dropped.
const SPARE_ARENAS: usize = 8;

/// Identifies the fragments of one datagram (RFC 791 §3.2; RFC 8200 §4.5 without the
/// protocol, which all fragments repeat anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
}

/// What happened to one fragment.
#[derive(Debug)]
pub(super) enum Insert<'d> {
    /// Kept; the datagram is not complete yet (or it was dropped for capacity).
    Held,
    /// The datagram is complete: its payload (everything after the IP header).
    Complete(&'d [u8]),
    /// Inconsistent fragment: the datagram is dropped.
    Invalid,
}

/// Bytes `[start, end)` of the datagram payload, stored in the arena at `at`.
#[derive(Debug, Clone, Copy)]
struct Piece {
    start: u32,
    end: u32,
    at: u32,
}

#[derive(Debug)]
struct Datagram {
    serial: u64,
    /// Known once the last fragment (More Fragments = 0) arrived.
    total_len: Option<usize>,
    /// Bytes covered by `pieces` (they never overlap).
    received: usize,
    pieces: Vec<Piece>,
    arena: Vec<u8>,
}

impl Datagram {
    /// Bytes charged against `max_bytes`.
    fn cost(&self) -> usize {
        self.arena.capacity() + self.pieces.capacity() * size_of::<Piece>()
    }
}

/// The reassembly table.
#[derive(Debug, Default)]
pub(super) struct Defrag {
    limits: DefragLimits,
    table: foldhash::HashMap<FragKey, Datagram>,
    /// Datagrams in creation order (serial, key, first_seen); stale items are skipped.
    order: VecDeque<(u64, FragKey, Ts)>,
    next_serial: u64,
    /// Sum of `Datagram::cost` over the table.
    bytes: usize,
    /// The last completed datagram.
    out: Vec<u8>,
    spare: Vec<Vec<u8>>,
    /// Uncovered ranges of the fragment being added (kept to avoid allocating per fragment).
    scratch: Vec<(usize, usize)>,
}

impl Defrag {
    pub(super) fn new(limits: DefragLimits) -> Defrag {
        Defrag { limits, ..Defrag::default() }
    }

    pub(super) fn entries(&self) -> usize {
        self.table.len()
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Drops datagrams older than the timeout. Cheap when nothing is due: one comparison
    /// with the oldest datagram's deadline.
    pub(super) fn expire(&mut self, now: Ts, stats: &mut DecodeStats) {
        while let Some(&(serial, key, first_seen)) = self.order.front() {
            // Items behind the front are (about) as young: nothing else is due. A stale front
            // item waits for its own deadline, which costs nothing.
            if now.since(first_seen) <= self.limits.timeout_micros {
                return;
            }
            self.order.pop_front();
            if self.is_live(serial, &key) {
                self.remove(&key);
                stats.fragment_evictions_timeout += 1;
            }
        }
    }

    fn is_live(&self, serial: u64, key: &FragKey) -> bool {
        self.table.get(key).is_some_and(|d| d.serial == serial)
    }

    /// Removes a datagram and recycles its arena.
    fn remove(&mut self, key: &FragKey) {
        if let Some(d) = self.table.remove(key) {
            self.bytes = self.bytes.saturating_sub(d.cost());
            self.recycle(d.arena);
        }
    }

    fn recycle(&mut self, mut arena: Vec<u8>) {
        if self.spare.len() < SPARE_ARENAS && arena.capacity() <= MAX_DATAGRAM {
            arena.clear();
            self.spare.push(arena);
        }
    }

    /// Evicts the oldest datagram other than `keep`. Returns false when there is none.
    fn evict_oldest(&mut self, keep: Option<u64>, stats: &mut DecodeStats) -> bool {
        let mut i = 0;
        while let Some(&(serial, key, _)) = self.order.get(i) {
            if !self.is_live(serial, &key) {
                self.order.remove(i);
            } else if Some(serial) == keep {
                i += 1;
            } else {
                self.order.remove(i);
                self.remove(&key);
                stats.fragment_evictions_capacity += 1;
                return true;
            }
        }
        false
    }

    /// Forgets stale order items when they outnumber live datagrams (amortised O(1)).
    fn compact_order(&mut self) {
        if self.order.len() > 2 * self.table.len() + 64 {
            let table = &self.table;
            self.order.retain(|(serial, key, _)| table.get(key).is_some_and(|d| d.serial == *serial));
        }
    }

    /// Adds the fragment `data` at byte `offset` of the datagram `key`; `more` is the More
    /// Fragments flag.
    pub(super) fn insert<'d>(
        &'d mut self,
        now: Ts,
        key: FragKey,
        offset: usize,
        more: bool,
        data: &[u8],
        stats: &mut DecodeStats,
    ) -> Insert<'d> {
        let end = offset.saturating_add(data.len());
        // RFC 8200 §4.5: non-last fragments are multiples of 8 bytes; no datagram exceeds
        // 65,535 bytes (RFC 791 §3.1 "Total Length"; the "ping of death" was the opposite).
        if end > MAX_DATAGRAM || (more && !data.len().is_multiple_of(8)) || (more && data.is_empty()) {
            self.remove(&key);
            return Insert::Invalid;
        }
        if self.limits.max_entries == 0 {
            return Insert::Held;
        }
        if !self.table.contains_key(&key) {
            while self.table.len() >= self.limits.max_entries {
                if !self.evict_oldest(None, stats) {
                    break;
                }
            }
            let serial = self.next_serial;
            self.next_serial += 1;
            let arena = self.spare.pop().unwrap_or_default();
            let d = Datagram { serial, total_len: None, received: 0, pieces: Vec::new(), arena };
            self.bytes += d.cost();
            self.table.insert(key, d);
            self.order.push_back((serial, key, now));
            self.compact_order();
        }
        match self.add(key, offset, end, more, data, stats) {
            Ok(true) => {}
            Ok(false) => return Insert::Held,
            Err(()) => {
                self.remove(&key);
                return Insert::Invalid;
            }
        }
        // Complete: copy the pieces in order into the output buffer.
        let Some(d) = self.table.remove(&key) else {
            return Insert::Held;
        };
        self.bytes = self.bytes.saturating_sub(d.cost());
        self.out.clear();
        for p in &d.pieces {
            let at = p.at as usize;
            let len = (p.end - p.start) as usize;
            if let Some(bytes) = d.arena.get(at..at + len) {
                self.out.extend_from_slice(bytes);
            }
        }
        self.recycle(d.arena);
        stats.datagrams_reassembled += 1;
        Insert::Complete(&self.out)
    }

    /// Records `data` = bytes `[offset, end)` in the datagram; Ok(true) when it is complete,
    /// Err on an inconsistency, Ok(false) otherwise (including a capacity drop).
    fn add(
        &mut self,
        key: FragKey,
        offset: usize,
        end: usize,
        more: bool,
        data: &[u8],
        stats: &mut DecodeStats,
    ) -> Result<bool, ()> {
        let Some(d) = self.table.get_mut(&key) else {
            return Ok(false);
        };
        // RFC 791 §3.2 / RFC 8200 §4.5: the last fragment fixes the length; nothing may lie
        // beyond it and no two last fragments may disagree.
        match (more, d.total_len) {
            (false, Some(total)) if total != end => return Err(()),
            (false, _) if d.pieces.last().is_some_and(|p| p.end as usize > end) => return Err(()),
            (false, _) => d.total_len = Some(end),
            (true, Some(total)) if end > total => return Err(()),
            (true, _) => {}
        }
        // Parts of [offset, end) not yet covered; covered parts must hold the same bytes.
        let new_pieces = &mut self.scratch;
        new_pieces.clear();
        let mut cursor = offset;
        let first = d.pieces.partition_point(|p| (p.end as usize) <= offset);
        for p in d.pieces.get(first..).unwrap_or(&[]) {
            let (ps, pe) = (p.start as usize, p.end as usize);
            if ps >= end {
                break;
            }
            if ps > cursor {
                new_pieces.push((cursor, ps));
            }
            let (s, e) = (ps.max(offset), pe.min(end));
            let old = d.arena.get(p.at as usize + (s - ps)..p.at as usize + (e - ps));
            let new = data.get(s - offset..e - offset);
            if old != new {
                return Err(());
            }
            cursor = cursor.max(e);
        }
        if cursor < end {
            new_pieces.push((cursor, end));
        }
        if new_pieces.is_empty() {
            return Ok(d.total_len == Some(d.received));
        }
        if d.pieces.len() + new_pieces.len() > MAX_PIECES {
            return Err(());
        }
        // Grow the buffers, charging the growth; evict older datagrams to make room.
        let added: usize = new_pieces.iter().map(|(s, e)| e - s).sum();
        let old_cost = d.cost();
        if d.arena.capacity() < d.arena.len() + added {
            let want = (d.arena.len() + added).max((d.arena.capacity() * 2).min(MAX_DATAGRAM));
            d.arena.reserve_exact(want - d.arena.len());
        }
        d.pieces.reserve(new_pieces.len());
        let serial = d.serial;
        let growth = d.cost() - old_cost;
        self.bytes += growth;
        while self.bytes > self.limits.max_bytes {
            if !self.evict_oldest(Some(serial), stats) {
                // This datagram alone is over the limit.
                self.remove(&key);
                stats.fragment_evictions_capacity += 1;
                return Ok(false);
            }
        }
        let Some(d) = self.table.get_mut(&key) else {
            return Ok(false);
        };
        for &(s, e) in self.scratch.iter() {
            let at = d.arena.len();
            d.arena.extend_from_slice(data.get(s - offset..e - offset).unwrap_or(&[]));
            let piece = Piece { start: s as u32, end: e as u32, at: at as u32 };
            let i = d.pieces.partition_point(|p| p.start < piece.start);
            d.pieces.insert(i, piece);
            d.received += e - s;
        }
        Ok(d.total_len == Some(d.received))
    }
}

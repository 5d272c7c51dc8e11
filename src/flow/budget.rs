//! The byte budget of TCP reassembly buffers over all streams. Each stream's buffers are
//! capped (a ClientHello fits in 16 KiB), but 65,536 streams that each hold a few KiB of a
//! ClientHello that never completes would still take hundreds of MiB. Past the budget, the
//! streams that started buffering first are dropped: a flood of half-sent handshakes cannot
//! grow memory, and the handshakes that started most recently keep their bytes.

use std::collections::VecDeque;
use std::hash::Hash;

/// Bytes held by the streams' buffers, and who holds them.
pub struct BufferBudget<K> {
    limit: usize,
    used: usize,
    /// Streams in the order they started holding bytes (stale or repeated keys are skipped
    /// by the owner, and dropped by [`BufferBudget::compact`]).
    holders: VecDeque<K>,
    /// Streams dropped to stay within the budget.
    pub evicted: u64,
}

impl<K: Clone + Eq + Hash> BufferBudget<K> {
    pub fn new(limit: usize) -> Self {
        BufferBudget { limit, used: 0, holders: VecDeque::new(), evicted: 0 }
    }

    /// The buffers of stream `key` went from `before` to `after` bytes.
    pub fn changed(&mut self, key: &K, before: usize, after: usize) {
        if before == 0 && after > 0 {
            self.holders.push_back(key.clone());
        }
        self.used = (self.used + after).saturating_sub(before);
    }

    /// A stream holding `bytes` left the table.
    pub fn released(&mut self, bytes: usize) {
        self.used = self.used.saturating_sub(bytes);
    }

    pub fn over(&self) -> bool {
        self.used > self.limit
    }

    pub fn used(&self) -> usize {
        self.used
    }

    /// The stream that started holding bytes longest ago (maybe gone or empty since).
    pub fn oldest_holder(&mut self) -> Option<K> {
        self.holders.pop_front()
    }

    /// True when the queue of holders has grown past twice the `live` streams.
    pub fn needs_compaction(&self, live: usize) -> bool {
        self.holders.len() > live.saturating_mul(2).max(64)
    }

    /// Drops the keys for which `holds` is false, and repeats.
    pub fn compact(&mut self, holds: impl Fn(&K) -> bool) {
        let mut seen = foldhash::HashSet::default();
        self.holders.retain(|k| holds(k) && seen.insert(k.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_bytes_and_remembers_holders_in_order() {
        let mut b = BufferBudget::new(100);
        b.changed(&1u32, 0, 60);
        b.changed(&2u32, 0, 30);
        b.changed(&1u32, 60, 80);
        assert_eq!(b.used(), 110);
        assert!(b.over());
        assert_eq!(b.oldest_holder(), Some(1));
        b.released(80);
        assert!(!b.over());
        assert_eq!(b.oldest_holder(), Some(2));
        assert_eq!(b.oldest_holder(), None);
    }

    #[test]
    fn compaction_drops_stale_and_repeated_keys() {
        let mut b = BufferBudget::new(1 << 20);
        for i in 0..200u32 {
            b.changed(&(i % 10), 0, 1);
            b.changed(&(i % 10), 1, 0);
        }
        assert!(b.needs_compaction(5));
        b.compact(|k| *k < 3);
        assert!(!b.needs_compaction(5));
        let mut left = vec![];
        while let Some(k) = b.oldest_holder() {
            left.push(k);
        }
        assert_eq!(left, vec![0, 1, 2]);
    }
}

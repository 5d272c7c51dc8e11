//! A bounded hash map with idle expiry in capture time: the one structure behind every cache and
//! flow table, so each of them is bounded the same way.
//!
//! Entries sit in a FIFO of (deadline when queued, key, generation). Touching an entry only
//! updates its slot; the queue is fixed up lazily when its front is examined: an entry whose real
//! deadline (last seen + its idle timeout) has moved since it was queued goes to the back with
//! the new deadline, which lies in the future, so one `expire` call visits it at most once.
//! Expiry and capacity eviction are O(1) amortized per operation, with no per-packet allocation.

use std::collections::VecDeque;
use std::hash::Hash;

use foldhash::HashMap;

use crate::model::Ts;

/// Why an entry left the table without being removed by its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eviction {
    /// Idle for longer than its timeout.
    Timeout,
    /// The table was full and this was (about) the least recently used entry.
    Capacity,
}

/// Values stored in a [`BoundedMap`] say how long they may stay idle.
pub trait Idle {
    /// Microseconds of capture time this entry may stay untouched.
    fn idle_timeout(&self) -> i64;
}

struct Slot<V> {
    value: V,
    last_seen: Ts,
    generation: u32,
}

/// See the module documentation.
pub struct BoundedMap<K, V> {
    map: HashMap<K, Slot<V>>,
    queue: VecDeque<(Ts, K, u32)>,
    capacity: usize,
    generation: u32,
    pub evicted_timeout: u64,
    pub evicted_capacity: u64,
}

impl<K: Hash + Eq + Clone, V: Idle> BoundedMap<K, V> {
    pub fn new(capacity: usize) -> Self {
        BoundedMap {
            map: HashMap::default(),
            queue: VecDeque::new(),
            capacity: capacity.max(1),
            generation: 0,
            evicted_timeout: 0,
            evicted_capacity: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The entry for `key`, marked as seen at `now`.
    pub fn get_mut(&mut self, key: &K, now: Ts) -> Option<&mut V> {
        let slot = self.map.get_mut(key)?;
        if now > slot.last_seen {
            slot.last_seen = now;
        }
        Some(&mut slot.value)
    }

    /// The entry for `key`, marked as seen at `now`; inserted with `make` when absent (evicting
    /// the least recently used entry when full).
    pub fn get_or_insert_with(&mut self, key: K, now: Ts, make: impl FnOnce() -> V) -> &mut V {
        if !self.map.contains_key(&key) {
            if self.map.len() >= self.capacity {
                self.evict_one();
            }
            if self.queue.len() >= self.capacity.saturating_mul(2).max(64) {
                self.compact();
            }
        }
        match self.map.entry(key) {
            std::collections::hash_map::Entry::Occupied(o) => {
                let slot = o.into_mut();
                if now > slot.last_seen {
                    slot.last_seen = now;
                }
                &mut slot.value
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                self.generation = self.generation.wrapping_add(1);
                let value = make();
                self.queue.push_back((now.plus(value.idle_timeout()), v.key().clone(), self.generation));
                &mut v.insert(Slot { value, last_seen: now, generation: self.generation }).value
            }
        }
    }

    /// The entry for `key` without touching it.
    pub fn peek(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|s| &s.value)
    }

    /// Inserts (or replaces) `key`, evicting the least recently used entry when full.
    /// Returns the evicted entry, if any, so its owner can account for it.
    pub fn insert(&mut self, key: K, value: V, now: Ts) -> Option<(K, V)> {
        let mut evicted = None;
        if !self.map.contains_key(&key) && self.map.len() >= self.capacity {
            evicted = self.evict_one();
        }
        self.generation = self.generation.wrapping_add(1);
        let generation = self.generation;
        let deadline = now.plus(value.idle_timeout());
        self.map.insert(key.clone(), Slot { value, last_seen: now, generation });
        self.queue.push_back((deadline, key, generation));
        if self.queue.len() > self.capacity.saturating_mul(2).max(64) {
            self.compact();
        }
        evicted
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.map.remove(key).map(|s| s.value)
    }

    /// Removes entries idle past their timeout at capture time `now`; calls `on_evict` for each.
    pub fn expire(&mut self, now: Ts, mut on_evict: impl FnMut(K, V)) {
        while self.queue.front().is_some_and(|(deadline, _, _)| *deadline <= now) {
            let Some((_, key, generation)) = self.queue.pop_front() else { break };
            let Some(slot) = self.map.get(&key) else { continue };
            if slot.generation != generation {
                continue;
            }
            let deadline = slot.last_seen.plus(slot.value.idle_timeout());
            if deadline <= now {
                if let Some(slot) = self.map.remove(&key) {
                    self.evicted_timeout += 1;
                    on_evict(key, slot.value);
                }
            } else {
                // Touched since it was queued: queue it again with its (future) deadline.
                self.queue.push_back((deadline, key, generation));
            }
        }
    }

    fn evict_one(&mut self) -> Option<(K, V)> {
        // Prefer an entry that was not touched since it was queued; give up looking after a few.
        let mut tries = 0;
        while let Some((queued, key, generation)) = self.queue.pop_front() {
            let Some(slot) = self.map.get(&key) else { continue };
            if slot.generation != generation {
                continue;
            }
            let deadline = slot.last_seen.plus(slot.value.idle_timeout());
            if deadline > queued && tries < 8 {
                tries += 1;
                self.queue.push_back((deadline, key, generation));
                continue;
            }
            let slot = self.map.remove(&key)?;
            self.evicted_capacity += 1;
            return Some((key, slot.value));
        }
        None
    }

    /// Drops queue records of entries that were removed or replaced.
    fn compact(&mut self) {
        let map = &self.map;
        self.queue.retain(|(_, k, g)| map.get(k).is_some_and(|s| s.generation == *g));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter().map(|(k, s)| (k, &s.value))
    }

    /// The entry for `key`, without marking it as seen.
    pub fn peek_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key).map(|s| &mut s.value)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.map.values_mut().map(|s| &mut s.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct V(i64);
    impl Idle for V {
        fn idle_timeout(&self) -> i64 {
            self.0
        }
    }

    #[test]
    fn expires_idle_entries_in_capture_time() {
        let mut m = BoundedMap::new(10);
        m.insert(1u32, V(10), Ts(0));
        m.insert(2u32, V(10), Ts(0));
        assert!(m.get_mut(&2, Ts(8)).is_some());
        let mut gone = vec![];
        m.expire(Ts(12), |k, _| gone.push(k));
        assert_eq!(gone, vec![1]);
        assert!(m.peek(&2).is_some());
        m.expire(Ts(18), |k, _| gone.push(k));
        assert_eq!(gone, vec![1, 2]);
        assert!(m.is_empty());
        assert_eq!(m.evicted_timeout, 2);
    }

    #[test]
    fn capacity_is_never_exceeded_and_lru_goes_first() {
        let mut m = BoundedMap::new(3);
        for k in 0..3u32 {
            m.insert(k, V(1_000), Ts(k as i64));
        }
        m.get_mut(&0, Ts(10));
        let ev = m.insert(3, V(1_000), Ts(11)).map(|(k, _)| k);
        assert_eq!(ev, Some(1), "0 was touched, so 1 is the least recently used");
        for k in 4..100_000u32 {
            m.insert(k, V(1_000), Ts(20 + k as i64));
            assert!(m.len() <= 3);
        }
        assert!(m.queue.len() <= 64, "the queue is compacted");
        assert_eq!(m.evicted_capacity, 100_000 - 3);
    }

    #[test]
    fn entries_longer_lived_than_others_do_not_stall_expiry() {
        // Regression: an entry touched recently, with a timeout longer than the time since it was
        // queued, used to be re-queued forever within one expire call.
        struct Mixed(i64);
        impl Idle for Mixed {
            fn idle_timeout(&self) -> i64 {
                self.0
            }
        }
        let mut m = BoundedMap::new(100);
        m.insert(1u32, Mixed(100), Ts(0));
        m.insert(2u32, Mixed(5), Ts(0));
        m.get_mut(&1, Ts(50));
        let mut gone = vec![];
        m.expire(Ts(120), |k, _| gone.push(k));
        assert_eq!(gone, vec![2]);
        m.expire(Ts(151), |k, _| gone.push(k));
        assert_eq!(gone, vec![2, 1]);
    }

    #[test]
    fn removed_and_reinserted_keys_do_not_grow_the_queue() {
        let mut m = BoundedMap::new(4);
        for i in 0..10_000i64 {
            m.insert(7u32, V(1_000_000), Ts(i));
            m.remove(&7);
        }
        assert!(m.queue.len() <= 64);
    }
}

//! A bounded hash map with idle expiry in capture time: the one structure behind every cache and
//! flow table, so each of them is bounded the same way.
//!
//! Entries sit in a FIFO of (time last queued, key, generation). Touching an entry only updates
//! its slot; the queue is fixed up lazily when its front is examined (an entry touched since it
//! was queued is queued again at the back). Expiry and capacity eviction are therefore O(1)
//! amortized per operation, with no per-packet allocation.

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
    /// Shortest idle timeout any value can have: the queue front is examined no sooner.
    min_timeout: i64,
    generation: u32,
    pub evicted_timeout: u64,
    pub evicted_capacity: u64,
}

impl<K: Hash + Eq + Clone, V: Idle> BoundedMap<K, V> {
    pub fn new(capacity: usize, min_timeout: i64) -> Self {
        BoundedMap {
            map: HashMap::default(),
            queue: VecDeque::new(),
            capacity: capacity.max(1),
            min_timeout: min_timeout.max(0),
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
        self.map.insert(key.clone(), Slot { value, last_seen: now, generation });
        self.queue.push_back((now, key, generation));
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
        while let Some((queued, _, _)) = self.queue.front() {
            if queued.plus(self.min_timeout) > now {
                break;
            }
            let Some((queued, key, generation)) = self.queue.pop_front() else { break };
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
                // Touched since it was queued (or a longer timeout): queue it again.
                let last = slot.last_seen.max(queued);
                self.queue.push_back((last, key, generation));
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
            if slot.last_seen > queued && tries < 8 {
                tries += 1;
                let last = slot.last_seen;
                self.queue.push_back((last, key, generation));
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
        let mut m = BoundedMap::new(10, 5);
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
        let mut m = BoundedMap::new(3, 1_000);
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
    fn removed_and_reinserted_keys_do_not_grow_the_queue() {
        let mut m = BoundedMap::new(4, 1_000_000);
        for i in 0..10_000i64 {
            m.insert(7u32, V(1_000_000), Ts(i));
            m.remove(&7);
        }
        assert!(m.queue.len() <= 64);
    }
}

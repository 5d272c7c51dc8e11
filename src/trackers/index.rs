//! The suffix index of a built [`TrackerDb`](super::TrackerDb): a Bloom filter in front of an
//! open-addressing table of 16-byte slots (64-bit key hash, key length, entry number), built once
//! and then only read.
//!
//! Why not a `HashMap<Arc<str>, u32>`: with 100,000 entries neither the map nor the strings fit
//! in cache, and a hit costs three cache misses (bucket, entry, key string), a miss one or two.
//! Here the Bloom filter (16 bits per key, two bits per key: about 1.4 % false positives; 256 KiB
//! for 100,000 keys) stays in the L2 cache and answers almost every candidate suffix that is not in
//! the list; a candidate that passes costs one slot read, and the caller then reads its entry.
//!
//! A slot is confirmed by the full 64-bit hash and the length, not by comparing the strings: the
//! hash is foldhash with a per-process random seed, so a false match needs a 64-bit collision with
//! one of the list's keys that no one outside the process can aim for (below 2^-40 per lookup even
//! for 16 million keys). That saves the cache miss of reading the key string on every hit.

use std::hash::BuildHasher;

/// See the module documentation.
#[derive(Debug, Clone, Default)]
pub(super) struct SuffixIndex {
    /// `[hash, (entry + 1) << 32 | key length]`; an empty slot is all zero.
    slots: Vec<[u64; 2]>,
    mask: usize,
    /// Bloom filter: bits `h & bloom_mask` and `(h >> 24) & bloom_mask` are set for every key.
    bloom: Vec<u64>,
    bloom_mask: usize,
    hasher: foldhash::fast::RandomState,
}

/// Bits of the Bloom filter per key (before rounding up to a power of two).
const BLOOM_BITS_PER_KEY: usize = 16;

impl SuffixIndex {
    /// Indexes `keys` (entry `i` has key `keys[i]`; keys are distinct).
    pub(super) fn build<'a>(keys: impl ExactSizeIterator<Item = &'a [u8]>) -> SuffixIndex {
        let n = keys.len();
        if n == 0 {
            return SuffixIndex::default();
        }
        // At most two thirds full: probe sequences stay short.
        let size = (n + n / 2 + 1).next_power_of_two().max(8);
        let bloom_bits = (n * BLOOM_BITS_PER_KEY).next_power_of_two().max(64);
        let mut index = SuffixIndex {
            slots: vec![[0, 0]; size],
            mask: size - 1,
            bloom: vec![0; bloom_bits / 64],
            bloom_mask: bloom_bits - 1,
            hasher: foldhash::fast::RandomState::default(),
        };
        for (i, key) in keys.enumerate() {
            let (Ok(entry), Ok(len)) = (u32::try_from(i + 1), u32::try_from(key.len())) else { break };
            let h = index.hasher.hash_one(key);
            for bit in index.bloom_bits(h) {
                if let Some(word) = index.bloom.get_mut(bit / 64) {
                    *word |= 1 << (bit % 64);
                }
            }
            let mut pos = h as usize & index.mask;
            // The table is at most two thirds full: an empty slot exists.
            while index.slots.get(pos).is_some_and(|s| s[1] != 0) {
                pos = (pos + 1) & index.mask;
            }
            if let Some(slot) = index.slots.get_mut(pos) {
                *slot = [h, u64::from(entry) << 32 | u64::from(len)];
            }
        }
        index
    }

    /// The two Bloom filter bits of a key hash (the slot position uses the low bits).
    #[inline]
    fn bloom_bits(&self, h: u64) -> [usize; 2] {
        [h as usize & self.bloom_mask, (h >> 24) as usize & self.bloom_mask]
    }

    pub(super) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The entry number of `key`, if it is a key of the index.
    #[inline]
    pub(super) fn get(&self, key: &[u8]) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let h = self.hasher.hash_one(key);
        let [a, b] = self.bloom_bits(h);
        let bit = |i: usize| self.bloom.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0);
        if !(bit(a) && bit(b)) {
            return None;
        }
        let len = key.len() as u64;
        let mut pos = h as usize & self.mask;
        loop {
            let [hash, tag] = *self.slots.get(pos)?;
            if tag == 0 {
                return None;
            }
            if hash == h && tag & 0xffff_ffff == len {
                return Some((tag >> 32) as usize - 1);
            }
            pos = (pos + 1) & self.mask;
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<[u64; 2]>() + self.bloom.capacity() * std::mem::size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_key_and_nothing_else() {
        let keys: Vec<String> = (0..5000).map(|i| format!("host{i}.example{}.com", i % 7)).collect();
        let index = SuffixIndex::build(keys.iter().map(|k| k.as_bytes()));
        assert_eq!(index.slots.len(), 8192);
        assert_eq!(index.bloom.len() * 64, 131_072);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(index.get(k.as_bytes()), Some(i), "{k}");
        }
        let mut passed_bloom = 0;
        for i in 5000..105_000 {
            let miss = format!("host{i}.example{}.com", i % 7);
            assert_eq!(index.get(miss.as_bytes()), None, "{miss}");
            let h = index.hasher.hash_one(miss.as_bytes());
            let [a, b] = index.bloom_bits(h);
            passed_bloom +=
                usize::from(index.bloom[a / 64] & (1 << (a % 64)) != 0 && index.bloom[b / 64] & (1 << (b % 64)) != 0);
        }
        // 16 bits per key, two bits per key: about 1.4 % of absent keys get past the filter.
        assert!(passed_bloom < 3000, "{passed_bloom} of 100000 absent keys passed the Bloom filter");
        for miss in ["example.com", "", "host1.example1.co"] {
            assert_eq!(index.get(miss.as_bytes()), None);
        }
        assert!(SuffixIndex::build(std::iter::empty::<&[u8]>()).get(b"x").is_none());
    }
}

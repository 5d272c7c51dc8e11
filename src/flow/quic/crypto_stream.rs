//! The client's Initial CRYPTO stream (RFC 9000 §19.6, §7.5): fragments put back together by
//! offset, in any order, with duplicates and overlaps, until the ClientHello handshake message
//! (RFC 8446 §4: type, 24-bit length) is covered contiguously from offset 0.

use crate::extract::quic::handshake_message_len;

/// Most disjoint byte ranges kept while holes remain (Chromium sends tens of fragments).
pub const MAX_RANGES: usize = 64;

/// Heap bytes of one range.
const RANGE_BYTES: usize = std::mem::size_of::<(u32, u32)>();

/// What became of one CRYPTO fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Stored (or already present); the buffer grew by this many bytes.
    Grew(usize),
    /// Outside the message (past its end or past the per-connection cap): nothing to keep.
    Beyond,
    /// Refused: the global byte budget or the range count would be exceeded.
    Refused,
}

/// Whether the stream holds a whole handshake message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Bytes missing.
    Partial,
    /// The first `len` bytes hold a complete ClientHello.
    Complete { len: usize },
    /// The first message is not a ClientHello (TLS HandshakeType 1).
    NotClientHello,
    /// The message is longer than the per-connection cap.
    TooLarge,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct CryptoStream {
    /// Bytes `[0, buf.len())` of the stream; holes are zero.
    buf: Vec<u8>,
    /// Received ranges `[start, end)`, sorted, disjoint and not adjacent.
    ranges: Vec<(u32, u32)>,
    /// CRYPTO frames that carried bytes of the message.
    pub fragments: u16,
}

impl CryptoStream {
    /// Heap bytes held (what the tracker's byte budget counts).
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity() + self.ranges.capacity() * RANGE_BYTES
    }

    /// Frees the buffer; returns the bytes it held.
    pub fn clear(&mut self) -> usize {
        let freed = self.heap_bytes();
        *self = CryptoStream::default();
        freed
    }

    /// The length of the handshake message, once its 4-byte header is present.
    fn message_len(&self) -> Option<(u8, usize)> {
        match self.ranges.first() {
            Some(&(0, end)) if end >= 4 => handshake_message_len(self.buf.get(..4)?),
            _ => None,
        }
    }

    /// Stores `data` found at stream `offset`. Keeps only bytes below `cap` (and below the end of
    /// the message once its length is known); grows the buffer by at most `budget` bytes.
    pub fn insert(&mut self, offset: u64, data: &[u8], cap: usize, budget: usize) -> Stored {
        let limit = self.message_len().map_or(cap, |(_, len)| len.min(cap));
        let Ok(start) = usize::try_from(offset) else { return Stored::Beyond };
        if start >= limit || data.is_empty() {
            return Stored::Beyond;
        }
        let data = data.get(..data.len().min(limit - start)).unwrap_or_default();
        let end = start + data.len();
        let (Ok(start32), Ok(end32)) = (u32::try_from(start), u32::try_from(end)) else { return Stored::Beyond };
        if self.ranges.iter().any(|&(s, e)| s <= start32 && end32 <= e) {
            // A duplicate (retransmission): nothing new.
            return Stored::Grew(0);
        }
        if self.ranges.len() >= MAX_RANGES && !self.ranges.iter().any(|&(s, e)| s <= end32 && start32 <= e) {
            return Stored::Refused;
        }
        let before = self.heap_bytes();
        // Room for one more range (doubling, from 4); never more than `budget` new bytes in all.
        let more_ranges = if self.ranges.len() == self.ranges.capacity() { self.ranges.capacity().max(4) } else { 0 };
        let Some(budget) = budget.checked_sub(more_ranges * RANGE_BYTES) else { return Stored::Refused };
        if end > self.buf.len() {
            // Grow by doubling (from 512 bytes) up to `limit`, so that a hello sent in many small
            // fragments costs few copies; at least to `end`; exactly `end` when the budget is short.
            let have = self.buf.capacity();
            let mut goal = have.saturating_mul(2).max(512).min(limit).max(end);
            if goal > have && goal - have > budget {
                goal = end;
            }
            if goal > have && (goal - have > budget || self.buf.try_reserve_exact(goal - self.buf.len()).is_err()) {
                return Stored::Refused;
            }
            self.buf.resize(end, 0);
        }
        if more_ranges > 0 && self.ranges.try_reserve_exact(more_ranges).is_err() {
            return Stored::Refused;
        }
        if let Some(dst) = self.buf.get_mut(start..end) {
            dst.copy_from_slice(data);
        }
        self.add_range(start32, end32);
        self.fragments = self.fragments.saturating_add(1);
        // Both vectors only ever grow: the difference is exact.
        Stored::Grew(self.heap_bytes().saturating_sub(before))
    }

    /// Merges `[start, end)` into the sorted, disjoint range list, in place.
    fn add_range(&mut self, start: u32, end: u32) {
        let (mut s, mut e) = (start, end);
        let first = self.ranges.partition_point(|&(_, re)| re < s);
        let mut last = first;
        while let Some(&(rs, re)) = self.ranges.get(last) {
            if rs > e {
                break;
            }
            s = s.min(rs);
            e = e.max(re);
            last += 1;
        }
        self.ranges.splice(first..last, [(s, e)]);
    }

    /// Where the message stands (RFC 8446 §4: msg_type 1 is client_hello).
    pub fn progress(&self, cap: usize) -> Progress {
        let Some((msg_type, len)) = self.message_len() else { return Progress::Partial };
        if msg_type != crate::extract::quic::CLIENT_HELLO {
            return Progress::NotClientHello;
        }
        if len > cap {
            return Progress::TooLarge;
        }
        match self.ranges.first() {
            Some(&(0, end)) if end as usize >= len => Progress::Complete { len },
            _ => Progress::Partial,
        }
    }

    /// Takes the first `len` bytes out of the stream, leaving it empty.
    pub fn take(&mut self, len: usize) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.truncate(len);
        self.ranges = Vec::new();
        buf
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn hello(len: usize) -> Vec<u8> {
        let body = len - 4;
        let mut m = vec![1, (body >> 16) as u8, (body >> 8) as u8, body as u8];
        m.extend((0..body).map(|i| (i % 251) as u8));
        m
    }

    #[test]
    fn out_of_order_overlapping_and_duplicate_fragments() {
        let msg = hello(1000);
        let mut s = CryptoStream::default();
        let cuts = [(600, 1000), (0, 3), (100, 700), (2, 150), (100, 700), (990, 1000)];
        for (i, &(a, b)) in cuts.iter().enumerate() {
            assert_eq!(s.progress(16_384), if i < 4 { Progress::Partial } else { Progress::Complete { len: 1000 } });
            assert!(matches!(s.insert(a as u64, &msg[a..b], 16_384, usize::MAX), Stored::Grew(_)));
        }
        assert_eq!(s.progress(16_384), Progress::Complete { len: 1000 });
        assert_eq!(s.take(1000), msg);
    }

    #[test]
    fn bounds_are_kept() {
        let msg = hello(40_000);
        let mut s = CryptoStream::default();
        assert_eq!(s.insert(20_000, &msg[20_000..20_010], 16_384, usize::MAX), Stored::Beyond);
        assert!(matches!(s.insert(0, &msg[..100], 16_384, usize::MAX), Stored::Grew(_)));
        assert_eq!(s.progress(16_384), Progress::TooLarge);
        // The budget refuses growth.
        let mut s = CryptoStream::default();
        assert_eq!(s.insert(0, &msg[..100], 16_384, 50), Stored::Refused);
        // Range count: 64 disjoint ranges, then a 65th is refused, an adjacent one merges.
        let mut s = CryptoStream::default();
        for i in 0..MAX_RANGES {
            assert!(matches!(s.insert(10 + 4 * i as u64, &[1], 16_384, usize::MAX), Stored::Grew(_)));
        }
        assert_eq!(s.insert(1000, &[1], 16_384, usize::MAX), Stored::Refused);
        assert!(matches!(s.insert(11, &[1], 16_384, usize::MAX), Stored::Grew(_)));
        assert!(s.heap_bytes() < 16_384 + 64 * 16 * 2);
        // Not a ClientHello.
        let mut s = CryptoStream::default();
        s.insert(0, &[2, 0, 0, 1, 0], 16_384, usize::MAX);
        assert_eq!(s.progress(16_384), Progress::NotClientHello);
    }
}

//! HPACK header block decoder (RFC 7541): integer and string representations (§5), indexed and
//! literal field representations (§6), static and dynamic tables with size updates and eviction
//! (§2.3, §4). Bounded: table size, header list size, string lengths.

use std::collections::VecDeque;

use super::huffman::{self, STATIC_TABLE};

/// Largest dynamic table size accepted in a size update. The decoder's limit is the *server's*
/// SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2), which the client direction does not show; common
/// servers use 4096, a few up to 65536.
pub const MAX_TABLE_SIZE: usize = 64 * 1024;
/// Initial dynamic table size (RFC 9113 §6.5.2: SETTINGS_HEADER_TABLE_SIZE default 4096).
pub const DEFAULT_TABLE_SIZE: usize = 4096;
/// Most decoded bytes of one header list (RFC 7541 §4.1 entry sizes: name + value + 32 each).
pub const MAX_HEADER_LIST_SIZE: usize = 64 * 1024;

/// Why a header block could not be decoded. The connection's table is then out of step for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HpackError {
    /// The block ends inside a representation.
    Truncated,
    /// An integer over 2^32 (RFC 7541 §5.1 leaves the limit to implementations).
    IntegerOverflow,
    /// Index 0, or past the end of the tables (§2.3.3).
    BadIndex,
    /// Bad Huffman code (§5.2).
    Huffman,
    /// A table size update over the limit, or after the first field (§4.2, §6.3).
    BadTableSizeUpdate,
    /// The header list is larger than [`MAX_HEADER_LIST_SIZE`].
    HeaderListTooLarge,
}

/// A dynamic table entry: name and value.
type Entry = (Box<[u8]>, Box<[u8]>);

/// One HPACK decoding context (one per HTTP/2 connection and direction).
#[derive(Debug)]
pub struct Decoder {
    /// Newest entry first (index 62).
    table: VecDeque<Entry>,
    /// RFC 7541 §4.1: sum of name + value + 32 over the entries.
    size: usize,
    max_size: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new(DEFAULT_TABLE_SIZE)
    }
}

/// Reads representations from a header block.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// RFC 7541 §5.1: an integer with an N-bit prefix, the prefix bits of the first byte included.
    fn integer(&mut self, prefix_bits: u32) -> Result<usize, HpackError> {
        let (&first, rest) = self.rest.split_first().ok_or(HpackError::Truncated)?;
        self.rest = rest;
        let max_prefix = (1u32 << prefix_bits) - 1;
        let value = u32::from(first) & max_prefix;
        if value < max_prefix {
            return Ok(value as usize);
        }
        let mut value = u64::from(value);
        // At most 5 continuation bytes (35 bits) before the value must have ended.
        for shift in (0..35).step_by(7) {
            let (&b, rest) = self.rest.split_first().ok_or(HpackError::Truncated)?;
            self.rest = rest;
            value += u64::from(b & 0x7f) << shift;
            if value > u64::from(u32::MAX) {
                return Err(HpackError::IntegerOverflow);
            }
            if b & 0x80 == 0 {
                return usize::try_from(value).map_err(|_| HpackError::IntegerOverflow);
            }
        }
        Err(HpackError::IntegerOverflow)
    }

    /// RFC 7541 §5.2: `H (1) | String Length (7+) | String Data`, Huffman-decoded when H is set.
    /// Appends to `out`, which may hold at most `limit` bytes.
    fn string(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), HpackError> {
        let huffman_coded = self.rest.first().ok_or(HpackError::Truncated)? & 0x80 != 0;
        let len = self.integer(7)?;
        let (data, rest) = self.rest.split_at_checked(len).ok_or(HpackError::Truncated)?;
        self.rest = rest;
        if huffman_coded {
            huffman::decode(data, out, limit).map_err(|_| HpackError::Huffman)
        } else if out.len() + data.len() > limit {
            Err(HpackError::HeaderListTooLarge)
        } else {
            out.extend_from_slice(data);
            Ok(())
        }
    }
}

impl Decoder {
    pub fn new(max_size: usize) -> Self {
        Decoder { table: VecDeque::new(), size: 0, max_size: max_size.min(MAX_TABLE_SIZE) }
    }

    /// Current dynamic table size (RFC 7541 §4.1).
    pub fn table_size(&self) -> usize {
        self.size
    }

    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// Name and value of entry `index` (RFC 7541 §2.3.3: 1–61 static, then dynamic, newest first).
    fn entry(&self, index: usize) -> Result<(&[u8], &[u8]), HpackError> {
        if index == 0 {
            return Err(HpackError::BadIndex);
        }
        if let Some(&(n, v)) = STATIC_TABLE.get(index - 1) {
            return Ok((n, v));
        }
        let (n, v) = self.table.get(index - 1 - STATIC_TABLE.len()).ok_or(HpackError::BadIndex)?;
        Ok((n, v))
    }

    /// RFC 7541 §4.3–4.4: evict the oldest entries until the table fits; an entry larger than the
    /// whole table empties it and is not added.
    fn insert(&mut self, name: &[u8], value: &[u8]) {
        let entry_size = name.len() + value.len() + 32;
        self.evict_to(self.max_size.saturating_sub(entry_size));
        if entry_size <= self.max_size {
            self.table.push_front((name.into(), value.into()));
            self.size += entry_size;
        }
    }

    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            let Some((n, v)) = self.table.pop_back() else { break };
            self.size -= n.len() + v.len() + 32;
        }
    }

    /// Decodes one complete header block (RFC 7541 §3: the representations in order), calling
    /// `field(name, value)` for each header field.
    pub fn decode(&mut self, block: &[u8], field: &mut dyn FnMut(&[u8], &[u8])) -> Result<(), HpackError> {
        let mut cur = Cursor { rest: block };
        let mut list_size = 0usize;
        let mut fields = 0usize;
        let mut name = Vec::new();
        let mut value = Vec::new();
        while let Some(&first) = cur.rest.first() {
            let (index, add) = match first {
                // §6.1 Indexed Header Field: 1xxxxxxx
                0x80..=0xff => {
                    let index = cur.integer(7)?;
                    let (n, v) = self.entry(index)?;
                    list_size += n.len() + v.len() + 32;
                    if list_size > MAX_HEADER_LIST_SIZE {
                        return Err(HpackError::HeaderListTooLarge);
                    }
                    field(n, v);
                    fields += 1;
                    continue;
                }
                // §6.3 Dynamic Table Size Update: 001xxxxx, only at the start of a block (§4.2).
                0x20..=0x3f => {
                    let new_max = cur.integer(5)?;
                    if new_max > MAX_TABLE_SIZE || fields > 0 {
                        return Err(HpackError::BadTableSizeUpdate);
                    }
                    self.max_size = new_max;
                    self.evict_to(new_max);
                    continue;
                }
                // §6.2.1 Literal with Incremental Indexing: 01xxxxxx
                0x40..=0x7f => (cur.integer(6)?, true),
                // §6.2.2 without Indexing 0000xxxx, §6.2.3 Never Indexed 0001xxxx
                _ => (cur.integer(4)?, false),
            };
            name.clear();
            value.clear();
            let limit = MAX_HEADER_LIST_SIZE.saturating_sub(list_size);
            if index == 0 {
                cur.string(&mut name, limit)?;
            } else {
                let (n, _) = self.entry(index)?;
                if n.len() > limit {
                    return Err(HpackError::HeaderListTooLarge);
                }
                name.extend_from_slice(n);
            }
            cur.string(&mut value, limit.saturating_sub(name.len()))?;
            list_size += name.len() + value.len() + 32;
            if list_size > MAX_HEADER_LIST_SIZE {
                return Err(HpackError::HeaderListTooLarge);
            }
            field(&name, &value);
            fields += 1;
            if add {
                self.insert(&name, &value);
            }
        }
        Ok(())
    }
}

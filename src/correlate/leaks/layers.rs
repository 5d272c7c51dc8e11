//! Decoding layers of a request field, each byte mapped back to the raw bytes it came from:
//! percent-decoding (RFC 3986 §2.1), DNS label joining, and base64 tokens (RFC 4648 §4, §5).
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// How a layer was made from its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    /// `marks`: indices (in this layer) of the bytes that came from a 3-byte `%XX` escape.
    Percent,
    /// `marks`: for each dot removed, the number of bytes kept before it.
    Dots,
}

/// A decoded copy of its parent (the raw input when `parent` is `None`, else another layer).
/// Mapping back is computed from the sparse `marks`, so decoding costs one pass and no per-byte
/// table.
pub(super) struct Layer {
    pub bytes: Vec<u8>,
    pub parent: Option<usize>,
    edit: Edit,
    marks: Vec<u32>,
}

impl Layer {
    /// The parent range that produced `start..end` of this layer (`end > start`).
    pub fn parent_span(&self, start: usize, end: usize) -> (usize, usize) {
        let last = end.max(start + 1) - 1;
        match self.edit {
            Edit::Percent => {
                let before = |j: usize| self.marks.partition_point(|&m| (m as usize) < j);
                let escaped = self.marks.binary_search(&(last as u32)).is_ok();
                (start + 2 * before(start), last + 2 * before(last) + if escaped { 3 } else { 1 })
            }
            Edit::Dots => {
                let shift = |j: usize| self.marks.partition_point(|&m| (m as usize) <= j);
                (start + shift(start), last + shift(last) + 1)
            }
        }
    }

    /// True when `start..end` and its neighbours are bytes copied unchanged from the parent.
    pub fn unchanged(&self, start: usize, end: usize) -> bool {
        let from = self.marks.partition_point(|&m| (m as usize) < start.saturating_sub(1));
        self.marks.get(from).is_none_or(|&m| m as usize > end)
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `src` once (RFC 3986 §2.1: `%` HEXDIG HEXDIG; a `%` not followed by two hex
/// digits stays as is; `+` stays `+`). `None` when nothing changes. Linear.
pub(super) fn percent_decode(src: &[u8], parent: Option<usize>) -> Option<Layer> {
    let first = src.iter().position(|&b| b == b'%')?;
    let mut out = Layer { bytes: Vec::with_capacity(src.len()), parent, edit: Edit::Percent, marks: Vec::new() };
    out.bytes.extend_from_slice(src.get(..first).unwrap_or_default());
    let mut rest = src.get(first..).unwrap_or_default();
    while !rest.is_empty() {
        let escaped = match rest {
            [b'%', h, l, ..] => hex_value(*h).zip(hex_value(*l)).map(|(h, l)| (h << 4) | l),
            _ => None,
        };
        let consumed = if let Some(v) = escaped {
            out.marks.push(out.bytes.len() as u32);
            out.bytes.push(v);
            3
        } else {
            // Copy up to the next '%' (at least one byte).
            let n = rest.iter().skip(1).position(|&b| b == b'%').map_or(rest.len(), |p| p + 1);
            out.bytes.extend_from_slice(rest.get(..n).unwrap_or_default());
            n
        };
        rest = rest.get(consumed..).unwrap_or_default();
    }
    (!out.marks.is_empty()).then_some(out)
}

/// The labels of a DNS name joined without their dots, so that a digest split over two labels
/// (a SHA-256 hex is 64 characters, a label at most 63, RFC 1035 §2.3.4) reads whole. `None`
/// when there is no dot.
pub(super) fn strip_dots(src: &[u8]) -> Option<Layer> {
    if !src.contains(&b'.') {
        return None;
    }
    let mut out = Layer { bytes: Vec::with_capacity(src.len()), parent: None, edit: Edit::Dots, marks: Vec::new() };
    for &b in src {
        if b == b'.' {
            out.marks.push(out.bytes.len() as u32);
        } else {
            out.bytes.push(b);
        }
    }
    Some(out)
}

/// Base64 tokens shorter than this are not decoded (§5: tokens ≥ 16 characters).
pub(super) const MIN_TOKEN_LEN: usize = 16;

/// Calls `f(start, end, url_safe)` for every maximal run of base64 characters (`A-Z a-z 0-9 + -
/// _`, and `/` from `slash_from` on) at least [`MIN_TOKEN_LEN`] long. Everything else separates
/// tokens: `/ ? & = ; , | . :` and the rest (§5 "split path on / and query on & = | , ;").
/// `slash_from` is where `/` stops separating: the query part of a request target (a standard
/// base64 value holds `/`), 0 for a cookie, never for a DNS name.
pub(super) fn tokens(bytes: &[u8], slash_from: usize, mut f: impl FnMut(usize, usize, bool)) {
    let mut start = 0;
    let mut url_safe = false;
    for (i, &b) in bytes.iter().enumerate() {
        let class = token_class(b);
        if class != 0 || (b == b'/' && i >= slash_from) {
            url_safe |= class == 2;
        } else {
            if i - start >= MIN_TOKEN_LEN {
                f(start, i, url_safe);
            }
            start = i + 1;
            url_safe = false;
        }
    }
    if bytes.len().saturating_sub(start) >= MIN_TOKEN_LEN {
        f(start, bytes.len(), url_safe);
    }
}

/// 1: base64 character of both alphabets or `+`; 2: `-` or `_` (URL-safe alphabet only); 0: other.
fn token_class(c: u8) -> u8 {
    if c.is_ascii_alphanumeric() || c == b'+' {
        1
    } else if c == b'-' || c == b'_' {
        2
    } else {
        0
    }
}

fn sextet(b: u8) -> Option<u32> {
    let v = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes a base64 token of either alphabet, unpadded (RFC 4648 §3.2 allows it when the length
/// is known), into `out` (cleared first). A final lone character (length ≡ 1 mod 4) is ignored.
/// `false` when a byte is outside both alphabets.
pub(super) fn base64_decode(token: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    let mut acc: u32 = 0;
    let mut bits = 0;
    let usable = if token.len() % 4 == 1 { token.len() - 1 } else { token.len() };
    for &c in token.iter().take(usable) {
        let Some(v) = sextet(c) else {
            return false;
        };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::unwrap_used)]
    use super::*;

    #[test]
    fn percent_decoding_maps_back_to_parent_bytes() {
        let raw = b"a%2540b%zz%4";
        let l1 = percent_decode(raw, None).unwrap();
        assert_eq!(l1.bytes, b"a%40b%zz%4");
        assert_eq!(l1.parent_span(1, 4), (1, 6)); // "%40" came from "%2540"
        assert_eq!(l1.parent_span(4, 5), (6, 7));
        assert!(l1.unchanged(5, 9) && !l1.unchanged(2, 3) && !l1.unchanged(0, 1));
        let l2 = percent_decode(&l1.bytes, Some(0)).unwrap();
        assert_eq!((l2.bytes.as_slice(), l2.parent), (&b"a@b%zz%4"[..], Some(0)));
        assert_eq!(l2.parent_span(1, 2), (1, 4));
        assert_eq!(l2.parent_span(0, 3), (0, 5));
        assert!(percent_decode(&l2.bytes, Some(1)).is_none());
        assert!(percent_decode(b"plain+text%", None).is_none());
    }

    #[test]
    fn tokens_split_on_separators_and_slash_only_in_the_path() {
        let target = b"/o/eyJhIjoiYmJiYmJiYmJiYiJ9/x?t=ab+cd/efghijklmnopqr&u=short";
        let q = target.iter().position(|&b| b == b'?').unwrap();
        let mut found = Vec::new();
        tokens(target, q, |s, e, url| found.push((std::str::from_utf8(&target[s..e]).unwrap().to_owned(), url)));
        assert_eq!(found, [("eyJhIjoiYmJiYmJiYmJiYiJ9".to_owned(), false), ("ab+cd/efghijklmnopqr".to_owned(), false)]);
        let mut dns = Vec::new();
        tokens(b"bXllbWFpbGFkZHJlc3M_x.tracker.example", usize::MAX, |s, e, url| dns.push((s, e, url)));
        assert_eq!(dns, [(0, 21, true)]);
    }

    #[test]
    fn base64_decoding_accepts_both_alphabets_unpadded() {
        let mut out = Vec::new();
        assert!(base64_decode(b"Zm9vYmFy", &mut out));
        assert_eq!(out, b"foobar");
        assert!(base64_decode(b"Zm9vYg", &mut out));
        assert_eq!(out, b"foob");
        assert!(base64_decode(b"-_8", &mut out));
        assert_eq!(out, [0xfb, 0xff]);
        assert!(base64_decode(b"+/8", &mut out));
        assert_eq!(out, [0xfb, 0xff]);
        assert!(base64_decode(b"Zm9vY", &mut out)); // lone final character ignored
        assert_eq!(out, b"foo");
        assert!(!base64_decode(b"Zm9v.mFy", &mut out));
        let dots = strip_dots(b"ab.cd..e").unwrap();
        assert_eq!(dots.bytes, b"abcde");
        assert_eq!(dots.parent_span(1, 3), (1, 4));
        assert_eq!(dots.parent_span(0, 5), (0, 8));
        assert_eq!(dots.parent_span(4, 5), (7, 8));
        assert!(strip_dots(b"abc").is_none());
    }
}

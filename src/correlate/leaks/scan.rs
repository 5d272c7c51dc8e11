//! The search itself: decoding layers, automaton matches confirmed and mapped back to raw bytes,
//! depth-aware deduplication, and redaction.
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::borrow::Cow;

use aho_corasick::AhoCorasick;

use super::layers::{self, Layer};
use super::{AddressSet, Encoding, Field, Leak, MAX_FIELD_LEN, Variant};

/// Percent-decoding rounds after the raw layer (§5: "up to 3 times, stop when unchanged").
const PERCENT_ROUNDS: usize = 3;

/// Matches kept per call; past this a scan still reports what it found, and [`AddressSet::redact`]
/// replaces the whole string. Only a field stuffed with watched forms gets there.
const MAX_HITS: usize = 16 * 1024;

/// Depth added to matches found inside decoded base64 tokens: they rank after every direct match.
const TOKEN_DEPTH: u8 = 8;

/// Where `/` stops separating base64 tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slash {
    /// After the first `?` of the layer (a request target or a Referer URL).
    AfterQuery,
    /// Everywhere (cookie values).
    Never,
    /// Never part of a token (DNS names).
    Always,
}

/// Which layers a field gets.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mode {
    percent: bool,
    dots: bool,
    slash: Slash,
    /// Plain and percent-encoded forms must be whole addresses (`xme@a.com` is someone else).
    /// Redaction drops this: the watched text is hidden even inside a longer address, and a
    /// neighbour that redaction replaces cannot make it whole.
    boundary: bool,
}

impl Mode {
    pub const URL: Mode = Mode { percent: true, dots: false, slash: Slash::AfterQuery, boundary: true };
    pub const COOKIE: Mode = Mode { percent: true, dots: false, slash: Slash::Never, boundary: true };
    pub const DNS: Mode = Mode { percent: false, dots: true, slash: Slash::Always, boundary: true };
    /// Everything: what we print may be a path or a DNS name.
    const REDACT: Mode = Mode { percent: true, dots: true, slash: Slash::AfterQuery, boundary: false };
}

/// A confirmed match: raw byte range `start..end` of the field, and how deep it was found
/// (0 raw, 1–3 percent-decoded, 4 DNS labels joined, 8+ inside a base64 token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Hit {
    address: u32,
    encoding: Encoding,
    start: u32,
    end: u32,
    depth: u8,
    /// Found only in a percent-decoded layer: redaction takes the whole value around it.
    percent: bool,
}

/// The raw range of `start..end` of layer `layer` (`None`: the raw input), through its parents.
fn raw_span(layers: &[Layer], mut layer: Option<usize>, mut start: usize, mut end: usize) -> (u32, u32) {
    while let Some(l) = layer.and_then(|i| layers.get(i)) {
        (start, end) = l.parent_span(start, end);
        layer = l.parent;
    }
    (start as u32, end as u32)
}

impl Variant {
    fn accepts(&self, hay: &[u8], start: usize, end: usize, boundary: bool) -> bool {
        if let Some(exact) = &self.exact
            && hay.get(start..end) != Some(&exact[..])
        {
            return false;
        }
        !(boundary && self.boundary) || at_address_boundary(hay, start, end)
    }
}

/// Bytes that end a query value or a path segment (RFC 3986 §3.3, §3.4 and common practice).
fn value_delimiter(b: u8) -> bool {
    matches!(b, b'&' | b'?' | b'=' | b';' | b'/' | b'#' | b',' | b'|' | b'"' | b' ' | b'\t')
}

/// A byte that would extend an address on its left (`x` in `xme@a.com`).
fn continues_address(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-') || b >= 0x80
}

/// `start..end` is a whole address: not preceded by an address character (unless it ends a
/// `%XX` escape), not followed by a letter, digit, `-`, `_`, or a `.` and a letter or digit
/// (`me@a.com.evil.net`, `me@a.community` are other addresses).
fn at_address_boundary(hay: &[u8], start: usize, end: usize) -> bool {
    let before = match start.checked_sub(1).and_then(|i| hay.get(i)) {
        None => true,
        Some(&b) => {
            !continues_address(b)
                || (start >= 3
                    && hay.get(start - 3) == Some(&b'%')
                    && hay.get(start - 2..start).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)))
        }
    };
    let word = |c: u8| c.is_ascii_alphanumeric() || c >= 0x80;
    let after = match hay.get(end) {
        None => true,
        Some(b'.') => !hay.get(end + 1).is_some_and(|&c| word(c)),
        Some(&b) => !(word(b) || b == b'-' || b == b'_'),
    };
    before && after
}

impl AddressSet {
    fn variants_of(&self, pattern: usize) -> &[Variant] {
        self.ranges.get(pattern).and_then(|&(s, e)| self.variants.get(s as usize..e as usize)).unwrap_or_default()
    }

    /// Confirmed matches in `view`; token matches get the token's whole raw span.
    fn search(
        &self,
        automaton: &AhoCorasick,
        hay: &[u8],
        span: impl Fn(usize, usize) -> (u32, u32),
        (depth, percent, boundary): (u8, bool, bool),
        relabel: impl Fn(Encoding) -> Encoding,
        hits: &mut Vec<Hit>,
    ) {
        for m in automaton.find_overlapping_iter(hay) {
            let (start, end) = (m.start(), m.end());
            for v in self.variants_of(m.pattern().as_usize()) {
                if hits.len() >= MAX_HITS {
                    return;
                }
                if v.accepts(hay, start, end, boundary) {
                    let (s, e) = span(start, end);
                    let encoding = relabel(v.encoding);
                    hits.push(Hit { address: v.address, encoding, start: s, end: e, depth, percent });
                }
            }
        }
    }

    /// Every confirmed match in `input` (its first [`MAX_FIELD_LEN`] bytes), shallowest first.
    pub(super) fn collect(&self, input: &[u8], mode: Mode, hits: &mut Vec<Hit>) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        let input = input.get(..MAX_FIELD_LEN).unwrap_or(input);
        let mut decoded: Vec<Layer> = Vec::new();
        if mode.percent {
            for _ in 0..PERCENT_ROUNDS {
                let parent = decoded.len().checked_sub(1);
                let src = parent.and_then(|p| decoded.get(p)).map_or(input, |l| &l.bytes[..]);
                match layers::percent_decode(src, parent) {
                    Some(l) => decoded.push(l),
                    None => break,
                }
            }
        }
        let percent_layers = decoded.len();
        if mode.dots
            && let Some(l) = layers::strip_dots(input)
        {
            decoded.push(l);
        }
        // (layer index, bytes): the raw input first, then the decoded layers in order.
        let views =
            std::iter::once((None, input)).chain(decoded.iter().enumerate().map(|(i, l)| (Some(i), &l.bytes[..])));
        for (depth, (layer, bytes)) in views.clone().enumerate() {
            let span = |s, e| raw_span(&decoded, layer, s, e);
            let percent = layer.is_some_and(|i| i < percent_layers);
            self.search(automaton, bytes, span, (depth as u8, percent, mode.boundary), |e| e, hits);
        }
        // Base64 tokens of the raw and percent-decoded layers; a token copied unchanged from the
        // layer above was decoded there already.
        let mut scratch = Vec::new();
        for (depth, (layer, bytes)) in views.take(percent_layers + 1).enumerate() {
            let slash_from = match mode.slash {
                Slash::AfterQuery => bytes.iter().position(|&b| b == b'?').unwrap_or(usize::MAX),
                Slash::Never => 0,
                Slash::Always => usize::MAX,
            };
            let this = layer.and_then(|i| decoded.get(i));
            layers::tokens(bytes, slash_from, |start, end, url_safe| {
                let token = bytes.get(start..end).unwrap_or_default();
                if this.is_some_and(|l| l.unchanged(start, end) && !token.contains(&b'/')) {
                    return;
                }
                if layers::base64_decode(token, &mut scratch) {
                    let raw = raw_span(&decoded, layer, start, end);
                    let depth = TOKEN_DEPTH + depth as u8;
                    let relabel = |e: Encoding| e.inside_base64(url_safe);
                    self.search(automaton, &scratch, |_, _| raw, (depth, false, mode.boundary), relabel, hits);
                }
            });
        }
    }

    /// Adds to `leaks` one entry per (address, encoding) of `input` not yet in it for `field`. A
    /// match overlapping a shallower match of the same address is the same bytes decoded further,
    /// and is dropped.
    pub(super) fn scan_field(&self, input: &[u8], mode: Mode, field: Field, leaks: &mut Vec<Leak>) {
        let mut hits = Vec::new();
        self.collect(input, mode, &mut hits);
        if hits.is_empty() {
            return;
        }
        // Hits are in depth order. `covered`: merged raw spans of shallower depths, per address.
        let mut covered: Vec<(u32, u32, u32)> = Vec::new();
        let mut group_start = 0;
        while let Some(first) = hits.get(group_start) {
            let depth = first.depth;
            let group_end =
                hits.iter().skip(group_start).position(|h| h.depth != depth).map_or(hits.len(), |n| group_start + n);
            let group = hits.get(group_start..group_end).unwrap_or_default();
            for h in group {
                let i = covered.partition_point(|&(a, s, _)| (a, s) < (h.address, h.end));
                let shadowed = i
                    .checked_sub(1)
                    .and_then(|j| covered.get(j))
                    .is_some_and(|&(a, _, e)| a == h.address && e > h.start);
                let leak = Leak { address_index: h.address as usize, encoding: h.encoding, field };
                if !shadowed && !leaks.contains(&leak) {
                    leaks.push(leak);
                }
            }
            covered.extend(group.iter().map(|h| (h.address, h.start, h.end)));
            covered.sort_unstable();
            covered.dedup_by(|next, prev| {
                // Merge `next` into `prev` when they overlap (same address).
                if next.0 == prev.0 && next.1 < prev.2 {
                    prev.2 = prev.2.max(next.2);
                    true
                } else {
                    false
                }
            });
            group_start = group_end;
        }
    }

    /// `s` with every watched form it holds (raw, percent-decoded, DNS labels joined, or inside a
    /// base64 token) replaced by `[redacted:ENCODING]`; borrowed when there is none. A form seen
    /// only once percent-decoded takes the whole value around it (up to `& ? = ; / # , |`), as a
    /// base64 token is replaced whole. Input past
    /// [`MAX_FIELD_LEN`] bytes is dropped and replaced by `[truncated]`; a string holding more than
    /// 16,384 matches becomes `[redacted]`.
    pub fn redact<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if self.automaton.is_none() {
            return Cow::Borrowed(s);
        }
        let mut hits = Vec::new();
        self.collect(s.as_bytes(), Mode::REDACT, &mut hits);
        let truncated = s.len() > MAX_FIELD_LEN;
        if hits.is_empty() && !truncated {
            return Cow::Borrowed(s);
        }
        if hits.len() >= MAX_HITS {
            return Cow::Borrowed("[redacted]");
        }
        // Merge overlapping spans; each keeps the label of its shallowest match.
        hits.sort_unstable_by_key(|h| (h.start, h.depth, h.end));
        let bytes = s.as_bytes().get(..MAX_FIELD_LEN).unwrap_or(s.as_bytes());
        let mut out: Vec<u8> = Vec::with_capacity(bytes.len() + 32);
        let mut pos = 0usize;
        let mut iter = hits.iter().peekable();
        while let Some(h) = iter.next() {
            let (mut start, mut end, mut best) = (h.start as usize, h.end as usize, *h);
            let mut percent = h.percent;
            while let Some(next) = iter.next_if(|n| (n.start as usize) < end) {
                end = end.max(next.end as usize);
                percent |= next.percent;
                if next.depth < best.depth {
                    best = *next;
                }
            }
            if percent {
                // Each side scans bytes no other group scans (between `pos` and the next
                // group): linear overall.
                while start > pos && bytes.get(start - 1).is_some_and(|&b| !value_delimiter(b)) {
                    start -= 1;
                }
                while bytes.get(end).is_some_and(|&b| !value_delimiter(b)) {
                    end += 1;
                }
                while let Some(next) = iter.next_if(|n| (n.start as usize) < end) {
                    end = end.max(next.end as usize);
                }
            }
            let start = start.max(pos);
            out.extend_from_slice(bytes.get(pos..start).unwrap_or_default());
            out.extend_from_slice(b"[redacted:");
            out.extend_from_slice(best.encoding.as_str().as_bytes());
            out.push(b']');
            pos = end.max(pos);
        }
        out.extend_from_slice(bytes.get(pos..).unwrap_or_default());
        if truncated {
            out.extend_from_slice(b"[truncated]");
        }
        Cow::Owned(String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }
}

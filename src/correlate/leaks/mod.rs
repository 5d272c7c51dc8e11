//! Address-leak detection: finds the user's own e-mail addresses, in any of the forms trackers use
//! (PRODUCT.md "Address leaks"; research/email-tracking.md §5), in plain-HTTP request targets,
//! Referer and Cookie headers and DNS query names, and redacts them from anything we print.
//!
//! One Aho-Corasick automaton (ASCII case-insensitive) holds every needle of every address; forms
//! whose case matters (base64) are confirmed byte for byte after a match. A field is scanned raw,
//! then percent-decoded up to 3 times, then every base64 token of 16+ characters of each layer is
//! decoded once and scanned. Each match maps back to the raw bytes it came from, which gives
//! redaction, and lets a form found in a shallower layer win over the same bytes decoded further
//! (`me%40x.com` is `urlencoded`, not also `plain`). Work is linear in the field, capped at
//! [`MAX_FIELD_LEN`] bytes.

mod encoding;
mod forms;
mod layers;
mod scan;
pub mod watch;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;

use std::fmt;

use aho_corasick::{AhoCorasick, MatchKind};

pub use encoding::{Encoding, HashAlg, NestedHash};
pub use forms::MIN_NEEDLE_LEN;
pub use watch::{AddressLeak, LeakWatch, parse_address_file};

/// Bytes of one field that are scanned (an HTTP request head is at most 16 KiB, see
/// `extract::http::MAX_HEAD_LEN`; a DNS name at most 1,020 in presentation form).
pub const MAX_FIELD_LEN: usize = 16 * 1024;

/// Most addresses one set watches (each costs a few hundred needles).
pub const MAX_ADDRESSES: usize = 1024;

/// Why a list of addresses was refused. Messages never hold an address, not even a refused one
/// (a typo of the real address is nearly as revealing): they name its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeakError {
    /// The address at this index (from 0) of the slice given to [`AddressSet::new`].
    #[error("watched address #{} is not an e-mail address (expected local@domain.tld)", .0 + 1)]
    NotAnAddress(usize),
    #[error("too many watched addresses: {count} (at most {max})")]
    TooMany { count: usize, max: usize },
    #[error("cannot build the address matcher: {0}")]
    Build(String),
}

/// Where a form was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// The HTTP request target (RFC 9112 §3.2).
    Path,
    /// The Referer header (RFC 9110 §10.1.3).
    Referer,
    /// The Cookie header (RFC 6265 §5.4).
    Cookie,
    /// A DNS query name (RFC 1035 §4.1.2).
    DnsName,
}

impl Field {
    /// A short name for tests and debugging: `path`, `referer`, `cookie`, `dns`.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Path => "path",
            Field::Referer => "referer",
            Field::Cookie => "cookie",
            Field::DnsName => "dns",
        }
    }

    /// The `field` of `address_leak` events and of the summary: `http-path`, `http-referer`,
    /// `http-cookie` for plain HTTP, `https-…` for requests decrypted with a TLS key log,
    /// `dns-name` for DNS query names.
    pub fn label(self, decrypted: bool) -> &'static str {
        match (self, decrypted) {
            (Field::Path, false) => "http-path",
            (Field::Path, true) => "https-path",
            (Field::Referer, false) => "http-referer",
            (Field::Referer, true) => "https-referer",
            (Field::Cookie, false) => "http-cookie",
            (Field::Cookie, true) => "https-cookie",
            (Field::DnsName, _) => "dns-name",
        }
    }

    /// Every `label` value.
    pub const LABELS: [&'static str; 7] =
        ["http-path", "https-path", "http-referer", "https-referer", "http-cookie", "https-cookie", "dns-name"];
}

/// One watched address found in one field, in one form. A scan returns at most one `Leak` per
/// (address, encoding, field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Leak {
    /// Index into the slice given to [`AddressSet::new`].
    pub address_index: usize,
    pub encoding: Encoding,
    pub field: Field,
}

/// One way a pattern of the automaton can be a watched form.
struct Variant {
    address: u32,
    encoding: Encoding,
    /// Bytes that must match exactly (base64); `None`: ASCII case does not matter.
    exact: Option<Box<[u8]>>,
    /// The match must not be part of a longer address.
    boundary: bool,
}

/// The watched addresses and their precomputed forms. Cheap to share (`Arc`); scans take `&self`.
pub struct AddressSet {
    addresses: usize,
    automaton: Option<AhoCorasick>,
    /// `variants[ranges[p].0 .. ranges[p].1]` are the variants of pattern `p`.
    ranges: Vec<(u32, u32)>,
    variants: Vec<Variant>,
}

impl AddressSet {
    /// Validates every address (trimmed, `local@domain.tld`) and precomputes its forms. An empty
    /// slice gives a set that never matches.
    pub fn new(addresses: &[String]) -> Result<AddressSet, LeakError> {
        if addresses.len() > MAX_ADDRESSES {
            return Err(LeakError::TooMany { count: addresses.len(), max: MAX_ADDRESSES });
        }
        if let Some(bad) = addresses.iter().position(|a| !forms::looks_like_address(a)) {
            return Err(LeakError::NotAnAddress(bad));
        }
        // Patterns keyed by their ASCII-lower-cased bytes, in first-seen order (deterministic).
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut index: std::collections::HashMap<Vec<u8>, usize> = std::collections::HashMap::new();
        let mut grouped: Vec<Vec<Variant>> = Vec::new();
        for (address, text) in addresses.iter().enumerate() {
            for form in forms::forms(text) {
                let key = form.bytes.to_ascii_lowercase();
                let p = *index.entry(key.clone()).or_insert_with(|| {
                    keys.push(key);
                    grouped.push(Vec::new());
                    grouped.len() - 1
                });
                let exact = (!form.case_insensitive).then(|| form.bytes.into_boxed_slice());
                let Some(group) = grouped.get_mut(p) else { continue };
                // An earlier variant of the same address that accepts at least these bytes wins
                // (so identical standard/URL-safe base64 strings keep the `base64` label).
                let covered =
                    group.iter().any(|v| v.address as usize == address && (v.exact.is_none() || v.exact == exact));
                if !covered {
                    group.push(Variant {
                        address: address as u32,
                        encoding: form.encoding,
                        exact,
                        boundary: form.boundary,
                    });
                }
            }
        }
        let automaton = if keys.is_empty() {
            None
        } else {
            // A contiguous NFA: about 1/10 of a DFA's memory for these ~300 needles per address
            // (a DFA took 9 MiB for two addresses, a lot on a small gateway), and only names and
            // request targets are scanned, so its lower speed per byte hardly shows.
            let built = AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                .prefilter(false)
                .build(&keys)
                .map_err(|e| LeakError::Build(e.to_string()))?;
            Some(built)
        };
        let mut ranges = Vec::with_capacity(grouped.len());
        let mut variants = Vec::new();
        for group in grouped {
            let start = variants.len() as u32;
            variants.extend(group);
            ranges.push((start, variants.len() as u32));
        }
        Ok(AddressSet { addresses: addresses.len(), automaton, ranges, variants })
    }

    /// Number of watched addresses.
    pub fn len(&self) -> usize {
        self.addresses
    }

    pub fn is_empty(&self) -> bool {
        self.addresses == 0
    }

    /// Heap bytes of the automaton.
    pub fn automaton_bytes(&self) -> usize {
        self.automaton.as_ref().map_or(0, AhoCorasick::memory_usage)
    }

    /// Number of distinct strings the automaton searches for.
    pub fn needles(&self) -> usize {
        self.ranges.len()
    }

    /// Watched forms in an HTTP request: the request target (`Field::Path`), the Referer and the
    /// Cookie header values. Each field is read up to [`MAX_FIELD_LEN`] bytes.
    pub fn scan_http(&self, target: &[u8], referer: Option<&[u8]>, cookie: Option<&[u8]>) -> Vec<Leak> {
        let mut leaks = Vec::new();
        self.scan_field(target, scan::Mode::URL, Field::Path, &mut leaks);
        if let Some(referer) = referer {
            self.scan_field(referer, scan::Mode::URL, Field::Referer, &mut leaks);
        }
        if let Some(cookie) = cookie {
            self.scan_field(cookie, scan::Mode::COOKIE, Field::Cookie, &mut leaks);
        }
        leaks
    }

    /// Watched forms in a DNS query name (presentation form): hex digests in labels, also split
    /// over two labels (`84059b07…a2.3f18…ee.t.example`), base64url tokens in labels.
    pub fn scan_dns_name(&self, name: &str) -> Vec<Leak> {
        let mut leaks = Vec::new();
        self.scan_field(name.as_bytes(), scan::Mode::DNS, Field::DnsName, &mut leaks);
        leaks
    }
}

/// Every precomputed form of `address` (its bytes, and whether ASCII letter case is ignored
/// when matching it), for tests that check that no output holds one.
#[doc(hidden)]
pub fn precomputed_forms(address: &str) -> Vec<(Vec<u8>, bool)> {
    forms::forms(address).into_iter().map(|f| (f.bytes, f.case_insensitive)).collect()
}

impl fmt::Debug for AddressSet {
    /// Counts only: never an address or a form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddressSet")
            .field("addresses", &self.addresses)
            .field("needles", &self.ranges.len())
            .field("variants", &self.variants.len())
            .finish()
    }
}

//! Tracker knowledge: list formats, the embedded default list, the suffix matcher, and list reload.
//!
//! Sees only names. A name matches the entry with the longest suffix that ends on a label boundary,
//! case-insensitively, trailing dot ignored: `x.weborama.fr` matches `weborama.fr`,
//! `notweborama.fr` does not.
//!
//! ```
//! use pixelwatch::trackers::TrackerDb;
//! let db = TrackerDb::builder().embedded().unwrap().build();
//! let e = db.lookup("bouyguestelecom.solution.weborama.fr").unwrap();
//! assert_eq!(&*e.company, "Weborama");
//! assert!(db.lookup("notweborama.fr").is_none());
//! ```

mod builder;
mod disconnect;
mod formats;
mod index;
mod name;
pub mod paths;
mod reload;
mod shared;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod tests_disconnect;
#[cfg(test)]
mod tests_embedded;
#[cfg(test)]
mod tests_formats;
#[cfg(test)]
mod tests_match;
#[cfg(test)]
mod tests_reload;

use std::sync::Arc;

pub use builder::{Builder, ListError, ListSpec};
pub use disconnect::map_category as disconnect_category;
pub use formats::{Format, Ignored, detect};
pub use name::{NameError, canonical_name};
pub use reload::{DEBOUNCE, LoadFn, Reload, ReloadRequester, Reloader, ReportFn, Trigger, check_reload};
pub use shared::{SharedTrackers, TrackerView};

use crate::model::Category;

/// The embedded default list (see the header of the file for its format and curation rules).
pub const DEFAULT_LIST: &str = include_str!("default-list.tsv");

/// Longest name [`TrackerDb::lookup`] considers (RFC 1035 §2.3.4: 255 octets); longer names never match.
pub const MAX_LOOKUP_LEN: usize = 255;

/// One list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Lower-case suffix without trailing dot, e.g. `solution.weborama.fr`.
    pub suffix: Arc<str>,
    pub company: Arc<str>,
    pub category: Category,
    /// Where the fact comes from (embedded list) or `file:line` (user lists).
    pub source: Arc<str>,
    /// Index of the list it came from in [`TrackerDb::lists`].
    pub list: usize,
    /// Pixel path rules (TSV fifth column): used only when a request's path is visible.
    pub paths: Option<Arc<[paths::PathRule]>>,
}

impl Entry {
    /// An open pixel or a click redirect, by the path rules of this entry (None without rules or
    /// when no rule matches). Evaluated only for HTTP requests (plain or decrypted).
    pub fn pixel(&self, target: &str) -> Option<paths::Pixel> {
        self.paths.as_deref().and_then(|rules| paths::classify(rules, target))
    }
}

/// A line of a list file that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub line: usize,
    pub reason: String,
}

/// An entry of a later list that replaced the entry of an earlier list with the same suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub suffix: Arc<str>,
    /// Line of the overriding entry in this list.
    pub line: usize,
    /// Index in [`TrackerDb::lists`] of the list whose entry was replaced.
    pub replaced_list: usize,
}

/// One loaded list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListInfo {
    /// `embedded` or the file path as given.
    pub name: String,
    /// `tsv`, `hosts`, `adblock`, `domains`, `disconnect`.
    pub format: &'static str,
    /// Entries loaded from this list (including those later lists overrode).
    pub entries: usize,
    /// Malformed lines, in file order; at most [`Builder::MAX_SKIPPED_KEPT`] are kept.
    pub skipped: Vec<Skipped>,
    /// Number of malformed lines (may exceed `skipped.len()`).
    pub skipped_total: usize,
    /// Lines deliberately not loaded (comments and blank lines are not counted).
    pub ignored: Ignored,
    /// Entries of this list that replaced entries of earlier lists.
    pub overrides: Vec<Override>,
    /// Entries of this list replaced by later lists.
    pub overridden: usize,
    /// Category given to the entries of a hosts/adblock/domains list (TSV rows and Disconnect
    /// entities carry their own).
    pub category: Option<Category>,
    /// A syntax error cut the list short: what came after it was not loaded (Disconnect JSON).
    pub truncated: bool,
}

/// All loaded lists and the matcher over their entries.
#[derive(Debug, Clone, Default)]
pub struct TrackerDb {
    lists: Vec<ListInfo>,
    entries: Vec<Entry>,
    /// Suffix → index in `entries`.
    index: index::SuffixIndex,
    /// Most and fewest labels in any suffix: other candidate suffixes are not looked up.
    max_labels: usize,
    min_labels: usize,
}

impl TrackerDb {
    /// An empty database (`--no-default-list` and no `--list`).
    pub fn empty() -> TrackerDb {
        TrackerDb::default()
    }

    /// Starts a database: add lists in order (later lists override earlier ones), then `build()`.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The embedded default list alone.
    pub fn embedded() -> TrackerDb {
        Builder::new().add_embedded().build()
    }

    /// The entry matching `name`, if any: the longest suffix of `name` that ends on a label
    /// boundary, compared case-insensitively, one trailing dot ignored. No allocation.
    pub fn lookup(&self, name: &str) -> Option<&Entry> {
        self.lookup_bytes(name.as_bytes())
    }

    /// [`lookup`](Self::lookup) for a raw name, e.g. DNS label bytes joined with dots. Non-ASCII
    /// bytes never match, but a suffix after them still can.
    pub fn lookup_bytes(&self, name: &[u8]) -> Option<&Entry> {
        let name = name.strip_suffix(b".").unwrap_or(name);
        if name.is_empty() || name.len() > MAX_LOOKUP_LEN || self.index.is_empty() {
            return None;
        }
        // Fast path: names on the wire are almost always lower-case ASCII already.
        let odd = name.iter().fold(0u8, |acc, &b| acc | (b & 0x80) | u8::from(b.is_ascii_uppercase()));
        if odd == 0 {
            return self.longest_suffix(name);
        }
        let mut buf = [0u8; MAX_LOOKUP_LEN];
        let lowered = buf.get_mut(..name.len())?;
        lowered.copy_from_slice(name);
        lowered.make_ascii_lowercase();
        // List suffixes are ASCII: a candidate starts on a label boundary after the last
        // non-ASCII byte.
        match lowered.iter().rposition(|b| !b.is_ascii()) {
            None => self.longest_suffix(lowered),
            Some(p) => {
                let tail = lowered.get(p + 1..)?;
                let dot = tail.iter().position(|&b| b == b'.')?;
                self.longest_suffix(tail.get(dot + 1..)?)
            }
        }
    }

    /// The entry of the longest label-boundary suffix of `name` (lower-case ASCII), trying only
    /// candidates whose label count some entry has.
    fn longest_suffix(&self, mut name: &[u8]) -> Option<&Entry> {
        let mut labels = name.iter().filter(|&&b| b == b'.').count() + 1;
        while labels >= self.min_labels {
            if labels <= self.max_labels
                && let Some(i) = self.index.get(name)
            {
                return self.entries.get(i);
            }
            let dot = name.iter().position(|&b| b == b'.')?;
            name = name.get(dot + 1..)?;
            labels -= 1;
        }
        None
    }

    pub fn lists(&self) -> &[ListInfo] {
        &self.lists
    }

    /// The entries in force, in load order; an overriding entry takes the place of the one it
    /// replaced.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The list an entry came from.
    pub fn list_of(&self, entry: &Entry) -> Option<&ListInfo> {
        self.lists.get(entry.list)
    }

    /// Approximate heap bytes held by the entries and the index (allocator overhead excluded).
    pub fn heap_bytes(&self) -> usize {
        let entry_vec = self.entries.capacity() * std::mem::size_of::<Entry>();
        let index = self.index.heap_bytes();
        let mut strings = 0;
        let mut last_company: *const u8 = std::ptr::null();
        for e in &self.entries {
            strings += e.suffix.len() + e.source.len() + 2 * 2 * std::mem::size_of::<usize>();
            if e.company.as_ptr() != last_company {
                strings += e.company.len();
                last_company = e.company.as_ptr();
            }
        }
        entry_vec + index + strings
    }
}

//! Tracker knowledge: list formats, the embedded default list, and the suffix matcher.
//!
//! Sees only names. A name matches the entry with the longest suffix that ends on a label boundary,
//! case-insensitively, trailing dot ignored: `x.weborama.fr` matches `weborama.fr`,
//! `notweborama.fr` does not.

use std::sync::Arc;

use crate::model::Category;

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
}

/// A line of a list file that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub line: usize,
    pub reason: String,
}

/// One loaded list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListInfo {
    /// `embedded` or the file path as given.
    pub name: String,
    /// `tsv`, `hosts`, `adblock`, `domains`.
    pub format: &'static str,
    pub entries: usize,
    pub skipped: Vec<Skipped>,
}

/// All loaded lists and the matcher over their entries.
#[derive(Debug, Default)]
pub struct TrackerDb {
    lists: Vec<ListInfo>,
    entries: Vec<Entry>,
}

impl TrackerDb {
    /// An empty database (`--no-default-list` and no `--list`).
    pub fn empty() -> TrackerDb {
        TrackerDb::default()
    }

    /// The embedded default list (provisional).
    pub fn embedded() -> TrackerDb {
        TrackerDb::default()
    }

    /// The entry matching `name`, if any.
    pub fn lookup(&self, name: &str) -> Option<&Entry> {
        let _ = name;
        None
    }

    pub fn lists(&self) -> &[ListInfo] {
        &self.lists
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

/// Error loading a list (provisional).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ListError(pub String);

/// Loads the embedded list (when `with_default`) and the user's list files (provisional).
pub fn load(with_default: bool, specs: &[String]) -> Result<TrackerDb, ListError> {
    let _ = (with_default, specs);
    Ok(TrackerDb::empty())
}

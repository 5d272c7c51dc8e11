//! Building a [`TrackerDb`] from the embedded list and user list files, in order.
//!
//! Later lists override earlier ones entry by entry (same suffix); every override is recorded in
//! the overriding list's [`ListInfo::overrides`]. Malformed lines become [`Skipped`] records and the
//! rest of the list loads; only an unreadable file is an error.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;

use super::disconnect;
use super::formats::{self, Format, Found, Ignored};
use super::index::SuffixIndex;
use super::name::{canonical_name, label_count};
use super::{DEFAULT_LIST, Entry, ListInfo, Override, Skipped, TrackerDb};
use crate::model::Category;

/// A list to load: `[FORMAT:]PATH` plus optional overrides for non-TSV lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListSpec {
    /// File path; also the list's name in [`ListInfo::name`].
    pub path: String,
    /// Forced format; detected from the content when `None`.
    pub format: Option<Format>,
    /// Category of the entries of a hosts/adblock/domains list (default: advertising). TSV rows
    /// keep their own category.
    pub category: Option<Category>,
    /// Company of the entries of a hosts/adblock/domains list (default: the file stem).
    pub company: Option<String>,
}

impl ListSpec {
    /// Parses `FORMAT:PATH` (`tsv:`, `hosts:`, `adblock:`, `domains:`, `disconnect:`,
    /// case-insensitive) or a bare path. A prefix that is not a format name is part of the path.
    pub fn parse(spec: &str) -> ListSpec {
        if let Some((prefix, path)) = spec.split_once(':')
            && let Ok(format) = prefix.parse::<Format>()
        {
            return ListSpec { path: path.to_string(), format: Some(format), ..ListSpec::default() };
        }
        ListSpec { path: spec.to_string(), ..ListSpec::default() }
    }

    pub fn with_category(mut self, category: Category) -> ListSpec {
        self.category = Some(category);
        self
    }

    pub fn with_company(mut self, company: impl Into<String>) -> ListSpec {
        self.company = Some(company.into());
        self
    }

    /// Company for the entries of a non-TSV list: the override, else the file stem.
    fn default_company(&self) -> String {
        if let Some(c) = self.company.as_ref().filter(|c| !c.trim().is_empty()) {
            return c.trim().to_string();
        }
        let stem = Path::new(&self.path).file_stem().map(|s| s.to_string_lossy().into_owned());
        stem.filter(|s| !s.is_empty()).unwrap_or_else(|| self.path.clone())
    }
}

/// A list that could not be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: file larger than {max} bytes")]
    TooLarge { path: String, max: u64 },
    #[error("embedded list: {0} malformed lines")]
    Embedded(usize),
}

/// Adds lists in order, then [`build`](Builder::build)s the database.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    db: TrackerDb,
    /// Suffix → index in `db.entries`, to find the entry a later list overrides.
    index: HashMap<Key, u32, foldhash::fast::RandomState>,
}

/// A key of the build-time index: the entry's suffix, hashed and compared as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key(Arc<str>);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.as_bytes().hash(state);
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Builder {
    /// Malformed lines kept per list in [`ListInfo::skipped`]; the rest are only counted.
    pub const MAX_SKIPPED_KEPT: usize = 1000;
    /// Largest list file read.
    pub const MAX_FILE_BYTES: u64 = 512 << 20;

    pub fn new() -> Builder {
        Builder::default()
    }

    /// Adds the embedded default list. Fails only if a line of it is malformed (a build defect).
    pub fn embedded(self) -> Result<Builder, ListError> {
        let b = self.add_embedded();
        match b.db.lists.last().map_or(0, |l| l.skipped_total) {
            0 => Ok(b),
            n => Err(ListError::Embedded(n)),
        }
    }

    pub(crate) fn add_embedded(mut self) -> Builder {
        self.add_text("embedded", Format::Tsv, None, "embedded", DEFAULT_LIST.as_bytes(), true);
        self
    }

    /// Adds the list file named by `spec` (`[FORMAT:]PATH`, see [`ListSpec::parse`]).
    pub fn file(self, spec: &str) -> Result<Builder, ListError> {
        self.list(&ListSpec::parse(spec))
    }

    /// Adds a list file.
    pub fn list(self, spec: &ListSpec) -> Result<Builder, ListError> {
        let read_err = |source| ListError::Read { path: spec.path.clone(), source };
        let len = std::fs::metadata(&spec.path).map_err(read_err)?.len();
        if len > Self::MAX_FILE_BYTES {
            return Err(ListError::TooLarge { path: spec.path.clone(), max: Self::MAX_FILE_BYTES });
        }
        let data = std::fs::read(&spec.path).map_err(|source| ListError::Read { path: spec.path.clone(), source })?;
        Ok(self.bytes(spec, &data))
    }

    /// Adds a list from memory; `spec.path` names it.
    pub fn bytes(mut self, spec: &ListSpec, data: &[u8]) -> Builder {
        let format = spec.format.unwrap_or_else(|| formats::detect(data));
        let company = spec.default_company();
        if format == Format::Disconnect {
            self.add_disconnect(&spec.path, &company, data);
        } else {
            self.add_text(&spec.path, format, spec.category, &company, data, false);
        }
        self
    }

    pub fn build(self) -> TrackerDb {
        let mut db = self.db;
        let labels = db.entries.iter().map(|e| label_count(&e.suffix));
        db.max_labels = labels.clone().max().unwrap_or(0);
        db.min_labels = labels.min().unwrap_or(0);
        db.entries.shrink_to_fit();
        drop(self.index);
        db.index = SuffixIndex::build(db.entries.iter().map(|e| e.suffix.as_bytes()));
        db
    }

    /// Parses `data` line by line in `format`. For the embedded list the TSV source column is the
    /// entry's source; for user lists the source is `name:line`.
    fn add_text(
        &mut self,
        list_name: &str,
        format: Format,
        category: Option<Category>,
        company: &str,
        data: &[u8],
        embedded: bool,
    ) {
        let list_category = if format == Format::Tsv { None } else { Some(category.unwrap_or(Category::Advertising)) };
        let list = self.push_list(list_name, format, list_category);
        let list_company: Arc<str> = Arc::from(company);
        let list_category = category.unwrap_or(Category::Advertising);
        let mut companies: HashMap<&str, Arc<str>> = HashMap::new();
        let mut found = Vec::new();
        let mut lines = data.split(|&b| b == b'\n').enumerate().peekable();
        while let Some((i, raw)) = lines.next() {
            let line_no = i + 1;
            if raw.is_empty() && lines.peek().is_none() {
                break; // the empty piece after the final newline
            }
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let Ok(text) = std::str::from_utf8(raw) else {
                self.skip(list, line_no, "line is not valid UTF-8".to_string());
                continue;
            };
            let text = if line_no == 1 { text.trim_start_matches('\u{feff}') } else { text };
            found.clear();
            formats::parse_line(format, text, &mut |f| found.push(f));
            for f in found.drain(..) {
                match f {
                    Found::Malformed(reason) => self.skip(list, line_no, reason),
                    Found::Ignored(kind) => self.info_mut(list).ignored.count(kind),
                    Found::Entry { name: suffix, row } => {
                        // Checked by the TSV parser: a bad column is a malformed line.
                        let paths = row.and_then(|r| super::paths::parse_rules(r.paths).ok().flatten());
                        let (company, category, source) = match row {
                            Some(row) => {
                                let company =
                                    companies.entry(row.company).or_insert_with(|| Arc::from(row.company)).clone();
                                let source: Arc<str> = if embedded {
                                    Arc::from(row.source)
                                } else {
                                    Arc::from(format!("{list_name}:{line_no}"))
                                };
                                (company, row.category, source)
                            }
                            None => (list_company.clone(), list_category, Arc::from(format!("{list_name}:{line_no}"))),
                        };
                        let entry =
                            Entry { suffix: Arc::from(suffix.as_str()), company, category, source, list, paths };
                        self.insert(entry, line_no, format == Format::Tsv);
                    }
                }
            }
        }
    }

    /// Starts the record of a list; returns its index.
    fn push_list(&mut self, name: &str, format: Format, category: Option<Category>) -> usize {
        self.db.lists.push(ListInfo {
            name: name.to_string(),
            format: format.as_str(),
            entries: 0,
            skipped: Vec::new(),
            skipped_total: 0,
            ignored: Ignored::default(),
            overrides: Vec::new(),
            overridden: 0,
            category,
            truncated: false,
        });
        self.db.lists.len() - 1
    }

    /// Loads a Disconnect `services.json`: the entity is the company, the category is mapped
    /// ([`disconnect::map_category`]); a domain listed under several loaded categories keeps the
    /// one of lowest rank. Problems are reported in line order.
    fn add_disconnect(&mut self, list_name: &str, default_company: &str, data: &[u8]) {
        let list = self.push_list(list_name, Format::Disconnect, None);
        let parsed = disconnect::parse(data);
        let mut problems = parsed.problems;
        let default_company: Arc<str> = Arc::from(default_company);
        let mut items = parsed.items;
        items.sort_by_key(|i| i.mapped.map_or(u8::MAX, |(_, rank)| rank));
        for item in items {
            let Some((category, _)) = item.mapped else {
                let unmapped = &mut self.info_mut(list).ignored.unmapped_categories;
                *unmapped.entry(item.category.to_string()).or_default() += 1;
                continue;
            };
            match canonical_name(&item.domain) {
                Ok(name) => {
                    let company = if item.entity.is_empty() { default_company.clone() } else { item.entity };
                    let source = Arc::from(format!("{list_name}:{}", item.line));
                    let entry =
                        Entry { suffix: Arc::from(name.as_str()), company, category, source, list, paths: None };
                    self.insert(entry, item.line, false);
                }
                Err(e) => problems.push((item.line, format!("domain {:?} ({}): {e}", item.domain, item.entity))),
            }
        }
        problems.sort_by_key(|&(line, _)| line);
        for (line, reason) in problems {
            self.skip(list, line, reason);
        }
        self.info_mut(list).truncated = parsed.truncated;
    }

    fn info_mut(&mut self, list: usize) -> &mut ListInfo {
        &mut self.db.lists[list]
    }

    fn skip(&mut self, list: usize, line: usize, reason: String) {
        let info = self.info_mut(list);
        info.skipped_total += 1;
        if info.skipped.len() < Self::MAX_SKIPPED_KEPT {
            info.skipped.push(Skipped { line, reason });
        }
    }

    /// Inserts or overrides. A suffix repeated within one list keeps the first entry: reported as
    /// malformed for TSV lists (conflicting facts), counted as a duplicate otherwise.
    fn insert(&mut self, entry: Entry, line: usize, tsv: bool) {
        let list = entry.list;
        match self.index.get(entry.suffix.as_bytes()).copied() {
            None => {
                let i = u32::try_from(self.db.entries.len()).unwrap_or(u32::MAX);
                if i == u32::MAX {
                    self.skip(list, line, "too many entries".to_string());
                    return;
                }
                self.index.insert(Key(entry.suffix.clone()), i);
                self.db.entries.push(entry);
                self.info_mut(list).entries += 1;
            }
            Some(i) => {
                let Some(old) = self.db.entries.get_mut(i as usize) else {
                    return;
                };
                if old.list == list {
                    let first = old.source.clone();
                    if tsv {
                        let reason = format!("duplicate suffix {} (first kept: {first})", entry.suffix);
                        self.skip(list, line, reason);
                    } else {
                        self.info_mut(list).ignored.duplicates += 1;
                    }
                    return;
                }
                let replaced_list = old.list;
                let suffix = entry.suffix.clone();
                *old = entry;
                self.info_mut(replaced_list).overridden += 1;
                let info = self.info_mut(list);
                info.entries += 1;
                info.overrides.push(Override { suffix, line, replaced_list });
            }
        }
    }
}

//! Reloading the tracker lists while capturing: on request (SIGHUP) and when a list file changes.
//!
//! A thread of its own waits for requests and for file events, builds a new [`TrackerDb`] with the
//! caller's `load` function and, if the result is sound ([`check_reload`]), swaps it into the
//! [`SharedTrackers`]; the packet thread picks it up at its next packet. A broken new list keeps
//! the old one, and the report callback says why.
//!
//! File events come from `notify` watching the DIRECTORY of each list file, not the file: editors
//! and deployment tools replace files atomically (write a temporary file, rename it over the
//! list), which removes the inode a file watch is attached to, so the next change would be missed
//! (measured, research/crates.md §8). Events are filtered by file name and debounced: a reload
//! starts once no event came for [`DEBOUNCE`]. Opening and reading files is not a change, so the
//! reloader's own reads cannot trigger reloads.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher};

use super::TrackerDb;
use super::shared::SharedTrackers;

/// Quiet time after the last file event before reloading.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// How often the reloader frees databases the packet thread no longer uses.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// What started a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// [`ReloadRequester::request`] (SIGHUP).
    Request,
    /// A watched list file was created, written, renamed or removed.
    FileChanged,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Request => "SIGHUP",
            Trigger::FileChanged => "a list file changed",
        }
    }
}

/// The outcome of one reload, given to the report callback.
#[derive(Debug)]
pub enum Reload<'a> {
    /// The new lists are in force.
    Done { db: &'a TrackerDb, trigger: Trigger },
    /// The old lists stay in force, because of `reason`.
    Kept { reason: String, trigger: Trigger },
}

/// Builds the lists again from their files (the same lists, in the same order, as at start).
pub type LoadFn = Box<dyn FnMut() -> Result<TrackerDb, String> + Send>;
/// Told about every reload (metrics, log).
pub type ReportFn = Box<dyn FnMut(&Reload<'_>) + Send>;

/// Whether a newly built database may replace the one in force. It may not when a list that had
/// entries now has none (a file emptied or replaced by garbage: most likely a failed download or a
/// half-written file), or when a syntax error cut a list short (Disconnect JSON). Malformed lines
/// alone are warnings, as at start.
pub fn check_reload(old: &TrackerDb, new: &TrackerDb) -> Result<(), String> {
    for (i, list) in new.lists().iter().enumerate() {
        if list.truncated {
            let why = list.skipped.iter().find(|s| s.reason.starts_with("JSON:"));
            return Err(match why {
                Some(s) => format!("{}:{}: {}", list.name, s.line, s.reason),
                None => format!("{}: cut short by a syntax error", list.name),
            });
        }
        let before = old.lists().get(i).filter(|l| l.name == list.name).map_or(0, |l| l.entries);
        if list.entries == 0 && before > 0 {
            return Err(format!(
                "{}: no valid entries (it had {before}; {} malformed lines)",
                list.name, list.skipped_total
            ));
        }
    }
    Ok(())
}

enum Msg {
    Request,
    Changed,
    Stop,
}

/// Asks a [`Reloader`] for a reload; cheap to clone, usable from a signal handler task.
#[derive(Debug, Clone)]
pub struct ReloadRequester(Sender<Msg>);

impl ReloadRequester {
    /// Asks for a reload (returns at once; the reload happens on the reloader's thread).
    pub fn request(&self) {
        let _ = self.0.send(Msg::Request);
    }
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Request => "Request",
            Msg::Changed => "Changed",
            Msg::Stop => "Stop",
        })
    }
}

/// The reloader thread and its directory watcher; stops when dropped.
pub struct Reloader {
    tx: Sender<Msg>,
    thread: Option<JoinHandle<()>>,
    watcher: Option<notify::RecommendedWatcher>,
    watched: Vec<PathBuf>,
    warnings: Vec<String>,
}

impl Reloader {
    /// Starts the reloader for `shared`, watching the directories of `files` (none: reloads on
    /// request only). Watch failures do not stop it: they are in [`warnings`](Self::warnings).
    pub fn start(
        shared: Arc<SharedTrackers>,
        files: &[PathBuf],
        load: LoadFn,
        report: ReportFn,
    ) -> std::io::Result<Reloader> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("pixelwatch-lists".into())
            .spawn(move || run(&rx, &shared, load, report, DEBOUNCE))?;
        let mut reloader =
            Reloader { tx, thread: Some(thread), watcher: None, watched: Vec::new(), warnings: Vec::new() };
        if !files.is_empty() {
            reloader.watch(files);
        }
        Ok(reloader)
    }

    fn watch(&mut self, files: &[PathBuf]) {
        let mut dirs = BTreeSet::new();
        let mut names: BTreeSet<OsString> = BTreeSet::new();
        for file in files {
            // The path as given and, for a symbolic link, the file it points to.
            let mut paths = vec![file.clone()];
            if let Ok(target) = std::fs::canonicalize(file)
                && target != *file
            {
                paths.push(target);
            }
            for path in paths {
                if let Some(name) = path.file_name() {
                    names.insert(name.to_os_string());
                    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
                    dirs.insert(dir.to_path_buf());
                }
            }
        }
        let tx = self.tx.clone();
        let handler = move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            if is_change(&event.kind) && event.paths.iter().any(|p| p.file_name().is_some_and(|n| names.contains(n))) {
                let _ = tx.send(Msg::Changed);
            }
        };
        let mut watcher = match notify::recommended_watcher(handler) {
            Ok(w) => w,
            Err(e) => {
                self.warnings.push(format!("cannot watch the list files ({e}); reload with SIGHUP"));
                return;
            }
        };
        for dir in dirs {
            match watcher.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => self.watched.push(dir),
                Err(e) => self.warnings.push(format!("cannot watch {} ({e}); reload with SIGHUP", dir.display())),
            }
        }
        self.watcher = Some(watcher);
    }

    pub fn requester(&self) -> ReloadRequester {
        ReloadRequester(self.tx.clone())
    }

    /// The directories being watched.
    pub fn watched(&self) -> &[PathBuf] {
        &self.watched
    }

    /// Why some directories are not watched.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

impl Drop for Reloader {
    fn drop(&mut self) {
        self.watcher = None;
        let _ = self.tx.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// File events that may change a list's content. Opening, reading and closing after reading are
/// not: they are what the reloader itself does.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Any => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Other => false,
    }
}

/// The reloader thread: waits for a request or a change, debounces changes, reloads.
fn run(rx: &mpsc::Receiver<Msg>, shared: &SharedTrackers, mut load: LoadFn, mut report: ReportFn, debounce: Duration) {
    // Databases replaced while the packet thread still held them: freed here, not there.
    let mut retired: Vec<Arc<TrackerDb>> = Vec::new();
    loop {
        retired.retain(|db| Arc::strong_count(db) > 1);
        let trigger = match rx.recv_timeout(SWEEP_EVERY) {
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => continue,
            Ok(Msg::Request) => Trigger::Request,
            Ok(Msg::Changed) => {
                let mut trigger = Trigger::FileChanged;
                loop {
                    match rx.recv_timeout(debounce) {
                        Ok(Msg::Changed) => {}
                        Ok(Msg::Request) => trigger = Trigger::Request,
                        Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                        Err(RecvTimeoutError::Timeout) => break,
                    }
                }
                trigger
            }
        };
        let outcome = load().and_then(|db| {
            check_reload(&shared.current(), &db)?;
            Ok(db)
        });
        match outcome {
            Ok(db) => {
                let db = Arc::new(db);
                retired.push(shared.replace(db.clone()));
                report(&Reload::Done { db: &db, trigger });
            }
            Err(reason) => report(&Reload::Kept { reason, trigger }),
        }
    }
}

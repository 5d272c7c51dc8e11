//! The subcommands: flags → running pipeline. No tokio here: `main` provides the background
//! runtime (the /metrics server and signal handling) through [`Background`].

pub mod info;
pub mod live;
pub mod replay;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::cli::{EventArgs, ListArgs, WatchArgs};
use crate::correlate::leaks::{AddressSet, LeakError, parse_address_file};
use crate::pipeline::Pipeline;
use crate::sink::events::EventWriter;
use crate::sink::metrics::Metrics;
use crate::trackers::{ListSpec, Reload, Reloader, SharedTrackers, TrackerDb};

/// Why a command failed, and so its exit status.
#[derive(Debug)]
pub enum Failure {
    /// Usage or configuration error (exit 2): the message names the file, line or flag.
    Usage(String),
    /// Runtime failure (exit 1): unreadable capture, no permission to capture…
    Runtime(String),
}

/// Starts what runs beside a command: signal handling and, with an address, the /metrics server.
pub trait Background {
    fn start(&self, listen: Option<SocketAddr>, metrics: Arc<Metrics>) -> Result<Running, Failure>;
}

/// A started background: a stop flag set by SIGINT/SIGTERM, the address actually bound, and where
/// SIGHUP goes.
pub struct Running {
    stop: Arc<AtomicBool>,
    pub listening: Option<SocketAddr>,
    shutdown: Option<Box<dyn FnOnce()>>,
    hangup: Hangup,
}

/// What SIGHUP does: the command registers an action (the list reloader of `live`); with none,
/// the signal is ignored (replay loads its lists once). Shared by the signal watcher and the command.
#[derive(Clone, Default)]
pub struct Hangup(Arc<Mutex<Option<HangupAction>>>);

/// What runs on SIGHUP.
pub type HangupAction = Box<dyn Fn() + Send>;

impl Hangup {
    /// Runs the registered action; false when there is none.
    pub fn notify(&self) -> bool {
        match &*self.0.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(action) => {
                action();
                true
            }
            None => false,
        }
    }

    pub fn set(&self, action: Option<HangupAction>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = action;
    }
}

impl Running {
    pub fn new(stop: Arc<AtomicBool>, listening: Option<SocketAddr>, shutdown: Box<dyn FnOnce()>) -> Running {
        Running { stop, listening, shutdown: Some(shutdown), hangup: Hangup::default() }
    }

    /// Routes SIGHUP through `hangup` (set by the background that watches the signals).
    pub fn with_hangup(mut self, hangup: Hangup) -> Running {
        self.hangup = hangup;
        self
    }

    /// What SIGHUP does from now on.
    pub fn on_hangup(&self, action: HangupAction) {
        self.hangup.set(Some(action));
    }

    /// True once SIGINT or SIGTERM arrived.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub fn stop_flag(&self) -> &AtomicBool {
        &self.stop
    }

    /// Blocks until SIGINT or SIGTERM.
    pub fn wait_for_signal(&self) {
        while !self.stopping() {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Stops the server and the signal watcher.
    pub fn shutdown(mut self) {
        self.hangup.set(None);
        if let Some(f) = self.shutdown.take() {
            f();
        }
    }
}

/// Loads the embedded list (unless disabled) and the user's lists; prints a warning per skipped line.
pub fn load_trackers(args: &ListArgs) -> Result<TrackerDb, Failure> {
    let db = build_trackers(args)?;
    for list in db.lists() {
        for skipped in &list.skipped {
            eprintln!("pixelwatch: warning: {}:{}: {}", list.name, skipped.line, skipped.reason);
        }
        if list.skipped_total > list.skipped.len() {
            eprintln!(
                "pixelwatch: warning: {}: {} more malformed lines not shown",
                list.name,
                list.skipped_total - list.skipped.len()
            );
        }
    }
    Ok(db)
}

/// The lists of `args`, in order, without printing anything.
fn build_trackers(args: &ListArgs) -> Result<TrackerDb, Failure> {
    let usage = |e: crate::trackers::ListError| Failure::Usage(e.to_string());
    let mut builder = TrackerDb::builder();
    if !args.no_default_list {
        builder = builder.embedded().map_err(usage)?;
    }
    for spec in &args.lists {
        builder = builder.file(spec).map_err(|e| Failure::Usage(format!("--list {e}")))?;
    }
    Ok(builder.build())
}

/// Starts reloading the lists of `args` into `shared` on SIGHUP and when a list file changes;
/// each reload sets `pixelwatch_tracker_list_entries` and counts
/// `pixelwatch_tracker_list_reloads_total{result}`, and says on standard error what happened.
pub fn start_list_reloader(
    args: &ListArgs,
    shared: Arc<SharedTrackers>,
    metrics: Arc<Metrics>,
    running: &Running,
) -> Result<Reloader, Failure> {
    let files: Vec<PathBuf> = args.lists.iter().map(|spec| PathBuf::from(ListSpec::parse(spec).path)).collect();
    let list_args = args.clone();
    let load = Box::new(move || {
        build_trackers(&list_args).map_err(|f| match f {
            Failure::Usage(m) | Failure::Runtime(m) => m,
        })
    });
    let report = Box::new(move |r: &Reload<'_>| match r {
        Reload::Done { db, trigger } => {
            metrics.list_reload(true);
            let mut sizes = Vec::new();
            for list in db.lists() {
                metrics.list_entries(&list.name, list.entries);
                let skipped = if list.skipped_total > 0 {
                    format!(", {} malformed lines", list.skipped_total)
                } else {
                    String::new()
                };
                sizes.push(format!("{} {} entries{skipped}", list.name, list.entries));
            }
            eprintln!("pixelwatch: tracker lists reloaded ({}): {}", trigger.as_str(), sizes.join("; "));
        }
        Reload::Kept { reason, trigger } => {
            metrics.list_reload(false);
            eprintln!(
                "pixelwatch: tracker lists not reloaded ({}): {reason}; the previous lists stay in force",
                trigger.as_str()
            );
        }
    });
    let reloader = Reloader::start(shared, &files, load, report)
        .map_err(|e| Failure::Runtime(format!("cannot start the list reloader: {e}")))?;
    for warning in reloader.warnings() {
        eprintln!("pixelwatch: warning: {warning}");
    }
    let requester = reloader.requester();
    running.on_hangup(Box::new(move || requester.request()));
    Ok(reloader)
}

/// The watched addresses of `--watch-address` and `--watch-addresses` (trimmed, duplicates
/// ignoring case dropped), with their forms precomputed. No message ever shows an address: a
/// refused one is named by its position or its file line. An unreadable file is a usage error;
/// a line that is not an address is skipped with a warning.
pub fn load_watched(args: &WatchArgs) -> Result<Arc<AddressSet>, Failure> {
    let mut addresses: Vec<String> = Vec::new();
    let mut add = |a: &str| {
        let a = a.trim();
        if !addresses.iter().any(|b| b.eq_ignore_ascii_case(a)) {
            addresses.push(a.to_owned());
        }
    };
    for (i, a) in args.watch_address.iter().enumerate() {
        if AddressSet::new(std::slice::from_ref(a)).is_err() {
            return Err(Failure::Usage(format!(
                "--watch-address #{}: not an e-mail address (expected local@domain.tld)",
                i + 1
            )));
        }
        add(a);
    }
    for path in &args.watch_addresses {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::Usage(format!("--watch-addresses {shown}: cannot read: {e}")))?;
        let (found, bad) = parse_address_file(&text);
        for line in bad {
            eprintln!("pixelwatch: warning: {shown}:{line}: not an e-mail address, line skipped");
        }
        if found.is_empty() {
            eprintln!("pixelwatch: warning: {shown}: no address in this file");
        }
        found.iter().for_each(|a| add(a));
    }
    AddressSet::new(&addresses).map(Arc::new).map_err(|e| match e {
        LeakError::NotAnAddress(_) | LeakError::TooMany { .. } => Failure::Usage(format!("watched addresses: {e}")),
        LeakError::Build(_) => Failure::Runtime(e.to_string()),
    })
}

/// Says once on standard error when the key log can be read by other users: its secrets decrypt
/// the user's HTTPS traffic.
pub fn warn_if_readable(path: &std::path::Path) {
    if let Some(mode) = crate::capture::keylog_file::readable_by_others(path) {
        eprintln!(
            "pixelwatch: warning: --tls-keylog {}: readable by other users (mode {mode:o}); its secrets decrypt your HTTPS traffic: chmod 600 it",
            path.display()
        );
    }
}

/// The key log of `--tls-keylog`, read whole (replay): secrets kept without expiry, up to
/// [`REPLAY_KEYLOG_ENTRIES`] connections. A missing or unreadable file is a usage error naming it.
pub fn load_keylog(path: &std::path::Path) -> Result<crate::extract::tls::keylog::KeyLog, Failure> {
    use crate::extract::tls::keylog::{KeyLog, KeyLogLimits};
    use zeroize::Zeroize;
    let mut bytes = crate::capture::keylog_file::read_all(path)
        .map_err(|e| Failure::Usage(format!("--tls-keylog {}: cannot read: {e}", path.display())))?;
    warn_if_readable(path);
    let mut keys = KeyLog::new(KeyLogLimits { max_entries: REPLAY_KEYLOG_ENTRIES, max_age_micros: i64::MAX });
    keys.feed(&bytes, crate::model::Ts(0));
    keys.finish(crate::model::Ts(0));
    bytes.zeroize();
    let stats = keys.stats();
    if stats.bad_lines > 0 || stats.secrets == 0 {
        eprintln!(
            "pixelwatch: warning: --tls-keylog {}: {} client secrets, {} malformed lines ignored",
            path.display(),
            stats.secrets,
            stats.bad_lines
        );
    }
    Ok(keys)
}

/// Connections whose secrets a replayed key log keeps (~250 bytes each).
pub const REPLAY_KEYLOG_ENTRIES: usize = 65_536;

/// Opens the event log named by `--events` (`-` is standard output).
pub fn open_events(args: &EventArgs) -> Result<Option<EventWriter>, Failure> {
    let Some(path) = &args.events else { return Ok(None) };
    let out: Box<dyn Write + Send> = if path == "-" {
        Box::new(BufWriter::with_capacity(64 * 1024, std::io::stdout()))
    } else {
        let file = File::create(path).map_err(|e| Failure::Usage(format!("--events {path}: cannot create: {e}")))?;
        Box::new(BufWriter::with_capacity(64 * 1024, file))
    };
    Ok(Some(EventWriter::new(out, args.events_all)))
}

/// Applies the options `replay` and `live` share to a new pipeline: e-mail open inference,
/// watched addresses, the key log (`complete` when it will not grow: replay) and `--evidence DIR`
/// (the folder is created now, so that a bad path fails before the capture starts).
pub fn configure_pipeline(
    pipeline: Pipeline,
    opens: &crate::cli::OpenArgs,
    events: &EventArgs,
    watched: Arc<AddressSet>,
    keys: Option<(crate::extract::tls::keylog::KeyLog, bool)>,
) -> Result<Pipeline, Failure> {
    let mut pipeline = pipeline
        .with_opens(opens.settings(), opens.client_label == crate::cli::ClientLabel::Mac)
        .with_watched_addresses(watched);
    if let Some((keys, complete)) = keys {
        pipeline = pipeline.with_keylog(keys, complete);
    }
    let Some(dir) = &events.evidence else { return Ok(pipeline) };
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::Usage(format!("--evidence {}: cannot create the folder: {e}", dir.display())))?;
    Ok(pipeline.with_evidence(dir.clone(), &opens.settings()))
}

/// One line on standard error about the evidence folders written (with `--evidence`).
pub fn report_evidence(pipeline: &Pipeline, events: &EventArgs) {
    let (Some((written, error)), Some(dir)) = (pipeline.evidence_status(), &events.evidence) else { return };
    eprintln!("pixelwatch: {written} evidence folder(s) in {}", dir.display());
    if let Some(e) = error {
        eprintln!("pixelwatch: some evidence could not be written: {e}");
    }
}

/// Metrics with the list sizes filled in and the tracker label cap of `--max-tracker-series`.
pub fn new_metrics(db: &TrackerDb, args: &ListArgs, opens: &crate::cli::OpenArgs) -> Arc<Metrics> {
    let per_client = opens.per_client.then_some(opens.per_client_max);
    let metrics = Metrics::with_options(usize::try_from(args.max_tracker_series).unwrap_or(usize::MAX), per_client);
    for list in db.lists() {
        metrics.list_entries(&list.name, list.entries);
    }
    Arc::new(metrics)
}

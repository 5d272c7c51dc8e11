//! The subcommands: flags → running pipeline. No tokio here: `main` provides the background
//! runtime (the /metrics server and signal handling) through [`Background`].

pub mod info;
pub mod live;
pub mod replay;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::{EventArgs, ListArgs};
use crate::sink::events::EventWriter;
use crate::sink::metrics::Metrics;
use crate::trackers::TrackerDb;

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

/// A started background: a stop flag set by SIGINT/SIGTERM, and the address actually bound.
pub struct Running {
    stop: Arc<AtomicBool>,
    pub listening: Option<SocketAddr>,
    shutdown: Option<Box<dyn FnOnce()>>,
}

impl Running {
    pub fn new(stop: Arc<AtomicBool>, listening: Option<SocketAddr>, shutdown: Box<dyn FnOnce()>) -> Running {
        Running { stop, listening, shutdown: Some(shutdown) }
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
        if let Some(f) = self.shutdown.take() {
            f();
        }
    }
}

/// Loads the embedded list (unless disabled) and the user's lists; prints a warning per skipped line.
pub fn load_trackers(args: &ListArgs) -> Result<TrackerDb, Failure> {
    let usage = |e: crate::trackers::ListError| Failure::Usage(e.to_string());
    let mut builder = TrackerDb::builder();
    if !args.no_default_list {
        builder = builder.embedded().map_err(usage)?;
    }
    for spec in &args.lists {
        builder = builder.file(spec).map_err(|e| Failure::Usage(format!("--list {e}")))?;
    }
    let db = builder.build();
    for list in db.lists() {
        for skipped in &list.skipped {
            eprintln!("pixelwatch: warning: {}:{}: {}", list.name, skipped.line, skipped.reason);
        }
    }
    Ok(db)
}

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

/// Metrics with the list sizes filled in.
pub fn new_metrics(db: &TrackerDb) -> Arc<Metrics> {
    let metrics = Metrics::new(crate::sink::metrics::DEFAULT_TRACKER_LABEL_CAP);
    for list in db.lists() {
        metrics.list_entries(&list.name, list.entries);
    }
    Arc::new(metrics)
}

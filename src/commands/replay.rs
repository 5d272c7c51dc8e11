//! `pixelwatch replay`: captures → pipeline → summary, metrics file, event log.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::capture::{CaptureError, OfflineReader};
use crate::cli::{ReplayArgs, SummaryFormat};
use crate::commands::{Background, Failure, load_trackers, load_watched, new_metrics, open_events};
use crate::pipeline::{Limits, Pipeline};
use crate::sink::progress::Progress;

pub fn run(args: ReplayArgs, background: &dyn Background) -> Result<(), Failure> {
    for path in &args.captures {
        if path != "-" && path.parse::<std::path::PathBuf>().is_ok_and(|p| p.to_str().is_none()) {
            return Err(Failure::Usage(format!("{path}: capture paths must be valid UTF-8")));
        }
    }
    if args.captures.iter().filter(|p| *p == "-").count() > 1 {
        return Err(Failure::Usage("standard input (`-`) can be replayed only once".into()));
    }
    let watched = load_watched(&args.watch)?;
    let keys = args.keylog.tls_keylog.as_deref().map(crate::commands::load_keylog).transpose()?;
    let db = Arc::new(load_trackers(&args.lists)?);
    let metrics = new_metrics(&db, &args.lists, &args.opens);
    let events = open_events(&args.events)?;
    let events_on_stdout = args.events.events.as_deref() == Some("-");
    let running = background.start(args.listen, metrics.clone())?;
    if let Some(addr) = running.listening {
        eprintln!("pixelwatch: serving metrics on http://{addr}/metrics");
    }

    let pipeline = Pipeline::new(db, metrics.clone(), events, Limits::default());
    let keys = keys.map(|k| (k, true));
    let mut pipeline = crate::commands::configure_pipeline(pipeline, &args.opens, &args.events, watched, keys)?;
    let started = Instant::now();
    let show_progress = !args.no_progress && std::io::stderr().is_terminal();
    let mut failure: Option<Failure> = None;
    for path in &args.captures {
        if running.stopping() {
            break;
        }
        pipeline.summary.files.push(path.clone());
        let mut progress = Progress::new(show_progress, path);
        let mut write_error = None;
        let result = replay_file(path, &mut pipeline, &running, &mut progress, &mut write_error);
        progress.finish();
        if let Some(e) = write_error {
            failure = Some(Failure::Runtime(format!("cannot write events: {e}")));
            break;
        }
        match result {
            Ok(_) => {}
            Err(e @ CaptureError::Read { .. }) => {
                let msg = e.to_string();
                pipeline.summary.errors.push(msg.clone());
                eprintln!("pixelwatch: {msg}; the packets before it were counted");
                failure.get_or_insert(Failure::Runtime("a capture file could not be read to the end".into()));
            }
            Err(e) => {
                let msg = e.to_string();
                pipeline.summary.errors.push(msg.clone());
                eprintln!("pixelwatch: {msg}");
                failure.get_or_insert(Failure::Runtime("a capture could not be read".into()));
            }
        }
    }
    let interrupted = running.stopping();
    if interrupted {
        eprintln!("pixelwatch: interrupted after {} packets; writing what was read", pipeline.summary.packets);
    }
    pipeline.summary.elapsed_seconds = started.elapsed().as_secs_f64();
    if let Err(e) = pipeline.finish() {
        failure.get_or_insert(Failure::Runtime(format!("cannot write events: {e}")));
    }
    crate::commands::report_evidence(&pipeline, &args.events);
    if let Some(path) = &args.metrics_out {
        write_atomically(path, metrics.encode().as_bytes())
            .map_err(|e| Failure::Usage(format!("--metrics-out {}: {e}", path.display())))?;
    }
    let summary = match args.summary {
        SummaryFormat::Text => Some(pipeline.summary.to_text()),
        SummaryFormat::Json => Some(format!("{:#}\n", pipeline.summary.to_json())),
        SummaryFormat::None => None,
    };
    if let Some(summary) = summary {
        let written = if events_on_stdout {
            std::io::stderr().write_all(summary.as_bytes())
        } else {
            let mut out = std::io::stdout().lock();
            out.write_all(summary.as_bytes()).and_then(|()| out.flush())
        };
        if let Err(e) = written
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            failure.get_or_insert(Failure::Runtime(format!("cannot write the summary: {e}")));
        }
    }
    if args.hold && !interrupted {
        if let Some(addr) = running.listening {
            eprintln!("pixelwatch: replay done; still serving http://{addr}/metrics until SIGINT/SIGTERM");
        }
        running.wait_for_signal();
    }
    running.shutdown();
    if interrupted && failure.is_none() {
        return Err(Failure::Runtime("interrupted by a signal before the end of the captures".into()));
    }
    failure.map_or(Ok(()), Err)
}

/// Replays one file into the pipeline until its end, a read error, a write error of the event
/// log (left in `write_error`) or a stop signal.
fn replay_file(
    path: &str,
    pipeline: &mut Pipeline,
    running: &crate::commands::Running,
    progress: &mut Progress,
    write_error: &mut Option<std::io::Error>,
) -> Result<(), CaptureError> {
    let mut reader = OfflineReader::open(path)?;
    let mut n = 0u32;
    while let Some(p) = reader.next_packet()? {
        if let Err(e) = pipeline.packet(p.ts, p.linktype, p.data, p.orig_len) {
            *write_error = Some(e);
            return Ok(());
        }
        n = n.wrapping_add(1);
        if n.is_multiple_of(16_384) {
            if running.stopping() {
                return Ok(());
            }
            let at = reader.progress();
            progress.update(at.bytes_read, at.total_bytes);
        }
    }
    Ok(())
}

/// Writes `data` to `path` through a temporary file in the same directory and a rename, so a
/// reader (node_exporter's textfile collector) never sees a partial file.
pub fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| std::io::Error::other("not a file name"))?;
    let tmp = dir.join(format!(".{}.tmp.{}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

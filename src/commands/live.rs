//! `pixelwatch live`: libpcap on a dedicated capture thread → pipeline, until SIGINT/SIGTERM.

use std::sync::Arc;

use crate::capture::keylog_file::KeyLogFile;
use crate::capture::{self, CaptureError, LiveOptions};
use crate::cli::LiveArgs;
use crate::commands::{
    Background, Failure, load_trackers, load_watched, new_metrics, open_events, start_list_reloader,
};
use crate::extract::tls::keylog::{KeyLog, KeyLogLimits};
use crate::model::Ts;
use crate::pipeline::{Limits, Pipeline};
use crate::trackers::SharedTrackers;

/// `--tls-keylog` in live: the file may not exist yet (the browser creates it when it starts),
/// but its directory must, and an existing file must be readable.
fn open_keylog(path: &std::path::Path) -> Result<KeyLogFile, Failure> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    if !dir.is_dir() {
        return Err(Failure::Usage(format!("--tls-keylog {}: no such directory {}", path.display(), dir.display())));
    }
    let file = KeyLogFile::open(path)
        .map_err(|e| Failure::Usage(format!("--tls-keylog {}: cannot read: {e}", path.display())))?;
    if file.exists() {
        crate::commands::warn_if_readable(path);
    } else {
        eprintln!("pixelwatch: --tls-keylog {}: not there yet; read when it appears", path.display());
    }
    Ok(file)
}

/// The followed key log and the buffer its new bytes pass through (wiped after each feed).
struct Follower {
    file: KeyLogFile,
    bytes: Vec<u8>,
    warned: bool,
}

impl Follower {
    fn new(file: KeyLogFile) -> Follower {
        Follower { file, bytes: Vec::new(), warned: false }
    }

    /// Reads what the key log gained and hands it to the pipeline at capture time `ts`. A read
    /// error is said once; the file is tried again at the next poll.
    fn poll(&mut self, pipeline: &mut Pipeline, ts: Ts) {
        use zeroize::Zeroize;
        let existed = self.file.exists();
        if let Err(e) = self.file.poll(&mut self.bytes) {
            if !self.warned {
                self.warned = true;
                eprintln!("pixelwatch: warning: --tls-keylog: cannot read the key log: {e}");
            }
        } else if !existed && self.file.exists() {
            eprintln!("pixelwatch: --tls-keylog: the key log appeared; following it");
            crate::commands::warn_if_readable(self.file.path());
        }
        if !self.bytes.is_empty() {
            let _ = pipeline.keylog_feed(&self.bytes, ts);
            self.bytes.zeroize();
            self.bytes.clear();
        }
    }
}

pub fn run(args: LiveArgs, background: &dyn Background) -> Result<(), Failure> {
    let watched = load_watched(&args.watch)?;
    let db = Arc::new(load_trackers(&args.lists)?);
    let metrics = new_metrics(&db, &args.lists, &args.opens);
    let events = open_events(&args.events)?;
    // Opened before privileges are dropped; followed from the capture thread.
    let keylog_file = match &args.keylog.tls_keylog {
        Some(path) => Some(open_keylog(path)?),
        None => None,
    };
    let opts = LiveOptions {
        interface: args.interface.clone(),
        filter: args.filter.clone(),
        snaplen: args.snaplen,
        buffer_bytes: args.buffer_size.saturating_mul(1 << 20),
        timeout_ms: 100,
        promisc: !args.no_promisc,
    };
    let mut cap = capture::open_live(&opts).map_err(|e| match e {
        CaptureError::Filter { .. } => Failure::Usage(e.to_string()),
        _ => Failure::Runtime(e.to_string()),
    })?;
    // Bind the metrics port before dropping privileges (it may be below 1024).
    let running = background.start(Some(args.listen), metrics.clone())?;
    let shared_lists = SharedTrackers::new(db.clone());
    let _reloader = start_list_reloader(&args.lists, shared_lists.clone(), metrics.clone(), &running)?;
    if let Some(user) = &args.user {
        capture::drop_privileges(user).map_err(|e| Failure::Runtime(format!("--user {user}: {e}")))?;
    }
    eprintln!(
        "pixelwatch: capturing on {} (link type {}); metrics on http://{}/metrics; stop with Ctrl-C or SIGTERM",
        cap.interface(),
        cap.linktype(),
        running.listening.map_or_else(|| args.listen.to_string(), |a| a.to_string())
    );
    let pipeline = Pipeline::new(db, metrics.clone(), events, Limits::default()).with_tracker_updates(shared_lists);
    let keys = keylog_file.as_ref().map(|_| (KeyLog::new(KeyLogLimits::default()), false));
    let pipeline = crate::commands::configure_pipeline(pipeline, &args.opens, &args.events, watched, keys)?;
    let event_args = &args.events;
    let stop = running.stop_flag();
    let cap = &mut cap;
    let interface = cap.interface().to_owned();
    let failed = |reason: String| CaptureError::Capture { interface: interface.clone(), reason };
    let result = std::thread::scope(|scope| {
        let capture_thread =
            std::thread::Builder::new().name("pixelwatch-capture".into()).spawn_scoped(scope, move || {
                let pipeline = std::cell::RefCell::new(pipeline);
                let follower = std::cell::RefCell::new(keylog_file.map(Follower::new));
                let mut warned = false;
                let result = cap.run(
                    stop,
                    &mut |p| {
                        if let Some(f) = follower.borrow_mut().as_mut()
                            && f.file.due(p.ts)
                        {
                            f.poll(&mut pipeline.borrow_mut(), p.ts);
                        }
                        if let Err(e) = pipeline.borrow_mut().packet(p.ts, p.linktype, p.data, p.orig_len)
                            && !warned
                        {
                            warned = true;
                            eprintln!(
                                "pixelwatch: cannot write events ({e}); events are lost from now on, metrics go on"
                            );
                        }
                    },
                    &mut |stats| {
                        let mut pipeline = pipeline.borrow_mut();
                        if let (Some(f), Some(ts)) = (follower.borrow_mut().as_mut(), pipeline.last_ts()) {
                            f.poll(&mut pipeline, ts);
                        }
                        pipeline.metrics().capture_dropped(stats.dropped_kernel, stats.dropped_interface);
                        let _ = pipeline.flush();
                    },
                );
                let _ = pipeline.borrow_mut().finish();
                crate::commands::report_evidence(&pipeline.borrow(), event_args);
                result
            });
        match capture_thread {
            Ok(handle) => handle.join().unwrap_or_else(|_| Err(failed("the capture thread panicked".into()))),
            Err(e) => Err(failed(format!("cannot start the capture thread: {e}"))),
        }
    });
    running.shutdown();
    result.map_err(|e| Failure::Runtime(e.to_string()))
}

//! The `pixelwatch` binary: parse the command line, start the background runtime (the /metrics
//! server and signal handling), run the command, map errors to exit codes.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use pixelwatch::cli::{Cli, Command};
use pixelwatch::commands::{self, Background, Failure, Hangup};
use pixelwatch::sink::metrics::Metrics;
use pixelwatch::sink::webconfig::WebConfig;

fn main() -> ExitCode {
    let argv = match pixelwatch::config::expand(std::env::args_os().collect()) {
        Ok(argv) => argv,
        Err(msg) => {
            eprintln!("pixelwatch: {msg}");
            return ExitCode::from(2);
        }
    };
    let cli = Cli::parse_from(argv);
    let web_config = match &cli.command {
        Command::Replay(args) => args.web_config_file.as_deref(),
        Command::Live(args) => args.web_config_file.as_deref(),
        _ => None,
    };
    let web = match web_config.map(WebConfig::load).transpose() {
        Ok(web) => web.map(Arc::new),
        Err(e) => {
            eprintln!("pixelwatch: {e}");
            return ExitCode::from(2);
        }
    };
    for warning in web.iter().flat_map(|w| &w.warnings) {
        eprintln!("pixelwatch: warning: {warning}");
    }
    let background = TokioBackground { web };
    let result = match cli.command {
        Command::Replay(args) => commands::replay::run(args, &background),
        Command::Live(args) => commands::live::run(args, &background),
        Command::Check(args) => commands::info::check(args),
        Command::Lists(args) => commands::info::lists(args),
        Command::Interfaces => commands::info::interfaces(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("pixelwatch: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(msg)) => {
            eprintln!("pixelwatch: {msg}");
            ExitCode::from(1)
        }
    }
}

/// Signal handling and the /metrics server on a tokio runtime in a thread of their own; `web` is
/// the `--web.config.file` (TLS, basic auth) of the server.
struct TokioBackground {
    web: Option<Arc<WebConfig>>,
}

impl Background for TokioBackground {
    fn start(&self, listen: Option<SocketAddr>, metrics: Arc<Metrics>) -> Result<commands::Running, Failure> {
        let stop = Arc::new(AtomicBool::new(false));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("pixelwatch-http")
            .enable_all()
            .build()
            .map_err(|e| Failure::Runtime(format!("cannot start the runtime: {e}")))?;
        let listener = match listen {
            Some(addr) => Some(
                runtime
                    .block_on(tokio::net::TcpListener::bind(addr))
                    .map_err(|e| Failure::Usage(format!("--listen {addr}: cannot listen: {e}")))?,
            ),
            None => None,
        };
        let bound = listener.as_ref().and_then(|l| l.local_addr().ok());
        // SIGHUP: installed before returning, so that from now on it cannot kill the process.
        let hangup = Hangup::default();
        let hangups = {
            let _runtime = runtime.enter();
            let hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
            let hangup = hangup.clone();
            async move {
                let Ok(mut hup) = hup else { return std::future::pending::<()>().await };
                while hup.recv().await.is_some() {
                    if !hangup.notify() {
                        eprintln!("pixelwatch: SIGHUP ignored: nothing to reload (only `live` reloads its lists)");
                    }
                }
            }
        };
        if let (Some(web), Some(addr)) = (&self.web, bound) {
            let scheme = if web.tls.is_some() { "https" } else { "http" };
            let auth = match web.users() {
                0 => "no auth".to_owned(),
                1 => "basic auth (1 user)".to_owned(),
                n => format!("basic auth ({n} users)"),
            };
            eprintln!("pixelwatch: /metrics on {scheme}://{addr}/metrics with {auth} (--web.config.file)");
        }
        let web = self.web.clone();
        let (done_tx, done_rx) = tokio::sync::watch::channel(false);
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("pixelwatch-bg".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let signals = async {
                        wait_for_signal().await;
                        flag.store(true, Ordering::SeqCst);
                        // A second signal means "now": don't wait for the outputs to be written.
                        wait_for_signal().await;
                        eprintln!("pixelwatch: second signal, exiting without finishing the outputs");
                        std::process::exit(1);
                    };
                    let mut done = done_rx.clone();
                    let finished = async move {
                        let _ = done.wait_for(|d| *d).await;
                    };
                    let server = async {
                        if let Some(listener) = listener {
                            let mut done = done_rx.clone();
                            pixelwatch::sink::server::serve_with(listener, metrics, web, async move {
                                let _ = done.wait_for(|d| *d).await;
                            })
                            .await;
                        }
                    };
                    tokio::select! {
                        _ = finished => {}
                        _ = async { tokio::join!(signals, server, hangups) } => {}
                    }
                });
            })
            .map_err(|e| Failure::Runtime(format!("cannot start a thread: {e}")))?;
        Ok(commands::Running::new(
            stop,
            bound,
            Box::new(move || {
                let _ = done_tx.send(true);
                let _ = thread.join();
            }),
        )
        .with_hangup(hangup))
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

//! Helpers for the tests that run pixelwatch as a service beside real programs (Prometheus,
//! dnsmasq, openssl, curl): processes killed by a Drop guard (also on panic), pixelwatch started
//! with its /metrics address read from its banner, a tiny HTTP/1.0 client, a Prometheus runner.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

/// The program `cmd` on PATH (or in /usr/sbin, /sbin for root tools), if installed.
pub fn which(cmd: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A child process that is stopped (SIGTERM, then SIGKILL after 3 s) and reaped when dropped.
pub struct Proc {
    pub child: Child,
    pub name: String,
    /// Standard error collected by a background thread (when piped).
    pub stderr: Arc<Mutex<String>>,
}

impl Proc {
    pub fn spawn(name: &str, cmd: &mut Command) -> Proc {
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc { child, name: name.to_owned(), stderr: Arc::default() }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends SIGTERM and waits for the exit status (SIGKILL after `timeout`).
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let _ = kill(Pid::from_raw(self.pid()), Signal::SIGTERM);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }

    pub fn stderr_text(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Keeps reading standard error into `self.stderr` (so the pipe never fills up).
    pub fn drain_stderr(&mut self, reader: impl BufRead + Send + 'static) {
        let sink = self.stderr.clone();
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate(Duration::from_secs(3));
        }
    }
}

/// A running pixelwatch and the address of its /metrics server.
pub struct Pixelwatch {
    pub proc: Proc,
    pub addr: String,
    pub stdin: Option<ChildStdin>,
}

/// Starts pixelwatch with `args` (which must include `--listen ADDR`, port 0 is fine) and waits for
/// the line of its banner naming the /metrics URL. `stdin_piped` keeps its standard input open.
pub fn start_pixelwatch(args: &[&str], stdin_piped: bool) -> Pixelwatch {
    start_pixelwatch_via(&[], args, stdin_piped)
}

/// Like [`start_pixelwatch`], run through `prefix` (`ip netns exec NS`, `setpriv …`), which must
/// exec pixelwatch in its own process so that signals reach it.
pub fn start_pixelwatch_via(prefix: &[&str], args: &[&str], stdin_piped: bool) -> Pixelwatch {
    let bin = env!("CARGO_BIN_EXE_pixelwatch");
    let mut cmd = match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.args(args)
        .stdin(if stdin_piped { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut proc = Proc::spawn("pixelwatch", &mut cmd);
    let stdin = proc.child.stdin.take();
    let mut stderr = BufReader::new(proc.child.stderr.take().expect("piped stderr"));
    let mut seen = String::new();
    let addr = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap_or(0) == 0 {
            panic!("pixelwatch {args:?} exited before serving /metrics: {seen}");
        }
        seen.push_str(&line);
        if let Some(rest) = line.split("://").nth(1)
            && let Some(addr) = rest.split("/metrics").next()
            && line.contains("/metrics")
        {
            break addr.to_owned();
        }
    };
    proc.stderr.lock().unwrap().push_str(&seen);
    proc.drain_stderr(stderr);
    Pixelwatch { proc, addr, stdin }
}

/// Percent-encodes a query-string value (RFC 3986 §2.3: only unreserved characters stay).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A plain HTTP/1.0 GET (no chunked encoding, body until close): (status, headers, body).
pub fn http_get(addr: &str, path: &str, headers: &[(&str, &str)]) -> std::io::Result<(u16, String, String)> {
    let mut conn = TcpStream::connect(addr)?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    conn.write_all(req.as_bytes())?;
    let mut resp = Vec::new();
    conn.read_to_end(&mut resp)?;
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, head.to_owned(), body.to_owned()))
}

/// Polls `f` every 100 ms until it returns Some, or panics with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A free TCP port on 127.0.0.1 (bound then released: good enough for a test).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("bind")
}

/// A real Prometheus on a loopback port with a temporary storage directory.
pub struct Prometheus {
    pub proc: Proc,
    pub addr: String,
    pub dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` (job "pixelwatch") every second, with `rules` loaded;
    /// None when the `prometheus` binary is not installed.
    pub fn start(targets: &[&str], rules: Option<&Path>) -> Option<Prometheus> {
        let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        let job = format!("  - job_name: pixelwatch\n    static_configs:\n      - targets: [{}]\n", targets.join(", "));
        Self::start_with(&job, rules)
    }

    /// Starts Prometheus with `jobs` (YAML list items under `scrape_configs:`), scraping every second.
    pub fn start_with(jobs: &str, rules: Option<&Path>) -> Option<Prometheus> {
        let bin = which("prometheus")?;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config =
            String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n");
        if let Some(rules) = rules {
            std::fs::copy(rules, dir.path().join("rules.yml")).expect("copy rules");
            config.push_str("rule_files:\n  - rules.yml\n");
        }
        config.push_str("scrape_configs:\n");
        config.push_str(jobs);
        std::fs::write(dir.path().join("prometheus.yml"), config).expect("write prometheus.yml");
        let addr = format!("127.0.0.1:{}", free_port());
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut proc = Proc::spawn("prometheus", &mut cmd);
        let stderr = BufReader::new(proc.child.stderr.take().expect("piped"));
        proc.drain_stderr(stderr);
        let mut p = Prometheus { proc, addr, dir };
        wait_for("Prometheus to be ready", Duration::from_secs(30), || {
            if let Ok(Some(status)) = p.proc.child.try_wait() {
                panic!("prometheus exited ({status}): {}", p.proc.stderr_text());
            }
            matches!(http_get(&p.addr, "/-/ready", &[]), Ok((200, _, _))).then_some(())
        });
        Some(p)
    }

    /// GET an API path; the `data` member of a successful answer, or the error text.
    pub fn api(&self, path: &str) -> Result<Value, String> {
        let (status, _, body) = http_get(&self.addr, path, &[]).map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("HTTP {status}: {e}: {body}"))?;
        if v["status"] != "success" {
            return Err(format!("HTTP {status}: {} {}", v["errorType"], v["error"]));
        }
        Ok(v["data"].clone())
    }

    /// Instant query at the server's now: the result vector.
    pub fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let data = self.api(&format!("/api/v1/query?query={}", url_encode(expr)))?;
        Ok(data["result"].as_array().cloned().unwrap_or_default())
    }

    /// Range query over the last `seconds` seconds, 1 s step: the result matrix.
    pub fn query_range(&self, expr: &str, seconds: u64) -> Result<Vec<Value>, String> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
        let q = format!(
            "/api/v1/query_range?query={}&start={}&end={now}&step=1",
            url_encode(expr),
            now.saturating_sub(seconds)
        );
        let data = self.api(&q)?;
        Ok(data["result"].as_array().cloned().unwrap_or_default())
    }

    /// Waits until every scrape target of the job was scraped successfully at least `scrapes` times.
    pub fn wait_for_scrapes(&self, targets: usize, scrapes: u32) {
        let expr = format!("count(count_over_time(up{{job=~\"pixelwatch.*\"}}[5m]) >= {scrapes} and up == 1)");
        wait_for(&format!("{targets} targets scraped {scrapes} times"), Duration::from_secs(60), || {
            let r = self.query(&expr).ok()?;
            (value_of(r.first()?)? as usize == targets).then_some(())
        });
    }
}

/// The numeric value of one instant-vector element.
pub fn value_of(sample: &Value) -> Option<f64> {
    sample["value"][1].as_str().and_then(|s| s.parse().ok())
}

/// `openssl` commands for test certificates; None when openssl is missing or fails.
pub fn openssl(args: &[&str], dir: &Path) -> Option<()> {
    let out = Command::new(which("openssl")?).args(args).current_dir(dir).output().ok()?;
    out.status.success().then_some(())
}

/// A self-signed server certificate `NAME.crt`/`NAME.key` for `localhost` and 127.0.0.1 (P-256).
pub fn self_signed(dir: &Path, name: &str) -> Option<()> {
    let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            &key,
            "-out",
            &crt,
        ],
        dir,
    )
}

/// A CA (`NAME-ca.crt`) and a client certificate it signed (`NAME.crt`/`NAME.key`).
pub fn client_cert(dir: &Path, name: &str) -> Option<()> {
    let ca = format!("{name}-ca");
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={ca}"),
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.crt"),
        ],
        dir,
    )?;
    openssl(
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=prometheus",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
        dir,
    )?;
    std::fs::write(dir.join(format!("{name}.ext")), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n").ok()?;
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.crt"),
        ],
        dir,
    )
}

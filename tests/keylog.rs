//! `--tls-keylog` through the real binary: each capture of `captures/keylog/` replayed without and
//! with its own key log (the requests its README lists, HTTP/1.1 and HTTP/2, TLS 1.3 and 1.2),
//! partial, wrong, world-readable and missing key logs, the counters, and a live capture on
//! loopback (curl with SSLKEYLOGFILE against a python TLS server; skipped without root).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bin, json_lines, root, run};
use serde_json::Value;

const HASH: &str = "0bc83cb571cd1c50ba6f3e8a78ef1346"; // MD5("myemailaddress@example.com")

fn keylog_dir() -> PathBuf {
    root().join("captures/keylog")
}

/// A private copy (mode 0600) of `text`, so that no permission warning is printed.
fn private_keylog(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

struct Replay {
    code: i32,
    events: Vec<Value>,
    summary: Value,
    metrics: String,
    stderr: String,
}

fn replay(capture: &str, keylog: Option<&Path>) -> Replay {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let metrics = dir.path().join("metrics.prom");
    let pcap = keylog_dir().join(capture);
    let mut args = vec![
        "replay".to_owned(),
        "--summary".into(),
        "json".into(),
        "--events".into(),
        events.to_str().unwrap().into(),
        "--metrics-out".into(),
        metrics.to_str().unwrap().into(),
        pcap.to_str().unwrap().into(),
    ];
    if let Some(k) = keylog {
        args.extend(["--tls-keylog".to_owned(), k.to_str().unwrap().to_owned()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, stderr) = run(&args);
    assert!(!stderr.contains("panicked"), "{stderr}");
    Replay {
        code,
        events: json_lines(&std::fs::read_to_string(&events).unwrap_or_default()),
        summary: serde_json::from_str(&out).unwrap_or(Value::Null),
        metrics: std::fs::read_to_string(&metrics).unwrap_or_default(),
        stderr,
    }
}

fn own_keylog(dir: &Path, capture: &str) -> PathBuf {
    let text = std::fs::read_to_string(keylog_dir().join(capture.replace(".pcap", ".keylog"))).unwrap();
    private_keylog(dir, "own.keylog", &text)
}

fn decrypted(r: &Replay) -> Vec<(String, String, String)> {
    r.events
        .iter()
        .filter(|e| e["kind"] == "http_host" && e["decrypted"] == true)
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["path"].as_str().unwrap().to_owned(),
                e["method"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn counter(metrics: &str, result: &str) -> Option<u64> {
    let prefix = format!("pixelwatch_tls_decrypted_flows_total{{result=\"{result}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.trim().parse().ok())
}

/// (decrypted, no_secrets, unsupported_suite, failed, requests) from the summary, checked
/// against the metrics.
fn results(r: &Replay) -> (u64, u64, u64, u64, u64) {
    let t = &r.summary["tls_keylog"];
    let n = |k: &str| t[k].as_u64().unwrap_or_else(|| panic!("tls_keylog.{k} in {t}"));
    let got = (
        n("flows_decrypted"),
        n("flows_without_secrets"),
        n("flows_unsupported_suite"),
        n("flows_failed"),
        n("requests"),
    );
    let m = |k: &str| counter(&r.metrics, k).unwrap_or_else(|| panic!("{k} in {}", r.metrics));
    assert_eq!((m("decrypted"), m("no_secrets"), m("unsupported_suite"), m("failed")), (got.0, got.1, got.2, got.3));
    assert_eq!(r.summary["observations"]["http_host"].as_u64(), Some(got.4), "every decrypted request is an http_host");
    got
}

/// What each capture holds (captures/keylog/README.md): (name, path prefix, method) in order,
/// and how many connections.
fn expected(capture: &str) -> (Vec<(&'static str, String)>, u64) {
    let weborama = "bouyguestelecom.solution.weborama.fr";
    let sendgrid = "u1234.ct.sendgrid.net";
    let dispatch = format!("/fcgi-bin/dispatch.fcgi?a.A=co&a.si=123&email_md5={HASH}");
    match capture {
        "chromium-h1.pcap" => (vec![(weborama, dispatch), (weborama, format!("/px/{HASH}/open.gif"))], 2),
        "chromium-h2.pcap" => {
            (vec![(sendgrid, format!("/wf/open?upn=abc&em={HASH}")), (sendgrid, "/wf/open?upn=def".into())], 2)
        }
        "curl-h2.pcap" => (
            vec![
                ("www.google-analytics.com", "/collect?v=1&tid=UA-12345-1&cid=555&t=event&ec=email&ea=open".into()),
                (sendgrid, format!("/wf/open?upn=abc&em={HASH}")),
                (sendgrid, "/wf/open?upn=def".into()),
            ],
            2,
        ),
        "tls12-h1.pcap" => (
            vec![
                (weborama, format!("{dispatch}&c=ECDHE-ECDSA-AES128-GCM-SHA256")),
                (weborama, format!("{dispatch}&c=ECDHE-ECDSA-AES256-GCM-SHA384")),
                (weborama, format!("{dispatch}&c=ECDHE-ECDSA-CHACHA20-POLY1305")),
            ],
            3,
        ),
        _ => unreachable!(),
    }
}

const CAPTURES: [&str; 4] = ["chromium-h1.pcap", "chromium-h2.pcap", "curl-h2.pcap", "tls12-h1.pcap"];

#[test]
fn without_a_key_log_nothing_is_decrypted() {
    for capture in CAPTURES {
        let r = replay(capture, None);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(decrypted(&r).is_empty(), "{capture}");
        assert!(r.events.iter().all(|e| e.get("decrypted").is_none() && e["via"] != "http"), "{capture}");
        assert!(r.summary.get("tls_keylog").is_none(), "{capture}");
        assert!(!r.metrics.contains("pixelwatch_tls_decrypted_flows_total"), "{capture}");
        assert_eq!(r.stderr, "", "{capture}");
    }
}

#[test]
fn with_its_key_log_each_capture_gives_exactly_its_requests() {
    for capture in CAPTURES {
        let dir = tempfile::tempdir().unwrap();
        let r = replay(capture, Some(&own_keylog(dir.path(), capture)));
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.stderr, "", "{capture}: a private key log gives no warning");
        let (want, connections) = expected(capture);
        let got = decrypted(&r);
        assert_eq!(got.len(), want.len(), "{capture}: {got:?}");
        for ((name, path, method), (want_name, want_path)) in got.iter().zip(&want) {
            assert_eq!((name.as_str(), method.as_str()), (*want_name, "GET"), "{capture}");
            assert!(path.starts_with(want_path.as_str()), "{capture}: {path} does not start with {want_path}");
        }
        assert_eq!(results(&r), (connections, 0, 0, 0, want.len() as u64), "{capture}");
        // Tracker contacts from decrypted requests: via http, one per request.
        let http_contacts: Vec<&Value> =
            r.events.iter().filter(|e| e["kind"] == "tracker_contact" && e["via"] == "http").collect();
        assert_eq!(http_contacts.len(), want.len(), "{capture}");
        // SendGrid's /wf/open is an open pixel by the embedded list's path rules; nothing else is.
        for c in &http_contacts {
            let open = c["tracker"] == "sendgrid.net";
            assert_eq!(c.get("pixel"), open.then(|| Value::from("open")).as_ref(), "{capture}: {c}");
        }
        // Contacts by SNI and DNS never carry a pixel kind: no path is visible there.
        assert!(
            r.events
                .iter()
                .filter(|e| e["kind"] == "tracker_contact" && e["via"] != "http")
                .all(|e| e.get("pixel").is_none())
        );
        // The referer and cookie are read (for leak scanning) but never written out.
        let text = serde_json::to_string(&r.events).unwrap();
        assert!(!text.contains("uid=u42") && !text.contains("mail.example.com/inbox"), "{capture}");
    }
}

#[test]
fn a_partial_key_log_leaves_flows_without_secrets_and_says_nothing_per_flow() {
    for (capture, want) in
        // (first half of the lines: the first connection's secrets; chromium-h1 sent both requests on it)
        [
            ("chromium-h1.pcap", (1, 1, 0, 0, 2)),
            ("tls12-h1.pcap", (1, 2, 0, 0, 1)),
            ("curl-h2.pcap", (1, 1, 0, 0, 1)),
        ]
    {
        let text = std::fs::read_to_string(keylog_dir().join(capture.replace(".pcap", ".keylog"))).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let half = lines[..lines.len() / 2].join("\n") + "\n";
        let dir = tempfile::tempdir().unwrap();
        let r = replay(capture, Some(&private_keylog(dir.path(), "half.keylog", &half)));
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(results(&r), want, "{capture}");
        assert_eq!(r.stderr, "", "{capture}: no error storm");
    }
}

#[test]
fn a_wrong_key_log_counts_failed_flows_and_at_most_one_line() {
    // The right client randoms with corrupted secrets: records do not open.
    let text = std::fs::read_to_string(keylog_dir().join("chromium-h1.keylog")).unwrap();
    let corrupted: String = text
        .lines()
        .map(|l| {
            let mut w: Vec<String> = l.split(' ').map(str::to_owned).collect();
            if let Some(secret) = w.get_mut(2) {
                let first = if secret.starts_with('0') { "1" } else { "0" };
                secret.replace_range(..1, first);
            }
            w.join(" ") + "\n"
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let r = replay("chromium-h1.pcap", Some(&private_keylog(dir.path(), "wrong.keylog", &corrupted)));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(results(&r), (0, 0, 0, 2, 0));
    assert!(decrypted(&r).is_empty());
    assert_eq!(r.stderr, "");
    // Another capture's key log: no secrets for these connections.
    let other = std::fs::read_to_string(keylog_dir().join("tls12-h1.keylog")).unwrap();
    let r = replay("chromium-h1.pcap", Some(&private_keylog(dir.path(), "other.keylog", &other)));
    assert_eq!(results(&r), (0, 2, 0, 0, 0));
    assert_eq!(r.stderr, "");
    // Garbage: one line says so, nothing more.
    let garbage = "CLIENT_RANDOM zz 00\n".repeat(500) + "not a key log\n";
    let r = replay("chromium-h1.pcap", Some(&private_keylog(dir.path(), "garbage.keylog", &garbage)));
    assert_eq!(r.code, 0);
    assert_eq!(results(&r), (0, 2, 0, 0, 0));
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("500 malformed lines"), "{}", r.stderr);
}

#[test]
fn a_key_log_readable_by_others_gives_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = own_keylog(dir.path(), "curl-h2.pcap");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = replay("curl-h2.pcap", Some(&path));
    assert_eq!(r.code, 0);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("readable by other users") && r.stderr.contains("chmod 600"), "{}", r.stderr);
    assert_eq!(decrypted(&r).len(), 3, "the warning does not stop decryption");
    // The warning never shows a secret.
    let text = std::fs::read_to_string(&path).unwrap();
    let secret = text.lines().next().unwrap().split(' ').nth(2).unwrap();
    assert!(!r.stderr.contains(secret));
}

#[test]
fn a_missing_key_log_is_a_usage_error_naming_it() {
    let (code, _, err) =
        run(&["replay", "--tls-keylog", "/nonexistent/pw.keylog", keylog_dir().join("curl-h2.pcap").to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent/pw.keylog"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn the_key_log_can_come_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let keylog = own_keylog(dir.path(), "tls12-h1.pcap");
    let config = dir.path().join("pw.toml");
    std::fs::write(&config, format!("tls_keylog = {:?}\n", keylog.to_str().unwrap())).unwrap();
    let (code, out, err) = run(&[
        "replay",
        "--config",
        config.to_str().unwrap(),
        "--summary",
        "json",
        keylog_dir().join("tls12-h1.pcap").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["tls_keylog"]["requests"], 3);
}

#[test]
fn metrics_pass_promtool() {
    let Ok(promtool) = which("promtool") else {
        eprintln!("skipping: promtool is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let r = replay("curl-h2.pcap", Some(&own_keylog(dir.path(), "curl-h2.pcap")));
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(r.metrics.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("pixelwatch_tls"), "{text}");
}

fn which(cmd: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(cmd)).find(|p| p.is_file()))
        .ok_or(())
}

/// A TLS server on 127.0.0.1 (python `ssl`, HTTP/1.1, every path a 1x1 GIF), one request per
/// connection; prints its port.
const SERVER: &str = r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.send_header("Content-Length", str(len(gif)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(gif)
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

#[test]
fn live_follows_a_growing_key_log() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: live capture needs root (or CAP_NET_RAW)");
        return;
    }
    let (Ok(curl), Ok(openssl), Ok(python)) = (which("curl"), which("openssl"), which("python3")) else {
        eprintln!("skipping: needs curl, openssl and python3");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new(openssl)
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=u1234.ct.sendgrid.net", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let mut server =
        Command::new(python).arg("-c").arg(SERVER).arg(&cert).arg(&key).stdout(Stdio::piped()).spawn().unwrap();
    let mut port = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut port).unwrap();
    let port: u16 = port.trim().parse().unwrap();

    // The key log does not exist yet: curl creates it.
    let keylog = dir.path().join("sslkeys.log");
    let events = dir.path().join("events.jsonl");
    let mut child = Command::new(bin())
        .args(["live", "-i", "lo", "-f", &format!("tcp port {port}"), "--listen", "127.0.0.1:0", "--events"])
        .arg(&events)
        .arg("--tls-keylog")
        .arg(&keylog)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut banner = String::new();
    while !banner.contains("capturing on") {
        banner.clear();
        assert!(stderr.read_line(&mut banner).unwrap() > 0, "no banner");
    }
    let addr = banner.split("http://").nth(1).and_then(|s| s.split("/metrics").next()).unwrap().to_owned();

    let fetch = |path: &str| {
        let status = Command::new(&curl)
            .args(["-sk", "--http1.1", "-o", "/dev/null", "--resolve"])
            .arg(format!("u1234.ct.sendgrid.net:{port}:127.0.0.1"))
            .arg(format!("https://u1234.ct.sendgrid.net:{port}{path}"))
            .env("SSLKEYLOGFILE", &keylog)
            .status()
            .unwrap();
        assert!(status.success());
    };
    fetch(&format!("/wf/open?upn=abc&em={HASH}"));
    fetch("/wf/click?upn=def");
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut text = String::new();
    while Instant::now() < deadline {
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        text.clear();
        conn.read_to_string(&mut text).unwrap();
        if text.contains("pixelwatch_tls_decrypted_flows_total{result=\"decrypted\"} 2") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert!(text.contains("pixelwatch_tls_decrypted_flows_total{result=\"decrypted\"} 2"), "{text}");
    let events = json_lines(&std::fs::read_to_string(&events).unwrap());
    let requests: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["kind"] == "http_host" && e["decrypted"] == true)
        .map(|e| (e["name"].as_str().unwrap(), e["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        requests,
        [
            ("u1234.ct.sendgrid.net", format!("/wf/open?upn=abc&em={HASH}").as_str()),
            ("u1234.ct.sendgrid.net", "/wf/click?upn=def")
        ]
    );
    let pixels: Vec<&Value> =
        events.iter().filter(|e| e["kind"] == "tracker_contact" && e["via"] == "http").map(|e| &e["pixel"]).collect();
    assert_eq!(pixels, [&Value::from("open"), &Value::from("click")]);
    // The secrets never reach an output.
    let keys = std::fs::read_to_string(&keylog).unwrap();
    let secret = keys.lines().find_map(|l| l.split(' ').nth(2)).unwrap();
    let all = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap() + &text + &rest;
    assert!(!all.contains(secret));
}

/// The case that started the project: the subscriber's hashed address inside HTTPS pixel URLs.
/// With each capture's key log, the MD5 of the test address is found in the decrypted request
/// targets (`https-path`) — HTTP/1.1 and HTTP/2, TLS 1.3 and 1.2 — and redacted everywhere;
/// without the key log nothing is claimed.
#[test]
fn hashed_address_in_https_pixels_is_found_only_with_the_key_log() {
    let dir = tempfile::tempdir().unwrap();
    // (capture, requests carrying the hash, the trackers that got it)
    let cases = [
        ("chromium-h1.pcap", 2, "solution.weborama.fr"),
        ("chromium-h2.pcap", 1, "sendgrid.net"),
        ("curl-h2.pcap", 2, "google-analytics.com sendgrid.net"),
        ("tls12-h1.pcap", 3, "solution.weborama.fr"),
    ];
    for (capture, n, trackers) in cases {
        let keylog = own_keylog(dir.path(), capture);
        let events = dir.path().join(format!("{capture}.jsonl"));
        let pcap = keylog_dir().join(capture);
        let base = [
            "replay",
            "--summary",
            "json",
            "--watch-address",
            "myemailaddress@example.com",
            "--events",
            events.to_str().unwrap(),
            pcap.to_str().unwrap(),
        ];
        let (code, out, err) = run(&base);
        assert_eq!(code, 0, "{err}");
        let leaks = |text: &str| -> Vec<Value> {
            json_lines(text).into_iter().filter(|e| e["kind"] == "address_leak").collect()
        };
        assert!(leaks(&std::fs::read_to_string(&events).unwrap()).is_empty(), "{capture}: no key log, no claim");
        let summary: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(summary["address_leaks"].as_array().unwrap().len(), 0);

        let mut with_key = base.to_vec();
        with_key.extend(["--tls-keylog", keylog.to_str().unwrap()]);
        let (code, out, err) = run(&with_key);
        assert_eq!(code, 0, "{err}");
        let text = std::fs::read_to_string(&events).unwrap();
        let found = leaks(&text);
        assert_eq!(found.len(), n, "{capture}: {found:#?}");
        for l in &found {
            assert_eq!(l["field"], "https-path", "{l}");
            assert_eq!(l["encoding"], "md5", "{l}");
            assert!(trackers.split(' ').any(|t| l["tracker"] == t), "{capture}: {l}");
        }
        for e in json_lines(&text).iter().filter(|e| e["kind"] == "http_host") {
            assert_eq!(e["decrypted"], true);
        }
        let lower = format!("{text}{out}").to_lowercase();
        assert!(!lower.contains("0bc83cb571cd1c50ba6f3e8a78ef1346"), "{capture}: the hash was written");
        assert!(lower.contains("[redacted:md5]"), "{capture}");
    }
}

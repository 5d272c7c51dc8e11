//! `--web.config.file` through the real binary: errors exit 2 naming the file, line and key;
//! basic auth (401 with WWW-Authenticate, 200 with the right password) over TLS checked with
//! curl trusting a self-signed certificate made by openssl; a real Prometheus scraping it with
//! `scheme: https` + `basic_auth` (and failing with a wrong password); client certificates.
//! Skips with a message when openssl, curl or prometheus are missing.

mod common;
mod service;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use service::{Prometheus, client_cert, self_signed, start_pixelwatch, value_of, wait_for, which};

const PASSWORD: &str = "correct horse battery staple";

fn example() -> String {
    std::fs::read_to_string(common::root().join("dist/web-config.yml")).unwrap()
}

/// The example web configuration with a real bcrypt hash of PASSWORD, written into `dir`.
fn example_with_hash(dir: &Path) -> std::path::PathBuf {
    let hash = bcrypt::hash(PASSWORD, 6).unwrap();
    let text = example().replace("REPLACE-WITH-A-BCRYPT-HASH", &format!("'{hash}'"));
    let file = dir.join("web-config.yml");
    std::fs::write(&file, text).unwrap();
    file
}

/// curl's exit status, the HTTP status code and the response headers + body.
fn curl(args: &[&str]) -> (i32, String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-D", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("run curl");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (text, code) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    (out.status.code().unwrap_or(-1), code.to_owned(), format!("{text}{}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn bad_web_configs_exit_2_naming_file_line_and_key() {
    let capture = common::capture("dns-tcp.pcap");
    let capture = capture.to_str().unwrap();
    // The example as shipped: its placeholder is refused, naming the line of the user.
    let path = common::root().join("dist/web-config.yml");
    let line = example().lines().position(|l| l.contains("REPLACE-WITH-A-BCRYPT-HASH")).unwrap() + 1;
    let (code, _, err) =
        common::run(&["replay", "--listen", "127.0.0.1:0", "--web.config.file", path.to_str().unwrap(), capture]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("web-config.yml:{line}: basic_auth_users.prometheus: not a bcrypt hash")), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yml");
    let f = file.to_str().unwrap();
    std::fs::write(&file, "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_versoin: TLS13\n").unwrap();
    let (code, _, err) = common::run(&["replay", "--web.config.file", f, "--listen", "127.0.0.1:0", capture]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("web.yml:4") && err.contains("min_versoin"), "{err}");
    // live reads it before opening the capture: no privileges needed to see the error.
    std::fs::write(&file, "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n").unwrap();
    let (code, _, err) = common::run(&["live", "-i", "lo", "--listen", "127.0.0.1:0", "--web.config.file", f]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("web.yml:2: tls_server_config.cert_file:") && err.contains("missing.crt"), "{err}");
    let (code, _, err) = common::run(&["live", "--web.config.file", "/nonexistent/web.yml", "-i", "lo"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--web.config.file /nonexistent/web.yml: cannot read"), "{err}");
    // The same through a --config file (the key is quoted in TOML because of its dots).
    let toml = dir.path().join("pixelwatch.toml");
    std::fs::write(&toml, "listen = \"127.0.0.1:0\"\n\"web.config.file\" = \"/nonexistent/web.yml\"\n").unwrap();
    let (code, _, err) = common::run(&["replay", "--config", toml.to_str().unwrap(), capture]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--web.config.file /nonexistent/web.yml: cannot read"), "{err}");
}

#[test]
fn basic_auth_over_tls_with_curl_and_a_real_prometheus() {
    if which("openssl").is_none() || which("curl").is_none() {
        eprintln!("skipping: needs openssl and curl");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tls")).unwrap();
    self_signed(&dir.path().join("tls"), "pixelwatch").expect("openssl req");
    let config = example_with_hash(dir.path());
    let capture = common::capture("mail-open-gateway.pcap");
    let pw = start_pixelwatch(
        &["replay", "--listen", "127.0.0.1:0", "--hold", "--summary", "none", "--web.config.file"]
            .into_iter()
            .chain([config.to_str().unwrap(), capture.to_str().unwrap()])
            .collect::<Vec<_>>(),
        false,
    );
    assert!(pw.proc.stderr_text().contains("/metrics on https://"), "{}", pw.proc.stderr_text());
    let url = format!("https://{}/metrics", pw.addr);
    let ca = dir.path().join("tls/pixelwatch.crt");
    let ca = ca.to_str().unwrap();
    let right = format!("prometheus:{PASSWORD}");

    let (exit, status, out) = curl(&["--cacert", ca, &url]);
    assert_eq!((exit, status.as_str()), (0, "401"), "no password: {out}");
    assert!(out.to_ascii_lowercase().contains("www-authenticate: basic realm=\"pixelwatch\""), "{out}");
    let (exit, status, out) = curl(&["--cacert", ca, "-u", "prometheus:wrong", &url]);
    assert_eq!((exit, status.as_str()), (0, "401"), "wrong password: {out}");
    let (exit, status, out) = curl(&["--cacert", ca, "-u", &format!("nobody:{PASSWORD}"), &url]);
    assert_eq!((exit, status.as_str()), (0, "401"), "unknown user: {out}");
    let (exit, status, out) = curl(&["--cacert", ca, "-u", &right, &url]);
    assert_eq!((exit, status.as_str()), (0, "200"), "right password: {out}");
    assert!(out.contains("pixelwatch_packets_total 261"), "{out}");
    assert!(out.to_ascii_lowercase().contains("x-content-type-options: nosniff"), "{out}");
    // Without trusting the certificate, or in plain HTTP, there is no answer at all.
    let (exit, _, out) = curl(&["-u", &right, &url]);
    assert_eq!(exit, 60, "an untrusted certificate is refused by curl: {out}");
    let (exit, _, out) = curl(&["-u", &right, &format!("http://{}/metrics", pw.addr)]);
    assert_ne!(exit, 0, "plain HTTP on the TLS port: {out}");

    // A real Prometheus scrapes it like the example's pixelwatch-lan job; a wrong password fails.
    if which("prometheus").is_none() {
        eprintln!("skipping the Prometheus part: prometheus is not installed");
        return;
    }
    std::fs::write(dir.path().join("right.password"), PASSWORD).unwrap();
    std::fs::write(dir.path().join("wrong.password"), "wrong").unwrap();
    let job = |name: &str, password: &str| {
        format!(
            "  - job_name: {name}\n    scheme: https\n    tls_config:\n      ca_file: {ca}\n    basic_auth:\n      \
             username: prometheus\n      password_file: {}\n    static_configs:\n      - targets: [\"{}\"]\n",
            dir.path().join(password).display(),
            pw.addr
        )
    };
    let prom = Prometheus::start_with(
        &(job("pixelwatch-lan", "right.password") + &job("pixelwatch-wrong", "wrong.password")),
        None,
    )
    .unwrap();
    let up = |job: &str| {
        let r = prom.query(&format!("max_over_time(up{{job=\"{job}\"}}[1m])")).ok()?;
        value_of(r.first()?)
    };
    wait_for("two scrapes", Duration::from_secs(30), || {
        let r = prom.query("count_over_time(up[1m]) >= 2").ok()?;
        (r.len() == 2).then_some(())
    });
    assert_eq!(up("pixelwatch-lan"), Some(1.0));
    assert_eq!(up("pixelwatch-wrong"), Some(0.0));
    let packets = prom.query("pixelwatch_packets_total").unwrap();
    assert_eq!(value_of(&packets[0]), Some(261.0));
}

#[test]
fn client_certificates_are_required_when_configured() {
    if which("openssl").is_none() || which("curl").is_none() {
        eprintln!("skipping: needs openssl and curl");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    self_signed(d, "server").expect("server certificate");
    client_cert(d, "client").expect("client certificate");
    self_signed(d, "stranger").expect("another certificate");
    let file = d.join("web.yml");
    std::fs::write(
        &file,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  \
         client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: client-ca.crt\n",
    )
    .unwrap();
    let capture = common::capture("dns-tcp.pcap");
    let pw = start_pixelwatch(
        &["replay", "--listen", "127.0.0.1:0", "--hold", "--summary", "none", "--web.config.file"]
            .into_iter()
            .chain([file.to_str().unwrap(), capture.to_str().unwrap()])
            .collect::<Vec<_>>(),
        false,
    );
    let url = format!("https://{}/metrics", pw.addr);
    let path = |n: &str| d.join(n).to_str().unwrap().to_owned();
    let (exit, status, out) =
        curl(&["--cacert", &path("server.crt"), "--cert", &path("client.crt"), "--key", &path("client.key"), &url]);
    assert_eq!((exit, status.as_str()), (0, "200"), "{out}");
    assert!(out.contains("pixelwatch_packets_total"), "{out}");
    let (exit, _, out) = curl(&["--cacert", &path("server.crt"), &url]);
    assert_ne!(exit, 0, "no client certificate: {out}");
    let (exit, _, out) =
        curl(&["--cacert", &path("server.crt"), "--cert", &path("stranger.crt"), "--key", &path("stranger.key"), &url]);
    assert_ne!(exit, 0, "a certificate of another CA: {out}");
}

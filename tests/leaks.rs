//! Address leaks through the real binary: the leaks of `captures/email/expected-opens.json`
//! (`--watch-address myemailaddress@example.com`: the MD5 in Weborama's request target), the
//! same address given in another case and from a file, a crafted capture with DNS-name,
//! Referer, Cookie, base64 and percent-encoded leaks, and the guarantee that no output (events,
//! summary text and JSON, metrics, standard error) holds the address or any precomputed form.

mod common;

use std::path::Path;

use common::{json_lines, root, run};
use pixelwatch::correlate::leaks::precomputed_forms;
use serde_json::Value;

const ME: &str = "myemailaddress@example.com";
const MD5: &str = "0bc83cb571cd1c50ba6f3e8a78ef1346";
const SHA1: &str = "6b933a5f1b8864ac6e72157b9c58d45913b6f32c";
const SHA256: &str = "84059b07d4be67b806386c0aad8070a23f18836bbaae342275dc0a83414c32ee";
const BASE64: &str = "bXllbWFpbGFkZHJlc3NAZXhhbXBsZS5jb20=";
const BASE64_OF_MD5: &str = "C8g8tXHNHFC6bz6KeO8TRg==";

/// Everything a replay wrote: events, summary (JSON or text), metrics exposition, stderr.
struct Outputs {
    events: String,
    summary: String,
    metrics: String,
    stderr: String,
}

fn replay(watch: &[&str], format: &str, events_all: bool, captures: &[&Path]) -> Outputs {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let metrics = dir.path().join("metrics.prom");
    let mut args: Vec<String> = vec!["replay".into(), "--no-progress".into(), "--summary".into(), format.into()];
    args.extend(["--events".into(), events.to_str().unwrap().into()]);
    args.extend(["--metrics-out".into(), metrics.to_str().unwrap().into()]);
    if events_all {
        args.push("--events-all".into());
    }
    args.extend(watch.iter().map(|s| s.to_string()));
    args.extend(captures.iter().map(|c| c.to_str().unwrap().to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    Outputs {
        events: std::fs::read_to_string(&events).unwrap(),
        summary: out,
        metrics: std::fs::read_to_string(&metrics).unwrap(),
        stderr: err,
    }
}

fn email(name: &str) -> std::path::PathBuf {
    root().join("captures/email").join(name)
}

/// (kind-specific fields) of the `address_leak` events.
fn leak_events(events: &str) -> Vec<Value> {
    json_lines(events).into_iter().filter(|e| e["kind"] == "address_leak").collect()
}

/// The expected leaks of a capture, as (client, ts, tracker, company, encoding, field).
fn expected(capture: &str) -> Vec<(String, String, String, String, String, String)> {
    let text = std::fs::read_to_string(root().join("captures/email/expected-opens.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["watched_address"], ME);
    v["captures"][capture]["address_leaks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            assert_eq!(l["field"], "http request target (query)");
            let s = |k: &str| l[k].as_str().unwrap().to_owned();
            (
                l["client"]["ipv4"].as_str().unwrap().to_owned(),
                s("ts"),
                s("tracker"),
                s("company"),
                s("encoding"),
                "http-path".into(),
            )
        })
        .collect()
}

fn got(events: &str) -> Vec<(String, String, String, String, String, String)> {
    leak_events(events)
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_owned();
            (s("client"), s("ts"), s("tracker"), s("company"), s("encoding"), s("field"))
        })
        .collect()
}

/// True when `text` holds `form` (ignoring ASCII case when the form's matching does).
fn holds(text: &str, form: &[u8], case_insensitive: bool) -> bool {
    let (hay, needle) = if case_insensitive {
        (text.to_ascii_lowercase().into_bytes(), form.to_ascii_lowercase())
    } else {
        (text.as_bytes().to_vec(), form.to_vec())
    };
    hay.windows(needle.len()).any(|w| w == needle)
}

/// No output holds the address, its MD5/SHA-256 (any case) or any precomputed form.
fn assert_nothing_leaks(o: &Outputs) {
    let mut forms = precomputed_forms(ME);
    for extra in [ME, MD5, SHA256, SHA1] {
        forms.push((extra.as_bytes().to_vec(), true));
    }
    assert!(forms.len() > 100, "{}", forms.len());
    for (what, text) in [("events", &o.events), ("summary", &o.summary), ("metrics", &o.metrics), ("stderr", &o.stderr)]
    {
        for (form, ci) in &forms {
            assert!(!holds(text, form, *ci), "{what} holds the form {}", String::from_utf8_lossy(form));
        }
    }
}

fn check_capture(capture: &str, watch: &[&str]) {
    let path = email(capture);
    let o = replay(watch, "json", false, &[&path]);
    assert_eq!(got(&o.events), expected(capture), "{capture}");
    let summary: Value = serde_json::from_str(&o.summary).unwrap();
    let rows = summary["address_leaks"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    let want = &expected(capture)[0];
    assert_eq!(
        (&row["tracker"], &row["company"], &row["category"], &row["encoding"], &row["field"], &row["count"]),
        (
            &Value::from(want.2.as_str()),
            &Value::from(want.3.as_str()),
            &Value::from("advertising"),
            &Value::from("md5"),
            &Value::from("http-path"),
            &Value::from(1)
        )
    );
    assert_eq!(row["first"], Value::from(want.1.as_str()));
    assert_eq!(row["clients"], serde_json::json!([want.0]));
    // The open it happened in carries it.
    let with_leaks: Vec<&Value> =
        summary["email_opens"].as_array().unwrap().iter().filter(|o| o.get("leaks").is_some()).collect();
    assert_eq!(with_leaks.len(), 1, "{capture}");
    assert_eq!(
        with_leaks[0]["leaks"],
        serde_json::json!([{"tracker": "solution.weborama.fr", "encoding": "md5", "field": "http-path"}])
    );
    let opens: Vec<Value> = json_lines(&o.events).into_iter().filter(|e| e["kind"] == "email_open").collect();
    assert_eq!(opens.iter().filter(|e| e.get("leaks").is_some()).count(), 1);
    assert!(
        o.metrics.contains(
            "pixelwatch_address_leaks_total{company=\"Weborama\",encoding=\"md5\",tracker=\"solution.weborama.fr\"} 1"
        ),
        "{}",
        o.metrics
    );
    // The request's path is shown redacted.
    assert!(o.events.contains("email_md5=[redacted:md5]"), "{capture}");
    assert_nothing_leaks(&o);
    let text = replay(watch, "text", true, &[&path]);
    assert!(
        text.summary.contains("Weborama (solution.weborama.fr, advertising): md5 in http-path, 1 time"),
        "{}",
        text.summary
    );
    assert_nothing_leaks(&text);
}

#[test]
fn the_expected_leaks_of_the_email_captures() {
    for capture in ["mail-opens-gateway.pcap", "mail-open-laptop.pcap"] {
        check_capture(capture, &["--watch-address", ME]);
    }
}

#[test]
fn an_address_typed_in_upper_case_with_spaces_is_the_same_address() {
    check_capture("mail-open-laptop.pcap", &["--watch-address", "  MYEMAILADDRESS@EXAMPLE.COM "]);
}

#[test]
fn addresses_from_a_file_and_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("watched.txt");
    std::fs::write(
        &file,
        "# mine\n\nother.person@example.org\nnot-an-address-secret\nMyEmailAddress@Example.com # main\n",
    )
    .unwrap();
    let capture = "mail-opens-gateway.pcap";
    let o = replay(&["--watch-addresses", file.to_str().unwrap()], "json", false, &[&email(capture)]);
    assert_eq!(got(&o.events), expected(capture));
    // The bad line is named by file and line, never by its content.
    assert!(o.stderr.contains(&format!("{}:4: not an e-mail address", file.display())), "{}", o.stderr);
    assert!(!o.stderr.contains("not-an-address-secret"), "{}", o.stderr);
    assert_nothing_leaks(&o);

    // TOML keys mirror the flags.
    let config = dir.path().join("pw.toml");
    std::fs::write(&config, format!("watch-address = [\"{ME}\"]\n")).unwrap();
    let (code, out, err) =
        run(&["--config", config.to_str().unwrap(), "replay", "--summary", "json", email(capture).to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["address_leaks"].as_array().unwrap().len(), 1);
}

#[test]
fn bad_addresses_and_files_are_usage_errors_that_do_not_repeat_the_value() {
    let capture = email("mail-open-laptop.pcap");
    let (code, _, err) =
        run(&["replay", "--watch-address", ME, "--watch-address", "secret-typo@", capture.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--watch-address #2") && !err.contains("secret-typo"), "{err}");
    let (code, _, err) = run(&["replay", "--watch-addresses", "/nonexistent/watched.txt", capture.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent/watched.txt"), "{err}");
    let (code, out, _) = run(&["replay", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--watch-address <ADDR>") && out.contains("--watch-addresses <FILE>"), "{out}");
}

// ---- A crafted capture: one packet per leak shape --------------------------------------------

const CLIENT: [u8; 4] = [10, 99, 0, 101];
const RESOLVER: [u8; 4] = [10, 99, 0, 1];
const SERVER: [u8; 4] = [192, 0, 2, 80];

/// An Ethernet + IPv4 frame (RFC 791, header checksum filled in) carrying `l4` of `protocol`.
fn ipv4_frame(protocol: u8, src: [u8; 4], dst: [u8; 4], l4: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0x99, 0, 0, 1, 1, 0x08, 0x00];
    let total = (20 + l4.len()) as u16;
    let mut ip = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0x40, 0, 64, protocol, 0, 0];
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let sum: u32 = ip.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum();
    let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(l4);
    f
}

/// A DNS query (RFC 1035 §4.1) for `name`, type A, over UDP to port 53.
fn dns_query(id: u16, name: &str, sport: u16) -> Vec<u8> {
    let mut msg = vec![(id >> 8) as u8, id as u8, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        msg.push(label.len() as u8);
        msg.extend_from_slice(label.as_bytes());
    }
    msg.extend_from_slice(&[0, 0, 1, 0, 1]);
    let len = (8 + msg.len()) as u16;
    let mut udp = vec![(sport >> 8) as u8, sport as u8, 0, 53, (len >> 8) as u8, len as u8, 0, 0];
    udp.extend_from_slice(&msg);
    ipv4_frame(17, CLIENT, RESOLVER, &udp)
}

/// TCP segments (RFC 9293) of one HTTP/1.1 request: SYN, SYN-ACK, ACK, the request.
fn http_request(sport: u16, request: &str) -> Vec<Vec<u8>> {
    let seg = |from_client: bool, flags: u8, seq: u32, ack: u32, data: &[u8]| {
        let (sp, dp) = if from_client { (sport, 80) } else { (80, sport) };
        let mut t = Vec::new();
        t.extend_from_slice(&sp.to_be_bytes());
        t.extend_from_slice(&dp.to_be_bytes());
        t.extend_from_slice(&seq.to_be_bytes());
        t.extend_from_slice(&ack.to_be_bytes());
        t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        t.extend_from_slice(data);
        let (src, dst) = if from_client { (CLIENT, SERVER) } else { (SERVER, CLIENT) };
        ipv4_frame(6, src, dst, &t)
    };
    vec![
        seg(true, 0x02, 1000, 0, b""),
        seg(false, 0x12, 5000, 1001, b""),
        seg(true, 0x10, 1001, 5001, b""),
        seg(true, 0x18, 1001, 5001, request.as_bytes()),
    ]
}

/// A classic pcap (LINKTYPE_ETHERNET) of `frames`, 10 ms apart.
fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut out = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
    for (i, f) in frames.iter().enumerate() {
        let (sec, usec) = (1_795_821_000u32, (i as u32) * 10_000);
        for v in [sec, usec, f.len() as u32, f.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn crafted_leaks_in_dns_names_referer_cookie_and_encoded_targets_are_found_and_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("leaks.pcap");
    let mut frames = vec![
        dns_query(1, &format!("{MD5}.open.sendgrid.net"), 40001),
        dns_query(2, &format!("{}.{}.t.unlisted-tracker.example", &SHA256[..32], &SHA256[32..]), 40002),
    ];
    frames.extend(http_request(
        40003,
        &format!(
            "GET /o?e=myemailaddress%40example.com&b={} HTTP/1.1\r\nHost: pixel.mailer.example\r\nReferer: http://news.example/view?email={ME}\r\nCookie: uid={SHA1}; h={BASE64_OF_MD5}\r\n\r\n",
            BASE64.replace('=', "%3D")
        ),
    ));
    frames.extend(http_request(
        40004,
        &format!("GET /collect?v=1&uid={}&r=%6dyemailaddress%2540example.com&z=1 HTTP/1.1\r\nHost: www.google-analytics.com\r\n\r\n", MD5.to_uppercase()),
    ));
    write_pcap(&pcap, &frames);

    let o = replay(&["--watch-address", ME], "json", true, &[&pcap]);
    let mut leaks: Vec<(String, String, String, String)> = leak_events(&o.events)
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_owned();
            (s("tracker"), s("category"), s("encoding"), s("field"))
        })
        .collect();
    leaks.sort();
    let t = |a: &str, b: &str, c: &str, d: &str| (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned());
    assert_eq!(
        leaks,
        [
            t("google-analytics.com", "analytics", "md5", "http-path"),
            t("google-analytics.com", "analytics", "urlencoded", "http-path"),
            t("sendgrid.net", "email", "md5", "dns-name"),
            t("unlisted", "unlisted", "base64", "http-path"),
            t("unlisted", "unlisted", "base64(md5)", "http-cookie"),
            t("unlisted", "unlisted", "plain", "http-referer"),
            t("unlisted", "unlisted", "sha1", "http-cookie"),
            t("unlisted", "unlisted", "sha256", "dns-name"),
            t("unlisted", "unlisted", "urlencoded", "http-path"),
        ]
    );
    // Every leak event has the flow and the client.
    for e in leak_events(&o.events) {
        assert_eq!(e["client"], "10.99.0.101");
        assert_eq!(e["src"], "10.99.0.101");
        assert!(e["ts"].as_str().unwrap().starts_with("2026-11-27T"));
    }
    // What was printed instead.
    let all = json_lines(&o.events);
    let names: Vec<&str> =
        all.iter().filter(|e| e["kind"] == "dns_query").map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["[redacted:md5].open.sendgrid.net", "[redacted:sha256].t.unlisted-tracker.example"]);
    let paths: Vec<&str> =
        all.iter().filter(|e| e["kind"] == "http_host").map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "/o?e=[redacted:urlencoded]&b=[redacted:base64]",
            "/collect?v=1&uid=[redacted:md5]&r=[redacted:urlencoded]&z=1"
        ]
    );
    assert!(
        o.metrics.contains(
            "pixelwatch_address_leaks_total{company=\"unlisted\",encoding=\"sha256\",tracker=\"unlisted\"} 1"
        ),
        "{}",
        o.metrics
    );
    assert_nothing_leaks(&o);
    let text = replay(&["--watch-address", ME], "text", true, &[&pcap]);
    assert_nothing_leaks(&text);

    // Without a watched address nothing is scanned or redacted.
    let plain = replay(&[], "json", true, &[&pcap]);
    assert!(leak_events(&plain.events).is_empty());
    assert!(plain.events.contains(MD5) && !plain.events.contains("[redacted"));
    let summary: Value = serde_json::from_str(&plain.summary).unwrap();
    assert_eq!(summary["address_leaks"], serde_json::json!([]));
}

#[test]
fn the_shared_corpus_holds_no_leak_of_a_watched_address() {
    let Some(corpus) = common::corpus() else {
        eprintln!("skipping: no corpus (set PIXELWATCH_CORPUS)");
        return;
    };
    let captures = common::captures_in(&corpus.join("pcaps"));
    assert!(!captures.is_empty());
    let paths: Vec<&Path> = captures.iter().map(|p| p.as_path()).collect();
    let watch = ["--watch-address", ME, "--watch-address", "Jane.Doe+news@Example.org"];
    let o = replay(&watch, "json", true, &paths);
    assert!(leak_events(&o.events).is_empty(), "{:?}", leak_events(&o.events));
    let summary: Value = serde_json::from_str(&o.summary).unwrap();
    assert_eq!(summary["address_leaks"], serde_json::json!([]));
    assert!(!o.events.contains("[redacted"), "redaction touched corpus traffic");
}

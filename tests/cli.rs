//! CLI tests: run the real binary and check exit codes, messages and outputs.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bin, capture, json_lines, run};

const GATEWAY: &str = "mail-open-gateway.pcap";

fn gateway() -> String {
    capture(GATEWAY).to_string_lossy().into_owned()
}

#[test]
fn help_teaches_the_subcommands() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for word in ["replay", "live", "check", "lists", "interfaces", "Examples", "Exit status"] {
        assert!(out.contains(word), "--help lacks {word}:\n{out}");
    }
    let (code, out, _) = run(&["replay", "--help"]);
    assert_eq!(code, 0);
    for word in ["--summary", "--metrics-out", "--listen", "--hold", "--events", "--events-all", "--list"] {
        assert!(out.contains(word), "replay --help lacks {word}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, err) = run(&["replay"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["replay", "--no-such-flag", "x.pcap"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["replay", "--summary", "xml", "x.pcap"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("xml"), "{err}");
}

#[test]
fn missing_list_file_exits_2_naming_it() {
    let (code, _, err) = run(&["check", "--list", "/nonexistent/trackers.txt", "example.com"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent/trackers.txt"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn missing_capture_exits_1_naming_it() {
    let (code, _, err) = run(&["replay", "--summary", "none", "/nonexistent/trace.pcap"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("/nonexistent/trace.pcap"), "{err}");
}

#[test]
fn garbage_capture_exits_1_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.pcap");
    std::fs::write(&path, b"this is not a capture file at all, just text\n").unwrap();
    let (code, _, err) = run(&["replay", "--summary", "none", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("garbage.pcap"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn truncated_capture_reports_the_packet_and_counts_what_came_before() {
    let full = std::fs::read(capture(GATEWAY)).expect("gateway capture");
    let (code, out, _) = run(&["replay", "--summary", "json", &gateway()]);
    assert_eq!(code, 0);
    let complete: serde_json::Value = serde_json::from_str(&out).unwrap();
    let total = complete["packets"].as_u64().unwrap();
    assert!(total > 20);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.pcap");
    std::fs::write(&path, &full[..full.len() * 2 / 3]).unwrap();
    let (code, out, err) = run(&["replay", "--summary", "json", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cut.pcap") && err.contains("packet "), "{err}");
    let partial: serde_json::Value = serde_json::from_str(&out).expect("summary still printed");
    let read = partial["packets"].as_u64().unwrap();
    assert!(read > 0 && read < total, "{read} of {total}");
    let n: u64 = err
        .split("packet ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|s| s.parse().ok())
        .expect("packet number in the message");
    assert_eq!(n, read + 1, "the failing packet is the one after the last counted: {err}");
}

#[test]
fn replay_summary_shows_tracker_contacts() {
    let (code, out, err) = run(&["replay", &gateway()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tracker contacts:"), "{out}");
    assert!(out.contains("Google"), "{out}");
    assert!(out.contains("Weborama"), "{out}");

    let (code, out, _) = run(&["replay", "--summary", "json", &gateway()]);
    assert_eq!(code, 0);
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in [
        "packets",
        "bytes",
        "observations",
        "tracker_contacts",
        "email_opens",
        "address_leaks",
        "decode_errors",
        "elapsed_seconds",
    ] {
        assert!(s.get(key).is_some(), "summary lacks {key}: {s}");
    }
    for kind in ["dns_query", "dns_answer", "tls_sni", "quic_sni", "http_host"] {
        assert!(s["observations"].get(kind).is_some(), "observations lacks {kind}");
    }
    let contacts = s["tracker_contacts"].as_array().unwrap();
    assert!(contacts.iter().any(|c| c["company"] == "Weborama"));
    for c in contacts {
        for via in ["dns", "tls", "quic", "http", "ip"] {
            assert!(c["via"].get(via).is_some(), "{c}");
        }
    }

    let (code, out, _) = run(&["replay", "--summary", "none", &gateway()]);
    assert_eq!(code, 0);
    assert!(out.is_empty(), "--summary none prints nothing: {out}");
}

#[test]
fn events_to_stdout_keep_the_summary_on_stderr() {
    let (code, out, err) = run(&["replay", "--events", "-", &gateway()]);
    assert_eq!(code, 0, "{err}");
    let events = json_lines(&out);
    assert!(events.iter().any(|e| e["kind"] == "tracker_contact"), "{out}");
    assert!(err.contains("tracker contacts:"), "{err}");
    for e in &events {
        for key in ["kind", "ts", "transport", "src", "dst", "sport", "dport"] {
            assert!(e.get(key).is_some(), "event lacks {key}: {e}");
        }
    }
}

#[test]
fn events_all_logs_more_than_the_tracker_related_ones() {
    let (_, some, _) = run(&["replay", "--summary", "none", "--events", "-", &gateway()]);
    let (_, all, _) = run(&["replay", "--summary", "none", "--events", "-", "--events-all", &gateway()]);
    let some = json_lines(&some);
    let all = json_lines(&all);
    assert!(all.len() > some.len(), "{} vs {}", all.len(), some.len());
    let names = |v: &[serde_json::Value]| -> Vec<String> {
        v.iter().filter(|e| e["kind"] == "dns_query").map(|e| e["name"].as_str().unwrap().to_owned()).collect()
    };
    assert!(names(&all).iter().any(|n| !n.contains("google") && !n.contains("weborama")));
}

#[test]
fn stdin_replay_equals_file_replay() {
    let (_, from_file, _) = run(&["replay", "--summary", "none", "--events", "-", "--events-all", &gateway()]);
    let mut child = Command::new(bin())
        .args(["replay", "--summary", "none", "--events", "-", "--events-all", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let data = std::fs::read(capture(GATEWAY)).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), from_file);
}

#[test]
fn metrics_out_is_written_and_clean() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pixelwatch.prom");
    let (code, _, err) = run(&["replay", "--summary", "none", "--metrics-out", path.to_str().unwrap(), &gateway()]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&path).unwrap();
    for name in [
        "pixelwatch_packets_total",
        "pixelwatch_bytes_total",
        "pixelwatch_observations_total{kind=\"dns_query\"}",
        "pixelwatch_tracker_contacts_total{",
        "pixelwatch_tracker_list_entries{list=\"embedded\"}",
        "pixelwatch_build_info{",
        "pixelwatch_flows",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().count() == 1, "no temporary file left beside the metrics file");
    if let Ok(out) =
        Command::new("promtool").args(["check", "metrics"]).stdin(Stdio::piped()).spawn().and_then(|mut c| {
            c.stdin.take().unwrap().write_all(text.as_bytes())?;
            c.wait_with_output()
        })
    {
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        eprintln!("promtool not installed: skipping `promtool check metrics`");
    }
}

#[test]
fn check_json_names_the_entry_or_null() {
    let (code, out, err) =
        run(&["check", "--json", "www.google-analytics.com", "notweborama.fr", "x.solution.weborama.fr."]);
    assert_eq!(code, 0, "{err}");
    let v = json_lines(&out);
    assert_eq!(v.len(), 3);
    assert_eq!(v[0]["name"], "www.google-analytics.com");
    assert_eq!(v[0]["category"], "analytics");
    assert_eq!(v[0]["list"], "embedded");
    assert!(v[1]["tracker"].is_null() && v[1]["company"].is_null(), "{}", v[1]);
    assert_eq!(v[2]["company"], "Weborama");
    for o in &v {
        for key in ["name", "tracker", "company", "category", "list"] {
            assert!(o.get(key).is_some(), "{o}");
        }
    }
    let (code, out, _) = run(&["check", "notweborama.fr"]);
    assert_eq!(code, 0);
    assert!(out.contains("no match"), "{out}");
}

#[test]
fn user_list_with_a_bad_line_warns_and_loads_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("mine.txt");
    std::fs::write(&list, "# my trackers\n0.0.0.0 pixel.example-tracker.net\n0.0.0.0 bad..name\n").unwrap();
    let (code, out, err) =
        run(&["check", "--no-default-list", "--list", list.to_str().unwrap(), "a.pixel.example-tracker.net"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("mine.txt:3"), "warning names file:line: {err}");
    assert!(out.contains("pixel.example-tracker.net"), "{out}");
    let (code, out, _) = run(&["lists", "--no-default-list", "--list", list.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("mine.txt") && out.contains("1 entries") || out.contains("1 entry"), "{out}");
}

#[test]
fn lists_shows_the_embedded_list() {
    let (code, out, _) = run(&["lists"]);
    assert_eq!(code, 0);
    assert!(out.contains("embedded"), "{out}");
    assert!(out.contains("mail-access") && out.contains("analytics"), "{out}");
}

#[test]
fn interfaces_lists_loopback() {
    let (code, out, err) = run(&["interfaces"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l.starts_with("lo")), "{out}");
}

#[test]
fn listen_and_hold_serve_metrics_until_sigterm() {
    let mut child = Command::new(bin())
        .args(["replay", "--summary", "none", "--listen", "127.0.0.1:0", "--hold", &gateway()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The bound address is printed on stderr.
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 256];
    while !seen.contains("still serving") && Instant::now() < deadline {
        let n = stderr.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let addr = seen
        .split("http://")
        .nth(1)
        .and_then(|s| s.split("/metrics").next())
        .unwrap_or_else(|| panic!("no address in {seen}"))
        .to_owned();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    conn.read_to_string(&mut resp).unwrap();
    assert!(resp.contains("pixelwatch_packets_total"), "{resp}");
    assert!(resp.to_ascii_lowercase().contains("text/plain; version=0.0.4"));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn config_file_sets_options_and_bad_keys_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let config = dir.path().join("pixelwatch.toml");
    std::fs::write(
        &config,
        format!("# replay settings\nevents = {:?}\nevents-all = true\nsummary = \"none\"\n", events),
    )
    .unwrap();
    let (code, out, err) = run(&["replay", "--config", config.to_str().unwrap(), &gateway()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "summary = none from the file: {out}");
    let logged = json_lines(&std::fs::read_to_string(&events).unwrap());
    assert!(logged.iter().any(|e| e["name"] == "www.example.org"), "events-all from the file");

    std::fs::write(&config, "events = \"x.jsonl\"\n\nevnets-all = true\n").unwrap();
    let (code, _, err) = run(&["replay", "--config", config.to_str().unwrap(), &gateway()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("pixelwatch.toml:3") && err.contains("evnets-all"), "{err}");
}

//! Live capture through the real binary on the loopback interface: real packets sent by the test,
//! /metrics scraped while it runs, SIGTERM, then the event log must be complete. Needs root (or
//! CAP_NET_RAW); skips with a message otherwise. Also: the one-line permission error.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bin, json_lines};

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A DNS query (RFC 1035 §4.1) for `name`, type A.
fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

fn scrape(addr: &str) -> String {
    let mut conn = TcpStream::connect(addr).expect("connect to /metrics");
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    conn.read_to_string(&mut resp).unwrap();
    resp
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(name)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok())
}

#[test]
fn live_capture_on_loopback_counts_and_flushes_on_sigterm() {
    if !is_root() {
        eprintln!("skipping: live capture needs root (or CAP_NET_RAW); CI runs as root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    // A port of our own so other loopback traffic does not disturb the counts.
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sink.local_addr().unwrap().port();
    let filter = format!("udp and host 127.0.0.1 and (port 53 and src port {port})");
    let mut child = Command::new(bin())
        .args(["live", "-i", "lo", "-f", &filter, "--listen", "127.0.0.1:0", "--events"])
        .arg(&events)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut banner = String::new();
    stderr.read_line(&mut banner).unwrap();
    assert!(banner.contains("capturing on lo"), "{banner}");
    let addr = banner
        .split("http://")
        .nth(1)
        .and_then(|s| s.split("/metrics").next())
        .unwrap_or_else(|| panic!("no metrics address in {banner}"))
        .to_owned();

    // Real packets: DNS queries for a tracker and for an ordinary name, from our socket to :53.
    for i in 0..5u16 {
        sink.send_to(&dns_query(i, "www.google-analytics.com"), "127.0.0.1:53").unwrap();
        sink.send_to(&dns_query(100 + i, "www.example.org"), "127.0.0.1:53").unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    // TPACKET_V3 hands packets over in blocks (up to the 100 ms timeout): wait for the counts.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    while Instant::now() < deadline {
        text = scrape(&addr);
        // Capture statistics are exported about once a second.
        if metric(&text, "pixelwatch_observations_total{kind=\"dns_query\"}") == Some(10.0)
            && text.contains("pixelwatch_capture_dropped_packets_total")
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(metric(&text, "pixelwatch_observations_total{kind=\"dns_query\"}"), Some(10.0), "{text}");
    assert_eq!(metric(&text, "pixelwatch_packets_total"), Some(10.0), "{text}");
    assert!(text.contains("pixelwatch_tracker_contacts_total{category=\"analytics\",company=\"Google\""), "{text}");
    assert!(text.contains("pixelwatch_capture_dropped_packets_total{reason=\"kernel\"} 0"), "{text}");

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM ends a live capture with status 0");
    let events = json_lines(&std::fs::read_to_string(&events).unwrap());
    let queries = events.iter().filter(|e| e["kind"] == "dns_query").count();
    let contacts = events.iter().filter(|e| e["kind"] == "tracker_contact").count();
    // Without --events-all only the tracker lookups are logged; each distinct id is a lookup,
    // but lookups of one name within 2 s are one contact.
    assert_eq!(queries, 5, "{events:?}");
    assert_eq!(contacts, 1, "{events:?}");
}

#[test]
fn live_capture_without_privileges_says_how_to_grant_them() {
    if !is_root() {
        eprintln!("skipping: needs root to run the binary as another user");
        return;
    }
    let Ok(setpriv) = which("setpriv") else {
        eprintln!("skipping: setpriv (util-linux) is not installed");
        return;
    };
    let out = Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"])
        .arg(bin())
        .args(["live", "-i", "lo"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("Permission denied") && err.contains("os error 13") && !err.contains("pixelwatch") {
        eprintln!("skipping: the test binary is not reachable by user nobody: {err}");
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("setcap cap_net_raw,cap_net_admin+ep") && err.contains("root"), "{err}");
}

fn which(cmd: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join(cmd)).find(|p| p.is_file()))
        .ok_or(())
}

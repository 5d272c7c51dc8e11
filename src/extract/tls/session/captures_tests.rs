//! The whole component path on the recorded captures of `captures/keylog/` (record.sh: Chromium,
//! curl with SSLKEYLOGFILE, against a python HTTP/1.1 TLS server and nginx HTTP/2): TCP streams
//! pulled from the pcap, ClientHello + ServerHello parsed, secrets from the capture's own key log,
//! client records decrypted, requests read. Also: partial and wrong key logs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::extract::Outcome;
use crate::extract::tls::keylog::KeyLogLimits;
use crate::extract::tls::parse_client_hello_stream;
use crate::model::Ts;

const HASH: &str = "0bc83cb571cd1c50ba6f3e8a78ef1346"; // MD5("myemailaddress@example.com")

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("captures/keylog")
}

/// One TCP connection: the client's and the server's payload bytes, in sequence order.
#[derive(Default)]
struct Connection {
    client: Vec<u8>,
    server: Vec<u8>,
}

/// TCP connections of a clean capture (no loss, no reordering), keyed by first SYN order.
/// Retransmissions (sequence numbers already seen) are dropped.
fn connections(name: &str) -> Vec<Connection> {
    let mut cap = pcap::Capture::from_file(dir().join(name)).expect("capture");
    type Key = (std::net::IpAddr, u16, std::net::IpAddr, u16);
    let mut by_key: BTreeMap<usize, Connection> = BTreeMap::new();
    let mut index: Vec<(Key, usize, [u32; 2])> = Vec::new();
    while let Ok(packet) = cap.next_packet() {
        let Ok(sliced) = etherparse::SlicedPacket::from_ethernet(packet.data) else { continue };
        let (Some(net), Some(etherparse::TransportSlice::Tcp(tcp))) = (&sliced.net, &sliced.transport) else {
            continue;
        };
        let (src, dst) = match net {
            etherparse::NetSlice::Ipv4(ip) => (ip.header().source_addr().into(), ip.header().destination_addr().into()),
            etherparse::NetSlice::Ipv6(ip) => (ip.header().source_addr().into(), ip.header().destination_addr().into()),
            _ => continue,
        };
        let (sport, dport) = (tcp.source_port(), tcp.destination_port());
        if tcp.syn() && !tcp.ack() {
            let n = index.len();
            index.push(((src, sport, dst, dport), n, [tcp.sequence_number().wrapping_add(1), 0]));
            by_key.insert(n, Connection::default());
            continue;
        }
        let found = index.iter_mut().find_map(|(k, n, seqs)| {
            if *k == (src, sport, dst, dport) {
                Some((*n, 0usize, seqs))
            } else if *k == (dst, dport, src, sport) {
                Some((*n, 1usize, seqs))
            } else {
                None
            }
        });
        let Some((n, dir, seqs)) = found else { continue };
        if tcp.syn() {
            seqs[1] = tcp.sequence_number().wrapping_add(1);
            continue;
        }
        let payload = tcp.payload();
        if payload.is_empty() || tcp.sequence_number() != seqs[dir] {
            continue;
        }
        seqs[dir] = seqs[dir].wrapping_add(payload.len() as u32);
        let conn = by_key.get_mut(&n).unwrap();
        if dir == 0 { &mut conn.client } else { &mut conn.server }.extend_from_slice(payload);
    }
    by_key.into_values().collect()
}

fn key_log_text(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).expect("key log")
}

fn key_log(text: &str) -> KeyLog {
    let mut log = KeyLog::new(KeyLogLimits::default());
    log.feed(text.as_bytes(), Ts(0));
    log.finish(Ts(0));
    log
}

/// What one connection gave: its suite and requests, or why it could not be decrypted.
fn run_connection(conn: &Connection, keys: &KeyLog) -> Result<(u16, Vec<DecryptedRequest>), NewError> {
    let Outcome::Found(ch) = parse_client_hello_stream(&conn.client) else { panic!("no ClientHello") };
    let Outcome::Found(sh) = parse_server_hello_stream(&conn.server) else { panic!("no ServerHello") };
    let mut d = ClientDecryptor::new(&ch, &sh, keys)?;
    let mut plain = Vec::new();
    // Feed the client stream from its first byte, in segments of 700 bytes.
    for chunk in conn.client.chunks(700) {
        d.feed(chunk, &mut plain);
    }
    assert!(!matches!(d.status(), Status::Stopped(Stop::BadRecord | Stop::NotTls | Stop::Oversized)), "{d:?}");
    let mut reader = RequestReader::new();
    let mut out = Vec::new();
    reader.feed(&plain, &mut out);
    Ok((sh.cipher_suite, out))
}

fn all_requests(capture: &str, keylog: &str) -> (Vec<u16>, Vec<DecryptedRequest>) {
    let keys = key_log(&key_log_text(keylog));
    let mut suites = Vec::new();
    let mut reqs = Vec::new();
    for conn in connections(capture) {
        let (suite, r) = run_connection(&conn, &keys).expect("secrets in the capture's key log");
        suites.push(suite);
        reqs.extend(r);
    }
    (suites, reqs)
}

fn s(b: &Option<Vec<u8>>) -> Option<&str> {
    b.as_deref().map(|v| std::str::from_utf8(v).unwrap())
}

fn path(r: &DecryptedRequest) -> &str {
    std::str::from_utf8(&r.path).unwrap()
}

#[test]
fn chromium_http1_over_tls13() {
    let (suites, reqs) = all_requests("chromium-h1.pcap", "chromium-h1.keylog");
    assert_eq!(suites, [0x1302, 0x1302]); // TLS_AES_256_GCM_SHA384 (the python server's choice)
    let paths: Vec<&str> = reqs.iter().map(path).collect();
    assert_eq!(
        paths,
        [format!("/fcgi-bin/dispatch.fcgi?a.A=co&a.si=123&email_md5={HASH}"), format!("/px/{HASH}/open.gif")]
    );
    for r in &reqs {
        assert_eq!((&r.method[..], r.http2), (&b"GET"[..], false));
        assert_eq!(s(&r.authority), Some("bouyguestelecom.solution.weborama.fr"));
    }
}

#[test]
fn chromium_http2_over_tls13() {
    let (suites, reqs) = all_requests("chromium-h2.pcap", "chromium-h2.keylog");
    assert_eq!(suites, [0x1301, 0x1301]); // Chromium opened a spare connection that sent nothing
    let got: Vec<(u32, &str)> = reqs.iter().map(|r| (r.stream_id, path(r))).collect();
    assert_eq!(got, [(1, format!("/wf/open?upn=abc&em={HASH}").as_str()), (3, "/wf/open?upn=def")]);
    for r in &reqs {
        assert!(r.http2);
        assert_eq!(s(&r.authority), Some("u1234.ct.sendgrid.net"));
    }
}

#[test]
fn curl_http2_aes256_and_chacha20() {
    let (suites, reqs) = all_requests("curl-h2.pcap", "curl-h2.keylog");
    assert_eq!(suites, [0x1302, 0x1303]);
    assert_eq!(reqs.len(), 3);
    assert_eq!(s(&reqs[0].authority), Some("www.google-analytics.com"));
    assert!(path(&reqs[0]).ends_with(&format!("&cd1={HASH}")));
    assert_eq!(s(&reqs[0].referer), Some("https://mail.example.com/inbox"));
    assert_eq!(s(&reqs[0].cookie), Some("uid=u42"));
    // Two requests on one connection: the second's :authority comes from the dynamic table.
    assert_eq!((path(&reqs[1]), reqs[1].stream_id), (format!("/wf/open?upn=abc&em={HASH}").as_str(), 1));
    assert_eq!((path(&reqs[2]), reqs[2].stream_id), ("/wf/open?upn=def", 3));
    assert_eq!(s(&reqs[2].authority), Some("u1234.ct.sendgrid.net"));
}

#[test]
fn curl_tls12_gcm_and_chacha20() {
    let (suites, reqs) = all_requests("tls12-h1.pcap", "tls12-h1.keylog");
    assert_eq!(suites, [0xc02b, 0xc02c, 0xcca9]);
    let names = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"];
    assert_eq!(reqs.len(), 3);
    for (r, name) in reqs.iter().zip(names) {
        assert_eq!(path(r), format!("/fcgi-bin/dispatch.fcgi?a.A=co&a.si=123&email_md5={HASH}&c={name}"));
        assert_eq!(s(&r.authority), Some("bouyguestelecom.solution.weborama.fr"));
    }
}

#[test]
fn partial_and_wrong_key_logs_give_missing_secrets_per_flow() {
    // Only the handshake secrets (CLIENT_TRAFFIC_SECRET_0 lines removed): every flow is "missing".
    let text = key_log_text("chromium-h2.keylog");
    let partial: String =
        text.lines().filter(|l| !l.starts_with("CLIENT_TRAFFIC_SECRET_0")).map(|l| format!("{l}\n")).collect();
    for conn in connections("chromium-h2.pcap") {
        assert_eq!(
            run_connection(&conn, &key_log(&partial)).unwrap_err(),
            NewError::Missing(Missing::NoClientTrafficSecret)
        );
        assert_eq!(run_connection(&conn, &key_log("")).unwrap_err(), NewError::Missing(Missing::NoKeyLogEntry));
    }
    // Another capture's key log: no entry for these randoms.
    let other = key_log(&key_log_text("curl-h2.keylog"));
    for conn in connections("tls12-h1.pcap") {
        assert_eq!(run_connection(&conn, &other).unwrap_err(), NewError::Missing(Missing::NoKeyLogEntry));
    }
    // Right random, wrong master secret: the first protected record fails; nothing is claimed.
    let tls12 = key_log_text("tls12-h1.keylog");
    let wrong: String = tls12
        .lines()
        .map(|l| {
            let (head, secret) = l.rsplit_once(' ').unwrap();
            format!("{head} {}\n", "00".repeat(secret.len() / 2))
        })
        .collect();
    let keys = key_log(&wrong);
    for conn in connections("tls12-h1.pcap") {
        let Outcome::Found(ch) = parse_client_hello_stream(&conn.client) else { panic!() };
        let Outcome::Found(sh) = parse_server_hello_stream(&conn.server) else { panic!() };
        let mut d = ClientDecryptor::new(&ch, &sh, &keys).unwrap();
        let mut plain = Vec::new();
        assert_eq!(d.feed(&conn.client, &mut plain), Status::Stopped(Stop::BadRecord));
        assert!(plain.is_empty());
    }
}

#[test]
fn key_logs_of_the_captures_parse_cleanly() {
    for (name, lines, secrets) in [
        ("chromium-h1.keylog", 10, 4),
        ("chromium-h2.keylog", 10, 4),
        ("curl-h2.keylog", 10, 4),
        ("tls12-h1.keylog", 3, 3),
    ] {
        let log = key_log(&key_log_text(name));
        let st = log.stats();
        assert_eq!((st.lines, st.secrets, st.bad_lines, st.unknown_labels), (lines, secrets, 0, 0), "{name}");
    }
}

/// Indicative cost of one decrypted flow (ClientHello + ServerHello parse, key derivation, every
/// client record opened, requests read). Printed with `--nocapture`; not asserted.
#[test]
fn cost_per_decrypted_flow() {
    for (capture, keylog) in [
        ("chromium-h1.pcap", "chromium-h1.keylog"),
        ("chromium-h2.pcap", "chromium-h2.keylog"),
        ("curl-h2.pcap", "curl-h2.keylog"),
        ("tls12-h1.pcap", "tls12-h1.keylog"),
    ] {
        let keys = key_log(&key_log_text(keylog));
        let conns = connections(capture);
        let rounds = 50;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            for c in &conns {
                let _ = run_connection(c, &keys).unwrap();
            }
        }
        let per_flow = start.elapsed() / (rounds * conns.len() as u32);
        let bytes: usize = conns.iter().map(|c| c.client.len()).sum::<usize>() / conns.len();
        eprintln!("{capture}: {per_flow:?} per flow ({bytes} client bytes per flow on average)");
    }
}

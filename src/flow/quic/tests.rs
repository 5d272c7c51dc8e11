//! Tests of the QUIC handshake tracker: RFC vectors, synthetic multi-Initial / Retry / new
//! connection cases built with the RFC 9001 §5 procedure, bounds, and real corpus captures.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use super::testutil::{corpus, corpus_pcap, crypto_frame, protect_initial, udp_datagrams};
use super::*;
use crate::extract::quic::tests::{hex, sni_of};
use crate::extract::quic::vectors::{RFC9001_A2_CRYPTO_FRAME, RFC9001_A2_PACKET, RFC9369_A2_PACKET};
use crate::extract::quic::{VERSION_1, VERSION_2};

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 99, 1, 1));
const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 99, 1, 2));
const DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];

fn from_client(t: &mut QuicTracker, ts: i64, port: u16, payload: &[u8]) -> QuicOutcome {
    t.datagram(Ts(ts), CLIENT, port, SERVER, 443, payload)
}

fn hello_sni(o: &QuicOutcome) -> Option<(u32, String)> {
    match o {
        QuicOutcome::ClientHello { version, hello, .. } => Some((*version, sni_of(hello)?)),
        _ => None,
    }
}

/// The ClientHello of RFC 9001 A.2 (the CRYPTO frame's data).
fn rfc_hello() -> Vec<u8> {
    hex(RFC9001_A2_CRYPTO_FRAME)[4..].to_vec()
}

#[test]
fn rfc_vectors_through_the_tracker_once_each() {
    let mut t = QuicTracker::new(QuicLimits::default());
    let v1 = hex(RFC9001_A2_PACKET);
    assert_eq!(hello_sni(&from_client(&mut t, 0, 50_000, &v1)), Some((VERSION_1, "example.com".into())));
    assert_eq!(from_client(&mut t, 1, 50_000, &v1), QuicOutcome::None, "a retransmission is not reported again");
    let v2 = hex(RFC9369_A2_PACKET);
    assert_eq!(hello_sni(&from_client(&mut t, 2, 50_001, &v2)), Some((VERSION_2, "example.com".into())));
    let s = t.stats();
    assert_eq!((s.connections, s.client_hellos, s.initials_opened, s.buffered_bytes), (2, 2, 2, 0));
}

#[test]
fn short_headers_touch_nothing() {
    let mut t = QuicTracker::new(QuicLimits::default());
    for i in 0..1000u16 {
        assert_eq!(from_client(&mut t, 0, i, &[0x40 | (i as u8 & 0x3f), 1, 2, 3, 4, 5, 6, 7]), QuicOutcome::None);
    }
    assert_eq!(from_client(&mut t, 0, 1, &[]), QuicOutcome::NotQuic);
    assert_eq!(t.stats().connections, 0);
}

#[test]
fn hello_over_two_initials_out_of_order_with_the_server_dcid() {
    let hello = rfc_hello();
    let (a, b) = hello.split_at(100);
    // Packet 1: the second half, then the first 10 bytes, with PING and PADDING between.
    let mut p1 = crypto_frame(100, b);
    p1.extend([0x01, 0x00, 0x00]);
    p1.extend(crypto_frame(0, &a[..10]));
    // Packet 2 uses the server's connection ID but the original keys (RFC 9001 §5.2).
    let p2 = [crypto_frame(5, &a[5..]), crypto_frame(0, &a[..7])].concat();
    let server_cid = [9u8; 5];
    let d1 = protect_initial(VERSION_1, &DCID, &DCID, &[1, 2, 3], 0, &p1, 1200);
    let d2 = protect_initial(VERSION_1, &DCID, &server_cid, &[1, 2, 3], 1, &p2, 1200);
    let mut t = QuicTracker::new(QuicLimits::default());
    assert_eq!(from_client(&mut t, 0, 40_000, &d1), QuicOutcome::Pending);
    let o = from_client(&mut t, 1, 40_000, &d2);
    assert_eq!(hello_sni(&o), Some((VERSION_1, "example.com".into())));
    let QuicOutcome::ClientHello { hello: got, initials, crypto_frames, .. } = o else { unreachable!() };
    // Four frames, of which the last repeats bytes already held.
    assert_eq!((got, initials, crypto_frames), (hello, 2, 3));
    assert_eq!(t.stats().undecryptable, 0);
}

#[test]
fn retry_then_new_keys_and_a_new_connection_on_the_same_tuple() {
    let hello = rfc_hello();
    let mut t = QuicTracker::new(QuicLimits::default());
    // The first Initial carries half the hello (its second packet never leaves before the Retry).
    let d1 = protect_initial(VERSION_1, &DCID, &DCID, &[7; 4], 0, &crypto_frame(0, &hello[..120]), 1200);
    assert_eq!(from_client(&mut t, 0, 40_001, &d1), QuicOutcome::Pending);
    // Retry from the server (RFC 9000 §17.2.5): SCID R, token, 16-byte integrity tag.
    let r = [0xaa; 8];
    let mut retry = vec![0xf0, 0, 0, 0, 1, 4, 7, 7, 7, 7, 8];
    retry.extend(r);
    retry.extend(b"token");
    retry.extend([0u8; 16]);
    assert_eq!(t.datagram(Ts(1), SERVER, 443, CLIENT, 40_001, &retry), QuicOutcome::None);
    // The client starts again with DCID R and keys from R.
    let d2 = protect_initial(VERSION_1, &r, &r, &[7; 4], 1, &crypto_frame(0, &hello), 1200);
    assert_eq!(hello_sni(&from_client(&mut t, 2, 40_001, &d2)), Some((VERSION_1, "example.com".into())));
    assert_eq!(from_client(&mut t, 3, 40_001, &d2), QuicOutcome::None);
    // The same hello under a third connection ID is the same handshake: not reported again.
    let d3 = protect_initial(VERSION_1, &[5; 8], &[5; 8], &[7; 4], 2, &crypto_frame(0, &hello), 1200);
    assert_eq!(from_client(&mut t, 4, 40_001, &d3), QuicOutcome::None);
    assert_eq!(t.stats().duplicate_hellos, 1);
    // A new connection (new random) on the same 5-tuple is reported.
    let mut other = hello.clone();
    other[10] ^= 0xff;
    let d4 = protect_initial(VERSION_1, &[6; 8], &[6; 8], &[7; 4], 0, &crypto_frame(0, &other), 1200);
    assert_eq!(hello_sni(&from_client(&mut t, 5, 40_001, &d4)), Some((VERSION_1, "example.com".into())));
    assert_eq!(t.stats().client_hellos, 2);
}

#[test]
fn unsupported_versions_are_counted_by_version() {
    let mut t = QuicTracker::new(QuicLimits::default());
    // Version negotiation from a server (RFC 9000 §17.2.1) and a reserved version (§15).
    let vn = [0x80, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4, 0, 0, 0, 1];
    assert_eq!(t.datagram(Ts(0), SERVER, 443, CLIENT, 5, &vn), QuicOutcome::Unsupported { version: 0 });
    let mut grease = hex(RFC9001_A2_PACKET);
    grease[1..5].copy_from_slice(&0x1a2a_3a4a_u32.to_be_bytes());
    assert_eq!(from_client(&mut t, 1, 9, &grease), QuicOutcome::Unsupported { version: 0x1a2a_3a4a });
    assert_eq!(from_client(&mut t, 2, 9, &grease), QuicOutcome::Unsupported { version: 0x1a2a_3a4a });
    // An unknown version in a short datagram is not counted as QUIC.
    assert_eq!(from_client(&mut t, 3, 9, &[0xc0, 0x12, 0x34, 0x56, 0x78, 0, 0]), QuicOutcome::NotQuic);
    let s = t.stats();
    assert_eq!(s.unsupported, vec![(0, 1), (0x1a2a_3a4a, 2)]);
    assert_eq!((s.connections, s.not_quic), (0, 1));
}

#[test]
fn idle_connections_expire_in_capture_time() {
    let hello = rfc_hello();
    let mut t = QuicTracker::new(QuicLimits::default());
    let d = protect_initial(VERSION_1, &DCID, &DCID, &[], 0, &crypto_frame(0, &hello[..50]), 1200);
    assert_eq!(from_client(&mut t, 0, 1, &d), QuicOutcome::Pending);
    assert!(t.stats().buffered_bytes >= 50);
    t.expire(Ts(29 * Ts::MICROS_PER_SEC));
    assert_eq!(t.stats().connections, 1);
    t.expire(Ts(31 * Ts::MICROS_PER_SEC));
    let s = t.stats();
    assert_eq!((s.connections, s.buffered_bytes, s.evicted_timeout, s.evicted_incomplete), (0, 0, 1, 1));
}

/// Many connections that each buffer part of a large hello: the caps hold.
fn flood(t: &mut QuicTracker, n: u32, random_dcids: bool) {
    let mut big = vec![1, 0, 0x30, 0x00]; // a 12 KiB ClientHello, of which 1000 bytes are sent
    big.resize(1000, 0x41);
    let fixed = protect_initial(VERSION_1, &DCID, &DCID, &[], 0, &crypto_frame(0, &big), 1200);
    for i in 0..n {
        let src = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i >> 8)));
        let d = if random_dcids {
            // Not decryptable: a random DCID and garbage.
            let mut d = fixed.clone();
            d[6..14].copy_from_slice(&u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
            d
        } else {
            fixed.clone()
        };
        t.datagram(Ts(i64::from(i)), src, (i & 0xff) as u16 + 1024, SERVER, 443, &d);
        if i % 4096 == 0 {
            let s = t.stats();
            assert!(s.connections <= t.limits.max_connections);
            assert!(s.buffered_bytes <= t.limits.max_buffer_bytes);
        }
    }
}

#[test]
fn bounds_hold_under_many_handshakes() {
    let limits = QuicLimits { max_connections: 500, max_buffer_bytes: 256 * 1024, ..QuicLimits::default() };
    let mut t = QuicTracker::new(limits);
    flood(&mut t, 20_000, false);
    let s = t.stats();
    assert_eq!(s.connections, 500);
    assert!(s.buffered_bytes <= 256 * 1024, "{}", s.buffered_bytes);
    assert!(s.fragments_refused > 0 && s.evicted_capacity >= 19_500, "{s:?}");
    let mut t = QuicTracker::new(limits);
    flood(&mut t, 20_000, true);
    let s = t.stats();
    assert_eq!((s.connections, s.buffered_bytes, s.undecryptable), (0, 0, 20_000));
}

/// 1 M handshakes: `cargo test --release -- --ignored million`.
#[test]
#[ignore]
fn million_handshakes_and_random_dcids_stay_within_caps() {
    let limits = QuicLimits::default();
    for random in [false, true] {
        let mut t = QuicTracker::new(limits);
        let start = std::time::Instant::now();
        flood(&mut t, 1_000_000, random);
        let s = t.stats();
        eprintln!("random DCIDs {random}: {:?} in {:?}", s, start.elapsed());
        assert!(s.connections <= limits.max_connections && s.buffered_bytes <= limits.max_buffer_bytes);
    }
}

// ---- Real captures ------------------------------------------------------------------------

/// One reported ClientHello of a capture.
#[derive(Debug)]
struct Hello {
    version: u32,
    sni: String,
    initials: u16,
}

/// What the tracker reports for one capture.
fn run_capture(path: &std::path::Path) -> (Vec<Hello>, QuicStats) {
    let mut t = QuicTracker::new(QuicLimits::default());
    let mut out = Vec::new();
    for u in udp_datagrams(path) {
        if let QuicOutcome::ClientHello { version, hello, initials, .. } =
            t.datagram(u.ts, u.src, u.sport, u.dst, u.dport, &u.payload)
        {
            out.push(Hello { version, sni: sni_of(&hello).unwrap_or_default(), initials });
        }
    }
    let stats = t.stats();
    // Byte accounting is exact: once everything has expired, nothing is held.
    t.expire(Ts(i64::MAX));
    assert_eq!((t.stats().connections, t.stats().buffered_bytes), (0, 0), "{}", path.display());
    (out, stats)
}

/// The SNI names of reported hellos, lower-cased, as check.py compares them (hellos without
/// a server_name are no observation).
fn names(hellos: &[Hello]) -> BTreeSet<String> {
    hellos.iter().filter(|h| !h.sni.is_empty()).map(|h| h.sni.to_ascii_lowercase()).collect()
}

/// Expected quic_sni names (not optional) of a capture, with the version tshark saw.
fn expected(name: &str) -> BTreeMap<String, u32> {
    let Some(dir) = corpus() else { return BTreeMap::new() };
    let text = std::fs::read_to_string(dir.join("expected").join(format!("{name}.jsonl"))).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] == "quic_sni" && v["optional"] != true)
        .map(|v| {
            let version = u32::from_str_radix(v["version"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
            (v["name"].as_str().unwrap().to_ascii_lowercase(), version)
        })
        .collect()
}

/// Runs a named corpus capture and checks it yields exactly its expected names; returns the
/// hellos for further checks. `None` when the corpus is absent.
fn check_capture(name: &str) -> Option<Vec<Hello>> {
    let Some(path) = corpus_pcap(name) else {
        eprintln!("corpus absent: skipping {name}");
        return None;
    };
    let (hellos, stats) = run_capture(&path);
    let got = names(&hellos);
    let want: BTreeSet<_> = expected(name).into_keys().collect();
    assert_eq!(got, want, "{name}: {stats:?}");
    Some(hellos)
}

#[test]
fn chrome_kyber_hello_over_three_initials() {
    // retina__quic_kyber: Chrome 124, X25519Kyber768 ClientHello in 3 Initial packets.
    let Some(h) = check_capture("retina__quic_kyber") else { return };
    assert_eq!(h.len(), 1);
    assert!(h[0].initials >= 2, "spans several Initials: {h:?}");
}

#[test]
fn out_of_order_crypto_frames() {
    for name in ["arkime__quicietfooo", "sv__quic-frag-unordered", "sv__quic-frag-middle-gap", "sv__quic-frag-wait"] {
        let Some(h) = check_capture(name) else { return };
        assert_eq!(h.len(), 1, "{name}");
    }
}

#[test]
fn versions_v2_drafts_and_mvfst() {
    let names = [
        "ndpi__quic-v2",
        "zeek__quic__quicv2-echo-443",
        "ndpi__quic-29",
        "ndpi__quic-23",
        "ndpi__quic-24",
        "ndpi__quic-27",
        "ndpi__quic-28",
        "ndpi__quic_0RTT",
        "ndpi__quic-mvfst-22",
        "ndpi__quic-mvfst-27",
        "ndpi__quic-mvfst-exp",
    ];
    for name in names {
        if check_capture(name).is_none() {
            return;
        }
    }
}

#[test]
fn retry_and_changed_dcid_captures() {
    for name in ["sv__quic-retry", "sv__quic-retry-multiple", "retina__quic_retry", "ndpi__quic_frags_different_dcid"] {
        if check_capture(name).is_none() {
            return;
        }
    }
}

/// Every capture of the corpus: recall and precision of quic_sni by version, every miss listed.
#[test]
fn corpus_quic_sni_recall_and_precision() {
    let Some(dir) = corpus() else {
        eprintln!("corpus absent: skipping");
        return;
    };
    let mut pcaps: Vec<_> = std::fs::read_dir(dir.join("pcaps")).unwrap().map(|e| e.unwrap().path()).collect();
    pcaps.sort();
    // version → (tp, fn, fp)
    let mut by_version: BTreeMap<u32, (u32, u32, u32)> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut unsupported: BTreeMap<u32, u64> = BTreeMap::new();
    let mut totals = QuicStats::default();
    for path in &pcaps {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (hellos, stats) = run_capture(path);
        let got = names(&hellos);
        let ours: BTreeMap<&str, u32> = hellos.iter().map(|h| (h.sni.as_str(), h.version)).collect();
        let want = expected(&name);
        let optional = optional_names(&dir, &name);
        for item in got.iter().chain(want.keys()).collect::<BTreeSet<_>>() {
            let version = want.get(item).or_else(|| ours.get(item.as_str())).copied().unwrap_or(0);
            let e = by_version.entry(version).or_default();
            match (want.contains_key(item), got.contains(item)) {
                (true, true) => e.0 += 1,
                (true, false) => {
                    e.1 += 1;
                    misses.push(format!("FN {name}: {version:#010x} {item} ({stats:?})"));
                }
                (false, true) if !optional.contains(item) => {
                    e.2 += 1;
                    misses.push(format!("FP {name}: {version:#010x} {item}"));
                }
                _ => {}
            }
        }
        if stats.undecryptable + stats.duplicate_hellos + stats.frame_errors + stats.bad_hellos > 0 {
            eprintln!(
                "note {name}: undecryptable {} duplicate hellos {} frame errors {} bad hellos {}; names {got:?}",
                stats.undecryptable, stats.duplicate_hellos, stats.frame_errors, stats.bad_hellos,
            );
        }
        for (v, n) in stats.unsupported {
            *unsupported.entry(v).or_default() += n;
        }
        totals.client_hellos += stats.client_hellos;
        totals.undecryptable += stats.undecryptable;
        totals.initials_opened += stats.initials_opened;
        totals.duplicate_hellos += stats.duplicate_hellos;
        totals.frame_errors += stats.frame_errors;
    }
    let (mut tp, mut fns, mut fps) = (0, 0, 0);
    for (v, (t, f, p)) in &by_version {
        eprintln!("version {v:#010x}: TP {t} FN {f} FP {p}");
        tp += t;
        fns += f;
        fps += p;
    }
    for m in &misses {
        eprintln!("{m}");
    }
    eprintln!("unsupported packets by version: {unsupported:x?}");
    eprintln!(
        "{} pcaps; hellos {} initials opened {} undecryptable {} duplicates {} frame errors {}",
        pcaps.len(),
        totals.client_hellos,
        totals.initials_opened,
        totals.undecryptable,
        totals.duplicate_hellos,
        totals.frame_errors
    );
    let recall = f64::from(tp) / f64::from(tp + fns);
    let precision = f64::from(tp) / f64::from(tp + fps);
    eprintln!("quic_sni TP {tp} FN {fns} FP {fps}: recall {recall:.4} precision {precision:.4}");
    assert!(recall >= 0.98 && precision >= 0.99);
}

/// Names marked optional in a capture's expected file (any kind), lower-cased.
fn optional_names(dir: &std::path::Path, name: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(dir.join("expected").join(format!("{name}.jsonl"))).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["optional"] == true)
        .filter_map(|v| v["name"].as_str().map(str::to_ascii_lowercase))
        .collect()
}

/// Prints every long-header datagram's outcome: `QUIC_DUMP=<capture> cargo test dump -- --ignored --nocapture`.
#[test]
#[ignore]
fn dump() {
    let Some(path) = std::env::var("QUIC_DUMP").ok().and_then(|n| corpus_pcap(&n)) else { return };
    let mut t = QuicTracker::new(QuicLimits::default());
    for u in udp_datagrams(&path) {
        let o = t.datagram(u.ts, u.src, u.sport, u.dst, u.dport, &u.payload);
        if u.payload.first().is_some_and(|b| b & 0x80 != 0) {
            let o = match o {
                QuicOutcome::ClientHello { version, hello, initials, crypto_frames } => {
                    format!("ClientHello {version:#x} {:?} initials {initials} frames {crypto_frames}", sni_of(&hello))
                }
                o => format!("{o:?}"),
            };
            let head: Vec<String> = u.payload.iter().take(24).map(|b| format!("{b:02x}")).collect();
            eprintln!(
                "#{} {}:{} > {}:{} len {} {} | {}",
                u.frame,
                u.src,
                u.sport,
                u.dst,
                u.dport,
                u.payload.len(),
                o,
                head.concat()
            );
        }
    }
    eprintln!("{:?}", t.stats());
}

/// Indicative costs: `cargo test --release --lib cost -- --ignored --nocapture`.
#[test]
#[ignore]
fn cost_per_datagram() {
    use std::hint::black_box;
    use std::time::Instant;
    eprintln!(
        "size_of InitialKeys {} Conn {} ConnKey {}",
        std::mem::size_of::<InitialKeys>(),
        std::mem::size_of::<Conn>(),
        std::mem::size_of::<ConnKey>()
    );
    let mut t = QuicTracker::new(QuicLimits::default());
    let short = [0x43u8; 1200];
    let n = 10_000_000u32;
    let start = Instant::now();
    for i in 0..n {
        black_box(t.datagram(Ts(i64::from(i)), CLIENT, 1, SERVER, 443, black_box(&short)));
    }
    eprintln!("short header: {:.2} ns/datagram", start.elapsed().as_nanos() as f64 / f64::from(n));
    let v1 = hex(RFC9001_A2_PACKET);
    let n = 100_000u32;
    let start = Instant::now();
    for i in 0..n {
        let src = IpAddr::V4(Ipv4Addr::from(i));
        black_box(t.datagram(Ts(i64::from(i)), src, 1, SERVER, 443, black_box(&v1)));
    }
    eprintln!(
        "first Initial (derive + open + reassemble + insert): {:.0} ns",
        start.elapsed().as_nanos() as f64 / f64::from(n)
    );
    let params = version_params(VERSION_1).unwrap();
    let start = Instant::now();
    for _ in 0..n {
        black_box(InitialKeys::client(params, black_box(&DCID)));
    }
    eprintln!("key derivation alone: {:.0} ns", start.elapsed().as_nanos() as f64 / f64::from(n));
    let m = crate::extract::quic::KeyMaterial::client(params, &DCID).unwrap();
    let start = Instant::now();
    for _ in 0..n {
        black_box(InitialKeys::from_material(black_box(&m)));
    }
    eprintln!(
        "expanding key material (AES-GCM + HP key schedules): {:.0} ns",
        start.elapsed().as_nanos() as f64 / f64::from(n)
    );
    let keys = InitialKeys::client(params, &DCID).unwrap();
    let crate::extract::Outcome::Found((p, _)) = crate::extract::quic::parse_long_packet(&v1) else { panic!() };
    let mut scratch = Vec::new();
    let start = Instant::now();
    for _ in 0..n {
        black_box(keys.open(black_box(&p), None, &mut scratch).is_ok());
    }
    eprintln!("open with cached keys (1200 B): {:.0} ns", start.elapsed().as_nanos() as f64 / f64::from(n));
    let mut t = QuicTracker::new(QuicLimits::default());
    t.datagram(Ts(0), CLIENT, 1, SERVER, 443, &v1);
    let start = Instant::now();
    for i in 0..n {
        black_box(t.datagram(Ts(i64::from(i)), CLIENT, 1, SERVER, 443, black_box(&v1)));
    }
    eprintln!("retransmitted Initial of a done connection: {:.0} ns", start.elapsed().as_nanos() as f64 / f64::from(n));
}

/// Like `dump`, for a file path: `QUIC_DUMP_FILE=path cargo test dump_file -- --ignored --nocapture`.
#[test]
#[ignore]
fn dump_file() {
    let Some(path) = std::env::var_os("QUIC_DUMP_FILE") else { return };
    let mut t = QuicTracker::new(QuicLimits::default());
    for u in udp_datagrams(std::path::Path::new(&path)) {
        let o = match t.datagram(u.ts, u.src, u.sport, u.dst, u.dport, &u.payload) {
            QuicOutcome::ClientHello { version, hello, initials, crypto_frames } => {
                format!("ClientHello {version:#x} {:?} initials {initials} frames {crypto_frames}", sni_of(&hello))
            }
            o => format!("{o:?}"),
        };
        eprintln!("#{} {}:{} > {}:{} len {} {}", u.frame, u.src, u.sport, u.dst, u.dport, u.payload.len(), o);
    }
    eprintln!("{:?}", t.stats());
}

/// The captures of `captures/quic/` (see its README): names, versions, packets, counters.
#[test]
fn own_captures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/quic");
    let run = |name: &str| {
        let (hellos, stats) = run_capture(&dir.join(name));
        let got: Vec<_> = hellos.iter().map(|h| (h.version, h.sni.clone(), h.initials)).collect();
        (got, stats)
    };
    // Chromium 156, silent sink: two connections (the first times out), each hello in 2 Initials
    // of scrambled CRYPTO/PING/PADDING frames, then retransmissions that are not reported again.
    let (got, s) = run("chromium-ga-silent-sink.pcap");
    let ga = (VERSION_1, "www.google-analytics.com".to_string(), 2);
    assert_eq!(got, vec![ga.clone(), ga]);
    assert_eq!((s.initials_opened, s.undecryptable, s.buffered_bytes), (4, 0, 0));
    let (got, _) = run("crafted-v2-two-initials.pcap");
    assert_eq!(got, vec![(VERSION_2, "v2.pixel.test".into(), 2)]);
    let (got, _) = run("crafted-draft29-reordered.pcap");
    assert_eq!(got, vec![(0xff00_001d, "draft29.pixel.test".into(), 1)]);
    let (got, s) = run("crafted-vn-retry-v1.pcap");
    assert_eq!(got, vec![(VERSION_1, "retry.pixel.test".into(), 1)]);
    assert_eq!(s.unsupported, vec![(0x1a2a_3a4a, 1), (0, 1)]);
}

#[test]
fn coalesced_packets_of_another_connection_and_runts_are_ignored() {
    let hello = rfc_hello();
    let mut other = hello.clone();
    other[10] ^= 1;
    // RFC 9000 §12.2: a second Initial with another DCID in the same datagram is ignored.
    let mut d = protect_initial(VERSION_1, &DCID, &DCID, &[], 0, &crypto_frame(0, &hello), 0);
    d.extend(protect_initial(VERSION_1, &[4; 8], &[4; 8], &[], 0, &crypto_frame(0, &other), 0));
    let mut t = QuicTracker::new(QuicLimits::default());
    assert_eq!(hello_sni(&from_client(&mut t, 0, 7, &d)), Some((VERSION_1, "example.com".into())));
    assert_eq!((t.stats().initials_opened, t.stats().client_hellos), (1, 1));
    // An Initial too short for a header protection sample costs no key derivation.
    let runt = [0xc0, 0, 0, 0, 1, 1, 9, 0, 0, 4, 1, 2, 3, 4];
    assert_eq!(from_client(&mut t, 1, 8, &runt), QuicOutcome::Undecryptable { version: VERSION_1 });
}

/// The benchmark capture (`shared/bench/gen_traffic.py`): per-name QUIC SNI counts against its
/// truth file, and the tracker's own time per UDP datagram.
/// `PIXELWATCH_BENCH=/path/bench.pcap cargo test --release --lib bench_capture -- --ignored --nocapture`
#[test]
#[ignore]
fn bench_capture() {
    let Some(path) = std::env::var_os("PIXELWATCH_BENCH").map(std::path::PathBuf::from) else { return };
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path.with_extension("pcap.truth.json")).unwrap()).unwrap();
    let datagrams = udp_datagrams(&path);
    let mut t = QuicTracker::new(QuicLimits::default());
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let start = std::time::Instant::now();
    for u in &datagrams {
        if let QuicOutcome::ClientHello { hello, .. } = t.datagram(u.ts, u.src, u.sport, u.dst, u.dport, &u.payload) {
            *counts.entry(sni_of(&hello).unwrap_or_default()).or_default() += 1;
        }
    }
    let elapsed = start.elapsed();
    let want: BTreeMap<String, u64> =
        truth["quic_sni"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
    eprintln!(
        "{} UDP datagrams in {elapsed:?} ({:.0} ns each); {} names, {} hellos; {:?}",
        datagrams.len(),
        elapsed.as_nanos() as f64 / datagrams.len() as f64,
        counts.len(),
        counts.values().sum::<u64>(),
        t.stats()
    );
    assert_eq!(counts, want);
}

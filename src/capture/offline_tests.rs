//! Offline replay of classic pcap files: crafted corrupt and truncated files, nanosecond
//! timestamps, progress; stdin and pipes; merging several files; a throughput benchmark.

use super::testutil::{
    OwnedPacket, Record, collect, collect_reader, fixture, llmnr_frame, pcap_file, read_error, run_child_test,
    single_interface, write,
};
use super::{CaptureError, OfflineReader, Progress, replay, replay_merged};
use crate::model::Ts;

#[test]
fn valid_pcap_delivers_headers_and_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let frame = llmnr_frame();
    let records = [Record::new(1_403_668_572, 274_461, &frame), Record::new(1_403_668_573, 999_999, &frame)];
    let path = write(dir.path(), "ok.pcap", &pcap_file(false, 1, 65535, &records));
    let (packets, result) = collect(&path);
    let stats = result.expect("valid pcap");
    assert_eq!(stats.packets, 2);
    assert_eq!(stats.bytes, 2 * frame.len() as u64);
    assert_eq!(stats.fallback_files, 0);
    assert_eq!(packets.len(), 2);
    assert_eq!(packets[0].ts, Ts::from_secs_micros(1_403_668_572, 274_461));
    assert_eq!(packets[1].ts, Ts::from_secs_micros(1_403_668_573, 999_999));
    assert!(packets.iter().all(|p| p.linktype == 1 && p.data == frame && p.orig_len as usize == frame.len()));
}

#[test]
fn nanosecond_pcap_gives_microseconds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let frame = llmnr_frame();
    let records = [Record::new(1_736_381_483, 613_927_123, &frame), Record::new(1_736_381_483, 999_999_999, &frame)];
    let path = write(dir.path(), "ns.pcap", &pcap_file(true, 1, 65535, &records));
    let (packets, result) = collect(&path);
    result.expect("nanosecond pcap");
    let ts: Vec<Ts> = packets.iter().map(|p| p.ts).collect();
    assert_eq!(ts, [Ts::from_secs_micros(1_736_381_483, 613_927), Ts::from_secs_micros(1_736_381_483, 999_999)]);

    // The same packets in microsecond and nanosecond files (editcap -F nsecpcap) read the same.
    let (micro, r1) = collect(&fixture("eth.pcap"));
    r1.expect("eth.pcap");
    assert_eq!(micro.len(), 2);
    let (nsec, r2) = collect(&fixture("sll2-nsec.pcap"));
    r2.expect("sll2-nsec.pcap");
    assert_eq!(nsec.len(), 3);
    // tshark: frame 1 of sll2-nsec.pcap is at 1736381483.613927000.
    assert_eq!(nsec[0].ts, Ts::from_secs_micros(1_736_381_483, 613_927));
    assert!(nsec.iter().all(|p| p.linktype == 276));
}

#[test]
fn linktype_raw_101_is_reported_as_dlt_12() {
    let dir = tempfile::tempdir().expect("tempdir");
    let frame = llmnr_frame();
    let ip = frame.get(14..).expect("ethernet payload");
    let path = write(dir.path(), "raw.pcap", &pcap_file(false, 101, 65535, &[Record::new(1, 0, ip)]));
    let (packets, result) = collect(&path);
    result.expect("raw pcap");
    assert_eq!(packets.iter().map(|p| p.linktype).collect::<Vec<_>>(), [12]);
}

#[test]
fn unreadable_headers_are_open_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = pcap_file(false, 1, 65535, &[]);
    let cases: [(&str, Vec<u8>); 4] = [
        ("bad-magic.pcap", b"this is not a capture file at all, really".to_vec()),
        ("short-header.pcap", good.get(..10).expect("10 bytes").to_vec()),
        ("empty.pcap", Vec::new()),
        ("magic-only.pcap", good.get(..4).expect("4 bytes").to_vec()),
    ];
    for (name, bytes) in cases {
        let path = write(dir.path(), name, &bytes);
        let (packets, result) = collect(&path);
        assert!(packets.is_empty());
        match result {
            Err(e @ CaptureError::Open { .. }) => {
                let msg = e.to_string();
                assert!(msg.starts_with(path.to_str().expect("utf-8")), "{msg}");
                eprintln!("{name}: {msg}");
            }
            other => panic!("{name}: expected an Open error, got {other:?}"),
        }
    }
    let missing = dir.path().join("missing.pcap");
    let msg = collect(&missing).1.expect_err("missing file").to_string();
    assert!(msg.contains("missing.pcap") && msg.contains("No such file"), "{msg}");
    let msg = collect(dir.path()).1.expect_err("directory").to_string();
    assert!(msg.contains("is a directory"), "{msg}");
}

#[test]
fn header_only_pcap_is_empty_not_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "header-only.pcap", &pcap_file(false, 1, 65535, &[]));
    let (packets, result) = collect(&path);
    assert!(packets.is_empty());
    assert_eq!(result.expect("header only").packets, 0);
}

/// Two good records followed by `tail`: the two are delivered, then packet 3 fails.
fn assert_fails_at_packet_3(name: &str, tail: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let frame = llmnr_frame();
    let mut bytes = pcap_file(false, 1, 65535, &[Record::new(10, 1, &frame), Record::new(11, 2, &frame)]);
    bytes.extend_from_slice(tail);
    let path = write(dir.path(), name, &bytes);
    let (packets, result) = collect(&path);
    assert_eq!(packets.len(), 2, "{name}: packets before the damage");
    assert!(packets.iter().all(|p| p.data == frame));
    let err = result.expect_err(name);
    let msg = err.to_string();
    let (epath, packet, _) = read_error(Err(err));
    assert_eq!((epath.as_str(), packet), (path.to_str().expect("utf-8"), 3), "{msg}");
    assert!(msg.starts_with(&format!("{}: packet 3: ", path.display())), "{msg}");
    msg
}

#[test]
fn truncated_record_header_fails_at_its_packet() {
    let msg = assert_fails_at_packet_3("trunc-hdr.pcap", &[1, 2, 3, 4, 5, 6, 7]);
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn truncated_record_data_fails_at_its_packet() {
    let frame = llmnr_frame();
    let mut tail = Vec::new();
    tail.extend_from_slice(&12u32.to_le_bytes());
    tail.extend_from_slice(&0u32.to_le_bytes());
    tail.extend_from_slice(&66u32.to_le_bytes());
    tail.extend_from_slice(&66u32.to_le_bytes());
    tail.extend_from_slice(frame.get(..20).expect("20 bytes"));
    let msg = assert_fails_at_packet_3("trunc-data.pcap", &tail);
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn huge_caplen_fails_at_its_packet() {
    // 256 KiB + 1: above libpcap's maximum for Ethernet (262144).
    let mut tail = Vec::new();
    tail.extend_from_slice(&12u32.to_le_bytes());
    tail.extend_from_slice(&0u32.to_le_bytes());
    tail.extend_from_slice(&(256 * 1024 + 1u32).to_le_bytes());
    tail.extend_from_slice(&(256 * 1024 + 1u32).to_le_bytes());
    tail.extend_from_slice(&[0u8; 100]);
    let msg = assert_fails_at_packet_3("huge-caplen.pcap", &tail);
    assert!(msg.contains("capture length"), "{msg}");
    // 4 GiB - 1 as well.
    let mut tail = Vec::new();
    tail.extend_from_slice(&12u32.to_le_bytes());
    tail.extend_from_slice(&0u32.to_le_bytes());
    tail.extend_from_slice(&u32::MAX.to_le_bytes());
    tail.extend_from_slice(&u32::MAX.to_le_bytes());
    assert_fails_at_packet_3("max-caplen.pcap", &tail);
}

#[test]
fn caplen_above_snaplen_and_zero_length_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let frame = llmnr_frame();
    // snaplen 40 but the record says 66 captured bytes (and carries them): libpcap delivers the
    // first 40 and skips the rest, so the next record is read correctly.
    let small = frame.get(..30).expect("30 bytes");
    let records = [Record::new(5, 0, &frame), Record::new(6, 0, small)];
    let path = write(dir.path(), "over-snaplen.pcap", &pcap_file(false, 1, 40, &records));
    let (packets, result) = collect(&path);
    assert_eq!(result.expect("caplen > snaplen").packets, 2);
    assert_eq!(packets[0].data, frame.get(..40).expect("40 bytes"));
    assert_eq!(packets[0].orig_len as usize, frame.len());
    assert_eq!((packets[1].ts, packets[1].data.as_slice()), (Ts::from_secs(6), small));
    // A zero-length record between two good ones: delivered as an empty packet (decode counts it).
    let records = [Record::new(1, 0, &frame), Record::new(2, 0, &[]), Record::new(3, 0, &frame)];
    let path = write(dir.path(), "zero.pcap", &pcap_file(false, 1, 65535, &records));
    let (packets, result) = collect(&path);
    assert_eq!(result.expect("zero-length record").packets, 3);
    assert_eq!(packets.iter().map(|p| p.data.len()).collect::<Vec<_>>(), [frame.len(), 0, frame.len()]);
}

#[test]
fn progress_is_reported_and_reaches_the_file_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let frame = [0u8; 60];
    let records: Vec<Record<'_>> = (0..70_000u32).map(|i| Record::new(i, 0, &frame)).collect();
    let bytes = pcap_file(false, 1, 65535, &records);
    let path = write(dir.path(), "progress.pcap", &bytes);
    let mut reports: Vec<Progress> = Vec::new();
    let mut count = 0u64;
    let stats = replay(path.to_str().expect("utf-8"), &mut |_| count += 1, &mut |p| reports.push(p)).expect("replay");
    assert_eq!((stats.packets, count), (70_000, 70_000));
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_eq!(reports[0].packets, 65_536);
    assert_eq!(reports[0].total_bytes, bytes.len() as u64);
    assert_eq!(reports[0].bytes_read, 24 + 65_536 * (16 + 60));
    assert_eq!(
        reports[1],
        Progress { packets: 70_000, bytes_read: bytes.len() as u64, total_bytes: bytes.len() as u64 }
    );
}

#[test]
fn pipe_is_read_through_dev_fd() {
    use std::io::Write as _;
    use std::os::fd::AsRawFd as _;
    let bytes = std::fs::read(fixture("sll-snap200.pcap")).expect("fixture");
    let (expected, _) = collect(&fixture("sll-snap200.pcap"));
    let (reader, mut writer) = std::io::pipe().expect("pipe");
    let feeder = std::thread::spawn(move || {
        for chunk in bytes.chunks(37) {
            writer.write_all(chunk).expect("write pipe");
        }
    });
    let path = format!("/dev/fd/{}", reader.as_raw_fd());
    let mut got = Vec::new();
    let mut progress = Vec::new();
    let stats = replay(&path, &mut |p| got.push(OwnedPacket::from_raw(p)), &mut |p| progress.push(p)).expect("pipe");
    feeder.join().expect("feeder");
    assert_eq!(got, expected);
    assert_eq!(stats.packets, 4);
    assert_eq!(progress.last().map(|p| p.total_bytes), Some(0), "a pipe has no known size");

    // A mixed pcapng cannot be re-read from a pipe: clear MixedLinkTypes error.
    let bytes = std::fs::read(fixture("mixed-linktypes.pcapng")).expect("fixture");
    let (reader, mut writer) = std::io::pipe().expect("pipe");
    let feeder = std::thread::spawn(move || {
        let _ = writer.write_all(&bytes);
    });
    let path = format!("/dev/fd/{}", reader.as_raw_fd());
    let err = replay(&path, &mut |_| {}, &mut |_| {}).expect_err("mixed pcapng from a pipe");
    drop(reader);
    feeder.join().expect("feeder");
    assert!(matches!(err, CaptureError::MixedLinkTypes { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.starts_with(&path) && msg.contains("type 113") && msg.contains("regular file"), "{msg}");
}

const STDIN_CHILD_ENV: &str = "PIXELWATCH_TEST_STDIN_CHILD";

/// Runs in a child process (see `stdin_dash_reads_standard_input`): replays "-" and prints a summary.
#[test]
#[ignore = "helper: run by stdin_dash_reads_standard_input in a child process"]
fn stdin_child() {
    if std::env::var_os(STDIN_CHILD_ENV).is_none() {
        eprintln!("stdin_child only runs as a child of stdin_dash_reads_standard_input");
        return;
    }
    let mut packets = Vec::new();
    match replay("-", &mut |p| packets.push(OwnedPacket::from_raw(p)), &mut |_| {}) {
        Ok(stats) => println!("STDIN-RESULT {}", summary(&packets, stats.packets)),
        Err(e) => println!("STDIN-ERROR {e}"),
    }
}

fn summary(packets: &[OwnedPacket], count: u64) -> String {
    let digest: u64 = packets.iter().flat_map(|p| p.data.iter()).fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3) // FNV-1a
    });
    let ts: Vec<i64> = packets.iter().map(|p| p.ts.0).collect();
    format!(
        "packets={count} ts={ts:?} linktypes={:?} fnv={digest:x}",
        packets.iter().map(|p| p.linktype).collect::<Vec<_>>()
    )
}

#[test]
fn stdin_dash_reads_standard_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pcapng = write(dir.path(), "single.pcapng", &single_interface(Some(9), None, &[5_000_000_123, 6_000_000_456]));
    for path in [fixture("sll2-nsec.pcap"), pcapng] {
        let (expected, result) = collect(&path);
        let count = result.expect("file").packets;
        let bytes = std::fs::read(&path).expect("read");
        let out =
            run_child_test("capture::offline_tests::stdin_child", &[(STDIN_CHILD_ENV, "1".to_owned())], Some(bytes));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let want = format!("STDIN-RESULT {}", summary(&expected, count));
        assert!(stdout.contains(&want), "{}: wanted {want}\ngot {stdout}", path.display());
    }
    // A mixed pcapng on stdin: clear error naming "-".
    let bytes = std::fs::read(fixture("mixed-linktypes.pcapng")).expect("fixture");
    let out = run_child_test("capture::offline_tests::stdin_child", &[(STDIN_CHILD_ENV, "1".to_owned())], Some(bytes));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("STDIN-ERROR -: pcapng interfaces with different link types"), "{stdout}");
}

#[test]
fn merge_orders_by_time_and_keeps_ties_in_argument_order() {
    let eth = fixture("eth.pcap").to_string_lossy().into_owned();
    let nsec = fixture("sll2-nsec.pcap").to_string_lossy().into_owned();
    // Later file first: the merge still yields time order.
    let mut got = Vec::new();
    let stats = replay_merged(&[&nsec, &eth], &mut |p| got.push(OwnedPacket::from_raw(p)), &mut |_| {}).expect("merge");
    assert_eq!(stats.packets, 5);
    assert_eq!(got.iter().map(|p| p.linktype).collect::<Vec<_>>(), [1, 1, 276, 276, 276]);
    // The same file twice: every packet twice, in pairs.
    let mut got = Vec::new();
    replay_merged(&[&eth, &eth], &mut |p| got.push(OwnedPacket::from_raw(p)), &mut |_| {}).expect("merge");
    assert_eq!(got.len(), 4);
    assert!(got[0] == got[1] && got[2] == got[3] && got[0].ts < got[2].ts);
    // Errors name the failing file.
    let err = replay_merged(&[&eth, "/nonexistent/x.pcap"], &mut |_| {}, &mut |_| {}).expect_err("missing");
    assert!(err.to_string().starts_with("/nonexistent/x.pcap: "), "{err}");
    let err = replay_merged(&["-", "-"], &mut |_| {}, &mut |_| {}).expect_err("stdin twice");
    assert!(err.to_string().contains("standard input named twice"), "{err}");
}

#[test]
fn reader_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<OfflineReader>();
    let mut reader = OfflineReader::open(fixture("eth.pcap").to_str().expect("utf-8")).expect("open");
    let (packets, err) = collect_reader(&mut reader);
    assert_eq!((packets.len(), err.is_none(), reader.used_fallback()), (2, true, false));
    assert_eq!(reader.path(), fixture("eth.pcap").to_str().expect("utf-8"));
}

/// Indicative cost of [`replay`] over libpcap's own read loop (`pcap_next_ex`), 64-byte packets.
/// `cargo test --release --lib capture::offline_tests::bench_replay_overhead -- --ignored --nocapture`
#[test]
#[ignore = "benchmark; run in release mode"]
fn bench_replay_overhead() {
    use std::hint::black_box;
    let n: u32 = std::env::var("PXW_BENCH_PACKETS").ok().and_then(|v| v.parse().ok()).unwrap_or(3_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let frame = [0x42u8; 64];
    let records: Vec<Record<'_>> = (0..n).map(|i| Record::new(i / 1000, i % 1000, &frame)).collect();
    let path = write(dir.path(), "bench.pcap", &pcap_file(false, 1, 65535, &records));
    drop(records);
    let path_str = path.to_str().expect("utf-8");
    let raw = || {
        let mut cap = pcap::Capture::from_file(path_str).expect("open");
        let start = std::time::Instant::now();
        let mut sum = 0u64;
        while let Ok(p) = cap.next_packet() {
            sum = sum.wrapping_add(p.data.len() as u64 + p.header.ts.tv_usec as u64);
        }
        black_box(sum);
        start.elapsed().as_nanos() as f64 / f64::from(n)
    };
    let ours = || {
        let start = std::time::Instant::now();
        let mut sum = 0u64;
        let stats = replay(path_str, &mut |p| sum = sum.wrapping_add(p.data.len() as u64 + p.ts.0 as u64), &mut |pr| {
            black_box(pr);
        })
        .expect("replay");
        black_box(sum);
        assert_eq!(stats.packets, u64::from(n));
        start.elapsed().as_nanos() as f64 / f64::from(n)
    };
    // PXW_BENCH_MODE=raw|ours runs one loop once (for instruction counts with perf/callgrind).
    match std::env::var("PXW_BENCH_MODE").as_deref() {
        Ok("raw") => return eprintln!("raw {:.1} ns/pkt", raw()),
        Ok("ours") => return eprintln!("ours {:.1} ns/pkt", ours()),
        _ => {}
    }
    let (mut best_raw, mut best_ours) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        best_raw = best_raw.min(raw());
        best_ours = best_ours.min(ours());
    }
    eprintln!(
        "{n} × 64 B: pcap_next_ex loop {best_raw:.1} ns/pkt, replay() {best_ours:.1} ns/pkt, overhead {:.1} ns/pkt",
        best_ours - best_raw
    );
}

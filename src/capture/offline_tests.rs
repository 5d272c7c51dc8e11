//! Offline replay on crafted files: corrupt and truncated pcaps, nanosecond pcaps, pcapng
//! fallback (mixed link types, mid-file refusal, if_tsresol/if_tsoffset), stdin and pipes, merge.

use std::path::{Path, PathBuf};

use super::testutil::{
    OwnedPacket, PcapngBuilder, Record, collect, collect_reader, fixture, pcap_file, run_child_test,
};
use super::{CaptureError, OfflineReader, Progress, replay, replay_merged};
use crate::model::Ts;

/// Frame 1 of `sv__llmnr__llmnr-udp.pcap` (Ethernet, IPv4, UDP 5355, LLMNR query), 66 bytes.
fn llmnr_frame() -> Vec<u8> {
    let (packets, result) = collect(&fixture("eth.pcap"));
    assert!(result.is_ok(), "{result:?}");
    packets.first().map(|p| p.data.clone()).expect("eth.pcap has packets")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

fn read_error(result: Result<super::ReplayStats, CaptureError>) -> (String, u64, String) {
    match result {
        Err(CaptureError::Read { path, packet, reason }) => (path, packet, reason),
        other => panic!("expected a Read error, got {other:?}"),
    }
}

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

// ---- pcapng and the pcap-parser fallback -------------------------------------------------------

fn sorted(mut v: Vec<OwnedPacket>) -> Vec<OwnedPacket> {
    v.sort();
    v
}

#[test]
fn mixed_linktype_pcapng_is_read_by_the_fallback_in_file_order() {
    let path = fixture("mixed-linktypes.pcapng");
    // libpcap alone refuses it.
    let mut cap = pcap::Capture::from_file(&path).expect("libpcap opens the first interface");
    let refusal = cap.next_packet().map(|_| ()).expect_err("libpcap refuses the second interface").to_string();
    assert!(
        refusal.contains("an interface has a type 113 different from the type of the first interface"),
        "{refusal}"
    );

    let (packets, result) = collect(&path);
    let stats = result.expect("fallback reads it");
    assert_eq!((stats.packets, stats.fallback_files), (9, 1));
    assert_eq!(packets.iter().map(|p| p.linktype).collect::<Vec<_>>(), [1, 1, 113, 113, 113, 113, 276, 276, 276]);
    // The same packets as the three source files read by libpcap, merged in time order (the
    // source files' timestamps are distinct, so the order is mergecap's).
    let sources = ["eth.pcap", "sll-snap200.pcap", "sll2-nsec.pcap"].map(|f| fixture(f).to_string_lossy().into_owned());
    let mut merged = Vec::new();
    let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
    let mstats = replay_merged(&sources, &mut |p| merged.push(OwnedPacket::from_raw(p)), &mut |_| {}).expect("merge");
    assert_eq!(mstats.packets, 9);
    assert_eq!(packets, merged);
    // Packet 6 was cut by its interface's snaplen (200) from 298 bytes; packet 7 had ns resolution.
    assert_eq!((packets[5].data.len(), packets[5].orig_len), (200, 298));
    assert_eq!(packets[6].ts, Ts::from_secs_micros(1_736_381_483, 613_927));
}

#[test]
fn mixed_snaplen_pcapng_is_read_by_the_fallback() {
    let path = fixture("mixed-snaplen.pcapng");
    let (packets, result) = collect(&path);
    assert_eq!(result.expect("fallback").fallback_files, 1);
    assert!(packets.windows(2).all(|w| w[0].ts <= w[1].ts));
    let (a, ra) = collect(&fixture("eth.pcap"));
    let (b, rb) = collect(&fixture("eth-snap60.pcap"));
    ra.and(rb).expect("sources");
    assert_eq!(sorted(packets), sorted([a, b].concat()));
}

/// Frame 1 of `sll-snap200.pcap` (Linux SLL).
fn sll_frame() -> Vec<u8> {
    collect(&fixture("sll-snap200.pcap")).0.first().map(|p| p.data.clone()).expect("sll frame")
}

#[test]
fn refusal_in_the_middle_continues_after_the_delivered_packets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (eth, sll) = (llmnr_frame(), sll_frame());
    let mut b = PcapngBuilder::new();
    b.idb(1, 65535, None, None).epb(0, 1_000_000, 66, &eth).epb(0, 2_000_000, 66, &eth);
    b.idb(113, 65535, None, None).epb(1, 3_000_000, 76, &sll).epb(0, 4_000_000, 66, &eth);
    let path = write(dir.path(), "mid.pcapng", &b.bytes);
    let (packets, result) = collect(&path);
    assert_eq!(result.expect("fallback after 2 packets").fallback_files, 1);
    let summary: Vec<(i64, i32)> = packets.iter().map(|p| (p.ts.0, p.linktype)).collect();
    assert_eq!(summary, [(1_000_000, 1), (2_000_000, 1), (3_000_000, 113), (4_000_000, 1)]);
    assert_eq!(packets[2].data, sll);
}

/// A single-interface pcapng that libpcap reads, so its result can be compared with the fallback.
fn single_interface(tsresol: Option<u8>, tsoffset: Option<i64>, ts: &[u64]) -> Vec<u8> {
    let eth = llmnr_frame();
    let mut b = PcapngBuilder::new();
    b.idb(1, 65535, tsresol, tsoffset);
    for &t in ts {
        b.epb(0, t, 66, &eth);
    }
    b.bytes
}

fn read_fallback(path: &Path) -> (Vec<OwnedPacket>, Option<String>) {
    let mut fb =
        super::pcapng_fallback::PcapngFallback::open(path.to_str().expect("utf-8"), 0).expect("fallback opens");
    let mut out = Vec::new();
    loop {
        match fb.next_packet() {
            Ok(Some(p)) => out.push(OwnedPacket::from_raw(&p)),
            Ok(None) => return (out, None),
            Err(e) => return (out, Some(e)),
        }
    }
}

#[test]
fn fallback_timestamps_match_libpcap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, Option<u8>, Option<i64>, Vec<u64>); 5] = [
        ("usec", None, None, vec![1_403_668_572_274_461, 0, 999_999]),
        ("nsec", Some(9), None, vec![1_736_381_483_613_927_123, 1_999_999_999]),
        ("msec-offset", Some(3), Some(1000), vec![1_234_567, 5]),
        ("binary-2^-20", Some(0x80 | 20), None, vec![(1000 << 20) | (1 << 19), (7 << 20) | 3]),
        ("binary-offset", Some(0x80 | 10), Some(-5), vec![(100 << 10) | 512]),
    ];
    for (name, resol, offset, ts) in cases {
        let path = write(dir.path(), &format!("{name}.pcapng"), &single_interface(resol, offset, &ts));
        let (libpcap, result) = collect(&path);
        let stats = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((stats.fallback_files, libpcap.len()), (0, ts.len()), "{name}");
        let (fallback, err) = read_fallback(&path);
        assert_eq!(err, None, "{name}");
        assert_eq!(fallback, libpcap, "{name}");
    }
    // Known values, computed by hand.
    let path = dir.path().join("msec-offset.pcapng");
    assert_eq!(read_fallback(&path).0[0].ts, Ts::from_secs_micros(1234 + 1000, 567_000));
    let path = dir.path().join("binary-2^-20.pcapng");
    assert_eq!(read_fallback(&path).0[0].ts, Ts::from_secs_micros(1000, 500_000));
}

#[test]
fn fallback_simple_packet_block_matches_libpcap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let eth = llmnr_frame();
    let mut b = PcapngBuilder::new();
    b.idb(1, 50, None, None).spb(66, &eth).spb(20, eth.get(..20).expect("20 bytes"));
    let path = write(dir.path(), "spb.pcapng", &b.bytes);
    let (libpcap, result) = collect(&path);
    result.expect("libpcap reads SPBs");
    let (fallback, err) = read_fallback(&path);
    assert_eq!(err, None);
    assert_eq!(fallback, libpcap);
    assert_eq!(fallback.iter().map(|p| p.data.len()).collect::<Vec<_>>(), [50, 20]);
}

#[test]
fn truncated_pcapng_fails_at_its_packet_in_both_readers() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Through the fallback: cut the mixed fixture inside its 5th packet block.
    let mixed = std::fs::read(fixture("mixed-linktypes.pcapng")).expect("fixture");
    let (full, _) = collect(&fixture("mixed-linktypes.pcapng"));
    let offset_of_5th = find_nth_epb(&mixed, 5).expect("5th EPB");
    let path = write(dir.path(), "mixed-trunc.pcapng", mixed.get(..offset_of_5th + 30).expect("cut"));
    let (packets, result) = collect(&path);
    assert_eq!(packets, full.get(..4).expect("4 packets"));
    let msg = result.as_ref().map(|_| ()).expect_err("truncated").to_string();
    assert_eq!(read_error(result).1, 5, "{msg}");
    assert!(msg.starts_with(&format!("{}: packet 5: ", path.display())) && msg.contains("truncated"), "{msg}");
    // Through libpcap: a single-interface file cut inside its 3rd packet block.
    let single = single_interface(None, None, &[1, 2, 3]);
    let cut = find_nth_epb(&single, 3).expect("3rd EPB") + 10;
    let path = write(dir.path(), "single-trunc.pcapng", single.get(..cut).expect("cut"));
    let (packets, result) = collect(&path);
    assert_eq!(packets.len(), 2);
    assert_eq!(read_error(result).1, 3);
}

/// Byte offset of the `n`-th (1-based) Enhanced Packet Block of a little-endian pcapng.
fn find_nth_epb(bytes: &[u8], n: usize) -> Option<usize> {
    let mut off = 0;
    let mut seen = 0;
    while let Some(hdr) = bytes.get(off..off + 8) {
        let block_type = u32::from_le_bytes(hdr.get(..4)?.try_into().ok()?);
        let len = u32::from_le_bytes(hdr.get(4..8)?.try_into().ok()?) as usize;
        if block_type == 6 {
            seen += 1;
            if seen == n {
                return Some(off);
            }
        }
        off += len.max(12);
    }
    None
}

#[test]
fn corrupt_pcapng_never_panics() {
    // Deterministic mutations of the mixed fixture (xorshift), read by libpcap + fallback and by
    // the fallback alone: errors are fine, panics and hangs are not; errors name a packet.
    let dir = tempfile::tempdir().expect("tempdir");
    let original = std::fs::read(fixture("mixed-linktypes.pcapng")).expect("fixture");
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let path = dir.path().join("mutant.pcapng");
    let mut errors = 0;
    for _ in 0..250 {
        let mut bytes = original.clone();
        for _ in 0..(1 + next() % 4) {
            let i = (next() % bytes.len() as u64) as usize;
            if let Some(b) = bytes.get_mut(i) {
                *b = (next() & 0xff) as u8;
            }
        }
        if next() % 4 == 0 {
            bytes.truncate((next() % bytes.len() as u64) as usize);
        }
        std::fs::write(&path, &bytes).expect("write mutant");
        let (packets, result) = collect(&path);
        match result {
            Ok(stats) => assert_eq!(stats.packets, packets.len() as u64),
            Err(CaptureError::Read { packet, .. }) => {
                errors += 1;
                assert_eq!(packet, packets.len() as u64 + 1);
            }
            Err(CaptureError::Open { .. } | CaptureError::MixedLinkTypes { .. }) => errors += 1,
            Err(other) => panic!("unexpected error kind {other:?}"),
        }
        if super::pcapng_fallback::PcapngFallback::open(path.to_str().expect("utf-8"), 0).is_ok() {
            let _ = read_fallback(&path);
        }
    }
    assert!(errors > 0, "mutations should break some files");
}

// ---- stdin, pipes, merge ----------------------------------------------------------------------

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

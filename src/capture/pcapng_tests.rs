//! pcapng through libpcap and through the pcap-parser fallback: mixed link types and snaplens,
//! refusal in the middle of a file, if_tsresol/if_tsoffset, Simple Packet Blocks, truncation,
//! mutated files, progress.

use std::path::Path;

use super::testutil::{OwnedPacket, PcapngBuilder, collect, fixture, llmnr_frame, read_error, single_interface, write};
use super::{CaptureError, Progress, replay, replay_merged};
use crate::model::Ts;

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
    type Case = (&'static str, Option<u8>, Option<i64>, Vec<u64>);
    let cases: [Case; 5] = [
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
    let rounds: u32 = std::env::var("PXW_MUTATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(250);
    for _ in 0..rounds {
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

#[test]
fn pcapng_progress_counts_padded_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let eth = llmnr_frame(); // 66 bytes: padded to 68 in an EPB
    let mut b = PcapngBuilder::new();
    b.idb(1, 65535, None, None);
    let headers = b.bytes.len() as u64;
    for i in 0..10u64 {
        b.epb(0, i * 1_000_000, 66, &eth);
    }
    let path = write(dir.path(), "progress.pcapng", &b.bytes);
    let mut last = Progress::default();
    replay(path.to_str().expect("utf-8"), &mut |_| {}, &mut |p| last = p).expect("replay");
    assert_eq!(last.total_bytes, b.bytes.len() as u64);
    // Every Enhanced Packet Block is counted exactly; the section and interface headers are not.
    assert_eq!(last.bytes_read, last.total_bytes - headers);
    assert_eq!(last.bytes_read, 10 * (32 + 68));
}

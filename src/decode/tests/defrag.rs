//! Fragment reassembly: real fragmented datagrams from the corpus (tests/data/decode, see its
//! README) in every order, and crafted fragments for overlaps, duplicates, bad offsets and
//! the timeout and capacity limits.

use std::path::PathBuf;

use super::crafted::{eth, ipv4, udp};
use super::summary;
use crate::decode::{Decoded, Decoder, DefragLimits, L4, Layer};
use crate::model::Ts;

/// The frames of a fixture capture (all Ethernet).
fn fixture(name: &str) -> Vec<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/decode").join(name);
    let mut cap = pcap::Capture::from_file(&path).expect("fixture");
    assert_eq!(cap.get_datalink().0, 1);
    let mut frames = Vec::new();
    while let Ok(p) = cap.next_packet() {
        frames.push(p.data.to_vec());
    }
    frames
}

/// Feeds `frames` in the order `order`; all but the last must be held, the last completes.
fn reassemble(frames: &[Vec<u8>], order: &[usize]) -> String {
    let mut decoder = Decoder::default();
    let (last, held) = order.split_last().unwrap();
    for (i, &n) in held.iter().enumerate() {
        assert_eq!(decoder.decode(Ts(i as i64), 1, &frames[n]), Decoded::Skipped, "fragment {n}");
    }
    let out = summary(&decoder.decode(Ts(10), 1, &frames[*last]));
    assert_eq!(decoder.stats().datagrams_reassembled, 1);
    assert_eq!((decoder.reassembly_entries(), decoder.reassembly_bytes()), (0, 0));
    out
}

/// All orderings of 0..n (n ≤ 4).
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn real_fragments_in_every_order() {
    // Expected values from tshark with reassembly on (udp.length - 8, tcp.len).
    let cases = [
        ("dns-fragmented-v4.pcap", "UDP 193.24.227.238:53 > 173.194.169.104:59464 len=1490"),
        ("dns-fragmented-v6.pcap", "UDP 2001:470:765b::a25:53:53 > 2a00:1450:4013:c03::10a:46433 len=1501"),
        ("ipv6-fragmented-dns.pcap", "UDP 2607:f740:b::f93:53 > 2001:470:1f11:81f:d138:5f55:6d4:1fe2:51851 len=3230"),
        ("erspan-fragmented.pcap", "TCP 192.168.69.2:80 > 192.168.69.10:49162 len=2920"),
    ];
    for (name, want) in cases {
        let frames = fixture(name);
        for order in permutations(frames.len()) {
            assert_eq!(reassemble(&frames, &order), want, "{name} order {order:?}");
        }
    }
}

#[test]
fn reassembled_payload_is_the_concatenation() {
    // dns-fragmented-v4: the UDP payload is the first fragment's bytes after the UDP header
    // followed by the second fragment's IP payload.
    let frames = fixture("dns-fragmented-v4.pcap");
    let mut want = frames[0][14 + 20 + 8..].to_vec();
    want.extend_from_slice(&frames[1][14 + 20..14 + 38]);
    let mut decoder = Decoder::default();
    assert_eq!(decoder.decode(Ts(0), 1, &frames[1]), Decoded::Skipped);
    let Decoded::Segment(s) = decoder.decode(Ts(1), 1, &frames[0]) else { panic!("incomplete") };
    let L4::Udp { payload, .. } = s.l4 else { panic!("not UDP") };
    assert_eq!(payload, &want[..]);
    assert_eq!(s.src_mac, Some(frames[0][6..12].try_into().unwrap()));
}

#[test]
fn duplicates_are_ignored() {
    let frames = fixture("dns-fragmented-v4.pcap");
    let mut decoder = Decoder::default();
    for ts in 0..3 {
        assert_eq!(decoder.decode(Ts(ts), 1, &frames[0]), Decoded::Skipped);
    }
    assert!(matches!(decoder.decode(Ts(3), 1, &frames[1]), Decoded::Segment(_)));
    assert_eq!(decoder.stats().datagrams_reassembled, 1);
}

/// A 64-byte UDP datagram (8-byte header + 56 bytes) to cut into crafted fragments.
fn datagram() -> Vec<u8> {
    udp(5353, 53, &(0..56).collect::<Vec<u8>>())
}

/// Ethernet + IPv4 fragment of `datagram()` bytes `[start, end)`, id `id`.
fn frag(id: u16, data: &[u8], start: usize, end: usize, more: bool) -> Vec<u8> {
    let word = (start / 8) as u16 | if more { 0x2000 } else { 0 };
    eth(0x0800, &ipv4(17, id, word, &data[start..end]))
}

#[test]
fn overlaps_keep_the_first_bytes_or_fail() {
    let d = datagram();
    let mut decoder = Decoder::default();
    // Identical overlap: [0,24) [16,40) [32,64).
    assert_eq!(decoder.decode(Ts(0), 1, &frag(1, &d, 0, 24, true)), Decoded::Skipped);
    assert_eq!(decoder.decode(Ts(0), 1, &frag(1, &d, 16, 40, true)), Decoded::Skipped);
    let last = frag(1, &d, 32, 64, false);
    let Decoded::Segment(s) = decoder.decode(Ts(0), 1, &last) else { panic!("incomplete") };
    assert_eq!(s.l4, L4::Udp { sport: 5353, dport: 53, payload: &d[8..] });

    // Conflicting overlap (RFC 5722): the datagram is dropped.
    let mut evil = d.clone();
    evil[20] ^= 0xff;
    assert_eq!(decoder.decode(Ts(1), 1, &frag(2, &d, 0, 24, true)), Decoded::Skipped);
    assert_eq!(decoder.decode(Ts(1), 1, &frag(2, &evil, 16, 40, true)), Decoded::Error(Layer::Fragment));
    assert_eq!(decoder.reassembly_entries(), 0);

    // Two last fragments that disagree on the length; data beyond the last fragment.
    assert_eq!(decoder.decode(Ts(2), 1, &frag(3, &d, 48, 64, false)), Decoded::Skipped);
    assert_eq!(decoder.decode(Ts(2), 1, &frag(3, &d, 40, 56, false)), Decoded::Error(Layer::Fragment));
    assert_eq!(decoder.decode(Ts(2), 1, &frag(4, &d, 40, 56, true)), Decoded::Skipped);
    assert_eq!(decoder.decode(Ts(2), 1, &frag(4, &d, 16, 32, false)), Decoded::Error(Layer::Fragment));
    assert_eq!(decoder.reassembly_entries(), 0);
}

#[test]
fn bad_fragment_offsets() {
    let d = datagram();
    // A non-last fragment whose length is not a multiple of 8.
    assert_eq!(Decoder::default().decode(Ts(0), 1, &frag(5, &d, 0, 20, true)), Decoded::Error(Layer::Fragment));
    // Ending beyond 65,535 bytes (offset 8189 × 8 + 48).
    let big = eth(0x0800, &ipv4(17, 6, 8189, &[0; 48]));
    assert_eq!(Decoder::default().decode(Ts(0), 1, &big), Decoded::Error(Layer::Fragment));
}

#[test]
fn timeout_eviction_runs_on_capture_time() {
    let frames = fixture("dns-fragmented-v4.pcap");
    let limits = DefragLimits::default();
    let mut decoder = Decoder::new(limits);
    assert_eq!(decoder.decode(Ts(0), 1, &frames[0]), Decoded::Skipped);
    // The second fragment comes after the timeout: the first one is gone, this one is held.
    let late = Ts(limits.timeout_micros + 1);
    assert_eq!(decoder.decode(late, 1, &frames[1]), Decoded::Skipped);
    assert_eq!(decoder.stats().fragment_evictions_timeout, 1);
    assert_eq!(decoder.reassembly_entries(), 1);
    // Any later frame (here a plain UDP packet) drives expiry of the held fragment.
    let other = eth(0x0800, &ipv4(17, 9, 0, &datagram()));
    assert!(matches!(decoder.decode(late.plus(limits.timeout_micros + 1), 1, &other), Decoded::Segment(_)));
    assert_eq!(decoder.stats().fragment_evictions_timeout, 2);
    assert_eq!((decoder.reassembly_entries(), decoder.reassembly_bytes()), (0, 0));
}

#[test]
fn capacity_limits_hold_under_a_flood() {
    // 100,000 first fragments with distinct ids: never more than max_entries / max_bytes.
    let limits = DefragLimits { max_entries: 64, max_bytes: 48 * 1024, timeout_micros: 30_000_000 };
    let mut decoder = Decoder::new(limits);
    let body = vec![0x5a; 1480];
    for i in 0..100_000u32 {
        let mut frame = eth(0x0800, &ipv4(17, i as u16, 0x2000, &body));
        // Vary the source address too, so the 16-bit id space does not repeat.
        frame[14 + 12..14 + 16].copy_from_slice(&i.to_be_bytes());
        assert_eq!(decoder.decode(Ts(i64::from(i)), 1, &frame), Decoded::Skipped);
        assert!(decoder.reassembly_entries() <= limits.max_entries);
        assert!(decoder.reassembly_bytes() <= limits.max_bytes);
    }
    let stats = decoder.stats();
    assert!(stats.fragment_evictions_capacity >= 100_000 - limits.max_entries as u64);
    // After the flood a real datagram still reassembles.
    let frames = fixture("dns-fragmented-v4.pcap");
    assert_eq!(decoder.decode(Ts(200_000), 1, &frames[0]), Decoded::Skipped);
    assert!(matches!(decoder.decode(Ts(200_001), 1, &frames[1]), Decoded::Segment(_)));
}

#[test]
fn sparse_fragments_cost_what_they_hold() {
    // Fragments far into the datagram (offset 64,000) with default limits: bytes are charged
    // for data held, not for the offset, and the table stays within its bounds.
    let limits = DefragLimits::default();
    let mut decoder = Decoder::new(limits);
    for i in 0..5_000u32 {
        let mut frame = eth(0x0800, &ipv4(17, i as u16, 0x2000 | 8000, &[1; 512]));
        frame[14 + 12..14 + 16].copy_from_slice(&i.to_be_bytes());
        decoder.decode(Ts(i64::from(i)), 1, &frame);
        assert!(decoder.reassembly_entries() <= limits.max_entries);
        assert!(decoder.reassembly_bytes() <= limits.max_bytes);
    }
    assert_eq!(decoder.reassembly_entries(), limits.max_entries);
    assert!(decoder.reassembly_bytes() <= limits.max_entries * 1024);
}

#[test]
fn a_datagram_larger_than_max_bytes_is_dropped() {
    let frames = fixture("ipv6-fragmented-dns.pcap");
    let mut decoder = Decoder::new(DefragLimits { max_entries: 8, max_bytes: 2048, timeout_micros: 1_000_000 });
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(decoder.decode(Ts(i as i64), 1, f), Decoded::Skipped);
        assert!(decoder.reassembly_bytes() <= 2048);
    }
    assert_eq!(decoder.stats().datagrams_reassembled, 0);
    assert!(decoder.stats().fragment_evictions_capacity >= 1);
}

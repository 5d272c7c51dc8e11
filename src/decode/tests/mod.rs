//! Tests of the decoder on real frames cut from the corpus captures, crafted frames for link
//! types and tunnel options the corpus lacks, fragment reassembly, and a whole-corpus run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod corpus;
mod crafted;
mod defrag;
mod frames;

use crate::decode::{Decoded, Decoder, L4, Layer, TcpFlags};
use crate::model::Ts;

/// A frame (hex) of `linktype` and the expected [`summary`] of its decoding.
pub(super) struct Case {
    pub what: &'static str,
    pub linktype: i32,
    pub frame: &'static str,
    pub want: &'static str,
}

pub(super) fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// `TCP|UDP src:sport > dst:dport len=N [truncated]`, `skipped` or `error LAYER`.
pub(super) fn summary(d: &Decoded<'_>) -> String {
    match d {
        Decoded::Segment(s) => {
            let (kind, sport, dport, len) = match s.l4 {
                L4::Tcp { sport, dport, payload, .. } => ("TCP", sport, dport, payload.len()),
                L4::Udp { sport, dport, payload } => ("UDP", sport, dport, payload.len()),
            };
            let cut = if s.truncated { " truncated" } else { "" };
            format!("{kind} {}:{sport} > {}:{dport} len={len}{cut}", s.src, s.dst)
        }
        Decoded::Skipped => "skipped".to_string(),
        Decoded::Error(layer) => format!("error {}", layer.as_str()),
    }
}

/// Decodes one frame with a fresh decoder.
pub(super) fn decode_once(linktype: i32, frame: &[u8]) -> String {
    let mut decoder = Decoder::default();
    summary(&decoder.decode(Ts(0), linktype, frame))
}

pub(super) fn run_cases(cases: &[Case]) {
    for c in cases {
        assert_eq!(decode_once(c.linktype, &hex(c.frame)), c.want, "case {}", c.what);
    }
}

/// arkime__curl-enabled-tls13.pcap frame 8: the TLS ClientHello (Ethernet, IPv4, TCP).
const CLIENT_HELLO: &str = concat!(
    "f61636bcf9c602500000000108004500022d2eef4000400622fec0a8410368107d22b62e01bb4faf96381afe6ad05018",
    "00e5abee00001603010200010001fc03",
);

#[test]
fn tcp_fields_and_source_mac() {
    // Only the first 64 bytes of frame 8 are kept here: the frame is "cut by the snaplen".
    let frame = hex(CLIENT_HELLO);
    let mut decoder = Decoder::default();
    let Decoded::Segment(s) = decoder.decode(Ts(1), 1, &frame) else { panic!("not a segment") };
    assert_eq!(s.src_mac, Some([0x02, 0x50, 0x00, 0x00, 0x00, 0x01]));
    let L4::Tcp { sport, dport, seq, ack, flags, payload } = s.l4 else { panic!("not TCP") };
    // Values printed by tshark: tcp.seq_raw 1336907320, tcp.ack_raw 452881104, flags 0x018.
    assert_eq!((sport, dport, seq, ack), (46638, 443, 1_336_907_320, 452_881_104));
    assert_eq!(flags, TcpFlags(TcpFlags::PSH | TcpFlags::ACK));
    assert!(flags.ack() && !flags.syn() && !flags.fin() && !flags.rst());
    assert_eq!(payload, [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03]);
    assert!(s.truncated);
    assert_eq!(decoder.stats().truncated_frames, 1);
}

#[test]
fn snaplen_cuts() {
    let frame = hex(CLIENT_HELLO);
    let mut decoder = Decoder::default();
    // Cut inside the TCP header: not a protocol error, a counted truncated frame.
    assert_eq!(summary(&decoder.decode(Ts(1), 1, &frame[..14 + 20 + 12])), "skipped");
    assert_eq!(decoder.stats().truncated_frames, 1);
    // Cut right after the TCP header: a segment with an empty payload.
    assert_eq!(
        summary(&decoder.decode(Ts(2), 1, &frame[..54])),
        "TCP 192.168.65.3:46638 > 104.16.125.34:443 len=0 truncated"
    );
    assert_eq!(decoder.stats().truncated_frames, 2);
    // Cut inside the IP header: indistinguishable from a malformed packet.
    assert_eq!(summary(&decoder.decode(Ts(3), 1, &frame[..14 + 12])), "error ip");
    assert_eq!(summary(&decoder.decode(Ts(4), 1, &frame[..10])), "error link");
}

#[test]
fn tcp_header_cut_without_snaplen_is_an_error() {
    // The ClientHello frame with IPv4 Total Length set to 20 + 12: the IP packet is complete
    // but too short for a TCP header.
    let mut frame = hex(CLIENT_HELLO);
    frame[16..18].copy_from_slice(&32u16.to_be_bytes());
    let mut decoder = Decoder::default();
    assert_eq!(decoder.decode(Ts(1), 1, &frame), Decoded::Error(Layer::Tcp));
    assert_eq!(decoder.stats().truncated_frames, 0);
}

#[test]
fn unknown_link_type_is_a_link_error() {
    let frame = hex(CLIENT_HELLO);
    for linktype in [-1, 2, 147, 192, 195, 100_000] {
        assert_eq!(decode_once(linktype, &frame), "error link", "linktype {linktype}");
    }
}

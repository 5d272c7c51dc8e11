//! Flow-layer tests: real client bytes (tests/data/tls, cut from named captures, see its README)
//! cut into TCP segments in every awkward way — split, reordered, retransmitted, overlapping,
//! with gaps — through the real flow tracker.

use std::net::IpAddr;

use super::*;
use crate::decode::{L4, Segment, TcpFlags};
use crate::model::{ObservationKind, Ts};

const CHROMIUM_PQ: &[u8] = include_bytes!("../../tests/data/tls/chromium156-pq-mtu1500.bin");
const OPENSSL_FRAGMENTED: &[u8] = include_bytes!("../../tests/data/tls/openssl-max-send-frag-512.bin");

fn client() -> IpAddr {
    "10.99.0.100".parse().unwrap()
}
fn server() -> IpAddr {
    "10.99.0.2".parse().unwrap()
}

struct Conn {
    flows: FlowTracker,
    out: Vec<Observation>,
    isn: u32,
    t: i64,
    sport: u16,
    dport: u16,
}

impl Conn {
    fn new(dport: u16) -> Conn {
        Conn {
            flows: FlowTracker::new(FlowLimits::default()),
            out: Vec::new(),
            isn: 0xfffff000,
            t: 0,
            sport: 40000,
            dport,
        }
    }

    fn send(&mut self, flags: u8, seq: u32, payload: &[u8]) {
        self.t += 1000;
        let seg = Segment {
            src_mac: None,
            dst_mac: None,
            src: client(),
            dst: server(),
            l4: L4::Tcp { sport: self.sport, dport: self.dport, seq, ack: 1, flags: TcpFlags(flags), payload },
            truncated: false,
        };
        self.flows.handle(Ts(self.t), &seg, &mut self.out);
    }

    fn syn(&mut self) {
        self.send(TcpFlags::SYN, self.isn, &[]);
    }

    /// Client bytes `data[range]` at their sequence numbers (ISN + 1 is byte 0).
    fn data(&mut self, data: &[u8], from: usize, to: usize) {
        let seq = self.isn.wrapping_add(1).wrapping_add(from as u32);
        self.send(TcpFlags::ACK | TcpFlags::PSH, seq, &data[from..to]);
    }

    /// Named observations (mail activity is checked on its own).
    fn names(&self) -> Vec<String> {
        self.out
            .iter()
            .filter(|o| o.kind != ObservationKind::MailActivity)
            .map(|o| format!("{}:{}", o.kind.kind_str(), o.kind.name()))
            .collect()
    }

    fn activity(&self) -> usize {
        self.out.iter().filter(|o| o.kind == ObservationKind::MailActivity).count()
    }
}

#[test]
fn hello_in_two_segments_with_sequence_wraparound() {
    let mut c = Conn::new(443);
    c.syn();
    c.data(CHROMIUM_PQ, 0, 1448);
    assert!(c.out.is_empty());
    c.data(CHROMIUM_PQ, 1448, CHROMIUM_PQ.len());
    assert_eq!(c.names(), ["tls_sni:pixel.tracker.test"]);
    assert!(matches!(c.out[0].kind, ObservationKind::TlsSni { ech: true, .. }));
}

#[test]
fn out_of_order_retransmitted_and_overlapping_segments_give_one_sni() {
    let n = CHROMIUM_PQ.len();
    let orders: [&[(usize, usize)]; 4] = [
        &[(1000, n), (0, 1000)],
        &[(700, 1400), (1400, n), (0, 700), (0, 700)],
        &[(0, 500), (300, 900), (800, n), (0, n)],
        &[(600, n), (600, n), (0, 10), (5, 600)],
    ];
    for order in orders {
        let mut c = Conn::new(443);
        c.syn();
        for &(a, b) in order {
            c.data(CHROMIUM_PQ, a, b);
        }
        assert_eq!(c.names(), ["tls_sni:pixel.tracker.test"], "{order:?}");
    }
}

#[test]
fn hello_over_several_records_and_no_syn() {
    // The first segment starts with the record header: picked up mid-stream without a SYN.
    let mut c = Conn::new(993);
    for chunk_start in (0..1572).step_by(300) {
        c.data(OPENSSL_FRAGMENTED, chunk_start, (chunk_start + 300).min(1572));
    }
    assert_eq!(c.names(), ["tls_sni:frag.pixel.test"]);
}

#[test]
fn starttls_and_socks_prefixes_are_skipped() {
    let mut c = Conn::new(587);
    c.syn();
    let plain = b"EHLO laptop\r\nSTARTTLS\r\n";
    let mut stream = plain.to_vec();
    stream.extend_from_slice(CHROMIUM_PQ);
    c.data(&stream, 0, plain.len());
    c.data(&stream, plain.len(), plain.len() + 1448);
    c.data(&stream, plain.len() + 1448, stream.len());
    assert_eq!(c.names(), ["tls_sni:pixel.tracker.test"]);
}

#[test]
fn client_payload_on_mail_connections_is_mail_activity_once_a_second() {
    // IMAPS (993) picked up mid-connection: a long-lived session opened before the capture.
    let mut c = Conn::new(993);
    c.isn = 5000;
    for i in 0..30 {
        c.t += 100_000; // 30 segments over ~3 s
        c.data(
            &[0x17, 0x03, 0x03, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
            0,
            25,
        );
        c.isn = c.isn.wrapping_add(25);
        let _ = i;
    }
    assert!((3..=4).contains(&c.activity()), "{}", c.activity());
    assert!(c.names().is_empty());
    // Port 443 with a mail-access SNI, when the lists say so.
    let mut c = Conn::new(443);
    c.flows.set_mail_hosts(std::sync::Arc::new(|n: &str| n == "pixel.tracker.test"));
    c.syn();
    c.data(CHROMIUM_PQ, 0, 1448);
    c.data(CHROMIUM_PQ, 1448, CHROMIUM_PQ.len());
    assert_eq!(c.activity(), 1, "the ClientHello segment that named the mail host");
    // Ordinary HTTPS: never.
    let mut c = Conn::new(443);
    c.syn();
    c.data(CHROMIUM_PQ, 0, CHROMIUM_PQ.len());
    assert_eq!(c.activity(), 0);
}

#[test]
fn pipelined_requests_bodies_and_chunks() {
    let mut c = Conn::new(80);
    c.syn();
    let s: &[u8] = b"GET /a HTTP/1.1\r\nHost: one.example:8080\r\n\r\n\
POST /b HTTP/1.1\r\nHost: two.example\r\nContent-Length: 38\r\n\r\nGET /fake HTTP/1.1\r\nHost: evil.example\
PUT /c HTTP/1.1\r\nHost: [fd99::2]:8080\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET /\r\n0\r\n\r\n\
GET /d HTTP/1.1\r\nHost: three.example\r\n\r\n";
    // Split at awkward places: inside a header, inside the body, inside a chunk.
    let cuts = [0, 20, 61, 100, 150, 190, 205, s.len()];
    for w in cuts.windows(2) {
        c.data(s, w[0], w[1]);
    }
    assert_eq!(
        c.names(),
        ["http_host:one.example", "http_host:two.example", "http_host:fd99::2", "http_host:three.example"]
    );
}

#[test]
fn http_resynchronises_after_a_gap() {
    let mut c = Conn::new(80);
    c.syn();
    let first = b"POST /up HTTP/1.1\r\nHost: a.example\r\nContent-Length: 100000\r\n\r\n";
    c.data(first, 0, first.len());
    // The body is lost from the capture; the next request arrives far ahead.
    let next = b"GET /x HTTP/1.1\r\nHost: b.example\r\n\r\n";
    let base = c.isn.wrapping_add(1).wrapping_add(first.len() as u32 + 100_000);
    for i in 0..tcp::OOO_MAX_SEGMENTS as u32 + 1 {
        c.send(TcpFlags::ACK, base.wrapping_add(i * 2000), &[b'x'; 1000]);
    }
    c.send(TcpFlags::ACK, base.wrapping_add(200_000), next);
    // More segments after more holes: the held ones are given up on when the buffer fills.
    for i in 0..tcp::OOO_MAX_SEGMENTS as u32 + 1 {
        c.send(TcpFlags::ACK, base.wrapping_add(300_000 + i * 2000), &[b'x'; 1000]);
    }
    let names = c.names();
    assert_eq!(names.first().map(String::as_str), Some("http_host:a.example"));
    assert!(names.iter().any(|n| n == "http_host:b.example"), "{names:?}");
}

#[test]
fn dns_over_tcp_message_split_inside_its_length_prefix() {
    // A query, then its response, each with the 2-byte length prefix, split across segments.
    let query = [
        0x00, 0x21, 0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'w', b'w', b'w', 7, b'e', b'x', b'a', b'm',
        b'p', b'l', b'e', 3, b'c', b'o', b'm', 0, 0, 1, 0, 1,
    ];
    let mut c = Conn::new(53);
    c.syn();
    c.data(&query, 0, 1);
    c.data(&query, 1, 20);
    c.data(&query, 20, query.len());
    assert_eq!(c.names(), ["dns_query:www.example.com"]);
}

#[test]
fn table_and_buffers_stay_bounded_under_a_syn_flood() {
    let mut flows = FlowTracker::new(FlowLimits { max_streams: 1000, ..FlowLimits::default() });
    let mut out = Vec::new();
    for i in 0..200_000u32 {
        let seg = Segment {
            src_mac: None,
            dst_mac: None,
            src: IpAddr::from(i.to_be_bytes()),
            dst: server(),
            l4: L4::Tcp { sport: 1000, dport: 443, seq: i, ack: 0, flags: TcpFlags(TcpFlags::SYN), payload: &[] },
            truncated: false,
        };
        flows.handle(Ts(i64::from(i)), &seg, &mut out);
        // Half of them send the first bytes of a hello and stall.
        let seg = Segment {
            l4: L4::Tcp {
                sport: 1000,
                dport: 443,
                seq: i.wrapping_add(1),
                ack: 0,
                flags: TcpFlags(TcpFlags::ACK),
                payload: &CHROMIUM_PQ[..1448],
            },
            ..seg
        };
        if i % 2 == 0 {
            flows.handle(Ts(i64::from(i)), &seg, &mut out);
        }
        assert!(flows.stats().streams <= 1000);
    }
    let buffered: usize = flows.streams.iter().map(|(_, s)| s.buffered()).sum();
    assert!(buffered <= 1000 * tcp::TLS_BUFFER_CAP, "{buffered}");
    assert!(flows.stats().evicted_capacity >= 199_000);
    assert!(out.is_empty());
}

#[test]
fn reassembly_buffers_stay_within_their_budget_and_new_handshakes_complete() {
    let limits = FlowLimits { max_streams: 10_000, max_buffer_bytes: 256 * 1024, ..FlowLimits::default() };
    let mut flows = FlowTracker::new(limits);
    let mut out = Vec::new();
    let segment = |src: u32, seq: u32, flags: u8, payload: &'static [u8]| Segment {
        src_mac: None,
        dst_mac: None,
        src: IpAddr::from(src.to_be_bytes()),
        dst: server(),
        l4: L4::Tcp { sport: 1000, dport: 443, seq, ack: 0, flags: TcpFlags(flags), payload },
        truncated: false,
    };
    // 5,000 streams each hold two segments of a ClientHello that never completes: ~14 MiB
    // without the budget.
    for i in 0..5_000u32 {
        let t = Ts(i64::from(i) * 10);
        flows.handle(t, &segment(i, 0, TcpFlags::SYN, &[]), &mut out);
        flows.handle(t, &segment(i, 1, TcpFlags::ACK, &CHROMIUM_PQ[..1448]), &mut out);
        flows.handle(t, &segment(i, 1449, TcpFlags::ACK, &CHROMIUM_PQ[1448..2000]), &mut out);
        let stats = flows.stats();
        assert!(stats.buffered_bytes <= 256 * 1024 + 4096, "{stats:?}");
        let held: usize = flows.streams.iter().map(|(_, s)| s.buffered()).sum();
        assert_eq!(held, stats.buffered_bytes, "the budget's count is exact");
    }
    assert!(flows.stats().evicted_memory > 4_000, "{:?}", flows.stats());
    // A handshake that starts during the flood still completes.
    let t = Ts(60_000);
    let (first, rest) = CHROMIUM_PQ.split_at(1448);
    flows.handle(t, &segment(99_999, 0, TcpFlags::SYN, &[]), &mut out);
    flows.handle(t, &segment(99_999, 1, TcpFlags::ACK, first), &mut out);
    flows.handle(t, &segment(99_999, 1449, TcpFlags::ACK, rest), &mut out);
    assert!(out.iter().any(|o| matches!(o.kind, ObservationKind::TlsSni { .. })), "{out:?}");
}

#![no_main]
//! Fuzz target: quic. Input: records of (direction byte, u16 length, datagram) fed to one
//! `QuicTracker` (client → server when the direction byte is even); every datagram also goes
//! through the long-header parser, the Initial opener (keys from its own DCID) and, read as a
//! plaintext Initial payload, through the frame walker into a CRYPTO stream.
use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use pixelwatch::extract::quic::{Frame, InitialKeys, LongKind, frames, packets};
use pixelwatch::flow::quic::{CryptoStream, QuicLimits, QuicOutcome, QuicTracker};
use pixelwatch::model::Ts;

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

fuzz_target!(|data: &[u8]| {
    let limits = QuicLimits { max_connections: 8, max_buffer_bytes: 64 * 1024, ..QuicLimits::default() };
    let mut tracker = QuicTracker::new(limits);
    let mut rest = data;
    let mut ts = 0i64;
    let mut scratch = Vec::new();
    while let Some((&dir, r)) = rest.split_first() {
        let Some((len, r)) = r.split_first_chunk::<2>() else { break };
        let len = usize::from(u16::from_be_bytes(*len)).min(r.len());
        let (datagram, r) = r.split_at(len);
        rest = r;
        ts += i64::from(dir >> 1) * 100_000;
        let port = 40_000 + u16::from(dir >> 5);
        let outcome = if dir & 1 == 0 {
            tracker.datagram(Ts(ts), CLIENT, port, SERVER, 443, datagram)
        } else {
            tracker.datagram(Ts(ts), SERVER, 443, CLIENT, port, datagram)
        };
        if let QuicOutcome::ClientHello { hello, .. } = outcome {
            assert!(hello.len() <= limits.max_hello_bytes && hello.first() == Some(&1));
        }
        for packet in packets(datagram).flatten() {
            if let LongKind::Initial { params, .. } = packet.kind {
                if let Some(keys) = InitialKeys::client(params, packet.dcid) {
                    let _ = keys.open(&packet, None, &mut scratch);
                }
            }
        }
        let mut stream = CryptoStream::default();
        for frame in frames(datagram) {
            match frame {
                Ok(Frame::Crypto { offset, data }) => {
                    let _ = stream.insert(offset, data, 16 * 1024, 32 * 1024);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        assert!(stream.heap_bytes() <= 32 * 1024 + 1024);
        let _ = stream.progress(16 * 1024);
        let stats = tracker.stats();
        assert!(stats.connections <= limits.max_connections && stats.buffered_bytes <= limits.max_buffer_bytes);
    }
});

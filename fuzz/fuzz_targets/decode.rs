#![no_main]
//! Fuzz target: the frame decoder (link layers, IP, tunnels, fragment reassembly).
//!
//! Input: 2 bytes choosing a supported link type, then frames, each as a 2-byte little-endian
//! length (low 11 bits), a 1-byte capture-time step (× 50 ms) and the frame bytes (the last
//! frame takes what is left). All frames go through one decoder with small reassembly limits,
//! so fragments of one input meet each other and every eviction path runs.
use libfuzzer_sys::fuzz_target;
use pixelwatch::decode::linktype::SUPPORTED;
use pixelwatch::decode::{Decoded, Decoder, DefragLimits, L4};
use pixelwatch::model::Ts;

const LIMITS: DefragLimits = DefragLimits { max_entries: 8, max_bytes: 24 * 1024, timeout_micros: 1_000_000 };

fuzz_target!(|data: &[u8]| {
    let [l0, l1, rest @ ..] = data else { return };
    let linktype = SUPPORTED[usize::from(u16::from_le_bytes([*l0, *l1])) % SUPPORTED.len()];
    let mut decoder = Decoder::new(LIMITS);
    let mut ts = Ts(1_700_000_000_000_000);
    let mut rest = rest;
    while !rest.is_empty() {
        let (frame, tail) = match rest {
            [a, b, step, tail @ ..] => {
                ts = ts.plus(i64::from(*step) * 50_000);
                let len = usize::from(u16::from_le_bytes([*a, *b]) & 0x07ff).min(tail.len());
                tail.split_at(len)
            }
            _ => (rest, &[][..]),
        };
        rest = tail;
        match decoder.decode(ts, linktype, frame) {
            // Without reassembly a payload is a part of the frame; a reassembled one fits in 64 KiB.
            Decoded::Segment(s) => {
                let payload = match s.l4 {
                    L4::Tcp { payload, .. } | L4::Udp { payload, .. } => payload,
                };
                assert!(payload.len() <= frame.len().max(65_535));
            }
            Decoded::Skipped | Decoded::Error(_) => {}
        }
        assert!(decoder.reassembly_entries() <= LIMITS.max_entries);
        assert!(decoder.reassembly_bytes() <= LIMITS.max_bytes);
    }
});

#![no_main]
//! Fuzz target: the whole pipeline on a sequence of packets.
//!
//! First byte even: frames (2-byte link-type choice, then frames as in the decode target) go
//! through `Pipeline::packet` with the embedded list, so decode, flows, every extractor, tracker
//! matching, contacts and the event writer all run. First byte odd: TCP/UDP segments are built
//! directly (a 4-byte header per segment: flags, port choice, sequence step, length) and fed to
//! the flow tracker, which reaches stream reassembly states that raw frames rarely do. First byte
//! 2 mod 4: a TLS key log first (2-byte length, bit 15 = complete as in replay, else fed after
//! the first frame as a live key log would be), then frames as above: TLS sessions, ServerHello,
//! decryption and decrypted requests run (seed: captures/keylog/chromium-h2 with its key log).
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use pixelwatch::decode::linktype::SUPPORTED;
use pixelwatch::decode::{L4, Segment, TcpFlags};
use pixelwatch::extract::tls::keylog::{KeyLog, KeyLogLimits};
use pixelwatch::flow::{FlowLimits, FlowTracker};
use pixelwatch::model::Ts;
use pixelwatch::pipeline::{Limits, Pipeline};
use pixelwatch::sink::events::EventWriter;
use pixelwatch::sink::metrics::Metrics;
use pixelwatch::trackers::TrackerDb;

fn db() -> Arc<TrackerDb> {
    static DB: OnceLock<Arc<TrackerDb>> = OnceLock::new();
    DB.get_or_init(|| Arc::new(TrackerDb::embedded())).clone()
}

const PORTS: [u16; 8] = [53, 80, 443, 993, 5353, 8080, 4433, 40000];

fn frames(data: &[u8], keylog: Option<(&[u8], bool)>) {
    let [l0, l1, rest @ ..] = data else { return };
    let linktype = SUPPORTED[usize::from(u16::from_le_bytes([*l0, *l1])) % SUPPORTED.len()];
    let events = EventWriter::new(Box::new(std::io::sink()), true);
    let mut pipeline = Pipeline::new(db(), Arc::new(Metrics::new(16)), Some(events), Limits::default());
    let mut live_keylog = None;
    if let Some((text, complete)) = keylog {
        let mut keys = KeyLog::new(KeyLogLimits { max_entries: 64, max_age_micros: 10_000_000 });
        if complete {
            keys.feed(text, Ts(0));
            keys.finish(Ts(0));
        } else {
            live_keylog = Some(text);
        }
        pipeline = pipeline.with_keylog(keys, complete);
    }
    let mut ts = Ts(1_700_000_000_000_000);
    let mut rest = rest;
    while !rest.is_empty() {
        let (frame, tail) = match rest {
            [a, b, step, tail @ ..] => {
                ts = ts.plus(i64::from(*step) * 100_000);
                let len = usize::from(u16::from_le_bytes([*a, *b]) & 0x07ff).min(tail.len());
                tail.split_at(len)
            }
            _ => (rest, &[][..]),
        };
        rest = tail;
        pipeline.packet(ts, linktype, frame, frame.len() as u32).unwrap();
        if let Some(text) = live_keylog.take() {
            pipeline.keylog_feed(text, ts).unwrap();
        }
    }
    pipeline.finish().unwrap();
}

fn segments(data: &[u8]) {
    let mut flows = FlowTracker::new(FlowLimits { max_streams: 8, ..FlowLimits::default() });
    let client: IpAddr = "10.0.0.1".parse().unwrap();
    let server: IpAddr = "10.0.0.2".parse().unwrap();
    let mut out = Vec::new();
    let mut seq = 0xffff_ff00u32;
    let mut ts = Ts(0);
    let mut rest = data;
    while let [flags, ports, step, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (payload, tail) = tail.split_at(n);
        rest = tail;
        let sport = 40000 + u16::from(ports >> 4);
        let dport = PORTS[usize::from(ports & 7)];
        // Mostly forward, sometimes back (retransmissions and overlaps), sometimes far ahead.
        seq = match step >> 6 {
            0 => seq.wrapping_add(u32::from(*step)),
            1 => seq.wrapping_sub(u32::from(step & 0x3f)),
            2 => seq.wrapping_add(u32::from(step & 0x3f) << 10),
            _ => seq,
        };
        ts = ts.plus(1000);
        let (src, dst) = if ports & 8 == 0 { (client, server) } else { (server, client) };
        let l4 = if flags & 0x80 != 0 {
            L4::Udp { sport, dport, payload }
        } else {
            L4::Tcp { sport, dport, seq, ack: 0, flags: TcpFlags(flags & 0x1f), payload }
        };
        let segment = Segment { src_mac: None, dst_mac: None, src, dst, l4, truncated: flags & 0x40 != 0 };
        flows.handle(ts, &segment, &mut out);
        out.clear();
        seq = seq.wrapping_add(n as u32);
    }
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((mode, [k0, k1, rest @ ..])) if mode & 3 == 2 => {
            let len = usize::from(u16::from_le_bytes([*k0, *k1]) & 0x7fff).min(rest.len());
            let (keylog, frames_data) = rest.split_at(len);
            frames(frames_data, Some((keylog, k1 & 0x80 != 0)));
        }
        Some((mode, rest)) if mode & 1 == 0 => frames(rest, None),
        Some((_, rest)) => segments(rest),
        None => {}
    }
});

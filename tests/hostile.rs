//! Hostile bytes: every packet of every corpus capture, with random byte flips and truncations
//! (fixed seed), goes through the whole pipeline: no panic, and memory stays bounded. Then whole
//! capture files are corrupted and replayed by the binary: a clear error or success, never a panic.
//! Skips cleanly when the shared corpus is absent.

mod common;

use std::sync::Arc;

use common::{bin, captures_in, corpus};
use pixelwatch::model::Ts;
use pixelwatch::pipeline::{Limits, Pipeline};
use pixelwatch::sink::events::EventWriter;
use pixelwatch::sink::metrics::Metrics;
use pixelwatch::trackers::TrackerDb;

/// xorshift64*: a small deterministic generator (the test needs repeatability, not quality).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

fn mutate(rng: &mut Rng, data: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(data);
    match rng.below(4) {
        0 => {}
        1 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(out.len());
                if let Some(b) = out.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
        }
        2 => out.truncate(rng.below(out.len() + 1)),
        _ => {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(out.len());
                if let Some(b) = out.get_mut(i) {
                    *b = rng.next() as u8;
                }
            }
            out.truncate(rng.below(out.len() + 1).max(out.len() / 2));
        }
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn mutated_corpus_packets_never_panic_and_memory_stays_bounded() {
    let Some(corpus) = corpus() else {
        eprintln!("skipping: the shared corpus (../shared/corpus) is not here");
        return;
    };
    let db = Arc::new(TrackerDb::embedded());
    let metrics = Arc::new(Metrics::new(500));
    let events = EventWriter::new(Box::new(std::io::sink()), true);
    let mut pipeline = Pipeline::new(db, metrics, Some(events), Limits::default());
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let mut buf = Vec::new();
    let mut packets = 0u64;
    let before = peak_rss_kib();
    for round in 0..3 {
        for path in captures_in(&corpus.join("pcaps")) {
            let Ok(mut cap) = pcap::Capture::from_file(&path) else { continue };
            let linktype = cap.get_datalink().0;
            while let Ok(p) = cap.next_packet() {
                let ts = Ts::from_secs_micros(p.header.ts.tv_sec, p.header.ts.tv_usec).plus(round * 3_600_000_000);
                mutate(&mut rng, p.data, &mut buf);
                let lt = if rng.below(50) == 0 { rng.below(300) as i32 } else { linktype };
                pipeline.packet(ts, lt, &buf, p.header.len).unwrap();
                packets += 1;
            }
        }
    }
    pipeline.flush().unwrap();
    let grown = peak_rss_kib().saturating_sub(before);
    eprintln!("{packets} mutated packets; peak RSS grew by {} KiB", grown);
    assert!(packets > 100_000, "the corpus should give many packets, got {packets}");
    assert!(grown < 128 * 1024, "peak RSS grew by {grown} KiB");
}

#[test]
fn corrupted_capture_files_give_an_error_or_a_result_never_a_panic() {
    let Some(corpus) = corpus() else {
        eprintln!("skipping: the shared corpus (../shared/corpus) is not here");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0xc0ff_ee00_1234_5678);
    let files = captures_in(&corpus.join("pcaps"));
    let mut outcomes = [0u32; 3];
    for (i, path) in files.iter().enumerate().filter(|(i, _)| i % 8 == 0) {
        let data = std::fs::read(path).unwrap();
        let mut bad = data.clone();
        match i % 3 {
            0 => bad.truncate(rng.below(data.len())),
            1 => {
                for _ in 0..16 {
                    let j = rng.below(bad.len());
                    if let Some(b) = bad.get_mut(j) {
                        *b = rng.next() as u8;
                    }
                }
            }
            _ => {
                // A record header claiming a huge length.
                if bad.len() > 40 {
                    let j = 24 + rng.below(bad.len() - 40);
                    bad[j..j + 4].copy_from_slice(&0x0004_0000u32.to_le_bytes());
                }
            }
        }
        let f = dir.path().join(format!("bad{i}.pcap"));
        std::fs::write(&f, &bad).unwrap();
        let out = std::process::Command::new(bin())
            .args(["replay", "--summary", "json", "--events-all", "--events", "/dev/null"])
            .arg(&f)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{}: {stderr}", path.display());
        match out.status.code() {
            Some(0) => outcomes[0] += 1,
            Some(1) => {
                assert!(stderr.contains(&format!("bad{i}.pcap")), "error names the file: {stderr}");
                outcomes[1] += 1;
            }
            other => panic!("{}: exit {other:?}: {stderr}", path.display()),
        }
        if out.status.code() == Some(1) && !out.stdout.is_empty() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary is still JSON");
            assert!(v["packets"].is_u64());
            outcomes[2] += 1;
        }
    }
    eprintln!(
        "corrupted files: {} read, {} stopped with an error ({} with a summary)",
        outcomes[0], outcomes[1], outcomes[2]
    );
    assert!(outcomes[1] > 0, "some corruptions must be detected");
}

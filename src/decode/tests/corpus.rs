//! Whole-corpus run: every frame of every capture in the shared corpus goes through one
//! decoder per file. Skips cleanly when the corpus is absent.
//!
//! `PIXELWATCH_CORPUS` overrides the directory. With `PIXELWATCH_DECODE_DUMP=DIR`, one line per
//! frame (`number|segment|src|dst|sport|dport`, or `number|skipped`/`number|error-LAYER`) is
//! written to `DIR/<capture>.txt`, for comparison with tshark's innermost IP and ports.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::decode::{Decoded, Decoder, DefragLimits, L4, Layer};
use crate::model::Ts;

pub(super) fn corpus_dir() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("PIXELWATCH_CORPUS") {
        candidates.push(PathBuf::from(dir));
    }
    candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/pcaps"));
    candidates.push(PathBuf::from("/work/shared/corpus/pcaps"));
    candidates.into_iter().find(|d| d.is_dir())
}

#[derive(Default, Debug)]
struct Tally {
    files: usize,
    frames: u64,
    segments: u64,
    skipped: u64,
    errors: BTreeMap<&'static str, u64>,
}

#[test]
fn every_corpus_frame_decodes_without_panic() {
    let Some(dir) = corpus_dir() else {
        eprintln!("corpus not found; skipping");
        return;
    };
    let dump = std::env::var_os("PIXELWATCH_DECODE_DUMP").map(PathBuf::from);
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    files.sort();
    let mut by_link: BTreeMap<i32, Tally> = BTreeMap::new();
    let mut refused = 0;
    let mut totals = crate::decode::DecodeStats::default();
    for path in &files {
        let Ok(mut cap) = pcap::Capture::from_file(path) else {
            refused += 1;
            continue;
        };
        let linktype = cap.get_datalink().0;
        let tally = by_link.entry(linktype).or_default();
        tally.files += 1;
        let mut decoder = Decoder::new(DefragLimits::default());
        let mut out = String::new();
        let mut number = 0u64;
        while let Ok(p) = cap.next_packet() {
            number += 1;
            let ts = Ts::from_secs_micros(p.header.ts.tv_sec, p.header.ts.tv_usec);
            tally.frames += 1;
            let decoded = decoder.decode(ts, linktype, p.data);
            match decoded {
                Decoded::Segment(s) => {
                    tally.segments += 1;
                    let (sport, dport) = match s.l4 {
                        L4::Tcp { sport, dport, .. } | L4::Udp { sport, dport, .. } => (sport, dport),
                    };
                    let _ = writeln!(out, "{number}|segment|{}|{}|{sport}|{dport}", s.src, s.dst);
                }
                Decoded::Skipped => {
                    tally.skipped += 1;
                    let _ = writeln!(out, "{number}|skipped");
                }
                Decoded::Error(layer) => {
                    *tally.errors.entry(layer.as_str()).or_default() += 1;
                    let _ = writeln!(out, "{number}|error-{}", layer.as_str());
                }
            }
        }
        let s = decoder.stats();
        totals.datagrams_reassembled += s.datagrams_reassembled;
        totals.truncated_frames += s.truncated_frames;
        totals.fragment_evictions_capacity += s.fragment_evictions_capacity;
        totals.fragment_evictions_timeout += s.fragment_evictions_timeout;
        totals.tunnel_depth_exceeded += s.tunnel_depth_exceeded;
        assert!(decoder.reassembly_entries() <= DefragLimits::default().max_entries);
        assert!(decoder.reassembly_bytes() <= DefragLimits::default().max_bytes);
        if let (Some(dump), Some(name)) = (&dump, path.file_name()) {
            let _ = std::fs::create_dir_all(dump);
            let _ = std::fs::write(dump.join(name).with_extension("txt"), out);
        }
    }
    eprintln!("corpus {}: {} files, {refused} refused by libpcap", dir.display(), files.len());
    eprintln!("{:>8} {:>5} {:>8} {:>8} {:>8}  errors", "linktype", "files", "frames", "segment", "skipped");
    let mut all = Tally::default();
    for (lt, t) in &by_link {
        eprintln!(
            "{lt:>8} {:>5} {:>8} {:>7.2}% {:>7.2}%  {:?}",
            t.files,
            t.frames,
            100.0 * t.segments as f64 / t.frames.max(1) as f64,
            100.0 * t.skipped as f64 / t.frames.max(1) as f64,
            t.errors
        );
        all.frames += t.frames;
        all.segments += t.segments;
        for (k, v) in &t.errors {
            *all.errors.entry(k).or_default() += v;
        }
    }
    eprintln!("all: {} frames, {} segments, errors {:?}, {totals:?}", all.frames, all.segments, all.errors);
    let errors: u64 = all.errors.values().sum();
    assert!(all.frames > 0);
    // Measured on the 334-capture corpus; the bounds leave room for added captures.
    assert!(all.segments * 100 >= all.frames * 90, "segments {} of {}", all.segments, all.frames);
    assert!(errors * 1000 <= all.frames * 5, "errors {errors} of {}", all.frames);
    let _ = Layer::ALL;
}

/// Indicative speed: `cargo test --release --lib decode_speed -- --ignored --nocapture`.
/// Decodes the frames of one plain Ethernet/IPv4/TCP capture, then of the whole corpus, in a
/// loop from memory (no libpcap in the timed part).
#[test]
#[ignore = "timing, run by hand in release mode"]
fn decode_speed() {
    use std::hint::black_box;
    use std::time::Instant;
    let Some(dir) = corpus_dir() else {
        eprintln!("corpus not found; skipping");
        return;
    };
    let load = |path: &std::path::Path| -> Vec<(i32, Vec<u8>)> {
        let Ok(mut cap) = pcap::Capture::from_file(path) else { return Vec::new() };
        let linktype = cap.get_datalink().0;
        let mut frames = Vec::new();
        while let Ok(p) = cap.next_packet() {
            frames.push((linktype, p.data.to_vec()));
        }
        frames
    };
    let plain = load(&dir.join("ndpi__opera-vpn.pcapng"));
    let mut all = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in &paths {
        all.extend(load(p));
    }
    // CPU time of this thread in ns (field 1 of schedstat): the machine is shared, wall time
    // includes time spent waiting for a core.
    let cpu_ns = || -> Option<u64> {
        std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
    };
    for (name, frames) in [("ndpi__opera-vpn (Ethernet/IPv4/TCP)", &plain), ("whole corpus", &all)] {
        let mut decoder = Decoder::default();
        let mut n = 0u64;
        let mut segments = 0u64;
        let cpu_start = cpu_ns();
        let start = Instant::now();
        while start.elapsed().as_millis() < 1500 {
            for (i, (lt, f)) in frames.iter().enumerate() {
                let d = decoder.decode(Ts(n as i64 + i as i64), *lt, black_box(f));
                segments += u64::from(matches!(black_box(d), Decoded::Segment(_)));
            }
            n += frames.len() as u64;
        }
        let wall = start.elapsed().as_nanos() as f64 / n as f64;
        let cpu = match (cpu_start, cpu_ns()) {
            (Some(a), Some(b)) => format!("{:.1}", b.saturating_sub(a) as f64 / n as f64),
            _ => "?".to_string(),
        };
        let rounds = n / frames.len() as u64;
        eprintln!(
            "{name}: {} frames x {rounds} rounds: {cpu} ns/frame CPU, {wall:.1} wall ({segments} segments)",
            frames.len()
        );
    }
}

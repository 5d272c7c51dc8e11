//! Replays every capture of the shared corpus (`$PIXELWATCH_CORPUS`, `../shared/corpus`, or
//! `/work/shared/corpus`; skipped when absent): packet counts must equal `capinfos -c` as recorded
//! in `expected/<name>.meta.json`, and for every pcapng the fallback reader must agree with libpcap.

use std::path::{Path, PathBuf};

use super::CaptureError;
use super::testutil::{OwnedPacket, collect, corpus_dir};

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("pcaps"))
        .expect("read corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// `packets` from `expected/<name>.meta.json`, `<name>` being the file name without its extension.
fn expected_packets(dir: &Path, file: &Path) -> Option<u64> {
    let stem = file.file_stem()?.to_str()?;
    let meta = std::fs::read_to_string(dir.join("expected").join(format!("{stem}.meta.json"))).ok()?;
    serde_json::from_str::<serde_json::Value>(&meta).ok()?.get("packets")?.as_u64()
}

#[test]
fn every_corpus_capture_replays_with_the_expected_packet_count() {
    let Some(dir) = corpus_dir() else {
        eprintln!("SKIP: no corpus (set PIXELWATCH_CORPUS)");
        return;
    };
    let files = corpus_files(&dir);
    let (mut ok, mut fallback, mut compared, mut packets) = (0, 0, 0, 0u64);
    let mut failures = Vec::new();
    for file in &files {
        let (delivered, result) = collect(file);
        match result {
            Ok(stats) => {
                ok += 1;
                packets += stats.packets;
                fallback += stats.fallback_files;
                assert_eq!(stats.packets, delivered.len() as u64);
                if let Some(want) = expected_packets(&dir, file) {
                    compared += 1;
                    assert_eq!(stats.packets, want, "{}: packet count differs from capinfos", file.display());
                }
            }
            Err(CaptureError::Read { packet, ref reason, .. }) => {
                // A damaged file: every packet before the damage was delivered.
                assert_eq!(packet, delivered.len() as u64 + 1, "{}", file.display());
                failures.push(format!("{}: packet {packet}: {reason}", file.display()));
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    eprintln!(
        "corpus: {} files, {ok} read to the end ({fallback} through the pcapng fallback), {} errors, \
         {compared} packet counts equal to capinfos, {packets} packets",
        files.len(),
        failures.len()
    );
    for f in &failures {
        eprintln!("  {f}");
    }
    assert!(files.len() >= 300, "corpus looks incomplete: {} files", files.len());
    // tshark/capinfos read every corpus file to the end (they produced expected/), so must we.
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(compared, files.len());
}

#[test]
fn fallback_agrees_with_libpcap_on_every_corpus_pcapng() {
    let Some(dir) = corpus_dir() else {
        eprintln!("SKIP: no corpus (set PIXELWATCH_CORPUS)");
        return;
    };
    let mut checked = 0;
    let mut packets = 0;
    // By content: some corpus files named .pcapng are classic pcap.
    let is_pcapng = |f: &Path| std::fs::read(f).is_ok_and(|b| b.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]));
    for file in corpus_files(&dir).iter().filter(|f| is_pcapng(f)) {
        let (libpcap, result) = collect(file);
        let stats = result.unwrap_or_else(|e| panic!("{e}"));
        if stats.fallback_files > 0 {
            continue; // read by the fallback already
        }
        let mut fb = super::pcapng_fallback::PcapngFallback::open(file.to_str().expect("utf-8"), 0)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut ours = Vec::new();
        while let Some(p) = fb.next_packet().unwrap_or_else(|e| panic!("{}: {e}", file.display())) {
            ours.push(OwnedPacket::from_raw(&p));
        }
        assert_eq!(ours.len(), libpcap.len(), "{}", file.display());
        for (i, (a, b)) in ours.iter().zip(&libpcap).enumerate() {
            assert_eq!(a, b, "{} packet {}", file.display(), i + 1);
        }
        checked += 1;
        packets += ours.len();
    }
    eprintln!("fallback == libpcap on {checked} corpus pcapng files ({packets} packets)");
    assert!(checked > 0);
}

//! Acceptance on the shared real-capture corpus (skips cleanly when `../shared/corpus` is absent):
//! every capture is replayed by the real binary with `--events-all`, and the tshark oracle's
//! scorer (`check.py`) must report recall ≥ 0.98 and precision ≥ 0.99 for DNS questions, DNS
//! answers, TLS SNI and HTTP Host over the whole corpus, with no panic on any file.

mod common;

use std::process::Command;

use common::{bin, captures_in, corpus};

const KINDS: [&str; 4] = ["dns_query", "dns_answer", "sni", "http_host"];

#[test]
fn corpus_recall_and_precision() {
    let Some(corpus) = corpus() else {
        eprintln!("skipping: the shared corpus (../shared/corpus) is not here");
        return;
    };
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipping: python3 is needed to run the corpus scorer");
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let mut panics = Vec::new();
    let mut failed = Vec::new();
    for pcap in captures_in(&corpus.join("pcaps")) {
        let name = pcap.file_stem().unwrap().to_string_lossy().into_owned();
        let events = out.path().join(format!("{name}.jsonl"));
        let result = Command::new(bin())
            .args(["replay", "--events-all", "--summary", "none", "--events"])
            .arg(&events)
            .arg(&pcap)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        if stderr.contains("panicked") || result.status.code().is_none() {
            panics.push(format!("{name}: {stderr}"));
        } else if result.status.code() != Some(0) {
            failed.push(format!("{name}: {}", stderr.trim()));
        }
    }
    assert!(panics.is_empty(), "panics:\n{}", panics.join("\n"));
    eprintln!("{} captures stopped early (corrupt files):\n{}", failed.len(), failed.join("\n"));

    let scores = out.path().join("scores.json");
    let check = Command::new("python3")
        .arg(corpus.join("check.py"))
        .arg(out.path())
        .arg("--quiet")
        .arg("--json")
        .arg(&scores)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    eprintln!("{report}");
    let scores: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&scores).unwrap()).unwrap();
    let totals = &scores["totals"];
    let mut bad = Vec::new();
    for kind in KINDS {
        let t = &totals[kind];
        let n = |i: usize| t[i].as_f64().unwrap_or_else(|| panic!("no totals for {kind}: {t}"));
        let (tp, fn_, fp) = (n(0), n(1), n(2));
        let recall = tp / (tp + fn_);
        let precision = tp / (tp + fp);
        eprintln!("{kind}: recall {recall:.4} precision {precision:.4} (tp {tp} fn {fn_} fp {fp})");
        if recall < 0.98 || precision < 0.99 {
            bad.push(format!("{kind}: recall {recall:.4}, precision {precision:.4}"));
        }
    }
    assert!(bad.is_empty(), "below target: {}\n{report}", bad.join("; "));
}

//! Replay tests: every capture in `captures/` is replayed with `--events-all`; its whole event log
//! and its JSON summary must equal the reviewed files in `tests/expected/`.
//!
//! After a deliberate change, regenerate with `PIXELWATCH_BLESS=1 cargo test --release --test replay`,
//! then review the diff of `tests/expected/` before committing it.

mod common;

use std::path::Path;

use common::{captures_under, root, run};

fn replay(capture: &Path) -> (String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let (code, out, err) = run(&[
        "replay",
        "--summary",
        "json",
        "--events-all",
        "--events",
        events.to_str().unwrap(),
        capture.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{}: {err}", capture.display());
    assert!(!err.contains("panicked"), "{err}");
    let mut summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Wall-clock time and the path as given are not properties of the capture.
    summary.as_object_mut().unwrap().remove("elapsed_seconds");
    summary.as_object_mut().unwrap().remove("files");
    (std::fs::read_to_string(events).unwrap(), summary)
}

#[test]
fn every_capture_matches_its_reviewed_output() {
    let captures_dir = root().join("captures");
    let captures = captures_under(&captures_dir);
    assert!(!captures.is_empty(), "no captures in captures/");
    let expected_dir = root().join("tests/expected");
    let bless = std::env::var_os("PIXELWATCH_BLESS").is_some();
    let mut failures = Vec::new();
    for capture in &captures {
        let file = capture.file_name().unwrap().to_string_lossy().into_owned();
        // Each capture has a line saying how it was made and what it proves, in the README of its
        // folder or of captures/.
        let described = [capture.parent().unwrap(), captures_dir.as_path()]
            .iter()
            .any(|d| std::fs::read_to_string(d.join("README.md")).is_ok_and(|r| r.contains(&file)));
        assert!(described, "no README.md line for {}", capture.display());
        // captures/quic/x.pcap -> tests/expected/quic__x.*
        let relative = capture.strip_prefix(&captures_dir).unwrap().with_extension("");
        let stem = relative.to_string_lossy().replace('/', "__");
        let (events, summary) = replay(capture);
        let summary_text = format!("{summary:#}\n");
        let events_path = expected_dir.join(format!("{stem}.events.jsonl"));
        let summary_path = expected_dir.join(format!("{stem}.summary.json"));
        if bless {
            std::fs::create_dir_all(&expected_dir).unwrap();
            std::fs::write(&events_path, &events).unwrap();
            std::fs::write(&summary_path, &summary_text).unwrap();
            continue;
        }
        let want_events = std::fs::read_to_string(&events_path)
            .unwrap_or_else(|_| panic!("{} missing: run with PIXELWATCH_BLESS=1 and review", events_path.display()));
        let want_summary = std::fs::read_to_string(&summary_path)
            .unwrap_or_else(|_| panic!("{} missing: run with PIXELWATCH_BLESS=1 and review", summary_path.display()));
        if want_events != events {
            let first = want_events
                .lines()
                .zip(events.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(want_events.lines().count().min(events.lines().count()));
            failures.push(format!(
                "{file}: event log differs from {} at line {}:\n  want {}\n  got  {}",
                events_path.display(),
                first + 1,
                want_events.lines().nth(first).unwrap_or("<end>"),
                events.lines().nth(first).unwrap_or("<end>")
            ));
        }
        if want_summary != summary_text {
            failures.push(format!("{file}: summary differs from {}:\n{summary_text}", summary_path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn replaying_twice_gives_identical_events() {
    let captures = captures_under(&root().join("captures"));
    for capture in captures.iter().take(3) {
        let (a, _) = replay(capture);
        let (b, _) = replay(capture);
        assert_eq!(a, b, "{}", capture.display());
    }
}

/// The tshark oracle of our own captures (`captures/expected-tshark/` and every
/// `captures/*/expected-tshark/`, made with the corpus's `make_expected.py`) scored with the
/// corpus's `check.py`: every name tshark sees, we see, and we report nothing tshark does not.
/// Skips when `../shared/corpus` or python3 is absent.
#[test]
fn own_captures_agree_with_tshark() {
    let Some(corpus) = common::corpus() else {
        eprintln!("skipping: the shared corpus scorer (../shared/corpus/check.py) is not here");
        return;
    };
    let captures = root().join("captures");
    let mut folders = vec![captures.clone()];
    let mut subdirs: Vec<_> = std::fs::read_dir(&captures).unwrap().flatten().map(|e| e.path()).collect();
    subdirs.sort();
    folders.extend(subdirs.into_iter().filter(|d| d.join("expected-tshark").is_dir()));
    assert!(folders.len() >= 2, "captures/email/expected-tshark is missing");
    for folder in folders {
        let out = tempfile::tempdir().unwrap();
        for capture in common::captures_in(&folder) {
            let stem = capture.file_stem().unwrap().to_string_lossy().into_owned();
            let events = out.path().join(format!("{stem}.jsonl"));
            let (code, _, err) = run(&[
                "replay",
                "--summary",
                "none",
                "--events-all",
                "--events",
                events.to_str().unwrap(),
                capture.to_str().unwrap(),
            ]);
            assert_eq!(code, 0, "{err}");
        }
        let scores = out.path().join("scores.json");
        let Ok(check) = std::process::Command::new("python3")
            .arg(corpus.join("check.py"))
            .arg(out.path())
            .args(["--expected", folder.join("expected-tshark").to_str().unwrap(), "-v", "--json"])
            .arg(&scores)
            .output()
        else {
            eprintln!("skipping: python3 is not installed");
            return;
        };
        let report = String::from_utf8_lossy(&check.stdout);
        let scores: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&scores).unwrap()).unwrap();
        let total = &scores["total"];
        let at = folder.display();
        assert_eq!(total["fn"], 0, "{at}: names tshark sees that we miss:\n{report}");
        assert_eq!(total["fp"], 0, "{at}: names we report that tshark does not:\n{report}");
        assert!(total["tp"].as_u64().unwrap() > 50, "{at}: {report}");
    }
}

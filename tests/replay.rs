//! Replay tests: every capture in `captures/` is replayed with `--events-all`; its whole event log
//! and its JSON summary must equal the reviewed files in `tests/expected/`.
//!
//! After a deliberate change, regenerate with `PIXELWATCH_BLESS=1 cargo test --release --test replay`,
//! then review the diff of `tests/expected/` before committing it.

mod common;

use std::path::Path;

use common::{captures_in, root, run};

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
    let captures = captures_in(&root().join("captures"));
    assert!(!captures.is_empty(), "no captures in captures/");
    let expected_dir = root().join("tests/expected");
    let bless = std::env::var_os("PIXELWATCH_BLESS").is_some();
    let readme = std::fs::read_to_string(root().join("captures/README.md")).unwrap_or_default();
    let mut failures = Vec::new();
    for capture in &captures {
        let file = capture.file_name().unwrap().to_string_lossy().into_owned();
        assert!(readme.contains(&file), "captures/README.md has no line for {file}");
        let stem = capture.file_stem().unwrap().to_string_lossy().into_owned();
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
    let captures = captures_in(&root().join("captures"));
    for capture in captures.iter().take(3) {
        let (a, _) = replay(capture);
        let (b, _) = replay(capture);
        assert_eq!(a, b, "{}", capture.display());
    }
}

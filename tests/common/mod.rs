//! Helpers shared by the integration tests: run the real binary, find captures and the corpus.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_pixelwatch")
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn capture(name: &str) -> PathBuf {
    root().join("captures").join(name)
}

/// Runs pixelwatch with `args`; returns (status code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin()).args(args).stdin(Stdio::null()).output().expect("run pixelwatch");
    decode(out)
}

pub fn decode(out: Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The shared corpus (`../shared/corpus` beside the repository, or `$PIXELWATCH_CORPUS`), if present.
pub fn corpus() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("PIXELWATCH_CORPUS").map(PathBuf::from),
        Some(root().join("../shared/corpus")),
        Some(PathBuf::from("/work/shared/corpus")),
    ];
    candidates.into_iter().flatten().find(|p| p.join("pcaps").is_dir() && p.join("check.py").is_file())
}

/// Every file in `dir` with one of the capture extensions, sorted.
pub fn captures_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    v.retain(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("pcap" | "pcapng" | "cap")));
    v.sort();
    v
}

/// Every capture under `dir`, subdirectories included, sorted.
pub fn captures_under(dir: &Path) -> Vec<PathBuf> {
    let mut v = captures_in(dir);
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                v.extend(captures_under(&e.path()));
            }
        }
    }
    v.sort();
    v
}

/// Parses JSON Lines, panicking with the line on a bad one.
pub fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

//! False-positive check on real traffic: every plain-HTTP request target and every DNS query name
//! of the shared corpus (`$PIXELWATCH_CORPUS`, `../shared/corpus`, `/work/shared/corpus`; skipped
//! when absent), through the real decode and flow stages, scanned for three watched addresses.
//! None of them is in the corpus, so any leak is a false positive, and redaction must not
//! touch anything.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::AddressSet;
use crate::capture::replay;
use crate::decode::{Decoded, Decoder, DefragLimits};
use crate::flow::{FlowLimits, FlowTracker};
use crate::model::ObservationKind;

fn corpus_dir() -> Option<PathBuf> {
    [
        std::env::var_os("PIXELWATCH_CORPUS").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")),
        Some(PathBuf::from("/work/shared/corpus")),
    ]
    .into_iter()
    .flatten()
    .find(|d| d.join("pcaps").is_dir())
}

#[test]
fn corpus_requests_and_names_hold_no_watched_address() {
    let Some(dir) = corpus_dir() else {
        eprintln!("SKIP: no corpus (set PIXELWATCH_CORPUS)");
        return;
    };
    let set = AddressSet::new(&[
        "myemailaddress@example.com".to_owned(),
        "Jane.Doe+news@Example.org".to_owned(),
        "contact@pixelwatch.test".to_owned(),
    ])
    .unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("pcaps")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let (mut targets, mut names, mut bytes) = (0usize, 0usize, 0usize);
    let mut false_positives = Vec::new();
    for file in &files {
        let mut decoder = Decoder::new(DefragLimits::default());
        let mut flows = FlowTracker::new(FlowLimits::default());
        let mut observations = Vec::new();
        let _ = replay(
            file.to_str().unwrap(),
            &mut |p| {
                if let Decoded::Segment(seg) = decoder.decode(p.ts, p.linktype, p.data) {
                    flows.handle(p.ts, &seg, &mut observations);
                }
                for obs in observations.drain(..) {
                    let (text, leaks) = match &obs.kind {
                        ObservationKind::HttpHost { path, .. } => {
                            targets += 1;
                            (path.clone(), set.scan_http(path.as_bytes(), None, None))
                        }
                        ObservationKind::DnsQuery { name, .. } => {
                            names += 1;
                            (name.clone(), set.scan_dns_name(name))
                        }
                        _ => continue,
                    };
                    bytes += text.len();
                    if !leaks.is_empty() || !matches!(set.redact(&text), Cow::Borrowed(_)) {
                        false_positives.push(format!("{}: {text:?} {leaks:?}", file.display()));
                    }
                }
            },
            &mut |_| {},
        );
    }
    eprintln!(
        "leaks corpus: {} files, {targets} request targets, {names} query names, {bytes} bytes scanned",
        files.len()
    );
    assert!(false_positives.is_empty(), "{false_positives:#?}");
    assert!(targets > 500 && names > 4_000, "corpus unexpectedly small: {targets} targets, {names} names");
}

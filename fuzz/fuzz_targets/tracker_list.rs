#![no_main]
//! Fuzz target: tracker_list — parse arbitrary bytes as every list format (and auto-detected),
//! then look names up, checking that every loaded suffix finds its own entry.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pixelwatch::model::Category;
use pixelwatch::trackers::{Builder, Format, ListSpec, TrackerDb, canonical_name, detect};

/// The embedded list, parsed once.
static EMBEDDED: OnceLock<Option<Builder>> = OnceLock::new();

fn check(db: &TrackerDb, data: &[u8]) {
    let last = db.lists().len().saturating_sub(1);
    for e in db.entries().iter().filter(|e| e.list == last) {
        let found = db.lookup(&e.suffix).map(|f| &*f.suffix);
        assert_eq!(found, Some(&*e.suffix), "a loaded suffix must match itself");
        let sub = format!("x.{}", e.suffix);
        assert!(
            db.lookup(&sub).is_some(),
            "a subdomain of a loaded suffix must match"
        );
    }
    let loaded: usize = db.lists().iter().map(|l| l.entries).sum();
    assert!(loaded >= db.entries().len());
    for l in db.lists() {
        assert!(l.skipped.len() <= l.skipped_total);
    }
    // Names made of the input: whole lines, words, and raw byte runs.
    for line in data.split(|&b| b == b'\n').take(64) {
        let _ = db.lookup_bytes(line);
        if let Ok(text) = std::str::from_utf8(line) {
            let _ = db.lookup(text);
            let _ = canonical_name(text);
            for word in text.split_ascii_whitespace().take(8) {
                let _ = db.lookup(word);
            }
        }
    }
    for name in [
        "weborama.fr",
        "x.weborama.fr",
        "notweborama.fr",
        "",
        ".",
        "..",
        "a.b.c.d.e.f.g",
    ] {
        let _ = db.lookup(name);
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = detect(data);
    for format in [
        None,
        Some(Format::Tsv),
        Some(Format::Hosts),
        Some(Format::Adblock),
        Some(Format::Domains),
        Some(Format::Disconnect),
    ] {
        let spec = ListSpec {
            path: "fuzz.list".into(),
            format,
            category: Some(Category::Email),
            company: None,
        };
        let db = Builder::new().bytes(&spec, data).build();
        check(&db, data);
    }
    // The same bytes on top of the embedded list: overrides must keep one entry per suffix.
    let spec = ListSpec {
        path: "fuzz.tsv".into(),
        format: Some(Format::Tsv),
        ..ListSpec::default()
    };
    if let Some(base) = EMBEDDED.get_or_init(|| TrackerDb::builder().embedded().ok()) {
        let db = base.clone().bytes(&spec, data).build();
        check(&db, data);
    }
});

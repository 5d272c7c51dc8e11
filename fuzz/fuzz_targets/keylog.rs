#![no_main]
//! Fuzz target: NSS key-log parsing (`extract::tls::keylog`). The input is fed in two pieces
//! (split at a position taken from the first byte), as a growing file would be, to a small store.
//! Checks: no panic; the store stays within its entry cap; every complete line is counted once;
//! a split never changes what one piece would have given.
use libfuzzer_sys::fuzz_target;
use pixelwatch::extract::tls::keylog::{KeyLog, KeyLogLimits, parse_line};
use pixelwatch::model::Ts;

fuzz_target!(|data: &[u8]| {
    let Some((&split, text)) = data.split_first() else { return };
    let limits = KeyLogLimits { max_entries: 4, max_age_micros: 100 };
    let at = usize::from(split).min(text.len());
    let mut pieces = KeyLog::new(limits);
    pieces.feed(&text[..at], Ts(0));
    pieces.feed(&text[at..], Ts(50));
    pieces.finish(Ts(60));
    let mut whole = KeyLog::new(limits);
    whole.feed(text, Ts(0));
    whole.finish(Ts(60));
    assert!(pieces.len() <= 4 && whole.len() <= 4);
    assert_eq!(pieces.stats().lines, whole.stats().lines);
    assert_eq!(pieces.stats().secrets, whole.stats().secrets);
    let lines = text.split(|&b| b == b'\n').count() as u64;
    assert!(whole.stats().lines <= lines);
    for line in text.split(|&b| b == b'\n') {
        if let Ok(l) = parse_line(line) {
            assert!(l.secret.len() == 32 || l.secret.len() == 48);
        }
    }
    whole.expire(Ts(1000));
    assert!(whole.is_empty());
});

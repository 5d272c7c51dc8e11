#![no_main]
//! Fuzz target: address-leak scanning and redaction of hostile request fields and DNS names.
//!
//! Input: 1 selector byte, then the bytes. The selector picks how the bytes are read: as a
//! request target, a Referer, a Cookie (all three for an HTTP request) or a DNS name, and
//! whether a watched form is spliced in at a position the next byte gives (so that the
//! percent-decoding, label-joining and base64 paths that follow a match run too). Two fixed
//! watched addresses. Checks: no panic; at most one leak per (address, encoding, field); a
//! redacted string is bounded, holds no form the scanner finds again, and redacting twice
//! changes nothing.
use std::borrow::Cow;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pixelwatch::correlate::leaks::{AddressSet, MAX_FIELD_LEN};

const SPLICED: [&str; 8] = [
    "0bc83cb571cd1c50ba6f3e8a78ef1346",
    "myemailaddress%40example.com",
    "bXllbWFpbGFkZHJlc3NAZXhhbXBsZS5jb20",
    "84059b07d4be67b806386c0aad8070a2.3f18836bbaae342275dc0a83414c32ee",
    "myemailaddress%252540example.com",
    "C8g8tXHNHFC6bz6KeO8TRg%3D%3D",
    "Jane.Doe%2Bnews@example.org",
    "eyJlIjoibXllbWFpbGFkZHJlc3NAZXhhbXBsZS5jb20ifQ",
];

fn set() -> &'static AddressSet {
    static SET: OnceLock<AddressSet> = OnceLock::new();
    SET.get_or_init(|| {
        AddressSet::new(&["myemailaddress@example.com".to_owned(), "Jane.Doe+news@Example.org".to_owned()])
            .expect("valid addresses")
    })
}

fuzz_target!(|data: &[u8]| {
    let [selector, rest @ ..] = data else { return };
    let mut bytes = rest.to_vec();
    if selector & 0x08 != 0
        && let Some((&at, tail)) = rest.split_first()
    {
        let form = SPLICED[usize::from(selector >> 4) % SPLICED.len()];
        let at = usize::from(at) * tail.len() / 256;
        bytes = tail.to_vec();
        bytes.splice(at..at, form.bytes());
    }
    let set = set();
    let leaks = match selector & 0x07 {
        0..=3 => set.scan_http(&bytes, None, None),
        4 => set.scan_http(b"/", Some(&bytes), None),
        5 => set.scan_http(b"/", None, Some(&bytes)),
        6 => set.scan_http(&bytes, Some(&bytes), Some(&bytes)),
        _ => set.scan_dns_name(&String::from_utf8_lossy(&bytes)),
    };
    for (i, a) in leaks.iter().enumerate() {
        assert!(!leaks.iter().skip(i + 1).any(|b| b == a), "duplicate leak {a:?}");
        assert!(a.address_index < 2);
    }
    let text = String::from_utf8_lossy(&bytes);
    let red = set.redact(&text);
    assert!(red.len() <= MAX_FIELD_LEN * 2 + 64 || red.len() <= text.len() + 64, "redaction grew: {}", red.len());
    if let Cow::Owned(r) = &red {
        assert!(set.scan_http(r.as_bytes(), None, None).is_empty(), "a form survived redaction: {r:?}");
        // Redaction reads `/` as a token separator before a `?` only, as in a URL; a DNS name has none.
        if selector & 0x07 == 7 && !text.contains('?') {
            assert!(set.scan_dns_name(r).is_empty(), "a form survived redaction: {r:?}");
        }
        if r.len() <= MAX_FIELD_LEN {
            assert!(matches!(set.redact(r), Cow::Borrowed(_)), "redaction is not idempotent: {r:?}");
        }
    } else {
        // A target scanned as such (valid UTF-8, so the redacted text is the same bytes) with a
        // leak must have been changed by redaction, which searches a superset of its layers.
        let as_target = matches!(selector & 0x07, 0..=3 | 6) && std::str::from_utf8(&bytes).is_ok();
        let in_target = leaks.iter().any(|l| l.field == pixelwatch::correlate::leaks::Field::Path);
        assert!(!(as_target && in_target), "a leak was found but redaction changed nothing");
    }
});

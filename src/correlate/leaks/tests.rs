//! Address-leak tests with the vectors of research/email-tracking.md §5 for
//! `myemailaddress@example.com`, placed in pixel URL shapes from its §3 (Weborama dispatch.fcgi,
//! Mailchimp open.php, SendGrid, Adobe Campaign `/r/?id=`, GA4 `/g/collect`, Mailgun-style `/o/`).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;

use super::forms::{self, Form};
use super::*;

const ME: &str = "myemailaddress@example.com";
const MD5: &str = "0bc83cb571cd1c50ba6f3e8a78ef1346";
const SHA1: &str = "6b933a5f1b8864ac6e72157b9c58d45913b6f32c";
const SHA256: &str = "84059b07d4be67b806386c0aad8070a23f18836bbaae342275dc0a83414c32ee";
const BASE64: &str = "bXllbWFpbGFkZHJlc3NAZXhhbXBsZS5jb20=";
const URLENCODED: &str = "myemailaddress%40example.com";
const MD5_OF_SHA256: &str = "67801eca5fc63c4999d5ef4cc3092755";
const BASE64_OF_MD5: &str = "C8g8tXHNHFC6bz6KeO8TRg==";

fn watched() -> AddressSet {
    AddressSet::new(&[ME.to_owned(), "Jane.Doe+news@Example.org".to_owned(), "contact@pixelwatch.test".to_owned()])
        .unwrap()
}

/// (address, encoding, field) of every leak, sorted.
fn leaks(v: Vec<Leak>) -> Vec<(usize, &'static str, &'static str)> {
    let mut out: Vec<_> = v.iter().map(|l| (l.address_index, l.encoding.as_str(), l.field.as_str())).collect();
    out.sort_unstable();
    out
}

fn in_path(set: &AddressSet, target: &str) -> Vec<(usize, &'static str, &'static str)> {
    leaks(set.scan_http(target.as_bytes(), None, None))
}

#[test]
fn every_vector_is_found_in_a_pixel_url() {
    let set = watched();
    let cases: Vec<(String, &str)> = vec![
        (format!("/fcgi-bin/dispatch.fcgi?a.A=co&a.si=3161&a.cp=facture&a.ct=d&email_md5={MD5}&r=17"), "md5"),
        (format!("/fcgi-bin/dispatch.fcgi?a.A=co&em={}", MD5.to_uppercase()), "md5"),
        (format!("/tr/op/{SHA1}/e.gif"), "sha1"),
        (format!("/g/collect?v=2&tid=G-8XK2QZ&en=email_open&ep.uh={SHA256}&_p=1"), "sha256"),
        (format!("/open.aspx?ffcb10-fec51570&s={}", BASE64.replace('=', "%3D")), "base64"),
        (format!("/wf/open?upn={BASE64}"), "base64"),
        (format!("/track/open.php?u=4d1f8a2c&id=9e0b7c&e={URLENCODED}"), "urlencoded"),
        (format!("/track/open.php?u=4d1f8a2c&e={ME}"), "plain"),
        (format!("/p.gif?uid={MD5_OF_SHA256}"), "md5(sha256)"),
        (format!("/o.gif?h={}", BASE64_OF_MD5.replace('=', "%3D")), "base64(md5)"),
        (format!("/o.gif?h={BASE64_OF_MD5}&x=1"), "base64(md5)"),
        // Double percent-encoding inside a redirect parameter (Adobe Campaign /r/?id= shape).
        (
            "/r/?id=h1a2b3,4c5d6e,1&url=http%3A%2F%2Fshop.example%2Fp%3Fe%3Dmyemailaddress%2540example.com".into(),
            "urlencoded",
        ),
        // Triple: %252540 → %2540 → %40 → @.
        ("/r/?u=myemailaddress%252540example.com".into(), "urlencoded"),
        // A base64url JSON token in the path ({"em":"myemailaddress@example.com","u":"https://x.example/?a=1>>"},
        // python3 base64.urlsafe_b64encode): the address is not 3-byte aligned in it, so only
        // decoding the token finds it.
        (
            "/o/eyJlbSI6Im15ZW1haWxhZGRyZXNzQGV4YW1wbGUuY29tIiwidSI6Imh0dHBzOi8veC5leGFtcGxlLz9hPTE-PiJ9".into(),
            "base64url",
        ),
        // The same with {"e":…}: the address starts at byte 6, so its own base64 is in the token.
        ("/o/eyJlIjoibXllbWFpbGFkZHJlc3NAZXhhbXBsZS5jb20iLCJ1IjoiaHR0cHM6Ly94LmV4YW1wbGUvP2E9MT4-In0".into(), "base64"),
        // Standard base64 JSON holding the hex MD5 ({"uid":"0bc8…1346","c":42}), in a query value.
        ("/e/o?t=eyJ1aWQiOiIwYmM4M2NiNTcxY2QxYzUwYmE2ZjNlOGE3OGVmMTM0NiIsImMiOjQyfQ%3D%3D".into(), "base64(md5)"),
        // URL-safe base64 of the raw SHA-256 (python3 base64.urlsafe_b64encode).
        ("/ss/o/hAWbB9S-Z7gGOGwKrYBwoj8Yg2u6rjQiddwKg0FMMu4/4a1/open.gif".into(), "base64(sha256)"),
        // SHA-224 and SHA-1(MD5 hex), computed with python3 hashlib.
        ("/i?h=7705fb9febfd1862b8e3fd2e656e3582b69ed48bf1afcff76142c85e".into(), "sha224"),
        ("/i?h=780fc50b63564a2a0564baa489881aa610564d29".into(), "sha1(md5)"),
    ];
    for (target, want) in &cases {
        assert_eq!(in_path(&set, target), [(0, *want, "path")], "{target}");
    }
}

#[test]
fn referer_cookie_and_dns_names() {
    let set = watched();
    let referer = format!("http://newsletter.example/view?email={ME}&utm_source=mail");
    let cookie = format!("_ga=GA1.2.1234.5678; uid={MD5}; em={BASE64}");
    let got = leaks(set.scan_http(b"/pixel.gif?c=1", Some(referer.as_bytes()), Some(cookie.as_bytes())));
    assert_eq!(got, [(0, "base64", "cookie"), (0, "md5", "cookie"), (0, "plain", "referer")]);

    assert_eq!(leaks(set.scan_dns_name(&format!("{MD5}.open.tracker.example"))), [(0, "md5", "dns")]);
    // A SHA-256 hex does not fit one 63-octet label: split over two.
    let split = format!("{}.{}.t.example", &SHA256[..32], &SHA256[32..]);
    assert_eq!(leaks(set.scan_dns_name(&split)), [(0, "sha256", "dns")]);
    assert_eq!(leaks(set.scan_dns_name(&format!("x{}.T.Example", SHA1.to_uppercase()))), [(0, "sha1", "dns")]);
    assert!(set.scan_dns_name("0bc83cb571cd1c50ba6f3e8a78ef134.open.tracker.example").is_empty());
}

#[test]
fn one_leak_per_address_encoding_and_field() {
    let set = watched();
    let target = format!("/o?a={MD5}&b={}&c={MD5}&d={SHA1}", MD5.to_uppercase());
    assert_eq!(in_path(&set, &target), [(0, "md5", "path"), (0, "sha1", "path")]);
    // The second address, lower-cased before hashing (python3: md5(b"jane.doe+news@example.org")).
    let jane_md5 = forms::hex(&HashAlg::Md5.digest(b"jane.doe+news@example.org"));
    let target = format!("/o?a={MD5}&b={}&e=Jane.Doe%2Bnews%40example.org", std::str::from_utf8(&jane_md5).unwrap());
    assert_eq!(in_path(&set, &target), [(0, "md5", "path"), (1, "md5", "path"), (1, "urlencoded", "path")]);
    // The same bytes decoded further are not reported twice (urlencoded, not also plain).
    assert_eq!(in_path(&set, &format!("/o?e={URLENCODED}")), [(0, "urlencoded", "path")]);
    // Two different places: both forms.
    assert_eq!(in_path(&set, &format!("/o?e={URLENCODED}&f={ME}")), [(0, "plain", "path"), (0, "urlencoded", "path")]);
}

#[test]
fn no_false_positives() {
    let set = watched();
    let other = [
        // otheraddress@example.com: MD5, SHA-256, base64, base64(MD5) (python3 hashlib/base64).
        "/o?e=12aa4764643d041f0eb0cd26c15814da",
        "/o?e=ea9c93ba8c7d053bd5a6eeade7551a1b17b50b110c1ec9bc7d82b71c1d9f9cad",
        "/o?e=b3RoZXJhZGRyZXNzQGV4YW1wbGUuY29t",
        "/o?e=EqpHZGQ9BB8OsM0mwVgU2g%3D%3D",
        "/o?e=otheraddress%40example.com",
        // The local part or the domain alone, other addresses around ours.
        "/o?u=myemailaddress&d=example.com",
        "/o?u=myemailaddress%20example.com",
        "/o?e=xmyemailaddress@example.com",
        "/o?e=my.myemailaddress@example.com",
        "/o?e=myemailaddress@example.community",
        "/o?e=myemailaddress@example.com.evil.net",
        "/o?e=myemailaddress@example.com-mail.net",
        // One hex digit short, one changed.
        "/o?e=0bc83cb571cd1c50ba6f3e8a78ef134",
        "/o?e=0bc83cb571cd1c50ba6f3e8a78ef1347",
    ];
    for target in other {
        assert_eq!(in_path(&set, target), [], "{target}");
    }
    // Base64 of the address with one letter's case changed (base64 is matched exactly).
    assert!(in_path(&set, "/o?e=bXllbWFpbGFkZHJlc3NAZXhhbXBsZS5jB20").is_empty());

    // 20,000 pseudo-random hex strings of digest lengths, in both cases.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut hexes = String::new();
    for i in 0..20_000 {
        hexes.clear();
        let len = [32, 40, 56, 64, 96, 128][i % 6];
        while hexes.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            hexes.push_str(&format!("{x:016x}"));
        }
        hexes.truncate(len);
        if i % 2 == 1 {
            hexes.make_ascii_uppercase();
        }
        assert!(set.scan_http(format!("/p?h={hexes}").as_bytes(), None, None).is_empty());
        assert!(set.scan_dns_name(&format!("{}.t.example", &hexes[..32])).is_empty());
    }
}

#[test]
fn short_addresses_match_only_their_long_forms() {
    // Plain, URL-encoded and base64 forms of an 8-character address are under 16 characters.
    let set = AddressSet::new(&["jo@ab.fr".to_owned()]).unwrap();
    assert!(set.scan_http(b"/o?e=jo@ab.fr&f=jo%40ab.fr&g=am9AYWIuZnI=", None, None).is_empty());
    let md5 = forms::hex(&HashAlg::Md5.digest(b"jo@ab.fr"));
    let target = format!("/o?h={}", std::str::from_utf8(&md5).unwrap());
    assert_eq!(in_path(&set, &target), [(0, "md5", "path")]);
}

/// True when `text` (or its percent-decoding, or its labels joined) still holds a form of `ME`.
fn holds_a_form(text: &str, all: &[Form]) -> Option<String> {
    let decoded = super::layers::percent_decode(text.as_bytes(), None).map(|l| l.bytes).unwrap_or_default();
    let joined = text.replace('.', "");
    for hay in [text.as_bytes(), &decoded, joined.as_bytes()] {
        let lower = hay.to_ascii_lowercase();
        for f in all {
            let (h, n) = if f.case_insensitive {
                (&lower, f.bytes.to_ascii_lowercase())
            } else {
                (&hay.to_vec(), f.bytes.clone())
            };
            if h.windows(n.len()).any(|w| w == n) {
                return Some(String::from_utf8_lossy(&f.bytes).into_owned());
            }
        }
    }
    None
}

#[test]
fn redaction_leaves_no_form_behind() {
    let set = watched();
    let all = forms::forms(ME);
    let targets = [
        format!("/fcgi-bin/dispatch.fcgi?a.A=co&email_md5={MD5}&sha={SHA1}&s2={SHA256}"),
        format!("/o?b64={BASE64}&u={URLENCODED}&p={ME}&n={MD5_OF_SHA256}&r={BASE64_OF_MD5}"),
        format!("/o?b64={}&r={}", BASE64.replace('=', "%3D"), BASE64_OF_MD5.replace('=', "%253D")),
        "/r/?url=http%3A%2F%2Fshop.example%2Fp%3Fe%3Dmyemailaddress%2540example.com&z=1".to_owned(),
        "/o/eyJlIjoibXllbWFpbGFkZHJlc3NAZXhhbXBsZS5jb20iLCJ1IjoiaHR0cHM6Ly94LmV4YW1wbGUvP2E9MT4-In0/x.gif".to_owned(),
        format!("/o?E={}&e={}", MD5.to_uppercase(), ME.to_uppercase()),
        format!("{}.{}.t.example", &SHA256[..32], &SHA256[32..]),
    ];
    for t in &targets {
        assert!(holds_a_form(t, &all).is_some(), "{t}");
        let red = set.redact(t);
        assert!(matches!(red, Cow::Owned(_)), "{t}");
        assert!(red.contains("[redacted:"), "{red}");
        assert_eq!(holds_a_form(&red, &all), None, "{t} → {red}");
        // Redacting is idempotent: nothing is left to find.
        assert!(matches!(set.redact(&red), Cow::Borrowed(_)), "{red}");
        assert!(set.scan_http(red.as_bytes(), None, None).is_empty(), "{red}");
    }
    assert_eq!(
        set.redact(&format!("/fcgi-bin/dispatch.fcgi?a.A=co&email_md5={MD5}&r=17")),
        "/fcgi-bin/dispatch.fcgi?a.A=co&email_md5=[redacted:md5]&r=17"
    );
    assert_eq!(set.redact(&format!("/o?e={URLENCODED}&x=1")), "/o?e=[redacted:urlencoded]&x=1");
    // Found only once percent-decoded: the whole value goes, not just the bytes of the form.
    assert_eq!(
        set.redact("/r/?id=4c5d&url=http%3A%2F%2Fshop.example%2Fp%3Fe%3Dmyemailaddress%2540example.com&z=1"),
        "/r/?id=4c5d&url=[redacted:urlencoded]&z=1"
    );
    assert_eq!(set.redact("/o?r=%6dyemailaddress%2540example.com#f"), "/o?r=[redacted:urlencoded]#f");
    // Not a leak (another, longer address), but still hidden in what is printed; found by
    // fuzzing: once a base64 token before it was replaced, the address stood alone.
    assert!(in_path(&set, "/o?e=kgMYEMAILADDRESS@EXAMPLE.COM").is_empty());
    assert_eq!(set.redact("/o?e=kgMYEMAILADDRESS@EXAMPLE.COM"), "/o?e=kg[redacted:plain]");
    let fuzzed = "\u{1}/r\u{4}VPL1ARqEtosBRTuKaW0Oqyx-iTu00KAIb4PNKgMYEMAILADDRESS@EXAMPLE.COM==\u{8b}";
    let red = set.redact(fuzzed);
    assert!(set.scan_http(red.as_bytes(), None, None).is_empty() && !red.contains("EXAMPLE"), "{red}");
    assert_eq!(set.redact(&format!("{}.{}.t.example", &SHA256[..32], &SHA256[32..])), "[redacted:sha256].t.example");
    let clean = "/fcgi-bin/dispatch.fcgi?a.A=co&a.si=3161&a.cp=facture";
    assert!(matches!(set.redact(clean), Cow::Borrowed(s) if s == clean));
    let long = format!("/o?e={ME}&pad={}", "a".repeat(MAX_FIELD_LEN));
    let red = set.redact(&long);
    assert!(red.starts_with("/o?e=[redacted:plain]&pad=aaa") && red.ends_with("[truncated]"));
}

#[test]
fn errors_and_debug_never_print_forms() {
    let err = AddressSet::new(&[ME.to_owned(), "not-an-address".to_owned()]).unwrap_err();
    assert_eq!(err, LeakError::NotAnAddress(1));
    assert_eq!(err.to_string(), "watched address #2 is not an e-mail address (expected local@domain.tld)");
    let too_many = vec![ME.to_owned(); MAX_ADDRESSES + 1];
    assert!(matches!(AddressSet::new(&too_many), Err(LeakError::TooMany { .. })));

    let set = watched();
    let debug = format!("{set:?}");
    assert!(debug.starts_with("AddressSet { addresses: 3, needles: "), "{debug}");
    assert!(!debug.contains('@') && !debug.contains("example") && !debug.contains(&MD5[..8]), "{debug}");
    assert!(set.needles() > 300 && set.len() == 3 && !set.is_empty());

    let empty = AddressSet::new(&[]).unwrap();
    assert!(empty.is_empty() && empty.scan_http(ME.as_bytes(), None, None).is_empty());
    assert!(matches!(empty.redact(ME), Cow::Borrowed(_)));
}

#[test]
fn hostile_fields_stay_bounded() {
    let set = watched();
    // Thousands of copies: still one leak, and redaction of all of them.
    let many = format!("/o?{}", format!("e={MD5}&").repeat(400));
    assert_eq!(in_path(&set, &many), [(0, "md5", "path")]);
    assert!(!set.redact(&many).contains(&MD5[..8]));
    // Percent-decoding stops after 3 rounds: %25252540 → %252540 → %2540 → %40 is found, one
    // more level of nesting is not.
    assert_eq!(in_path(&set, "/o?e=myemailaddress%25252540example.com"), [(0, "urlencoded", "path")]);
    assert_eq!(in_path(&set, "/o?e=myemailaddress%2525252540example.com"), []);
    // Non-UTF-8 and odd bytes.
    let mut junk: Vec<u8> = (0..=255u8).cycle().take(40_000).collect();
    junk.extend_from_slice(MD5.as_bytes());
    assert!(set.scan_http(&junk, Some(&junk), Some(&junk)).is_empty()); // past MAX_FIELD_LEN
    assert_eq!(leaks(set.scan_http(&junk[30_000..], None, None)), [(0, "md5", "path")]);
}

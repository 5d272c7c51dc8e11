//! Indicative timing (ignored by default): scanning typical pixel URLs and DNS names with three
//! watched addresses, and building the set.
//!
//! Run: `cargo test --release --lib correlate::leaks::bench -- --ignored --nocapture`
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Instant;

use super::AddressSet;

/// CPU time of this thread (user + system), so that other load on the machine does not count.
fn thread_cpu_ns() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_THREAD).unwrap();
    let (u, s) = (usage.user_time(), usage.system_time());
    (u.tv_sec() + s.tv_sec()) as f64 * 1e9 + (u.tv_usec() + s.tv_usec()) as f64 * 1e3
}

/// Mean thread CPU time of one call of `f`.
fn per_call_ns(iterations: u32, mut f: impl FnMut()) -> f64 {
    let start = thread_cpu_ns();
    for _ in 0..iterations {
        f();
    }
    (thread_cpu_ns() - start) / f64::from(iterations)
}

#[test]
#[ignore]
fn scan_speed() {
    let addresses =
        ["myemailaddress@example.com", "Jane.Doe+news@Example.org", "contact@pixelwatch.test"].map(str::to_owned);
    let start = Instant::now();
    let set = AddressSet::new(&addresses).unwrap();
    eprintln!(
        "build: {:?} for {} needles, automaton {} KiB",
        start.elapsed(),
        set.needles(),
        set.automaton_bytes() / 1024
    );

    // ~300-byte pixel URLs: clean, with a percent layer, with a base64 token, with a leak.
    let clean = "/fcgi-bin/dispatch.fcgi?a.A=co&a.si=3161&a.cp=facture_mensuelle&a.ct=d&a.pg=mail&a.re=\
                 https://www.bouyguestelecom.fr/mon-compte/factures&a.cb=1700000000123&a.ts=20241127T094412&a.id=\
                 8f3a2c1b9d0e4f5a6b7c8d9e0f1a2b3c&a.ua=Mozilla/5.0%20(X11;%20Linux%20x86_64)&a.lg=fr-FR&a.sc=1920x1080";
    let token = "/o/eyJyIjoiMjAyNC0xMS0yN1QwOTo0NDoxMiIsIm0iOiJuZXdzbGV0dGVyLTQ0MTIiLCJsIjoiZnIiLCJzIjoiY2FtcGFpZ24t\
                 bm92ZW1icmUtMjAyNCIsInUiOiJodHRwczovL3Nob3AuZXhhbXBsZS5mci9wcm9tb3Rpb25zP3V0bV9zb3VyY2U9bWFpbCJ9\
                 /open.gif?c=ab12cd34&v=3&t=1700000000&utm_medium=email&utm_campaign=novembre";
    let leak = "/fcgi-bin/dispatch.fcgi?a.A=co&a.si=3161&a.cp=facture_mensuelle&a.ct=d&a.pg=mail&a.re=\
                https%3A%2F%2Fwww.bouyguestelecom.fr%2Fmon-compte%2Ffactures&a.cb=1700000000123&email_md5=\
                0bc83cb571cd1c50ba6f3e8a78ef1346&a.ua=Mozilla/5.0%20(X11;%20Linux%20x86_64)&a.lg=fr-FR&a.sc=1920x1080";
    for (what, url) in [("clean", clean), ("base64 token", token), ("percent layer + md5 leak", leak)] {
        let n = 200_000;
        let ns = per_call_ns(n, || {
            black_box(set.scan_http(black_box(url.as_bytes()), None, None));
        });
        let red = per_call_ns(n, || {
            black_box(set.redact(black_box(url)));
        });
        eprintln!("{what} ({} bytes): scan_http {ns:.0} ns, redact {red:.0} ns", url.len());
    }
    let name = "0bc83cb571cd1c50ba6f3e8a78ef1346.open.tracker.example";
    let ns = per_call_ns(500_000, || {
        black_box(set.scan_dns_name(black_box("clients4.google.com")));
    });
    let hit = per_call_ns(500_000, || {
        black_box(set.scan_dns_name(black_box(name)));
    });
    eprintln!("scan_dns_name: clean {ns:.0} ns, with an md5 label {hit:.0} ns");
}

#[test]
#[ignore]
fn automaton_pieces() {
    let addresses =
        ["myemailaddress@example.com", "Jane.Doe+news@Example.org", "contact@pixelwatch.test"].map(str::to_owned);
    let set = AddressSet::new(&addresses).unwrap();
    let ac = set.automaton.as_ref().unwrap();
    let url = "/fcgi-bin/dispatch.fcgi?a.A=co&a.si=3161&a.cp=facture_mensuelle&a.ct=d&a.pg=mail&a.re=\
                 https://www.bouyguestelecom.fr/mon-compte/factures&a.cb=1700000000123&a.ts=20241127T094412&a.id=\
                 8f3a2c1b9d0e4f5a6b7c8d9e0f1a2b3c&a.ua=Mozilla/5.0%20(X11;%20Linux%20x86_64)&a.lg=fr-FR&a.sc=1920x1080";
    let ov = per_call_ns(200_000, || {
        black_box(ac.find_overlapping_iter(black_box(url.as_bytes())).count());
    });
    let first = per_call_ns(200_000, || {
        black_box(ac.find(black_box(url.as_bytes())));
    });
    let mut hits = Vec::new();
    let coll = per_call_ns(200_000, || {
        hits.clear();
        set.collect(black_box(url.as_bytes()), super::scan::Mode::URL, &mut hits);
    });
    eprintln!("{:?} overlapping {ov:.0} ns, find {first:.0} ns, collect {coll:.0} ns", ac.kind());
}

#[test]
#[ignore]
fn collect_pieces() {
    use super::layers;
    let addresses =
        ["myemailaddress@example.com", "Jane.Doe+news@Example.org", "contact@pixelwatch.test"].map(str::to_owned);
    let set = AddressSet::new(&addresses).unwrap();
    let ac = set.automaton.as_ref().unwrap();
    let url = "/fcgi-bin/dispatch.fcgi?a.A=co&a.si=3161&a.cp=facture_mensuelle&a.ct=d&a.pg=mail&a.re=\
                 https://www.bouyguestelecom.fr/mon-compte/factures&a.cb=1700000000123&a.ts=20241127T094412&a.id=\
                 8f3a2c1b9d0e4f5a6b7c8d9e0f1a2b3c&a.ua=Mozilla/5.0%20(X11;%20Linux%20x86_64)&a.lg=fr-FR&a.sc=1920x1080";
    let b = url.as_bytes();
    let pd = per_call_ns(200_000, || {
        black_box(layers::percent_decode(black_box(b), None));
    });
    let mut n = 0;
    let mut scratch = Vec::new();
    let tok = per_call_ns(200_000, || {
        layers::tokens(black_box(b), 24, |s, e, _| {
            n += 1;
            layers::base64_decode(&b[s..e], &mut scratch);
        });
    });
    let mut toks = Vec::new();
    layers::tokens(b, 24, |s, e, _| {
        let mut out = Vec::new();
        layers::base64_decode(&b[s..e], &mut out);
        toks.push(out);
    });
    let search = per_call_ns(200_000, || {
        for t in &toks {
            black_box(ac.find_overlapping_iter(black_box(&t[..])).count());
        }
    });
    eprintln!(
        "percent_decode {pd:.0} ns, tokens+decode {tok:.0} ns ({} tokens), token searches {search:.0} ns",
        toks.len()
    );
}

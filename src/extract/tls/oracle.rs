//! Test-only: the same ClientHello extraction done through `tls-parser` 0.12.2, as an independent
//! oracle for differential tests and as the baseline the hand-written parser was measured against.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use super::ClientHello;
use crate::extract::{Outcome, name};
use tls_parser::{
    SNIType, TlsExtension, parse_tls_client_hello_extensions, parse_tls_extension_sni_content,
    parse_tls_extension_unknown, parse_tls_handshake_client_hello,
};

/// What the corpus-recommended tls-parser recipe (crates.md §3) gives for a ClientHello body.
/// With `fallback`, a non-empty remainder after `parse_tls_client_hello_extensions` (one
/// malformed extension truncates the list) is handled by re-walking the raw
/// `(type, len, data)` list with `parse_tls_extension_unknown`; without it, the trap is left in.
pub(super) fn parse_body(body: &[u8], records: u16, fallback: bool) -> Outcome<ClientHello> {
    let Ok((rest, ch)) = parse_tls_handshake_client_hello(body) else {
        return Outcome::Malformed;
    };
    let Ok(random) = <[u8; 32]>::try_from(ch.random) else {
        return Outcome::Malformed;
    };
    let mut hello = ClientHello { sni: None, ech: false, version: ch.version.0, random, records };
    let Some(ext) = ch.ext else {
        // tls-parser also says "no extensions" when the block is longer than the body: the
        // bytes are then left in `rest`.
        return if rest.is_empty() { Outcome::Found(hello) } else { Outcome::Malformed };
    };
    let Ok((remainder, list)) = parse_tls_client_hello_extensions(ext) else {
        return Outcome::Malformed;
    };
    let mut first_sni_seen = false;
    for e in &list {
        match e {
            TlsExtension::SNI(names) if !first_sni_seen => {
                first_sni_seen = true;
                hello.sni = first_host(names);
            }
            TlsExtension::Unknown(t, _) if t.0 == 0xfe0d => hello.ech = true,
            _ => {}
        }
    }
    if fallback && !remainder.is_empty() {
        hello.sni = None;
        hello.ech = false;
        let mut i = ext;
        let mut first_sni_seen = false;
        while let Ok((next, TlsExtension::Unknown(t, data))) = parse_tls_extension_unknown(i) {
            i = next;
            match t.0 {
                0 if !first_sni_seen => {
                    first_sni_seen = true;
                    if let Ok((_, TlsExtension::SNI(names))) = parse_tls_extension_sni_content(data) {
                        hello.sni = first_host(&names);
                    }
                }
                0xfe0d => hello.ech = true,
                _ => {}
            }
        }
    }
    Outcome::Found(hello)
}

fn first_host(names: &[(SNIType, &[u8])]) -> Option<String> {
    names.iter().find(|(t, n)| *t == SNIType::HostName && !n.is_empty()).map(|(_, n)| name::host_presentation(n))
}

/// Splits a complete single-record stream into the ClientHello body (test helper).
pub(super) fn body_of_message(msg: &[u8]) -> &[u8] {
    let len = usize::from(msg[1]) << 16 | usize::from(msg[2]) << 8 | usize::from(msg[3]);
    &msg[4..4 + len]
}

/// Timing of the hand-written parser against the tls-parser recipe on the same real bytes
/// (best of 5 rounds, ns per call). `PW_BENCH_N` (calls per round, default 100000) and
/// `PW_BENCH_CASE` (file name filter) let it run under `valgrind --tool=callgrind` too.
/// `cargo test --release --lib extract::tls::oracle -- --ignored --nocapture`
#[test]
#[ignore = "timing only; run in release mode"]
fn bench_hand_written_vs_tls_parser() {
    use super::testdata::{cases, message_of};
    use super::{hello, parse_client_hello_stream};
    use std::hint::black_box;
    use std::time::Instant;

    #[inline(never)]
    fn hand(body: &[u8]) -> Outcome<ClientHello> {
        hello::parse_client_hello_body(black_box(body), 1)
    }
    #[inline(never)]
    fn with_tls_parser(body: &[u8]) -> Outcome<ClientHello> {
        parse_body(black_box(body), 1, true)
    }
    #[inline(never)]
    fn stream(s: &[u8]) -> Outcome<ClientHello> {
        parse_client_hello_stream(black_box(s))
    }
    fn per_op(n: u32, f: impl Fn()) -> f64 {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..n {
                    f();
                }
                t.elapsed().as_nanos() as f64 / f64::from(n)
            })
            .fold(f64::INFINITY, f64::min)
    }
    let n = std::env::var("PW_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let filter = std::env::var("PW_BENCH_CASE").unwrap_or_default();
    for c in cases().into_iter().filter(|c| c.file.contains(&filter)) {
        let msg = message_of(c.bytes);
        let body = body_of_message(&msg);
        let whole = &c.bytes[..c.hello_len];
        let mut framed = Vec::new();
        for chunk in msg.chunks(100) {
            framed.extend_from_slice(&[22, 3, 1, 0, chunk.len() as u8]);
            framed.extend_from_slice(chunk);
        }
        let hand_ns = per_op(n, || drop(black_box(hand(body))));
        let tp_ns = per_op(n, || drop(black_box(with_tls_parser(body))));
        let full = per_op(n, || drop(black_box(stream(whole))));
        let inc = per_op(n, || drop(black_box(stream(&whole[..whole.len() - 1]))));
        let full100 = per_op(n, || drop(black_box(stream(&framed))));
        let inc100 = per_op(n, || drop(black_box(stream(&framed[..framed.len() - 1]))));
        println!(
            "{:30} {:4} B body: hand {hand_ns:4.0} ns, tls-parser {tp_ns:5.0} ns ({:4.1}x) | stream {full:4.0} ns, \
             incomplete {inc:3.0} ns | 100-B records: {full100:4.0} ns, incomplete {inc100:3.0} ns",
            c.file,
            msg.len(),
            tp_ns / hand_ns
        );
    }
}

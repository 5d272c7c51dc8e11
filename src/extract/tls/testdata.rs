//! Test-only: the real ClientHello streams of tests/data/tls (see its README.md) with what
//! tshark 4.0.17 says about them, and small helpers to re-frame and edit handshake messages.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use super::*;

pub(super) struct Case {
    pub file: &'static str,
    pub bytes: &'static [u8],
    /// Stream bytes up to the end of the last record of the ClientHello.
    pub hello_len: usize,
    pub sni: Option<&'static str>,
    pub ech: bool,
    pub version: u16,
    pub random: &'static str,
    pub records: u16,
}

macro_rules! data {
    ($f:literal) => {
        ($f, include_bytes!(concat!("../../../tests/data/tls/", $f)).as_slice())
    };
}

fn case(
    (file, bytes): (&'static str, &'static [u8]),
    hello_len: usize,
    sni: Option<&'static str>,
    ech: bool,
    version: u16,
    random: &'static str,
    records: u16,
) -> Case {
    Case { file, bytes, hello_len, sni, ech, version, random, records }
}

/// The case of one file of tests/data/tls.
pub(super) fn named(file: &str) -> Case {
    cases().into_iter().find(|c| c.file == file).unwrap()
}

/// Every real TCP ClientHello stream kept in tests/data/tls.
pub(super) fn cases() -> Vec<Case> {
    vec![
        case(
            data!("arkime-split-chrome.bin"),
            1729,
            Some("clients2.google.com"),
            true,
            0x0303,
            "79c4ac065e1d80d1350600264f5b3ea2be8d7509a5b84b2fe55a74a5b86af851",
            1,
        ),
        case(
            data!("sv-lua-tlslib-02.bin"),
            517,
            Some("www.google.com"),
            false,
            0x0303,
            "dbd972da371bd60ec742cc3b216c62bf9c83df9eecf4e1136b46f6e7f5beb3d1",
            1,
        ),
        case(
            data!("zeek-chrome1250-kyber.bin"),
            1756,
            Some("lh3.google.com"),
            true,
            0x0303,
            "56767d9ae8a843809398310469168e09e8543de551ed52fbd4403dea567ea1c1",
            1,
        ),
        case(
            data!("zeek-tls13-ech.bin"),
            517,
            Some("cloudflare-ech.com"),
            true,
            0x0303,
            "d820986a1fb4dc3a70fac91f1359ff5e320c6a5e07397ab36f8c513be4585f5d",
            1,
        ),
        case(
            data!("ndpi-tls-ech.bin"),
            584,
            Some("performance.radar.cloudflare.com"),
            true,
            0x0303,
            "1d2866261a24cc0c15c6deba5b0e971a19a23b72524d3a1ca2acea56d01fdbbe",
            1,
        ),
        case(
            data!("ndpi-esni-sni-both.bin"),
            634,
            Some("these-are-not-the-droids-youre-looking-for.com"),
            false,
            0x0303,
            "06a564656b2876dad16d5c40339a325ebc316cd485aa0b8bb66d76f1c0813af7",
            1,
        ),
        case(
            data!("chromium156-pq-mtu1500.bin"),
            2022,
            Some("pixel.tracker.test"),
            true,
            0x0303,
            "fc410fd87055cfcecc25949155d1919f0de3b503e093e76c9a84e9a2a8fc2207",
            1,
        ),
        case(
            data!("openssl-x.test.bin"),
            327,
            Some("x.test"),
            false,
            0x0303,
            "84feeba4d40065ac16c9b19fd1b682b360543956e3cb45bd5ce4d825a85e9628",
            1,
        ),
        case(
            data!("openssl-max-send-frag-512.bin"),
            1572,
            Some("frag.pixel.test"),
            false,
            0x0303,
            "0fcc8dc8ed14d525d4a439ef72d4b97522dc30515be18de1a7eac2f273e1e7b9",
            4,
        ),
        case(
            data!("openssl-noservername.bin"),
            297,
            None,
            false,
            0x0303,
            "0b02984aecf69abf07b66925fb4add178525faf6a759034d5fabec1a9789f2aa",
            1,
        ),
        case(
            data!("openssl-tls1.0.bin"),
            129,
            Some("tls10.pixel.test"),
            false,
            0x0301,
            "4614925bca1462abadfb3d957265f6a6c7b8a0e1525eb1ed1256d0134dbb2651",
            1,
        ),
    ]
}

pub(super) fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The first handshake message of a record stream (test-side, independent of the parser).
pub(super) fn message_of(stream: &[u8]) -> Vec<u8> {
    let mut msg = Vec::new();
    let mut i = 0;
    loop {
        let len = usize::from(u16::from_be_bytes([stream[i + 3], stream[i + 4]]));
        msg.extend_from_slice(&stream[i + 5..i + 5 + len]);
        i += 5 + len;
        if msg.len() >= 4 {
            let total = 4 + (usize::from(msg[1]) << 16 | usize::from(msg[2]) << 8 | usize::from(msg[3]));
            if msg.len() >= total {
                msg.truncate(total);
                return msg;
            }
        }
    }
}

/// Record-layer framing of `msg` in records of at most `size` bytes (legacy_record_version 0x0301).
pub(super) fn reframe(msg: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in msg.chunks(size) {
        out.extend_from_slice(&[22, 3, 1]);
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// Start offsets of the record bodies in a stream of `n` records.
pub(super) fn record_bodies(stream: &[u8], n: usize) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut i = 0;
    for _ in 0..n {
        let len = usize::from(u16::from_be_bytes([stream[i + 3], stream[i + 4]]));
        v.push((i + 5, i + 5 + len));
        i += 5 + len;
    }
    v
}

pub(super) fn found(o: Outcome<ClientHello>) -> ClientHello {
    match o {
        Outcome::Found(h) => h,
        other => panic!("expected Found, got {other:?}"),
    }
}

/// (type, data offset in msg, data len) of each extension of a ClientHello message (test helper).
pub(super) fn extensions_of(msg: &[u8]) -> Vec<(u16, usize, usize)> {
    let mut i = 4 + 2 + 32;
    i += 1 + usize::from(msg[i]);
    i += 2 + usize::from(u16::from_be_bytes([msg[i], msg[i + 1]]));
    i += 1 + usize::from(msg[i]);
    let end = i + 2 + usize::from(u16::from_be_bytes([msg[i], msg[i + 1]]));
    i += 2;
    let mut v = Vec::new();
    while i < end {
        let t = u16::from_be_bytes([msg[i], msg[i + 1]]);
        let l = usize::from(u16::from_be_bytes([msg[i + 2], msg[i + 3]]));
        v.push((t, i + 4, l));
        i += 4 + l;
    }
    v
}

/// Rewrites the handshake length and the extensions-block length after `msg` grew by `delta`.
pub(super) fn fix_lengths(msg: &mut [u8], delta: isize) {
    let body =
        (usize::from(msg[1]) << 16 | usize::from(msg[2]) << 8 | usize::from(msg[3])).checked_add_signed(delta).unwrap();
    msg[1..4].copy_from_slice(&(body as u32).to_be_bytes()[1..]);
    let mut i = 4 + 2 + 32;
    i += 1 + usize::from(msg[i]);
    i += 2 + usize::from(u16::from_be_bytes([msg[i], msg[i + 1]]));
    i += 1 + usize::from(msg[i]);
    let ext = usize::from(u16::from_be_bytes([msg[i], msg[i + 1]])).checked_add_signed(delta).unwrap();
    msg[i..i + 2].copy_from_slice(&(ext as u16).to_be_bytes());
}

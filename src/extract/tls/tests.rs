//! Unit tests on real ClientHello bytes (tests/data/tls/, see `testdata.rs` and its README.md).
//! Expected SNI / legacy_version / random / extension types come from tshark 4.0.17 on the
//! source captures, not from this parser.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use super::testdata::*;
use super::*;

#[test]
fn real_client_hellos_in_one_buffer() {
    for c in cases() {
        let h = found(parse_client_hello_stream(c.bytes));
        assert_eq!(h.sni.as_deref(), c.sni, "{}", c.file);
        assert_eq!(h.ech, c.ech, "{}", c.file);
        assert_eq!(h.version, c.version, "{}", c.file);
        assert_eq!(h.random.as_slice(), hex(c.random).as_slice(), "{}", c.file);
        assert_eq!(h.records, c.records, "{}", c.file);
        // The same message without its record layer (as QUIC carries it).
        let bare = found(parse_client_hello_message(&message_of(c.bytes)));
        assert_eq!(bare, ClientHello { records: 0, ..h }, "{}", c.file);
    }
}

/// Every split point of every real stream: `Incomplete` never over-asks, is exact once the
/// handshake header is known and the rest fits in the records in sight, and a caller that waits
/// for exactly `needed` bytes each time reaches the end in a few calls.
#[test]
fn every_split_point_is_incomplete_with_correct_needed() {
    for c in cases() {
        let n = c.hello_len;
        let bodies = record_bodies(c.bytes, usize::from(c.records));
        let exact_from = if bodies.len() >= 2 { bodies[bodies.len() - 2].0 } else { 0 }.max(9);
        for k in 0..n {
            match parse_client_hello_stream(&c.bytes[..k]) {
                Outcome::Incomplete { needed } => {
                    assert!(needed >= 1 && needed <= n - k, "{} k={k} needed={needed}", c.file);
                    if k >= exact_from {
                        assert_eq!(needed, n - k, "{} k={k}", c.file);
                    }
                }
                other => panic!("{} k={k}: {other:?}", c.file),
            }
        }
        let mut k = 0;
        let mut calls = 0;
        let h = loop {
            calls += 1;
            match parse_client_hello_stream(&c.bytes[..k]) {
                Outcome::Incomplete { needed } => k += needed,
                Outcome::Found(h) => break h,
                other => panic!("{} k={k}: {other:?}", c.file),
            }
        };
        assert_eq!(k, n, "{}", c.file);
        assert!(calls <= 2 + 2 * usize::from(c.records), "{}: {calls} calls", c.file);
        assert_eq!(h.sni.as_deref(), c.sni);
    }
}

#[test]
fn handshake_reframed_into_100_byte_records() {
    for c in cases() {
        let msg = message_of(c.bytes);
        let stream = reframe(&msg, 100);
        let h = found(parse_client_hello_stream(&stream));
        assert_eq!(h.records as usize, msg.len().div_ceil(100), "{}", c.file);
        assert_eq!(h.sni.as_deref(), c.sni, "{}", c.file);
        assert_eq!(h.ech, c.ech);
        for k in 0..stream.len() {
            match parse_client_hello_stream(&stream[..k]) {
                Outcome::Incomplete { needed } => assert!(needed <= stream.len() - k),
                other => panic!("{} k={k}: {other:?}", c.file),
            }
        }
    }
}

#[test]
fn several_records_and_messages_in_one_buffer() {
    // openssl s_client -max_send_frag 512: 4 records (512, 512, 512, 16), then the client's
    // ChangeCipherSpec and encrypted records in the same buffer.
    let c = &named("openssl-max-send-frag-512.bin");
    assert!(c.bytes.len() > c.hello_len);
    let h = found(parse_client_hello_stream(c.bytes));
    assert_eq!((h.records, h.sni.as_deref()), (4, Some("frag.pixel.test")));

    // Two handshake messages sharing one record: the ClientHello, then 8 more bytes.
    let mut msg = message_of(named("openssl-x.test.bin").bytes);
    let hello_len = msg.len();
    msg.extend_from_slice(&[11, 0, 0, 4, 0, 0, 0, 0]);
    let h = found(parse_client_hello_stream(&reframe(&msg, 16384)));
    assert_eq!((h.records, h.sni.as_deref()), (1, Some("x.test")));
    // The ClientHello completes in the middle of a record whose tail is still missing.
    let stream = reframe(&msg, 16384);
    assert!(parse_client_hello_stream(&stream[..5 + hello_len]).found().is_some());
    assert_eq!(parse_client_hello_stream(&stream[..4 + hello_len]), Outcome::Incomplete { needed: 1 });
}

#[test]
fn handshake_header_split_over_records_and_empty_record() {
    let msg = message_of(named("openssl-x.test.bin").bytes);
    let mut stream = reframe(&msg[..2], 2);
    stream.extend(reframe(&msg[2..], 16384));
    // 6 bytes: the first handshake byte is known to be client_hello, the length is not.
    assert_eq!(parse_client_hello_stream(&stream[..6]), Outcome::Incomplete { needed: 8 });
    assert_eq!(parse_client_hello_stream(&stream[..7]), Outcome::Incomplete { needed: 7 });
    assert_eq!(found(parse_client_hello_stream(&stream)).records, 2);
    // A zero-length handshake record (RFC 8446 §5.1 forbids sending one) is tolerated.
    let mut with_empty = vec![22, 3, 1, 0, 0];
    with_empty.extend(reframe(&msg, 16384));
    assert_eq!(found(parse_client_hello_stream(&with_empty)).records, 2);
}

#[test]
fn sni_absent_and_ech_flags() {
    for c in cases() {
        let h = found(parse_client_hello_stream(c.bytes));
        let types: Vec<u16> = extensions_of(&message_of(c.bytes)).iter().map(|e| e.0).collect();
        assert_eq!(h.ech, types.contains(&0xfe0d), "{}", c.file);
        assert_eq!(h.sni.is_some(), types.contains(&0), "{}", c.file);
    }
    assert_eq!(found(parse_client_hello_stream(named("openssl-noservername.bin").bytes)).sni, None);
}

/// QUIC: the ClientHello of arkime__quicietf.pcap frame 1 (CRYPTO frame at offset 0, decrypted
/// by tshark). tshark: version 0x0303, SNI ssl.gstatic.com, no 0xfe0d.
#[test]
fn bare_message_from_quic_crypto_stream() {
    let msg = include_bytes!("../../../tests/data/tls/arkime-quicietf-crypto.bin");
    let h = found(parse_client_hello_message(msg));
    assert_eq!(h.sni.as_deref(), Some("ssl.gstatic.com"));
    assert_eq!(h.random.as_slice(), hex("11b62ad7bc5c5b7647974ea93a3a780d5a837768f0ca5e0b8b1f3b5f8a17c769"));
    assert_eq!((h.version, h.ech, h.records), (0x0303, false, 0));
    for k in 0..msg.len() {
        // Until the 4-byte header is in, only the header is known to be missing.
        let needed = if k < 4 { 4 - k } else { msg.len() - k };
        assert_eq!(parse_client_hello_message(&msg[..k]), Outcome::Incomplete { needed }, "k={k}");
    }
    // Trailing CRYPTO bytes after the message are ignored.
    let mut longer = msg.to_vec();
    longer.extend_from_slice(&[0x0b, 0, 0, 0]);
    assert_eq!(parse_client_hello_message(&longer), Outcome::Found(h));
    assert_eq!(parse_client_hello_message(&[2, 0, 0, 0x76]), Outcome::NotThis);
    assert_eq!(parse_client_hello_message(&[2]), Outcome::NotThis);
    assert_eq!(parse_client_hello_message(&[1, 0, 0x40, 1]), Outcome::Malformed);
}

#[test]
fn not_tls_handshake_is_not_this() {
    // Server side of lo2.pcap stream 0 (openssl s_server), frame 6: a ServerHello record.
    let server_hello = hex("160303007a020000760303035e8b257f72e439b05afc1eff1714cd45e4");
    assert_eq!(parse_client_hello_stream(&server_hello), Outcome::NotThis);
    assert_eq!(parse_client_hello_stream(&server_hello[..6]), Outcome::NotThis);
    for s in [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".as_slice(),
        b"SSH-2.0-OpenSSH_9.2\r\n",
        &[0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15], // SSLv2-compatible ClientHello
        &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28], // Alert
        &[0x16, 0x03, 0x05, 0x00, 0x10],
        &[0x16, 0x02],
        &[0x17],
    ] {
        assert_eq!(parse_client_hello_stream(s), Outcome::NotThis, "{s:?}");
    }
    assert_eq!(parse_client_hello_stream(&[]), Outcome::Incomplete { needed: 9 });
    assert_eq!(parse_client_hello_stream(&[0x16]), Outcome::Incomplete { needed: 8 });
    assert_eq!(parse_client_hello_stream(&[0x16, 3]), Outcome::Incomplete { needed: 7 });
}

#[test]
fn broken_record_layer_is_malformed() {
    let msg = message_of(named("openssl-x.test.bin").bytes);
    let mut stream = reframe(&msg, 200);
    let second = 5 + 200;
    stream[second] = 23; // application_data interleaved inside the handshake message
    assert_eq!(parse_client_hello_stream(&stream), Outcome::Malformed);
    stream[second] = 22;
    stream[second + 2] = 5; // version 0x0305
    assert_eq!(parse_client_hello_stream(&stream), Outcome::Malformed);
    // A record longer than 2^14 bytes.
    assert_eq!(parse_client_hello_stream(&[22, 3, 1, 0x40, 0x01, 1]), Outcome::Malformed);
    // A ClientHello too short for its fixed part (random cut off).
    let mut short = msg[..20].to_vec();
    short[1..4].copy_from_slice(&[0, 0, 16]);
    assert_eq!(parse_client_hello_stream(&reframe(&short, 100)), Outcome::Malformed);
    // legacy_session_id longer than 32.
    let mut sid = msg.clone();
    sid[4 + 2 + 32] = 33;
    assert_eq!(parse_client_hello_stream(&reframe(&sid, 16384)), Outcome::Malformed);
}

#[test]
fn size_and_record_count_bounds() {
    let base = message_of(named("openssl-x.test.bin").bytes);
    // Grow the openssl hello with a padding extension (21) to exactly MAX_CLIENT_HELLO_LEN.
    let grow = |body_len: usize| {
        let mut msg = base.clone();
        let pad = body_len - (msg.len() - 4) - 4;
        msg.extend_from_slice(&21u16.to_be_bytes());
        msg.extend_from_slice(&(pad as u16).to_be_bytes());
        msg.extend(std::iter::repeat_n(0u8, pad));
        fix_lengths(&mut msg, (pad + 4) as isize);
        msg
    };
    let max = grow(MAX_CLIENT_HELLO_LEN);
    let stream = reframe(&max, 16384);
    assert!(stream.len() <= MAX_STREAM_PREFIX);
    let h = found(parse_client_hello_stream(&stream));
    assert_eq!((h.records, h.sni.as_deref()), (2, Some("x.test")));
    let over = grow(MAX_CLIENT_HELLO_LEN + 1);
    // Rejected from the first 9 bytes on, without waiting for the body.
    assert_eq!(parse_client_hello_stream(&reframe(&over, 16384)[..9]), Outcome::Malformed);
    assert_eq!(parse_client_hello_message(&over[..4]), Outcome::Malformed);

    let chrome = message_of(named("chromium156-pq-mtu1500.bin").bytes); // 2017 bytes
    let at_limit = reframe(&chrome, chrome.len().div_ceil(MAX_RECORDS));
    assert_eq!(found(parse_client_hello_stream(&at_limit)).records as usize, MAX_RECORDS);
    let too_many = reframe(&chrome, chrome.len().div_ceil(MAX_RECORDS) - 1);
    assert_eq!(parse_client_hello_stream(&too_many), Outcome::Malformed);
}

/// crates.md §3 pitfall: an extension with a malformed body before server_name. The outer
/// (type, length) framing is intact, so the SNI is still there for whoever walks the list.
#[test]
fn malformed_extension_before_sni() {
    // Chromium 156: signature_algorithms (13) comes before encrypted_client_hello and server_name.
    let c = &named("chromium156-pq-mtu1500.bin");
    let mut msg = message_of(c.bytes);
    let exts = extensions_of(&msg);
    let ks = exts.iter().position(|e| e.0 == 13).unwrap();
    assert!(ks < exts.iter().position(|e| e.0 == 0xfe0d).unwrap());
    assert!(ks < exts.iter().position(|e| e.0 == 0).unwrap());
    let (_, off, _) = exts[ks];
    // supported_signature_algorithms<2..2^16-2>: its length now runs past the extension.
    msg[off..off + 2].copy_from_slice(&0xfffeu16.to_be_bytes());
    let h = found(parse_client_hello_stream(&reframe(&msg, 16384)));
    assert_eq!((h.sni.as_deref(), h.ech), (Some("pixel.tracker.test"), true));

    // tls-parser alone falls into the trap (SNI and ECH lost); with the fallback walk it does not.
    let body = oracle::body_of_message(&msg);
    let plain = oracle::parse_body(body, 1, false).found().unwrap();
    assert_eq!((plain.sni, plain.ech), (None, false));
    assert_eq!(oracle::parse_body(body, 1, true), Outcome::Found(h));

    // An extension whose own length runs past the block ends the walk, as in tshark.
    let mut cut = message_of(c.bytes);
    let (_, off, _) = exts[ks];
    cut[off - 2..off].copy_from_slice(&0xfff0u16.to_be_bytes());
    let h = found(parse_client_hello_message(&cut));
    assert_eq!((h.sni, h.ech), (None, false));
    // An extensions block longer than the message is Malformed.
    let mut long = message_of(c.bytes);
    fix_lengths(&mut long, 0);
    let mut i = 4 + 2 + 32;
    i += 1 + usize::from(long[i]);
    i += 2 + usize::from(u16::from_be_bytes([long[i], long[i + 1]]));
    i += 1 + usize::from(long[i]);
    long[i..i + 2].copy_from_slice(&0xfff0u16.to_be_bytes());
    assert_eq!(parse_client_hello_message(&long), Outcome::Malformed);
}

#[test]
fn sni_bytes_are_escaped_for_presentation() {
    let mut stream = named("openssl-x.test.bin").bytes.to_vec();
    let at = stream.windows(6).position(|w| w == b"x.test").unwrap();
    stream[at..at + 6].copy_from_slice(b"x\x01t\\s.");
    let h = found(parse_client_hello_stream(&stream));
    assert_eq!(h.sni.as_deref(), Some("x\\001t\\\\s."));
}

/// The hand-written walk and the tls-parser recipe agree on every real hello.
#[test]
fn agrees_with_tls_parser_on_real_hellos() {
    let quic = include_bytes!("../../../tests/data/tls/arkime-quicietf-crypto.bin").to_vec();
    let mut msgs: Vec<Vec<u8>> = cases().iter().map(|c| message_of(c.bytes)).collect();
    msgs.push(quic);
    for msg in &msgs {
        let body = oracle::body_of_message(msg);
        let mine = hello::parse_client_hello_body(body, 1);
        assert!(mine.clone().found().is_some());
        assert_eq!(oracle::parse_body(body, 1, false), mine);
        assert_eq!(oracle::parse_body(body, 1, true), mine);
    }
}

/// Deterministic mutations of real hellos (bytes flipped, lengths changed, truncation): no panic,
/// and whenever tls-parser (with the fallback walk) parses the hello, we find the same things.
#[test]
fn mutated_hellos_agree_with_tls_parser() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut both, mut compared) = (0, 0);
    for c in cases() {
        let msg = message_of(c.bytes);
        for _ in 0..3000 {
            let mut m = msg.clone();
            for _ in 0..1 + rnd() % 3 {
                let i = 4 + (rnd() as usize) % (m.len() - 4);
                m[i] = rnd() as u8;
            }
            if rnd() % 4 == 0 {
                m.truncate(4 + (rnd() as usize) % (m.len() - 4));
            }
            let body = &m[4..];
            let mine = hello::parse_client_hello_body(body, 1);
            let _ = parse_client_hello_stream(&reframe(&m, 300));
            compared += 1;
            if let Outcome::Found(theirs) = oracle::parse_body(body, 1, true) {
                both += 1;
                assert_eq!(mine, Outcome::Found(theirs), "{}", c.file);
            }
        }
    }
    assert!(both > compared / 2, "{both}/{compared}");
}

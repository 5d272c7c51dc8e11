//! RFC 8448 §3 (Simple 1-RTT Handshake) through the whole path: ClientHello and ServerHello
//! records parsed, secrets from an NSS key log, the client's Finished and application data
//! records opened; plus KeyUpdate, wrong/partial key logs, ServerHello variants, the HTTP/1
//! request reader.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use crate::extract::Outcome;
use crate::extract::tls::keylog::{KeyLogLimits, Secret};
use crate::extract::tls::{ClientHello, parse_client_hello_stream};
use crate::model::Ts;

pub(super) fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

// RFC 8448 §3, "complete record" values.
const CLIENT_HELLO_RECORD: &str = "16030100c4010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302010000910000000b0009000006736572766572ff01000100000a00140012001d0017001800190100010101020103010400230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d00020101001c00024001";
const SERVER_HELLO_RECORD: &str = "160303005a020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304";
const CLIENT_FINISHED_RECORD: &str = "170303003575ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc44d87f38f80338ac98fc46deb384bd1caeacab6867d726c40546";
const CLIENT_DATA_RECORD: &str = "1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4";
const CLIENT_ALERT_RECORD: &str = "1703030013c9872760655666b74d7ff1153efd6db6d0b0e3";
const C_HS_TRAFFIC: &str = "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21";
const C_AP_TRAFFIC: &str = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
const RANDOM: &str = "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7";

fn hellos() -> (ClientHello, ServerHello) {
    let Outcome::Found(ch) = parse_client_hello_stream(&unhex(CLIENT_HELLO_RECORD)) else { panic!() };
    let Outcome::Found(sh) = parse_server_hello_stream(&unhex(SERVER_HELLO_RECORD)) else { panic!() };
    (ch, sh)
}

fn key_log(lines: &str) -> KeyLog {
    let mut log = KeyLog::new(KeyLogLimits::default());
    log.feed(lines.as_bytes(), Ts(0));
    log
}

fn full_log() -> KeyLog {
    key_log(&format!(
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET {RANDOM} {C_HS_TRAFFIC}\nCLIENT_TRAFFIC_SECRET_0 {RANDOM} {C_AP_TRAFFIC}\n"
    ))
}

/// The client's stream as RFC 8448 §3 sends it: ClientHello, Finished, data, close_notify.
fn client_stream() -> Vec<u8> {
    [CLIENT_HELLO_RECORD, CLIENT_FINISHED_RECORD, CLIENT_DATA_RECORD, CLIENT_ALERT_RECORD]
        .iter()
        .flat_map(|h| unhex(h))
        .collect()
}

#[test]
fn rfc8448_server_hello() {
    let (ch, sh) = hellos();
    assert_eq!(ch.random.to_vec(), unhex(RANDOM));
    assert_eq!((sh.version, sh.cipher_suite, sh.after_hello_retry), (0x0304, 0x1301, false));
    assert_eq!(sh.random[..4], [0xa6, 0xaf, 0x06, 0xa4]);
    let whole = unhex(SERVER_HELLO_RECORD);
    for cut in 0..whole.len() {
        assert!(matches!(parse_server_hello_stream(&whole[..cut]), Outcome::Incomplete { .. }), "cut {cut}");
    }
    assert_eq!(parse_server_hello_stream(&unhex(CLIENT_HELLO_RECORD)), Outcome::NotThis);
}

#[test]
fn rfc8448_finished_and_application_data_in_every_split() {
    let (ch, sh) = hellos();
    let log = full_log();
    let stream = client_stream();
    let want: Vec<u8> = (0u8..=0x31).collect(); // RFC 8448: the 50 bytes 00..31
    for split in 0..=stream.len() {
        let mut d = ClientDecryptor::new(&ch, &sh, &log).unwrap();
        let mut plain = Vec::new();
        d.feed(&stream[..split], &mut plain);
        let status = d.feed(&stream[split..], &mut plain);
        assert_eq!(plain, want, "split {split}");
        assert_eq!(status, Status::Stopped(Stop::Alert), "split {split}");
        let st = d.stats();
        assert_eq!((st.records, st.opened, st.skipped, st.plaintext_bytes), (4, 3, 0, 50), "split {split}");
    }
}

#[test]
fn rfc8448_without_the_handshake_secret_skips_the_finished() {
    let (ch, sh) = hellos();
    let log = key_log(&format!("CLIENT_TRAFFIC_SECRET_0 {RANDOM} {C_AP_TRAFFIC}\n"));
    let mut d = ClientDecryptor::new(&ch, &sh, &log).unwrap();
    let mut plain = Vec::new();
    d.feed(&client_stream(), &mut plain);
    assert_eq!(plain.len(), 50);
    assert_eq!(d.stats().skipped, 1);
}

#[test]
fn wrong_or_partial_key_logs_say_what_is_missing() {
    let (ch, sh) = hellos();
    let other = RANDOM.replace("cb34", "0000");
    let cases = [
        (String::new(), Missing::NoKeyLogEntry),
        (format!("CLIENT_TRAFFIC_SECRET_0 {other} {C_AP_TRAFFIC}\n"), Missing::NoKeyLogEntry),
        (format!("CLIENT_HANDSHAKE_TRAFFIC_SECRET {RANDOM} {C_HS_TRAFFIC}\n"), Missing::NoClientTrafficSecret),
    ];
    for (lines, missing) in cases {
        assert_eq!(ClientDecryptor::new(&ch, &sh, &key_log(&lines)).unwrap_err(), NewError::Missing(missing));
    }
    // TLS 1.2 ServerHello with the same random: needs CLIENT_RANDOM.
    let sh12 = ServerHello { version: 0x0303, cipher_suite: 0xc02f, ..sh.clone() };
    assert_eq!(ClientDecryptor::new(&ch, &sh12, &full_log()).unwrap_err(), NewError::Missing(Missing::NoMasterSecret));
    let cbc = ServerHello { version: 0x0303, cipher_suite: 0xc013, ..sh.clone() };
    assert_eq!(ClientDecryptor::new(&ch, &cbc, &full_log()).unwrap_err(), NewError::UnsupportedCipherSuite(0xc013));
    let mixed = ServerHello { version: 0x0303, cipher_suite: 0x1301, ..sh };
    assert_eq!(ClientDecryptor::new(&ch, &mixed, &full_log()).unwrap_err(), NewError::UnsupportedCipherSuite(0x1301));
}

#[test]
fn wrong_secret_stops_with_bad_record_and_no_plaintext() {
    let (ch, sh) = hellos();
    let wrong = C_AP_TRAFFIC.replace("9e40", "9e41");
    let log = key_log(&format!(
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET {RANDOM} {C_HS_TRAFFIC}\nCLIENT_TRAFFIC_SECRET_0 {RANDOM} {wrong}\n"
    ));
    let mut d = ClientDecryptor::new(&ch, &sh, &log).unwrap();
    let mut plain = Vec::new();
    assert_eq!(d.feed(&client_stream(), &mut plain), Status::Stopped(Stop::BadRecord));
    assert!(plain.is_empty());
    // A flipped ciphertext byte.
    let mut stream = client_stream();
    let at = stream.len() - 30;
    stream[at] ^= 1;
    let mut d = ClientDecryptor::new(&ch, &sh, &full_log()).unwrap();
    assert_eq!(d.feed(&stream, &mut plain), Status::Stopped(Stop::BadRecord));
    assert!(plain.is_empty());
}

#[test]
fn budget_and_framing_limits() {
    let (ch, sh) = hellos();
    let mut d = ClientDecryptor::new(&ch, &sh, &full_log()).unwrap().with_budget(10);
    let mut plain = Vec::new();
    assert_eq!(d.feed(&client_stream(), &mut plain), Status::Stopped(Stop::Budget));
    assert_eq!(plain, (0u8..10).collect::<Vec<_>>());
    let mut d = ClientDecryptor::new(&ch, &sh, &full_log()).unwrap();
    assert_eq!(d.feed(b"GET / HTTP/1.1\r\n", &mut plain), Status::Stopped(Stop::NotTls));
    let mut d = ClientDecryptor::new(&ch, &sh, &full_log()).unwrap();
    assert_eq!(d.feed(&[0x17, 0x03, 0x03, 0xff, 0xff], &mut plain), Status::Stopped(Stop::Oversized));
    assert_eq!(d.buffered(), 0);
}

/// Seals a TLS 1.3 record the way a client would (test-only encryptor, built on the same
/// key derivation), to exercise KeyUpdate, padding and 0-RTT.
fn seal(secret: &Secret, seq: u64, inner_type: u8, content: &[u8], padding: usize) -> Vec<u8> {
    use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let suite = Suite::from_id(0x1301).unwrap();
    let (key, iv) = super::keys::tls13_key_iv_for_tests(suite, secret);
    let mut inner = content.to_vec();
    inner.push(inner_type);
    inner.extend(std::iter::repeat_n(0, padding));
    let len = (inner.len() + 16) as u16;
    let header = [0x17, 0x03, 0x03, (len >> 8) as u8, len as u8];
    let mut nonce = iv;
    for (n, s) in nonce.iter_mut().skip(4).zip(seq.to_be_bytes()) {
        *n ^= s;
    }
    let k = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).unwrap());
    k.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(header), &mut inner).unwrap();
    [header.to_vec(), inner].concat()
}

#[test]
fn key_update_padding_and_early_data() {
    let (ch, sh) = hellos();
    let suite = Suite::from_id(0x1301).unwrap();
    let early = Secret::new(&unhex("3fce516009c21727d0f2e4e86ee403bc3fce516009c21727d0f2e4e86ee403bc")).unwrap();
    let s0 = Secret::new(&unhex(C_AP_TRAFFIC)).unwrap();
    let s1 = super::keys::next_traffic_secret(suite, &s0).unwrap();
    let mut stream = unhex(CLIENT_HELLO_RECORD);
    stream.extend(seal(&early, 0, 23, b"GET /0rtt HTTP/1.1\r\n\r\n", 0)); // 0-RTT request
    stream.extend(seal(&early, 1, 22, &[5, 0, 0, 0], 0)); // EndOfEarlyData
    stream.extend([0x14, 0x03, 0x03, 0x00, 0x01, 0x01]); // ChangeCipherSpec
    stream.extend(unhex(CLIENT_FINISHED_RECORD));
    stream.extend(seal(&s0, 0, 23, b"GET /a HTTP/1.1\r\n", 7)); // padded
    stream.extend(seal(&s0, 1, 22, &[24, 0, 0, 1, 0], 0)); // KeyUpdate(update_not_requested)
    stream.extend(seal(&s1, 0, 23, b"\r\n", 0));
    let log = key_log(&format!(
        "CLIENT_EARLY_TRAFFIC_SECRET {RANDOM} {}\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {RANDOM} {C_HS_TRAFFIC}\nCLIENT_TRAFFIC_SECRET_0 {RANDOM} {C_AP_TRAFFIC}\n",
        "3fce516009c21727d0f2e4e86ee403bc3fce516009c21727d0f2e4e86ee403bc"
    ));
    let mut d = ClientDecryptor::new(&ch, &sh, &log).unwrap();
    let mut plain = Vec::new();
    assert_eq!(d.feed(&stream, &mut plain), Status::Running);
    assert_eq!(plain, b"GET /0rtt HTTP/1.1\r\n\r\nGET /a HTTP/1.1\r\n\r\n");
    assert_eq!(d.stats().key_updates, 1);
    let mut reqs = Vec::new();
    let mut reader = RequestReader::new();
    reader.feed(&plain, &mut reqs);
    assert_eq!(reqs.iter().map(|r| r.path.clone()).collect::<Vec<_>>(), [b"/0rtt".to_vec(), b"/a".to_vec()]);
    // Without the early secret, the 0-RTT records are skipped and the rest still decrypts.
    let log = full_log();
    let mut d = ClientDecryptor::new(&ch, &sh, &log).unwrap();
    let mut plain = Vec::new();
    d.feed(&stream, &mut plain);
    assert_eq!(plain, b"GET /a HTTP/1.1\r\n\r\n");
    assert_eq!(d.stats().skipped, 2);
}

#[test]
fn hello_retry_request_then_server_hello() {
    // An HRR (RFC 8446 §4.1.4: the special random, supported_versions 0x0304, key_share group),
    // a ChangeCipherSpec, then RFC 8448's ServerHello.
    let mut body = vec![0x03, 0x03];
    body.extend(HELLO_RETRY_REQUEST_RANDOM);
    body.extend([
        0x00, 0x13, 0x02, 0x00, 0x00, 0x0c, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, 0x00, 0x33, 0x00, 0x02, 0x00, 0x17,
    ]);
    let mut hrr = vec![0x16, 0x03, 0x03, 0x00, (body.len() + 4) as u8, 0x02, 0x00, 0x00, body.len() as u8];
    hrr.extend(&body);
    let stream = [hrr, vec![0x14, 0x03, 0x03, 0x00, 0x01, 0x01], unhex(SERVER_HELLO_RECORD)].concat();
    let Outcome::Found(sh) = parse_server_hello_stream(&stream) else { panic!() };
    assert_eq!((sh.version, sh.cipher_suite, sh.after_hello_retry), (0x0304, 0x1301, true));
    assert!(matches!(parse_server_hello_stream(&stream[..60]), Outcome::Incomplete { .. }));
    // TLS 1.2 ServerHello without extensions.
    let mut body12 = vec![0x03, 0x03];
    body12.extend([7u8; 32]);
    body12.extend([0x00, 0xc0, 0x2f, 0x00]);
    let mut rec = vec![0x16, 0x03, 0x03, 0x00, (body12.len() + 4) as u8, 0x02, 0x00, 0x00, body12.len() as u8];
    rec.extend(&body12);
    let Outcome::Found(sh) = parse_server_hello_stream(&rec) else { panic!() };
    assert_eq!((sh.version, sh.cipher_suite, sh.random), (0x0303, 0xc02f, [7u8; 32]));
    assert_eq!(parse_server_hello_stream(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]), Outcome::NotThis);
}

#[test]
fn http1_requests_with_bodies_in_every_split() {
    let plain: &[u8] = b"POST /a?e=1 HTTP/1.1\r\nHost: t.example\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: t.example:8443\r\nReferer: https://m.example/\r\nCookie: id=7\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /c HTTP/1.1\r\n\r\n";
    for split in 0..=plain.len() {
        let mut r = RequestReader::new();
        let mut out = Vec::new();
        r.feed(&plain[..split], &mut out);
        r.feed(&plain[split..], &mut out);
        let paths: Vec<&[u8]> = out.iter().map(|q| &q.path[..]).collect();
        assert_eq!(paths, [&b"/a?e=1"[..], b"/b", b"/c"], "split {split}");
        assert_eq!(out[1].authority.as_deref(), Some(&b"t.example:8443"[..]));
        assert_eq!(out[1].referer.as_deref(), Some(&b"https://m.example/"[..]));
        assert_eq!(out[1].cookie.as_deref(), Some(&b"id=7"[..]));
        assert!(!out[0].http2 && !r.is_done());
    }
    let mut r = RequestReader::new();
    r.feed(b"\x16\x03\x01 not http", &mut Vec::new());
    assert!(r.is_done());
}

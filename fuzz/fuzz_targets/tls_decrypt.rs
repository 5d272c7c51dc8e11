#![no_main]
//! Fuzz target: client-direction TLS record decryption (`extract::tls::session`) with the
//! RFC 8448 §3 connection (TLS 1.3, AES-128-GCM) and a TLS 1.2 ChaCha20 connection built from
//! the same hellos, fed random client bytes in two pieces; the ServerHello parser on the same
//! bytes; the request reader on them as plaintext. Checks: no panic, the record buffer bound,
//! the plaintext budget, and that a record failing authentication stops the connection.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pixelwatch::extract::Outcome;
use pixelwatch::extract::tls::keylog::{KeyLog, KeyLogLimits};
use pixelwatch::extract::tls::session::{
    ClientDecryptor, MAX_RECORD_BUFFER, RequestReader, ServerHello, Status, parse_server_hello_stream,
};
use pixelwatch::extract::tls::{ClientHello, parse_client_hello_stream};
use pixelwatch::model::Ts;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

const RANDOM: &str = "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7";

fn setup() -> &'static (ClientHello, ServerHello, KeyLog) {
    static S: OnceLock<(ClientHello, ServerHello, KeyLog)> = OnceLock::new();
    S.get_or_init(|| {
        let ch = parse_client_hello_stream(&unhex("16030100c4010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302010000910000000b0009000006736572766572ff01000100000a00140012001d0017001800190100010101020103010400230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d00020101001c00024001")).found().unwrap();
        let sh = parse_server_hello_stream(&unhex("160303005a020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304")).found().unwrap();
        let mut log = KeyLog::new(KeyLogLimits::default());
        let text = format!(
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET {RANDOM} b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21\n\
             CLIENT_TRAFFIC_SECRET_0 {RANDOM} 9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5\n\
             CLIENT_EARLY_TRAFFIC_SECRET {RANDOM} 9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5\n\
             CLIENT_RANDOM {RANDOM} {}\n",
            "ab".repeat(48)
        );
        log.feed(text.as_bytes(), Ts(0));
        (ch, sh, log)
    })
}

fuzz_target!(|data: &[u8]| {
    let (ch, sh, log) = setup();
    let Some((&split, bytes)) = data.split_first() else { return };
    let at = usize::from(split).min(bytes.len());
    let tls12 = ServerHello { version: 0x0303, cipher_suite: 0xcca9, ..sh.clone() };
    for hello in [sh, &tls12] {
        let mut d = ClientDecryptor::new(ch, hello, log).unwrap().with_budget(256);
        let mut plain = Vec::new();
        d.feed(&bytes[..at], &mut plain);
        assert!(d.buffered() <= 2 * MAX_RECORD_BUFFER + 64);
        let status = d.feed(&bytes[at..], &mut plain);
        assert!(plain.len() <= 256);
        if let Status::Stopped(_) = status {
            assert_eq!(d.feed(b"\x17\x03\x03\x00\x01\x00", &mut plain), status);
        }
    }
    match parse_server_hello_stream(bytes) {
        Outcome::Found(_) => assert!(bytes.len() >= 5 + 4 + 38),
        Outcome::Incomplete { needed } => assert!(needed >= 1),
        Outcome::NotThis | Outcome::Malformed => {}
    }
    let mut reader = RequestReader::new();
    let mut reqs = Vec::new();
    reader.feed(&bytes[..at], &mut reqs);
    reader.feed(&bytes[at..], &mut reqs);
    assert!(reqs.len() <= 64);
});

#![no_main]
//! Fuzz target: HPACK decoding (`extract::h2::hpack`) and the HTTP/2 frame layer
//! (`extract::h2::H2Connection`). The first byte picks the mode and a split point. Checks: no
//! panic; the dynamic table never exceeds its limit; decoded header lists stay bounded; feeding
//! a connection in two pieces gives the same requests as in one.
use libfuzzer_sys::fuzz_target;
use pixelwatch::extract::h2::hpack::{Decoder, MAX_HEADER_LIST_SIZE, MAX_TABLE_SIZE};
use pixelwatch::extract::h2::{H2Connection, PREFACE};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    if first & 1 == 0 {
        // Several header blocks through one decoder (the table carries over), split at each 0xfe byte.
        let mut d = Decoder::new(if first & 2 == 0 { 4096 } else { 256 });
        for block in rest.split(|&b| b == 0xfe) {
            let mut total = 0usize;
            let _ = d.decode(block, &mut |n, v| total += n.len() + v.len() + 32);
            assert!(total <= MAX_HEADER_LIST_SIZE);
            assert!(d.table_size() <= MAX_TABLE_SIZE);
        }
    } else {
        let at = usize::from(first >> 1).min(rest.len());
        let stream: Vec<u8> = if first & 2 == 0 { [PREFACE, rest].concat() } else { rest.to_vec() };
        let at = at.min(stream.len());
        let mut one = Vec::new();
        let mut c = H2Connection::new();
        c.feed(&stream, &mut one);
        let mut two = Vec::new();
        let mut c2 = H2Connection::new();
        c2.feed(&stream[..at], &mut two);
        c2.feed(&stream[at..], &mut two);
        assert_eq!(one, two);
        assert_eq!(c.error(), c2.error());
    }
});

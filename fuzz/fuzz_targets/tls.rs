#![no_main]
//! Fuzz target: TLS ClientHello extraction (`extract::tls`), both entry points.
//!
//! Beyond "no panic", it checks the contract the flow layer relies on when it calls again after
//! each TCP segment: on every prefix of a small input, `Incomplete { needed }` is a true lower
//! bound (no `Found` before `needed` more bytes; a NotThis/Malformed verdict may come earlier,
//! from headers), and once an answer other than Incomplete is given, every longer prefix gives
//! the same answer. It also checks that the record layer
//! agrees with the bare-message parser: a message that parses bare parses the same when framed
//! into records.
use libfuzzer_sys::fuzz_target;
use pixelwatch::extract::Outcome;
use pixelwatch::extract::tls::{
    ClientHello, MAX_RECORDS, parse_client_hello_message, parse_client_hello_stream,
};

/// Every prefix of `data` through `parse`: lower bounds hold and answers are stable.
fn check_prefixes(data: &[u8], parse: fn(&[u8]) -> Outcome<ClientHello>) {
    let mut no_found_before = 0usize; // smallest prefix length that may give Found
    let mut answer: Option<Outcome<ClientHello>> = None;
    for k in 0..=data.len() {
        let o = parse(&data[..k]);
        match (&o, &answer) {
            (Outcome::Incomplete { needed }, None) => {
                assert!(*needed >= 1);
                no_found_before = no_found_before.max(k + needed);
            }
            (_, None) => {
                if matches!(o, Outcome::Found(_)) {
                    assert!(
                        k >= no_found_before,
                        "Found at {k}, promised not before {no_found_before}"
                    );
                }
                answer = Some(o);
            }
            (_, Some(a)) => assert_eq!(&o, a, "answer changed at prefix {k}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let stream = parse_client_hello_stream(data);
    let message = parse_client_hello_message(data);
    for o in [&stream, &message] {
        if let Outcome::Incomplete { needed } = o {
            assert!(*needed >= 1);
        }
    }
    if data.len() <= 1024 {
        check_prefixes(data, parse_client_hello_stream);
        check_prefixes(data, parse_client_hello_message);
    }

    // A bare message that parses must parse the same once framed into records.
    if let (Outcome::Found(hello), [_, l0, l1, l2, ..]) = (&message, data) {
        let total = 4 + (usize::from(*l0) << 16 | usize::from(*l1) << 8 | usize::from(*l2));
        let msg = &data[..total];
        let size = 1 + usize::from(data.last().copied().unwrap_or(0)) * 64;
        let mut framed = Vec::with_capacity(total + 5 * total.div_ceil(size));
        for chunk in msg.chunks(size) {
            framed.extend_from_slice(&[22, 3, 3]);
            framed.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
            framed.extend_from_slice(chunk);
        }
        let records = total.div_ceil(size);
        let expected = if records > MAX_RECORDS {
            Outcome::Malformed
        } else {
            Outcome::Found(ClientHello {
                records: records as u16,
                ..hello.clone()
            })
        };
        assert_eq!(parse_client_hello_stream(&framed), expected);
    }
});

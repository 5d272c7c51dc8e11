//! HPACK against RFC 7541 Appendix C (C.2–C.6: every block, every field, the table size after
//! each block), and the HTTP/2 frame layer on hand-framed and split input.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::hpack::{Decoder, HpackError, MAX_HEADER_LIST_SIZE};
use super::*;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn decode(d: &mut Decoder, hex: &str) -> Result<Vec<(String, String)>, HpackError> {
    let mut fields = Vec::new();
    d.decode(&unhex(hex), &mut |n, v| {
        fields.push((String::from_utf8(n.to_vec()).unwrap(), String::from_utf8(v.to_vec()).unwrap()))
    })?;
    Ok(fields)
}

type Vector = (&'static str, &'static str, usize, &'static [(&'static str, &'static str)]);

const REQ1: &[(&str, &str)] =
    &[(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")];
const REQ2: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
    ("cache-control", "no-cache"),
];
const REQ3: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/index.html"),
    (":authority", "www.example.com"),
    ("custom-key", "custom-value"),
];
const RESP1: &[(&str, &str)] = &[
    (":status", "302"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("location", "https://www.example.com"),
];
const RESP2: &[(&str, &str)] = &[
    (":status", "307"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("location", "https://www.example.com"),
];
const RESP3: &[(&str, &str)] = &[
    (":status", "200"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
    ("location", "https://www.example.com"),
    ("content-encoding", "gzip"),
    ("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
];

/// RFC 7541 C.3 (requests without Huffman), C.4 (with), C.5 (responses, table 256, evictions),
/// C.6 (same with Huffman): (block, hex, table size after, fields).
const SEQUENCES: &[(usize, &[Vector])] = &[
    (
        4096,
        &[
            ("C.3.1", "828684410f7777772e6578616d706c652e636f6d", 57, REQ1),
            ("C.3.2", "828684be58086e6f2d6361636865", 110, REQ2),
            ("C.3.3", "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565", 164, REQ3),
        ],
    ),
    (
        4096,
        &[
            ("C.4.1", "828684418cf1e3c2e5f23a6ba0ab90f4ff", 57, REQ1),
            ("C.4.2", "828684be5886a8eb10649cbf", 110, REQ2),
            ("C.4.3", "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf", 164, REQ3),
        ],
    ),
    (
        256,
        &[
            (
                "C.5.1",
                "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
                222,
                RESP1,
            ),
            ("C.5.2", "4803333037c1c0bf", 222, RESP2),
            (
                "C.5.3",
                "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31",
                215,
                RESP3,
            ),
        ],
    ),
    (
        256,
        &[
            (
                "C.6.1",
                "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
                222,
                RESP1,
            ),
            ("C.6.2", "4883640effc1c0bf", 222, RESP2),
            (
                "C.6.3",
                "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
                215,
                RESP3,
            ),
        ],
    ),
];

#[test]
fn rfc7541_appendix_c_3_to_c_6() {
    let mut blocks = 0;
    for &(table, seq) in SEQUENCES {
        let mut d = Decoder::new(table);
        for &(id, hex, size, want) in seq {
            let got = decode(&mut d, hex).unwrap_or_else(|e| panic!("{id}: {e:?}"));
            let want: Vec<(String, String)> = want.iter().map(|&(n, v)| (n.into(), v.into())).collect();
            assert_eq!(got, want, "{id}");
            assert_eq!(d.table_size(), size, "{id}");
            blocks += 1;
        }
    }
    assert_eq!(blocks, 12);
}

#[test]
fn rfc7541_appendix_c_2_literals_and_indexed() {
    // C.2.1 literal with indexing (table 55), C.2.2 without indexing, C.2.3 never indexed, C.2.4 indexed.
    let cases = [
        ("400a637573746f6d2d6b65790d637573746f6d2d686561646572", ("custom-key", "custom-header"), 55),
        ("040c2f73616d706c652f70617468", (":path", "/sample/path"), 0),
        ("100870617373776f726406736563726574", ("password", "secret"), 0),
        ("82", (":method", "GET"), 0),
    ];
    for (hex, (n, v), size) in cases {
        let mut d = Decoder::default();
        assert_eq!(decode(&mut d, hex).unwrap(), vec![(n.to_string(), v.to_string())], "{hex}");
        assert_eq!(d.table_size(), size, "{hex}");
    }
    // C.1.3: 42 with an 8-bit prefix is one byte; C.1.2: 1337 with a 5-bit prefix is 1f 9a 0a —
    // as a table size update (001xxxxx) it is 3f 9a 0a: over our limit only when > 64 KiB.
    let mut d = Decoder::default();
    assert_eq!(decode(&mut d, "3f9a0a82").unwrap(), vec![(":method".into(), "GET".into())]);
}

#[test]
fn size_update_evicts_and_is_checked() {
    let mut d = Decoder::default();
    decode(&mut d, "828684418cf1e3c2e5f23a6ba0ab90f4ff").unwrap();
    assert_eq!(d.table_len(), 1);
    decode(&mut d, "20").unwrap(); // size 0: empties the table
    assert_eq!((d.table_len(), d.table_size()), (0, 0));
    assert_eq!(decode(&mut d, "be"), Err(HpackError::BadIndex)); // index 62 is gone
    assert_eq!(decode(&mut d, "8220"), Err(HpackError::BadTableSizeUpdate)); // after a field
    assert_eq!(decode(&mut Decoder::default(), "3fe2ff03"), Err(HpackError::BadTableSizeUpdate)); // 65537
    assert_eq!(decode(&mut Decoder::default(), "80"), Err(HpackError::BadIndex));
    assert_eq!(decode(&mut Decoder::default(), "ff808080801f"), Err(HpackError::IntegerOverflow));
    assert_eq!(decode(&mut Decoder::default(), "410f7777"), Err(HpackError::Truncated));
}

#[test]
fn header_list_size_is_bounded() {
    // One literal of 40 KiB, then the same again: the second crosses the limit.
    let big = 40 * 1024;
    let mut one = vec![0x00, 0x01, b'x', 0x7f];
    let mut n = big - 127;
    while n >= 128 {
        one.push((n % 128) as u8 | 0x80);
        n /= 128;
    }
    one.push(n as u8);
    one.extend(std::iter::repeat_n(b'v', big));
    let two = [one.clone(), one].concat();
    let mut fields = 0;
    let r = Decoder::default().decode(&two, &mut |_, _| fields += 1);
    assert_eq!(r, Err(HpackError::HeaderListTooLarge));
    assert_eq!(fields, 1);
    assert!(big + 33 < MAX_HEADER_LIST_SIZE);
}

fn frame(frame_type: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let n = payload.len();
    let mut f = vec![(n >> 16) as u8, (n >> 8) as u8, n as u8, frame_type, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A client connection: preface, SETTINGS (header table size 65536), WINDOW_UPDATE, then
/// C.4.1 as HEADERS (padded, with priority) and C.4.2 split over HEADERS + CONTINUATION, a DATA
/// frame between requests, and a request with two cookie fields and a referer.
fn connection() -> Vec<u8> {
    let mut c = PREFACE.to_vec();
    c.extend(frame(0x4, 0, 0, &[0, 1, 0, 1, 0, 0, 0, 4, 0, 0, 0xff, 0xff]));
    c.extend(frame(0x8, 0, 0, &[0, 0xef, 0, 1]));
    let mut padded = vec![3, 0x80, 0, 0, 0, 0xff];
    padded.extend(unhex("828684418cf1e3c2e5f23a6ba0ab90f4ff"));
    padded.extend([0, 0, 0]);
    c.extend(frame(0x1, 0x1 | 0x4 | 0x8 | 0x20, 1, &padded));
    let block2 = unhex("828684be5886a8eb10649cbf");
    c.extend(frame(0x1, 0x0, 3, &block2[..5]));
    c.extend(frame(0x9, 0x4, 3, &block2[5..]));
    c.extend(frame(0x0, 0x1, 3, b"body bytes"));
    // :method POST (3), :path literal, :authority indexed 63 (www.example.com), cookie x2, referer.
    let mut b3 = vec![0x83, 0x04, 0x05];
    b3.extend(b"/p?q=");
    b3.push(0xbf); // index 63: C.4.2 added cache-control (62) after :authority
    for cookie in [&b"a=1"[..], b"b=2"] {
        b3.extend([0x0f, 0x11, cookie.len() as u8]); // cookie = static 32 (4-bit prefix: 15 + 17)
        b3.extend(cookie);
    }
    b3.extend([0x0f, 0x24, 0x13]); // referer = static 51 (15 + 36)
    b3.extend(b"https://mail.test/x");
    c.extend(frame(0x1, 0x4, 5, &b3));
    c
}

#[test]
fn requests_from_frames_in_every_split() {
    let bytes = connection();
    for split in 0..bytes.len() {
        let mut h2 = H2Connection::new();
        let mut out = Vec::new();
        h2.feed(&bytes[..split], &mut out);
        h2.feed(&bytes[split..], &mut out);
        assert_eq!(h2.error(), None, "split {split}");
        assert_eq!(out.len(), 3, "split {split}");
        assert_eq!(h2.client_header_table_size, Some(65536));
        assert_eq!(out[0].method, b"GET");
        assert_eq!(out[0].authority.as_deref(), Some(&b"www.example.com"[..]));
        assert!(out[0].end_stream);
        assert_eq!((out[1].stream_id, &out[1].path[..]), (3, &b"/"[..]));
        assert_eq!(out[2].method, b"POST");
        assert_eq!(out[2].path, b"/p?q=");
        assert_eq!(out[2].authority.as_deref(), Some(&b"www.example.com"[..]));
        assert_eq!(out[2].cookie.as_deref(), Some(&b"a=1; b=2"[..]));
        assert_eq!(out[2].referer.as_deref(), Some(&b"https://mail.test/x"[..]));
    }
}

#[test]
fn protocol_errors_stop_the_connection() {
    let mut h2 = H2Connection::new();
    h2.feed(b"GET / HTTP/1.1\r\n", &mut Vec::new());
    assert_eq!(h2.error(), Some(H2Error::NoPreface));
    // CONTINUATION without HEADERS; a DATA frame inside a header block; padding past the end.
    for bad in [
        frame(0x9, 0x4, 1, &[0x82]),
        [frame(0x1, 0x0, 1, &[0x82]), frame(0x0, 0, 1, b"x")].concat(),
        frame(0x1, 0x4 | 0x8, 1, &[9, 0x82]),
    ] {
        let mut h2 = H2Connection::after_preface();
        h2.feed(&bad, &mut Vec::new());
        assert_eq!(h2.error(), Some(H2Error::Protocol), "{bad:02x?}");
    }
    let mut h2 = H2Connection::after_preface();
    h2.feed(&[0x01, 0x00, 0x01, 0x01, 0x04, 0, 0, 0, 1], &mut Vec::new()); // HEADERS of 64 KiB + 1
    assert_eq!(h2.error(), Some(H2Error::TooLarge));
}

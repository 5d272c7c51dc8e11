#![no_main]
//! Fuzz target: the HTTP request-head extractor, `host_name` and the chunked-body walker.
use libfuzzer_sys::fuzz_target;
use pixelwatch::extract::Outcome;
use pixelwatch::extract::http::{
    self, BodyLength, ChunkedBody, MAX_HEAD_LEN, chunked_body_len, host_name,
    looks_like_request_start, parse_request_head,
};

fuzz_target!(|data: &[u8]| {
    let starts = looks_like_request_start(data);
    match parse_request_head(data) {
        Outcome::Found(head) => {
            assert!(starts);
            assert!(head.head_len <= data.len().min(MAX_HEAD_LEN));
            assert!(!head.target.is_empty());
            if head.bad_framing {
                assert_eq!(head.body, BodyLength::None);
            }
            if let Some(host) = head.host {
                let _ = host_name(host);
            }
            let body = data.get(head.head_len..).unwrap_or_default();
            if head.body == BodyLength::Chunked {
                check_chunked(body);
            }
            // The next pipelined request, if any.
            let _ = parse_request_head(body);
        }
        Outcome::NotThis => assert!(!starts || data.is_empty()),
        Outcome::Incomplete { needed } => assert!(needed >= 1 && data.len() < MAX_HEAD_LEN),
        Outcome::Malformed => assert!(starts),
    }
    if let Some(name) = host_name(data) {
        assert!(!name.is_empty() && name.len() <= 4 * data.len());
    }
    check_chunked(data);
    let _ = http::MAX_CHUNK_LINE;
});

/// The one-shot and the incremental walkers agree, whatever the piece sizes.
fn check_chunked(data: &[u8]) {
    let whole = chunked_body_len(data);
    if let Outcome::Found(n) = whole {
        assert!(n <= data.len());
    }
    let step = 1 + data.first().map_or(0, |&b| usize::from(b % 13));
    let mut walker = ChunkedBody::new();
    let mut used = 0;
    let mut failed = false;
    for piece in data.chunks(step) {
        match walker.feed(piece) {
            Ok(n) => used += n,
            Err(_) => {
                failed = true;
                break;
            }
        }
        if walker.is_done() {
            break;
        }
    }
    match whole {
        Outcome::Found(n) => assert!(walker.is_done() && used == n),
        Outcome::Malformed => assert!(failed),
        Outcome::Incomplete { needed } => assert!(!failed && !walker.is_done() && needed >= 1),
        Outcome::NotThis => unreachable!(),
    }
}

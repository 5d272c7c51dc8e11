//! Unit tests for the HTTP request-head extractor, on requests cut from the shared corpus
//! captures (`/work/shared/corpus/pcaps`; capture and frame named above each one).
use super::*;

fn found(buf: &[u8]) -> RequestHead<'_> {
    match parse_request_head(buf) {
        Outcome::Found(h) => h,
        other => panic!("expected Found, got {other:?}"),
    }
}

fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    s.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
}

// arkime__v6-http.pcap frame 49 (over IPv6).
const V6_HTTP_F49: &[u8] = b"GET / HTTP/1.0\r\n\
Host: cl-1985.ham-01.de.sixxs.net\r\n\
Accept: text/html, text/plain, text/css, text/sgml, */*;q=0.01\r\n\
Accept-Encoding: gzip, bzip2\r\n\
Accept-Language: en\r\n\
User-Agent: Lynx/2.8.6rel.2 libwww-FM/2.14 SSL-MM/1.4.1 OpenSSL/0.9.8b\r\n\
\r\n";

// zeek__http__pipelined-requests.pcap frames 4 and 6: two requests the client sent back to
// back on one connection (the second before the first response).
const PIPELINED_F4: &[u8] = b"GET /style/enhanced.css HTTP/1.1\r\n\
Host: www.mozilla.org\r\n\
User-Agent: Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.9.1.5) Gecko/20091102 Firefox/3.5.5\r\n\
Accept: text/css,*/*;q=0.1\r\n\
Accept-Language: en-us,en;q=0.5\r\n\
Accept-Encoding: gzip,deflate\r\n\
Accept-Charset: ISO-8859-1,utf-8;q=0.7,*;q=0.7\r\n\
Keep-Alive: 300\r\n\
Connection: keep-alive\r\n\
Referer: http://www.mozilla.org/projects/calendar/\r\n\
\r\n";
const PIPELINED_F6: &[u8] = b"GET /script/urchin.js HTTP/1.1\r\n\
Host: www.mozilla.org\r\n\
User-Agent: Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.9.1.5) Gecko/20091102 Firefox/3.5.5\r\n\
Accept: */*\r\n\
Accept-Language: en-us,en;q=0.5\r\n\
Accept-Encoding: gzip,deflate\r\n\
Accept-Charset: ISO-8859-1,utf-8;q=0.7,*;q=0.7\r\n\
Keep-Alive: 300\r\n\
Connection: keep-alive\r\n\
Referer: http://www.mozilla.org/projects/calendar/\r\n\
\r\n";

#[test]
fn simple_get_over_ipv6() {
    let h = found(V6_HTTP_F49);
    assert_eq!((h.method, h.target, h.version), (&b"GET"[..], &b"/"[..], &b"HTTP/1.0"[..]));
    assert_eq!(h.host, Some(&b"cl-1985.ham-01.de.sixxs.net"[..]));
    assert_eq!((h.referer, h.cookie), (None, None));
    assert_eq!((h.head_len, h.body, h.bad_framing), (V6_HTTP_F49.len(), BodyLength::None, false));
    assert_eq!(host_name(h.host.unwrap()).as_deref(), Some("cl-1985.ham-01.de.sixxs.net"));
}

#[test]
fn referer_and_cookie() {
    let h = found(PIPELINED_F4);
    assert_eq!(h.referer, Some(&b"http://www.mozilla.org/projects/calendar/"[..]));
    // arkime__socks5-http-302-frag.pcap frame 27 (inside SOCKS5).
    let req = b"GET / HTTP/1.1\r\n\
Host: www.google.com\r\n\
User-Agent: Mozilla/5.0 (Windows NT 5.1; rv:25.0) Gecko/20100101 Firefox/25.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: ro-ro,ro;q=0.8,en-us;q=0.6,en-gb;q=0.4,en;q=0.2\r\n\
Accept-Encoding: gzip, deflate\r\n\
Cookie: PREF=ID=xxxxxxxxxxxxxxxx:TM=xxxxxxxxxx:LM=xxxxxxxxxx:S=xxxxxxxxxxxx_6oz\r\n\
Connection: keep-alive\r\n\
\r\n";
    let h = found(req);
    assert_eq!(h.cookie, Some(&b"PREF=ID=xxxxxxxxxxxxxxxx:TM=xxxxxxxxxx:LM=xxxxxxxxxx:S=xxxxxxxxxxxx_6oz"[..]));
    // Names are case-insensitive, OWS around the value is trimmed.
    let mut odd = req.to_vec();
    let text =
        String::from_utf8(odd.clone()).unwrap().replace("Cookie: ", "cOOKIE:\t ").replace("\r\nConn", " \t\r\nConn");
    odd = text.into_bytes();
    assert_eq!(found(&odd).cookie, h.cookie);
}

#[test]
fn pipelined_requests_are_delimited() {
    let stream = [PIPELINED_F4, PIPELINED_F6].concat();
    let first = found(&stream);
    assert_eq!((first.target, first.head_len), (&b"/style/enhanced.css"[..], PIPELINED_F4.len()));
    let second = found(&stream[first.head_len..]);
    assert_eq!(second.target, b"/script/urchin.js");
    assert_eq!(second.head_len, PIPELINED_F6.len());
}

#[test]
fn every_prefix_is_incomplete() {
    // sv__bug-4810__pppoe-session-http.pcap frame 4 (PPPoE session): curl.
    let req = b"GET / HTTP/1.1\r\nHost: www.google.nl\r\nUser-Agent: curl/7.76.1\r\nAccept: */*\r\n\r\n";
    for cut in 1..req.len() {
        assert!(
            matches!(parse_request_head(&req[..cut]), Outcome::Incomplete { needed } if needed >= 1 && needed <= req.len() - cut),
            "prefix of {cut} bytes"
        );
    }
    assert_eq!(found(req).host, Some(&b"www.google.nl"[..]));
    assert_eq!(parse_request_head(b""), Outcome::NotThis);
}

#[test]
fn head_split_over_segments() {
    // ndpi__http-lines-split.pcap frames 4 and 6: the head arrives in two segments.
    let f4 = b"GET / HTTP/1.1\r\nHost: toni.lan:31337\r\n";
    let f6 = b"User-Agent: uclient-fetch\r\n\r\n";
    assert!(matches!(parse_request_head(f4), Outcome::Incomplete { .. }));
    let both = [&f4[..], &f6[..]].concat();
    let h = found(&both);
    assert_eq!(h.host, Some(&b"toni.lan:31337"[..]));
    assert_eq!(host_name(h.host.unwrap()).as_deref(), Some("toni.lan"));
}

#[test]
fn bare_lf_and_odd_request_lines() {
    // zeek__http__methods.pcap frames 4, 14, 108, 172, 319: bare LF line endings, and request
    // lines tshark still decodes (no target, a truncated version, no version, CCM_POST).
    type Case = (&'static [u8], &'static [u8], &'static [u8], &'static [u8]);
    let cases: [Case; 5] = [
        (b"OPTIONS * HTTP/1.1\nHost: www.google.com\n\n", b"OPTIONS", b"*", b"HTTP/1.1"),
        (b"OPTIONS HTTP/1.1\nHost: www.google.com\n\n", b"OPTIONS", b"HTTP/1.1", b""),
        (b"GET / HTTP/1.\nHost: www.google.com\n\n", b"GET", b"/", b"HTTP/1."),
        (b"GET /HTTP/1.1\nHost: www.google.com\n\n", b"GET", b"/HTTP/1.1", b""),
        (b"CCM_POST / HTTP/1.\nHost: www.google.com\n\n", b"CCM_POST", b"/", b"HTTP/1."),
    ];
    for (req, method, target, version) in cases {
        let h = found(req);
        assert_eq!((h.method, h.target, h.version), (method, target, version));
        assert_eq!((h.host, h.head_len), (Some(&b"www.google.com"[..]), req.len()));
    }
    // Frame 24: "OPTIONSHTTP/1.1" is no request line.
    assert_eq!(parse_request_head(b"OPTIONSHTTP/1.1\nHost: www.google.com\n\n"), Outcome::NotThis);
}

#[test]
fn host_names() {
    // sv__bug-6269-01.pcap frame 7: IPv6 literal.
    assert_eq!(host_name(b"[fd00:2:1::2]").as_deref(), Some("fd00:2:1::2"));
    assert_eq!(host_name(b"[::1]:8080").as_deref(), Some("::1"));
    // ndpi__1kxun.pcap: host with port.
    assert_eq!(host_name(b"ws.1kxun.mobi:1234").as_deref(), Some("ws.1kxun.mobi"));
    assert_eq!(host_name(b"192.168.0.13:").as_deref(), Some("192.168.0.13"));
    assert_eq!(host_name(b"fd00::1").as_deref(), Some("fd00::1"));
    assert_eq!(host_name(b"Www.Example.COM").as_deref(), Some("Www.Example.COM"));
    assert_eq!(host_name(b" \t").as_deref(), None);
    assert_eq!(host_name(b"").as_deref(), None);
    assert_eq!(host_name(b":80").as_deref(), None);
    assert_eq!(host_name(b"caf\xc3\xa9.fr").as_deref(), Some("caf\\195\\169.fr"));
}

#[test]
fn fuzzed_host_and_content_length() {
    // ndpi__fuzz-2006-09-29-28586.pcap frame 19: a fuzzed MMS relay POST; tshark reads the Host
    // as "%s" (it stops at the NUL byte).
    let req = b"POST /ppgctrl/ppgcontrollogic.dll HTTP/1.1\r\n\
Authorization: Basic bG1jX3c6VGVzdDEyMzQ=\r\n\
Content-Type: multipart/related; boundary=\"msgpart_0_1038_10318544\x188999\"; typ%s\x00application/xml\"\r\n\
User-Agent: MMS-Relay-DeliveryInitiator\r\n\
Acceqt: application/zml\r\n\
Connection: keep-alive\r\n\
Host:%s\x002.20.3.5\r\n\
Content-length: 840\r\n\
\r\n";
    let h = found(req);
    assert_eq!(h.host, Some(&b"%s\x002.20.3.5"[..]));
    assert_eq!(host_name(h.host.unwrap()).as_deref(), Some("%s"));
    assert_eq!((h.body, h.bad_framing), (BodyLength::ContentLength(840), false));

    let with = |extra: &str| {
        let text = String::from_utf8_lossy(req).replace("Content-length: 840\r\n", extra);
        let h = found(text.as_bytes());
        (h.body, h.bad_framing)
    };
    assert_eq!(with("Content-Length: 42, 42\r\ncontent-length: 42\r\n"), (BodyLength::ContentLength(42), false));
    assert_eq!(with("Content-Length: 0\r\n"), (BodyLength::None, false));
    assert_eq!(with("Content-Length: 42, 43\r\n"), (BodyLength::None, true));
    assert_eq!(with("Content-Length: 4x\r\n"), (BodyLength::None, true));
    assert_eq!(with("Content-Length: 99999999999999999999999\r\n"), (BodyLength::None, true));
    assert_eq!(with("Content-Length: 5\r\nTransfer-Encoding: gzip, Chunked\r\n"), (BodyLength::Chunked, false));
    assert_eq!(with("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"), (BodyLength::None, true));
}

#[test]
fn not_requests_are_rejected_early() {
    assert_eq!(parse_request_head(b"HTTP/1.1 200 OK\r\n\r\n"), Outcome::NotThis);
    assert_eq!(parse_request_head(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), Outcome::NotThis);
    assert_eq!(parse_request_head(b"get / HTTP/1.1\r\n\r\n"), Outcome::NotThis);
    for yes in [&b"G"[..], b"GE", b"GET", b"GET ", b"GET /x", b"PROPF", b"M", b"VERSION-CONTROL "] {
        assert!(looks_like_request_start(yes), "{yes:?}");
    }
    for no in [&b""[..], b"GET/", b"GETX", b"HTTP/1.1", b"\x16\x03", b"X", b"POSTS "] {
        assert!(!looks_like_request_start(no), "{no:?}");
    }
    assert_eq!(parse_request_head(b"GE"), Outcome::Incomplete { needed: 1 });
    assert_eq!(parse_request_head(b"GET \r\n\r\n"), Outcome::Malformed);
}

#[test]
fn head_size_is_capped() {
    let mut req = PIPELINED_F4[..PIPELINED_F4.len() - 2].to_vec();
    while req.len() < MAX_HEAD_LEN {
        req.extend_from_slice(b"X-Filler: 0123456789abcdef\r\n");
    }
    assert_eq!(parse_request_head(&req), Outcome::Malformed);
    assert!(matches!(parse_request_head(&req[..MAX_HEAD_LEN - 1]), Outcome::Incomplete { .. }));
}

#[test]
fn chunked_bodies() {
    // arkime__80211http.pcap frame 6: a response whose 249-byte head is followed by a complete
    // chunked body (one 0x2c4-byte chunk, the last chunk, no trailer): 720 bytes.
    let frame = hex(include_str!("arkime_80211http_frame6.hex"));
    let body = &frame[249..];
    assert!(body.starts_with(b"2c4\r\n"));
    assert_eq!(chunked_body_len(body), Outcome::Found(720));
    let with_next = [body, PIPELINED_F6].concat();
    assert_eq!(chunked_body_len(&with_next), Outcome::Found(720));
    for cut in 0..body.len() {
        match chunked_body_len(&body[..cut]) {
            Outcome::Incomplete { needed } => {
                assert!(needed >= 1 && needed <= 720 - cut, "cut {cut}: {needed}")
            }
            other => panic!("cut {cut}: {other:?}"),
        }
    }
    // The same body fed in 7-byte pieces.
    let mut walker = ChunkedBody::new();
    let mut used = 0;
    for piece in with_next.chunks(7) {
        used += walker.feed(piece).unwrap();
        if walker.is_done() {
            break;
        }
    }
    assert_eq!((walker.is_done(), used), (true, 720));
    // arkime__wireshark-retrans.pcap frame 25: an empty chunked body.
    assert_eq!(chunked_body_len(b"0\r\n\r\n"), Outcome::Found(5));
    // Extensions, a trailer, bare LF.
    assert_eq!(chunked_body_len(b"3;a=b\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"), Outcome::Found(25));
    assert_eq!(chunked_body_len(b"3\nabc\n0\n\n"), Outcome::Found(9));
    for bad in [&b"zz\r\n"[..], b"\r\n", b"3\r\nabcX", b"1g\r\n", b"11111111111111111\r\n"] {
        assert_eq!(chunked_body_len(bad), Outcome::Malformed, "{bad:?}");
    }
    let long_ext = [&b"1;"[..], &[b'x'; MAX_CHUNK_LINE]].concat();
    assert_eq!(chunked_body_len(&long_ext), Outcome::Malformed);
}

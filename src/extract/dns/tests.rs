//! Unit tests for the DNS extractor, on messages cut from the shared corpus captures
//! (`/work/shared/corpus/pcaps`; capture and frame named above each one).
use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(s.len().is_multiple_of(2), "odd hex length");
    s.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
}

fn found(payload: &[u8]) -> Message {
    match parse_message(payload) {
        Outcome::Found(m) => m,
        other => panic!("expected Found, got {other:?}"),
    }
}

fn qnames(m: &Message) -> Vec<(&str, u16)> {
    m.questions.iter().map(|q| (q.name.as_str(), q.qtype)).collect()
}

// ndpi__dns.pcap frame 2: query www.example.com AAAA.
const NDPI_DNS_F2: &str = "bc1f0100000100000000000003777777076578616d706c6503636f6d00001c0001";

// ndpi__dns.pcap frame 5: response e7.whatsapp.net, eight A records (owner = pointer to the question).
const NDPI_DNS_F5: &str = "784381800001000800000000026537087768617473617070036e65740000010001c00c00010001000001eb0004a92ddbebc00c00010001000001eb0004a92f288ec00c00010001000001eb0004a92df879c00c00010001000001eb00046ca8b0eac00c00010001000001eb0004a92df8bdc00c00010001000001eb0004a92df8b4c00c00010001000001eb0004a935514fc00c00010001000001eb0004a92ddbe8";

#[test]
fn query_and_response_from_ndpi_dns() {
    let q = found(&hex(NDPI_DNS_F2));
    assert_eq!((q.id, q.response, q.opcode, q.rcode), (0xbc1f, false, 0, 0));
    assert_eq!(qnames(&q), [("www.example.com", 28)]);
    assert!(q.answers.is_empty() && !q.damaged);

    let r = found(&hex(NDPI_DNS_F5));
    assert!(r.response && !r.damaged);
    assert_eq!(qnames(&r), [("e7.whatsapp.net", 1)]);
    assert_eq!(r.answers.len(), 8);
    assert!(r.answers.iter().all(|a| a.name == "e7.whatsapp.net" && a.ttl == 491));
    assert_eq!(r.answers[0].data, AnswerData::A(Ipv4Addr::new(169, 45, 219, 235)));
    assert_eq!(r.answers[7].data, AnswerData::A(Ipv4Addr::new(169, 45, 219, 232)));
}

#[test]
fn case_is_kept_as_on_the_wire() {
    // zeek__dns_original_case.pcap frame 1: 0x20-randomised query with an OPT record.
    let m = found(&hex(
        "518d01200001000000000001025573035632370b4469537452694275546544034e455400000100010000291000000000000000",
    ));
    assert_eq!(qnames(&m), [("Us.V27.DiStRiBuTeD.NET", 1)]);
}

#[test]
fn punycode_stays_in_wire_form() {
    // arkime__dns-punycode.pcap frame 1: SOA query for xn--80a0adav.xn--80ao21a.
    let m = found(&hex(
        "8bf4000000010000000000010c786e2d2d38306130616461760b786e2d2d3830616f32316100000600010000290800000000000000",
    ));
    assert_eq!(qnames(&m), [("xn--80a0adav.xn--80ao21a", 6)]);
}

#[test]
fn control_bytes_are_escaped_in_decimal() {
    // ndpi__dns-invalid-chars.pcap frame 1 (query) and frame 2 (response with one A record).
    let q =
        found(&hex("9f6c010000010000000000000377777717616c6c796f7572626104050661726562656c6f6e67746f02636e0000010001"));
    assert_eq!(qnames(&q), [("www.allyourba\\004\\005\\006arebelongto.cn", 1)]);
    let r = found(&hex(
        "9f6c818000010001000000000377777717616c6c796f757262617365736172650102036f6e67746f02636e0000010001c00c000100010000003c000413b98df1",
    ));
    assert_eq!(r.answers.len(), 1);
    assert_eq!(r.answers[0].name, "www.allyourbasesare\\001\\002\\003ongto.cn");
    assert_eq!(r.answers[0].data, AnswerData::A(Ipv4Addr::new(19, 185, 141, 241)));
}

#[test]
fn https_and_svcb_queries_parse() {
    // zeek__dns__ech.pcap frame 1: HTTPS (type 65) query for defo.ie with EDNS padding.
    let m =
        found(&hex("f74b01200001000000000001046465666f026965000041000100002904d000000000000c000a0008f65b0ae268781fbd"));
    assert_eq!(qnames(&m), [("defo.ie", 65)]);
    // zeek__dns-svcb.pcap frame 2: SVCB (type 64) response; its SVCB answer is not kept.
    let m = found(&hex(
        "c96481000001000100000000076578616d706c6503636f6d0000400001076578616d706c6503636f6d0000400001000002580013000003666f6f076578616d706c6503636f6d00",
    ));
    assert_eq!(qnames(&m), [("example.com", 64)]);
    assert!(m.answers.is_empty() && !m.damaged);
}

#[test]
fn cname_chain_from_ndpi_netflix() {
    // ndpi__netflix.pcap frame 4: ios.nccp.netflix.com -> ios.nccp.geo.netflix.com ->
    // ios.nccp.us-west-2.prodaa.netflix.com -> 8 A records; targets compressed against each other.
    let m = found(&hex(
        "295681800001000a0000000003696f73046e636370076e6574666c697803636f6d0000010001c00c000500010000006f000f03696f73046e6363700367656fc015c032000500010000016b001c03696f73046e6363700975732d776573742d320670726f646161c015c04d0001000100000032000436bf1133c04d0001000100000032000436bff8acc04d0001000100000032000436ba6990c04d0001000100000032000436ba17c7c04d0001000100000032000436954f8ac04d0001000100000032000436ba8a6fc04d0001000100000032000436c8644ec04d0001000100000032000436ba2757",
    ));
    assert_eq!(m.answers.len(), 10);
    let a0 = &m.answers[0];
    assert_eq!((a0.name.as_str(), a0.ttl), ("ios.nccp.netflix.com", 111));
    assert_eq!(a0.data, AnswerData::Cname("ios.nccp.geo.netflix.com".into()));
    assert_eq!(m.answers[1].name, "ios.nccp.geo.netflix.com");
    assert_eq!(m.answers[1].data, AnswerData::Cname("ios.nccp.us-west-2.prodaa.netflix.com".into()));
    assert!(m.answers[2..].iter().all(|a| a.name == "ios.nccp.us-west-2.prodaa.netflix.com"));
    assert_eq!(m.answers[2].data, AnswerData::A(Ipv4Addr::new(54, 191, 17, 51)));
}

#[test]
fn root_name_is_a_dot() {
    // ndpi__dns-google-nsid.pcapng frame 1: NS query for the root with an NSID option.
    let m = found(&hex("9151012000010000000000010000020001000029100000000000001000030000000a0008ebe62a6cefbf86ae"));
    assert_eq!(qnames(&m), [(".", 2)]);
}

#[test]
fn aaaa_answers() {
    // arkime__curl-enabled-tls13.pcap frame 4: enabled.tls13.com, two AAAA records.
    let m = found(&hex(
        "ad218180000100020000000007656e61626c656405746c73313303636f6d00001c0001c00c001c0001000000bc001026064700000000000000000068107d22c00c001c0001000000bc001026064700000000000000000068107e22",
    ));
    assert_eq!(qnames(&m), [("enabled.tls13.com", 28)]);
    assert_eq!(m.answers.len(), 2);
    assert_eq!((m.answers[0].name.as_str(), m.answers[0].ttl), ("enabled.tls13.com", 188));
    assert_eq!(m.answers[0].data, AnswerData::Aaaa("2606:4700::6810:7d22".parse::<Ipv6Addr>().unwrap()));
    assert_eq!(m.answers[1].data, AnswerData::Aaaa("2606:4700::6810:7e22".parse::<Ipv6Addr>().unwrap()));
    // ndpi__dns.pcap frame 1: a response with no answer record.
    let m = found(&hex("dca28180000100000000000003777777016c06676f6f676c6503636f6d00001c0001"));
    assert_eq!(qnames(&m), [("www.l.google.com", 28)]);
    assert!(m.response && m.answers.is_empty() && !m.damaged);
}

#[test]
fn a_name_too_long_does_not_hide_what_follows() {
    // ndpi__malformed_dns.pcap frame 2 (UDP payload, 1,388 bytes, as hex): QDCOUNT 2, ANCOUNT 2.
    // The 2nd question name is a run of labels and pointers over 255 octets (tshark: "<Name too
    // long>"); tshark still reads the A record www.xt.com 66.66.66.66 behind it (the oracle has
    // it). The 2nd answer is a CNAME to an over-long name: dropped.
    let m = found(&hex(include_str!("ndpi_malformed_dns_frame2.hex")));
    assert_eq!((m.id, m.response), (0x84b4, true));
    assert_eq!(qnames(&m), [("www.xt.com", 1)]);
    assert_eq!(m.answers.len(), 1);
    assert_eq!((m.answers[0].name.as_str(), m.answers[0].ttl), ("www.xt.com", 0));
    assert_eq!(m.answers[0].data, AnswerData::A(Ipv4Addr::new(66, 66, 66, 66)));
    assert!(m.damaged);
}

#[test]
fn broken_question_sections_are_malformed() {
    // zeek__dns__dns-invalid-names.pcap frames 1-3: a label running past the end, a pointer to
    // itself (a loop: must return, not spin), a name without its root label.
    for frame in
        ["2222010000010000000000000361", "222301000001000000000000c00c00010001", "22240100000100000000000003616263"]
    {
        assert_eq!(parse_message(&hex(frame)), Outcome::Malformed, "{frame}");
    }
    // Two pointers pointing at each other (offsets 12 and 14).
    assert_eq!(parse_message(&hex("222301000001000000000000c00ec00c00010001")), Outcome::Malformed);
}

#[test]
fn short_payloads_are_not_dns() {
    let f2 = hex(NDPI_DNS_F2);
    assert_eq!(parse_message(&f2[..11]), Outcome::NotThis);
    assert_eq!(parse_message(&[]), Outcome::NotThis);
    // The bare header: no question announced is fine, an announced question missing is not.
    let mut header = f2[..12].to_vec();
    assert_eq!(parse_message(&header), Outcome::Malformed);
    header[5] = 0;
    assert_eq!(found(&header).questions.len(), 0);
}

#[test]
fn damage_keeps_what_parsed_before() {
    // ndpi__dns.pcap frame 5 cut inside the 4th A record: the first 3 are kept.
    let f5 = hex(NDPI_DNS_F5);
    let m = found(&f5[..33 + 16 * 3 + 5]);
    assert_eq!(m.answers.len(), 3);
    assert!(m.damaged);
    // An A record with 5 bytes of data is dropped, the next one is still read.
    let mut bytes = hex("784381800001000200000000026537087768617473617070036e65740000010001");
    bytes.extend(hex("c00c00010001000001eb0005a92ddbeb00"));
    bytes.extend(hex("c00c00010001000001eb0004a92f288e"));
    let m = found(&bytes);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].data, AnswerData::A(Ipv4Addr::new(169, 47, 40, 142)));
    assert!(m.damaged);
}

// sv__dns__dns-tcp-multirequest-buffer...pcap frame 4, first three of its 20 length-prefixed queries.
const TCP_F4_HEAD: &str = "001e000001000001000000000000013006676f6f676c6503636f6d0000010001001e000101000001000000000000013106676f6f676c6503636f6d0000010001001e000201000001000000000000013206676f6f676c6503636f6d0000010001";

#[test]
fn tcp_framing_splits_and_keeps_the_rest() {
    let seg = hex(TCP_F4_HEAD);
    let (msgs, consumed) = split_tcp_messages(&seg);
    assert_eq!((msgs.len(), consumed), (3, seg.len()));
    let names: Vec<String> = msgs.iter().map(|m| found(m).questions[0].name.clone()).collect();
    assert_eq!(names, ["0.google.com", "1.google.com", "2.google.com"]);

    // Cut in the 3rd message: two complete ones, the rest stays for the next segment.
    let cut = &seg[..seg.len() - 7];
    let (msgs, consumed) = split_tcp_messages(cut);
    assert_eq!((msgs.len(), consumed), (2, 64));
    assert_eq!(tcp_message_needed(&cut[consumed..]), 7);
    assert_eq!(tcp_message_needed(&seg[..1]), 1);
    assert_eq!(tcp_message_needed(&seg), 0);

    // Zero-length messages are consumed, never yielded, and do not stall the walk.
    let mut zeros = vec![0u8; 4000];
    zeros.extend(&seg[..32]);
    zeros.push(0);
    let (msgs, consumed) = split_tcp_messages(&zeros);
    assert_eq!((msgs.len(), consumed), (1, 4032));
}

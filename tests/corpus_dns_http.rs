//! Corpus-wide checks of the DNS and HTTP extractors against the tshark oracle of the shared
//! corpus (`expected/<name>.jsonl`), on the simple frames a minimal decoder written here can
//! read: Ethernet (VLAN, PPPoE session), Linux SLL/SLL2, NULL/LOOP and raw IP; unfragmented IPv4
//! and IPv6; UDP port 53 (DNS) and single-segment TCP requests (HTTP). The real decoder lives in
//! `src/decode`; this one only feeds the extractors. Skips when the corpus is absent.
//!
//! Corpus path: env `PIXELWATCH_CORPUS`, else `<CARGO_MANIFEST_DIR>/../shared/corpus`, else
//! `/work/shared/corpus`. Run with `--nocapture` to see the scores and every disagreement.

use std::collections::{BTreeSet, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use pixelwatch::extract::Outcome;
use pixelwatch::extract::dns::{self, parse_message};
use pixelwatch::extract::http;
use pixelwatch::model::AnswerData;

fn corpus_dir() -> Option<PathBuf> {
    let usable = |p: &PathBuf| p.join("pcaps").is_dir() && p.join("expected").is_dir();
    if let Some(dir) = std::env::var_os("PIXELWATCH_CORPUS") {
        return Some(PathBuf::from(dir)).filter(usable);
    }
    [Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"), PathBuf::from("/work/shared/corpus")]
        .into_iter()
        .find(usable)
}

/// The captures of the corpus, sorted, with their oracle file name (`<name>`).
fn captures(corpus: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(corpus.join("pcaps")).into_iter().flatten().flatten() {
        let path = entry.path();
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default().to_owned();
        for ext in [".pcapng", ".pcap", ".cap"] {
            if let Some(name) = file.strip_suffix(ext) {
                out.push((name.to_owned(), path.clone()));
                break;
            }
        }
    }
    out.sort();
    out
}

// ---- a minimal decoder, for this test only ----------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Proto {
    Udp,
    Tcp,
}

/// Unordered flow key as check.py builds it with `--flow`.
type FlowKey = (Proto, (IpAddr, u16), (IpAddr, u16));

fn flow_key(proto: Proto, src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> FlowKey {
    let (a, b) = ((src, sport), (dst, dport));
    if a <= b { (proto, a, b) } else { (proto, b, a) }
}

struct Segment<'a> {
    proto: Proto,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    payload: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The IP packet inside a link-layer frame.
fn link_to_ip(linktype: i32, frame: &[u8]) -> Option<&[u8]> {
    match linktype {
        1 => {
            let mut ethertype = be16(frame, 12)?;
            let mut at = 14;
            while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
                ethertype = be16(frame, at + 2)?;
                at += 4;
            }
            if ethertype == 0x8864 {
                // PPPoE session header (6 bytes), then the PPP protocol field, which may be
                // compressed to one odd byte (RFC 1661 §6.5; sv__bug-4810__pppoe-session-http).
                let first = *frame.get(at + 6)?;
                let ppp = if first & 1 == 1 {
                    at += 7;
                    u16::from(first)
                } else {
                    at += 8;
                    be16(frame, at - 2)?
                };
                ethertype = match ppp {
                    0x0021 => 0x0800,
                    0x0057 => 0x86dd,
                    _ => return None,
                };
            }
            matches!(ethertype, 0x0800 | 0x86dd).then_some(frame.get(at..)?)
        }
        113 => frame.get(16..),
        276 => frame.get(20..),
        0 | 108 => frame.get(4..),
        12 | 14 | 101 | 228 | 229 => Some(frame),
        _ => None,
    }
}

/// UDP or TCP payload of an unfragmented IPv4/IPv6 packet.
fn ip_to_segment(ip: &[u8]) -> Option<Segment<'_>> {
    let (src, dst, mut next, mut l4) = match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(be16(ip, 2)?).min(ip.len());
            if be16(ip, 6)? & 0x3fff != 0 {
                return None; // a fragment
            }
            let s: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            (IpAddr::from(s), IpAddr::from(d), *ip.get(9)?, ip.get(ihl..total)?)
        }
        6 => {
            let total = (40 + usize::from(be16(ip, 4)?)).min(ip.len());
            let s: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            (IpAddr::from(s), IpAddr::from(d), *ip.get(6)?, ip.get(40..total)?)
        }
        _ => return None,
    };
    // IPv6 hop-by-hop, routing and destination options headers; a fragment header stops us.
    while matches!(next, 0 | 43 | 60) {
        let len = (usize::from(*l4.get(1)?) + 1) * 8;
        next = *l4.first()?;
        l4 = l4.get(len..)?;
    }
    let (proto, payload) = match next {
        17 => (Proto::Udp, l4.get(8..usize::from(be16(l4, 4)?).min(l4.len()))?),
        6 => (Proto::Tcp, l4.get(usize::from(l4.get(12)? >> 4) * 4..)?),
        _ => return None,
    };
    Some(Segment { proto, src, dst, sport: be16(l4, 0)?, dport: be16(l4, 2)?, payload })
}

/// Calls `f` for every decodable segment of a capture.
fn for_each_segment(path: &Path, mut f: impl FnMut(&Segment<'_>)) {
    let Ok(mut cap) = pcap::Capture::from_file(path) else {
        return;
    };
    let linktype = cap.get_datalink().0;
    while let Ok(packet) = cap.next_packet() {
        if let Some(seg) = link_to_ip(linktype, packet.data).and_then(ip_to_segment) {
            f(&seg);
        }
    }
}

// ---- oracle -----------------------------------------------------------------------------------

/// A scored item: kind, lower-cased name, answer type, answer value, flow.
type Key = (&'static str, String, &'static str, String, FlowKey);

struct Oracle {
    scored: BTreeSet<Key>,
    /// Optional or unscored items: neither credited nor blamed.
    ignored: HashSet<Key>,
}

fn norm_name(n: &str) -> String {
    let n = n.trim().to_ascii_lowercase();
    match n.strip_suffix('.') {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => n,
    }
}

fn load_oracle(file: &Path, kinds: &[&'static str]) -> Oracle {
    let mut oracle = Oracle { scored: BTreeSet::new(), ignored: HashSet::new() };
    let text = std::fs::read_to_string(file).unwrap_or_default();
    for line in text.lines() {
        let Ok(o) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let s = |k: &str| o.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let Some(&kind) = kinds.iter().find(|k| **k == s("kind")) else {
            continue;
        };
        let proto = match s("transport").as_str() {
            "udp" => Proto::Udp,
            "tcp" => Proto::Tcp,
            _ => continue,
        };
        let (Ok(src), Ok(dst)) = (s("src").parse::<IpAddr>(), s("dst").parse::<IpAddr>()) else {
            continue;
        };
        let port = |k: &str| o.get(k).and_then(|v| v.as_u64()).and_then(|p| u16::try_from(p).ok()).unwrap_or(0);
        let flow = flow_key(proto, src, port("sport"), dst, port("dport"));
        let (ty, val): (&'static str, String) = match s("type").as_str() {
            "A" => ("A", s("addr").parse::<IpAddr>().map(|a| a.to_string()).unwrap_or_default()),
            "AAAA" => ("AAAA", s("addr").parse::<IpAddr>().map(|a| a.to_string()).unwrap_or_default()),
            "CNAME" => ("CNAME", norm_name(&s("cname"))),
            _ => ("", String::new()),
        };
        let key = (kind, norm_name(&s("name")), ty, val, flow);
        let unscored_proto = kind.starts_with("dns") && o.get("proto").and_then(|v| v.as_str()) != Some("dns");
        if o.get("optional").and_then(|v| v.as_bool()) == Some(true) || unscored_proto {
            oracle.ignored.insert(key);
        } else {
            oracle.scored.insert(key);
        }
    }
    oracle
}

#[derive(Default)]
struct Score {
    tp: usize,
    fn_: usize,
    fp: usize,
    /// Reported names with `\` escapes that the oracle does not score: tshark prints such
    /// bytes in octal or as U+FFFD (its items are `optional`), we print RFC 1035 `\DDD`.
    unscorable: usize,
}

impl Score {
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
}

/// Scores `got` against the oracle items of the flows we decoded; prints every disagreement.
fn score(capture: &str, oracle: &Oracle, flows: &HashSet<FlowKey>, got: &BTreeSet<Key>, total: &mut Score) {
    let expected: BTreeSet<&Key> = oracle.scored.iter().filter(|k| flows.contains(&k.4)).collect();
    for k in &expected {
        if got.contains(*k) {
            total.tp += 1;
        } else {
            total.fn_ += 1;
            println!("FN {capture}: {} {} {} {}", k.0, k.1, k.2, k.3);
        }
    }
    for k in got {
        if oracle.scored.contains(k) || oracle.ignored.contains(k) {
            continue;
        }
        if k.1.contains('\\') || k.3.contains('\\') {
            total.unscorable += 1;
        } else {
            total.fp += 1;
            println!("FP {capture}: {} {} {} {}", k.0, k.1, k.2, k.3);
        }
    }
}

// ---- DNS --------------------------------------------------------------------------------------

#[test]
fn dns_over_udp_53_matches_the_oracle() {
    let Some(corpus) = corpus_dir() else {
        eprintln!("corpus not found: skipped");
        return;
    };
    let (mut total, mut messages, mut found, mut malformed, mut damaged) = (Score::default(), 0, 0, 0, 0);
    for (name, path) in captures(&corpus) {
        let oracle = load_oracle(&corpus.join("expected").join(format!("{name}.jsonl")), &["dns_query", "dns_answer"]);
        let mut flows = HashSet::new();
        let mut got = BTreeSet::new();
        for_each_segment(&path, |seg| {
            if seg.proto != Proto::Udp || (seg.sport != 53 && seg.dport != 53) {
                return;
            }
            let flow = flow_key(seg.proto, seg.src, seg.sport, seg.dst, seg.dport);
            flows.insert(flow);
            messages += 1;
            let msg = match parse_message(seg.payload) {
                Outcome::Found(m) => m,
                Outcome::Malformed => {
                    malformed += 1;
                    return;
                }
                _ => return,
            };
            found += 1;
            damaged += usize::from(msg.damaged);
            for q in &msg.questions {
                got.insert(("dns_query", norm_name(&q.name), "", String::new(), flow));
            }
            for a in &msg.answers {
                let (ty, val) = match &a.data {
                    AnswerData::A(ip) => ("A", ip.to_string()),
                    AnswerData::Aaaa(ip) => ("AAAA", ip.to_string()),
                    AnswerData::Cname(n) => ("CNAME", norm_name(n)),
                };
                got.insert(("dns_answer", norm_name(&a.name), ty, val, flow));
            }
        });
        score(&name, &oracle, &flows, &got, &mut total);
    }
    println!(
        "DNS udp/53: {messages} messages, {found} Found ({damaged} damaged), {malformed} Malformed; \
         TP {} FN {} FP {}, {} escaped names not scored; recall {:.4} precision {:.4}",
        total.tp,
        total.fn_,
        total.fp,
        total.unscorable,
        total.recall(),
        total.precision()
    );
    assert!(total.tp > 1000, "too few DNS items scored: {}", total.tp);
    assert!(total.recall() > 0.99 && total.precision() > 0.99);
}

#[test]
fn dns_tcp_framing_on_whole_segments() {
    // Not scored against the oracle (segments may split messages; the flow layer reassembles):
    // checks that every segment of TCP/53 splits without loss of bytes and that complete
    // messages parse.
    let Some(corpus) = corpus_dir() else { return };
    let (mut segments, mut parsed) = (0, 0);
    for (_, path) in captures(&corpus) {
        for_each_segment(&path, |seg| {
            if seg.proto != Proto::Tcp || (seg.sport != 53 && seg.dport != 53) || seg.payload.is_empty() {
                return;
            }
            segments += 1;
            let (msgs, consumed) = dns::split_tcp_messages(seg.payload);
            assert!(consumed <= seg.payload.len());
            if let Some(rest) = seg.payload.get(consumed..).filter(|r| !r.is_empty()) {
                assert!(dns::tcp_message_needed(rest) > 0, "an unconsumed rest must be incomplete");
            }
            parsed += msgs.iter().filter(|m| matches!(parse_message(m), Outcome::Found(_))).count();
        });
    }
    println!("DNS tcp/53: {segments} segments, {parsed} complete messages parsed");
}

// ---- HTTP -------------------------------------------------------------------------------------

#[test]
fn http_hosts_of_single_segment_requests_match_the_oracle() {
    let Some(corpus) = corpus_dir() else {
        eprintln!("corpus not found: skipped");
        return;
    };
    let mut total = Score::default();
    let (mut starts, mut found, mut incomplete, mut malformed, mut no_host) = (0, 0, 0, 0, 0);
    let mut all_hosts = 0;
    for (name, path) in captures(&corpus) {
        let oracle = load_oracle(&corpus.join("expected").join(format!("{name}.jsonl")), &["http_host"]);
        all_hosts += oracle.scored.len();
        let mut flows = HashSet::new();
        let mut got = BTreeSet::new();
        for_each_segment(&path, |seg| {
            if seg.proto != Proto::Tcp || !http::looks_like_request_start(seg.payload) {
                return;
            }
            starts += 1;
            // Every request head in the segment (pipelining), as the stream layer will do.
            let mut rest = seg.payload;
            loop {
                let head = match http::parse_request_head(rest) {
                    Outcome::Found(h) => h,
                    Outcome::Incomplete { .. } => {
                        incomplete += 1;
                        break;
                    }
                    Outcome::Malformed => {
                        malformed += 1;
                        break;
                    }
                    Outcome::NotThis => break,
                };
                found += 1;
                let flow = flow_key(seg.proto, seg.src, seg.sport, seg.dst, seg.dport);
                flows.insert(flow);
                match head.host.and_then(http::host_name) {
                    Some(host) => {
                        got.insert(("http_host", norm_name(&host), "", String::new(), flow));
                    }
                    None => no_host += 1,
                }
                let skip = match head.body {
                    http::BodyLength::None => Some(0),
                    http::BodyLength::ContentLength(n) => usize::try_from(n).ok(),
                    http::BodyLength::Chunked => http::chunked_body_len(&rest[head.head_len..]).found(),
                };
                match skip.and_then(|n| rest.get(head.head_len + n..)) {
                    Some(next) if !next.is_empty() && !head.bad_framing => rest = next,
                    _ => break,
                }
            }
        });
        score(&name, &oracle, &flows, &got, &mut total);
    }
    println!(
        "HTTP: {starts} segments starting with a method; {found} heads Found ({no_host} without Host), \
         {incomplete} Incomplete (head continues in the next segment), {malformed} Malformed; \
         TP {} FN {} FP {}, {} escaped names not scored; recall {:.4} precision {:.4} \
         (on flows with a single-segment head; the oracle has {all_hosts} scored hosts in all)",
        total.tp,
        total.fn_,
        total.fp,
        total.unscorable,
        total.recall(),
        total.precision()
    );
    assert!(total.tp > 200, "too few HTTP hosts scored: {}", total.tp);
    assert!(total.recall() > 0.97 && total.precision() > 0.97);
}

//! Test-only: every capture of the shared corpus through [`parse_client_hello_stream`], SNIs
//! compared with the tshark oracle (`expected/<name>.jsonl`, kind "sni").
//!
//! The packet decoding here is deliberately minimal (the real decoder lives in `crate::decode`):
//! Ethernet (+802.1Q/QinQ, PPPoE, MPLS), Linux SLL/SLL2, NULL/LOOP, raw IP, PPP; IPv4/IPv6 (with
//! extension headers; fragments skipped), IP-in-IP, GRE, VXLAN, Geneve, GTP-U; TCP. Per client direction, the
//! payload is put in sequence order from the first segment that starts with 0x16 0x03, capped at
//! [`MAX_STREAM_PREFIX`](super::MAX_STREAM_PREFIX) bytes. Skips cleanly when there is no corpus.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

use super::testdata::message_of;
use super::{MAX_STREAM_PREFIX, Outcome, oracle, parse_client_hello_stream};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

fn corpus_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("PIXELWATCH_CORPUS").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")),
        Some(PathBuf::from("/work/shared/corpus")),
    ];
    candidates.into_iter().flatten().find(|p| p.join("pcaps").is_dir() && p.join("expected").is_dir())
}

fn be16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

/// One TCP segment: (src, sport, dst, dport, seq, flags, payload).
type Segment<'a> = (IpAddr, u16, IpAddr, u16, u32, u8, &'a [u8]);

fn link(linktype: i32, d: &[u8]) -> Option<Segment<'_>> {
    match linktype {
        1 => ether(d),
        113 => ethertype(be16(d, 14)?, d.get(16..)?),
        276 => ethertype(be16(d, 0)?, d.get(20..)?),
        0 | 108 => ip(d.get(4..)?),
        12 | 14 | 101 | 228 | 229 => ip(d),
        9 => {
            let d = if d.starts_with(&[0xff, 0x03]) { d.get(2..)? } else { d };
            ppp(be16(d, 0)?, d.get(2..)?)
        }
        _ => None,
    }
}

fn ether(d: &[u8]) -> Option<Segment<'_>> {
    ethertype(be16(d, 12)?, d.get(14..)?)
}

fn ethertype(t: u16, d: &[u8]) -> Option<Segment<'_>> {
    match t {
        0x0800 | 0x86dd => ip(d),
        0x8100 | 0x88a8 | 0x9100 => ethertype(be16(d, 2)?, d.get(4..)?),
        0x8864 => ppp(be16(d, 6)?, d.get(8..)?),
        0x8847 => {
            let mut d = d;
            loop {
                let bottom = d.get(2)? & 1 == 1;
                d = d.get(4..)?;
                if bottom {
                    return ip(d);
                }
            }
        }
        _ => None,
    }
}

fn ppp(proto: u16, d: &[u8]) -> Option<Segment<'_>> {
    match proto {
        0x0021 | 0x0057 => ip(d),
        _ => None,
    }
}

fn ip(d: &[u8]) -> Option<Segment<'_>> {
    match d.first()? >> 4 {
        4 => {
            let ihl = usize::from(d.first()? & 0x0f) * 4;
            let total = usize::from(be16(d, 2)?);
            if be16(d, 6)? & 0x3fff != 0 {
                return None; // fragment
            }
            let src = IpAddr::from(<[u8; 4]>::try_from(d.get(12..16)?).ok()?);
            let dst = IpAddr::from(<[u8; 4]>::try_from(d.get(16..20)?).ok()?);
            let payload = d.get(ihl..total.min(d.len()))?;
            transport(*d.get(9)?, src, dst, payload)
        }
        6 => {
            let src = IpAddr::from(<[u8; 16]>::try_from(d.get(8..24)?).ok()?);
            let dst = IpAddr::from(<[u8; 16]>::try_from(d.get(24..40)?).ok()?);
            let end = (40 + usize::from(be16(d, 4)?)).min(d.len());
            let mut next = *d.get(6)?;
            let mut p = d.get(40..end)?;
            loop {
                match next {
                    0 | 43 | 60 => {
                        next = *p.first()?;
                        p = p.get((usize::from(*p.get(1)?) + 1) * 8..)?;
                    }
                    51 => {
                        next = *p.first()?;
                        p = p.get((usize::from(*p.get(1)?) + 2) * 4..)?;
                    }
                    44 => return None,
                    _ => return transport(next, src, dst, p),
                }
            }
        }
        _ => None,
    }
}

fn transport(proto: u8, src: IpAddr, dst: IpAddr, p: &[u8]) -> Option<Segment<'_>> {
    match proto {
        6 => {
            let off = usize::from(p.get(12)? >> 4) * 4;
            let seq = u32::from_be_bytes(p.get(4..8)?.try_into().ok()?);
            Some((src, be16(p, 0)?, dst, be16(p, 2)?, seq, *p.get(13)?, p.get(off..)?))
        }
        4 | 41 => ip(p),
        47 => {
            let flags = be16(p, 0)?;
            let mut hdr = 4;
            for bit in [0x8000u16, 0x2000, 0x1000] {
                if flags & bit != 0 {
                    hdr += 4;
                }
            }
            match be16(p, 2)? {
                0x6558 => ether(p.get(hdr..)?),
                t => ethertype(t, p.get(hdr..)?),
            }
        }
        17 => match be16(p, 2)? {
            4789 => ether(p.get(16..)?), // VXLAN
            6081 => {
                // Geneve: 8-byte header + options, then an EtherType payload.
                let opts = usize::from(p.get(8)? & 0x3f) * 4;
                match be16(p, 10)? {
                    0x6558 => ether(p.get(16 + opts..)?),
                    t => ethertype(t, p.get(16 + opts..)?),
                }
            }
            2152 => {
                // GTP-U G-PDU: 8-byte header, +4 with E/S/PN, then extension headers.
                let g = p.get(8..)?;
                if *g.get(1)? != 0xff {
                    return None;
                }
                let mut off = 8;
                if g.first()? & 0x07 != 0 {
                    let mut next = *g.get(11)?;
                    off = 12;
                    while next != 0 {
                        let len = usize::from(*g.get(off)?) * 4;
                        if len == 0 {
                            return None;
                        }
                        next = *g.get(off + len - 1)?;
                        off += len;
                    }
                }
                ip(g.get(off..)?)
            }
            _ => None,
        },
        _ => None,
    }
}

#[derive(Default)]
struct Conn {
    segments: Vec<(u32, Vec<u8>)>,
    stored: usize,
}

/// The client stream prefix of one direction, from the first segment starting with 0x16 0x03,
/// and the prefix length after each segment (in sequence order).
fn stream_prefix(conn: &Conn) -> Option<(Vec<u8>, Vec<usize>)> {
    let base = conn.segments.iter().find(|(_, p)| p.starts_with(&[0x16, 0x03]))?.0;
    let mut segs: Vec<(u32, &[u8])> = conn
        .segments
        .iter()
        .map(|(seq, p)| (seq.wrapping_sub(base), p.as_slice()))
        .filter(|(off, _)| (*off as usize) < MAX_STREAM_PREFIX)
        .collect();
    segs.sort_by_key(|s| s.0);
    let mut buf = Vec::new();
    let mut ends = Vec::new();
    for (off, p) in segs {
        let off = off as usize;
        if off > buf.len() {
            break; // hole
        }
        if off + p.len() > buf.len() {
            buf.extend_from_slice(&p[buf.len() - off..]);
            ends.push(buf.len().min(MAX_STREAM_PREFIX));
        }
    }
    buf.truncate(MAX_STREAM_PREFIX);
    Some((buf, ends))
}

type FlowName = (String, u16, String, u16, String);

#[derive(Default, Debug)]
struct Tally {
    pcaps: usize,
    unreadable: usize,
    tls_streams: usize,
    found: usize,
    multi_segment_found: usize,
    found_sni: usize,
    incomplete: usize,
    malformed: usize,
    not_this: usize,
    tp: usize,
    fn_: usize,
    fp: usize,
    ech_mismatch: usize,
    oracle_disagree: usize,
}

#[test]
fn corpus_sni_matches_tshark() {
    let Some(dir) = corpus_dir() else {
        eprintln!("corpus not found (set PIXELWATCH_CORPUS): skipped");
        return;
    };
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir.join("pcaps")).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    let mut t = Tally::default();
    let mut misses = Vec::new();
    for path in names {
        let stem = path.file_name().unwrap().to_string_lossy();
        let stem = stem.trim_end_matches(".pcapng").trim_end_matches(".pcap").trim_end_matches(".cap");
        let expected_path = dir.join("expected").join(format!("{stem}.jsonl"));
        // (client, client port, server, server port, lower-cased name) -> ech
        let mut expected: BTreeMap<FlowName, bool> = BTreeMap::new();
        for line in std::fs::read_to_string(&expected_path).unwrap_or_default().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["kind"] == "sni" && v["optional"] != true {
                let name = v["name"].as_str().unwrap().trim_end_matches('.').to_ascii_lowercase();
                let port = |k: &str| v[k].as_u64().unwrap() as u16;
                let key = (
                    v["src"].as_str().unwrap().to_owned(),
                    port("sport"),
                    v["dst"].as_str().unwrap().to_owned(),
                    port("dport"),
                    name,
                );
                *expected.entry(key).or_default() |= v["ech"] == true;
            }
        }
        t.pcaps += 1;
        let Ok(mut cap) = pcap::Capture::from_file(&path) else {
            t.unreadable += 1;
            continue;
        };
        let linktype = cap.get_datalink().0;
        let mut conns: HashMap<(IpAddr, u16, IpAddr, u16), Vec<Conn>> = HashMap::new();
        while let Ok(pkt) = cap.next_packet() {
            let Some((src, sport, dst, dport, seq, flags, payload)) = link(linktype, pkt.data) else {
                continue;
            };
            let list = conns.entry((src, sport, dst, dport)).or_default();
            let syn_only = flags & 0x12 == 0x02;
            if syn_only || list.is_empty() {
                if syn_only && list.last().is_some_and(|c| c.segments.is_empty()) {
                    continue; // retransmitted SYN
                }
                list.push(Conn::default());
            }
            let conn = list.last_mut().unwrap();
            if !payload.is_empty() && conn.stored < 4 * MAX_STREAM_PREFIX {
                conn.stored += payload.len();
                conn.segments.push((seq, payload.to_vec()));
            }
        }
        let mut seen: BTreeMap<FlowName, bool> = BTreeMap::new();
        for (&(src, sport, dst, dport), list) in &conns {
            for conn in list {
                let Some((stream, ends)) = stream_prefix(conn) else {
                    continue;
                };
                t.tls_streams += 1;
                let outcome = parse_client_hello_stream(&stream);
                // As the flow layer will call it: once per segment on the growing prefix. `needed`
                // never asks for more than the stream then holds, and the first non-Incomplete
                // answer is the answer on the whole prefix.
                let mut calls = 0;
                let mut first_answer = None;
                for &end in &ends {
                    calls += 1;
                    match parse_client_hello_stream(&stream[..end]) {
                        Outcome::Incomplete { needed } => {
                            if matches!(outcome, Outcome::Found(_)) {
                                assert!(end + needed <= stream.len(), "{stem}: needed {needed} at {end}");
                            }
                        }
                        o => {
                            first_answer = Some(o);
                            break;
                        }
                    }
                }
                assert_eq!(first_answer.as_ref().unwrap_or(&outcome), &outcome, "{stem}");
                if calls > 1 && matches!(outcome, Outcome::Found(_)) {
                    t.multi_segment_found += 1;
                }
                match outcome {
                    Outcome::Found(h) => {
                        t.found += 1;
                        let msg = message_of(&stream);
                        let theirs = oracle::parse_body(oracle::body_of_message(&msg), h.records, true);
                        if theirs != Outcome::Found(h.clone()) {
                            t.oracle_disagree += 1;
                            misses.push(format!("{stem}: tls-parser differs: {theirs:?} vs {h:?}"));
                        }
                        if let Some(sni) = h.sni {
                            t.found_sni += 1;
                            let key = (src.to_string(), sport, dst.to_string(), dport, sni.to_ascii_lowercase());
                            *seen.entry(key).or_default() |= h.ech;
                        }
                    }
                    Outcome::Incomplete { needed } => {
                        t.incomplete += 1;
                        misses.push(format!("{stem}: Incomplete {{ needed: {needed} }} after {} B", stream.len()));
                    }
                    Outcome::Malformed => {
                        t.malformed += 1;
                        misses.push(format!(
                            "{stem}: Malformed ({} B: {:02x?})",
                            stream.len(),
                            &stream[..stream.len().min(12)]
                        ));
                    }
                    Outcome::NotThis => t.not_this += 1,
                }
            }
        }
        let exp: BTreeSet<&FlowName> = expected.keys().collect();
        let got: BTreeSet<&FlowName> = seen.keys().collect();
        t.tp += exp.intersection(&got).count();
        for name in exp.difference(&got) {
            t.fn_ += 1;
            misses.push(format!("{stem}: FN {name:?}"));
        }
        for name in got.difference(&exp) {
            t.fp += 1;
            misses.push(format!("{stem}: FP {name:?}"));
        }
        for (name, ech) in &seen {
            if expected.get(name).is_some_and(|e| e != ech) {
                t.ech_mismatch += 1;
                misses.push(format!("{stem}: ech flag differs for {name:?}"));
            }
        }
    }
    let recall = t.tp as f64 / (t.tp + t.fn_).max(1) as f64;
    let precision = t.tp as f64 / (t.tp + t.fp).max(1) as f64;
    for m in &misses {
        eprintln!("{m}");
    }
    eprintln!("{t:?}\nSNI recall {recall:.4} precision {precision:.4}");
    assert_eq!(t.oracle_disagree, 0);
    assert_eq!(t.ech_mismatch, 0);
    assert!(recall >= 0.95 && precision >= 0.99, "recall {recall:.4} precision {precision:.4}");
}

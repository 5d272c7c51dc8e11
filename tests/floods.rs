//! CI-sized floods (the full-sized ones are `benches/floods.sh`): 50,000 flood packets of each
//! kind written to a pcap by plain code here (deterministic seed), with real tracker contacts
//! interleaved, replayed by the real binary. Each must still report every real contact, move
//! the eviction counter of the table it fills, and keep the metric series within their caps.
//! No timing assertions.

mod common;

use std::net::IpAddr;

use common::run;
use pixelwatch::extract::quic::KeyMaterial;
use pixelwatch::extract::quic::version::{VERSION_1, version_params};
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, quic};

const FLOOD: usize = 50_000;
const CONTACTS: usize = 4;
/// Flood packets between two packets of a real contact.
const GAP: usize = 20;
/// Capture time between two packets: 50,000 packets span 100 s, past every idle timeout.
const STEP_US: u64 = 2_000;
/// Fixed series (counters of every enum value) plus what the real contacts add; the tracker
/// label sets are capped by `--max-tracker-series`.
const SERIES_CAP: usize = 80;

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        for chunk in b.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes()[..chunk.len()]);
        }
        b
    }
    fn v4(&mut self, first: u8) -> IpAddr {
        let [_, b, c, d] = (self.next() as u32).to_be_bytes();
        IpAddr::from([first, b, c, d])
    }
    fn v6(&mut self) -> IpAddr {
        let mut a = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        a[8..].copy_from_slice(&self.next().to_be_bytes());
        IpAddr::from(a)
    }
    fn coin(&mut self) -> bool {
        self.next() >> 63 == 0
    }
    fn port(&mut self) -> u16 {
        1024 + (self.next() % 64_000) as u16
    }
}

/// A classic pcap of Ethernet frames, in memory.
struct Pcap {
    bytes: Vec<u8>,
    us: u64,
}

impl Pcap {
    fn new() -> Pcap {
        let mut bytes = Vec::new();
        for x in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 262_144, 1] {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        Pcap { bytes, us: 1_764_000_000_000_000 }
    }

    fn frame(&mut self, frame: &[u8]) {
        self.us += STEP_US;
        let len = frame.len() as u32;
        for x in [(self.us / 1_000_000) as u32, (self.us % 1_000_000) as u32, len, len] {
            self.bytes.extend_from_slice(&x.to_le_bytes());
        }
        self.bytes.extend_from_slice(frame);
    }

    /// IPv4 (with `frag`: identification, flags and offset) or IPv6 (with `frag`: a Fragment
    /// header with offset 0, More Fragments set and that identification).
    fn ip(&mut self, src: IpAddr, dst: IpAddr, proto: u8, l4: &[u8], frag: Option<u32>) {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                f.extend([0x08, 0x00, 0x45, 0]);
                f.extend(((20 + l4.len()) as u16).to_be_bytes());
                let (id, flags) = frag.map_or((0, 0x4000u16), |id| (id as u16, 0x2000));
                f.extend(id.to_be_bytes());
                f.extend(flags.to_be_bytes());
                f.extend([64, proto, 0, 0]);
                f.extend(s.octets());
                f.extend(d.octets());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                f.extend([0x86, 0xdd, 0x60, 0, 0, 0]);
                let ext = if frag.is_some() { 8 } else { 0 };
                f.extend(((ext + l4.len()) as u16).to_be_bytes());
                f.extend([if frag.is_some() { 44 } else { proto }, 64]);
                f.extend(s.octets());
                f.extend(d.octets());
                if let Some(id) = frag {
                    f.extend([proto, 0, 0, 1]);
                    f.extend(id.to_be_bytes());
                }
            }
            _ => unreachable!("one family per packet"),
        }
        f.extend_from_slice(l4);
        self.frame(&f);
    }

    fn udp(&mut self, src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) {
        let mut l4 = Vec::with_capacity(8 + payload.len());
        for x in [sport, dport, (8 + payload.len()) as u16, 0] {
            l4.extend(x.to_be_bytes());
        }
        l4.extend_from_slice(payload);
        self.ip(src, dst, 17, &l4, None);
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp(&mut self, src: IpAddr, dst: IpAddr, sport: u16, dport: u16, seq: u32, flags: u8, payload: &[u8]) {
        let mut l4 = Vec::with_capacity(20 + payload.len());
        l4.extend(sport.to_be_bytes());
        l4.extend(dport.to_be_bytes());
        l4.extend(seq.to_be_bytes());
        l4.extend(1u32.to_be_bytes());
        l4.extend([0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        l4.extend_from_slice(payload);
        self.ip(src, dst, 6, &l4, None);
    }
}

fn name_bytes(name: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for label in name.split('.') {
        v.push(label.len() as u8);
        v.extend(label.as_bytes());
    }
    v.push(0);
    v
}

/// A DNS query, or its answer with one A record (RFC 1035 §4.1).
fn dns(id: u16, name: &str, answer: Option<([u8; 4], u32)>) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend(if answer.is_some() { [0x81, 0x80, 0, 1, 0, 1] } else { [0x01, 0x00, 0, 1, 0, 0] });
    m.extend([0, 0, 0, 0]);
    m.extend(name_bytes(name));
    m.extend([0, 1, 0, 1]);
    if let Some((addr, ttl)) = answer {
        m.extend([0xc0, 0x0c, 0, 1, 0, 1]);
        m.extend(ttl.to_be_bytes());
        m.extend([0, 4]);
        m.extend(addr);
    }
    m
}

/// A TLS 1.3 ClientHello handshake message with `sni` (RFC 8446 §4.1.2, RFC 6066 §3), padded
/// with a padding extension (RFC 7685) to about `size` bytes.
fn client_hello(sni: &str, size: usize) -> Vec<u8> {
    let ext = |kind: u16, body: &[u8]| {
        let mut e = kind.to_be_bytes().to_vec();
        e.extend((body.len() as u16).to_be_bytes());
        e.extend_from_slice(body);
        e
    };
    let mut server_name = ((sni.len() + 3) as u16).to_be_bytes().to_vec();
    server_name.push(0);
    server_name.extend((sni.len() as u16).to_be_bytes());
    server_name.extend(sni.as_bytes());
    let mut exts = ext(0, &server_name);
    exts.extend(ext(0x2b, &[2, 3, 4]));
    exts.extend(ext(0x15, &vec![0; size.saturating_sub(100)]));
    let mut body = vec![3, 3];
    body.extend([7; 32]);
    body.extend([0, 0, 2, 0x13, 0x01, 1, 0]);
    body.extend((exts.len() as u16).to_be_bytes());
    body.extend(exts);
    let mut m = vec![1];
    m.extend(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend(body);
    m
}

fn tls_record(hello: &[u8]) -> Vec<u8> {
    let mut r = vec![0x16, 3, 1];
    r.extend((hello.len() as u16).to_be_bytes());
    r.extend_from_slice(hello);
    r
}

/// A protected QUIC v1 client Initial (RFC 9001 §5) with one CRYPTO frame at offset 0,
/// padded to 1200 bytes.
fn quic_initial(dcid: &[u8; 8], crypto: &[u8]) -> Vec<u8> {
    let m = KeyMaterial::client(version_params(VERSION_1).unwrap(), dcid).unwrap();
    let mut header = vec![0xc1, 0, 0, 0, 1, 8];
    header.extend(dcid);
    header.extend([8, 1, 2, 3, 4, 5, 6, 7, 8, 0]);
    let mut payload = vec![0x06, 0];
    payload.extend(((crypto.len() as u16) | 0x4000).to_be_bytes());
    payload.extend_from_slice(crypto);
    payload.resize(payload.len().max(1200 - header.len() - 20), 0);
    header.extend((((2 + payload.len() + 16) as u16) | 0x4000).to_be_bytes());
    let pn_offset = header.len();
    header.extend([0, 0]);
    let key = LessSafeKey::new(UnboundKey::new(&aead::AES_128_GCM, &m.key).unwrap());
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(m.iv), Aad::from(&header[..]), &mut payload).unwrap();
    let mut packet = header;
    packet.extend(payload);
    let hp = quic::HeaderProtectionKey::new(&quic::AES_128, &m.hp).unwrap();
    let mask = hp.new_mask(&packet[pn_offset + 4..pn_offset + 20]).unwrap();
    packet[0] ^= mask[0] & 0x0f;
    packet[pn_offset] ^= mask[1];
    packet[pn_offset + 1] ^= mask[2];
    packet
}

const CLIENT: [u8; 4] = [192, 168, 77, 10];
const RESOLVER: [u8; 4] = [192, 168, 77, 1];
const GA: [u8; 4] = [142, 250, 75, 14];

/// One packet to write.
type Step = Box<dyn FnOnce(&mut Pcap)>;

/// The packets of real contact `i`: a DNS lookup and a TLS connection to
/// www.google-analytics.com, a QUIC connection to stats.g.doubleclick.net, an HTTP request
/// to pixel.mailtrack.io.
fn real_contact(i: usize) -> Vec<Step> {
    let (c, r, ga) = (IpAddr::from(CLIENT), IpAddr::from(RESOLVER), IpAddr::from(GA));
    let dc = IpAddr::from([142, 250, 75, 15]);
    let mt = IpAddr::from([52, 18, 22, 33]);
    let sp = 50_000 + 3 * i as u16;
    let hello = tls_record(&client_hello("www.google-analytics.com", 600));
    let quic = quic_initial(&[i as u8; 8], &client_hello("stats.g.doubleclick.net", 400));
    let get = format!("GET /o.gif?u={i} HTTP/1.1\r\nHost: pixel.mailtrack.io\r\nAccept: image/*\r\n\r\n");
    vec![
        Box::new(move |w| w.udp(c, r, sp, 53, &dns(i as u16, "www.google-analytics.com", None))),
        Box::new(move |w| w.udp(r, c, 53, sp, &dns(i as u16, "www.google-analytics.com", Some((GA, 300))))),
        Box::new(move |w| w.tcp(c, ga, sp, 443, 1000, 0x02, &[])),
        Box::new(move |w| w.tcp(c, ga, sp, 443, 1001, 0x18, &hello)),
        Box::new(move |w| w.udp(c, dc, sp + 1, 443, &quic)),
        Box::new(move |w| w.tcp(c, mt, sp + 2, 80, 5000, 0x02, &[])),
        Box::new(move |w| w.tcp(c, mt, sp + 2, 80, 5001, 0x18, get.as_bytes())),
    ]
}

/// One flood packet (or two, for DNS: a query and its answer).
fn flood_packet(kind: &str, rng: &mut Rng, w: &mut Pcap, partial_hello: &[u8], partial_quic: &[u8]) {
    match kind {
        "syn" => {
            let (c, s, sp, seq) = (rng.v4(10), rng.v4(100), rng.port(), rng.next() as u32);
            w.tcp(c, s, sp, 443, seq, 0x02, &[]);
            if rng.coin() {
                w.tcp(c, s, sp, 443, seq.wrapping_add(1), 0x18, partial_hello);
            }
        }
        "quic" => {
            let (c, s) = if rng.coin() { (rng.v4(10), rng.v4(100)) } else { (rng.v6(), rng.v6()) };
            let dcid = rng.bytes::<8>();
            if rng.coin() {
                w.udp(c, s, rng.port(), 443, &quic_initial(&dcid, partial_quic));
            } else {
                let mut p = vec![0xc1, 0, 0, 0, 1, 8];
                p.extend(dcid);
                p.extend([0; 10]);
                p.extend([0x44, 0xa0]);
                p.resize(1200, 0x5a);
                w.udp(c, s, rng.port(), 443, &p);
            }
        }
        "dns" => {
            let name = format!("{:016x}.{:06x}.com", rng.next(), rng.next() % 0xff_ffff);
            let c = IpAddr::from([10, 1, 0, (rng.next() % 256) as u8]);
            let (sp, id) = (rng.port(), rng.next() as u16);
            w.udp(c, IpAddr::from(RESOLVER), sp, 53, &dns(id, &name, None));
            // TTLs of a few minutes, as most are: entries expire within the capture's 200 s.
            let answer = Some((rng.bytes::<4>(), (rng.next() % 300) as u32));
            w.udp(IpAddr::from(RESOLVER), c, 53, sp, &dns(id, &name, answer));
        }
        "frag" => {
            let mut udp = rng.port().to_be_bytes().to_vec();
            udp.extend([1, 187, 0x0a, 0xf8, 0, 0]); // to 443, 2808 bytes in all
            udp.resize(1408, 0x33);
            let (s, d) = if rng.coin() { (rng.v4(10), rng.v4(100)) } else { (rng.v6(), rng.v6()) };
            w.ip(s, d, 17, &udp, Some(rng.next() as u32));
        }
        _ => unreachable!(),
    }
}

fn flood(kind: &str) -> Vec<u8> {
    let mut rng = Rng(0x5eed_0000_0000_0001 ^ kind.len() as u64 ^ (kind.as_bytes()[0] as u64) << 32);
    let mut w = Pcap::new();
    let mut hello = client_hello("flood.example", 16_000);
    hello.truncate(1400);
    let partial_hello = tls_record(&hello)[..1400].to_vec();
    let partial_quic = client_hello("flood.example", 3000)[..1000].to_vec();
    let mut pending = std::collections::VecDeque::new();
    let every = FLOOD / (CONTACTS + 1);
    for n in 0..FLOOD {
        if n > 0 && n % every == 0 && n / every <= CONTACTS {
            pending.extend(real_contact(n / every));
        }
        if n % GAP == 0
            && let Some(p) = pending.pop_front()
        {
            p(&mut w);
        }
        flood_packet(kind, &mut rng, &mut w, &partial_hello, &partial_quic);
    }
    for p in pending {
        p(&mut w);
    }
    w.bytes
}

/// Replays the flood; returns (summary, metrics text).
fn replay(kind: &str) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join(format!("{kind}.pcap"));
    let prom = dir.path().join(format!("{kind}.prom"));
    std::fs::write(&pcap, flood(kind)).unwrap();
    let (code, out, err) =
        run(&["replay", "--summary", "json", "--metrics-out", prom.to_str().unwrap(), pcap.to_str().unwrap()]);
    assert_eq!(code, 0, "{kind}: {err}");
    (serde_json::from_str(&out).unwrap(), std::fs::read_to_string(prom).unwrap())
}

fn value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{metrics}"))
}

fn check(kind: &str, evictions: &[String]) {
    let (summary, metrics) = replay(kind);
    let contacts = |tracker: &str, via: &str| {
        summary["tracker_contacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tracker"] == tracker)
            .and_then(|t| t["via"][via].as_u64())
            .unwrap_or(0)
    };
    assert!(contacts("google-analytics.com", "dns") >= 1, "{kind}: {summary}");
    for (tracker, via) in
        [("google-analytics.com", "tls"), ("stats.g.doubleclick.net", "quic"), ("mailtrack.io", "http")]
    {
        assert_eq!(contacts(tracker, via), CONTACTS as u64, "{kind}: {tracker} via {via}: {summary}");
    }
    let moved: f64 = evictions.iter().map(|s| value(&metrics, s)).sum();
    assert!(moved > 0.0, "{kind}: none of {evictions:?} moved:\n{metrics}");
    let series = metrics.lines().filter(|l| !l.starts_with('#')).count();
    assert!(series <= SERIES_CAP, "{kind}: {series} series:\n{metrics}");
    eprintln!("{kind}: {} packets, {series} series, evictions {moved}", summary["packets"]);
}

fn evictions(family: &str) -> [String; 2] {
    ["timeout", "capacity"].map(|r| format!("pixelwatch_{family}_evictions_total{{reason=\"{r}\"}}"))
}

#[test]
fn syn_flood_is_bounded_and_real_contacts_are_reported() {
    check("syn", &evictions("flow"));
}

#[test]
fn quic_flood_is_bounded_and_real_contacts_are_reported() {
    check("quic", &evictions("quic"));
}

#[test]
fn dns_flood_is_bounded_and_real_contacts_are_reported() {
    check("dns", &evictions("name_cache"));
}

#[test]
fn fragment_storm_is_bounded_and_real_contacts_are_reported() {
    check("frag", &evictions("fragment"));
}

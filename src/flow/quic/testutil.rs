//! Test-only helpers: UDP datagrams read from pcap files with a minimal link/IP/UDP decoder (the
//! real decoder is `crate::decode`), the corpus location, and an Initial packet *protector*
//! (RFC 9001 §5) to build synthetic client Initials.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, quic};

use crate::extract::quic::{KeyMaterial, VERSION_2, version_params};
use crate::model::Ts;

/// One UDP datagram of a capture.
#[derive(Debug, Clone)]
pub struct Udp {
    pub frame: usize,
    pub ts: Ts,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub payload: Vec<u8>,
}

/// The shared corpus: `$PIXELWATCH_CORPUS`, `<repo>/../shared/corpus`, `/work/shared/corpus`.
pub fn corpus() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("PIXELWATCH_CORPUS").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")),
        Some(PathBuf::from("/work/shared/corpus")),
    ];
    candidates.into_iter().flatten().find(|p| p.join("pcaps").is_dir())
}

/// A capture of the corpus by name without extension, if the corpus is present.
pub fn corpus_pcap(name: &str) -> Option<PathBuf> {
    let dir = corpus()?.join("pcaps");
    ["pcap", "pcapng", "cap"].iter().map(|ext| dir.join(format!("{name}.{ext}"))).find(|p| p.is_file())
}

/// Every UDP datagram of a capture (Ethernet/802.1Q, Linux SLL/SLL2, raw IP, NULL, PPP;
/// IPv4 unfragmented, IPv6 with hop-by-hop/routing/destination options headers).
pub fn udp_datagrams(path: &Path) -> Vec<Udp> {
    let mut cap = pcap::Capture::from_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let linktype = cap.get_datalink().0;
    let mut out = Vec::new();
    let mut frame = 0;
    while let Ok(p) = cap.next_packet() {
        frame += 1;
        #[allow(clippy::unnecessary_cast)] // time_t / suseconds_t differ by platform
        let ts = Ts::from_secs_micros(p.header.ts.tv_sec as i64, p.header.ts.tv_usec as i64);
        if let Some(mut u) = link(linktype, p.data) {
            u.frame = frame;
            u.ts = ts;
            out.push(u);
        }
    }
    out
}

fn link(linktype: i32, d: &[u8]) -> Option<Udp> {
    match linktype {
        1 => ether(d.get(12..)?),
        113 => {
            let proto = u16::from_be_bytes([*d.get(14)?, *d.get(15)?]);
            ip_by_ethertype(proto, d.get(16..)?)
        }
        276 => ip_by_ethertype(u16::from_be_bytes([d[0], d[1]]), d.get(20..)?),
        12 | 14 | 101 | 228 | 229 => ip(d),
        0 => ip(d.get(4..)?),
        9 | 50 => {
            let d = if d.starts_with(&[0xff, 0x03]) { &d[2..] } else { d };
            match u16::from_be_bytes([*d.first()?, *d.get(1)?]) {
                0x0021 | 0x0057 => ip(d.get(2..)?),
                _ => None,
            }
        }
        _ => None,
    }
}

/// From the EtherType field on.
fn ether(d: &[u8]) -> Option<Udp> {
    let proto = u16::from_be_bytes([*d.first()?, *d.get(1)?]);
    match proto {
        0x8100 | 0x88a8 => ether(d.get(4..)?),
        _ => ip_by_ethertype(proto, d.get(2..)?),
    }
}

fn ip_by_ethertype(proto: u16, d: &[u8]) -> Option<Udp> {
    match proto {
        0x0800 | 0x86dd => ip(d),
        _ => None,
    }
}

fn ip(d: &[u8]) -> Option<Udp> {
    match d.first()? >> 4 {
        4 => {
            let ihl = usize::from(d[0] & 0x0f) * 4;
            let frag = u16::from_be_bytes([*d.get(6)?, *d.get(7)?]);
            if *d.get(9)? != 17 || frag & 0x3fff != 0 {
                return None;
            }
            let total = usize::from(u16::from_be_bytes([d[2], d[3]])).min(d.len());
            let src = IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(d.get(12..16)?).ok()?));
            let dst = IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(d.get(16..20)?).ok()?));
            udp(src, dst, d.get(ihl..total)?)
        }
        6 => {
            let src = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(d.get(8..24)?).ok()?));
            let dst = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(d.get(24..40)?).ok()?));
            let mut next = *d.get(6)?;
            let mut rest = d.get(40..)?;
            while matches!(next, 0 | 43 | 60) {
                next = *rest.first()?;
                let len = (usize::from(*rest.get(1)?) + 1) * 8;
                rest = rest.get(len..)?;
            }
            (next == 17).then_some(())?;
            udp(src, dst, rest)
        }
        _ => None,
    }
}

fn udp(src: IpAddr, dst: IpAddr, d: &[u8]) -> Option<Udp> {
    let sport = u16::from_be_bytes([*d.first()?, *d.get(1)?]);
    let dport = u16::from_be_bytes([*d.get(2)?, *d.get(3)?]);
    let len = usize::from(u16::from_be_bytes([*d.get(4)?, *d.get(5)?])).clamp(8, d.len());
    Some(Udp { frame: 0, ts: Ts(0), src, dst, sport, dport, payload: d.get(8..len)?.to_vec() })
}

/// Varint encoding (RFC 9000 §16).
pub fn varint(v: u64) -> Vec<u8> {
    match v {
        0..0x40 => vec![v as u8],
        0x40..0x4000 => ((v as u16) | 0x4000).to_be_bytes().to_vec(),
        0x4000..0x4000_0000 => ((v as u32) | 0x8000_0000).to_be_bytes().to_vec(),
        _ => (v | 0xc000_0000_0000_0000).to_be_bytes().to_vec(),
    }
}

/// A CRYPTO frame (RFC 9000 §19.6).
pub fn crypto_frame(offset: u64, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    f.extend(varint(offset));
    f.extend(varint(data.len() as u64));
    f.extend(data);
    f
}

/// A protected client Initial (RFC 9001 §5.3–5.4) of `version`, with `dcid` in its header and
/// keys derived from `key_cid`; the payload is padded with PADDING frames to `min_len` bytes of
/// datagram. 4-byte packet number.
pub fn protect_initial(
    version: u32,
    key_cid: &[u8],
    dcid: &[u8],
    scid: &[u8],
    pn: u32,
    frames: &[u8],
    min_len: usize,
) -> Vec<u8> {
    let params = version_params(version).unwrap();
    let m = KeyMaterial::client(params, key_cid).unwrap();
    let type_bits = if version == VERSION_2 { 0x10 } else { 0x00 };
    let mut header = vec![0xc3 | type_bits];
    header.extend(version.to_be_bytes());
    header.push(dcid.len() as u8);
    header.extend(dcid);
    header.push(scid.len() as u8);
    header.extend(scid);
    header.push(0); // no token
    let base = header.len() + 2 + 4 + 16;
    let mut payload = frames.to_vec();
    if base + payload.len() < min_len {
        payload.resize(min_len - base, 0);
    }
    let length = 4 + payload.len() + 16;
    assert!(length < 0x4000);
    header.extend(((length as u16) | 0x4000).to_be_bytes());
    let pn_offset = header.len();
    header.extend(pn.to_be_bytes());
    let mut nonce = m.iv;
    for (n, p) in nonce.iter_mut().skip(4).zip(u64::from(pn).to_be_bytes()) {
        *n ^= p;
    }
    let key = LessSafeKey::new(UnboundKey::new(&aead::AES_128_GCM, &m.key).unwrap());
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(&header[..]), &mut payload).unwrap();
    let mut packet = header;
    packet.extend(payload);
    let hp = quic::HeaderProtectionKey::new(&quic::AES_128, &m.hp).unwrap();
    let mask = hp.new_mask(&packet[pn_offset + 4..pn_offset + 20]).unwrap();
    packet[0] ^= mask[0] & 0x0f;
    for i in 0..4 {
        packet[pn_offset + i] ^= mask[1 + i];
    }
    packet
}

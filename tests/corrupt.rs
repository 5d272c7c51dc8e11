//! Corrupt capture files, written byte by byte: each gives a clear error naming the file (and
//! the packet) with exit status 1, or is read with the bad frames counted as drops. Never a
//! panic (exit status 101).

mod common;

use common::run;

const ETH_IPV4_UDP: [u8; 42] = [
    0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00, // Ethernet II, IPv4
    0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // IPv4, UDP
    0x03, 0xe8, 0x07, 0xd0, 0, 8, 0, 0, // UDP 1000 → 2000, no payload
];

fn global_header(magic: u32, snaplen: u32) -> Vec<u8> {
    let mut v = magic.to_le_bytes().to_vec();
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&snaplen.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    v
}

/// A pcap record: header (caplen, original length) then `data`.
fn record(data: &[u8], caplen: u32, orig: u32) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [1u32, 0, caplen, orig] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.extend_from_slice(data);
    v
}

fn frame(data: &[u8]) -> Vec<u8> {
    record(data, data.len() as u32, data.len() as u32)
}

/// A pcapng block: type, total length, body, total length (RFC draft-ietf-opsawg-pcapng §3.1).
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let len = (12 + body.len()) as u32;
    let mut v = kind.to_le_bytes().to_vec();
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(body);
    v.extend_from_slice(&len.to_le_bytes());
    v
}

fn pcapng(blocks_after_first_packet: &[Vec<u8>]) -> Vec<u8> {
    let mut shb = 0x1A2B_3C4Du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    let mut idb = vec![1, 0, 0, 0];
    idb.extend_from_slice(&65_535u32.to_le_bytes());
    let mut v = block(0x0A0D_0D0A, &shb);
    v.extend(block(1, &idb));
    v.extend(epb());
    for b in blocks_after_first_packet {
        v.extend_from_slice(b);
    }
    v
}

/// An Enhanced Packet Block with the test frame.
fn epb() -> Vec<u8> {
    let mut body = Vec::new();
    for x in [0u32, 0, 1, 42, 42] {
        body.extend_from_slice(&x.to_le_bytes());
    }
    body.extend_from_slice(&ETH_IPV4_UDP);
    body.extend_from_slice(&[0, 0]); // padding to 32 bits
    block(6, &body)
}

/// Replays `bytes` written to a file named `name`; returns (exit status, summary, stderr).
fn replay(name: &str, bytes: &[u8]) -> (i32, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let (code, out, err) = run(&["replay", "--summary", "json", path.to_str().unwrap()]);
    assert!(!err.contains("panicked") && code != 101, "{name}: exit {code}: {err}");
    let summary = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
    (code, summary, err)
}

fn assert_error(name: &str, bytes: &[u8], packet: Option<u64>, words: &[&str]) {
    let (code, summary, err) = replay(name, bytes);
    assert_eq!(code, 1, "{name}: {err}");
    assert!(err.contains(name), "the error names the file: {err}");
    if let Some(n) = packet {
        assert!(err.contains(&format!("packet {n}")), "the error names packet {n}: {err}");
        assert_eq!(summary["packets"].as_u64(), Some(n - 1), "the packets before it were counted");
    }
    for w in words {
        assert!(err.contains(w), "{name}: {w:?} not in {err}");
    }
}

#[test]
fn bad_magic_is_an_error_naming_the_file() {
    let mut bytes = global_header(0xdead_beef, 65_535);
    bytes.extend(frame(&ETH_IPV4_UDP));
    assert_error("badmagic.pcap", &bytes, None, &["unknown file format"]);
}

#[test]
fn truncated_global_header_is_an_error() {
    assert_error("short.pcap", &global_header(0xA1B2_C3D4, 65_535)[..14], None, &["file header"]);
}

#[test]
fn truncated_record_header_names_the_packet() {
    let mut bytes = global_header(0xA1B2_C3D4, 65_535);
    bytes.extend(frame(&ETH_IPV4_UDP));
    bytes.extend(&frame(&ETH_IPV4_UDP)[..9]);
    assert_error("cut-header.pcap", &bytes, Some(2), &["header bytes"]);
}

#[test]
fn truncated_record_data_names_the_packet() {
    let mut bytes = global_header(0xA1B2_C3D4, 65_535);
    bytes.extend(frame(&ETH_IPV4_UDP));
    bytes.extend(frame(&ETH_IPV4_UDP));
    bytes.truncate(bytes.len() - 10);
    assert_error("cut-data.pcap", &bytes, Some(2), &["truncated"]);
}

#[test]
fn caplen_over_the_snaplen_is_read_as_libpcap_does() {
    // libpcap accepts a record longer than the file's snaplen up to its own maximum (262,144
    // bytes), as tcpdump and tshark do: the frame is decoded.
    let mut bytes = global_header(0xA1B2_C3D4, 1500);
    let mut long = ETH_IPV4_UDP.to_vec();
    long.resize(3000, 0);
    for f in [&ETH_IPV4_UDP[..], &long, &ETH_IPV4_UDP] {
        bytes.extend(frame(f));
    }
    let (code, summary, err) = replay("over-snaplen.pcap", &bytes);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary["packets"], 3);
}

#[test]
fn caplen_over_libpcaps_maximum_names_the_packet() {
    let mut bytes = global_header(0xA1B2_C3D4, 262_144);
    bytes.extend(frame(&ETH_IPV4_UDP));
    let mut huge = ETH_IPV4_UDP.to_vec();
    huge.resize(262_144 + 100, 0);
    bytes.extend(frame(&huge));
    assert_error("huge-frame.pcap", &bytes, Some(2), &["262244"]);
}

#[test]
fn zero_length_frames_are_counted_drops() {
    let mut bytes = global_header(0xA1B2_C3D4, 65_535);
    bytes.extend(frame(&ETH_IPV4_UDP));
    bytes.extend(record(&[], 0, 60));
    bytes.extend(record(&[], 0, 0));
    bytes.extend(frame(&ETH_IPV4_UDP));
    let (code, summary, err) = replay("zero.pcap", &bytes);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary["packets"], 4);
    assert_eq!(summary["decode_errors"]["link"], 2, "{summary}");
}

#[test]
fn a_256_kib_frame_is_read() {
    let mut bytes = global_header(0xA1B2_C3D4, 262_144);
    let mut big = ETH_IPV4_UDP.to_vec();
    big.resize(256 * 1024, 0xab);
    for f in [&ETH_IPV4_UDP[..], &big, &ETH_IPV4_UDP] {
        bytes.extend(frame(f));
    }
    let (code, summary, err) = replay("big-frame.pcap", &bytes);
    assert_eq!(code, 0, "{err}");
    assert_eq!(summary["packets"], 3);
    assert_eq!(summary["bytes"], 2 * 42 + 256 * 1024);
}

#[test]
fn pcapng_bad_block_lengths_name_the_packet() {
    let mut odd = epb();
    odd[4..8].copy_from_slice(&13u32.to_le_bytes());
    assert_error("odd-length.pcapng", &pcapng(&[odd, epb()]), Some(2), &["multiple of 4"]);

    let mut huge = epb();
    huge[4..8].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    assert_error("huge-block.pcapng", &pcapng(&[huge, epb()]), Some(2), &["block size"]);

    let mut trailer = epb();
    let n = trailer.len();
    trailer[n - 4..].copy_from_slice(&999u32.to_le_bytes());
    assert_error("trailer.pcapng", &pcapng(&[trailer, epb()]), Some(2), &["don't match"]);

    let (code, summary, err) = replay("good.pcapng", &pcapng(&[epb()]));
    assert_eq!((code, summary["packets"].as_u64()), (0, Some(2)), "{err}");
}

//! Crafted frames for what the corpus has no sample of: LOOP and big-endian NULL headers,
//! raw IPv6, MPLS with a pseudowire control word, 4 VLAN tags, PPP framing variants, GRE
//! options, ERSPAN III, GTP-U extension headers, Teredo origin indication, IPv6 extension
//! headers, nesting limits. Headers are built field by field from the cited RFC layouts.

use std::net::Ipv6Addr;

use super::decode_once;
use crate::decode::linktype::*;
use crate::decode::{Decoded, Decoder};
use crate::model::Ts;

const SRC4: [u8; 4] = [192, 0, 2, 1];
const DST4: [u8; 4] = [198, 51, 100, 7];
const SRC6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const DST6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

/// IPv4 header (RFC 791 §3.1) without options; `frag` = flags and fragment offset word.
pub(super) fn ipv4(proto: u8, id: u16, frag: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&(20 + payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0]);
    p.extend_from_slice(&SRC4);
    p.extend_from_slice(&DST4);
    p.extend_from_slice(payload);
    p
}

/// IPv6 header (RFC 8200 §3).
pub(super) fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[next, 64]);
    p.extend_from_slice(&SRC6.octets());
    p.extend_from_slice(&DST6.octets());
    p.extend_from_slice(payload);
    p
}

/// UDP header (RFC 768) with a correct Length.
pub(super) fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

/// TCP header (RFC 9293 §3.1), 20 bytes, flags PSH+ACK.
fn tcp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend_from_slice(payload);
    p
}

/// Ethernet II header (RFC 894).
pub(super) fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
    p.extend_from_slice(&ethertype.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const UDP4: &str = "UDP 192.0.2.1:5353 > 198.51.100.7:53 len=3";
const UDP6: &str = "UDP 2001:db8::1:5353 > 2001:db8::2:53 len=3";

fn udp4() -> Vec<u8> {
    ipv4(17, 1, 0, &udp(5353, 53, b"abc"))
}

fn udp6() -> Vec<u8> {
    ipv6(17, &udp(5353, 53, b"abc"))
}

#[test]
fn loopback_and_null_byte_orders() {
    // LINKTYPE_LOOP: the family is big-endian.
    assert_eq!(decode_once(LOOP, &cat(&[&[0, 0, 0, 2], &udp4()])), UDP4);
    for af in [24u32, 28, 30] {
        assert_eq!(decode_once(LOOP, &cat(&[&af.to_be_bytes(), &udp6()])), UDP6);
        // LINKTYPE_NULL written on a big-endian host, then on a little-endian one.
        assert_eq!(decode_once(NULL, &cat(&[&af.to_be_bytes(), &udp6()])), UDP6);
        assert_eq!(decode_once(NULL, &cat(&[&af.to_le_bytes(), &udp6()])), UDP6);
    }
    assert_eq!(decode_once(NULL, &cat(&[&2u32.to_be_bytes(), &udp4()])), UDP4);
    // AF 7 (OSI) is not IP; a 3-byte frame has no family.
    assert_eq!(decode_once(NULL, &cat(&[&7u32.to_le_bytes(), &udp4()])), "skipped");
    assert_eq!(decode_once(NULL, &[2, 0, 0]), "error link");
}

#[test]
fn raw_ip_link_types() {
    assert_eq!(decode_once(IPV6, &udp6()), UDP6);
    assert_eq!(decode_once(IPV4, &udp4()), UDP4);
    for lt in [DLT_RAW, DLT_RAW_BSD, RAW] {
        assert_eq!(decode_once(lt, &udp6()), UDP6);
        assert_eq!(decode_once(lt, &udp4()), UDP4);
    }
    // The version must match a single-version link type.
    assert_eq!(decode_once(IPV6, &udp4()), "error ip");
    assert_eq!(decode_once(IPV4, &udp6()), "error ip");
}

#[test]
fn four_vlan_tags_and_more() {
    // 802.1ad S-tag, then three more tags (0x8100, 0x9100, 0x8100); etherparse stops at 3.
    let mut inner = cat(&[&[0x00, 0x0a, 0x08, 0x00], &udp4()]);
    for ty in [0x8100u16, 0x9100, 0x8100] {
        inner = cat(&[&[0x00, 0x0b], &ty.to_be_bytes(), &inner]);
    }
    assert_eq!(decode_once(ETHERNET, &eth(0x88a8, &inner)), UDP4);
    // Twenty tags still end at the IP packet (each tag is one bounded step).
    let mut deep = cat(&[&[0x00, 0x0a, 0x86, 0xdd], &udp6()]);
    for _ in 0..19 {
        deep = cat(&[&[0x00, 0x0b, 0x81, 0x00], &deep]);
    }
    assert_eq!(decode_once(ETHERNET, &eth(0x8100, &deep)), UDP6);
    // A tag cut short.
    assert_eq!(decode_once(ETHERNET, &eth(0x8100, &[0, 1, 8])), "error link");
}

#[test]
fn mpls_stacks() {
    // RFC 3032 §2.1: two labels, S set on the second, then IPv6.
    let stack = [0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40];
    assert_eq!(decode_once(ETHERNET, &eth(0x8847, &cat(&[&stack, &udp6()]))), UDP6);
    // RFC 4385 §3 control word (first nibble 0), then an Ethernet frame (RFC 4448).
    let pw = cat(&[&[0x00, 0x03, 0x01, 0x40], &[0, 0, 0, 0], &eth(0x0800, &udp4())]);
    assert_eq!(decode_once(ETHERNET, &eth(0x8847, &pw)), UDP4);
    // No bottom-of-stack bit in 16 labels: malformed.
    assert_eq!(decode_once(ETHERNET, &eth(0x8847, &[0u8; 80])), "error tunnel");
}

#[test]
fn ppp_framings() {
    // RFC 1662 §3.1 with Address/Control, without them, and with a compressed protocol.
    assert_eq!(decode_once(PPP, &cat(&[&[0xff, 0x03, 0x00, 0x21], &udp4()])), UDP4);
    assert_eq!(decode_once(PPP, &cat(&[&[0x00, 0x57], &udp6()])), UDP6);
    assert_eq!(decode_once(PPP, &cat(&[&[0x21], &udp4()])), UDP4);
    // LCP is not IP.
    assert_eq!(decode_once(PPP, &[0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4]), "skipped");
}

#[test]
fn gre_options() {
    // RFC 2784/2890: C, K and S set: Checksum+Reserved1, Key, Sequence Number.
    let gre = cat(&[&[0xb0, 0x00, 0x08, 0x00], &[0; 12], &udp4()]);
    assert_eq!(decode_once(RAW, &ipv6(47, &gre)), UDP4);
    // RFC 1701 routing (R bit): not read.
    let routed = cat(&[&[0x40, 0x00, 0x08, 0x00], &[0; 4], &udp4()]);
    assert_eq!(decode_once(RAW, &ipv6(47, &routed)), "skipped");
    // Unknown GRE version.
    assert_eq!(decode_once(RAW, &ipv6(47, &[0x00, 0x02, 0x08, 0x00])), "error tunnel");
    // ERSPAN Type III (draft-foschiano-erspan-03 §4.3) with the 8-byte platform subheader.
    let mut erspan3 = vec![0x20, 0x01, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0x01];
    erspan3.extend_from_slice(&[0; 8]);
    let gre3 = cat(&[&[0x10, 0x00, 0x22, 0xeb], &[0, 0, 0, 1], &erspan3, &eth(0x86dd, &udp6())]);
    assert_eq!(decode_once(RAW, &ipv4(47, 1, 0, &gre3)), UDP6);
}

#[test]
fn gtp_u_extension_headers() {
    // TS 29.281 §5.1: E set, Sequence Number, N-PDU, next type 0x85 (PDU Session Container,
    // TS 38.415), one 4-byte extension ending with next type 0, then the T-PDU.
    let t_pdu = udp4();
    let body = cat(&[&[0, 1, 0, 0x85], &[0x01, 0x00, 0x09, 0x00], &t_pdu]);
    let gtp = cat(&[&[0x34, 0xff], &(body.len() as u16).to_be_bytes(), &[0, 0, 0, 7], &body]);
    assert_eq!(decode_once(RAW, &ipv4(17, 2, 0, &udp(2152, 2152, &gtp))), UDP4);
    // An extension with length 0 never ends.
    let bad = cat(&[&[0x34, 0xff, 0, 8], &[0, 0, 0, 7], &[0, 1, 0, 0x85], &[0, 0, 0, 0]]);
    assert_eq!(decode_once(RAW, &ipv4(17, 2, 0, &udp(2152, 2152, &bad))), "error tunnel");
    // Echo Request (type 1) carries no user data; GTP' (PT = 0) is not GTP-U.
    let echo = [0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0];
    assert_eq!(decode_once(RAW, &ipv4(17, 2, 0, &udp(2152, 2152, &echo))), "skipped");
    let gtp_prime = [0x20, 0xff, 0, 0, 0, 0, 0, 0];
    assert_eq!(decode_once(RAW, &ipv4(17, 2, 0, &udp(40000, 2152, &gtp_prime))), "error tunnel");
}

#[test]
fn teredo_indications() {
    // RFC 4380 §5.1.1: Origin Indication; then Authentication (ID-len 2, AU-len 1) + Origin.
    let origin = [0x00, 0x00, 0x0d, 0xd5, 0xbe, 0xc8, 0x61, 0xaf];
    assert_eq!(decode_once(RAW, &ipv4(17, 3, 0, &udp(3544, 40000, &cat(&[&origin, &udp6()])))), UDP6);
    let auth = cat(&[&[0x00, 0x01, 2, 1], &[0xaa, 0xbb, 0xcc], &[0; 8], &[0]]);
    let both = cat(&[&auth, &origin, &udp6()]);
    assert_eq!(decode_once(RAW, &ipv4(17, 3, 0, &udp(40000, 3544, &both))), UDP6);
    assert_eq!(decode_once(RAW, &ipv4(17, 3, 0, &udp(40000, 3544, &udp4()))), "error tunnel");
}

#[test]
fn ipv6_extension_headers_and_ah() {
    // RFC 8200 §4: Hop-by-Hop (8), Destination Options (8), Routing (16), then TCP.
    let tcp_seg = tcp(40000, 443, b"hello");
    let exts =
        cat(&[&[60, 0, 1, 4, 0, 0, 0, 0], &[43, 0, 1, 4, 0, 0, 0, 0], &[6, 1, 0, 0, 0, 0, 0, 0], &[0; 8], &tcp_seg]);
    assert_eq!(decode_once(IPV6, &ipv6(0, &exts)), "TCP 2001:db8::1:40000 > 2001:db8::2:443 len=5");
    // RFC 4302 §2: AH (Payload Len 4 → 24 bytes) in IPv4.
    let ah = cat(&[&[6, 4, 0, 0], &[0; 20], &tcp_seg]);
    assert_eq!(decode_once(IPV4, &ipv4(51, 4, 0, &ah)), "TCP 192.0.2.1:40000 > 198.51.100.7:443 len=5");
    // ESP is opaque; an atomic fragment (RFC 6946) is decoded in place.
    assert_eq!(decode_once(IPV6, &ipv6(50, &[0; 16])), "skipped");
    let atomic = cat(&[&[17, 0, 0, 0, 0, 0, 0, 9], &udp(5353, 53, b"abc")]);
    assert_eq!(decode_once(IPV6, &ipv6(44, &atomic)), UDP6);
}

#[test]
fn nesting_is_bounded() {
    // Outer IPv4 + 4 IP-in-IP tunnels is the limit; one more is dropped and counted.
    let mut p = udp4();
    for _ in 0..4 {
        p = ipv4(4, 5, 0, &p);
    }
    assert_eq!(decode_once(RAW, &p), UDP4);
    let deeper = ipv6(4, &p);
    let mut decoder = Decoder::default();
    assert_eq!(decoder.decode(Ts(0), RAW, &deeper), Decoded::Skipped);
    assert_eq!(decoder.stats().tunnel_depth_exceeded, 1);
    // A GRE packet that carries itself over and over ends at the same limit.
    let mut gre = udp4();
    for _ in 0..10 {
        gre = ipv4(47, 6, 0, &cat(&[&[0, 0, 0x08, 0x00], &gre]));
    }
    assert_eq!(decode_once(RAW, &gre), "skipped");
}

#[test]
fn udp_length_checks() {
    // RFC 768: Length below 8 is an error.
    let mut short = udp(5353, 53, b"abc");
    short[4..6].copy_from_slice(&4u16.to_be_bytes());
    assert_eq!(decode_once(RAW, &ipv4(17, 7, 0, &short)), "error udp");
    // Above the IP payload in a complete IP packet: the IP packet bounds the payload (as tshark
    // reads it; ndpi__fuzz-2006-06-26-2594 frame 7 is a DNS query with UDP Length 554 in 42 bytes).
    let mut long = udp(5353, 53, b"abc");
    long[4..6].copy_from_slice(&100u16.to_be_bytes());
    assert_eq!(decode_once(RAW, &ipv4(17, 7, 0, &long)), UDP4);
    // A Length shorter than the IP payload cuts the payload.
    let mut trailer = udp(5353, 53, b"abcdef");
    trailer[4..6].copy_from_slice(&11u16.to_be_bytes());
    assert_eq!(decode_once(RAW, &ipv4(17, 7, 0, &trailer)), UDP4);
}

#[test]
fn ieee80211_header_lengths() {
    let llc = cat(&[&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00], &udp4()]);
    // QoS Data (subtype 8) with To DS + From DS (Address 4) and +HTC: 24 + 6 + 2 + 4.
    let frame = cat(&[&[0x88, 0x83], &[0; 22], &[0; 6], &[0, 0], &[0; 4], &llc]);
    assert_eq!(decode_once(IEEE802_11, &frame), UDP4);
    // Plain Data: 24 bytes.
    assert_eq!(decode_once(IEEE802_11, &cat(&[&[0x08, 0x01], &[0; 22], &llc])), UDP4);
    // Protected, Null function, beacon: nothing to read.
    assert_eq!(decode_once(IEEE802_11, &cat(&[&[0x08, 0x41], &[0; 22], &llc])), "skipped");
    assert_eq!(decode_once(IEEE802_11, &cat(&[&[0x48, 0x01], &[0; 22]])), "skipped");
    assert_eq!(decode_once(IEEE802_11, &cat(&[&[0x80, 0x00], &[0; 22]])), "skipped");
}

#[test]
fn nflog_big_endian_tlvs() {
    // NFULA_PACKET_HDR (type 1, 8 bytes), then NFULA_PAYLOAD (type 9), lengths big-endian.
    let pkt = udp4();
    let len = (4 + pkt.len()) as u16;
    let frame = cat(&[&[2, 0, 0, 1], &[0, 8, 0, 1, 0x08, 0x00, 3, 0], &len.to_be_bytes(), &[0, 9], &pkt]);
    assert_eq!(decode_once(NFLOG, &frame), UDP4);
}

//! Tests of the QUIC Initial reader against the RFC 9001 appendix A and RFC 9369 appendix A
//! vectors, plus test-only helpers shared with `crate::flow::quic`'s tests.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::extract::Outcome;

pub(crate) fn hex(lines: &[&str]) -> Vec<u8> {
    let s: String = lines.concat();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Test-only: the host_name of a ClientHello handshake message's server_name extension
/// (RFC 8446 §4.1.2, RFC 6066 §3). The real parser is `crate::extract::tls`.
pub(crate) fn sni_of(hello: &[u8]) -> Option<String> {
    fn vec8(b: &[u8]) -> Option<(&[u8], &[u8])> {
        let (&n, r) = b.split_first()?;
        r.split_at_checked(n as usize)
    }
    fn vec16(b: &[u8]) -> Option<(&[u8], &[u8])> {
        let (n, r) = b.split_first_chunk::<2>()?;
        r.split_at_checked(u16::from_be_bytes(*n) as usize)
    }
    let body = hello.get(4..)?;
    let rest = body.get(2 + 32..)?; // legacy_version, random
    let (_session, rest) = vec8(rest)?;
    let (_suites, rest) = vec16(rest)?;
    let (_compression, rest) = vec8(rest)?;
    let (mut exts, _) = vec16(rest)?;
    while let Some((ty, r)) = exts.split_first_chunk::<2>() {
        let (data, r) = vec16(r)?;
        exts = r;
        if u16::from_be_bytes(*ty) == 0 {
            let (list, _) = vec16(data)?;
            let (&name_type, r) = list.split_first()?;
            let (name, _) = vec16(r)?;
            return (name_type == 0).then(|| String::from_utf8_lossy(name).into_owned());
        }
    }
    None
}

use super::vectors::*;

fn initial(packet: &[u8]) -> LongPacket<'_> {
    match parse_long_packet(packet) {
        Outcome::Found((p, rest)) => {
            assert!(rest.is_empty());
            p
        }
        other => panic!("{other:?}"),
    }
}

/// A packet number and the (offset, data) of its CRYPTO frames.
type OpenedCrypto = (u64, Vec<(u64, Vec<u8>)>);

/// Opens an Initial with keys derived from its own DCID.
fn open_own(packet: &[u8]) -> Result<OpenedCrypto, OpenError> {
    let p = initial(packet);
    let LongKind::Initial { params, .. } = p.kind else { panic!("not an Initial: {:?}", p.kind) };
    let keys = InitialKeys::client(params, p.dcid).unwrap();
    let mut scratch = Vec::new();
    let opened = keys.open(&p, None, &mut scratch)?;
    let crypto = frames(opened.payload)
        .map(|f| f.unwrap())
        .filter_map(|f| match f {
            Frame::Crypto { offset, data } => Some((offset, data.to_vec())),
            _ => None,
        })
        .collect();
    Ok((opened.packet_number, crypto))
}

#[test]
fn rfc9001_a1_client_keys() {
    let dcid = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];
    let m = KeyMaterial::client(version_params(VERSION_1).unwrap(), &dcid).unwrap();
    assert_eq!(m.key.to_vec(), hex(&["1f369613dd76d5467730efcbe3b1a22d"]));
    assert_eq!(m.iv.to_vec(), hex(&["fa044b2f42a3fd3b46fb255c"]));
    assert_eq!(m.hp.to_vec(), hex(&["9f50449e04a0e810283a1e9933adedd2"]));
}

#[test]
fn rfc9369_a1_client_keys() {
    let dcid = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];
    let m = KeyMaterial::client(version_params(VERSION_2).unwrap(), &dcid).unwrap();
    assert_eq!(m.key.to_vec(), hex(&["8b1a0bc121284290a29e0971b5cd045d"]));
    assert_eq!(m.iv.to_vec(), hex(&["91f73e2351d8fa91660e909f"]));
    assert_eq!(m.hp.to_vec(), hex(&["45b95e15235d6f45a6b19cbcb0294ba9"]));
}

#[test]
fn rfc9001_a2_client_initial_yields_example_com() {
    let packet = hex(RFC9001_A2_PACKET);
    let p = initial(&packet);
    assert_eq!((p.version, p.dcid, p.scid), (VERSION_1, &hex(&["8394c8f03e515708"])[..], &[][..]));
    assert!(matches!(p.kind, LongKind::Initial { token: [], pn_offset: 18, .. }));
    let (pn, crypto) = open_own(&packet).unwrap();
    assert_eq!(pn, 2);
    let frame = hex(RFC9001_A2_CRYPTO_FRAME);
    assert_eq!(crypto, vec![(0, frame[4..].to_vec())], "one CRYPTO frame at offset 0 (header 06 00 40f1)");
    let hello = &crypto[0].1;
    assert_eq!(handshake_message_len(hello), Some((CLIENT_HELLO, hello.len())));
    assert_eq!(sni_of(hello).as_deref(), Some("example.com"));
}

#[test]
fn rfc9369_a2_v2_client_initial_yields_example_com() {
    let packet = hex(RFC9369_A2_PACKET);
    let p = initial(&packet);
    assert_eq!(p.version, VERSION_2);
    assert_eq!(p.first & 0x30, 0x10, "v2 Initial type bits 0b01");
    let (pn, crypto) = open_own(&packet).unwrap();
    assert_eq!(pn, 2);
    assert_eq!(crypto.len(), 1);
    assert_eq!(crypto[0].1, hex(RFC9001_A2_CRYPTO_FRAME)[4..].to_vec(), "same ClientHello as RFC 9001 A.2");
    assert_eq!(sni_of(&crypto[0].1).as_deref(), Some("example.com"));
}

#[test]
fn tampered_and_cross_version_packets_do_not_open() {
    let mut packet = hex(RFC9001_A2_PACKET);
    packet[600] ^= 1;
    assert_eq!(open_own(&packet), Err(OpenError::Authentication));
    // The v1 packet relabelled as v2 (type bits 00 = Retry in v2) is no Initial at all.
    let mut relabelled = hex(RFC9001_A2_PACKET);
    relabelled[1..5].copy_from_slice(&VERSION_2.to_be_bytes());
    assert!(matches!(initial(&relabelled).kind, LongKind::Retry { .. }));
    // A v1 Initial opened with v2 keys fails authentication.
    let packet = hex(RFC9001_A2_PACKET);
    let p = initial(&packet);
    let keys = InitialKeys::client(version_params(VERSION_2).unwrap(), p.dcid).unwrap();
    assert_eq!(keys.open(&p, None, &mut Vec::new()).err(), Some(OpenError::Authentication));
}

#[test]
fn rfc9001_a3_server_initial_parses_but_client_keys_reject_it() {
    let packet = hex(&[
        "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a",
        "5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3",
        "dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84",
        "022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4",
        "2158407dd074ee",
    ]);
    let p = initial(&packet);
    assert_eq!((p.dcid.len(), p.scid), (0, &hex(&["f067a5502a4262b5"])[..]));
    assert!(matches!(p.kind, LongKind::Initial { pn_offset: 18, .. }));
    let keys = InitialKeys::client(version_params(VERSION_1).unwrap(), &hex(&["8394c8f03e515708"])).unwrap();
    assert_eq!(keys.open(&p, None, &mut Vec::new()).err(), Some(OpenError::Authentication));
}

#[test]
fn coalesced_packets_and_trailing_padding() {
    // The RFC 9001 A.3 server Initial, then a fake Handshake packet, then zero padding.
    let mut datagram = hex(&["cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a"]);
    datagram.resize(18 + 0x75, 0x11); // 18-byte header, Length 0x75
    let initial_len = datagram.len();
    datagram.extend([0xe0, 0, 0, 0, 1, 0, 0, 0x03, 1, 2, 3]);
    datagram.extend([0; 40]);
    let got: Vec<_> = packets(&datagram).collect();
    assert_eq!(got.len(), 2);
    let first = got[0].unwrap();
    assert_eq!(first.bytes.len(), initial_len);
    assert!(matches!(got[1], Ok(LongPacket { kind: LongKind::Handshake, .. })));
    // A Length past the end of the datagram (truncated capture) ends the walk with an error.
    let got: Vec<_> = packets(&datagram[..initial_len - 1]).collect();
    assert_eq!(got, vec![Err(())]);
}

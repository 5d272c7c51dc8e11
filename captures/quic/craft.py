#!/usr/bin/env python3
"""Crafts deterministic QUIC client Initial captures for versions no local client speaks.

Packet protection follows RFC 9001 §5 (v1, draft-29 salt afbfec28…) and RFC 9369 §3.3 (v2: salt
0dede3de…, labels "quicv2 key/iv/hp", Initial type bits 0b01); the same code reproduces the
RFC 9001 A.2 and RFC 9369 A.2 packets byte for byte (checked below before anything is written).
Everything is fixed (connection IDs, randoms, timestamps), so two runs write identical files.
Usage: python3 craft.py   (writes the *.pcap files next to this script)
"""
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

V1, V2, DRAFT29 = 0x00000001, 0x6B3343CF, 0xFF00001D
SALTS = {
    V1: (bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"), b"quic "),
    V2: (bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"), b"quicv2 "),
    DRAFT29: (bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899"), b"quic "),
}


def hkdf_expand_label(secret, label, length):
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(secret, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def client_keys(version, dcid):
    salt, prefix = SALTS[version]
    initial = hmac.new(salt, dcid, hashlib.sha256).digest()
    client = hkdf_expand_label(initial, b"client in", 32)
    return tuple(hkdf_expand_label(client, prefix + l, n) for l, n in ((b"key", 16), (b"iv", 12), (b"hp", 16)))


def varint(v):
    for bits, prefix in ((6, 0), (14, 0x4000), (30, 0x80000000)):
        if v < 1 << bits:
            return (v | prefix).to_bytes((bits + 2) // 8, "big")
    return (v | 0xC000000000000000).to_bytes(8, "big")


def protect_initial(version, dcid, scid, pn, frames, key_dcid=None, token=b"", min_len=1200, pn_len=4):
    """A client Initial: header, AEAD_AES_128_GCM payload, header protection (RFC 9001 §5.3-5.4)."""
    key, iv, hp = client_keys(version, key_dcid if key_dcid is not None else dcid)
    type_bits = 0b01 if version == V2 else 0b00
    def header(length):
        return (bytes([0xC0 | type_bits << 4 | (pn_len - 1)]) + version.to_bytes(4, "big") + bytes([len(dcid)]) + dcid
                + bytes([len(scid)]) + scid + varint(len(token)) + token + varint(length))
    payload = frames
    while len(header(pn_len + len(payload) + 16)) + pn_len + len(payload) + 16 < min_len:
        payload += b"\x00"  # PADDING frames (RFC 9000 §19.1)
    hdr = header(pn_len + len(payload) + 16)
    pn_offset = len(hdr)
    hdr += pn.to_bytes(pn_len, "big")
    nonce = bytes(a ^ b for a, b in zip(iv, pn.to_bytes(12, "big")))
    pkt = bytearray(hdr + AESGCM(key).encrypt(nonce, payload, hdr))
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = enc.update(bytes(pkt[pn_offset + 4:pn_offset + 20])) + enc.finalize()
    pkt[0] ^= mask[0] & 0x0F
    for i in range(pn_len):
        pkt[pn_offset + i] ^= mask[1 + i]
    return bytes(pkt)


def retry_packet(version, dcid, scid, odcid, token, first=0xF0):
    """A v1 Retry (RFC 9000 §17.2.5) with its Retry Integrity Tag (RFC 9001 §5.8)."""
    assert version == V1
    pkt = bytes([first]) + version.to_bytes(4, "big") + bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid + token
    key, nonce = bytes.fromhex("be0c690b9f66575a1d766b54e368c84e"), bytes.fromhex("461599d35d632bf2239825bb")
    return pkt + AESGCM(key).encrypt(nonce, b"", bytes([len(odcid)]) + odcid + pkt)


def crypto_frame(offset, data):
    return b"\x06" + varint(offset) + varint(len(data)) + data


def ext(ext_type, body):
    return struct.pack(">HH", ext_type, len(body)) + body


def client_hello(sni, seed, pad_to=0):
    """A TLS 1.3 ClientHello (RFC 8446 §4.1.2) with server_name, ALPN h3, QUIC transport parameters."""
    rnd = hashlib.sha256(b"random" + seed).digest()
    name = sni.encode()
    exts = ext(0, struct.pack(">HBH", len(name) + 3, 0, len(name)) + name)  # server_name (RFC 6066 §3)
    exts += ext(10, bytes.fromhex("0004001d0017"))  # supported_groups
    exts += ext(13, bytes.fromhex("000604030804040 1".replace(" ", "")))  # signature_algorithms
    exts += ext(16, bytes.fromhex("0003026833"))  # ALPN "h3"
    exts += ext(43, bytes.fromhex("020304"))  # supported_versions: TLS 1.3
    share = hashlib.sha256(b"share" + seed).digest()
    exts += ext(51, struct.pack(">HHH", 36, 0x001D, 32) + share)  # key_share x25519
    exts += ext(0x39, bytes.fromhex("0104800075300404800100000504800080000e0104"))  # quic_transport_parameters
    body = b"\x03\x03" + rnd + b"\x00" + bytes.fromhex("0006130113021303") + b"\x01\x00"
    if pad_to:
        # A padding extension (RFC 7685) makes a hello as large as a post-quantum one.
        base = len(body) + 2 + len(exts) + 4 + 4
        exts += ext(21, bytes(max(0, pad_to - base)))
    body += struct.pack(">H", len(exts)) + exts
    return b"\x01" + len(body).to_bytes(3, "big") + body


def pcap(path, datagrams):
    """Writes Ethernet/IPv4/UDP frames; datagrams are (seconds, src, sport, dst, dport, payload)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for ident, (t, src, sport, dst, dport, payload) in enumerate(datagrams):
        udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
        iph = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident, 0x4000, 64, 17, 0,
                          bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
        csum = sum(struct.unpack(">10H", iph))
        csum = (csum & 0xFFFF) + (csum >> 16)
        csum = (csum & 0xFFFF) + (csum >> 16)
        iph = iph[:10] + struct.pack(">H", ~csum & 0xFFFF) + iph[12:]
        frame = bytes.fromhex("020000000002" "020000000001" "0800") + iph + udp
        sec, usec = int(t), int(round((t - int(t)) * 1e6))
        out.append(struct.pack("<IIII", 1_800_000_000 + sec, usec, len(frame), len(frame)) + frame)
    with open(path, "wb") as f:
        f.write(b"".join(out))


def self_check():
    """The RFC 9001 A.2 / RFC 9369 A.2 first bytes come out of this code unchanged."""
    crypto = bytes.fromhex(
        "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c000004130113"
        "02010000c000000010000e00000b6578616d706c652e636f6dff01000100000a00080006001d0017001800100007000504"
        "616c706e0005000501000000000033002600240 01d00209370b2c9caa47fbabaf4559fedba753de171fa71f50f1ce15d43"
        "e994ec74d748002b0003020304000d0010000e0403050306030203080408050806002d00020101001c0002400100390032"
        "0408ffffffffffffffff05048000ffff07048000ffff0801100104800075300901100f088394c8f03e5157080604800"
        "0ffff".replace(" ", ""))
    dcid = bytes.fromhex("8394c8f03e515708")
    payload = crypto + bytes(1162 - len(crypto))
    v1 = protect_initial(V1, dcid, b"", 2, payload)
    v2 = protect_initial(V2, dcid, b"", 2, payload)
    # SHA-256 of the 1200-byte protected packets printed in RFC 9001 A.2 and RFC 9369 A.2.
    assert hashlib.sha256(v1).hexdigest() == "73fa0210cb4a5a17dc10b9dc98e5cc359ba1c20fe7c0e93a9e1dcb473c37e097"
    assert hashlib.sha256(v2).hexdigest() == "b0b766fe7e762577072d3365cc4f9635809210cba301a67f8457f5e6fdac5c68"
    # RFC 9001 A.4: the Retry and its integrity tag.
    retry = retry_packet(V1, b"", bytes.fromhex("f067a5502a4262b5"), dcid, b"token", first=0xFF)
    assert retry.hex() == "ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba"

C, S = "10.99.2.1", "10.99.2.2"


def main():
    self_check()
    here = os.path.dirname(os.path.abspath(__file__))

    # 1. QUIC v2 (RFC 9369): a 1.5 kB hello over two Initials; the second carries the
    #    server-chosen DCID but keeps the keys of the original one (RFC 9001 §5.2). Out of order.
    hello = client_hello("v2.pixel.test", b"v2", pad_to=1500)
    odcid, server_cid, scid = bytes.fromhex("5ca1ab1e0b5e55ed"), bytes.fromhex("5e7e7c1d"), bytes.fromhex("c11e")
    p1 = protect_initial(V2, odcid, scid, 0, crypto_frame(900, hello[900:]) + b"\x01" + crypto_frame(0, hello[:500]))
    # The server's Initial (content not needed: its SCID is what the client uses next).
    server = (bytes([0xD0 | 3]) + V2.to_bytes(4, "big") + bytes([2]) + scid + bytes([4]) + server_cid
              + varint(0) + varint(60) + hashlib.sha256(b"server").digest() * 2)[:15 + 60]  # 15-byte header, Length 60
    p2 = protect_initial(V2, server_cid, scid, 1, crypto_frame(480, hello[480:920]), key_dcid=odcid)
    pcap(os.path.join(here, "crafted-v2-two-initials.pcap"),
         [(0.0, C, 50001, S, 443, p1), (0.010, S, 443, C, 50001, server), (0.020, C, 50001, S, 443, p2)])

    # 2. draft-29 (salt afbfec28…): hello in three CRYPTO frames, last first, with a duplicate,
    #    coalesced with trailing zero padding of the datagram.
    hello = client_hello("draft29.pixel.test", b"d29")
    dcid = bytes.fromhex("d29d29d29d29d29d29")
    frames = crypto_frame(200, hello[200:]) + crypto_frame(0, hello[:120]) + b"\x01" + crypto_frame(100, hello[100:210])
    p = protect_initial(DRAFT29, dcid, b"", 0, frames, min_len=0) + bytes(1200 - 400)
    pcap(os.path.join(here, "crafted-draft29-reordered.pcap"), [(0.0, C, 50002, S, 443, p)])

    # 3. v1 version negotiation then Retry: a reserved version (RFC 9000 §15) draws a Version
    #    Negotiation packet; the v1 Initial draws a Retry (RFC 9000 §17.2.5) whose SCID becomes
    #    the DCID and key material of the client's next Initial (with the token).
    hello = client_hello("retry.pixel.test", b"retry")
    dcid, scid, retry_scid = bytes.fromhex("0123456789abcdef"), bytes.fromhex("c0ffee"), bytes.fromhex("7e7a7e7a7e7a")
    grease = 0x1A2A3A4A
    first = (bytes([0xC3]) + grease.to_bytes(4, "big") + bytes([8]) + dcid + bytes([3]) + scid
             + hashlib.sha256(b"grease").digest() * 38)[:1200]
    vn = bytes([0x80]) + bytes(4) + bytes([3]) + scid + bytes([8]) + dcid + V1.to_bytes(4, "big") + V2.to_bytes(4, "big")
    i1 = protect_initial(V1, dcid, scid, 0, crypto_frame(0, hello))
    token = b"retry-token-0001"
    retry = retry_packet(V1, scid, retry_scid, dcid, token)
    i2 = protect_initial(V1, retry_scid, scid, 1, crypto_frame(0, hello), token=token)
    pcap(os.path.join(here, "crafted-vn-retry-v1.pcap"),
         [(0.0, C, 50003, S, 443, first), (0.001, S, 443, C, 50003, vn), (0.002, C, 50003, S, 443, i1),
          (0.003, S, 443, C, 50003, retry), (0.004, C, 50003, S, 443, i2)])


if __name__ == "__main__":
    main()

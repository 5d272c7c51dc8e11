#!/usr/bin/env python3
"""Writes deterministic flood captures with a few real tracker contacts mixed in.

    python3 benches/gen_floods.py --kind syn --packets 1000000 --out syn.pcap [--seed 7]

Kinds (each flood packet is new state for one of pixelwatch's bounded tables):
  syn   SYNs to 443/tcp from random addresses and ports (`--packets` counts SYNs); a quarter
        are followed by the first 1400 bytes of a TLS record announcing a 16 KiB ClientHello
        (a stream that buffers and waits), a quarter by its first 2800 bytes and 1400 bytes
        past a hole (in-order and out-of-order buffering, ~4 KiB per stream).
  quic  QUIC v1 client Initials to 443/udp with random 8-byte DCIDs; half are real Initials
        (keys from the DCID, RFC 9001 §5.2) whose CRYPTO frame holds the first 1000 bytes of a
        longer ClientHello (a connection that buffers and waits), half random bytes after a
        valid long header (undecryptable).
  dns   1 M distinct random names: a query, then an answer with an A record (random TTL), from
        256 clients, so the per-client address → name caches and the lookup tables churn.
  frag  IPv4 and IPv6 first fragments (More Fragments set, offset 0) of 1400-byte UDP
        datagrams with random IDs: never completed.

The real contacts, spread evenly through the file (8 by default), from client 192.168.77.10:
a DNS query and answer for www.google-analytics.com then a TCP handshake and a TLS ClientHello
with that SNI; a QUIC Initial with SNI stats.g.doubleclick.net; a plain-HTTP GET with Host
pixel.mailtrack.io. Their packets are interleaved with the flood (`--gap` flood packets between
two of them), as a real handshake is during an attack.

Packets are 50 µs apart in capture time (1 M packets = 50 s), so idle timeouts fire as well as
capacity limits.
"""
import argparse
import ipaddress
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "bench"))
sys.path.insert(0, "/work/shared/bench")
try:  # the QUIC Initial protection and ClientHello builder of the throughput bench's generator
    from gen_traffic import AESGCM, Cipher, algorithms, modes, QUIC_V1_SALT, client_hello, \
        dns_query, dns_response, hkdf_expand_label, hkdf_extract, varint
except ImportError as e:
    sys.exit(f"needs ../shared/bench/gen_traffic.py and python3-cryptography: {e}")

REAL_CLIENT = ipaddress.ip_address("192.168.77.10")
RESOLVER = ipaddress.ip_address("192.168.77.1")
GA_ADDR = ipaddress.ip_address("142.250.75.14")
DC_ADDR = ipaddress.ip_address("142.250.75.15")
MT_ADDR = ipaddress.ip_address("52.18.22.33")
REAL_NAMES = {"tls": "www.google-analytics.com", "quic": "stats.g.doubleclick.net", "http": "pixel.mailtrack.io"}
STEP_US = 50


class Pcap:
    def __init__(self, path):
        self.f = open(path, "wb", buffering=1 << 22)
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.n = 0
        self.us = 1_764_000_000 * 1_000_000

    def raw(self, pkt):
        self.us += STEP_US
        self.f.write(struct.pack("<IIII", self.us // 1_000_000, self.us % 1_000_000, len(pkt), len(pkt)) + pkt)
        self.n += 1

    def ip(self, src, dst, proto, l4, ident=0, frag=0x4000, v6frag=None):
        if src.version == 4:
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident & 0xFFFF, frag, 64, proto, 0,
                             src.packed, dst.packed)
            self.raw(b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00" + ip + l4)
        else:
            if v6frag is not None:  # Fragment header (RFC 8200 §4.5): next, reserved, offset|M, id
                l4 = struct.pack("!BBHI", proto, 0, v6frag[0], v6frag[1]) + l4
                proto = 44
            ip = struct.pack("!IHBB16s16s", 0x60000000, len(l4), proto, 64, src.packed, dst.packed)
            self.raw(b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x86\xdd" + ip + l4)

    def udp(self, s, d, sp, dp, payload):
        self.ip(s, d, 17, struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload)

    def tcp(self, s, d, sp, dp, seq, ack, flags, payload=b""):
        self.ip(s, d, 6, struct.pack("!HHIIBBHHH", sp, dp, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags,
                                     65535, 0, 0) + payload)


def initial(dcid, scid, crypto_data, total_len=None):
    """A protected QUIC v1 client Initial carrying one CRYPTO frame at offset 0 (RFC 9001 §5)."""
    secret = hkdf_expand_label(hkdf_extract(QUIC_V1_SALT, dcid), "client in", 32)
    key, iv, hp = (hkdf_expand_label(secret, "quic key", 16), hkdf_expand_label(secret, "quic iv", 12),
                   hkdf_expand_label(secret, "quic hp", 16))
    frames = b"\x06" + varint(0) + varint(len(crypto_data)) + crypto_data
    payload = frames + b"\x00" * max(0, 1162 - len(frames))
    pn, pn_len = 0, 2
    hdr = bytes([0xC0 | (pn_len - 1)]) + b"\x00\x00\x00\x01" + bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid
    hdr += varint(0) + varint(pn_len + len(payload) + 16)
    pn_off = len(hdr)
    hdr += pn.to_bytes(pn_len, "big")
    nonce = bytes(a ^ b for a, b in zip(iv, pn.to_bytes(12, "big")))
    ct = AESGCM(key).encrypt(nonce, payload, hdr)
    sample = ct[4 - pn_len:4 - pn_len + 16]
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = enc.update(sample) + enc.finalize()
    first = bytes([hdr[0] ^ (mask[0] & 0x0F)])
    pnb = bytes(a ^ b for a, b in zip(hdr[pn_off:], mask[1:1 + pn_len]))
    return first + hdr[1:pn_off] + pnb + ct


def real_contact(rng, i):
    """The packets of real contact number i (a generator of callables taking the writer)."""
    sp = 50000 + i * 3
    qid = 0x5000 + i
    ga = REAL_NAMES["tls"]
    yield lambda w: w.udp(REAL_CLIENT, RESOLVER, sp, 53, dns_query(qid, ga, 1))
    yield lambda w: w.udp(RESOLVER, REAL_CLIENT, 53, sp, dns_response(qid, ga, 1, [], [GA_ADDR]))
    cs, ss = rng.randrange(1 << 32), rng.randrange(1 << 32)
    yield lambda w: w.tcp(REAL_CLIENT, GA_ADDR, sp, 443, cs, 0, 0x02)
    yield lambda w: w.tcp(GA_ADDR, REAL_CLIENT, 443, sp, ss, cs + 1, 0x12)
    yield lambda w: w.tcp(REAL_CLIENT, GA_ADDR, sp, 443, cs + 1, ss + 1, 0x10)
    hello = client_hello(rng, ga, pq=False)
    rec = b"\x16\x03\x01" + struct.pack("!H", len(hello)) + hello
    yield lambda w: w.tcp(REAL_CLIENT, GA_ADDR, sp, 443, cs + 1, ss + 1, 0x18, rec)
    quic = initial(rng.randbytes(8), rng.randbytes(8), client_hello(rng, REAL_NAMES["quic"], pq=False, quic=True))
    yield lambda w: w.udp(REAL_CLIENT, DC_ADDR, sp + 1, 443, quic)
    hs, hc = rng.randrange(1 << 32), rng.randrange(1 << 32)
    req = (f"GET /open.gif?u={i} HTTP/1.1\r\nHost: {REAL_NAMES['http']}\r\nUser-Agent: Mail\r\n"
           "Accept: image/*\r\n\r\n").encode()
    yield lambda w: w.tcp(REAL_CLIENT, MT_ADDR, sp + 2, 80, hc, 0, 0x02)
    yield lambda w: w.tcp(MT_ADDR, REAL_CLIENT, 80, sp + 2, hs, hc + 1, 0x12)
    yield lambda w: w.tcp(REAL_CLIENT, MT_ADDR, sp + 2, 80, hc + 1, hs + 1, 0x18, req)


def rand_v4(rng, prefix):
    return ipaddress.IPv4Address((prefix << 24) | rng.getrandbits(24))


def rand_v6(rng):
    return ipaddress.IPv6Address((0x2001_0db8 << 96) | rng.getrandbits(64))


def flood_syn(rng, w):
    big = client_hello(rng, "flood.example", pq=True)
    big = b"\x01" + struct.pack("!I", 16_000)[1:] + big[4:]  # claims a 16 KB message
    rec = b"\x16\x03\x01" + struct.pack("!H", 16_004) + big
    head, more = rec[:1400], rec[1400:2800]
    while True:
        c, s = rand_v4(rng, 10), rand_v4(rng, 100)
        sp, seq = rng.randrange(1024, 65536), rng.getrandbits(32)
        w.tcp(c, s, sp, 443, seq, 0, 0x02)
        r = rng.random()
        if r < 0.25:  # 2800 bytes in order and 1400 bytes past a hole: ~4 KiB buffered
            w.tcp(c, s, sp, 443, seq + 1, 1, 0x18, head)
            w.tcp(c, s, sp, 443, seq + 1 + 1400, 1, 0x18, more)
            w.tcp(c, s, sp, 443, seq + 1 + 4200, 1, 0x18, head)
        elif r < 0.5:
            w.tcp(c, s, sp, 443, seq + 1, 1, 0x18, head)
        yield 1


def flood_quic(rng, w):
    hello = client_hello(rng, "flood.example", pq=True, quic=True)[:1000]
    while True:
        c = rand_v4(rng, 10) if rng.random() < 0.5 else rand_v6(rng)
        s = rand_v4(rng, 100) if c.version == 4 else rand_v6(rng)
        sp = rng.randrange(1024, 65536)
        dcid = rng.randbytes(8)
        if rng.random() < 0.5:
            w.udp(c, s, sp, 443, initial(dcid, rng.randbytes(8), hello))
        else:
            hdr = b"\xc1\x00\x00\x00\x01\x08" + dcid + b"\x08" + rng.randbytes(8) + b"\x00" + varint(1182)
            w.udp(c, s, sp, 443, hdr + rng.randbytes(1182))
        yield 1


def rand_label(rng, n):
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def flood_dns(rng, w):
    clients = [ipaddress.IPv4Address(0x0A010000 + i) for i in range(256)]
    while True:
        name = f"{rand_label(rng, 10)}.{rand_label(rng, 6)}.{rng.choice(['com', 'net', 'org', 'fr'])}"
        c = rng.choice(clients)
        sp, qid = rng.randrange(1024, 65536), rng.randrange(65536)
        w.udp(c, RESOLVER, sp, 53, dns_query(qid, name, 1))
        yield 1
        addr = rand_v4(rng, 100)
        resp = bytearray(dns_response(qid, name, 1, [], [addr]))
        resp[-10:-6] = struct.pack("!I", rng.randrange(1, 86400))  # TTL of the A record
        w.udp(RESOLVER, c, 53, sp, bytes(resp))
        yield 1


def flood_frag(rng, w):
    body = rng.randbytes(1400)
    while True:
        sp = rng.randrange(1024, 65536)
        udp = struct.pack("!HHHH", sp, 443, 8 + 2800, 0) + body  # the datagram would be 2808 bytes
        if rng.random() < 0.5:
            w.ip(rand_v4(rng, 10), rand_v4(rng, 100), 17, udp, ident=rng.getrandbits(16), frag=0x2000)
        else:
            w.ip(rand_v6(rng), rand_v6(rng), 17, udp, v6frag=(0x0001, rng.getrandbits(32)))
        yield 1


FLOODS = {"syn": flood_syn, "quic": flood_quic, "dns": flood_dns, "frag": flood_frag}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=sorted(FLOODS), required=True)
    ap.add_argument("--packets", type=int, default=1_000_000, help="flood packets (real contacts come on top)")
    ap.add_argument("--contacts", type=int, default=8, help="real tracker contacts mixed in")
    ap.add_argument("--gap", type=int, default=200, help="flood packets between two packets of a real contact")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(f"{a.kind}-{a.seed}")
    w = Pcap(a.out)
    flood = FLOODS[a.kind](rng, w)
    every = max(1, a.packets // (a.contacts + 1))
    starts = {every * (i + 1): i for i in range(a.contacts)}
    pending = []  # real packets still to write, one per `gap` flood packets
    sent = 0
    while sent < a.packets:
        if sent in starts:
            pending.extend(real_contact(rng, starts[sent]))
        if pending and sent % a.gap == 0:
            pending.pop(0)(w)
        sent += next(flood)
    for p in pending:
        p(w)
    w.f.close()
    print(f"{a.out}: {w.n} packets ({sent} flood, {a.contacts} real contacts)", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Crafts attribution.pcap: flows that show no usable name, and encrypted DNS.

Deterministic (fixed timestamps and bytes). Run with Debian's python3 (scapy):
    /usr/bin/python3 captures/attribution/craft.py
Each step is one case pixelwatch must attribute through the client's DNS answers (via "ip"), or
recognise as encrypted DNS. Addresses are private test ranges; nothing was sent anywhere.
"""
import os
import struct

from scapy.all import DNS, DNSQR, DNSRR, IP, IPv6, TCP, UDP, Ether, Raw, wrpcap

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT, CLIENT6, RESOLVER = "10.99.3.10", "fd99:3::10", "10.99.3.1"
MAC_C, MAC_G = "02:99:03:00:00:10", "02:99:03:00:00:01"
T0 = 1_800_000_000.0


def client_hello(sni, ech=False, seed=0):
    """A TLS 1.3 ClientHello record (RFC 8446 §4.1.2) with server_name and, optionally, an
    encrypted_client_hello extension (0xfe0d) whose content is opaque to a passive observer."""
    def ext(t, body):
        return struct.pack("!HH", t, len(body)) + body
    exts = b""
    if sni is not None:
        n = sni.encode()
        exts += ext(0, struct.pack("!HBH", len(n) + 3, 0, len(n)) + n)
    exts += ext(0x000A, bytes.fromhex("0004001d0017"))
    exts += ext(0x002B, bytes.fromhex("020304"))
    exts += ext(0x0033, struct.pack("!HHH", 36, 0x001D, 32) + bytes([seed]) * 32)
    if ech:
        # ECHClientHello outer (draft-ietf-tls-esni §5): type 0, cipher suite, config id, enc, payload.
        exts += ext(0xFE0D, b"\x00" + struct.pack("!HH", 1, 1) + b"\x2a" + struct.pack("!H", 32)
                    + bytes([0x11]) * 32 + struct.pack("!H", 144) + bytes([0x22]) * 144)
    body = b"\x03\x03" + bytes([seed + 1]) * 32 + b"\x20" + bytes([seed + 2]) * 32
    body += bytes.fromhex("000213010100") + struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


pkts = []
t = [T0]


def add(p, dt=0.001):
    t[0] += dt
    p.time = t[0]
    pkts.append(p)


def l2(ip):
    return Ether(src=MAC_C, dst=MAC_G) / ip


def l2r(ip):
    return Ether(src=MAC_G, dst=MAC_C) / ip


def lookup(name, addr, qid, sport, qtype="A", client=CLIENT, resolver=RESOLVER):
    add(l2(IP(src=client, dst=resolver) / UDP(sport=sport, dport=53) / DNS(id=qid, rd=1, qd=DNSQR(qname=name, qtype=qtype))))
    add(l2r(IP(src=resolver, dst=client) / UDP(sport=53, dport=sport) /
            DNS(id=qid, qr=1, rd=1, ra=1, qd=DNSQR(qname=name, qtype=qtype),
                an=DNSRR(rrname=name, type=qtype, ttl=300, rdata=addr))))


def tcp_hello(src, dst, sport, dport, payload, ip=IP):
    seq = 1000
    add(l2(ip(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="S", seq=seq - 1)))
    add(l2r(ip(src=dst, dst=src) / TCP(sport=dport, dport=sport, flags="SA", seq=5000, ack=seq)))
    add(l2(ip(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="A", seq=seq, ack=5001)))
    add(l2(ip(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="PA", seq=seq, ack=5001) / Raw(payload)))


# 1. Real ECH: the client resolved www.google-analytics.com; the visible SNI is the provider's
#    public name. The destination is the looked-up tracker (via ip), not the public name.
lookup("www.google-analytics.com", "10.99.3.2", 0x1001, 40001)
tcp_hello(CLIENT, "10.99.3.2", 41001, 443, client_hello("public.ech-provider.example", ech=True, seed=1))
# 2. GREASE ECH (as every Chromium hello has): SNI equals the looked-up name: via tls as usual.
lookup("u1234.ct.sendgrid.net", "10.99.3.4", 0x1002, 40002)
tcp_hello(CLIENT, "10.99.3.4", 41002, 443, client_hello("u1234.ct.sendgrid.net", ech=True, seed=2))
# 3. A ClientHello without server_name to an address the client resolved for a tracker.
lookup("trk.klaviyomail.com", "10.99.3.5", 0x1003, 40003)
tcp_hello(CLIENT, "10.99.3.5", 41003, 443, client_hello(None, seed=3))
# 4. Dual stack: AAAA looked up over IPv4, the connection (no SNI) over IPv6.
lookup("x1ab2.mjt.lu", "fd99:3::6", 0x1004, 40004, qtype="AAAA")
tcp_hello(CLIENT6, "fd99:3::6", 41004, 443, client_hello(None, seed=4), ip=IPv6)
# 5. QUIC of a version nobody decrypts (reserved 0x1a2a3a4a) to a tracker address.
lookup("stats.g.doubleclick.net", "10.99.3.7", 0x1005, 40005)
long_header = bytes([0xC0]) + struct.pack("!I", 0x1A2A3A4A) + b"\x08" + b"\x01" * 8 + b"\x00" + b"\x00" * 1180
add(l2(IP(src=CLIENT, dst="10.99.3.7") / UDP(sport=41005, dport=443) / Raw(long_header)))
add(l2(IP(src=CLIENT, dst="10.99.3.7") / UDP(sport=41005, dport=443) / Raw(long_header)), dt=0.2)
# 6. Plain HTTP with an IP literal in Host, to an address the client resolved for Weborama.
lookup("bouyguestelecom.solution.weborama.fr", "10.99.3.3", 0x1006, 40006)
tcp_hello(CLIENT, "10.99.3.3", 41006, 80, b"GET /fcgi-bin/dispatch.fcgi?a.A=co HTTP/1.1\r\nHost: 10.99.3.3\r\n\r\n")
# 7. Encrypted DNS: DoH by name (dns.google on 443), DoT on 853, DoH to 1.1.1.1 without SNI.
tcp_hello(CLIENT, "10.99.3.8", 41007, 443, client_hello("dns.google", seed=7))
tcp_hello(CLIENT, "10.99.3.9", 41008, 853, client_hello("dns.quad9.net", seed=8))
tcp_hello(CLIENT, "1.1.1.1", 41009, 443, client_hello(None, seed=9))
# 8. A name nobody looked up, no SNI: nothing can be said (no contact).
tcp_hello(CLIENT, "10.99.3.11", 41010, 443, client_hello(None, seed=10))

wrpcap(os.path.join(HERE, "attribution.pcap"), pkts)
print(f"wrote {len(pkts)} packets")

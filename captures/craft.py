#!/usr/bin/python3
"""craft.py — writes pixelwatch's crafted test captures, one hard decoding case each.

    python3 captures/craft.py                    # (re)writes every crafted capture, byte-identical each run
    python3 captures/craft.py --refresh-payloads # first re-extracts src/payloads.json from the recordings

Payload bytes are REAL (src/payloads.json: Chromium / curl / openssl ClientHellos, dnsmasq DNS messages,
Chromium HTTP request heads, cut from mail-open-gateway.pcap and src/sources.pcap made by record.sh);
only the framing around them (link layer, IP, TCP segmentation, fragmentation, order) is crafted here.
Deterministic: fixed timestamps (2025-01-01T10:00:00Z + offsets), fixed ports, ISNs, IP IDs, MACs.
Checksums are correct unless a comment says otherwise. See captures/README.md for what each proves.
"""
import json
import os
import struct
import sys

try:
    from scapy.all import (DNS, DNSRR, IP, PPP, TCP, UDP, Dot1AD, Dot1Q, Ether, IPv6,
                           IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, PPPoE, Raw, EDNS0TLV, DNSRROPT)
except ImportError:  # pyenv's python3 has no scapy: Debian's has
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

HERE = os.path.dirname(os.path.abspath(__file__))
PAYLOADS = os.path.join(HERE, "src", "payloads.json")
BASE_TS = 1735725600  # 2025-01-01T10:00:00Z

# same addressing plan as record.sh
C4, C6 = "10.99.0.100", "fd99::100"
CMAC, SMAC = "02:99:00:00:00:64", "02:99:00:00:00:01"
GA4, GA6 = "10.99.0.2", "fd99::2"  # www.google-analytics.com
DNS4, DNS6 = "10.99.0.1", "fd99::1"

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_DLT_RAW12 = 0, 1, 12
LINKTYPE_RAW, LINKTYPE_LOOP, LINKTYPE_IPV6 = 101, 108, 229


# --------------------------------------------------------------------------- writers
class Pcap:
    """Classic pcap writer. nsec: nanosecond magic; big: big-endian file."""

    def __init__(self, name, linktype, nsec=False, big=False):
        self.path = os.path.join(HERE, name)
        self.e = ">" if big else "<"
        self.nsec = nsec
        magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
        self.buf = [struct.pack(self.e + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype)]
        self.t = 0  # microseconds since BASE_TS
        self.count = 0

    def add(self, frame, dt_us=1000):
        self.t += dt_us
        sec, usec = BASE_TS + self.t // 1_000_000, self.t % 1_000_000
        frac = usec * 1000 if self.nsec else usec
        frame = bytes(frame)
        self.buf.append(struct.pack(self.e + "IIII", sec, frac, len(frame), len(frame)) + frame)
        self.count += 1

    def close(self):
        with open(self.path, "wb") as f:
            f.write(b"".join(self.buf))
        print(f"{os.path.basename(self.path)}: {self.count} packets, {os.path.getsize(self.path)} bytes")


class Pcapng:
    """Minimal pcapng writer: one section, several interfaces (IDB), enhanced packet blocks."""

    def __init__(self, name):
        self.path = os.path.join(HERE, name)
        self.blocks = []
        self.ifs = []  # tsresol exponent (10^-n s)
        self.t = 0
        self.count = 0
        shb_opts = self._opt(4, b"pixelwatch captures/craft.py") + self._opt(0, b"")  # shb_userappl
        self.blocks.append(self._block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + shb_opts))

    @staticmethod
    def _opt(code, val):
        return struct.pack("<HH", code, len(val)) + val + b"\0" * (-len(val) % 4)

    @staticmethod
    def _block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    def interface(self, linktype, tsresol=6, name=b""):
        opts = b""
        if name:
            opts += self._opt(2, name)  # if_name
        if tsresol != 6:
            opts += self._opt(9, bytes([tsresol]))  # if_tsresol
        if opts:
            opts += self._opt(0, b"")
        self.blocks.append(self._block(1, struct.pack("<HHI", linktype, 0, 262144) + opts))
        self.ifs.append(tsresol)
        return len(self.ifs) - 1

    def add(self, ifid, frame, dt_us=1000, comment=None):
        self.t += dt_us
        ts = (BASE_TS * 1_000_000 + self.t) * 10 ** (self.ifs[ifid] - 6)
        frame = bytes(frame)
        body = struct.pack("<IIIII", ifid, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame))
        body += frame + b"\0" * (-len(frame) % 4)
        if comment:
            body += self._opt(1, comment.encode()) + self._opt(0, b"")
        self.blocks.append(self._block(6, body))
        self.count += 1

    def close(self):
        with open(self.path, "wb") as f:
            f.write(b"".join(self.blocks))
        print(f"{os.path.basename(self.path)}: {self.count} packets, {os.path.getsize(self.path)} bytes")


# --------------------------------------------------------------------------- framing helpers
def eth(l3, to_server=True):
    src, dst = (CMAC, SMAC) if to_server else (SMAC, CMAC)
    return Ether(src=src, dst=dst) / l3


def ip(src, dst, v6=False, ident=1):
    return IPv6(src=src, dst=dst, hlim=64) if v6 else IP(src=src, dst=dst, ttl=64, id=ident, flags="DF")


class TcpFlow:
    """A TCP connection; builds L3 packets with correct seq/ack. Offsets are stream offsets."""

    def __init__(self, cli, cport, srv, sport, v6=False, isn_c=0x10000000, isn_s=0x20000000, mss=1460):
        self.cli, self.cport, self.srv, self.sport, self.v6 = cli, cport, srv, sport, v6
        self.isn = {True: isn_c, False: isn_s}
        self.sent = {True: 0, False: 0}  # bytes delivered so far per direction (for acks)
        self.mss = mss
        self.ident = {True: 0x100, False: 0x200}

    def _l3(self, c2s):
        self.ident[c2s] += 1
        return (ip(self.cli, self.srv, self.v6, self.ident[c2s]) if c2s else
                ip(self.srv, self.cli, self.v6, self.ident[c2s]))

    def _tcp(self, c2s, flags, seq, ack=True, options=()):
        sp, dp = (self.cport, self.sport) if c2s else (self.sport, self.cport)
        a = (self.isn[not c2s] + 1 + self.sent[not c2s]) & 0xFFFFFFFF if ack else 0
        return TCP(sport=sp, dport=dp, seq=seq & 0xFFFFFFFF, ack=a, flags=flags, window=64240,
                   options=list(options))

    def handshake(self):
        syn = self._l3(True) / self._tcp(True, "S", self.isn[True], ack=False, options=[("MSS", self.mss)])
        synack = self._l3(False) / TCP(sport=self.sport, dport=self.cport, seq=self.isn[False],
                                       ack=self.isn[True] + 1, flags="SA", window=64240,
                                       options=[("MSS", self.mss)])
        ack = self._l3(True) / self._tcp(True, "A", self.isn[True] + 1)
        return [syn, synack, ack]

    def seg(self, c2s, off, data, flags="PA"):
        """Segment carrying `data` at stream offset `off`; does not change what is acked."""
        return self._l3(c2s) / self._tcp(c2s, flags, self.isn[c2s] + 1 + off) / Raw(data)

    def send(self, c2s, data, flags="PA"):
        """In-order segment after everything sent so far in that direction."""
        p = self.seg(c2s, self.sent[c2s], data, flags)
        self.sent[c2s] += len(data)
        return p

    def advance(self, c2s, n):
        self.sent[c2s] += n

    def ack(self, c2s):
        return self._l3(c2s) / self._tcp(c2s, "A", self.isn[c2s] + 1 + self.sent[c2s])

    def fin(self):
        a = self._l3(True) / self._tcp(True, "FA", self.isn[True] + 1 + self.sent[True])
        self.sent[True] += 1
        b = self._l3(False) / self._tcp(False, "FA", self.isn[False] + 1 + self.sent[False])
        self.sent[False] += 1
        c = self._l3(True) / self._tcp(True, "A", self.isn[True] + 1 + self.sent[True])
        return [a, b, c]


def chunks(data, n):
    return [data[i:i + n] for i in range(0, len(data), n)]


def udp_pair(cli, srv, sport, query, response, v6=False, ident=0x300):
    q = ip(cli, srv, v6, ident) / UDP(sport=sport, dport=53) / Raw(query)
    r = ip(srv, cli, v6, ident + 1) / UDP(sport=53, dport=sport) / Raw(response)
    if not v6:  # resolvers' replies usually have DF clear
        r[IP].flags = 0
    return q, r


def tls_records(ch_records, size):
    """Re-frame a ClientHello (records as sent) into TLS records of `size` bytes of fragment each."""
    hs, off = b"", 0
    while off + 5 <= len(ch_records):
        n = int.from_bytes(ch_records[off + 3:off + 5], "big")
        hs += ch_records[off + 5:off + 5 + n]
        off += 5 + n
    version = ch_records[1:3]  # record-layer version as the client wrote it
    return b"".join(b"\x16" + version + len(c).to_bytes(2, "big") + c for c in chunks(hs, size))


# --------------------------------------------------------------------------- payloads
def load_payloads():
    with open(PAYLOADS) as f:
        return {k: bytes.fromhex(v["hex"]) for k, v in json.load(f).items()}


def refresh_payloads():
    sys.path.insert(0, os.path.join(HERE, "lib"))
    from extract import extract
    out = extract(os.path.join(HERE, "mail-open-gateway.pcap"), os.path.join(HERE, "src", "sources.pcap"))
    with open(PAYLOADS, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"src/payloads.json: {len(out)} payloads")


# --------------------------------------------------------------------------- captures
def tls_split_ooo(P):
    """ClientHello (Chromium, ~2 KB) over 3 TCP segments, delivered 2nd, 3rd,
    1st, then the 1st again (retransmission); the server acks only once all is there."""
    ch = P["ch_chromium_www.google-analytics.com_443"]
    w = Pcap("tls-split-ooo.pcap", LINKTYPE_ETHERNET)
    f = TcpFlow(C4, 51000, GA4, 443)
    for p in f.handshake():
        w.add(eth(p, TCP in p and p[TCP].sport == 51000))
    a, b = 700, 1400
    s1, s2, s3 = f.seg(True, 0, ch[:a]), f.seg(True, a, ch[a:b]), f.seg(True, b, ch[b:])
    w.add(eth(s2), 20000)
    w.add(eth(s3))
    w.add(eth(s1), 5000)
    w.add(eth(f.seg(True, 0, ch[:a])), 200000)  # retransmission of the first segment
    f.advance(True, len(ch))
    w.add(eth(f.ack(False), False))
    for p in f.fin():
        w.add(eth(p, p[TCP].sport == 51000))
    w.close()


def tls_record_split(P):
    """Flow 1: Chromium's ClientHello handshake message in TLS records of 200 bytes of fragment
    each (10 records), the record stream cut into 1448-byte TCP segments (records straddle
    segments). Flow 2: curl's ClientHello in 3 records of 180 bytes, all 3 in ONE TCP segment."""
    w = Pcap("tls-record-split.pcap", LINKTYPE_ETHERNET)
    recs = tls_records(P["ch_chromium_metrics.shop-example.fr_443"], 200)
    f = TcpFlow(C4, 51010, "10.99.0.5", 443)
    for p in f.handshake():
        w.add(eth(p, p[TCP].sport == 51010))
    for c in chunks(recs, 1448):
        w.add(eth(f.send(True, c)))
    w.add(eth(f.ack(False), False))
    for p in f.fin():
        w.add(eth(p, p[TCP].sport == 51010))
    recs2 = tls_records(P["ch_curl_www.google-analytics.com_443"], 180)
    f = TcpFlow(C4, 51011, GA4, 443, isn_c=0x30000000, isn_s=0x40000000)
    for p in f.handshake():
        w.add(eth(p, p[TCP].sport == 51011), 50000)
    w.add(eth(f.send(True, recs2)))
    w.add(eth(f.ack(False), False))
    for p in f.fin():
        w.add(eth(p, p[TCP].sport == 51011))
    w.close()


def tls_ports(P):
    """ClientHellos on 993 (IMAPS, openssl s_client, outlook.office365.com), 465 (SMTPS,
    smtp.gmail.com) and 8443 (curl, cdn.shop-example.fr): TLS on ports other than 443."""
    w = Pcap("tls-ports.pcap", LINKTYPE_ETHERNET)
    for i, (key, srv, port) in enumerate([
            ("ch_openssl_outlook.office365.com_993", "10.99.0.10", 993),
            ("ch_openssl_smtp.gmail.com_465", "10.99.0.7", 465),
            ("ch_curl_cdn.shop-example.fr_8443", "10.99.0.9", 8443)]):
        cport = 52000 + i
        f = TcpFlow(C4, cport, srv, port, isn_c=0x11000000 * (i + 1), isn_s=0x12000000 * (i + 1))
        for p in f.handshake():
            w.add(eth(p, p[TCP].sport == cport), 300000)
        w.add(eth(f.send(True, P[key])))
        w.add(eth(f.ack(False), False))
        for p in f.fin():
            w.add(eth(p, p[TCP].sport == cport))
    w.close()


def dns_tcp(P):
    """DNS over TCP (RFC 7766 §6.2.1 pipelining, RFC 1035 §4.2.2 length prefix):
    flow 1: two queries in one segment, the two responses in one segment (one a 2-hop CNAME chain);
    flow 2: a response split in the middle of the message; flow 3: a response split inside its
    2-byte length field (1 byte, then the rest)."""
    def lp(m):
        return len(m).to_bytes(2, "big") + m
    w = Pcap("dns-tcp.pcap", LINKTYPE_ETHERNET)
    f = TcpFlow(C4, 53001, DNS4, 53)
    for p in f.handshake():
        w.add(eth(p, p[TCP].sport == 53001))
    w.add(eth(f.send(True, lp(P["dns_tcp_q_static.shop-example.fr_1"]) + lp(P["dns_tcp_q_www.google-analytics.com_28"]))))
    w.add(eth(f.send(False, lp(P["dns_tcp_r_static.shop-example.fr_1"]) + lp(P["dns_tcp_r_www.google-analytics.com_28"])), False))
    w.add(eth(f.ack(True)))
    for p in f.fin():
        w.add(eth(p, p[TCP].sport == 53001))
    f = TcpFlow(C4, 53002, DNS4, 53, isn_c=0x50000000, isn_s=0x60000000)
    for p in f.handshake():
        w.add(eth(p, p[TCP].sport == 53002), 100000)
    w.add(eth(f.send(True, lp(P["dns_tcp_q_x1ab2.mjt.lu_1"]))))
    r = lp(P["dns_tcp_r_x1ab2.mjt.lu_1"])
    w.add(eth(f.send(False, r[:30]), False))
    w.add(eth(f.ack(True)))
    w.add(eth(f.send(False, r[30:]), False))
    w.add(eth(f.ack(True)))
    for p in f.fin():
        w.add(eth(p, p[TCP].sport == 53002))
    f = TcpFlow(C4, 53003, DNS4, 53, isn_c=0x70000000, isn_s=0x80000000)
    for p in f.handshake():
        w.add(eth(p, p[TCP].sport == 53003), 100000)
    w.add(eth(f.send(True, lp(P["dns_tcp_q_metrics.shop-example.fr_1"]))))
    r = lp(P["dns_tcp_r_metrics.shop-example.fr_1"])
    w.add(eth(f.send(False, r[:1]), False))
    w.add(eth(f.ack(True)))
    w.add(eth(f.send(False, r[1:]), False))
    w.add(eth(f.ack(True)))
    for p in f.fin():
        w.add(eth(p, p[TCP].sport == 53003))
    w.close()


def vlan_qinq_pppoe(P):
    """The same kinds of traffic behind 802.1Q (VLAN 10), behind QinQ (outer 802.1ad S-tag 100,
    ethertype 0x88a8, inner C-tag 10) and in a PPPoE session (0x8864, PPP 0x0021/0x0057) behind
    QinQ. Each: a DNS query + response and a TCP handshake + TLS ClientHello."""
    w = Pcap("vlan-qinq-pppoe.pcap", LINKTYPE_ETHERNET)

    def q1(l3, c2s):
        return eth(Dot1Q(vlan=10, prio=0) / l3, c2s)

    def qinq(l3, c2s):
        return eth(Dot1AD(vlan=100) / Dot1Q(vlan=10) / l3, c2s)

    def pppoe(l3, c2s):
        proto = 0x0057 if IPv6 in l3 else 0x0021
        return eth(Dot1AD(vlan=100) / Dot1Q(vlan=10) / PPPoE(sessionid=0x2a17) / PPP(proto=proto) / l3, c2s)

    cases = [
        (q1, "dns_udp_q_www.google-analytics.com_1", "dns_udp_r_www.google-analytics.com_1", False,
         "ch_openssl_imap.gmail.com_993", "10.99.0.7", 993, 1460),
        (qinq, "dns_udp_q_x1ab2.mjt.lu_1", "dns_udp_r_x1ab2.mjt.lu_1", False,
         "ch_openssl_outlook.office365.com_993", "10.99.0.10", 993, 1460),
        # PPPoE: MTU 1492, MSS 1452: Chromium's ClientHello needs 2 segments
        (pppoe, "dns_udp_q_static.shop-example.fr_1", "dns_udp_r_static.shop-example.fr_1", False,
         "ch_chromium_u1234.ct.sendgrid.net_443", "10.99.0.4", 443, 1452),
        (pppoe, "dns_udp_q_www.google-analytics.com_28", "dns_udp_r_www.google-analytics.com_28", True,
         None, None, None, None),
    ]
    for i, (wrap, qk, rk, v6, chk, srv, port, mss) in enumerate(cases):
        cli, dns = (C6, DNS6) if v6 else (C4, DNS4)
        q, r = udp_pair(cli, dns, 40000 + i, P[qk], P[rk], v6, ident=0x700 + 16 * i)
        w.add(wrap(q, True), 300000)
        w.add(wrap(r, False))
        if chk is None:
            continue
        cport = 54000 + i
        f = TcpFlow(cli, cport, srv, port, isn_c=0x01000000 * (i + 1), isn_s=0x02000000 * (i + 1), mss=mss)
        for p in f.handshake():
            w.add(wrap(p, p[TCP].sport == cport))
        for c in chunks(P[chk], mss):
            w.add(wrap(f.send(True, c), True))
        w.add(wrap(f.ack(False), False))
    w.close()


def loopback(P):
    """BSD loopback link types: NULL (0, AF in host order, here little-endian: AF_INET 2, AF_INET6
    24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS)) and LOOP (108, AF big-endian, OpenBSD).
    Content: a DNS lookup to a local resolver (v4 and v6) and plain-HTTP requests (v4 and v6)."""
    http_v4 = P["http_req_x1ab2.mjt.lu"]
    http_v6 = P["http_req_bouyguestelecom.solution.weborama.fr"]
    for name, lt, endian in (("null-loopback.pcap", LINKTYPE_NULL, "<"), ("loop.pcap", LINKTYPE_LOOP, ">")):
        w = Pcap(name, lt)

        def af(l3, family):
            return struct.pack(endian + "I", family) + bytes(l3)
        q, r = udp_pair("127.0.0.1", "127.0.0.53", 41000, P["dns_udp_q_x1ab2.mjt.lu_1"], P["dns_udp_r_x1ab2.mjt.lu_1"])
        w.add(af(q, 2))
        w.add(af(r, 2))
        f = TcpFlow("127.0.0.1", 41001, "127.0.0.1", 80)
        for p in f.handshake():
            w.add(af(p, 2))
        w.add(af(f.send(True, http_v4), 2))
        w.add(af(f.ack(False), 2))
        # IPv6: one query/response with AF 30 (macOS), an HTTP flow with AF 24, a reply with AF 28
        q, r = udp_pair("::1", "::1", 41002, P["dns_udp_q_bouyguestelecom.solution.weborama.fr_1"],
                        P["dns_udp_r_bouyguestelecom.solution.weborama.fr_1"], v6=True)
        w.add(af(q, 30), 100000)
        w.add(af(r, 30))
        f = TcpFlow("::1", 41003, "::1", 8080, v6=True)
        for p in f.handshake():
            w.add(af(p, 24))
        w.add(af(f.send(True, http_v6), 24))
        w.add(af(f.ack(False), 28))
        w.close()


def big_dns_response(qbytes, chain, addrs):
    """A real dnsmasq query, and a response to it made larger than one MTU: the CNAME chain
    `chain`, then one A/AAAA record per address of `addrs` (the query's type), then an EDNS(0)
    OPT record (RFC 6891) with a 2800-byte Padding option (RFC 7830)."""
    q = DNS(qbytes)
    qtype = q.qd[0].qtype
    owner = q.qd[0].qname
    an = None
    for target in chain:
        rr = DNSRR(rrname=owner, type="CNAME", ttl=300, rdata=target)
        an = rr if an is None else an / rr
        owner = target
    for a in addrs:
        rr = DNSRR(rrname=owner, type=qtype, ttl=300, rdata=a)
        an = rr if an is None else an / rr
    opt = DNSRROPT(rclass=4096, rdata=[EDNS0TLV(optcode=12, optdata=b"\0" * 2800)])
    r = DNS(id=q.id, qr=1, aa=1, rd=q.rd, ra=1, qd=q.qd, an=an, ar=opt)
    return bytes(r)


def frag_v4(P):
    """IPv4 fragmentation (RFC 791 §3.2): a ~3 KB DNS response in 3 fragments sent 1st, 3rd, 2nd;
    and an HTTP request whose single TCP segment is cut in 3 fragments sent 2nd, 1st, 3rd."""
    w = Pcap("frag-v4.pcap", LINKTYPE_ETHERNET)
    qb = P["dns_udp_q_www.google-analytics.com_1"]
    q, _ = udp_pair(C4, DNS4, 42000, qb, b"")
    w.add(eth(q))
    resp = IP(src=DNS4, dst=C4, ttl=64, id=0x4242) / UDP(sport=53, dport=42000) / Raw(big_dns_response(
        qb, [b"www-google-analytics.l.google.com."], ["10.99.0.2", "10.99.0.12", "10.99.0.22", "10.99.0.32"]))
    frags = frag4(resp, 1480)
    assert len(frags) == 3
    for i in (0, 2, 1):
        w.add(eth(frags[i], False))
    # HTTP: handshake, then the request segment fragmented (offsets multiple of 8, 200-byte pieces)
    f = TcpFlow(C4, 42001, "10.99.0.3", 80)
    for p in f.handshake():
        w.add(eth(p, p[TCP].sport == 42001), 200000)
    seg = f.send(True, P["http_req_bouyguestelecom.solution.weborama.fr"])
    seg[IP].flags = 0
    seg[IP].id = 0x4343
    frags = frag4(seg, 200)
    assert len(frags) == 3, len(frags)
    for i in (1, 0, 2):
        w.add(eth(frags[i]))
    w.add(eth(f.ack(False), False))
    w.close()


def frag4(pkt, size):
    """Fragments of an IPv4 packet (payload pieces of `size` bytes, a multiple of 8)."""
    pkt = IP(bytes(pkt))  # computes lengths and checksums of the whole datagram first
    payload = bytes(pkt.payload)
    hdr = pkt.copy()
    hdr.remove_payload()
    pieces = chunks(payload, size)
    if len(pieces) > 3 and len(pieces[-1]) < 8:
        pieces = pieces[:-2] + [pieces[-2] + pieces[-1]]
    out = []
    for i, piece in enumerate(pieces):
        h = hdr.copy()
        h.frag = i * size // 8
        h.flags = "MF" if i < len(pieces) - 1 else 0
        h.len = None
        h.chksum = None
        h.proto = pkt.proto
        out.append(IP(bytes(h / Raw(piece))))
    return out


def frag_v6(P):
    """IPv6 Fragment extension header (RFC 8200 §4.5): a ~3 KB DNS response in 3 fragments sent
    2nd, 1st, 3rd; a second one with a Hop-by-Hop Options header (PadN) before the Fragment
    header, fragments sent 3rd, 2nd, 1st."""
    w = Pcap("frag-v6.pcap", LINKTYPE_ETHERNET)
    for n, (qk, chain, addrs, order, hbh, fid) in enumerate([
            ("dns_udp_q_www.google-analytics.com_28", [b"www-google-analytics.l.google.com."],
             ["fd99::2", "fd99::12"], (1, 0, 2), False, 0x0A0B0C01),
            ("dns_udp_q_static.shop-example.fr_28", [b"shop-example.cdn.example.net.", b"edge1.cdn.example.net."],
             ["fd99::9", "fd99::19", "fd99::29"], (2, 1, 0), True, 0x0A0B0C02)]):
        qb = P[qk]
        q, _ = udp_pair(C6, DNS6, 43000 + n, qb, b"", v6=True)
        w.add(eth(q), 100000)
        resp = IPv6(src=DNS6, dst=C6, hlim=64) / UDP(sport=53, dport=43000 + n) / Raw(big_dns_response(qb, chain, addrs))
        resp = IPv6(bytes(resp))
        udp_bytes = bytes(resp.payload)
        pieces = chunks(udp_bytes, 1448)
        for i in order:
            off = sum(len(p) for p in pieces[:i])
            fh = IPv6ExtHdrFragment(nh=17, offset=off // 8, m=1 if i < len(pieces) - 1 else 0, id=fid)
            base = IPv6(src=DNS6, dst=C6, hlim=64)
            pkt = base / IPv6ExtHdrHopByHop() / fh / Raw(pieces[i]) if hbh else base / fh / Raw(pieces[i])
            w.add(eth(IPv6(bytes(pkt)), False))
    w.close()


def http_pipelined(P):
    """HTTP/1.1 keep-alive, pipelined (RFC 9112 §9.3.2), over IPv6 to port 8080: 4 requests in one
    flow. Request 1's head is split over 2 segments (inside the Host line); request 2 has
    `Host: [fd99::2]:8080`; request 3 is a POST whose body (Content-Length) contains
    "GET /fake HTTP/1.1\\r\\nHost: evil.example" which is NOT a request; request 4 follows the body.
    A response body also contains a fake request (server-to-client is never a request)."""
    ua = b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"
    r1 = (b"GET /img/logo.png HTTP/1.1\r\nHost: www.example.org:8080\r\nUser-Agent: " + ua +
          b"\r\nAccept: image/avif,image/webp,*/*\r\nConnection: keep-alive\r\n\r\n")
    r2 = (b"GET /pixel.gif?id=42 HTTP/1.1\r\nHost: [fd99::2]:8080\r\nUser-Agent: " + ua +
          b"\r\nAccept: */*\r\n\r\n")
    body = b"comment=hello%0A&raw=GET /fake HTTP/1.1\r\nHost: evil.example\r\n\r\n"
    r3 = (b"POST /api/feedback HTTP/1.1\r\nHost: x1ab2.mjt.lu:8080\r\nContent-Type: text/plain\r\n"
          b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    r4 = P["http_req_bouyguestelecom.solution.weborama.fr"].replace(b"Host: bouyguestelecom.solution.weborama.fr",
                                                                   b"Host: bouyguestelecom.solution.weborama.fr:8080")
    gif = bytes.fromhex("47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b")
    fake = b"GET /fake2 HTTP/1.1\r\nHost: evil2.example\r\n\r\n"

    def resp(b, ctype=b"image/gif"):
        return (b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype + b"\r\nContent-Length: " +
                str(len(b)).encode() + b"\r\n\r\n" + b)
    w = Pcap("http-pipelined.pcap", LINKTYPE_ETHERNET)
    f = TcpFlow(C6, 44000, GA6, 8080, v6=True)
    for p in f.handshake():
        w.add(eth(p, p[TCP].sport == 44000))
    cut = r1.index(b"Host: www.exa") + len(b"Host: www.exa")
    w.add(eth(f.send(True, r1[:cut])))
    w.add(eth(f.send(True, r1[cut:] + r2), 40000))
    w.add(eth(f.send(True, r3 + r4)))
    w.add(eth(f.send(False, resp(gif) + resp(gif) + resp(fake, b"text/plain") + resp(gif), False), 2000))
    w.add(eth(f.ack(True)))
    for p in f.fin():
        w.add(eth(p, p[TCP].sport == 44000))
    w.close()


def raw_ip(P):
    """Raw IP link types: 101 (LINKTYPE_RAW) and 12 (DLT_RAW as OpenBSD/older libpcap write it):
    IPv4 and IPv6 packets, version from the first nibble; 229 (LINKTYPE_IPV6): IPv6 only."""
    pairs4 = udp_pair(C4, DNS4, 45000, P["dns_udp_q_u1234.ct.sendgrid.net_1"], P["dns_udp_r_u1234.ct.sendgrid.net_1"])
    pairs6 = udp_pair(C6, DNS6, 45001, P["dns_udp_q_metrics.shop-example.fr_28"], P["dns_udp_r_metrics.shop-example.fr_28"], v6=True)
    for name, lt in (("raw-ip.pcap", LINKTYPE_RAW), ("raw-ip-dlt12.pcap", LINKTYPE_DLT_RAW12)):
        w = Pcap(name, lt)
        for p in pairs4 + pairs6:
            w.add(bytes(p))
        w.close()
    w = Pcap("raw-ipv6.pcap", LINKTYPE_IPV6)
    for p in pairs6 + udp_pair(C6, DNS6, 45002, P["dns_udp_q_x1ab2.mjt.lu_1"], P["dns_udp_r_x1ab2.mjt.lu_1"], v6=True):
        w.add(bytes(p))
    w.close()


def file_formats(P):
    """File-format cases: a big-endian pcap with nanosecond timestamps (magic a1b23c4d written
    big-endian) and a pcapng with 2 interfaces of different link types (Ethernet with if_tsresol
    10^-9, raw IP with the default 10^-6) and packet comments."""
    q, r = udp_pair(C4, DNS4, 46000, P["dns_udp_q_www.google-analytics.com_1"], P["dns_udp_r_www.google-analytics.com_1"])
    w = Pcap("pcap-be-nsec.pcap", LINKTYPE_ETHERNET, nsec=True, big=True)
    w.add(eth(q), 123457)
    w.add(eth(r, False), 1)
    w.close()
    w = Pcapng("multi-if.pcapng")
    e = w.interface(LINKTYPE_ETHERNET, tsresol=9, name=b"eth0")
    raw = w.interface(LINKTYPE_RAW, name=b"tun0")
    w.add(e, eth(q), 5, comment="DNS query on eth0 (ns timestamps)")
    w.add(e, eth(r, False), 250)
    q6, r6 = udp_pair(C6, DNS6, 46001, P["dns_udp_q_x1ab2.mjt.lu_1"], P["dns_udp_r_x1ab2.mjt.lu_1"], v6=True)
    w.add(raw, q6, 1000, comment="DNS query on tun0 (raw IPv6)")
    w.add(raw, r6, 300)
    f = TcpFlow(C4, 46002, "10.99.0.7", 993)
    for p in f.handshake():
        w.add(raw, p)
    w.add(raw, f.send(True, P["ch_openssl_imap.gmail.com_993"]))
    w.close()


def main():
    if "--refresh-payloads" in sys.argv:
        refresh_payloads()
    P = load_payloads()
    for fn in (tls_split_ooo, tls_record_split, tls_ports, dns_tcp, vlan_qinq_pppoe, loopback,
               frag_v4, frag_v6, http_pipelined, raw_ip, file_formats):
        fn(P)


if __name__ == "__main__":
    main()

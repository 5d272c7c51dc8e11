"""Extracts REAL payload bytes from the recordings, for craft.py (`craft.py --refresh-payloads`).

Sources (both made by record.sh with real clients and servers):
  mail-open-gateway.pcap  Chromium ClientHellos (post-quantum, ~2 KB), openssl s_client's ClientHello
                          for imap.gmail.com, Chromium's plain-HTTP pixel requests and the server's
                          replies, UDP and TCP DNS messages (dnsmasq answers, CNAME chains)
  src/sources.pcap        openssl s_client ClientHellos on 993 (outlook.office365.com) and 465
                          (smtp.gmail.com), curl's on 8443 (cdn.shop-example.fr), dig +tcp messages
Each payload is stored with where it came from (file, frame numbers), so a test can cite it.
"""
from scapy.all import DNS, IP, TCP, UDP, IPv6, rdpcap


def _l3(p):
    if IP in p:
        return p[IP].src, p[IP].dst
    if IPv6 in p:
        return p[IPv6].src, p[IPv6].dst
    return None, None


def tcp_streams(path):
    """{(src, sport, dst, dport): (bytes from ISN+1, [(stream offset, frame number)])}.
    For the clean recordings of record.sh only (stops at the first hole)."""
    segs, isn = {}, {}
    for no, p in enumerate(rdpcap(path), 1):
        if TCP not in p:
            continue
        src, dst = _l3(p)
        t = p[TCP]
        key = (src, t.sport, dst, t.dport)
        if t.flags & 0x02:  # SYN
            isn[key] = t.seq
            segs[key] = {}
        data = bytes(t.payload)
        if data and key in isn:
            segs[key].setdefault((t.seq - isn[key] - 1) & 0xFFFFFFFF, (data, no))
    out = {}
    for key, d in segs.items():
        buf, frames = b"", []
        for off in sorted(d):
            data, no = d[off]
            if off > len(buf):
                break  # hole: stop
            if off + len(data) > len(buf):
                buf += data[len(buf) - off:]
                frames.append((off, no))
        out[key] = (buf, frames)
    return out


def tls_first_handshake(stream):
    """The TLS records that carry the first handshake message (the ClientHello), as sent."""
    if len(stream) < 9 or stream[0] != 0x16 or stream[5] != 0x01:  # handshake record, ClientHello
        return None
    hs_len = int.from_bytes(stream[6:9], "big") + 4
    off, got = 0, 0
    while got < hs_len and off + 5 <= len(stream):
        rlen = int.from_bytes(stream[off + 3:off + 5], "big")
        got += rlen
        off += 5 + rlen
    return stream[:off] if got >= hs_len else None


def sni_of(records):
    """server_name of a ClientHello (records as sent); enough parsing for the extractor only."""
    hs = b""
    off = 0
    while off + 5 <= len(records):
        rlen = int.from_bytes(records[off + 3:off + 5], "big")
        hs += records[off + 5:off + 5 + rlen]
        off += 5 + rlen
    p = 4 + 2 + 32
    p += 1 + hs[p]
    p += 2 + int.from_bytes(hs[p:p + 2], "big")
    p += 1 + hs[p]
    end = p + 2 + int.from_bytes(hs[p:p + 2], "big")
    p += 2
    while p + 4 <= end:
        et, el = int.from_bytes(hs[p:p + 2], "big"), int.from_bytes(hs[p + 2:p + 4], "big")
        if et == 0:
            n = int.from_bytes(hs[p + 7:p + 9], "big")
            return hs[p + 9:p + 9 + n].decode()
        p += 4 + el
    return None


def extract(gateway, sources):
    out = {}

    def put(name, data, src, frames, note):
        if frames and isinstance(frames[0], tuple):  # keep the frames that carry `data`
            frames = [no for off, no in frames if off < len(data)]
        out[name] = {"hex": data.hex(), "from": src, "frames": frames, "note": note}

    # --- TLS ClientHellos
    for path, label in ((gateway, "mail-open-gateway.pcap"), (sources, "src/sources.pcap")):
        for (src, sport, dst, dport), (buf, frames) in tcp_streams(path).items():
            ch = tls_first_handshake(buf)
            if not ch:
                continue
            sni = sni_of(ch)
            client = "chromium" if len(ch) > 1500 else ("curl" if dport == 8443 or sni == "www.google-analytics.com" else "openssl")
            name = f"ch_{client}_{sni}_{dport}"
            if name not in out:
                put(name, ch, label, frames, f"TLS ClientHello records as sent by {client}, SNI {sni}, to port {dport}")
    # --- HTTP request heads and replies (plain HTTP pixels)
    for (src, sport, dst, dport), (buf, frames) in tcp_streams(gateway).items():
        if dport == 80 and buf.startswith(b"GET "):
            host = [ln for ln in buf.split(b"\r\n") if ln.lower().startswith(b"host:")][0].split(b":", 1)[1].strip().decode()
            put(f"http_req_{host}", buf, "mail-open-gateway.pcap", frames, f"HTTP request(s) from {'curl' if b'curl/' in buf else 'chromium'} to {host}")
        if sport == 80 and buf.startswith(b"HTTP/1."):
            put(f"http_resp_{src}", buf, "mail-open-gateway.pcap", frames, f"HTTP reply from the test server {src}")
    # --- DNS over UDP (gateway) and TCP (gateway + sources)
    for path, label in ((gateway, "mail-open-gateway.pcap"), (sources, "src/sources.pcap")):
        for no, p in enumerate(rdpcap(path), 1):
            if UDP in p and 53 in (p[UDP].sport, p[UDP].dport):
                d = p[DNS]
                q = d.qd[0] if d.qdcount else None
                if q is None:
                    continue
                name = f"dns_udp_{'r' if d.qr else 'q'}_{q.qname.decode().rstrip('.')}_{q.qtype}"
                if name not in out:
                    put(name, bytes(p[UDP].payload), label, [no], f"DNS over UDP {'response' if d.qr else 'query'}")
        for (src, sport, dst, dport), (buf, frames) in tcp_streams(path).items():
            if 53 not in (sport, dport):
                continue
            off = 0
            while off + 2 <= len(buf):
                n = int.from_bytes(buf[off:off + 2], "big")
                msg = buf[off + 2:off + 2 + n]
                off += 2 + n
                d = DNS(msg)
                q = d.qd[0]
                name = f"dns_tcp_{'r' if d.qr else 'q'}_{q.qname.decode().rstrip('.')}_{q.qtype}"
                if name not in out:
                    put(name, msg, label, frames, f"DNS over TCP {'response' if d.qr else 'query'} (message without its 2-byte length)")
    return out

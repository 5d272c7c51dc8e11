"""Writes the per-capture list of captures/README.md (between the markers) from the table below,
the file sizes and the names tshark finds (lib/names.py over expected-tshark/)."""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = [
    ("mail-open-gateway.pcap", "record.sh `gateway` (offloads off)",
     "the full scenario as a home gateway sees it: mail access → mail open with 5 tracker pixels (one cloaked, "
     "one leaking an MD5 of the address over plain HTTP) → browsing analytics outside the mail context → dig "
     "UDP/TCP; Chromium ClientHellos in 2 TCP segments; Ethernet, IPv4+IPv6"),
    ("mail-open-laptop.pcap", "record.sh `laptop` (offloads on)",
     "same scenario, ClientHellos in single >MTU TSO frames"),
    ("sll2.pcap", "record.sh `sll2`: `tcpdump -i any -y LINUX_SLL2` in pwc, `curl http://www.example.org/index.html`",
     "link type 276 (Linux cooked v2, both directions, ARP too): DNS A+AAAA lookup and an HTTP request"),
    ("src/sources.pcap", "record.sh `sources`: s_client to 993/465, curl to 8443, dig +tcp ×3",
     "craft material (real bytes); also a plain capture of TLS on non-443 ports and DNS over TCP",
     "SNI: outlook.office365.com (993), smtp.gmail.com (465), cdn.shop-example.fr (8443); DNS over TCP q+a: "
     "static.shop-example.fr A (2-hop CNAME chain → 10.99.0.9), www.google-analytics.com AAAA (fd99::2), "
     "x1ab2.mjt.lu A (10.99.0.6) (tshark verify output of record.sh)"),
    ("tls-split-ooo.pcap", "craft.py `tls_split_ooo` (Chromium CH of www.google-analytics.com)",
     "handshake, then the ~2 KB ClientHello in 3 segments delivered 2nd, 3rd, 1st, then the 1st again "
     "(retransmission 200 ms later); needs out-of-order TCP reassembly"),
    ("tls-record-split.pcap", "craft.py `tls_record_split`",
     "flow 1: Chromium CH handshake message re-framed in 11 TLS records of ≤200 bytes, the record stream cut "
     "in 1448-byte segments (records straddle segments); flow 2: curl CH in 3 records all in ONE segment"),
    ("tls-ports.pcap", "craft.py `tls_ports` (openssl s_client ×2, curl CHs from sources)",
     "ClientHello on 993 (IMAPS), 465 (SMTPS), 8443: SNI on ports other than 443"),
    ("dns-tcp.pcap", "craft.py `dns_tcp` (dig +tcp queries / dnsmasq answers)",
     "DNS over TCP: 2 queries in one segment and 2 responses in one segment (one a 2-hop CNAME chain); a "
     "response split mid-message; a response split inside its 2-byte length prefix (1 byte + rest)"),
    ("vlan-qinq-pppoe.pcap", "craft.py `vlan_qinq_pppoe`",
     "DNS query+response and TCP handshake+ClientHello behind 802.1Q (VLAN 10), behind QinQ (0x88a8 S-tag 100 "
     "+ C-tag 10), and in a PPPoE session (0x8864, id 0x2a17) behind QinQ (IPv4 with a 2-segment Chromium "
     "CH at MSS 1452, plus an IPv6 DNS exchange, PPP 0x0057)"),
    ("null-loopback.pcap", "craft.py `loopback`",
     "link type 0 (BSD NULL, AF in little-endian host order): AF 2 DNS + HTTP on 127.0.0.1; IPv6 with AF 30 "
     "(macOS, DNS), AF 24 (Net/OpenBSD, HTTP flow) and AF 28 (FreeBSD, one ACK)"),
    ("loop.pcap", "craft.py `loopback`",
     "link type 108 (OpenBSD LOOP, AF big-endian), same packets and AF values as null-loopback.pcap"),
    ("frag-v4.pcap", "craft.py `frag_v4` (dnsmasq query; response enlarged: CNAME + 4 A + EDNS Padding)",
     "IPv4 fragments: ~3 KB DNS response in 3 fragments sent 1st, 3rd, 2nd; an HTTP request TCP segment "
     "(Chromium's weborama request) in 3 fragments sent 2nd, 1st, 3rd"),
    ("frag-v6.pcap", "craft.py `frag_v6`",
     "IPv6 Fragment header: ~3 KB DNS responses in 3 fragments, sent 2nd,1st,3rd, and (with a Hop-by-Hop "
     "header before the Fragment header) 3rd,2nd,1st; answers AAAA behind 1- and 2-hop CNAME chains"),
    ("http-pipelined.pcap", "craft.py `http_pipelined` (IPv6, port 8080)",
     "4 pipelined requests in one keep-alive flow: head 1 split inside the Host line over 2 segments; "
     "`Host: www.example.org:8080`, `Host: [fd99::2]:8080`, a POST whose body contains "
     "`GET /fake HTTP/1.1\\r\\nHost: evil.example` (NOT a request), then a real request after the body; "
     "a response body holds `GET /fake2 … Host: evil2.example` (server→client, never a request)"),
    ("raw-ip.pcap", "craft.py `raw_ip`", "link type 101 (LINKTYPE_RAW): IPv4 and IPv6 DNS exchanges"),
    ("raw-ip-dlt12.pcap", "craft.py `raw_ip`", "link type 12 (DLT_RAW as OpenBSD writes it): same packets"),
    ("raw-ipv6.pcap", "craft.py `raw_ip`", "link type 229 (LINKTYPE_IPV6): two IPv6 DNS exchanges"),
    ("pcap-be-nsec.pcap", "craft.py `file_formats`",
     "file format: big-endian pcap with nanosecond magic (a1b23c4d), one DNS exchange"),
    ("multi-if.pcapng", "craft.py `file_formats`",
     "file format: pcapng, 2 interfaces (Ethernet with if_tsresol 10^-9; raw IP at 10^-6), packet comments; "
     "DNS on both, a TLS ClientHello (993) on the raw-IP one"),
]


def main():
    names = {}
    out = subprocess.run([sys.executable, os.path.join(HERE, "lib", "names.py")], capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = re.match(r"- \*\*(.+?)\*\* — (.*)", line)
        if m:
            names[m.group(1)] = m.group(2)
    lines = []
    for f, how, proves, *fixed in ROWS:
        size = os.path.getsize(os.path.join(HERE, f))
        key = os.path.basename(f).rsplit(".", 1)[0]
        lines.append(f"- **{f}** ({size} B) — {how} — {proves} — names: {fixed[0] if fixed else names[key]}")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

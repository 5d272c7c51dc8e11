"""Prints, per capture, the names tshark finds in it (from expected-tshark/*.jsonl, written by
/work/shared/corpus/make_expected.py --pcaps captures --out captures/expected-tshark): the
"names" column of captures/README.md.
Optional argument: another oracle folder (captures/email/expected-tshark for captures/email/README.md)."""
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORACLE = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "expected-tshark")
for path in sorted(glob.glob(os.path.join(ORACLE, "*.jsonl"))):
    qs, ans, sni, http, quic = [], [], [], [], []
    for line in open(path):
        o = json.loads(line)
        k = o["kind"]
        if k == "dns_query" and o["name"] not in qs:
            qs.append(o["name"])
        elif k == "dns_answer":
            a = f'{o["name"]}→{o.get("addr") or o.get("cname")}'
            if a not in ans:
                ans.append(a)
        elif k == "sni" and o["name"] not in sni:
            sni.append(o["name"] + (f' ({o["dport"]})' if o["dport"] != 443 else ""))
        elif k == "quic_sni" and o["name"] not in quic:  # (none in captures/*.pcap: output there unchanged)
            quic.append(o["name"])
        elif k == "http_host" and o["host"] not in http:
            http.append(o["host"])
    name = os.path.basename(path)[:-6]
    parts = []
    if qs:
        parts.append("DNS q: " + ", ".join(qs))
    if ans:
        parts.append("DNS a: " + ", ".join(ans))
    if sni:
        parts.append("SNI: " + ", ".join(sni))
    if quic:
        parts.append("QUIC SNI: " + ", ".join(quic))
    if http:
        parts.append("HTTP Host: " + ", ".join(http))
    print(f"- **{name}** — " + "; ".join(parts))

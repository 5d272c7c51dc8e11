"""Prints, per capture, the names tshark finds in it (from expected-tshark/*.jsonl, written by
/work/shared/corpus/make_expected.py --pcaps captures --out captures/expected-tshark): the
"names" column of captures/README.md."""
import glob
import json
import os

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in sorted(glob.glob(os.path.join(HERE, "expected-tshark", "*.jsonl"))):
    qs, ans, sni, http = [], [], [], []
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
    if http:
        parts.append("HTTP Host: " + ", ".join(http))
    print(f"- **{name}** — " + "; ".join(parts))

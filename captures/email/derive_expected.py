#!/usr/bin/env python3
"""captures/email/derive_expected.py — writes EXPECTED.md and expected-opens.json for the captures of
record_opens.sh, FROM THE CAPTURES (tshark), not from the script's intention.

The recorder's timeline (<capture>.timeline.jsonl: which client did what, wall-clock) only says which
phase a packet belongs to; every time, frame, name, address and host name written out comes from
tshark. Trackers are classified with pixelwatch's own list (src/trackers/default-list.tsv, longest
label-boundary suffix). The script then CHECKS the scenario against PRODUCT.md's open rule
(per-client bursts, --open-gap 3 s, --mail-context 30 s) and fails if the capture does not show what
it is supposed to (a gap inside an open, mail context missing, a quiet minute shorter than 60 s...).

Usage: python3 captures/email/derive_expected.py   (needs tshark; ~5 s)
"""
import datetime
import hashlib
import json
import os
import subprocess
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
LIST = os.path.join(ROOT, "src", "trackers", "default-list.tsv")
CAPTURES = ["mail-opens-gateway.pcap", "mail-open-laptop.pcap"]
OPEN_GAP = 3.0  # PRODUCT.md --open-gap default
MAIL_CONTEXT = 30.0  # PRODUCT.md --mail-context default
MAIL_PORTS = {143, 993, 110, 995, 587, 465}
WATCHED = "myemailaddress@example.com"
TRACKER_CATEGORIES = {"email", "email-sales", "esp-click", "analytics", "advertising"}
CONTEXT_CATEGORIES = {"mail-access", "webmail"}


def load_list():
    entries = {}
    with open(LIST, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            entries[cols[0]] = (cols[1], cols[2])
    return entries


LISTED = load_list()


def classify(name):
    """(entry, company, category) of the longest listed suffix on a label boundary, or None."""
    labels = name.lower().rstrip(".").split(".")
    for i in range(len(labels)):
        suffix = ".".join(labels[i:])
        if suffix in LISTED:
            return (suffix,) + LISTED[suffix]
    return None


def tshark(pcap, dfilter, fields):
    cmd = ["tshark", "-n", "-r", pcap, "-o", "tcp.reassemble_out_of_order:TRUE", "-Y", dfilter, "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(fields) - len(cols))
        rows.append(dict(zip(fields, cols)))
    return rows


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Capture:
    def __init__(self, name):
        self.name = name
        self.path = os.path.join(HERE, name)
        self.timeline = [json.loads(l) for l in open(self.path[: -len(".pcap")] + ".timeline.jsonl")]
        first = tshark(self.path, "frame.number==1", ["frame.time_epoch"])
        self.t0 = float(first[0]["frame.time_epoch"])
        cnt = tshark(self.path, "frame", ["frame.number", "frame.time_epoch"])
        self.packets = len(cnt)
        self.t_last = float(cnt[-1]["frame.time_epoch"])
        self.size = os.path.getsize(self.path)
        self.clients = {}  # name -> dict
        self.ip2client = {}
        self.failures = []
        self.checks = []

    def rel(self, t):
        return round(t - self.t0, 6)

    def when(self, t):
        return {"t_rel": self.rel(t), "ts": rfc3339(t), "epoch": round(t, 6)}

    def check(self, ok, text):
        (self.checks if ok else self.failures).append(text)

    # ------------------------------------------------------------ who
    def dhcp(self):
        rows = tshark(self.path, "dhcp", ["frame.number", "frame.time_epoch", "eth.src", "dhcp.option.dhcp",
                                          "dhcp.option.hostname", "dhcp.hw.mac_addr", "dhcp.ip.your",
                                          "dhcp.option.type"])
        names = {}
        for r in rows:
            mac = r["dhcp.hw.mac_addr"].split(",")[0]
            c = self.clients.setdefault(mac, {"mac": mac, "dhcp_frames": [], "options_sent": set()})
            mtype = {"1": "DISCOVER", "2": "OFFER", "3": "REQUEST", "5": "ACK"}.get(r["dhcp.option.dhcp"], r["dhcp.option.dhcp"])
            c["dhcp_frames"].append(f"{r['frame.number']} {mtype}")
            if r["dhcp.option.hostname"] and mtype in ("DISCOVER", "REQUEST"):
                names[mac] = r["dhcp.option.hostname"]
                c["options_sent"] |= {int(x) for x in r["dhcp.option.type"].split(",") if x and x not in ("0", "255")}
            if mtype == "ACK":
                c["ipv4"] = r["dhcp.ip.your"]
                c["ack_frame"] = int(r["frame.number"])
                c["ack"] = self.when(float(r["frame.time_epoch"]))
        for mac, c in self.clients.items():
            c["host_name"] = names.get(mac)
            self.check(c["host_name"] is not None and {12, 61} <= c["options_sent"],
                       f"DHCP of {mac}: host name {c['host_name']!r} (option 12) and client id (option 61) sent")
        v6 = tshark(self.path, "ipv6.src==fd99::/64 && !icmpv6", ["eth.src", "ipv6.src"])
        for r in v6:
            if r["eth.src"] in self.clients:
                self.clients[r["eth.src"]]["ipv6"] = r["ipv6.src"]
        self.clients = {c["host_name"]: c for c in self.clients.values()}
        for n, c in self.clients.items():
            for a in (c.get("ipv4"), c.get("ipv6")):
                if a:
                    self.ip2client[a] = n

    # ------------------------------------------------------------ what
    def observations(self):
        obs = []
        src = lambda r: r.get("ip.src") or r.get("ipv6.src")
        # DNS answers: CNAME chains (for cloaking)
        self.cname = {}
        for r in tshark(self.path, "dns.flags.response==1 && dns.cname", ["dns.resp.name", "dns.cname"]):
            names, targets = r["dns.resp.name"].split(","), r["dns.cname"].split(",")
            for n, t in zip(names, targets):
                self.cname[n.lower()] = t.lower()
        for r in tshark(self.path, "dns.flags.response==0",
                        ["frame.number", "frame.time_epoch", "ip.src", "ipv6.src", "dns.qry.name", "dns.qry.type"]):
            obs.append(dict(frame=int(r["frame.number"]), t=float(r["frame.time_epoch"]), src=src(r),
                            via="dns", name=r["dns.qry.name"].lower(), detail=f"qtype {r['dns.qry.type']}"))
        seen_quic = set()
        for r in tshark(self.path, "tls.handshake.type==1",
                        ["frame.number", "frame.time_epoch", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport",
                         "tcp.dstport", "udp.srcport", "udp.dstport", "tls.handshake.extensions_server_name"]):
            sni = r["tls.handshake.extensions_server_name"].split(",")[0].lower()
            if not sni:
                continue
            if r["udp.dstport"]:
                flow = (src(r), r["udp.srcport"], r["ip.dst"] or r["ipv6.dst"])
                if flow in seen_quic:  # retransmitted Initials of the same connection: one contact
                    continue
                seen_quic.add(flow)
                via, port = "quic", r["udp.dstport"]
            else:
                via, port = "tls", r["tcp.dstport"]
            obs.append(dict(frame=int(r["frame.number"]), t=float(r["frame.time_epoch"]), src=src(r), via=via,
                            name=sni, detail=f"port {port}", dport=int(port)))
        self.http = tshark(self.path, "http.request", ["frame.number", "frame.time_epoch", "ip.src", "ipv6.src",
                                                        "http.host", "http.request.uri", "http.request.method"])
        for r in self.http:
            obs.append(dict(frame=int(r["frame.number"]), t=float(r["frame.time_epoch"]), src=src(r), via="http",
                            name=r["http.host"].lower().split(":")[0], detail=r["http.request.uri"]))
        for o in obs:
            o["client"] = self.ip2client.get(o["src"])
            chain, n = [o["name"]], o["name"]
            while n in self.cname and len(chain) < 10:
                n = self.cname[n]
                chain.append(n)
            hit = classify(o["name"])
            o["cloaked_via"] = None
            if hit is None:
                for target in chain[1:]:
                    hit = classify(target)
                    if hit:
                        o["cloaked_via"] = target
                        break
            o["entry"], o["company"], o["category"] = hit if hit else (None, None, None)
        self.obs = sorted(obs, key=lambda o: (o["t"], o["frame"]))
        # mail flows: client-to-server payload on mail ports
        self.mail_payload = []
        for r in tshark(self.path, "tcp.len>0 && (" + " || ".join(f"tcp.dstport=={p}" for p in sorted(MAIL_PORTS)) + ")",
                        ["frame.number", "frame.time_epoch", "ip.src", "ipv6.src", "tcp.dstport", "tcp.len"]):
            self.mail_payload.append(dict(frame=int(r["frame.number"]), t=float(r["frame.time_epoch"]), src=src(r),
                                          client=self.ip2client.get(src(r)), dport=int(r["tcp.dstport"]),
                                          len=int(r["tcp.len"])))

    def contacts(self, client, t_from, t_to):
        return [o for o in self.obs if o["client"] == client and t_from <= o["t"] <= t_to
                and o["category"] in TRACKER_CATEGORIES]

    def mail_activity(self, client, before):
        """Mail context of `client` strictly before `before`: payload on a mail port, lookups/SNI of mail hosts."""
        acts = [dict(t=m["t"], frame=m["frame"], what=f"{m['len']} bytes client->server on TCP {m['dport']}")
                for m in self.mail_payload if m["client"] == client and m["t"] < before]
        acts += [dict(t=o["t"], frame=o["frame"], what=f"{o['via']} {o['name']} ({o['category']})")
                 for o in self.obs if o["client"] == client and o["t"] < before and o["category"] in CONTEXT_CATEGORIES]
        return sorted(acts, key=lambda a: a["t"])

    # ------------------------------------------------------------ phases
    def phases(self):
        ph = {}
        for e in self.timeline:
            p = e["phase"]
            if p.endswith("-start"):
                ph[(e["client"], p[:-6])] = {"client": e["client"], "phase": p[:-6], "what": e["what"], "from": e["t"]}
            elif p.endswith("-end"):
                ph[(e["client"], p[:-4])]["to"] = e["t"]
        return sorted((p for p in ph.values() if "to" in p), key=lambda p: p["from"])

    def contact_list(self, cs):
        out = {}
        for o in cs:
            k = (o["entry"], o["company"], o["category"])
            d = out.setdefault(k, {"tracker": o["entry"], "company": o["company"], "category": o["category"],
                                   "names": [], "via": [], "frames": [], "from": []})
            if o["src"] not in d["from"] and o["via"] != "dns":
                d["from"].append(o["src"])
            if o["name"] not in d["names"]:
                d["names"].append(o["name"])
            if o["via"] not in d["via"]:
                d["via"].append(o["via"])
            if o["cloaked_via"] and "cloaked_via" not in d:
                d["cloaked_via"] = o["cloaked_via"]
            d["frames"].append(o["frame"])
        return sorted(out.values(), key=lambda d: d["frames"][0])

    def burst_checks(self, label, cs):
        gaps = [b["t"] - a["t"] for a, b in zip(cs, cs[1:])]
        mg = max(gaps) if gaps else 0.0
        self.check(mg < OPEN_GAP, f"{label}: one burst, largest gap between tracker contacts {mg:.3f} s < {OPEN_GAP} s")
        return mg

    def derive(self):
        self.dhcp()
        self.observations()
        res = {"capture": self.name, "size_bytes": self.size, "packets": self.packets,
               "first_packet": self.when(self.t0), "last_packet": self.when(self.t_last),
               "params": {"open_gap_s": OPEN_GAP, "mail_context_s": MAIL_CONTEXT},
               "clients": [], "opens": [], "proxied_opens": [], "not_opens": [], "address_leaks": [],
               "timeline": []}
        for n, c in sorted(self.clients.items()):
            res["clients"].append({"host_name": n, "mac": c["mac"], "ipv4": c.get("ipv4"), "ipv6": c.get("ipv6"),
                                   "dhcp_frames": c["dhcp_frames"], "dhcp_options_sent": sorted(c["options_sent"]),
                                   "lease": c.get("ack")})
        for e in self.timeline:
            res["timeline"].append({"t_rel": self.rel(e["t"]), "client": e["client"], "phase": e["phase"], "what": e["what"]})
        phases = self.phases()
        bursts = {}  # client -> list of (from, to) of every phase's tracker contacts
        for p in phases:
            cs = self.contacts(p["client"], p["from"], p["to"] + 0.5)
            proxied = [o for o in self.obs if o["client"] == p["client"] and p["from"] <= o["t"] <= p["to"] + 0.5
                       and o["category"] == "image-proxy"]
            label = f"{p['client']} {p['phase']}"
            if p["phase"].startswith("open"):
                self.check(bool(cs), f"{label}: tracker contacts seen")
                if not cs:
                    continue
                start, end = cs[0]["t"], cs[-1]["t"]
                mg = self.burst_checks(label, cs)
                ctx = [a for a in self.mail_activity(p["client"], start) if start - a["t"] <= MAIL_CONTEXT]
                email = [o for o in cs if o["category"] == "email"]
                self.check(bool(ctx) and bool(email),
                           f"{label}: email-category tracker present and mail activity {start - ctx[-1]['t']:.3f} s before the burst" if ctx else f"{label}: mail context")
                quic = [o for o in cs if o["via"] == "quic"]
                last_pkt = end
                if quic:
                    q = tshark(self.path, f"quic && ip.src=={quic[0]['src']}" if "." in quic[0]["src"] else f"quic && ipv6.src=={quic[0]['src']}",
                               ["frame.time_epoch"])
                    last_pkt = max(last_pkt, max(float(r["frame.time_epoch"]) for r in q if p["from"] <= float(r["frame.time_epoch"]) <= p["to"] + 0.5))
                res["opens"].append({
                    "client": {"host_name": p["client"], **{k: self.clients[p["client"]].get(k) for k in ("ipv4", "ipv6", "mac")}},
                    "mail": p["what"], "start": self.when(start), "end": self.when(end),
                    "first_frame": cs[0]["frame"], "last_frame": cs[-1]["frame"], "largest_gap_s": round(mg, 6),
                    "last_related_packet": self.when(last_pkt),
                    "trackers": self.contact_list(cs),
                    "context": {"kind": "imap flow", "last_mail_activity_before": {**self.when(ctx[-1]["t"]), "frame": ctx[-1]["frame"], "what": ctx[-1]["what"]},
                                "seconds_before_burst": round(start - ctx[-1]["t"], 6),
                                "mail_activity_within_context": [{"frame": a["frame"], "t_rel": self.rel(a["t"]), "what": a["what"]} for a in ctx]} if ctx else None,
                    "contacts": [{"frame": o["frame"], "t_rel": self.rel(o["t"]), "via": o["via"], "name": o["name"],
                                  "detail": o["detail"], "tracker": o["entry"], "category": o["category"]} for o in cs],
                })
                bursts.setdefault(p["client"], []).append((start, end))
            elif p["phase"] == "webmail":
                self.check(bool(proxied), f"{label}: image-proxy fetch seen")
                wm = [o for o in self.obs if o["client"] == p["client"] and p["from"] <= o["t"] <= p["to"]
                      and o["category"] == "webmail"]
                self.check(not cs, f"{label}: no tracker contacted by the client (the proxy fetched the image)")
                if proxied and wm:
                    res["proxied_opens"].append({
                        "client": {"host_name": p["client"], **{k: self.clients[p["client"]].get(k) for k in ("ipv4", "ipv6", "mac")}},
                        "start": self.when(proxied[0]["t"]), "end": self.when(proxied[-1]["t"]),
                        "proxy": classify(proxied[0]["name"])[0], "proxy_company": classify(proxied[0]["name"])[1],
                        "proxy_names": sorted({o["name"] for o in proxied}),
                        "proxy_frames": [o["frame"] for o in proxied],
                        "context": {"kind": "webmail then image proxy",
                                    "webmail": {**self.when(wm[0]["t"]), "frame": wm[0]["frame"], "name": wm[0]["name"], "via": wm[0]["via"]},
                                    "seconds_webmail_to_proxy": round(proxied[0]["t"] - wm[0]["t"], 6)},
                        "trackers": [],
                    })
                    self.check(0 < proxied[0]["t"] - wm[0]["t"] <= MAIL_CONTEXT,
                               f"{label}: proxy fetch {proxied[0]['t'] - wm[0]['t']:.3f} s after the webmail (within {MAIL_CONTEXT} s)")
            elif p["phase"] == "browse":
                self.check(bool(cs), f"{label}: tracker contacts seen")
                if not cs:
                    continue
                start, end = cs[0]["t"], cs[-1]["t"]
                mg = self.burst_checks(label, cs)
                acts = self.mail_activity(p["client"], start)
                last = acts[-1] if acts else None
                ok = last is None or start - last["t"] > MAIL_CONTEXT
                self.check(ok, f"{label}: no mail activity within {MAIL_CONTEXT} s before (last: "
                           + (f"{start - last['t']:.3f} s before, frame {last['frame']})" if last else "none)"))
                email = [o for o in cs if o["category"] == "email"]
                self.check(not email, f"{label}: no email-category tracker")
                res["not_opens"].append({
                    "client": {"host_name": p["client"], **{k: self.clients[p["client"]].get(k) for k in ("ipv4", "ipv6", "mac")}},
                    "activity": p["what"], "start": self.when(start), "end": self.when(end),
                    "must_not_be_an_open": True,
                    "why": ("no mail activity of this client before it" if last is None else
                            f"last mail activity of this client {start - last['t']:.1f} s before (> {MAIL_CONTEXT:.0f} s), frame {last['frame']}: {last['what']}")
                           + "; no email-category tracker",
                    "trackers": self.contact_list(cs),
                })
                bursts.setdefault(p["client"], []).append((start, end))
        # bursts of one client are separated by more than the open gap; alice's quiet minute
        for client, bs in bursts.items():
            bs.sort()
            for (a0, a1), (b0, b1) in zip(bs, bs[1:]):
                self.check(b0 - a1 >= OPEN_GAP, f"{client}: bursts {self.rel(a0):.1f}s and {self.rel(b0):.1f}s separated by {b0 - a1:.3f} s >= {OPEN_GAP} s")
        opens_a = [o for o in res["opens"]]
        browse_a = [o for o in res["not_opens"] if o["client"]["host_name"] == "alice-laptop"]
        if opens_a and browse_a:
            quiet = browse_a[0]["start"]["epoch"] - opens_a[-1]["last_related_packet"]["epoch"]
            between = [o for o in self.obs if o["client"] == "alice-laptop" and o["category"] in TRACKER_CATEGORIES
                       and opens_a[-1]["end"]["epoch"] < o["t"] < browse_a[0]["start"]["epoch"]]
            pay = [m for m in self.mail_payload if m["client"] == "alice-laptop"
                   and opens_a[-1]["end"]["epoch"] < m["t"] < browse_a[0]["start"]["epoch"]]
            self.check(quiet >= 60 and not between and not pay,
                       f"alice quiet minute: {quiet:.3f} s without tracker contact or IMAP payload (>= 60 s)")
            res["quiet_minute_s"] = round(quiet, 3)
        # stray tracker contacts outside every phase
        inside = lambda o: any(o["client"] == p["client"] and p["from"] <= o["t"] <= p["to"] + 0.5 for p in phases)
        stray = [o for o in self.obs if o["category"] in TRACKER_CATEGORIES and not inside(o)]
        self.check(not stray, f"no tracker contact outside the scenario's phases ({len(stray)})")
        # address leaks: every watched form in plain-HTTP request targets (percent-decoded)
        forms = {"plain": WATCHED, "md5": hashlib.md5(WATCHED.encode()).hexdigest(),
                 "sha1": hashlib.sha1(WATCHED.encode()).hexdigest(), "sha256": hashlib.sha256(WATCHED.encode()).hexdigest()}
        for r in self.http:
            target = urllib.parse.unquote(urllib.parse.unquote(r["http.request.uri"])).lower()
            for enc, v in forms.items():
                if v.lower() in target:
                    host = r["http.host"].lower()
                    entry = classify(host)
                    param = next((k for k, vals in urllib.parse.parse_qs(urllib.parse.urlsplit(target).query).items()
                                  if any(v.lower() in x for x in vals)), None)
                    t = float(r["frame.time_epoch"])
                    cl = self.ip2client.get(r["ip.src"] or r["ipv6.src"])
                    res["address_leaks"].append({
                        "client": {"host_name": cl, **{k: self.clients[cl].get(k) for k in ("ipv4", "ipv6", "mac")}},
                        "frame": int(r["frame.number"]), **self.when(t), "host": host,
                        "tracker": entry[0] if entry else None, "company": entry[1] if entry else None,
                        "encoding": "md5" if enc == "md5" else enc, "case": "lower hex" if enc != "plain" else None,
                        "field": "http request target (query)", "path": urllib.parse.urlsplit(target).path,
                        "parameter": param, "method": r["http.request.method"],
                        "watched_address": WATCHED})
        return res


def md_when(w):
    return f"{w['t_rel']:.3f} s ({w['ts']})"


def markdown(res, cap):
    L = [f"## {res['capture']}", "",
         f"{res['size_bytes']} bytes, {res['packets']} packets, first packet {res['first_packet']['ts']} "
         f"(epoch {res['first_packet']['epoch']}), last {res['last_packet']['t_rel']:.3f} s later. "
         "Times below: seconds after the first packet (tshark `frame.time_relative`), then capture time (UTC).", "",
         "### Clients (from the DHCP exchange in the capture)", "",
         "| host name (option 12) | MAC = client id (option 61) | IPv4 (DHCPACK yiaddr) | IPv6 (static) | DHCP frames | options sent |",
         "|---|---|---|---|---|---|"]
    for c in res["clients"]:
        L.append(f"| {c['host_name']} | {c['mac']} | {c['ipv4']} | {c['ipv6']} | {', '.join(c['dhcp_frames'])} | {', '.join(map(str, c['dhcp_options_sent']))} |")
    L += ["", "### E-mail opens (each MUST be exactly one `email_open`)", ""]
    for i, o in enumerate(res["opens"], 1):
        c = o["client"]
        L.append(f"{i}. **{c['host_name']}** ({c['ipv4']}, {c['ipv6']}, {c['mac']}) — {o['mail']}")
        L.append(f"   - window: {md_when(o['start'])} → {md_when(o['end'])} (frames {o['first_frame']}–{o['last_frame']}; "
                 f"largest gap {o['largest_gap_s']:.3f} s); last related packet {o['last_related_packet']['t_rel']:.3f} s")
        ctx = o["context"]
        if ctx:
            m = ctx["last_mail_activity_before"]
            L.append(f"   - context: {ctx['kind']} — frame {m['frame']} at {m['t_rel']:.3f} s, {m['what']} "
                     f"({ctx['seconds_before_burst']:.3f} s before the burst); all mail activity in the {MAIL_CONTEXT:.0f} s before: frames "
                     + ", ".join(dict.fromkeys(str(a["frame"]) for a in ctx["mail_activity_within_context"])))
        for t in o["trackers"]:
            cl = f", cloaked: CNAME → {t['cloaked_via']}" if t.get("cloaked_via") else ""
            L.append(f"   - {t['company']} — `{t['tracker']}` ({t['category']}) via {'/'.join(t['via'])}: "
                     f"{', '.join(t['names'])}{cl}; frames {', '.join(map(str, t['frames']))}; "
                     f"DNS over IPv4, connection from {', '.join(t['from']) or '-'}")
    if res["proxied_opens"]:
        L += ["", "### Proxied opens (tracker invisible: only the image proxy is contacted)", ""]
        for o in res["proxied_opens"]:
            c, ctx = o["client"], o["context"]
            L.append(f"- **{c['host_name']}** ({c['ipv4']}, {c['ipv6']}, {c['mac']}): webmail {ctx['webmail']['name']} "
                     f"({ctx['webmail']['via']}, frame {ctx['webmail']['frame']}, {ctx['webmail']['t_rel']:.3f} s), then "
                     f"{o['proxy_company']} `{o['proxy']}` {md_when(o['start'])} → {md_when(o['end'])} (frames "
                     f"{', '.join(map(str, o['proxy_frames']))}), {ctx['seconds_webmail_to_proxy']:.3f} s after the webmail. "
                     "No tracker contacted by the client: a proxied image fetch (`pixelwatch_proxied_image_fetches_total`).")
    if res["not_opens"]:
        L += ["", "### Tracker activity that must NOT be an open", ""]
        for o in res["not_opens"]:
            c = o["client"]
            tr = "; ".join(f"{t['company']} `{t['tracker']}` ({t['category']}, {'/'.join(t['via'])}: {', '.join(t['names'])})" for t in o["trackers"])
            L.append(f"- **{c['host_name']}** ({c['ipv4']}, {c['ipv6']}): {o['activity']} — {md_when(o['start'])} → "
                     f"{md_when(o['end'])}: MUST NOT be an open ({o['why']}). Contacts: {tr}")
    if res["address_leaks"]:
        L += ["", "### Address leaks (`--watch-address " + WATCHED + "`)", ""]
        for a in res["address_leaks"]:
            L.append(f"- {a['client']['host_name']} ({a['client']['ipv4']}) → {a['company']} `{a['tracker']}` ({a['host']}), "
                     f"encoding **{a['encoding']}** ({a['case']}), field: {a['field']} of `{a['path']}`, parameter `{a['parameter']}`, "
                     f"{a['method']} frame {a['frame']} at {a['t_rel']:.3f} s ({a['ts']})")
    if "quiet_minute_s" in res:
        L += ["", f"alice's quiet minute: {res['quiet_minute_s']:.3f} s between her last open's last packet and her browsing."]
    L += ["", "### Timeline (the recorder's phases, capture clock)", "", "| t (s) | client | phase | what |", "|---|---|---|---|"]
    for e in res["timeline"]:
        L.append(f"| {e['t_rel']:.3f} | {e['client']} | {e['phase']} | {e['what']} |")
    L += ["", "### Checks (derive_expected.py, against PRODUCT.md's rule: --open-gap 3 s, --mail-context 30 s)", ""]
    L += [f"- ok: {c}" for c in cap.checks]
    L += [f"- FAILED: {c}" for c in cap.failures]
    return "\n".join(L) + "\n"


def main():
    results, md, failed = {}, [], False
    for name in CAPTURES:
        if not os.path.exists(os.path.join(HERE, name)):
            print(f"missing {name}", file=sys.stderr)
            failed = True
            continue
        cap = Capture(name)
        res = cap.derive()
        results[name] = res
        md.append(markdown(res, cap))
        for f in cap.failures:
            print(f"{name}: FAILED: {f}", file=sys.stderr)
            failed = True
        print(f"{name}: {len(res['opens'])} opens, {len(res['proxied_opens'])} proxied, {len(res['not_opens'])} not opens, "
              f"{len(res['address_leaks'])} leaks, {len(cap.checks)} checks ok, {len(cap.failures)} failed", file=sys.stderr)
    head = ("# Expected e-mail opens (derived from the captures by derive_expected.py — do not edit by hand)\n\n"
            "Written by `python3 captures/email/derive_expected.py` from tshark's view of each capture (frames, times,\n"
            "names, DHCP host names) and pixelwatch's tracker list `src/trackers/default-list.tsv` (company, category).\n"
            "Machine-readable: `expected-opens.json` (same content). Rule checked: PRODUCT.md \"What an e-mail was\n"
            "opened means\" with the defaults `--open-gap 3` and `--mail-context 30`.\n\n"
            "Client identity: each device here is dual-stack (DHCP IPv4 + static IPv6, one MAC). Every DNS query goes\n"
            "over IPv4 (the DHCP resolver), the IMAPS session is IPv4, but Chromium connects over IPv6 where a name has\n"
            "an AAAA record (\"connection from\" below). With `--client-label mac` each device is ONE client and each\n"
            "mail is exactly one open. With the default client = IP, the open is on the IPv4 address (it has the mail\n"
            "context and all trackers via DNS); the same second's IPv6 connections (Google Analytics, Eulerian) come\n"
            "from another \"client\" that has neither mail context nor an email-category tracker: they must NOT make a\n"
            "second open. Either way: exactly one `email_open` per mail below, none for the browsing.\n\n")
    with open(os.path.join(HERE, "EXPECTED.md"), "w", encoding="utf-8") as f:
        f.write(head + "\n".join(md))
    with open(os.path.join(HERE, "expected-opens.json"), "w", encoding="utf-8") as f:
        json.dump({"generated_by": "captures/email/derive_expected.py", "watched_address": WATCHED,
                   "captures": results}, f, indent=1, sort_keys=False)
        f.write("\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

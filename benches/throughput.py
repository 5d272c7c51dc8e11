#!/usr/bin/env python3
"""Replay throughput and memory benchmark (not a timed test: prints numbers, asserts counts).

    python3 benches/throughput.py                       # 1 M packets, default binary
    python3 benches/throughput.py --packets 200000 --runs 5
    python3 benches/throughput.py --pcap my.pcap --no-truth

Generates the capture with ../shared/bench/gen_traffic.py when it is missing, then, in the same
run (machines here are shared and noisy: only compare numbers measured together):
  * libpcap's read floor: `tcpdump -r FILE -w /dev/null` (when tcpdump is installed),
  * `pixelwatch replay --summary none FILE` (throughput: median wall time, packets/s, peak RSS),
  * `ndpiReader -q -i FILE` (Debian libndpi-bin; when installed),
  * `tshark -r FILE -T fields` extracting the same names (DNS query, TLS SNI, QUIC SNI via the TLS
    field, HTTP Host; when installed; `--slow-runs` times, default 1: it is ~80 x slower),
  * one `pixelwatch replay --events-all` run whose per-name counts of TLS SNI, QUIC SNI and HTTP
    Host events, and whose DNS query names, are checked against the generator's truth.json.
Peak RSS comes from wait4()'s rusage of each child process.
"""
import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_measured(cmd, stdout=subprocess.DEVNULL):
    """Runs cmd; returns (wall seconds, peak RSS in KiB, exit status)."""
    with tempfile.TemporaryFile() as errf:  # a file, not a pipe: a chatty child cannot block
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=errf)
        _, status, rusage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        errf.seek(0)
        err = errf.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err}")
    return wall, rusage.ru_maxrss, proc.returncode


def count_packets(pcap):
    out = subprocess.run(["capinfos", "-c", "-M", pcap], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if "Number of packets" in line:
            return int(line.split(":")[1].strip())
    return None


def check_truth(events_path, truth_path):
    truth = json.load(open(truth_path))
    got = {k: collections.Counter() for k in ("dns_query", "tls_sni", "quic_sni", "http_host")}
    with open(events_path) as f:
        for line in f:
            o = json.loads(line)
            k = o.get("kind")
            if k == "dns_query" and o.get("qr") == 0:
                got[k][o["name"]] += 1
            elif k in got and k != "dns_query":
                got[k][o["name"]] += 1
    ok = True
    for kind in ("tls_sni", "quic_sni", "http_host"):
        want = collections.Counter(truth.get(kind, {}))
        if want != got[kind]:
            ok = False
            diff = {n: (want.get(n, 0), got[kind].get(n, 0)) for n in set(want) | set(got[kind])
                    if want.get(n, 0) != got[kind].get(n, 0)}
            print(f"  {kind}: MISMATCH on {len(diff)} names (truth, got): {dict(list(diff.items())[:8])}")
        else:
            print(f"  {kind}: {sum(want.values())} events over {len(want)} names, per-name counts equal truth")
    want_names = set(truth.get("dns_query", {}))
    got_names = set(got["dns_query"])
    if want_names != got_names:
        ok = False
        print(f"  dns_query: names differ: missing {sorted(want_names - got_names)[:8]}, "
              f"extra {sorted(got_names - want_names)[:8]}")
    else:
        counts_equal = collections.Counter(truth["dns_query"]) == got["dns_query"]
        print(f"  dns_query: {len(want_names)} names match"
              f"{' (and per-name query counts equal truth)' if counts_equal else ''}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/pixelwatch"))
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--pcap", help="capture to replay (default: generated bench-<N>.pcap in the temp dir)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs of each command (median reported)")
    ap.add_argument("--slow-runs", type=int, default=1, help="timed runs of ndpiReader and tshark")
    ap.add_argument("--no-others", action="store_true", help="skip ndpiReader and tshark")
    ap.add_argument("--no-truth", action="store_true", help="skip the count check against truth.json")
    a = ap.parse_args()

    if not os.access(a.binary, os.X_OK):
        sys.exit(f"no binary at {a.binary}: run `cargo build --release` first")
    pcap = a.pcap or os.path.join(tempfile.gettempdir(), f"pixelwatch-bench-{a.packets}.pcap")
    truth = pcap + ".truth.json"
    if not os.path.exists(pcap):
        gen = os.path.join(ROOT, "..", "shared", "bench", "gen_traffic.py")
        if not os.path.exists(gen):
            sys.exit(f"{pcap} is missing and {gen} is not there to generate it")
        print(f"generating {pcap} ({a.packets} packets)...", flush=True)
        subprocess.run([sys.executable, gen, "--packets", str(a.packets), "--out", pcap], check=True)
    packets = count_packets(pcap) if shutil.which("capinfos") else a.packets
    size = os.path.getsize(pcap)
    print(f"capture: {pcap}: {packets} packets, {size / 1e6:.0f} MB")

    def timed(name, cmd, runs):
        walls, rss = [], []
        for _ in range(runs):
            w, r, _ = run_measured(cmd)
            walls.append(w)
            rss.append(r)
        rows.append((name, statistics.median(walls), max(rss), runs))

    rows = []
    if shutil.which("tcpdump"):
        timed("tcpdump -r (libpcap floor)", ["tcpdump", "-r", pcap, "-w", "/dev/null"], a.runs)
    timed("pixelwatch replay", [a.binary, "replay", "--summary", "none", "--no-progress", pcap], a.runs)
    if not a.no_others and shutil.which("ndpiReader"):
        timed("ndpiReader -q", ["ndpiReader", "-q", "-i", pcap], a.slow_runs)
    if not a.no_others and shutil.which("tshark"):
        fields = ["dns.qry.name", "tls.handshake.extensions_server_name", "http.host"]
        cmd = ["tshark", "-n", "-r", pcap, "-T", "fields"] + [x for f in fields for x in ("-e", f)]
        cmd += ["-Y", " or ".join(fields)]
        timed("tshark -T fields", cmd, a.slow_runs)
    floor = rows[0][1] if rows[0][0].startswith("tcpdump") else None
    print(f"\n{'command':<30} {'runs':>4} {'wall s':>8} {'Mpkt/s':>8} {'x floor':>8} {'peak RSS':>10}")
    for name, wall, peak, runs in rows:
        ratio = f"{wall / floor:.2f}" if floor else "-"
        peak_s = f"{peak / 1024:.1f} MiB" if peak else "-"
        print(f"{name:<30} {runs:>4} {wall:>8.3f} {packets / wall / 1e6:>8.2f} {ratio:>8} {peak_s:>10}")

    if a.no_truth or not os.path.exists(truth):
        return
    with tempfile.TemporaryDirectory() as d:
        events = os.path.join(d, "events.jsonl")
        w, r, _ = run_measured([a.binary, "replay", "--summary", "none", "--no-progress", "--events-all",
                                "--events", events, pcap])
        print(f"\nwith --events-all: {w:.3f} s, peak RSS {r / 1024:.1f} MiB; counts vs truth.json:")
        ok = check_truth(events, truth)
    if not ok:
        sys.exit("counts differ from truth.json")


if __name__ == "__main__":
    main()

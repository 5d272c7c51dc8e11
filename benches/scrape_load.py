#!/usr/bin/env python3
"""/metrics under load: a long replay serving --listen, with and without 200 scrapers hammering it.

    python3 benches/scrape_load.py                          # bench capture x 90 passes, 200 scrapers
    python3 benches/scrape_load.py --pcap F --passes 40 --scrapers 200 --interval 0.1

Runs `pixelwatch replay --summary json --listen 127.0.0.1:PORT FILE FILE ...` (the capture
repeated `--passes` times, so the replay lasts longer than the load) three times: alone, with
`--scrapers` concurrent HTTP/1.1 keep-alive clients (Python asyncio, one process) scraping
/metrics back to back from the start of the replay to its end (choose `--passes` so that it
lasts at least 30 s), and alone again. Prints the replay's packets/s of each run (from its own
summary: packets / elapsed_seconds), the drop under load against the mean of the two quiet
runs, the CPU time pixelwatch used (all threads), scrapes done, errors (connection failures,
non-200 answers, bodies without pixelwatch_packets_total) and p50/p99/max scrape latency.
The machine's cores are shared by the replay, the server thread and the scrapers: compare
numbers measured together. Not a timed test: it prints numbers.
"""
import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def read_response(reader):
    """One HTTP/1.1 response; returns (status, body). Content-Length or chunked bodies."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            body += await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        body = await reader.read()
    return status, body


def running(proc):
    """True while the child runs (waitid with WNOWAIT: the exit status stays for wait4)."""
    return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None


async def scraper(port, proc, interval, latencies, errors):
    reader = writer = None
    while running(proc):
        if interval and latencies:
            await asyncio.sleep(interval)
        t0 = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n")
            await writer.drain()
            status, body = await read_response(reader)
            if status != 200 or b"pixelwatch_packets_total" not in body:
                errors.append(f"status {status}")
            else:
                latencies.append(time.perf_counter() - t0)
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            if not running(proc):
                break  # the replay ended during this scrape
            if writer is None and not latencies:
                await asyncio.sleep(0.05)  # the server is not listening yet
                continue
            errors.append(type(e).__name__)
            if writer is not None:
                writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def load(port, proc, scrapers, interval):
    latencies, errors = [], []
    # Wait until the server answers.
    for _ in range(200):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            break
        except OSError:
            await asyncio.sleep(0.02)
    await asyncio.gather(*(scraper(port, proc, interval, latencies, errors) for _ in range(scrapers)))
    return latencies, errors


def replay(binary, pcap, passes, scrapers, interval):
    port = free_port()
    cmd = [binary, "replay", "--no-progress", "--summary", "json", "--listen", f"127.0.0.1:{port}"]
    cmd += [pcap] * passes
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        latencies, errors = [], []
        if scrapers:
            latencies, errors = asyncio.run(load(port, proc, scrapers, interval))
        _, status, rusage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace")
        if proc.returncode != 0:
            sys.exit(f"replay failed ({proc.returncode}): {err}")
        out.seek(0)
        summary = json.load(out)
    cpu = rusage.ru_utime + rusage.ru_stime
    return summary["packets"] / summary["elapsed_seconds"], summary["elapsed_seconds"], cpu, latencies, errors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/pixelwatch"))
    ap.add_argument("--pcap", default=os.path.join(tempfile.gettempdir(), "pixelwatch-bench-1000000.pcap"))
    ap.add_argument("--passes", type=int, default=90, help="times the capture is replayed in one run")
    ap.add_argument("--scrapers", type=int, default=200)
    ap.add_argument("--interval", type=float, default=0.0,
                    help="seconds each scraper waits between two scrapes (default: back to back)")
    a = ap.parse_args()
    if not os.path.exists(a.pcap):
        sys.exit(f"{a.pcap} is missing: run benches/throughput.py once (it generates it), or pass --pcap")
    rows = []
    for label, n in (("quiet", 0), (f"{a.scrapers} scrapers", a.scrapers), ("quiet", 0)):
        print(f"replay x{a.passes}, {label}...", flush=True)
        rows.append((label,) + replay(a.binary, a.pcap, a.passes, n, a.interval))
    quiet = statistics.mean([rows[0][1], rows[2][1]])
    print(f"\n{'run':<14} {'Mpkt/s':>8} {'wall s':>8} {'vs quiet':>9} {'CPU s':>7} {'scrapes':>8} {'errors':>7} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    for label, pps, wall, cpu, lat, errs in rows:
        vs = f"{(pps / quiet - 1) * 100:+.1f} %"
        if lat:
            q = statistics.quantiles(lat, n=100)
            p50, p99, mx = f"{q[49] * 1e3:.1f}", f"{q[98] * 1e3:.1f}", f"{max(lat) * 1e3:.1f}"
        else:
            p50 = p99 = mx = "-"
        print(f"{label:<14} {pps / 1e6:>8.2f} {wall:>8.1f} {vs:>9} {cpu:>7.1f} {len(lat):>8} {len(errs):>7} {p50:>7} {p99:>7} {mx:>7}")
        if errs:
            print(f"  errors: {sorted(set(errs))[:5]}")


if __name__ == "__main__":
    main()

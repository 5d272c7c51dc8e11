#!/bin/bash
# Live capture drops: pixelwatch and tcpdump capture the same veth while tcpreplay --topspeed
# replays the bench capture onto the other end; prints what each received and dropped (pcap
# stats). Needs root, iproute2, tcpdump and tcpreplay. Everything happens inside a network
# namespace created here (both veth ends in it, no route out): nothing leaves the machine.
#
#   sudo benches/live_drops.sh [CAPTURE]     # default: the bench capture generated with
#                                            # gen_traffic.py --net testhosts (10.99.0.0/16)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/release/pixelwatch}
PCAP=${1:-${TMPDIR:-/tmp}/pixelwatch-bench-testhosts.pcap}
NS=pwdrops$$
PORT=9901
BUFFER_MIB=${BUFFER_MIB:-32}
[ "$(id -u)" = 0 ] || { echo "needs root (network namespace, capture)" >&2; exit 2; }
for t in tcpdump tcpreplay ip curl; do command -v $t >/dev/null || { echo "needs $t" >&2; exit 2; }; done
if [ ! -s "$PCAP" ]; then
    echo "generating $PCAP (1 M packets, test addresses)..." >&2
    python3 "$ROOT/../shared/bench/gen_traffic.py" --packets 1000000 --net testhosts --out "$PCAP"
fi
OUT=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$OUT"
}
trap cleanup EXIT

ip netns add "$NS"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
in_ns ip link add pwtx type veth peer name pwrx
for i in pwtx pwrx; do
    in_ns ip link set "$i" mtu 9000 up # the capture holds frames up to 1514 bytes; no truncation
done

# `ip netns exec` execs the command, so $! is the capturing process itself.
ip netns exec "$NS" "$BIN" live -i pwrx --listen 127.0.0.1:$PORT --buffer-size "$BUFFER_MIB" >/dev/null 2>"$OUT/pw.err" &
PIDS+=($!)
PW=$!
ip netns exec "$NS" tcpdump -i pwrx -B $((BUFFER_MIB * 1024)) -w /dev/null >/dev/null 2>"$OUT/tcpdump.err" &
PIDS+=($!)
TD=$!
for _ in $(seq 50); do # both are capturing once /metrics answers and tcpdump says "listening"
    in_ns curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null 2>&1 && grep -q listening "$OUT/tcpdump.err" && break
    sleep 0.2
done
sleep 1

in_ns timeout 300 tcpreplay --topspeed -i pwtx "$PCAP" >"$OUT/tcpreplay.out" 2>&1
sleep 3 # let both drain their rings; pixelwatch updates pcap stats about once a second
in_ns curl -s "http://127.0.0.1:$PORT/metrics" >"$OUT/metrics"
kill -TERM "$PW" "$TD"
wait "$PW" "$TD" 2>/dev/null || true
PIDS=()

m() { awk -v k="$1" '$1 == k { print $2 }' "$OUT/metrics"; }
sent=$(awk '/Actual:/ { print $2; exit }' "$OUT/tcpreplay.out")
rate=$(grep -o 'Rated: [^)]*' "$OUT/tcpreplay.out" | head -1 || true)
echo "tcpreplay --topspeed: $sent packets sent; $rate"
printf '%-12s %12s %12s %12s\n' tool received "dropped (kernel)" "dropped (if)"
printf '%-12s %12s %12s %12s\n' pixelwatch "$(m pixelwatch_packets_total)" \
    "$(m 'pixelwatch_capture_dropped_packets_total{reason="kernel"}')" \
    "$(m 'pixelwatch_capture_dropped_packets_total{reason="interface"}')"
td_recv=$(grep -o '^[0-9]* packets captured' "$OUT/tcpdump.err" | cut -d' ' -f1)
td_drop=$(grep -o '^[0-9]* packets dropped by kernel' "$OUT/tcpdump.err" | cut -d' ' -f1)
td_if=$(grep -o '^[0-9]* packets dropped by interface' "$OUT/tcpdump.err" | cut -d' ' -f1 || true)
printf '%-12s %12s %12s %12s\n' tcpdump "$td_recv" "$td_drop" "${td_if:-0}"

#!/bin/bash
# Flood benchmark: pixelwatch stays bounded and still reports real traffic under floods.
#
#   benches/floods.sh                  # 1 M packets per flood (DNS: 1 M names = 2 M packets)
#   PACKETS=100000 benches/floods.sh   # smaller
#   FLOODS="syn quic" benches/floods.sh
#
# For each flood (benches/gen_floods.py, deterministic seed; captures are cached in $DIR), runs
# `pixelwatch replay --summary json --metrics-out M FILE` under /usr/bin/time -v and prints:
# peak RSS (bound: 128 MiB), the eviction counters of the table the flood fills, the number of
# metric series in M (bound: $SERIES_CAP), and whether every real contact mixed into the flood
# (google-analytics.com over DNS and TLS, stats.g.doubleclick.net over QUIC, mailtrack.io over HTTP)
# is in the summary. Exits 1 when a bound is broken. Not a timed test: it prints numbers.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/target/release/pixelwatch}
PACKETS=${PACKETS:-1000000}
FLOODS=${FLOODS:-syn quic dns frag}
DIR=${DIR:-${TMPDIR:-/tmp}/pixelwatch-floods}
RSS_CAP_KIB=$((128 * 1024))
SERIES_CAP=${SERIES_CAP:-200}
CONTACTS=8
[ -x "$BIN" ] || { echo "no binary at $BIN: cargo build --release" >&2; exit 2; }
mkdir -p "$DIR"

metric() { # metric FILE NAME{labels} -> value or 0
    awk -v k="$2" '$1 == k { v = $2 } END { print (v == "" ? 0 : v) }' "$1"
}

fail=0
rows=()
for kind in $FLOODS; do
    n=$PACKETS
    [ "$kind" = dns ] && n=$((PACKETS * 2)) # a query and an answer per name
    pcap="$DIR/$kind-$n.pcap"
    if [ ! -s "$pcap" ]; then
        echo "generating $pcap..." >&2
        python3 "$ROOT/benches/gen_floods.py" --kind "$kind" --packets "$n" --contacts $CONTACTS --out "$pcap.tmp"
        mv "$pcap.tmp" "$pcap"
    fi
    m="$DIR/$kind.prom"
    s="$DIR/$kind.summary.json"
    /usr/bin/time -v -o "$DIR/$kind.time" "$BIN" replay --no-progress --summary json --metrics-out "$m" "$pcap" >"$s"
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$DIR/$kind.time")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$DIR/$kind.time")
    pkts=$(metric "$m" pixelwatch_packets_total)
    series=$(grep -vc '^#' "$m")
    case $kind in
        syn) ev="flow timeout=$(metric "$m" 'pixelwatch_flow_evictions_total{reason="timeout"}') capacity=$(metric "$m" 'pixelwatch_flow_evictions_total{reason="capacity"}') memory=$(metric "$m" 'pixelwatch_flow_evictions_total{reason="memory"}')" ;;
        quic) ev="quic timeout=$(metric "$m" 'pixelwatch_quic_evictions_total{reason="timeout"}') capacity=$(metric "$m" 'pixelwatch_quic_evictions_total{reason="capacity"}')" ;;
        dns) ev="names timeout=$(metric "$m" 'pixelwatch_name_cache_evictions_total{reason="timeout"}') capacity=$(metric "$m" 'pixelwatch_name_cache_evictions_total{reason="capacity"}')" ;;
        frag) ev="fragments timeout=$(metric "$m" 'pixelwatch_fragment_evictions_total{reason="timeout"}') capacity=$(metric "$m" 'pixelwatch_fragment_evictions_total{reason="capacity"}')" ;;
    esac
    # Real contacts: each of the mixed-in sessions must be counted, by the way it was made.
    seen=$(python3 - "$s" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
rows = {t["tracker"]: t["via"] for t in s.get("tracker_contacts", [])}
def n(tracker, via):
    return rows.get(tracker, {}).get(via, 0)
# DNS lookups of one name by one client are counted once per lookup window: at least 1.
print(f"ga.dns={n('google-analytics.com', 'dns')} ga.tls={n('google-analytics.com', 'tls')} "
      f"dc.quic={n('stats.g.doubleclick.net', 'quic')} mt.http={n('mailtrack.io', 'http')}")
EOF
)
    ok=yes
    [ "$rss" -le $RSS_CAP_KIB ] || ok="NO (RSS)"
    [ "$series" -le "$SERIES_CAP" ] || ok="NO (series)"
    for part in $seen; do
        case $part in
            ga.dns=*) [ "${part#*=}" -ge 1 ] || ok="NO (contacts)" ;;
            *) [ "${part#*=}" -ge $CONTACTS ] || ok="NO (contacts)" ;;
        esac
    done
    [ "$ok" = yes ] || fail=1
    rows+=("$(printf '%-5s %9s %8s %9s %7s  %-52s %-40s %s' "$kind" "$pkts" "$wall" \
        "$((rss / 1024)) MiB" "$series" "$ev" "$seen" "$ok")")
done
printf '\n%-5s %9s %8s %9s %7s  %-52s %-40s %s\n' flood packets wall "peak RSS" series "evictions" "real contacts (DNS >= 1, others >= $CONTACTS)" ok
for r in "${rows[@]}"; do echo "$r"; done
exit $fail

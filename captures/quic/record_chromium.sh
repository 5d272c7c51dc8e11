#!/bin/sh
# Records Chromium's QUIC client Initials in two private network namespaces joined by a veth
# pair. The "server" (10.99.1.2) is a silent UDP sink on port 443: nothing answers, nothing is
# refused (no ICMP), so Chromium sends its whole first flight and then retransmits it.
# Usage: record_chromium.sh OUT.pcap HOST [SECONDS]     (root; traffic never leaves the namespaces)
set -eu
out=$1
host=$2
secs=${3:-8}
c=pwq-c
s=pwq-s
cleanup() {
    [ -n "${sink:-}" ] && kill "$sink" 2>/dev/null || true
    [ -n "${dump:-}" ] && kill "$dump" 2>/dev/null || true
    ip netns del $c 2>/dev/null || true
    ip netns del $s 2>/dev/null || true
}
trap cleanup EXIT
ip netns add $c
ip netns add $s
ip link add pwq-c0 type veth peer name pwq-s0
ip link set pwq-c0 netns $c
ip link set pwq-s0 netns $s
ip -n $c addr add 10.99.1.1/24 dev pwq-c0
ip -n $s addr add 10.99.1.2/24 dev pwq-s0
ip -n $c link set pwq-c0 up
ip -n $s link set pwq-s0 up
ip -n $c link set lo up
ip -n $s link set lo up
ip netns exec $s socat -u UDP-RECV:443 /dev/null &
sink=$!
ip netns exec $s tcpdump -i pwq-s0 -s 0 -U -w "$out" udp port 443 2>/dev/null &
dump=$!
sleep 1
profile=$(mktemp -d)
ip netns exec $c timeout "$secs" chromium --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --enable-quic --origin-to-force-quic-on="$host:443" \
    --host-resolver-rules="MAP $host 10.99.1.2" "https://$host/collect?v=1" >/dev/null 2>&1 || true
rm -rf "$profile"
sleep 1

#!/usr/bin/env bash
# captures/keylog/record.sh — records HTTPS pixel fetches WITH the clients' TLS key logs
# (SSLKEYLOGFILE), in two network namespaces created here and joined by one veth pair. Nothing
# leaves the machine. Each capture is written next to its key log (NAME.pcap + NAME.keylog).
#
#   pwkc "the laptop"    pwkc0  10.98.0.100/16   resolver: dnsmasq below
#   pwks "the Internet"  pwks0  10.98.0.1-.5     dnsmasq (.1), python HTTP/1.1 TLS server (.3),
#                                                 nginx HTTP/2 (.4, .5)
# Usage (root): captures/keylog/record.sh [chromium-h1|chromium-h2|curl-h2|tls12-h1]...  (default: all)
# Offloads (TSO/GSO/GRO, tx checksum) are off on both veths: wire-sized segments.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
NC=pwkc NS=pwks VC=pwkc0 VS=pwks0
HASH=0bc83cb571cd1c50ba6f3e8a78ef1346   # MD5("myemailaddress@example.com")
WORK="" PIDS=()

log() { printf '[keylog %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (network namespaces, tcpdump)"
for t in ip dnsmasq tcpdump tshark nginx openssl curl ethtool /usr/lib/chromium/chromium "$PY"; do
  command -v "$t" >/dev/null || die "missing tool: $t"
done

kill_ns_procs() {
  local ns=$1 p
  ip netns list | grep -qw "^$ns" || return 0
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
}
teardown() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  kill_ns_procs "$NC"; kill_ns_procs "$NS"
  ip netns del "$NC" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "/etc/netns/$NC"
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  teardown
  [ -n "$WORK" ] && [ -z "${KEEP_WORK:-}" ] && rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT INT TERM

setup_net() {
  teardown
  ip netns add "$NS"; ip netns add "$NC"
  ip -n "$NS" link set lo up; ip -n "$NC" link set lo up
  ip netns exec "$NC" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip link add "$VC" netns "$NC" type veth peer name "$VS" netns "$NS"
  ip -n "$NC" link set "$VC" address 02:98:00:00:00:64 mtu 1500
  ip -n "$NS" link set "$VS" address 02:98:00:00:00:01 mtu 1500
  local i
  for i in 1 2 3 4 5; do ip -n "$NS" addr add "10.98.0.$i/16" dev "$VS"; done
  ip -n "$NC" addr add 10.98.0.100/16 dev "$VC"
  ip netns exec "$NC" ethtool -K "$VC" tx off tso off gso off gro off >/dev/null 2>&1 || true
  ip netns exec "$NS" ethtool -K "$VS" tx off tso off gso off gro off >/dev/null 2>&1 || true
  ip -n "$NS" link set "$VS" up; ip -n "$NC" link set "$VC" up
  ip -n "$NC" route add default via 10.98.0.1
  mkdir -p "/etc/netns/$NC"
  printf 'nameserver 10.98.0.1\n' >"/etc/netns/$NC/resolv.conf"
  printf '127.0.0.1 localhost\n' >"/etc/netns/$NC/hosts"
  sleep 0.5
}

make_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj "/CN=pixelwatch keylog test" \
    -addext "subjectAltName=DNS:*.weborama.fr,DNS:*.sendgrid.net,DNS:*.ct.sendgrid.net,DNS:*.google-analytics.com" \
    >/dev/null 2>&1
}

start_servers() {
  ip netns exec "$NS" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
    --listen-address=10.98.0.1 --bind-interfaces --user=root --pid-file="$WORK/dnsmasq.pid" --local=/#/ \
    --host-record=bouyguestelecom.solution.weborama.fr,10.98.0.3 \
    --host-record=u1234.ct.sendgrid.net,10.98.0.4 \
    --host-record=www.google-analytics.com,10.98.0.5 &
  PIDS+=($!)
  # HTTP/1.1 over TLS (ALPN http/1.1 only; TLS 1.2 and 1.3), every path a 1x1 GIF
  ip netns exec "$NS" "$PY" "$HERE/h1_server.py" "$WORK/cert.pem" "$WORK/key.pem" 10.98.0.3 443 \
    >"$WORK/h1.log" 2>&1 &
  PIDS+=($!)
  mkdir -p "$WORK/nginx"
  cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 64; }
http {
  access_log $WORK/nginx/access.log;
  client_body_temp_path $WORK/nginx;
  server {
    listen 10.98.0.4:443 ssl http2;
    listen 10.98.0.5:443 ssl http2;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { empty_gif; add_header Cache-Control no-store; }
  }
}
EOF
  ip netns exec "$NS" nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
  PIDS+=($!)
  local i
  for i in $(seq 50); do
    if ip netns exec "$NS" ss -ltn | grep -q '10.98.0.3:443' && ip netns exec "$NS" ss -ltn | grep -q '10.98.0.4:443'; then
      return 0
    fi
    sleep 0.1
  done
  die "servers did not start: $(cat "$WORK/h1.log" "$WORK/nginx/error.log" 2>/dev/null)"
}

CAP_PID=""
start_capture() {
  rm -f "$1"
  ip netns exec "$NC" tcpdump -i "$VC" --immediate-mode -Z root -U -s 0 -w "$1" 2>"$WORK/tcpdump.log" &
  CAP_PID=$!
  PIDS+=("$CAP_PID")
  local i
  for i in $(seq 50); do grep -q 'listening on' "$WORK/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
  sleep 0.5
}
stop_capture() {
  sleep 1.5
  kill -INT "$CAP_PID" 2>/dev/null || true
  wait "$CAP_PID" 2>/dev/null || true
  log "tcpdump: $(grep -E 'captured|dropped' "$WORK/tcpdump.log" | tr '\n' ' ')"
}

chromium_render() {  # $1 = mail HTML, $2 = key log
  local prof; prof=$(mktemp -d "$WORK/chrome.XXXXXX")
  timeout 90 ip netns exec "$NC" env -u GOOGLE_API_KEY SSLKEYLOGFILE="$2" \
    /usr/lib/chromium/chromium --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --no-default-browser-check --disable-background-networking \
    --disable-component-update --disable-sync --disable-default-apps --disable-extensions \
    --disable-domain-reliability --disable-client-side-phishing-detection --disable-breakpad \
    --metrics-recording-only --no-pings --safebrowsing-disable-auto-update \
    --disable-features=OptimizationHints,OptimizationGuideModelDownloading,MediaRouter,Translate,AutofillServerCommunication,NetworkTimeServiceQuerying,CertificateTransparencyComponentUpdater,DialMediaRouteProvider,LocalNetworkAccessChecks,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests,HttpsUpgrades,PrivacySandboxSettings4,UseDnsHttpsSvcb \
    --host-resolver-rules='MAP *.googleapis.com ~NOTFOUND, MAP accounts.google.com ~NOTFOUND, MAP clients*.google.com ~NOTFOUND, MAP *.gvt1.com ~NOTFOUND' \
    --ignore-certificate-errors --ssl-key-log-file="$2" --user-data-dir="$prof" --virtual-time-budget=8000 \
    --dump-dom "file://$1" >"$WORK/dom.html" 2>"$WORK/chromium.log" || log "chromium exit $?"
}

inc() { ip netns exec "$NC" "$@"; }

record() {  # $1 = name; the rest: the client commands (a function name)
  local name=$1 fn=$2
  setup_net
  start_servers
  rm -f "$HERE/$name.keylog"
  start_capture "$HERE/$name.pcap"
  "$fn" "$HERE/$name.keylog"
  stop_capture
  teardown
  chmod 0644 "$HERE/$name.keylog" "$HERE/$name.pcap"
  log "verify $name: $(stat -c %s "$HERE/$name.pcap") bytes, $(wc -l <"$HERE/$name.keylog") key-log lines"
  tshark -r "$HERE/$name.pcap" -o "tls.keylog_file:$HERE/$name.keylog" -Y 'http.request || http2.type == 1' \
    -T fields -E separator=' ' -e frame.number -e tls.handshake.ciphersuite -e http.host -e http.request.uri \
    -e http2.header.value >&2 || true
}

s_chromium_h1() { chromium_render "$HERE/mail-h1.html" "$1"; }
s_chromium_h2() { chromium_render "$HERE/mail-h2.html" "$1"; }
s_curl_h2() {
  # TLS 1.3 with the two suites Chromium does not pick here: AES-256-GCM-SHA384 and ChaCha20-Poly1305
  inc env SSLKEYLOGFILE="$1" curl -sk --http2 --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384 -o /dev/null \
    -e "https://mail.example.com/inbox" -b "uid=u42" \
    "https://www.google-analytics.com/collect?v=1&tid=UA-12345-1&cid=555&t=event&ec=email&ea=open&cd1=$HASH" || true
  inc env SSLKEYLOGFILE="$1" curl -sk --http2 --tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256 -o /dev/null \
    "https://u1234.ct.sendgrid.net/wf/open?upn=abc&em=$HASH" "https://u1234.ct.sendgrid.net/wf/open?upn=def" || true
}
s_tls12_h1() {
  # TLS 1.2 AEAD suites (the server's certificate is ECDSA P-256): AES-128-GCM, AES-256-GCM-SHA384, ChaCha20
  local c
  for c in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305; do
    inc env SSLKEYLOGFILE="$1" curl -sk --http1.1 --tlsv1.2 --tls-max 1.2 --ciphers "$c" -o /dev/null \
      "https://bouyguestelecom.solution.weborama.fr/fcgi-bin/dispatch.fcgi?a.A=co&a.si=123&email_md5=$HASH&c=$c" || true
  done
}

main() {
  local steps=("$@") s
  [ ${#steps[@]} -gt 0 ] || steps=(chromium-h1 chromium-h2 curl-h2 tls12-h1)
  WORK=$(mktemp -d /tmp/pwkeylog.XXXXXX)
  make_cert
  for s in "${steps[@]}"; do
    case $s in
      chromium-h1) record chromium-h1 s_chromium_h1 ;;
      chromium-h2) record chromium-h2 s_chromium_h2 ;;
      curl-h2) record curl-h2 s_curl_h2 ;;
      tls12-h1) record tls12-h1 s_tls12_h1 ;;
      *) die "unknown step $s" ;;
    esac
  done
}

main "$@"

#!/usr/bin/env bash
# captures/record.sh — records pixelwatch's test captures with REAL clients (Chromium, curl,
# openssl s_client, dig) talking to REAL servers (dnsmasq, python TLS/HTTP/IMAP servers), all inside
# two network namespaces created here and joined by one veth pair. Nothing leaves the machine.
#
#   pwc  "the laptop / LAN device"  pwc0  10.99.0.100/16  fd99::100/64   (resolver: dnsmasq below)
#   pws  "the Internet"             pws0  10.99.0.1-.10   fd99::1-::a    (dnsmasq, servers.py)
#
# Usage (root):  captures/record.sh [all|gateway|laptop|sll2|sources]...   (default: all)
#   gateway  -> mail-open-gateway.pcap  offloads OFF on both veths (wire-sized segments, full checksums, as a gateway sees them)
#   laptop   -> mail-open-laptop.pcap   offloads ON (TSO/GSO super-segments, partial tx checksums, as a laptop's own capture sees them)
#   sll2     -> sll2.pcap               tcpdump -i any -y LINUX_SLL2 in pwc: one DNS lookup + one HTTP request
#   sources  -> src/sources.pcap        real ClientHellos on 993/465/8443 + DNS over TCP, re-framed by craft.py
# Idempotent: removes leftovers of an earlier run (its namespaces, their processes) first; a trap
# removes namespaces, processes and temporary files on exit. Timing: see captures/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3            # Debian's python (scapy lives there; servers.py needs only the stdlib)
NC=pwc NS=pws VC=pwc0 VS=pws0
CLIENT4=10.99.0.100 CLIENT6=fd99::100
DNS4=10.99.0.1 DNS6=fd99::1
MAIL_CONTEXT_GAP=${MAIL_CONTEXT_GAP:-35}   # > pixelwatch's default --mail-context (30 s)
WORK=""
PIDS=()

log() { printf '[record %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (network namespaces, tcpdump)"
for t in ip dnsmasq tcpdump tshark capinfos openssl curl dig ethtool /usr/lib/chromium/chromium "$PY"; do
  command -v "$t" >/dev/null || die "missing tool: $t"
done

# ---------------------------------------------------------------- teardown / idempotence
kill_ns_procs() {  # processes left in one of OUR namespaces (by pid, from `ip netns pids`)
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
  rm -rf "/etc/netns/$NC" "/etc/netns/$NS"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  teardown
  if [ -n "$WORK" ] && [ -z "${KEEP_WORK:-}" ]; then rm -rf "$WORK"; elif [ -n "$WORK" ]; then log "kept $WORK"; fi
  exit $rc
}
trap cleanup EXIT INT TERM

# ---------------------------------------------------------------- namespaces
setup_net() {  # $1 = on|off : TSO/GSO/GRO on both veths
  local offload=$1 i
  teardown
  ip netns add "$NS"
  ip netns add "$NC"
  for n in "$NC" "$NS"; do
    ip -n "$n" link set lo up
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
      net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.all.router_solicitations=0 \
      net.ipv6.conf.default.accept_dad=0
  done
  ip link add "$VC" netns "$NC" type veth peer name "$VS" netns "$NS"
  # fixed MACs so that re-recordings differ as little as possible
  ip -n "$NC" link set "$VC" address 02:99:00:00:00:64 mtu 1500
  ip -n "$NS" link set "$VS" address 02:99:00:00:00:01 mtu 1500
  ip -n "$NS" addr add 10.99.0.1/16 dev "$VS"
  ip -n "$NS" addr add fd99::1/64 dev "$VS" nodad
  for i in 2 3 4 5 6 7 8 9 10; do
    ip -n "$NS" addr add "10.99.0.$i/16" dev "$VS"
    ip -n "$NS" addr add "fd99::$(printf %x "$i")/64" dev "$VS" nodad
  done
  ip -n "$NC" addr add "$CLIENT4/16" dev "$VC"
  ip -n "$NC" addr add "$CLIENT6/64" dev "$VC" nodad
  # off: also tx checksumming, so that captured checksums are the wire's (a gateway sees them
  # complete); on (veth defaults): outgoing checksums are partial, as in a laptop's own capture
  ip netns exec "$NC" ethtool -K "$VC" tx "$offload" tso "$offload" gso "$offload" gro "$offload" >/dev/null 2>&1 || true
  ip netns exec "$NS" ethtool -K "$VS" tx "$offload" tso "$offload" gso "$offload" gro "$offload" >/dev/null 2>&1 || true
  ip -n "$NS" link set "$VS" up
  ip -n "$NC" link set "$VC" up
  # default routes: everything the client sends stays on the veth (pws routes nowhere else)
  ip -n "$NC" route add default via 10.99.0.1
  ip -n "$NC" -6 route add default via fd99::1
  sleep 1   # let the interface-up MLD reports pass before any capture starts
  # `ip netns exec` bind-mounts /etc/netns/<ns>/* over /etc/*: client resolver = local dnsmasq
  mkdir -p "/etc/netns/$NC"
  printf 'nameserver %s\n' "$DNS4" >"/etc/netns/$NC/resolv.conf"
  printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"/etc/netns/$NC/hosts"
  log "namespaces up (offloads $offload): $(ip netns exec "$NC" ethtool -k "$VC" | grep -E '^(tx-checksumming|tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload):' | tr -s ' \n' ' ')"
}

# ---------------------------------------------------------------- servers ("the Internet")
make_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj "/CN=pixelwatch test server" \
    -addext "subjectAltName=DNS:*.google-analytics.com,DNS:*.weborama.fr,DNS:*.sendgrid.net,DNS:*.ct.sendgrid.net,DNS:*.shop-example.fr,DNS:*.eulerian.net,DNS:*.mjt.lu,DNS:imap.gmail.com,DNS:smtp.gmail.com,DNS:outlook.office365.com,DNS:www.example.org,DNS:*.cdn.example.net" \
    >/dev/null 2>&1
}

start_servers() {
  # dnsmasq: local answers only (no upstream, no /etc/hosts; --local=/#/: any other name NXDOMAIN).
  #  --host-record names: A, AAAA where an IPv6 address is given, NODATA for other types (AAAA,
  #  HTTPS). (--address=/name/addr was tried: dnsmasq 2.90 then answers REFUSED to AAAA/HTTPS, and
  #  Chromium falls back to getaddrinfo: every name looked up twice. --dns-rr type 65 is not served.)
  #  A CNAME-cloaked first-party name (1 hop to a tracker) and a 2-hop CNAME chain to a CDN
  #  (--cname targets must be local data such as --host-record).
  ip netns exec "$NS" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
    --listen-address="$DNS4,$DNS6" --bind-interfaces --local-ttl=300 --user=root \
    --pid-file="$WORK/dnsmasq.pid" --log-queries=extra --log-facility="$WORK/dnsmasq.log" \
    --local=/#/ \
    --host-record=www.google-analytics.com,10.99.0.2,fd99::2 \
    --host-record=bouyguestelecom.solution.weborama.fr,10.99.0.3 \
    --host-record=u1234.ct.sendgrid.net,10.99.0.4 \
    --host-record=shopexample.eulerian.net,10.99.0.5,fd99::5 \
    --cname=metrics.shop-example.fr,shopexample.eulerian.net \
    --host-record=x1ab2.mjt.lu,10.99.0.6 \
    --host-record=imap.gmail.com,10.99.0.7 \
    --host-record=smtp.gmail.com,10.99.0.7 \
    --host-record=mail.google.com,10.99.0.7 \
    --host-record=outlook.office365.com,10.99.0.10 \
    --host-record=www.example.org,10.99.0.8,fd99::8 \
    --host-record=edge1.cdn.example.net,10.99.0.9,fd99::9 \
    --cname=shop-example.cdn.example.net,edge1.cdn.example.net \
    --cname=static.shop-example.fr,shop-example.cdn.example.net &
  PIDS+=($!)
  ip netns exec "$NS" "$PY" "$HERE/lib/servers.py" "$WORK/cert.pem" "$WORK/key.pem" \
    http:80 https:443 imaps:993 smtps:465 https:8443 http:8080 >"$WORK/servers.log" 2>&1 &
  PIDS+=($!)
  local i
  for i in $(seq 50); do
    if ip netns exec "$NS" ss -ltn | grep -q ':443 ' && ip netns exec "$NS" ss -lun | grep -q '10.99.0.1:53 '; then
      return 0
    fi
    sleep 0.1
  done
  die "servers did not start: $(cat "$WORK/servers.log" "$WORK/dnsmasq.log" 2>/dev/null)"
}

# ---------------------------------------------------------------- capture
CAP_PID=""
start_capture() {  # $1 = output file, rest = extra tcpdump args (default: -i pwc0)
  local out=$1; shift
  local args=("$@")
  [ ${#args[@]} -gt 0 ] || args=(-i "$VC")
  rm -f "$out"
  # --immediate-mode: with TPACKET_V3 blocks, packets of the last poll timeout would be lost at SIGINT
  ip netns exec "$NC" tcpdump "${args[@]}" --immediate-mode -Z root -U -s 0 -w "$out" 2>"$WORK/tcpdump.log" &
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
  LAST_DROPS=$(awk '/dropped by kernel/{print $1}' "$WORK/tcpdump.log")
}
LAST_DROPS=0

with_retry() {  # re-records a step whose capture lost packets (seen once with -i any: 3 of 20)
  local attempt
  for attempt in 1 2 3; do
    "$@"
    [ "${LAST_DROPS:-0}" = 0 ] && return 0
    log "tcpdump dropped $LAST_DROPS packets: recording again ($attempt/3)"
  done
  die "$* : packets still dropped after 3 attempts"
}

inc() { ip netns exec "$NC" "$@"; }   # run a client command in the client namespace

# ---------------------------------------------------------------- the scenario
chromium_render() {
  local prof; prof=$(mktemp -d "$WORK/chrome.XXXXXX")
  # --virtual-time-budget lets the page finish loading every image before --dump-dom prints.
  # The --disable-features list silences Chromium's own background requests (none would leave the
  # namespaces anyway: they would show up as NXDOMAIN lookups of update.googleapis.com and
  # accounts.google.com, which the flags don't stop: --host-resolver-rules fails those names inside
  # Chromium, without any DNS query) and lets a file:// page load images from private addresses.
  timeout 90 ip netns exec "$NC" env -u GOOGLE_API_KEY -u GOOGLE_DEFAULT_CLIENT_ID -u GOOGLE_DEFAULT_CLIENT_SECRET \
    /usr/lib/chromium/chromium --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --no-default-browser-check --disable-background-networking \
    --disable-component-update --disable-sync --disable-default-apps --disable-extensions \
    --disable-domain-reliability --disable-client-side-phishing-detection --disable-breakpad \
    --metrics-recording-only --no-pings --safebrowsing-disable-auto-update \
    --disable-features=OptimizationHints,OptimizationGuideModelDownloading,MediaRouter,Translate,AutofillServerCommunication,NetworkTimeServiceQuerying,CertificateTransparencyComponentUpdater,DialMediaRouteProvider,LocalNetworkAccessChecks,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests,AutoupgradeMixedContent,HttpsUpgrades,PrivacySandboxSettings4 \
    --host-resolver-rules='MAP *.googleapis.com ~NOTFOUND, MAP accounts.google.com ~NOTFOUND, MAP clients*.google.com ~NOTFOUND, MAP *.gvt1.com ~NOTFOUND' \
    --ignore-certificate-errors --user-data-dir="$prof" --virtual-time-budget=15000 \
    --dump-dom "file://$HERE/mail/newsletter.html" >"$WORK/dom.html" 2>"$WORK/chromium.log" \
    || log "chromium exit $? (see $WORK/chromium.log)"
}

scenario_mail_open() {
  # 1. mail access: the mail client checks the inbox (DNS lookup + TLS SNI imap.gmail.com, IMAP on 993)
  log "mail access: openssl s_client imap.gmail.com:993"
  { printf 'a1 CAPABILITY\r\n'; sleep 0.5; printf 'a2 LOGOUT\r\n'; sleep 0.5; } |
    inc openssl s_client -connect imap.gmail.com:993 -servername imap.gmail.com -quiet -no_ign_eof \
      >"$WORK/imap.log" 2>&1 || true
  sleep 2
  # 2. the mail is opened: Chromium renders the HTML mail, loading its remote images (pixels)
  log "open: chromium renders mail/newsletter.html"
  chromium_render
  # 3. later, ordinary browsing, outside any mail context: a page, then web analytics
  log "browsing in ${MAIL_CONTEXT_GAP}s (outside the mail context)"
  sleep "$MAIL_CONTEXT_GAP"
  inc curl -s -o /dev/null http://www.example.org/ || true
  sleep 1
  inc curl -sk -o /dev/null 'https://www.google-analytics.com/g/collect?v=2&tid=G-TEST12345&cid=555.666&en=page_view&dl=http%3A%2F%2Fwww.example.org%2F' || true
  sleep 4
  # 4. explicit lookups: A / AAAA / HTTPS over UDP, DNS over TCP (CNAME chains), over IPv6
  log "dig lookups"
  inc dig +tries=1 +time=2 @"$DNS4" www.example.org A >/dev/null || true
  inc dig +tries=1 +time=2 @"$DNS4" www.google-analytics.com AAAA >/dev/null || true
  inc dig +tries=1 +time=2 @"$DNS4" www.example.org HTTPS >/dev/null || true
  inc dig +tries=1 +time=2 +tcp @"$DNS4" metrics.shop-example.fr A >>"$WORK/dig.log" 2>&1 || true
  inc dig +tries=1 +time=2 +tcp @"$DNS4" static.shop-example.fr AAAA >>"$WORK/dig.log" 2>&1 || true
  # last: a webmail lookup over IPv6 transport (mail context AFTER every tracker contact, so
  # that it cannot turn the lookups above into an "e-mail open")
  inc dig +tries=1 +time=2 @"$DNS6" mail.google.com A >/dev/null || true
}

verify() {  # $1 = capture: names it contains, by tshark
  local f=$1
  log "verify $f ($(stat -c %s "$f") bytes, $(capinfos -c -M "$f" | awk -F: '/Number of packets/{gsub(/ /,"",$2);print $2}') packets)"
  tshark -r "$f" -Y 'dns || tls.handshake.type==1 || http.request' -T fields -E separator=' ' \
    -e frame.number -e dns.flags.response -e dns.qry.name -e dns.qry.type \
    -e tls.handshake.extensions_server_name -e http.host -e http.request.uri >&2 || true
}

record_mail_open() {  # $1 = gateway|laptop
  local kind=$1 offload=on out="$HERE/mail-open-$1.pcap"
  [ "$kind" = gateway ] && offload=off
  setup_net "$offload"
  start_servers
  start_capture "$out"
  scenario_mail_open
  stop_capture
  teardown
  verify "$out"
}

record_sll2() {
  setup_net off
  start_servers
  start_capture "$HERE/sll2.pcap" -i any -y LINUX_SLL2
  inc curl -s -o /dev/null http://www.example.org/index.html || true
  stop_capture
  teardown
  verify "$HERE/sll2.pcap"
}

record_sources() {  # real client bytes that craft.py re-frames (TLS on other ports, DNS over TCP)
  mkdir -p "$HERE/src"
  setup_net off
  start_servers
  start_capture "$HERE/src/sources.pcap"
  { printf 'a1 LOGOUT\r\n'; sleep 0.5; } |
    inc openssl s_client -connect 10.99.0.10:993 -servername outlook.office365.com -quiet -no_ign_eof >/dev/null 2>&1 || true
  { printf 'EHLO laptop\r\n'; sleep 0.3; printf 'QUIT\r\n'; sleep 0.5; } |
    inc openssl s_client -connect 10.99.0.7:465 -servername smtp.gmail.com -quiet -no_ign_eof >/dev/null 2>&1 || true
  inc curl -sk -o /dev/null --resolve cdn.shop-example.fr:8443:10.99.0.9 https://cdn.shop-example.fr:8443/img/banner.gif || true
  inc dig +tries=1 +time=2 +tcp @"$DNS4" static.shop-example.fr A >/dev/null || true
  inc dig +tries=1 +time=2 +tcp @"$DNS4" www.google-analytics.com AAAA >/dev/null || true
  inc dig +tries=1 +time=2 +tcp @"$DNS4" x1ab2.mjt.lu A >/dev/null || true
  stop_capture
  teardown
  verify "$HERE/src/sources.pcap"
}

main() {
  local steps=("$@") s start=$SECONDS
  [ ${#steps[@]} -gt 0 ] || steps=(all)
  [ "${steps[0]}" = all ] && steps=(gateway laptop sll2 sources)
  WORK=$(mktemp -d /tmp/pwcap.XXXXXX)
  make_cert
  for s in "${steps[@]}"; do
    case $s in
      gateway|laptop) with_retry record_mail_open "$s" ;;
      sll2) with_retry record_sll2 ;;
      sources) with_retry record_sources ;;
      *) die "unknown step $s" ;;
    esac
  done
  log "done in $((SECONDS - start)) s"
}

main "$@"

#!/usr/bin/env bash
# captures/email/record_opens.sh — records e-mail opens with REAL clients (ISC dhclient, busybox
# udhcpc, openssl s_client as a mail client, headless Chromium) and REAL servers (dnsmasq DNS+DHCP,
# ../lib/servers.py), in four network namespaces created here. Nothing leaves them.
#
#   pwe-inet      "the Internet"  inet0 10.99.0.1-.20/16 fd99::1-::14/64  dnsmasq (DNS + DHCP),
#                                 servers.py: http 80, https 443, imaps-session 993, smtps 465,
#                                 udp-sink 443 (QUIC Initials go unanswered)
#   pwe-gw        home gateway    bridge br-lan = wan0 + lan-alice + lan-bob; no address, IPv6 off.
#                                 tcpdump on br-lan (promiscuous: every frame entering the bridge)
#   alice-laptop  eth0  02:99:00:00:01:01  DHCP (ISC dhclient, send host-name) -> 10.99.0.101; fd99::101 static
#   bob-phone     wlan0 02:99:00:00:01:02  DHCP (udhcpc -x hostname:bob-phone) -> 10.99.0.102; fd99::102 static
#
# Usage (root):  captures/email/record_opens.sh [all|gateway|laptop]...   (default: all)
#   gateway -> mail-opens-gateway.pcap  offloads OFF everywhere (wire-sized segments, full checksums),
#              capture on the gateway's LAN bridge: two mails opened by alice, her browsing, bob's
#              browsing and webmail (image proxy). ~2 min.
#   laptop  -> mail-open-laptop.pcap    offloads ON (veth defaults), capture on alice's eth0 inside her
#              namespace: DHCP, IMAPS session, one open (mail #1). ~25 s.
# Each run also writes <capture>.timeline.json (the phases, wall-clock) used by derive_expected.py.
# Env: KEEP_WORK=1 keeps the temp dir (logs, DOM dumps); QUIET_MINUTE=N (default 65) and OUT_DIR=DIR
# (default: this folder) for trials.
# Idempotent: removes its own namespaces (and their processes) left by an interrupted run first;
# an EXIT/INT/TERM trap removes namespaces, processes, /etc/netns/<ours> and the temp dir.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$(cd "$HERE/../lib" && pwd)
PY=/usr/bin/python3
CHROME=/usr/lib/chromium/chromium
NS_I=pwe-inet NS_G=pwe-gw NS_A=alice-laptop NS_B=bob-phone
ALL_NS=("$NS_A" "$NS_B" "$NS_G" "$NS_I")
MAC_I=02:99:00:00:00:01 MAC_A=02:99:00:00:01:01 MAC_B=02:99:00:00:01:02
IP_A=10.99.0.101 IP_B=10.99.0.102 IP6_A=fd99::101 IP6_B=fd99::102
QUIET_MINUTE=${QUIET_MINUTE:-65}
OUT_DIR=${OUT_DIR:-$HERE}   # trials: OUT_DIR=/tmp/x leaves the committed captures alone
WORK=""
PIDS=()
TIMELINE=""

# waits that a TERM/INT can interrupt at once (bash runs a trap only after a FOREGROUND child ends)
nap() { sleep "$1" & wait $! || true; }
log() { printf '[record_opens %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (network namespaces, tcpdump)"
for t in ip dnsmasq tcpdump tshark capinfos openssl ethtool dhclient udhcpc "$CHROME" "$PY"; do
  command -v "$t" >/dev/null || die "missing tool: $t (apt-get install isc-dhcp-client udhcpc for the DHCP clients)"
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
  local p n
  exec 7>&-   # the mail client's stdin (FIFO)
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  for n in "${ALL_NS[@]}"; do kill_ns_procs "$n"; done
  for n in "${ALL_NS[@]}"; do ip netns del "$n" 2>/dev/null || true; rm -rf "/etc/netns/$n"; done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  teardown
  if [ -n "$WORK" ] && [ -z "${KEEP_WORK:-}" ]; then rm -rf "$WORK"; elif [ -n "$WORK" ]; then log "kept $WORK"; fi
  exit $rc
}
trap cleanup EXIT INT TERM

# ---------------------------------------------------------------- network
offloads() {  # ns dev on|off  (tx = checksum offload; on = veth defaults)
  ip netns exec "$1" ethtool -K "$2" tx "$3" tso "$3" gso "$3" gro "$3" >/dev/null 2>&1 || true
}

quiet_sysctls() {  # no router solicitations, no RA, no DAD: static IPv6 only, fewer noise packets
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
    net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.all.router_solicitations=0 \
    net.ipv6.conf.default.accept_dad=0
}

setup_net() {  # $1 = on|off : offloads of every veth end
  local off=$1 i n
  teardown
  for n in "${ALL_NS[@]}"; do ip netns add "$n"; ip -n "$n" link set lo up; done
  for n in "$NS_I" "$NS_A" "$NS_B"; do quiet_sysctls "$n"; done
  # the gateway is a plain L2 bridge: no address, no IPv6 (it sends nothing itself)
  ip netns exec "$NS_G" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$NS_G" link add br-lan type bridge stp_state 0 forward_delay 0 mcast_snooping 0
  ip link add inet0 netns "$NS_I" type veth peer name wan0 netns "$NS_G"
  ip link add eth0 netns "$NS_A" type veth peer name lan-alice netns "$NS_G"
  ip link add wlan0 netns "$NS_B" type veth peer name lan-bob netns "$NS_G"
  ip -n "$NS_I" link set inet0 address "$MAC_I" mtu 1500
  ip -n "$NS_A" link set eth0 address "$MAC_A" mtu 1500
  ip -n "$NS_B" link set wlan0 address "$MAC_B" mtu 1500
  for i in wan0 lan-alice lan-bob; do
    ip -n "$NS_G" link set "$i" master br-lan
    offloads "$NS_G" "$i" "$off"
    ip -n "$NS_G" link set "$i" up
  done
  offloads "$NS_I" inet0 "$off"; offloads "$NS_A" eth0 "$off"; offloads "$NS_B" wlan0 "$off"
  ip -n "$NS_G" link set br-lan up
  ip -n "$NS_I" addr add 10.99.0.1/16 dev inet0
  ip -n "$NS_I" addr add fd99::1/64 dev inet0 nodad
  for i in $(seq 2 20); do
    ip -n "$NS_I" addr add "10.99.0.$i/16" dev inet0
    ip -n "$NS_I" addr add "fd99::$(printf %x "$i")/64" dev inet0 nodad
  done
  ip -n "$NS_I" link set inet0 up
  # clients: IPv6 static (no RA/DHCPv6 here), IPv4 from DHCP later (while the capture runs)
  ip -n "$NS_A" addr add "$IP6_A/64" dev eth0 nodad
  ip -n "$NS_B" addr add "$IP6_B/64" dev wlan0 nodad
  ip -n "$NS_A" link set eth0 up
  ip -n "$NS_B" link set wlan0 up
  ip -n "$NS_A" -6 route add default via fd99::1
  ip -n "$NS_B" -6 route add default via fd99::1
  for n in "$NS_A" "$NS_B"; do  # `ip netns exec` bind-mounts these over /etc/*; resolv.conf is filled by DHCP
    mkdir -p "/etc/netns/$n"
    : >"/etc/netns/$n/resolv.conf"
    printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"/etc/netns/$n/hosts"
  done
  sleep 1.5  # interface-up MLD reports pass before the capture starts
  log "namespaces up (offloads $off): alice $(ip netns exec "$NS_A" ethtool -k eth0 | grep -E '^(tx-checksumming|tcp-segmentation-offload):' | tr -s ' \n' ' ')"
}

# ---------------------------------------------------------------- "the Internet"
# name plan: same addresses as ../record.sh for the names both use, new ones from .11 on
HOSTS=(
  www.google-analytics.com,10.99.0.2,fd99::2
  bouyguestelecom.solution.weborama.fr,10.99.0.3
  u1234.ct.sendgrid.net,10.99.0.4
  shopexample.eulerian.net,10.99.0.5,fd99::5
  x1ab2.mjt.lu,10.99.0.6
  imap.gmail.com,10.99.0.7
  www.example.org,10.99.0.8,fd99::8
  edge1.cdn.example.net,10.99.0.9,fd99::9
  stats.g.doubleclick.net,10.99.0.11
  trk.klaviyomail.com,10.99.0.12
  static.criteo.net,10.99.0.13,fd99::d
  gum.criteo.com,10.99.0.14
  www.news-example.fr,10.99.0.15,fd99::f
  ci3.googleusercontent.com,10.99.0.16,fd99::10
  mail.google.com,10.99.0.17,fd99::11
  www.googletagmanager.com,10.99.0.18,fd99::12
)
CNAMES=(
  metrics.shop-example.fr,shopexample.eulerian.net
  shop-example.cdn.example.net,edge1.cdn.example.net
  static.shop-example.fr,shop-example.cdn.example.net
)
# names Chromium may resolve; every other name fails inside Chromium (no packet): its background
# requests (update/accounts/safebrowsing/...) never reach the wire
RESOLVER_RULES="MAP * ~NOTFOUND"
for h in "${HOSTS[@]}" "${CNAMES[@]}"; do RESOLVER_RULES+=", EXCLUDE ${h%%,*}"; done

make_cert() {
  local san="" h
  for h in "${HOSTS[@]}" "${CNAMES[@]}"; do san+="DNS:${h%%,*},"; done
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj "/CN=pixelwatch test server" \
    -addext "subjectAltName=${san%,}" >/dev/null 2>&1
}

start_servers() {
  # dnsmasq: local data only (--local=/#/: other names NXDOMAIN), --host-record/--cname as in
  # ../record.sh (see its README for why not --address); DHCP on the LAN with fixed leases by MAC,
  # router + DNS = 10.99.0.1, no ping check (dnsmasq would otherwise probe each address first).
  local args=() h
  for h in "${HOSTS[@]}"; do args+=("--host-record=$h"); done
  for h in "${CNAMES[@]}"; do args+=("--cname=$h"); done
  ip netns exec "$NS_I" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
    --listen-address=10.99.0.1,fd99::1 --bind-interfaces --local-ttl=300 --user=root \
    --pid-file="$WORK/dnsmasq.pid" --log-queries=extra --log-dhcp --log-facility="$WORK/dnsmasq.log" \
    --local=/#/ "${args[@]}" \
    --dhcp-range=10.99.0.100,10.99.0.199,255.255.0.0,1h --dhcp-authoritative --no-ping \
    --dhcp-leasefile="$WORK/dnsmasq.leases" \
    --dhcp-host="$MAC_A,$IP_A" --dhcp-host="$MAC_B,$IP_B" \
    --dhcp-option=option:router,10.99.0.1 --dhcp-option=option:dns-server,10.99.0.1 &
  PIDS+=($!)
  ip netns exec "$NS_I" "$PY" "$LIB/servers.py" --site "$HERE/web/site.json" "$WORK/cert.pem" "$WORK/key.pem" \
    http:80 https:443 imaps-session:993 smtps:465 udp-sink:443 >"$WORK/servers.log" 2>&1 &
  PIDS+=($!)
  local i
  for i in $(seq 50); do
    if ip netns exec "$NS_I" ss -ltn | grep -q ':993 ' && ip netns exec "$NS_I" ss -lun | grep -q '10.99.0.1:53 ' &&
      ip netns exec "$NS_I" ss -lun | grep -q ':67 '; then
      return 0
    fi
    sleep 0.1
  done
  die "servers did not start: $(cat "$WORK/servers.log" "$WORK/dnsmasq.log" 2>/dev/null)"
}

# ---------------------------------------------------------------- capture
CAP_PID=""
LAST_DROPS=0
start_capture() {  # out ns iface
  local out=$1 ns=$2 dev=$3
  rm -f "$out"
  ip netns exec "$ns" tcpdump -i "$dev" --immediate-mode -Z root -U -s 0 -w "$out" 2>"$WORK/tcpdump.log" &
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

# timeline: phases with wall-clock times (the capture's clock), for derive_expected.py
mark() {  # phase client what
  local w=${3//\\/\\\\}   # JSON string: escape backslashes (\Seen)
  printf '{"t": %s, "phase": "%s", "client": "%s", "what": "%s"}\n' "$(date +%s.%N)" "$1" "$2" "$w" >>"$TIMELINE"
}

# ---------------------------------------------------------------- clients
dhcp_alice() {  # ISC dhclient (a Debian laptop): host name (option 12), client id = MAC (option 61)
  # (Debian's dhclient 4.4.3 has no -H option: the host name is sent by the config, as Debian's default does)
  printf 'send host-name "alice-laptop";\nsend dhcp-client-identifier = hardware;\nrequest subnet-mask, broadcast-address, routers, domain-name-servers, domain-name, host-name, interface-mtu;\n' \
    >"$WORK/dhclient.conf"
  mark dhcp alice-laptop "dhclient (send host-name alice-laptop)"
  ip netns exec "$NS_A" timeout 30 dhclient -4 -1 -v -cf "$WORK/dhclient.conf" \
    -sf "$HERE/dhcp-hook.sh" -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid" eth0 >>"$WORK/dhcp.log" 2>&1 ||
    die "alice: no DHCP lease ($(tail -3 "$WORK/dhcp.log"))"
  [ -s "/etc/netns/$NS_A/resolv.conf" ] || die "alice: DHCP gave no resolver"
}
dhcp_bob() {  # busybox udhcpc (a small device): host name via -x hostname:, client id = MAC by default
  mark dhcp bob-phone "udhcpc -x hostname:bob-phone"
  ip netns exec "$NS_B" timeout 30 udhcpc -i wlan0 -f -q -n -t 5 -T 2 -x hostname:bob-phone \
    -s "$HERE/dhcp-hook.sh" >>"$WORK/dhcp.log" 2>&1 || die "bob: no DHCP lease ($(tail -3 "$WORK/dhcp.log"))"
  [ -s "/etc/netns/$NS_B/resolv.conf" ] || die "bob: DHCP gave no resolver"
}

# alice's mail client: one IMAPS session kept open; its stdin is a FIFO held open on fd 7
imap_start() {
  mkfifo "$WORK/imap.in"
  ip netns exec "$NS_A" openssl s_client -connect imap.gmail.com:993 -servername imap.gmail.com \
    -quiet -nocommands <"$WORK/imap.in" >"$WORK/imap.log" 2>&1 &
  PIDS+=($!)
  exec 7>"$WORK/imap.in"
  mark imap-login alice-laptop "IMAPS session opened: LOGIN, SELECT, UID FETCH, IDLE"
  sleep 0.8   # TLS handshake + greeting
  imap 'a1 LOGIN alice@gmail.com app-password'
  imap 'a2 CAPABILITY'
  imap 'a3 SELECT INBOX'
  imap 'a4 UID FETCH 1:* (UID FLAGS)'
  imap 'a5 IDLE'
}
imap() { printf '%s\r\n' "$1" >&7; sleep 0.15; }
IMAP_TAG=5
imap_mark_seen() {  # leave IDLE, mark message $1 \Seen, IDLE again: a few encrypted bytes client -> server
  imap 'DONE'
  IMAP_TAG=$((IMAP_TAG + 1)); imap "a$IMAP_TAG UID STORE $1 +FLAGS (\\Seen)"
  IMAP_TAG=$((IMAP_TAG + 1)); imap "a$IMAP_TAG IDLE"
}

chromium() {  # ns name url [extra flags]  -- headless render, DOM dumped to $WORK/<name>.html
  local ns=$1 name=$2 url=$3; shift 3
  local prof; prof=$(mktemp -d "$WORK/chrome.XXXXXX")
  # flags as in ../record.sh (see there); --host-resolver-rules: only the scenario's names resolve
  timeout 120 ip netns exec "$ns" env -u GOOGLE_API_KEY -u GOOGLE_DEFAULT_CLIENT_ID -u GOOGLE_DEFAULT_CLIENT_SECRET \
    "$CHROME" --headless --no-sandbox --disable-gpu \
    --no-first-run --no-default-browser-check --disable-background-networking \
    --disable-component-update --disable-sync --disable-default-apps --disable-extensions \
    --disable-domain-reliability --disable-client-side-phishing-detection --disable-breakpad \
    --metrics-recording-only --no-pings --safebrowsing-disable-auto-update \
    --disable-features=OptimizationHints,OptimizationGuideModelDownloading,MediaRouter,Translate,AutofillServerCommunication,NetworkTimeServiceQuerying,CertificateTransparencyComponentUpdater,DialMediaRouteProvider,LocalNetworkAccessChecks,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests,AutoupgradeMixedContent,HttpsUpgrades,PrivacySandboxSettings4 \
    --host-resolver-rules="$RESOLVER_RULES" \
    --ignore-certificate-errors --user-data-dir="$prof" --virtual-time-budget=15000 "$@" \
    --dump-dom "$url" >"$WORK/$name.html" 2>"$WORK/$name.chromium.log" &
  wait $! || log "chromium $name exit $? (see $WORK/$name.chromium.log)"
  rm -rf "$prof"
}
QUIC_HOST=stats.g.doubleclick.net
chromium_alice_mail() {  # mail #N rendered by the mail client's HTML view (Chromium), QUIC allowed
  chromium "$NS_A" "$1" "file://$HERE/mails/$1.html" --enable-quic --origin-to-force-quic-on="$QUIC_HOST:443"
}
MOBILE_UA='Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36'

bob_day() {  # bob's phone, in the background: a news page (GA + Criteo), later Gmail in the browser
  nap "$1"
  kill -0 "$$" 2>/dev/null || return 0   # the recorder was killed (-9): never act in a later run's namespaces
  mark browse-start bob-phone "news page with Google Analytics + Criteo (NOT an open)"
  chromium "$NS_B" bob-news "https://www.news-example.fr/" --disable-quic --user-agent="$MOBILE_UA"
  mark browse-end bob-phone ""
  nap "$2"
  kill -0 "$$" 2>/dev/null || return 0
  mark webmail-start bob-phone "Gmail webmail, message view 3 s later, image through the Gmail proxy"
  chromium "$NS_B" bob-gmail "https://mail.google.com/mail/u/0/" --disable-quic --user-agent="$MOBILE_UA"
  mark webmail-end bob-phone ""
}

# ---------------------------------------------------------------- scenarios
scenario_gateway() {
  dhcp_alice
  dhcp_bob
  sleep 1
  imap_start
  nap 3
  bob_day 4 35 &   # news page while alice opens mail #1; webmail during her quiet minute
  local bob=$!
  PIDS+=("$bob")
  mark open1-start alice-laptop "mail #1: STORE \\Seen on IMAPS, Chromium renders mails/mail1-operator.html"
  imap_mark_seen 1
  chromium_alice_mail mail1-operator
  mark open1-end alice-laptop ""
  nap 20
  mark open2-start alice-laptop "mail #2: STORE \\Seen on IMAPS, Chromium renders mails/mail2-shop.html"
  imap_mark_seen 2
  chromium_alice_mail mail2-shop
  mark open2-end alice-laptop ""
  log "quiet minute: ${QUIET_MINUTE}s (IMAPS idle, no tracker traffic from alice)"
  nap "$QUIET_MINUTE"
  mark browse-start alice-laptop "http://www.example.org/ with Google Analytics (NOT an open)"
  chromium "$NS_A" alice-browse "http://www.example.org/" --disable-quic
  mark browse-end alice-laptop ""
  wait "$bob" || true
  sleep 1
}

scenario_laptop() {
  dhcp_alice
  sleep 1
  imap_start
  nap 3
  mark open1-start alice-laptop "mail #1: STORE \\Seen on IMAPS, Chromium renders mails/mail1-operator.html"
  imap_mark_seen 1
  chromium_alice_mail mail1-operator
  mark open1-end alice-laptop ""
  sleep 2
}

verify() {  # names and DHCP host names in the capture, by tshark
  local f=$1
  log "verify $f ($(stat -c %s "$f") bytes, $(capinfos -c -M "$f" | awk -F: '/Number of packets/{gsub(/ /,"",$2);print $2}') packets)"
  tshark -r "$f" -Y 'dhcp || dns.flags.response==0 || tls.handshake.type==1 || quic.long.packet_type==0 || http.request' \
    -T fields -E separator=' ' -e frame.number -e frame.time_relative -e ip.src -e ipv6.src \
    -e dhcp.option.dhcp -e dhcp.option.hostname -e dns.qry.name -e dns.qry.type \
    -e tls.handshake.extensions_server_name -e http.host -e http.request.uri >&2 || true
}

record() {  # gateway|laptop
  local kind=$1 out
  if [ "$kind" = gateway ]; then out="$OUT_DIR/mail-opens-gateway.pcap"; else out="$OUT_DIR/mail-open-laptop.pcap"; fi
  TIMELINE="${out%.pcap}.timeline.jsonl"
  : >"$TIMELINE"
  # state of an earlier recording in this run: a fresh DHCP exchange (DISCOVER, not INIT-REBOOT) each time
  rm -f "$WORK/imap.in" "$WORK/dhclient.leases" "$WORK/dhclient.pid" "$WORK/dnsmasq.leases"
  if [ "$kind" = gateway ]; then setup_net off; else setup_net on; fi
  start_servers
  if [ "$kind" = gateway ]; then start_capture "$out" "$NS_G" br-lan; else start_capture "$out" "$NS_A" eth0; fi
  mark capture-start "" "tcpdump started"
  "scenario_$kind"
  mark capture-stop "" "tcpdump stopping"
  stop_capture
  teardown
  verify "$out"
}

main() {
  local steps=("$@") s start=$SECONDS t
  [ ${#steps[@]} -gt 0 ] || steps=(all)
  [ "${steps[0]}" = all ] && steps=(gateway laptop)
  WORK=$(mktemp -d /tmp/pwopens.XXXXXX)
  make_cert
  for s in "${steps[@]}"; do
    case $s in
      gateway | laptop)
        t=$SECONDS
        local attempt
        for attempt in 1 2 3; do
          record "$s"
          [ "${LAST_DROPS:-0}" = 0 ] && break
          [ "$attempt" = 3 ] && die "$s: tcpdump still dropped packets after 3 attempts"
          log "tcpdump dropped $LAST_DROPS packets: recording again ($attempt/3)"
        done
        log "$s recorded in $((SECONDS - t)) s"
        ;;
      *) die "unknown step $s" ;;
    esac
  done
  log "done in $((SECONDS - start)) s"
}

main "$@"

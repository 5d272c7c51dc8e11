#!/bin/sh
# captures/email/dhcp-hook.sh — DHCP client hook for record_opens.sh, used by BOTH ISC dhclient
# (-sf; it sets $reason) and busybox udhcpc (-s; it passes the event as $1). It configures the
# leased IPv4 address, default route and resolver of the client's network namespace only:
# it refuses to run outside a named namespace, and writes the resolver to /etc/netns/<ns>/resolv.conf
# (what `ip netns exec <ns>` shows as /etc/resolv.conf), never to the host's /etc/resolv.conf.
ns=$(ip netns identify $$ 2>/dev/null)
[ -n "$ns" ] || { echo "dhcp-hook: not in a named network namespace: refusing" >&2; exit 1; }
resolv=/etc/netns/$ns/resolv.conf
[ -d "/etc/netns/$ns" ] || exit 1

mask2len() {  # 255.255.0.0 -> 16
  n=0
  for o in $(echo "$1" | tr . ' '); do
    case $o in 255) n=$((n + 8)) ;; 254) n=$((n + 7)) ;; 252) n=$((n + 6)) ;; 248) n=$((n + 5)) ;;
      240) n=$((n + 4)) ;; 224) n=$((n + 3)) ;; 192) n=$((n + 2)) ;; 128) n=$((n + 1)) ;; esac
  done
  echo $n
}

configure() {  # iface addr prefixlen "routers" "dns servers"
  ip -4 addr flush dev "$1" scope global
  ip -4 addr add "$2/$3" dev "$1"
  gw=${4%% *}
  [ -n "$gw" ] && ip -4 route replace default via "$gw" dev "$1"
  : >"$resolv.tmp"
  for a in $5; do echo "nameserver $a" >>"$resolv.tmp"; done
  cat "$resolv.tmp" >"$resolv"; rm -f "$resolv.tmp"   # in place: keeps the bind-mounted inode
  echo "dhcp-hook: $ns $1 $2/$3 via ${gw:-none}, $(tr '\n' ' ' <"$resolv")" >&2
}

if [ -n "${reason:-}" ]; then  # ISC dhclient
  case $reason in
    PREINIT) ip link set dev "$interface" up ;;
    BOUND | RENEW | REBIND | REBOOT)
      configure "$interface" "$new_ip_address" "$(mask2len "$new_subnet_mask")" "$new_routers" "$new_domain_name_servers" ;;
    EXPIRE | FAIL | RELEASE | STOP) ip -4 addr flush dev "$interface" scope global ;;
  esac
else  # busybox udhcpc
  case ${1:-} in
    deconfig) ip link set dev "$interface" up; ip -4 addr flush dev "$interface" scope global ;;
    bound | renew) configure "$interface" "$ip" "${mask:-$(mask2len "$subnet")}" "$router" "$dns" ;;
  esac
fi
exit 0

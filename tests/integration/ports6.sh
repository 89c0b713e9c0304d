#!/usr/bin/env bash
# Port forwards over IPv6 (`ports:` on a bridge with IPv6): a busybox
# container's httpd (tcp) and a UDP echo server in its network namespace,
# reached through the bridge's IPv6 address from the host, from another
# container (hairpin, masqueraded) and from outside: a network namespace of
# this test's own behind a veth pair of its own, talking to the host's
# address on that veth. The host's ::1 is never forwarded (refused at once,
# and refused as `address:`); `address: "::"` forwards IPv6 only, an IPv4
# address IPv4 only; conflicts are per family (forwards and host sockets);
# nothing is left in either table (ip, ip6 lxm_port-forwards) after a live
# removal, stop, a crash, or delete; on a bridge lxm does not manage a
# forward is IPv4 only and an IPv6 address: fails the start, changing
# nothing. Only this test's bridges, veth pair and namespace carry traffic.
. "$(dirname "$0")/../lib.sh"
t_setup ports6
# A cgroup parent of our own (as ports.sh): removed at exit.
export LXM_CGROUP_PARENT=lxmt-ports6-$$
cg_mounts() { awk '$0 ~ / - cgroup2? / {print $5}' /proc/self/mountinfo; }
t_on_exit 'for m in $(cg_mounts); do [ -d "$m/$LXM_CGROUP_PARENT" ] && find "$m/$LXM_CGROUP_PARENT" -depth -type d -exec rmdir {} + ; done'

command -v jq >/dev/null || { echo "1..0 # SKIP jq is needed to read lxm's JSON output"; exit 0; }
command -v nft >/dev/null || { echo "1..0 # SKIP nft is needed to read the ruleset"; exit 0; }
[ -d /proc/sys/net/ipv6/conf/all ] || { echo "1..0 # SKIP the kernel has no IPv6"; exit 0; }
BB=$(command -v busybox) || { echo "1..0 # SKIP busybox is needed for wget"; exit 0; }
PY=$(command -v python3) || { echo "1..0 # SKIP python3 is needed for the UDP paths"; exit 0; }

BR=lxp6$(($$ % 100000))
TABLE=lxm_port-forwards
A=p6a$$ B=p6b$$
used=$(ip -4 route show table all; ip -4 -o addr show)
NET=
for a in $(seq 200 254); do
    b=$((($$ + a * 11) % 250 + 1))
    grep -Eq "(^| )10\.$a\.$b\.|(^| )10\.0\.0\.0/8|(^| )10\.$a\.0\.0/16" <<<"$used" && continue
    NET=10.$a.$b
    break
done
[ -n "$NET" ] || { echo "1..0 # SKIP no free 10.2xx.y.0/24 on this host"; exit 0; }
# The outside: a ULA /64 of this test's own on a veth pair into a netns.
# Groups without leading zeros (and never 0): as python and ip print them.
OUT6=fd$(printf '%02x:%x:%x' $((RANDOM % 256)) $((RANDOM + 1)) $(($$ % 65535 + 1)))
ip -6 route show table all | grep -q "^${OUT6}::" && { echo "1..0 # SKIP $OUT6::/64 is in use"; exit 0; }
NS=lxmt-p6o-$$ VH=p6h$$ VN=p6n$$
printf 'network:\n  bridge: %s\n  ipv4: %s.1/24\n  dns:\n    upstream: []\n' "$BR" "$NET" \
    >"$T_ROOT/etc/lxm/lxm.yaml"
t_on_exit "'$LXM_BIN' --root '$T_ROOT' net down -f"

pick_port() {
    local p
    for p in $(seq $((20000 + ($$ * 17 + $1 * 103) % 20000)) 45000); do
        ss -Hltnu | grep -q ":$p " && continue
        nft list ruleset 2>/dev/null | grep -q "dport $p " && continue
        echo "$p"
        return 0
    done
}
P1=$(pick_port 1) P2=$(pick_port 2) P3=$(pick_port 3) P4=$(pick_port 4)
[ "$P2" = "$P1" ] && P2=$((P1 + 1))
[ "$P3" = "$P1" ] || [ "$P3" = "$P2" ] && P3=$((P2 + 1))
[ "$P4" = "$P1" ] || [ "$P4" = "$P2" ] || [ "$P4" = "$P3" ] && P4=$((P3 + 1))

ip6_of() { lxm list --format json | jq -r --arg n "$1" '.[] | select(.name==$n) | .ipv6[0] // empty' | cut -d/ -f1; }
monitor_of() {
    local init mon
    init=$(t_pid "$1")
    [ -n "$init" ] || return 0
    mon=$(ps -o ppid= -p "$init" | tr -d ' ')
    [ "$(cat "/proc/$mon/comm" 2>/dev/null)" = lxm-monitor ] && echo "$mon"
}
# Chains of $1 in the table of family $2 (ip, ip6).
chains_of() { nft list table "$2" "$TABLE" 2>/dev/null | grep -c "chain [posf]-$(t_id "$1") "; }
localnet() { cat "/proc/sys/net/ipv4/conf/$BR/route_localnet" 2>/dev/null; }
get() { timeout 5 "$BB" wget -q -O - "http://$1/" 2>&1; }                  # from the host
get_out() { timeout 5 ip netns exec "$NS" "$BB" wget -q -O - "http://$1/" 2>&1; } # from outside
get_in() { lxm attach "$1" -- timeout 5 wget -q -O - "http://$2/" 2>&1; }  # from container $1
udp() { timeout 5 "$PY" -c "$T_UDP_CLIENT" "$1" "$2" 2>&1; }
udp_out() { timeout 5 ip netns exec "$NS" "$PY" -c "$T_UDP_CLIENT" "$1" "$2" 2>&1; }
udp_in() { timeout 5 nsenter -t "$(t_pid "$1")" -n "$PY" -c "$T_UDP_CLIENT" "$2" "$3" 2>&1; }

t_ok "create $A" lxm create "$A" -t busybox
t_ok "create $B" lxm create "$B" -t busybox

# --- invalid entries: one line with config.yaml:LINE:COL, nothing changed --------
CFG=$T_ROOT/var/lib/lxm/containers/$A/config.yaml
before=$(cat "$CFG")
bad_set() { # desc value regex
    local out
    out=$(lxm config set "$A" "ports=$2" 2>&1)
    t_is "$1: config set refused" "$?" 1
    t_like "$1: says what and where" "$out" "$3"
    t_is "$1: one line" "$(printf '%s\n' "$out" | wc -l)" 1
    t_is "$1: config.yaml unchanged" "$(cat "$CFG")" "$before"
}
bad_set "address ::1" '[{host: 80, container: 80, address: "::1"}]' \
    'ports\[0\]\.address: "::1" is the IPv6 loopback: the kernel does not route connections from ::1 to a container \(IPv6 has no route_localnet\); use 127\.0\.0\.1'
bad_set "address fe80::1" '[{host: 80, container: 80, address: "fe80::1"}]' 'ports\[0\]\.address: "fe80::1" is a link-local address'
bad_set "address ff02::1" '[{host: 80, container: 80, address: "ff02::1"}]' 'ports\[0\]\.address: "ff02::1" is a multicast address'
bad_set "address ::ffff:1.2.3.4" '[{host: 80, container: 80, address: "::ffff:1.2.3.4"}]' 'is an IPv4-mapped address'
bad_set "address fd00::g" '[{host: 80, container: 80, address: "fd00::g"}]' 'ports\[0\]\.address: "fd00::g" is not an IPv4 or IPv6 address'
bad_set "both families twice" '[{host: 81, container: 80}, {host: 81, container: 90, address: "::"}]' \
    'ports\[1\]: host port tcp/81 is forwarded twice \(also by ports\[0\]\)'
bad_set "one IPv6 address twice" '[{host: 81, container: 80, address: "fd00::1"}, {host: 81, container: 90, address: "fd00:0::1"}]' \
    'ports\[1\]: host port tcp/81 is forwarded twice'
t_ok "one port, IPv4 and IPv6 apart: accepted" lxm config set "$A" \
    "ports=[{host: 81, container: 80, address: 0.0.0.0}, {host: 81, container: 90, address: \"::\"}]"
t_ok "... unset again" lxm config unset "$A" ports

# --- forwards of both families at start -----------------------------------------
t_ok "set ports on stopped $A" lxm config set "$A" \
    "ports=[{host: $P1, container: 80}, {host: $P2, container: 53, proto: udp}]"
t_ok "start $A" lxm start "$A"
t_ok "start $B" lxm start "$B"
BR6=$(lxm net status --format json | jq -r '.ipv6 // empty' | cut -d/ -f1)
[ -n "$BR6" ] || { t_report fail "the bridge has an IPv6 address"; t_done; exit; }
t_is "4 chains for $A in ip" "$(chains_of "$A" ip)" 4
t_is "4 chains for $A in ip6" "$(chains_of "$A" ip6)" 4
t_ok "$A has its IPv6 address" t_wait 20 t_ip6_settled "$A"
t_ok "$B has its IPv6 address" t_wait 20 t_ip6_settled "$B"
A6=$(ip6_of "$A")
t_like "the ip6 forward goes to $A's SLAAC address" "$(nft list chain ip6 "$TABLE" "p-$(t_id "$A")")" \
    "ip6 daddr != ::1 tcp dport $P1 dnat to \\[$A6\\]:80"
lxm attach "$A" -- sh -c "mkdir -p /www && echo hello-$A >/www/index.html && httpd -p 80 -h /www"
t_ok "httpd in $A answers on its IPv6 address" t_wait 5 sh -c "$BB wget -q -O - 'http://[$A6]/' | grep -q hello"

# The outside: a namespace behind a veth pair, routed through the host.
ip netns add "$NS" && t_on_exit "ip netns del $NS"
ip link add "$VH" type veth peer name "$VN" netns "$NS" && t_on_exit "ip link del $VH"
ip addr add "$OUT6::1/64" dev "$VH" nodad
ip link set "$VH" up
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip addr add "$OUT6::2/64" dev "$VN" nodad
ip netns exec "$NS" ip link set "$VN" up
ip netns exec "$NS" ip -6 route add default via "$OUT6::1"

t_is "tcp: host -> bridge [$BR6]:$P1" "$(get "[$BR6]:$P1")" "hello-$A"
t_is "tcp: host -> 127.0.0.1:$P1 (IPv4 as before)" "$(get "127.0.0.1:$P1")" "hello-$A"
t_like "tcp: host -> [::1]:$P1 is refused at once (never forwarded)" "$(get "[::1]:$P1")" "refused"
t_is "tcp: $B -> [$BR6]:$P1 (hairpin)" "$(get_in "$B" "[$BR6]:$P1")" "hello-$A"
t_is "tcp: outside -> host's veth address [$OUT6::1]:$P1" "$(get_out "[$OUT6::1]:$P1")" "hello-$A"
t_is "tcp: outside -> bridge [$BR6]:$P1" "$(get_out "[$BR6]:$P1")" "hello-$A"

nsenter -t "$(t_pid "$A")" -n "$PY" -c "$T_UDP_SERVER" 6 &
USRV=$!
t_on_exit "kill $USRV"
t_ok "udp echo server listens in $A" t_wait 20 sh -c "nsenter -t $(t_pid "$A") -n ss -Hlnu | grep -q ':53 '"
t_is "udp: host -> [$BR6]:$P2" "$(udp "$BR6" "$P2")" "pong from $BR6"
t_is "udp: $B -> [$BR6]:$P2 (hairpin, masqueraded)" "$(udp_in "$B" "$BR6" "$P2")" "pong from $BR6"
t_is "udp: outside -> [$OUT6::1]:$P2 (source kept)" "$(udp_out "$OUT6::1" "$P2")" "pong from $OUT6::2"

t_like "lxm info lists the IPv6 forward" "$(lxm info "$A" --format json | jq -c .forwards)" \
    "\"proto\":\"tcp\",\"address\":\"::\",\"host\":$P1,\"target\":\"$A6\",\"target_port\":80"
t_like "lxm info (table): one line, the forwards of both families apart by ', '" \
    "$(lxm info "$A" | grep '^forwards:')" \
    "^forwards: +tcp 0\\.0\\.0\\.0:$P1 -> [0-9.]+:80, udp 0\\.0\\.0\\.0:$P2 -> [0-9.]+:53, tcp \\[::\\]:$P1 -> \\[$A6\\]:80, udp \\[::\\]:$P2 -> \\[$A6\\]:53$"
t_is "lxm net status lists both families" \
    "$(lxm net status --format json | jq -r --arg n "$A" '[.forwards[] | select(.container==$n) | "\(.proto)/\(.address)/\(.host)"] | join(" ")')" \
    "tcp/0.0.0.0/$P1 udp/0.0.0.0/$P2 tcp/::/$P1 udp/::/$P2"

# --- live: IPv6 only, IPv4 only ---------------------------------------------------
t_ok "config set: $P3 on :: only (live)" lxm config set "$A" "ports=[{host: $P3, container: 80, address: \"::\"}]"
t_is "... no chains left in ip" "$(chains_of "$A" ip)" 0
t_is "... route_localnet put back" "$(localnet)" 0
t_is "... 4 chains in ip6" "$(chains_of "$A" ip6)" 4
t_is "IPv6 only: outside -> [$OUT6::1]:$P3" "$(get_out "[$OUT6::1]:$P3")" "hello-$A"
t_like "IPv6 only: not on 127.0.0.1:$P3" "$(get "127.0.0.1:$P3")" "refused|can't connect"
t_like "IPv6 only: $P1 gone" "$(get_out "[$OUT6::1]:$P1")" "refused|can't connect"
t_like "IPv6 only: udp $P2 gone" "$(udp_out "$OUT6::1" "$P2")" "timed out|refused|Error"
t_ok "config set: $P3 on the bridge's IPv4 address only" lxm config set "$A" "ports=[{host: $P3, container: 80, address: $NET.1}]"
t_is "... no chains left in ip6" "$(chains_of "$A" ip6)" 0
t_like "IPv4 only: not on [$BR6]:$P3" "$(get "[$BR6]:$P3")" "refused|can't connect"
t_is "IPv4 only: on $NET.1:$P3" "$(get "$NET.1:$P3")" "hello-$A"

# --- conflicts, per family ----------------------------------------------------------
t_ok "$A: $P1 on :: (live)" lxm config set "$A" "ports=[{host: $P1, container: 80, address: \"::\"}]"
bcfg=$(cat "$T_ROOT/var/lib/lxm/containers/$B/config.yaml")
out=$(lxm config set "$B" "ports=[{host: $P1, container: 80}]" 2>&1)
t_is "$B: $P1 on both families refused (IPv6 held by $A)" "$?" 1
t_like "... naming $A and its address" "$out" "host port tcp/$P1 is already forwarded to container '$A' \(\[::\]:$P1"
t_is "... $B's config unchanged" "$(cat "$T_ROOT/var/lib/lxm/containers/$B/config.yaml")" "$bcfg"
t_is "... no chains for $B" "$(($(chains_of "$B" ip) + $(chains_of "$B" ip6)))" 0
t_ok "$B: $P1 on 0.0.0.0 (IPv4 only) is free" lxm config set "$B" "ports=[{host: $P1, container: 80, address: 0.0.0.0}]"
t_is "... $B has ip chains" "$(chains_of "$B" ip)" 4
t_ok "unset $B's ports" lxm config unset "$B" ports
t_is "... gone" "$(chains_of "$B" ip)" 0
# A host socket on an IPv6 address of the bridge (IPv6 only): in the way of
# an IPv6 forward, not of an IPv4 one.
"$PY" -c "import socket, time
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind(('$BR6', $P4)); s.listen(); time.sleep(60)" &
HL=$!
t_on_exit "kill $HL"
t_wait 10 sh -c "ss -Hltn | grep -q ':$P4 '"
out=$(lxm config set "$A" "ports=[{host: $P4, container: 80}]" 2>&1)
t_is "a host process on [$BR6]:$P4: both families refused" "$?" 1
t_like "... saying so" "$out" "host port tcp/$P4 is in use on the host \(a process has \[$BR6\]:$P4\)"
t_ok "... IPv4 only is fine" lxm config set "$A" "ports=[{host: $P4, container: 80, address: 127.0.0.1}]"
kill "$HL"

# --- a bridge lxm does not manage: no IPv6 target known ------------------------------
# lxm knows the container's IPv6 address only on its own bridge: elsewhere
# a forward is IPv4 only, and an IPv6 address: is refused at start.
C=p6c$$ XB=lxp6x$(($$ % 100000))
ip link add "$XB" type bridge && t_on_exit "ip link del $XB"
ip link set "$XB" up
t_ok "create $C on $XB (static IPv4)" lxm create "$C" -t busybox \
    -c "network.eth0.bridge=$XB" -c network.eth0.ipv4=192.0.2.5/24
t_ok "$C: an IPv6 address: is valid config" lxm config set "$C" "ports=[{host: $P2, container: 80, address: \"fd00::1\"}]"
out=$(lxm start "$C" 2>&1)
t_is "$C: start refused" "$?" 1
t_like "... saying why" "$out" "ports\[0\]\.address: fd00::1 is IPv6, but lxm knows no IPv6 address of the container"
t_is "... in one line" "$(printf '%s\n' "$out" | wc -l)" 1
t_is "... $C stays stopped" "$(lxm list --format json | jq -r --arg n "$C" '.[] | select(.name==$n) | .state')" STOPPED
t_is "... no veth of $C left" "$(ip -o link show type veth | grep -c "v${C:0:8}")" 0
t_is "... no chains" "$(($(chains_of "$C" ip) + $(chains_of "$C" ip6)))" 0
t_ok "$C: no address: IPv4 only here" lxm config set "$C" "ports=[{host: $P2, container: 80}]"
t_ok "start $C" lxm start "$C"
t_is "... chains in ip" "$(chains_of "$C" ip)" 4
t_is "... none in ip6" "$(chains_of "$C" ip6)" 0
t_ok "delete -f $C" lxm delete -f "$C"
t_is "... its chains gone" "$(chains_of "$C" ip)" 0

# --- stop, crash, delete: nothing left in either table -------------------------------
t_ok "both families again (live)" lxm config set "$A" "ports=[{host: $P1, container: 80}]"
t_is "... outside reaches it" "$(get_out "[$OUT6::1]:$P1")" "hello-$A"
t_ok "stop $A" lxm stop "$A"
t_is "stop: no chains of $A in ip" "$(chains_of "$A" ip)" 0
t_is "stop: none in ip6" "$(chains_of "$A" ip6)" 0
t_is "stop: route_localnet put back" "$(localnet)" 0
t_ok "start $A again" lxm start "$A"
t_is "restart: ip6 chains back" "$(chains_of "$A" ip6)" 4
mon=$(monitor_of "$A")
init=$(t_pid "$A")
if [ -n "$mon" ] && [ -n "$init" ]; then
    kill -9 "$mon" "$init"
    t_ok "crash: monitor and init of $A killed" t_wait 10 sh -c "! kill -0 $mon 2>/dev/null && ! kill -0 $init 2>/dev/null"
    t_is "crash: the ip6 chains are still there" "$(chains_of "$A" ip6)" 4
    t_ok "crash: lxm stop cleans up" lxm stop "$A"
    t_is "crash: no chains of $A in ip" "$(chains_of "$A" ip)" 0
    t_is "crash: none in ip6" "$(chains_of "$A" ip6)" 0
else
    t_skip "crash cleanup" "monitor or init of $A not found"
fi
# IPv6-only forwards whose container has no state at all (its run dir
# lost): doctor names the ip6 table, and its fix removes them.
t_ok "IPv6 only again (stopped $A)" lxm config set "$A" "ports=[{host: $P1, container: 80, address: \"::\"}]"
t_ok "start $A for the leftover check" lxm start "$A"
mon=$(monitor_of "$A")
init=$(t_pid "$A")
if [ -n "$mon" ] && [ -n "$init" ]; then
    kill -9 "$mon" "$init"
    t_wait 10 sh -c "! kill -0 $mon 2>/dev/null && ! kill -0 $init 2>/dev/null"
    rm -f "$T_ROOT/run/lxm/$A/state"
    t_is "leftover: chains in ip6 only" "$(chains_of "$A" ip) $(chains_of "$A" ip6)" "0 4"
    l=$(lxm doctor --format json | jq -c '.leftovers[]? | select(.kind=="port-forwards")')
    t_is "leftover: doctor names the ip6 table" "$(jq -r .path <<<"$l")" "nftables: ip6 $TABLE p-$(t_id "$A")"
    t_like "leftover: its fix (doctor's table)" "$(lxm doctor | grep "port-forwards")" \
        "nftables: ip6 $TABLE p-$(t_id "$A") \(left by container $A, not running\) +lxm doctor --fix$"
    lxm doctor --fix >/dev/null 2>&1
    t_is "leftover: doctor --fix removed them" "$(chains_of "$A" ip) $(chains_of "$A" ip6)" "0 0"
    t_is "leftover: doctor lists nothing more" "$(lxm doctor --format json | jq -c '.leftovers[]? | select(.kind=="port-forwards")')" ""
else
    t_skip "leftover check" "monitor or init of $A not found"
fi
t_ok "both families again" lxm config set "$A" "ports=[{host: $P1, container: 80}]"
t_ok "start $A for delete" lxm start "$A"
t_ok "delete -f $A (running)" lxm delete -f "$A"
t_is "delete: nothing of $A in ip" "$(chains_of "$A" ip)" 0
t_is "delete: nothing in ip6" "$(chains_of "$A" ip6)" 0
t_ok "stop $B" lxm stop "$B"
t_done

#!/usr/bin/env bash
# Port forwards (issue 13, `ports:`): a busybox container's httpd (tcp) and
# a UDP echo server in its network namespace, reached through the host's
# 127.0.0.1, the bridge's address and the host's own address, from the host
# and from another container; live add/remove by config set/unset; a host
# port held by another running container refused; invalid entries refused
# with config.yaml:LINE:COL; nothing left in nftables (nor route_localnet)
# after stop, a crash, or delete. Only a bridge of this test's own and
# addresses of this machine are used.
. "$(dirname "$0")/../lib.sh"
t_setup ports
# A cgroup parent of our own: the leftover check below loses a crashed
# container's run dir on purpose, and nothing then knows its cgroups
# (lxm delete does not look for them); removed at exit like the rest.
t_cgroup_parent lxmt-ports-$$

command -v jq >/dev/null || { echo "1..0 # SKIP jq is needed to read lxm's JSON output"; exit 0; }
command -v nft >/dev/null || { echo "1..0 # SKIP nft is needed to read the ruleset"; exit 0; }
BB=$(command -v busybox) || { echo "1..0 # SKIP busybox is needed for wget"; exit 0; }
PY=$(command -v python3) || true

BR=lxpf$(($$ % 100000))
TABLE=lxm_port-forwards
A=pfa$$ B=pfb$$
used=$(ip -4 route show table all; ip -4 -o addr show; ss -Hlnu 2>/dev/null)
NET=
for a in $(seq 200 254); do
    b=$((($$ + a * 7) % 250 + 1))
    grep -Eq "(^| )10\.$a\.$b\.|(^| )10\.0\.0\.0/8|(^| )10\.$a\.0\.0/16" <<<"$used" && continue
    NET=10.$a.$b
    break
done
[ -n "$NET" ] || { echo "1..0 # SKIP no free 10.2xx.y.0/24 on this host"; exit 0; }
GW=$NET.1
printf 'network:\n  bridge: %s\n  ipv4: %s/24\n  dns:\n    upstream: []\n' "$BR" "$GW" \
    >"$T_ROOT/etc/lxm/lxm.yaml"
t_on_exit "'$LXM_BIN' --root '$T_ROOT' net down -f"

# Host ports nobody listens on (a forward of "every address" takes the
# port host-wide while the test runs).
pick_port() {
    local p
    for p in $(seq $((20000 + ($$ * 13 + $1 * 101) % 20000)) 45000); do
        ss -Hltnu | grep -q ":$p " && continue
        nft list table ip "$TABLE" 2>/dev/null | grep -q "dport $p " && continue
        nft list table ip6 "$TABLE" 2>/dev/null | grep -q "dport $p " && continue
        echo "$p"
        return 0
    done
}
P1=$(pick_port 1) P2=$(pick_port 2) P3=$(pick_port 3)
[ "$P2" = "$P1" ] && P2=$((P1 + 1))
[ "$P3" = "$P1" ] || [ "$P3" = "$P2" ] && P3=$((P2 + 1))
# The host's own address outside lxm's bridges, if it has one.
HOSTIP=$(ip -4 -o addr show scope global | awk '$2 !~ /^(lx|veth|v)/ {print $4}' | cut -d/ -f1 | head -1)

ipv4_of() { lxm list --format json | jq -r --arg n "$1" '.[] | select(.name==$n) | .ipv4[0] // empty' | cut -d/ -f1; }
monitor_of() { # the lxm-monitor of container $1 of this root: its init's parent
    local init mon
    init=$(t_pid "$1")
    [ -n "$init" ] || return 0
    mon=$(ps -o ppid= -p "$init" | tr -d ' ')
    [ "$(cat "/proc/$mon/comm" 2>/dev/null)" = lxm-monitor ] && echo "$mon"
}
has_ip() { [ -n "$(ipv4_of "$1")" ]; }
state_of() { lxm list --format json | jq -r --arg n "$1" '.[] | select(.name==$n) | .state'; }
is_stopped() { [ "$(state_of "$1")" = STOPPED ]; }
# Chains of $1 in both tables (ip, and ip6 when the bridge has IPv6:
# tests/integration/ports6.sh checks those in detail).
chains_of() {
    local t n=0
    for t in ip ip6; do
        n=$((n + $(nft list table "$t" "$TABLE" 2>/dev/null | grep -c "chain [posf]-$(t_id "$1") ")))
    done
    echo "$n"
}
localnet() { cat "/proc/sys/net/ipv4/conf/$BR/route_localnet" 2>/dev/null; }
get() { timeout 5 "$BB" wget -q -O - "http://$1/" 2>&1; } # from the host
get_in() { lxm attach "$1" -- timeout 5 wget -q -O - "http://$2/" 2>&1; }
udp() { timeout 5 "$PY" -c "$T_UDP_CLIENT" "$1" "$2" 2>&1; }                # from the host
udp_in() { timeout 5 nsenter -t "$(t_pid "$1")" -n "$PY" -c "$T_UDP_CLIENT" "$2" "$3" 2>&1; } # in $1's netns

t_ok "create $A" lxm create "$A" -t busybox
t_ok "create $B" lxm create "$B" -t busybox

# --- invalid entries: config.yaml:LINE:COL, nothing changed --------------------
CFG=$T_ROOT/var/lib/lxm/containers/$A/config.yaml
before=$(cat "$CFG")
bad_set() { # desc value regex
    local out
    out=$(lxm config set "$A" "ports=$2" 2>&1)
    t_is "$1: config set refused" "$?" 1
    t_like "$1: says what and where" "$out" "$3"
    t_is "$1: config.yaml unchanged" "$(cat "$CFG")" "$before"
}
bad_set "port 0" '[{host: 0, container: 80}]' 'ports\[0\]\.host: "0" is out of range \(use a port number 1-65535\)'
bad_set "port 65536" '[{host: 80, container: 65536}]' 'ports\[0\]\.container: "65536" is out of range'
bad_set "proto sctp" '[{host: 80, container: 80, proto: sctp}]' 'ports\[0\]\.proto: "sctp" is not a valid choice \(use tcp or udp\)'
bad_set "address 1.2.3" '[{host: 80, container: 80, address: 1.2.3}]' 'ports\[0\]\.address: "1\.2\.3" is not an IPv4 or IPv6 address'
bad_set "container port missing" '[{host: 80}]' 'ports\[0\]\.container: missing'
bad_set "host port twice" '[{host: 81, container: 80}, {host: 81, container: 90}]' 'ports\[1\]: host port tcp/81 is forwarded twice'
printf '%s\nports:\n  - {host: %s, container: 80, proto: tcpx}\n' "$before" "$P1" >"$CFG"
out=$(lxm start "$A" 2>&1)
t_is "invalid entry in the file: start refused" "$?" 1
t_like "... with config.yaml:LINE:COL" "$out" "config\.yaml:[0-9]+:[0-9]+: ports\[0\]\.proto: \"tcpx\" is not a valid choice"
t_is "... nothing in nftables" "$(chains_of "$A")" 0
printf '%s\n' "$before" >"$CFG"

# --- forwards in place at start ------------------------------------------------
t_ok "set ports on stopped $A" lxm config set "$A" \
    "ports=[{host: $P1, container: 80}, {host: $P2, container: 53, proto: udp}]"
t_ok "start $A" lxm start "$A"
t_ok "start $B" lxm start "$B"
# prerouting, output, postrouting, forward: in ip, and in ip6 with IPv6.
NCH=4
[ -n "$(lxm net status --format json | jq -r '.ipv6 // empty')" ] && NCH=8
t_is "$NCH chains for $A (prerouting, output, postrouting, forward; per family)" "$(chains_of "$A")" "$NCH"
t_is "route_localnet on $BR while it has forwards" "$(localnet)" 1
t_ok "$A has its address" t_wait 20 has_ip "$A"
t_ok "$B has its address" t_wait 20 has_ip "$B"
AIP=$(ipv4_of "$A")
t_like "the forward goes to $A's address" "$(nft list chain ip "$TABLE" "p-$(t_id "$A")")" "dnat to $AIP:80"
lxm attach "$A" -- sh -c "mkdir -p /www && echo hello-$A >/www/index.html && httpd -p 80 -h /www"
t_ok "httpd in $A answers on its own address" t_wait 5 sh -c "$BB wget -q -O - http://$AIP/ | grep -q hello"

t_is "tcp: host -> 127.0.0.1:$P1" "$(get "127.0.0.1:$P1")" "hello-$A"
t_is "tcp: host -> bridge address $GW:$P1" "$(get "$GW:$P1")" "hello-$A"
t_is "tcp: $B -> bridge address $GW:$P1 (hairpin)" "$(get_in "$B" "$GW:$P1")" "hello-$A"
if [ -n "$HOSTIP" ]; then
    t_is "tcp: host -> its own address $HOSTIP:$P1" "$(get "$HOSTIP:$P1")" "hello-$A"
    t_is "tcp: $B -> host address $HOSTIP:$P1" "$(get_in "$B" "$HOSTIP:$P1")" "hello-$A"
else
    t_skip "tcp: to the host's own address" "the host has no global IPv4 address besides lxm's"
fi

if [ -n "$PY" ]; then
    nsenter -t "$(t_pid "$A")" -n "$PY" -c "$T_UDP_SERVER" 4 &
    USRV=$!
    t_on_exit "kill $USRV"
    t_ok "udp echo server listens in $A" t_wait 20 sh -c "nsenter -t $(t_pid "$A") -n ss -Hlnu | grep -q ':53 '"
    t_is "udp: host -> 127.0.0.1:$P2" "$(udp 127.0.0.1 "$P2")" "pong from $GW"
    t_is "udp: host -> bridge address $GW:$P2" "$(udp "$GW" "$P2")" "pong from $GW"
    t_is "udp: $B -> bridge address $GW:$P2 (hairpin, masqueraded)" "$(udp_in "$B" "$GW" "$P2")" "pong from $GW"
    if [ -n "$HOSTIP" ]; then
        t_is "udp: host -> its own address $HOSTIP:$P2" "$(udp "$HOSTIP" "$P2")" "pong from $HOSTIP"
        t_is "udp: $B -> host address $HOSTIP:$P2" "$(udp_in "$B" "$HOSTIP" "$P2")" "pong from $GW"
    fi
else
    t_skip "udp paths" "python3 is needed for the UDP echo server"
fi

t_like "lxm info lists the forwards" "$(lxm info "$A" --format json | jq -c .forwards)" \
    "\"proto\":\"tcp\",\"address\":\"0.0.0.0\",\"host\":$P1,\"target\":\"$AIP\",\"target_port\":80.*\"proto\":\"udp\""
t_like "lxm info (table)" "$(lxm info "$A")" "forwards: +tcp 0\.0\.0\.0:$P1 -> $AIP:80"
both="tcp/$P1 udp/$P2"
[ "$NCH" = 8 ] && both="$both $both" # and over IPv6
t_is "lxm net status lists them" \
    "$(lxm net status --format json | jq -r --arg n "$A" '[.forwards[] | select(.container==$n) | "\(.proto)/\(.host)"] | join(" ")')" \
    "$both"
t_like "lxm net status (table)" "$(lxm net status)" "tcp 0\.0\.0\.0:$P1 -> $AIP:80 +$A"

# --- live changes ----------------------------------------------------------------
t_ok "config set: add $P3 on 127.0.0.1 live" lxm config set "$A" \
    "ports=[{host: $P1, container: 80}, {host: $P3, container: 80, address: 127.0.0.1}]"
t_is "live add: host -> 127.0.0.1:$P3" "$(get "127.0.0.1:$P3")" "hello-$A"
t_like "live add: not on the bridge address" "$(get "$GW:$P3")" "refused|can't connect"
t_fail "live remove: udp $P2 gone from nftables" sh -c "nft list ruleset | grep -q 'dport $P2 '"
[ -n "$PY" ] && t_like "live remove: udp $P2 no longer answered" "$(udp 127.0.0.1 "$P2")" "timed out|refused|Error"

# --- conflicts ---------------------------------------------------------------------
bcfg=$(cat "$T_ROOT/var/lib/lxm/containers/$B/config.yaml")
out=$(lxm config set "$B" "ports=[{host: $P1, container: 80}]" 2>&1)
t_is "running $B: a host port of $A refused" "$?" 1
t_like "... naming $A" "$out" "host port tcp/$P1 is already forwarded to container '$A'"
t_is "... $B's config unchanged" "$(cat "$T_ROOT/var/lib/lxm/containers/$B/config.yaml")" "$bcfg"
t_is "... no chains for $B" "$(chains_of "$B")" 0
t_ok "stop $B" lxm stop "$B"
t_ok "stopped $B may name the port in its config" lxm config set "$B" "ports=[{host: $P1, container: 80}]"
DH=$T_ROOT/run/lxm/.net/$BR/dhcp-hosts/$B
dh_before=$(cat "$DH" 2>/dev/null)
out=$(lxm start "$B" 2>&1)
t_is "start of $B with $A's port refused" "$?" 1
t_is "... its DHCP entry untouched" "$(cat "$DH" 2>/dev/null)" "$dh_before"
t_like "... naming $A" "$out" "host port tcp/$P1 is already forwarded to container '$A'"
t_is "... $B stays stopped" "$(state_of "$B")" STOPPED
t_is "... no veth of $B left" "$(ip -o link show type veth | grep -c "v${B:0:8}")" 0
t_is "$A's forward still works" "$(get "127.0.0.1:$P1")" "hello-$A"
if [ -n "$PY" ]; then
    P4=$(pick_port 4)
    "$PY" -c "import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $P4)); s.listen(); time.sleep(60)" &
    HL=$!
    t_on_exit "kill $HL"
    t_wait 10 sh -c "ss -Hltn | grep -q '127.0.0.1:$P4 '"
    out=$(lxm config set "$A" "ports=[{host: $P1, container: 80}, {host: $P4, container: 80}]" 2>&1)
    t_is "a port a host process listens on: refused" "$?" 1
    t_like "... saying so" "$out" "host port tcp/$P4 is in use on the host \(a process has 127\.0\.0\.1:$P4\)"
    t_is "... $A's forwards unchanged" "$(lxm info "$A" --format json | jq -r '[.forwards[] | select(.address | test(":") | not) | .host] | join(" ")')" "$P1 $P3"
    kill "$HL"
fi
t_ok "unset ports of stopped $B" lxm config unset "$B" ports
t_ok "config unset ports on running $A" lxm config unset "$A" ports
t_is "... its chains are gone" "$(chains_of "$A")" 0
t_like "... and the port is closed" "$(get "127.0.0.1:$P1")" "refused|can't connect"
t_is "... route_localnet put back" "$(localnet)" 0

# --- stop, crash, delete: nothing left ---------------------------------------------
t_ok "set ports again (live)" lxm config set "$A" "ports=[{host: $P1, container: 80}]"
t_is "... forward back" "$(get "127.0.0.1:$P1")" "hello-$A"
t_ok "stop $A" lxm stop "$A"
t_is "stop: chains of $A gone" "$(chains_of "$A")" 0
t_is "stop: route_localnet put back" "$(localnet)" 0
t_fail "stop: no guard chain for $BR" nft list chain ip "$TABLE" "g-$BR"

t_ok "start $A again" lxm start "$A"
t_is "restart: chains back" "$(chains_of "$A")" "$NCH"
t_wait 20 has_ip "$A"
t_is "restart: same address (kept by dnsmasq)" "$(ipv4_of "$A")" "$AIP"
mon=$(monitor_of "$A")
init=$(t_pid "$A")
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
# Container $1 crashes (monitor and init killed) and its run dir loses the
# state file: only its forwards' chains are left.
lose_state() {
    local init mon
    init=$(t_pid "$1")
    mon=$(monitor_of "$1")
    kill -9 "$mon" "$init"
    t_wait 10 sh -c "! kill -0 $mon 2>/dev/null && ! kill -0 $init 2>/dev/null"
    rm -f "$T_ROOT/run/lxm/$1/state"
}
if [ -n "$mon" ] && [ -n "$init" ]; then
    kill -9 "$mon" "$init"
    t_ok "crash: monitor and init of $A killed" t_wait 10 sh -c "! kill -0 $mon 2>/dev/null && ! kill -0 $init 2>/dev/null"
    t_is "crash: $A's chains are still there (no lxm command has looked)" "$(chains_of "$A")" "$NCH"
    # No `lxm list` in between: the start of another container taking the
    # port finds the leftover itself.
    t_ok "crash: $B may take $A's port now" lxm config set "$B" "ports=[{host: $P1, container: 80}]"
    t_ok "crash: start $B with $A's old port" lxm start "$B"
    t_is "crash: $A's leftover chains removed" "$(chains_of "$A")" 0
    t_is "crash: $B has its chains" "$(chains_of "$B")" "$NCH"
    t_is "crash: lxm sees $A stopped" "$(state_of "$A")" STOPPED
    t_ok "stop $B" lxm stop "$B"
    t_is "stop $B: its chains gone" "$(chains_of "$B")" 0
    t_is "stop $B: route_localnet put back" "$(localnet)" 0
    t_ok "start $A once more" lxm start "$A"
    init=$(t_pid "$A")
    mon=$(monitor_of "$A")
    kill -9 "$mon" "$init"
    t_ok "crash 2: lxm list sees $A stopped" t_wait 10 is_stopped "$A"
    t_is "crash 2: lxm list changed nothing (its chains are still there)" "$(chains_of "$A")" "$NCH"
    t_ok "crash 2: lxm stop cleans up after the crashed $A" lxm stop "$A"
    t_is "crash 2: the stop removed its chains" "$(chains_of "$A")" 0
    t_is "crash 2: route_localnet put back" "$(localnet)" 0
    # Forwards whose container has no state at all (its run dir lost):
    # found by doctor (in the ip table, and the ip6 one where the bridge has
    # IPv6), removed by --fix.
    t_ok "start $A for the leftover check" lxm start "$A"
    lose_state "$A"
    t_like "leftover: lxm doctor lists $A's forwards" \
        "$(lxm doctor --format json | jq -c '.leftovers[]? | select(.kind=="port-forwards")')" \
        "\"path\":\"nftables: ip $TABLE p-$(t_id "$A")(, ip6 $TABLE p-$(t_id "$A"))?\".*\"owner\":\"container $A, not running\""
    lxm doctor --fix >/dev/null 2>&1
    t_is "leftover: doctor --fix removed them" "$(chains_of "$A")" 0
    t_is "leftover: route_localnet put back" "$(localnet)" 0
    # The same leftover once more: the sweep of any state-changing command
    # (here a config change of another container, which plans no forward
    # of A's port) removes it. The sweep looks at the chains' names over
    # nfnetlink first and reads the tables only when one may be stale.
    t_ok "start $A for the sweep check" lxm start "$A"
    lose_state "$A"
    t_is "sweep: $A's chains still there" "$(chains_of "$A")" "$NCH"
    t_ok "sweep: a config change of $B" lxm config unset "$B" ports
    t_is "sweep: it removed $A's chains" "$(chains_of "$A")" 0
    t_is "sweep: route_localnet put back" "$(localnet)" 0
else
    t_skip "crash cleanup" "monitor or init of $A not found"
fi
t_ok "delete $A" lxm delete "$A"
t_is "delete: nothing of $A in nftables" "$(chains_of "$A")" 0
t_done

#!/usr/bin/env bash
# Networking (issue 6): the managed bridge (net up/status/down, NAT table,
# dnsmasq), busybox containers on it (DHCP, ping by address and by name,
# the host reaching a web server inside), static address + gateway,
# macvlan, none, start/stop cycles leaving nothing behind, bad input.
# Everything lives on a bridge and subnet of this test's own (a global
# config under its --root) and in a netns it makes; packets go nowhere else.
. "$(dirname "$0")/../lib.sh"
t_setup net
t_storage dir # these checks read and write containers/NAME/rootfs on disk

command -v jq >/dev/null || { echo "1..0 # SKIP jq is needed to read lxm's JSON output"; exit 0; }

BR=lxmt$$
NS=lxmtest-$$
PARENT=lxmp$$
# Container names are unique per run: host veth names derive from them.
A=na$$ B=nb$$ S=ns$$ M=nm$$ Z=nz$$

# A /24 in 10.200-254.x.0 that no route or address of the host touches.
# A dnsmasq that outlived its bridge (a crashed run) still holds its
# address: a subnet with a listening socket is taken too.
used=$(ip -4 route show table all; ip -4 -o addr show; ss -Hlnu 2>/dev/null)
pick_net() {
    local a b n skip=$1
    for a in $(seq 200 254); do
        b=$((($$ + a) % 250 + 1))
        n=10.$a.$b
        [ "$n" = "$skip" ] && continue
        grep -Eq "(^| )10\.$a\.$b\.|(^| )10\.0\.0\.0/8|(^| )10\.$a\.0\.0/16" <<<"$used" && continue
        echo "$n"
        return 0
    done
    return 1
}
NET=$(pick_net x) || { echo "1..0 # SKIP no free 10.2xx.y.0/24 on this host"; exit 0; }
NET2=$(pick_net "$NET") || { echo "1..0 # SKIP no second free /24"; exit 0; }
GW=$NET.1

mkdir -p "$T_ROOT/etc/lxm"
cat >"$T_ROOT/etc/lxm/lxm.yaml" <<EOF
network:
  bridge: $BR
  ipv4: $GW/24
  nat: true
  dhcp: true
  dns:
    upstream: []
EOF
t_on_exit "ip netns del $NS"
t_on_exit "ip link del $PARENT"
t_on_exit "'$LXM_BIN' --root '$T_ROOT' net down -f"

# Tables besides lxm's own (other lxm roots' lxm_* tables may come and go).
nft_tables() { nft list tables | grep -Ev '^table ip6? lxm_' | sort; }
# Host ends of this run's containers only ("v" + the first 8 characters of
# the name): other veths on the host come and go with other tests.
veths() { ip -o link show type veth | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^v[a-z]{2}${$:0:6}" | sort; }
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
dnsmasq_pid() { lxm net status --format json | jq -r '.dnsmasq_pid // empty'; }
TABLES0=$(nft_tables)
ip netns add "$NS"

# --- net/ link layer through the driver, in a netns of our own -----------------
DRV=${NET_DRIVER:-$(dirname "$LXM_BIN")/../tests/integration/progs/net-driver}
if [ -x "$DRV" ]; then
    ip netns exec "$NS" sleep 30 &
    nspid=$!
    in_ns() { [ "$(readlink /proc/$nspid/ns/net)" = "$(readlink /proc/self/ns/net)" ] && return 1; [ "$(stat -L -c %i /proc/$nspid/ns/net)" = "$(stat -L -c %i "/run/netns/$NS")" ]; }
    t_wait 5 in_ns
    out=$("$DRV" links "$$" "$nspid" 2>&1)
    t_is "net/ links: bridge, veth, master, MTU, MAC, moves, rename, delete" "$?" 0
    grep -q FAIL <<<"$out" && printf '%s\n' "$out" | grep FAIL | sed 's/^/#   /'
    kill "$nspid" 2>/dev/null
    wait "$nspid" 2>/dev/null
else
    t_skip "net/ links through net-driver" "$DRV not built (make check TESTS=)"
fi

# --- the bridge alone ---------------------------------------------------------
t_ok "net up" lxm net up
t_is "bridge has its address" "$(ip -4 -o addr show dev "$BR" | awk '{print $4}')" "$GW/24"
t_like "bridge is up" "$(ip -o link show "$BR")" '<[^>]*[,<]UP[,>]'
t_ok "nft table lxm_$BR exists" nft list table ip "lxm_$BR"
t_like "NAT masquerades the subnet" "$(nft list table ip "lxm_$BR")" "ip saddr $NET.0/24 .*masquerade"
t_is "IPv4 forwarding on" "$(cat /proc/sys/net/ipv4/ip_forward)" 1
if [ -d /proc/sys/net/ipv6/conf/all ]; then
    t_ok "NAT66 table ip6 lxm_$BR exists" nft list table ip6 "lxm_$BR"
    t_is "IPv6 forwarding on" "$(cat /proc/sys/net/ipv6/conf/all/forwarding)" 1
fi
pid=$(dnsmasq_pid)
t_like "dnsmasq pid in status" "$pid" '^[0-9]+$'
cmd=$(tr '\0' ' ' <"/proc/${pid:-0}/cmdline" 2>/dev/null)
t_like "dnsmasq serves the bridge" "$cmd" "--interface=$BR( |$)"
t_like "dnsmasq binds to its interface only" "$cmd" "--bind-interfaces"
t_like "dnsmasq skips the ping check" "$cmd" "--no-ping"
t_like "dnsmasq listens on the bridge address" "$(ss -Hlnup 2>/dev/null | grep "pid=$pid,")" "$GW:53"
t_like "net status (table)" "$(lxm net status)" "dnsmasq: running \(pid $pid\)"
t_is "net status: subnet" "$(lxm net status --format json | jq -r .subnet)" "$NET.0/24"
t_ok "net up again (idempotent)" lxm net up
t_is "still one address" "$(ip -4 -o addr show dev "$BR" | wc -l)" 1
t_is "same dnsmasq" "$(dnsmasq_pid)" "$pid"
kill "$pid"
t_wait 5 gone "$pid"
t_ok "net up after dnsmasq died" lxm net up
pid2=$(dnsmasq_pid)
t_ok "dnsmasq restarted" test -n "$pid2" -a "$pid2" != "$pid" -a -d "/proc/${pid2:-0}"
t_ok "net down" lxm net down
t_fail "bridge gone" ip link show "$BR"
t_fail "nft table gone" nft list table ip "lxm_$BR"
t_fail "NAT66 table gone" nft list table ip6 "lxm_$BR"
t_ok "dnsmasq gone" gone "${pid2:-0}"
t_is "no other nft tables touched" "$(nft_tables)" "$TABLES0"

# A bridge of the same name made by someone else (another --root, by hand).
OTHER=lxmu$$
mkdir -p "$T_ROOT/other/etc/lxm"
echo "network: {bridge: $OTHER}" >"$T_ROOT/other/etc/lxm/lxm.yaml"
t_on_exit "ip link del $OTHER"
ip link add "$OTHER" type bridge
out=$("$LXM_BIN" --root "$T_ROOT/other" net down 2>&1)
t_is "net down of a bridge lxm did not set up: refused" "$?" 1
t_like "... and says why" "$out" "not set up by this lxm"
t_ok "... the bridge is left alone" ip link show "$OTHER"
ip link del "$OTHER"

# --- bad global configs: clear error, nothing created --------------------------
bad_global() { # desc yaml regex
    local r=$T_ROOT/bad$T_N out
    mkdir -p "$r/etc/lxm"
    printf '%s\n' "$2" >"$r/etc/lxm/lxm.yaml"
    out=$("$LXM_BIN" --root "$r" net up 2>&1)
    t_is "$1: net up fails" "$?" 1
    t_like "$1: says why" "$out" "$3"
    t_fail "$1: no bridge created" ip link show "$BR"
    t_fail "$1: no nft table created" nft list table ip "lxm_$BR"
    t_is "$1: no dnsmasq started" "$(ls "$r/run/lxm/.net/$BR/dnsmasq.pid" 2>/dev/null)" ""
}
bad_global "bridge name of 16 chars" "network: {bridge: lxmt0123456789ab}" "lxmt0123456789ab.*(15|long)"
bad_global "invalid CIDR" "network: {bridge: $BR, ipv4: 10.300.0.1/24}" "10\.300\.0\.1/24"
bad_global "prefix out of range" "network: {bridge: $BR, ipv4: $GW/33}" "$GW/33"
bad_global "bad DNS upstream" "network: {bridge: $BR, dns: {upstream: [$GW, 10.1.2]}}" \
    "lxm\.yaml:1:[0-9]+: network\.dns\.upstream: \"?10\.1\.2\"? is not an IP address"
bad_global "DNS upstream = the bridge itself" "network: {bridge: $BR, ipv4: $GW/24, dns: {upstream: [$GW]}}" \
    "upstream $GW is the address of $BR itself"

# --- containers ----------------------------------------------------------------
mkc() { # name [-c KEY=VALUE]...
    local n=$1
    shift
    lxm create "$n" -t busybox -c "network.eth0.bridge=$BR" "$@"
}
no_dhcp() { # an init that leaves eth0 as lxm configured it
    printf '#!/bin/sh\nexit 0\n' >"$T_ROOT/var/lib/lxm/containers/$1/rootfs/etc/init.d/rcS"
}
ip_of() { lxm list --format json | jq -r --arg n "$1" '.[] | select(.name == $n) | .ipv4[0] // empty' | sed 's|/.*||'; }
has_ip() { [ -n "$(ip_of "$1")" ]; }
pid_of() { lxm list --format json | jq -r --arg n "$1" '.[] | select(.name == $n) | .pid // empty'; }
in_c() { local n=$1; shift; lxm attach "$n" -- "$@"; }

runtime=yes
out=$(mkc "$A" 2>&1) || { runtime=no; why="create -t busybox failed: $out"; }
if [ $runtime = yes ]; then
    out=$(lxm start "$A" 2>&1)
    if [ $? != 0 ]; then
        if grep -q "not implemented" <<<"$out"; then runtime=no; why="lxm start: $out"
        else t_report fail "start $A on the bridge" "$out"; runtime=no; why="start failed"; fi
    fi
fi
if [ $runtime = no ]; then
    t_skip "container networking" "$why"
    t_done
    exit
fi

t_ok "implicit net up: bridge back" ip link show "$BR"
t_ok "implicit net up: dnsmasq" test -n "$(dnsmasq_pid)"
t_ok "host end on the bridge" test -n "$(ip -o link show master "$BR")"
mkc "$B" >/dev/null
t_ok "start $B" lxm start "$B"
t_ok "$A gets a DHCP lease" t_wait 15 has_ip "$A"
t_ok "$B gets a DHCP lease" t_wait 15 has_ip "$B"
IPA=$(ip_of "$A") IPB=$(ip_of "$B")
t_like "$A's address is in the subnet" "$IPA" "^$NET\.[0-9]+$"
t_like "$B's address is in the subnet" "$IPB" "^$NET\.[0-9]+$"
t_like "resolv.conf points at the bridge" "$(in_c "$A" cat /etc/resolv.conf)" "nameserver $GW"
t_ok "$A pings $B by address" in_c "$A" ping -c1 -W3 "$IPB"
t_ok "$A pings $B by name" in_c "$A" ping -c1 -W3 "$B"
t_ok "$B pings $A by NAME.lxm" in_c "$B" ping -c1 -W3 "$A.lxm"
t_like "eth0 has the stable MAC prefix" "$(in_c "$A" cat /sys/class/net/eth0/address)" '^00:16:3e:'
t_like "info shows the address" "$(lxm info "$A")" "$IPA"

marker="net-test-$$-$RANDOM"
in_c "$A" sh -c "echo $marker >/net-marker; httpd -p 8080 -h /" >/dev/null 2>&1
t_wait 5 curl -sf "http://$IPA:8080/net-marker" >/dev/null
t_is "host fetches a file of the container over HTTP" "$(curl -s --max-time 5 "http://$IPA:8080/net-marker")" "$marker"
t_is "it is the container's rootfs, not the host's" "$(curl -s --max-time 5 "http://$IPA:8080/etc/hostname")" "$A"

# A container named "net" has a run dir of its own, never the bridge's state.
lxm create net -t busybox -c network.eth0.type=none >/dev/null
t_ok "a container named net: start" lxm start net
t_ok "... stop" lxm stop -k net
t_ok "... delete" lxm delete net
t_ok "the bridge's dnsmasq state survives it" test -s "$T_ROOT/run/lxm/.net/$BR/dnsmasq.pid"
t_ok "... and its dnsmasq still runs" test -n "$(dnsmasq_pid)"

out=$(lxm net down 2>&1)
t_is "net down refuses while containers use the bridge" "$?" 1
t_like "net down says why" "$out" "in use"
t_ok "bridge still there" ip link show "$BR"

# --- static address + gateway ---------------------------------------------------
mkc "$S" -c "network.eth0.ipv4=$NET.50/24" >/dev/null && no_dhcp "$S"
t_ok "static: start" lxm start "$S"
t_like "static: address" "$(in_c "$S" ip -4 addr show eth0)" "inet $NET.50/24"
t_like "static: default route via the bridge" "$(in_c "$S" ip route)" "default via $GW dev eth0"
t_ok "static: reaches the gateway" in_c "$S" ping -c1 -W3 "$GW"
# dnsmasq picks the new hosts entry up through inotify, on its own time.
t_wait 10 in_c "$A" ping -c1 -W1 "$S"
t_ok "static: $A reaches it by name" in_c "$A" ping -c1 -W3 "$S"

# --- bad container configs: clear error, nothing created -------------------------
V0=$(veths)
bad_start() { # desc name regex
    local out
    out=$(lxm start "$2" 2>&1)
    t_is "$1: start fails" "$?" 1
    t_like "$1: says why" "$out" "$3"
    t_is "$1: no veth left" "$(veths)" "$V0"
    t_is "$1: container stopped" "$(lxm list --format json | jq -r --arg n "$2" '.[] | select(.name == $n) | .state')" STOPPED
}
mkc bo$$ -c "network.eth0.ipv4=10.1.2.3/24" >/dev/null
bad_start "static outside the subnet" bo$$ "10\.1\.2\.3.*outside"
mkc bd$$ -c "network.eth0.ipv4=$NET.50/24" >/dev/null
bad_start "duplicate static address" bd$$ "$NET\.50.*$S"
lxm create bp$$ -t busybox -c network.eth0.parent=nosuch$$ -c network.eth0.type=macvlan >/dev/null
bad_start "unknown macvlan parent" bp$$ "nosuch$$"
out=$(mkc bc$$ -c "network.eth0.ipv4=10.1.2.300/24" 2>&1)
t_is "invalid CIDR refused" "$?" 1
t_like "invalid CIDR is named" "$out" "10\.1\.2\.300/24"
out=$(lxm create bl$$ -t busybox -c network.eth0.bridge=lxmt0123456789ab 2>&1)
if [ $? = 0 ]; then bad_start "bridge name of 16 chars" bl$$ "lxmt0123456789ab"
else t_like "bridge name of 16 chars refused" "$out" "lxmt0123456789ab"; fi

# --- macvlan on a parent of our own ----------------------------------------------
if ip link add "$PARENT" type dummy 2>/dev/null; then
    ip link set "$PARENT" up
    far=""
else # no dummy driver in this kernel: a veth whose peer sits in our netns
    ip link add "$PARENT" type veth peer name lxmq$$ netns "$NS"
    ip link set "$PARENT" up
    ip -n "$NS" addr add "$NET2.1/24" dev lxmq$$
    ip -n "$NS" link set lxmq$$ up
    far=$NET2.1
fi
lxm create "$M" -t busybox -c "network.eth0.parent=$PARENT" -c network.eth0.type=macvlan \
    -c "network.eth0.ipv4=$NET2.2/24" -c "network.eth0.gateway=$NET2.1" >/dev/null && no_dhcp "$M"
t_ok "macvlan: start" lxm start "$M"
P=$(pid_of "$M")
t_like "macvlan: eth0 is a macvlan" "$(nsenter -t "${P:-0}" -n ip -d link show eth0)" "macvlan mode bridge"
t_like "macvlan: address" "$(in_c "$M" ip -4 addr show eth0)" "inet $NET2.2/24"
t_like "macvlan: default route" "$(in_c "$M" ip route)" "default via $NET2.1"
if [ -n "$far" ]; then t_ok "macvlan: reaches our netns through the parent" in_c "$M" ping -c1 -W3 "$far"
else t_skip "macvlan: reach through the parent" "dummy parent has no far end"; fi
t_ok "macvlan: stop" lxm stop -k "$M"

# --- none ----------------------------------------------------------------------
lxm create "$Z" -t busybox -c network.eth0.type=none >/dev/null
t_ok "none: start" lxm start "$Z"
links=$(in_c "$Z" ip -o link | awk -F': ' '{print $2}' | tr '\n' ' ')
t_is "none: only loopback" "$links" "lo "
t_like "none: loopback up" "$(in_c "$Z" ip -o link show lo)" 'UP'
t_ok "none: stop" lxm stop -k "$Z"

# --- start/stop cycles ------------------------------------------------------------
lxm stop -k "$B" >/dev/null 2>&1
lxm stop -k "$S" >/dev/null 2>&1
macA=$(in_c "$A" cat /sys/class/net/eth0/address)
lxm stop -t 5 "$A" >/dev/null 2>&1
V0=$(veths)
n=0 fails=0 start=$SECONDS
while [ $n -lt 50 ] && [ $((SECONDS - start)) -lt 240 ]; do
    lxm start "$A" >/dev/null 2>&1 || fails=$((fails + 1))
    lxm stop -t 5 "$A" >/dev/null 2>&1 || fails=$((fails + 1))
    n=$((n + 1))
done
t_is "start/stop cycles: no failure ($n cycles)" "$fails" 0
[ $n -lt 50 ] && t_skip "all 50 cycles" "capped at 240 s after $n cycles"
t_is "cycles leave no veth behind" "$(veths)" "$V0"
t_is "cycles leave no port on the bridge" "$(ip -o link show master "$BR" | wc -l)" 0
t_is "cycles add no nft table" "$(nft_tables)" "$TABLES0"
t_is "lxm_$BR holds its two chains only" "$(nft list table ip "lxm_$BR" | grep -c '^\s*chain ')" 2
same_ip() { [ "$(ip_of "$A")" = "$IPA" ]; }
t_ok "start after the cycles" lxm start "$A"
t_ok "... gets the same address again" t_wait 15 same_ip
t_is "one lease for $A's MAC" "$(lxm net status --format json | jq --arg m "$macA" '[.leases[] | select(.mac == $m)] | length')" 1
t_is "no lease conflicts: one lease per address" "$(lxm net status --format json | jq '[.leases[].ipv4] | (length == (unique | length))')" true
lxm stop -k "$A" >/dev/null 2>&1

# --- Debian: its own DHCP client (systemd-networkd) at boot ---------------------------
export LXM_CACHE_DIR=${LXM_CACHE_DIR:-/var/cache/lxm-test}
D=nd$$
if ! ls "$LXM_CACHE_DIR/images/debian-bookworm-"*.tar.zst >/dev/null 2>&1; then
    t_skip "Debian container on the bridge" "no cached Debian image in $LXM_CACHE_DIR (debian.sh makes it)"
elif ! lxm create "$D" -t debian -c "network.eth0.bridge=$BR" >/dev/null 2>&1; then
    t_report fail "Debian: create from the cached image"
else
    t_ok "Debian: start" lxm start "$D"
    t_ok "Debian: gets a DHCP lease at boot" t_wait 30 has_ip "$D"
    IPD=$(ip_of "$D")
    t_like "Debian: the address is in the subnet" "$IPD" "^$NET\.[0-9]+$"
    sysrunning() { [ "$(lxm attach "$D" -- systemctl is-system-running 2>/dev/null)" = running ]; }
    t_ok "Debian: systemctl is-system-running says running" t_wait 30 sysrunning
    lxm start "$A" >/dev/null 2>&1
    t_ok "Debian: $A reaches it by name" t_wait 15 in_c "$A" ping -c1 -W2 "$D"
    t_ok "Debian: it reaches $A by NAME.lxm" in_c "$D" getent hosts "$A.lxm"
    sleep 5
    t_is "Debian: still running after a while" "$(lxm attach "$D" -- systemctl is-system-running 2>/dev/null)" running
    lxm stop -k "$A" >/dev/null 2>&1
    t_ok "Debian: stop" lxm stop "$D"
fi

t_ok "net down once nothing uses the bridge" lxm net down
t_fail "bridge gone" ip link show "$BR"
t_fail "nft table gone" nft list table ip "lxm_$BR"
t_fail "NAT66 table gone" nft list table ip6 "lxm_$BR"
t_done

#!/usr/bin/env bash
# IPv6 on the managed bridge (issue 13): a ULA /64 generated once and
# recorded, router advertisements from lxm's dnsmasq giving busybox guests
# an address by SLAAC with no config of theirs, AAAA records for container
# names, two containers reaching each other by IPv6 address and by name;
# network.ipv6 set, none, and refused. The bridge is this test's own with
# nat: false, so no host sysctl is touched (NAT66 is checked in traps.sh,
# inside a network namespace of that test's own). A Debian guest
# (systemd-networkd) joins in when its image is cached.
. "$(dirname "$0")/../lib.sh"
t_setup ipv6

command -v jq >/dev/null || { echo "1..0 # SKIP jq is needed to read lxm's JSON output"; exit 0; }
[ -d /proc/sys/net/ipv6/conf/all ] || { echo "1..0 # SKIP the kernel has no IPv6"; exit 0; }

A=sa$$ B=sb$$
CFG=$T_ROOT/etc/lxm/lxm.yaml
STATE=$T_ROOT/run/lxm/.net/$T_BRIDGE
config() { printf 'network:\n  bridge: %s\n  nat: false\n  dns:\n    upstream: []\n%s' "$T_BRIDGE" "${1:+$1
}" >"$CFG"; }
config
# The last checks leave a bad config behind: cleanup needs a good one.
t_on_exit config

ip6_of() { lxm list --format json | jq -r --arg n "$1" '.[] | select(.name == $n) | .ipv6[0] // empty' | sed 's|/.*||'; }
has_ip6() { [ -n "$(ip6_of "$1")" ]; }
prefix64() { python3 -c 'import ipaddress,sys; print(ipaddress.ip_interface(sys.argv[1]).network)' "$1"; }
dnsmasq_args() {
    local p
    p=$(lxm net status --format json | jq -r '.dnsmasq_pid // empty')
    [ -n "$p" ] && tr '\0' ' ' <"/proc/$p/cmdline"
}

# --- a generated ULA, recorded once ------------------------------------------------
t_ok "net up" lxm net up
BR6=$(lxm net status --format json | jq -r '.ipv6 // empty')
t_like "the bridge has a ULA /64 ending in ::1" "$BR6" '^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::1/64$'
t_is "... recorded under the bridge's state" "$(cat "$STATE/ipv6" 2>/dev/null)" "$BR6"
t_like "... and on the bridge itself" "$(ip -6 -o addr show dev "$T_BRIDGE" scope global)" "${BR6%/64}/64"
t_like "net status shows it" "$(lxm net status)" "ipv6: +$BR6"
args=$(dnsmasq_args)
t_like "dnsmasq sends RAs with stateless DHCPv6 for the /64" "$args" "--enable-ra .*--dhcp-range=${BR6%1/64},ra-stateless,64"
t_like "... with router lifetime 0 (nat: false: nothing routes out)" "$args" "--ra-param=$T_BRIDGE,60,0"
t_ok "net down" lxm net down
t_ok "net up again" lxm net up
t_is "the same prefix comes back from the record" "$(lxm net status --format json | jq -r .ipv6)" "$BR6"

# --- two busybox guests: SLAAC, by address and by name --------------------------------
out=$(lxm create "$A" -t busybox 2>&1) || { t_report fail "create $A" "$out"; t_done; exit; }
lxm create "$B" -t busybox >/dev/null
t_ok "start $A" lxm start "$A"
t_ok "start $B" lxm start "$B"
t_ok "$A gets an IPv6 address (SLAAC, no guest config)" t_wait 20 has_ip6 "$A"
t_ok "$B gets an IPv6 address" t_wait 20 has_ip6 "$B"
t_ok "$A's address is settled (DAD over)" t_wait 20 t_ip6_settled "$A"
t_ok "$B's address is settled" t_wait 20 t_ip6_settled "$B"
IPA=$(ip6_of "$A") IPB=$(ip6_of "$B")
t_is "$A's address is in the bridge's /64" "$(prefix64 "$IPA/64")" "$(prefix64 "$BR6")"
t_like "lxm list has an IPV6 column" "$(lxm list | head -1)" "IPV4 +IPV6"
t_like "... showing $B's address" "$(lxm list | grep "^$B ")" "$IPB/64"
t_is "lxm info --format json: ipv6 array" "$(lxm info "$B" --format json | jq -r '.ipv6[0]')" "$IPB/64"
t_like "lxm info shows ipv6" "$(lxm info "$B")" "$IPB"
t_ok "$A pings $B by IPv6 address" lxm attach "$A" -- ping -6 -c1 -W3 "$IPB"
t_ok "$B pings $A by IPv6 address" lxm attach "$B" -- ping -6 -c1 -W3 "$IPA"
t_like "AAAA of $B answered by lxm's dnsmasq" "$(lxm attach "$A" -- nslookup -type=AAAA "$B" 2>&1)" "$IPB"
t_like "... and of $B.lxm" "$(lxm attach "$A" -- nslookup -type=AAAA "$B.lxm" 2>&1)" "$IPB"
t_like "A of $B still answered" "$(lxm attach "$A" -- nslookup -type=A "$B" 2>&1)" "Address:? +10\."
t_ok "$A pings $B by name over IPv6" lxm attach "$A" -- ping -6 -c1 -W3 "$B"

# --- Debian (systemd-networkd) when its image is cached ---------------------------------
export LXM_CACHE_DIR=${LXM_CACHE_DIR:-/var/cache/lxm-test}
D=sd$$
if ! ls "$LXM_CACHE_DIR/images/debian-bookworm-"*.tar.zst >/dev/null 2>&1; then
    t_skip "Debian guest over IPv6" "no cached Debian image in $LXM_CACHE_DIR (debian.sh makes it)"
elif ! lxm create "$D" -t debian >/dev/null 2>&1; then
    t_report fail "Debian: create from the cached image"
else
    t_ok "Debian: start" lxm start "$D"
    t_ok "Debian: networkd takes the RA: an IPv6 address" t_wait 30 has_ip6 "$D"
    t_ok "Debian: its address is settled" t_wait 20 t_ip6_settled "$D"
    IPD=$(ip6_of "$D")
    t_is "Debian: its address is in the bridge's /64" "$(prefix64 "$IPD/64")" "$(prefix64 "$BR6")"
    t_like "Debian: the AAAA of its name is that address" "$(lxm attach "$A" -- nslookup -type=AAAA "$D" 2>&1)" "$IPD"
    t_ok "Debian: $A pings it by name over IPv6" lxm attach "$A" -- ping -6 -c1 -W3 "$D"
    t_like "Debian: it resolves $A's AAAA" "$(lxm attach "$D" -- getent ahostsv6 "$A.lxm" 2>&1)" "$IPA"
    lxm stop "$D" >/dev/null
fi

# --- network.ipv6 set, none, refused ---------------------------------------------------
lxm stop "$A" >/dev/null
lxm stop "$B" >/dev/null
lxm net down >/dev/null
config "  ipv6: fd42:77:$(printf %x $(($$ % 65535)))::/64"
t_ok "net up with network.ipv6 PREFIX::/64" lxm net up
t_is "the bridge takes PREFIX::1" "$(lxm net status --format json | jq -r .ipv6)" "fd42:77:$(printf %x $(($$ % 65535)))::1/64"
lxm net down >/dev/null
config "  ipv6: none"
t_ok "net up with network.ipv6: none" lxm net up
t_is "no IPv6 on the bridge" "$(ip -6 -o addr show dev "$T_BRIDGE" scope global)" ""
t_fail "dnsmasq sends no RAs" grep -q -- "--enable-ra" <<<"$(dnsmasq_args)"
t_ok "$A starts without IPv6" lxm start "$A"
t_is "... and has none" "$(ip6_of "$A")" ""
lxm stop "$A" >/dev/null
config "  ipv6: fd42::/48"
out=$(lxm net up 2>&1)
t_like "a /48 is refused with the file and line" "$out" "lxm.yaml:[0-9]+:[0-9]+: network.ipv6: .*not a /64"
t_is "... and changes nothing" "$(ip -6 -o addr show dev "$T_BRIDGE" scope global)" ""

t_done

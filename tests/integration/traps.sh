#!/usr/bin/env bash
# Firewall traps (issue 13): `lxm net up` and `lxm net status` name what
# silently drops the bridge's traffic, one warning line each with its fix,
# and rewrite nothing of others: a forward chain with policy drop or a drop
# rule for the bridge in another nftables table, in iptables-nft and in
# iptables-legacy; ip_forward (and IPv6 forwarding) set back to 0; the DNS
# port on the bridge's address held by another process. Also NAT66.
# All of it happens inside a network namespace of this test's own (unshare
# -n): its bridge, firewall tables, forwarding sysctls and sockets are that
# namespace's, so nothing on the host changes; each rule the test puts in
# it takes out again itself.
. "$(dirname "$0")/../lib.sh"
t_setup traps

for c in unshare nsenter nft python3 jq; do
    command -v $c >/dev/null || { echo "1..0 # SKIP $c is needed"; exit 0; }
done

unshare -n sleep 3600 &
HOLD=$!
t_on_exit "kill $HOLD"
other_ns() { [ "$(readlink /proc/$HOLD/ns/net)" != "$(readlink /proc/self/ns/net)" ]; }
t_wait 5 other_ns || { echo "Bail out! no private network namespace"; exit 1; }
IN() { nsenter --net=/proc/$HOLD/ns/net "$@"; }
lx() { IN "$LXM_BIN" --root "$T_ROOT" "$@"; }
t_on_exit "lx net down -f"
BR=$T_BRIDGE
CFG=$T_ROOT/etc/lxm/lxm.yaml
config() { printf 'network:\n  bridge: %s\n  dns:\n    upstream: []\n%s' "$BR" "${1:+$1
}" >"$CFG"; }
config
warnings() { lx net status 2>&1 >/dev/null; }
no_warnings() { [ -z "$(warnings)" ]; }

out=$(lx net up 2>&1)
t_like "net up in the test's namespace" "$out" "bridge $BR up at 10\..* and fd"
t_is "... with no warning on a clean namespace" "$(grep -c warning <<<"$out")" 0
t_is "net status: no warning" "$(warnings)" ""
t_is "net status --format json: warnings []" "$(lx net status --format json | jq -c .warnings)" "[]"

# --- NAT66 with nat: true ---------------------------------------------------------
t_ok "NAT66 in lxm's own table ip6 lxm_$BR" IN nft list table ip6 "lxm_$BR"
t_like "... masquerading the bridge's /64" "$(IN nft list table ip6 "lxm_$BR")" "ip6 saddr fd[0-9a-f:]+::/64 .* masquerade"
t_is "... with IPv6 forwarding on (in the namespace)" "$(IN sysctl -n net.ipv6.conf.all.forwarding)" 1
t_is "net status --format json: nat6" "$(lx net status --format json | jq -r .nat6)" true

# --- forwarding switched back off -------------------------------------------------
IN sysctl -qw net.ipv4.ip_forward=0
w=$(warnings)
t_like "ip_forward=0 is reported" "$w" "warning: net.ipv4.ip_forward is 0 .*; fix: lxm net up"
t_is "... on one line" "$(grep -c . <<<"$w")" 1
t_ok "net up" lx net up
t_is "... sets it back to 1" "$(IN sysctl -n net.ipv4.ip_forward)" 1
t_ok "... and the warning is gone" no_warnings
IN sysctl -qw net.ipv6.conf.all.forwarding=0
t_like "IPv6 forwarding 0 is reported" "$(warnings)" "warning: net.ipv6.conf.all.forwarding is 0 .*fix:"
IN sysctl -qw net.ipv6.conf.all.forwarding=1

# --- another nftables table -----------------------------------------------------------
T=trap$$
IN nft add table inet "$T"
t_on_exit "IN nft delete table inet $T"
IN nft add chain inet "$T" fw '{ type filter hook forward priority 0; policy drop; }'
w=$(warnings)
t_like "a forward chain with policy drop in table inet $T" "$w" "warning: nftables table inet $T drops traffic forwarded for $BR: chain fw has policy drop; fix: nft insert rule inet $T fw iifname $BR accept"
t_is "... one line" "$(grep -c "table inet $T" <<<"$w")" 1
# br_netfilter's switch is per network namespace (on by default in a new one).
if [ "$(IN cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ]; then
    t_like "br_netfilter loaded: one more line, for traffic between containers" "$w" "warning: br_netfilter is loaded .*drop traffic between containers on $BR"
    IN sysctl -qw net.bridge.bridge-nf-call-iptables=0
    t_is "... not there with bridge-nf-call-iptables=0" "$(warnings | grep -c br_netfilter)" 0
    IN sysctl -qw net.bridge.bridge-nf-call-iptables=1
else
    t_skip "br_netfilter line" "br_netfilter is not loaded"
fi
out=$(lx net up 2>&1)
t_like "net up reports it too" "$out" "warning: nftables table inet $T .*policy drop"
t_ok "... and rewrites nothing of that table" IN nft list chain inet "$T" fw
t_like "... its policy still drop" "$(IN nft list chain inet "$T" fw)" "policy drop"
IN nft add rule inet "$T" fw iifname "$BR" accept
t_ok "the suggested accept silences it" no_warnings
IN nft flush chain inet "$T" fw
IN nft chain inet "$T" fw '{ policy accept; }'
IN nft add rule inet "$T" fw iifname "other$$" drop
t_ok "a drop rule for another interface is not a trap" no_warnings
IN nft add rule inet "$T" fw oifname "$BR" counter drop
t_like "a drop rule naming the bridge is" "$(warnings)" "chain fw has the rule 'oifname \"$BR\" counter packets [0-9]+ bytes [0-9]+ drop'; fix: remove that rule"
IN nft delete table inet "$T"
t_ok "table removed: no warning" no_warnings

# --- iptables-nft (what Docker and ufw write through) --------------------------------------
if command -v iptables-nft >/dev/null; then
    t_on_exit "IN iptables-nft -F; IN iptables-nft -X; IN iptables-nft -P FORWARD ACCEPT"
    IN iptables-nft -P FORWARD DROP
    t_like "iptables-nft FORWARD policy DROP" "$(warnings)" "warning: nftables table ip filter \(iptables-nft\) drops traffic forwarded for $BR: chain FORWARD has policy drop; fix: iptables -I FORWARD -i $BR -j ACCEPT"
    IN iptables-nft -N DOCKER-USER
    t_like "... with a DOCKER-USER chain: Docker's fix" "$(warnings)" "\(Docker\) .*fix: iptables -I DOCKER-USER -i $BR -j ACCEPT; iptables -I DOCKER-USER -o $BR -j ACCEPT"
    IN iptables-nft -X DOCKER-USER
    IN iptables-nft -P FORWARD ACCEPT
    IN iptables-nft -A FORWARD -i "$BR" -j DROP
    t_like "iptables-nft drop rule for the bridge" "$(warnings)" "chain FORWARD has the rule 'iifname \"$BR\".* drop'; fix: remove that rule \(iptables -S FORWARD"
    IN iptables-nft -F FORWARD
    t_ok "flushed: no warning" no_warnings
else
    t_skip "iptables-nft" "not installed"
fi

# --- iptables-legacy ---------------------------------------------------------------------
if command -v iptables-legacy >/dev/null; then
    t_on_exit "IN iptables-legacy -F; IN iptables-legacy -P FORWARD ACCEPT"
    IN iptables-legacy -P FORWARD DROP
    t_like "iptables-legacy FORWARD policy DROP" "$(warnings)" "warning: iptables-legacy: chain FORWARD has policy DROP and no rule accepting $BR; fix: iptables-legacy -I FORWARD -i $BR -j ACCEPT"
    IN iptables-legacy -I FORWARD -i "$BR" -j ACCEPT
    t_ok "... the suggested accept silences it" no_warnings
    IN iptables-legacy -F FORWARD
    IN iptables-legacy -P FORWARD ACCEPT
    IN iptables-legacy -A FORWARD -o "$BR" -j REJECT
    t_like "iptables-legacy REJECT rule for the bridge" "$(warnings)" "warning: iptables-legacy: chain FORWARD has a rule that drops traffic of $BR"
    IN iptables-legacy -F FORWARD
    t_ok "flushed: no warning" no_warnings
else
    t_skip "iptables-legacy" "not installed"
fi

# --- the DNS port on the bridge taken ---------------------------------------------------
ADDR=$(lx net status --format json | jq -r .ipv4 | sed 's|/.*||')
config "  dhcp: false"
t_ok "dhcp: false stops lxm's dnsmasq" lx net up
READY=$T_ROOT/squatter.ready
# nsenter itself, not the IN function: $! must be the holder's own pid.
nsenter --net=/proc/$HOLD/ns/net python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
open(sys.argv[2], "w").close()
time.sleep(600)' "$ADDR" "$READY" &
SQ=$!
t_on_exit "kill $SQ"
t_ok "a test process holds $ADDR:53/udp" t_wait 10 test -e "$READY"
config
out=$(lx net up 2>&1)
t_like "net up names the holder" "$out" "warning: port 53/udp on $BR \($ADDR\) is held by python3 \(pid $SQ\): lxm's dnsmasq cannot serve DNS there; fix:"
t_like "net status too" "$(warnings)" "port 53/udp on $BR \($ADDR\) is held by python3 \(pid $SQ\)"
kill $SQ
wait $SQ 2>/dev/null
out=$(lx net up 2>&1)
t_is "holder gone: net up starts dnsmasq without warning" "$(grep -c warning <<<"$out")" 0
t_ok "... it runs" test "$(lx net status --format json | jq -r .dhcp)" = true
t_ok "... and net status is clean" no_warnings

t_ok "net down in the namespace" lx net down
t_done

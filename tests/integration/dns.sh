#!/usr/bin/env bash
# Upstream DNS (issue 13): lxm's dnsmasq forwards names it does not own to
# an upstream resolver -- network.dns.upstream, or the servers of the
# host's resolv.conf (systemd-resolved's list when that names only the
# stub) -- and keeps container names to itself; upstream: [] forwards
# nothing. The upstream is a dnsmasq of this test's own on a 127.x address
# answering one test name; the host's resolv.conf is replaced only inside
# a private mount namespace of the test (unshare -m + a bind mount), so
# the host's file is never touched. Packets go to 127.x and this test's
# bridge only: every config here names the test's upstream or none.
. "$(dirname "$0")/../lib.sh"
t_setup dns

command -v jq >/dev/null || { echo "1..0 # SKIP jq is needed to read lxm's JSON output"; exit 0; }
command -v unshare >/dev/null || { echo "1..0 # SKIP unshare (util-linux) is needed"; exit 0; }

UP=127.77.$((RANDOM % 250 + 1)).$(($$ % 250 + 1))
NAME=upstream-test.example
ANSWER=192.0.2.7
C=dn$$ D=do$$
CFG=$T_ROOT/etc/lxm/lxm.yaml

# --- the upstream resolver of our own ------------------------------------------
UPLOG=$T_ROOT/upstream.log
/usr/sbin/dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
    --listen-address="$UP" --bind-interfaces --port=53 --user=root --pid-file= \
    --address="/$NAME/$ANSWER" --log-queries --log-facility="$UPLOG" 2>"$T_ROOT/upstream.err" &
UPPID=$!
t_on_exit "kill $UPPID"
listening() { ss -lnu | grep -qF "$UP:53 "; }
t_ok "upstream resolver of the test listens on $UP" t_wait 10 listening

# network.dns as YAML lines under network: (none = the host's resolvers).
config() {
    printf 'network:\n  bridge: %s\n%s' "$T_BRIDGE" "${1:+$1
}" >"$CFG"
}
ip_of() { lxm list --format json | jq -r --arg n "$1" '.[] | select(.name == $n) | .ipv4[0] // empty' | sed 's|/.*||'; }
has_ip() { [ -n "$(ip_of "$1")" ]; }
look() { lxm attach "$C" -- nslookup "$1" 2>&1; }
asked() { grep -c "query\[A\] $1 " "$UPLOG" 2>/dev/null; }
dnsmasq_args() {
    local p
    p=$(lxm net status --format json | jq -r '.dnsmasq_pid // empty')
    [ -n "$p" ] && tr '\0' ' ' <"/proc/$p/cmdline"
}

# --- (a) network.dns.upstream ---------------------------------------------------
config "  dns:
    upstream: [$UP]"
out=$(lxm create "$C" -t busybox 2>&1) || { t_report fail "create $C" "$out"; t_done; exit; }
lxm create "$D" -t busybox >/dev/null
t_ok "start $C" lxm start "$C"
t_ok "start $D" lxm start "$D"
t_ok "$C gets a lease" t_wait 15 has_ip "$C"
t_ok "$D gets a lease" t_wait 15 has_ip "$D"
IPD=$(ip_of "$D")
args=$(dnsmasq_args)
t_like "dnsmasq asks only the configured server" "$args" "--no-resolv .*--server=$UP( |$)"
t_like "... keeps single labels and private reverse lookups home" "$args" "--domain-needed .*--bogus-priv"
t_like "... answers the domain itself" "$args" "--local=/lxm/"
t_like "net status shows the upstream" "$(lxm net status)" "dns: +lxm, upstream: $UP"
t_like "upstream: the test name resolves in the container" "$(look $NAME)" "$ANSWER"
t_ok "... and the test's resolver was asked" test "$(asked $NAME)" -ge 1
t_like "a container name still resolves" "$(look "$D")" "$IPD"
t_like "... and NAME.lxm" "$(look "$D.lxm")" "$IPD"
look "nosuch$$." >/dev/null
look "nosuch$$.lxm" >/dev/null
t_like "a name of the domain nobody has is answered here" "$(look "nosuch$$.lxm")" "NXDOMAIN|can't resolve|No answer|not found"
t_is "container names never reach the upstream" "$(grep -cE "query\[[A-Z]+\] ($C|$D)(\.lxm)?( |$)" "$UPLOG")" 0
t_is "... nor unknown single labels or unknown NAME.lxm" "$(grep -cE "query\[[A-Z]+\] nosuch$$" "$UPLOG")" 0

# --- upstream: [] --------------------------------------------------------------
config "  dns:
    upstream: []"
t_ok "net up with upstream: []" lxm net up
t_like "dnsmasq replaced: no server" "$(dnsmasq_args)" "--no-resolv"
t_fail "... and none named" grep -q -- "--server=\|--resolv-file" <<<"$(dnsmasq_args)"
t_is "net status --format json: upstream []" "$(lxm net status --format json | jq -c .dns.upstream)" "[]"
before=$(asked $NAME)
t_fail "upstream: []: the test name does not resolve" grep -q "$ANSWER" <<<"$(look $NAME)"
t_is "... the test's resolver was not asked" "$(asked $NAME)" "$before"
t_like "... container names still do" "$(look "$D")" "$IPD"

# --- (b) the host's resolv.conf, in a mount namespace of ours ------------------
# Every lxm command here runs inside the namespace: dnsmasq, started there,
# reads the bind-mounted file, and no lxm outside can restart it against
# the host's real resolvers.
config ""
printf '# test resolv.conf\nnameserver %s\n' "$UP" >"$T_ROOT/resolv.conf"
chmod 644 "$T_ROOT/resolv.conf"
in_ns() { # script run by bash in a private mount namespace; $L = lxm
    unshare -m --propagation private env L="$LXM_BIN --root $T_ROOT" bash -c "$1" 2>&1
}
out=$(in_ns "mount --bind '$T_ROOT/resolv.conf' /etc/resolv.conf && \$L net up >/dev/null &&
    tr '\0' ' ' </proc/\$(\$L net status --format json | jq -r .dnsmasq_pid)/cmdline && echo &&
    \$L attach $C -- nslookup $NAME")
t_like "host resolv.conf: dnsmasq reads /etc/resolv.conf itself" "$out" "--resolv-file=/etc/resolv.conf"
t_like "host resolv.conf: the test name resolves in the container" "$out" "$ANSWER"
t_is "host's own /etc/resolv.conf untouched" "$(grep -c 'test resolv.conf' /etc/resolv.conf)" 0

# systemd-resolved's stub: /etc/resolv.conf names only 127.0.0.53, the real
# list is in /run/systemd/resolve/resolv.conf (a tmpfs of the namespace).
printf 'nameserver 127.0.0.53\noptions edns0 trust-ad\n' >"$T_ROOT/stub.conf"
chmod 644 "$T_ROOT/stub.conf"
before=$(asked $NAME)
out=$(in_ns "mount --bind '$T_ROOT/stub.conf' /etc/resolv.conf && mkdir -p /run/systemd &&
    mount -t tmpfs -o mode=755 tmpfs /run/systemd && mkdir /run/systemd/resolve &&
    cp '$T_ROOT/resolv.conf' /run/systemd/resolve/resolv.conf && \$L net up >/dev/null &&
    tr '\0' ' ' </proc/\$(\$L net status --format json | jq -r .dnsmasq_pid)/cmdline && echo &&
    \$L attach $C -- nslookup $NAME")
t_like "resolved stub: dnsmasq reads resolved's list" "$out" "--resolv-file=/run/systemd/resolve/resolv.conf"
t_like "resolved stub: the test name resolves in the container" "$out" "$ANSWER"
t_ok "... through the test's resolver" test "$(asked $NAME)" -gt "$before"

# Back to no forwarding before anything else runs outside the namespace.
config "  dns:
    upstream: []"
t_ok "net up: forwarding off again" lxm net up

# --- bad input: file:line:col, nothing changed ------------------------------------
GW=$(lxm net status --format json | jq -r '.ipv4 // empty' | sed 's|/.*||')
pid0=$(lxm net status --format json | jq -r '.dnsmasq_pid // empty')
config "  dns:
    upstream: [$UP, 192.0.2.300]"
out=$(lxm net up 2>&1)
t_is "bad upstream address: refused" "$?" 1
t_like "... with its place" "$out" "lxm\.yaml:4:[0-9]+: network\.dns\.upstream: \"?192\.0\.2\.300\"? is not an IP address"
config "  dns:
    upstream: ['$UP#99999']"
t_like "bad upstream port: refused with its place" "$(lxm net up 2>&1)" "lxm\.yaml:4:[0-9]+: .*port"
config "  dns:
    domain: 'no spaces'"
t_like "bad domain: refused with its place" "$(lxm net up 2>&1)" "lxm\.yaml:4:[0-9]+: network\.dns\.domain"
config "  dns:
    upstream: [$GW]"
t_like "the bridge's own address as upstream: refused" "$(lxm net up 2>&1)" "itself"
t_is "dnsmasq left as it was" "$(lxm net status --format json | jq -r '.dnsmasq_pid // empty')" "$pid0"

# --- another domain -----------------------------------------------------------------
config "  dns:
    upstream: []
    domain: lab.test"
t_ok "net up with domain lab.test" lxm net up
t_like "dnsmasq serves lab.test" "$(dnsmasq_args)" "--domain=lab.test --local=/lab.test/"
config "  dns:
    upstream: []"
lxm net up >/dev/null

t_ok "stop $C" lxm stop -k "$C"
t_ok "stop $D" lxm stop -k "$D"
t_done

#!/usr/bin/env bash
# A crashed container (its monitor and init killed with SIGKILL): looking at
# it changes nothing on the host -- `lxm list` and `lxm info` report it
# STOPPED and leave its state file, its cgroups and its port forwards where
# they are -- and the commands that act on it (start, stop, delete) clean up
# what it left, then do their work. Also an unreadable state file: reported,
# left alone by list, replaced by the next start.
. "$(dirname "$0")/../lib.sh"
t_setup stale

command -v jq >/dev/null || { echo "1..0 # SKIP jq is needed to read lxm's JSON output"; exit 0; }
NFT=$(command -v nft) || true

C=st$$a
TABLE=lxm_port-forwards
state_file() { echo "$T_ROOT/run/lxm/$1/state"; }
monitor_pid() { cut -d' ' -f1 "$(state_file "$1")" 2>/dev/null; }
init_pid() { cut -d' ' -f2 "$(state_file "$1")" 2>/dev/null; }
state_of() { lxm list --format json | jq -r --arg n "$1" '.[] | select(.name==$n) | .state'; }
info_state() { lxm info "$1" --format json | jq -r '.state'; }
cgroups_of() { ls -d /sys/fs/cgroup/*/lxm/"$(t_id "$1")" /sys/fs/cgroup/lxm/"$(t_id "$1")" 2>/dev/null | wc -l; }
# Forward chains of $1 in both tables (ip, and ip6 when the bridge has IPv6).
chains_of() {
    [ -z "$NFT" ] && echo - && return
    local t n=0
    for t in ip ip6; do
        n=$((n + $(nft list table "$t" "$TABLE" 2>/dev/null | grep -c "chain [posf]-$(t_id "$1") ")))
    done
    echo "$n"
}
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
pick_port() {
    local p
    for p in $(seq $((30000 + ($$ * 17) % 15000)) 46000); do
        ss -Hltnu | grep -q ":$p " && continue
        nft list ruleset 2>/dev/null | grep -q "dport $p " && continue
        echo "$p"
        return 0
    done
}
# What a crash leaves on the host, in one line.
host_state() {
    printf 'state=%s cgroups=%s chains=%s\n' "$(cat "$(state_file "$1")" 2>/dev/null | tr ' ' :)" \
        "$(cgroups_of "$1")" "$(chains_of "$1")"
}
# Start $C and kill its monitor and init by pid; sets MON and INIT.
crash() {
    lxm start "$C" >/dev/null 2>&1 || return 1
    MON=$(monitor_pid "$C") INIT=$(init_pid "$C")
    [ -n "$MON" ] && [ -n "$INIT" ] && [ "$INIT" != 0 ] || return 1
    kill -9 "$MON" "$INIT"
    t_wait 10 gone "$MON" && t_wait 10 gone "$INIT"
}

t_ok "create $C (busybox, veth on the test's bridge)" lxm create "$C" -t busybox
if [ -n "$NFT" ]; then
    P=$(pick_port 1)
    t_ok "a port forward for $C (host state a crash leaves)" \
        lxm config set "$C" "ports=[{host: $P, container: 80}]"
fi

# --- 1. list and info after a crash change nothing ------------------------------------
t_ok "crash 1: start $C, kill -9 its monitor and init" crash
t_ok "crash 1: the monitor is gone" gone "$MON"
t_ok "crash 1: init is gone" gone "$INIT"
before=$(host_state "$C")
echo "# after the crash: $before"
t_like "crash 1: the state file, cgroups (and forwards) are left" "$before" \
    '^state=[0-9]+:[0-9]+:.* cgroups=[1-9][0-9]* chains=(-|[1-9])'
t_is "crash 1: lxm list says STOPPED" "$(state_of "$C")" STOPPED
t_is "crash 1: lxm info says STOPPED" "$(info_state "$C")" STOPPED
t_ok "crash 1: lxm info (text) works" lxm info "$C"
t_ok "crash 1: lxm list (text) works" lxm list
t_is "crash 1: list and info changed nothing on the host" "$(host_state "$C")" "$before"
t_is "crash 1: the state file is still there" "$(test -f "$(state_file "$C")" && echo yes)" yes

# --- 2. start cleans up and boots -----------------------------------------------------
t_ok "crash 1: lxm start works" lxm start "$C"
t_is "crash 1: RUNNING after the start" "$(state_of "$C")" RUNNING
t_like "crash 1: a new monitor" "$(monitor_pid "$C")" "^[0-9]+$"
t_fail "crash 1: ... not the killed one" test "$(monitor_pid "$C")" = "$MON"
NCH=4 # a set per family: the bridge's IPv6 gives an IPv6 forward too
[ -n "$(lxm net status --format json | jq -r '.ipv6 // empty')" ] && NCH=8
[ -n "$NFT" ] && t_is "crash 1: one set of forward chains per family" "$(chains_of "$C")" "$NCH"
t_ok "crash 1: stop" lxm stop "$C"
t_is "stopped: no cgroup left" "$(cgroups_of "$C")" 0
[ -n "$NFT" ] && t_is "stopped: no chain left" "$(chains_of "$C")" 0

# --- 3. stop of a crashed container cleans up -----------------------------------------
t_ok "crash 2: start, kill -9 monitor and init" crash
t_is "crash 2: lxm list says STOPPED" "$(state_of "$C")" STOPPED
t_like "crash 2: list left its host state" "$(host_state "$C")" 'cgroups=[1-9]'
t_ok "crash 2: lxm stop cleans up (exit 0)" lxm stop "$C"
t_is "crash 2: after stop: no state file, no cgroup" "$(host_state "$C")" \
    "state= cgroups=0 chains=$([ -n "$NFT" ] && echo 0 || echo -)"
t_is "crash 2: STOPPED" "$(state_of "$C")" STOPPED
t_fail "crash 2: a second stop: not running" lxm stop "$C"

# --- 4. delete of a crashed container cleans up ---------------------------------------
t_ok "crash 3: start, kill -9 monitor and init" crash
t_like "crash 3: list left its host state" "$(lxm list >/dev/null; host_state "$C")" 'cgroups=[1-9]'
t_ok "crash 3: lxm delete works" lxm delete "$C"
t_is "crash 3: after delete: no cgroup, no chain" "$(cgroups_of "$C") $(chains_of "$C")" \
    "0 $([ -n "$NFT" ] && echo 0 || echo -)"
t_is "crash 3: gone from list" "$(lxm list --format json | jq -r --arg n "$C" '[.[] | select(.name==$n)] | length')" 0

# --- 5. an unreadable state file --------------------------------------------------------
t_ok "create $C again" lxm create "$C" -t busybox -c network.eth0.type=none
mkdir -p "$T_ROOT/run/lxm/$C"
echo garbage >"$(state_file "$C")"
t_is "garbage state: list says STOPPED" "$(state_of "$C")" STOPPED
t_is "garbage state: list left the file" "$(cat "$(state_file "$C")" 2>/dev/null)" garbage
t_ok "garbage state: start works" lxm start "$C"
t_is "garbage state: RUNNING" "$(state_of "$C")" RUNNING
t_like "garbage state: replaced by the new monitor's" "$(cat "$(state_file "$C")")" '^[0-9]+ [0-9]+ '
t_ok "garbage state: stop" lxm stop "$C"

t_done

#!/usr/bin/env bash
# `lxm list` takes a running container's state from its monitor's record
# in the state file (issue 17: no round trip per row) while the monitor
# and the init that file names are alive, and asks the monitor otherwise:
# RUNNING, STARTING (not ready), STOPPING and FROZEN without asking; a
# state file of an older lxm (seven fields), a monitor that died with its
# init still running, a stopped container. Looking changes nothing: the
# state file stays as it was. Addresses come from one netlink dump in the
# container's netns and follow the rules of the libnl lists (no host-scope
# IPv4, no link-local or host IPv6). A stopped monitor: monitor.sh.
. "$(dirname "$0")/../lib.sh"
t_setup list
t_storage dir # notify-init is copied into containers/NAME/rootfs
command -v jq >/dev/null || { echo "1..0 # SKIP jq is needed to read lxm's JSON output"; exit 0; }
command -v strace >/dev/null || { echo "1..0 # SKIP strace is needed to see whom list asks"; exit 0; }
t_cgroup_parent lxmt-list-$$

A=ls$$a B=ls$$b S=ls$$s
state_file() { echo "$T_ROOT/run/lxm/$1/state"; }
field() { cut -d' ' -f"$2" "$(state_file "$1")" 2>/dev/null; }
row() { lxm list --format json | jq -r --arg n "$1" '.[] | select(.name == $n) | "\(.state) \(.pid)"'; }
state_of() { lxm list --format json | jq -r --arg n "$1" '.[] | select(.name == $n) | .state'; }
# How many times one `lxm list` connected to a monitor's socket.
asks() {
    strace -f -qq -e trace=connect -o "$T_ROOT/connect.txt" "$LXM_BIN" --root "$T_ROOT" list >/dev/null 2>&1
    grep -c 'monitor.sock' "$T_ROOT/connect.txt"
}
# The state file's bytes and mtime: what looking must not change.
fingerprint() { printf '%s %s\n' "$(cat "$(state_file "$1")" 2>/dev/null)" "$(stat -c %Y.%y "$(state_file "$1")" 2>/dev/null)"; }
mk() { lxm create "$1" -t busybox -c network.eth0.type=none "${@:2}" >/dev/null; }

# --- 1. running and ready: from the record, no round trip ---------------------------------
t_ok "create and start $A (busybox, no network)" eval 'mk "$A" && lxm start "$A"'
t_is "the state file has eight fields" "$(awk '{print NF}' "$(state_file "$A")")" 8
t_is "the monitor recorded ready (flags 1)" "$(field "$A" 8)" 1
t_is "list: RUNNING with init's pid" "$(row "$A")" "RUNNING $(field "$A" 2)"
t_is "list did not ask the monitor" "$(asks)" 0
t_is "info: RUNNING" "$(lxm info "$A" --format json | jq -r .state)" RUNNING
# LXD's short -f for --format (lxc list -f csv), after the command only.
t_is "list -f csv -c name,state" "$(lxm list -f csv -c name,state "$A" | tail -n1)" "$A,RUNNING"
t_is "info -fjson" "$(lxm info "$A" -fjson | jq -r .state)" RUNNING
t_like "list -f without a value: one usage line" "$(lxm list -f 2>&1)" "^lxm: error: list: option '-f' needs an argument"
before=$(fingerprint "$A")
lxm list >/dev/null 2>&1
lxm list --format json >/dev/null 2>&1
t_is "list left the state file as it was" "$(fingerprint "$A")" "$before"

# config.yaml is read only for the columns that show it.
opens_of_config() {
    strace -f -qq -e trace=openat -o "$T_ROOT/open.txt" "$LXM_BIN" --root "$T_ROOT" "$@" >/dev/null 2>&1
    grep -c "/$A/config.yaml" "$T_ROOT/open.txt"
}
t_is "list -c name,state,pid,ipv4: config.yaml not read" "$(opens_of_config list -c name,state,pid,ipv4)" 0
t_is "list (TEMPLATE, AUTOSTART): config.yaml read once" "$(opens_of_config list)" 1
t_is "list --format json: config.yaml read once" "$(opens_of_config --format json list)" 1

# --- 2. frozen: from the cgroup ---------------------------------------------------------------
if lxm freeze "$A" 2>/dev/null; then
    t_is "frozen: list says FROZEN" "$(state_of "$A")" FROZEN
    t_is "frozen: list did not ask the monitor" "$(asks)" 0
    t_ok "unfreeze $A" lxm unfreeze "$A"
    t_is "thawed: list says RUNNING" "$(state_of "$A")" RUNNING
else
    t_skip "frozen" "no freezer on this host"
fi

# --- 3. addresses: one dump, the rules of the libnl lists --------------------------------------
INIT=$(field "$A" 2)
nsip() { nsenter -t "$INIT" -n ip "$@"; }
t_ok "addresses added in $A's netns (on lo)" eval 'nsip addr add 10.77.0.1/24 dev lo &&
    nsip addr add 127.0.0.9/8 dev lo scope host && nsip -6 addr add fd00:77::1/64 dev lo nodad &&
    nsip -6 addr add fe80::77/64 dev lo nodad'
json=$(lxm list --format json | jq -c --arg n "$A" '.[] | select(.name == $n) | [.ipv4, .ipv6]')
t_is "list: the global IPv4 and IPv6, not host scope or link-local" "$json" '[["10.77.0.1/24"],["fd00:77::1/64"]]'
t_like "list (table): both in their columns" "$(lxm list | grep "^$A ")" "^$A +RUNNING +10\.77\.0\.1/24 +fd00:77::1/64 "
t_is "info: the same" "$(lxm info "$A" --format json | jq -c '[.ipv4, .ipv6]')" "$json"

# --- 4. a state file of an older lxm (seven fields): the monitor is asked --------------------
saved=$(cat "$(state_file "$A")")
cut -d' ' -f1-7 <<<"$saved" >"$(state_file "$A")"
t_is "older state file: list says RUNNING" "$(state_of "$A")" RUNNING
t_is "older state file: list asked the monitor" "$(asks)" 1
echo "$saved" >"$(state_file "$A")"

# --- 5. not ready yet: STARTING from the record -----------------------------------------------
NI=$T_ROOT/notify-init
if gcc -static -O2 -o "$NI" "$T_SRC"/tests/integration/progs/{notify-init,sd-notify}.c 2>/dev/null; then
    t_ok "create $S (ready: notify; init never says READY=1)" eval 'mk "$S" -c init=/sbin/notify-init -c ready=notify &&
        install -m 0755 "$NI" "$T_ROOT/var/lib/lxm/containers/$S/rootfs/sbin/notify-init" &&
        echo silent >"$T_ROOT/var/lib/lxm/containers/$S/rootfs/etc/notify-mode"'
    lxm start --timeout 1 "$S" >/dev/null 2>&1
    t_is "not ready: the monitor recorded flags 0" "$(field "$S" 8)" 0
    t_is "not ready: list says STARTING" "$(state_of "$S")" STARTING
    t_is "not ready: list did not ask the monitor" "$(asks)" 0
    t_ok "stop $S" lxm stop -k "$S"
else
    t_skip "not ready" "cannot build notify-init statically (glibc static libs?)"
fi

# --- 6. stopping: STOPPING from the record ------------------------------------------------------
# SIGWINCH is a halt signal busybox init ignores: the stop waits out its timeout.
t_ok "create and start $B (halt signal SIGWINCH, ignored)" eval 'mk "$B" -c signals.halt=SIGWINCH && lxm start "$B"'
lxm stop -t 5 "$B" >/dev/null 2>&1 &
stopper=$!
t_ok "the monitor recorded the stop (flags 3)" t_wait 5 eval '[ "$(field "$B" 8)" = 3 ]'
t_is "stopping: list says STOPPING" "$(state_of "$B")" STOPPING
t_is "stopping: list did not ask the monitor" "$(asks)" 0
wait "$stopper"
t_is "the stop ended (init killed after 5 s)" "$?" 0
t_is "stopped: list says STOPPED, no pid" "$(row "$B")" "STOPPED null"

# --- 7. the monitor died, init still runs: RUNNING, said, nothing changed ----------------------
MON=$(field "$A" 1) INIT=$(field "$A" 2)
kill -9 "$MON"
t_ok "the monitor is gone" t_wait 10 eval '! kill -0 "$MON" 2>/dev/null'
t_ok "its init still runs" kill -0 "$INIT"
before=$(fingerprint "$A")
out=$(lxm list 2>&1)
t_like "no monitor: list says RUNNING" "$out" "$A +RUNNING +10\.77\.0\.1/24"
t_like "no monitor: and says the monitor is gone" "$out" "the monitor of '$A' is gone; its init \(pid $INIT\) is still running"
t_is "no monitor: list left the state file as it was" "$(fingerprint "$A")" "$before"
t_ok "stop -k ends the orphan" lxm stop -k "$A"
t_ok "init is gone" t_wait 10 eval '! kill -0 "$INIT" 2>/dev/null || grep -q "^State:.*Z" /proc/$INIT/status'
t_is "stopped: list says STOPPED" "$(state_of "$A")" STOPPED

# --- 8. info shows the cpu limits (limits.cpu, limits.cpuset) beside memory and pids -----------
t_ok "set $B's cpu limits" lxm config set "$B" limits.cpu=0.5 limits.cpuset=0
t_ok "start $B" lxm start "$B"
j=$(lxm info "$B" --format json)
t_is "info json: cpu.limit_cpus and cpu.cpuset" "$(jq -c '[.cpu.limit_cpus, .cpu.cpuset]' <<<"$j")" '[0.5,"0"]'
t_is "info json: the other cpu and memory keys are still there" \
    "$(jq -c '[(.cpu.usage_ns | type), (.memory | has("limit_bytes")), (.pids | has("limit"))]' <<<"$j")" '["number",true,true]'
t_like "info yaml: cpu limit" "$(lxm info "$B" --format yaml)" "  limit_cpus: 0.5"
t_like "info yaml: cpuset" "$(lxm info "$B" --format yaml)" "  cpuset: \"?0\"?"
out=$(lxm info "$B")
t_like "info table: cpu.limit_cpus" "$out" "cpu.limit_cpus: +0.5"
t_like "info table: cpu.cpuset" "$out" "cpu.cpuset: +0"
t_ok "stop $B" lxm stop -k "$B"
t_ok "unset $B's cpu limits" lxm config unset "$B" limits.cpu limits.cpuset
t_is "info json: no cpu limit is null" "$(lxm info "$B" --format json | jq -c '[.cpu.limit_cpus, .cpu.cpuset]')" '[null,null]'

# --- 9. list NAME...: names, prefixes (as LXD's `lxc list web`) and patterns -------------------
names() { lxm "$@" | awk 'NR > 1 {print $1}' | tr '\n' ' '; }
t_is "list $A: that one only" "$(names list "$A")" "$A "
t_is "list $A $B: both" "$(names list "$A" "$B")" "$A $B "
all=$(names list)
t_like "all: $A and $B among them" "$all" "^$A $B "
t_is "list ls$$: a prefix, every one it starts" "$(names list "ls$$")" "$all"
t_is "list 'ls$$?': a pattern for the whole name" "$(names list "ls$$?")" "$all"
t_is "list 'ls$$a?': a pattern is for the whole name, not a prefix" "$(names list "ls$$a?")" ""
t_is "list -- $A: a name after --" "$(names list -- "$A")" "$A "
t_is "list '*b': a pattern" "$(names list "*$$b")" "$B "
t_is "list $B -c name,state: options after the names" "$(lxm list "$B" -c name,state | tail -n +2 | tr -s ' ')" "$B STOPPED"
t_is "list --format json $A: one object" "$(lxm list --format json "$A" | jq -r '[.[].name] | join(",")')" "$A"
t_is "list nosuch: the header alone, exit 0" "$(lxm list nosuch$$; echo "rc=$?")" "NAME  STATE  IPV4  IPV6  PID  TEMPLATE  AUTOSTART
rc=0"

t_done

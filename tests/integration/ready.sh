#!/usr/bin/env bash
# Readiness (issue 12) with busybox guests: `lxm start` returns when the
# guest is ready: at once for a plain init, after its DHCP lease with an
# eth0 on the managed bridge, after READY=1 on the notify socket with
# `ready: notify` (progs/notify-init speaks the protocol, then execs
# busybox init). Only init's own READY=1 counts (a child's and a host
# process's are ignored); a guest that never says it is ready makes
# `start --timeout` fail with its last status and stays running; `lxm
# wait` in each state; `list` shows STARTING until ready; a reboot inside
# re-arms readiness. Debian's systemd: tests/integration/debian-ready.sh.
. "$(dirname "$0")/../lib.sh"
t_setup ready
t_storage dir # the notify-init binary is copied into containers/NAME/rootfs
t_cgroup_parent lxmt-ready-$$
CT=$T_ROOT/var/lib/lxm/containers
LOGS=$T_ROOT/var/log/lxm

NI=$T_ROOT/notify-init
gcc -static -O2 -o "$NI" "$T_SRC"/tests/integration/progs/{notify-init,sd-notify}.c ||
    { echo "Bail out! cannot build notify-init.c statically (glibc static libs?)"; exit 1; }

state_of() { lxm list --format csv 2>/dev/null | awk -F, -v n="$1" '$1 == n { print $2 }'; }
info() { lxm info "$1" --format json | jq -r ".$2"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
readies() { grep -c ': ready, ' "$LOGS/$1/lxm.log" 2>/dev/null; }
# A busybox container whose init is notify-init in MODE ("ready MS", "child", "silent").
mk_notify() { # name mode...
    local n=$1
    shift
    lxm create "$n" -t busybox -c network.eth0.type=none -c init=/sbin/notify-init -c ready=notify >/dev/null &&
        install -m 0755 "$NI" "$CT/$n/rootfs/sbin/notify-init" &&
        echo "$*" >"$CT/$n/rootfs/etc/notify-mode"
}

# --- a plain init: ready once it runs ------------------------------------------------------------
lxm create b1 -t busybox -c network.eth0.type=none >/dev/null
t0=$(date +%s%N)
t_ok "start b1 (busybox, no eth0)" lxm start b1
echo "# start b1: $(ms_since "$t0") ms"
t_is "b1 is RUNNING as soon as start returns" "$(state_of b1)" RUNNING
t_is "info: ready" "$(info b1 ready)" true
t_like "info: boot_ms is a number" "$(info b1 boot_ms)" '^[0-9]+$'
t_is "info: no status from busybox init" "$(info b1 status)" null
t_is "init has NOTIFY_SOCKET=/run/host/notify" \
    "$(lxm attach b1 -- cat /proc/1/environ | tr '\0' '\n' | grep NOTIFY_SOCKET)" NOTIFY_SOCKET=/run/host/notify
t_like "/run/host/notify is a socket inside" "$(lxm attach b1 -- ls -l /run/host/notify)" '^s'
t_is "/run is a tmpfs of its own" "$(lxm attach b1 -- awk '$2 == "/run" {print $3}' /proc/mounts)" tmpfs

out=$(lxm create bad -t busybox -c ready=bogus 2>&1); rc=$?
t_is "create -c ready=bogus fails" "$rc" 1
t_like "... naming the choices" "$out" 'ready.*use auto, notify or init'
t_ok "... and leaves no container" test ! -e "$CT/bad"

# --- lxm wait in each state ----------------------------------------------------------------------------
t_ok "wait b1 (ready) answers at once" timeout 2 "$LXM_BIN" --root "$T_ROOT" wait b1
t_ok "wait b1 --state running answers at once" timeout 2 "$LXM_BIN" --root "$T_ROOT" wait b1 --state running
out=$(lxm wait b1 --state stopped --timeout 0.5 2>&1); rc=$?
t_is "wait --state stopped on a running container times out: exit 1" "$rc" 1
t_is "... saying so" "$out" "lxm: error: b1 is not stopped after 0.5 s"
(sleep 1; "$LXM_BIN" --root "$T_ROOT" stop b1 >/dev/null 2>&1) &
bg=$!
t0=$(date +%s%N)
t_ok "wait --state stopped returns once b1 is stopped" lxm wait b1 --state stopped --timeout 30
wait "$bg"
t_is "... and b1 is STOPPED then" "$(state_of b1)" STOPPED
t_ok "wait --state stopped on a stopped container answers at once" \
    timeout 2 "$LXM_BIN" --root "$T_ROOT" wait b1 --state stopped
t_fail "wait --state running -t 0.3 on a stopped container fails" lxm wait b1 --state running -t 0.3
t_fail "wait (ready) -t 0.3 on a stopped container fails" lxm wait b1 -t 0.3
(sleep 1; "$LXM_BIN" --root "$T_ROOT" start b1 >/dev/null 2>&1) &
bg=$!
t_ok "wait (ready) returns once b1 is started by someone else" lxm wait b1 --timeout 30
wait "$bg"
t_is "... RUNNING" "$(state_of b1)" RUNNING
out=$(lxm wait b1 --state bogus 2>&1); rc=$?
t_is "wait --state bogus: usage error (exit 2)" "$rc" 2
t_like "... naming the states" "$out" 'ready, running or stopped'
t_fail "wait on a missing container fails" lxm wait nosuch -t 1
out=$(lxm start b1 --timeout abc 2>&1); rc=$?
t_is "start --timeout abc: usage error (exit 2)" "$rc" 2
t_ok "restart b1 (waits)" lxm restart b1
t_is "... RUNNING" "$(state_of b1)" RUNNING
t_ok "restart b1 --no-wait" lxm restart b1 --no-wait
t_ok "... then wait" lxm wait b1 -t 30
lxm stop -k b1 >/dev/null
out=$(lxm create b9 -t busybox --timeout 5 2>&1); rc=$?
t_is "create --timeout: usage error (exit 2)" "$rc" 2
t_like "... only for launch" "$out" 'only for launch'
t_ok "... and no container b9" test ! -e "$CT/b9"
t_ok "launch b8 --no-wait" lxm launch b8 -t busybox -c network.eth0.type=none --no-wait
t_ok "wait b8" lxm wait b8 -t 30
lxm delete -f b8 >/dev/null

# --- DHCP on the managed bridge: ready once the lease is held ----------------------------------------
lxm create b2 -t busybox >/dev/null
t_ok "start b2 (busybox, eth0 on the managed bridge)" lxm start b2
t_like "eth0 has its lease when start returns" "$(lxm attach b2 -- ip -4 addr show eth0)" 'inet [0-9.]+/'
t_like "... and the default route" "$(lxm attach b2 -- ip route show default)" '^default via '
t_like "lxm.log: ready after the lease" "$(grep ': ready, ' "$LOGS/b2/lxm.log" | tail -1)" 'DHCP lease at [0-9]+ ms'
lxm stop -k b2 >/dev/null
t_ok "start --no-wait returns (init runs)" lxm start b2 --no-wait
t_ok "wait b2 then: the lease comes" lxm wait b2 --timeout 30
t_like "... eth0 has it" "$(lxm attach b2 -- ip -4 addr show eth0)" 'inet [0-9.]+/'
lxm stop -k b2 >/dev/null

# --- the notify protocol ------------------------------------------------------------------------------
mk_notify n1 ready 3000
t0=$(date +%s%N)
t_ok "start n1 --no-wait (notify-init: READY=1 after 3 s)" lxm start n1 --no-wait
t_is "n1 is STARTING before READY=1" "$(state_of n1)" STARTING
t_is "info: not ready" "$(info n1 ready)" false
t_is "info: its STATUS= so far" "$(info n1 status)" "notify-init: starting"
t_ok "wait n1 --state running answers at once" timeout 2 "$LXM_BIN" --root "$T_ROOT" wait n1 --state running
t_ok "wait n1 (ready)" lxm wait n1 --timeout 30
waited=$(ms_since "$t0")
t_ok "... not before the 3 s sleep ($waited ms)" test "$waited" -ge 3000
t_is "n1 is RUNNING" "$(state_of n1)" RUNNING
t_is "info: the last STATUS=" "$(info n1 status)" "notify-init: up"
t_ok "info: boot_ms >= 3000 ($(info n1 boot_ms))" test "$(info n1 boot_ms)" -ge 3000

# A reboot inside: init execs again (pid 1 stays in a new pid ns), readiness re-armed.
p0=$(info n1 pid)
t_ok "reboot inside n1" lxm attach n1 -- reboot
new_boot() { p=$(info n1 pid); [ "$p" != "$p0" ] && [ "$p" != null ]; }
t_ok "a new init runs" t_wait 30 new_boot
t_is "n1 is STARTING again until its READY=1" "$(state_of n1)" STARTING
t_ok "wait n1 (ready) after the reboot" lxm wait n1 --timeout 30
t_is "two boots, each ready once" "$(readies n1)" 2
t_is "n1 RUNNING" "$(state_of n1)" RUNNING
lxm stop -k n1 >/dev/null

# --- a guest that never says READY=1 ----------------------------------------------------------------
mk_notify n2 silent
t0=$(date +%s%N)
out=$(lxm start n2 --timeout 2 2>&1); rc=$?
took=$(ms_since "$t0")
t_is "start --timeout 2 of a never-ready guest: exit 1" "$rc" 1
t_is "... with its last status" "$(grep '^lxm: error' <<<"$out")" \
    "lxm: error: n2 started but is not ready after 2 s (last status: notify-init: never ready)"
t_ok "... after the timeout, not long after ($took ms)" test "$took" -ge 2000 -a "$took" -lt 6000
t_is "n2 is left running (STARTING)" "$(state_of n2)" STARTING
t_ok "attach works in it" lxm attach n2 -- true
t_fail "wait n2 -t 0.5 fails" lxm wait n2 -t 0.5
t_ok "a snapshot of a running, not ready guest" lxm snapshot n2 s1
t_ok "freeze works on a running, not ready guest" lxm freeze n2
t_is "FROZEN" "$(state_of n2)" FROZEN
t_ok "unfreeze" lxm unfreeze n2
# A host process writing to the socket is not init either.
python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"READY=1\nSTATUS=from the host", sys.argv[1])' "$T_ROOT/run/lxm/n2/notify"
t_fail "a host process's READY=1 does not count" lxm wait n2 -t 0.5
t_is "... nor its STATUS=" "$(info n2 status)" "notify-init: never ready"
t_ok "stop n2" lxm stop n2 -t 5
out=$(lxm launch n3 -t busybox -c network.eth0.type=none -c ready=notify --timeout 1 2>&1); rc=$?
t_is "launch --timeout 1 of a busybox guest with ready: notify: exit 1" "$rc" 1
t_is "... started but not ready, no status" "$(grep '^lxm: error' <<<"$out")" \
    "lxm: error: n3 started but is not ready after 1 s (last status: none)"
t_is "... and n3 runs" "$(state_of n3)" STARTING
lxm stop -k n3 >/dev/null

mk_notify n4 child
out=$(lxm start n4 --timeout 2 2>&1); rc=$?
t_is "a child's READY=1 does not count: start times out" "$rc" 1
t_like "... pid 1's status is kept, the child's is not" "$out" 'last status: notify-init: a child said READY=1\)'
lxm stop -k n4 >/dev/null

t_done

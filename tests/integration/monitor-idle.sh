#!/usr/bin/env bash
# The idle monitor (lxm/runtime/monitor-idle.c, issue 17): once a container
# is up its monitor execs lxm-monitor-idle, a small static program, and
# becomes the full monitor again for init's exit, a stop or an OOM event.
# Checked: the hand-over happens (same pid, the idle binary, small private
# memory read from /proc), and after it every function still works: state,
# ready and wait queries, the console (ring replay, input, console.log),
# a reboot from inside (and the idle form again after it), OOM logging,
# freeze, stop and restart; a monitor killed after the hand-over is reaped
# like any dead monitor.
. "$(dirname "$0")/../lib.sh"
t_setup monitor-idle
t_storage dir

A=mi$$a   # console, reboot, stop
B=mi$$b   # killed idle monitor
M=mi$$m   # OOM
PY=/usr/bin/python3
IDLE=$(dirname "$LXM_BIN")/lxm-monitor-idle
[ -x "$IDLE" ] || { echo "1..0 # SKIP no lxm-monitor-idle next to $LXM_BIN"; exit 0; }

monitor_pid() { cut -d' ' -f1 "$T_ROOT/run/lxm/$1/state"; }
init_pid() { cut -d' ' -f2 "$T_ROOT/run/lxm/$1/state"; }
exe_of() { readlink "/proc/$1/exe" 2>/dev/null; }
is_idle() { [ "$(exe_of "$(monitor_pid "$1")")" = "$(readlink -f "$IDLE")" ]; }
state_of() { lxm list --format csv 2>/dev/null | awk -F, -v n="$1" '$1 == n { print $2 }'; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
# KiB of private (anonymous, or written file-backed) memory and of page tables.
private_kib() { awk '/^Private_Dirty:/ { s += $2 } END { print s }' "/proc/$1/smaps_rollup"; }
pte_kib() { awk '/^VmPTE:/ { print $2 }' "/proc/$1/status"; }
mk() { lxm create "$1" -t busybox -c network.eth0.type=none "${@:2}"; }

# --- 1. the hand-over ------------------------------------------------------------
t_ok "create $A" mk "$A"
t_ok "start $A" lxm start "$A"
t_ok "the monitor execs the idle monitor once the container is up" t_wait 10 is_idle "$A"
mon=$(monitor_pid "$A")
t_is "ps shows it as lxm monitor NAME" "$(cut -d '' -f1 "/proc/$mon/cmdline" | tr '\0' '\n' | head -1)" \
    "lxm monitor $A"
t_is "its comm is lxm-monitor" "$(cat "/proc/$mon/comm")" lxm-monitor
t_is "init is still its child" "$(awk '/^PPid:/ { print $2 }' "/proc/$(init_pid "$A")/status")" "$mon"
# Bounds with room over what it takes here. Built without libc (x86-64,
# lxm/runtime/monitor-idle-rt.c: its start-up symbol names it) it runs on
# a stack inside its own image with the kernel's stack and the vDSO
# unmapped: about 24 KiB private and one page table (12 KiB with the two
# levels above it). With a static glibc: about 68 and 36, against 264 and
# 48 for the full monitor.
# A client being served (the start command's last answer, a list) has a
# queue mapped for a moment: the bounds are for the settled monitor, so
# the memory is read once it has settled (at most 5 s).
settled_below() { [ "$(private_kib "$mon")" -lt "$1" ]; }
if nm "$IDLE" 2>/dev/null | grep -q ' T lxm_idle_rt_start$'; then
    t_wait 5 settled_below 40
    priv=$(private_kib "$mon")
    pte=$(pte_kib "$mon")
    t_ok "no libc: the idle monitor's private memory is under 40 KiB ($priv)" [ "$priv" -lt 40 ]
    t_ok "its page tables are under 20 KiB ($pte)" [ "$pte" -lt 20 ]
    t_is "no [stack] or [vdso] mapping left" "$(grep -cE '\[(stack|vdso)\]' "/proc/$mon/maps")" 0
    t_is "/proc/PID/environ reads its copy of the environment" \
        "$(tr '\0' '\n' <"/proc/$mon/environ" | grep -c '^PATH=')" 1
else
    t_wait 5 settled_below 120
    priv=$(private_kib "$mon")
    pte=$(pte_kib "$mon")
    t_ok "the idle monitor's private memory is under 120 KiB ($priv)" [ "$priv" -lt 120 ]
    t_ok "its page tables are under 44 KiB ($pte)" [ "$pte" -lt 44 ]
fi

# --- 2. requests it answers itself ---------------------------------------------------
t_is "list: RUNNING" "$(state_of "$A")" RUNNING
t_like "info names init's pid" "$(lxm info "$A" 2>&1)" "$(init_pid "$A")"
t_ok "wait (ready) returns at once" timeout 5 "$LXM_BIN" --root "$T_ROOT" wait "$A" -t 3
ask() { $PY -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode()+b"\n")
print(s.makefile().readline().strip())' "$T_ROOT/run/lxm/$1/monitor.sock" "$2"; }
t_like "a ready query: READY 1 (ready, notified, leased)" "$(ask "$A" ready)" "^READY 1 1 1 [0-9]+"
t_ok "freeze" lxm freeze "$A"
t_ok "list: FROZEN (the idle monitor reads the freezer)" t_wait 5 is_state "$A" FROZEN
t_ok "unfreeze" lxm unfreeze "$A"
t_ok "list: RUNNING again" t_wait 5 is_state "$A" RUNNING
t_is "still the same idle monitor" "$(monitor_pid "$A") $(is_idle "$A" && echo idle)" "$mon idle"

# The console: the boot's output replayed from the ring, input reaches
# the guest's shell (getty's login prompt answers), output reaches
# console.log; all through the idle monitor. Once getty is up: input
# that comes before it opens the console is flushed.
t_ok "the guest's getty is up (its prompt in console.log)" t_wait 10 grep -q "login:" \
    "$T_ROOT/var/log/lxm/$A/console.log"
out=$($PY - "$T_ROOT/run/lxm/$A/monitor.sock" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1]); s.sendall(b"console\n"); s.settimeout(5)
data = b""
end = time.time() + 5
while b"ok\n" not in data and time.time() < end:
    data += s.recv(65536)
s.sendall(b"idle-console-probe\n")
while b"idle-console-probe" not in data[3:] and time.time() < end:
    try: data += s.recv(65536)
    except socket.timeout: break
print("replayed" if len(data) > 3 else "nothing", "echoed" if b"idle-console-probe" in data else "no-echo")
EOF
)
t_is "console: ring replayed, input echoed by the guest" "$out" "replayed echoed"
t_ok "console.log has what the guest echoed" t_wait 5 grep -q idle-console-probe \
    "$T_ROOT/var/log/lxm/$A/console.log"
t_is "still the same idle monitor after the console" "$(monitor_pid "$A") $(is_idle "$A" && echo idle)" \
    "$mon idle"

# --- 3. a reboot from inside: the full monitor again, then idle again -----------------
old_init=$(init_pid "$A")
t_ok "reboot from inside" lxm exec "$A" -- reboot
new_init() { local p; p=$(init_pid "$A"); [ -n "$p" ] && [ "$p" != "$old_init" ] && [ "$p" != 0 ]; }
t_ok "a new init after the reboot" t_wait 20 new_init
t_ok "idle again after the reboot" t_wait 10 is_idle "$A"
t_is "the same monitor pid throughout" "$(monitor_pid "$A")" "$mon"
t_ok "list: RUNNING after the reboot" t_wait 5 is_state "$A" RUNNING
t_ok "lxm.log: the reboot was logged" grep -q "init killed by SIGHUP (reboot)" \
    "$T_ROOT/var/log/lxm/$A/lxm.log"

# --- 4. stop and restart through the idle monitor ---------------------------------------
t_ok "restart" lxm restart "$A" -t 10
t_ok "idle after the restart" t_wait 10 is_idle "$A"
t_ok "stop (clean)" lxm stop "$A" -t 10
t_is "list: STOPPED" "$(state_of "$A")" STOPPED
t_ok "the monitor is gone" t_wait 5 bash -c "! kill -0 $mon 2>/dev/null"
t_ok "no run dir left" bash -c "[ ! -e '$T_ROOT/run/lxm/$A' ]"
t_ok "lxm.log: a clean halt" grep -q "init killed by SIGINT\|init exited" "$T_ROOT/var/log/lxm/$A/lxm.log"

# --- 5. an OOM kill is logged by the full monitor the idle one wakes ------------------
t_ok "create $M (memory limit)" mk "$M" -c limits.memory=32MiB
t_ok "start $M" lxm start "$M"
t_ok "$M goes idle" t_wait 10 is_idle "$M"
lxm exec "$M" -- sh -c 'x=a; while :; do x="$x$x"; done' >/dev/null 2>&1
t_ok "lxm.log: the OOM kill" t_wait 10 grep -q "oom-kill" "$T_ROOT/var/log/lxm/$M/lxm.log"
t_ok "$M still RUNNING" t_wait 5 is_state "$M" RUNNING
t_ok "$M idle again" t_wait 10 is_idle "$M"
t_ok "stop -k $M" lxm stop -k "$M"

# --- 6. an idle monitor and its init killed: reaped as stale like before ---------------
t_ok "create $B" mk "$B"
t_ok "start $B" lxm start "$B"
t_ok "$B goes idle" t_wait 10 is_idle "$B"
bmon=$(monitor_pid "$B")
binit=$(init_pid "$B")
kill -9 "$bmon" "$binit"
t_ok "the idle monitor is gone" t_wait 5 bash -c "! kill -0 $bmon 2>/dev/null"
t_ok "list: STOPPED once the monitor is gone" t_wait 10 is_state "$B" STOPPED
t_ok "start $B again reaps what was left" lxm start "$B"
t_ok "$B idle again" t_wait 10 is_idle "$B"
t_ok "stop $B" lxm stop -k "$B"

t_done

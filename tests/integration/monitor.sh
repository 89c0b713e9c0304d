#!/usr/bin/env bash
# The monitor under hostile peers and faults (issue 18 #1, #4, #6): a
# console client that stops reading while the guest floods its console,
# a stopped (slow) monitor, a flood of idle connections, a monitor killed
# during the boot, a guest that reboots in a loop, and lxm.log rotation.
. "$(dirname "$0")/../lib.sh"
t_setup monitor
t_storage dir # its inits are written into containers/NAME/rootfs

C=mo$$a   # console flood, slow monitor, idle clients
K=mo$$b   # monitor killed during the boot
L=mo$$c   # reboot loop
PY=/usr/bin/python3

no_procs() { [ -z "$(t_pids_in "$1")" ]; }
state_of() { lxm list --format csv 2>/dev/null | awk -F, -v n="$1" '$1 == n { print $2 }'; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
monitor_pid() { cut -d' ' -f1 "$T_ROOT/run/lxm/$1/state"; }
# Gone, or a zombie nobody reaped yet: either way no longer running.
not_running() { ! grep -Eq '^State:[[:space:]]+[^Z]' "/proc/$1/status" 2>/dev/null; }
mk() { lxm create "$1" -t busybox -c network.eth0.type=none; }
# Anything left in a container's cgroup by a failed (pre-fix) run.
kill_leftovers() { local p; for p in $(t_pids_in "$1"); do kill -9 "$p" 2>/dev/null; done; }
t_on_exit "kill_leftovers $C; kill_leftovers $K; kill_leftovers $L"

# --- 1. a console client that stops reading ----------------------------------
t_ok "create $C" mk "$C"
t_ok "start $C" lxm start "$C"
mon=$(monitor_pid "$C")
# `lxm console` writes into a fifo that `sleep` never reads: once the pipe
# is full the console client stops reading from the monitor.
mkfifo "$T_ROOT/stuck"
sleep 600 <"$T_ROOT/stuck" &
sleeper=$!
"$LXM_BIN" --root "$T_ROOT" console "$C" </dev/null >"$T_ROOT/stuck" 2>/dev/null &
stuck=$!
t_on_exit "kill -9 $stuck $sleeper"
has_socket() { ls -l "/proc/$stuck/fd" 2>/dev/null | grep -q 'socket:'; }
t_ok "console client connected" t_wait 10 has_socket
# Output to a file: a writer stuck in the container must not hold a pipe
# of this script open (before the fix it stayed blocked).
timeout 30 "$LXM_BIN" --root "$T_ROOT" attach "$C" -- \
    sh -c 'head -c 2000000 /dev/zero | tr "\0" x >/dev/console; echo flood-done' \
    >"$T_ROOT/flood.out" 2>&1
t_is "a 2 MB console flood completes despite the stuck client" "$? $(cat "$T_ROOT/flood.out")" \
    "0 flood-done"
out=$(lxm list 2>&1)
t_like "list: $C RUNNING" "$out" "$C +RUNNING"
t_is "list: the live monitor is not called gone or slow" "$(grep -c 'warning' <<<"$out")" 0
t_ok "lxm.log: the stuck client was dropped" grep -q 'dropped a console client that stopped reading' \
    "$T_ROOT/var/log/lxm/$C/lxm.log"
t_ok "the monitor still answers state requests" t_wait 5 is_state "$C" RUNNING
kill -9 "$stuck" "$sleeper" 2>/dev/null
wait "$stuck" "$sleeper" 2>/dev/null
# A new console client first gets the recent output (the ring): a line
# printed while no client was connected, once the monitor has logged it.
lxm attach "$C" -- sh -c 'echo ring-marker-$((6 * 7)) >/dev/console'
t_ok "the marker reached console.log" t_wait 10 grep -q ring-marker-42 \
    "$T_ROOT/var/log/lxm/$C/console.log"
timeout 3 "$LXM_BIN" --root "$T_ROOT" console "$C" </dev/null >"$T_ROOT/console.out" 2>/dev/null
t_ok "a new console client sees the recent output" grep -q ring-marker-42 "$T_ROOT/console.out"

# --- 2. a monitor that is slow (stopped) is not dead; stop and info are bounded --
kill -STOP "$mon"
t_on_exit "kill -CONT $mon"
out=$(timeout 20 "$LXM_BIN" --root "$T_ROOT" list 2>&1)
t_like "stopped monitor: list still says RUNNING" "$out" "$C +RUNNING"
t_like "stopped monitor: list says it did not answer" "$out" "monitor of '$C' is alive but did not answer"
t_is "stopped monitor: not called gone" "$(grep -c 'is gone' <<<"$out")" 0
out=$(timeout 20 "$LXM_BIN" --root "$T_ROOT" start "$C" 2>&1)
t_like "stopped monitor: start says already running" "$? $out" "^1 .*already running"
t_is "stopped monitor: its state file is still there" "$(monitor_pid "$C")" "$mon"
# A stop does not wait out its grace period (the timeout + 30 s) on a
# monitor that is not running: it says so, and how to let it go on; the
# request waits in the monitor's socket.
t0=$SECONDS
out=$(timeout 60 "$LXM_BIN" --root "$T_ROOT" stop -t 5 "$C" 2>&1)
t_is "stopped monitor: stop fails" "$?" 1
t_like "stopped monitor: ... saying the monitor is stopped and how to continue it" "$out" \
    "monitor \(pid $mon\) is stopped .*'kill -CONT $mon'"
t_ok "stopped monitor: ... within 15 s, not after its grace period" test $((SECONDS - t0)) -le 15
t_like "stopped monitor: still RUNNING" "$(timeout 20 "$LXM_BIN" --root "$T_ROOT" list 2>&1)" "$C +RUNNING"
t0=$SECONDS
out=$(timeout 20 "$LXM_BIN" --root "$T_ROOT" info "$C" 2>&1)
t_like "stopped monitor: info says RUNNING" "$out" "state: +RUNNING"
t_like "stopped monitor: info says it did not answer" "$out" "monitor of '$C' is alive but did not answer"
t_ok "stopped monitor: info asks it once (3 s), not once per question" test $((SECONDS - t0)) -le 5
kill -CONT "$mon"
t_ok "continued: the monitor takes the stop that waited for it" t_wait 20 is_state "$C" STOPPED
t_ok "continued: its monitor exits" t_wait 10 not_running "$mon"
t_ok "start $C again" lxm start "$C"
mon=$(monitor_pid "$C")
out=$(lxm list 2>&1)
t_is "resumed monitor: list without a warning" "$(grep -c warning <<<"$out")" 0

# --- 3. idle connections are bounded and evicted -------------------------------
fds_of() { ls "/proc/$1/fd" | wc -l; }
base=$(fds_of "$mon")
$PY -c '
import socket, sys, time
socks = []
for _ in range(64):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(sys.argv[1])
    except BlockingIOError:
        pass
    socks.append(s)
open(sys.argv[2], "w").write("ready\n")
time.sleep(600)
' "$T_ROOT/run/lxm/$C/monitor.sock" "$T_ROOT/idle-ready" &
idle=$!
t_on_exit "kill -9 $idle"
t_ok "64 idle connections made" t_wait 10 test -s "$T_ROOT/idle-ready"
out=$(lxm list 2>&1)
t_like "idle connections: list still says RUNNING" "$out" "$C +RUNNING"
t_is "idle connections: the monitor answered (no warning)" "$(grep -c warning <<<"$out")" 0
t_ok "idle connections: the monitor holds at most 32 clients" \
    test "$(fds_of "$mon")" -le $((base + 32))
fds_back() { [ "$(fds_of "$mon")" -le "$base" ]; }
t_ok "idle connections: dropped after their time" t_wait 15 fds_back
kill -9 "$idle" 2>/dev/null
wait "$idle" 2>/dev/null

# --- and no old monitor outlives its stop --------------------------------------
t_ok "stop $C" lxm stop "$C" -t 10
t_ok "its monitor exits" t_wait 10 not_running "$mon"
t_ok "start $C again" lxm start "$C"
t_is "a new monitor" "$([ "$(monitor_pid "$C")" != "$mon" ] && echo new)" new
t_ok "stop $C" lxm stop -k "$C"

# --- 4. a monitor killed during the boot ---------------------------------------
# strace -f follows lxm start into the monitor (-b execve lets init go) and
# kills the monitor at a chosen syscall. $1: name, $2: the inject spec.
traced_start() {
    local log=$T_ROOT/strace.$1 rc cli
    # To a file, not a pipe: before the fix the start never returned.
    timeout -k 5 30 strace -I1 -f -b execve -qq -o "$log" -e trace=execve,write,sendmsg,recvmsg,clone3,waitid \
        -e inject="$2" "$LXM_BIN" --root "$T_ROOT" start "$1" >"$log.out" 2>&1
    rc=$?
    # Before the fix the start never returned: end it by its pid (the
    # first line of the log is its own execve).
    cli=$(awk 'NR == 1 { print $1 }' "$log")
    [ -n "$cli" ] && kill -9 "$cli" 2>/dev/null
    echo "$rc $(cat "$log.out")"
}
t_ok "create $K" mk "$K"
# Right after the monitor releases init (its write of "1" on the sync
# socket): its next write, the end of what it hands over there, comes
# before init has its rootfs or its console. strace counts each process's
# calls on its own, so a count must also be past what the start command
# itself makes of that call: the command writes a warning or two, the
# monitor some twenty cgroup files before the release. Learnt from one
# traced start, after a first one: that one also writes what later starts
# only read (the seccomp cache).
t_ok "first start of $K" lxm start "$K"
t_ok "stop $K" lxm stop -k "$K"
timeout 60 strace -f -b execve -qq -o "$T_ROOT/strace.cal" -e trace=write,sendmsg,recvmsg,clone3 \
    "$LXM_BIN" --root "$T_ROOT" start "$K" >/dev/null 2>&1 &
cal=$!
t_ok "calibration start" t_wait 20 is_state "$K" RUNNING
lxm stop -k "$K" >/dev/null 2>&1
wait "$cal"
# The monitor is the process that clones init (new namespaces).
mpid=$(awk '/clone3\(\{flags=[^}]*CLONE_NEWPID/ { print $1; exit }' "$T_ROOT/strace.cal")
cli_writes=$(awk -v c="$(awk 'NR == 1 { print $1 }' "$T_ROOT/strace.cal")" \
    '$1 == c && /^[0-9]+ +write\(/ { n++ } END { print n + 0 }' "$T_ROOT/strace.cal")
after_release=$(awk -v m="$mpid" '$1 != m || !/^[0-9]+ +write\(/ { next }
    { w++ } rel { print "write:signal=KILL:when=" w; exit }
    /write\([0-9]+, "1", 1\)/ { rel = 1 }' "$T_ROOT/strace.cal")
echo "# kill point right after the release: $after_release (the command writes $cli_writes times)"
t_like "calibration: the monitor's first write after the release found" "$after_release" \
    '^write:signal=KILL:when=[0-9]+$'
t_ok "calibration: the start command writes fewer times" test "${after_release##*=}" -gt "$cli_writes"

# (a) killed right after release, before init has its rootfs or its
# console: the child must see the monitor go (it held the monitor's end of
# the socketpair before).
out=$(traced_start "$K" "${after_release:-write:signal=KILL:when=1000}")
t_is "killed after release: start fails" "${out%% *}" 1
t_like "killed after release: start says why" "$out" 'monitor died during the boot'
t_ok "killed after release: the child goes away" t_wait 10 no_procs "$K"
t_is "killed after release: STOPPED" "$(state_of "$K")" STOPPED
t_ok "killed after release: the next start works" lxm start "$K"
t_is "killed after release: RUNNING" "$(state_of "$K")" RUNNING
t_ok "stop $K" lxm stop -k "$K"

kill_leftovers "$K" # only ever something before the fix: keep (b) apart

# (b) killed after init exec'd, before it was recorded as running: the
# first waitid of the monitor is its check that init did not exit at once.
out=$(traced_start "$K" "waitid:signal=KILL:when=1")
t_is "killed before recording init: start fails" "${out%% *}" 1
t_like "killed before recording init: start says why" "$out" 'monitor died during the boot'
t_like "killed before recording init: says it killed the unfinished init" "$out" \
    'monitor died while booting it: killing the unfinished init \(pid [0-9]+\)'
t_ok "killed before recording init: nothing left in its cgroup" t_wait 10 no_procs "$K"
t_is "killed before recording init: STOPPED" "$(state_of "$K")" STOPPED
t_is "killed before recording init: no cgroup left" "$(t_cgroups_of "$K")" 0
t_ok "killed before recording init: the next start works" lxm start "$K"
t_is "killed before recording init: RUNNING" "$(state_of "$K")" RUNNING
t_ok "stop $K" lxm stop -k "$K"

# --- 5. a guest that reboots in a loop -----------------------------------------
t_ok "create $L" mk "$L"
R=$T_ROOT/var/lib/lxm/containers/$L/rootfs
printf '#!/bin/sh\nsleep 0.2\nexec reboot -f\n' >"$R/sbin/reboot-loop"
chmod +x "$R/sbin/reboot-loop"
sed -i 's#^init: .*#init: /sbin/reboot-loop#' "$T_ROOT/var/lib/lxm/containers/$L/config.yaml"
t_ok "start $L (init reboots at once)" lxm start "$L"
t_ok "the reboot loop ends: STOPPED within 60 s" t_wait 60 is_state "$L" STOPPED
LLOG=$T_ROOT/var/log/lxm/$L/lxm.log
t_ok "lxm.log says it backs off" grep -q "$L: 3 fast reboots in a row: booting again in 0.250 s" "$LLOG"
t_ok "lxm.log says why it stopped" grep -q "$L: reboot loop: 8 reboots in a row" "$LLOG"
t_is "eight boots, not hundreds" "$(grep -c '(reboot)' "$LLOG")" 8
t_ok "reboot loop: nothing left in its cgroup" t_wait 10 no_procs "$L"
t_is "reboot loop: no cgroup left" "$(t_cgroups_of "$L")" 0
t_is "reboot loop: no run dir left" "$(ls -A "$T_ROOT/run/lxm/$L" 2>/dev/null)" ""

# A stop while the monitor waits to boot again.
: >"$LLOG"
t_ok "start $L again" lxm start "$L"
t_ok "it reaches the back-off" t_wait 30 grep -q 'booting again in' "$LLOG"
t_ok "stop during the back-off" timeout 30 "$LXM_BIN" --root "$T_ROOT" stop "$L" -t 5
t_is "stopped during the back-off: STOPPED" "$(state_of "$L")" STOPPED
t_ok "stopped during the back-off: nothing left" t_wait 10 no_procs "$L"

# --- 6. lxm.log is rotated -----------------------------------------------------
t_ok "start $C" lxm start "$C"
LOG=$T_ROOT/var/log/lxm/$C/lxm.log
head -c 1100000 /dev/zero | tr '\0' '#' >>"$LOG"
lxm attach "$C" -- reboot
t_ok "lxm.log over 1 MiB becomes lxm.log.1" t_wait 20 test -s "$LOG.1"
t_ok "the new lxm.log gets the reboot line" t_wait 20 grep -q '(reboot)' "$LOG"
t_ok "the new lxm.log is small" test "$(stat -c %s "$LOG")" -lt 100000
t_ok "stop $C" lxm stop -k "$C"

for n in "$C" "$K" "$L"; do
    t_ok "delete $n" lxm delete "$n"
done
t_done

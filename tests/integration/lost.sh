#!/usr/bin/env bash
# What a container leaves when its record is lost or cannot go, and a start
# from a real-time process:
#  * its state file lost (the run dir wiped without a reboot) while its
#    cgroups remain: `lxm doctor` lists them (kind "cgroups"), --fix
#    removes an empty set, `lxm delete` removes them; a process still in
#    them is a container that runs without a monitor: doctor, delete and
#    start say so and leave it, `lxm stop` and `lxm delete -f` kill it;
#  * a cgroup the monitor's teardown cannot remove (a mount on a directory
#    in it) keeps the state file, after a poweroff inside and after
#    `lxm stop`: a later stop or doctor --fix tries again;
#  * `chrt -f 10 lxm start` works, and the container runs SCHED_OTHER.
. "$(dirname "$0")/../lib.sh"
t_setup lost
command -v jq >/dev/null || { echo "1..0 # SKIP jq is needed to read lxm's JSON output"; exit 0; }
export LXM_CGROUP_PARENT=lxmt-lost-$$
cg_mounts() { awk '$0 ~ / - cgroup2? / {print $5}' /proc/self/mountinfo; }
t_on_exit 'for m in $(cg_mounts); do [ -d "$m/$LXM_CGROUP_PARENT" ] && find "$m/$LXM_CGROUP_PARENT" -depth -type d -exec rmdir {} + ; done'
PINS=()
t_on_exit 'for p in "${PINS[@]}"; do umount "$p" 2>/dev/null; rmdir "$p" 2>/dev/null; done'

C=lo$$a D=lo$$b
state_file() { echo "$T_ROOT/run/lxm/$1/state"; }
monitor_pid() { cut -d' ' -f1 "$(state_file "$1")" 2>/dev/null; }
init_pid() { cut -d' ' -f2 "$(state_file "$1")" 2>/dev/null; }
cg_dirs() { local m; for m in $(cg_mounts); do [ -d "$m/$LXM_CGROUP_PARENT/$(t_id "$1")" ] && echo "$m/$LXM_CGROUP_PARENT/$(t_id "$1")"; done; }
cgroups_of() { cg_dirs "$1" | wc -l; }
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
alive() { ! gone "$1"; }
# The leftover of kind cgroups for NAME in doctor's JSON (one object), or "".
leftover_of() { jq -c --arg p "$LXM_CGROUP_PARENT/$(t_id "$1")" '.leftovers[] | select(.kind == "cgroups" and .path == $p)' <<<"$2"; }
# Start NAME, SIGKILL its monitor (and init unless $2 = keep-init), wipe
# its run dir: a record lost. Sets MON and INIT (so not run by t_ok, whose
# command runs in a subshell).
lose() {
    lxm start "$1" >/dev/null 2>&1 || return 1
    MON=$(monitor_pid "$1") INIT=$(init_pid "$1")
    [ -n "$MON" ] && [ -n "$INIT" ] && [ "$INIT" != 0 ] || return 1
    if [ "${2:-}" = keep-init ]; then kill -9 "$MON"; else kill -9 "$MON" "$INIT"; fi
    t_wait 10 gone "$MON" || return 1
    [ "${2:-}" = keep-init ] || t_wait 10 gone "$INIT" || return 1
    rm -rf "${T_ROOT:?}/run/lxm/$1"
}
# A mount on a directory inside NAME's cgroup in one hierarchy: rmdir of
# that cgroup fails (EBUSY) until it is unmounted. Sets PIN (not by t_ok).
PIN=
pin() {
    local d
    d=$(cg_dirs "$1" | head -1)
    [ -n "$d" ] || return 1
    PIN=$d/pin
    mkdir "$PIN" && mount --bind "$PIN" "$PIN" && PINS+=("$PIN")
}
unpin() { umount "$PIN"; }

t_ok "create $C (busybox, no network)" lxm create "$C" -t busybox -c network.eth0.type=none
t_ok "create $D" lxm create "$D" -t busybox -c network.eth0.type=none

# --- 1. record lost, nothing runs: doctor lists and removes ---------------------------------------
lose "$C"; t_is "lose $C's record (monitor and init killed, run dir wiped)" "$?" 0
t_like "its cgroups are left" "$(cgroups_of "$C")" '^[1-9][0-9]*$'
t_like "list: STOPPED" "$(lxm list --format csv | grep "^$C,")" "^$C,STOPPED,"
json=$(lxm doctor --format json)
l=$(leftover_of "$C" "$json")
t_like "doctor lists them (kind cgroups)" "$l" '"kind":"cgroups"'
t_is "doctor says whose and why" "$(jq -r .owner <<<"$l")" "container $C, not running, no state file"
t_like "doctor's table: a leftover line" "$(lxm doctor)" "leftover +WARN +cgroups $LXM_CGROUP_PARENT/$(t_id "$C") \(left by container $C, not running, no state file\) +lxm doctor --fix"
t_ok "start $D (its leftover sweep runs)" lxm start "$D"
t_ok "stop $D" lxm stop -k "$D"
t_ok "that sweep removed nothing of $C's (doctor only)" test "$(cgroups_of "$C")" -gt 0
out=$(lxm doctor --fix --format json)
t_is "doctor --fix removes them" "$(leftover_of "$C" "$out" | jq -c '[.removed, .error]')" '[true,null]'
t_is "no cgroup of $C left" "$(cgroups_of "$C")" 0
t_is "doctor: nothing left to list" "$(leftover_of "$C" "$(lxm doctor --format json)")" ""

# --- 2. record lost, nothing runs: delete removes them --------------------------------------------
lose "$D"; t_is "lose $D's record" "$?" 0
t_like "$D's cgroups are left" "$(cgroups_of "$D")" '^[1-9][0-9]*$'
t_ok "lxm delete $D" lxm delete "$D"
t_is "delete removed its cgroups" "$(cgroups_of "$D")" 0

# --- 3. record lost, init still runs: said, never killed behind one's back ------------------------
lose "$C" keep-init; t_is "lose $C's record, init left running" "$?" 0
t_ok "its init runs" alive "$INIT"
out=$(lxm start "$C" 2>&1); rc=$?
t_is "start over them: refused (exit 1)" "$rc" 1
t_like "start says what runs there, where, and what to do" "$out" \
    "lxm: error: start $C: pid [0-9]+ of an earlier run of '$C' still runs in its cgroups \($LXM_CGROUP_PARENT/$(t_id "$C")\), without a monitor or a state file: 'lxm stop $C' kills it \('lxm doctor' lists such leftovers\)$"
t_ok "init still runs after the refused start" alive "$INIT"
t_like "list: still STOPPED" "$(lxm list --format csv | grep "^$C,")" "^$C,STOPPED,"
t_ok "the refused start left no state file" test ! -e "$(state_file "$C")"
l=$(leftover_of "$C" "$(lxm doctor --format json)")
t_like "doctor: a process runs in it without a monitor" "$(jq -r .owner <<<"$l")" \
    "^container $C, not running, no state file: pid [0-9]+ still runs in it without a monitor$"
t_is "doctor: the fix is lxm stop" "$(jq -r .fix <<<"$l")" "lxm stop $C"
out=$(lxm doctor --fix --format json); rc=$?
t_is "doctor --fix: exit 1 (one it could not fix)" "$rc" 1
t_like "doctor --fix: not removed, says why" "$(leftover_of "$C" "$out" | jq -r '[.removed, .error] | @tsv')" \
    "^false	container '$C' is not running, but pid [0-9]+ runs in its cgroups without a monitor or a state file \('lxm stop $C' kills it\)$"
t_ok "init still runs after doctor --fix" alive "$INIT"
out=$(lxm delete "$C" 2>&1); rc=$?
t_is "delete (no -f): refused" "$rc" 1
t_like "delete says why" "$out" "pid [0-9]+ runs in its cgroups without a monitor"
t_ok "init still runs, $C still exists" sh -c "kill -0 $INIT && test -f '$T_ROOT/var/lib/lxm/containers/$C/config.yaml'"
out=$(lxm stop "$C" 2>&1); rc=$?
t_is "lxm stop: exit 0" "$rc" 0
t_like "lxm stop says what it did" "$out" "ran without a monitor or a state file \(pid [0-9]+ in its cgroups\): killed"
t_ok "init is gone" t_wait 10 gone "$INIT"
t_is "no cgroup of $C left" "$(cgroups_of "$C")" 0
t_ok "$C starts again" lxm start "$C"
t_ok "and stops" lxm stop "$C"

# --- 4. the same with delete -f --------------------------------------------------------------------
t_ok "create $D again" lxm create "$D" -t busybox -c network.eth0.type=none
lose "$D" keep-init; t_is "lose $D's record, init left running" "$?" 0
t_ok "lxm delete -f $D" lxm delete -f "$D"
t_ok "its init is gone" t_wait 10 gone "$INIT"
t_is "no cgroup of $D left" "$(cgroups_of "$D")" 0

# --- 5. a cgroup the teardown cannot remove keeps the record ---------------------------------------
t_ok "start $C" lxm start "$C"
pin "$C"; t_is "a mount inside $C's cgroup (its rmdir fails)" "$?" 0
MON=$(monitor_pid "$C")
t_ok "poweroff inside" lxm attach "$C" -- poweroff
t_ok "the monitor exits" t_wait 30 gone "$MON"
t_ok "the state file is kept" test -s "$(state_file "$C")"
t_like "lxm.log says so" "$(grep 'its state is kept' "$T_ROOT/var/log/lxm/$C/lxm.log")" "rmdir .*: Device or resource busy; its state is kept"
t_like "list: STOPPED" "$(lxm list --format csv | grep "^$C,")" "^$C,STOPPED,"
t_is "doctor: its cgroups, a crashed one's" "$(leftover_of "$C" "$(lxm doctor --format json)" | jq -r .owner)" \
    "container $C, crashed, its state kept"
out=$(lxm stop "$C" 2>&1); rc=$?
t_is "stop while it is still pinned: exit 1" "$rc" 1
t_like "stop says the state is kept" "$out" "Device or resource busy; its state is kept \('lxm stop $C' tries again\)"
t_ok "unmount" unpin
t_ok "lxm stop tries again" lxm stop "$C"
t_ok "no state file" test ! -e "$(state_file "$C")"
t_is "no cgroup of $C left" "$(cgroups_of "$C")" 0

t_ok "start $C" lxm start "$C"
pin "$C"; t_is "a mount inside $C's cgroup" "$?" 0
out=$(lxm stop "$C" 2>&1); rc=$?
t_is "lxm stop: exit 1" "$rc" 1
t_like "lxm stop: the cgroup stays, and its state" "$out" "Device or resource busy; its state is kept"
t_ok "the state file is kept" test -s "$(state_file "$C")"
t_ok "unmount" unpin
out=$(lxm doctor --fix --format json)
t_is "doctor --fix removes the rest" "$(leftover_of "$C" "$out" | jq -c '[.removed, .error]')" '[true,null]'
t_ok "no state file" test ! -e "$(state_file "$C")"
t_is "no cgroup of $C left" "$(cgroups_of "$C")" 0

# --- 6. from a real-time process -------------------------------------------------------------------
policy() { chrt -p "$1" | sed -n 's/.*scheduling policy: //p'; }
out=$(chrt -f 10 "$LXM_BIN" --root "$T_ROOT" start "$C" 2>&1); rc=$?
t_is "chrt -f 10 lxm start: exit 0" "$rc" 0
[ "$rc" = 0 ] || echo "# $out"
INIT=$(init_pid "$C")
t_is "init runs SCHED_OTHER" "$(policy "$INIT")" SCHED_OTHER
t_is "the monitor runs SCHED_OTHER" "$(policy "$(monitor_pid "$C")")" SCHED_OTHER
t_like "lxm.log says why" "$(grep 'real-time' "$T_ROOT/var/log/lxm/$C/lxm.log")" 'started by a real-time process: .*\(SCHED_OTHER\)'
t_like "chrt -r 5 lxm attach: runs, SCHED_OTHER (policy 0)" \
    "$(chrt -r 5 "$LXM_BIN" --root "$T_ROOT" attach "$C" -- grep '^policy' /proc/self/sched 2>&1)" '^policy +: +0$'
t_ok "chrt -f 10 lxm restart" chrt -f 10 "$LXM_BIN" --root "$T_ROOT" restart "$C"
t_is "init after the restart: SCHED_OTHER" "$(policy "$(init_pid "$C")")" SCHED_OTHER
t_ok "stop $C" lxm stop "$C"

t_done

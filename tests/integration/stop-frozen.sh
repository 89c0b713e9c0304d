#!/usr/bin/env bash
# Stopping a container whose processes do not die of SIGKILL at once.
# 1. On the v1 freezer a group the guest froze below the container's own
#    (a nested container, security.nesting) stays frozen when lxm thaws
#    the container's group, its tasks outlive SIGKILL, and init cannot
#    finish exiting while one of them is in its pid namespace: stop -k,
#    stop and the stop of a crashed container thaw it too, and return
#    with nothing left.
# 2. A process that really cannot be killed (here the stop command itself,
#    placed in the container's group: destroy never kills its caller): the
#    stop that reaps the crashed container fails naming it and the command
#    to run again, keeps the container's record, and that command then
#    cleans up.
. "$(dirname "$0")/../lib.sh"
t_setup stop-frozen
FRZ=$(awk '$0 ~ / - cgroup / && $NF ~ /(^|,)freezer(,|$)/ {print $5; exit}' /proc/self/mountinfo)
[ -n "$FRZ" ] || { echo "1..0 # SKIP no v1 freezer on this host"; exit 0; }
t_cgroup_parent lxmt-sf-$$

C=sf$$a
fgroup() { echo "$FRZ/$LXM_CGROUP_PARENT/$(t_id "$C")"; }
cgroups_of() {
    local m n=0
    for m in $(t_cg_mounts); do [ -d "$m/$LXM_CGROUP_PARENT/$(t_id "$C")" ] && n=$((n + 1)); done
    echo $n
}
state_file() { echo "$T_ROOT/run/lxm/$C/state"; }
state_of() { lxm list --format csv 2>/dev/null | awk -F, -v n="$C" '$1 == n { print $2 }'; }
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
sleeper_in() { # GROUP: pid of the `sleep 600` in GROUP's cgroup.procs
    local p
    for p in $(cat "$1/cgroup.procs" 2>/dev/null); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] && echo "$p" && return 0
    done
    return 1
}
# Freeze pid $1 in a group "nested" of its own below C's freezer group.
freeze_below() {
    local sub
    sub=$(fgroup)/nested
    mkdir -p "$sub" && echo "$1" >"$sub/cgroup.procs" && echo FROZEN >"$sub/freezer.state" &&
        t_wait 5 grep -qx FROZEN "$sub/freezer.state"
}
t_on_exit 'echo THAWED >"$(fgroup)/nested/freezer.state"'
# A process of the guest's (attached: in its pid namespace): its pid in P.
guest_sleeper() {
    lxm attach "$C" -- sleep 600 >/dev/null 2>&1 &
    t_on_exit "kill -9 $!"
    t_wait 10 sleeper_in "$(fgroup)" && P=$(sleeper_in "$(fgroup)")
}
crash() { # kill -9 C's monitor and init, by pid
    local mon init
    read -r mon init _ <"$(state_file)" && kill -9 "$mon" "$init" && t_wait 10 gone "$mon" &&
        t_wait 10 gone "$init"
}

t_ok "create $C" lxm create "$C" -t busybox -c network.eth0.type=none

# --- 1. a group the guest froze ----------------------------------------------------
for how in "stop -k" "stop -t 3"; do
    t_ok "$how: start $C" lxm start "$C"
    P= && guest_sleeper
    t_ok "$how: a guest process ($P) frozen in a group below $C's" freeze_below "$P"
    t0=$SECONDS
    t_ok "$how: exit 0" timeout 60 "$LXM_BIN" --root "$T_ROOT" $how "$C"
    t_ok "$how: ... within 15 s" test $((SECONDS - t0)) -le 15
    t_ok "$how: the frozen process is gone" t_wait 5 gone "$P"
    t_is "$how: STOPPED, no cgroup left" "$(state_of) $(cgroups_of)" "STOPPED 0"
done

t_ok "crashed: start $C" lxm start "$C"
sleep 600 &
P=$!
t_on_exit "kill -9 $P"
t_ok "crashed: a process frozen in a group below $C's" freeze_below "$P"
t_ok "crashed: kill -9 its monitor and init" crash
t_ok "crashed: stop cleans up, exit 0" timeout 60 "$LXM_BIN" --root "$T_ROOT" stop "$C"
t_ok "crashed: the frozen process is gone" t_wait 5 gone "$P"
t_is "crashed: STOPPED, no state file, no cgroup" \
    "$(state_of) $(test -e "$(state_file)" && echo state) $(cgroups_of)" "STOPPED  0"

# --- 2. a process that cannot be killed -----------------------------------------------
t_ok "unkillable: start $C" lxm start "$C"
t_ok "unkillable: kill -9 its monitor and init" crash
out=$(sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$(fgroup)" \
    "$LXM_BIN" --root "$T_ROOT" stop "$C" 2>&1)
t_is "unkillable: the stop inside the group fails" "$?" 1
t_like "unkillable: ... naming the pid and the command that tries again" "$out" \
    "pid [0-9]+ survives SIGKILL.*'lxm stop $C' tries again"
t_ok "unkillable: the state file is kept" test -s "$(state_file)"
t_is "unkillable: the cgroups are kept" "$([ "$(cgroups_of)" -gt 0 ] && echo kept)" kept
t_is "unkillable: lxm list says STOPPED" "$(state_of)" STOPPED
t_ok "unkillable: the command it named cleans up" lxm stop "$C"
t_is "unkillable: no state file, no cgroup" "$(test -e "$(state_file)" && echo state) $(cgroups_of)" " 0"

t_ok "delete $C" lxm delete "$C"
t_done

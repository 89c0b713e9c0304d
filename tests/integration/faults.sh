#!/usr/bin/env bash
# Fault injection (issue 18): every state-changing command (create, start,
# stop, delete, snapshot, restore, copy, export, import, config set) and the
# monitor are killed with SIGKILL at many points, by strace:
#   strace -e inject=SYSCALL:signal=KILL:when=N
# The points come from a reference trace of the same command (the syscalls
# in SYSCALLS below, in the order it made them): FAULT_POINTS of them
# (default 8) spread evenly over the whole run, each as "the Nth call of
# SYSCALL". After each kill:
#  * `lxm list` is truthful: no RUNNING (or FROZEN...) container without a
#    process in its cgroup, no STOPPED one with a process in its cgroup;
#  * `lxm doctor` lists every staged file or tree the kill left;
#  * the next command (the same one again) works, or fails saying which
#    lxm command to run (that command is then run and must work);
#  * after it: no cgroup, monitor or process without a container that owns
#    it, and nothing staged left anywhere (doctor clean, no temp files).
#   FAULT_POINTS=N (default 8) kill points per target; FAULT_TARGETS="stop
#   monitor-boot" runs only those targets.
. "$(dirname "$0")/../lib.sh"
t_setup faults
command -v strace >/dev/null || { echo "1..0 # SKIP strace is not installed"; exit 0; }
command -v jq >/dev/null || { echo "1..0 # SKIP jq is needed to read lxm's JSON output"; exit 0; }

t_cgroup_parent lxmt-faults-$$
POINTS=${FAULT_POINTS:-8}
SYSCALLS=openat,mkdir,mkdirat,rename,renameat2,unlink,unlinkat,rmdir,fsync,write,clone,clone3,umount2,mount,connect,kill,pidfd_send_signal
CT=$T_ROOT/var/lib/lxm/containers
WORK=$(mktemp -d /tmp/lxm-it-faults-work.XXXXXX)
t_on_exit "rm -rf '$WORK'"
# A command that hangs after a kill must not hang the suite.
lxm() { timeout -k 5 60 "$LXM_BIN" --root "$T_ROOT" "$@"; }
t_on_exit 'for p in $(monitors_of_root); do kill -9 "${p%%:*}"; done'

# --- what is on the host -------------------------------------------------------
# Processes in container NAME's cgroup, every hierarchy, subgroups included.
cg_procs() {
    local id m
    id=$(t_id "$1")
    for m in $(t_cg_mounts); do
        [ -d "$m/$LXM_CGROUP_PARENT/$id" ] && find "$m/$LXM_CGROUP_PARENT/$id" -name cgroup.procs -exec cat {} + 2>/dev/null
    done | sort -u | tr '\n' ' '
}
# Container names that have a cgroup directory below our parent.
cg_names() {
    local m
    for m in $(t_cg_mounts); do
        [ -d "$m/$LXM_CGROUP_PARENT" ] && find "$m/$LXM_CGROUP_PARENT" -mindepth 1 -maxdepth 1 -type d -printf '%f\n'
    done | sort -u | sed 's/-[0-9a-f]\{8\}$//'
}
# "PID:NAME" of every monitor of our root. Its command line says only
# "lxm monitor NAME"; its stderr is NAME's lxm.log under our root (or the
# rotated lxm.log.1 until it reopens).
monitors_of_root() {
    local p log rest
    for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = lxm-monitor ] || continue
        log=$(readlink "$p/fd/2" 2>/dev/null)
        rest=${log#"$T_ROOT/var/log/lxm/"}
        [ "$rest" != "$log" ] && echo "${p#/proc/}:${rest%%/*}"
    done
}
states() { timeout 30 "$LXM_BIN" --root "$T_ROOT" list --format json 2>/dev/null | jq -r '.[] | "\(.name) \(.state)"'; }

# Everything staged that a dead command may leave, on disk (not inside a
# rootfs or an overlay layer, nor inside a staged tree, which goes as a
# whole): its own temp names and the export's temp files in $WORK.
staged_on_disk() {
    find "$T_ROOT/var/lib/lxm" "$T_ROOT/run" \( -path '*/rootfs' -o -path '*/upper' -o -path '*/work' \) -prune -o \
        \( -name '.import-*' -o -name '.create-*' -o -name '.copy-*' -o -name '.delete-*' -o -name '.*.partial*' \) \
        -print -prune -o -name '*.tmp.*' -print 2>/dev/null
    find "$T_ROOT/var/lib/lxm/staging" -type f 2>/dev/null
    find "$WORK" -maxdepth 1 -name '*.tmp.*' 2>/dev/null
}

# What no lxm command removed (see the checks' diagnostics), removed by
# hand so that the next kill point starts clean: processes of NAME's
# cgroup (by pid), then its directories.
scrub() {
    local p m
    for p in $(cg_procs "$1"); do kill -9 "$p" 2>/dev/null; done
    for m in $(t_cg_mounts); do
        [ -d "$m/$LXM_CGROUP_PARENT/$(t_id "$1")" ] &&
            t_wait 5 find "$m/$LXM_CGROUP_PARENT/$(t_id "$1")" -depth -type d -exec rmdir {} +
    done
    return 0
}
# After a kill: list tells the truth. Prints what is wrong, nothing if all is well.
check_truth() {
    local out name state procs
    out=$(states) || { echo "lxm list failed or hung"; return; }
    while read -r name state; do
        [ -n "$name" ] || continue
        procs=$(cg_procs "$name")
        case $state in
            STOPPED) [ -z "$procs" ] || echo "$name is STOPPED with processes in its cgroup: $procs" ;;
            *) [ -n "$procs" ] || echo "$name is $state without a live init" ;;
        esac
    done <<<"$out"
}

# After the next command: nothing without an owner, nothing staged.
check_owners() {
    local out name m pid
    out=$(states)
    for name in $(cg_names); do
        grep -Eq "^$name (RUNNING|FROZEN|STARTING|STOPPING)$" <<<"$out" ||
            echo "cgroup of $name without a running container ($(grep "^$name " <<<"$out" || echo 'no such container'))"
    done
    for m in $(monitors_of_root); do
        pid=${m%%:*} name=${m#*:}
        grep -Eq "^$name (RUNNING|FROZEN|STARTING|STOPPING)$" <<<"$out" ||
            echo "monitor $pid of $name without a running container"
    done
}
check_clean() {
    local staged n
    staged=$(staged_on_disk)
    [ -z "$staged" ] || echo "staged files left: $(echo $staged)"
    n=$("$LXM_BIN" --root "$T_ROOT" doctor --format json 2>/dev/null | jq '.leftovers | length')
    [ "$n" = 0 ] || echo "doctor lists $n leftovers"
}
# Right after a kill: doctor names every staged thing on disk.
check_doctor_sees() {
    local listed f missing=
    listed=$("$LXM_BIN" --root "$T_ROOT" doctor --format json 2>/dev/null | jq -r '.leftovers[].path')
    for f in $(staged_on_disk); do
        grep -qxF "$f" <<<"$listed" || missing="$missing $f"
    done
    [ -z "$missing" ] || echo "doctor does not list:$missing"
}

# The next command, after a kill: it works, or it names an lxm command to
# run, which then must work. Prints what is wrong.
next_command() {
    local out rc hint
    out=$(timeout -k 5 60 "$LXM_BIN" --root "$T_ROOT" "$@" 2>&1 >/dev/null); rc=$?
    [ $rc = 124 ] && { echo "lxm $*: hung (killed after 60 s)"; return; }
    [ $rc = 0 ] && return
    hint=$(grep -o "'lxm [a-z][^']*'" <<<"$out" | head -1 | tr -d "'")
    if [ -z "$hint" ]; then
        # An idempotent "nothing to do" is the truth, not a failure.
        grep -Eq "already (exists|running)|is not running|not found$" <<<"$out" && return
        echo "lxm $*: exit $rc, no command named: $out"
        return
    fi
    # shellcheck disable=SC2086
    out=$(timeout -k 5 60 "$LXM_BIN" --root "$T_ROOT" ${hint#lxm } 2>&1) ||
        echo "lxm $*: said to run '$hint', which failed: $out"
}

# --- the kill points -----------------------------------------------------------------
# "SYSCALL N" lines: POINTS calls spread evenly over a reference trace,
# plus the commit points (rename, fsync: the first 4 of them), where a kill
# falls between "written" and "in place".
kill_points() { # TRACEFILE
    awk -v want="$POINTS" -F'(' '
        /^[a-z_0-9]+\(/ { n[$1]++; s[++t] = $1 " " n[$1]
            if ($1 ~ /^(rename|renameat2|fsync)$/ && extra < 4) commit[++extra] = $1 " " n[$1] }
        END { if (t == 0) exit; step = t / want; if (step < 1) step = 1
              for (x = step / 2 + 0.5; x <= t; x += step) print s[int(x)]
              for (i = 1; i <= extra; i++) print commit[i] }' "$1" | awk '!seen[$0]++'
}

# FAULT_TARGETS="create start ..." runs only those (all by default).
want() { [ -z "${FAULT_TARGETS:-}" ] || [[ " $FAULT_TARGETS " == *" $1 "* ]]; }
# One target: setup, reference trace, then kill at every point.
#   run_target NAME SETUP RESET NEXT -- CMD...
# SETUP makes the state CMD starts from (quietly); RESET undoes what CMD
# did; NEXT is the next command (words), run after each kill.
run_target() {
    local name=$1 setup=$2 reset=$3 next=$4 ref pts sc n rc killed=0 runs=0
    shift 5
    local truth="" doctor="" nextc="" owners="" clean=""
    eval "$setup" >/dev/null 2>&1
    ref=$WORK/ref-$name
    strace -qq -o "$ref" -e trace="$SYSCALLS" "$LXM_BIN" --root "$T_ROOT" "$@" >/dev/null 2>&1
    pts=$(kill_points "$ref")
    eval "$reset" >/dev/null 2>&1
    while read -r sc n; do
        [ -n "$sc" ] || continue
        eval "$setup" >/dev/null 2>&1
        # (in a subshell whose stderr is dropped: bash reports the kill)
        rc=$( { strace -qq -o /dev/null -e inject="$sc:signal=KILL:when=$n" \
            "$LXM_BIN" --root "$T_ROOT" "$@" >/dev/null 2>&1; echo $?; } 2>/dev/null)
        runs=$((runs + 1))
        [ $rc = 137 ] && killed=$((killed + 1))
        local at="$name killed at $sc #$n (exit $rc)"
        out=$(check_truth); [ -n "$out" ] && truth="$truth$(pre "$at" "$out")"$'\n'
        out=$(check_doctor_sees); [ -n "$out" ] && doctor="$doctor$(pre "$at" "$out")"$'\n'
        # shellcheck disable=SC2086
        out=$(next_command $next); [ -n "$out" ] && nextc="$nextc$(pre "$at" "$out")"$'\n'
        out=$(check_owners); [ -n "$out" ] && owners="$owners$(pre "$at" "$out")"$'\n'
        out=$(check_clean); [ -n "$out" ] && clean="$clean$(pre "$at" "$out")"$'\n'
        eval "$reset" >/dev/null 2>&1
    done <<<"$pts"
    echo "# $name points: $(echo $pts | tr '\n' ' ')"
    echo "# $name: $runs kill points ($killed killed) from $(wc -l <"$ref") traced calls"
    t_ok "$name: $runs kill points, at least one kill" test "$killed" -gt 0
    report "$name: lxm list truthful after every kill" "$truth"
    report "$name: doctor lists what each kill left" "$doctor"
    report "$name: the next command works or names the one to run" "$nextc"
    report "$name: no cgroup or monitor without an owner after it" "$owners"
    report "$name: nothing staged left after it" "$clean"
}
# Each line of a diagnostic, prefixed with where the kill was.
pre() { printf '%s\n' "$2" | sed "s|^|$1: |"; }
report() { # DESC DIAG
    if [ -z "$2" ]; then t_report ok "$1"; else t_report fail "$1"; fi
    printf '%s' "$2" | head -8 | sed 's/^/#   /'
}

# --- targets -----------------------------------------------------------------------------
X=fx
mkx() { lxm create "$X" -t busybox -c network.eth0.type=none; }
gone() { lxm stop -k "$1"; lxm delete -f "$1"; }
# A pristine stopped $X with a snapshot "base" and an export $WORK/x.tar.
mkx >/dev/null && lxm snapshot "$X" base >/dev/null && lxm -q export "$X" "$WORK/x.tar" ||
    { echo "Bail out! cannot make the starting container"; exit 1; }

want create && run_target create "gone c1" "gone c1" "create c1 -t busybox -c network.eth0.type=none" -- \
    create c1 -t busybox -c network.eth0.type=none
want start && run_target start "lxm stop -k $X" "lxm stop -k $X" "start $X" -- start "$X"
want stop && run_target stop "lxm start $X" "lxm stop -k $X" "stop -k $X" -- stop -t 5 "$X"
want delete && run_target delete "lxm create d1 -t busybox -c network.eth0.type=none" "gone d1" "delete d1" -- delete d1
want snapshot && run_target snapshot "lxm snapshot --delete $X s1" "lxm snapshot --delete $X s1" "snapshot $X s1" -- snapshot "$X" s1
want restore && run_target restore "true" "true" "restore $X base" -- restore "$X" base
want copy && run_target copy "gone y1" "gone y1" "copy $X y1" -- copy "$X" y1
want export && run_target export "rm -f $WORK/e.tar" "rm -f $WORK/e.tar" "-q export $X $WORK/e.tar" -- -q export "$X" "$WORK/e.tar"
want import && run_target import "gone z1" "gone z1" "-q import $WORK/x.tar z1" -- -q import "$WORK/x.tar" z1
want config-set && run_target config-set "lxm config unset $X limits.memory" "true" "config set $X limits.memory=64MiB" -- \
    config set "$X" limits.memory=64MiB

# The monitor, killed while it stops its container: strace attaches to it
# (no boot under strace), then `lxm stop` drives it. That stop still stops
# the container: it waits for the dead monitor's exit (its socket closes
# before the kernel marks it exited) and then for init, so when it returns
# the container is STOPPED and nothing of it is left; a stop that gave up
# early would leave init halting on its own and its cgroup behind.
monitor_stop() { # [INJECT]: start $X, trace its monitor, stop it; exit of the stop
    local mon sp i
    lxm start "$X" >/dev/null 2>&1
    mon=$(cut -d' ' -f1 "$T_ROOT/run/lxm/$X/state" 2>/dev/null)
    [ -n "$mon" ] || return 99
    strace -q -o "$2" -e trace="$SYSCALLS" ${1:+-e inject="$1"} -p "$mon" &
    sp=$!
    for ((i = 0; i < 100; i++)); do
        [ "$(awk '/^TracerPid:/ {print $2}' "/proc/$mon/status" 2>/dev/null)" = 0 ] || break
        sleep 0.02
    done
    lxm stop -t 5 "$X" >/dev/null 2>"$WORK/stop-err"
    local rc=$?
    wait "$sp" 2>/dev/null
    return $rc
}
mon_target() {
    local ref=$WORK/ref-monitor pts sc n rc runs=0 killed=0 stops="" truth="" nextc="" owners="" clean="" out
    monitor_stop "" "$ref"
    lxm stop -k "$X" >/dev/null 2>&1
    pts=$(kill_points "$ref")
    while read -r sc n; do
        [ -n "$sc" ] || continue
        monitor_stop "$sc:signal=KILL:when=$n" "$WORK/mon-trace"; rc=$?
        runs=$((runs + 1))
        grep -q 'killed by SIGKILL' "$WORK/mon-trace" && killed=$((killed + 1))
        local at="monitor killed at $sc #$n during stop"
        [ $rc = 0 ] || stops="$stops$at: lxm stop exit $rc: $(cat "$WORK/stop-err")"$'\n'
        out=$(states | grep "^$X " | grep -v "^$X STOPPED$"; check_owners)
        [ -n "$out" ] && stops="$stops$(pre "$at: after the stop" "$out")"$'\n'
        out=$(check_truth); [ -n "$out" ] && truth="$truth$(pre "$at" "$out")"$'\n'
        out=$(next_command start "$X"); [ -n "$out" ] && nextc="$nextc$(pre "$at" "$out")"$'\n'
        out=$(check_owners); [ -n "$out" ] && owners="$owners$(pre "$at" "$out")"$'\n'
        lxm stop -k "$X" >/dev/null 2>&1
        out=$(check_owners; check_clean); [ -n "$out" ] && clean="$clean$(pre "$at" "$out")"$'\n'
    done <<<"$pts"
    echo "# monitor: $runs kill points ($killed killed) from $(grep -c '^[a-z]' "$ref") traced calls during a stop"
    t_ok "monitor: $runs kill points during stop, at least one kill" test "$killed" -gt 0
    report "monitor: the stop it was killed in stops the container, nothing left" "$stops"
    report "monitor: lxm list truthful after every kill" "$truth"
    report "monitor: start works after it" "$nextc"
    report "monitor: no cgroup or monitor without an owner after the start" "$owners"
    report "monitor: nothing left after the next stop" "$clean"
}
want monitor && mon_target

# The monitor (or the container's child before it execs init), killed
# while it boots the container: `lxm start` under strace -f, detached from
# the monitor once the start command is gone (-b execve detaches from the
# child when it execs init). strace counts calls per process, so only
# points where the monitor alone reaches the Nth call of a syscall are used.
monitor_boot() { # INJECT TRACEFILE
    local sp cli= i
    # -I 1: SIGTERM makes strace detach (with -o FILE PROG it would be
    # blocked; SIGINT is ignored by a background job of a script).
    strace -I 1 -f -b execve -q -o "$2" -e trace="$SYSCALLS,prctl" ${1:+-e inject="$1"} \
        "$LXM_BIN" --root "$T_ROOT" start "$X" >/dev/null 2>&1 &
    sp=$!
    # Wait (up to 10 s: strace starts slowly on a loaded machine) for the
    # start command to exist before watching it. strace's first child may
    # be a probe of its own, gone at once: the start command runs lxm.
    local bin
    bin=$(readlink -f "$LXM_BIN")
    for ((i = 0; i < 1000; i++)); do
        cli=$(awk '{print $1}' "/proc/$sp/task/$sp/children" 2>/dev/null)
        [ -n "$cli" ] && [ "$(readlink "/proc/$cli/exe" 2>/dev/null)" = "$bin" ] && break
        cli=
        sleep 0.01
    done
    local hung=0
    for ((i = 0; i < 500; i++)); do
        [ -n "$cli" ] && [ -d "/proc/$cli" ] && ! grep -q '^State:.*Z' "/proc/$cli/status" 2>/dev/null || break
        sleep 0.02
    done
    [ "$i" = 500 ] && hung=1
    kill -TERM "$sp" 2>/dev/null
    t_wait 5 eval "! kill -0 $sp" || kill -9 "$sp" 2>/dev/null
    wait "$sp" 2>/dev/null
    # A start that never returns holds the container's lock: kill it.
    [ $hung = 1 ] && kill -9 "$cli" 2>/dev/null
    return $hung
}
monitor_points() { # TRACEFILE: "SYSCALL N" of the monitor that no other process reaches
    awk -v want="$POINTS" '
        $2 ~ /^[a-z_0-9]+\(/ { split($2, a, "("); s = a[1]; k = ++n[$1 " " s]
            if (s == "prctl" && $0 ~ /lxm-monitor/) mon = $1
            calls[++t] = $1 " " s " " k; if (k > most[s]) most[s] = k }
        END {
            for (i = 1; i <= t; i++) { split(calls[i], c, " ")
                if (c[1] != mon) { if (c[3] > other[c[2]]) other[c[2]] = c[3] } }
            for (i = 1; i <= t; i++) { split(calls[i], c, " ")
                if (c[1] == mon && c[2] != "prctl" && c[3] > other[c[2]] + 0) { cand[++m] = c[2] " " c[3]
                    if (c[2] ~ /^(rename|renameat2|fsync|clone3)$/) commit[++e] = cand[m] } }
            if (m == 0) exit; step = m / want; if (step < 1) step = 1
            for (x = step / 2 + 0.5; x <= m; x += step) print cand[int(x)]
            for (i = 1; i <= e; i++) print commit[i] }' "$1" | awk '!seen[$0]++'
}
# Which process of a `strace -f` trace SIGKILL ended: lxm start, the
# monitor, or the container's child (before it execs init).
who_died() {
    awk '$2 == "prctl(PR_SET_NAME," && $0 ~ /lxm-monitor/ { mon = $1 }
         NR == 1 { cli = $1 }
         /killed by SIGKILL/ { d = $1 }
         END { print d == "" ? "nothing killed" : d == cli ? "killed lxm start" : d == mon ? "killed the monitor" : "killed pid " d " (child)" }' "$1"
}
mon_boot_target() {
    local ref=$WORK/ref-boot pts sc n runs=0 killed=0 truth="" nextc="" owners="" clean="" hangs="" out
    monitor_boot "" "$ref"
    lxm stop -k "$X" >/dev/null 2>&1
    pts=$(monitor_points "$ref")
    while read -r sc n; do
        [ -n "$sc" ] || continue
        local at="monitor killed at $sc #$n during boot" hung=
        monitor_boot "$sc:signal=KILL:when=$n" "$WORK/boot-trace" || hung=1
        runs=$((runs + 1))
        grep -q 'killed by SIGKILL' "$WORK/boot-trace" && killed=$((killed + 1))
        at="$at ($(who_died "$WORK/boot-trace"))"
        [ -n "$hung" ] && hangs="$hangs$at: lxm start did not return within 10 s"$'\n'
        out=$(check_truth); [ -n "$out" ] && truth="$truth$(pre "$at" "$out")"$'\n'
        out=$(next_command start "$X"); [ -n "$out" ] && nextc="$nextc$(pre "$at" "$out")"$'\n'
        out=$(check_truth; check_owners); [ -n "$out" ] && owners="$owners$(pre "$at" "$out")"$'\n'
        lxm stop -k "$X" >/dev/null 2>&1
        out=$(check_owners; check_clean); [ -n "$out" ] && clean="$clean$(pre "$at" "$out")"$'\n'
        scrub "$X"
    done <<<"$pts"
    echo "# monitor boot points: $(echo $pts | tr '\n' ' ')"
    echo "# monitor boot: $runs kill points ($killed killed) from $(grep -c '^[0-9]' "$ref") traced calls of start"
    t_ok "monitor boot: $runs kill points, at least one kill" test "$killed" -gt 0
    report "monitor boot: lxm start returns (fails) when the monitor dies" "$hangs"
    report "monitor boot: lxm list truthful after every kill" "$truth"
    report "monitor boot: start works after it" "$nextc"
    report "monitor boot: list truthful, no cgroup or monitor without an owner after the start" "$owners"
    report "monitor boot: nothing left after the next stop" "$clean"
}
want monitor-boot && mon_boot_target

t_ok "delete $X" lxm delete -f "$X"
t_is "no cgroup left below our parent" "$(cg_names)" ""
t_done

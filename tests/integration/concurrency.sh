#!/usr/bin/env bash
# Two lxm commands on one container at once. One side is slowed down at a
# chosen system call (strace's delay injection) so that the other arrives
# while it holds the per-container lock; afterwards the invariants must
# hold: one init per container, `list` tells the truth, no command deletes
# what another made, a command that had to wait waits (no "busy"), and a
# freeze never leaves a stop hanging.
. "$(dirname "$0")/../lib.sh"
t_setup concurrency
# Never without our own root: an empty one would mean the system's.
[ -n "${T_ROOT:-}" ] && [ -d "$T_ROOT" ] || { echo "Bail out! no test root"; exit 1; }

command -v strace >/dev/null || { echo "1..0 # SKIP strace is not installed"; exit 0; }

# Every command is bounded: the bugs looked for here make some hang.
lxm() { timeout -k 5 60 "$LXM_BIN" --root "$T_ROOT" "$@"; }

C=cc$$a
D=cc$$b
E=cc$$c
F=cc$$d
G=cc$$e
LOGS=$T_ROOT/logs
mkdir -p "$LOGS"

# The binary itself, not the lxm() function, so that $! of a background
# command is lxm's own pid (or strace's).
LXM=("$LXM_BIN" --root "$T_ROOT")
# slow SYSCALL SECONDS: a command prefix that holds every SYSCALL of the
# command SECONDS before it runs (only lxm itself is traced, not the
# monitor it forks).
slow() {
    local us
    us=$(awk -v s="$2" 'BEGIN { printf "%d", s * 1000000 }')
    echo strace -qq -o /dev/null -e trace="$1" -e inject="$1":delay_enter="$us"
}
# bg NAME CMD...: run CMD in the background, output in $LOGS/NAME, pid in PID_NAME.
bg() {
    local name=$1
    shift
    "$@" >"$LOGS/$name" 2>&1 &
    printf -v "PID_$name" '%s' $!
    t_on_exit "kill -9 $! 2>/dev/null"
}
# The lock file of NAME (or, for the code before docs/locking.md, where it
# was then), and whether it is held with at least WAITERS commands waiting.
lock_file() {
    local f=$T_ROOT/run/lxm/.locks/$1.lock
    [ -e "$f" ] || f=$T_ROOT/run/lxm/$1/lock
    echo "$f"
}
lock_held() { # NAME [WAITERS]
    local ino
    ino=$(stat -c %i "$(lock_file "$1")" 2>/dev/null) || return 1
    [ "$(grep -c ":$ino " /proc/locks)" -ge $((1 + ${2:-0})) ]
}
# reap NAME: wait for it (at most 60 s) and set RC_NAME.
reap() {
    local pid_var=PID_$1 i
    for ((i = 0; i < 600; i++)); do kill -0 "${!pid_var}" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "${!pid_var}" 2>/dev/null; then
        kill -9 "${!pid_var}"
        echo "(killed after 60 s)" >>"$LOGS/$1"
    fi
    wait "${!pid_var}"
    printf -v "RC_$1" '%s' $?
}
out_of() { cat "$LOGS/$1"; }

state_of() { lxm list --format csv 2>/dev/null | awk -F, -v n="$1" '$1 == n { print $2 }'; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
pid_of() { lxm list --format csv 2>/dev/null | awk -F, -v n="$1" '$1 == n { print $3 }'; }
# The container's own part of its rootfs is there: the whole tree (dir,
# btrfs) or the overlay's upper layer with the identity create wrote.
has_rootfs() {
    local d=$T_ROOT/var/lib/lxm/containers/$1
    [ -x "$d/rootfs/bin/busybox" ] || [ -s "$d/upper/etc/hostname" ]
}
mk() { lxm create "$1" -t busybox -c network.eth0.type=none "${@:2}"; }

# list is truthful: RUNNING with the pid of the one init the host sees.
check_running() {
    local c=$1 what=$2
    t_is "$what: one init in $c's cgroup" "$(t_init_pids "$c" | wc -l)" 1
    t_is "$what: list says RUNNING" "$(state_of "$c")" RUNNING
    t_is "$what: list's PID is that init" "$(pid_of "$c")" "$(t_init_pids "$c" | head -1)"
    t_ok "$what: the rootfs is there" has_rootfs "$c"
    t_ok "$what: attach works" lxm attach "$c" -- true
}
check_stopped() {
    local c=$1 what=$2
    t_is "$what: no init in $c's cgroup" "$(t_init_pids "$c" | wc -l)" 0
    t_is "$what: list says STOPPED" "$(state_of "$c")" STOPPED
    t_is "$what: no cgroup left" "$(t_cgroups_of "$c")" 0
}
t_unlike() { if printf '%s' "$2" | grep -Eq -- "$3"; then t_report fail "$1" "got: '$2'"; else t_report ok "$1"; fi; }
no_busy() { t_is "$1: no \"busy\" error" "$(grep -ci busy "$LOGS/$2")" 0; }

# If a run goes wrong (the bugs this file looks for), list may call a
# running init STOPPED and the usual cleanup by name would miss it: kill
# what is left in our containers' cgroups, by pid.
kill_leftovers() {
    local c p f
    for c in "$C" "$D" "$D"x "$E" "$F" "$G"; do
        f=/sys/fs/cgroup/freezer/lxm/$(t_id "$c")/freezer.state
        [ -e "$f" ] && echo THAWED >"$f"
        for p in $(t_init_pids "$c"); do kill -9 "$p"; done
    done
}
t_on_exit kill_leftovers

t_ok "create $C" mk "$C"
t_ok "create $D" mk "$D"

# --- 1. stop, with a start waiting, and a start arriving after the stop ------
# The old lock file in run/NAME/ was unlinked by the stop: the waiting start
# then held a lock on a deleted file while the late one made a new one, both
# booted, and the loser removed the winner's run dir.
t_ok "start $C" lxm start "$C"
bg stop $(slow connect 0.8) "${LXM[@]}" stop "$C" # holds the lock ~1.6 s
t_wait 10 lock_held "$C"
bg startx $(slow clone 1) "${LXM[@]}" start "$C" # waits; once in, slow to fork its monitor
t_wait 10 lock_held "$C" 1
reap stop
bg starty "${LXM[@]}" start "$C" # arrives while startx is inside
reap startx
reap starty
t_is "stop succeeded" "$RC_stop" 0
t_is "exactly one of the two starts succeeded" "$(((RC_startx == 0) + (RC_starty == 0)))" 1
t_like "the other one says it is already running" "$(out_of startx; out_of starty)" "already running"
no_busy "start" startx
no_busy "start" starty
check_running "$C" "stop | start | start"

# --- 2. delete during a start: waits, then refuses the running container -------
lxm stop -k "$C" >/dev/null 2>&1
bg start $(slow clone 1) "${LXM[@]}" start "$C"
t_wait 10 lock_held "$C"
bg delete "${LXM[@]}" delete "$C"
reap start
reap delete
t_is "start succeeded" "$RC_start" 0
t_is "delete failed" "$RC_delete" 1
t_like "delete says the container runs" "$(out_of delete)" "is RUNNING"
check_running "$C" "start | delete"

# --- 3. delete -f during a start: waits, then stops and deletes -----------------
t_ok "create $E" mk "$E"
bg start $(slow clone 1) "${LXM[@]}" start "$E"
t_wait 10 lock_held "$E"
bg delete "${LXM[@]}" delete -f "$E"
reap start
reap delete
t_is "start succeeded" "$RC_start" 0
t_is "delete -f succeeded" "$RC_delete" 0
no_busy "delete -f" delete
t_is "no init left of $E" "$(t_init_pids "$E" | wc -l)" 0
t_is "no cgroup left of $E" "$(t_cgroups_of "$E")" 0
t_is "$E is gone from list" "$(state_of "$E")" ""
t_ok "$E's directory is gone" test ! -e "$T_ROOT/var/lib/lxm/containers/$E"

# --- 4. two creates of one name -------------------------------------------------
# The first is held at its fsyncs (of config.yaml, its last step): the
# second arrives while the directory exists and config.yaml does not.
bg create1 $(slow fsync 0.6) "${LXM[@]}" create "$E" -t busybox -c network.eth0.type=none
t_wait 10 lock_held "$E"
bg create2 "${LXM[@]}" create "$E" -t busybox -c network.eth0.type=none
reap create1
reap create2
t_is "exactly one create succeeded" "$(((RC_create1 == 0) + (RC_create2 == 0)))" 1
t_like "the other says it exists" "$(out_of create1; out_of create2)" "already exists"
no_busy "create" create1
no_busy "create" create2
t_ok "the container is whole: config.yaml" test -f "$T_ROOT/var/lib/lxm/containers/$E/config.yaml"
t_ok "the container is whole: rootfs" has_rootfs "$E"
t_ok "and it starts" lxm start "$E"
check_running "$E" "create | create"
lxm stop -k "$E" >/dev/null 2>&1

# --- 5. copy and delete of its source -------------------------------------------
bg copy $(slow fsync 0.6) "${LXM[@]}" copy "$D" "$D"x
t_wait 10 lock_held "$D"
bg delete "${LXM[@]}" delete "$D"
reap copy
reap delete
t_is "copy succeeded" "$RC_copy" 0
t_is "delete succeeded after it" "$RC_delete" 0
no_busy "delete" delete
t_ok "the copy is whole" has_rootfs "$D"x
t_ok "the copy starts" lxm start "$D"x
check_running "$D"x "copy | delete"
lxm stop -k "$D"x >/dev/null 2>&1

# --- 6. snapshot and start ------------------------------------------------------
lxm stop -k "$C" >/dev/null 2>&1
bg snap $(slow fsync 0.6) "${LXM[@]}" snapshot "$C" s1
t_wait 10 lock_held "$C"
bg start "${LXM[@]}" start "$C"
reap snap
reap start
t_is "snapshot succeeded" "$RC_snap" 0
t_is "start succeeded after it" "$RC_start" 0
no_busy "snapshot" snap
t_ok "the snapshot is whole" test -f "$T_ROOT/var/lib/lxm/containers/$C/snapshots/s1/config.yaml"
check_running "$C" "snapshot | start"

# --- 7. two config sets: both saved ---------------------------------------------
bg set1 $(slow fsync 0.6) "${LXM[@]}" config set "$C" limits.pids=300
t_wait 10 lock_held "$C"
bg set2 "${LXM[@]}" config set "$C" limits.cpu_weight=50
reap set1
reap set2
t_is "both config sets succeeded" "$RC_set1 $RC_set2" "0 0"
cfg=$(cat "$T_ROOT/var/lib/lxm/containers/$C/config.yaml")
t_like "the first value is saved" "$cfg" "pids: 300"
t_like "the second value is saved" "$cfg" "cpu_weight: 50"

# --- 8. export and delete; import and create of one name; restart and stop ----
bg export $(slow fsync 1) "${LXM[@]}" export "$D"x "$LOGS/x.tar"
t_wait 10 lock_held "$D"x
bg delete "${LXM[@]}" delete "$D"x
reap export
reap delete
t_is "export succeeded" "$RC_export" 0
t_is "delete succeeded after it" "$RC_delete" 0
no_busy "delete" delete
t_ok "the archive is whole" sh -c "tar tf '$LOGS/x.tar' | grep -qx 'rootfs/bin/busybox'"
t_ok "$D""x is gone" test ! -e "$T_ROOT/var/lib/lxm/containers/$D"x

bg import $(slow fsync 0.6) "${LXM[@]}" import "$LOGS/x.tar" "$G"
t_wait 10 lock_held "$G"
bg create "${LXM[@]}" create "$G" -t busybox -c network.eth0.type=none
reap import
reap create
t_is "exactly one of import and create succeeded" "$(((RC_import == 0) + (RC_create == 0)))" 1
t_like "the other says it exists" "$(out_of import; out_of create)" "already exists"
no_busy "import" import
no_busy "create" create
t_ok "$G is whole and starts" lxm start "$G"
check_running "$G" "import | create"
lxm stop -k "$G" >/dev/null 2>&1

bg restart $(slow clone 1) "${LXM[@]}" restart -t 5 "$C"
t_wait 10 lock_held "$C"
bg stop "${LXM[@]}" stop "$C"
reap restart
reap stop
t_is "restart succeeded" "$RC_restart" 0
t_is "the stop succeeded after it" "$RC_stop" 0
no_busy "stop" stop
check_stopped "$C" "restart | stop"

# --- 9. freeze during a stop: the stop ends (issue 18 #5) -----------------------
# SIGWINCH is a halt signal busybox init ignores: the stop waits its whole
# timeout, then kills. A freeze that got in meanwhile left init frozen and
# the SIGKILL without effect (v1 freezer): the stop never returned.
t_ok "create $F, halt signal SIGWINCH (ignored by init)" mk "$F" -c signals.halt=SIGWINCH
t_ok "start $F" lxm start "$F"
if lxm freeze "$F" 2>/dev/null && lxm unfreeze "$F" 2>/dev/null; then
    bg stop "${LXM[@]}" stop -t 2 "$F"
    t_wait 10 is_state "$F" STOPPING
    bg freeze "${LXM[@]}" freeze "$F"
    reap freeze
    reap stop
    t_is "the stop ended (killed init after 2 s)" "$RC_stop" 0
    t_unlike "the stop was not cut short" "$(out_of stop)" "killed after 60"
    t_is "the freeze waited for the stop, then found nothing to freeze" "$RC_freeze" 1
    t_like "and said so" "$(out_of freeze)" "not running"
    check_stopped "$F" "stop | freeze"

    # A stop whose command died: the monitor is STOPPING, nobody holds the
    # lock. A freeze now is refused, and stop -k still ends it.
    t_ok "start $F again" lxm start "$F"
    bg stop "${LXM[@]}" stop -t 60 "$F"
    t_wait 10 is_state "$F" STOPPING
    t_is "list says STOPPING" "$(state_of "$F")" STOPPING
    kill -9 "$PID_stop"
    wait "$PID_stop" 2>/dev/null
    out=$(lxm freeze "$F" 2>&1); rc=$?
    t_is "freeze of a STOPPING container fails" "$rc" 1
    t_like "and says why" "$out" "is STOPPING"
    t_is "init is not frozen" "$(state_of "$F")" STOPPING
    t_ok "stop -k ends it within 20 s" timeout 20 "$LXM_BIN" --root "$T_ROOT" stop -k "$F"
    check_stopped "$F" "STOPPING | freeze"

    # A container frozen behind lxm's back (by hand) still stops.
    t_ok "start $F once more" lxm start "$F"
    fz=$(ls -d /sys/fs/cgroup/freezer/lxm/"$(t_id "$F")" 2>/dev/null)
    if [ -n "$fz" ]; then
        echo FROZEN >"$fz/freezer.state"
        t_wait 5 grep -q '^FROZEN' "$fz/freezer.state"
        t_ok "stop -t 1 of a container frozen by hand ends within 20 s" \
            timeout 20 "$LXM_BIN" --root "$T_ROOT" stop -t 1 "$F"
    else
        t_ok "freeze $F" lxm freeze "$F"
        t_ok "stop -t 1 of a frozen container ends within 20 s" \
            timeout 20 "$LXM_BIN" --root "$T_ROOT" stop -t 1 "$F"
    fi
    check_stopped "$F" "frozen | stop"
    t_ok "start, freeze" sh -c "'$LXM_BIN' --root '$T_ROOT' start $F && '$LXM_BIN' --root '$T_ROOT' freeze $F"
    t_ok "delete -f of a frozen container ends within 30 s" \
        timeout 30 "$LXM_BIN" --root "$T_ROOT" delete -f "$F"
    t_is "no init left" "$(t_init_pids "$F" | wc -l)" 0
    t_is "no cgroup left" "$(t_cgroups_of "$F")" 0
else
    t_skip "freeze during stop" "the cgroup freezer is not available here"
fi

# --- the lock file is outside every run dir and outlives it ---------------------
t_ok "lock files live in run/.locks" test -f "$T_ROOT/run/lxm/.locks/$D.lock"
t_is "no run dir is left of a stopped container" "$(ls "$T_ROOT/run/lxm")" ""

t_done

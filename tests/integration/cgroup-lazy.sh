#!/usr/bin/env bash
# The v1 hierarchies where a container gets a directory only when a limit
# needs one (cpu without cpuacct, cpuset) or never (name=systemd and other
# hierarchies lxm serves no role in): docs/cgroups.md.
#  * started without those limits, the container has no directory there
#    and its processes are in the shared parent (out of the starter's);
#  * `config set limits.cpu` / `limits.cpuset` on the running container
#    makes the directory and moves every process of it in: ones forking
#    all the time, ones an attach adds meanwhile, a frozen container (which
#    stays frozen);
#  * `config unset` puts the kernel's default back; stop leaves only the
#    shared parent (kept for the next start), delete nothing in any
#    hierarchy; a container created with the limit has the directory from
#    its start.
. "$(dirname "$0")/../lib.sh"
t_setup cgroup-lazy
command -v jq >/dev/null || { echo "1..0 # SKIP jq is needed"; exit 0; }
t_cgroup_parent lxmt-lazy-$$
P=$LXM_CGROUP_PARENT

# v1 hierarchies as "MOUNT CONTROLLERS" lines; lazy ones: only cpu and/or
# cpuset, or none lxm knows.
v1_mounts() {
    awk '$0 ~ / - cgroup cgroup / && $4 == "/" && !seen[$3]++ { n = split($NF, o, ","); c = "";
        for (i = 1; i <= n; i++) if (o[i] !~ /^(rw|ro|clone_children|noprefix|xattr|cpuset_v2_mode|release_agent=.*)$/) c = c (c ? "," : "") o[i];
        print $5, c }' /proc/self/mountinfo
}
is_lazy() { # CONTROLLERS
    local c
    for c in ${1//,/ }; do
        case $c in memory | cpuacct | pids | blkio | freezer | devices) return 1 ;; esac
    done
    return 0
}
LAZY=() EAGER=() CPU= CPUSET=
while read -r m c; do
    if is_lazy "$c"; then LAZY+=("$m"); else EAGER+=("$m"); fi
    [ "$c" = cpu ] && CPU=$m
    [ "$c" = cpuset ] && CPUSET=$m
done < <(v1_mounts)
if [ ${#LAZY[@]} = 0 ]; then
    echo "1..0 # SKIP no v1 hierarchy here where lxm makes directories lazily ($(v1_mounts | tr '\n' ';'))"
    exit 0
fi
echo "# lazy: ${LAZY[*]}; always: ${EAGER[*]}"
FREEZER=$(v1_mounts | awk '$2 ~ /(^|,)freezer(,|$)/ {print $1}')
[ -n "$FREEZER" ] || FREEZER=${EAGER[0]}

dir_of() { echo "$1/$P/$(t_id "$2")"; } # MOUNT NAME
procs_of() { cat "$(dir_of "$FREEZER" "$1")/cgroup.procs" 2>/dev/null; }
# The path of pid's cgroup in the hierarchy mounted at MOUNT, from the
# host's /proc (lxm runs in the host's cgroup namespace).
ctl_of() { v1_mounts | awk -v m="$1" '$1 == m {print $2}'; }
cg_path() { # PID MOUNT
    local l c
    c=${CTL[$2]}
    [ -r "/proc/$1/cgroup" ] || return 1
    while IFS= read -r l; do
        case $l in *:"$c":*) echo "${l#*:"$c":}"; return 0 ;; esac
    done <"/proc/$1/cgroup" 2>/dev/null
    return 1
}
declare -A CTL
for m in "${LAZY[@]}" "${EAGER[@]}"; do CTL[$m]=$(ctl_of "$m"); done
# Every process of NAME (its freezer directory) is in DIR of hierarchy
# MOUNT, or gone: prints the ones that are not.
strays() { # NAME MOUNT WANT
    local p got
    for p in $(procs_of "$1"); do
        got=$(cg_path "$p" "$2") || continue
        [ -d "/proc/$p" ] || continue
        [ "$got" = "$3" ] || echo "$p:$got"
    done
}
nlazy_dirs() { # NAME: directories of NAME in lazy hierarchies
    local m n=0
    for m in "${LAZY[@]}"; do [ -d "$(dir_of "$m" "$1")" ] && n=$((n + 1)); done
    echo $n
}
all_dirs() { local m; for m in $(t_cg_mounts); do [ -e "$m/$P/$(t_id "$1")" ] && echo "$m"; done; }

A=lz$$a B=lz$$b C=lz$$c
t_ok "create $A" lxm create "$A" -t busybox -c network.eth0.type=none
t_ok "start $A" lxm -q start "$A"
init=$(t_pid "$A")
t_is "no directory of $A in a lazy hierarchy" "$(nlazy_dirs "$A")" 0
for m in "${LAZY[@]}"; do
    t_is "$A's init is in $P/ of $m" "$(cg_path "$init" "$m")" "/$P"
done
for m in "${EAGER[@]}"; do
    t_ok "$A has its directory in $m" test -d "$(dir_of "$m" "$A")"
done

# Processes forking all the time (long-lived children, so that one missed
# by the move stays to be seen), and attaches joining during the change.
lxm exec "$A" -- sh -c 'sleep 1000 & sleep 1000 & while :; do /bin/true; done' >/dev/null 2>&1 &
t_on_exit "kill -9 $! 2>/dev/null"
many() { [ "$(procs_of "$A" | wc -l)" -ge "$1" ]; }
t_ok "$A runs its forking loop" t_wait 10 many 5
ATT=()
for i in 1 2 3 4 5 6; do
    lxm exec "$A" -- sleep 1000 >/dev/null 2>&1 &
    ATT+=($!)
    t_on_exit "kill -9 $! 2>/dev/null"
done
# 100 more, forked around the move.
lxm exec "$A" -- sh -c 'i=0; while [ $i -lt 100 ]; do sleep 1000 & i=$((i + 1)); done; wait' >/dev/null 2>&1 &
t_on_exit "kill -9 $! 2>/dev/null"
t_ok "$A forks its 100" t_wait 10 many 40
if [ -n "$CPU" ]; then
    t_ok "config set limits.cpu=0.5 on the running $A" lxm config set "$A" limits.cpu=0.5
    cdir=$(dir_of "$CPU" "$A")
    t_is "the cpu directory is made, with the quota" "$(cat "$cdir/cpu.cfs_quota_us" 2>&1)" 50000
    t_is "every process of $A is in it" "$(strays "$A" "$CPU" "/$P/$(t_id "$A")")" ""
    # The attaches started around the change are all in by now.
    all_in() { [ "$(procs_of "$A" | xargs -r -n1 sh -c 'grep -l "^sleep" /proc/$0/comm 2>/dev/null' | wc -l)" -ge 108 ]; }
    t_ok "the 6 attached sleeps and the 102 of the loops run" t_wait 60 all_in
    t_is "and every one of them is in it" "$(strays "$A" "$CPU" "/$P/$(t_id "$A")")" ""
    t_is "an attach now joins it" "$(lxm exec "$A" -- cat /proc/self/cgroup | grep -c ":cpu:/$(t_id "$A")$")" 1
    t_is "the freezer is thawed again" "$(cat "$(dir_of "$FREEZER" "$A")/freezer.state")" THAWED
    t_ok "config unset limits.cpu" lxm config unset "$A" limits.cpu
    t_is "quota back to none" "$(cat "$cdir/cpu.cfs_quota_us")" -1
    t_is "still every process in it" "$(strays "$A" "$CPU" "/$P/$(t_id "$A")")" ""
else
    t_skip "live limits.cpu" "cpu is not a v1 hierarchy of its own here"
fi
if [ -n "$CPUSET" ]; then
    t_ok "config set limits.cpuset=0 on the running $A" lxm config set "$A" limits.cpuset=0
    sdir=$(dir_of "$CPUSET" "$A")
    t_is "the cpuset directory is made, with the CPUs" "$(cat "$sdir/cpuset.cpus" 2>&1)" 0
    t_is "every process of $A is in it" "$(strays "$A" "$CPUSET" "/$P/$(t_id "$A")")" ""
    t_is "the loop runs on CPU 0 only" "$(lxm exec "$A" -- sh -c 'grep Cpus_allowed_list /proc/self/status' | awk '{print $2}')" 0
    t_ok "config unset limits.cpuset" lxm config unset "$A" limits.cpuset
    t_is "every CPU again" "$(cat "$sdir/cpuset.cpus")" "$(cat "$CPUSET/$P/cpuset.cpus")"
else
    t_skip "live limits.cpuset" "cpuset is not a v1 hierarchy of its own here"
fi
bad=$(lxm config set "$A" limits.cpuset=0-99999 2>&1); rc=$?
t_is "a bad cpuset fails" "$rc" 1
t_like "and says why" "$bad" 'limits\.cpuset'
kill -9 "${ATT[@]}" 2>/dev/null
t_ok "stop $A" lxm stop -k "$A"
t_is "nothing of $A left in any hierarchy" "$(all_dirs "$A")" ""
t_ok "start $A again" lxm -q start "$A"
t_is "no lazy directory after the restart (no limit set)" "$(nlazy_dirs "$A")" 0

# A frozen container: moved while frozen, still frozen afterwards.
if [ -n "$CPU$CPUSET" ]; then
    t_ok "create $B" lxm create "$B" -t busybox -c network.eth0.type=none
    t_ok "start $B" lxm -q start "$B"
    t_ok "freeze $B" lxm freeze "$B"
    if [ -n "$CPU" ]; then key=limits.cpu_weight=200 m=$CPU; else key=limits.cpuset=0 m=$CPUSET; fi
    t_ok "config set $key on the frozen $B" lxm config set "$B" "$key"
    t_is "$B is still frozen" "$(cat "$(dir_of "$FREEZER" "$B")/freezer.state")" FROZEN
    t_is "every process of $B moved" "$(strays "$B" "$m" "/$P/$(t_id "$B")")" ""
    t_ok "unfreeze $B" lxm unfreeze "$B"
    t_ok "$B answers" lxm exec "$B" -- true
fi

# Created with the limit: the directory from the start.
if [ -n "$CPU" ]; then
    t_ok "create $C with limits.cpu=1" lxm create "$C" -t busybox -c network.eth0.type=none -c limits.cpu=1
    t_ok "start $C" lxm -q start "$C"
    t_is "its cpu directory has the quota" "$(cat "$(dir_of "$CPU" "$C")/cpu.cfs_quota_us" 2>&1)" 100000
    t_is "its init is in it" "$(cg_path "$(t_pid "$C")" "$CPU")" "/$P/$(t_id "$C")"
fi

for n in "$A" "$B" "$C"; do lxm stop -k "$n" >/dev/null 2>&1; done
# Stops keep the shared parent (the next start needs it), nothing below it.
below=$(for m in $(t_cg_mounts); do [ -d "$m/$P" ] && find "$m/$P" -mindepth 1 -type d; done)
t_is "after stop: no container directory below the parent" "$below" ""
kept=$(for m in $(t_cg_mounts); do [ -d "$m/$P" ] || echo "$m"; done)
t_is "after stop: the parent is kept in every hierarchy" "$kept" ""
for n in "$A" "$B" "$C"; do lxm delete -f "$n" >/dev/null 2>&1; done
left=$(for m in $(t_cg_mounts); do [ -e "$m/$P" ] && echo "$m"; done)
t_is "after delete: nothing left in any hierarchy, the parent neither" "$left" ""
t_done

#!/usr/bin/env bash
# Container views of /proc through LXCFS (issue 14): with an lxcfs mount
# live, a container sees its own memory limit in /proc/meminfo (and so in
# top), its cpuset in /proc/cpuinfo, /sys/devices/system/cpu/online and
# nproc, and its own uptime; without lxcfs (turned off, or nothing mounted
# at the configured path) it starts and sees the host's values. Uses the
# system lxcfs on /var/lib/lxcfs when it runs, else an lxcfs of its own on
# a mount point under the test's root, stopped by PID at the end.
. "$(dirname "$0")/../lib.sh"
t_setup lxcfs

command -v lxcfs >/dev/null || "$T_SRC/scripts/install-deps" lxcfs >/dev/null 2>&1
if ! command -v lxcfs >/dev/null; then
    t_skip "lxcfs views" "lxcfs is not installed and could not be installed"
    t_done
    exit
fi
live() { [ "$(findmnt -n -o FSTYPE --mountpoint "$1" 2>/dev/null)" = fuse.lxcfs ] && [ -f "$1/proc/meminfo" ]; }
lxcfs_mounts() { grep -c ' - fuse.lxcfs ' /proc/self/mountinfo; }

C=lx1
M=/var/lib/lxcfs
if ! live "$M"; then
    M=$T_ROOT/lxcfs
    mkdir -p "$M"
    lxcfs -f -p "$T_ROOT/lxcfs.pid" "$M" >"$T_ROOT/lxcfs.log" 2>&1 &
    LXCFS_PID=$!
    # Containers go before their lxcfs (cleanups run last-registered first).
    t_on_exit "kill $LXCFS_PID; t_wait 10 sh -c '! kill -0 $LXCFS_PID'; umount $M"
    t_on_exit "lxm stop -k $C"
    t_ok "our own lxcfs serves $M" t_wait 20 live "$M"
    printf 'lxcfs: %s\n' "$M" >>"$T_ROOT/etc/lxm/lxm.yaml"
fi
HOST_MOUNTS=$(lxcfs_mounts)
in_c() { lxm attach "$C" -- "$@"; }
meminfo() { awk -v k="$1:" '$1 == k {print $2}' "${2:-/proc/meminfo}"; }

t_ok "create $C: 128 MiB, cpuset 0" lxm -q create "$C" -t busybox -c network.eth0.type=none \
    -c limits.memory=128MiB -c limits.cpuset=0
HOST_CPUS=$(grep -c '^processor' /proc/cpuinfo)
HOST_TOTAL=$(meminfo MemTotal)
t_ok "start $C with lxcfs" lxm -v start "$C"

# --- the views ---------------------------------------------------------------------------------
t_is "8 lxcfs views are mounted inside" \
    "$(in_c grep ' - fuse.lxcfs ' /proc/self/mountinfo | awk '{print $5}' | tr '\n' ' ')" \
    "/proc/meminfo /proc/cpuinfo /proc/stat /proc/uptime /proc/loadavg /proc/diskstats /proc/swaps /sys/devices/system/cpu/online "
# lxcfs reads the limit from the v1 memory cgroup lxm put init in (hybrid host).
t_is "/proc/meminfo MemTotal is the 128 MiB limit" "$(in_c cat /proc/meminfo | meminfo MemTotal /dev/stdin)" 131072
top_total=$(in_c top -b -n1 | awk '/^Mem:/ {gsub("K", ""); print $2 + $4}')
t_is "top: used + free = 128 MiB" "$top_total" 131072
if [ "$HOST_CPUS" -ge 2 ]; then
    t_is "/proc/cpuinfo: one processor (host: $HOST_CPUS)" "$(in_c grep -c '^processor' /proc/cpuinfo)" 1
    t_is "/sys/devices/system/cpu/online: 0" "$(in_c cat /sys/devices/system/cpu/online)" 0
    t_is "nproc: 1" "$(in_c nproc)" 1
    t_is "/proc/stat: one cpu line" "$(in_c grep -c '^cpu[0-9]' /proc/stat)" 1
else
    t_skip "cpu views" "the host has one CPU: nothing to tell apart"
fi
up=$(in_c cat /proc/uptime | awk '{print int($1)}')
host_up=$(awk '{print int($1)}' /proc/uptime)
t_ok "uptime is the container's ($up s; host $host_up s)" test "$up" -lt 120 -a "$host_up" -gt $((up + 120))
# busybox's free and uptime ask sysinfo(2), which no file can change (its
# free shows the host's total); procps reads /proc: see the Debian part.
t_like "the monitor log says what was bound (-v)" \
    "$(cat "$T_ROOT/var/log/lxm/$C/lxm.log")" "lxcfs: 8 views bound"

# --- a privileged container (no user namespace) gets them too ------------------------------------
P=lxp1
t_on_exit "lxm stop -k $P"
t_ok "create $P: privileged, 64 MiB" lxm -q create "$P" -t busybox -c network.eth0.type=none \
    -c security.privileged=true -c limits.memory=64MiB
t_ok "start $P" lxm start "$P"
t_is "$P: MemTotal is its 64 MiB" "$(lxm attach "$P" -- cat /proc/meminfo | meminfo MemTotal /dev/stdin)" 65536
t_ok "stop $P" lxm stop "$P"

# --- procps in a Debian container (only when the test image cache has one: no bootstrap) -------
export LXM_CACHE_DIR=${LXM_CACHE_DIR:-/var/cache/lxm-test}
D=lxd1
if ls "$LXM_CACHE_DIR"/images/debian-bookworm-*.tar.zst >/dev/null 2>&1 &&
    timeout 300 "$LXM_BIN" --root "$T_ROOT" -q create "$D" -t debian -c network.eth0.type=none \
        -c limits.memory=256MiB -c limits.cpuset=0 >/dev/null 2>&1; then
    t_on_exit "lxm stop -k $D"
    t_ok "start $D (debian, 256 MiB, cpuset 0)" lxm start "$D"
    t_like "procps free -m: total 256" "$(lxm attach "$D" -- free -m | awk '/^Mem:/ {print $2}')" "^256$"
    t_like "procps uptime: up 0 or 1 min" "$(lxm attach "$D" -- uptime)" "up [01] min"
    t_like "procps top: 256.0 total" "$(lxm attach "$D" -- top -bn1 | grep '^MiB Mem')" "256.0 total"
    t_is "nproc: 1" "$(lxm attach "$D" -- nproc)" 1
    t_ok "stop $D" lxm stop "$D"
else
    t_skip "procps views in a Debian container" "no cached Debian image in $LXM_CACHE_DIR"
fi

# --- stop: nothing left on the host -------------------------------------------------------------
t_ok "stop $C" lxm stop "$C"
t_is "no lxcfs mount left on the host" "$(lxcfs_mounts)" "$HOST_MOUNTS"
t_is "the lxcfs mount itself is still there" "$(findmnt -n -o FSTYPE --mountpoint "$M")" fuse.lxcfs

# --- without lxcfs: host values -----------------------------------------------------------------
hostview() {
    t_ok "start $C ($1)" lxm -v start "$C"
    t_is "$1: no lxcfs view inside" "$(in_c grep -c ' - fuse.lxcfs ' /proc/self/mountinfo)" 0
    t_is "$1: MemTotal is the host's" "$(in_c cat /proc/meminfo | meminfo MemTotal /dev/stdin)" "$HOST_TOTAL"
    t_is "$1: /proc/cpuinfo has the host's processors" "$(in_c grep -c '^processor' /proc/cpuinfo)" "$HOST_CPUS"
    t_like "$1: the monitor log says why (one line)" "$(tail -n 6 "$T_ROOT/var/log/lxm/$C/lxm.log")" "$2"
    t_ok "stop $C" lxm stop "$C"
}
cp "$T_ROOT/etc/lxm/lxm.yaml" "$T_ROOT/lxm.yaml.orig"
grep -v '^lxcfs:' "$T_ROOT/lxm.yaml.orig" >"$T_ROOT/etc/lxm/lxm.yaml"
printf 'lxcfs: false\n' >>"$T_ROOT/etc/lxm/lxm.yaml"
hostview "lxcfs: false" "lxcfs: turned off in the global config"
mkdir -p "$T_ROOT/empty"
grep -v '^lxcfs:' "$T_ROOT/lxm.yaml.orig" >"$T_ROOT/etc/lxm/lxm.yaml"
printf 'lxcfs: %s\n' "$T_ROOT/empty" >>"$T_ROOT/etc/lxm/lxm.yaml"
hostview "nothing mounted at the path" "lxcfs: nothing is mounted on $T_ROOT/empty: host values in /proc"
t_is "still no lxcfs mount left on the host" "$(lxcfs_mounts)" "$HOST_MOUNTS"

# --- a dead lxcfs (killed, its mount left behind): host values, the container starts -------------
if [ -n "${LXCFS_PID:-}" ]; then
    cp "$T_ROOT/lxm.yaml.orig" "$T_ROOT/etc/lxm/lxm.yaml"
    kill -9 "$LXCFS_PID"
    wait "$LXCFS_PID" 2>/dev/null
    t_fail "our lxcfs is gone" kill -0 "$LXCFS_PID"
    t_is "its mount is left, dead" "$(findmnt -n -o FSTYPE --mountpoint "$M"; stat "$M/proc/meminfo" 2>&1 >/dev/null | grep -c 'not connected')" "fuse.lxcfs
1"
    hostview "a dead lxcfs" "lxcfs: $M: its daemon is gone: host values in /proc"
fi

# --- bad config ---------------------------------------------------------------------------------
grep -v '^lxcfs:' "$T_ROOT/lxm.yaml.orig" >"$T_ROOT/etc/lxm/lxm.yaml"
printf 'lxcfs: relative/dir\n' >>"$T_ROOT/etc/lxm/lxm.yaml"
out=$(lxm start "$C" 2>&1); rc=$?
t_ok "lxcfs: relative/dir: start fails" test "$rc" != 0
t_like "and says where and what" "$out" \
    "^lxm: error: .*lxm.yaml:[0-9]+:[0-9]+: lxcfs: .*use the lxcfs mount point"
t_is "and $C was not started" "$(lxm list | awk -v c="$C" '$1 == c {print $2}')" STOPPED
cp "$T_ROOT/lxm.yaml.orig" "$T_ROOT/etc/lxm/lxm.yaml"
t_done

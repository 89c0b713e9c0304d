#!/usr/bin/env bash
# User namespaces through the runtime (issue 8): busybox containers are
# unprivileged by default (uid/gid 0..65535 on root's range of
# /etc/subuid, /etc/subgid), the rootfs and `mounts:` are idmapped where the
# filesystem can, a read-only host mount stays read-only (its flags are
# locked), `privileged` runs without a user namespace, conversion both ways
# works on a stopped container, and bad maps are refused.
# Note: with no line for root in /etc/subuid or /etc/subgid, the first
# start appends root:1000000:65536 to them (what `security.idmap: auto`
# does, documented in docs/userns.md).
. "$(dirname "$0")/../lib.sh"
t_setup userns
t_storage dir # these checks read and write containers/NAME/rootfs on disk

mk() { lxm create "$1" -t busybox -c network.eth0.type=none "${@:2}"; }
in_c() { local n=$1; shift; lxm attach "$n" -- "$@" 2>&1; }
init_pid() { cut -d' ' -f2 "$T_ROOT/run/lxm/$1/state"; }
rootfs() { echo "$T_ROOT/var/lib/lxm/containers/$1/rootfs"; }
state_of() { lxm list --format csv 2>/dev/null | awk -F, -v n="$1" '$1 == n { print $2 }'; }

PROBE=$T_ROOT/rwprobe
cat >"$T_ROOT/rwprobe.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/mount.h>
/* Try to make a read-only mount writable: mount_setattr, then remount. */
int main(int argc, char **argv)
{
    struct mount_attr a = {.attr_clr = MOUNT_ATTR_RDONLY};
    int r1 = (int)syscall(SYS_mount_setattr, AT_FDCWD, argv[1], 0, &a, sizeof(a));
    int e1 = errno;
    int r2 = mount(NULL, argv[1], NULL, MS_REMOUNT | MS_BIND, NULL);
    printf("%s %s\n", r1 ? strerrorname_np(e1) : "ALLOWED", r2 ? strerrorname_np(errno) : "ALLOWED");
    return argc < 2;
}
EOF
gcc -static -O1 -o "$PROBE" "$T_ROOT/rwprobe.c" 2>"$T_ROOT/gcc.log" || PROBE=

# --- unprivileged by default ---------------------------------------------------
U=u1
HOSTRO=$T_ROOT/hostro
mkdir -p "$HOSTRO"
echo host-secret >"$HOSTRO/file"
chown 0:0 "$HOSTRO" "$HOSTRO/file"
t_ok "create $U (default profile)" mk "$U"
cat >>"$T_ROOT/var/lib/lxm/containers/$U/config.yaml" <<EOF
mounts:
  - source: $HOSTRO
    path: /hostro
    readonly: true
EOF
[ -n "$PROBE" ] && cp "$PROBE" "$(rootfs "$U")/bin/rwprobe"
t_ok "start $U" lxm start "$U"

start=$(awk -F: '$1 == "root" || $1 == "0" { if ($3 >= 65536) { print $2; exit } }' /etc/subuid)
t_like "root has a range in /etc/subuid" "$start" '^[0-9]+$'
t_is "inside: id -u is 0" "$(in_c "$U" id -u)" 0
t_like "inside: uid_map maps 0..65535 onto root's range" "$(in_c "$U" cat /proc/self/uid_map)" \
    "^ *0 +$start +65536\$"
gstart=$(awk -F: '$1 == "root" || $1 == "0" { if ($3 >= 65536) { print $2; exit } }' /etc/subgid)
t_like "inside: gid_map likewise" "$(in_c "$U" cat /proc/self/gid_map)" "^ *0 +$gstart +65536\$"
ipid=$(init_pid "$U")
t_is "init's host uid is the mapped one" "$(awk '/^Uid:/ {print $2}' "/proc/$ipid/status")" "$start"
t_fail "init is in a user namespace of its own" \
    test "$(readlink "/proc/$ipid/ns/user")" = "$(readlink /proc/self/ns/user)"
method=$(head -1 "$T_ROOT/var/lib/lxm/containers/$U/idmap.state")
echo "# rootfs layout of $U: $method"
t_like "the rootfs layout is recorded" "$method" '^(idmapped|shifted)$'

t_ok "container root creates a file" lxm attach "$U" -- touch /made-by-root
t_is "inside it is owned by 0" "$(in_c "$U" stat -c %u:%g /made-by-root)" 0:0
t_is "on the host (through the container's mount) it is owned by the mapped ids" \
    "$(stat -c %u:%g "/proc/$ipid/root/made-by-root")" "$start:$gstart"
if [ "$method" = idmapped ]; then
    # docs/userns.md: an idmapped rootfs keeps the container's ids on disk.
    t_is "on disk (idmapped rootfs) it is 0, the image stays unshifted" \
        "$(stat -c %u "$(rootfs "$U")/made-by-root")" 0
else
    t_is "on disk (shifted rootfs) it is the mapped uid" \
        "$(stat -c %u "$(rootfs "$U")/made-by-root")" "$start"
fi

# A read-only host mount: root's files are root's inside, and nothing writes.
t_is "read-only mount: host root's file appears owned by root" \
    "$(in_c "$U" stat -c %u:%g /hostro/file)" 0:0
t_like "read-only mount: writing fails" "$(in_c "$U" sh -c 'echo x > /hostro/file')" \
    'Read-only file system'
if [ -n "$PROBE" ]; then
    t_is "read-only mount: its flags are locked (mount_setattr, remount)" \
        "$(in_c "$U" /bin/rwprobe /hostro)" "EPERM EPERM"
else
    t_skip "read-only mount: its flags are locked" "cannot build a static probe"
fi
t_is "read-only mount: the host file is untouched" "$(cat "$HOSTRO/file")" host-secret

# Still a working container: devices, devpts, sysfs, proc, cgroup2, console.
t_is "/dev/null works" "$(in_c "$U" sh -c 'echo hi > /dev/null && echo ok')" ok
t_like "devpts is mounted" "$(in_c "$U" grep ' /dev/pts ' /proc/mounts)" devpts
t_like "sysfs is mounted" "$(in_c "$U" grep ' /sys ' /proc/mounts)" sysfs
t_like "cgroup2 is mounted" "$(in_c "$U" grep ' /sys/fs/cgroup ' /proc/mounts)" cgroup2
t_is "the cgroup2 subtree is delegated (owned by container root)" \
    "$(in_c "$U" stat -c %u /sys/fs/cgroup)" 0
t_like "mknod of a disk is refused" "$(in_c "$U" mknod /tmp/sda b 8 0)" 'Operation not permitted'
t_ok "hostname" lxm attach "$U" -- hostname
t_ok "stop $U" lxm stop -k "$U"

# --- privileged ------------------------------------------------------------------
P=p1
t_ok "create $P with -p privileged" mk "$P" -p privileged
t_ok "start $P" lxm start "$P"
t_like "privileged: identity uid_map" "$(in_c "$P" cat /proc/self/uid_map)" '^ *0 +0 +4294967295$'
t_is "privileged: init's host uid is 0" "$(awk '/^Uid:/ {print $2}' "/proc/$(init_pid "$P")/status")" 0
t_ok "stop $P" lxm stop -k "$P"

# --- conversion both ways on a stopped container ----------------------------------
t_ok "config set $U security.privileged=true" lxm config set "$U" security.privileged=true
t_ok "start $U privileged" lxm start "$U"
t_like "converted: identity uid_map" "$(in_c "$U" cat /proc/self/uid_map)" '^ *0 +0 +4294967295$'
t_is "converted: the file container root made is root's" "$(in_c "$U" stat -c %u /made-by-root)" 0
t_is "converted: layout recorded as none" "$(head -1 "$T_ROOT/var/lib/lxm/containers/$U/idmap.state")" none
t_ok "stop $U" lxm stop -k "$U"
t_ok "config set $U security.privileged=false" lxm config set "$U" security.privileged=false
t_ok "start $U unprivileged again" lxm start "$U"
t_like "back: mapped uid_map" "$(in_c "$U" cat /proc/self/uid_map)" "^ *0 +$start +65536\$"
t_is "back: the file is still root's inside" "$(in_c "$U" stat -c %u /made-by-root)" 0
t_ok "stop $U" lxm stop -k "$U"

# --- a rootfs without /proc and /sys (issue 16) ----------------------------------------
# Locked masks are mounted by a helper with host credentials; what it has
# to make in the rootfs must still belong to container root.
P=np1
t_ok "create $P" mk "$P"
rmdir "$(rootfs "$P")/proc" "$(rootfs "$P")/sys"
t_ok "start $P without /proc and /sys in its rootfs" lxm start "$P"
t_is "/proc and /sys are made, owned by container root on disk" \
    "$(stat -c %u:%g "$(rootfs "$P")/proc" "$(rootfs "$P")/sys" | sort -u)" \
    "$(stat -c %u:%g "$(rootfs "$P")/bin" | sort -u)"
t_is "... and mounted inside" \
    "$(in_c "$P" awk '$5 == "/proc" || $5 == "/sys" { print $5 }' /proc/self/mountinfo | tr '\n' ' ')" \
    "/proc /sys "
t_ok "stop $P" lxm stop -k "$P"

# --- bad input ---------------------------------------------------------------------
B=b1
t_ok "create $B" mk "$B"
bad_start() { # MAP -> error output of config set, else of start
    local out
    if out=$(lxm config set "$B" "security.idmap=$1" 2>&1); then
        out=$(lxm start "$B" 2>&1) && { echo "STARTED"; lxm stop -k "$B" >/dev/null 2>&1; return; }
        lxm config unset "$B" security.idmap >/dev/null 2>&1
    fi
    echo "$out"
}
t_like "overlapping map is refused" "$(bad_start '0 1000000 65536, 100 2000000 10')" \
    'idmap 0 1000000 65536 and 100 2000000 10: container uid ranges overlap'
t_like "invalid map is refused" "$(bad_start '0 x 65536')" \
    'security.idmap: "0 x 65536" is not an id map'
t_like "unmapped root is refused" "$(bad_start "1 $start 10")" 'container uid 0 is not mapped' 
t_like "map larger than root's allocation is refused" "$(bad_start "0 $start 100000")" \
    "idmap.*larger than root's allocation"
t_is "$B is not running after the refusals" "$(state_of "$B")" STOPPED
t_is "and has no cgroup" "$(ls -d /sys/fs/cgroup/*/lxm/"$(t_id "$B")" 2>/dev/null | wc -l)" 0
t_done

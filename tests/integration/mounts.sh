#!/usr/bin/env bash
# Live mounts (issue 14): `lxm mount add NAME SRC PATH [--ro]` and `mount
# remove NAME PATH` change a running container at once (idmapped, read-only
# that the container's root cannot remount read-write) and record it in
# config.yaml, so the mount is back after a restart; on a stopped
# container they only edit config.yaml. Bad input changes nothing.
. "$(dirname "$0")/../lib.sh"
t_setup mounts

CT=$T_ROOT/var/lib/lxm/containers
C=m1
in_c() { lxm attach "$C" -- "$@"; }
mounts_of() { sed -n '/^mounts:/,/^[^ ]/p' "$CT/$C/config.yaml" | grep -E 'source|path|readonly' | tr -s ' \n' ' '; }
mounted() { in_c grep -q " $1 " /proc/self/mountinfo; }

SRC=$T_ROOT/src
RW=$T_ROOT/rw
mkdir -p "$SRC" "$RW" && echo hello >"$SRC/file" && echo one >"$T_ROOT/single"

t_ok "create $C" lxm -q create "$C" -t busybox -c network.eth0.type=none
if ! lxm start "$C" >/dev/null 2>&1; then
    t_report fail "start $C"
    t_done
    exit
fi

# --- add, read-only ---------------------------------------------------------------------------
out=$(lxm mount add "$C" "$SRC" /srv/data --ro 2>&1); rc=$?
t_is "mount add --ro on a running container: exit 0, quiet" "$rc $out" "0 "
t_is "the file is there at once" "$(in_c cat /srv/data/file 2>&1)" hello
t_like "mountinfo: read-only and idmapped" "$(in_c grep ' /srv/data ' /proc/self/mountinfo)" " ro,[^ ]*idmapped"
t_fail "--ro: a write inside is refused" in_c sh -c 'echo x >/srv/data/new'
# Control: the container's root may remount a bind mount of its own.
t_ok "control: a bind mount made inside can be remounted ro, then rw" in_c sh -c \
    'mkdir -p /ctl-a /ctl-b && mount --bind /ctl-a /ctl-b && mount -o remount,ro,bind /ctl-b && mount -o remount,rw,bind /ctl-b'
t_fail "--ro: remounting it read-write inside is refused (the flag is locked)" \
    in_c mount -o remount,rw,bind /srv/data
t_fail "--ro: and still no write" in_c sh -c 'echo x >/srv/data/new'
t_ok "nothing reached the host" test ! -e "$SRC/new"
t_is "recorded in config.yaml" "$(mounts_of)" " - source: $SRC path: /srv/data readonly: true "

# --- add, read-write, ownership through the id map --------------------------------------------
t_ok "mount add (read-write) on a missing, nested path" lxm mount add "$C" "$RW" /mnt/a/b
t_ok "the mount point was made" in_c test -d /mnt/a/b
t_ok "a write inside works" in_c sh -c 'echo y >/mnt/a/b/w'
t_is "and lands on the host owned by host root (idmapped: container root)" "$(stat -c '%u:%g %s' "$RW/w")" "0:0 2"
t_is "inside, the host's root-owned file is root's" "$(in_c stat -c '%u:%g' /srv/data/file)" "0:0"
t_ok "a single file can be mounted" lxm mount add "$C" "$T_ROOT/single" /etc/single --ro
t_is "the file is there" "$(in_c cat /etc/single)" one

# --- hostile target: a symlink inside cannot lead out -----------------------------------------
in_c ln -s /../../../../../../tmp /escape
out=$(lxm mount add "$C" "$SRC" /escape/lxm-live-$$ 2>&1); rc=$?
t_is "a target through an absolute symlink: exit 0" "$rc" 0
t_ok "the mount point was made inside the container, not on the host" test ! -e "/tmp/lxm-live-$$"
t_ok "inside, /tmp/lxm-live-$$ holds the mount" in_c test -f "/tmp/lxm-live-$$/file"
t_ok "mount remove through the symlink" lxm mount remove "$C" /escape/lxm-live-$$

# --- bad input changes nothing ----------------------------------------------------------------
before=$(sha256sum <"$CT/$C/config.yaml")
out=$(lxm mount add "$C" "$SRC" /srv/data 2>&1); rc=$?
t_is "a second mount on the same path: refused" "$rc $out" \
    "1 lxm: error: container '$C' already has a mount on /srv/data ('lxm mount remove $C /srv/data' first)"
out=$(lxm mount add "$C" "$T_ROOT/nosuch" /x 2>&1); rc=$?
t_is "a missing source: refused" "$rc $out" "1 lxm: error: SRC $T_ROOT/nosuch: No such file or directory"
out=$(lxm mount add "$C" relative /x 2>&1); rc=$?
t_like "a relative source: refused" "$rc $out" "^1 lxm: error: SRC 'relative' is not an absolute path"
out=$(lxm mount add "$C" "$SRC" / 2>&1); rc=$?
t_like "over the root: refused" "$rc $out" "^1 lxm: error: PATH '/': cannot mount over"
out=$(lxm mount add "$C" "$SRC" 2>&1); rc=$?
t_like "missing PATH: usage error (exit 2)" "$rc $out" "^2 lxm: error: mount: add: missing PATH"
out=$(lxm mount add nosuch "$SRC" /x 2>&1); rc=$?
t_like "unknown container: refused" "$rc $out" "^1 lxm: error: container 'nosuch' not found"
out=$(lxm mount remove "$C" /not/there 2>&1); rc=$?
t_is "remove of an unknown path: refused" "$rc $out" "1 lxm: error: container '$C' has no mount on /not/there (see 'lxm config show $C')"
t_is "config.yaml byte-identical after the refusals" "$(sha256sum <"$CT/$C/config.yaml")" "$before"
t_fail "no mount on /x inside" mounted /x

# --- restart: the recorded mounts come back ------------------------------------------------------
t_ok "restart $C" lxm restart "$C"
t_is "after restart: the read-only mount is back" "$(in_c cat /srv/data/file 2>&1)" hello
t_fail "after restart: still read-only" in_c sh -c 'echo x >/srv/data/new'
t_is "after restart: the read-write mount is back" "$(in_c cat /mnt/a/b/w 2>&1)" y

# --- remove ----------------------------------------------------------------------------------------
t_ok "mount remove /srv/data" lxm mount remove "$C" /srv/data/
t_fail "unmounted at once" mounted /srv/data
t_is "dropped from config.yaml" "$(mounts_of | grep -c /srv/data)" 0
t_ok "mount remove /etc/single" lxm mount remove "$C" /etc/single
t_fail "the file mount is gone" mounted /etc/single

# --- a stopped container: config only -------------------------------------------------------------
t_ok "stop $C" lxm stop "$C"
out=$(lxm mount add "$C" "$SRC" /late --ro 2>&1); rc=$?
t_is "mount add on a stopped container: says when" "$rc $out" \
    "0 lxm: $C is not running: $SRC will be mounted on /late at its next start"
t_like "recorded" "$(mounts_of)" "path: /late readonly: true"
t_ok "start $C" lxm start "$C"
t_is "mounted at the start" "$(in_c cat /late/file 2>&1)" hello
t_ok "mount remove /mnt/a/b" lxm mount remove "$C" /mnt/a/b
t_fail "unmounted" mounted /mnt/a/b
lxm stop -k "$C" >/dev/null 2>&1
t_ok "mount remove on a stopped container" lxm mount remove "$C" /late
t_is "config.yaml has no mounts left" "$(mounts_of)" ""
t_done

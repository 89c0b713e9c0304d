#!/usr/bin/env bash
# A guest whose systemd is too old for the cgroup2 hierarchy lxm mounts at
# /sys/fs/cgroup (systemd < 230 has no unified mode) is refused at start
# with one clear line and nothing left running, instead of a half-booted
# container. Fake "systemd" inits on a busybox rootfs carry the version the
# way real ones do: libsystemd-shared-N.so beside the binary (231 and
# newer), or only the "systemd N" string inside it (older ones).
. "$(dirname "$0")/../lib.sh"
t_setup initcheck
t_storage dir # the test edits containers/NAME/rootfs on disk
CT=$T_ROOT/var/lib/lxm/containers

# fake NAME SCRIPT-BODY [LIB]: a container whose /sbin/init links to a
# /lib/systemd/systemd that execs busybox's init.
fake() {
    lxm create "$1" -t busybox -c network.eth0.type=none >/dev/null || return 1
    local R=$CT/$1/rootfs
    mkdir -p "$R/lib/systemd"
    printf '#!/bin/sh\n# %s\nexec /bin/busybox init "$@"\n' "$2" >"$R/lib/systemd/systemd"
    chmod 755 "$R/lib/systemd/systemd"
    [ -n "${3:-}" ] && : >"$R/lib/systemd/$3"
    rm -f "$R/sbin/init"
    ln -s /lib/systemd/systemd "$R/sbin/init"
}

t_ok "old1: a systemd 219 (CentOS 7's) with no shared library" fake old1 "systemd 219"
out=$(lxm start old1 2>&1); rc=$?
t_is "old1: start fails" "$rc" 1
t_like "old1: and says why in one line" "$out" \
    "^lxm: error: .*/sbin/init is systemd 219, too old for the cgroup2 hierarchy lxm gives a container \(it needs systemd 230 or newer"
t_is "old1: one error line" "$(printf '%s\n' "$out" | grep -c '^lxm: error:')" 1
t_is "old1: not left running" "$(lxm info old1 --format json | jq -r .state)" STOPPED
t_is "old1: no run dir left" "$(ls -A "$T_ROOT/run/lxm/old1" 2>/dev/null)" ""

t_ok "new1: systemd 252 (libsystemd-shared-252.so beside it)" fake new1 "systemd 219" libsystemd-shared-252.so
t_ok "new1: starts (the library's version wins)" lxm start new1
t_is "new1: runs" "$(lxm attach new1 -- echo up)" up
lxm stop -k new1 >/dev/null 2>&1

t_ok "new2: the string says systemd 245" fake new2 "systemd 245 (245.4-4ubuntu3)"
t_ok "new2: starts" lxm start new2
lxm stop -k new2 >/dev/null 2>&1

t_ok "unk1: no version anywhere" fake unk1 "an init called systemd"
t_ok "unk1: starts (unknown versions are let through)" lxm start unk1
lxm stop -k unk1 >/dev/null 2>&1
t_done

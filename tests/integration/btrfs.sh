#!/usr/bin/env bash
# The btrfs storage driver on a pool `lxm storage init` makes on a loop file
# under this test's own --root: bad input changes nothing; privileged and
# unprivileged containers are subvolumes, copies and snapshots are btrfs
# snapshots that keep owners, modes, hard links, xattrs and file
# capabilities; a container's writes reach neither its source nor a
# sibling; restore; delete (nested subvolumes too); the pool comes back
# after an unmount (a reboot); dir copies on btrfs share data by reflink.
# Cleanup: containers deleted, lxm.yaml put back, the pool unmounted, its
# loop device detached by name, the file removed.
. "$(dirname "$0")/../lib.sh"
t_setup btrfs

for tool in mkfs.btrfs btrfs python3 losetup findmnt; do
    command -v $tool >/dev/null || { echo "1..0 # SKIP $tool is not installed"; exit 0; }
done
[ -e /dev/loop-control ] || { echo "1..0 # SKIP no /dev/loop-control"; exit 0; }

STATE=$T_ROOT/var/lib/lxm
CT=$STATE/containers
POOL=$T_ROOT/var/lib/lxm-disks/btrfs.img
CFG=$T_ROOT/etc/lxm/lxm.yaml
ORIG_CFG=$(cat "$CFG")
DEV=

# Containers live in the pool: gone with it once it is unmounted, so they
# are stopped and deleted first; lxm.yaml loses the pool before the unmount
# so that no later lxm command (t_cleanup's) mounts it again.
pool_cleanup() {
    local c
    if findmnt -rn -M "$STATE" >/dev/null; then
        for c in "$CT"/*; do
            [ -e "$c/config.yaml" ] || continue
            lxm stop -k "${c##*/}"
            lxm delete -f "${c##*/}"
        done
    fi
    printf '%s\n' "$ORIG_CFG" >"$CFG"
    while findmnt -rn -M "$STATE" >/dev/null; do umount "$STATE" || umount -l "$STATE" || break; done
    if [ -n "$DEV" ] && losetup "$DEV" 2>/dev/null | grep -qF "$POOL"; then losetup -d "$DEV"; fi
    rm -f "$POOL"
    rmdir "${POOL%/*}" 2>/dev/null
}
t_on_exit pool_cleanup

# What a refused init must leave as it was: lxm's files, lxm.yaml, the
# mounts and loop devices that name our root.
host_state() {
    (cd "$T_ROOT" && find . -path ./tmp -prune -o -print | sort)
    cat "$CFG"
    findmnt -rn | grep -F "$T_ROOT" || true
    losetup -a | grep -F "$T_ROOT" || true
}
# Every file below $1: type+mode, owner, hard-link group, size, mtime (ns),
# symlink target, device, xattrs (file capabilities and ACLs are xattrs).
meta() {
    python3 - "$1" <<'PY'
import os, sys
root = sys.argv[1]
inodes, rows = {}, []
for d, dirs, files in os.walk(root):
    for n in sorted(dirs + files):
        p = os.path.join(d, n)
        st = os.lstat(p)
        link = inodes.setdefault(st.st_ino, len(inodes)) if st.st_nlink > 1 and not os.path.isdir(p) else ""
        target = os.readlink(p) if os.path.islink(p) else ""
        xs = sorted((x, os.getxattr(p, x, follow_symlinks=False).hex())
                    for x in os.listxattr(p, follow_symlinks=False))
        rows.append("%s %o %d:%d %s %d %d %s %s" % (os.path.relpath(p, root), st.st_mode, st.st_uid,
                    st.st_gid, link, st.st_size if not os.path.isdir(p) else 0, st.st_mtime_ns, target, xs))
print("\n".join(sorted(rows)))
PY
}
subvol_field() { btrfs subvolume show "$1" 2>/dev/null | awk -v k="$2:" '$1 " " $2 == k || $1 == k {print $NF; exit}'; }
is_subvol() { [ "$(stat -c %i "$1" 2>/dev/null)" = 256 ]; }
exclusive() { btrfs filesystem du -s --raw "$1" 2>/dev/null | awk 'NR == 2 {print $2}'; }
# A POSIX ACL on $1 (user 4321 may read), written as the raw xattr so that
# no acl package is needed: version 2, then (tag, perm, id) entries.
acl() {
    python3 - "$1" <<'PY'
import os, struct, sys
U = 0xFFFFFFFF
entries = [(0x01, 6, U), (0x02, 4, 4321), (0x04, 4, U), (0x10, 4, U), (0x20, 0, U)]
os.setxattr(sys.argv[1], "system.posix_acl_access",
            struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries))
PY
}
# A tree of every kind of metadata in rootfs $1/fx.
fixture() {
    local fx=$1/fx
    mkdir -p "$fx" && echo data >"$fx/owned" && chown 1234:2345 "$fx/owned" && chmod 0640 "$fx/owned" &&
        ln "$fx/owned" "$fx/owned-link" && cp "$1/bin/busybox" "$fx/suid" && chmod 4755 "$fx/suid" &&
        cp "$1/bin/busybox" "$fx/capbin" && setcap cap_net_raw+ep "$fx/capbin" &&
        python3 -c "import os; os.setxattr('$fx/owned', 'user.lxm', b'kept')" && acl "$fx/owned" &&
        mknod "$fx/null" c 1 3 && mkfifo "$fx/fifo" && ln -s /etc/shadow "$fx/abs-link" &&
        touch -h -d '2001-02-03 04:05:06.123456789' "$fx/owned" "$fx/abs-link"
}

# --- bad input changes nothing -------------------------------------------------------------
before=$(host_state)
t_error "init --size lots" 1 "^lxm: error: storage init: --size lots: not a size" \
    lxm storage init --driver btrfs --size lots
t_error "init --size too small" 1 "--size 1MiB is too small .*256MiB" lxm storage init --driver btrfs --size 1MiB
t_error "init --driver zfs" 1 "--driver zfs: only btrfs" lxm storage init --driver zfs --size 1GiB
t_error "init without --size" 2 "init needs --size" lxm storage init --driver btrfs
mkdir -p "$T_ROOT/tmp" && echo precious >"$T_ROOT/tmp/exists.img"
t_error "init on a pool path that exists" 1 "exists\.img already exists" \
    lxm storage init --driver btrfs --size 1GiB --pool "$T_ROOT/tmp/exists.img"
t_is "the existing file is untouched" "$(cat "$T_ROOT/tmp/exists.img")" precious
t_error "init with the pool inside the state dir" 1 "must live elsewhere" \
    lxm storage init --driver btrfs --size 1GiB --pool "$STATE/p.img"
t_error "init with a relative pool path" 1 "use an absolute path" \
    lxm storage init --driver btrfs --size 1GiB --pool p.img
t_is "refused inits changed nothing (files, lxm.yaml, mounts, loop devices)" "$(host_state)" "$before"

# Anything in the state dir would be hidden by the pool: refused.
mkdir -p "$STATE/containers/c9" && echo x >"$STATE/containers/c9/config.yaml"
t_error "init over a state dir that holds something" 1 "holds .*/containers/c9/config\.yaml, which the pool would hide" \
    lxm storage init --driver btrfs --size 1GiB
t_ok "no pool file left" test ! -e "$POOL"
t_ok "no mount left" sh -c "! findmnt -rn -M '$STATE'"
rm -r "$STATE/containers/c9"

# What a used-then-emptied lxm leaves (empty dirs, the image store's lock,
# overlay's probe record) does not stop an init.
t_ok "a container before the pool" lxm create pre -t busybox -c network.eth0.type=none
t_ok "delete it" lxm delete pre
t_ok "prune its image" lxm image prune

# --- init ----------------------------------------------------------------------------------
if ! out=$(lxm storage init --driver btrfs --size 1GiB 2>&1); then
    t_report fail "storage init" "$out"
    t_done
    exit
fi
t_like "storage init says what it made" "$out" "storage pool $POOL \(btrfs, 1GiB\) mounted on $STATE"
DEV=$(findmnt -rn -o SOURCE -M "$STATE")
t_like "the pool is mounted on the state dir from a loop device" "$(findmnt -rn -o FSTYPE,SOURCE -M "$STATE")" '^btrfs /dev/loop[0-9]+$'
t_like "the loop device is backed by the pool file" "$(losetup "$DEV")" "$POOL"
t_like "lxm.yaml records the pool" "$(cat "$CFG")" "storage:
  driver: btrfs
  pool: $POOL"
t_like "lxm.yaml keeps its other settings" "$(cat "$CFG")" "bridge: $T_BRIDGE"
t_ok "the pool file is sparse" test "$(du -k "$POOL" | cut -f1)" -lt 102400
info=$(lxm storage info --format json)
t_is "storage info: driver, pool, mounted, device" \
    "$(jq -r '[.driver, .pool, .mounted, .device] | join(" ")' <<<"$info")" "btrfs $POOL true $DEV"
t_is "storage info: size" "$(jq -r .size <<<"$info")" 1073741824
t_like "storage info: table" "$(lxm storage info)" "driver: +btrfs"
t_error "a second init" 1 "already configured \($POOL" lxm storage init --driver btrfs --size 1GiB

# --- containers are subvolumes ---------------------------------------------------------------
t_ok "create u1 (unprivileged)" lxm create u1 -t busybox -c network.eth0.type=none
t_ok "create p1 (privileged)" lxm create p1 -t busybox -c network.eth0.type=none -c security.privileged=true
t_ok "u1's rootfs is a subvolume" is_subvol "$CT/u1/rootfs"
t_ok "p1's rootfs is a subvolume" is_subvol "$CT/p1/rootfs"
parent=$(subvol_field "$CT/u1/rootfs" "Parent UUID")
if [ -n "$parent" ] && [ "$parent" != - ]; then
    img=$(btrfs subvolume list -u "$STATE" | awk -v u="$parent" '$0 ~ u {print $NF}')
    t_like "create from an image is a snapshot of it" "$img" '^images/'
    t_like "the image is a read-only subvolume" "$(btrfs property get -ts "$STATE/$img" ro)" 'ro=true'
    IMG_META=$(meta "$STATE/$img")
else
    t_skip "create from an image is a snapshot" "this build provisions busybox without the image store"
fi

for c in u1 p1; do
    R=$CT/$c/rootfs
    t_ok "$c: fixture (owners, modes, hard links, xattrs, file caps, devices)" fixture "$R"
    orig=$(meta "$R/fx")
    # --- copy: a snapshot ---------------------------------------------------------------
    t_ok "copy $c ${c}c" lxm copy "$c" "${c}c"
    C=$CT/${c}c/rootfs
    t_ok "${c}c's rootfs is a subvolume" is_subvol "$C"
    t_is "${c}c is a snapshot of $c (not a copy)" "$(subvol_field "$C" "Parent UUID")" "$(subvol_field "$R" UUID)"
    t_is "copy: owners, modes, times, hard links, xattrs, file caps kept" "$(meta "$C/fx")" "$orig"
    t_like "copy: file capability kept" "$(getcap "$C/fx/capbin")" 'cap_net_raw[=+]ep'
    t_ok "copy: ACL kept" python3 -c "import os; os.getxattr('$C/fx/owned', 'system.posix_acl_access')"
    excl=$(exclusive "$C")
    t_ok "copy: shares the source's data (exclusive ${excl:-?} bytes)" test -n "$excl" -a "${excl:-1}" -lt 1048576
    # --- writes stay in the container that made them -------------------------------------
    if lxm start "${c}c" >/dev/null 2>&1; then
        t_ok "${c}c: writes inside" lxm attach "${c}c" -- sh -c "echo mine-${c}c >/fx/new && echo changed >/fx/owned && rm /fx/suid"
        t_is "${c}c's writes do not reach $c" "$(meta "$R/fx")" "$orig"
        t_ok "${c}c's writes do not reach $c (no new file)" test ! -e "$R/fx/new"
        for sib in u1 p1 u1c p1c; do
            [ "$sib" = "${c}c" ] || [ ! -d "$CT/$sib/rootfs" ] && continue
            t_ok "${c}c's writes do not reach the sibling $sib" sh -c "! grep -qs 'mine-${c}c' '$CT/$sib/rootfs/fx/new'"
        done
        # --- snapshot of the running copy, restore ----------------------------------------
        t_ok "snapshot ${c}c while it runs" lxm snapshot "${c}c" live
        S=$CT/${c}c/snapshots/live/rootfs
        t_ok "the snapshot is a subvolume" is_subvol "$S"
        snap=$(meta "$S/fx")
        t_ok "write after the snapshot" lxm attach "${c}c" -- sh -c 'echo later >/fx/later'
        t_ok "the snapshot does not see later writes" test ! -e "$S/fx/later"
        # --- lxm file on btrfs: the running rootfs is init's, the disk holds it -----------
        printf 'on btrfs\n' >"$T_ROOT/push.txt"
        t_ok "${c}c running: file push" lxm file push --uid daemon "$T_ROOT/push.txt" "${c}c:/tmp/pushed"
        t_is "${c}c running: pushed, owned by daemon inside" "$(lxm exec "${c}c" -- stat -c '%u %s' /tmp/pushed)" "1 9"
        t_is "${c}c running: ... in its subvolume, container ids on disk" "$(stat -c '%u' "$C/tmp/pushed") $(cat "$C/tmp/pushed")" "1 on btrfs"
        t_ok "stop ${c}c" lxm stop -k "${c}c"
        t_is "${c}c stopped: file pull" "$(lxm file pull "${c}c:/tmp/pushed" -)" "on btrfs"
    else
        t_report fail "start ${c}c" "$(lxm start "${c}c" 2>&1)"
        continue
    fi
    t_ok "restore ${c}c live" lxm restore "${c}c" live
    t_is "restore: the snapshot's tree is back exactly" "$(meta "$C/fx")" "$snap"
    t_ok "restore: later writes are gone" test ! -e "$C/fx/later"
    t_ok "restore: the rootfs is still a subvolume" is_subvol "$C"
    t_is "restore: nothing left beside the rootfs" "$(ls "$CT/${c}c" | grep rootfs)" rootfs
    t_is "$c itself never changed" "$(meta "$R/fx")" "$orig"
done

if [ -n "${IMG_META:-}" ]; then
    t_is "no container's writes reached the image" "$(meta "$STATE/$img")" "$IMG_META"
fi

# A subvolume made inside a container (creating one needs no privilege).
btrfs subvolume create "$CT/p1c/rootfs/nested" >/dev/null
echo x >"$CT/p1c/rootfs/nested/f"
t_ok "delete a container holding a nested subvolume and a snapshot" lxm delete p1c
t_ok "delete u1c" lxm delete u1c
t_is "their subvolumes are gone" "$(btrfs subvolume list "$STATE" | grep -E '(p1c|u1c)/' || true)" ""
t_is "their directories are gone (no hidden leftovers)" "$(ls -A "$CT" | grep -E 'p1c|u1c' || true)" ""

# --- after a reboot: the next command mounts the pool --------------------------------------------
umount "$STATE"
t_ok "unmounted (a reboot)" test ! -e "$CT/u1"
out=$(lxm list 2>&1 >/dev/null)
t_like "the next command mounts the pool and says so" "$out" "mounted the storage pool $POOL on $STATE"
t_ok "containers are back" test -e "$CT/u1/config.yaml"
DEV=$(findmnt -rn -o SOURCE -M "$STATE")
t_is "mounted once" "$(findmnt -rn -M "$STATE" | wc -l)" 1
t_is "the next command says nothing more" "$(lxm list 2>&1 >/dev/null)" ""
# attach does not look at the pool for a running container, only when it
# finds none.
umount "$STATE"
out=$(lxm attach u1 -- true 2>&1)
t_like "attach after a reboot mounts the pool too" "$out" "mounted the storage pool $POOL on $STATE"
t_like "... and finds the container, stopped" "$out" "container 'u1' is not running"

# --- dir on btrfs: copies share data by reflink -----------------------------------------------
sed -i 's/^  driver: btrfs$/  driver: dir/' "$CFG"
t_ok "create d1 with the dir driver" lxm create d1 -t busybox -c network.eth0.type=none
t_ok "d1's rootfs is a plain directory" test -d "$CT/d1/rootfs" -a "$(stat -c %i "$CT/d1/rootfs")" != 256
t_ok "d1: fixture" fixture "$CT/d1/rootfs"
t_ok "copy d1 d2" lxm copy d1 d2
t_is "dir copy keeps every piece of metadata" "$(meta "$CT/d2/rootfs/fx")" "$(meta "$CT/d1/rootfs/fx")"
t_like "dir copy: the busybox binary's extents are shared (reflink)" \
    "$(filefrag -v "$CT/d2/rootfs/bin/busybox" 2>/dev/null | sed -n 4p)" 'shared'
sed -i 's/^  driver: dir$/  driver: btrfs/' "$CFG"
t_ok "delete d1 d2 u1 p1" sh -c "$LXM_BIN --root '$T_ROOT' delete d1 && $LXM_BIN --root '$T_ROOT' delete d2 && $LXM_BIN --root '$T_ROOT' delete u1 && $LXM_BIN --root '$T_ROOT' delete p1"
t_is "no container subvolume is left" "$(btrfs subvolume list "$STATE" | grep containers/ || true)" ""

t_done

#!/usr/bin/env bash
# idmap (issue 8): user namespaces with id maps, idmapped mounts (read-only
# too), ownership shifting with ACLs and file capabilities, bad input, and
# the cost of the unprivileged start steps. Drives lxm/security/idmap.c through
# tests/integration/progs/idmap-driver; subuid/subgid are temp files.
. "$(dirname "$0")/../lib.sh"

DRV=${IDMAP_DRIVER:-$(dirname "$LXM_BIN")/../tests/integration/progs/idmap-driver}
MAP="0 1000000 65536"

t_setup idmap
[ -x "$DRV" ] || { echo "Bail out! $DRV not built (make check TESTS=)"; exit 1; }
# The user ns's root is "other" to host-owned dirs: make our root traversable.
chmod 755 "$T_ROOT"
drv() { "$DRV" "$@"; }
inside() { "$DRV" run "$MAP" "$@"; }   # [-m|-r SRC DST]... -- CMD

# --- parsing and validation -------------------------------------------------
SU=$T_ROOT/subuid SG=$T_ROOT/subgid
printf 'root:1000000:65536\n' >"$SU"
cp "$SU" "$SG"
bad() { # desc spec regex
    local out
    if out=$(drv parse "$2" "$SU" "$SG" 2>&1); then
        t_report fail "$1" "accepted: $out"
    else
        t_like "$1" "$out" "$3"
    fi
}
bad "overlapping container ranges" "0 1000000 65536; 100 1000000 10" "container uid ranges overlap"
bad "overlapping host ranges" "0 1000000 65536; 70000 1000005 10" "host uid ranges overlap"
bad "count 0" "0 1000000 0" "idmap 0 1000000 0: count must be at least 1"
bad "range beyond 2^32" "0 4294967000 65536" "beyond the largest id 4294967294"
bad "not a number" "0 x 65536" "'x' is not a number"
bad "larger than root's allocation" "0 1000000 100000" \
    "^idmap-driver: idmap 0 1000000 100000: larger than root's allocation in $SU \(65536 ids at 1000000\)$"
bad "outside root's allocation" "0 3000000 65536" "outside root's allocation in $SU"
t_is "subuid untouched by bad input" "$(cat "$SU")" "root:1000000:65536"
t_is "explicit map inside the allocation" "$(drv parse "0 1000000 65536" "$SU" "$SG")" "0 1000000 65536"

rm -f "$SU" "$SG"
t_is "auto with no subuid/subgid" "$(drv parse auto "$SU" "$SG")" "0 1000000 65536"
t_is "auto wrote root's default to subuid" "$(cat "$SU")" "root:1000000:65536"
t_is "auto wrote root's default to subgid" "$(cat "$SG")" "root:1000000:65536"

# --- user namespace and maps --------------------------------------------------
t_is "uid_map written" "$(inside -- cat /proc/self/uid_map | tr -s ' ')" " 0 1000000 65536"
t_is "gid_map written" "$(inside -- cat /proc/self/gid_map | tr -s ' ')" " 0 1000000 65536"
t_is "setgroups stays allowed (systemd needs it)" "$(inside -- cat /proc/self/setgroups)" "allow"
t_is "id 0 inside" "$(inside -- id -u):$(inside -- id -g)" "0:0"

# --- idmapped mounts ----------------------------------------------------------
SRC=$T_ROOT/src MNT=$T_ROOT/mnt
mkdir -p "$SRC" "$MNT"
chmod 1777 "$SRC"
echo root >"$SRC/own0"
echo user >"$SRC/own1000" && chown 1000:1000 "$SRC/own1000"
echo shifted >"$SRC/own1000000" && chown 1000000:1000000 "$SRC/own1000000"
sup=$(drv supported "$T_ROOT" 2>&1)
if [ "$sup" != yes ]; then
    t_skip "idmapped mounts" "filesystem of $T_ROOT cannot be idmapped ($sup)"
else
    st() { inside -m "$SRC" "$MNT" -- stat -c %u:%g "$MNT/$1"; }
    t_is "through the mount, on-disk 0 appears as 0" "$(st own0)" "0:0"
    t_is "through the mount, on-disk 1000 appears as 1000" "$(st own1000)" "1000:1000"
    t_is "through the mount, on-disk 1000000 is unmapped" "$(st own1000000)" "65534:65534"
    t_is "without the mount, on-disk 1000000 appears as 0 (shifted layout)" \
        "$(inside -- stat -c %u:%g "$SRC/own1000000")" "0:0"
    t_is "host view of the idmapped mount: 0 appears as 1000000" \
        "$("$DRV" run "$MAP" -n -m "$SRC" "$MNT" -- stat -c %u "$MNT/own0")" "1000000"
    t_ok "container root writes through the mount" inside -m "$SRC" "$MNT" -- touch "$MNT/new"
    t_is "its file is owned by 0 on disk (the image stays unshifted)" \
        "$(stat -c %u:%g "$SRC/new")" "0:0"
    t_fail "read-only idmapped mount: cannot create" inside -r "$SRC" "$MNT" -- touch "$MNT/x"
    t_fail "read-only idmapped mount: cannot write a root-owned file" \
        inside -r "$SRC" "$MNT" -- sh -c "echo pwned > $MNT/own0"
    t_is "root-owned file unchanged" "$(cat "$SRC/own0")" "root"
    t_is "read-only mount still shows root as owner" \
        "$(inside -r "$SRC" "$MNT" -- stat -c %u "$MNT/own0")" "0"
    t_fail "idmapped mount of a missing source fails" inside -m "$T_ROOT/nope" "$MNT" -- true

    # The start sequence in small, with the rootfs below a directory the
    # container's root cannot walk (0700): the parent's mount fd is enough.
    PR=$T_ROOT/private/c1/rootfs
    mkdir -p "$PR" && chmod 700 "$T_ROOT/private"
    t_is "init pivots into an idmapped rootfs it cannot reach by path" \
        "$(drv pivot "$MAP" "$PR" 2>&1)" "root=0:0 mkdir=ok"
    t_is "what init created is owned by 0 on disk" "$(stat -c %u:%g "$PR/lxm-pivot-test")" "0:0"
    SR=$T_ROOT/private/c2/rootfs
    mkdir -p "$SR" && chown 1000000:1000000 "$SR"
    t_is "init pivots into a plain clone of a shifted rootfs" \
        "$(drv pivot "$MAP" "$SR" plain 2>&1)" "root=0:0 mkdir=ok"
    t_is "what init created is owned by 1000000 on disk" \
        "$(stat -c %u:%g "$SR/lxm-pivot-test")" "1000000:1000000"
fi
t_like "procfs cannot be idmapped" "$(drv supported /proc 2>&1)" "^no$"

# --- ownership shifting -------------------------------------------------------
command -v setcap >/dev/null || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libcap2-bin >/dev/null 2>&1
}
TREE=$T_ROOT/tree
mkdir -p "$TREE/d" "$TREE/mnt"
cp /bin/cat "$TREE/capcat"
echo x >"$TREE/f" && chown 1000:1000 "$TREE/f" && chmod 4755 "$TREE/f"
ln -s /etc/passwd "$TREE/link"
ln "$TREE/f" "$TREE/hardlink"
mkfifo "$TREE/fifo"
has_acl=no has_cap=no
setfacl -m u:1001:r,g:1002:r "$TREE/f" 2>/dev/null && setfacl -d -m u:1000:rwx "$TREE/d" && has_acl=yes
setcap cap_net_raw+ep "$TREE/capcat" 2>/dev/null && has_cap=yes
acl_of() { getfacl -n -p "$1" 2>/dev/null | grep -E '^(default:)?(user|group):[0-9]' | tr '\n' ' '; }
before_acl=$(acl_of "$TREE/f")$(acl_of "$TREE/d")
passwd_owner=$(stat -c %u /etc/passwd)

# A mount inside the tree is not entered.
out=$(unshare -m --propagation private sh -c \
    "mount -t tmpfs tmpfs '$TREE/mnt' && touch '$TREE/mnt/x' && '$DRV' shift '$MAP' '$TREE' &&
     stat -c %u '$TREE/mnt/x'" 2>&1)
t_like "shift reports a skipped mount point" "$out" "mountpoints=1"
t_like "files on the other filesystem keep their owner" "$out" $'\n0$'
t_is "tree root shifted" "$(stat -c %u:%g "$TREE")" "1000000:1000000"
t_is "file 1000 -> 1001000, setuid kept" "$(stat -c %u:%g:%a "$TREE/f")" "1001000:1001000:4755"
t_is "hard link shifted once" "$(stat -c %u "$TREE/hardlink")" "1001000"
t_is "symlink itself shifted" "$(stat -c %u "$TREE/link")" "1000000"
t_is "symlink target not followed" "$(stat -c %u /etc/passwd)" "$passwd_owner"
t_is "fifo shifted" "$(stat -c %u "$TREE/fifo")" "1000000"
if [ $has_acl = yes ]; then
    t_is "ACL entries shifted" "$(acl_of "$TREE/f")$(acl_of "$TREE/d")" \
        "user:1001001:r-- group:1001002:r-- default:user:1001000:rwx "
else
    t_skip "ACL entries shifted" "setfacl failed on $T_ROOT"
fi
if [ $has_cap = yes ]; then
    t_like "file capability became v3 with rootid 1000000" "$(drv caps "$TREE/capcat")" "^v3 .*rootid=1000000$"
    t_like "inside, the capability reads as v2" "$(inside -- "$DRV" caps "$TREE/capcat")" "^v2 "
    t_like "inside, an unprivileged user gets the file capability" \
        "$(inside -- setpriv --reuid 1000 --regid 1000 --clear-groups "$TREE/capcat" /proc/self/status)" \
        "CapEff:[[:space:]]*0000000000002000"
    t_like "on the host the shifted capability grants nothing" \
        "$(setpriv --reuid 1000 --regid 1000 --clear-groups "$TREE/capcat" /proc/self/status)" \
        "CapEff:[[:space:]]*0000000000000000"
else
    t_skip "file capabilities" "setcap unavailable"
fi
t_is "inside the user ns the shifted file is 1000" "$(inside -- stat -c %u:%g "$TREE/f")" "1000:1000"

t_ok "reverse shift (back to privileged)" drv unshift "$MAP" "$TREE"
t_is "tree root back to 0" "$(stat -c %u:%g "$TREE")" "0:0"
t_is "file back to 1000, setuid kept" "$(stat -c %u:%g:%a "$TREE/f")" "1000:1000:4755"
t_is "symlink back to 0" "$(stat -c %u "$TREE/link")" "0"
[ $has_acl = yes ] && t_is "ACLs round-trip" "$(acl_of "$TREE/f")$(acl_of "$TREE/d")" "$before_acl"
[ $has_cap = yes ] && t_like "capability back to v2" "$(drv caps "$TREE/capcat")" "^v2 .*permitted=0x00002000"

out=$(drv shift "0 100 65536" "$TREE" 2>&1)
t_like "shifting with overlapping container/host ids is refused" "$out" "container and host ids overlap"
# A nested lxm: in a user namespace that maps only 0..65535, root's default
# range is 0:65536 (the default 1000000.. could not be mapped there).
NS=$T_ROOT/nested
mkdir "$NS" && chown 1000000:1000000 "$NS"
t_is "auto inside a user namespace of 65536 ids" \
    "$(unshare -U --map-users=1000000,0,65536 --map-groups=1000000,0,65536 --setuid 0 --setgid 0 \
        "$DRV" parse auto "$NS/subuid" "$NS/subgid" 2>&1)" "0 0 65536"
t_is "... and root's default written there is 0:65536" "$(cat "$NS/subuid" "$NS/subgid")" "root:0:65536
root:0:65536"
# An identity map (a nested lxm's containers, docs/userns.md) shifts nothing.
t_like "shifting with an identity map changes nothing" "$(drv shift "0 0 65536" "$TREE" 2>&1)" "inodes=0 "
t_is "refused shift changed nothing" "$(stat -c %u "$TREE/f")" "1000"
out=$(drv shift "$MAP" "$T_ROOT/missing" 2>&1)
t_like "shifting a missing tree fails clearly" "$out" "shift $T_ROOT/missing: No such file"

# --- conversion privileged <-> unprivileged -----------------------------------
CV=$T_ROOT/conv
mkdir -p "$CV/ro/etc" "$CV/up" "$CV/work" "$CV/mnt"
echo x >"$CV/ro/etc/file"
if [ "$sup" = yes ]; then
    t_is "privileged -> unprivileged on ext4 picks idmapped" \
        "$(drv convert "$CV/ro" none "" "$MAP" 2>&1)" "idmapped"
    t_is "idmapped conversion leaves the disk alone" "$(stat -c %u "$CV/ro/etc/file")" "0"
    t_is "idmapped -> privileged" "$(drv convert "$CV/ro" idmapped "$MAP" "" 2>&1)" "none"
fi
# overlayfs cannot be idmapped: the same conversion shifts instead.
out=$(unshare -m --propagation private sh -c "
    mount -t overlay overlay -o lowerdir=$CV/ro,upperdir=$CV/up,workdir=$CV/work $CV/mnt || exit 1
    '$DRV' convert $CV/mnt none '' '$MAP' && stat -c %u $CV/mnt/etc/file &&
    '$DRV' convert $CV/mnt shifted '$MAP' '$MAP' &&
    '$DRV' convert $CV/mnt shifted '$MAP' '' && stat -c %u $CV/mnt/etc/file" 2>&1 | tr '\n' ' ')
t_is "overlayfs: shifted, owner 1000000; same map again is a no-op; back to none, owner 0" \
    "$out" "shifted 1000000 shifted none 0 "
t_like "bad method name is refused" "$(drv convert "$CV/ro" sideways "" "$MAP" 2>&1; echo " rc=$?")" "rc=2"

# --- where idmapped mounts work on this machine, and what they cost -----------
for d in /work /tmp /var/lib /dev/shm; do
    [ -d "$d" ] && echo "# idmapped mounts on $d ($(findmnt -n -o FSTYPE -T "$d" | head -1)): $(drv supported "$d" 2>&1)"
done
mkdir -p "$T_ROOT/ov/l" "$T_ROOT/ov/u" "$T_ROOT/ov/w" "$T_ROOT/ov/m"
echo "# idmapped mounts on overlayfs: $(unshare -m --propagation private sh -c \
    "mount -t overlay overlay -o lowerdir=$T_ROOT/ov/l,upperdir=$T_ROOT/ov/u,workdir=$T_ROOT/ov/w \
     $T_ROOT/ov/m && '$DRV' supported $T_ROOT/ov/m" 2>&1)"
if [ "$sup" = yes ]; then
    ROOTFS=$T_ROOT/rootfs
    mkdir -p "$ROOTFS"
    cp -a /bin/busybox "$ROOTFS/" 2>/dev/null || cp -a /bin/sh "$ROOTFS/"
    out=$(drv bench "$MAP" "$ROOTFS" 20 2>&1)
    t_like "benchmark ran" "$out" "^runs=20 "
    echo "# start-time cost (median of 20): $out"
fi

t_done

#!/usr/bin/env bash
# Snapshots and restore (plain copy, and btrfs when it can make a loop
# filesystem), export to every archive type and import back (a container
# that boots again), hostile and malformed archives refused leaving nothing,
# and one-line errors for bad input.
. "$(dirname "$0")/../lib.sh"
t_setup snapshot
t_storage dir # these checks read and write containers/NAME/rootfs on disk

OUT=$(mktemp -d /tmp/lxm-it-snapshot-outside.XXXXXX)
WORK=$(mktemp -d /tmp/lxm-it-snapshot-work.XXXXXX)
t_on_exit "rm -rf '$OUT' '$WORK'"
CT=$T_ROOT/var/lib/lxm/containers

# Everything lxm keeps on disk, to show a failure changed nothing.
state() { (cd "$T_ROOT" && find var/lib/lxm run var/log 2>/dev/null | sort); }
# Every file below $1 with type, mode, owner, links, size, mtime (ns), symlink
# target, device numbers and all xattrs (ACLs and file capabilities are
# xattrs too); hard links show as a shared inode index.
meta() {
    python3 - "$1" <<'PY'
import os, sys
root = sys.argv[1]
inodes = {}
rows = []
for d, dirs, files in os.walk(root):
    for n in sorted(dirs + files):
        p = os.path.join(d, n)
        st = os.lstat(p)
        link = inodes.setdefault(st.st_ino, len(inodes)) if st.st_nlink > 1 and not os.path.isdir(p) else ""
        target = os.readlink(p) if os.path.islink(p) else ""
        dev = "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)) if st.st_rdev else ""
        try:
            xs = sorted((x, os.getxattr(p, x, follow_symlinks=False).hex())
                        for x in os.listxattr(p, follow_symlinks=False))
        except OSError:
            xs = "?"
        rows.append("%s %o %d:%d %s %d %d %s %s %s" % (os.path.relpath(p, root), st.st_mode,
                    st.st_uid, st.st_gid, link, st.st_size if not os.path.isdir(p) else 0,
                    st.st_mtime_ns, target, dev, xs))
print("\n".join(sorted(rows)))
PY
}

# A clone's identity files (and so /etc's mtime) differ by design.
no_identity() { grep -Ev '^etc( |/hostname |/hosts )'; }
no_mtime() { awk '{$6 = ""; print}'; }

if ! command -v python3 >/dev/null; then
    echo "1..0 # SKIP python3 is needed to compare trees and write test archives"
    exit 0
fi

# --- a container with every kind of file --------------------------------------------
t_ok "create s1" lxm create s1 -t busybox -c network.eth0.type=none
R=$CT/s1/rootfs
mkdir -p "$R/data"
echo keep >"$R/data/keep"
ln "$R/data/keep" "$R/data/keep-link"
chown 1234:2345 "$R/data/keep"
chmod 4750 "$R/data/keep"
mknod "$R/data/null" c 1 3
mkfifo "$R/data/fifo"
ln -s /etc/shadow "$R/data/abs-link"
python3 -c "import os; os.setxattr('$R/data/keep-link', 'user.lxm', b'kept', follow_symlinks=False)"
have_acl=; command -v setfacl >/dev/null && setfacl -m u:4321:r "$R/data/keep" && have_acl=1
have_caps=; command -v setcap >/dev/null && cp "$R/bin/busybox" "$R/data/capbin" &&
    setcap cap_net_raw+ep "$R/data/capbin" && have_caps=1
touch -d '2001-02-03 04:05:06.123456789' "$R/data/keep"
orig=$(meta "$R")

# --- snapshot --------------------------------------------------------------------------
out=$(lxm snapshot s1 2>&1)
t_is "snapshot without a name prints the name it chose" "$out" snap0
S=$CT/s1/snapshots/snap0
t_ok "snapshot: rootfs, config.yaml and snapshot.yaml" test -d "$S/rootfs" -a -f "$S/config.yaml" -a -f "$S/snapshot.yaml"
t_ok "snapshot: created time recorded" grep -Eq '^created: 20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "$S/snapshot.yaml"
t_ok "snapshot: config.yaml copied" cmp "$CT/s1/config.yaml" "$S/config.yaml"
t_is "snapshot: owners, modes, times, links, devices, xattrs kept" "$(meta "$S/rootfs")" "$orig"
[ -n "$have_acl" ] && t_like "snapshot: ACL kept" "$(getfacl -n "$S/rootfs/data/keep" 2>/dev/null)" 'user:4321:r--'
[ -n "$have_caps" ] && t_like "snapshot: file capability kept" "$(getcap "$S/rootfs/data/capbin")" 'cap_net_raw[=+]ep'
t_is "snapshot: the symlink is a symlink, not its target" "$(readlink "$S/rootfs/data/abs-link")" /etc/shadow
t_ok "snapshot s1 before" lxm snapshot s1 before
t_is "a named snapshot prints nothing" "$(lxm snapshot s1 named 2>&1)" ""
out=$(lxm snapshot s1 2>&1)
t_is "the next automatic name is snap1" "$out" snap1
list=$(lxm snapshot --list s1)
t_like "--list: header" "$list" '^NAME +CREATED'
t_is "--list: every snapshot, sorted" "$(echo "$list" | tail -n +2 | awk '{print $1}' | tr '\n' ' ')" "before named snap0 snap1 "
t_like "--list --format json" "$(lxm snapshot s1 --list --format json)" '"name": *"before"'
t_ok "--delete named" lxm snapshot --delete s1 named
t_ok "deleted snapshot is gone" test ! -e "$CT/s1/snapshots/named"
t_is "no hidden leftovers in snapshots/" "$(ls -A "$CT/s1/snapshots" | grep '^\.' || true)" ""

# --- restore -------------------------------------------------------------------------------
rm "$R/data/keep" "$R/data/keep-link"
echo changed >"$R/etc/hostname"
lxm config set s1 limits.memory=128MiB >/dev/null 2>&1
t_ok "restore s1 before" lxm restore s1 before
t_is "restore: the deleted file is back" "$(cat "$R/data/keep" 2>/dev/null)" keep
t_is "restore: the changed file is back" "$(cat "$R/etc/hostname")" s1
t_is "restore: the whole tree as it was" "$(meta "$R")" "$orig"
t_ok "restore: config.yaml from the snapshot" cmp "$CT/s1/config.yaml" "$CT/s1/snapshots/before/config.yaml"
t_is "restore: no rootfs.new/rootfs.old left" "$(ls "$CT/s1")" "config.yaml
hostname.state
rootfs
snapshots"
t_ok "restore: the snapshot is still there" test -d "$CT/s1/snapshots/before/rootfs"

# --- bad input ------------------------------------------------------------------------------
before=$(state)
t_error "snapshot of an unknown container" 1 "^lxm: error: container 'nosuch' not found$" lxm snapshot nosuch
t_error "Incus's 'snapshot list NAME': what lxm calls it" 1 \
    "^lxm: error: container 'list' not found \(for snapshot list: lxm snapshot --list s1\)$" lxm snapshot list s1
t_error "... and 'snapshot delete NAME'" 1 \
    "^lxm: error: container 'delete' not found \(for snapshot delete: lxm snapshot --delete s1 SNAPSHOT\)$" \
    lxm snapshot delete s1
t_error "bad snapshot name" 1 "^lxm: error: invalid snapshot name 'Bad_Name'" lxm snapshot s1 Bad_Name
t_error "snapshot name with a slash" 1 "^lxm: error: invalid snapshot name '\.\./x'" lxm snapshot s1 ../x
t_error "existing snapshot name" 1 "^lxm: error: snapshot 'before' of container 's1' already exists$" \
    lxm snapshot s1 before
t_error "restore of an unknown snapshot" 1 "^lxm: error: snapshot 'nosuch' of container 's1' not found" \
    lxm restore s1 nosuch
t_error "restore of an unknown container" 1 "^lxm: error: container 'nosuch' not found$" lxm restore nosuch snap0
t_error "restore with a bad snapshot name" 1 "^lxm: error: invalid snapshot name" lxm restore s1 'a/b'
t_error "snapshot without a name" 2 "^lxm: error: snapshot: missing container name" lxm snapshot
t_error "snapshot with too many arguments" 2 "unexpected argument 'c'" lxm snapshot s1 b c
t_error "restore without a snapshot" 2 "^lxm: error: restore: missing snapshot name" lxm restore s1
t_error "snapshot --delete without a snapshot" 2 "missing snapshot name" lxm snapshot --delete s1
t_error "export without a file" 2 "^lxm: error: export: missing output file" lxm export s1
t_error "export to an unknown archive type" 2 "unknown archive type" lxm export s1 "$WORK/s1.zip"
t_error "export of an unknown container" 1 "^lxm: error: container 'nosuch' not found$" \
    lxm export nosuch "$WORK/nosuch.tar"
t_error "import without a file" 2 "^lxm: error: import: missing archive file" lxm import
t_is "bad input changed nothing" "$(state)" "$before"

# --- a running container ------------------------------------------------------------------
if lxm start s1 >/dev/null 2>&1; then
    t_ok "snapshot of a running container (frozen for the copy)" lxm snapshot s1 live
    t_is "the container runs again after the snapshot (thawed)" "$(lxm list --format csv 2>/dev/null | awk -F, '$1 == "s1" {print $2}')" RUNNING
    t_ok "the live snapshot has the tree" test -x "$CT/s1/snapshots/live/rootfs/bin/busybox"
    before=$(state)
    t_error "restore of a running container" 1 "^lxm: error: container 's1' is RUNNING \(stop it first" \
        lxm restore s1 before
    t_error "export of a running container" 1 "^lxm: error: container 's1' is RUNNING \(stop it first" \
        lxm export s1 "$WORK/running.tar"
    t_is "refusals changed nothing" "$(state)" "$before"
    t_ok "no export file left" test ! -e "$WORK/running.tar"
    if lxm freeze s1 >/dev/null 2>&1; then
        t_ok "snapshot of a frozen container" lxm snapshot s1 frozen
        lxm unfreeze s1 >/dev/null 2>&1
    else
        t_skip "snapshot of a frozen container" "freeze failed on this host"
    fi
    t_ok "stop s1" lxm stop s1 -k
else
    t_report fail "start s1" "$(lxm start s1 2>&1)"
fi

# --- export ------------------------------------------------------------------------------------
exported=$(meta "$R")
# An export keeps the device node; an import never makes one (docs/security.md).
imported=$(echo "$exported" | grep -v '^data/null ')
for ext in tar tar.gz tar.xz tar.zst; do
    t_ok "export to .$ext" lxm -q export s1 "$WORK/s1.$ext"
    t_is "export .$ext: mode 0600" "$(stat -c %a "$WORK/s1.$ext" 2>/dev/null)" 600
done
t_is "export: config.yaml first, then rootfs/" "$(tar -tf "$WORK/s1.tar" 2>/dev/null | head -2 | tr '\n' ' ')" "config.yaml rootfs/ "
t_is "export: no snapshots in the archive" "$(tar -tf "$WORK/s1.tar" 2>/dev/null | grep -c '^snapshots' || true)" 0
t_is "export: no temp files left" "$(ls "$WORK" | grep -c tmp || true)" 0
t_like "export: the device node is in the archive" "$(tar -tvf "$WORK/s1.tar" rootfs/data/null 2>&1)" '^c.* 1,3 '
out=$(lxm export s1 "$WORK/plain.tar" 2>&1 >/dev/null)
t_is "export off a terminal: no progress at all" "$out" ""
t_is "export -q: silent" "$(lxm -q export s1 "$WORK/quiet.tar" 2>&1)" ""
t_ok "export over an existing file" lxm -q export s1 "$WORK/s1.tar"

# --- import: round trip --------------------------------------------------------------------
t_ok "delete s1" lxm delete s1
out=$(lxm import "$WORK/s1.tar.zst" 2>&1 >/dev/null)
t_is "import the .tar.zst (name from the archive)" "$?" 0
t_like "import: one warning names the device node left out" "$(echo "$out" | grep warning)" \
    '^lxm: warning: .*s1\.tar\.zst: skipped 1 device node \(rootfs/data/null\)'
t_is "import: the tree is as exported, but for the device node" "$(meta "$R")" "$imported"
[ -n "$have_caps" ] && t_like "import: file capability kept" "$(getcap "$R/data/capbin")" 'cap_net_raw[=+]ep'
t_ok "import: config name" grep -qx 'name: s1' "$CT/s1/config.yaml"
if lxm start s1 >/dev/null 2>&1; then
    t_is "the imported container boots: hostname" "$(lxm attach s1 -- cat /etc/hostname 2>&1)" s1
    t_ok "stop the imported container" lxm stop s1 -k
else
    t_report fail "start the imported container" "$(lxm start s1 2>&1)"
fi
for ext in tar tar.gz tar.xz; do
    n=from-${ext//./-}
    t_ok "import .$ext as $n" lxm -q import "$WORK/s1.$ext" "$n"
    t_is "import .$ext: tree kept" "$(meta "$CT/$n/rootfs" | no_identity)" "$(echo "$imported" | no_identity)"
done
t_ok "import under a new name: config name" grep -qx 'name: from-tar' "$CT/from-tar/config.yaml"
t_ok "import under a new name: hostname" grep -qx 'hostname: from-tar' "$CT/from-tar/config.yaml"
t_is "import under a new name: /etc/hostname" "$(cat "$CT/from-tar/rootfs/etc/hostname")" from-tar
# An archive made by GNU tar with "./" prefixes imports the same way.
tar --xattrs --xattrs-include='*' --acls -C "$CT/s1" -cf "$WORK/gnu.tar" ./config.yaml ./rootfs
t_ok "import a GNU tar archive with ./ prefixes" lxm -q import "$WORK/gnu.tar" gnu
# GNU tar keeps whole seconds only: compare without the mtime column.
t_is "GNU tar archive: tree kept" "$(meta "$CT/gnu/rootfs" | no_identity | no_mtime)" \
    "$(echo "$imported" | no_identity | no_mtime)"

# --- import: refused, nothing left -------------------------------------------------------------
H=$WORK/hostile
mkdir -p "$H"
python3 - "$H" "$OUT" "$WORK/s1.tar" <<'PY'
import io, sys, tarfile
h, out, good = sys.argv[1:4]
with tarfile.open(good) as tf:
    config = tf.extractfile("config.yaml").read()
def add(tf, name, kind=tarfile.REGTYPE, data=b"", link=""):
    ti = tarfile.TarInfo(name); ti.type = kind; ti.linkname = link; ti.size = len(data)
    ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    tf.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
def archive(name, *entries, with_config=True):
    with tarfile.open(h + "/" + name, "w", format=tarfile.PAX_FORMAT) as tf:
        if with_config:
            add(tf, "config.yaml", data=config)
        add(tf, "rootfs", tarfile.DIRTYPE)
        for e in entries:
            add(tf, *e)
archive("dotdot.tar", ("rootfs/../../../evil", tarfile.REGTYPE, b"x"))
archive("absolute.tar", (out + "/evil", tarfile.REGTYPE, b"x"))
archive("symlink.tar", ("rootfs/link", tarfile.SYMTYPE, b"", out),
        ("rootfs/link/evil", tarfile.REGTYPE, b"x"))
archive("hardlink.tar", ("rootfs/h", tarfile.LNKTYPE, b"", "/etc/passwd"))
archive("config-symlink.tar", ("config.yaml", tarfile.SYMTYPE, b"", "/etc/passwd"), with_config=False)
archive("rootfs-only.tar", ("rootfs/etc", tarfile.DIRTYPE), with_config=False)
archive("extra.tar", ("extra-file", tarfile.REGTYPE, b"x"))
with tarfile.open(h + "/bad-config.tar", "w", format=tarfile.PAX_FORMAT) as tf:
    add(tf, "config.yaml", data=b"name: badcfg\nlimits:\n  memory: lots\n")
    add(tf, "rootfs", tarfile.DIRTYPE)
with tarfile.open(h + "/no-name.tar", "w", format=tarfile.PAX_FORMAT) as tf:
    add(tf, "config.yaml", data=b"template: busybox\n")
    add(tf, "rootfs", tarfile.DIRTYPE)
with tarfile.open(h + "/bad-name.tar", "w", format=tarfile.PAX_FORMAT) as tf:
    add(tf, "config.yaml", data=config.replace(b"name: s1", b"name: Bad_Name", 1))
    add(tf, "rootfs", tarfile.DIRTYPE)
PY
echo "not an archive" >"$WORK/text.tar"
before=$(state)
t_error "import: '..' entry refused" 1 "refusing entry 'rootfs/\.\./\.\./\.\./evil'" lxm -q import "$H/dotdot.tar" evil1
t_error "import: absolute entry refused" 1 "refusing entry '/?${OUT#/}/evil'" lxm -q import "$H/absolute.tar" evil2
t_error "import: entry through a symlink refused" 1 "refusing entry 'rootfs/link/evil'" \
    lxm -q import "$H/symlink.tar" evil3
t_error "import: hard link to a host path refused" 1 "refusing entry 'rootfs/h'" lxm -q import "$H/hardlink.tar" evil4
t_error "import: config.yaml as a symlink refused" 1 "not an lxm export: unexpected 'config\.yaml'" \
    lxm -q import "$H/config-symlink.tar" evil5
t_error "import: a rootfs tarball is not an export" 1 "not an lxm export: no config\.yaml.*--from" \
    lxm -q import "$H/rootfs-only.tar" evil6
t_error "import: unexpected top-level entry" 1 "not an lxm export: unexpected 'extra-file'" \
    lxm -q import "$H/extra.tar" evil7
t_error "import: invalid config.yaml" 1 "bad-config\.tar:config\.yaml:3:[0-9]+: .*lots" \
    lxm -q import "$H/bad-config.tar"
t_error "import: config.yaml without a name" 1 "no-name\.tar:config\.yaml:1:1: name: missing" lxm -q import "$H/no-name.tar"
t_error "import: invalid name in config.yaml" 1 "bad-name\.tar:config\.yaml:1:[0-9]+: name: .*Bad_Name.* not a valid container name" \
    lxm -q import "$H/bad-name.tar"
t_error "import of a non-archive" 1 "text\.tar: not a tarball lxm can read" lxm -q import "$WORK/text.tar" t1
t_error "import of a missing file" 1 "^lxm: error: import .*nosuch\.tar: No such file or directory$" \
    lxm -q import "$WORK/nosuch.tar" t2
t_error "import with an invalid name" 1 "^lxm: error: invalid container name 'Bad_Name'" \
    lxm -q import "$WORK/s1.tar" Bad_Name
t_error "import onto an existing name" 1 "^lxm: error: container 's1' already exists$" \
    lxm -q import "$WORK/s1.tar" s1
t_error "import onto the archive's existing name" 1 "^lxm: error: container 's1' already exists$" \
    lxm -q import "$WORK/s1.tar"
t_is "refused imports left nothing (no container, no hidden staging dir)" "$(state)" "$before"
t_is "nothing written outside" "$(ls -A "$OUT")" ""

# --- btrfs: a live snapshot of a subvolume rootfs ----------------------------------------------
btrfs_section() {
    local img=$WORK/btrfs.img mnt=$T_ROOT/btrfs r
    truncate -s 300M "$img" && mkfs.btrfs -q "$img" >/dev/null 2>&1 && mkdir -p "$mnt" &&
        mount -o loop "$img" "$mnt" 2>/dev/null || return 1
    t_on_exit "umount -l '$mnt'"
    t_on_exit "$LXM_BIN --root '$mnt/root' stop -k b1; $LXM_BIN --root '$mnt/root' delete -f b1"
    # A second lxm root on btrfs; the container's rootfs made a subvolume by hand
    # (no btrfs storage backend creates one yet).
    local B="$LXM_BIN --root $mnt/root"
    $B create b1 -t busybox -c network.eth0.type=none >/dev/null 2>&1 || return 1
    r=$mnt/root/var/lib/lxm/containers/b1/rootfs
    btrfs subvolume create "$r.sv" >/dev/null && cp -a "$r/." "$r.sv/" && rm -rf "$r" && mv "$r.sv" "$r" || return 1
    t_is "btrfs: rootfs is a subvolume" "$(stat -c %i "$r")" 256
    if $B start b1 >/dev/null 2>&1; then
        t_ok "btrfs: snapshot of a running container" $B snapshot b1 live
        t_is "btrfs: the snapshot is a subvolume" "$(stat -c %i "$mnt/root/var/lib/lxm/containers/b1/snapshots/live/rootfs")" 256
        $B stop b1 -k >/dev/null 2>&1
    else
        t_report fail "btrfs: start b1" "$($B start b1 2>&1)"
    fi
    rm -f "$r/etc/inittab"
    t_ok "btrfs: restore" $B restore b1 live
    t_ok "btrfs: restored file is back" test -f "$r/etc/inittab"
    t_is "btrfs: the restored rootfs is a subvolume" "$(stat -c %i "$r")" 256
    # (idmap.state: b1 was started unprivileged, which records its rootfs layout)
    t_is "btrfs: no rootfs.new/rootfs.old left" "$(ls "$mnt/root/var/lib/lxm/containers/b1")" "config.yaml
hostname.state
idmap.state
rootfs
snapshots"
    t_ok "btrfs: delete the snapshot" $B snapshot --delete b1 live
    t_ok "btrfs: delete the container" $B delete b1
    umount "$mnt" 2>/dev/null
    return 0
}
# The btrfs special case left snapshot.c: the btrfs storage backend (branch
# btrfs, `lxm storage init --driver btrfs`) snapshots subvolumes now and
# brings its own tests. btrfs_section stays for it to adapt.
t_skip "btrfs snapshots" "moved to the btrfs storage backend"

t_done

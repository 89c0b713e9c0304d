#!/usr/bin/env bash
# Provisioning: busybox create, config.yaml fields, bad input that creates
# nothing, delete that never follows a planted symlink, --from tarballs
# (metadata kept, hostile archives refused), template list, copy, and the
# image cache's checksum check. No network: debootstrap is in debian.sh.
. "$(dirname "$0")/../lib.sh"
t_setup create
t_storage dir # these checks read and write containers/NAME/rootfs on disk

# Anything a hostile archive writes "outside" would land here.
OUT=$(mktemp -d /tmp/lxm-it-create-outside.XXXXXX)
t_on_exit "rm -rf '$OUT'"
CT=$T_ROOT/var/lib/lxm/containers
# The image cache follows --root here, never the shared test cache.
export LXM_CACHE_DIR=$T_ROOT/var/cache/lxm

# Everything below containers/, run/ and log/ (to show nothing was made).
# Everything lxm keeps, but the lock files: run/lxm/.locks/NAME.lock are
# empty files that are never removed (docs/locking.md); a create locks the
# name before it looks, so a refused create may leave one.
state() {
    (cd "$T_ROOT" && find var/lib/lxm run var/log -not -path 'run/lxm/.locks/*.lock' 2>/dev/null | sort)
    find "$T_ROOT/run/lxm/.locks" -mindepth 1 \( -not -name '*.lock' -o -not -type f -o -not -empty \) 2>/dev/null
}

# --- busybox create ------------------------------------------------------------
t0=$(date +%s%N)
t_ok "create c1 -t busybox" lxm create c1 -t busybox
echo "# busybox create took $((($(date +%s%N) - t0) / 1000000)) ms"
cfg=$(cat "$CT/c1/config.yaml" 2>/dev/null)
t_ok "config: name" grep -Eqx 'name: c1' "$CT/c1/config.yaml"
t_ok "config: template" grep -Eqx 'template: busybox' "$CT/c1/config.yaml"
t_ok "config: arch" grep -qx "arch: $(dpkg --print-architecture)" "$CT/c1/config.yaml"
t_ok "config: created is UTC ISO 8601" grep -Eqx 'created: "?20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z"?' "$CT/c1/config.yaml"
t_ok "config: init" grep -Eqx 'init: /sbin/init' "$CT/c1/config.yaml"
t_ok "config: hostname" grep -Eqx 'hostname: c1' "$CT/c1/config.yaml"
t_like "config: halt signal" "$cfg" 'halt: SIGINT'
t_like "config: reboot signal" "$cfg" 'reboot: SIGTERM'
t_like "config: profiles from the template" "$(tr '\n' ' ' <"$CT/c1/config.yaml")" 'profiles: *(\[ *default *\]|- default)'
R=$CT/c1/rootfs
t_is "rootfs: /sbin/init -> /bin/busybox" "$(readlink "$R/sbin/init")" /bin/busybox
t_ok "rootfs: busybox is a static executable" test -x "$R/bin/busybox" -a ! -L "$R/bin/busybox"
t_is "rootfs: every applet is linked" "$(busybox --list-full | grep -vx bin/busybox | while read -r a; do [ -L "$R/$a" ] || echo "$a"; done)" ""
t_is "rootfs: /etc/hostname" "$(cat "$R/etc/hostname")" c1
t_like "rootfs: /etc/hosts names the container" "$(cat "$R/etc/hosts")" '127\.0\.1\.1[[:space:]]+c1'
t_is "rootfs: /tmp is 1777" "$(stat -c %a "$R/tmp")" 1777
# -c hostname=: the guest's init sets its hostname from /etc/hostname.
t_ok "create c1h -c hostname=web" lxm create c1h -t busybox -c hostname=web
t_is "-c hostname=: /etc/hostname" "$(cat "$CT/c1h/rootfs/etc/hostname")" web
t_like "-c hostname=: /etc/hosts names it" "$(cat "$CT/c1h/rootfs/etc/hosts")" '127\.0\.1\.1[[:space:]]+web$'
t_ok "delete c1h" lxm delete c1h
t_ok "rootfs: rcS is executable" test -x "$R/etc/init.d/rcS"
t_like "rootfs: inittab runs rcS and a console getty" "$(cat "$R/etc/inittab")" '::sysinit:/etc/init.d/rcS'
t_like "rootfs: root in passwd" "$(cat "$R/etc/passwd")" '^root:x:0:0:'
t_is "rootfs: shadow is 0600" "$(stat -c %a "$R/etc/shadow")" 600
t_is "rootfs: the busybox runs chrooted" "$(chroot "$R" /bin/sh -c 'echo ok')" ok
# rcS in fresh namespaces without eth0: must succeed and set the hostname.
out=$(unshare -mpfun chroot "$R" /bin/sh -c '/etc/init.d/rcS && hostname' 2>&1)
t_is "rcS succeeds without eth0 and sets the hostname" "$out" c1

# --- bad input creates nothing --------------------------------------------------
before=$(state)
long=$(printf 'a%.0s' {1..64})
# x-: not a hostname, so refused as a name (not later by the config check).
for bad in '../x' 'A' "$long" '' 'x-'; do
    t_error "invalid name '${bad:0:10}'" 1 "^lxm: error: invalid container name" \
        lxm create -t busybox -- "$bad"
done
t_error "unknown template" 1 "^lxm: error: template 'nosuch' not found \(see 'lxm template list'\)$" \
    lxm create c2 -t nosuch
t_error "bad -c key" 1 "^lxm: error: -c nosuch\.key=1: .*nosuch" \
    lxm create c2 -t busybox -c nosuch.key=1
t_error "bad -c value" 1 "^lxm: error: -c limits\.memory=lots: .*lots" \
    lxm create c2 -t busybox -c limits.memory=lots
t_error "release for a template without releases" 1 \
    "^lxm: error: template 'busybox' has no releases \(drop -r x\)$" lxm create c2 -t busybox -r x
t_error "unknown release" 1 \
    "^lxm: error: template 'debian' has no release 'hamm' \(releases: bullseye, bookworm, trixie, sid\)$" \
    lxm create c2 -t debian -r hamm
t_error "unknown profile" 1 "^lxm: error: .*profile 'nosuch'" lxm create c2 -t busybox -p nosuch
t_error "--include on busybox" 1 \
    "^lxm: error: --include: template 'busybox' does not install packages$" \
    lxm create c2 -t busybox --include vim
sum=$(sha256sum "$CT/c1/config.yaml")
t_error "existing name" 1 "^lxm: error: container 'c1' already exists$" lxm create c1 -t busybox
t_is "existing container untouched" "$(sha256sum "$CT/c1/config.yaml")" "$sum"
t_error "missing NAME" 2 "^lxm: error: create: missing container name" lxm create -t busybox
t_error "unknown flag" 2 "^lxm: error: create: unknown option '--bogus'" lxm create c2 -t busybox --bogus
t_error "missing template" 2 "^lxm: error: create: missing template" lxm create c2
t_error "missing --from file" 1 "^lxm: error: --from $OUT/nosuch.tar: No such file" \
    lxm create c2 --from "$OUT/nosuch.tar"
t_error "bad --include package name" 2 "^lxm: error: create: --include: 'b@d' is not a package name" \
    lxm create c2 -t debian --include 'ok,b@d'
t_error "-c name" 1 "^lxm: error: -c name=other: " lxm create c2 -t busybox -c name=other
t_error "--from a file that is not a tarball" 1 "^lxm: error: .*/etc/hostname" \
    lxm -q create c2 --from "$CT/c1/rootfs/etc/hostname"
t_is "bad input wrote nothing" "$(state)" "$before"

# A create that died half-way (no config.yaml) is named as such, and delete
# removes it.
mkdir -p "$CT/half/rootfs"
t_error "half-created container" 1 "^lxm: error: container 'half' is half-created" \
    lxm create half -t busybox
t_ok "delete removes a half-created container" lxm delete half
t_ok "half-created container gone" test ! -e "$CT/half"

# --- template list -----------------------------------------------------------------
out=$(lxm template list)
t_like "template list: header" "$out" '^NAME +RELEASES +DESCRIPTION'
t_like "template list: busybox" "$out" '(^|[[:space:]])busybox +- +Tiny'
t_like "template list: debian with releases" "$out" '(^|[[:space:]])debian +bullseye,bookworm,trixie,sid +Debian'
t_like "template list --format json" "$(lxm template list --format json)" '"name": ?"debian"'

# --- delete never follows a planted symlink -------------------------------------------
touch "$OUT/keep"
ln -s "$OUT" "$R/etc/evil"
ln -s / "$R/etc/root-link"
# What a container's root may do to its own files (or a tarball restore):
# immutable / append-only flags must not make the container undeletable.
chattr +i "$R/etc/passwd" 2>/dev/null && chattr +a "$R/etc" 2>/dev/null && have_chattr=1 || have_chattr=
t_ok "delete c1" lxm delete c1
[ -n "$have_chattr" ] || t_skip "delete with immutable files" "chattr not supported on this filesystem"
t_ok "delete removed the container" test ! -e "$CT/c1"
t_ok "delete did not follow rootfs/etc/evil" test -e "$OUT/keep"
t_ok "delete removed run and log dirs" test ! -e "$T_ROOT/run/lxm/c1" -a ! -e "$T_ROOT/var/log/lxm/c1"
t_error "delete of an unknown container" 1 "^lxm: error: container 'c1' not found$" lxm delete c1
t_error "delete without NAME" 2 "^lxm: error: delete: missing container name" lxm delete

# --- launch, and delete of a running container ------------------------------------------
out=$(lxm launch l1 -t busybox -c network.eth0.type=none 2>/dev/null); rc=$?
t_is "launch l1 (no network)" "$rc" 0
t_is "launch says what it does on stdout, as LXD" "$out" "Creating l1
Starting l1"
t_like "launch: l1 is running" "$(lxm list --format csv 2>&1)" 'l1,RUNNING'
t_error "delete of a running container refused" 1 \
    "^lxm: error: container 'l1' is RUNNING \(stop it first, or use 'lxm delete -f'\)$" lxm delete l1
t_ok "running container untouched" test -e "$CT/l1/config.yaml" -a -x "$CT/l1/rootfs/bin/busybox"
t_ok "delete -f stops and removes it" lxm delete -f l1
t_ok "delete -f left nothing" test ! -e "$CT/l1" -a ! -e "$T_ROOT/run/lxm/l1"
t_is "launch -q: nothing on stdout" "$(lxm -q launch l2 -t busybox -c network.eth0.type=none)" ""
t_like "launch -q: l2 is running" "$(lxm list --format csv 2>&1)" 'l2,RUNNING'
t_ok "delete -f l2" lxm delete -f l2
t_is "launch with an unknown template: Creating, no Starting" "$(lxm launch src0$$ -t nosuch 2>/dev/null)" "Creating src0$$"

# --- delete of several names: like stop, each in turn, the others go on ---------------------
for n in d1 d2 d3; do lxm create "$n" -t busybox -c network.eth0.type=none >/dev/null 2>&1; done
t_ok "start d2" lxm start d2
out=$(lxm delete d1 nosuch d2 d3 2>&1); rc=$?
t_is "delete d1 nosuch d2 d3 (d2 running): exit 1" "$rc" 1
t_is "each failure on its line, naming its container" "$(printf '%s\n' "$out" | grep -v '^lxm: warning: ')" \
    "lxm: error: container 'nosuch' not found
lxm: error: container 'd2' is RUNNING (stop it first, or use 'lxm delete -f')"
t_ok "d1 and d3 deleted after the failures" test ! -e "$CT/d1" -a ! -e "$CT/d3"
t_is "d2 untouched, still running" "$(lxm list --format csv | grep '^d2,' | cut -d, -f2)" RUNNING
for n in d4 d5; do lxm create "$n" -t busybox -c network.eth0.type=none >/dev/null 2>&1; done
t_ok "delete d4 -f d2 d5 (options between names): exit 0" lxm delete d4 -f d2 d5
t_ok "all three gone" test ! -e "$CT/d2" -a ! -e "$CT/d4" -a ! -e "$CT/d5" -a ! -e "$T_ROOT/run/lxm/d2"

# --- --from: a good tarball, metadata kept ------------------------------------------------
t_ok "create src -t busybox" lxm create src -t busybox
S=$CT/src/rootfs
mkdir -p "$S/data"
echo hello >"$S/data/file"
chown 1234:2345 "$S/data/file"
chmod 4750 "$S/data/file"
ln "$S/data/file" "$S/data/hardlink"
mknod "$S/data/null" c 1 3
setcap cap_net_raw+ep "$S/data/file" 2>/dev/null && have_caps=1 || have_caps=
setfacl -m u:4321:r "$S/data/file" 2>/dev/null && have_acl=1 || have_acl=
tar --xattrs --xattrs-include='*' --acls --numeric-owner -C "$S" -cf "$OUT/good.tar" .
zstd -q "$OUT/good.tar" -o "$OUT/good.tar.zst"
gzip -c "$OUT/good.tar" >"$OUT/good.tar.gz"
for f in good.tar.zst good.tar.gz; do
    n=from-${f##*.}
    t_ok "create --from $f" lxm -q create "$n" --from "$OUT/$f"
    D=$CT/$n/rootfs
    t_is "--from $f: hostname is the new name" "$(cat "$D/etc/hostname" 2>/dev/null)" "$n"
    t_ok "--from $f: template is tarball" grep -qx 'template: tarball' "$CT/$n/config.yaml"
done
D=$CT/from-zst/rootfs
t_is "--from: owner, group and setuid mode kept" "$(stat -c '%u:%g %a' "$D/data/file")" "1234:2345 4750"
t_is "--from: hard link kept" "$(stat -c %i "$D/data/hardlink")" "$(stat -c %i "$D/data/file")"
# Device nodes are never created from an archive (docs/security.md).
t_ok "--from: the device node is not created" test ! -e "$D/data/null"
out=$(lxm create from-tar --from "$OUT/good.tar" 2>&1 >/dev/null)
t_like "--from: one warning names the node left out" "$(echo "$out" | grep warning)" \
    "^lxm: warning: .*good\.tar: skipped 1 device node \(data/null\): lxm never creates device nodes from an archive$"
t_is "--from: symlinks kept" "$(readlink "$D/sbin/init")" /bin/busybox
if [ -n "$have_caps" ]; then
    t_like "--from: file capability (xattr) kept" "$(getcap "$D/data/file")" 'cap_net_raw[=+]ep'
else
    t_skip "--from: file capability (xattr) kept" "setcap not available"
fi
if [ -n "$have_acl" ]; then
    t_like "--from: ACL kept" "$(getfacl -n "$D/data/file" 2>/dev/null)" 'user:4321:r--'
else
    t_skip "--from: ACL kept" "setfacl not available"
fi

# --- --from: hostile tarballs are refused, nothing written anywhere -------------------------
H=$OUT/hostile
mkdir -p "$H/stage1" "$H/stage2/a" "$H/dots" "$OUT/target"
echo pwned >"$H/stage2/a/pwned"
ln -s "$OUT/target" "$H/stage1/a"
# a symlink "a" to a host directory, then the file "a/pwned" through it
tar -C "$H/stage1" -cf "$H/symlink.tar" a
tar -C "$H/stage2" -rf "$H/symlink.tar" a/pwned
# "../x" and an absolute path
echo x >"$H/dots/x"
(cd "$H/dots" && tar -cPf "$H/dotdot.tar" ../dots/x)
tar -cPf "$H/absolute.tar" "$H/dots/x"
# a well-formed hard link pair (must still work)
(cd "$H/dots" && ln -f x hl && tar -cf "$H/hardlink.tar" x hl)
sed_path=${H#/}
before=$(state)
t_error "symlink-then-file tarball refused" 1 "refusing entry 'a/pwned'" \
    lxm -q create evil1 --from "$H/symlink.tar"
t_ok "nothing written through the symlink" test ! -e "$OUT/target/pwned"
t_error "'..' tarball refused" 1 "refusing entry '\.\./dots/x'" \
    lxm -q create evil2 --from "$H/dotdot.tar"
t_error "absolute-path tarball refused" 1 "refusing entry '/?$sed_path/dots/x'" \
    lxm -q create evil3 --from "$H/absolute.tar"
# Hard links whose target is a host file, directly or through a planted
# symlink: linking to it would let the container rewrite the host file.
echo host >"$OUT/target/victim"
if command -v python3 >/dev/null; then
    python3 - "$H" "$OUT/target" <<'PY'
import io, sys, tarfile
h, target = sys.argv[1], sys.argv[2]
def link(tf, name, kind, to):
    ti = tarfile.TarInfo(name); ti.type = kind; ti.linkname = to; tf.addfile(ti)
with tarfile.open(h + "/hardlink-abs.tar", "w", format=tarfile.PAX_FORMAT) as tf:
    link(tf, "h", tarfile.LNKTYPE, target + "/victim")
with tarfile.open(h + "/hardlink-symlink.tar", "w", format=tarfile.PAX_FORMAT) as tf:
    link(tf, "a", tarfile.SYMTYPE, target)
    link(tf, "h", tarfile.LNKTYPE, "a/victim")
PY
    t_error "hard link to an absolute host path refused" 1 "refusing entry 'h'" \
        lxm -q create evil4 --from "$H/hardlink-abs.tar"
    t_error "hard link through a planted symlink refused" 1 "refusing entry 'h' \(hard link through a symlink\)" \
        lxm -q create evil5 --from "$H/hardlink-symlink.tar"
    t_is "host file not linked" "$(stat -c %h "$OUT/target/victim")" 1
else
    t_skip "hostile hard links refused" "python3 (to write the archives) is not installed"
fi
t_is "hostile tarballs left no container" "$(state)" "$before"
t_ok "a plain hard link pair is fine" lxm -q create hl --from "$H/hardlink.tar"
t_is "no stray files outside" "$(ls -A "$OUT/target")" "victim"

# --- copy -------------------------------------------------------------------------------------
t_ok "copy src dst" lxm copy src dst
t_is "copy: hostname is the new name" "$(cat "$CT/dst/rootfs/etc/hostname" 2>/dev/null)" dst
t_ok "copy: config name" grep -qx 'name: dst' "$CT/dst/config.yaml"
t_is "copy: owner and mode kept" "$(stat -c '%u:%g %a' "$CT/dst/rootfs/data/file" 2>/dev/null)" "1234:2345 4750"
t_is "copy: hard link kept" "$(stat -c %i "$CT/dst/rootfs/data/hardlink" 2>/dev/null)" \
    "$(stat -c %i "$CT/dst/rootfs/data/file" 2>/dev/null)"
if [ -n "$have_caps" ]; then
    t_like "copy: file capability (xattr) kept" "$(getcap "$CT/dst/rootfs/data/file")" 'cap_net_raw[=+]ep'
else
    t_skip "copy: file capability (xattr) kept" "setcap not available"
fi
t_is "copy: device node kept" "$(stat -c '%F %t:%T' "$CT/dst/rootfs/data/null" 2>/dev/null)" "character special file 1:3"
t_error "copy onto an existing container" 1 "^lxm: error: container 'src' already exists$" \
    lxm copy dst src
# Durable like a create (storage-sync.c): the copy's data is written out
# before the rename that gives it its name, and that rename is committed
# (a syncfs of its filesystem) before copy returns.
if command -v strace >/dev/null; then
    TR=$T_ROOT/copy.strace
    strace -f -qq -o "$TR" -e trace=rename,renameat,renameat2,syncfs,sync_file_range,fdatasync \
        "$LXM_BIN" --root "$T_ROOT" copy src dst2 >/dev/null 2>&1
    t_ok "copy src dst2 (under strace)" test -f "$CT/dst2/config.yaml"
    named=$(grep -n "rename.*\"$CT/dst2\"" "$TR" | tail -1 | cut -d: -f1)
    t_like "copy: one rename gives dst2 its name" "$named" '^[0-9]+$'
    t_ok "copy: its data written out before that rename" \
        sh -c "head -n '$((${named:-1} - 1))' '$TR' | grep -Eq '(syncfs|sync_file_range|fdatasync)\('"
    t_ok "copy: the rename committed after it (syncfs)" \
        sh -c "tail -n '+$((${named:-0} + 1))' '$TR' | grep -q 'syncfs('"
    lxm delete dst2 >/dev/null 2>&1
else
    t_skip "copy: synced around its rename" "strace is not installed"
fi

# --- image cache: a corrupt entry is detected, removed, and rebuilt ------------------------------
# A debootstrap template whose mirror is a closed port on loopback, and a cache entry made
# by hand under the name lxm derives (template-release-arch-hash of variant
# and sorted packages): a hit needs no mirror; a corrupt entry must not be
# used, so lxm tries to rebuild it and fails on the missing mirror.
TD=$T_ROOT/templates
mkdir -p "$TD" "$LXM_CACHE_DIR/images"
cp "$LXM_TEMPLATES_DIR"/*.yaml "$TD/"
cat >"$TD/fakedeb.yaml" <<EOF
name: fakedeb
description: test only
releases: [bookworm]
source: {type: debootstrap, variant: minbase, include: [zz, aa], mirror: "http://127.0.0.1:9/debian"}
init: /sbin/init
profiles: [default]
EOF
export LXM_TEMPLATES_DIR=$TD
# A tarball template: path relative to the templates directory, sha256 checked.
cp "$OUT/good.tar.gz" "$TD/local.tar.gz"
sum=$(sha256sum "$TD/local.tar.gz" | cut -d' ' -f1)
printf 'name: localtar\nsource: {type: tarball, path: local.tar.gz, sha256: %s}\nprofiles: [default]\n' "$sum" >"$TD/localtar.yaml"
printf 'name: badsum\nsource: {type: tarball, path: local.tar.gz, sha256: %s}\nprofiles: [default]\n' \
    "$(printf '0%.0s' {1..64})" >"$TD/badsum.yaml"
t_ok "tarball template with a matching sha256" lxm -q create lt -t localtar
t_ok "tarball template extracted" test -L "$CT/lt/rootfs/sbin/init"
t_error "tarball template with a wrong sha256" 1 "local\.tar\.gz: sha256 is $sum, template 'badsum' expects 0{64}$" \
    lxm -q create bs -t badsum
t_ok "wrong sha256 left no container" test ! -e "$CT/bs"
key=$(printf 'variant=minbase\npackages=aa,zz,' | sha256sum | cut -c1-12)
img=$LXM_CACHE_DIR/images/fakedeb-bookworm-$(dpkg --print-architecture)-$key.tar.zst
cp "$OUT/good.tar.zst" "$img"
(cd "${img%/*}" && sha256sum "${img##*/}" >"$img.sha256")
t_ok "a valid cache entry is used (no mirror needed)" lxm -q create cached -t fakedeb
t_ok "the cached tree was extracted" test -L "$CT/cached/rootfs/sbin/init"
# The tree is in the image store now: drop it, so the next create has to
# unpack the (now corrupt) tarball again.
t_ok "the cached tree's image can go once unused" sh -c "'$LXM_BIN' --root '$T_ROOT' -q delete cached && '$LXM_BIN' --root '$T_ROOT' -q image prune"
printf 'garbage' | dd of="$img" bs=1 seek=100 conv=notrunc status=none
out=$(lxm create corrupt -t fakedeb 2>&1); rc=$?
t_is "corrupt cache entry: create fails without a mirror" "$rc" 1
t_like "corrupt cache entry: detected" "$out" "image cache: $img is corrupt \(sha256 mismatch\)"
t_like "corrupt cache entry: rebuilt from the mirror" "$out" "bootstrapping fakedeb bookworm"
t_ok "corrupt cache entry: removed, never used" test ! -e "$img" -a ! -e "$CT/corrupt"

t_done

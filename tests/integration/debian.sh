#!/usr/bin/env bash
# The Debian template and the image cache: a cold create (debootstrap from
# the host's mirror, packed once into the cache), a warm create (checksum,
# extraction, no network), what the tree holds, and a corrupt cache file
# that is detected and rebuilt. The cache lives outside the test's root
# (LXM_CACHE_DIR, default /var/cache/lxm-test) so runs after the first one
# only pay for the rebuild check. Booting it is tested elsewhere.
. "$(dirname "$0")/../lib.sh"
t_setup debian
t_storage dir # these checks read and write containers/NAME/rootfs on disk
export LXM_CACHE_DIR=${LXM_CACHE_DIR:-/var/cache/lxm-test}
CT=$T_ROOT/var/lib/lxm/containers
ARCH=$(dpkg --print-architecture)

if ! command -v mmdebstrap >/dev/null && ! command -v debootstrap >/dev/null; then
    t_skip "debian template" "neither mmdebstrap nor debootstrap is installed"
    t_done
    exit
fi

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
images() { ls "$LXM_CACHE_DIR/images/debian-bookworm-$ARCH-"*.tar.zst 2>/dev/null; }

# --- first create: cold unless an earlier run left the cache ---------------------------
t0=$(date +%s%N)
out=$(lxm --debug create d1 -t debian 2>&1); rc=$?
t_is "create d1 -t debian" "$rc" 0
[ "$rc" = 0 ] || printf '%s\n' "$out" | tail -5 | sed 's/^/#   /'
case $out in *bootstrapping*) kind=cold ;; *) kind=warm ;; esac
echo "# first create ($kind): $(ms_since "$t0") ms"
# The cache holds other package sets too (sysvinit, OpenRC, ...): this
# template's file is the one lxm names.
img=$(printf '%s\n' "$out" | sed -n 's/.*image cache file: //p' | head -1)
t_like "lxm names the cache file" "$img" "^$LXM_CACHE_DIR/images/debian-bookworm-$ARCH-[0-9a-f]+\.tar\.zst\$"
t_ok "the cache holds the image" test -s "$img"
t_ok "the cache image has a valid .sha256 beside it" \
    sh -c "cd '${img%/*}' && sha256sum --quiet -c '${img##*/}.sha256'"

# --- warm create: from the cache, no bootstrap ------------------------------------------
t0=$(date +%s%N)
out=$(lxm create d2 -t debian 2>&1); rc=$?
ms=$(ms_since "$t0")
t_is "warm create d2" "$rc" 0
echo "# warm create: $ms ms"
t_is "warm create does not bootstrap" "$(printf '%s\n' "$out" | grep -c bootstrapping)" 0

# --- the tree ------------------------------------------------------------------------------
R=$CT/d2/rootfs
# Every file's type, owner, mode, size and link target is the same in both
# trees (they differ only in timestamps, random contents, and the sizes of
# directories, which depend on how they grew). Compared before anything
# below runs in a chroot of d2: a tree has no /dev/null, and a command
# writing to it there would leave a plain file.
meta() {
    (cd "$1" && find . -xdev \( -type d -printf '%p d %U:%G %m\n' \) -o -printf '%p %y %U:%G %m %s %l\n' | sort)
}
t_is "tree metadata identical to the first create's" "$(meta "$CT/d2/rootfs" | md5sum)" "$(meta "$CT/d1/rootfs" | md5sum)"
t_is "no device node in either tree (a bootstrap's are dropped, the cache holds none)" \
    "$(find "$CT/d1/rootfs" "$CT/d2/rootfs" -xdev \( -type b -o -type c \) | wc -l)" 0
t_is "hostname" "$(cat "$R/etc/hostname")" d2
t_like "hosts names the container" "$(cat "$R/etc/hosts")" '127\.0\.1\.1[[:space:]]+d2'
t_like "machine-id is fresh" "$(cat "$R/etc/machine-id")" '^[0-9a-f]{32}$'
t_ok "machine-ids differ between containers" test "$(cat "$R/etc/machine-id")" != "$(cat "$CT/d1/rootfs/etc/machine-id")"
t_like "init is systemd" "$(readlink "$R/sbin/init")" 'systemd$'
t_ok "apt-get runs in the tree" chroot "$R" apt-get --version
t_ok "iproute2 and procps installed" test -x "$R/bin/ip" -a -x "$R/bin/ps"
t_like "networkd: DHCP on eth0" "$(cat "$R/etc/systemd/network/20-eth0.network")" 'DHCP=ipv4'
t_ok "networkd enabled" test -L "$R/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
for u in systemd-udevd.service systemd-timesyncd.service getty@tty1.service getty@tty6.service \
    systemd-networkd-wait-online.service; do
    t_is "$u masked" "$(readlink "$R/etc/systemd/system/$u")" /dev/null
done
t_is "hard links survive the cache" "$(stat -c %h "$R/usr/bin/perl")" "$(stat -c %h "$CT/d1/rootfs/usr/bin/perl")"
t_is "owner, group and mode survive the cache" "$(stat -c '%U:%G %a' "$R/etc/shadow")" "root:shadow 640"

# --- a corrupt cache file is detected and rebuilt ----------------------------------------------
# d1 and d2 keep the unpacked image in the store; without them it goes, so
# the next create has to read the (corrupted) tarball again.
for c in d1 d2; do t_ok "delete $c" lxm delete "$c"; done
t_like "the unused image is pruned" "$(lxm image prune 2>&1)" '^removed 1 unused image'
printf 'garbage' | dd of="$img" bs=1 seek=4096 conv=notrunc status=none
t0=$(date +%s%N)
out=$(lxm create d3 -t debian 2>&1); rc=$?
t_is "create over a corrupt cache file" "$rc" 0
echo "# rebuild create: $(ms_since "$t0") ms"
t_like "corruption detected" "$out" "image cache: .* is corrupt \(sha256 mismatch\)"
t_like "image rebuilt by a bootstrap" "$out" "bootstrapping debian bookworm"
t_ok "rebuilt image has a valid .sha256" sh -c "cd '${img%/*}' && sha256sum --quiet -c '${img##*/}.sha256'"
t_is "rebuilt container is complete" "$(cat "$CT/d3/rootfs/etc/hostname" 2>/dev/null)" d3

t_ok "delete d3" lxm delete d3
t_is "nothing left" "$(ls -A "$CT")" ""
t_done

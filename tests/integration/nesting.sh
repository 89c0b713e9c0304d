#!/usr/bin/env bash
# Containers inside containers (issue 16): an unprivileged Debian container
# started with -p default -p nesting runs
#   - lxm itself: launch a busybox container (nested user namespace, the
#     delegated cgroups, its own bridge and dnsmasq), attach, stop;
#   - podman: import a busybox rootfs tarball made here, run --rm, and a
#     web server with a published port;
#   - docker.io: the same;
# and the same tools fail in a container of the same image without
# nesting, with that container still running. The Debian rootfs with
# podman, docker.io and lxm's runtime libraries comes from the image cache
# (LXM_CACHE_DIR/nesting); the first run on a machine bootstraps it once
# from the host's mirror (about a minute). The lxm under test is copied in.
. "$(dirname "$0")/../lib.sh"
t_setup nesting
# Overlay storage for a container's own containers (podman's overlay,
# docker's overlay2) is refused on top of an overlayfs rootfs.
t_storage dir
export LXM_CACHE_DIR=${LXM_CACHE_DIR:-/var/cache/lxm-test}
t_cgroup_parent lxmt-nest-$$

# The image with podman and docker.io lives in a cache directory of its own
# (the package downloads are shared): suites that look for "the" Debian
# image in the cache (debian.sh) must not find this one.
NEST_CACHE=$LXM_CACHE_DIR/nesting
mkdir -p "$LXM_CACHE_DIR/debs" "$NEST_CACHE" && chmod 700 "$NEST_CACHE"
[ -e "$NEST_CACHE/debs" ] || ln -s ../debs "$NEST_CACHE/debs"
N=nest$$ # -p default -p nesting
P=flat$$ # -p default
PKGS=busybox-static,libnl-route-3-200,libapparmor1,libseccomp2,libcap2,libyaml-0-2
PKGS=$PKGS,libarchive13,libnftables1,dnsmasq-base,nftables,podman,docker.io

# --- busybox: what the profile gives, quickly and without a network -------------------------
# The cgroup device program of a container with extra devices used to fail
# to load (the verifier's log did not fit its buffer).
t_ok "launch a busybox container with -p default -p nesting" lxm launch bn -t busybox -p default -p nesting
t_ok "launch one with -p default" lxm launch bd -t busybox -p default
t_ok "nesting: a fresh proc in a nested user namespace" lxm attach bn -- unshare -Urpfm --mount-proc true
t_ok "nesting: a fresh read-only sysfs in a nested user and network namespace" \
    lxm attach bn -- unshare -Urnpfm mount -t sysfs -o ro sysfs /mnt
t_fail "default: no fresh proc in a nested user namespace" lxm attach bd -- unshare -Urpfm --mount-proc true
t_fail "default: no fresh sysfs either" lxm attach bd -- unshare -Urnpfm mount -t sysfs -o ro sysfs /mnt
t_ok "nesting: /dev/net/tun and /dev/fuse" lxm attach bn -- test -c /dev/net/tun -a -c /dev/fuse
v1=$(awk '$0 ~ / - cgroup / && $5 ~ /\/pids$/ {print $5}' /proc/self/mountinfo | head -1)
if [ -n "$v1" ]; then
    t_is "nesting: its own v1 pids directory at /dev/.lxm/cgroup/pids, owned by its root" \
        "$(lxm attach bn -- stat -c %u /dev/.lxm/cgroup/pids)" 0
    t_is "... the host's lxm/ID directory, owned by the container's root on the host" \
        "$(stat -c %u "$v1/$LXM_CGROUP_PARENT/$(t_id bn)")" \
        "$(lxm attach bn -- cat /proc/self/uid_map | awk '{print $2}')"
    t_ok "nesting: no v1 devices directory (its rules need host root)" \
        lxm attach bn -- test ! -e /dev/.lxm/cgroup/devices
    t_is "default: nothing at /dev/.lxm" "$(lxm attach bd -- ls -A /dev/.lxm 2>/dev/null)" ""
fi
t_ok "stop bn" lxm stop bn
t_ok "stop bd" lxm stop bd

echo "# busybox part done at ${SECONDS}s"
# --- Debian with podman and docker.io ------------------------------------------------------------
if ! command -v mmdebstrap >/dev/null && ! command -v debootstrap >/dev/null; then
    t_skip "Debian: lxm, podman, docker inside" "neither mmdebstrap nor debootstrap is installed"
    t_done
    exit
fi
out=$(LXM_CACHE_DIR=$NEST_CACHE lxm create "$N" -t debian -p default -p nesting --include "$PKGS" 2>&1); rc=$?
if [ $rc != 0 ]; then
    t_skip "Debian: lxm, podman, docker inside" "no Debian rootfs with podman and docker.io (bootstrap failed: $(printf '%s' "$out" | tail -1))"
    t_done
    exit
fi
echo "# Debian create (cold bootstraps once) done at ${SECONDS}s"
t_ok "create $P (same image, default profile only)" env LXM_CACHE_DIR="$NEST_CACHE" "$LXM_BIN" --root "$T_ROOT" create "$P" -t debian -p default --include "$PKGS"

on() { local c=$1; shift; lxm attach "$c" -- "$@"; }
# The container's systemd is up (or failed for good) and its bus answers.
booted() { case $(on "$1" systemctl is-system-running 2>/dev/null) in running | degraded) return 0 ;; esac; return 1; }

t_ok "start $N (-p default -p nesting)" lxm start "$N"
t_ok "start $P" lxm start "$P"
t_ok "$N boots" t_wait 60 booted "$N"
t_ok "$P boots" t_wait 60 booted "$P"
t_is "$N: running, zero failed units" "$(on "$N" systemctl is-system-running)" running

echo "# two Debian boots done at ${SECONDS}s"
show=$(lxm profile show nesting)
t_like "profile show nesting: security.nesting" "$show" "nesting: true"
t_like "profile show nesting: no read-only paths" "$show" "readonly_paths: \[\]"
t_like "profile show nesting: fuse and tun" "$show" "devices: \[fuse, net/tun\]"

# --- what the nesting container has that the other has not -------------------------------
t_is "$N: a proc with nothing masked at /dev/.lxm/proc" \
    "$(on "$N" findmnt -rno FSTYPE,OPTIONS /dev/.lxm/proc)" "proc rw,nosuid,nodev,noexec,relatime"
t_is "$N: a sysfs at /dev/.lxm/sys" "$(on "$N" findmnt -rno FSTYPE /dev/.lxm/sys)" sysfs
t_is "$P: none" "$(on "$P" sh -c 'ls -A /dev/.lxm 2>/dev/null | wc -l')" 0
t_ok "$N: a fresh proc in a nested user namespace" on "$N" unshare -Urpfm --mount-proc true
t_ok "$N: /proc/sys/net is writable" on "$N" sh -c 'cat /proc/sys/net/ipv4/ip_forward >/proc/sys/net/ipv4/ip_forward'
t_fail "$P: /proc/sys/net is read-only" on "$P" sh -c 'cat /proc/sys/net/ipv4/ip_forward >/proc/sys/net/ipv4/ip_forward'
t_fail "$N: host-wide knobs stay closed in the visible proc (kernel.panic)" \
    on "$N" sh -c 'cat /proc/sys/kernel/panic >/dev/.lxm/proc/sys/kernel/panic'

# --- the payloads: lxm, a busybox rootfs tarball --------------------------------------------
BB=$T_ROOT/bb
mkdir -p "$BB/bin" "$BB/www"
cp "$(command -v busybox)" "$BB/bin/busybox"
for a in sh true httpd; do ln -s busybox "$BB/bin/$a"; done
echo hello-nest >"$BB/www/index.html"
tar -C "$BB" -cf "$T_ROOT/bb.tar" .
push() { # CONTAINER: lxm, its templates and profiles, bb.tar
    tar -C "$T_ROOT" -cf - bb.tar | on "$1" tar -C /root -xf - &&
        tar -C "$(dirname "$LXM_BIN")" -cf - lxm | on "$1" tar -C /usr/local/sbin -xf - &&
        tar -C "$LXM_TEMPLATES_DIR" -cf - . | on "$1" sh -c 'mkdir -p /usr/local/share/lxm/templates &&
            tar -C /usr/local/share/lxm/templates -xf -' &&
        tar -C "$LXM_PROFILES_DIR" -cf - . | on "$1" sh -c 'mkdir -p /usr/local/share/lxm/profiles &&
            tar -C /usr/local/share/lxm/profiles -xf -'
}
t_ok "copy lxm and bb.tar into $N" push "$N"
t_ok "copy lxm and bb.tar into $P" push "$P"
ilxm() { local c=$1; shift; on "$c" env LXM_TEMPLATES_DIR=/usr/local/share/lxm/templates \
    LXM_PROFILES_DIR=/usr/local/share/lxm/profiles lxm "$@"; }

# --- 1. lxm in lxm ---------------------------------------------------------------------------
t_ok "inner lxm launch b -t busybox" ilxm "$N" launch b -t busybox
t_is "inner b is RUNNING" "$(ilxm "$N" list --format json | jq -r '.[] | select(.name == "b") | .state')" RUNNING
t_is "inner attach runs in a nested user namespace" \
    "$(ilxm "$N" attach b -- cat /proc/self/uid_map | awk '{print $1, $2, $3}')" "0 0 65536"
t_is "... which is not the outer one" "$(on "$N" cat /proc/self/uid_map | awk '{print $1}')" 0
t_ok "inner attach b -- true" ilxm "$N" attach b -- /bin/true
has_addr() { ilxm "$N" list --format json | jq -e '.[] | select(.name == "b") | .ipv4 | length > 0' >/dev/null; }
t_ok "inner b gets an address from the inner bridge's dnsmasq" t_wait 20 has_addr
t_like "the inner bridge lives in $N's network namespace" "$(on "$N" ip -br link show lxmbr0)" '^lxmbr0 +UP'
if [ -n "$v1" ]; then
    t_is "inner b's pids limit is applied in the delegated v1 pids cgroup" \
        "$(on "$N" sh -c 'cat /dev/.lxm/cgroup/pids/lxm/b*/pids.max')" 4096
fi
t_ok "inner stop b" ilxm "$N" stop b
t_is "inner b is STOPPED" "$(ilxm "$N" list --format json | jq -r '.[] | select(.name == "b") | .state')" STOPPED

echo "# lxm in lxm done at ${SECONDS}s"
# --- 2. podman -------------------------------------------------------------------------------
# On a host whose controllers are all on cgroup v1 (hybrid), the cgroup2
# podman sees has none: its default pids limit (2048) cannot be applied.
if ! on "$N" grep -qw pids /sys/fs/cgroup/cgroup.controllers; then
    echo "# hybrid host: no pids controller in the container's cgroup2; podman gets pids_limit = 0"
    for c in "$N" "$P"; do
        on "$c" sh -c 'mkdir -p /etc/containers/containers.conf.d &&
            printf "[containers]\npids_limit = 0\n" >/etc/containers/containers.conf.d/nesting.conf'
    done
fi
t_ok "podman import bb.tar" on "$N" podman import -q /root/bb.tar localhost/bb
t_ok "podman run --rm bb /bin/true" on "$N" podman run --rm localhost/bb /bin/true
t_ok "podman run -d -p 8080:80 bb httpd" \
    on "$N" podman run -d --name web -p 8080:80 localhost/bb /bin/httpd -f -p 80 -h /www
get() { on "$N" busybox wget -qO- "http://127.0.0.1:$1/"; }
t_ok "podman: the published port answers" t_wait 20 get 8080
t_is "podman: ... with the container's page" "$(get 8080)" hello-nest
t_ok "podman rm -f web" on "$N" podman rm -f -t 0 web

echo "# podman done at ${SECONDS}s"
# --- 3. docker -------------------------------------------------------------------------------
t_ok "docker import bb.tar" on "$N" docker import /root/bb.tar bbd
t_ok "docker run --rm bbd /bin/true" on "$N" docker run --rm bbd /bin/true
t_ok "docker run -d -p 8081:80 bbd httpd" \
    on "$N" docker run -d --name web -p 8081:80 bbd /bin/httpd -f -p 80 -h /www
t_ok "docker: the published port answers" t_wait 20 get 8081
t_is "docker: ... with the container's page" "$(get 8081)" hello-nest
t_ok "docker rm -f web" on "$N" docker rm -f web

echo "# docker done at ${SECONDS}s"
# --- without nesting ---------------------------------------------------------------------------
out=$(ilxm "$P" launch b -t busybox 2>&1)
t_ok "without nesting: inner lxm launch fails" test "$?" != 0
t_like "... with lxm's error" "$out" "lxm: error: .*did not start"
echo "# $out"
out=$(on "$P" sh -c 'podman import -q /root/bb.tar localhost/bb >/dev/null && podman run --rm localhost/bb /bin/true' 2>&1)
t_ok "without nesting: podman run fails" test "$?" != 0
t_like "... with crun's error" "$out" "crun: "
echo "# $out"
# docker's runc needs no more than the default profile gives unless the
# default profile's masks are locked (then its fresh proc mount is refused).
if on "$P" unshare -m sh -c 'mount -t proc proc /mnt' 2>/dev/null; then
    t_skip "without nesting: docker run fails" "the default profile does not lock its masks here: a fresh proc mount is allowed"
else
    out=$(on "$P" sh -c 'docker import /root/bb.tar bbd >/dev/null && docker run --rm bbd /bin/true' 2>&1)
    t_ok "without nesting: docker run fails" test "$?" != 0
    echo "# $out"
fi
t_is "$P is still running" "$(on "$P" systemctl is-system-running)" running
t_is "$N is still running" "$(on "$N" systemctl is-system-running)" running
t_ok "stop $N" lxm stop "$N"
t_ok "stop $P" lxm stop "$P"
echo "# without nesting done at ${SECONDS}s"
t_done

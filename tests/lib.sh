# Shared helpers for integration tests (TAP producers, run as root).
#
#   . "$(dirname "$0")/../lib.sh"
#   t_setup NAME                 # own --root under /tmp, cleanup on exit
#   lxm create c1 -t busybox     # the built binary, always with --root
#   t_ok "desc" CMD ARGS...      # passes when CMD exits 0
#   t_fail "desc" CMD ARGS...    # passes when CMD exits non-zero
#   t_is "desc" "$got" "$want"
#   t_like "desc" "$got" REGEX
#   t_skip "desc" "reason"
#   t_error "desc" RC REGEX CMD...  # exit RC, one line on stderr matching REGEX
#   t_done
#
# Cleanup stops and deletes, by name, only the containers under this
# test's own root, then removes the root. Nothing is killed by pattern.

T_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LXM_BIN=${LXM_BIN:-$T_SRC/lxm/lxm}
export LXM_TEMPLATES_DIR=${LXM_TEMPLATES_DIR:-$T_SRC/templates}
export LXM_PROFILES_DIR=${LXM_PROFILES_DIR:-$T_SRC/profiles}
T_N=0
T_FAILED=0
T_ROOT=
T_CLEANUPS=()

lxm() { "$LXM_BIN" --root "$T_ROOT" "$@"; }

t_report() { # status desc [diag]
    T_N=$((T_N + 1))
    if [ "$1" = ok ]; then
        echo "ok $T_N - $2"
    else
        T_FAILED=$((T_FAILED + 1))
        echo "not ok $T_N - $2"
        [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
    fi
    return 0
}

t_ok() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then t_report ok "$desc"; else t_report fail "$desc" "exit $?: $out"; fi
}

t_fail() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then t_report fail "$desc" "expected failure, got exit 0: $out"; else t_report ok "$desc"; fi
}

t_is() {
    if [ "$2" = "$3" ]; then t_report ok "$1"; else t_report fail "$1" "got:  '$2'
want: '$3'"; fi
}

t_like() {
    if printf '%s' "$2" | grep -Eq -- "$3"; then t_report ok "$1"; else t_report fail "$1" "got:  '$2'
want: /$3/"; fi
}

t_skip() {
    T_N=$((T_N + 1))
    echo "ok $T_N - $1 # SKIP $2"
}

# t_error DESC WANT_RC REGEX CMD...: CMD fails with exit WANT_RC and
# exactly one line on stderr, which matches REGEX (how lxm must answer bad
# input).
t_error() {
    local desc=$1 want_rc=$2 want=$3 out rc
    shift 3
    out=$("$@" 2>&1 >/dev/null); rc=$?
    t_is "$desc: exit $want_rc" "$rc" "$want_rc"
    if [ "$(printf '%s\n' "$out" | wc -l)" = 1 ]; then
        t_like "$desc: message" "$out" "$want"
    else
        t_report fail "$desc: one line" "$out"
    fi
}

# Register a command to run at cleanup (before containers are removed).
t_on_exit() { T_CLEANUPS+=("$*"); }

t_cleanup() {
    local c i
    for ((i = ${#T_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${T_CLEANUPS[$i]}" >/dev/null 2>&1 || true; done
    [ -n "$T_ROOT" ] && [ -d "$T_ROOT" ] || return 0
    if [ -d "$T_ROOT/var/lib/lxm/containers" ]; then
        for c in "$T_ROOT"/var/lib/lxm/containers/*; do
            [ -e "$c/config.yaml" ] || continue
            c=${c##*/}
            lxm stop -k "$c" >/dev/null 2>&1 || true
            lxm delete -f "$c" >/dev/null 2>&1 || true
        done
    fi
    lxm net down -f >/dev/null 2>&1 || true
    # NAT66 on a test bridge (nat: true) switches the host's IPv6
    # forwarding on and accept_ra 1 to 2: put back what this test changed.
    local f v
    while read -r f v; do
        [ -n "$f" ] && [ -e "$f" ] && [ "$(cat "$f" 2>/dev/null)" != "$v" ] && echo "$v" >"$f" 2>/dev/null
    done <<<"$T_SYSCTL6"
    # Anything still mounted below our root (a crashed test) is unmounted
    # before the tree goes, so rm never walks into a host filesystem.
    findmnt -rn -o TARGET | grep "^$T_ROOT/" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf --one-file-system "$T_ROOT"
}

t_setup() {
    [ "$(id -u)" = 0 ] || { echo "1..0 # SKIP integration tests need root"; exit 0; }
    [ -x "$LXM_BIN" ] || { echo "Bail out! $LXM_BIN not built"; exit 1; }
    T_ROOT=$(mktemp -d "/tmp/lxm-it-$1.XXXXXX")
    # A managed bridge of the test's own (made only if a container needs
    # it), so no test touches the host's lxmbr0. Its dnsmasq forwards no
    # name to the host's resolvers: a container's lookups stay on this
    # machine (tests/integration/dns.sh opts in with resolvers of its own).
    T_BRIDGE=lxt$(t_id x | tail -c 8)
    mkdir -p "$T_ROOT/etc/lxm"
    printf 'network:\n  bridge: %s\n  dns:\n    upstream: []\n' "$T_BRIDGE" >"$T_ROOT/etc/lxm/lxm.yaml"
    T_SYSCTL6=$(grep -H . /proc/sys/net/ipv6/conf/*/forwarding /proc/sys/net/ipv6/conf/*/accept_ra 2>/dev/null | tr ':' ' ')
    trap t_cleanup EXIT
    trap 'exit 130' INT TERM
}

# The mount points of every cgroup hierarchy (v1 controllers and cgroup2).
t_cg_mounts() { awk '$0 ~ / - cgroup2? / {print $5}' /proc/self/mountinfo; }

# Put this test's containers below a cgroup parent of its own ($1, e.g.
# lxmt-NAME-$$) instead of "lxm", so they never share lxm/NAME with a real
# container; whatever a failed run leaves below that parent (and nothing
# else) is removed at exit.
t_cgroup_parent() {
    export LXM_CGROUP_PARENT=$1
    t_on_exit "t_cgroup_parent_rm '$1'"
}
t_cgroup_parent_rm() {
    local m
    for m in $(t_cg_mounts); do
        [ -d "$m/$1" ] && find "$m/$1" -depth -type d -exec rmdir {} +
    done
}

# Use storage driver $1 (dir, overlay, btrfs) for this test's containers.
# Suites that read or write a stopped container's files on disk
# (containers/NAME/rootfs) use dir, where that tree is the whole rootfs;
# on overlay it is the image plus containers/NAME/upper (storage.sh).
t_storage() {
    printf 'storage:\n  driver: %s\n' "$1" >>"$T_ROOT/etc/lxm/lxm.yaml"
}

t_done() {
    echo "1..$T_N"
    [ "$T_FAILED" = 0 ]
}

# The host-global id of container NAME under this test's root (its cgroup
# and AppArmor name): NAME + "-" + 8 hex of FNV-1a of --root (container.c).
t_id() {
    local s=$T_ROOT h=2166136261 i c
    for ((i = 0; i < ${#s}; i++)); do
        printf -v c '%d' "'${s:i:1}"
        h=$((((h ^ c) * 16777619) & 0xffffffff))
    done
    printf '%s-%08x' "$1" "$h"
}

# The host's view of container NAME (after pivot_root its /proc/PID/root
# no longer names its rootfs; its cgroup does, below LXM_CGROUP_PARENT or
# lxm): t_pids_in, the PIDs in its cgroup, one a line; t_init_pids, only
# its inits (pid 1 of a pid namespace); t_cgroups_of, how many cgroup
# directories it has (v1 hierarchies and cgroup2).
t_pids_in() {
    local p id
    id=$(t_id "$1")
    for p in /proc/[0-9]*; do
        grep -q "/${LXM_CGROUP_PARENT:-lxm}/$id\$" "$p/cgroup" 2>/dev/null && echo "${p#/proc/}"
    done
}
t_init_pids() {
    local p
    for p in $(t_pids_in "$1"); do
        grep -Eq '^NSpid:.*[[:space:]]1$' "/proc/$p/status" 2>/dev/null && echo "$p"
    done
}
t_cgroups_of() {
    local dir
    dir=${LXM_CGROUP_PARENT:-lxm}/$(t_id "$1")
    ls -d /sys/fs/cgroup/*/"$dir" /sys/fs/cgroup/"$dir" 2>/dev/null | wc -l
}

# The cache file of the debian template's default build (bookworm,
# systemd) as lxm names it, when it is there: the cache also holds other
# package sets (sysvinit, OpenRC, extra packages), so never pick by ls.
t_debian_tarball() {
    local f
    f=$("$LXM_BIN" --root "$T_ROOT" --debug create --dry-run \
        t-debian-probe -t debian 2>&1 | sed -n 's/.*image cache file: //p' | head -1)
    [ -n "$f" ] && [ -s "$f" ] && echo "$f"
}

# Wait up to $1 seconds for CMD to succeed.
t_wait() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}

# t_ip6_settled NAME: the container's eth0 has a global IPv6 address that
# is no longer tentative: duplicate address detection (about a second) is
# over and the address answers. Readiness does not wait for it; a packet
# sent before it is lost. Use with t_wait.
t_ip6_settled() {
    local a idx plen scope flags dev
    while read -r a idx plen scope flags dev; do
        [ "$dev" = eth0 ] && [ "$scope" = 00 ] && (((0x$flags & 0x40) == 0)) && return 0
    done < <(lxm attach "$1" -- cat /proc/net/if_inet6)
    return 1
}

# t_pid NAME: the container's init pid as lxm info reports it (empty if none).
t_pid() { lxm info "$1" --format json | jq -r '.pid // empty'; }

# UDP for the port-forward suites (python3 -c): T_UDP_CLIENT ADDR PORT sends
# "ping" and prints the answer, over the family of ADDR; T_UDP_SERVER 4|6
# answers on port 53 of every address of that family, "pong from SENDER".
T_UDP_CLIENT='import socket, sys
fam, _, _, _, addr = socket.getaddrinfo(sys.argv[1], int(sys.argv[2]), type=socket.SOCK_DGRAM)[0]
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"ping", addr)
print(s.recvfrom(200)[0].decode())'
T_UDP_SERVER='import socket, sys
six = sys.argv[1] == "6"
s = socket.socket(socket.AF_INET6 if six else socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("::" if six else "0.0.0.0", 53))
while True:
    d, a = s.recvfrom(200)
    s.sendto(b"pong from " + a[0].encode(), a)'

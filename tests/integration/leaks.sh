#!/usr/bin/env bash
# Leaks (issue 18): LEAK_CYCLES (default 200) start/stop cycles of a busybox
# container with an eth0 on a bridge, every other stop clean (halt signal)
# and the rest `stop -k`. Before and after, these counts must be equal:
# mounts made in the test's namespace (and their mount points), cgroup
# directories below our own parent (every v1 hierarchy and the unified
# one), network links, addresses and nft rules, files under the test's
# root, open fds of this shell, and processes. A second container
# with a port forward (both families: the bridge has IPv6) goes through
# LEAK_PORT_CYCLES (default 20) of the cycles too: its nft chains and
# tables (ip and ip6 lxm_port-forwards) must be gone after each stop.
#
# Other tests may run on this host at the same time, so the test re-runs
# itself in new mount, pid and network namespaces: every mount, link and
# process it counts is its own (lxm's monitors, inits and dnsmasq included,
# which are reparented to this shell, pid 1 of the new pid namespace).
# Cgroups are not namespaced here: LXM_CGROUP_PARENT gives us a parent of
# our own, and only directories below it are counted.
#
#   LEAK_CYCLES=1000 tests/run integration leaks    (the long run, by hand)
if [ -z "${LXM_LEAKS_IN_NS:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "1..0 # SKIP integration tests need root"; exit 0; }
    export LXM_LEAKS_IN_NS=1
    exec unshare --mount --propagation private --pid --fork --kill-child --mount-proc --net \
        bash "$0" "$@"
fi
# The mounts copied from the host's namespace can vanish under us: when the
# host unlinks a mount point (`ip netns del` in another test removes
# /run/netns/NAME), the kernel detaches its copies in every namespace, ours
# too (seen once as one mount less after the cycles). None of them is
# lxm's, so only the mounts made since are counted: everything lxm (or this
# test) mounts, anywhere, has a mount id that is not in this list.
INHERITED_MOUNTS=$(awk '{print $1}' /proc/self/mountinfo)
. "$(dirname "$0")/../lib.sh"
t_setup leaks
t_cgroup_parent lxmt-leaks-$$-$RANDOM
CYCLES=${LEAK_CYCLES:-200}
PCYCLES=${LEAK_PORT_CYCLES:-20}
C=lk1 PC=lk2

ip link set lo up

# The mount point of every mount made since the start (see INHERITED_MOUNTS).
new_mounts() {
    awk -v old="$INHERITED_MOUNTS" 'BEGIN { n = split(old, a, "\n"); for (i = 1; i <= n; i++) inh[a[i]] = 1 }
        !($1 in inh) { print $5 }' /proc/self/mountinfo
}

# One line per kind of thing, so a difference names what leaked.
counts() {
    local m v1=0 v2=0 n procs
    echo "mounts $(new_mounts | wc -l)"
    for m in $(t_cg_mounts); do
        n=0
        [ -d "$m/$LXM_CGROUP_PARENT" ] && n=$(find "$m/$LXM_CGROUP_PARENT" -type d | wc -l)
        if findmnt -n -o FSTYPE "$m" | grep -qx cgroup2; then v2=$((v2 + n)); else v1=$((v1 + n)); fi
    done
    echo "cgroup-dirs-v1 $v1"
    echo "cgroup-dirs-unified $v2"
    # A cgroup made outside our parent would escape the counts above.
    echo "cgroup-dirs-named-$C $(find $(t_cg_mounts) -maxdepth 4 -type d -name "$(t_id "$C")*" 2>/dev/null | wc -l)"
    echo "links $(ip -o link show | wc -l)"
    echo "addresses $(ip -o addr show | wc -l)"
    echo "nft-rule-lines $(nft list ruleset 2>/dev/null | wc -l)"
    # Rotated logs (NAME.log.1) are bounded by design, not leaks.
    echo "files $(find "$T_ROOT" -xdev ! -name '*.log.[0-9]*' | wc -l)"
    echo "shell-fds $(find /proc/$$/fd -mindepth 1 | wc -l)"
    # Every process of our pid namespace, counted by a glob in this shell:
    # a `find | wc` pipeline counted itself 1 or 2 times, as wc was forked
    # before or after find read /proc (seen as "before 6, after 5").
    procs=0
    for p in /proc/[0-9]*; do [ -d "$p" ] && procs=$((procs + 1)); done
    echo "processes $procs"
}
state_of() { lxm list --format csv 2>/dev/null | awk -F, -v n="$1" '$1 == n { print $2 }'; }

t_ok "create $C (busybox, eth0 on our bridge)" lxm create "$C" -t busybox
# Warm-up: the bridge, its dnsmasq, nft table and log dirs exist before the
# baseline, as they stay after the cycles.
t_ok "create $PC with a port forward" lxm create "$PC" -t busybox -c 'ports=[{host: 8080, container: 80}]'
t_ok "warm-up start" lxm start "$C"
t_ok "warm-up stop" lxm stop -k "$C"
t_ok "warm-up start of $PC" lxm start "$PC"
t_like "... its forwards in ip and ip6" "$(nft list ruleset 2>/dev/null | grep -c "chain p-$(t_id "$PC") ")" '^2$'
t_ok "warm-up stop of $PC" lxm stop -k "$PC"
before=$(counts)
printf '%s\n' "$before" | sed 's/^/# before: /'
mounts_before=$(new_mounts | sort)

fails=0
firstfail=
t0=$(date +%s%N)
for ((i = 1; i <= CYCLES; i++)); do
    out=$(lxm start "$C" 2>&1) || { fails=$((fails + 1)); firstfail=${firstfail:-"start #$i: $out"}; }
    if ((i % 2)); then
        out=$(lxm stop -t 10 "$C" 2>&1)
    else
        out=$(lxm stop -k "$C" 2>&1)
    fi || { fails=$((fails + 1)); firstfail=${firstfail:-"stop #$i: $out"}; }
    ((i > PCYCLES)) && continue
    out=$(lxm start "$PC" 2>&1) || { fails=$((fails + 1)); firstfail=${firstfail:-"start $PC #$i: $out"}; }
    out=$(lxm stop -k "$PC" 2>&1) || { fails=$((fails + 1)); firstfail=${firstfail:-"stop $PC #$i: $out"}; }
done
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# $CYCLES cycles (and $PCYCLES of $PC) in $ms ms: $((ms / (CYCLES > 0 ? CYCLES : 1))) ms per start/stop cycle, $PC's included"
t_is "$CYCLES start/stop cycles without a failure" "$fails${firstfail:+: $firstfail}" 0
t_is "$C is STOPPED after the cycles" "$(state_of "$C")" STOPPED

after=$(counts)
printf '%s\n' "$after" | sed 's/^/# after:  /'
while read -r what n; do
    t_is "no leak: $what" "$(printf '%s\n' "$after" | awk -v w="$what" '$1 == w {print $2}')" "$n"
done <<<"$before"
t_is "no leak: the same mount points" "$(new_mounts | sort)" "$mounts_before"

t_ok "delete $C" lxm delete "$C"
t_ok "delete $PC" lxm delete "$PC"
t_done

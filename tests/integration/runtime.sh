#!/usr/bin/env bash
# Runtime core: start / attach / console / freeze / stop of real busybox
# containers, what is left on the host afterwards, and bad input.
. "$(dirname "$0")/../lib.sh"
t_setup runtime
t_storage dir # these checks read and write containers/NAME/rootfs on disk

# Host-global names (cgroup lxm/ID, see t_id) carry our root; unique anyway.
C=rt$$a
S=rt$$b
M=rt$$c

mounts_under_root() { findmnt -rn -o TARGET | grep -c "^$T_ROOT/" || true; }
state_of() { lxm list --format csv 2>/dev/null | awk -F, -v n="$1" '$1 == n { print $2 }'; }
init_pid() { cut -d' ' -f2 "$T_ROOT/run/lxm/$1/state"; }
monitor_pid() { cut -d' ' -f1 "$T_ROOT/run/lxm/$1/state"; }
no_procs() { [ -z "$(t_pids_in "$1")" ]; }
# What run/lxm holds besides the locks (run/lxm/.locks/NAME.lock: empty
# files that are never removed, docs/locking.md), the seccomp program
# cache (run/lxm/.seccomp/KEY, kept across starts, docs/security.md),
# attach's cgroup layout (run/lxm/.cgroup-layout, a file, docs/cgroups.md),
# the masks' empty directory (run/lxm/.empty) and the monitors' stage
# point (run/lxm/.stage), the sweep's list of container directories it
# found clean (run/lxm/.leftovers-clean, a file, docs/storage.md), and
# anything in those that is not such a file.
run_leftovers() {
    ls -A "$T_ROOT/run/lxm" 2>/dev/null |
        grep -vx -e .locks -e .seccomp -e .cgroup-layout -e .empty -e .stage -e .leftovers-clean
    [ ! -e "$T_ROOT/run/lxm/.cgroup-layout" ] || [ -f "$T_ROOT/run/lxm/.cgroup-layout" ] || echo .cgroup-layout
    [ ! -e "$T_ROOT/run/lxm/.leftovers-clean" ] || [ -f "$T_ROOT/run/lxm/.leftovers-clean" ] || echo .leftovers-clean
    # The masks' shared empty directory (rootfs-lock.c) stays, empty; so
    # does the monitors' stage point (each mounts its stage on it in a
    # mount namespace of its own).
    find "$T_ROOT/run/lxm/.empty" "$T_ROOT/run/lxm/.stage" -mindepth 1 2>/dev/null
    [ ! -e "$T_ROOT/run/lxm/.stage" ] || [ -d "$T_ROOT/run/lxm/.stage" ] || echo ".stage is not a directory"
    find "$T_ROOT/run/lxm/.locks" -mindepth 1 \( -not -name '*.lock' -o -not -type f -o -not -empty \) 2>/dev/null
    find "$T_ROOT/run/lxm/.seccomp" -mindepth 1 -regextype posix-extended \( -not -regex '.*/[0-9a-f]{64}' -o -not -type f \) 2>/dev/null
}

mk() { lxm create "$1" -t busybox -c network.eth0.type=none; }

# --- create, start, look inside ----------------------------------------------
t_ok "create $C from the busybox template" mk "$C"
touch "$T_ROOT/var/lib/lxm/containers/$C/rootfs/lxm-rootfs-marker"
t_ok "start $C" lxm start "$C"
t_is "list says RUNNING" "$(state_of "$C")" RUNNING

ps_out=$(lxm attach "$C" -- ps -o pid,comm 2>&1)
t_like "attach ps: init is PID 1" "$ps_out" '^ *1 +init'
t_is "attach ps: only the container's processes" \
    "$(printf '%s\n' "$ps_out" | grep -Ec 'lxm|bash|process_api')" 0
t_like "attach ps: a handful of processes, not the host's" \
    "$(printf '%s\n' "$ps_out" | wc -l)" '^[2-9]$'
t_is "the host sees one init in the container's cgroup" "$(t_init_pids "$C" | wc -l)" 1
# In every hierarchy, v1 ones included (the monitor attaches there beside
# its other work and must have finished before the release); in a v1
# hierarchy where the container has no directory of its own (cpu or
# cpuset without a limit, name=systemd: docs/cgroups.md) in lxm/ itself.
# outside PID: the lines of /proc/PID/cgroup that say otherwise.
outside() {
    awk -F: -v id="$(t_id "$C")" '{ lazy = $1 != 0; n = split($2, c, ",")
        for (i = 1; i <= n; i++) if (c[i] ~ /^(memory|cpuacct|pids|blkio|freezer|devices)$/) lazy = 0 }
        !($3 == "/lxm/" id || (lazy && $3 == "/lxm"))' "/proc/$1/cgroup" | wc -l
}
t_is "init is in the container's cgroup in every hierarchy" "$(outside "$(init_pid "$C")")" 0

ipid=$(init_pid "$C")
same=
for ns in mnt pid uts ipc net cgroup; do
    [ "$(readlink /proc/$ipid/ns/$ns)" = "$(readlink /proc/self/ns/$ns)" ] && same="$same $ns"
done
t_is "every namespace of init differs from the host's" "$same" ""
t_is "hostname is the container's" "$(lxm attach "$C" -- hostname 2>&1)" "$C"
ls_out=$(lxm attach "$C" -- ls / 2>&1)
t_like "ls / shows the container's rootfs" "$ls_out" lxm-rootfs-marker
t_is "ls / does not show the host's" "$(printf '%s\n' "$ls_out" | grep -c '^work$')" 0
t_like "loopback is up inside" "$(lxm attach "$C" -- ip link show lo 2>&1)" 'UP'
t_is "init's environment has container=lxm" \
    "$(tr '\0' '\n' </proc/$ipid/environ | grep '^container=')" container=lxm
t_like "/dev/console is the monitor's pty" "$(lxm attach "$C" -- ls -l /dev/console 2>&1)" '^c'
t_is "inherited fds: only stdio in attach" "$(lxm attach "$C" -- ls /proc/self/fd 2>&1 | tr '\n' ' ')" "0 1 2 3 "

# The attached command as the host sees it: in the container's cgroup in
# every hierarchy (cgroup2 by clone3, each v1 one by its own write to
# tasks), in init's namespaces, with init's bounding set, seccomp mode and
# no_new_privs.
"$LXM_BIN" --root "$T_ROOT" attach "$C" -- sleep 60 </dev/null >/dev/null 2>&1 &
apid=$!
attached() { pgrep -P "$apid" -x sleep; }
if t_wait 10 attached; then
    spid=$(attached)
    t_is "attached command: in the container's cgroup in every hierarchy" "$(outside "$spid")" 0
    t_is "attached command: in as many hierarchies as init" \
        "$(wc -l <"/proc/$spid/cgroup")" "$(wc -l <"/proc/$ipid/cgroup")"
    diff_ns=
    for ns in mnt pid uts ipc net cgroup user; do
        [ "$(readlink /proc/$spid/ns/$ns)" = "$(readlink /proc/$ipid/ns/$ns)" ] || diff_ns="$diff_ns $ns"
    done
    t_is "attached command: init's namespaces" "$diff_ns" ""
    sec() { grep -E '^(CapBnd|Seccomp|NoNewPrivs):' "/proc/$1/status"; }
    t_is "attached command: init's bounding set, seccomp mode, no_new_privs" "$(sec "$spid")" "$(sec "$ipid")"
    # SIGTERM to the CLI reaches the command; the CLI reaps it and exits.
    done_() { [ ! -e "/proc/$spid" ] && ! grep -q '^State:[[:space:]]*[RSD]' "/proc/$apid/status" 2>/dev/null; }
    kill "$apid"
    if t_wait 10 done_; then
        t_report ok "attached command: SIGTERM to the CLI ends both"
        wait "$apid"
        t_is "attached command: the CLI's status is the command's (143)" "$?" 143
    else
        t_report fail "attached command: SIGTERM to the CLI ends both"
        kill -KILL "$apid" "$spid" 2>/dev/null
    fi
else
    t_report fail "attached command: sleep never showed up under lxm attach ($apid)"
    kill "$apid" 2>/dev/null
fi

# attach takes the host's cgroup layout from run/lxm/.cgroup-layout, and
# only while it is whole and still the host's (docs/cgroups.md): here one
# without the memory hierarchy, then one whose mount ids are not the
# mounts' any more. Either way the command is in every hierarchy (the
# guest sees "/" in each of its own) and the entry is written anew.
LAYOUT=$T_ROOT/run/lxm/.cgroup-layout
t_ok "attach keeps the host's cgroup layout" test -f "$LAYOUT"
in_every() { lxm attach "$C" -- cat /proc/self/cgroup | grep -vc ':/$'; }
sed -i '/\tmemory\t/d' "$LAYOUT"
t_is "layout entry without a hierarchy: the command is in every one" "$(in_every)" 0
t_like "... and the entry is whole again" "$(cat "$LAYOUT")" "	memory	"
sed -i 's/^mount\t\([12]\)\t[0-9]*/mount\t\1\t999999/' "$LAYOUT"
t_is "layout entry with other mount ids: the command is in every one" "$(in_every)" 0
t_is "... and the entry has the mounts' ids again" "$(grep -c '	999999	' "$LAYOUT")" 0

# --- attach: exit codes, stdin, environment, pty ------------------------------
lxm attach "$C" -- true
t_is "attach exit code 0" "$?" 0
lxm attach "$C" -- sh -c 'exit 3'
t_is "attach exit code 3" "$?" 3
lxm attach "$C" -- sh -c 'kill -INT $$'
t_is "attach exit code 130 (SIGINT)" "$?" 130
t_is "stdin is piped through" "$(echo hi | lxm attach "$C" -- cat)" hi
t_is "--env, --cwd and -u apply" \
    "$(lxm attach "$C" -u 1000 --env FOO=bar --cwd /tmp -- sh -c 'echo $FOO $(pwd) $(id -u) $container')" \
    "bar /tmp 1000 lxm"
out=$(printf 'tty\nexit 4\n' | script -qec "'$LXM_BIN' --root '$T_ROOT' attach $C" /dev/null 2>&1)
rc=$?
t_like "pty session: a terminal from the container's devpts" "$out" '/dev/pts/[0-9]'
t_is "pty session: exit status passes through" "$rc" 4
t_fail "attach: an unknown command fails" lxm attach "$C" -- /no/such/cmd

# --- console ------------------------------------------------------------------
out=$( (sleep 0.3; printf '\n'; sleep 0.5; printf '\001q') |
    timeout 20 script -qec "'$LXM_BIN' --root '$T_ROOT' console $C" /dev/null 2>&1)
t_is "console: Ctrl-a q detaches" "$?" 0
t_like "console: shows the getty" "$out" 'login:'
# The command layer says these (the library does not print): the user's
# lines around a console session on a terminal, as they have always been.
t_like "console: says how to detach" "$out" "Connected to the console of $C \\(Ctrl-a q to detach\\)"
t_like "console: says it detached" "$out" "Detached from $C"
t_like "console.log keeps init's output" "$(cat "$T_ROOT/var/log/lxm/$C/console.log")" 'login:'

# --- freeze -------------------------------------------------------------------
if lxm freeze "$C" 2>/dev/null; then
    t_is "freeze: state FROZEN" "$(state_of "$C")" FROZEN
    out=$(timeout 20 "$LXM_BIN" --root "$T_ROOT" attach "$C" -- true 2>&1)
    rc=$?
    t_like "attach to a frozen container says so" "$rc $out" '^1 .*frozen'
    t_ok "unfreeze" lxm unfreeze "$C"
    t_is "unfreeze: state RUNNING" "$(state_of "$C")" RUNNING
else
    t_skip "freeze" "the cgroup freezer is not available here"
fi

# --- start twice, reboot from inside ------------------------------------------
out=$(lxm start "$C" 2>&1)
t_like "start of a running container: exit 1, already running" "$? $out" "^1 .*'$C' is already running"
old=$(init_pid "$C")
lxm attach "$C" -- reboot
t_ok "reboot inside: init comes back" t_wait 20 eval '[ -f "$T_ROOT/run/lxm/$C/state" ] && [ "$(init_pid "$C")" != "$old" ]'
t_is "reboot inside: still RUNNING" "$(state_of "$C")" RUNNING
t_is "reboot inside: one init" "$(t_init_pids "$C" | wc -l)" 1
t_is "reboot inside: the new init is in every hierarchy" "$(outside "$(init_pid "$C")")" 0

old=$(init_pid "$C")
t_ok "restart" lxm restart "$C" -t 10
t_is "restart: RUNNING with a new init" "$(state_of "$C") $([ "$(init_pid "$C")" != "$old" ] && echo new)" "RUNNING new"

# --- stop ---------------------------------------------------------------------
t_ok "stop $C" lxm stop "$C"
t_is "stop: STOPPED" "$(state_of "$C")" STOPPED
t_ok "stop: no process left" t_wait 10 no_procs "$C"
t_is "stop: no cgroup left" "$(t_cgroups_of "$C")" 0
t_is "stop: no mount left" "$(mounts_under_root)" 0
t_is "stop: no runtime state left" "$(run_leftovers)" ""
out=$(lxm attach "$C" -- true 2>&1)
t_is "attach to a stopped container: exit 1" "$? $out" "1 lxm: error: container '$C' is not running"
out=$(lxm stop "$C" 2>&1)
t_like "stop of a stopped container: exit 1" "$? $out" "^1 .*not running"
t_fail "console of a stopped container" lxm console "$C"

# --- two concurrent starts ----------------------------------------------------
lxm start "$C" >"$T_ROOT/s1" 2>&1 &
p1=$!
lxm start "$C" >"$T_ROOT/s2" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
t_is "concurrent starts: one succeeds, one fails" "$((r1 + r2))" 1
t_like "concurrent starts: the other says already running" "$(cat "$T_ROOT/s1" "$T_ROOT/s2")" 'already running'
t_is "concurrent starts: exactly one init" "$(t_init_pids "$C" | wc -l)" 1

# --- monitor killed -------------------------------------------------------------
mon=$(monitor_pid "$C")
ipid=$(init_pid "$C")
kill -9 "$mon"
t_ok "monitor killed: it is gone" t_wait 5 eval "! kill -0 $mon"
out=$(lxm list 2>&1)
t_like "monitor killed: list still says RUNNING" "$out" "$C +RUNNING"
t_like "monitor killed: list warns" "$out" "warning.*monitor"
t_like "monitor killed: info says RUNNING" "$(lxm info "$C" 2>&1)" 'RUNNING'
t_is "monitor killed: attach still works" "$(lxm attach "$C" -- hostname 2>&1 | grep -v warning)" "$C"
t_ok "monitor killed: stop works" lxm stop "$C" -t 10
t_is "monitor killed: STOPPED after stop" "$(state_of "$C")" STOPPED
t_ok "monitor killed: init is gone" t_wait 10 no_procs "$C"
t_is "monitor killed: no cgroup left" "$(t_cgroups_of "$C")" 0

# --- init that ignores the halt signal -----------------------------------------
t_ok "create $S" mk "$S"
R=$T_ROOT/var/lib/lxm/containers/$S
# ash catches SIGINT when running a script: ignore the halt signal explicitly.
printf '#!/bin/sh\ntrap "" INT\nwhile :; do sleep 1; done\n' >"$R/rootfs/sbin/stubborn"
chmod +x "$R/rootfs/sbin/stubborn"
sed -i 's#^init: .*#init: /sbin/stubborn#' "$R/config.yaml"
t_ok "start $S (halt-ignoring init)" lxm start "$S"
out=$(lxm stop "$S" -t 2 2>&1)
t_like "stop: escalates to SIGKILL and says so" "$? $out" '^0 .*SIGKILL'
t_is "stop: STOPPED after SIGKILL" "$(state_of "$S")" STOPPED
t_ok "stop: nothing left of $S" t_wait 10 no_procs "$S"
t_ok "start again, stop -k kills at once" lxm start "$S"
t_ok "stop -k" lxm stop -k "$S"
t_is "stop -k: STOPPED" "$(state_of "$S")" STOPPED

# --- bad input -----------------------------------------------------------------
out=$(lxm start nosuch 2>&1)
t_is "start of an unknown container: exit 1" "$? $out" "1 lxm: error: container 'nosuch' not found"
t_fail "attach to an unknown container" lxm attach nosuch -- true
t_ok "create $M" mk "$M"
sed -i 's#^init: .*#init: /sbin/no-such-init#' "$T_ROOT/var/lib/lxm/containers/$M/config.yaml"
out=$(lxm start "$M" 2>&1)
rc=$?
# Warnings (e.g. no AppArmor in this kernel) may come first: check the error line.
t_like "missing init: exit 1 with the child's reason" "$rc $(grep -v '^lxm: warning:' <<<"$out")" '^1 lxm: error: .*init /sbin/no-such-init not found in rootfs'
t_is "missing init: STOPPED" "$(state_of "$M")" STOPPED
t_is "missing init: no cgroup left" "$(t_cgroups_of "$M")" 0
t_is "missing init: no mount left" "$(mounts_under_root)" 0
t_is "missing init: no process left" "$(t_pids_in "$M" | wc -l)" 0
t_is "missing init: no runtime state left" "$(run_leftovers)" ""
t_fail "stop: usage error for a bad timeout" lxm stop "$C" -t soon

# --- delete ---------------------------------------------------------------------
for n in "$C" "$S" "$M"; do
    t_ok "delete $n" lxm delete "$n"
done
t_is "delete: no container left" "$(ls -A "$T_ROOT/var/lib/lxm/containers" 2>/dev/null)" ""
t_is "nothing left: cgroups" "$(($(t_cgroups_of "$C") + $(t_cgroups_of "$S") + $(t_cgroups_of "$M")))" 0
t_is "nothing left: mounts" "$(mounts_under_root)" 0

t_done

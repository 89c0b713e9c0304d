#!/usr/bin/env bash
# Autostart across a host reboot, with real busybox containers: the
# autostart keys, `lxm autostart` (order, delay, a failing container that
# blocks nothing, running ones left alone), `lxm stop --all` (reverse
# order, one order group at a time, in parallel inside a group, each with
# its own timeout), start/stop of several names, and lxm.service as
# `make install` installs it (checked with systemd-analyze verify; this
# machine has no systemd as PID 1, so the reboot is the two commands).
. "$(dirname "$0")/../lib.sh"
t_setup autostart
t_storage dir # the stubborn init below is written into containers/NAME/rootfs

P=as$$
cdir() { echo "$T_ROOT/var/lib/lxm/containers/$1"; }
mk() { lxm create "$1" -t busybox -c network.eth0.type=none "${@:2}"; }
state_of() { lxm list --format csv 2>/dev/null | awk -F, -v n="$1" '$1 == n { print $2 }'; }
init_pid() { cut -d' ' -f2 "$T_ROOT/run/lxm/$1/state" 2>/dev/null; }
# When init started, in clock ticks since the host booted (/proc/PID/stat
# field 22): the order and spacing of the starts as the kernel saw them.
started_at() {
    local pid
    pid=$(init_pid "$1") && [ -n "$pid" ] || { echo 0; return; }
    sed 's/.*) //' "/proc/$pid/stat" | cut -d' ' -f20
}
running() { # the names of the running containers among $@, one line
    local n out=
    for n in "$@"; do [ "$(state_of "$n")" = STOPPED ] || out="$out $n"; done
    echo "${out# }"
}
HZ=$(getconf CLK_TCK)

# --- the keys: validated like the others, nothing changed on a bad value ------
t_ok "create ${P}a" mk "${P}a" -c autostart=true -c autostart_order=10
cfg=$(cdir "${P}a")/config.yaml
orig=$(sha256sum <"$cfg")
out=$(lxm config set "${P}a" autostart_order=first 2>&1); rc=$?
t_is "autostart_order=first exits 1" "$rc" 1
t_is "autostart_order=first: one line" "$out" \
    'lxm: error: autostart_order: "first" is not an integer (use -1000000..1000000)'
out=$(lxm config set "${P}a" autostart_delay=-2 2>&1); rc=$?
t_is "autostart_delay=-2 exits 1" "$rc" 1
t_like "autostart_delay=-2: one line" "$out" '^lxm: error: autostart_delay: "-2" is not a duration \(use e.g. 5s'
out=$(lxm config set "${P}a" autostart_delay=2h 2>&1)
t_like "autostart_delay=2h: out of range" "$out" '^lxm: error: autostart_delay: "2h" is out of range'
t_is "bad values: config.yaml byte-identical" "$(sha256sum <"$cfg")" "$orig"
out=$(EDITOR="sed -i s/^autostart_order:.*/autostart_order:\ 1e3/" lxm config edit "${P}a" 2>&1)
t_like "config edit: file:line:col of the bad value" "$out" \
    '^lxm: error: [^ ]+:[0-9]+:18: autostart_order: "1e3" is not an integer'
rm -f "$(printf '%s\n' "$out" | sed -n 's/.*edit is kept in \(.*\))$/\1/p')"
t_is "config edit: config.yaml byte-identical" "$(sha256sum <"$cfg")" "$orig"
t_ok "autostart_delay=1500ms is taken" lxm config set "${P}a" autostart_delay=1500ms
t_is "config show has it" "$(lxm config show "${P}a" | grep '^autostart')" \
    "autostart: true
autostart_order: 10
autostart_delay: 1500ms"
t_ok "autostart_delay unset" lxm config unset "${P}a" autostart_delay

# --- the host: a, b (with a 2 s delay), c autostart; n not; bad fails ---------
# Created out of order: the start order is autostart_order, not the name.
t_ok "create ${P}c (order 30)" mk "${P}c" -c autostart=true -c autostart_order=30
t_ok "create ${P}b (order 20, delay 2 s)" mk "${P}b" -c autostart=true -c autostart_order=20 \
    -c autostart_delay=2
t_ok "create ${P}n (no autostart)" mk "${P}n" -c autostart_order=15
# An init that is not in the rootfs: its start fails (between a and b),
# and its delay is not waited (it never came up).
t_ok "create ${P}bad (order 15, delay 5 s, init missing)" mk "${P}bad" -c autostart=true \
    -c autostart_order=15 -c autostart_delay=5 -c init=/sbin/no-such-init

t_ok "everything but ${P}bad runs before the reboot" lxm start "${P}a" "${P}b" "${P}c" "${P}n"
t_is "all four running" "$(running "${P}a" "${P}b" "${P}c" "${P}n")" "${P}a ${P}b ${P}c ${P}n"

# --- reboot, simulated: ExecStop then ExecStart of lxm.service ---------------
out=$(lxm stop --all 2>&1); rc=$?
t_is "stop --all exits 0" "$rc" 0
t_is "stop --all: highest order first, each reported" "$out" \
    "${P}c: stopped
${P}b: stopped
${P}n: stopped
${P}a: stopped"
t_is "nothing runs after stop --all" "$(running "${P}a" "${P}b" "${P}c" "${P}n" "${P}bad")" ""
out=$(lxm stop --all 2>&1); rc=$?
t_is "stop --all with nothing running: exit 0, nothing said" "$rc:$out" "0:"

out=$(lxm autostart 2>"$T_ROOT/autostart.err"); rc=$?
err=$(cat "$T_ROOT/autostart.err")
t_is "autostart exits 1 (one failed)" "$rc" 1
t_is "autostart: each reported, in order" "$out" "${P}a: started
${P}b: started
${P}c: started"
t_like "autostart: the failing one's reason" "$err" \
    "lxm: error: ${P}bad: start ${P}bad: init /sbin/no-such-init not found in rootfs"
t_like "autostart: the last line names it" "$(printf '%s\n' "$err" | tail -1)" \
    "^lxm: error: autostart: 1 container failed: ${P}bad$"
t_is "exactly the autostart ones run again" "$(running "${P}a" "${P}b" "${P}c" "${P}n" "${P}bad")" \
    "${P}a ${P}b ${P}c"
ta=$(started_at "${P}a") tb=$(started_at "${P}b") tc=$(started_at "${P}c")
t_ok "in autostart_order: a ($ta) before b ($tb) before c ($tc)" \
    test "$ta" -gt 0 -a "$ta" -le "$tb" -a "$tb" -lt "$tc"
t_ok "b's autostart_delay: c started >= 2 s after b ($(( (tc - tb) * 1000 / HZ )) ms)" \
    test $((tc - tb)) -ge $((2 * HZ))
t_ok "${P}bad did not hold b up: no 5 s delay after a failed start ($(( (tb - ta) * 1000 / HZ )) ms after a)" \
    test $((tb - ta)) -lt $((5 * HZ))
t_is "${P}bad left nothing behind" "$(ls "$T_ROOT/run/lxm" | grep -c "^${P}bad$")" 0

# Running ones are left alone: same init, not restarted.
pa=$(init_pid "${P}a")
t_ok "stop ${P}b" lxm stop "${P}b"
out=$(lxm autostart 2>/dev/null)
t_is "autostart again: the running ones left alone" "$out" "${P}a: already running
${P}b: started
${P}c: already running"
t_is "${P}a keeps its init" "$(init_pid "${P}a")" "$pa"

# A config.yaml broken by hand: reported with FILE:LINE:COL (it might be an
# autostart one), the others still handled, exit 1.
ncfg=$(cdir "${P}n")/config.yaml
cp "$ncfg" "$T_ROOT/n.yaml"
sed -i 's/^autostart_order: .*/autostart_order: soon/' "$ncfg"
out=$(lxm autostart 2>&1); rc=$?
t_is "autostart with a broken config.yaml exits 1" "$rc" 1
t_like "it names the file, line and column" "$out" \
    "lxm: error: ${P}n: $ncfg:[0-9]+:18: autostart_order: \"soon\" is not an integer"
t_is "the others still handled" "$(printf '%s\n' "$out" | grep -c ': already running$')" 3
cp "$T_ROOT/n.yaml" "$ncfg"

# --- start / stop of several names -------------------------------------------
t_ok "stop ${P}a ${P}c" lxm stop "${P}a" "${P}c"
out=$(lxm start "${P}a" nosuch "${P}c" 2>&1); rc=$?
t_is "start a nosuch c exits 1" "$rc" 1
t_is "start a nosuch c: the one error" "$(printf '%s\n' "$out" | grep -v "^lxm: warning: ")" "lxm: error: container 'nosuch' not found"
t_is "start a nosuch c: a and c run" "$(running "${P}a" "${P}c")" "${P}a ${P}c"
out=$(lxm stop "${P}a" nosuch -t 5 "${P}c" 2>&1); rc=$?
t_is "stop a nosuch -t 5 c exits 1" "$rc" 1
t_is "stop a nosuch c: the one error" "$out" "lxm: error: container 'nosuch' not found"
t_is "stop a nosuch c: both stopped" "$(running "${P}a" "${P}c")" ""
t_ok "start a c (all fine) exits 0" lxm start "${P}a" "${P}c"
out=$(lxm stop --all "${P}a" 2>&1); rc=$?
t_is "stop --all NAME: usage error (exit 2)" "$rc" 2
out=$(lxm start -F "${P}a" "${P}c" 2>&1); rc=$?
t_is "start -F with two names: usage error (exit 2)" "$rc" 2
t_ok "stop --all" lxm stop --all

# --- stop --all in parallel ----------------------------------------------------
# Three containers whose init ignores the halt signal, so each stop lasts
# its whole timeout: s1 and s3 3 s (their stop_timeout), s2 1 s. All in
# order group 50, above the busybox q (order 40) that stops after them.
T=3
stubborn='#!/bin/sh
trap "" INT TERM HUP USR1 USR2 PWR
while :; do sleep 1; done'
for s in s1 s2 s3; do
    mk "${P}$s" -c autostart_order=50 -c init=/sbin/stubborn -c stop_timeout=${T}s >/dev/null
    printf '%s\n' "$stubborn" >"$(cdir "${P}$s")/rootfs/sbin/stubborn"
    chmod 755 "$(cdir "${P}$s")/rootfs/sbin/stubborn"
done
t_ok "s2's own timeout: 1 s" lxm config set "${P}s2" stop_timeout=1s
t_ok "create ${P}q (order 40)" mk "${P}q" -c autostart_order=40
t_ok "start s1 s2 s3 q" lxm start "${P}s1" "${P}s2" "${P}s3" "${P}q"
t_is "all four running" "$(running "${P}s1" "${P}s2" "${P}s3" "${P}q")" \
    "${P}s1 ${P}s2 ${P}s3 ${P}q"
t0=$(date +%s%N)
out=$(lxm stop --all 2>/dev/null); rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
t_is "stop --all exits 0" "$rc" 0
t_is "nothing runs" "$(running "${P}s1" "${P}s2" "${P}s3" "${P}q")" ""
t_ok "the halt was ignored: it took at least one timeout (${ms} ms >= ${T} s)" \
    test "$ms" -ge $((T * 1000))
t_ok "in parallel: about one timeout, not three (${ms} ms < $((2 * T)) s; in turn: >= $((3 * T)) s)" \
    test "$ms" -lt $((2 * T * 1000))
t_is "s2 (1 s) done first, q (a lower order) last" \
    "$(printf '%s\n' "$out" | sed -n '1p;$p' | tr '\n' ' ')" "${P}s2: stopped ${P}q: stopped "
t_is "four reported" "$(printf '%s\n' "$out" | grep -c ': stopped$')" 4
left=$(for s in s1 s2 s3; do ls -d /sys/fs/cgroup/*/lxm/"$(t_id "${P}$s")" 2>/dev/null; done | wc -l)
t_is "no cgroup left of the stubborn ones" "$left" 0

# Each one's own timeout, and -t over it: stop NAME waits s2's stop_timeout
# (1 s, not the default 30 s); stop --all -t 1 waits 1 s, not s1's 3 s.
elapsed_ms() { local t0 rc; t0=$(date +%s%N); "$@" >/dev/null 2>&1; rc=$?; echo "$rc $((($(date +%s%N) - t0) / 1000000))"; }
t_ok "start s1 s2 s3" lxm start "${P}s1" "${P}s2" "${P}s3"
read -r rc ms < <(elapsed_ms lxm stop "${P}s2")
t_ok "stop s2 (stop_timeout 1s, halt ignored): exit $rc after ${ms} ms, in [1 s, 10 s)" \
    test "$rc" = 0 -a "$ms" -ge 1000 -a "$ms" -lt 10000
read -r rc ms < <(elapsed_ms lxm stop --all -t 1)
t_ok "stop --all -t 1 over s1/s3's 3 s: exit $rc after ${ms} ms, in [1 s, 3 s)" \
    test "$rc" = 0 -a "$ms" -ge 1000 -a "$ms" -lt 3000
t_is "nothing runs" "$(running "${P}s1" "${P}s2" "${P}s3")" ""

# --- lxm.service -----------------------------------------------------------------
BUILD=$(cd "$(dirname "$LXM_BIN")/.." && pwd)
if [ ! -f "$BUILD/Makefile" ]; then
    t_skip "lxm.service" "no build tree at $BUILD"
elif ! command -v systemd-analyze >/dev/null; then
    t_skip "lxm.service" "systemd-analyze not installed"
else
    dest=$T_ROOT/destdir
    t_ok "make install DESTDIR=..." make -s -C "$BUILD" install DESTDIR="$dest"
    unit=$(find "$dest" -name lxm.service -type f)
    t_like "lxm.service is installed into systemd's unit directory" "$unit" \
        "^$dest$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)/lxm.service$"
    t_is "and not enabled (no .wants link)" "$(find "$dest" -path '*.wants*' | wc -l)" 0
    exec=$(sed -n 's/^ExecStart=//p' "$unit")
    t_like "ExecStart=.../sbin/lxm autostart" "$exec" '^/[^ ]*/sbin/lxm autostart$'
    sbin=${exec%/lxm autostart}
    t_is "ExecStop=.../sbin/lxm stop --all" "$(sed -n 's/^ExecStop=//p' "$unit")" "$sbin/lxm stop --all"
    t_is "oneshot, RemainAfterExit=yes" "$(grep -E '^(Type|RemainAfterExit)=' "$unit" | tr '\n' ' ')" \
        "Type=oneshot RemainAfterExit=yes "
    body=$(cat "$unit")
    t_like "after the network" "$body" "After=network-online.target"
    t_like "TimeoutStopSec set" "$body" "TimeoutStopSec=[0-9]+min"
    # The unit as installed, its lxm pointed at this build (verify checks
    # that ExecStart is an executable).
    sed "s|$sbin/lxm|$LXM_BIN|" "$unit" >"$T_ROOT/lxm.service"
    # --man=no: the man pages are not installed here (make install is not run).
    out=$(systemd-analyze verify --man=no "$T_ROOT/lxm.service" 2>&1); rc=$?
    t_is "systemd-analyze verify: clean" "$rc:$out" "0:"
    sed 's|^ExecStop=.*|ExecStop=/nonexistent/lxm stop --all|' "$T_ROOT/lxm.service" >"$T_ROOT/broken.service"
    t_fail "systemd-analyze verify rejects a missing ExecStop binary (the check can fail)" \
        systemd-analyze verify --man=no "$T_ROOT/broken.service"
fi

t_done

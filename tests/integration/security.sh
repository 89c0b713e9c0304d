#!/usr/bin/env bash
# Escape-probe suite (issue 7): a busybox container under the `default`
# profile runs tests/integration/security/lxm-probe via `lxm attach`; every
# probe must be stopped by the specific mechanism we expect (its errno).
# Probes of class "userns" are closed by the container's user namespace
# (issue 8); the privileged profile lets them through (docs/security.md).
# Where no container can start, the capability/seccomp/device probes still
# run in a process confined with lxm-confine (same calls as the runtime).
. "$(dirname "$0")/../lib.sh"
t_setup security

PROBE_SRC=$T_SRC/tests/integration/security/lxm-probe.c
PROBE=$T_ROOT/lxm-probe
CONFINE=${LXM_CONFINE:-$(dirname "$LXM_BIN")/../tests/integration/security/lxm-confine}
PROFILES=${LXM_PROFILES_DIR:-$T_SRC/profiles}

if ! gcc -static -O1 -o "$PROBE" "$PROBE_SRC" 2>"$T_ROOT/gcc.log"; then
    t_skip "escape probes" "cannot build a static probe: $(head -1 "$T_ROOT/gcc.log")"
    t_done
    exit
fi

# Kernel features this host lacks turn a probe into a skip, with the reason.
host_lacks() { # probe -> prints a reason, or nothing
    case $1 in
        sysrq) [ -e /proc/sysrq-trigger ] || echo "this kernel has no /proc/sysrq-trigger" ;;
        kcore) [ -e /proc/kcore ] || echo "this kernel has no /proc/kcore" ;;
        iopl) [ "$("$PROBE" iopl 2>/dev/null)" = ENOSYS ] && echo "this kernel has no iopl()" ;;
    esac
}

HOSTIF=$(ip -o link show 2>/dev/null | awk -F': ' '$2 != "lo" { sub(/@.*/, "", $2); print $2; exit }')

# name, what the default profile must answer (regex), class
#   class: policy = caps/seccomp (also checked under lxm-confine)
#          devices = the device allowlist (also under lxm-confine)
#          rootfs = needs the container's mounts; userns = closed by the id map
PROBES="
mknod_disk ^EPERM$ devices
mknod_mem ^EPERM$ devices
mount_blockdev ^(EPERM|EACCES)$ userns
mount_proc ^(EPERM|EACCES)$ userns
mount_sysfs ^(EPERM|EACCES|EROFS)$ userns
mount_debugfs ^(EPERM|EACCES|ENODEV)$ userns
open_by_handle_at ^EPERM$ policy
sysrq ^(EROFS|EACCES)$ rootfs
core_pattern ^(EROFS|EACCES)$ rootfs
sys_write ^(EROFS|EACCES)$ rootfs
init_module ^EPERM$ policy
finit_module ^EPERM$ policy
delete_module ^EPERM$ policy
kexec_load ^EPERM$ policy
kexec_file_load ^EPERM$ policy
release_agent ^(EPERM|EACCES)$ rootfs
kcore ^(MASKED|EPERM)$ rootfs
keyctl ^ENOSYS$ policy
add_key ^ENOSYS$ policy
settimeofday ^EPERM$ policy
clock_settime ^EPERM$ policy
bpf ^EPERM$ policy
perf_event ^EPERM$ policy
raw_socket ^ENODEV$ rootfs
ptrace_host ^ESRCH$ rootfs
fds ^NONE$ rootfs
exe_write ^ETXTBSY$ policy
exe_scan ^NONE$ rootfs
reboot_cad ^EINVAL$ policy
compat_i386 ^ENOSYS$ policy
swapon ^EPERM$ policy
iopl ^EPERM$ policy
syslog ^EPERM$ policy
"

probe_arg() {
    case $1 in
        raw_socket) echo "$HOSTIF" ;;
        ptrace_host) echo "$$" ;;
    esac
}

# run_probes MODE RUNNER...: MODE container|confine; RUNNER runs "PROBE ARGS".
run_probes() {
    local mode=$1 name want class got why
    shift
    while read -r name want class; do
        [ -n "$name" ] || continue
        if [ "$mode" = confine ] && [ "$class" != policy ] && [ "$class" != devices ]; then
            t_skip "$name" "needs a running container (checked by the container run)"
            continue
        fi
        why=$(host_lacks "$name")
        if [ -n "$why" ]; then
            t_skip "$name denied" "$why"
            continue
        fi
        got=$("$@" "$name" $(probe_arg "$name") 2>"$T_ROOT/probe-$name.err" | head -1)
        case $got in
            "SKIP: "*) t_skip "$name denied" "${got#SKIP: }"; continue ;;
        esac
        t_like "$name denied ($mode): $got" "$got" "$want"
    done <<<"$PROBES"
}

# The probes can fail: the same calls in an unconfined process go through.
if [ -x "$CONFINE" ]; then
    got=$("$CONFINE" "$PROFILES/unconfined.yaml" "$PROBE" keyctl 2>/dev/null)
    t_is "an unconfined process is not stopped (keyctl)" "$got" ALLOWED
    got=$("$CONFINE" "$PROFILES/unconfined.yaml" "$PROBE" bpf 2>/dev/null)
    t_is "an unconfined process is not stopped (bpf)" "$got" ALLOWED
fi

attach_probe() { lxm attach sec1 -- /lxm-probe "$@"; }
confine_probe() { "$CONFINE" "$PROFILES/default.yaml" "$PROBE" "$@"; }

out=$(lxm create sec1 -t busybox -c network.eth0.type=none 2>&1)
if [ $? != 0 ] || ! lxm start sec1 >"$T_ROOT/start.log" 2>&1; then
    [ -n "$out" ] || out=$(tail -1 "$T_ROOT/start.log")
    t_skip "probes in a container" "no container could start here: $out"
    if [ -x "$CONFINE" ]; then
        run_probes confine confine_probe
    else
        t_skip "probes under lxm-confine" "$CONFINE not built (make check)"
    fi
    t_done
    exit
fi

# The AppArmor profile the runtime generated at start must parse, with or
# without AppArmor in this kernel.
aa_profile=$(find "$T_ROOT" -name apparmor.profile -path '*sec1*' 2>/dev/null | head -1)
if ! command -v apparmor_parser >/dev/null; then
    t_skip "generated AppArmor profile parses" "apparmor_parser not installed"
elif [ -z "$aa_profile" ]; then
    t_report fail "generated AppArmor profile parses" "no apparmor.profile below $T_ROOT"
else
    t_ok "generated AppArmor profile parses (apparmor_parser -QK)" apparmor_parser -QK "$aa_profile"
fi

# Init and attached processes carry the same confinement.
status_of() { lxm attach sec1 -- /bin/sh -c "grep -E '^($2):' /proc/$1/status"; }
fields='CapBnd|CapEff|CapPrm|CapInh|CapAmb|Seccomp|NoNewPrivs'
init_status=$(status_of 1 "$fields")
t_is "attach gets init's capabilities, seccomp mode and no_new_privs" \
    "$(status_of self "$fields")" "$init_status"
t_like "init runs under a seccomp filter" "$init_status" "Seccomp:[[:space:]]+2"
t_like "init has an empty ambient set" "$init_status" "CapAmb:[[:space:]]+0+$"
t_like "no_new_privs is off for init by default" "$init_status" "NoNewPrivs:[[:space:]]+0"
bnd=$(printf '%s\n' "$init_status" | awk '$1 == "CapBnd:" { print $2 }')
t_is "sys_module (16) and sys_time (25) are gone, sys_boot (22) stays" \
    "$(( (0x$bnd >> 16) & 1 ))$(( (0x$bnd >> 25) & 1 ))$(( (0x$bnd >> 22) & 1 ))" "001"

copy_probe() { lxm attach "${1:-sec1}" -- /bin/sh -c 'cat > /lxm-probe && chmod 755 /lxm-probe' <"$PROBE"; }
t_ok "copy the probe into the container" copy_probe
run_probes container attach_probe

# --- Locked masks (issue 16) -------------------------------------------------------------
# Every mask, read-only path and kernel filesystem of the default profile
# is locked in the container's user namespace: unmounting one is EINVAL,
# making one read-write EPERM, a fresh proc or sysfs EPERM ("too
# revealing"), also in a mount namespace of its own (unshare -m). Each
# probe checks that the mount or unmount call itself is refused.
yaml_list() { sed -n "s/^$1: *\[\(.*\)\]/\1/p" "$PROFILES/default.yaml" | tr -d ' ' | tr ',' ' '; }
MASKED=$(yaml_list masked_paths)
READONLY=$(yaml_list readonly_paths)
t_like "the default profile masks and write-protects paths" "$MASKED $READONLY" "/proc/.* /proc/"
MASK_PROBES=$(
    for p in $MASKED $READONLY /proc /sys /proc/sys/kernel/random/boot_id; do echo "umount $p ^EINVAL$"; done
    for p in $READONLY /sys /sys/firmware; do echo "remount_rw $p ^EPERM$"; done
    for f in fresh_proc fresh_sysfs fsmount_proc fsmount_sysfs; do echo "$f - ^EPERM$"; done
)
# check_mask_result WHERE NAME ARG WANT GOT
check_mask_result() {
    case $5 in
        "SKIP: "*) t_skip "$2 $3 refused ($1)" "${5#SKIP: }" ;;
        *) t_like "$2 $3 refused ($1): $5" "$5" "$4" ;;
    esac
}
run_mask_probes() { # WHERE RUNNER...
    local where=$1 name arg want pre
    shift
    while read -r name arg want; do
        for pre in "" unshare:; do
            check_mask_result "$where${pre:+, after unshare -m}" "$name" "$arg" "$want" \
                "$("$@" "$pre$name" "$arg" 2>/dev/null | head -1)"
        done
    done <<<"$MASK_PROBES"
}
run_mask_probes "attached" attach_probe
# The same with unshare(1) itself (busybox's here): a fresh proc for a pid
# namespace of its own is refused, with or without a nested user
# namespace, because of the locked masks (the mount itself fails).
for how in -mpf -Urmpf; do
    t_like "default: unshare $how --mount-proc is refused (the proc mount)" \
        "$( (lxm attach sec1 -- unshare $how --mount-proc true 2>&1; echo "exit $?") | tr '\n' ' ')" \
        "mount (proc|/proc).*Operation not permitted.*exit [1-9]"
done

# What the masks and the boot id cost the kernel (docs/benchmarks.md): a
# masked directory is a bind of the one shared, empty RUN/.empty (not a
# tmpfs each), empty and read-only inside; the boot id's file does not come
# from the stage tmpfs (its bind kept the stage alive); the monitor is back
# in our mount namespace once init runs (its copy of our mount table stayed).
mountinfo_of() { lxm attach sec1 -- awk -v p="$1" '$5 == p { print $4, $9, $10 }' /proc/self/mountinfo; }
t_like "the masked /sys/firmware is a bind of RUN/.empty" "$(mountinfo_of /sys/firmware)" "/run/lxm/\.empty "
t_is "the masked /sys/firmware is empty inside" "$(lxm attach sec1 -- ls -A /sys/firmware 2>&1)" ""
t_like "writing in the masked /sys/firmware is refused" \
    "$(lxm attach sec1 -- mkdir /sys/firmware/x 2>&1)" "Read-only file system"
t_like "the boot id's file waits in RUN/NAME, not in the stage tmpfs" \
    "$(mountinfo_of /proc/sys/kernel/random/boot_id)" "/run/lxm/sec1/\.lxm-boot-id//deleted "
t_is "the monitor is back in the host's mount namespace" \
    "$(readlink "/proc/$(cut -d' ' -f1 "$T_ROOT/run/lxm/sec1/state")/ns/mnt")" "$(readlink /proc/self/ns/mnt)"

# The same from the container's init itself: a busybox container whose
# init runs the probes, writes what they said and sleeps.
mask_init() {
    cat <<'SCRIPT'
#!/bin/sh
while read -r name arg want; do
    for pre in "" unshare:; do
        echo "$pre$name $arg $(/lxm-probe "$pre$name" "$arg" 2>/dev/null | head -1)"
    done
done </probe-list >/probe-init.tmp
mv /probe-init.tmp /probe-init.out
exec sleep 100000
SCRIPT
}
init_done() { lxm attach sec3 -- test -s /probe-init.out; }
if lxm create sec3 -t busybox -c network.eth0.type=none >/dev/null 2>&1 && lxm start sec3 >/dev/null 2>&1 &&
    copy_probe sec3 && mask_init | lxm attach sec3 -- /bin/sh -c 'cat >/probe-init && chmod 755 /probe-init' &&
    printf '%s\n' "$MASK_PROBES" | lxm attach sec3 -- /bin/sh -c 'cat >/probe-list' &&
    lxm stop -k sec3 >/dev/null 2>&1 && lxm config set sec3 init=/probe-init >/dev/null 2>&1 &&
    lxm start sec3 >/dev/null 2>&1 && t_wait 30 init_done; then
    init_out=$(lxm attach sec3 -- cat /probe-init.out)
    while read -r name arg want; do
        for pre in "" unshare:; do
            got=$(printf '%s\n' "$init_out" | awk -v n="$pre$name" -v a="$arg" '$1 == n && $2 == a { $1 = $2 = ""; sub(/^ +/, ""); print; exit }')
            check_mask_result "init${pre:+, after unshare -m}" "$name" "$arg" "$want" "$got"
        done
    done <<<"$MASK_PROBES"
    lxm stop -k sec3 >/dev/null 2>&1
else
    t_report fail "a container whose init runs the mask probes"
fi

# The probes can fail: under `unconfined` (nothing locked, nothing masked)
# a fresh proc and sysfs go through and /proc can be unmounted.
if lxm create sec4 -t busybox -p default -p unconfined -c network.eth0.type=none >/dev/null 2>&1 &&
    lxm start sec4 >/dev/null 2>&1 && copy_probe sec4; then
    # First (the umount probe below takes /proc away): a fresh proc with
    # unshare(1), also from a nested user namespace, which needs /proc
    # fully visible: nothing (no boot id) bound over its files.
    t_ok "unconfined: unshare -m -p -f --mount-proc" lxm attach sec4 -- unshare -m -p -f --mount-proc true
    t_ok "unconfined: unshare -Urmpf --mount-proc (a nested user namespace)" \
        lxm attach sec4 -- unshare -Urmpf --mount-proc true
    t_is "unconfined: /proc with nothing mounted over its files (no boot id bind)" \
        "$(lxm attach sec4 -- awk '$5 ~ /^\/proc(\/|$)/ { print $5 }' /proc/self/mountinfo)" "/proc"
    for f in fresh_proc fresh_sysfs fsmount_proc; do
        t_is "$f goes through in an unconfined container" \
            "$(lxm attach sec4 -- /lxm-probe "$f" 2>/dev/null | head -1)" ALLOWED
    done
    t_is "umount /proc goes through in an unconfined container" \
        "$(lxm attach sec4 -- /lxm-probe umount /proc 2>/dev/null | head -1)" ALLOWED
    lxm stop -k sec4 >/dev/null 2>&1
else
    t_report fail "an unconfined container for the mask probes' counter-check"
fi

# --- the seccomp program cache (lxm/security/seccomp-cache.c) -----------------------------
# Start and attach load a compiled program from run/lxm/.seccomp. A damaged
# entry is never loaded (compiled again and replaced); a changed policy gets
# a program of its own at the next start.
CACHE=$T_ROOT/run/lxm/.seccomp
seccomp_mode() { lxm attach "$1" -- /bin/sh -c 'sed -n "s/^Seccomp:[[:space:]]*//p" /proc/self/status'; }
rm -rf "$CACHE"
t_is "an attach with an empty cache: filter on" "$(seccomp_mode sec1)" 2
t_is "... and its program is stored: one entry, 0600 in a 0700 directory" \
    "$(stat -c %a "$CACHE" 2>/dev/null) $(find "$CACHE" -type f -perm 600 -user root | wc -l)" "700 1"
entry=$(find "$CACHE" -type f | head -1)
good=$(sha256sum <"$entry")
printf 'garbage!' | dd of="$entry" bs=1 seek=200 conv=notrunc status=none
t_is "with its cache entry damaged, keyctl in an attach is still denied" \
    "$(attach_probe keyctl 2>/dev/null | head -1)" ENOSYS
t_is "... the damaged entry was replaced by the good program" "$(sha256sum <"$entry")" "$good"
mkdir -p "$T_ROOT/etc/lxm/profiles"
nohost() { printf 'name: nohost\nseccomp:\n  rules:\n    - action: errno EPERM\n      syscalls: [%s]\n' "$1" \
    >"$T_ROOT/etc/lxm/profiles/nohost.yaml"; }
nohost sethostname
if lxm create sec6 -t busybox -p default -p nohost -c network.eth0.type=none >/dev/null 2>&1 &&
    lxm start sec6 >/dev/null 2>&1; then
    t_fail "a profile denying sethostname: hostname fails in an attach" lxm attach sec6 -- hostname probe-a
    lxm stop -k sec6 >/dev/null 2>&1
    n_before=$(find "$CACHE" -type f | wc -l)
    nohost setdomainname
    if lxm start sec6 >/dev/null 2>&1; then
        t_ok "the profile changed to setdomainname: hostname works after a restart" \
            lxm attach sec6 -- hostname probe-b
        t_is "... from a new cache entry" "$(find "$CACHE" -type f | wc -l)" "$((n_before + 1))"
        lxm stop -k sec6 >/dev/null 2>&1
    else
        t_report fail "restart sec6 with the changed profile"
    fi
else
    t_report fail "a container with a local seccomp profile (sec6)"
fi

# --- fail closed (issue 16) ----------------------------------------------------------------
# A library call that confines the process fails (LD_PRELOAD shim): lxm
# refuses instead of going on without it.
SHIM=$T_ROOT/lxm-failshim.so
if gcc -shared -fPIC -O1 -o "$SHIM" "$T_SRC/tests/integration/security/lxm-failshim.c" -ldl 2>"$T_ROOT/gcc-shim.log"; then
    out=$(LD_PRELOAD=$SHIM LXM_TEST_FAIL=close_range lxm attach sec1 -- /bin/echo RAN 2>&1)
    t_like "attach refuses when close_range(CLOSE_RANGE_CLOEXEC) fails: $out" "$out" "error: .*close_range"
    t_unlike() { case $2 in *$3*) t_report fail "$1" ;; *) t_report ok "$1" ;; esac; }
    t_unlike "... and the command never ran" "$out" RAN
    lxm create sec5 -t busybox -c network.eth0.type=none >/dev/null 2>&1
    # sec1's program (the same policy) is cached: compile it again.
    rm -rf "$T_ROOT/run/lxm/.seccomp"
    out=$(LD_PRELOAD=$SHIM LXM_TEST_FAIL=seccomp_attr_set lxm start sec5 2>&1)
    t_like "start refuses when a seccomp attribute cannot be set: $out" "$out" "error: .*seccomp.*Invalid argument"
    t_is "... and sec5 is not running" "$(lxm list --format csv | awk -F, '$1 == "sec5" { print $2 }')" STOPPED
else
    t_skip "fail-closed checks" "cannot build the LD_PRELOAD shim: $(head -1 "$T_ROOT/gcc-shim.log")"
fi

# CVE-2019-5736 proper: while `lxm attach` runs repeatedly, a process
# inside grabs any exe that is the lxm binary (the attach child before its
# exec) and tries to reopen it for writing later. Must never succeed.
attach_probe exe_race 6 >"$T_ROOT/exe_race.out" 2>"$T_ROOT/exe_race.err" &
race_pid=$!
sleep 0.5
for i in $(seq 30); do lxm attach sec1 -- /bin/true >/dev/null 2>&1; done
wait "$race_pid"
got=$(head -1 "$T_ROOT/exe_race.out")
t_like "the lxm binary cannot be overwritten through an attach's /proc/PID/exe: $got" \
    "$got" '^(NONE|SEEN:ETXTBSY|SEEN:EACCES|SEEN:EPERM)$'

# Last: reboot() ends the container (its pid namespace), nothing else.
lxm attach sec1 -- /lxm-probe reboot >/dev/null 2>&1
is_stopped() { lxm list | awk '$1 == "sec1" { print $2 }' | grep -qx STOPPED; }
t_ok "reboot() inside ends the container (its pid namespace, not the host)" t_wait 30 is_stopped

# unconfined: a loud warning at every start.
if lxm create sec2 -t busybox -p default -p unconfined -c network.eth0.type=none >/dev/null 2>&1; then
    out=$(lxm start sec2 2>&1)
    t_like "starting an unconfined container warns loudly" "$out" "sec2 runs UNCONFINED"
    lxm stop -k sec2 >/dev/null 2>&1
else
    t_report fail "create a container with profiles default + unconfined"
fi
t_done

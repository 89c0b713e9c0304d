#!/usr/bin/env bash
# Booting Debian's systemd (issue 4): a bookworm container from the debian
# template reaches `running` with no failed unit, without and with an eth0;
# it knows it is a container, journald and the console getty work, the
# hostname matches; `lxm stop` is a clean halt (no SIGKILL), `lxm restart`,
# `reboot` and `poweroff` typed inside do what they say. The same boot
# again under a pure cgroup2 view (a private mount namespace whose
# /sys/fs/cgroup is a fresh cgroup2 mount without controllers).
# The rootfs comes from the image cache (LXM_CACHE_DIR, shared across runs);
# the first run on a machine bootstraps it from the host's mirror.
. "$(dirname "$0")/../lib.sh"
t_setup debian-boot
export LXM_CACHE_DIR=${LXM_CACHE_DIR:-/var/cache/lxm-test}
t_cgroup_parent lxmt-dboot-$$

D=db$$          # no network
E=de$$          # eth0 on a bridge of our own
V=dv$$          # pure cgroup2 view
CT=$T_ROOT/var/lib/lxm/containers
LOGS=$T_ROOT/var/log/lxm

# --- a Debian rootfs: from the cache, or bootstrapped once ---------------------------
mirror_reachable() {
    local uri
    uri=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
    [ -n "$uri" ] || uri=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
    [ -n "$uri" ] && timeout 20 /usr/lib/apt/apt-helper download-file "$uri/dists/bookworm/Release" "$T_ROOT/Release" >/dev/null 2>&1
}
if ! command -v mmdebstrap >/dev/null && ! command -v debootstrap >/dev/null &&
    ! ls "$LXM_CACHE_DIR/images/debian-bookworm-"*.tar.zst >/dev/null 2>&1; then
    echo "1..0 # SKIP no Debian rootfs: neither mmdebstrap nor debootstrap, and no cached image"
    exit 0
fi
out=$(lxm create "$D" -t debian -c network.eth0.type=none 2>&1); rc=$?
if [ $rc != 0 ] && ! ls "$LXM_CACHE_DIR/images/debian-bookworm-"*.tar.zst >/dev/null 2>&1 && ! mirror_reachable; then
    echo "1..0 # SKIP no Debian rootfs: no cached image and the host's mirror is unreachable"
    exit 0
fi
t_is "create $D -t debian (no eth0)" "$rc" 0
[ $rc = 0 ] || { printf '%s\n' "$out" | tail -5 | sed 's/^/#   /'; t_done; exit; }

# --- helpers ---------------------------------------------------------------------------
in_c() { local n=$1; shift; lxm attach "$n" -- "$@"; }
state_of() { lxm list --format csv 2>/dev/null | awk -F, -v n="$1" '$1 == n { print $2 }'; }
init_pid() { cut -d' ' -f2 "$T_ROOT/run/lxm/$1/state" 2>/dev/null; }
stopped() { [ "$(state_of "$1")" = STOPPED ]; }
# systemd answers on its private bus (any state at all, even "starting").
bus_up() { [ -n "$(in_c "$1" systemctl is-system-running 2>/dev/null)" ]; }
# Wait for the boot to settle, then say what systemd thinks of it.
boot_state() {
    t_wait 60 bus_up "$1" || { echo "no answer from systemd"; return; }
    timeout 120 "$LXM_BIN" --root "$T_ROOT" attach "$1" -- systemctl is-system-running --wait 2>&1
}
failed_units() { in_c "$1" systemctl --failed --plain --no-legend 2>&1; }
monitor_log() { cat "$LOGS/$1/lxm.log" 2>/dev/null; }
# What init died of, per boot, from the monitor's log.
exits() { monitor_log "$1" | grep -c "init killed by SIG$2" || true; }

# --- boot without a network ----------------------------------------------------------------
t_ok "start $D" lxm start "$D"
t_is "$D: systemctl is-system-running --wait" "$(boot_state "$D")" running
t_is "$D: no failed units" "$(failed_units "$D")" ""
virt=$(in_c "$D" systemd-detect-virt 2>&1)
t_like "systemd-detect-virt reports a container" "$virt" '^(container-other|lxc|systemd-nspawn|docker|podman)$'
t_ok "systemd-detect-virt --container succeeds" in_c "$D" systemd-detect-virt --container
t_is "init knows its container manager" "$(in_c "$D" cat /run/systemd/container)" lxm
t_ok "attach runs apt-get --version" in_c "$D" apt-get --version
t_is "hostname" "$(in_c "$D" hostname)" "$D"
t_is "/etc/hostname" "$(in_c "$D" cat /etc/hostname)" "$D"
t_like "/etc/hosts names the container" "$(in_c "$D" cat /etc/hosts)" "127\.0\.1\.1[[:space:]]+$D([[:space:]]|$)"
t_like "the name resolves inside" "$(in_c "$D" getent hosts "$D")" "$D"
t_is "/sys/fs/cgroup inside is cgroup2" "$(in_c "$D" findmnt -n -o FSTYPE /sys/fs/cgroup)" cgroup2
t_is "init sits in its own init.scope" "$(in_c "$D" cat /proc/1/cgroup | grep '^0::')" "0::/init.scope"
# The host's view of init's cgroup2 path: systemd's init.scope, created by
# systemd below the container's own cgroup (under our parent).
host_cg() { sed -n 's/^0:://p' "/proc/$(init_pid "$1")/cgroup" 2>/dev/null; }
v2_mnt() { awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo; }
t_like "init's cgroup on the host is below our parent" "$(host_cg "$D")" "^/$LXM_CGROUP_PARENT/${D}[^/]*/init\.scope$"
t_ok "the host sees systemd's subtree below the container's cgroup" test -d "$(v2_mnt)$(host_cg "$D")"
t_is "the container has a boot id of its own" \
    "$(in_c "$D" cat /proc/sys/kernel/random/boot_id | grep -cx "$(cat /proc/sys/kernel/random/boot_id)")" 0
marker=lxm-journal-$$-$RANDOM
in_c "$D" sh -c "echo $marker | systemd-cat -t lxmtest"
jw() { in_c "$D" journalctl -b -q --no-pager -t lxmtest | grep -q "$marker"; }
t_ok "journald stores what is logged" t_wait 10 jw
t_like "journald: the boot's messages are there" "$(in_c "$D" journalctl -b -q --no-pager -u systemd-journald)" 'Journal started'
# systemd's own sandboxing of a service works on top of the locked masks
# (issue 16): a transient unit with a private /tmp, a read-only /usr and
# /etc, read-only kernel tunables and a proc of its own.
sandboxed='f=/tmp/lxm-unit-$$; touch $f && echo tmp:ok; touch /usr/lxm-unit 2>/dev/null || echo usr:ro;
touch /etc/lxm-unit 2>/dev/null || echo etc:ro; (: >/proc/sys/kernel/domainname) 2>/dev/null || echo sysctl:ro'
unit=$(in_c "$D" systemd-run --wait --pipe --quiet -p PrivateTmp=yes -p ProtectSystem=strict \
    -p ProtectKernelTunables=yes -p ProtectControlGroups=yes -p ProtectProc=invisible \
    /bin/sh -c "$sandboxed" 2>&1); rc=$?
t_is "a unit with PrivateTmp=yes ProtectSystem=strict ProtectKernelTunables=yes runs" "$rc" 0
t_is "... and is sandboxed as asked" "$(printf '%s' "$unit" | tr '\n' ' ')" "tmp:ok usr:ro etc:ro sysctl:ro"
t_is "... its /tmp was its own" "$(in_c "$D" sh -c 'ls /tmp/lxm-unit-* 2>/dev/null | wc -l')" 0
t_like "the masks stay put under systemd: umount /proc/timer_list" \
    "$(in_c "$D" umount /proc/timer_list 2>&1)" "Invalid argument|not mounted"
# getty may print its prompt a moment after systemd reports "running".
prompt() { grep -q "$D login:" "$LOGS/$D/console.log" 2>/dev/null; }
t_wait 10 prompt
t_like "console.log shows a login prompt on /dev/console" "$(cat "$LOGS/$D/console.log" 2>/dev/null)" "$D login:"
con=$( (sleep 1; printf '\r'; sleep 2) | timeout 5 "$LXM_BIN" --root "$T_ROOT" console "$D" 2>&1)
t_like "lxm console: a getty answers with a login prompt" "$con" "$D login:"

# --- clean stop: systemd halts by itself ------------------------------------------------------
t0=$(date +%s%N)
out=$(lxm stop "$D" 2>&1); rc=$?
echo "# clean stop: $((($(date +%s%N) - t0) / 1000000)) ms"
t_is "stop $D" "$rc" 0
t_is "stop needed no SIGKILL (stop output)" "$(printf '%s' "$out" | grep -c SIGKILL)" 0
t_is "monitor: init ended by its own halt (SIGINT)" "$(exits "$D" 'INT (halt or poweroff)')" 1
t_is "monitor: no SIGKILL" "$(exits "$D" KILL)" 0
t_like "console: systemd went through its shutdown" "$(cat "$LOGS/$D/console.log")" 'Reached target .*(System Shutdown|Power-Off|System Halt)'
t_is "state STOPPED" "$(state_of "$D")" STOPPED

# --- lxm restart ---------------------------------------------------------------------------------
t_ok "start again" lxm start "$D"
t_is "boots to running again" "$(boot_state "$D")" running
p1=$(init_pid "$D")
b1=$(in_c "$D" cat /proc/sys/kernel/random/boot_id)
t_ok "lxm restart" lxm restart "$D"
t_is "restart: running" "$(boot_state "$D")" running
t_ok "restart: a new init" test -n "$(init_pid "$D")" -a "$(init_pid "$D")" != "$p1"
t_ok "restart: a new boot id" test "$(in_c "$D" cat /proc/sys/kernel/random/boot_id)" != "$b1"
t_is "restart: the old boot halted cleanly" "$(exits "$D" 'INT (halt or poweroff)')" 2
t_is "restart: no failed units" "$(failed_units "$D")" ""

# --- reboot typed inside: the monitor boots it again ------------------------------------------------
p1=$(init_pid "$D")
b1=$(in_c "$D" cat /proc/sys/kernel/random/boot_id)
in_c "$D" systemctl reboot >/dev/null 2>&1
new_init() { local p; p=$(init_pid "$D"); [ -n "$p" ] && [ "$p" != "$p1" ]; }
t_ok "reboot: a new init comes up" t_wait 60 new_init
t_is "reboot: running" "$(boot_state "$D")" running
t_is "reboot: the monitor saw SIGHUP (pid-namespace reboot)" "$(exits "$D" 'HUP (reboot)')" 1
t_ok "reboot: a new boot id" test "$(in_c "$D" cat /proc/sys/kernel/random/boot_id)" != "$b1"
t_like "reboot: journalctl --list-boots has the earlier boots" \
    "$(in_c "$D" journalctl --list-boots --no-pager -q | wc -l)" '^([4-9]|[1-9][0-9]+)$'
t_is "reboot: no failed units" "$(failed_units "$D")" ""

# --- poweroff typed inside: it stops for good ----------------------------------------------------------
in_c "$D" systemctl poweroff >/dev/null 2>&1
t_ok "poweroff: the container stops" t_wait 60 stopped "$D"
t_is "poweroff: seen as a halt, not a reboot" "$(exits "$D" 'INT (halt or poweroff)')" 3
t_ok "poweroff: the monitor cleaned up its run dir" t_wait 5 test ! -e "$T_ROOT/run/lxm/$D/monitor.sock"
cg_left() {
    ls -d /sys/fs/cgroup/*/"$LXM_CGROUP_PARENT/$1" /sys/fs/cgroup/*/"$LXM_CGROUP_PARENT/$1"-* \
        /sys/fs/cgroup/"$LXM_CGROUP_PARENT/$1" /sys/fs/cgroup/"$LXM_CGROUP_PARENT/$1"-* 2>/dev/null | wc -l
}
t_is "poweroff: no cgroup left" "$(cg_left "$D")" 0
t_ok "start after poweroff" lxm start "$D"
t_is "boots to running after poweroff" "$(boot_state "$D")" running
t_ok "stop" lxm stop "$D"

# --- with an eth0 on a bridge of our own (systemd-networkd does DHCP) ------------------------------------
BR=lxmtdb$$
used=$(ip -4 route show table all; ip -4 -o addr show)
NET=
for a in $(seq 200 254); do
    b=$((($$ + a * 7) % 250 + 1))
    grep -Eq "(^| )10\.$a\.$b\.|(^| )10\.0\.0\.0/8|(^| )10\.$a\.0\.0/16" <<<"$used" && continue
    NET=10.$a.$b
    break
done
if [ -z "$NET" ]; then
    t_skip "boot with an eth0" "no free 10.2xx.y.0/24 on this host"
else
    mkdir -p "$T_ROOT/etc/lxm"
    printf 'network:\n  bridge: %s\n  ipv4: %s.1/24\n  nat: false\n  dhcp: true\n  dns: {upstream: []}\n' "$BR" "$NET" >"$T_ROOT/etc/lxm/lxm.yaml"
    t_on_exit "'$LXM_BIN' --root '$T_ROOT' net down -f"
    t_ok "create $E with eth0 on $BR" lxm create "$E" -t debian -c "network.eth0.bridge=$BR"
    t_ok "start $E" lxm start "$E"
    t_is "$E: systemctl is-system-running --wait" "$(boot_state "$E")" running
    t_is "$E: no failed units" "$(failed_units "$E")" ""
    has_addr() { in_c "$E" ip -4 -o addr show dev eth0 | grep -q "inet $NET\."; }
    t_ok "$E: eth0 gets an address by DHCP" t_wait 30 has_addr
    out=$(lxm stop "$E" 2>&1)
    t_is "$E: clean stop, no SIGKILL" "$(printf '%s' "$out" | grep -c SIGKILL)$(exits "$E" KILL)" 00
    t_is "$E: halted by itself" "$(exits "$E" 'INT (halt or poweroff)')" 1
    t_ok "delete $E" lxm delete "$E"
    t_ok "net down" lxm net down
fi

# --- the same boot under a pure cgroup2 view ---------------------------------------------------------------
# No controllers there, so the profile is the default one without its
# limits (a pids limit needs a pids controller).
mkdir -p "$T_ROOT/etc/lxm/profiles"
sed -e 's/^name: default$/name: v2view/' -e '/^limits:/,/^[^ ]/{/^limits:/d;/^ /d}' \
    "$LXM_PROFILES_DIR/default.yaml" >"$T_ROOT/etc/lxm/profiles/v2view.yaml"
t_ok "create $V (profile v2view: default without limits)" \
    lxm create "$V" -t debian --no-default-profile -p v2view -c network.eth0.type=none
v2_boot() {
    set -u
    umount -R -l /sys/fs/cgroup 2>/dev/null; mount -t cgroup2 none /sys/fs/cgroup || { echo "mount: failed"; return; }
    echo "view: $(findmnt -rn -R -o TARGET,FSTYPE /sys/fs/cgroup | tr '\n' ' ')"
    lxm start "$V" && echo "started"
    echo "state: $(boot_state "$V")"
    echo "failed: $(failed_units "$V" | wc -l)"
    echo "cgroup: $(in_c "$V" cat /proc/1/cgroup | grep '^0::')"
    local cg
    cg=$(sed -n 's/^0:://p' "/proc/$(init_pid "$V")/cgroup")
    case $cg in "/$LXM_CGROUP_PARENT/$V"*/init.scope) [ -d "/sys/fs/cgroup$cg" ] && echo "host sees init.scope" ;; esac
    out=$(lxm stop "$V" 2>&1) && echo "stopped"
    echo "stop SIGKILL: $(printf '%s' "$out" | grep -c SIGKILL)$(exits "$V" KILL)"
    echo "halted: $(exits "$V" 'INT (halt or poweroff)')"
    ls -d "/sys/fs/cgroup/$LXM_CGROUP_PARENT/$V" "/sys/fs/cgroup/$LXM_CGROUP_PARENT/$V"-* >/dev/null 2>&1 &&
        echo "left: cgroup" || echo "left: none"
}
out=$(unshare -m --propagation private bash -c \
    "$(declare -f v2_boot lxm in_c init_pid boot_state bus_up failed_units t_wait exits monitor_log); \
     T_ROOT='$T_ROOT' LXM_BIN='$LXM_BIN' V='$V' LOGS='$LOGS' v2_boot" 2>&1)
printf '%s\n' "$out" | sed 's/^/# v2 view: /'
if [ "$out" = "mount: failed" ]; then
    t_skip "pure cgroup2 view" "cannot mount cgroup2 in a private mount namespace"
else
    out=";$(printf '%s' "$out" | tr '\n' ';');"
    t_like "v2 view: /sys/fs/cgroup is one cgroup2 mount" "$out" ';view: /sys/fs/cgroup cgroup2 ;'
    t_like "v2 view: start" "$out" ';started;'
    t_like "v2 view: is-system-running --wait says running" "$out" ';state: running;'
    t_like "v2 view: no failed units" "$out" ';failed: 0;'
    t_like "v2 view: init in init.scope" "$out" ';cgroup: 0::/init.scope;'
    t_like "v2 view: the host sees systemd's subtree" "$out" ';host sees init.scope;'
    t_like "v2 view: clean stop without SIGKILL" "$out" ';stopped;stop SIGKILL: 00;halted: 1;'
    t_like "v2 view: cgroup removed" "$out" ';left: none;'
fi

# --- delete ------------------------------------------------------------------------------------------------
t_ok "delete $D" lxm delete "$D"
t_ok "delete $V" lxm delete "$V"
t_is "no containers left" "$(ls -A "$CT")" ""
t_done

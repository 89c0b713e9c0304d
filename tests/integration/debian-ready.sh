#!/usr/bin/env bash
# Debian's systemd is ready when it says so (issue 12): `lxm launch` /
# `start` / `restart` return after systemd's READY=1 on the notify socket
# (and eth0's DHCP lease), so the very next `lxm attach NAME -- systemctl
# is-system-running` (no --wait) prints `running`: on the first boot, after
# stop/start, after restart and after `systemctl reboot` inside; with and
# without eth0. README's example runs as written. systemd sends READY=1
# when its boot job is done, which is when is-system-running turns
# running (or degraded): the checks below would see `starting` otherwise.
. "$(dirname "$0")/../lib.sh"
t_setup debian-ready
export LXM_CACHE_DIR=${LXM_CACHE_DIR:-/var/cache/lxm-test}
t_cgroup_parent lxmt-dready-$$
LOGS=$T_ROOT/var/log/lxm

if ! command -v mmdebstrap >/dev/null && ! command -v debootstrap >/dev/null &&
    ! ls "$LXM_CACHE_DIR/images/debian-bookworm-"*.tar.zst >/dev/null 2>&1; then
    echo "1..0 # SKIP no Debian rootfs: neither mmdebstrap nor debootstrap, and no cached image"
    exit 0
fi

state_of() { lxm list --format csv 2>/dev/null | awk -F, -v n="$1" '$1 == n { print $2 }'; }
info() { lxm info "$1" --format json | jq -r ".$2"; }
sysstate() { lxm attach "$1" -- systemctl is-system-running 2>&1; }
last_ready() { grep ': ready, ' "$LOGS/$1/lxm.log" | tail -1; }

# --- README's example, as written (eth0 on the managed bridge: the default) ------------------------
out=$(lxm launch web1 -t debian 2>&1); rc=$?
t_is "lxm launch web1 -t debian" "$rc" 0
[ $rc = 0 ] || { printf '%s\n' "$out" | tail -5 | sed 's/^/#   /'; t_done; exit; }
t_is "lxm attach web1 -- systemctl is-system-running (no --wait): running" "$(sysstate web1)" running
t_like "lxm list: web1 RUNNING" "$(lxm list)" 'web1 +RUNNING'
json=$(lxm info web1 --format json)
t_is "info --format json: ready" "$(jq -r .ready <<<"$json")" true
t_like "info: systemd's status" "$(jq -r .status <<<"$json")" '.+'
t_like "info: boot_ms" "$(jq -r .boot_ms <<<"$json")" '^[1-9][0-9]*$'
echo "# web1 boot_ms $(jq -r .boot_ms <<<"$json"), status '$(jq -r .status <<<"$json")'"
t_like "lxm.log: READY=1 and the lease" "$(last_ready web1)" 'READY=1 at [0-9]+ ms, DHCP lease at [0-9]+ ms'
t_like "eth0 holds its lease" "$(lxm attach web1 -- ip -4 addr show eth0)" 'inet [0-9.]+/'
t_like "the default route is there" "$(lxm attach web1 -- ip route show default)" '^default via '
# apt downloads as _apt into archives/partial/: the bootstrap's package
# cache must not leave /var/cache/apt/archives 0700 (apt then warns
# "Download is performed unsandboxed as root" on every install).
t_ok "_apt reaches /var/cache/apt/archives/partial" lxm attach web1 -u _apt -- test -w /var/cache/apt/archives/partial
# What apt-get needs next: a name resolves through resolved -> dnsmasq.
t_like "resolved has eth0's DNS server" "$(lxm attach web1 -- resolvectl dns eth0)" '[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+'
t_like "a name resolves at once (IPv4 or, with the bridge's IPv6, AAAA)" "$(lxm attach web1 -- getent hosts web1.lxm)" '^[0-9a-f.:]+ +web1\.lxm'
t_is "no failed units" "$(lxm attach web1 -- systemctl --failed --plain --no-legend)" ""
t_ok "lxm stop web1" lxm stop web1

# --- stop/start, restart, and a reboot inside: each boot is waited for ------------------------------
t_ok "start web1" lxm start web1
t_is "after start: running" "$(sysstate web1)" running
t_ok "restart web1" lxm restart web1
t_is "after restart: running" "$(sysstate web1)" running
t_like "eth0 has its lease after restart" "$(lxm attach web1 -- ip -4 addr show eth0)" 'inet [0-9.]+/'
p0=$(info web1 pid)
t_ok "systemctl reboot inside" lxm attach web1 -- systemctl reboot
new_boot() { p=$(info web1 pid); [ "$p" != "$p0" ] && [ "$p" != null ]; }
t_ok "a new init runs" t_wait 60 new_boot
t_ok "lxm wait web1 (ready) after the reboot" lxm wait web1 --timeout 60
t_is "after systemctl reboot: running" "$(sysstate web1)" running
t_like "eth0 has its lease after the reboot" "$(lxm attach web1 -- ip -4 addr show eth0)" 'inet [0-9.]+/'
t_ok "lxm.log: each of the 4 boots was ready once" test "$(grep -c ': ready, ' "$LOGS/web1/lxm.log")" = 4
t_ok "stop web1" lxm stop web1

# --- without eth0 ---------------------------------------------------------------------------------------
t_ok "launch web2 without eth0" lxm launch web2 -t debian -c network.eth0.type=none
t_is "web2: running at once" "$(sysstate web2)" running
t_like "lxm.log: READY=1, no lease wanted" "$(last_ready web2)" 'READY=1 at [0-9]+ ms$'
t_ok "restart web2" lxm restart web2
t_is "web2 after restart: running" "$(sysstate web2)" running
t_ok "stop web2" lxm stop web2

# --- --no-wait is today's behaviour: init runs, not ready yet -------------------------------------------
t_ok "start web2 --no-wait" lxm start web2 --no-wait
t_ok "lxm wait web2" lxm wait web2 --timeout 60
t_is "running once lxm wait returns" "$(sysstate web2)" running
t_ok "stop web2" lxm stop web2

# --- STOPPING=1: the guest's own shutdown shows as STOPPING until it is down ----------------------------
# Newer systemd sends STOPPING=1 to its supervisor when it begins to shut down; Debian 12's systemd
# 252 does not (it sends only STATUS= lines), so init's message is sent for it, from inside the guest:
# systemd-notify --pid=1 gives the datagram init's credentials (root of the guest may, in its own
# pid namespace), which is what the monitor checks.
say_stopping() { lxm attach "$1" -- env NOTIFY_SOCKET=/run/host/notify systemd-notify --pid=1 STOPPING=1; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
t_ok "launch web3 without eth0" lxm launch web3 -t debian -c network.eth0.type=none
t_is "web3 RUNNING" "$(state_of web3)" RUNNING
t_ok "init says STOPPING=1" say_stopping web3
t_ok "list: web3 STOPPING" t_wait 10 is_state web3 STOPPING
t_is "info: STOPPING" "$(info web3 state)" STOPPING
t_like "lxm.log says so" "$(grep 'STOPPING=1' "$LOGS/web3/lxm.log")" 'the guest is shutting down \(STOPPING=1\)'
t_ok "poweroff inside" lxm attach web3 -- systemctl poweroff
seen=""
for ((i = 0; i < 600; i++)); do
    s=$(state_of web3)
    case " $seen " in *" $s "*) ;; *) seen="$seen $s" ;; esac
    [ "$s" = STOPPED ] && break
    sleep 0.1
done
t_is "from STOPPING=1 to the end: STOPPING, then STOPPED (never RUNNING)" "${seen# }" "STOPPING STOPPED"
t_ok "start web3 again" lxm start web3
t_is "a new boot: RUNNING" "$(state_of web3)" RUNNING
# A reboot after STOPPING=1 (newer systemd sends it for a reboot too): the next boot is not STOPPING.
p0=$(info web3 pid)
stopping_reboot() { say_stopping web3 && lxm attach web3 -- systemctl reboot; }
t_ok "STOPPING=1, then systemctl reboot inside" stopping_reboot
new_boot3() { p=$(info web3 pid); [ "$p" != "$p0" ] && [ "$p" != null ]; }
t_ok "a new init runs" t_wait 60 new_boot3
t_ok "lxm wait web3 after the reboot" lxm wait web3 --timeout 60
t_is "after the reboot: RUNNING" "$(state_of web3)" RUNNING
t_ok "stop web3" lxm stop web3

t_done

#!/usr/bin/env bash
# The hostname key of an existing container takes effect at its next
# start although the guest's init sets the hostname from /etc/hostname
# (busybox's rcS here, systemd alike): the start writes the new name into
# /etc/hostname and the 127.0.1.1 line of /etc/hosts first, inside the
# guest's root (a symlink there is replaced, never followed to the host).
# While the key stays the same, a name the guest gave itself stays. A
# reboot from inside takes a key changed meanwhile, as a restart does;
# create records the name it wrote (containers/NAME/hostname.state).
. "$(dirname "$0")/../lib.sh"
t_setup hostname
t_cgroup_parent lxmt-hostname-$$

H=hn$$
N=hn$$n   # create -c hostname=
CT=$T_ROOT/var/lib/lxm/containers
# busybox init runs the respawn entries (getty) once rcS, which sets the
# hostname from /etc/hostname, is done.
booted() { t_wait 10 lxm exec "$H" -- pidof getty; }
kernel_name() { lxm exec "$H" -- hostname; }
in_guest() { lxm exec "$H" -- cat "$1"; }
restart() { lxm restart "$H" >/dev/null 2>&1 && booted; }

t_ok "create and start $H (busybox, no network)" eval 'lxm create "$H" -t busybox -c network.eth0.type=none >/dev/null 2>&1 &&
    lxm start "$H" 2>/dev/null && booted'
t_is "hostname: the container's name" "$(kernel_name)" "$H"
t_ok "the guest adds a line of its own to /etc/hosts" lxm exec "$H" -- sh -c 'echo "10.9.9.9 other" >>/etc/hosts'

out=$(lxm config set "$H" hostname=web 2>&1)
t_like "config set hostname of a running one: at its next start" "$out" "hostname takes effect at its next start"
t_ok "restart" restart
t_is "after the restart: hostname web" "$(kernel_name)" web
t_is "/etc/hostname says web" "$(in_guest /etc/hostname)" web
hosts=$(in_guest /etc/hosts)
t_like "/etc/hosts: 127.0.1.1 web" "$hosts" $'^127\\.0\\.1\\.1\tweb$'
t_is "/etc/hosts: no other 127.0.1.1 line" "$(grep -c '^127\.0\.1\.1' <<<"$hosts")" 1
t_like "/etc/hosts: the guest's own line stays" "$hosts" '^10\.9\.9\.9 other$'
t_like "/etc/hosts: localhost stays" "$hosts" $'^127\\.0\\.0\\.1\tlocalhost'
t_is "/etc/hostname: root's, 0644, inside" "$(lxm exec "$H" -- stat -c '%u:%g %a' /etc/hostname)" "0:0 644"
t_ok "restart with the key unchanged" restart
t_is "still web" "$(kernel_name)" web

# The guest names itself: that stays while the key does not change.
t_ok "the guest writes its own /etc/hostname" lxm exec "$H" -- sh -c 'echo mine >/etc/hostname'
t_ok "restart" restart
t_is "the guest's own name stays" "$(kernel_name)" mine
t_ok "config set hostname=db" lxm config set "$H" hostname=db
t_ok "restart" restart
t_is "a change of the key wins over the guest's name" "$(kernel_name)" db
t_is "/etc/hostname says db" "$(in_guest /etc/hostname)" db

# A symlink the guest planted is replaced, never written through.
echo keep >"$T_ROOT/host-file"
t_ok "the guest makes /etc/hostname and /etc/hosts symlinks to a host path" \
    lxm exec "$H" -- sh -c "ln -sf '$T_ROOT/host-file' /etc/hostname && ln -sf '$T_ROOT/host-file' /etc/hosts"
t_ok "config set hostname=app" lxm config set "$H" hostname=app
t_ok "restart" restart
t_is "the host file is untouched" "$(cat "$T_ROOT/host-file")" keep
t_is "hostname app" "$(kernel_name)" app
t_is "/etc/hostname is a file again" "$(lxm exec "$H" -- sh -c 'test -L /etc/hostname || cat /etc/hostname')" app

# Unset: back to the container's name. A stopped container: the next start.
t_ok "stop" lxm stop -k "$H"
t_ok "config unset hostname" lxm config unset "$H" hostname
t_ok "start" eval 'lxm start "$H" 2>/dev/null && booted'
t_is "unset: the container's name again" "$(kernel_name)" "$H"
t_is "/etc/hostname: the container's name" "$(in_guest /etc/hostname)" "$H"

# --- a reboot from inside takes the key as it is now, as a restart does -------------------------
# The guest's rcS notes the hostname its boot began with (the kernel's, set
# by lxm) before it sets the one of /etc/hostname.
t_ok "the guest's rcS notes the hostname each boot begins with" \
    lxm exec "$H" -- sed -i '1a hostname >/boot-name' /etc/init.d/rcS
t_ok "the guest makes /etc/hosts a file again (its symlink pointed out of its root)" \
    lxm exec "$H" -- sh -c 'rm -f /etc/hosts && printf "127.0.0.1\tlocalhost\n" >/etc/hosts'
init_pid() { cut -d' ' -f2 "$T_ROOT/run/lxm/$H/state" 2>/dev/null; }
new_init() { local p; p=$(init_pid); [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$1" ]; }
up_again() { t_wait 20 new_init "$1" && lxm wait "$H" --timeout 20 && booted; }
reboot_inside() {
    local old
    old=$(init_pid)
    lxm attach "$H" -- reboot -f >/dev/null 2>&1
    up_again "$old"
}
state_of() { lxm list --format csv 2>/dev/null | awk -F, -v n="$1" '$1 == n { print $2 }'; }
# NAME: after a reboot the guest is NAME in every place.
named_after_reboot() {
    t_is "$2: RUNNING" "$(state_of "$H")" RUNNING
    t_is "$2: hostname $1" "$(kernel_name)" "$1"
    t_is "$2: the boot began with $1" "$(in_guest /boot-name)" "$1"
    t_is "$2: /etc/hostname says $1" "$(in_guest /etc/hostname)" "$1"
    t_like "$2: /etc/hosts: 127.0.1.1 $1" "$(in_guest /etc/hosts)" $'^127\\.0\\.1\\.1\t'"$1"'$'
}
out=$(lxm config set "$H" hostname=rb 2>&1)
t_like "config set hostname of a running one: at its next start or reboot" "$out" \
    "hostname takes effect at its next start or reboot \('lxm restart $H'\)"
t_ok "reboot -f inside: up again" reboot_inside
named_after_reboot rb "after the reboot"

# The monitor that stays whole (no idle form, which loads the config again
# when it hands back) reads the key again too.
t_ok "restart with LXM_MONITOR_IDLE=0" eval 'LXM_MONITOR_IDLE=0 lxm restart "$H" >/dev/null 2>&1 && booted'
t_ok "config set hostname=rb2" lxm config set "$H" hostname=rb2
t_ok "reboot -f inside (whole monitor): up again" reboot_inside
named_after_reboot rb2 "whole monitor, after the reboot"
# config.yaml that does not load: a warning, the name stays. (attach
# reads it too: busybox's reboot is a SIGTERM to init, sent from here.)
old=$(init_pid)
cp "$CT/$H/config.yaml" "$T_ROOT/config.yaml.good"
printf 'hostname: [\n' >"$CT/$H/config.yaml"
kill -TERM "$old"
t_ok "reboot with a config.yaml that does not load: a new init" t_wait 20 new_init "$old"
cp "$T_ROOT/config.yaml.good" "$CT/$H/config.yaml"
t_ok "up again" eval 'lxm wait "$H" --timeout 20 && booted'
named_after_reboot rb2 "unreadable config.yaml"
t_like "lxm.log says the hostname stays" "$(cat "$T_ROOT/var/log/lxm/$H/lxm.log")" \
    "$H: reboot: the hostname stays rb2: .*config.yaml"
t_ok "stop" lxm stop -k "$H"

# --- create -c hostname= records the name it wrote: the first start has nothing to write -----
t_ok "create $N -c hostname=made" lxm create "$N" -t busybox -c network.eth0.type=none -c hostname=made
t_is "hostname.state says made before any start" "$(cat "$CT/$N/hostname.state" 2>&1)" made
t_ok "delete $N" lxm delete "$N"

t_done

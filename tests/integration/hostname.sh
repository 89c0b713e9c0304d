#!/usr/bin/env bash
# The hostname key of an existing container takes effect at its next
# start although the guest's init sets the hostname from /etc/hostname
# (busybox's rcS here, systemd alike): the start writes the new name into
# /etc/hostname and the 127.0.1.1 line of /etc/hosts first, inside the
# guest's root (a symlink there is replaced, never followed to the host).
# While the key stays the same, a name the guest gave itself stays.
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

# --- create -c hostname= records the name it wrote: the first start has nothing to write -----
t_ok "create $N -c hostname=made" lxm create "$N" -t busybox -c network.eth0.type=none -c hostname=made
t_is "hostname.state says made before any start" "$(cat "$CT/$N/hostname.state" 2>&1)" made
t_ok "delete $N" lxm delete "$N"

t_done

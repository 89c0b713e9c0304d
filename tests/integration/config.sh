#!/usr/bin/env bash
# config show/set/unset/edit and profile list/show on a container directory
# written by hand (no rootfs, never started): validation before any write,
# one-line errors with file:line:col, byte-identical files on failure.
. "$(dirname "$0")/../lib.sh"
t_setup config

dir=$T_ROOT/var/lib/lxm/containers/cfg1
cfg=$dir/config.yaml
mkdir -p "$dir"
cat >"$cfg" <<'YAML'
name: cfg1
template: busybox
profiles: [default]
hostname: cfg1   # a comment
limits:
  memory: 256MiB
  pids: 100
network:
  eth0: {type: veth, bridge: lxmbr0, ipv4: dhcp}
YAML
orig=$(sha256sum <"$cfg")

out=$(lxm config show cfg1); rc=$?
t_is "show exits 0" "$rc" 0
t_is "show prints config.yaml as stored" "$out" "$(cat "$cfg")"
out=$(lxm config show cfg1 --format json)
t_like "show --format json" "$out" '"limits": \{"memory": 268435456, "pids": 100\}'
out=$(lxm config show cfg1 --effective)
t_like "show --effective: the container's pids win over the profile's" "$out" "^  pids: 100$"

out=$(lxm config set cfg1 limits.memory=lots 2>&1); rc=$?
t_is "set bad value exits 1" "$rc" 1
t_is "set bad value: one-line error" "$out" \
    'lxm: error: limits.memory: "lots" is not a size (use e.g. 512MiB, at least 4KiB)'
t_is "set bad value: file byte-identical" "$(sha256sum <"$cfg")" "$orig"

# The bounds of the cgroup code, checked when the value is set: a value
# `config set` takes is never refused by `start` (issue 18 #10).
out=$(lxm config set cfg1 limits.memory=1 2>&1); rc=$?
t_is "limits.memory=1 exits 1" "$rc" 1
t_is "limits.memory=1: says the bound" "$out" \
    'lxm: error: limits.memory: "1" is out of range (use e.g. 512MiB, at least 4KiB)'
out=$(lxm config set cfg1 limits.memory=4095 2>&1); rc=$?
t_is "limits.memory=4095 exits 1" "$rc" 1
out=$(lxm config set cfg1 limits.cpu=1e-7 2>&1); rc=$?
t_is "limits.cpu=1e-7 exits 1" "$rc" 1
t_is "limits.cpu=1e-7: says the bound" "$out" \
    'lxm: error: limits.cpu: "1e-7" is out of range (use a number of CPUs >= 0.01, e.g. 1.5)'
out=$(lxm config set cfg1 limits.cpu=0.0099 2>&1); rc=$?
t_is "limits.cpu=0.0099 exits 1" "$rc" 1
t_is "bounds: file byte-identical" "$(sha256sum <"$cfg")" "$orig"
out=$(lxm create tiny -t busybox -c limits.memory=1 2>&1); rc=$?
t_is "create -c limits.memory=1 exits 1" "$rc" 1
t_ok "and leaves no container" test ! -e "$T_ROOT/var/lib/lxm/containers/tiny"
t_ok "limits.memory=4KiB (the smallest) is taken" lxm config set cfg1 limits.memory=4KiB
t_ok "limits.cpu=0.01 (the smallest) is taken" lxm config set cfg1 limits.cpu=0.01
t_ok "put them back" lxm config set cfg1 limits.memory=256MiB
t_ok "put them back" lxm config unset cfg1 limits.cpu
orig=$(sha256sum <"$cfg")

out=$(lxm config set cfg1 limits.pids=200 limits.cpuset=0-99999 2>&1); rc=$?
t_is "set: one bad of two exits 1" "$rc" 1
t_is "set: nothing written when any key is bad" "$(sha256sum <"$cfg")" "$orig"
out=$(lxm config set cfg1 limts.pids=1 2>&1); rc=$?
t_like "set unknown key" "$out" '^lxm: error: limts: unknown key \(use name, template'
t_is "set unknown key exits 1" "$rc" 1
out=$(lxm config set cfg1 profiles=[default,nosuch] 2>&1); rc=$?
t_is "set a missing profile" "$out" "lxm: error: profile 'nosuch' not found (see 'lxm profile list')"
t_is "file still identical" "$(sha256sum <"$cfg")" "$orig"
out=$(lxm config set cfg1 name=other 2>&1); rc=$?
t_is "set name refused (exit 1)" "$rc" 1
out=$(lxm config set cfg1 limits.memory 2>&1); rc=$?
t_is "set without = is a usage error" "$rc" 2
out=$(lxm config set nosuch limits.pids=1 2>&1); rc=$?
t_is "set on a missing container" "$out" "lxm: error: container 'nosuch' not found"
out=$(lxm config set ../x limits.pids=1 2>&1); rc=$?
t_like "set on an invalid name" "$out" "^lxm: error: invalid container name '../x'"

t_ok "set two keys" lxm config set cfg1 limits.memory=1GiB network.eth0.mtu=1400
# LXD's form: one KEY and its VALUE as two arguments
t_ok "set KEY VALUE (LXD's form)" lxm config set cfg1 limits.pids 77
t_like "set KEY VALUE saved" "$(lxm config show cfg1)" "^  pids: 77$"
t_ok "set KEY VALUE: the value may hold '='" lxm config set cfg1 environment.FOO a=b
t_like "set KEY VALUE with '=' in the value saved" "$(lxm config show cfg1)" "FOO: a=b"
t_ok "unset it again" lxm config unset cfg1 environment
out=$(lxm config set cfg1 limits.pids 1 2 2>&1); rc=$?
t_is "set KEY VALUE EXTRA is a usage error" "$rc" 2
out=$(lxm config set cfg1 limits.pids 0x 2>&1); rc=$?
t_like "set KEY VALUE with a bad value names the key" "$out" "limits.pids"
t_is "set KEY VALUE with a bad value exits 1" "$rc" 1
out=$(lxm config show cfg1 --format yaml)
t_like "memory saved" "$out" "memory: 1GiB"
t_like "mtu saved" "$out" "mtu: 1400"
t_ok "unset a key" lxm config unset cfg1 limits.pids
t_fail "unset an unknown key" lxm config unset cfg1 limits.bogus
out=$(lxm config show cfg1)
t_is "pids gone" "$(printf '%s\n' "$out" | grep -c pids)" 0
t_is "no temp files left" "$(ls -A "$dir")" "config.yaml"

# hand-edited typo: every reader reports it with file:line:col
printf 'name: cfg1\nlimits:\n  memroy: 1GiB\n' >"$cfg"
out=$(lxm config show cfg1 2>&1); rc=$?
t_is "typo'd key: exit 1" "$rc" 1
t_is "typo'd key: file:line:col" "$out" \
    "lxm: error: $cfg:3:3: limits.memroy: unknown key (use memory, memory_swap, cpu, cpu_weight, cpuset, pids, io_weight)"
before=$(sha256sum <"$cfg")
t_fail "set on a broken file fails" lxm config set cfg1 limits.pids=5
t_is "broken file left alone" "$(sha256sum <"$cfg")" "$before"

# edit: a fix is saved as written; a bad edit leaves the file alone
export EDITOR="sed -i 's/memroy/memory/'"
t_ok "edit fixes the typo" lxm config edit cfg1
t_like "edit saved the text" "$(cat "$cfg")" "^  memory: 1GiB$"
before=$(sha256sum <"$cfg")
export EDITOR="sed -i 's/memory: 1GiB/memory: lots/'"
out=$(lxm config edit cfg1 2>&1); rc=$?
t_is "bad edit exits 1" "$rc" 1
t_like "bad edit names the problem" "$out" ':3:11: limits.memory: "lots" is not a size'
t_is "bad edit: config unchanged" "$(sha256sum <"$cfg")" "$before"
kept=$(printf '%s' "$out" | sed -n 's/.*your edit is kept in \(.*\))$/\1/p')
[ -n "$kept" ] && rm -f "$kept"
# The editor runs without the container's lock (other commands go on);
# a change saved meanwhile wins and the edit is refused, kept aside.
export EDITOR="sh -c 'sed -i s/1GiB/2GiB/ \"\$1\"; \"$LXM_BIN\" --root \"$T_ROOT\" config set cfg1 limits.pids=9' sh"
out=$(lxm config edit cfg1 2>&1); rc=$?
t_is "edit racing a config set exits 1" "$rc" 1
t_like "and says the file changed" "$out" "config.yaml changed while you edited it \(config unchanged; your edit is kept in "
t_like "the config set made meanwhile is kept" "$(cat "$cfg")" "pids: 9"
t_like "the edit is not saved" "$(cat "$cfg")" "memory: 1GiB"
kept=$(printf '%s' "$out" | sed -n 's/.*your edit is kept in \(.*\))$/\1/p')
t_like "the edit is in the kept file" "$(cat "$kept" 2>&1)" "memory: 2GiB"
[ -n "$kept" ] && rm -f "$kept"
before=$(sha256sum <"$cfg")
export EDITOR=false
t_fail "failing editor" lxm config edit cfg1
t_is "failing editor: config unchanged" "$(sha256sum <"$cfg")" "$before"
unset EDITOR

out=$(lxm profile list)
t_like "profile list shows default" "$out" "default +Secure defaults"
t_like "profile list shows unconfined" "$out" "unconfined"
mkdir -p "$T_ROOT/etc/lxm/profiles"
printf 'name: default\ndescription: my local default\n' >"$T_ROOT/etc/lxm/profiles/default.yaml"
out=$(lxm profile list)
t_like "a local profile overrides the shipped one" "$out" "default +my local default +local"
out=$(lxm profile show nesting)
t_like "profile show prints the YAML" "$out" "nesting: true"
out=$(lxm profile show nosuch 2>&1); rc=$?
t_is "profile show missing" "$out" "lxm: error: profile 'nosuch' not found (see 'lxm profile list')"
t_is "profile show missing exits 1" "$rc" 1
t_done

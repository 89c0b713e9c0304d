#!/usr/bin/env bash
# Profiles (issue 14): profile create/edit/copy/delete on the local
# profiles directory; -p layered after default and --no-default-profile on
# real containers (seccomp, capability bounding set, eth0 seen from
# inside); the one warning line for what a merged config leaves out; the
# next-start note of config set; and init detection for --from tarballs:
# a rootfs whose /sbin/init resolves to systemd stops on SIGRTMIN+3, fast;
# one whose init is busybox gets busybox's signals.
. "$(dirname "$0")/../lib.sh"
t_setup profiles

LOCAL=$T_ROOT/etc/lxm/profiles
CT=$T_ROOT/var/lib/lxm/containers
NONET=(-c network.eth0.type=none)
in_c() { local n=$1; shift; lxm attach "$n" -- "$@"; }
sum() { sha256sum <"$1"; }

# --- create, copy, edit, delete ----------------------------------------------------------
t_ok "profile create web" lxm profile create web
t_ok "web is a local file" test -f "$LOCAL/web.yaml"
t_like "profile list: web is local" "$(lxm profile list)" "web +local"
out=$(lxm profile create web 2>&1); rc=$?
t_is "create an existing profile: exit 1, one line" "$rc $out" "1 lxm: error: profile 'web' already exists"
out=$(lxm profile create default 2>&1); rc=$?
t_like "create over a shipped name: refused" "$rc $out" "^1 lxm: error: profile 'default' already exists \(shipped"
out=$(lxm profile create 'Bad/Name' 2>&1); rc=$?
t_like "create a bad name: refused" "$rc $out" "^1 lxm: error: invalid profile name 'Bad/Name'"
t_ok "nothing written for refused creates" test ! -e "$LOCAL/default.yaml" -a ! -e "$LOCAL/Bad"

t_ok "profile copy default strict" lxm profile copy default strict
t_like "the copy carries its own name" "$(grep '^name:' "$LOCAL/strict.yaml")" "^name: strict$"
t_is "the copy has default's seccomp rules" "$(grep -c 'syscalls:' "$LOCAL/strict.yaml")" \
    "$(grep -c 'syscalls:' "$LXM_PROFILES_DIR/default.yaml")"
out=$(lxm profile copy default web 2>&1); rc=$?
t_like "copy onto an existing profile: refused" "$rc $out" "^1 lxm: error: profile 'web' already exists"
out=$(lxm profile copy nosuch x 2>&1); rc=$?
t_like "copy of a missing profile: refused" "$rc $out" "^1 lxm: error: profile 'nosuch' not found"

# The editor is a sed script: $EDITOR is shell text, the file its argument.
export EDITOR="sed -i -e 's/^description: .*/description: web servers/' -e '\$a limits:\\n  pids: 321'"
t_ok "profile edit web" lxm profile edit web
t_like "the edit is saved" "$(cat "$LOCAL/web.yaml")" "description: web servers"
t_like "the edit is saved (limits)" "$(cat "$LOCAL/web.yaml")" "pids: 321"
before=$(sum "$LOCAL/web.yaml")
out=$(EDITOR="sed -i 's/pids: 321/pids: lots/'" lxm profile edit web 2>&1); rc=$?
t_is "invalid edit: exit 1" "$rc" 1
t_like "invalid edit: file:line:col and what is wrong" "$out" \
    '^lxm: error: /[^ ]*/web\.yaml:[0-9]+:[0-9]+: limits\.pids: "lots" is not an integer'
t_like "invalid edit: the edit is kept, nothing changed" "$out" "profile unchanged; your edit is kept in "
t_is "invalid edit: web.yaml byte-identical" "$(sum "$LOCAL/web.yaml")" "$before"
kept=$(printf '%s' "$out" | sed -n 's/.*your edit is kept in \([^)]*\)).*/\1/p')
[ -n "$kept" ] && rm -rf "$(dirname "$kept")"
out=$(EDITOR="sed -i 's/^name: web/name: other/'" lxm profile edit web 2>&1); rc=$?
t_like "edit that renames: refused" "$rc $out" "^1 lxm: error: .*name: 'other' does not match the profile's name 'web'"
kept=$(printf '%s' "$out" | sed -n 's/.*your edit is kept in \([^)]*\)).*/\1/p')
[ -n "$kept" ] && rm -rf "$(dirname "$kept")"
t_is "renaming edit: web.yaml byte-identical" "$(sum "$LOCAL/web.yaml")" "$before"
# Another change while the editor is open: refused, the other change kept.
out=$(EDITOR="f() { echo '# other' >>'$LOCAL/web.yaml'; echo '# mine' >>\"\$1\"; }; f" lxm profile edit web 2>&1); rc=$?
t_like "edit while the profile changed: refused" "$rc $out" "^1 lxm: error: $LOCAL/web\.yaml changed while you edited it"
t_is "the other change is kept, not the edit" "$(tail -1 "$LOCAL/web.yaml")" "# other"
kept=$(printf '%s' "$out" | sed -n 's/.*your edit is kept in \([^)]*\)).*/\1/p')
[ -n "$kept" ] && rm -rf "$(dirname "$kept")"
sed -i '$d' "$LOCAL/web.yaml"
t_is "(put back)" "$(sum "$LOCAL/web.yaml")" "$before"
out=$(EDITOR=false lxm profile edit web 2>&1); rc=$?
t_is "failing editor: exit 1, nothing changed" "$rc $(sum "$LOCAL/web.yaml")" "1 $before"
shipped=$(sum "$LXM_PROFILES_DIR/nesting.yaml")
t_ok "edit of a shipped profile" env EDITOR="sed -i 's/^description: .*/description: mine/'" \
    "$LXM_BIN" --root "$T_ROOT" profile edit nesting
t_is "the shipped file is untouched" "$(sum "$LXM_PROFILES_DIR/nesting.yaml")" "$shipped"
t_like "a local override is saved" "$(cat "$LOCAL/nesting.yaml" 2>&1)" "description: mine"
t_like "profile list: nesting is a local override" "$(lxm profile list)" "nesting +mine +local \(overrides shipped\)"
t_ok "delete the override" lxm profile delete nesting
t_like "the shipped one is back" "$(lxm profile show nesting)" "^# Lets a container run containers"
out=$(lxm profile delete default 2>&1); rc=$?
t_is "delete a shipped profile: refused" "$rc $out" "1 lxm: error: profile 'default' is shipped with lxm and cannot be deleted"
t_ok "delete strict" lxm profile delete strict
t_ok "strict is gone" test ! -e "$LOCAL/strict.yaml"
out=$(lxm profile delete strict 2>&1); rc=$?
t_like "delete a missing profile: refused" "$rc $out" "^1 lxm: error: profile 'strict' not found"

# --- -p layers after default ----------------------------------------------------------------
out=$(lxm create lay -t busybox -p web 2>&1); rc=$?
t_is "create -p web: exit 0, no warning" "$rc $out" "0 "
t_is "profiles: default, then web" "$(sed -n '/^profiles:/,/^[^ ]/p' "$CT/lay/config.yaml" | sed -n 's/^  - //p' | tr '\n' ' ')" \
    "default web "
out=$(lxm profile delete web 2>&1); rc=$?
t_is "delete a profile in use: refused, naming the container" "$rc $out" "1 lxm: error: profile 'web' is used by container lay"
t_ok "web is still there" test -f "$LOCAL/web.yaml"
out=$(lxm start lay 2>&1); rc=$?
t_is "start lay: exit 0, no confinement warning" "$rc $(grep 'from its profiles' <<<"$out")" "0 "
if [ $rc = 0 ]; then
    status=$(in_c lay cat /proc/1/status)
    t_like "-p web keeps default's seccomp filter" "$status" "Seccomp:[[:space:]]+2"
    bnd=$(awk '$1 == "CapBnd:" { print $2 }' <<<"$status")
    t_is "-p web keeps default's capability drops (no sys_module)" "$(((0x$bnd >> 16) & 1))" 0
    t_ok "-p web keeps default's eth0" in_c lay test -e /sys/class/net/eth0
    t_is "web's own limit applies" "$(lxm info lay --format json | jq -r .pids.limit)" 321
    lxm stop -k lay >/dev/null 2>&1
fi

# --- --no-default-profile and the warnings ----------------------------------------------------
out=$(lxm create bare -t busybox --no-default-profile -p web 2>&1); rc=$?
t_is "create --no-default-profile -p web: exit 0" "$rc" 0
t_is "one warning line naming all three" "$out" \
    "lxm: warning: bare: no seccomp filter, no capability drop, no network (from its profiles and config; see 'lxm config show bare -e')"
t_is "profiles: web alone" "$(sed -n '/^profiles:/,/^[^ ]/p' "$CT/bare/config.yaml" | sed -n 's/^  - //p' | tr '\n' ' ')" "web "
out=$(lxm start bare 2>&1); rc=$?
t_is "start bare: exit 0" "$rc" 0
t_is "start bare: the same one line" "$(grep -c 'warning: bare: no seccomp filter, no capability drop, no network' <<<"$out")" 1
if [ $rc = 0 ]; then
    status=$(in_c bare cat /proc/1/status)
    t_like "--no-default-profile: no seccomp filter" "$status" "Seccomp:[[:space:]]+0"
    t_fail "--no-default-profile: no eth0" in_c bare test -e /sys/class/net/eth0
    lxm stop -k bare >/dev/null 2>&1
fi
out=$(lxm create none -t busybox --no-default-profile 2>&1); rc=$?
t_is "--no-default-profile alone: exit 0" "$rc" 0
t_like "--no-default-profile alone: profiles: []" "$(grep '^profiles' "$CT/none/config.yaml")" '^profiles: \[\]$'
out=$(lxm create nonet -t busybox "${NONET[@]}" 2>&1); rc=$?
t_is "network.eth0.type=none: only 'no network'" "$rc $out" \
    "0 lxm: warning: nonet: no network (from its profiles and config; see 'lxm config show nonet -e')"
out=$(lxm create unc -t busybox -p unconfined "${NONET[@]}" 2>&1); rc=$?
t_like "-p unconfined: one loud line, naming the network too" "$rc $out" \
    "^0 lxm: warning: \*\*\* unc runs UNCONFINED: no capability drop, no seccomp filter, no AppArmor, no network\. [^*]*\*\*\*$"
out=$(lxm create dup -t busybox -p default 2>&1); rc=$?
t_is "-p default: no duplicate" "$rc $(sed -n '/^profiles:/,/^[^ ]/p' "$CT/dup/config.yaml" | sed -n 's/^  - //p' | tr '\n' ' ')" "0 default "

# --- config set on a running container: next-start keys said in one line ---------------------
if lxm start nonet >/dev/null 2>&1; then
    out=$(lxm config set nonet hostname=renamed limits.pids=500 2>&1); rc=$?
    t_is "config set hostname on a running container: one note line" "$rc $out" \
        "0 lxm: nonet is RUNNING: hostname takes effect at its next start or reboot ('lxm restart nonet')"
    out=$(lxm config set nonet limits.pids=600 2>&1); rc=$?
    t_is "config set of a live key: no note" "$rc $out" "0 "
    out=$(EDITOR="sed -i 's/^hostname: .*/hostname: edited/'" lxm config edit nonet 2>&1); rc=$?
    t_is "config edit of hostname on a running container: one note line" "$rc $out" \
        "0 lxm: nonet is RUNNING: changes other than limits take effect at its next start ('lxm restart nonet')"
    out=$(EDITOR="sed -i 's/pids: 600/pids: 700/'" lxm config edit nonet 2>&1); rc=$?
    t_is "config edit of a limit only: no note" "$rc $out" "0 "
    # Read by lxm autostart / stop --all, never by the running container.
    out=$(lxm config set nonet autostart_order=3 autostart_delay=2s 2>&1); rc=$?
    t_is "config set of autostart_order, autostart_delay: no note" "$rc $out" "0 "
    out=$(EDITOR="sed -i 's/^autostart_order: .*/autostart_order: 4/'" lxm config edit nonet 2>&1); rc=$?
    t_is "config edit of autostart_order only: no note" "$rc $out" "0 "
    lxm stop -k nonet >/dev/null 2>&1
else
    t_report fail "start nonet"
fi
out=$(lxm config set nonet hostname=again 2>&1); rc=$?
t_is "config set on a stopped container: no note" "$rc $out" "0 "

# --- init detection: --from a rootfs whose /sbin/init is systemd ------------------------------
BB=$(command -v busybox)
if ! gcc -static -O2 -o "$T_ROOT/fake-systemd" "$T_SRC"/tests/integration/progs/{fake-systemd,sd-notify}.c 2>"$T_ROOT/gcc.log"; then
    t_skip "init detection" "cannot build a static program: $(head -1 "$T_ROOT/gcc.log")"
elif [ -z "$BB" ]; then
    t_skip "init detection" "no busybox on this host"
else
    mkrootfs() { # DIR INIT-LINK
        mkdir -p "$1"/{bin,sbin,lib/systemd,etc,proc,sys,dev,tmp}
        cp "$BB" "$1/bin/busybox" && ln -s busybox "$1/bin/sh"
        cp "$T_ROOT/fake-systemd" "$1/lib/systemd/systemd"
        ln -s "$2" "$1/sbin/init"
    }
    mkrootfs "$T_ROOT/sd" ../lib/systemd/systemd
    tar -C "$T_ROOT/sd" -cf "$T_ROOT/sd.tar" .
    t_ok "create sd --from a tarball with /sbin/init -> ../lib/systemd/systemd" \
        lxm -q create sd --from "$T_ROOT/sd.tar" "${NONET[@]}"
    t_like "halt signal detected: SIGRTMIN+3" "$(grep -A2 '^signals' "$CT/sd/config.yaml")" "halt: SIGRTMIN\+3"
    if lxm start sd >/dev/null 2>&1; then
        t0=$(date +%s%N)
        out=$(lxm stop sd -t 20 2>&1); rc=$?
        ms=$((($(date +%s%N) - t0) / 1000000))
        t_is "stop sd: exit 0, no SIGKILL" "$rc $(grep -c SIGKILL <<<"$out")" "0 0"
        t_ok "stop sd: clean and fast (${ms} ms, the timeout was 20 s)" test "$ms" -lt 10000
        t_like "the fake systemd halted on SIGRTMIN+3" "$(cat "$T_ROOT"/var/log/lxm/sd/console.log 2>/dev/null)" "SIGRTMIN\+3, halting"
    else
        t_report fail "start sd"
    fi
    # The same rootfs told the tarball template's guess: the stop needs SIGKILL.
    t_ok "create sdp with -c signals.halt=SIGPWR" \
        lxm -q create sdp --from "$T_ROOT/sd.tar" "${NONET[@]}" -c signals.halt=SIGPWR
    t_like "-c signals.halt wins over detection" "$(grep -A2 '^signals' "$CT/sdp/config.yaml")" "halt: SIGPWR"
    if lxm start sdp >/dev/null 2>&1; then
        out=$(lxm stop sdp -t 1 2>&1)
        t_like "SIGPWR: the fake systemd ignores it, the stop kills (the test can fail)" "$out" "SIGKILL"
    else
        t_report fail "start sdp"
    fi
    # An absolute link that exists on the host but not in the rootfs is
    # resolved inside: no systemd there, no detection.
    mkrootfs "$T_ROOT/esc" /usr/lib/systemd/systemd
    tar -C "$T_ROOT/esc" -cf "$T_ROOT/esc.tar" .
    t_ok "create esc --from a tarball whose init link points at a host path" \
        lxm -q create esc --from "$T_ROOT/esc.tar" "${NONET[@]}"
    t_like "the link is resolved inside the rootfs: the template's SIGPWR" \
        "$(grep -A2 '^signals' "$CT/esc/config.yaml")" "halt: SIGPWR"
    # busybox init (Alpine's way: /sbin/init -> /bin/busybox) powers off on
    # SIGUSR2 and reboots on SIGTERM whatever its inittab says; this one's
    # ctrlaltdel (SIGINT, the tarball template's reboot guess) powers off.
    mkrootfs "$T_ROOT/bb" /bin/busybox
    printf '%s\n' '::once:/bin/busybox sleep 100000' '::ctrlaltdel:/bin/busybox poweroff' >"$T_ROOT/bb/etc/inittab"
    tar -C "$T_ROOT/bb" -cf "$T_ROOT/bb.tar" .
    t_ok "create bb --from a tarball with /sbin/init -> /bin/busybox" \
        lxm -q create bb --from "$T_ROOT/bb.tar" "${NONET[@]}"
    t_like "busybox detected: halt SIGUSR2, reboot SIGTERM" "$(grep -A2 '^signals' "$CT/bb/config.yaml" | tr -d '\n')" \
        "halt: SIGUSR2 *reboot: SIGTERM"
    if lxm start bb >/dev/null 2>&1; then
        t0=$(date +%s%N)
        out=$(lxm stop bb -t 20 2>&1); rc=$?
        ms=$((($(date +%s%N) - t0) / 1000000))
        t_is "stop bb: exit 0, no SIGKILL" "$rc $(grep -c SIGKILL <<<"$out")" "0 0"
        t_ok "stop bb: busybox's own poweroff (${ms} ms, the timeout was 20 s)" test "$ms" -lt 10000
    else
        t_report fail "start bb"
    fi
fi

# A real Debian rootfs tarball (the test image cache), when there is one.
DEB=$(t_debian_tarball)
if [ -z "$DEB" ]; then
    t_skip "Debian tarball --from" "no debian-*.tar.zst in ${LXM_CACHE_DIR:-/var/cache/lxm-test}/images"
else
    t_ok "create deb --from $(basename "$DEB")" lxm -q create deb --from "$DEB" "${NONET[@]}"
    t_like "Debian tarball: systemd detected, halt SIGRTMIN+3" "$(grep -A2 '^signals' "$CT/deb/config.yaml")" \
        "halt: SIGRTMIN\+3"
    if lxm start deb >/dev/null 2>&1; then
        # Wait for systemd to be up before asking it to halt.
        t_ok "deb: systemd is up (its private socket)" t_wait 60 in_c deb test -S /run/systemd/private
        t0=$(date +%s%N)
        out=$(lxm stop deb -t 30 2>&1); rc=$?
        ms=$((($(date +%s%N) - t0) / 1000000))
        t_is "stop deb: exit 0, no SIGKILL" "$rc $(grep -c SIGKILL <<<"$out")" "0 0"
        t_ok "stop deb: clean (${ms} ms < 25 s)" test "$ms" -lt 25000
    else
        t_report fail "start deb"
    fi
fi
t_done

#!/usr/bin/env bash
# The global config (ROOT/etc/lxm/lxm.yaml) is parsed once per command:
# strace counts the opens of lxm.yaml by a whole `lxm start` (the command
# and the monitor it forks) and by `lxm create`. A broken lxm.yaml still
# fails the commands that use it with its FILE:LINE:COL, and the commands
# that never used it still work.
. "$(dirname "$0")/../lib.sh"
t_setup global-config
command -v strace >/dev/null || { echo "1..0 # SKIP strace is not installed"; exit 0; }

C=gc$$a
CFG=$T_ROOT/etc/lxm/lxm.yaml
TRACE=$T_ROOT/trace.log

# Opens of lxm.yaml by `lxm ARGS...` and every process it forks.
opens_of() {
    strace -f -qq -e trace=open,openat,openat2 -o "$TRACE" "$LXM_BIN" --root "$T_ROOT" "$@" >/dev/null 2>&1
    grep -c 'lxm\.yaml"' "$TRACE"
}

t_is "create opens lxm.yaml once" "$(opens_of create "$C" -t busybox -c network.eth0.type=none)" 1
t_ok "the container was made" test -f "$T_ROOT/var/lib/lxm/containers/$C/config.yaml"

# strace follows the monitor until it exits: start it traced, wait until
# the container is ready, stop it; then strace is done.
strace -f -qq -e trace=open,openat,openat2 -o "$TRACE" "$LXM_BIN" --root "$T_ROOT" start "$C" >/dev/null 2>&1 &
tracer=$!
t_ok "the traced start ends with $C ready" lxm wait "$C" --state ready -t 60
t_ok "stop $C" lxm stop "$C" -t 10
t_ok "the traced start and its monitor are gone" timeout 30 tail --pid="$tracer" -f /dev/null
wait "$tracer"
t_is "start, with its monitor's boot, opens lxm.yaml once" "$(grep -c 'lxm\.yaml"' "$TRACE")" 1
t_is "net status opens it once" "$(opens_of net status)" 1

# --- a broken lxm.yaml -------------------------------------------------------------------
cp "$CFG" "$T_ROOT/lxm.yaml.orig"
line=$(($(wc -l <"$CFG") + 1))
printf 'lxcfs: [a, b]\n' >>"$CFG"
where="$CFG:$line:8: lxcfs: expected a single value, found a list \(\)"

out=$(lxm start "$C" 2>&1)
t_is "start fails" "$?" 1
# Only lxm.yaml's place: no key of the container's config in front of it.
t_like "... with the file, line and column" "$out" "^lxm: error: start $C: $where\$"
t_like "... and $C stays stopped" "$(lxm list --format csv)" "^$C,STOPPED,"
out=$(lxm create "${C}x" -t busybox -c network.eth0.type=none 2>&1)
t_like "create fails with the file, line and column" "$out" "^lxm: error: $where\$"
t_fail "... and makes no container" test -e "$T_ROOT/var/lib/lxm/containers/${C}x"
t_like "net status fails with it" "$(lxm net status 2>&1)" "^lxm: error: $where\$"
t_like "storage info fails with it" "$(lxm storage info 2>&1)" "^lxm: error: $where\$"
for cmd in list "info $C" "config show $C" "image list" "profile list" "snapshot $C s1"; do
    # shellcheck disable=SC2086
    t_ok "$cmd does not need it and still works" lxm $cmd
done
cp "$T_ROOT/lxm.yaml.orig" "$CFG"
t_ok "with lxm.yaml put back, start works" lxm start "$C" --no-wait
t_ok "stop" lxm stop -k "$C"

t_done

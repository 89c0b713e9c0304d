#!/usr/bin/env bash
# The command-line contract of CLI.md: help, version, usage errors (exit 2),
# operation errors (exit 1, one line), root check, --root relocation.
. "$(dirname "$0")/../lib.sh"
t_setup cli

out=$(lxm help 2>&1); rc=$?
t_is "help exits 0" "$rc" 0
t_like "help lists commands" "$out" "attach +run a command"
out=$(lxm version); t_like "version prints a version" "$out" '^lxm [0-9]+\.[0-9]+'
out=$(lxm start --help); rc=$?
t_is "COMMAND --help exits 0" "$rc" 0
t_like "COMMAND --help shows usage" "$out" '^Usage: lxm start NAME'

out=$(lxm frobnicate 2>&1); rc=$?
t_is "unknown command exits 2" "$rc" 2
t_is "unknown command message" "$out" "lxm: error: unknown command 'frobnicate' (see 'lxm help')"
out=$(lxm list --bogus 2>&1); rc=$?
t_is "unknown flag exits 2" "$rc" 2
t_like "unknown flag is named" "$out" "^lxm: error: list: unknown option '--bogus'"
out=$(lxm info 2>&1); rc=$?
t_is "missing argument exits 2" "$rc" 2
# Every command of one container refuses a second operand the same way,
# before it looks for the container (start, stop and delete take several names).
for cmd in info log console freeze unfreeze restart wait "config show" "config edit"; do
    out=$(lxm $cmd nosuch extra 2>&1); rc=$?
    t_is "$cmd NAME extra: exits 2" "$rc" 2
    t_is "$cmd NAME extra: one line naming it" "$out" \
        "lxm: error: ${cmd%% *}: unexpected argument 'extra' (see 'lxm ${cmd%% *} --help')"
done
# A bad -t is named by the command it was given to.
for cmd in stop restart; do
    t_error "$cmd -t x" 2 "^lxm: error: $cmd: -t x: not a number of seconds \(see 'lxm $cmd --help'\)$" \
        lxm $cmd nosuch -t x
done
out=$(lxm --format xml list 2>&1); rc=$?
t_is "bad --format exits 2" "$rc" 2
out=$("$LXM_BIN" 2>&1); rc=$?
t_is "no command exits 2" "$rc" 2

out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$LXM_BIN" --root "$T_ROOT" list 2>&1); rc=$?
t_is "non-root exits 1" "$rc" 1
t_is "non-root message" "$out" "lxm: error: must be run as root"

out=$(lxm info nosuch 2>&1); rc=$?
t_is "unknown container exits 1" "$rc" 1
t_is "unknown container message" "$out" "lxm: error: container 'nosuch' not found"
for bad in '../x' 'A' "$(printf 'a%.0s' {1..64})" '-x'; do
    out=$(lxm info -- "$bad" 2>&1); rc=$?
    t_is "invalid name '${bad:0:12}' exits 1" "$rc" 1
    t_like "invalid name '${bad:0:12}' is explained" "$out" "^lxm: error: invalid container name"
done

out=$(lxm list); rc=$?
t_is "list of an empty root exits 0" "$rc" 0
t_like "list prints a header" "$out" '^NAME +STATE +IPV4 +IPV6 +PID +TEMPLATE +AUTOSTART'
t_is "list --format json of nothing" "$(lxm list --format json)" "[]"
t_is "--format before the command" "$(lxm --format json list)" "[]"
# Output that cannot be written is a failure, not a silent success.
out=$(lxm list 2>&1 >/dev/full); rc=$?
t_is "list to a full device exits 1" "$rc" 1
t_is "and says why" "$out" "lxm: error: writing the output: No space left on device"

t_ok "nothing was written outside --root" test ! -e /var/lib/lxm/containers/nosuch
t_done

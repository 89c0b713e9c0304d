#!/usr/bin/env bash
# Everyday commands (issue 14): exec, shell, attach/exec/shell -u with the
# container's own users, file push/pull/edit (running and stopped, owners
# through the id map, hostile symlinks and FIFOs inside), log (timestamps,
# --console, -n, -f), the typo hint, the monitor's name in ps, list -c and
# human units in info. Busybox containers on the default storage driver
# (overlay or btrfs where the host has them), plus a Debian one for bash.
. "$(dirname "$0")/../lib.sh"
t_setup commands
export LXM_CACHE_DIR=${LXM_CACHE_DIR:-/var/cache/lxm-test}

C=cm$$a
D=cm$$d
H=$T_ROOT/host
mkdir -p "$H"
state_of() { lxm list --format csv 2>/dev/null | awk -F, -v n="$1" '$1 == n { print $2 }'; }
init_pid() { cut -d' ' -f2 "$T_ROOT/run/lxm/$1/state"; }
monitor_pid() { cut -d' ' -f1 "$T_ROOT/run/lxm/$1/state"; }
iso='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z '

# --- typo hint ------------------------------------------------------------------------
out=$(lxm lsit 2>&1); rc=$?
t_is "typo: exit 2" "$rc" 2
t_is "typo: did you mean" "$out" "lxm: error: unknown command 'lsit' (did you mean 'list'?)"
t_is "typo: transposed letters of exec" "$(lxm exce 2>&1)" "lxm: error: unknown command 'exce' (did you mean 'exec'?)"
t_is "far from every command: no guess" "$(lxm frobnicate 2>&1)" "lxm: error: unknown command 'frobnicate' (see 'lxm help')"
t_is "help of a typo: did you mean" "$(lxm help shel 2>&1)" "lxm: error: unknown command 'shel' (did you mean 'shell'?)"

t_ok "create $C" lxm create "$C" -t busybox -c network.eth0.type=none
t_ok "start $C" lxm start "$C"

# --- the monitor in ps ------------------------------------------------------------------
mp=$(monitor_pid "$C")
t_is "ps shows the monitor as 'lxm monitor NAME'" "$(ps -o args= -p "$mp" | sed 's/ *$//')" "lxm monitor $C"
t_is "its comm is lxm-monitor" "$(ps -o comm= -p "$mp")" lxm-monitor

# --- exec ---------------------------------------------------------------------------------
t_is "exec runs the command" "$(lxm exec "$C" -- echo hi there)" "hi there"
lxm exec "$C" -- sh -c 'exit 7'
t_is "exec: the command's exit status" "$?" 7
lxm exec "$C" -- sh -c 'kill -TERM $$'
t_is "exec: 128+N when killed by signal N" "$?" 143
t_is "exec: stdin passes through" "$(printf 'a\nb\n' | lxm exec "$C" -- wc -l)" 2
out=$(lxm exec "$C" -- tty </dev/null 2>&1); rc=$?
t_is "exec without a terminal: no pty" "$rc $out" "1 not a tty"
out=$(printf 'tty\nexit\n' | script -qec "'$LXM_BIN' --root '$T_ROOT' exec $C -- sh" /dev/null 2>&1)
t_like "exec on a terminal: a pty" "$out" '/dev/pts/[0-9]'
t_is "exec: root's home is the working directory" "$(lxm exec "$C" -- pwd)" /root
t_is "exec: HOME, USER, SHELL of the user" "$(lxm exec "$C" -- sh -c 'echo $HOME $USER $LOGNAME $SHELL')" "/root root root /bin/sh"
t_is "exec --cwd and --env" "$(lxm exec "$C" --cwd /tmp --env A=b -- sh -c 'echo $(pwd) $A')" "/tmp b"
out=$(lxm exec "$C" 2>&1); rc=$?
t_like "exec without a command: usage error" "$rc $out" "^2 lxm: error: exec: missing command"
out=$(lxm exec nosuch$$ -- true 2>&1); rc=$?
t_like "exec in a missing container" "$rc $out" "^1 .*container 'nosuch$$' not found"
# A command that cannot be run exits as a shell's does (127 not found, 126
# not executable), so a script tells it from the command's own failure.
t_error "exec of a missing command" 127 "^lxm: error: attach: exec nosuchcmd: No such file or directory$" \
    lxm exec "$C" -- nosuchcmd
t_error "exec of a file that is not executable" 126 "^lxm: error: attach: exec /etc/passwd: Permission denied$" \
    lxm exec "$C" -- /etc/passwd
out=$(lxm attach "$C" -- /nonexistent/cmd 2>&1); rc=$?
t_like "attach of a missing command: 127" "$rc $out" "^127 lxm: error: attach: exec /nonexistent/cmd: No such file"
out=$(lxm exec "$C" --cwd /nonexistent -- true 2>&1); rc=$?
t_like "exec --cwd missing: exit 1 (not the command's)" "$rc $out" "^1 lxm: error: attach: chdir /nonexistent"

# --- users from the container's own passwd and group ------------------------------------
t_is "-u NAME" "$(lxm exec "$C" -u daemon -- id -u)" 1
t_is "-u NAME: home as the working directory" "$(lxm exec "$C" -u daemon -- pwd)" /usr/sbin
t_is "-u NAME:GROUP" "$(lxm exec "$C" -u nobody:tty -- sh -c 'echo $(id -u) $(id -g) $(id -G)')" "65534 5 5"
t_is "-u numeric id without a passwd line" "$(lxm exec "$C" -u 4242 -- sh -c 'echo $(id -u) $(id -g) $(pwd)')" "4242 4242 /"
out=$(lxm exec "$C" -u bob -- true 2>&1); rc=$?
t_like "-u unknown name: one line, exit 1" "$rc $out" "^1 lxm: error: .*user 'bob' not found in the container's /etc/passwd$"
out=$(lxm exec "$C" -u root:nogrp -- true 2>&1); rc=$?
t_like "-u unknown group" "$rc $out" "^1 .*group 'nogrp' not found in the container's /etc/group"
# A user the container has and the host has not, with supplementary groups.
host_only=$(awk -F: '$1 != "root" && $1 != "daemon" && $1 != "nobody" { print $1; exit }' /etc/passwd)
lxm exec "$C" -- sh -c 'echo "alice:x:1000:1000:Alice:/home/alice:/bin/sh" >>/etc/passwd &&
    printf "alice:x:1000:\nwheel:x:10:daemon,alice\n" >>/etc/group && mkdir -p /home/alice && chown 1000:1000 /home/alice'
t_is "-u a container-only user: ids and groups" "$(lxm exec "$C" -u alice -- sh -c 'echo $(id -u) $(id -G) $(pwd)')" "1000 1000 10 /home/alice"
if [ -n "$host_only" ] && ! id -u alice >/dev/null 2>&1; then
    t_fail "-u a host-only user ($host_only) is unknown inside" lxm exec "$C" -u "$host_only" -- true
fi
# /etc/passwd as a symlink climbing out: resolved inside the container.
lxm exec "$C" -- sh -c 'mv /etc/passwd /etc/passwd.real && ln -s ../../../../../../etc/passwd.real /etc/passwd'
t_is "-u through a passwd symlink that climbs: the container's file" "$(lxm exec "$C" -u alice -- id -u)" 1000
lxm exec "$C" -- sh -c 'rm /etc/passwd && ln -s /proc/1/root/etc/passwd.real /etc/passwd'
out=$(lxm exec "$C" -u alice -- id -u 2>&1); rc=$?
t_like "-u through a /proc magic link: refused" "$rc $out" "^1 .*/etc/passwd"
lxm exec "$C" -- sh -c 'rm /etc/passwd && mkfifo /etc/passwd'
out=$(timeout 20 "$LXM_BIN" --root "$T_ROOT" exec "$C" -u alice -- id -u 2>&1); rc=$?
t_like "-u with a FIFO as /etc/passwd: refused at once" "$rc $out" "^1 .*/etc/passwd in the container is not a regular file"
t_is "... yet root (no -u) still gets in, in /root" "$(lxm exec "$C" -- sh -c 'echo $HOME $(pwd)')" "/root /root"
lxm exec "$C" -- sh -c 'rm /etc/passwd && mv /etc/passwd.real /etc/passwd'
t_is "passwd restored" "$(lxm exec "$C" -u alice -- id -u)" 1000

# --- shell and attach's login shell -----------------------------------------------------
out=$(printf 'echo "[$0|$(pwd)|$(tty)]"\nexit 5\n' | timeout -s KILL 30 "$LXM_BIN" --root "$T_ROOT" shell "$C" 2>&1); rc=$?
t_like "shell: root's login shell, in /root, on a pty" "$out" '\[-sh\|/root\|/dev/pts/[0-9]+\]'
t_is "shell: exit status passes through" "$rc" 5
out=$(printf 'echo "[$0|$(pwd)|$(id -u)]"\nexit\n' | lxm shell "$C" -u alice 2>&1)
t_like "shell -u alice: her shell in her home" "$out" '\[-sh\|/home/alice\|1000\]'
out=$(echo 'echo "[$(id -u)]"' | timeout -s KILL 30 "$LXM_BIN" --root "$T_ROOT" shell "$C" 2>&1); rc=$?
t_is "shell fed by a pipe ends at its end (^D): exit 0" "$rc" 0
t_like "... after running what it was fed" "$out" '\[0\]'
out=$(lxm shell "$C" -- ls 2>&1); rc=$?
t_like "shell with a command: usage error" "$rc $out" "^2 .*exec"
out=$(echo 'echo "[$0|$(pwd)]"' | lxm attach "$C" 2>&1)
t_is "attach without a command: root's login shell from passwd, in /root" "$out" "[-sh|/root]"
t_is "attach -u NAME -- CMD" "$(lxm attach "$C" -u daemon -- id -u)" 1

# --- file push -------------------------------------------------------------------------------
printf 'hello\n' >"$H/a.txt"
t_ok "push a file into a directory" lxm file push "$H/a.txt" "$C:/root/"
t_is "pushed: content" "$(lxm exec "$C" -- cat /root/a.txt)" hello
t_is "pushed: owned by the container's root" "$(lxm exec "$C" -- stat -c '%u:%g %a' /root/a.txt)" "0:0 644"
hostroot=$(awk '$1 == 0 { print $2 }' "/proc/$(init_pid "$C")/uid_map")
t_is "pushed: on the host, the id map's root ($hostroot)" "$(stat -c %u "/proc/$(init_pid "$C")/root/root/a.txt")" "$hostroot"
t_ok "push --uid/--gid names, --mode" lxm file push --uid daemon --gid tty --mode 0640 "$H/a.txt" "$C:/tmp/b.txt"
t_is "pushed with owner and mode" "$(lxm exec "$C" -- stat -c '%u:%g %a' /tmp/b.txt)" "1:5 640"
t_ok "push --uid alice: her primary group" lxm file push --uid alice "$H/a.txt" "$C:/home/alice/"
t_is "pushed as alice" "$(lxm exec "$C" -- stat -c '%u:%g' /home/alice/a.txt)" "1000:1000"
printf 'new\n' >"$H/a.txt"
t_ok "push over an existing file" lxm file push "$H/a.txt" "$C:/tmp/b.txt"
t_is "replaced" "$(lxm exec "$C" -- cat /tmp/b.txt)" new
mkdir -p "$H/tree/sub" && printf x >"$H/tree/sub/f" && ln -s ../sub/f "$H/tree/link" && chmod 0750 "$H/tree/sub"
out=$(lxm file push "$H/tree" "$C:/tmp/" 2>&1); rc=$?
t_like "push of a directory without -r: refused" "$rc $out" "^1 .*is a directory \(use -r\)"
t_ok "push -r" lxm file push -r "$H/tree" "$C:/tmp/"
t_is "push -r: files, modes and symlinks" "$(lxm exec "$C" -- sh -c 'cat /tmp/tree/sub/f; stat -c " %a" /tmp/tree/sub; readlink /tmp/tree/link')" "x 750
../sub/f"
# Hostile: a symlink to ../../../.. in the path: the push stays inside.
lxm exec "$C" -- ln -s ../../../.. /tmp/esc
esc=lxm-esc-$$
t_ok "push through a symlink to ../../../.." lxm file push "$H/a.txt" "$C:/tmp/esc/tmp/$esc"
t_ok "... landed inside the container" lxm exec "$C" -- test -f "/tmp/$esc"
t_ok "... and not on the host" test ! -e "/tmp/$esc"
lxm exec "$C" -- ln -s /etc /tmp/etclink
t_ok "push to a path through an absolute symlink" lxm file push "$H/a.txt" "$C:/tmp/etclink/pushed-$$"
t_ok "... is the container's /etc" lxm exec "$C" -- test -f "/etc/pushed-$$"
t_ok "... not the host's" test ! -e "/etc/pushed-$$"
out=$(lxm file push "$H/a.txt" "$C:/no/such/dir/x" 2>&1); rc=$?
t_like "push into a missing directory: one line, exit 1" "$rc $out" "^1 lxm: error: push .*/no/such/dir"
# -p / --create-dirs (LXD's): the missing parents, root's and 0755, inside the root.
t_ok "push -p into missing directories" sh -c "umask 077; exec \"$LXM_BIN\" --root \"$T_ROOT\" file push -p \"$H/a.txt\" \"$C:/no/such/dir/x\""
t_is "push -p: the file is there" "$(lxm exec "$C" -- cat /no/such/dir/x)" new
t_is "push -p: each directory made root's, 0755 (whatever the umask)" \
    "$(lxm exec "$C" -- stat -c '%u:%g %a' /no /no/such /no/such/dir | tr '\n' ' ')" "0:0 755 0:0 755 0:0 755 "
t_ok "push --create-dirs to PATH/ (the directory itself)" lxm file push --create-dirs "$H/a.txt" "$C:/no/other/"
t_is "push --create-dirs: into it" "$(lxm exec "$C" -- cat /no/other/a.txt)" new
t_ok "push -p through a symlink to ../../../.." lxm file push -p "$H/a.txt" "$C:/tmp/esc/tmp/$esc-p/d/x"
t_ok "... the directories are made inside the container" lxm exec "$C" -- test -f "/tmp/$esc-p/d/x"
t_ok "... and not on the host" test ! -e "/tmp/$esc-p"
lxm exec "$C" -- touch /tmp/plain
out=$(lxm file push -p "$H/a.txt" "$C:/tmp/plain/sub/x" 2>&1); rc=$?
t_like "push -p under a file: one line, exit 1" "$rc $out" "^1 lxm: error: push .*tmp/plain.*Not a directory"
out=$(lxm file pull -p "$C:/tmp/b.txt" "$H/" 2>&1); rc=$?
t_like "pull -p: usage error" "$rc $out" "^2 .*-p, --uid, --gid and --mode are for push"
out=$(lxm file push "$H/a.txt" "$C" 2>&1); rc=$?
t_like "push without NAME:PATH: usage error" "$rc $out" "^2 .*is not NAME:PATH"
t_is "a failed push leaves no temp file" "$(lxm exec "$C" -- sh -c 'ls -a /tmp /root | grep -c "^\..*\.lxm-"')" 0

# --- file pull --------------------------------------------------------------------------------
lxm exec "$C" -- ln -s / /tmp/up
t_ok "pull through a symlink to /" lxm file pull "$C:/tmp/up/etc/shadow" "$H/shadow"
t_is "... returns the container's /etc/shadow" "$(cat "$H/shadow")" "$(lxm exec "$C" -- cat /etc/shadow)"
t_ok "... never the host's" test "$(cat "$H/shadow")" != "$(cat /etc/shadow)"
t_is "pull to stdout" "$(lxm file pull "$C:/tmp/up/../../etc/hostname" -)" "$C"
t_ok "pull into a host directory" lxm file pull "$C:/tmp/b.txt" "$H/"
t_is "pulled: content and mode" "$(cat "$H/b.txt") $(stat -c %a "$H/b.txt")" "new 644"
t_is "pulled: a 0600 file stays 0600" "$(stat -c %a "$H/shadow")" 600
out=$(lxm file pull "$C:/tmp/tree" "$H/" 2>&1); rc=$?
t_like "pull of a directory without -r: refused" "$rc $out" "^1 .*use -r"
mkdir "$H/out"
lxm exec "$C" -- mkfifo /tmp/tree/fifo
t_ok "pull -r" timeout 20 "$LXM_BIN" --root "$T_ROOT" file pull -r "$C:/tmp/tree" "$H/out"
t_is "pull -r: files and symlinks, the FIFO skipped" "$(cat "$H/out/tree/sub/f"; readlink "$H/out/tree/link"; test -e "$H/out/tree/fifo" || echo nofifo)" "x../sub/f
nofifo"
out=$(timeout 20 "$LXM_BIN" --root "$T_ROOT" file pull "$C:/tmp/tree/fifo" "$H/fifo" 2>&1); rc=$?
t_like "pull of a FIFO: refused at once" "$rc $out" "^1 .*not a regular file"
out=$(lxm file pull "$C:/etc/nosuch" "$H/" 2>&1); rc=$?
t_like "pull of a missing file: one line, exit 1" "$rc $out" "^1 lxm: error: pull $C:/etc/nosuch: No such file"

# --- file edit ---------------------------------------------------------------------------------
lxm exec "$C" -- sh -c 'echo "one two" >/tmp/e.txt && chown 1:5 /tmp/e.txt && chmod 600 /tmp/e.txt && ln -s /tmp/e.txt /tmp/e.link'
t_ok "edit with \$EDITOR" env EDITOR="sed -i s/one/three/" "$LXM_BIN" --root "$T_ROOT" file edit "$C:/tmp/e.link"
t_is "edited: content, owner and mode kept, the symlink kept" \
    "$(lxm exec "$C" -- sh -c 'cat /tmp/e.txt; stat -c "%u:%g %a" /tmp/e.txt; readlink /tmp/e.link')" "three two
1:5 600
/tmp/e.txt"
ino=$(lxm exec "$C" -- stat -c %i /tmp/e.txt)
t_ok "edit that changes nothing" env EDITOR=true "$LXM_BIN" --root "$T_ROOT" file edit "$C:/tmp/e.txt"
t_is "... writes nothing back (same inode)" "$(lxm exec "$C" -- stat -c %i /tmp/e.txt)" "$ino"
out=$(EDITOR="sh -c 'echo x >\$0; exit 1'" "$LXM_BIN" --root "$T_ROOT" file edit "$C:/tmp/e.txt" 2>&1); rc=$?
t_like "a failing editor: exit 1, file unchanged" "$rc $out $(lxm exec "$C" -- cat /tmp/e.txt)" "^1 .*editor .* failed.*three two$"
t_ok "edit a new file" env EDITOR="sh -c 'echo fresh >\$0'" "$LXM_BIN" --root "$T_ROOT" file edit "$C:/tmp/new.txt"
t_is "... created, root's, 0644" "$(lxm exec "$C" -- sh -c 'cat /tmp/new.txt; stat -c "%u %a" /tmp/new.txt')" "fresh
0 644"

# --- stopped container ---------------------------------------------------------------------------
t_ok "stop $C" lxm stop "$C"
printf 'offline\n' >"$H/off.txt"
t_ok "push into a stopped container" lxm file push --uid daemon "$H/off.txt" "$C:/root/off.txt"
t_is "pull from a stopped container (through /tmp/up)" "$(lxm file pull "$C:/tmp/up/root/off.txt" -)" offline
t_ok "edit in a stopped container" env EDITOR="sed -i s/offline/edited/" "$LXM_BIN" --root "$T_ROOT" file edit "$C:/root/off.txt"
t_ok "push through ../../../.. in a stopped container" lxm file push "$H/a.txt" "$C:/tmp/esc/tmp/$esc-2"
t_ok "push -p into a stopped container" lxm file push -p "$H/off.txt" "$C:/root/deep/er/off.txt"
t_ok "... not on the host" test ! -e "/tmp/$esc-2"
t_is "a stopped container is left with no mount" "$(findmnt -rn -o TARGET | grep -c "^$T_ROOT/" || true)" 0
t_ok "start $C again" lxm start "$C"
t_is "what was pushed while stopped: content and owner" "$(lxm exec "$C" -- sh -c 'cat /root/off.txt; stat -c %u /root/off.txt; test -f /tmp/'"$esc"'-2 && echo in')" "edited
1
in"
t_is "push -p while stopped: the directories root's, 0755, the file there" \
    "$(lxm exec "$C" -- sh -c 'stat -c "%u:%g %a" /root/deep /root/deep/er; cat /root/deep/er/off.txt')" "0:0 755
0:0 755
offline"

# --- log ---------------------------------------------------------------------------------------------
out=$(lxm log "$C")
t_like "log: the monitor's lines" "$out" "$C: init started"
t_is "log: every line has an ISO-8601 timestamp" "$(printf '%s\n' "$out" | grep -Evc "$iso" || true)" 0
t_is "log -n 1: one line" "$(lxm log "$C" -n 1 | wc -l)" 1
t_like "log -n 1: the last one (this boot's readiness)" "$(lxm log "$C" -n 1)" "$C: ready, [0-9]+ ms after its boot began"
t_like "log -n 2: this boot's init before it" "$(lxm log "$C" -n 2 | head -1)" "init started \(pid $(init_pid "$C")\)"
t_like "log --console: what the console showed" "$(lxm log "$C" --console)" 'login:'
"$LXM_BIN" --root "$T_ROOT" log -f "$C" >"$H/follow.out" 2>&1 &
follower=$!
t_on_exit "kill $follower"
old=$(init_pid "$C")
t_ok "restart while log -f runs" lxm restart "$C" -t 10
new=$(init_pid "$C")
t_ok "log -f shows the new boot's line" t_wait 20 grep -q "init started (pid $new)" "$H/follow.out"
t_ok "log -f shows the stop of the old init" grep -q "$C: init killed by SIGINT" "$H/follow.out"
t_ok "log -f is still following" kill -0 "$follower"
kill "$follower"; wait "$follower" 2>/dev/null
out=$(lxm log "$C" -n x 2>&1); rc=$?
t_like "log -n x: usage error" "$rc $out" "^2 .*not a number"

# --- list -c, info units -------------------------------------------------------------------------------
out=$(lxm list -c name,state,memory,disk,pid)
t_like "list -c: the chosen headers" "$(printf '%s\n' "$out" | head -1)" '^NAME +STATE +MEMORY +DISK +PID$'
t_like "list -c: human sizes" "$(printf '%s\n' "$out" | grep "^$C ")" "^$C +RUNNING +[0-9.]+(B|KiB|MiB|GiB) +[0-9.]+(B|KiB|MiB|GiB) +$(init_pid "$C")$"
t_like "list -c ipv6: a column (empty without an address)" "$(lxm list -c name,ipv6 | head -1)" '^NAME +IPV6$'
out=$(lxm list -c name,bogus 2>&1); rc=$?
t_like "list -c unknown column: usage error naming the columns" "$rc $out" "^2 .*unknown column 'bogus' \(name, state"
t_like "list -c csv keeps raw numbers" "$(lxm list -c name,memory --format csv | grep "^$C,")" "^$C,[0-9]+$"
# No address is an empty CSV field, as no pid is (not the table's "-").
t_is "list csv: no address, an empty field" "$(lxm list -c name,ipv4,ipv6,profiles --format csv | grep "^$C,")" "$C,,,default"
t_is "list without -c: the default columns" "$(lxm list | head -1 | tr -s ' ')" "NAME STATE IPV4 IPV6 PID TEMPLATE AUTOSTART"
# Many rows are gathered by several threads (cmd_list.c): every row once,
# in name order, each with its own state, pid and fields.
many=()
for i in $(seq -w 1 40); do many+=("cm$$m$i"); done
for n in "${many[@]}"; do lxm create "$n" -t busybox -c network.eth0.type=none >/dev/null 2>&1 || break; done
t_is "40 more containers made" "$(lxm list -c name | grep -c "^cm$$m")" 40
t_is "list of 41+: every name once, sorted" "$(lxm list -c name | tail -n +2 | sed 's/ *$//')" \
    "$(ls "$T_ROOT/var/lib/lxm/containers" | LC_ALL=C sort)"
t_is "list of 41+: $C RUNNING with its pid" "$(lxm list -c name,state,pid | grep "^$C " | tr -s ' ')" \
    "$C RUNNING $(init_pid "$C")"
t_is "list of 41+: the others STOPPED" "$(lxm list -c name,state | grep -c "^cm$$m[0-9]* *STOPPED")" 40
t_is "list of 41+ --format json: every row has its fields" \
    "$(lxm --format json list | jq -r '.[] | select(.name | startswith("'"cm$$"'")) | "\(.state) \(.ipv4 | type) \(.template)"' | sort | uniq -c | sed 's/^ *//')" \
    "1 RUNNING array busybox
40 STOPPED array busybox"
for n in "${many[@]}"; do lxm delete "$n" >/dev/null 2>&1; done
out=$(lxm info "$C")
t_like "info: memory in binary units" "$out" $'memory.usage: +[0-9.]+(B|KiB|MiB|GiB)\n'
t_like "info: uptime in seconds" "$out" $'uptime: +[0-9]+(\\.[0-9]+)?s\n|uptime: +[0-9]+m[0-9]{2}s\n'
t_like "info: cpu time in seconds" "$out" 'cpu.usage: +[0-9.]+s'
t_like "info --format json: raw numbers" "$(lxm info "$C" --format json | jq -c '[.memory.usage_bytes, .uptime_s, .cpu.usage_ns] | map(type)')" '^\["number","number","number"\]$'

# --- Debian: root's login shell is bash ------------------------------------------------------------------
if ls "$LXM_CACHE_DIR/images/debian-bookworm-"*.tar.zst >/dev/null 2>&1 &&
    lxm create "$D" -t debian -c network.eth0.type=none >/dev/null 2>&1; then
    t_ok "start Debian $D" lxm start "$D"
    out=$(echo 'echo "[$0|$(pwd)|$SHELL]"' | lxm attach "$D" 2>&1)
    t_is "attach on Debian: root's bash, in /root" "$out" "[-bash|/root|/bin/bash]"
    out=$(printf 'echo "[$0|$(pwd)]"\nexit\n' | lxm shell "$D" 2>&1)
    t_like "shell on Debian: a login bash on a pty" "$out" '\[-bash\|/root\]'
    t_is "exec -u _apt on Debian: a system user of the container" "$(lxm exec "$D" -u _apt -- id -un)" _apt
    t_ok "stop $D" lxm stop -k "$D"
else
    t_skip "Debian login shell" "no cached Debian image in $LXM_CACHE_DIR"
fi

t_ok "stop $C" lxm stop -k "$C"
t_done

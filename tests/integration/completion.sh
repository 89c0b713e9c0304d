#!/usr/bin/env bash
# Shell completion (completion/bash/lxm): sourced in bash, driven through
# COMP_WORDS/COMP_CWORD like bash does on TAB, checked in COMPREPLY.
# Names come from real containers, snapshots, images and profiles under
# this test's own root; commands and flags from the built binary's help.
. "$(dirname "$0")/../lib.sh"
t_setup completion
t_storage dir
# Images of this test go under its root, not into the shared test cache.
export LXM_CACHE_DIR=$T_ROOT/var/cache/lxm
COMPLETION=$T_SRC/completion/bash/lxm

# comp WORD...: what TAB offers for the last word (sorted, one line),
# with LXM_ROOT=$T_ROOT unless the caller set COMP_ROOT.
comp() {
    LXM_ROOT=${COMP_ROOT-$T_ROOT} bash -c '
        source "$0" || exit 1
        COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _lxm_complete
        printf "%s\n" "${COMPREPLY[@]}" | sort -u | paste -sd" "' "$COMPLETION" "$LXM_BIN" "$@"
}

# bcomp LINE: the same for a line as bash splits it on TAB: at blanks and
# around each ':' (in COMP_WORDBREAKS), with COMP_LINE and COMP_POINT; bash
# then replaces only what follows the last ':' of the word.
bcomp() {
    LXM_ROOT=$T_ROOT bash -c '
        source "$0" || exit 1
        set -f
        COMP_LINE=$1 COMP_POINT=${#1} COMP_WORDS=()
        for t in $1; do
            while [[ $t == *:* ]]; do
                [ -n "${t%%:*}" ] && COMP_WORDS+=("${t%%:*}")
                COMP_WORDS+=(":") t=${t#*:}
            done
            [ -n "$t" ] && COMP_WORDS+=("$t")
        done
        [[ $1 == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _lxm_complete
        printf "%s\n" "${COMPREPLY[@]}" | sort -u | paste -sd" "' "$COMPLETION" "$1"
}

t_ok "completion script parses" bash -n "$COMPLETION"
t_ok "create c1 (busybox)" lxm create c1 -t busybox
t_ok "create web (busybox)" lxm create web -t busybox
t_ok "snapshot c1 snap-a" lxm snapshot c1 snap-a
t_ok "snapshot c1 snap-b" lxm snapshot c1 snap-b
t_ok "export c1" lxm export c1 "$T_ROOT/c1.tar"
t_ok "image import --alias bbimg" lxm image import "$T_ROOT/c1.tar" --alias bbimg
t_ok "profile create myprof" lxm profile create myprof

# Commands: exactly those 'lxm help' lists (hidden ones left out).
want=$(lxm help | sed -n 's/^  \([a-z][-a-z]*\)  .*/\1/p' | sort -u | paste -sd' ')
t_like "help lists some commands" "$want" "^attach .*start"
t_is "TAB after lxm: every command of lxm help" "$(comp '')" "$want"
t_is "commands by prefix" "$(comp sn)" "snapshot"
t_is "hidden commands are not offered" "$(comp __)" ""
t_is "help COMMAND" "$(comp help star)" "start"

# Names under the root (templates: the ones this tree ships).
templates=$(cd "$LXM_TEMPLATES_DIR" && ls *.yaml | sed 's/\.yaml$//' | sort | paste -sd' ')
t_like "the tree ships busybox" "$templates" "(^| )busybox( |$)"
t_is "start NAME: containers" "$(comp start '')" "c1 web"
t_is "containers by prefix" "$(comp delete w)" "web"
t_is "delete NAME...: containers after a first one too" "$(comp delete c1 -f '')" "c1 web"
t_is "restore NAME SNAP: that container's snapshots" "$(comp restore c1 '')" "snap-a snap-b"
t_is "snapshot --delete NAME SNAP" "$(comp snapshot --delete c1 snap-)" "snap-a snap-b"
t_is "no snapshots of web" "$(comp restore web '')" ""
t_is "create -t: templates" "$(comp create x -t '')" "$templates"
t_like "create -p: shipped and local profiles" "$(comp create x -p '')" "^default myprof nesting"
t_is "create --image: store images" "$(comp create x --image bbi)" "bbimg"
fp=$(lxm image list --format json | jq -r '.[0].fingerprint')
t_is "images by fingerprint prefix" "$(comp image info "${fp:0:4}")" "${fp:0:12}"
t_is "profile show: profiles" "$(comp profile show my)" "myprof"
t_is "create NAME: a new name, no container offered" "$(comp create '')" ""
t_is "copy SRC: containers" "$(comp copy '')" "c1 web"

# file NAME:PATH: containers with a ':', then paths inside, read through
# lxm (stopped c1: its storage; running web: through its init's root).
t_is "file pull NAME:PATH: containers with a ':'" "$(comp file pull '')" "c1: web:"
t_is "file push SRC NAME:PATH" "$(comp file push /etc/hostname w)" "web:"
t_is "file edit NAME:PATH" "$(comp file edit c)" "c1:"
t_like "c1:<TAB>: the names of its /" "$(bcomp "$LXM_BIN file pull c1:")" "^bin/ .*etc/ .*sbin/"
t_is "c1:/et<TAB>: a directory, after the ':'" "$(bcomp "$LXM_BIN file pull c1:/et")" "/etc/"
t_is "c1:/etc/hostn<TAB>" "$(bcomp "$LXM_BIN file pull c1:/etc/hostn")" "/etc/hostname"
t_is "c1:etc/hostn<TAB>: relative to its /" "$(bcomp "$LXM_BIN file edit c1:etc/hostn")" "etc/hostname"
t_is "a word 'c1 :/et' is no NAME:PATH" "$(bcomp "$LXM_BIN file pull c1 :/et")" ""
t_is "no such directory: nothing" "$(bcomp "$LXM_BIN file pull c1:/nonexistent/x")" ""
t_is "no such container: nothing" "$(bcomp "$LXM_BIN file pull nosuch:/")" ""
t_is "symlinks stay inside: c1:/bin/../../../et" "$(bcomp "$LXM_BIN file pull c1:/bin/../../../et")" \
    "/bin/../../../etc/"
if lxm start web >/dev/null 2>&1; then
    t_is "a running container: its /proc, through its init" \
        "$(bcomp "$LXM_BIN file pull web:/proc/1/cmdl")" "/proc/1/cmdline"
    t_ok "stop web" lxm stop -k web
else
    t_skip "a running container's paths" "web does not start here"
fi
# A TAB must not wait for another command: c1's lock held here, nothing
# at once.
exec {lockfd}>"$T_ROOT/run/lxm/.locks/c1.lock"
t_ok "hold c1's lock" flock -n -x "$lockfd"
out=$(timeout 5 bash -c "$(declare -f bcomp); COMPLETION='$COMPLETION' T_ROOT='$T_ROOT' \
    bcomp '$LXM_BIN file pull c1:/et'"); rc=$?
t_is "a locked container offers no paths, at once" "$rc:$out" "0:"
exec {lockfd}>&-
t_is "and its paths again once it is free" "$(bcomp "$LXM_BIN file pull c1:/et")" "/etc/"

# Image servers: REMOTE: for image list/copy, names for remote remove.
t_is "image copy REMOTE:ALIAS: servers with a ':'" "$(comp image copy '')" "images:"
t_is "image list REMOTE:" "$(comp image list im)" "images:"
t_is "remote remove NAME: servers" "$(comp remote remove '')" "images"
t_is "remote add NAME: a new name" "$(comp remote add '')" ""

# Flags and subcommands come from 'lxm COMMAND --help'.
t_like "start -: its flags" "$(comp start c1 -)" "(^| )--foreground( |$)"
t_like "create --: long options" "$(comp create x --no)" "^--no-default-profile$"
t_is "stop -t takes a value (SECONDS): nothing offered" "$(comp stop -t '')" ""
t_is "stop -t 5 NAME" "$(comp stop -t 5 '')" "c1 web"
t_is "config subcommands" "$(comp config '')" "edit set show unset"
t_is "config set NAME" "$(comp config set '')" "c1 web"
t_is "image alias add|remove" "$(comp image alias '')" "add remove"
t_is "--format values" "$(comp list --format '')" "csv json table yaml"
t_is "storage init --driver values" "$(comp storage init --driver '')" "btrfs"

# The root: --root on the command line wins over LXM_ROOT; another root
# has other names.
other=$(mktemp -d /tmp/lxm-it-completion-other.XXXXXX)
t_on_exit rm -rf "$other"
t_is "--root DIR of the command line" "$(COMP_ROOT= comp --root "$T_ROOT" start '')" "c1 web"
t_is "another root: its own (no) containers" "$(comp --root "$other" start '')" ""

# zsh runs the same function through bashcompinit (completion/zsh/_lxm),
# in sh emulation as its _bash_complete does; zsh itself matches the
# words against the typed prefix, so the words come unfiltered.
if "$T_SRC/scripts/install-deps" zsh >/dev/null 2>&1 && command -v zsh >/dev/null; then
    t_ok "zsh: _lxm parses" zsh -n "$T_SRC/completion/zsh/_lxm"
    zcomp() {
        LXM_ROOT=$T_ROOT zsh -fc '
            autoload -U +X compinit && compinit -u -D
            autoload -U +X bashcompinit && bashcompinit
            source "$1" || exit 1
            shift
            emulate -L sh; setopt kshglob noshglob braceexpand
            COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
            _lxm_complete
            printf "%s\n" "${COMPREPLY[@]}" | sort -u | paste -sd" "' zsh "$COMPLETION" "$LXM_BIN" "$@"
    }
    t_is "zsh: start NAME" "$(zcomp start '')" "c1 web"
    t_is "zsh: restore NAME SNAP" "$(zcomp restore c1 '')" "snap-a snap-b"
    t_is "zsh: create -t" "$(zcomp create x -t '')" "$templates"
    t_is "zsh: config subcommands" "$(zcomp config '')" "edit set show unset"
    t_is "zsh: file pull NAME:PATH" "$(zcomp file pull c1:/etc/hostn)" "c1:/etc/hostname"
    t_like "zsh: commands" "$(zcomp '')" "(^| )snapshot( |$)"
    # End to end: an interactive zsh on a pty (zsh/zpty), compinit with
    # completion/zsh in fpath, TAB after "lxm start w": the line becomes
    # "lxm start web ". zpty -r PATTERN waits for it (bounded by timeout).
    zpty_tab() {
        LXM_ROOT=$T_ROOT LXM_BASH_COMPLETION=$COMPLETION timeout 30 zsh -f -c '
            zmodload zsh/zpty || exit 1
            zpty -b z "zsh -f -i"
            zpty -w z "PS1=\"> \"; fpath=($1 \$fpath); path=($2 \$path); autoload -U compinit && compinit -u -D"
            zpty -n -w z "$3"$'"'"'\t'"'"'
            zpty -r z out "*$4*" && print -r -- "completed: $4"
            zpty -d z' zsh "$T_SRC/completion/zsh" "$(dirname "$LXM_BIN")" "$1" "$2" 2>&1 | tail -n1
    }
    t_is "zsh on a pty: lxm start w<TAB>" "$(zpty_tab 'lxm start w' 'lxm start web')" "completed: lxm start web"
    t_is "zsh on a pty: lxm resto<TAB>" "$(zpty_tab 'lxm resto' 'lxm restore')" "completed: lxm restore"
else
    t_skip "zsh completion" "zsh could not be installed"
fi

# Every command the help lists answers --help with its usage line (what
# the completion reads for flags and arguments).
bad=
for c in $want; do
    case "$c" in help | version) continue ;; esac
    "$LXM_BIN" "$c" --help 2>/dev/null | head -n1 | grep -q "^Usage: lxm $c" || bad="$bad $c"
done
t_is "every command has a usage line for completion" "$bad" ""
t_done

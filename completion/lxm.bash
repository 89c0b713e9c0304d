# bash completion for lxm                                  -*- shell-script -*-
#
# Nothing here lists lxm's commands or options: the commands come from
# 'lxm help', a command's options and positional arguments from the usage
# line and option lines of 'lxm COMMAND --help', and the names (containers,
# templates, profiles, images, snapshots) from 'lxm __complete KIND' under
# the --root of the command line (or LXM_ROOT). A new command completes as
# soon as it is in lxm's command table.
#
# What a placeholder of a usage line completes to:
#   NAME         containers (a profile under 'profile'; nothing for the new
#                name of create/launch/profile create)
#   SNAP         snapshots of the container named before it
#   TEMPLATE, PROFILE, IMAGE   templates, profiles, images
#   SRC          containers under copy, profiles under profile, else files
#   FILE, DIR, PATH, DST, ...FILE   files (DST of copy: nothing)
#   COMMAND      lxm's commands;  CMD (after --): commands, then files
#   lower-case words (list, add|remove): themselves

# _lxm_run WORDS...: the lxm of the command line, with its --root.
_lxm_run()
{
    "$_lxm_bin" ${_lxm_root:+--root "$_lxm_root"} "$@" 2>/dev/null
}

# lxm's commands, from 'lxm help' (hidden ones have no line there).
_lxm_commands()
{
    _lxm_run help | sed -n 's/^  \([a-z][-a-z]*\)  .*/\1/p'
}

# Parse 'lxm CMD --help' into _lxm_usage (the usage line after
# "lxm CMD "), _lxm_opts (every option) and _lxm_optarg (option ->
# placeholder of its argument, for options that take one).
_lxm_parse_help()
{
    local help line o p short long
    help=$(_lxm_run "$1" --help) || help=
    _lxm_usage=$(printf '%s\n' "$help" | sed -n "s/^Usage: lxm $1 \{0,1\}//p" | head -n1)
    _lxm_opts=$(printf '%s\n' "$_lxm_usage $help" |
        grep -oE '(^|[][ ,|(])--?[a-zA-Z][-a-zA-Z]*' | sed 's/^[][ ,|(]//' | sort -u)
    _lxm_optarg=()
    local -A fromhelp=()
    # Option lines: "  -t, --template NAME   text" / "      --ro   text".
    while IFS= read -r line; do
        [[ $line =~ ^\ +(-([a-zA-Z]),\ )?(--[a-zA-Z][-a-zA-Z]*)(\ ([A-Z][^ ]*))? ]] || continue
        short=${BASH_REMATCH[2]:+-${BASH_REMATCH[2]}} long=${BASH_REMATCH[3]} p=${BASH_REMATCH[5]}
        for o in $short $long; do
            fromhelp[$o]=1
            [ -n "$p" ] && _lxm_optarg[$o]=$p
        done
        [ -n "$short" ] && fromhelp[$short]=$long
    done <<<"$help"
    # The usage line's "-x ARG" names the argument better ("-t TEMPLATE");
    # an option the help lists without an argument takes none.
    local rest=$_lxm_usage
    while [[ $rest =~ (^|[[ ])(--?[a-zA-Z][-a-zA-Z]*)\ ([^]\ [-][^]\ []*) ]]; do
        o=${BASH_REMATCH[2]} p=${BASH_REMATCH[3]}
        rest=${rest#*"${BASH_REMATCH[0]}"}
        [ "$p" = "|" ] && continue
        if [ -z "${fromhelp[$o]:-}" ] || [ -n "${_lxm_optarg[$o]:-}" ]; then
            _lxm_optarg[$o]=$p
            long=${fromhelp[$o]:-}
            [[ $long == --* ]] && [ -n "${_lxm_optarg[$long]:-}" ] && _lxm_optarg[$long]=$p
        fi
    done
    return 0
}

# _lxm_names KIND [ARG]: names from 'lxm __complete'.
_lxm_names() { _lxm_run __complete "$@"; }

# Fill COMPREPLY for placeholder $1 (of option $3 when it is an option's
# argument) at the current word $cur; $2 is the container named earlier.
_lxm_reply_for()
{
    local ph=$1 ctr=$2 opt=${3:-} words=
    ph=${ph//[][]/}
    ph=${ph%...}
    case "$opt" in --from | --from-rootfs) ph=FILE ;; esac
    case "$ph" in
        *[a-z]*)   # literal choices: list, add|remove, table|json
            words=${ph//|/ } ;;
        NAME)
            case "$_lxm_cmd:$_lxm_sub" in
                create:* | launch:* | profile:create | import:*) return 0 ;;
                profile:*) words=$(_lxm_names profiles) ;;
                *) words=$(_lxm_names containers) ;;
            esac ;;
        SNAP) [ -n "$ctr" ] && words=$(_lxm_names snapshots "$ctr") ;;
        TEMPLATE) words=$(_lxm_names templates) ;;
        PROFILE) words=$(_lxm_names profiles) ;;
        IMAGE) words=$(_lxm_names images) ;;
        COMMAND) words=$(_lxm_commands) ;;
        SRC)
            case "$_lxm_cmd" in
                copy) words=$(_lxm_names containers) ;;
                profile) words=$(_lxm_names profiles) ;;
                *) _lxm_files; return 0 ;;
            esac ;;
        DST) [ "$_lxm_cmd" = copy ] && return 0; _lxm_files; return 0 ;;
        FILE* | DIR* | PATH | *_FILE | SRC* | DST*) _lxm_files; return 0 ;;
        *) return 0 ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}

_lxm_files()
{
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$cur"))
}

# The positional placeholders of one usage alternative, one a line
# (options and their arguments dropped; stops at "--").
_lxm_positionals()
{
    local t skip=0 o
    for t in $1; do
        o=${t#[}
        if [ $skip = 1 ]; then skip=0; continue; fi
        case "$o" in
            --) return 0 ;;
            -*) o=${o%%]*}; [ -n "${_lxm_optarg[$o]:-}" ] && skip=1; continue ;;
        esac
        o=${o//[][]/}
        [ -n "$o" ] && printf '%s\n' "$o"
    done
}

# Complete the positional argument number ${#pos[@]} from the usage line's
# alternatives whose literal words match what was typed.
_lxm_complete_positional()
{
    local alt i n=${#pos[@]} ph ctr lit ok
    local -a toks
    local IFS=$'\n'
    local -a alts=($(printf '%s\n' "$_lxm_usage" | sed 's/ | /\n/g'))
    unset IFS
    local -a all=()
    for alt in "${alts[@]}"; do
        toks=($(_lxm_positionals "$alt"))
        ok=1 ctr=
        for ((i = 0; i < n; i++)); do
            ph=${toks[i]:-${toks[-1]:-}}
            [ $i -ge ${#toks[@]} ] && [[ ${toks[-1]:-} != *... ]] && { ok=0; break; }
            ph=${ph%...}
            if [[ $ph == *[a-z]* ]]; then
                lit="|$ph|"
                [[ $lit == *"|${pos[i]}|"* ]] || { ok=0; break; }
                [ $i = 0 ] && _lxm_sub=${pos[i]}
            elif [ "$ph" = NAME ] && [ -z "$ctr" ]; then
                ctr=${pos[i]}
            fi
        done
        [ $ok = 1 ] || continue
        ph=${toks[n]:-}
        [ -z "$ph" ] && [ ${#toks[@]} -gt 0 ] && [[ ${toks[-1]} == *... ]] && [ $n -ge ${#toks[@]} ] && ph=${toks[-1]}
        [ -n "$ph" ] || continue
        COMPREPLY=()
        _lxm_reply_for "$ph" "$ctr"
        all+=("${COMPREPLY[@]}")
    done
    COMPREPLY=()
    [ ${#all[@]} -gt 0 ] && COMPREPLY=($(printf '%s\n' "${all[@]}" | sort -u))
    return 0
}

_lxm_complete()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]:-}
    local _lxm_bin=${COMP_WORDS[0]} _lxm_root=${LXM_ROOT:-} _lxm_cmd= _lxm_sub=
    local _lxm_usage= _lxm_opts=
    local -A _lxm_optarg=()
    local i w dashdash=0 skip=0
    local -a pos=()
    COMPREPLY=()

    # Global options, then the command.
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case "$w" in
            --root) _lxm_root=${COMP_WORDS[i + 1]:-}; ((i++)) ;;
            --root=*) _lxm_root=${w#--root=} ;;
            --format) ((i++)) ;;
            -*) ;;
            *) _lxm_cmd=$w; break ;;
        esac
    done
    _lxm_root=${_lxm_root/#\~/$HOME}
    case "$prev" in
        --root) compopt -o dirnames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")); return 0 ;;
        --format) COMPREPLY=($(compgen -W "table json yaml csv" -- "$cur")); return 0 ;;
    esac
    if [ -z "$_lxm_cmd" ]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--root --debug -v --quiet -q --format --help -h --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_lxm_commands)" -- "$cur"))
        fi
        return 0
    fi

    if [ "$_lxm_cmd" = help ]; then
        [ $((COMP_CWORD - i)) = 1 ] && COMPREPLY=($(compgen -W "$(_lxm_commands)" -- "$cur"))
        return 0
    fi
    _lxm_parse_help "$_lxm_cmd"
    # The command's words so far: positionals, options and their arguments.
    for ((i = i + 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [ $skip = 1 ]; then skip=0; continue; fi
        if [ $dashdash -gt 0 ]; then dashdash=$((dashdash + 1)); continue; fi
        case "$w" in
            --) dashdash=1 ;;
            --format) skip=1 ;;
            -*=*) ;;
            -*) [ -n "${_lxm_optarg[$w]:-}" ] && skip=1 ;;
            *) pos+=("$w") ;;
        esac
    done
    if [ $dashdash = 1 ]; then
        COMPREPLY=($(compgen -c -- "$cur" | sort -u))
        return 0
    elif [ $dashdash -gt 1 ]; then
        _lxm_files
        return 0
    fi
    if [ $skip = 1 ]; then
        [ "$prev" = --format ] && return 0
        _lxm_reply_for "${_lxm_optarg[$prev]}" "${pos[0]:-}" "$prev"
        return 0
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$_lxm_opts --help --format" -- "$cur"))
        return 0
    fi
    _lxm_complete_positional
}

complete -F _lxm_complete lxm

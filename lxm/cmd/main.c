/* lxm: global flags, the command table, dispatch. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "storage/leftovers.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strv.h"

static int cmd_version(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err);
static int cmd_help(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err);

static const struct lxm_command commands[] = {
    { "create", cmd_create, "NAME -t TEMPLATE | --image IMAGE [-r RELEASE] [-p PROFILE]... [--no-default-profile] [-c KEY=VALUE]... [--include PKG,...] [--from IMAGE [--from-rootfs FILE]]",
      "provision a container's root filesystem from a template",
      "  -t, --template NAME   template to provision from (see 'lxm template list')\n"
      "  -r, --release REL     distribution release (default: the template's)\n"
      "  -p, --profile NAME    add a profile after the template's (default) ones (repeatable)\n"
      "      --no-default-profile  use only the -p profiles, not the template's\n"
      "  -c, --config K=V      set a config key (repeatable), e.g. limits.memory=256MiB\n"
      "      --include PKGS    extra packages, comma separated (debootstrap templates)\n"
      "      --from IMAGE      build the rootfs from an image: a rootfs tarball (.tar, .tar.gz,\n"
      "                        .tar.xz, .tar.zst), an lxm export, an LXC/Incus image tarball,\n"
      "                        a squashfs, or an OCI layout DIR[:TAG]\n"
      "      --from-rootfs FILE  with --from METADATA.tar.xz: the rootfs of a split LXC/Incus\n"
      "                        image (rootfs.squashfs or a rootfs tarball)\n"
      "      --image IMAGE     create from an image of the store (alias or fingerprint prefix),\n"
      "                        or REMOTE:ALIAS of an image server (copied into the store once)\n" },
    { "launch", cmd_launch, "NAME -t TEMPLATE [create options] [--timeout SECONDS] [--no-wait]",
      "create and start a container, and wait until it is ready",
      "  --timeout, --no-wait  as for start\n"
      "Prints 'Creating NAME' and 'Starting NAME' as it goes (not with --quiet).\n" },
    { "start", cmd_start, "NAME... [-F] [--timeout SECONDS] [--no-wait]",
      "boot containers and wait until each is ready",
      "  -F, --foreground      stay in the foreground attached to the console (one NAME, no wait)\n"
      "      --timeout SECS    wait this long for the guest to be ready (default 60);\n"
      "                        past it: exit 1, the container is left running\n"
      "      --no-wait         return as soon as init runs\n"
      "Ready: a systemd guest has sent READY=1 (the notify protocol), any other init\n"
      "runs; and every interface addressed by the managed bridge's DHCP has its lease.\n"
      "Several NAMEs: each is started in turn; exit 1 if any failed.\n" },
    { "stop", cmd_stop, "NAME... | --all [-t SECONDS] [-k]", "shut containers down cleanly",
      "  -t, --timeout SECS    wait this long for a clean shutdown before SIGKILL\n"
      "                        (default: the container's stop_timeout, else 30)\n"
      "  -k, --kill            kill at once\n"
      "  -a, --all             every running container, highest autostart_order first;\n"
      "                        those of one order at the same time, each with its timeout\n" },
    { "restart", cmd_restart, "NAME [-t SECONDS] [--no-wait]",
      "stop and start a container, and wait until it is ready",
      "  -t, --timeout SECS    the stop's timeout before SIGKILL (default: stop_timeout, else 30)\n"
      "      --no-wait         return as soon as init runs\n" },
    { "wait", cmd_wait, "NAME [--state ready|running|stopped] [-t SECONDS]",
      "wait until a container is in a state (at once if it is)",
      "  -s, --state STATE     ready (default), running (init runs, ready or not), stopped\n"
      "  -t, --timeout SECS    give up after this long: exit 1 (default: no limit)\n" },
    { "attach", cmd_attach, "NAME [-u USER[:GROUP]] [--env K=V]... [--cwd DIR] [-- CMD ARGS...]",
      "run a command (or the user's login shell) inside a running container",
      "  -u, --user USER[:GROUP]  run as this user (a name or id of the container's own\n"
      "                        /etc/passwd and /etc/group; default root)\n"
      "      --env K=V         set an environment variable (repeatable)\n"
      "      --cwd DIR         working directory inside the container (default: the user's home)\n"
      "A pty is used when stdin and stdout are terminals. The exit status is the command's.\n" },
    { "exec", cmd_exec, "NAME [-u USER[:GROUP]] [--env K=V]... [--cwd DIR] -- CMD ARGS...",
      "run a command inside a running container (no shell, a pty only on a terminal)",
      "  -u, --user USER[:GROUP]  run as this user (names from the container's passwd/group)\n"
      "      --env K=V         set an environment variable (repeatable)\n"
      "      --cwd DIR         working directory inside the container (default: the user's home)\n"
      "The exit status is the command's (128+N when killed by signal N; 127 when it is not\n"
      "found, 126 when it cannot be executed).\n" },
    { "shell", cmd_shell, "NAME [-u USER[:GROUP]] [--env K=V]...",
      "open the user's login shell inside a running container, on a pty",
      "  -u, --user USER[:GROUP]  whose shell and home (the container's /etc/passwd; default root)\n"
      "      --env K=V         set an environment variable (repeatable)\n" },
    { "console", cmd_console, "NAME", "connect to the container's console (Ctrl-a q detaches)", NULL },
    { "file", cmd_file, "push SRC NAME:PATH [-r] [-p] [--uid U] [--gid G] [--mode M] | pull NAME:PATH DST [-r] | edit NAME:PATH",
      "copy files into or out of a container, or edit one",
      "  push SRC... NAME:PATH  copy host files in (PATH ending in / or an existing\n"
      "                        directory: into it); owned by the container's root\n"
      "  pull NAME:PATH... DST  copy files out (DST a directory when several)\n"
      "  edit NAME:PATH        open a copy in $VISUAL/$EDITOR, write it back atomically\n"
      "  -r, --recursive       push/pull directories and what they hold\n"
      "  -p, --create-dirs     push: make PATH's missing parent directories (root's, 0755)\n"
      "      --uid U --gid G   push: owner inside the container (names or ids of its\n"
      "                        passwd/group; default 0)\n"
      "      --mode M          push: octal mode (default: the source's)\n"
      "Paths are resolved inside the container's root: its symlinks never lead out.\n"
      "Works on running and stopped containers.\n" },
    { "log", cmd_log, "NAME [-f] [--console] [-n LINES]", "show a container's log (lxm's, or the console's)",
      "  -f, --follow          keep printing lines as they come (Ctrl-C ends)\n"
      "      --console         the console log (what init and getty wrote)\n"
      "  -n, --lines N         only the last N lines (default: all)\n" },
    { "list", cmd_list, "[-c COLUMN,...] [-f|--format table|json|yaml|csv] [NAME...]", "list containers",
      "  NAME...               only these: a name prefix as in LXD (web: web, web1, webserver),\n"
      "                        or a shell pattern for the whole name ('web-*', 'db?')\n"
      "  -c, --columns LIST    columns to show (default name,state,ipv4,pid,template,autostart):\n"
      "                        name state ipv4 ipv6 pid template release autostart profiles\n"
      "                        uptime memory memory_limit cpu processes disk storage\n"
      "Tables show sizes and times for people (MiB, s); JSON, YAML and CSV keep raw numbers.\n" },
    { "info", cmd_info, "NAME [-f|--format table|json|yaml|csv]", "show a container's state and resource use", NULL },
    { "delete", cmd_delete, "NAME... [-f]", "remove stopped containers",
      "  -f, --force           stop a container first if it is running\n"
      "Several names are deleted in turn; a failure is reported and the others are\n"
      "still deleted (exit 1 if any failed).\n" },
    { "freeze", cmd_freeze, "NAME", "freeze every process of a container", NULL },
    { "unfreeze", cmd_unfreeze, "NAME", "thaw a frozen container", NULL },
    { "config", cmd_config, "show NAME | set NAME KEY=VALUE... | set NAME KEY VALUE | unset NAME KEY | edit NAME",
      "read or change a container's config.yaml",
      "  show NAME [-e]        print config.yaml (with --format json|yaml: the parsed config)\n"
      "  -e, --effective       show: the config as it applies, profiles merged in\n"
      "  set NAME K=V...       change keys (all or nothing), e.g. limits.memory=512MiB;\n"
      "                        limits apply at once to a running container\n"
      "  set NAME KEY VALUE    one key, LXD's way (KEY without '=')\n"
      "  unset NAME KEY...     remove keys, back to the profiles' or built-in defaults\n"
      "  edit NAME             open config.yaml in $VISUAL/$EDITOR; saved only if valid\n" },
    { "snapshot", cmd_snapshot, "NAME [SNAP] | --list NAME | --delete NAME SNAP", "snapshot a container",
      "  -l, --list            list NAME's snapshots\n"
      "  -d, --delete          delete snapshot SNAP of NAME\n" },
    { "restore", cmd_restore, "NAME SNAP", "restore a container from a snapshot", NULL },
    { "copy", cmd_copy, "SRC DST", "clone a container", NULL },
    { "export", cmd_export, "NAME FILE", "write a container (config + rootfs) to a tarball", NULL },
    { "import", cmd_import, "FILE [NAME] [-p PROFILE]... [--trust-profiles]",
      "create a container from an exported tarball",
      "  -p, --profile NAME    the container's profiles (repeatable; default: default);\n"
      "                        the archive's own list is shown and not used\n"
      "      --trust-profiles  keep the archive's profiles (when no -p), its security.*\n"
      "                        keys and its mounts: only for archives you trust\n" },
    { "template", cmd_template, "list", "list the available templates", NULL },
    { "image", cmd_image, "list [REMOTE:[FILTER]] | info IMAGE | import FILE|DIR[:TAG] | copy REMOTE:ALIAS | export IMAGE FILE | alias add|remove | delete IMAGE | prune",
      "manage the image store (unpacked images containers share)",
      "  list                          FINGERPRINT, ALIASES, TEMPLATE, RELEASE, ARCH, SIZE, CREATED, USED BY\n"
      "  list REMOTE:[FILTER] [--arch ARCH|all]\n"
      "                                the images of an image server (newest build of each;\n"
      "                                default: this host's architecture)\n"
      "  copy REMOTE:ALIAS [--alias NAME]...\n"
      "                                download an image into the store (sha256-checked), so\n"
      "                                `create --image REMOTE:ALIAS` needs no network after it\n"
      "  info IMAGE                    one image (IMAGE: alias or fingerprint prefix)\n"
      "  import FILE|DIR[:TAG] [--alias NAME]... [--split ROOTFS_FILE]\n"
      "                                unpack an image into the store once (rootfs tarball, lxm\n"
      "                                export, LXC/Incus image, OCI layout)\n"
      "  export IMAGE FILE.tar.zst     write the image's tree as a rootfs tarball\n"
      "  alias add IMAGE NAME | alias remove NAME\n"
      "  delete IMAGE                  remove an image no container or snapshot uses\n"
      "  prune                         remove every unused image\n" },
    { "remote", cmd_remote, "add NAME URL [--protocol simplestreams] | list | remove NAME",
      "manage image servers (simplestreams), for REMOTE:ALIAS image names",
      "  add NAME URL          a new image server (http:// or https://)\n"
      "  list                  NAME, URL, PROTOCOL (built in: images, the LXC/Incus server)\n"
      "  remove NAME           forget a server (images copied from it stay in the store)\n" },
    { "profile", cmd_profile, "list | show NAME | create NAME | edit NAME | copy SRC DST | delete NAME",
      "manage profiles",
      "  list                  shipped and local profiles (local ones override)\n"
      "  show NAME             print a profile's YAML (--format json: parsed)\n"
      "  create NAME           a new, empty local profile\n"
      "  edit NAME             open it in $VISUAL/$EDITOR; saved only if valid (a shipped\n"
      "                        profile is saved as a local one that overrides it)\n"
      "  copy SRC DST          a new local profile with SRC's content\n"
      "  delete NAME           remove a local profile (refused while a container uses it)\n" },
    { "mount", cmd_mount, "add NAME SRC PATH [--ro] | remove NAME PATH",
      "add or remove a bind mount, live on a running container",
      "  add NAME SRC PATH     bind host SRC on PATH inside; recorded in config.yaml\n"
      "      --ro              read-only\n"
      "  remove NAME PATH      unmount PATH and drop it from config.yaml\n"
      "A running container gets the change at once, a stopped one at its next start.\n" },
    { "net", cmd_net, "up | down [-f] | status", "manage the bridge, its DHCP/DNS server and NAT",
      "  up                    create the bridge, start DHCP/DNS and NAT (idempotent)\n"
      "  down                  remove them; refused while containers are attached\n"
      "  -f, --force           down: remove even while containers are attached\n"
      "  status                bridge state, addresses and DHCP leases\n" },
    { "storage", cmd_storage, "init --driver btrfs --size SIZE [--pool FILE] | info",
      "make a btrfs storage pool on a loop file, or show the storage in use",
      "  init                  make a btrfs pool on a sparse loop file, mount it on\n"
      "                        /var/lib/lxm and record it in lxm.yaml\n"
      "      --driver btrfs    the pool's filesystem (btrfs is the only one)\n"
      "      --size SIZE       its size, e.g. 20GiB (at least 256MiB; sparse)\n"
      "      --pool FILE       the loop file (default /var/lib/lxm-disks/btrfs.img)\n"
      "  info                  driver, pool, mount, size and use\n" },
    { "autostart", cmd_autostart, "", "start every autostart container, in autostart_order",
      "Lowest autostart_order first, one at a time, waiting autostart_delay after\n"
      "each; running ones are left alone. Exit 1 if any failed to start (the others\n"
      "are still started). lxm.service runs it at boot, and 'lxm stop --all' at shutdown.\n" },
    { "doctor", cmd_doctor, "[--fix] [--format table|json|yaml|csv]",
      "check the host, and find what killed commands left behind",
      "  --fix                 remove the leftovers found (staged files of killed\n"
      "                        commands, DNS entries of deleted containers, port\n"
      "                        forwards of containers that do not run)\n"
      "Exit 1 when a check FAILs (or, with --fix, a leftover could not be removed).\n" },
    { "version", cmd_version, "", "print the version", NULL },
    { "help", cmd_help, "[COMMAND]", "show help", NULL },
    { "__monitor", cmd_monitor, NULL, NULL, NULL },
    { "__complete", cmd_complete, NULL, NULL, NULL },
};

/* Commands that change state first remove what killed commands left
 * (leftovers.h): nothing else would ever see it. */
static bool sweeps_leftovers(const struct lxm_command *cmd)
{
    static const char *const names[] = {"create", "launch", "start", "stop", "restart", "autostart",
                                        "delete", "freeze", "unfreeze", "config", "snapshot",
                                        "restore", "copy", "export", "import", "net", "mount"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcmp(cmd->name, names[i]) == 0)
            return true;
    return false;
}

static bool runs_in_container(const struct lxm_command *cmd)
{
    return cmd->fn == cmd_attach || cmd->fn == cmd_exec || cmd->fn == cmd_shell;
}

static const struct lxm_command *find_command(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* "unknown command 'lsit' (did you mean 'list'?)": the nearest public
 * command by edit distance, if it is near enough to be a typo. */
static int unknown_command(struct lxm_error *err, const char *name)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        if (!commands[i].summary)
            continue;
        size_t d = str_edit_distance(name, commands[i].name);
        if (d < best_d)
            best = commands[i].name, best_d = d;
    }
    size_t len = strlen(name);
    if (best && best_d > 0 && best_d <= (len < 4 ? 1 : 2))
        return lxm_error_set(err, LXM_EUSAGE, "unknown command '%s' (did you mean '%s'?)", name,
                             best);
    return lxm_usage_error(err, NULL, "unknown command '%s'", name);
}

static void print_usage(FILE *f)
{
    fprintf(f, "Usage: lxm [--root DIR] [--debug|-v] [--quiet|-q] [--format table|json|yaml|csv] COMMAND ...\n\n"
               "Commands:\n");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (commands[i].summary)
            fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'lxm COMMAND --help' for a command's options.\n");
}

void lxm_print_command_help(const char *cmd)
{
    const struct lxm_command *c = find_command(cmd);
    if (!c || !c->usage)
        return;
    printf("Usage: lxm %s %s\n\n%s.\n", c->name, c->usage, c->summary);
    if (c->help)
        printf("\nOptions:\n%s", c->help);
}

int lxm_usage_error(struct lxm_error *err, const char *cmd, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (cmd)
        lxm_error_set(err, LXM_EUSAGE, "%s: %s (see 'lxm %s --help')", cmd, buf, cmd);
    else
        lxm_error_set(err, LXM_EUSAGE, "%s (see 'lxm help')", buf);
    return -LXM_EUSAGE;
}

int lxm_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
               const struct option *longopts, struct lxm_error *err)
{
    /* '+': stop at the first positional so "attach c1 -- cmd -x" keeps -x;
     * ':': report a missing argument as ':' rather than '?'. */
    char spec[128];
    snprintf(spec, sizeof(spec), "+:h%s", shortopts);
    static const struct option help_only[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
    struct option merged[64];
    size_t n = 0;
    for (const struct option *o = longopts; o && o->name && n < ARRAY_SIZE(merged) - 2; o++)
        merged[n++] = *o;
    merged[n++] = help_only[0];
    memset(&merged[n], 0, sizeof(merged[n]));

    opterr = 0;
    int opt = getopt_long(argc, argv, spec, merged, NULL);
    if (opt == 'h') {
        lxm_print_command_help(cmd);
        return 'h';
    }
    if (opt == '?') {
        const char *bad = argv[optind - 1];
        if (optopt)
            return lxm_usage_error(err, cmd, "unknown option '-%c'", optopt), '?';
        return lxm_usage_error(err, cmd, "unknown option '%s'", bad), '?';
    }
    if (opt == ':')
        return lxm_usage_error(err, cmd, "option '%s' needs an argument", argv[optind - 1]), '?';
    return opt;
}

int lxm_cmd_container(struct lxm_ctx *ctx, const char *cmd, const char *name, unsigned flags,
                      struct lxm_container **out, struct lxm_error *err)
{
    if (!name)
        return lxm_usage_error(err, cmd, "missing container name");
    if (flags & LXM_CMD_NEW)
        return lxm_container_new(&ctx->paths, name, out, err);
    if (flags & LXM_CMD_LOCKED)
        return lxm_container_open_locked(&ctx->paths, name, out, err);
    return lxm_container_open(&ctx->paths, name, out, err);
}

int lxm_cmd_container_arg(struct lxm_ctx *ctx, const char *cmd, int argc, char **argv,
                          unsigned flags, struct lxm_container **out, struct lxm_error *err)
{
    if (optind + 1 < argc)
        return lxm_usage_error(err, cmd, "unexpected argument '%s'", argv[optind + 1]);
    return lxm_cmd_container(ctx, cmd, optind < argc ? argv[optind] : NULL, flags, out, err);
}

int lxm_not_implemented(const char *cmd, struct lxm_error *err)
{
    return lxm_error_set(err, ENOSYS, "'%s' is not implemented yet", cmd);
}

static int cmd_version(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    printf("lxm %s\n", PACKAGE_VERSION);
    return 0;
}

static int cmd_help(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    if (argc < 2) {
        print_usage(stdout);
        return 0;
    }
    const struct lxm_command *c = find_command(argv[1]);
    if (!c || !c->summary)
        return unknown_command(err, argv[1]);
    lxm_print_command_help(c->name);
    return 0;
}

static int parse_format(const char *s, enum lxm_output_format *out)
{
    static const char *names[] = { "table", "json", "yaml", "csv" };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum lxm_output_format)i;
            return 0;
        }
    return -EINVAL;
}

/* Global flags come before the command; --format is also accepted after it
 * (lxm list --format json), which we fold in here so every command gets it. */
static int parse_global(struct lxm_ctx *ctx, int *argc, char ***argv, const char **root,
                        struct lxm_error *err)
{
    int i = 1;
    for (; i < *argc; i++) {
        const char *a = (*argv)[i];
        const char *val = NULL;
        if (a[0] != '-')
            break;
        if (strcmp(a, "--debug") == 0 || strcmp(a, "-v") == 0)
            ctx->debug = true;
        else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
            ctx->quiet = true;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 'h';
        else if (strcmp(a, "--version") == 0)
            return 'V';
        else if (strncmp(a, "--root=", 7) == 0)
            *root = a + 7;
        else if (strncmp(a, "--format=", 9) == 0)
            val = a + 9;
        else if (strcmp(a, "--root") == 0 || strcmp(a, "--format") == 0) {
            if (i + 1 >= *argc)
                return lxm_usage_error(err, NULL, "option '%s' needs an argument", a);
            if (a[2] == 'r')
                *root = (*argv)[++i];
            else
                val = (*argv)[++i];
        } else
            return lxm_usage_error(err, NULL, "unknown option '%s'", a);
        if (val && parse_format(val, &ctx->format) < 0)
            return lxm_usage_error(err, NULL, "--format %s: unknown format (table, json, yaml or csv)", val);
    }
    *argc -= i;
    *argv += i;
    return 0;
}

/* Pull "--format F" / "--format=F" out of a command's arguments (before any
 * "--"), so that every command accepts it in either position. list and info
 * also take LXD's short "-f F" (elsewhere -f is --force, --follow or --fix). */
static int extract_format(struct lxm_ctx *ctx, int *argc, char **argv, struct lxm_error *err)
{
    bool short_f = strcmp(argv[0], "list") == 0 || strcmp(argv[0], "info") == 0;
    int out = 0;
    bool passthrough = false;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (!passthrough && strcmp(a, "--") == 0)
            passthrough = true;
        if (!passthrough && strncmp(a, "--format=", 9) == 0)
            val = a + 9;
        else if (!passthrough && short_f && strncmp(a, "-f", 2) == 0 && a[2])
            val = a + 2;
        else if (!passthrough && (strcmp(a, "--format") == 0 || (short_f && strcmp(a, "-f") == 0))) {
            if (i + 1 >= *argc)
                return lxm_usage_error(err, argv[0], "option '%s' needs an argument", a);
            val = argv[++i];
        }
        if (val) {
            if (parse_format(val, &ctx->format) < 0)
                return lxm_usage_error(err, argv[0], "--format %s: unknown format (table, json, yaml or csv)", val);
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    struct lxm_ctx ctx = { .format = LXM_OUT_TABLE };
    struct lxm_error err = { 0 };
    const char *root = NULL;
    int r;

    ctx.argv0 = "/proc/self/exe";
    r = parse_global(&ctx, &argc, &argv, &root, &err);
    if (r == 'h' || (r == 0 && argc == 0)) {
        print_usage(r == 'h' ? stdout : stderr);
        return r == 'h' ? 0 : 2;
    }
    if (r == 'V')
        return cmd_version(&ctx, 0, NULL, &err);
    if (r < 0)
        goto fail;

    lxm_log_set_level(ctx.debug ? LXM_LOG_DEBUG : ctx.quiet ? LXM_LOG_QUIET : LXM_LOG_NORMAL);

    const struct lxm_command *cmd = find_command(argv[0]);
    if (!cmd) {
        r = unknown_command(&err, argv[0]);
        goto fail;
    }
    r = extract_format(&ctx, &argc, argv, &err);
    if (r < 0)
        goto fail;

    /* __complete only reads names (a user's TAB must not mount pools or
     * sweep leftovers); what it cannot read it leaves out. */
    bool needs_root = cmd->fn != cmd_help && cmd->fn != cmd_version && cmd->fn != cmd_complete;
    for (int i = 1; i < argc && needs_root; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            needs_root = false;
    }
    if (needs_root && geteuid() != 0) {
        fprintf(stderr, "lxm: error: must be run as root\n");
        return 1;
    }
    r = lxm_paths_init(&ctx.paths, root, &err);
    if (r < 0)
        goto fail;
    lxm_cmd_report_init(&ctx);
    /* After a reboot the storage pool is mounted again by whichever
     * command comes first (`storage` does it itself, after its checks;
     * attach, exec and shell only when the container is not found: a
     * running one has its pool mounted, and they skip reading lxm.yaml). */
    if (needs_root && cmd->fn != cmd_storage && cmd->fn != cmd_monitor && !runs_in_container(cmd) &&
        (r = lxm_cmd_storage_ready(&ctx, &err)) < 0) {
        lxm_paths_free(&ctx.paths);
        goto fail;
    }

    /* create makes and reads no port forwards: it leaves stale ones to the
     * next command that does. */
    bool swept = needs_root && sweeps_leftovers(cmd);
    if (swept)
        lxm_leftovers_sweep(&ctx.paths, cmd->fn == cmd_create ? LXM_SWEEP_NO_FORWARDS : 0);

    optind = 0; /* full getopt reset for the handler */
    r = cmd->fn(&ctx, argc, argv, &err);
    if (swept && r >= 0)
        lxm_leftovers_sweep_done(&ctx.paths);
    lxm_paths_free(&ctx.paths);
    if (r >= 0) {
        /* What a command printed is its result: failing to write it out
         * (a full disk, a closed pipe) is a failure of the command. */
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "lxm: error: writing the output: %s\n", strerror(errno ? errno : EIO));
            return 1;
        }
        return r;
    }
fail:
    fflush(stdout);
    fprintf(stderr, "lxm: error: %s\n", err.msg[0] ? err.msg : strerror(-r));
    return err.code == LXM_EUSAGE ? 2 : 1;
}

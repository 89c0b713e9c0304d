/* attach, exec, shell: processes inside a running container. All three
 * take -u USER[:GROUP] (names from the container's own passwd/group),
 * --env and --cwd; they differ in what runs and whether a pty is forced:
 *   attach [-- CMD]  CMD, or the user's login shell
 *   exec -- CMD      CMD only
 *   shell            the user's login shell, always on a pty */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/strv.h"

enum run_kind { RUN_ATTACH, RUN_EXEC, RUN_SHELL };

struct run_args {
    const char *cmd;
    struct lxm_attach_opts opts;
    char **env;
};

static int run_opt(struct run_args *a, int opt, const char *arg, struct lxm_error *err)
{
    switch (opt) {
    case 'u':
        if (!*arg || arg[0] == ':')
            return lxm_usage_error(err, a->cmd, "-u '%s': expected USER or USER:GROUP", arg);
        a->opts.user = arg;
        return 0;
    case 'e':
        if (!strchr(arg, '=') || arg[0] == '=')
            return lxm_usage_error(err, a->cmd, "--env %s: expected KEY=VALUE", arg);
        return strv_push(&a->env, arg) < 0 ? lxm_error_set(err, ENOMEM, "out of memory") : 0;
    case 'C':
        if (arg[0] != '/')
            return lxm_usage_error(err, a->cmd, "--cwd %s: must be an absolute path", arg);
        a->opts.cwd = arg;
        return 0;
    }
    return 0;
}

/* Options before or after NAME; "--" ends them and the rest is the
 * command. */
static int parse_run(struct run_args *a, int argc, char **argv, const char **name,
                     struct lxm_error *err)
{
    static const struct option longopts[] = {{"user", required_argument, NULL, 'u'},
                                             {"uid", required_argument, NULL, 'u'},
                                             {"env", required_argument, NULL, 'e'},
                                             {"cwd", required_argument, NULL, 'C'},
                                             {0}};
    *name = NULL;
    for (;;) {
        int opt = lxm_getopt(a->cmd, argc, argv, "u:", longopts, err);
        if (opt == 'h')
            return 'h';
        if (opt == '?')
            return -LXM_EUSAGE;
        if (opt != -1) {
            int r = run_opt(a, opt, optarg, err);
            if (r < 0)
                return r;
            continue;
        }
        bool dashdash = optind > 0 && optind <= argc && strcmp(argv[optind - 1], "--") == 0;
        if (dashdash || optind >= argc || *name)
            break;
        *name = argv[optind++];
    }
    if (!*name)
        return lxm_usage_error(err, a->cmd, "missing container name");
    a->opts.argv = optind < argc ? &argv[optind] : NULL;
    return 0;
}

static int run(struct lxm_ctx *ctx, enum run_kind kind, const char *cmd, int argc, char **argv,
               struct lxm_error *err)
{
    struct run_args a = {.cmd = cmd};
    const char *name;
    int r = parse_run(&a, argc, argv, &name, err);
    _cleanup_strv_free_ char **env = a.env;
    if (r != 0)
        return r == 'h' ? 0 : r;
    if (kind == RUN_EXEC && !a.opts.argv)
        return lxm_usage_error(err, cmd, "missing command (lxm exec NAME -- CMD [ARGS...])");
    if (kind == RUN_SHELL && a.opts.argv)
        return lxm_usage_error(err, cmd, "unexpected argument '%s' (a command: lxm exec)",
                               a.opts.argv[0]);
    /* A pty for a person at a terminal (stdin and stdout), and always for
     * shell. */
    a.opts.stdin_tty = isatty(STDIN_FILENO);
    a.opts.pty = kind == RUN_SHELL || (a.opts.stdin_tty && isatty(STDOUT_FILENO));
    a.opts.env = env;
    _cleanup_container_ struct lxm_container *c = NULL;
    r = lxm_cmd_container(ctx, cmd, name, 0, &c, err);
    if (r == -ENOENT) {
        /* Perhaps the storage pool is not mounted yet (main.c). */
        struct lxm_error pool = {0};
        int p = lxm_cmd_storage_ready(ctx, &pool);
        if (p < 0) {
            *err = pool;
            return p;
        }
        lxm_error_clear(err);
        r = lxm_cmd_container(ctx, cmd, name, 0, &c, err);
    }
    if (r < 0)
        return r;
    r = lxm_runtime_attach(c, &a.opts, err);
    /* The command could not be exec'd: why, and the shell's 127 or 126. */
    if (r > 0 && err->msg[0])
        fprintf(stderr, "lxm: error: %s\n", err->msg);
    return r;
}

int cmd_attach(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    return run(ctx, RUN_ATTACH, "attach", argc, argv, err);
}

int cmd_exec(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    return run(ctx, RUN_EXEC, "exec", argc, argv, err);
}

int cmd_shell(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    return run(ctx, RUN_SHELL, "shell", argc, argv, err);
}

/* start, stop, restart, console, freeze, unfreeze (attach: cmd_exec.c). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "runtime.h"
#include "util/cleanup.h"

#define DEFAULT_STOP_TIMEOUT_MS 30000

/* Options may come before or after NAME ("stop -k c1", "stop c1 -k");
 * "--" ends them and the rest is *rest (attach's command). */
static int parse_args(const char *cmd, int argc, char **argv, const char *shortopts,
                      const struct option *longopts,
                      int (*on_opt)(int, const char *, void *, struct lxm_error *), void *data,
                      const char **name, char ***rest, struct lxm_error *err)
{
    *name = NULL;
    for (;;) {
        int opt = lxm_getopt(cmd, argc, argv, shortopts, longopts, err);
        if (opt == 'h')
            return 'h';
        if (opt == '?')
            return -LXM_EUSAGE;
        if (opt != -1) {
            int r = on_opt(opt, optarg, data, err);
            if (r < 0)
                return r;
            continue;
        }
        bool dashdash = optind > 0 && optind <= argc && strcmp(argv[optind - 1], "--") == 0;
        if (!dashdash && optind < argc && !*name) {
            *name = argv[optind++];
            continue;
        }
        break;
    }
    if (!*name)
        return lxm_usage_error(err, cmd, "missing container name");
    if (optind < argc && !rest)
        return lxm_usage_error(err, cmd, "unexpected argument '%s'", argv[optind]);
    if (rest)
        *rest = optind < argc ? &argv[optind] : NULL;
    return 0;
}

static int no_opts(int opt, const char *arg, void *data, struct lxm_error *err)
{
    (void)opt, (void)arg, (void)data, (void)err;
    return 0;
}

static int start_opt(int opt, const char *arg, void *data, struct lxm_error *err)
{
    (void)arg, (void)err;
    if (opt == 'F')
        ((struct lxm_start_opts *)data)->foreground = true;
    return 0;
}

int cmd_start(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option longopts[] = {{"foreground", no_argument, NULL, 'F'}, {0}};
    struct lxm_start_opts opts = {.on_config = lxm_cmd_warn_confinement};
    const char *name;
    int r = parse_args("start", argc, argv, "F", longopts, start_opt, &opts, &name, NULL, err);
    if (r != 0)
        return r == 'h' ? 0 : r;
    _cleanup_container_ struct lxm_container *c = NULL;
    r = lxm_container_open(&ctx->paths, name, &c, err);
    return r < 0 ? r : lxm_runtime_start(c, &opts, err);
}

struct stop_args {
    int64_t timeout_ms;
    bool kill;
};

static int stop_opt(int opt, const char *arg, void *data, struct lxm_error *err)
{
    struct stop_args *s = data;
    if (opt == 'k') {
        s->kill = true;
    } else if (opt == 't') {
        char *end;
        double secs = strtod(arg, &end);
        if (end == arg || *end || secs < 0 || secs > 86400)
            return lxm_usage_error(err, "stop", "-t %s: not a number of seconds", arg);
        s->timeout_ms = (int64_t)(secs * 1000);
    }
    return 0;
}

static int parse_stop(const char *cmd, int argc, char **argv, struct stop_args *s,
                      const char **name, struct lxm_error *err)
{
    static const struct option longopts[] = {
        {"timeout", required_argument, NULL, 't'}, {"kill", no_argument, NULL, 'k'}, {0}};
    s->timeout_ms = DEFAULT_STOP_TIMEOUT_MS;
    s->kill = false;
    return parse_args(cmd, argc, argv, strcmp(cmd, "stop") == 0 ? "t:k" : "t:", longopts, stop_opt,
                      s, name, NULL, err);
}

int cmd_stop(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    struct stop_args s;
    const char *name;
    int r = parse_stop("stop", argc, argv, &s, &name, err);
    if (r != 0)
        return r == 'h' ? 0 : r;
    _cleanup_container_ struct lxm_container *c = NULL;
    r = lxm_container_open(&ctx->paths, name, &c, err);
    return r < 0 ? r : lxm_runtime_stop(c, s.timeout_ms, s.kill, err);
}

int cmd_restart(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    struct stop_args s;
    const char *name;
    int r = parse_stop("restart", argc, argv, &s, &name, err);
    if (r != 0)
        return r == 'h' ? 0 : r;
    /* One lock over the stop and the start: no command gets in between. */
    _cleanup_container_ struct lxm_container *c = NULL;
    r = lxm_container_open_locked(&ctx->paths, name, &c, err);
    if (r < 0)
        return r;
    struct lxm_runtime_info info;
    r = lxm_runtime_query(c, &info, err);
    if (r < 0)
        return r;
    if (info.state != LXM_STATE_STOPPED) {
        r = lxm_runtime_stop(c, s.timeout_ms, false, err);
        if (r < 0)
            return r;
    }
    struct lxm_start_opts opts = {.on_config = lxm_cmd_warn_confinement};
    return lxm_runtime_start(c, &opts, err);
}

static int simple(struct lxm_ctx *ctx, const char *cmd, int argc, char **argv,
                  struct lxm_container **c, struct lxm_error *err)
{
    const char *name;
    int r = parse_args(cmd, argc, argv, "", NULL, no_opts, NULL, &name, NULL, err);
    if (r != 0)
        return r == 'h' ? 1 : r;
    return lxm_container_open(&ctx->paths, name, c, err);
}

int cmd_console(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = simple(ctx, "console", argc, argv, &c, err);
    if (r != 0)
        return r > 0 ? 0 : r;
    return lxm_runtime_console(c, err);
}

int cmd_freeze(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = simple(ctx, "freeze", argc, argv, &c, err);
    if (r != 0)
        return r > 0 ? 0 : r;
    return lxm_runtime_freeze(c, true, err);
}

int cmd_unfreeze(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = simple(ctx, "unfreeze", argc, argv, &c, err);
    if (r != 0)
        return r > 0 ? 0 : r;
    return lxm_runtime_freeze(c, false, err);
}

/* The monitor is forked by `lxm start`, not re-executed: nothing to do. */
int cmd_monitor(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    (void)ctx, (void)argc, (void)argv;
    return lxm_error_set(err, EINVAL, "__monitor: internal command, not for direct use");
}

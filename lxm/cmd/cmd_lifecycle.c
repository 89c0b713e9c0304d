/* start, stop, restart, console, freeze, unfreeze (attach: cmd_exec.c). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/autostart.h"
#include "cmd/cmd.h"
#include "runtime/ready.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/strv.h"

static int no_opts(int opt, const char *arg, void *data, struct lxm_error *err)
{
    (void)opt, (void)arg, (void)data, (void)err;
    return 0;
}

struct start_args {
    struct lxm_start_opts opts;
    int64_t ready_timeout_ms;   /* -1: --no-wait */
};

static int start_opt(int opt, const char *arg, void *data, struct lxm_error *err)
{
    struct start_args *a = data;
    if (opt == 'F')
        a->opts.foreground = true;
    int r = lxm_cmd_ready_opt("start", opt, arg, &a->ready_timeout_ms, err);
    return r < 0 ? r : 0;
}

/* The console of a running c on our stdin/stdout; a person at a terminal
 * is told how to leave it, and the terminal is raw meanwhile. */
static int console(struct lxm_container *c, struct lxm_error *err)
{
    _cleanup_close_ int fd = -1;
    int r = lxm_runtime_console_open(c, &fd, err);
    if (r < 0)
        return r;
    bool tty = isatty(STDIN_FILENO);
    if (tty)
        fprintf(stderr, "Connected to the console of %s (Ctrl-a q to detach)\r\n", c->name);
    r = lxm_runtime_console_relay(fd, &tty, err);
    if (tty)
        fprintf(stderr, "\nDetached from %s\n", c->name);
    return r;
}

/* -F: the console is attached here, once the start has let go of the
 * container's lock (a console holds no lock). */
static int start_one(struct lxm_container *c, void *data, struct lxm_error *err)
{
    const struct start_args *a = data;
    int r = lxm_start_ready(c, &a->opts, a->ready_timeout_ms, err);
    if (r == 0 && a->opts.foreground)
        r = console(c, err);
    return r;
}

int cmd_start(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option longopts[] = {
        {"foreground", no_argument, NULL, 'F'}, LXM_READY_LONGOPTS, {0}};
    struct start_args a = {.opts = {.on_config = lxm_cmd_warn_confinement},
                           .ready_timeout_ms = LXM_READY_TIMEOUT_MS};
    _cleanup_strv_free_ char **names = NULL;
    int r = lxm_cmd_parse_names("start", argc, argv, "F", longopts, start_opt, &a, &names, err);
    if (r != 0)
        return r == 'h' ? 0 : r;
    if (!names)
        return lxm_usage_error(err, "start", "missing container name");
    if (a.opts.foreground && names[1])
        return lxm_usage_error(err, "start", "-F: one container at a time");
    return lxm_cmd_each_name(ctx, names, 0, start_one, &a, err);
}

struct stop_args {
    int64_t timeout_ms;         /* -1: the container's stop_timeout (lxm_stop_timeout_of) */
    bool kill;
    bool all;
    int64_t ready_timeout_ms;   /* restart: -1 = --no-wait */
    const char *cmd;            /* stop or restart, for usage errors */
};

static int stop_opt(int opt, const char *arg, void *data, struct lxm_error *err)
{
    struct stop_args *s = data;
    if (opt == 'k') {
        s->kill = true;
    } else if (opt == 'a') {
        s->all = true;
    } else if (opt == 't') {
        char *end;
        double secs = strtod(arg, &end);
        if (end == arg || *end || secs < 0 || secs > 86400)
            return lxm_usage_error(err, s->cmd, "-t %s: not a number of seconds", arg);
        s->timeout_ms = (int64_t)(secs * 1000);
    } else if (opt == LXM_OPT_NO_WAIT) {
        s->ready_timeout_ms = -1;
    }
    return 0;
}

static const struct option stop_longopts[] = {{"timeout", required_argument, NULL, 't'},
                                               {"kill", no_argument, NULL, 'k'},
                                               {"all", no_argument, NULL, 'a'},
                                               {0}};

static void stop_defaults(struct stop_args *s)
{
    s->timeout_ms = -1;
    s->kill = false;
    s->all = false;
    s->ready_timeout_ms = LXM_READY_TIMEOUT_MS;
    s->cmd = "stop";
}

static int stop_one(struct lxm_container *c, void *data, struct lxm_error *err)
{
    const struct stop_args *s = data;
    int64_t timeout_ms = s->timeout_ms;
    if (timeout_ms < 0) {
        struct lxm_error ignored = { 0 };
        (void)lxm_container_load_config(c, &ignored);
        timeout_ms = lxm_stop_timeout_of(c->config, -1);
    }
    return lxm_runtime_stop(c, timeout_ms, s->kill, err);
}

int cmd_stop(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    struct stop_args s;
    stop_defaults(&s);
    _cleanup_strv_free_ char **names = NULL;
    int r = lxm_cmd_parse_names("stop", argc, argv, "t:ka", stop_longopts, stop_opt, &s, &names,
                                err);
    if (r != 0)
        return r == 'h' ? 0 : r;
    if (s.all && names)
        return lxm_usage_error(err, "stop", "--all: no container names with it");
    if (s.all && s.kill)
        return lxm_usage_error(err, "stop", "--all: not with -k");
    if (s.all)
        return lxm_cmd_stop_all(ctx, s.timeout_ms, err);
    if (!names)
        return lxm_usage_error(err, "stop", "missing container name");
    return lxm_cmd_each_name(ctx, names, 0, stop_one, &s, err);
}

int cmd_restart(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    struct stop_args s;
    stop_defaults(&s);
    s.cmd = "restart";
    const char *name;
    static const struct option longopts[] = {{"timeout", required_argument, NULL, 't'},
                                             {"no-wait", no_argument, NULL, LXM_OPT_NO_WAIT},
                                             {0}};
    int r = lxm_cmd_parse_args("restart", argc, argv, "t:", longopts, stop_opt, &s, &name, NULL,
                               err);
    if (r != 0)
        return r == 'h' ? 0 : r;
    /* One lock over the stop and the start: no command gets in between. */
    _cleanup_container_ struct lxm_container *c = NULL;
    r = lxm_cmd_container(ctx, "restart", name, LXM_CMD_LOCKED, &c, err);
    if (r < 0)
        return r;
    struct lxm_runtime_info info;
    r = lxm_runtime_query(c, &info, err);
    if (r < 0)
        return r;
    if (info.state != LXM_STATE_STOPPED) {
        r = stop_one(c, &s, err);
        if (r < 0)
            return r;
    }
    struct lxm_start_opts opts = {.on_config = lxm_cmd_warn_confinement};
    return lxm_start_ready(c, &opts, s.ready_timeout_ms, err);
}

static int simple(struct lxm_ctx *ctx, const char *cmd, int argc, char **argv,
                  struct lxm_container **c, struct lxm_error *err)
{
    const char *name;
    int r = lxm_cmd_parse_args(cmd, argc, argv, "", NULL, no_opts, NULL, &name, NULL, err);
    if (r != 0)
        return r == 'h' ? 1 : r;
    return lxm_cmd_container(ctx, cmd, name, 0, c, err);
}

int cmd_console(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = simple(ctx, "console", argc, argv, &c, err);
    if (r != 0)
        return r > 0 ? 0 : r;
    return console(c, err);
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

/* The monitor is forked by `lxm start`; its idle form (lxm-monitor-idle)
 * execs `lxm __monitor resume NAME FD` to become the full monitor again. */
int cmd_monitor(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    char *end;
    long fd = argc == 4 && strcmp(argv[1], "resume") == 0 ? strtol(argv[3], &end, 10) : -1;
    if (fd < 0 || *end)
        return lxm_error_set(err, EINVAL, "__monitor: internal command, not for direct use");
    struct lxm_container *c = NULL;
    int r = lxm_container_open(&ctx->paths, argv[2], &c, err);
    if (r < 0)
        return r;
    lxm_runtime_monitor_resume(c, (int)fd);
}

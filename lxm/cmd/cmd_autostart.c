/* autostart, stop --all: the host's boot and shutdown of containers
 * (lxm.service runs them). One line per container on stdout as it is
 * done; the failures on stderr, and a last error naming them all. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/autostart.h"
#include "cmd/cmd.h"
#include "util/cleanup.h"
#include "util/strv.h"

struct tally {
    const struct lxm_ctx *ctx;
    const char *done;    /* "started" / "stopped" */
    const char *skipped; /* "already running" / "not running" */
    char **failed;       /* names, in the order they failed */
    bool oom;
};

static void report(const char *name, enum lxm_boot_result res, const char *msg, void *data)
{
    struct tally *t = data;
    if (res == LXM_BOOT_FAILED) {
        fprintf(stderr, "lxm: error: %s: %s\n", name, msg && *msg ? msg : "failed");
        if (strv_push(&t->failed, name) < 0)
            t->oom = true;
    } else if (!t->ctx->quiet) {
        printf("%s: %s\n", name, res == LXM_BOOT_DONE ? t->done : t->skipped);
    }
    /* One line at a time, as each is done (a journal reads it live). */
    fflush(stdout);
}

static char *join(char *const *v)
{
    size_t len = 1;
    for (size_t i = 0; v[i]; i++)
        len += strlen(v[i]) + 2;
    char *s = calloc(1, len);
    for (size_t i = 0; s && v[i]; i++) {
        if (i > 0)
            strcat(s, ", ");
        strcat(s, v[i]);
    }
    return s;
}

/* The end of both commands: 0, or the error naming every failure. */
static int conclude(int r, struct tally *t, const char *what, struct lxm_error *err)
{
    _cleanup_strv_free_ char **failed = t->failed;
    if (r < 0)
        return r;
    if (t->oom)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!failed || !failed[0])
        return 0;
    _cleanup_free_ char *names = join(failed);
    return lxm_error_set(err, EIO, "%s: %zu container%s failed: %s", what, strv_length(failed),
                         strv_length(failed) == 1 ? "" : "s", names ? names : "(out of memory)");
}

int cmd_autostart(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option longopts[] = {{0}};
    int o;
    while ((o = lxm_getopt("autostart", argc, argv, "", longopts, err)) != -1)
        return o == 'h' ? 0 : -LXM_EUSAGE;
    if (optind < argc)
        return lxm_usage_error(err, "autostart", "unexpected argument '%s'", argv[optind]);
    struct tally t = {.ctx = ctx, .done = "started", .skipped = "already running"};
    int r = lxm_autostart_run(&ctx->paths, report, &t, err);
    return conclude(r, &t, "autostart", err);
}

int lxm_cmd_stop_all(struct lxm_ctx *ctx, int64_t timeout_ms, struct lxm_error *err)
{
    struct tally t = {.ctx = ctx, .done = "stopped", .skipped = "not running"};
    int r = lxm_stop_all(&ctx->paths, timeout_ms, report, &t, err);
    return conclude(r, &t, "stop --all", err);
}

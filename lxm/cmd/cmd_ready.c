/* wait, and the readiness options start, launch and restart share
 * (--timeout SECONDS, --no-wait). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "runtime/ready.h"
#include "util/cleanup.h"

/* Seconds (fractions allowed) to milliseconds; -EINVAL unless 0..1 day. */
static int parse_secs(const char *arg, int64_t *ms)
{
    char *end;
    double secs = strtod(arg, &end);
    if (end == arg || *end || !(secs >= 0) || secs > 86400)
        return -EINVAL;
    *ms = (int64_t)(secs * 1000);
    return 0;
}

int lxm_cmd_ready_opt(const char *cmd, int opt, const char *arg, int64_t *timeout_ms,
                      struct lxm_error *err)
{
    if (opt == LXM_OPT_NO_WAIT) {
        *timeout_ms = -1;
        return 1;
    }
    if (opt != LXM_OPT_READY_TIMEOUT)
        return 0;
    if (parse_secs(arg, timeout_ms) < 0)
        return lxm_usage_error(err, cmd, "--timeout %s: not a number of seconds", arg);
    return 1;
}

int cmd_wait(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option longopts[] = {
        {"state", required_argument, NULL, 's'}, {"timeout", required_argument, NULL, 't'}, {0}};
    enum lxm_wait_state state = LXM_WAIT_READY;
    int64_t timeout_ms = -1;
    const char *name = NULL;
    while (optind < argc) {
        int opt = lxm_getopt("wait", argc, argv, "s:t:", longopts, err);
        if (opt == 'h')
            return 0;
        if (opt == '?')
            return -LXM_EUSAGE;
        if (opt == 's' && lxm_wait_state_parse(optarg, &state) < 0)
            return lxm_usage_error(err, "wait", "--state %s: use ready, running or stopped",
                                   optarg);
        if (opt == 't' && parse_secs(optarg, &timeout_ms) < 0)
            return lxm_usage_error(err, "wait", "--timeout %s: not a number of seconds", optarg);
        if (opt == -1 && optind < argc) {
            if (name)
                return lxm_usage_error(err, "wait", "unexpected argument '%s'", argv[optind]);
            name = argv[optind++];
        }
    }
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = lxm_cmd_container(ctx, "wait", name, 0, &c, err);
    return r < 0 ? r : lxm_wait(c, state, timeout_ms, err);
}

/* log: a container's lxm.log or console.log (logfile.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "runtime/logfile.h"
#include "util/cleanup.h"

int cmd_log(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option longopts[] = {{"follow", no_argument, NULL, 'f'},
                                             {"console", no_argument, NULL, 'c'},
                                             {"lines", required_argument, NULL, 'n'},
                                             {0}};
    bool follow = false;
    enum lxm_log_kind kind = LXM_LOG_MONITOR;
    long lines = -1;
    const char *name = NULL;
    for (;;) {
        int opt = lxm_getopt("log", argc, argv, "fn:", longopts, err);
        if (opt == 'h')
            return 0;
        if (opt == '?')
            return -LXM_EUSAGE;
        if (opt == -1) {
            if (optind >= argc)
                break;
            if (name)
                return lxm_usage_error(err, "log", "unexpected argument '%s'", argv[optind]);
            name = argv[optind++];
        } else if (opt == 'f') {
            follow = true;
        } else if (opt == 'c') {
            kind = LXM_LOG_CONSOLE;
        } else if (opt == 'n') {
            char *end;
            lines = strtol(optarg, &end, 10);
            if (end == optarg || *end || lines < 0)
                return lxm_usage_error(err, "log", "-n %s: not a number of lines", optarg);
        }
    }
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = lxm_cmd_container(ctx, "log", name, 0, &c, err);
    if (r < 0)
        return r;
    signal(SIGPIPE, SIG_IGN); /* `lxm log -f c1 | head` ends on EPIPE */
    return lxm_log_show(c, kind, lines, follow, STDOUT_FILENO, err);
}

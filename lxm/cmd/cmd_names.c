/* The operands of the commands whose options may come between container
 * names (start, stop, delete, restart, console, freeze, unfreeze) and the
 * loop over several names (cmd.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/cleanup.h"
#include "util/strv.h"

/* Options up to the next operand or the end, each given to on_opt: 0 with
 * optind at the operand (or argc), 'h' after --help, <0 on a bad option or
 * on_opt's error. Options may come before or after operands ("stop -k c1",
 * "stop c1 -k"). */
static int next_operand(const char *cmd, int argc, char **argv, const char *shortopts,
                        const struct option *longopts, lxm_cmd_opt_fn on_opt, void *data,
                        struct lxm_error *err)
{
    for (;;) {
        int opt = lxm_getopt(cmd, argc, argv, shortopts, longopts, err);
        if (opt == 'h')
            return 'h';
        if (opt == '?')
            return -LXM_EUSAGE;
        if (opt == -1)
            return 0;
        int r = on_opt(opt, optarg, data, err);
        if (r < 0)
            return r;
    }
}

/* Did the operand at optind come after "--"? */
static bool after_dashdash(int argc, char **argv)
{
    return optind > 0 && optind <= argc && strcmp(argv[optind - 1], "--") == 0;
}

int lxm_cmd_parse_args(const char *cmd, int argc, char **argv, const char *shortopts,
                       const struct option *longopts, lxm_cmd_opt_fn on_opt, void *data,
                       const char **name, char ***rest, struct lxm_error *err)
{
    *name = NULL;
    int r;
    while ((r = next_operand(cmd, argc, argv, shortopts, longopts, on_opt, data, err)) == 0 &&
           !after_dashdash(argc, argv) && optind < argc && !*name)
        *name = argv[optind++];
    if (r != 0)
        return r;
    if (!*name)
        return lxm_usage_error(err, cmd, "missing container name");
    if (optind < argc && !rest)
        return lxm_usage_error(err, cmd, "unexpected argument '%s'", argv[optind]);
    if (rest)
        *rest = optind < argc ? &argv[optind] : NULL;
    return 0;
}

int lxm_cmd_parse_names(const char *cmd, int argc, char **argv, const char *shortopts,
                        const struct option *longopts, lxm_cmd_opt_fn on_opt, void *data,
                        char ***names, struct lxm_error *err)
{
    int r;
    while ((r = next_operand(cmd, argc, argv, shortopts, longopts, on_opt, data, err)) == 0 &&
           optind < argc) {
        bool dashdash = after_dashdash(argc, argv);
        do {
            if (strv_push(names, argv[optind++]) < 0)
                return lxm_error_set(err, ENOMEM, "out of memory");
        } while (dashdash && optind < argc);
    }
    return r;
}

int lxm_cmd_each_name(struct lxm_ctx *ctx, char **names, unsigned flags, lxm_cmd_each_fn fn,
                      void *data, struct lxm_error *err)
{
    int failed = 0;
    for (size_t i = 0; names[i]; i++) {
        struct lxm_error one = { 0 };
        struct lxm_error *e = names[1] ? &one : err;
        _cleanup_container_ struct lxm_container *c = NULL;
        int r = lxm_cmd_container(ctx, NULL, names[i], flags, &c, e);
        if (r == 0)
            r = fn(c, data, e);
        if (r < 0 && !names[1])
            return r;
        if (r < 0) {
            fprintf(stderr, "lxm: error: %s\n", one.msg[0] ? one.msg : strerror(-r));
            failed++;
        }
    }
    return failed ? 1 : 0;
}

/* remote: add, list, remove image servers. The work is in remote.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "image/remote.h"

#define REMOTE_USAGE "add NAME URL [--protocol simplestreams] | list | remove NAME"

static int remote_add(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option longopts[] = {
        { "protocol", required_argument, NULL, 'P' }, { 0 },
    };
    const char *protocol = NULL, *pos[2] = { 0 };
    int npos = 0;
    optind = 1;
    while (optind < argc) {
        int opt = lxm_getopt("remote", argc, argv, "", longopts, err);
        if (opt == 'h')
            return 0;
        if (opt == '?')
            return -LXM_EUSAGE;
        if (opt == 'P')
            protocol = optarg;
        if (opt == -1 && optind < argc) {
            if (npos == 2)
                return lxm_usage_error(err, "remote", "add: unexpected argument '%s'", argv[optind]);
            pos[npos++] = argv[optind++];
        }
    }
    if (npos != 2)
        return lxm_usage_error(err, "remote", "add: expected NAME URL");
    int r = lxm_remote_add(&ctx->paths, pos[0], pos[1], protocol, err);
    if (r == 0 && !ctx->quiet)
        printf("remote %s: %s\n", pos[0], pos[1]);
    return r;
}

static int remote_list(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    if (argc > 1)
        return lxm_usage_error(err, "remote", "list: unexpected argument '%s'", argv[1]);
    struct lxm_remote *all;
    size_t n;
    int r = lxm_remotes_load(&ctx->paths, &all, &n, err);
    if (r < 0)
        return r;
    struct lxm_value *rows = lxm_value_array();
    for (size_t i = 0; i < n; i++) {
        struct lxm_value *row = lxm_value_object();
        lxm_obj_str(row, "name", all[i].name);
        lxm_obj_str(row, "url", all[i].url);
        lxm_obj_str(row, "protocol", all[i].protocol);
        lxm_array_push(rows, row);
    }
    static const char *const columns[] = { "name", "url", "protocol", NULL };
    lxm_output_print(stdout, ctx->format, rows, columns, NULL);
    lxm_value_free(rows);
    lxm_remotes_free(all, n);
    return 0;
}

static int remote_remove(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    if (argc != 2)
        return lxm_usage_error(err, "remote", "remove: expected NAME");
    return lxm_remote_remove(&ctx->paths, argv[1], err);
}

int cmd_remote(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct {
        const char *name;
        int (*fn)(struct lxm_ctx *, int, char **, struct lxm_error *);
    } subs[] = {
        { "add", remote_add },       { "list", remote_list }, { "ls", remote_list },
        { "remove", remote_remove }, { "rm", remote_remove },
    };
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        lxm_print_command_help("remote");
        return 0;
    }
    if (argc < 2)
        return lxm_usage_error(err, "remote", "missing subcommand (%s)", REMOTE_USAGE);
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].fn(ctx, argc - 1, argv + 1, err);
    return lxm_usage_error(err, "remote", "unknown subcommand '%s' (%s)", argv[1], REMOTE_USAGE);
}

/* mount add/remove: argument parsing around mount_live.c. */
#include <getopt.h>
#include <string.h>

#include "cmd/cmd.h"
#include "runtime/mount_live.h"
#include "util/log.h"

/* add NAME SRC PATH [--ro]: options anywhere among the positionals. */
static int mount_add(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option opts[] = {
        {"ro", no_argument, NULL, 'r'}, {"readonly", no_argument, NULL, 'r'}, {0}};
    const char *pos[3] = {NULL, NULL, NULL};
    int n = 0;
    bool ro = false;
    while (optind < argc) {
        int o = lxm_getopt("mount", argc, argv, "", opts, err);
        if (o == 'h')
            return 0;
        if (o == 'r') {
            ro = true;
        } else if (o == -1) {
            if (n == 3)
                return lxm_usage_error(err, "mount", "add: unexpected argument '%s'", argv[optind]);
            pos[n++] = argv[optind++];
        } else {
            return -LXM_EUSAGE;
        }
    }
    static const char *const what[] = {"container name", "SRC (a host path)",
                                       "PATH (inside the container)"};
    if (n < 3)
        return lxm_usage_error(err, "mount", "add: missing %s", what[n]);
    bool live = false;
    int r = lxm_mount_add(&ctx->paths, pos[0], pos[1], pos[2], ro, &live, err);
    if (r == 0 && !live)
        lxm_info("%s is not running: %s will be mounted on %s at its next start", pos[0], pos[1],
                 pos[2]);
    return r;
}

static int mount_remove(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    int o;
    while ((o = lxm_getopt("mount", argc, argv, "", NULL, err)) != -1)
        return o == 'h' ? 0 : -LXM_EUSAGE;
    if (argc - optind < 2)
        return lxm_usage_error(err, "mount", "remove: missing %s",
                               argc == optind ? "container name" : "PATH");
    if (argc - optind > 2)
        return lxm_usage_error(err, "mount", "remove: unexpected argument '%s'", argv[optind + 2]);
    bool live = false;
    return lxm_mount_remove(&ctx->paths, argv[optind], argv[optind + 1], &live, err);
}

int cmd_mount(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    if (argc < 2)
        return lxm_usage_error(err, "mount", "missing subcommand (add or remove)");
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        lxm_print_command_help("mount");
        return 0;
    }
    argc--;
    argv++;
    if (!strcmp(sub, "add"))
        return mount_add(ctx, argc, argv, err);
    if (!strcmp(sub, "remove"))
        return mount_remove(ctx, argc, argv, err);
    return lxm_usage_error(err, "mount", "unknown subcommand '%s' (add or remove)", sub);
}

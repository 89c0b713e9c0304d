/* storage: `lxm storage init` (a btrfs pool on a loop file) and
 * `lxm storage info`; and the note main() prints when a command mounted
 * the pool again after a reboot. The work is in storage-pool.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "cmd/output.h"
#include "storage/storage-pool.h"
#include "storage/storage.h"
#include "util/cleanup.h"

int lxm_cmd_storage_ready(struct lxm_ctx *ctx, struct lxm_error *err)
{
    _cleanup_free_ char *pool = NULL;
    int r = lxm_storage_pool_ensure(&ctx->paths, &pool, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *dir = r > 0 ? lxm_storage_state_dir(&ctx->paths) : NULL;
    if (r > 0 && !ctx->quiet)
        fprintf(stderr, "lxm: mounted the storage pool %s on %s\n", pool ? pool : "",
                dir ? dir : "");
    return 0;
}

static int storage_init(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option longopts[] = {
        { "driver", required_argument, NULL, 'd' },
        { "size", required_argument, NULL, 's' },
        { "pool", required_argument, NULL, 'p' },
        { 0 },
    };
    const char *driver = NULL, *size_arg = NULL, *pool = NULL;
    int opt;
    while ((opt = lxm_getopt("storage", argc, argv, "d:s:p:", longopts, err)) != -1) {
        if (opt == 'h')
            return 'h';
        if (opt == '?')
            return -LXM_EUSAGE;
        if (opt == 'd')
            driver = optarg;
        else if (opt == 's')
            size_arg = optarg;
        else
            pool = optarg;
    }
    if (optind < argc)
        return lxm_usage_error(err, "storage", "unexpected argument '%s'", argv[optind]);
    if (!driver)
        return lxm_usage_error(err, "storage", "init needs --driver btrfs");
    if (!size_arg)
        return lxm_usage_error(err, "storage", "init needs --size SIZE (e.g. 20GiB)");
    int64_t size;
    if (lxm_parse_size(size_arg, &size) < 0)
        return lxm_error_set(err, EINVAL, "storage init: --size %s: not a size (use e.g. 20GiB)",
                             size_arg);
    _cleanup_free_ char *made = NULL;
    int r = lxm_storage_pool_init(&ctx->paths, driver, pool, size, &made, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *dir = lxm_storage_state_dir(&ctx->paths);
    if (!ctx->quiet)
        printf("storage pool %s (btrfs, %s) mounted on %s\n", made, size_arg, dir ? dir : "");
    return 0;
}

static void put_size(struct lxm_value *o, const char *key, int64_t bytes, bool human)
{
    char buf[32];
    if (bytes < 0)
        lxm_obj_str(o, key, NULL);
    else if (!human)
        lxm_obj_int(o, key, bytes);
    else {
        lxm_format_bytes(buf, sizeof(buf), bytes);
        lxm_obj_str(o, key, buf);
    }
}

static int storage_info(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    int opt;
    while ((opt = lxm_getopt("storage", argc, argv, "", NULL, err)) != -1)
        return opt == 'h' ? 'h' : -LXM_EUSAGE;
    if (optind < argc)
        return lxm_usage_error(err, "storage", "unexpected argument '%s'", argv[optind]);
    int r = lxm_cmd_storage_ready(ctx, err);
    if (r < 0)
        return r;
    struct lxm_storage_info info;
    r = lxm_storage_info(&ctx->paths, &info, err);
    if (r < 0)
        return r;
    bool human = ctx->format == LXM_OUT_TABLE;
    struct lxm_value *o = lxm_value_object();
    lxm_obj_str(o, "driver", info.driver);
    lxm_obj_str(o, "configured", info.configured);
    lxm_obj_str(o, "pool", info.pool);
    lxm_obj_bool(o, "mounted", info.mounted);
    lxm_obj_str(o, "device", info.device);
    lxm_obj_str(o, "directory", info.dir);
    put_size(o, "size", info.size, human);
    put_size(o, "used", info.used, human);
    put_size(o, "pool_file_bytes", info.file_bytes, human);
    if (ctx->format == LXM_OUT_CSV) {
        struct lxm_value *rows = lxm_value_array();
        lxm_array_push(rows, o);
        o = rows;
    }
    lxm_output_print(stdout, ctx->format, o, NULL, NULL);
    lxm_value_free(o);
    lxm_storage_info_free(&info);
    return 0;
}

int cmd_storage(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        lxm_print_command_help("storage");
        return 0;
    }
    int r;
    if (strcmp(argv[1], "init") == 0)
        r = storage_init(ctx, argc - 1, argv + 1, err);
    else if (strcmp(argv[1], "info") == 0)
        r = storage_info(ctx, argc - 1, argv + 1, err);
    else
        return lxm_usage_error(err, "storage", "unknown subcommand '%s' (init or info)", argv[1]);
    return r == 'h' ? 0 : r;
}

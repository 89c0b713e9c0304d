/* image: list, info, import, copy, export, alias add|remove, delete, prune.
 * Argument parsing and output; the work is in image_store.c and
 * lifecycle.c. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "image/image_remote.h"
#include "image/image_store.h"
#include "image/image_io.h"
#include "cmd/output.h"
#include "image/simplestreams.h"
#include "util/arch.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define IMAGE_USAGE "list [REMOTE:[FILTER]] | info IMAGE | import FILE|DIR[:TAG] [--alias NAME]... " \
                    "[--split ROOTFS] | copy REMOTE:ALIAS [--alias NAME]... | export IMAGE FILE | " \
                    "alias add|remove ... | delete IMAGE | prune"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *join(char *const *v)
{
    _cleanup_free_ char *s = strdup("");
    for (size_t i = 0; s && v && v[i]; i++) {
        char *next = xasprintf("%s%s%s", s, i ? "," : "", v[i]);
        free(s);
        s = next;
    }
    return TAKE_PTR(s);
}

/* One row: what `list` and `info` show. */
static struct lxm_value *image_row(const struct lxm_paths *paths, const struct lxm_image *img,
                                   bool table)
{
    struct lxm_value *row = lxm_value_object();
    _cleanup_strv_free_ char **users = NULL;
    struct lxm_error ignored = { 0 };
    lxm_image_store_users(paths, img->fingerprint, &users, &ignored);
    char fp[13], size[32];
    snprintf(fp, sizeof(fp), "%.12s", img->fingerprint);
    lxm_format_bytes(size, sizeof(size), (int64_t)img->size);
    lxm_obj_str(row, "fingerprint", table ? fp : img->fingerprint);
    if (table) {
        _cleanup_free_ char *aliases = join(img->aliases);
        _cleanup_free_ char *used = join(users);
        lxm_obj_str(row, "aliases", aliases ? aliases : "");
        lxm_obj_str(row, "template", img->template_name ? img->template_name : "");
        lxm_obj_str(row, "release", img->release ? img->release : "");
        lxm_obj_str(row, "arch", img->arch ? img->arch : "");
        lxm_obj_str(row, "size", size);
        lxm_obj_str(row, "created", img->created ? img->created : "");
        lxm_obj_str(row, "used_by", used ? used : "");
        return row;
    }
    lxm_obj_strv(row, "aliases", img->aliases);
    lxm_obj_str(row, "template", img->template_name);
    lxm_obj_str(row, "release", img->release);
    lxm_obj_str(row, "arch", img->arch);
    lxm_obj_int(row, "size", (int64_t)img->size);
    lxm_obj_str(row, "created", img->created);
    lxm_obj_str(row, "source", img->source);
    lxm_obj_str(row, "driver", img->driver);
    lxm_obj_strv(row, "used_by", users);
    return row;
}

/* `image list REMOTE:[FILTER] [--arch ARCH|all]`: what an image server has. */
static int remote_list(struct lxm_ctx *ctx, const struct lxm_remote *remote, const char *filter,
                       const char *arch, struct lxm_error *err)
{
    struct lxm_ss_image *v;
    size_t n;
    int r = lxm_ss_list(remote->url, strcmp(arch, "all") == 0 ? NULL : arch, filter, &v, &n, err);
    if (r < 0)
        return lxm_error_prefix(err, "image list %s:", remote->name);
    struct lxm_value *rows = lxm_value_array();
    for (size_t i = 0; i < n; i++) {
        struct lxm_value *row = lxm_value_object();
        char size[32];
        lxm_format_bytes(size, sizeof(size), v[i].meta.size + v[i].rootfs.size);
        lxm_obj_str(row, "aliases", v[i].aliases ? v[i].aliases : v[i].product);
        lxm_obj_str(row, "os", v[i].os);
        lxm_obj_str(row, "release", v[i].release);
        lxm_obj_str(row, "variant", v[i].variant);
        lxm_obj_str(row, "arch", v[i].arch);
        lxm_obj_str(row, "version", v[i].version);
        lxm_obj_str(row, "rootfs", v[i].rootfs.ftype);
        if (ctx->format == LXM_OUT_TABLE || ctx->format == LXM_OUT_CSV)
            lxm_obj_str(row, "size", size);
        else
            lxm_obj_int(row, "size", v[i].meta.size + v[i].rootfs.size);
        lxm_array_push(rows, row);
    }
    lxm_output_print(stdout, ctx->format, rows, NULL, NULL);
    lxm_value_free(rows);
    lxm_ss_images_free(v, n);
    return 0;
}

static int image_list(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option longopts[] = { { "arch", required_argument, NULL, 'A' }, { 0 } };
    const char *arch = NULL, *where = NULL;
    optind = 1;
    while (optind < argc) {
        int opt = lxm_getopt("image", argc, argv, "", longopts, err);
        if (opt == 'h')
            return 0;
        if (opt == '?')
            return -LXM_EUSAGE;
        if (opt == 'A')
            arch = optarg;
        if (opt == -1 && optind < argc) {
            if (where)
                return lxm_usage_error(err, "image", "list: unexpected argument '%s'", argv[optind]);
            where = argv[optind++];
        }
    }
    if (where) {
        struct lxm_remote remote = { 0 };
        const char *filter = NULL;
        int r = lxm_remote_split(&ctx->paths, where, &remote, &filter, err);
        if (r == 0)
            return lxm_usage_error(err, "image", "list: '%s' is not REMOTE:[FILTER] (see 'lxm remote list')",
                                   where);
        if (r > 0)
            r = remote_list(ctx, &remote, filter, arch ? arch : lxm_host_arch(), err);
        free(remote.name);
        free(remote.url);
        free(remote.protocol);
        return r;
    }
    if (arch)
        return lxm_usage_error(err, "image", "list: --arch only with REMOTE:");
    struct lxm_image **list = NULL;
    size_t n = 0;
    int r = lxm_image_store_list(&ctx->paths, &list, &n, err);
    if (r < 0)
        return r;
    bool table = ctx->format == LXM_OUT_TABLE || ctx->format == LXM_OUT_CSV;
    struct lxm_value *rows = lxm_value_array();
    for (size_t i = 0; i < n; i++)
        lxm_array_push(rows, image_row(&ctx->paths, list[i], table));
    static const char *const columns[] = { "fingerprint", "aliases", "template", "release", "arch",
                                           "size", "created", "used_by", NULL };
    static const char *const headers[] = { "FINGERPRINT", "ALIASES", "TEMPLATE", "RELEASE", "ARCH",
                                           "SIZE", "CREATED", "USED BY", NULL };
    lxm_output_print(stdout, (enum lxm_output_format)ctx->format, rows, table ? columns : NULL,
                     table ? headers : NULL);
    lxm_value_free(rows);
    lxm_image_list_free(list, n);
    return 0;
}

static int image_info(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    if (argc != 2)
        return lxm_usage_error(err, "image", argc < 2 ? "info: missing IMAGE" : "info: unexpected argument '%s'",
                               argv[argc - 1]);
    _cleanup_image_ struct lxm_image *img = NULL;
    int r = lxm_image_store_find(&ctx->paths, argv[1], &img, err);
    if (r < 0)
        return r;
    struct lxm_value *row = image_row(&ctx->paths, img, false);
    lxm_output_print(stdout, (enum lxm_output_format)ctx->format, row, NULL, NULL);
    lxm_value_free(row);
    return 0;
}

/* import's and copy's options, anywhere on the line: -a/--alias (may
 * repeat), --split (when longopts has it) and the one SOURCE. 'h' after
 * --help. */
static int parse_source_args(const char *sub, int argc, char **argv, const struct option *longopts,
                             char ***aliases, const char **split, const char **source,
                             struct lxm_error *err)
{
    optind = 1;
    while (optind < argc) {
        int opt = lxm_getopt("image", argc, argv, "a:", longopts, err);
        if (opt == 'h')
            return 'h';
        if (opt == '?')
            return -LXM_EUSAGE;
        if (opt == 'a' && strv_push(aliases, optarg) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
        if (opt == 's')
            *split = optarg;
        if (opt == -1 && optind < argc) {
            if (*source)
                return lxm_usage_error(err, "image", "%s: unexpected argument '%s'", sub,
                                       argv[optind]);
            *source = argv[optind++];
        }
    }
    return 0;
}

/* "imported image 0123456789ab (12.3 MiB) in 1.2 s" and the like. */
static void print_stored(const struct lxm_ctx *ctx, const struct lxm_image *img, bool existed,
                         const char *done, const char *from, double t0)
{
    char size[32];
    lxm_format_bytes(size, sizeof(size), (int64_t)img->size);
    if (!ctx->quiet)
        printf("%s image %.12s (%s)%s%s in %.1f s\n", existed ? "already had" : done,
               img->fingerprint, size, from ? " from " : "", from ? from : "", now_s() - t0);
}

static int image_import(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option longopts[] = {
        { "alias", required_argument, NULL, 'a' }, { "split", required_argument, NULL, 's' }, { 0 },
    };
    _cleanup_strv_free_ char **aliases = NULL;
    const char *split = NULL, *source = NULL;
    int r = parse_source_args("import", argc, argv, longopts, &aliases, &split, &source, err);
    if (r != 0)
        return r == 'h' ? 0 : r;
    if (!source)
        return lxm_usage_error(err, "image", "import: missing FILE or DIR[:TAG]");
    double t0 = now_s();
    bool existed = false;
    _cleanup_image_ struct lxm_image *img = NULL;
    r = lxm_image_import(&ctx->paths, source, split, aliases, &ctx->report, &img,
                         &existed, err);
    if (r < 0)
        return lxm_error_prefix(err, "image import %s", source);
    print_stored(ctx, img, existed, "imported", NULL, t0);
    return 0;
}

static int image_copy(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option longopts[] = { { "alias", required_argument, NULL, 'a' }, { 0 } };
    _cleanup_strv_free_ char **aliases = NULL;
    const char *split = NULL, *ref = NULL;
    int r = parse_source_args("copy", argc, argv, longopts, &aliases, &split, &ref, err);
    if (r != 0)
        return r == 'h' ? 0 : r;
    if (!ref)
        return lxm_usage_error(err, "image", "copy: missing REMOTE:ALIAS");
    struct lxm_remote remote = { 0 };
    const char *alias = NULL;
    r = lxm_remote_split(&ctx->paths, ref, &remote, &alias, err);
    if (r == 0)
        return lxm_usage_error(err, "image", "copy: '%s' is not REMOTE:ALIAS (see 'lxm remote list')",
                               ref);
    double t0 = now_s();
    bool existed = false;
    _cleanup_image_ struct lxm_image *img = NULL;
    if (r > 0)
        r = *alias ? lxm_image_remote_copy(&ctx->paths, &remote, alias, aliases,
                                           &ctx->report, &img, &existed, err)
                   : lxm_usage_error(err, "image", "copy: missing ALIAS after '%s'", ref);
    free(remote.name);
    free(remote.url);
    free(remote.protocol);
    if (r < 0)
        return r;
    print_stored(ctx, img, existed, "copied", ref, t0);
    return 0;
}

static int image_export(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    if (argc != 3)
        return lxm_usage_error(err, "image", "export: expected IMAGE FILE");
    double t0 = now_s();
    int r = lxm_image_export(&ctx->paths, argv[1], argv[2], &ctx->report, err);
    if (r < 0)
        return lxm_error_prefix(err, "image export %s", argv[1]);
    if (!ctx->quiet)
        printf("exported image %s to %s in %.1f s\n", argv[1], argv[2], now_s() - t0);
    return 0;
}

static int image_alias(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    if (argc >= 2 && strcmp(argv[1], "add") == 0 && argc == 4)
        return lxm_image_store_alias_add(&ctx->paths, argv[2], argv[3], err);
    if (argc >= 2 && strcmp(argv[1], "remove") == 0 && argc == 3)
        return lxm_image_store_alias_remove(&ctx->paths, argv[2], err);
    return lxm_usage_error(err, "image", "alias add IMAGE NAME | alias remove NAME");
}

static int image_delete(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    if (argc != 2)
        return lxm_usage_error(err, "image", "delete: expected IMAGE");
    return lxm_image_store_delete(&ctx->paths, argv[1], err);
}

static int image_prune(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    if (argc != 1)
        return lxm_usage_error(err, "image", "prune: unexpected argument '%s'", argv[1]);
    size_t count = 0;
    uint64_t freed = 0;
    int r = lxm_image_store_prune(&ctx->paths, &count, &freed, err);
    if (r < 0)
        return r;
    char size[32];
    lxm_format_bytes(size, sizeof(size), (int64_t)freed);
    if (!ctx->quiet)
        printf("removed %zu unused image%s, freed %s\n", count, count == 1 ? "" : "s", size);
    return 0;
}

int cmd_image(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct {
        const char *name;
        int (*fn)(struct lxm_ctx *, int, char **, struct lxm_error *);
    } subs[] = {
        { "list", image_list },     { "ls", image_list },       { "info", image_info },
        { "import", image_import }, { "export", image_export }, { "alias", image_alias },
        { "delete", image_delete }, { "rm", image_delete },     { "prune", image_prune },
        { "copy", image_copy },
    };
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        lxm_print_command_help("image");
        return 0;
    }
    if (argc < 2)
        return lxm_usage_error(err, "image", "missing subcommand (%s)", IMAGE_USAGE);
    for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].fn(ctx, argc - 1, argv + 1, err);
    return lxm_usage_error(err, "image", "unknown subcommand '%s' (%s)", argv[1], IMAGE_USAGE);
}

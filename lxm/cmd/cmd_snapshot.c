/* snapshot, restore, export, import: argument parsing and output. The work
 * is in snapshot.c and export.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "storage/export.h"
#include "image/image.h"
#include "cmd/output.h"
#include "storage/snapshot.h"
#include "util/cleanup.h"
#include "util/strv.h"

#define MAX_POSITIONAL 2

/* Options may come before, between or after the positionals (getopt
 * stops at the first positional: collect it and carry on); "--" ends them.
 * on_opt sees every option; returns 'h' for --help. */
static int parse_args(const char *cmd, int argc, char **argv, const char *shortopts,
                      const struct option *longopts, unsigned *flags, const char **pos, size_t *n,
                      struct lxm_error *err)
{
    *n = 0;
    while (optind < argc) {
        int opt = lxm_getopt(cmd, argc, argv, shortopts, longopts, err);
        if (opt == 'h')
            return 'h';
        if (opt == '?')
            return -LXM_EUSAGE;
        if (opt != -1) {
            const char *o = strchr(shortopts, opt);
            if (!o)
                return lxm_usage_error(err, cmd, "unexpected option");
            *flags |= 1u << (o - shortopts);
            continue;
        }
        bool dashdash = optind > 0 && strcmp(argv[optind - 1], "--") == 0;
        do {
            if (optind >= argc)
                break;
            if (*n == MAX_POSITIONAL)
                return lxm_usage_error(err, cmd, "unexpected argument '%s'", argv[optind]);
            pos[(*n)++] = argv[optind++];
        } while (dashdash);
    }
    return 0;
}

/* NAME and one more operand (what, for "missing WHAT"), no options. */
static int name_and_one(const char *cmd, const char *what, int argc, char **argv, const char **pos,
                        struct lxm_error *err)
{
    size_t n;
    unsigned flags = 0;
    int r = parse_args(cmd, argc, argv, "", NULL, &flags, pos, &n, err);
    if (r != 0)
        return r;
    if (n < 2)
        return n == 0 ? lxm_usage_error(err, cmd, "missing container name")
                      : lxm_usage_error(err, cmd, "missing %s", what);
    return 0;
}

static int print_snapshots(struct lxm_ctx *ctx, struct lxm_container *c, struct lxm_error *err)
{
    struct lxm_snapshot *list = NULL;
    size_t n = 0;
    int r = lxm_snapshot_list(c, &list, &n, err);
    if (r < 0)
        return r;
    struct lxm_value *rows = lxm_value_array();
    for (size_t i = 0; i < n; i++) {
        struct lxm_value *row = lxm_value_object();
        lxm_obj_str(row, "name", list[i].name);
        lxm_obj_str(row, "created", list[i].created);
        lxm_array_push(rows, row);
    }
    static const char *const columns[] = {"name", "created", NULL};
    lxm_output_print(stdout, ctx->format, rows, columns, NULL);
    lxm_value_free(rows);
    lxm_snapshot_list_free(list, n);
    return 0;
}

enum { SNAP_LIST = 1u << 0, SNAP_DELETE = 1u << 1 };

/* `snapshot list b1` (Incus's subcommand style) reads "list" as the
 * container: when no container has that name, say what lxm calls it. */
static int unknown_container(const char *word, const char *other, int r, struct lxm_error *err)
{
    static const char *const forms[][2] = {
        {"list", "lxm snapshot --list %s"},
        {"delete", "lxm snapshot --delete %s SNAPSHOT"},
        {"create", "lxm snapshot %s [SNAPSHOT]"},
        {"restore", "lxm restore %s SNAPSHOT"},
    };
    for (size_t i = 0; r == -ENOENT && other && i < ARRAY_SIZE(forms); i++) {
        if (strcmp(word, forms[i][0]) != 0)
            continue;
        char form[256];
        snprintf(form, sizeof(form), forms[i][1], other);
        return lxm_error_set(err, ENOENT, "container '%s' not found (for snapshot %s: %s)", word,
                             word, form);
    }
    return r;
}

int cmd_snapshot(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option longopts[] = {
        {"list", no_argument, NULL, 'l'},
        {"delete", no_argument, NULL, 'd'},
        {0},
    };
    const char *pos[MAX_POSITIONAL];
    size_t n;
    unsigned flags = 0;
    int r = parse_args("snapshot", argc, argv, "ld", longopts, &flags, pos, &n, err);
    if (r != 0)
        return r == 'h' ? 0 : r;
    if (flags == (SNAP_LIST | SNAP_DELETE))
        return lxm_usage_error(err, "snapshot", "--list and --delete do not go together");
    if (n == 0)
        return lxm_usage_error(err, "snapshot", "missing container name");
    if ((flags & SNAP_DELETE) && n < 2)
        return lxm_usage_error(err, "snapshot", "--delete: missing snapshot name");
    if ((flags & SNAP_LIST) && n > 1)
        return lxm_usage_error(err, "snapshot", "unexpected argument '%s'", pos[1]);
    _cleanup_container_ struct lxm_container *c = NULL;
    r = lxm_cmd_container(ctx, "snapshot", pos[0], 0, &c, err);
    if (r < 0)
        return unknown_container(pos[0], !flags && n > 1 ? pos[1] : NULL, r, err);
    if (flags & SNAP_LIST)
        return print_snapshots(ctx, c, err);
    if (flags & SNAP_DELETE)
        return lxm_snapshot_delete(c, pos[1], err);
    _cleanup_free_ char *made = NULL;
    r = lxm_snapshot_create(c, n > 1 ? pos[1] : NULL, &made, err);
    if (r < 0)
        return r;
    /* A name lxm picked is printed, so scripts can capture it. */
    if (n == 1)
        printf("%s\n", made);
    return 0;
}

int cmd_restore(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    const char *pos[MAX_POSITIONAL];
    int r = name_and_one("restore", "snapshot name", argc, argv, pos, err);
    if (r != 0)
        return r == 'h' ? 0 : r;
    _cleanup_container_ struct lxm_container *c = NULL;
    r = lxm_cmd_container(ctx, "restore", pos[0], 0, &c, err);
    if (r < 0)
        return r;
    return lxm_snapshot_restore(c, pos[1], err);
}

int cmd_export(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    const char *pos[MAX_POSITIONAL];
    int r = name_and_one("export", "output file", argc, argv, pos, err);
    if (r != 0)
        return r == 'h' ? 0 : r;
    enum lxm_export_compression comp;
    if (lxm_export_compression_for(pos[1], &comp, err) < 0)
        return lxm_usage_error(err, "export", "%s", err->msg);
    _cleanup_container_ struct lxm_container *c = NULL;
    r = lxm_cmd_container(ctx, "export", pos[0], 0, &c, err);
    if (r < 0)
        return r;
    return lxm_export(c, pos[1], &ctx->report, err);
}

/* import FILE [NAME] [-p PROFILE]... [--trust-profiles] */
struct import_args {
    const char *pos[MAX_POSITIONAL];
    size_t n;
    char **profiles;
    bool trust;
};

static int parse_import(int argc, char **argv, struct import_args *a, struct lxm_error *err)
{
    static const struct option longopts[] = {
        {"profile", required_argument, NULL, 'p'},
        {"trust-profiles", no_argument, NULL, 'T'},
        {0},
    };
    while (optind < argc) {
        int opt = lxm_getopt("import", argc, argv, "p:", longopts, err);
        if (opt == 'h')
            return 'h';
        if (opt == '?')
            return -LXM_EUSAGE;
        if (opt == 'p' && strv_push(&a->profiles, optarg) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
        if (opt == 'T')
            a->trust = true;
        if (opt != -1)
            continue;
        bool dashdash = optind > 0 && strcmp(argv[optind - 1], "--") == 0;
        do {
            if (optind >= argc)
                break;
            if (a->n == MAX_POSITIONAL)
                return lxm_usage_error(err, "import", "unexpected argument '%s'", argv[optind]);
            a->pos[a->n++] = argv[optind++];
        } while (dashdash);
    }
    return 0;
}

int cmd_import(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    struct import_args a = {0};
    int r = parse_import(argc, argv, &a, err);
    _cleanup_strv_free_ char **profiles = a.profiles;
    if (r != 0)
        return r == 'h' ? 0 : r;
    if (a.n == 0)
        return lxm_usage_error(err, "import", "missing archive file");
    struct lxm_import_opts opts = {
        .profiles = profiles,
        .trust_profiles = a.trust,
        .progress = &ctx->report,
    };
    return lxm_import(&ctx->paths, a.pos[0], a.n > 1 ? a.pos[1] : NULL, &opts, NULL, err);
}

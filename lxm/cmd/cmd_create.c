/* create, launch, delete, copy, template list: argument parsing. The work
 * is in lifecycle.c (and through it image_store.c, storage.c, template.c). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "runtime/ready.h"
#include "config/config.h"
#include "image/image_remote.h"
#include "storage/lifecycle.h"
#include "cmd/output.h"
#include "runtime/runtime.h"
#include "image/template.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"


struct create_args {
    const char *name;
    const char *template_name;
    const char *release;
    const char *from;
    const char *image;
    const char *from_rootfs;
    char **profiles;
    char **settings;            /* KEY=VALUE */
    char **include;
    bool no_default_profile;
    bool dry_run;
    int64_t ready_timeout_ms;   /* launch: -1 = --no-wait */
};

static void create_args_free(struct create_args *a)
{
    strv_free(a->profiles);
    strv_free(a->settings);
    strv_free(a->include);
}

static int add_includes(const char *cmd, const char *list, char ***out, struct lxm_error *err)
{
    _cleanup_free_ char *copy = strdup(list);
    if (!copy)
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (char *save = NULL, *p = strtok_r(copy, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) {
        if (!lxm_valid_package_name(p))
            return lxm_usage_error(err, cmd, "--include: '%s' is not a package name", p);
        if (!strv_contains(*out, p) && strv_push(out, p) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    }
    return 0;
}

/* getopt stops at the first positional ('+'), so NAME may come before
 * or after the options: collect positionals and carry on. */
static int parse_create_args(const char *cmd, int argc, char **argv, struct create_args *a,
                             struct lxm_error *err)
{
    static const struct option longopts[] = {
        { "template", required_argument, NULL, 't' }, { "release", required_argument, NULL, 'r' },
        { "profile", required_argument, NULL, 'p' },  { "config", required_argument, NULL, 'c' },
        { "include", required_argument, NULL, 'I' },  { "from", required_argument, NULL, 'F' },
        { "image", required_argument, NULL, 'i' },    { "from-rootfs", required_argument, NULL, 'R' },
        { "no-default-profile", no_argument, NULL, 'N' },
        { "dry-run", no_argument, NULL, 'n' },
        LXM_READY_LONGOPTS,
        { 0 },
    };
    a->ready_timeout_ms = LXM_READY_TIMEOUT_MS;
    const char *positional[2] = { NULL, NULL };
    size_t n = 0;
    while (optind < argc) {
        int opt = lxm_getopt(cmd, argc, argv, "t:r:p:c:", longopts, err);
        int r = 0;
        switch (opt) {
        case -1:
            if (optind > 0 && strcmp(argv[optind - 1], "--") == 0) {
                for (; optind < argc; optind++)
                    positional[n < 2 ? n++ : 1] = argv[optind];
                break;
            }
            if (optind < argc)
                positional[n < 2 ? n++ : 1] = argv[optind++];
            break;
        case 'h': return 'h';
        case '?': return -LXM_EUSAGE;
        case 't': a->template_name = optarg; break;
        case 'r': a->release = optarg; break;
        case 'F': a->from = optarg; break;
        case 'i': a->image = optarg; break;
        case 'R': a->from_rootfs = optarg; break;
        case 'N': a->no_default_profile = true; break;
        case 'n': a->dry_run = true; break;
        case 'p': r = strv_push(&a->profiles, optarg); break;
        case 'c':
            if (!strchr(optarg, '='))
                return lxm_usage_error(err, cmd, "-c %s: expected KEY=VALUE", optarg);
            r = strv_push(&a->settings, optarg);
            break;
        case 'I': r = add_includes(cmd, optarg, &a->include, err); break;
        case LXM_OPT_READY_TIMEOUT:
        case LXM_OPT_NO_WAIT:
            if (strcmp(cmd, "launch") != 0)
                return lxm_usage_error(err, cmd, "%s: only for launch (or start)",
                                       argv[optind - 1]);
            r = lxm_cmd_ready_opt(cmd, opt, optarg, &a->ready_timeout_ms, err);
            break;
        default: return lxm_usage_error(err, cmd, "unexpected option");
        }
        if (r < 0)
            return r == -ENOMEM ? lxm_error_set(err, ENOMEM, "out of memory") : r;
    }
    if (n == 0)
        return lxm_usage_error(err, cmd, "missing container name");
    if (n > 1)
        return lxm_usage_error(err, cmd, "unexpected argument '%s'", positional[1]);
    a->name = positional[0];
    if (!a->template_name && !a->from && !a->image)
        return lxm_usage_error(err, cmd, "missing template (-t TEMPLATE, --image IMAGE or --from FILE)");
    if (a->image && (a->template_name || a->from))
        return lxm_usage_error(err, cmd, "--image: not with -t or --from (the image is already built)");
    if (a->from_rootfs && !a->from)
        return lxm_usage_error(err, cmd, "--from-rootfs needs --from METADATA-TARBALL");
    return 0;
}

/* --dry-run: every check of a create, then the bootstrap command it
 * would run; nothing is made. */
static int dry_run(struct lxm_ctx *ctx, const struct lxm_create_opts *o, struct lxm_error *err)
{
    _cleanup_strv_free_ char **argv = NULL;
    int r = lxm_lifecycle_create_dry_run(&ctx->paths, o, &argv, err);
    if (r < 0)
        return r;
    if (!argv) {
        printf("%s: nothing to bootstrap (the image is unpacked, not built)\n", o->name);
        return 0;
    }
    for (size_t i = 0; argv[i]; i++)
        printf("%s%s", i ? " " : "", argv[i]);
    putchar('\n');
    return 0;
}

/* A valid name no container has yet: checked before a download. */
static int create_check_new(struct lxm_ctx *ctx, const char *name, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = lxm_cmd_container(ctx, NULL, name, LXM_CMD_NEW, &c, err);
    if (r == 0 && access(c->dir, F_OK) == 0)
        r = lxm_error_set(err, EEXIST, "container '%s' already exists", name);
    return r;
}

static int do_create(struct lxm_ctx *ctx, const char *cmd, int argc, char **argv,
                     struct lxm_container **out, int64_t *ready_timeout_ms, struct lxm_error *err)
{
    struct create_args a = { 0 };
    _cleanup_free_ char *fp = NULL;
    int r = parse_create_args(cmd, argc, argv, &a, err);
    /* launch tells its two steps, as LXD does (stdout, --quiet silences). */
    if (r == 0 && !a.dry_run && !ctx->quiet && strcmp(cmd, "launch") == 0) {
        printf("Creating %s\n", a.name);
        fflush(stdout);
    }
    /* REMOTE:ALIAS: the store's copy, or one made now (before anything of
     * the container exists, so a failed download leaves nothing). */
    if (r == 0 && a.image && (r = create_check_new(ctx, a.name, err)) == 0 &&
        (r = lxm_image_remote_resolve(&ctx->paths, a.image, &ctx->report, &fp,
                                      err)) > 0)
        r = 0;
    if (r == 0) {
        struct lxm_create_opts o = {
            .name = a.name, .template_name = a.template_name, .release = a.release,
            .from = a.from, .from_rootfs = a.from_rootfs, .image = fp ? fp : a.image, .profiles = a.profiles,
            .no_default_profile = a.no_default_profile, .settings = a.settings,
            .include = a.include, .progress = &ctx->report,
        };
        r = a.dry_run ? dry_run(ctx, &o, err) : lxm_lifecycle_create(&ctx->paths, &o, out, err);
        if (r == 0 && a.dry_run)
            r = 'n';
    }
    *ready_timeout_ms = a.ready_timeout_ms;
    create_args_free(&a);
    return r;
}

int cmd_create(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    int64_t unused;
    int r = do_create(ctx, "create", argc, argv, &c, &unused, err);
    if (r == 0)
        lxm_cmd_warn_confinement_of(ctx, c->name);
    return r == 'h' || r == 'n' ? 0 : r;
}

int cmd_launch(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    int64_t ready_timeout_ms;
    int r = do_create(ctx, "launch", argc, argv, &c, &ready_timeout_ms, err);
    if (r != 0)
        return r == 'h' || r == 'n' ? 0 : r;
    struct lxm_start_opts opts = { .foreground = false, .on_config = lxm_cmd_warn_confinement };
    if (!ctx->quiet) {
        printf("Starting %s\n", c->name);
        fflush(stdout);
    }
    r = lxm_start_ready(c, &opts, ready_timeout_ms, err);
    /* Started but not ready (or stopped before): the message says so. */
    if (r < 0 && r != -ETIMEDOUT && r != -ECHILD)
        return lxm_error_prefix(err, "container '%s' was created but did not start", c->name);
    return r;
}

/* ---- delete ------------------------------------------------------------------------ */

static int delete_opt(int opt, const char *arg, void *data, struct lxm_error *err)
{
    (void)arg, (void)err;
    if (opt == 'f')
        *(bool *)data = true;
    return 0;
}

static int delete_one(struct lxm_container *c, void *data, struct lxm_error *err)
{
    return lxm_lifecycle_delete(c, *(bool *)data, err);
}

/* Like stop: each name in turn, the others still deleted after a failure. */
int cmd_delete(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option longopts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
    bool force = false;
    _cleanup_strv_free_ char **names = NULL;
    int r = lxm_cmd_parse_names("delete", argc, argv, "f", longopts, delete_opt, &force, &names,
                                err);
    if (r != 0)
        return r == 'h' ? 0 : r;
    if (!names)
        return lxm_usage_error(err, "delete", "missing container name");
    return lxm_cmd_each_name(ctx, names, LXM_CMD_NEW, delete_one, &force, err);
}

/* ---- copy -------------------------------------------------------------------------- */

int cmd_copy(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    int opt;
    while ((opt = lxm_getopt("copy", argc, argv, "", NULL, err)) != -1) {
        if (opt == 'h')
            return 0;
        return -LXM_EUSAGE;
    }
    if (argc - optind < 2)
        return lxm_usage_error(err, "copy", argc == optind ? "missing source container name"
                                                           : "missing destination container name");
    if (argc - optind > 2)
        return lxm_usage_error(err, "copy", "unexpected argument '%s'", argv[optind + 2]);
    return lxm_lifecycle_copy(&ctx->paths, argv[optind], argv[optind + 1], err);
}

/* ---- template list ------------------------------------------------------------------ */

int cmd_template(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    int opt;
    while ((opt = lxm_getopt("template", argc, argv, "", NULL, err)) != -1) {
        if (opt == 'h')
            return 0;
        return -LXM_EUSAGE;
    }
    if (optind >= argc)
        return lxm_usage_error(err, "template", "missing subcommand (list)");
    if (strcmp(argv[optind], "list") != 0)
        return lxm_usage_error(err, "template", "unknown subcommand '%s' (list)", argv[optind]);
    if (optind + 1 < argc)
        return lxm_usage_error(err, "template", "unexpected argument '%s'", argv[optind + 1]);
    struct lxm_template **list = NULL;
    size_t n = 0;
    int r = lxm_template_list(&ctx->paths, &list, &n, err);
    if (r < 0)
        return r;
    struct lxm_value *rows = lxm_value_array();
    for (size_t i = 0; i < n; i++) {
        struct lxm_value *row = lxm_value_object();
        lxm_obj_str(row, "name", list[i]->name);
        lxm_obj_str(row, "description", list[i]->description ? list[i]->description : "");
        lxm_obj_strv(row, "releases", list[i]->releases);
        lxm_obj_str(row, "default_release", list[i]->default_release);
        lxm_array_push(rows, row);
    }
    static const char *const columns[] = { "name", "releases", "description", NULL };
    lxm_output_print(stdout, (enum lxm_output_format)ctx->format, rows, columns, NULL);
    lxm_value_free(rows);
    lxm_template_list_free(list, n);
    return 0;
}

/* create, launch, delete, copy, template list: argument parsing and the
 * order of steps. The work is in template.c, image.c and storage.c. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "output.h"
#include "runtime.h"
#include "storage.h"
#include "template.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

/* How long `delete -f` and `copy` wait for a clean stop before SIGKILL. */
#define FORCE_STOP_TIMEOUT_MS 5000

static inline void configp(struct lxm_config **c) { lxm_config_free(*c); }
static inline void templatep(struct lxm_template **t) { lxm_template_free(*t); }
#define _cleanup_config_ _cleanup_(configp)
#define _cleanup_template_ _cleanup_(templatep)

struct create_args {
    const char *name;
    const char *template_name;
    const char *release;
    const char *from;
    const char *from_rootfs;
    char **profiles;
    char **settings;            /* KEY=VALUE */
    char **include;
};

static void create_args_free(struct create_args *a)
{
    strv_free(a->profiles);
    strv_free(a->settings);
    strv_free(a->include);
}

static bool valid_package_name(const char *p)
{
    if (!*p || !((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
        return false;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("+-.", *p)))
            return false;
    return true;
}

static int add_includes(const char *cmd, const char *list, char ***out, struct lxm_error *err)
{
    _cleanup_free_ char *copy = strdup(list);
    if (!copy)
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (char *save = NULL, *p = strtok_r(copy, ", ", &save); p; p = strtok_r(NULL, ", ", &save)) {
        if (!valid_package_name(p))
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
        { "from-rootfs", required_argument, NULL, 'R' },
        { 0 },
    };
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
        case 'R': a->from_rootfs = optarg; break;
        case 'p': r = strv_push(&a->profiles, optarg); break;
        case 'c':
            if (!strchr(optarg, '='))
                return lxm_usage_error(err, cmd, "-c %s: expected KEY=VALUE", optarg);
            r = strv_push(&a->settings, optarg);
            break;
        case 'I': r = add_includes(cmd, optarg, &a->include, err); break;
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
    if (!a->template_name && !a->from)
        return lxm_usage_error(err, cmd, "missing template (-t TEMPLATE, or --from FILE)");
    if (a->from_rootfs && !a->from)
        return lxm_usage_error(err, cmd, "--from-rootfs needs --from METADATA-TARBALL");
    return 0;
}

static char *utc_now(void)
{
    time_t now = time(NULL);
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&now, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return NULL;
    return strdup(buf);
}

static int check_profiles(const struct lxm_paths *paths, char *const *profiles, struct lxm_error *err)
{
    for (size_t i = 0; profiles && profiles[i]; i++) {
        struct lxm_profile *p = NULL;
        int r = lxm_profile_find(paths, profiles[i], &p, err);
        if (r < 0)
            return r;
        lxm_profile_free(p);
    }
    return 0;
}

static int set_str(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
    return value && !*field ? -ENOMEM : 0;
}

/* The new container's config.yaml, complete and validated, before any
 * file is written. */
static int build_config(const struct lxm_paths *paths, const struct create_args *a,
                        const struct lxm_template *t, const char *release,
                        struct lxm_config **out, struct lxm_error *err)
{
    _cleanup_free_ char *skeleton = xasprintf("name: %s\n", a->name);
    _cleanup_config_ struct lxm_config *c = NULL;
    if (!skeleton)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = lxm_config_parse("config.yaml", skeleton, &c, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *created = utc_now();
    if (!created || set_str(&c->template, t->name) < 0 || set_str(&c->release, release) < 0 ||
        set_str(&c->arch, lxm_host_arch()) < 0 || set_str(&c->created, created) < 0 ||
        set_str(&c->init, t->init ? t->init : "/sbin/init") < 0 || set_str(&c->hostname, a->name) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    char *const *profiles = a->profiles ? a->profiles : t->profiles;
    strv_free(c->profiles);
    c->profiles = strv_copy(profiles);
    if (profiles && !c->profiles)
        return lxm_error_set(err, ENOMEM, "out of memory");
    r = check_profiles(paths, profiles, err);
    if (r < 0)
        return r;
    c->halt_signal = t->halt_signal;
    c->reboot_signal = t->reboot_signal;
    for (size_t i = 0; a->settings && a->settings[i]; i++) {
        _cleanup_free_ char *key = strdup(a->settings[i]);
        if (!key)
            return lxm_error_set(err, ENOMEM, "out of memory");
        char *eq = strchr(key, '=');
        *eq = '\0';
        r = lxm_config_set(c, key, eq + 1, err);
        if (r < 0)
            return lxm_error_prefix(err, "-c %s", a->settings[i]);
    }
    if (!c->name || strcmp(c->name, a->name) != 0)
        return lxm_error_set(err, EINVAL, "-c name: a container's name is its NAME argument");
    *out = TAKE_PTR(c);
    return 0;
}

/* Everything that can be checked without touching the disk. */
static int validate_create(const struct lxm_paths *paths, const struct create_args *a,
                           struct lxm_template **tout, const char **release,
                           struct lxm_config **cfg, struct lxm_error *err)
{
    /* --from alone means "any rootfs tarball": the tarball template. */
    const char *tname = a->template_name ? a->template_name : "tarball";
    _cleanup_template_ struct lxm_template *t = NULL;
    int r = lxm_template_find(paths, tname, &t, err);
    if (r < 0)
        return r;
    r = lxm_template_release(t, a->release, release, err);
    if (r < 0)
        return r;
    if (a->include && t->source_type != LXM_SOURCE_DEBOOTSTRAP)
        return lxm_error_set(err, EINVAL, "--include: template '%s' does not install packages", t->name);
    if (a->from && (r = lxm_image_source_access(a->from)) < 0)
        return lxm_error_errno(err, -r, "--from %s", a->from);
    if (a->from_rootfs && access(a->from_rootfs, R_OK) < 0)
        return lxm_error_errno(err, errno, "--from-rootfs %s", a->from_rootfs);
    if (!a->from && t->source_type == LXM_SOURCE_TARBALL && !t->path)
        return lxm_error_set(err, EINVAL, "template '%s' needs --from FILE", t->name);
    r = build_config(paths, a, t, *release, cfg, err);
    if (r < 0)
        return r;
    *tout = TAKE_PTR(t);
    return 0;
}

/* Ctrl-C during a long create must still remove the half-made container:
 * the handler only records the signal (the one piece of process-wide
 * state here, as a handler needs); provision() checks it after each step
 * and cleans up. A child such as debootstrap gets the signal itself. */
static volatile sig_atomic_t create_interrupted;

static void on_interrupt(int sig)
{
    create_interrupted = sig;
}

/* Provision and write config.yaml last: a container exists once its
 * config does, and a failure removes everything made so far. */
static int provision(struct lxm_ctx *ctx, struct lxm_container *c, const struct create_args *a,
                     const struct lxm_template *t, const char *release, struct lxm_config *cfg,
                     struct lxm_error *err)
{
    const struct lxm_storage_ops *storage;
    int r = lxm_storage_for(&ctx->paths, &storage, err);
    if (r < 0)
        return r;
    r = mkdir_p(ctx->paths.containers, 0711);
    if (r < 0)
        return lxm_error_errno(err, -r, "create %s", ctx->paths.containers);
    r = lxm_container_lock(c, err);
    if (r < 0)
        return r;
    if (mkdir(c->dir, 0700) < 0)
        return errno == EEXIST ? lxm_error_set(err, EEXIST, "container '%s' already exists", c->name)
                               : lxm_error_errno(err, errno, "create %s", c->dir);
    struct lxm_image_meta meta = { 0 };
    struct lxm_provision_opts opts = {
        .name = c->name, .release = release, .include = a->include, .from = a->from,
        .from_rootfs = a->from_rootfs, .meta = &meta, .progress = lxm_progress_mode(ctx->quiet),
    };
    r = storage->create(c->rootfs, err);
    if (r == 0)
        r = lxm_template_provision(&ctx->paths, t, &opts, c->rootfs, err);
    /* What an image says of itself beats what the tarball template guessed. */
    if (r == 0 && ((meta.release && !cfg->release && set_str(&cfg->release, meta.release) < 0) ||
                   (meta.arch && set_str(&cfg->arch, meta.arch) < 0)))
        r = lxm_error_set(err, ENOMEM, "out of memory");
    lxm_image_meta_clear(&meta);
    if (r == 0 && create_interrupted)
        r = lxm_error_set(err, EINTR, "create %s: interrupted", c->name);
    if (r == 0)
        r = lxm_config_save(cfg, c->config_file, err);
    if (r < 0) {
        struct lxm_error ignored = { 0 };
        storage->destroy(c->rootfs, &ignored);
        if (rm_rf(c->dir) < 0)
            lxm_warn("could not remove %s after the failed create", c->dir);
        rm_rf(c->run_dir);
    }
    return r;
}

static int provision_guarded(struct lxm_ctx *ctx, struct lxm_container *c, const struct create_args *a,
                             const struct lxm_template *t, const char *release, struct lxm_config *cfg,
                             struct lxm_error *err)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa = { .sa_handler = on_interrupt }, old[ARRAY_SIZE(sigs)];
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
        sigaction(sigs[i], &sa, &old[i]);
    int r = provision(ctx, c, a, t, release, cfg, err);
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
        sigaction(sigs[i], &old[i], NULL);
    if (create_interrupted)
        raise(create_interrupted);
    return r;
}

static int do_create(struct lxm_ctx *ctx, const char *cmd, int argc, char **argv,
                     struct lxm_container **out, struct lxm_error *err)
{
    struct create_args a = { 0 };
    int r = parse_create_args(cmd, argc, argv, &a, err);
    if (r == 0) {
        _cleanup_container_ struct lxm_container *c = NULL;
        _cleanup_template_ struct lxm_template *t = NULL;
        _cleanup_config_ struct lxm_config *cfg = NULL;
        const char *release = NULL;
        r = lxm_container_new(&ctx->paths, a.name, &c, err);
        if (r == 0)
            r = validate_create(&ctx->paths, &a, &t, &release, &cfg, err);
        if (r == 0) /* held to the end: a second create of NAME waits, then fails */
            r = lxm_container_lock(c, err);
        if (r == 0 && lxm_container_exists(c))
            r = lxm_error_set(err, EEXIST, "container '%s' already exists", c->name);
        else if (r == 0 && path_exists(c->dir))
            r = lxm_error_set(err, EEXIST, "container '%s' is half-created (being created now, or "
                              "a create that died: 'lxm delete %s' removes it)", c->name, c->name);
        if (r == 0)
            r = provision_guarded(ctx, c, &a, t, release, cfg, err);
        if (r == 0)
            *out = TAKE_PTR(c);
    }
    create_args_free(&a);
    return r;
}

int cmd_create(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = do_create(ctx, "create", argc, argv, &c, err);
    return r == 'h' ? 0 : r;
}

int cmd_launch(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = do_create(ctx, "launch", argc, argv, &c, err);
    if (r != 0)
        return r == 'h' ? 0 : r;
    struct lxm_start_opts opts = { .foreground = false };
    r = lxm_runtime_start(c, &opts, err);
    if (r < 0)
        return lxm_error_prefix(err, "container '%s' was created but did not start", c->name);
    return 0;
}

/* ---- delete ------------------------------------------------------------------------ */

/* Stop a running container (when force) or refuse; 0 when it is stopped. */
static int ensure_stopped(struct lxm_container *c, bool force, const char *what, struct lxm_error *err)
{
    struct lxm_runtime_info info;
    int r = lxm_runtime_query(c, &info, err);
    if (r < 0)
        return r;
    if (info.state == LXM_STATE_STOPPED)
        return 0;
    if (!force)
        return lxm_error_set(err, EBUSY, "container '%s' is %s (stop it first%s%s%s)", c->name,
                             lxm_state_name(info.state), what ? ", or use 'lxm " : "",
                             what ? what : "", what ? " -f'" : "");
    r = lxm_runtime_stop(c, FORCE_STOP_TIMEOUT_MS, false, err);
    if (r < 0)
        return lxm_error_prefix(err, "stop %s", c->name);
    return 0;
}

static int remove_container(struct lxm_container *c, struct lxm_error *err)
{
    const struct lxm_storage_ops *storage;
    int r = lxm_storage_for(c->paths, &storage, err);
    if (r < 0)
        return r;
    /* config.yaml first: a half-removed container is not a container. */
    if (unlink(c->config_file) < 0 && errno != ENOENT)
        return lxm_error_errno(err, errno, "remove %s", c->config_file);
    r = storage->destroy(c->rootfs, err);
    if (r < 0)
        return lxm_error_prefix(err, "delete %s", c->name);
    const char *dirs[] = { c->dir, c->log_dir, c->run_dir };
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        r = rm_rf(dirs[i]);
        if (r < 0)
            return lxm_error_errno(err, -r, "delete %s: remove %s", c->name, dirs[i]);
    }
    return 0;
}

int cmd_delete(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option longopts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
    bool force = false;
    int opt;
    while ((opt = lxm_getopt("delete", argc, argv, "f", longopts, err)) != -1) {
        if (opt == 'h')
            return 0;
        if (opt == '?')
            return -LXM_EUSAGE;
        force = true;
    }
    const char *name;
    int r = lxm_arg_name("delete", argc, argv, &name, err);
    if (r < 0)
        return r;
    _cleanup_container_ struct lxm_container *c = NULL;
    r = lxm_container_new(&ctx->paths, name, &c, err);
    if (r < 0)
        return r;
    if (!path_exists(c->dir))
        return lxm_error_set(err, ENOENT, "container '%s' not found", name);
    r = lxm_container_lock(c, err);
    if (r == 0 && !path_exists(c->dir))
        r = lxm_error_set(err, ENOENT, "container '%s' not found", name);
    /* A directory without config.yaml is a create that died half-way:
     * nothing can be running from it. */
    if (r == 0 && lxm_container_exists(c))
        r = ensure_stopped(c, force, "delete", err);
    return r < 0 ? r : remove_container(c, err);
}

/* ---- copy -------------------------------------------------------------------------- */

static int copy_config(struct lxm_container *src, struct lxm_container *dst, struct lxm_error *err)
{
    struct lxm_config *cfg = src->config;
    _cleanup_free_ char *created = utc_now();
    if (!created || set_str(&cfg->name, dst->name) < 0 || set_str(&cfg->hostname, dst->name) < 0 ||
        set_str(&cfg->created, created) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    /* Network interfaces keep their settings but not a fixed MAC: two
     * containers must not share one. */
    for (int i = 0; i < cfg->n_netifs; i++)
        if (cfg->netifs[i].hwaddr && strcmp(cfg->netifs[i].hwaddr, "auto") != 0 &&
            set_str(&cfg->netifs[i].hwaddr, "auto") < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    return lxm_config_save(cfg, dst->config_file, err);
}

static int copy_container(struct lxm_ctx *ctx, struct lxm_container *src, struct lxm_container *dst,
                          struct lxm_error *err)
{
    const struct lxm_storage_ops *storage;
    int r = lxm_storage_for(&ctx->paths, &storage, err);
    if (r < 0)
        return r;
    r = lxm_container_lock(dst, err);
    if (r < 0)
        return r;
    if (mkdir(dst->dir, 0700) < 0)
        return errno == EEXIST ? lxm_error_set(err, EEXIST, "container '%s' already exists", dst->name)
                               : lxm_error_errno(err, errno, "create %s", dst->dir);
    r = storage->clone(src->rootfs, dst->rootfs, err);
    if (r == 0)
        r = lxm_rootfs_set_identity(dst->rootfs, dst->name, err);
    if (r == 0)
        r = copy_config(src, dst, err);
    if (r < 0) {
        struct lxm_error ignored = { 0 };
        storage->destroy(dst->rootfs, &ignored);
        rm_rf(dst->dir);
        rm_rf(dst->run_dir);
    }
    return r;
}

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
    _cleanup_container_ struct lxm_container *src = NULL;
    _cleanup_container_ struct lxm_container *dst = NULL;
    int r = lxm_container_new(&ctx->paths, argv[optind], &src, err);
    if (r == 0)
        r = lxm_container_new(&ctx->paths, argv[optind + 1], &dst, err);
    if (r == 0)
        r = lxm_container_load_config(src, err);
    if (r < 0)
        return r;
    if (path_exists(dst->dir))
        return lxm_error_set(err, EEXIST, "container '%s' already exists", dst->name);
    r = lxm_container_lock_pair(src, dst, err);
    if (r == 0) /* again, under the lock */
        r = lxm_container_load_config(src, err);
    if (r == 0)
        r = ensure_stopped(src, false, NULL, err);
    if (r == 0)
        r = lxm_container_check_rootfs(src, err);
    if (r < 0)
        return r;
    return copy_container(ctx, src, dst, err);
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

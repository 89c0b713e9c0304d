#include "storage/lifecycle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "config/config.h"
#include "image/image_import.h"
#include "image/image_io.h"
#include "runtime/hostname.h"
#include "runtime/init_detect.h"
#include "runtime/runtime.h"
#include "runtime/start-lost.h"
#include "storage/storage.h"
#include "image/template.h"
#include "util/arch.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/owner.h"
#include "util/signals.h"
#include "util/strv.h"

/* How long `delete -f` waits for a clean stop before SIGKILL. */
#define FORCE_STOP_TIMEOUT_MS 5000

static inline void configp(struct lxm_config **c) { lxm_config_free(*c); }
static inline void templatep(struct lxm_template **t) { lxm_template_free(*t); }
#define _cleanup_config_ _cleanup_(configp)
#define _cleanup_template_ _cleanup_(templatep)

static int set_str(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
    return value && !*field ? -ENOMEM : 0;
}

/* ---- staging ------------------------------------------------------------------------- */

static char *staging_dir(const struct lxm_paths *paths, const char *kind, const char *name)
{
    /* Owner-tagged (util/owner.h): leftovers.c removes it if we die. */
    return xasprintf("%s/.%s-%s.%s", paths->containers, kind, owner_tag(), name);
}

/* Remove a volume directory whatever backend holds it: its snapshots'
 * rootfs, its own, then the files. */
static int remove_volume(const char *vol, struct lxm_error *err)
{
    const struct lxm_storage_ops *ops;
    struct lxm_error none = { 0 };
    if (lxm_storage_of(vol, &ops, &none) == 0) {
        int r = ops->destroy(vol, err);
        if (r < 0)
            return r;
    }
    int r = rm_rf(vol);
    if (r < 0 && r != -ENOENT)
        return lxm_error_errno(err, -r, "remove %s", vol);
    return 0;
}

int lxm_lifecycle_remove_dir(const char *dir, struct lxm_error *err)
{
    _cleanup_free_ char *snaps = xasprintf("%s/snapshots", dir);
    if (!snaps)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_closedir_ DIR *d = opendir(snaps);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *vol = xasprintf("%s/%s", snaps, de->d_name);
        if (!vol)
            return lxm_error_set(err, ENOMEM, "out of memory");
        int r = remove_volume(vol, err);
        if (r < 0)
            return r;
    }
    return remove_volume(dir, err);
}

/* ---- images ----------------------------------------------------------------------------- */

int lxm_lifecycle_template_image(const struct lxm_paths *paths, const struct lxm_template *t,
                                 const struct lxm_provision_opts *popts,
                                 struct lxm_image **out, struct lxm_error *err)
{
    char fp[65];
    _cleanup_free_ char *source = NULL;
    int r = lxm_template_recipe(paths, t, popts, fp, &source, err);
    if (r < 0)
        return r;
    r = lxm_image_store_get(paths, fp, out, err);
    if (r != 0)
        return r < 0 ? r : 0;
    const struct lxm_storage_ops *ops;
    r = lxm_storage_for(paths, &ops, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *staging = NULL;
    r = lxm_image_store_stage(paths, ops, &staging, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", staging);
    _cleanup_free_ char *created = lxm_utc_now();
    if (!rootfs || !created)
        r = lxm_error_set(err, ENOMEM, "out of memory");
    /* What an imported image says of itself beats what the tarball
     * template guessed. */
    struct lxm_image_meta said = { 0 };
    struct lxm_provision_opts o = *popts;
    o.meta = &said;
    if (r == 0)
        r = lxm_template_provision(paths, t, &o, rootfs, err);
    if (r == 0 && lxm_signals_pending())
        r = lxm_error_set(err, EINTR, "interrupted");
    if (r == 0) {
        struct lxm_image meta = {
            .fingerprint = fp, .template_name = t->name,
            .release = said.release ? said.release : (char *)popts->release,
            .arch = said.arch ? said.arch : (char *)lxm_host_arch(), .created = created,
            .source = source, .driver = (char *)ops->name,
        };
        r = lxm_image_store_commit(paths, staging, &meta, out, err);
    }
    lxm_image_meta_clear(&said);
    if (r == 0)
        return 0;
    lxm_image_store_discard(staging);
    return r;
}

/* ---- identity ------------------------------------------------------------------------------ */

int lxm_lifecycle_set_identity(const char *image_rootfs, const char *vol, const char *name,
                               bool fresh, struct lxm_error *err)
{
    const struct lxm_storage_ops *ops;
    int r = lxm_storage_of(vol, &ops, err);
    if (r < 0)
        return r;
    if (fresh && ops->fresh_root) {
        static const char *const dirs[] = { "etc", NULL };
        _cleanup_close_ int view = -1, root = -1;
        r = ops->fresh_root(image_rootfs, vol, dirs, &view, &root, err);
        if (r == 0)
            return lxm_rootfs_set_identity_in(view, root, name, err);
        if (r != -ENOTSUP)
            return r;
    }
    struct lxm_storage_mount how = { .userns_fd = -1 };
    _cleanup_close_ int fd = ops->mount(image_rootfs, vol, &how, err);
    if (fd < 0)
        return fd;
    return lxm_rootfs_set_identity_at(fd, name, err);
}

/* ---- create ------------------------------------------------------------------------------- */

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

/* -p adds to the template's profiles (default when it names none), after
 * them and without duplicates; --no-default-profile leaves -p's alone
 * (none at all: `profiles: []`, nothing merged). */
static int choose_profiles(const struct lxm_create_opts *o, const struct lxm_template *t,
                           char ***out)
{
    static char *const fallback[] = { (char *)"default", NULL };
    char *const *base = o->no_default_profile ? NULL : t && t->profiles ? t->profiles : fallback;
    _cleanup_strv_free_ char **list = calloc(1, sizeof(char *));
    if (!list)
        return -ENOMEM;
    for (size_t i = 0; base && base[i]; i++)
        if (!strv_contains(list, base[i]) && strv_push(&list, base[i]) < 0)
            return -ENOMEM;
    for (size_t i = 0; o->profiles && o->profiles[i]; i++)
        if (!strv_contains(list, o->profiles[i]) && strv_push(&list, o->profiles[i]) < 0)
            return -ENOMEM;
    *out = TAKE_PTR(list);
    return 0;
}

static int apply_settings(struct lxm_config *c, char *const *settings, const char *name,
                          struct lxm_error *err)
{
    for (size_t i = 0; settings && settings[i]; i++) {
        _cleanup_free_ char *key = strdup(settings[i]);
        if (!key)
            return lxm_error_set(err, ENOMEM, "out of memory");
        char *eq = strchr(key, '=');
        if (!eq)
            return lxm_error_set(err, EINVAL, "-c %s: expected KEY=VALUE", settings[i]);
        *eq = '\0';
        int r = lxm_config_set(c, key, eq + 1, err);
        if (r < 0)
            return lxm_error_prefix(err, "-c %s", settings[i]);
    }
    if (!c->name || strcmp(c->name, name) != 0)
        return lxm_error_set(err, EINVAL, "-c name: a container's name is its NAME argument");
    return 0;
}

/* The new container's config.yaml, complete and validated, before any
 * file is written. t may be NULL (an image whose template is unknown). */
static int build_config(const struct lxm_paths *paths, const struct lxm_create_opts *o,
                        char *const *settings, const struct lxm_template *t, const char *tname,
                        const char *release, struct lxm_config **out, struct lxm_error *err)
{
    _cleanup_free_ char *skeleton = xasprintf("name: %s\n", o->name);
    _cleanup_config_ struct lxm_config *c = NULL;
    if (!skeleton)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = lxm_config_parse("config.yaml", skeleton, &c, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *created = lxm_utc_now();
    if (!created || set_str(&c->template, tname) < 0 || set_str(&c->release, release) < 0 ||
        set_str(&c->arch, lxm_host_arch()) < 0 || set_str(&c->created, created) < 0 ||
        set_str(&c->init, t && t->init ? t->init : "/sbin/init") < 0 ||
        (t && t->ready && set_str(&c->ready, t->ready) < 0) ||
        set_str(&c->hostname, o->name) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    strv_free(c->profiles);
    c->profiles = NULL;
    r = choose_profiles(o, t, &c->profiles);
    if (r < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    r = check_profiles(paths, c->profiles, err);
    if (r < 0)
        return r;
    c->halt_signal = t ? t->halt_signal : 0;
    c->reboot_signal = t ? t->reboot_signal : 0;
    r = apply_settings(c, settings, o->name, err);
    if (r < 0)
        return r;
    *out = TAKE_PTR(c);
    return 0;
}

/* What a create needs, resolved and checked before anything is written. */
struct plan {
    struct lxm_template *t;     /* may be NULL with an image */
    struct lxm_image *img;      /* with --image */
    const char *release;
    struct lxm_config *cfg;
    char **settings;            /* -c KEY=VALUE but template.* */
    enum lxm_init_kind init;    /* what detect_init found (a foreign tree) */
};

static void plan_free(struct plan *p)
{
    strv_free(p->settings);
    lxm_template_free(p->t);
    lxm_image_free(p->img);
    lxm_config_free(p->cfg);
}

static int plan_image(const struct lxm_paths *paths, const struct lxm_create_opts *o,
                      struct plan *p, struct lxm_error *err)
{
    if (o->template_name || o->from || o->include || o->release)
        return lxm_error_set(err, EINVAL, "--image: not with -t, -r, --from or --include "
                                          "(the image is already built)");
    for (size_t i = 0; o->settings && o->settings[i]; i++)
        if (strncmp(o->settings[i], "template.", 9) == 0)
            return lxm_error_set(err, EINVAL, "-c %s: not with --image (the image is already built)",
                                 o->settings[i]);
    int r = lxm_image_store_find(paths, o->image, &p->img, err);
    if (r < 0)
        return r;
    /* The image's template, when this host has it, gives init, signals
     * and profiles; otherwise /sbin/init and the default profile. */
    struct lxm_error ignored = { 0 };
    if (p->img->template_name)
        lxm_template_find(paths, p->img->template_name, &p->t, &ignored);
    p->release = p->img->release;
    return build_config(paths, o, o->settings, p->t, p->img->template_name, p->release, &p->cfg,
                        err);
}

static int plan_create(const struct lxm_paths *paths, const struct lxm_create_opts *o,
                       struct plan *p, struct lxm_error *err)
{
    if (o->image)
        return plan_image(paths, o, p, err);
    /* --from alone means "any rootfs tarball": the tarball template. */
    const char *tname = o->template_name ? o->template_name : "tarball";
    int r = lxm_template_find(paths, tname, &p->t, err);
    if (r == 0)
        r = lxm_template_release(p->t, o->release, &p->release, err);
    if (r < 0)
        return r;
    const struct lxm_global *g;
    r = lxm_paths_global(paths, &g, err);
    if (r == 0)
        r = lxm_template_apply_options(p->t, g, o->settings, &p->settings, err);
    if (r < 0)
        return r;
    if (o->include && p->t->source_type != LXM_SOURCE_DEBOOTSTRAP)
        return lxm_error_set(err, EINVAL, "--include: template '%s' does not install packages", p->t->name);
    if (o->from && (r = lxm_image_source_access(o->from)) < 0)
        return lxm_error_errno(err, -r, "--from %s", o->from);
    if (o->from_rootfs && access(o->from_rootfs, R_OK) < 0)
        return lxm_error_errno(err, errno, "--from-rootfs %s", o->from_rootfs);
    if (!o->from && p->t->source_type == LXM_SOURCE_TARBALL && !p->t->path)
        return lxm_error_set(err, EINVAL, "template '%s' needs --from FILE", p->t->name);
    return build_config(paths, o, p->settings, p->t, p->t->name, p->release, &p->cfg, err);
}

int lxm_lifecycle_create_dry_run(const struct lxm_paths *paths, const struct lxm_create_opts *o,
                                 char ***argv, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    struct plan p = { 0 };
    int r = lxm_container_new(paths, o->name, &c, err);
    if (r == 0)
        r = plan_create(paths, o, &p, err);
    if (r == 0 && p.t && !p.img) {
        struct lxm_provision_opts popts = {
            .name = o->name, .release = p.release, .include = o->include, .from = o->from,
            .from_rootfs = o->from_rootfs, .progress = o->progress,
        };
        r = lxm_template_dry_run(paths, p.t, &popts, argv, err);
    }
    plan_free(&p);
    return r;
}

/* A sysvinit's inittab in the new volume, adapted as the templates adapt
 * theirs: so that SIGPWR halts and SIGINT reboots. */
static int adapt_inittab(const char *image_rootfs, const char *vol, struct lxm_error *err)
{
    const struct lxm_storage_ops *ops;
    int r = lxm_storage_of(vol, &ops, err);
    if (r < 0)
        return r;
    struct lxm_storage_mount how = { .userns_fd = -1 };
    _cleanup_close_ int fd = ops->mount(image_rootfs, vol, &how, err);
    if (fd < 0)
        return fd;
    r = lxm_inittab_adapt(fd, err);
    return r < 0 ? r : 0;
}

/* Fill the staging volume and move it into place. */
static int build_container(const struct lxm_paths *paths, struct lxm_container *c,
                           const struct plan *p, const char *staging, struct lxm_error *err)
{
    const struct lxm_image *img = p->img;
    struct lxm_config *cfg = p->cfg;
    const struct lxm_storage_ops *ops;
    int r = lxm_storage_for(paths, &ops, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *cfgfile = xasprintf("%s/config.yaml", staging);
    if (!cfgfile || set_str(&cfg->image, img->fingerprint) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (mkdir(staging, 0700) < 0)
        return lxm_error_errno(err, errno, "create %s", staging);
    const char *hostname = cfg->hostname ? cfg->hostname : c->name;
    r = ops->create(img->rootfs, staging, err);
    if (r == 0)
        r = lxm_lifecycle_set_identity(img->rootfs, staging, hostname, true, err);
    if (r == 0) /* the first start has nothing to write again */
        r = lxm_hostname_record(staging, hostname, err);
    if (r == 0 && (p->init == LXM_INIT_SYSVINIT || p->init == LXM_INIT_SYSVINIT_OPENRC))
        r = adapt_inittab(img->rootfs, staging, err);
    if (r == 0 && lxm_signals_pending())
        r = lxm_error_set(err, EINTR, "create %s: interrupted", c->name);
    if (r == 0)
        r = lxm_config_save_staged(cfg, cfgfile, err);
    /* Its data on disk before it takes its name, all of it after: a
     * crash leaves the whole container or a leftover staging dir, never
     * a container with empty files, nor one that create said it made and
     * that is gone (see storage-sync.c). */
    if (r == 0)
        r = lxm_storage_write_out(ops, staging, err);
    if (r == 0 && renameat2(AT_FDCWD, staging, AT_FDCWD, c->dir, RENAME_NOREPLACE) < 0)
        r = errno == EEXIST || errno == ENOTEMPTY
                ? lxm_error_set(err, EEXIST, "container '%s' already exists", c->name)
                : lxm_error_errno(err, errno, "rename %s to %s", staging, c->dir);
    if (r == 0)
        r = lxm_storage_sync(c->dir, err);
    return r;
}

/* -c signals.KEY=... or -c signals=... among the settings. */
static bool sets_signal(char *const *settings, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; settings && settings[i]; i++)
        if ((!strncmp(settings[i], key, n) && settings[i][n] == '=') ||
            !strncmp(settings[i], "signals=", 8))
            return true;
    return false;
}

/* A tarball or an imported image boots whatever init it holds, which the
 * tarball template can only guess (SIGPWR halts, SIGINT reboots): a
 * systemd ignores that SIGPWR, a stock sysvinit runs its inittab's
 * powerwait entry (Debian's: a script that is not there), busybox init
 * ignores it, and each was killed after the stop timeout. The signals of
 * the init the tree holds, as the template path sets them for the same
 * init, unless -c chose them; a sysvinit's inittab gets the setup
 * (init_detect-inittab.c) when the volume is made. */
static void detect_init(const struct lxm_create_opts *o, struct plan *p)
{
    if (p->t && p->t->source_type != LXM_SOURCE_TARBALL)
        return;
    struct lxm_init_info init;
    if (lxm_init_detect(p->img->rootfs, p->cfg->init, &init) == 0)
        return;
    lxm_debug("%s: %s is %s", o->name, p->cfg->init, lxm_init_kind_name(init.kind));
    p->init = init.kind;
    if (!sets_signal(o->settings, "signals.halt"))
        p->cfg->halt_signal = init.halt;
    if (!sets_signal(o->settings, "signals.reboot"))
        p->cfg->reboot_signal = init.reboot;
}

static int create_locked(const struct lxm_paths *paths, const struct lxm_create_opts *o,
                         struct lxm_container *c, struct plan *p, struct lxm_error *err)
{
    _cleanup_close_ int store = lxm_image_store_lock(paths, false, err);
    if (store < 0)
        return store;
    lxm_image_store_sweep(paths);
    int r = 0;
    if (!p->img) {
        struct lxm_provision_opts popts = {
            .name = o->name, .release = p->release, .include = o->include, .from = o->from,
            .from_rootfs = o->from_rootfs, .progress = o->progress,
        };
        r = lxm_lifecycle_template_image(paths, p->t, &popts, &p->img, err);
        if (r < 0)
            return r;
        /* The image's own release and arch (an imported one knows them). */
        if ((p->img->release && !p->cfg->release && set_str(&p->cfg->release, p->img->release) < 0) ||
            (p->img->arch && set_str(&p->cfg->arch, p->img->arch) < 0))
            return lxm_error_set(err, ENOMEM, "out of memory");
    }
    detect_init(o, p);
    _cleanup_free_ char *staging = staging_dir(paths, "create", c->name);
    if (!staging)
        return lxm_error_set(err, ENOMEM, "out of memory");
    r = build_container(paths, c, p, staging, err);
    if (r < 0) {
        struct lxm_error ignored = { 0 };
        if (lxm_lifecycle_remove_dir(staging, &ignored) < 0)
            lxm_warn("could not remove %s after the failed create: %s", staging, ignored.msg);
    }
    return r;
}

int lxm_lifecycle_create(const struct lxm_paths *paths, const struct lxm_create_opts *o,
                         struct lxm_container **out, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    struct plan p = { 0 };
    int r = lxm_container_new(paths, o->name, &c, err);
    if (r == 0)
        r = plan_create(paths, o, &p, err);
    if (r == 0 && (r = mkdir_p(paths->containers, 0711)) < 0)
        r = lxm_error_errno(err, -r, "create %s", paths->containers);
    /* Held to the end: a second create of NAME waits, then finds it. */
    if (r == 0)
        r = lxm_container_lock(c, err);
    if (r == 0 && lxm_container_exists(c))
        r = lxm_error_set(err, EEXIST, "container '%s' already exists", c->name);
    else if (r == 0 && path_exists(c->dir))
        r = lxm_error_set(err, EEXIST, "container '%s' is half-created (a create of an older lxm "
                          "that died: 'lxm delete %s' removes it)", c->name, c->name);
    if (r == 0) {
        sigset_t old;
        lxm_signals_block(&old);
        r = create_locked(paths, o, c, &p, err);
        if (r < 0)
            rm_rf(c->run_dir);
        lxm_signals_restore(&old);
    }
    /* The lock goes with c: launch holds it on through the start. */
    plan_free(&p);
    if (r == 0 && out)
        *out = TAKE_PTR(c);
    return r;
}

/* ---- stop, delete ----------------------------------------------------------------------- */

int lxm_lifecycle_ensure_stopped(struct lxm_container *c, bool force, const char *what,
                                 struct lxm_error *err)
{
    struct lxm_runtime_info info;
    int r = lxm_runtime_query(c, &info, err);
    if (r == 0 && info.stale) {
        /* A crashed container: its leftovers go, then it is stopped. */
        r = lxm_runtime_reap(c, err);
        if (r == 0)
            r = lxm_runtime_query(c, &info, err);
    }
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

/* Hide the container (one rename), then remove its snapshots, rootfs and
 * files: a delete cut short leaves only a hidden directory. */
static int remove_container(struct lxm_container *c, struct lxm_error *err)
{
    _cleanup_free_ char *doomed = staging_dir(c->paths, "delete", c->name);
    if (!doomed)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (rename(c->dir, doomed) < 0)
        return lxm_error_errno(err, errno, "delete %s: rename %s", c->name, c->dir);
    int r = lxm_lifecycle_remove_dir(doomed, err);
    if (r < 0)
        return lxm_error_prefix(err, "delete %s", c->name);
    const char *dirs[] = { c->log_dir, c->run_dir };
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        r = rm_rf(dirs[i]);
        if (r < 0 && r != -ENOENT)
            return lxm_error_errno(err, -r, "delete %s: remove %s", c->name, dirs[i]);
    }
    return 0;
}

int lxm_lifecycle_delete(struct lxm_container *c, bool force, struct lxm_error *err)
{
    if (!path_exists(c->dir))
        return lxm_error_set(err, ENOENT, "container '%s' not found", c->name);
    /* A directory without config.yaml is a create of an older lxm that
     * died half-way: nothing can be running from it. */
    int r = lxm_container_lock(c, err);
    if (r == 0 && !path_exists(c->dir))
        r = lxm_error_set(err, ENOENT, "container '%s' not found", c->name);
    if (r == 0 && lxm_container_exists(c))
        r = lxm_lifecycle_ensure_stopped(c, force, "delete", err);
    /* Stopped: cgroups left by a lost record go too (start-lost.h); what
     * still runs in them only with -f. */
    if (r == 0)
        r = lxm_runtime_drop_cgroup(c, force, NULL, err);
    if (r < 0)
        return r;
    sigset_t old;
    lxm_signals_block(&old);
    r = remove_container(c, err);
    lxm_signals_restore(&old);
    /* Stops keep the containers' cgroup parent; the last delete drops it. */
    if (r == 0)
        lxm_cgroup_prune_parent();
    return r;
}

/* ---- copy --------------------------------------------------------------------------------- */

static int copy_config(struct lxm_config *cfg, const char *name, const char *file,
                       struct lxm_error *err)
{
    _cleanup_free_ char *created = lxm_utc_now();
    if (!created || set_str(&cfg->name, name) < 0 || set_str(&cfg->hostname, name) < 0 ||
        set_str(&cfg->created, created) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    /* Network interfaces keep their settings but not a fixed MAC: two
     * containers must not share one. */
    for (int i = 0; i < cfg->n_netifs; i++)
        if (cfg->netifs[i].hwaddr && strcmp(cfg->netifs[i].hwaddr, "auto") != 0 &&
            set_str(&cfg->netifs[i].hwaddr, "auto") < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    return lxm_config_save(cfg, file, err);
}

/* The rootfs layout record (idmap.state) describes the copied tree too. */
static int copy_layout(const struct lxm_container *src, const char *staging, struct lxm_error *err)
{
    _cleanup_free_ char *from = xasprintf("%s/idmap.state", src->dir);
    _cleanup_free_ char *to = xasprintf("%s/idmap.state", staging);
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    if (!from || !to)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = read_file(from, &text, &len);
    if (r == -ENOENT)
        return 0;
    if (r == 0)
        r = write_file_atomic(to, text, len, 0644);
    return r < 0 ? lxm_error_errno(err, -r, "copy %s", from) : 0;
}

static int build_copy(struct lxm_container *src, struct lxm_container *dst, const char *staging,
                      struct lxm_error *err)
{
    const struct lxm_storage_ops *ops;
    _cleanup_free_ char *image = NULL;
    _cleanup_free_ char *cfgfile = xasprintf("%s/config.yaml", staging);
    if (!cfgfile)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = lxm_storage_of(src->dir, &ops, err);
    if (r == 0)
        r = lxm_image_rootfs(src->paths, src->config->image, &image, err);
    if (r < 0)
        return r;
    if (mkdir(staging, 0700) < 0)
        return lxm_error_errno(err, errno, "create %s", staging);
    r = ops->clone(image, src->dir, staging, err);
    if (r == 0)
        r = copy_layout(src, staging, err);
    if (r == 0)
        r = lxm_lifecycle_set_identity(image, staging, dst->name, false, err);
    if (r == 0 && lxm_signals_pending())
        r = lxm_error_set(err, EINTR, "copy %s: interrupted", src->name);
    if (r == 0)
        r = copy_config(src->config, dst->name, cfgfile, err);
    /* As a create's: its data on disk before it takes its name, and the
     * rename on disk before copy says it is done (storage-sync.c). A
     * copied tree may hold any number of files: one syncfs for it. */
    if (r == 0)
        r = lxm_storage_sync(staging, err);
    if (r == 0 && renameat2(AT_FDCWD, staging, AT_FDCWD, dst->dir, RENAME_NOREPLACE) < 0)
        r = errno == EEXIST || errno == ENOTEMPTY
                ? lxm_error_set(err, EEXIST, "container '%s' already exists", dst->name)
                : lxm_error_errno(err, errno, "rename %s to %s", staging, dst->dir);
    if (r == 0)
        r = lxm_storage_sync(dst->dir, err);
    return r;
}

static int copy_locked(struct lxm_container *src, struct lxm_container *dst, struct lxm_error *err)
{
    _cleanup_close_ int store = lxm_image_store_lock(src->paths, false, err);
    if (store < 0)
        return store;
    _cleanup_free_ char *staging = staging_dir(src->paths, "copy", dst->name);
    if (!staging)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = build_copy(src, dst, staging, err);
    if (r < 0) {
        struct lxm_error ignored = { 0 };
        if (lxm_lifecycle_remove_dir(staging, &ignored) < 0)
            lxm_warn("could not remove %s after the failed copy: %s", staging, ignored.msg);
    }
    return r;
}

int lxm_lifecycle_copy(const struct lxm_paths *paths, const char *srcname, const char *dstname,
                       struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *src = NULL;
    _cleanup_container_ struct lxm_container *dst = NULL;
    int r = lxm_container_open(paths, srcname, &src, err);
    if (r == 0)
        r = lxm_container_new(paths, dstname, &dst, err);
    if (r == 0)
        r = lxm_container_load_config(src, err);
    if (r < 0)
        return r;
    if (path_exists(dst->dir))
        return lxm_error_set(err, EEXIST, "container '%s' already exists", dst->name);
    r = lxm_container_lock_pair(src, dst, err);
    if (r == 0) /* again, under the locks */
        r = lxm_container_load_config(src, err);
    if (r == 0 && path_exists(dst->dir))
        r = lxm_error_set(err, EEXIST, "container '%s' already exists", dst->name);
    if (r == 0)
        r = lxm_lifecycle_ensure_stopped(src, false, NULL, err);
    if (r == 0)
        r = lxm_container_check_rootfs(src, err);
    if (r < 0)
        return r;
    sigset_t old;
    lxm_signals_block(&old);
    r = copy_locked(src, dst, err);
    if (r < 0)
        rm_rf(dst->run_dir);
    lxm_signals_restore(&old);
    return r;
}

/* ---- image import, export ---------------------------------------------------------------- */

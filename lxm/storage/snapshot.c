#include "storage/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "image/image_store.h"
#include "image/image_io.h"
#include "runtime/runtime.h"
#include "storage/storage.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "config/ydoc.h"
#include "util/owner.h"
#include "util/signals.h"

/* ---- volumes ------------------------------------------------------------------------ */

/* Remove a snapshot's (or any volume's) rootfs through the backend that
 * holds it, then the directory. */
static int remove_snapshot_dir(const char *dir)
{
    const struct lxm_storage_ops *ops;
    struct lxm_error e = {0};
    if (lxm_storage_of(dir, &ops, &e) == 0 && ops->destroy(dir, &e) < 0)
        return -(e.code ? e.code : EIO);
    int r = rm_rf(dir);
    return r == -ENOENT ? 0 : r;
}

/* The image tree under c's volume (NULL when it has none). */
static int container_image(struct lxm_container *c, char **image, struct lxm_error *err)
{
    if (!c->config) {
        int r = lxm_container_load_config(c, err);
        if (r < 0)
            return r;
    }
    return lxm_image_rootfs(c->paths, c->config->image, image, err);
}

/* ---- names and places ------------------------------------------------------------- */

int lxm_snapshot_validate_name(const char *snap, struct lxm_error *err)
{
    if (!lxm_snapshot_name_ok(snap))
        return lxm_error_set(err, EINVAL,
                             "invalid snapshot name '%s' (use 1-63 of a-z, 0-9 and '-', "
                             "starting with a letter or digit)",
                             snap ? snap : "");
    return 0;
}

static char *snapshots_dir(const struct lxm_container *c)
{
    return xasprintf("%s/snapshots", c->dir);
}

static char *snapshot_path(const struct lxm_container *c, const char *snap, const char *file)
{
    if (file)
        return xasprintf("%s/snapshots/%s/%s", c->dir, snap, file);
    return xasprintf("%s/snapshots/%s", c->dir, snap);
}

/* "snapN" after the highest N in use, so a name never comes back after a
 * delete (as LXD does). */
static char *next_snapshot_name(const struct lxm_container *c)
{
    _cleanup_free_ char *dir = snapshots_dir(c);
    if (!dir)
        return NULL;
    long next = 0;
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, "snap", 4) != 0 || !de->d_name[4])
            continue;
        char *end;
        errno = 0;
        long n = strtol(de->d_name + 4, &end, 10);
        if (!*end && errno == 0 && n >= next && de->d_name[4] >= '0' && de->d_name[4] <= '9')
            next = n + 1;
    }
    return xasprintf("snap%ld", next);
}

/* Where this process builds (or deletes) snapshot snap: hidden, and tagged
 * with its owner so that a command that finds it after we died removes it
 * (lxm_snapshot_remove_partial), and one that finds it while we run leaves
 * it alone. */
static char *partial_path(const struct lxm_container *c, const char *snap)
{
    return xasprintf("%s/snapshots/.%s" LXM_SNAPSHOT_PARTIAL "%s", c->dir, snap, owner_tag());
}

int lxm_snapshot_remove_partial(const char *path)
{
    return remove_snapshot_dir(path);
}

/* ---- state --------------------------------------------------------------------------- */

static int container_state(struct lxm_container *c, enum lxm_state *state, struct lxm_error *err)
{
    struct lxm_runtime_info info;
    int r = lxm_runtime_query(c, &info, err);
    if (r < 0)
        return r;
    *state = info.state;
    return 0;
}

static int open_locked(struct lxm_container *c, struct lxm_error *err)
{
    int r = lxm_container_lock(c, err);
    if (r == 0 && !lxm_container_exists(c))
        r = lxm_error_set(err, ENOENT, "container '%s' not found", c->name);
    return r;
}

/* A snapshot must see a rootfs that does not change while it is taken:
 * *live says the container runs, so it is frozen for the copy. */
static int check_snapshot_state(struct lxm_container *c, bool *live, struct lxm_error *err)
{
    struct lxm_runtime_info info;
    int r = lxm_runtime_query(c, &info, err);
    if (r < 0)
        return r;
    enum lxm_state s = info.state;
    /* STARTING with an init: it runs, only not ready yet (ready.h). */
    *live = s == LXM_STATE_RUNNING || (s == LXM_STATE_STARTING && info.init_pid > 0);
    if (s == LXM_STATE_STOPPED || s == LXM_STATE_FROZEN || *live)
        return 0;
    return lxm_error_set(err, EBUSY, "container '%s' is %s: try again once it is running or stopped",
                         c->name, lxm_state_name(s));
}

static int check_stopped(struct lxm_container *c, const char *what, struct lxm_error *err)
{
    enum lxm_state s;
    int r = container_state(c, &s, err);
    if (r < 0)
        return r;
    if (s == LXM_STATE_STOPPED)
        return 0;
    return lxm_error_set(err, EBUSY,
                         "container '%s' is %s (stop it first with 'lxm stop %s' to %s it)",
                         c->name, lxm_state_name(s), c->name, what);
}

/* ---- create ------------------------------------------------------------------------ */

static int copy_file(const char *src, const char *dst, struct lxm_error *err)
{
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    int r = read_file(src, &data, &len);
    if (r < 0)
        return lxm_error_errno(err, -r, "read %s", src);
    r = write_file_atomic(dst, data, len, 0600);
    if (r < 0)
        return lxm_error_errno(err, -r, "write %s", dst);
    return 0;
}

/* Copy c's rootfs into the volume partial; a running container is frozen
 * for the copy (its processes cannot write) and thawed whatever happens. */
static int copy_rootfs(struct lxm_container *c, const char *partial, bool live,
                       struct lxm_error *err)
{
    const struct lxm_storage_ops *ops;
    _cleanup_free_ char *image = NULL;
    int r = lxm_storage_of(c->dir, &ops, err);
    if (r == 0)
        r = container_image(c, &image, err);
    if (r < 0)
        return r;
    if (!live)
        return ops->clone(image, c->dir, partial, err);
    r = lxm_runtime_freeze(c, true, err);
    if (r < 0)
        return r;
    r = ops->snapshot(image, c->dir, partial, err);
    struct lxm_error thaw = {0};
    if (lxm_runtime_freeze(c, false, &thaw) < 0) {
        lxm_warn("snapshot %s: could not thaw it: %s ('lxm unfreeze %s')", c->name, thaw.msg, c->name);
        if (r == 0)
            r = lxm_error_set(err, thaw.code, "%s", thaw.msg);
    }
    return r;
}

/* Fill the hidden directory partial with everything a snapshot holds. */
static int fill_snapshot(struct lxm_container *c, const char *partial, const char *name, bool live,
                         struct lxm_error *err)
{
    _cleanup_free_ char *config = xasprintf("%s/config.yaml", partial);
    _cleanup_free_ char *meta = xasprintf("%s/snapshot.yaml", partial);
    _cleanup_free_ char *created = lxm_utc_now();
    _cleanup_free_ char *text =
        created ? xasprintf("name: %s\ncreated: %s\n", name, created) : NULL;
    if (!config || !meta || !text)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (mkdir(partial, 0700) < 0)
        return lxm_error_errno(err, errno, "create %s", partial);
    int r = copy_file(c->config_file, config, err);
    if (r == 0)
        r = copy_rootfs(c, partial, live, err);
    if (r == 0 && (r = write_file_atomic(meta, text, strlen(text), 0600)) < 0)
        r = lxm_error_errno(err, -r, "write %s", meta);
    return r;
}

static int build_snapshot(struct lxm_container *c, const char *name, bool live,
                          struct lxm_error *err)
{
    _cleanup_free_ char *dir = snapshots_dir(c);
    _cleanup_free_ char *final = snapshot_path(c, name, NULL);
    _cleanup_free_ char *partial = partial_path(c, name);
    if (!dir || !final || !partial)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = mkdir_p(dir, 0700);
    if (r < 0)
        return lxm_error_errno(err, -r, "create %s", dir);
    r = fill_snapshot(c, partial, name, live, err);
    if (r == 0 && lxm_signals_pending())
        r = lxm_error_set(err, EINTR, "interrupted");
    if (r == 0 && renameat2(AT_FDCWD, partial, AT_FDCWD, final, RENAME_NOREPLACE) < 0)
        r = errno == EEXIST
                ? lxm_error_set(err, EEXIST, "snapshot '%s' of container '%s' already exists", name,
                                c->name)
                : lxm_error_errno(err, errno, "rename %s to %s", partial, final);
    if (r < 0 && remove_snapshot_dir(partial) < 0)
        lxm_warn("could not remove %s", partial);
    return r;
}

int lxm_snapshot_create(struct lxm_container *c, const char *snap, char **out,
                        struct lxm_error *err)
{
    int r = snap ? lxm_snapshot_validate_name(snap, err) : 0;
    if (r == 0)
        r = open_locked(c, err);
    if (r == 0)
        r = lxm_container_check_rootfs(c, err);
    if (r < 0)
        return r;
    bool live = false;
    r = check_snapshot_state(c, &live, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *name = snap ? strdup(snap) : next_snapshot_name(c);
    _cleanup_free_ char *final = name ? snapshot_path(c, name, NULL) : NULL;
    if (!final)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (path_exists(final))
        return lxm_error_set(err, EEXIST, "snapshot '%s' of container '%s' already exists", name,
                             c->name);
    sigset_t old;
    lxm_signals_block(&old);
    r = build_snapshot(c, name, live, err);
    lxm_signals_restore(&old);
    if (r < 0)
        return lxm_error_prefix(err, "snapshot %s", c->name);
    if (out)
        *out = TAKE_PTR(name);
    return 0;
}

/* ---- restore ------------------------------------------------------------------------ */

/* The snapshot's config.yaml, checked: it parses and names this container. */
static int read_snapshot_config(struct lxm_container *c, const char *file, char **text, size_t *len,
                                struct lxm_error *err)
{
    _cleanup_free_ char *data = NULL;
    int r = lxm_yaml_read_file(file, &data, len, err);
    if (r < 0)
        return r;
    struct lxm_config *cfg = NULL;
    r = lxm_config_parse(file, data, &cfg, err);
    if (r < 0)
        return r;
    bool same = cfg->name && strcmp(cfg->name, c->name) == 0;
    lxm_config_free(cfg);
    if (!same)
        return lxm_error_set(err, EINVAL, "%s: the snapshot's config names another container",
                             file);
    *text = TAKE_PTR(data);
    return 0;
}

/* The rootfs through the backend (built aside, renamed into place), then
 * config.yaml (atomically). */
static int restore_files(struct lxm_container *c, const char *snapdir, const char *text, size_t len,
                         struct lxm_error *err)
{
    const struct lxm_storage_ops *ops;
    _cleanup_free_ char *image = NULL;
    struct lxm_config *cfg = NULL;
    int r = lxm_storage_of(snapdir, &ops, err);
    if (r == 0)
        r = lxm_config_parse("config.yaml", text, &cfg, err);
    if (r == 0)
        r = lxm_image_rootfs(c->paths, cfg->image, &image, err);
    lxm_config_free(cfg);
    if (r == 0)
        r = ops->restore(image, snapdir, c->dir, err);
    if (r < 0)
        return r;
    struct stat st;
    mode_t mode = stat(c->config_file, &st) == 0 ? st.st_mode & 07777 : 0644;
    r = write_file_atomic(c->config_file, text, len, mode);
    if (r < 0)
        return lxm_error_errno(err, -r, "write %s", c->config_file);
    return 0;
}

int lxm_snapshot_restore(struct lxm_container *c, const char *snap, struct lxm_error *err)
{
    int r = lxm_snapshot_validate_name(snap, err);
    if (r == 0)
        r = open_locked(c, err);
    if (r == 0)
        r = check_stopped(c, "restore", err);
    if (r < 0)
        return r;
    _cleanup_free_ char *dir = snapshot_path(c, snap, NULL);
    _cleanup_free_ char *cfgfile = snapshot_path(c, snap, "config.yaml");
    if (!dir || !cfgfile)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!path_exists(dir))
        return lxm_error_set(err, ENOENT,
                             "snapshot '%s' of container '%s' not found "
                             "(see 'lxm snapshot --list %s')",
                             snap, c->name, c->name);
    const struct lxm_storage_ops *snapops;
    if (lxm_storage_of(dir, &snapops, err) < 0)
        return lxm_error_set(err, ENOENT, "snapshot '%s' of container '%s' has no rootfs (%s)",
                             snap, c->name, dir);
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    r = read_snapshot_config(c, cfgfile, &text, &len, err);
    if (r < 0)
        return r;
    sigset_t old;
    lxm_signals_block(&old);
    r = restore_files(c, dir, text, len, err);
    lxm_signals_restore(&old);
    if (r < 0)
        return lxm_error_prefix(err, "restore %s from %s", c->name, snap);
    return 0;
}

/* ---- list, delete ---------------------------------------------------------------------- */

static char *read_created(const struct lxm_container *c, const char *snap)
{
    _cleanup_free_ char *file = snapshot_path(c, snap, "snapshot.yaml");
    _cleanup_free_ char *text = NULL;
    if (!file || read_file(file, &text, NULL) < 0)
        return NULL;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, "created: ", 9) == 0)
            return strdup(line + 9);
        line = nl ? nl + 1 : NULL;
    }
    return NULL;
}

static int cmp_snapshot(const void *a, const void *b)
{
    return strcmp(((const struct lxm_snapshot *)a)->name, ((const struct lxm_snapshot *)b)->name);
}

int lxm_snapshot_list(const struct lxm_container *c, struct lxm_snapshot **out, size_t *n,
                      struct lxm_error *err)
{
    *out = NULL;
    *n = 0;
    if (!lxm_container_exists(c))
        return lxm_error_set(err, ENOENT, "container '%s' not found", c->name);
    _cleanup_free_ char *dir = snapshots_dir(c);
    if (!dir)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_closedir_ DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : lxm_error_errno(err, errno, "open %s", dir);
    struct lxm_snapshot *list = NULL;
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !lxm_snapshot_name_ok(de->d_name))
            continue;
        struct lxm_snapshot *grown = realloc(list, (count + 1) * sizeof(*list));
        char *name = grown ? strdup(de->d_name) : NULL;
        if (grown)
            list = grown;
        if (!name) {
            lxm_snapshot_list_free(list, count);
            return lxm_error_set(err, ENOMEM, "out of memory");
        }
        list[count++] = (struct lxm_snapshot){.name = name, .created = read_created(c, name)};
    }
    if (count > 1)
        qsort(list, count, sizeof(*list), cmp_snapshot);
    *out = list;
    *n = count;
    return 0;
}

void lxm_snapshot_list_free(struct lxm_snapshot *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(list[i].name);
        free(list[i].created);
    }
    free(list);
}

int lxm_snapshot_delete(struct lxm_container *c, const char *snap, struct lxm_error *err)
{
    int r = lxm_snapshot_validate_name(snap, err);
    if (r == 0)
        r = open_locked(c, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *final = snapshot_path(c, snap, NULL);
    _cleanup_free_ char *doomed = partial_path(c, snap);
    if (!final || !doomed)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!path_exists(final))
        return lxm_error_set(err, ENOENT, "snapshot '%s' of container '%s' not found", snap,
                             c->name);
    /* Hidden first, so a delete cut short never leaves half a snapshot
     * that looks whole. */
    r = remove_snapshot_dir(doomed);
    if (r == 0 && rename(final, doomed) < 0)
        r = -errno;
    if (r == 0)
        r = remove_snapshot_dir(doomed);
    if (r < 0)
        return lxm_error_errno(err, -r, "delete snapshot %s/%s", c->name, snap);
    return 0;
}

int lxm_snapshot_remove_all(const struct lxm_container *c, struct lxm_error *err)
{
    _cleanup_free_ char *dir = snapshots_dir(c);
    if (!dir)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_closedir_ DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : lxm_error_errno(err, errno, "open %s", dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
        if (!path)
            return lxm_error_set(err, ENOMEM, "out of memory");
        int r = remove_snapshot_dir(path);
        if (r < 0)
            return lxm_error_errno(err, -r, "remove %s", path);
    }
    if (rmdir(dir) < 0 && errno != ENOENT)
        return lxm_error_errno(err, errno, "remove %s", dir);
    return 0;
}

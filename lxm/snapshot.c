#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "runtime.h"
#include "storage.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/owner.h"

/* btrfs gives every subvolume's root directory this inode number. */
#define BTRFS_SUBVOL_ROOT_INO 256

/* ---- signals ------------------------------------------------------------------- */

static void interrupt_set(sigset_t *s)
{
    sigemptyset(s);
    sigaddset(s, SIGINT);
    sigaddset(s, SIGTERM);
    sigaddset(s, SIGHUP);
}

void lxm_signals_block(sigset_t *old)
{
    sigset_t s;
    interrupt_set(&s);
    sigprocmask(SIG_BLOCK, &s, old);
}

bool lxm_signals_pending(void)
{
    sigset_t p;
    if (sigpending(&p) < 0)
        return false;
    return sigismember(&p, SIGINT) == 1 || sigismember(&p, SIGTERM) == 1 ||
           sigismember(&p, SIGHUP) == 1;
}

void lxm_signals_restore(const sigset_t *old)
{
    sigprocmask(SIG_SETMASK, old, NULL);
}

/* ---- rootfs copies ----------------------------------------------------------------- */

bool lxm_rootfs_is_btrfs_subvolume(const char *path)
{
    struct statfs sfs;
    struct stat st;
    if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || statfs(path, &sfs) < 0)
        return false;
    return (uint32_t)sfs.f_type == (uint32_t)BTRFS_SUPER_MAGIC &&
           st.st_ino == BTRFS_SUBVOL_ROOT_INO;
}

/* Split path into an O_DIRECTORY fd on its parent and its last component. */
static int open_parent(const char *path, const char **base)
{
    _cleanup_free_ char *parent = strdup(path);
    if (!parent)
        return -ENOMEM;
    char *slash = strrchr(parent, '/');
    if (!slash || !slash[1])
        return -EINVAL;
    *base = path + (slash - parent) + 1;
    if (slash == parent)
        slash[1] = '\0';
    else
        *slash = '\0';
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static int btrfs_snapshot(const char *src, const char *dst)
{
    const char *base;
    _cleanup_close_ int pfd = open_parent(dst, &base);
    if (pfd < 0)
        return pfd;
    _cleanup_close_ int sfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0)
        return -errno;
    struct btrfs_ioctl_vol_args_v2 args = {.fd = sfd};
    if (strlen(base) > BTRFS_SUBVOL_NAME_MAX)
        return -ENAMETOOLONG;
    strcpy(args.name, base);
    return ioctl(pfd, BTRFS_IOC_SNAP_CREATE_V2, &args) < 0 ? -errno : 0;
}

static int btrfs_destroy(const char *path)
{
    const char *base;
    _cleanup_close_ int pfd = open_parent(path, &base);
    if (pfd < 0)
        return pfd;
    struct btrfs_ioctl_vol_args args = {0};
    if (strlen(base) > BTRFS_PATH_NAME_MAX)
        return -ENAMETOOLONG;
    strcpy(args.name, base);
    return ioctl(pfd, BTRFS_IOC_SNAP_DESTROY, &args) < 0 ? -errno : 0;
}

/* Remove a rootfs copy: a subvolume at once through btrfs when it can,
 * else file by file (rm_rf never follows symlinks or crosses mounts). */
static int remove_rootfs(const char *path)
{
    if (lxm_rootfs_is_btrfs_subvolume(path) && btrfs_destroy(path) == 0)
        return 0;
    return rm_rf(path);
}

int lxm_rootfs_clone(const struct lxm_paths *paths, const char *src, const char *dst,
                     struct lxm_error *err)
{
    if (lxm_rootfs_is_btrfs_subvolume(src)) {
        int r = btrfs_snapshot(src, dst);
        if (r == 0)
            return 0;
        /* Another filesystem, or not allowed: fall back to a copy. */
        if (r != -EXDEV && r != -ENOTTY && r != -EOPNOTSUPP && r != -EINVAL && r != -EPERM)
            return lxm_error_errno(err, -r, "btrfs snapshot of %s at %s", src, dst);
        lxm_debug("btrfs snapshot %s -> %s: %s; copying instead", src, dst, strerror(-r));
    }
    const struct lxm_storage_ops *storage;
    int r = lxm_storage_for(paths, &storage, err);
    if (r < 0)
        return r;
    r = storage->clone(src, dst, err);
    if (r < 0) {
        struct lxm_error ignored = {0};
        storage->destroy(dst, &ignored);
    }
    return r;
}

/* ---- names and places ------------------------------------------------------------- */

int lxm_snapshot_validate_name(const char *snap, struct lxm_error *err)
{
    if (lxm_validate_name(snap, NULL) < 0)
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

static char *utc_now(void)
{
    time_t now = time(NULL);
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&now, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return NULL;
    return strdup(buf);
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

/* Remove a snapshot directory, its rootfs first (a btrfs subvolume is a
 * separate st_dev that rm_rf would refuse to enter). */
static int remove_snapshot_dir(const char *dir)
{
    _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
    if (!rootfs)
        return -ENOMEM;
    int r = remove_rootfs(rootfs);
    if (r < 0)
        return r;
    return rm_rf(dir);
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
    if (!lxm_container_exists(c))
        return lxm_error_set(err, ENOENT, "container '%s' not found", c->name);
    return lxm_container_lock(c, false, err);
}

/* A snapshot must see a rootfs that does not change while it is taken:
 * *live says it may change, so only an atomic (btrfs) snapshot will do. */
static int check_snapshot_state(struct lxm_container *c, bool atomic, bool *live,
                                struct lxm_error *err)
{
    enum lxm_state s;
    int r = container_state(c, &s, err);
    if (r < 0)
        return r;
    *live = s != LXM_STATE_STOPPED && s != LXM_STATE_FROZEN;
    if (!*live || atomic)
        return 0;
    return lxm_error_set(err, EBUSY,
                         "container '%s' is %s and its rootfs is not a btrfs subvolume, so a "
                         "snapshot would copy a changing tree (stop it with 'lxm stop %s', or "
                         "'lxm freeze %s' for the snapshot and 'lxm unfreeze %s' after)",
                         c->name, lxm_state_name(s), c->name, c->name, c->name);
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

/* Fill the hidden directory partial with everything a snapshot holds. */
static int fill_snapshot(struct lxm_container *c, const char *partial, const char *name, bool live,
                         struct lxm_error *err)
{
    _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", partial);
    _cleanup_free_ char *config = xasprintf("%s/config.yaml", partial);
    _cleanup_free_ char *meta = xasprintf("%s/snapshot.yaml", partial);
    _cleanup_free_ char *created = utc_now();
    _cleanup_free_ char *text =
        created ? xasprintf("name: %s\ncreated: %s\n", name, created) : NULL;
    if (!rootfs || !config || !meta || !text)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (mkdir(partial, 0700) < 0)
        return lxm_error_errno(err, errno, "create %s", partial);
    /* The config first: with a live btrfs snapshot it is the older of the
     * two, so it never describes a rootfs newer than itself. */
    int r = copy_file(c->config_file, config, err);
    if (r == 0 && live && (r = btrfs_snapshot(c->rootfs, rootfs)) < 0)
        r = lxm_error_errno(err, -r, "btrfs snapshot of %s (needed while the container runs)",
                            c->rootfs);
    else if (r == 0 && !live)
        r = lxm_rootfs_clone(c->paths, c->rootfs, rootfs, err);
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
    if (r < 0)
        return r;
    bool live = false;
    r = check_snapshot_state(c, lxm_rootfs_is_btrfs_subvolume(c->rootfs), &live, err);
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

/* Undo what a restore that died left: rootfs.new is a partial or an old
 * tree, rootfs.old an old tree; if rootfs itself is gone, rootfs.old is
 * the one to keep. */
static int recover_rootfs(struct lxm_container *c, const char *new, const char *old,
                          struct lxm_error *err)
{
    if (!path_exists(c->rootfs) && path_exists(old) && rename(old, c->rootfs) < 0)
        return lxm_error_errno(err, errno, "rename %s back to %s", old, c->rootfs);
    const char *stale[] = {new, old};
    for (size_t i = 0; i < ARRAY_SIZE(stale); i++) {
        int r = remove_rootfs(stale[i]);
        if (r < 0)
            return lxm_error_errno(err, -r, "remove the stale %s", stale[i]);
    }
    return 0;
}

/* Put new in place of c->rootfs in one step (RENAME_EXCHANGE); where the
 * filesystem cannot, by two renames with rootfs.old as the fallback that
 * recover_rootfs() finds. Afterwards *gone names the old tree. */
static int swap_rootfs(struct lxm_container *c, const char *new, const char *old, const char **gone,
                       struct lxm_error *err)
{
    if (renameat2(AT_FDCWD, new, AT_FDCWD, c->rootfs, RENAME_EXCHANGE) == 0) {
        *gone = new;
        return 0;
    }
    if (errno != EINVAL && errno != ENOSYS)
        return lxm_error_errno(err, errno, "exchange %s and %s", new, c->rootfs);
    if (rename(c->rootfs, old) < 0)
        return lxm_error_errno(err, errno, "rename %s to %s", c->rootfs, old);
    if (rename(new, c->rootfs) < 0) {
        int e = errno;
        if (rename(old, c->rootfs) < 0)
            lxm_warn("could not rename %s back to %s: %s", old, c->rootfs, strerror(errno));
        return lxm_error_errno(err, e, "rename %s to %s", new, c->rootfs);
    }
    *gone = old;
    return 0;
}

/* The snapshot's config.yaml, checked: it parses and names this container. */
static int read_snapshot_config(struct lxm_container *c, const char *file, char **text, size_t *len,
                                struct lxm_error *err)
{
    _cleanup_free_ char *data = NULL;
    int r = read_file(file, &data, len);
    if (r < 0)
        return lxm_error_errno(err, -r, "read %s", file);
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

static int restore_files(struct lxm_container *c, const char *snapdir, const char *text, size_t len,
                         struct lxm_error *err)
{
    _cleanup_free_ char *src = xasprintf("%s/rootfs", snapdir);
    _cleanup_free_ char *new = xasprintf("%s.new", c->rootfs);
    _cleanup_free_ char *old = xasprintf("%s.old", c->rootfs);
    if (!src || !new || !old)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = recover_rootfs(c, new, old, err);
    if (r == 0)
        r = lxm_rootfs_clone(c->paths, src, new, err);
    if (r == 0 && lxm_signals_pending())
        r = lxm_error_set(err, EINTR, "interrupted");
    const char *gone = NULL;
    if (r == 0)
        r = swap_rootfs(c, new, old, &gone, err);
    if (r < 0) {
        remove_rootfs(new);
        return r;
    }
    struct stat st;
    mode_t mode = stat(c->config_file, &st) == 0 ? st.st_mode & 07777 : 0644;
    r = write_file_atomic(c->config_file, text, len, mode);
    if (r < 0) {
        /* Keep rootfs and config from one point in time: swap back. */
        int e = -r;
        if (renameat2(AT_FDCWD, gone, AT_FDCWD, c->rootfs, RENAME_EXCHANGE) < 0)
            lxm_warn("could not put the old rootfs back from %s: %s", gone, strerror(errno));
        else
            remove_rootfs(gone);
        return lxm_error_errno(err, e, "write %s", c->config_file);
    }
    r = remove_rootfs(gone);
    if (r < 0)
        lxm_warn("restore %s: could not remove the old rootfs %s: %s", c->name, gone, strerror(-r));
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
    _cleanup_free_ char *rootfs = snapshot_path(c, snap, "rootfs");
    if (!dir || !cfgfile || !rootfs)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!path_exists(dir))
        return lxm_error_set(err, ENOENT,
                             "snapshot '%s' of container '%s' not found "
                             "(see 'lxm snapshot --list %s')",
                             snap, c->name, c->name);
    if (!path_exists(rootfs))
        return lxm_error_set(err, ENOENT, "snapshot '%s' of container '%s' has no rootfs (%s)",
                             snap, c->name, rootfs);
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
        if (de->d_name[0] == '.' || lxm_validate_name(de->d_name, NULL) < 0)
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

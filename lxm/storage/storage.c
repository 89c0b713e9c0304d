/* storage.c: backend choice, helpers every backend uses, and the dir
 * backend (a copy that shares file data by reflink where the filesystem
 * has it). The overlay backend is in storage-overlay.c, btrfs in
 * storage-btrfs.c. */
#include "storage/storage-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fs.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/container.h"
#include "storage/copy.h"
#include "security/idmap.h"
#include "storage/storage-btrfs.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

/* ---- helpers ----------------------------------------------------------------- */

int lxm_storage_copy_tree(const char *src, const char *dst, struct lxm_error *err)
{
    if (mkdir(dst, 0755) < 0)
        return lxm_error_errno(err, errno, "create %s", dst);
    /* FICLONE per file where the filesystem has it (btrfs, XFS): the copy
     * shares the data and takes no disk; elsewhere the bytes are copied. */
    return lxm_copy_tree(src, dst, LXM_COPY_REFLINK, NULL, err);
}

/* nftw has no user pointer: the callback only touches the file it is
 * handed. Immutable and append-only flags (set by a container's root, or
 * restored from a tarball) would make removal fail with EPERM. */
static int clear_flags_cb(const char *file, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type != FTW_F && type != FTW_D && type != FTW_DP)
        return 0;
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
        return 0;
    _cleanup_close_ int fd = open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    int flags;
    if (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 &&
        (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL))) {
        flags &= ~(FS_IMMUTABLE_FL | FS_APPEND_FL);
        (void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
    }
    return 0;
}

int lxm_storage_remove_tree(const char *path, struct lxm_error *err)
{
    /* rm_rf, and on btrfs the subvolumes too (a guest may make its own;
     * rm_rf alone refuses them as other filesystems). */
    int r = lxm_btrfs_remove(path);
    if (r == -EPERM) {
        /* Never follows symlinks (FTW_PHYS) or leaves the filesystem (FTW_MOUNT). */
        nftw(path, clear_flags_cb, 64, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);
        r = lxm_btrfs_remove(path);
    }
    if (r == -ENOENT)
        return 0;
    if (r == -EXDEV)
        return lxm_error_set(err, EXDEV, "remove %s: something is still mounted below it "
                                         "(unmount it first)", path);
    if (r < 0)
        return lxm_error_errno(err, -r, "remove %s", path);
    return 0;
}

/* du: blocks of every inode once. nftw has no user pointer, so the walk
 * state is per call in these two statics; lxm is single-threaded. */
static void *usage_seen;
static uint64_t usage_bytes;

static int cmp_ino(const void *a, const void *b)
{
    const struct stat *x = a, *y = b;
    if (x->st_dev != y->st_dev)
        return x->st_dev < y->st_dev ? -1 : 1;
    return x->st_ino < y->st_ino ? -1 : x->st_ino > y->st_ino;
}

static int usage_cb(const char *file, const struct stat *st, int type, struct FTW *ftw)
{
    (void)file, (void)type, (void)ftw;
    if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) {
        struct stat *key = malloc(sizeof(*key));
        if (!key)
            return -1;
        *key = *st;
        void *found = tsearch(key, &usage_seen, cmp_ino);
        if (!found)
            return -1;
        if (*(struct stat **)found != key) {
            free(key);
            return 0;
        }
    }
    usage_bytes += (uint64_t)st->st_blocks * 512;
    return 0;
}

int lxm_storage_tree_usage(const char *path, uint64_t *bytes, struct lxm_error *err)
{
    usage_seen = NULL;
    usage_bytes = 0;
    *bytes = 0;
    if (!path_exists(path))
        return 0;
    int r = nftw(path, usage_cb, 64, FTW_PHYS | FTW_MOUNT);
    int e = errno;
    tdestroy(usage_seen, free);
    usage_seen = NULL;
    if (r != 0)
        return lxm_error_errno(err, r < 0 ? e : ENOMEM, "measure %s", path);
    *bytes = usage_bytes;
    return 0;
}

int lxm_storage_swap_in(const char *fresh, const char *path, struct lxm_error *err)
{
    _cleanup_free_ char *old = xasprintf("%s.old", path);
    if (!old)
        return lxm_error_set(err, ENOMEM, "out of memory");
    const char *gone = fresh;
    if (renameat2(AT_FDCWD, fresh, AT_FDCWD, path, RENAME_EXCHANGE) < 0) {
        if (errno != EINVAL && errno != ENOSYS && errno != ENOENT)
            return lxm_error_errno(err, errno, "exchange %s and %s", fresh, path);
        if (rename(path, old) < 0 && errno != ENOENT)
            return lxm_error_errno(err, errno, "rename %s to %s", path, old);
        if (rename(fresh, path) < 0) {
            int e = errno;
            if (rename(old, path) < 0)
                lxm_warn("could not rename %s back to %s: %s", old, path, strerror(errno));
            return lxm_error_errno(err, e, "rename %s to %s", fresh, path);
        }
        gone = old;
    }
    struct lxm_error ignored = { 0 };
    if (lxm_storage_remove_tree(gone, &ignored) < 0)
        lxm_warn("could not remove the old tree %s: %s", gone, ignored.msg);
    return 0;
}

/* A stale PATH.new from a restore that died is removed; a PATH.old with no
 * PATH is the one to keep. */
int lxm_storage_recover(const char *path, struct lxm_error *err)
{
    _cleanup_free_ char *new = xasprintf("%s.new", path);
    _cleanup_free_ char *old = xasprintf("%s.old", path);
    if (!new || !old)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!path_exists(path) && path_exists(old) && rename(old, path) < 0)
        return lxm_error_errno(err, errno, "rename %s back to %s", old, path);
    int r = lxm_storage_remove_tree(new, err);
    if (r == 0)
        r = lxm_storage_remove_tree(old, err);
    return r;
}

char *lxm_storage_path(const char *vol, const char *what)
{
    return xasprintf("%s/%s", vol, what);
}

int lxm_storage_restore_part(const char *snap, const char *vol, const char *part,
                             lxm_storage_copy_fn copy, lxm_storage_remove_fn remove,
                             struct lxm_error *err)
{
    _cleanup_free_ char *from = lxm_storage_path(snap, part);
    _cleanup_free_ char *to = lxm_storage_path(vol, part);
    _cleanup_free_ char *fresh = to ? xasprintf("%s.new", to) : NULL;
    if (!from || !to || !fresh)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = lxm_storage_recover(to, err);
    if (r == 0)
        r = copy(from, fresh, err);
    if (r == 0)
        r = lxm_storage_swap_in(fresh, to, err);
    if (r < 0) {
        struct lxm_error ignored = { 0 };
        remove(fresh, &ignored);
    }
    return r;
}

int lxm_storage_remove_parts(const char *vol, const char *const *parts, size_t n,
                             lxm_storage_remove_fn remove, struct lxm_error *err)
{
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *p = lxm_storage_path(vol, parts[i]);
        if (!p)
            return lxm_error_set(err, ENOMEM, "out of memory");
        int r = remove(p, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- dir ----------------------------------------------------------------------- */

static int dir_probe(const char *state_dir, struct lxm_error *err)
{
    (void)state_dir, (void)err;
    return 1;
}

static int dir_owns(const char *vol)
{
    _cleanup_free_ char *rootfs = lxm_storage_path(vol, "rootfs");
    struct stat st;
    return rootfs && lstat(rootfs, &st) == 0 && S_ISDIR(st.st_mode);
}

int lxm_storage_mkdir_rootfs(const char *path, struct lxm_error *err)
{
    if (mkdir(path, 0755) < 0)
        return lxm_error_errno(err, errno, "create %s", path);
    /* mkdir applies the umask; a rootfs must be exactly 0755. */
    if (chmod(path, 0755) < 0)
        return lxm_error_errno(err, errno, "chmod %s", path);
    return 0;
}

static int dir_create(const char *image, const char *vol, struct lxm_error *err)
{
    _cleanup_free_ char *rootfs = lxm_storage_path(vol, "rootfs");
    if (!rootfs)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (image)
        return lxm_storage_copy_tree(image, rootfs, err);
    return lxm_storage_mkdir_rootfs(rootfs, err);
}

static int dir_clone(const char *image, const char *src, const char *dst, struct lxm_error *err)
{
    (void)image;
    _cleanup_free_ char *from = lxm_storage_path(src, "rootfs");
    _cleanup_free_ char *to = lxm_storage_path(dst, "rootfs");
    if (!from || !to)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return lxm_storage_copy_tree(from, to, err);
}

static int dir_restore(const char *image, const char *snap, const char *vol, struct lxm_error *err)
{
    (void)image;
    return lxm_storage_restore_part(snap, vol, "rootfs", lxm_storage_copy_tree,
                                    lxm_storage_remove_tree, err);
}

static int dir_destroy(const char *vol, struct lxm_error *err)
{
    static const char *const parts[] = { "rootfs", "rootfs.new", "rootfs.old" };
    return lxm_storage_remove_parts(vol, parts, ARRAY_SIZE(parts), lxm_storage_remove_tree, err);
}

int lxm_storage_mount_rootfs(const char *image, const char *vol, const struct lxm_storage_mount *how,
                             struct lxm_error *err)
{
    (void)image;
    _cleanup_free_ char *rootfs = lxm_storage_path(vol, "rootfs");
    if (!rootfs)
        return lxm_error_set(err, ENOMEM, "out of memory");
    unsigned flags = LXM_IDMAP_MOUNT_RECURSIVE | (how->readonly ? LXM_IDMAP_MOUNT_RDONLY : 0);
    return lxm_idmap_mount_open(how->userns_fd, rootfs, flags, err);
}

static int dir_usage(const char *vol, uint64_t *bytes, struct lxm_error *err)
{
    _cleanup_free_ char *rootfs = lxm_storage_path(vol, "rootfs");
    if (!rootfs)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return lxm_storage_tree_usage(rootfs, bytes, err);
}

static int dir_image_destroy(const char *path, struct lxm_error *err)
{
    return lxm_storage_remove_tree(path, err);
}

const struct lxm_storage_ops lxm_storage_dir = {
    .name = "dir",
    .probe = dir_probe,
    .owns = dir_owns,
    .image_create = lxm_storage_mkdir_rootfs,
    .image_destroy = dir_image_destroy,
    .create = dir_create,
    .clone = dir_clone,
    .snapshot = dir_clone,
    .restore = dir_restore,
    .destroy = dir_destroy,
    .mount = lxm_storage_mount_rootfs,
    .usage = dir_usage,
};

/* ---- choice ---------------------------------------------------------------------- */

/* Detection order for lxm_storage_of: the most specific layout first. */
static const struct lxm_storage_ops *const backends[] = {
    &lxm_storage_btrfs,
    &lxm_storage_overlay,
    &lxm_storage_dir,
};

const struct lxm_storage_ops *lxm_storage_by_name(const char *name)
{
    for (size_t i = 0; name && i < ARRAY_SIZE(backends); i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

int lxm_storage_get(const char *driver, const char *state_dir,
                    const struct lxm_storage_ops **out, struct lxm_error *err)
{
    if (!driver || strcmp(driver, "auto") == 0) {
        /* btrfs where the state directory is on btrfs, else overlay,
         * else the plain copy. */
        for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
            struct lxm_error why = { 0 };
            if (backends[i]->probe(state_dir, &why) == 1) {
                *out = backends[i];
                return 0;
            }
            lxm_debug("storage %s: not usable: %s", backends[i]->name, why.msg);
        }
        return lxm_error_set(err, ENOTSUP, "no storage driver works for %s", state_dir);
    }
    const struct lxm_storage_ops *ops = lxm_storage_by_name(driver);
    if (!ops)
        return lxm_error_set(err, EINVAL, "unknown storage driver '%s' (auto, dir, overlay or btrfs)",
                             driver);
    int r = ops->probe(state_dir, err);
    if (r < 0)
        return r;
    if (r == 0)
        return lxm_error_prefix(err, "storage driver '%s' cannot be used here", driver);
    *out = ops;
    return 0;
}

int lxm_storage_for(const struct lxm_paths *paths, const struct lxm_storage_ops **out,
                    struct lxm_error *err)
{
    const struct lxm_global *g;
    int r = lxm_paths_global(paths, &g, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *state = lxm_storage_state_dir(paths);
    if (!state)
        r = lxm_error_set(err, ENOMEM, "out of memory");
    else if ((r = mkdir_p(state, 0711)) < 0)
        r = lxm_error_errno(err, -r, "create %s", state);
    else
        r = lxm_storage_get(g->storage_driver, state, out, err);
    return r;
}

int lxm_storage_of(const char *vol, const struct lxm_storage_ops **out, struct lxm_error *err)
{
    for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
        if (backends[i]->owns(vol) == 1) {
            *out = backends[i];
            return 0;
        }
    return lxm_error_set(err, ENOENT, "%s holds no root filesystem", vol);
}

char *lxm_storage_state_dir(const struct lxm_paths *paths)
{
    /* containers/ and images/ are siblings: one filesystem, so renames
     * between staging and final places never cross it. */
    _cleanup_free_ char *dir = strdup(paths->containers);
    if (!dir)
        return NULL;
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir)
        *slash = '\0';
    return TAKE_PTR(dir);
}

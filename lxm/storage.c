#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "container.h"
#include "copy.h"
#include "storage-btrfs.h"
#include "util/cleanup.h"
#include "util/fs.h"

static int dir_create(const char *path, struct lxm_error *err)
{
    if (mkdir(path, 0755) < 0)
        return lxm_error_errno(err, errno, "create %s", path);
    /* mkdir applies the umask; a rootfs must be exactly 0755. */
    if (chmod(path, 0755) < 0)
        return lxm_error_errno(err, errno, "chmod %s", path);
    return 0;
}

static int dir_clone(const char *src, const char *dst, struct lxm_error *err)
{
    int r = dir_create(dst, err);
    if (r < 0)
        return r;
    /* Reflinks share the data where the filesystem can (XFS, btrfs):
     * instant and free of disk; elsewhere the bytes are copied. */
    return lxm_copy_tree(src, dst, LXM_COPY_REFLINK, NULL, err);
}

/* nftw has no user pointer: the callback only touches the file it is
 * handed. Immutable and append-only flags (set by a container's root, or
 * restored from a tarball) would make removal fail with EPERM. */
static int clear_flags_cb(const char *file, const struct stat *st, int type, struct FTW *ftw)
{
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

int lxm_storage_dir_destroy(const char *path, struct lxm_error *err)
{
    /* rm_rf, and on btrfs also the subvolumes below path (a guest may
     * make its own), which rm_rf alone refuses as other filesystems. */
    int r = lxm_btrfs_remove(path);
    if (r == -EPERM) {
        /* Never follows symlinks (FTW_PHYS) or leaves the filesystem (FTW_MOUNT). */
        nftw(path, clear_flags_cb, 64, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);
        r = lxm_btrfs_remove(path);
    }
    if (r == -EXDEV)
        return lxm_error_set(err, EXDEV, "remove %s: something is still mounted below it "
                                         "(unmount it first)", path);
    if (r < 0)
        return lxm_error_errno(err, -r, "remove %s", path);
    return 0;
}

static const struct lxm_storage_ops dir_ops = { "dir", dir_create, dir_clone, lxm_storage_dir_destroy };

static const struct lxm_storage_ops *const backends[] = {
    &dir_ops,
    &lxm_storage_btrfs_ops,
};

int lxm_storage_get(const char *backend, const struct lxm_storage_ops **out, struct lxm_error *err)
{
    if (!backend || strcmp(backend, "auto") == 0) {
        *out = &dir_ops;
        return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
        if (strcmp(backends[i]->name, backend) == 0) {
            *out = backends[i];
            return 0;
        }
    if (strcmp(backend, "overlay") == 0)
        return lxm_error_set(err, ENOTSUP, "storage driver '%s' is not supported yet (use auto, dir "
                                           "or btrfs)", backend);
    return lxm_error_set(err, EINVAL, "unknown storage driver '%s' (auto, dir, overlay or btrfs)", backend);
}

/* auto: btrfs where the containers directory (or, before the first
 * create, its nearest existing parent) is on btrfs, else dir. */
static const char *auto_driver(const struct lxm_paths *paths)
{
    _cleanup_free_ char *dir = strdup(paths->containers);
    while (dir && !path_exists(dir)) {
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
            break;
        *slash = '\0';
    }
    return dir && lxm_btrfs_is_fs(dir) ? "btrfs" : "dir";
}

int lxm_storage_for(const struct lxm_paths *paths, const struct lxm_storage_ops **out,
                    struct lxm_error *err)
{
    struct lxm_global *g = NULL;
    int r = lxm_global_load(paths->global_config, &g, err);
    if (r < 0)
        return r;
    const char *driver = g->storage_driver;
    if (!driver || strcmp(driver, "auto") == 0)
        driver = auto_driver(paths);
    r = lxm_storage_get(driver, out, err);
    lxm_global_free(g);
    return r;
}

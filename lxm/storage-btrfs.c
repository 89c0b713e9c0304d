#include "storage-btrfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "copy.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

/* btrfs gives every subvolume's root directory this inode number. */
#define BTRFS_SUBVOL_ROOT_INO 256

bool lxm_btrfs_is_fs(const char *path)
{
    struct statfs sfs;
    return statfs(path, &sfs) == 0 && (uint32_t)sfs.f_type == (uint32_t)BTRFS_SUPER_MAGIC;
}

static bool is_subvolume_stat(const struct stat *st)
{
    return S_ISDIR(st->st_mode) && st->st_ino == BTRFS_SUBVOL_ROOT_INO;
}

bool lxm_btrfs_is_subvolume(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && is_subvolume_stat(&st) && lxm_btrfs_is_fs(path);
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

int lxm_btrfs_subvol_create(const char *path)
{
    const char *base;
    _cleanup_close_ int pfd = open_parent(path, &base);
    if (pfd < 0)
        return pfd;
    struct btrfs_ioctl_vol_args args = { 0 };
    if (strlen(base) > BTRFS_PATH_NAME_MAX)
        return -ENAMETOOLONG;
    strcpy(args.name, base);
    if (ioctl(pfd, BTRFS_IOC_SUBVOL_CREATE, &args) < 0)
        return -errno;
    /* Created 0755 already, but a rootfs must be exactly that whatever
     * the kernel's default becomes. */
    return fchmodat(pfd, base, 0755, 0) < 0 ? -errno : 0;
}

int lxm_btrfs_snapshot(const char *src, const char *dst, bool readonly)
{
    const char *base;
    _cleanup_close_ int pfd = open_parent(dst, &base);
    if (pfd < 0)
        return pfd;
    _cleanup_close_ int sfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0)
        return -errno;
    struct btrfs_ioctl_vol_args_v2 args = { .fd = sfd, .flags = readonly ? BTRFS_SUBVOL_RDONLY : 0 };
    if (strlen(base) > BTRFS_SUBVOL_NAME_MAX)
        return -ENAMETOOLONG;
    strcpy(args.name, base);
    return ioctl(pfd, BTRFS_IOC_SNAP_CREATE_V2, &args) < 0 ? -errno : 0;
}

int lxm_btrfs_set_readonly(const char *path, bool readonly)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    uint64_t flags;
    if (ioctl(fd, BTRFS_IOC_SUBVOL_GETFLAGS, &flags) < 0)
        return -errno;
    flags = readonly ? flags | BTRFS_SUBVOL_RDONLY : flags & ~(uint64_t)BTRFS_SUBVOL_RDONLY;
    return ioctl(fd, BTRFS_IOC_SUBVOL_SETFLAGS, &flags) < 0 ? -errno : 0;
}

static int destroy_one(const char *path)
{
    const char *base;
    _cleanup_close_ int pfd = open_parent(path, &base);
    if (pfd < 0)
        return pfd;
    struct btrfs_ioctl_vol_args_v2 v2 = { 0 };
    if (strlen(base) > BTRFS_SUBVOL_NAME_MAX)
        return -ENAMETOOLONG;
    strcpy(v2.name, base);
    if (ioctl(pfd, BTRFS_IOC_SNAP_DESTROY_V2, &v2) == 0)
        return 0;
    if (errno != ENOTTY && errno != EOPNOTSUPP)
        return -errno;
    /* Kernels before 5.7 know only the first version. */
    struct btrfs_ioctl_vol_args v1 = { 0 };
    strcpy(v1.name, base);
    return ioctl(pfd, BTRFS_IOC_SNAP_DESTROY, &v1) < 0 ? -errno : 0;
}

static int destroy_nested(const char *dir, dev_t dev, int depth);

/* Delete every subvolume below dir (on st_dev dev), deepest first. */
static int destroy_nested_entry(const char *dir, const struct dirent *de, dev_t dev, int depth)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
    if (!path)
        return -ENOMEM;
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return 0;
    if (st.st_dev == dev)
        return destroy_nested(path, dev, depth + 1);
    /* Another st_dev: a nested subvolume, or a mount point left alone. */
    if (is_subvolume_stat(&st) && lxm_btrfs_is_fs(path))
        return lxm_btrfs_subvol_destroy(path);
    return 0;
}

static int destroy_nested(const char *dir, dev_t dev, int depth)
{
    if (depth > 256)
        return -ELOOP;
    _cleanup_closedir_ DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
            continue;
        int r = destroy_nested_entry(dir, de, dev, depth);
        if (r < 0)
            return r;
    }
    return 0;
}

int lxm_btrfs_subvol_destroy(const char *path)
{
    int r = destroy_one(path);
    if (r != -ENOTEMPTY)
        return r;
    struct stat st;
    if (lstat(path, &st) < 0)
        return -errno;
    /* A read-only subvolume cannot lose its nested ones: make it writable
     * first (it is going anyway). */
    lxm_btrfs_set_readonly(path, false);
    r = destroy_nested(path, st.st_dev, 0);
    return r < 0 ? r : destroy_one(path);
}

int lxm_btrfs_remove(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (is_subvolume_stat(&st) && lxm_btrfs_is_fs(path))
        return lxm_btrfs_subvol_destroy(path);
    int r = rm_rf(path);
    if (r != -EXDEV || !S_ISDIR(st.st_mode) || !lxm_btrfs_is_fs(path))
        return r;
    r = destroy_nested(path, st.st_dev, 0);
    return r < 0 ? r : rm_rf(path);
}

/* ---- the ops row ------------------------------------------------------------------- */

static int btrfs_create(const char *path, struct lxm_error *err)
{
    int r = lxm_btrfs_subvol_create(path);
    if (r < 0)
        return lxm_error_errno(err, -r, "create the btrfs subvolume %s", path);
    return 0;
}

static int btrfs_clone(const char *src, const char *dst, struct lxm_error *err)
{
    if (lxm_btrfs_is_subvolume(src)) {
        int r = lxm_btrfs_snapshot(src, dst, false);
        if (r == 0)
            return 0;
        if (r != -EXDEV)
            return lxm_error_errno(err, -r, "btrfs snapshot of %s at %s", src, dst);
        lxm_debug("btrfs snapshot %s -> %s: another filesystem; copying instead", src, dst);
    }
    /* A plain tree (made before the pool, or from another filesystem):
     * a subvolume filled by copy, so that its own copies are snapshots. */
    int r = btrfs_create(dst, err);
    if (r == 0)
        r = lxm_copy_tree(src, dst, LXM_COPY_REFLINK, NULL, err);
    if (r < 0)
        lxm_btrfs_remove(dst);
    return r;
}

static int btrfs_destroy(const char *path, struct lxm_error *err)
{
    /* Immutable files only matter to a plain directory; the dir row's
     * destroy clears them and also handles nested subvolumes. */
    if (!lxm_btrfs_is_subvolume(path))
        return lxm_storage_dir_destroy(path, err);
    int r = lxm_btrfs_remove(path);
    if (r == -EXDEV)
        return lxm_error_set(err, EXDEV, "remove %s: something is still mounted below it "
                                         "(unmount it first)", path);
    if (r < 0)
        return lxm_error_errno(err, -r, "remove %s", path);
    return 0;
}

const struct lxm_storage_ops lxm_storage_btrfs_ops = {
    .name = "btrfs",
    .create = btrfs_create,
    .clone = btrfs_clone,
    .destroy = btrfs_destroy,
};

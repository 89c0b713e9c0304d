#include "storage/storage-btrfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <search.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "storage/copy.h"
#include "security/idmap.h"
#include "storage/storage-internal.h"
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
    int r = ioctl(pfd, BTRFS_IOC_SNAP_DESTROY_V2, &v2) == 0 ? 0 : -errno;
    if (r == -ENOTTY || r == -EOPNOTSUPP) {
        /* Kernels before 5.7 know only the first version. */
        struct btrfs_ioctl_vol_args v1 = { 0 };
        strcpy(v1.name, base);
        r = ioctl(pfd, BTRFS_IOC_SNAP_DESTROY, &v1) < 0 ? -errno : 0;
    }
    /* Committed at once: a deleted container must not come back after a
     * crash, or after a remount while another mount namespace still held
     * the pool (the deletion lived only in the old mount's memory). */
    if (r == 0 && syncfs(pfd) < 0)
        r = -errno;
    return r;
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

/* ---- usage ------------------------------------------------------------------------ */

struct usage_walk {
    time_t since;     /* the subvolume's creation */
    dev_t dev;
    uint64_t bytes;
    void *seen;       /* tsearch set of inodes with several links */
};

static int cmp_ino(const void *a, const void *b)
{
    ino_t x = *(const ino_t *)a, y = *(const ino_t *)b;
    return x < y ? -1 : x > y;
}

/* Own bytes of one file: extents nobody else references, and inline
 * data when the file changed after the snapshot (inline extents carry no
 * shared flag). */
static int file_usage(int fd, const struct stat *st, struct usage_walk *w)
{
    enum { N = 64 };
    _cleanup_free_ struct fiemap *fm = calloc(1, sizeof(*fm) + N * sizeof(struct fiemap_extent));
    if (!fm)
        return -ENOMEM;
    uint64_t start = 0;
    for (;;) {
        *fm = (struct fiemap){ .fm_start = start, .fm_length = FIEMAP_MAX_OFFSET - start,
                               .fm_extent_count = N };
        if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0)
            return -errno;
        if (fm->fm_mapped_extents == 0)
            return 0;
        for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
            const struct fiemap_extent *e = &fm->fm_extents[i];
            bool inline_data = e->fe_flags & FIEMAP_EXTENT_DATA_INLINE;
            if (inline_data ? st->st_ctime >= w->since : !(e->fe_flags & FIEMAP_EXTENT_SHARED))
                w->bytes += e->fe_length;
            if (e->fe_flags & FIEMAP_EXTENT_LAST)
                return 0;
            start = e->fe_logical + e->fe_length;
        }
    }
}

static int usage_dir(int dfd, struct usage_walk *w, int depth);

static int usage_entry(int dfd, const char *name, struct usage_walk *w, int depth)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (st.st_dev != w->dev || (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)))
        return 0;
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
        ino_t *key = malloc(sizeof(*key));
        void *found = key ? (*key = st.st_ino, tsearch(key, &w->seen, cmp_ino)) : NULL;
        if (!found) {
            free(key);
            return -ENOMEM;
        }
        if (*(ino_t **)found != key) {
            free(key);
            return 0;
        }
    }
    int flags = S_ISDIR(st.st_mode) ? O_DIRECTORY : O_NONBLOCK | O_NOCTTY;
    _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | flags);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    return S_ISDIR(st.st_mode) ? usage_dir(fd, w, depth + 1) : file_usage(fd, &st, w);
}

static int usage_dir(int dfd, struct usage_walk *w, int depth)
{
    if (depth > 512)
        return -ELOOP;
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -errno;
    }
    _cleanup_closedir_ DIR *dir = d;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int r = usage_entry(dfd, de->d_name, w, depth);
        if (r < 0)
            return r;
    }
    return 0;
}

int lxm_btrfs_usage(const char *vol, uint64_t *bytes, struct lxm_error *err)
{
    *bytes = 0;
    _cleanup_free_ char *rootfs = lxm_storage_path(vol, "rootfs");
    if (!rootfs)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_close_ int fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : lxm_error_errno(err, errno, "open %s", rootfs);
    struct stat st;
    struct btrfs_ioctl_get_subvol_info_args info = { 0 };
    if (fstat(fd, &st) < 0 || ioctl(fd, BTRFS_IOC_GET_SUBVOL_INFO, &info) < 0)
        return lxm_error_errno(err, errno, "btrfs subvolume info of %s", rootfs);
    struct usage_walk w = { .since = (time_t)info.otime.sec, .dev = st.st_dev };
    int r = usage_dir(fd, &w, 0);
    tdestroy(w.seen, free);
    if (r < 0)
        return lxm_error_errno(err, -r, "measure %s", rootfs);
    *bytes = w.bytes;
    return 0;
}

/* ---- the ops row ------------------------------------------------------------------- */

static int remove_part(const char *path, struct lxm_error *err)
{
    if (!lxm_btrfs_is_subvolume(path))
        return lxm_storage_remove_tree(path, err);
    int r = lxm_btrfs_subvol_destroy(path);
    return r < 0 ? lxm_error_errno(err, -r, "delete the btrfs subvolume %s", path) : 0;
}

static int btrfs_probe(const char *state_dir, struct lxm_error *err)
{
    if (lxm_btrfs_is_fs(state_dir))
        return 1;
    lxm_error_set(err, ENOTSUP, "%s is not on btrfs (make a pool: lxm storage init --driver "
                  "btrfs --size 20GiB)", state_dir);
    return 0;
}

static int btrfs_owns(const char *vol)
{
    _cleanup_free_ char *rootfs = lxm_storage_path(vol, "rootfs");
    return rootfs && lxm_btrfs_is_subvolume(rootfs);
}

static int btrfs_image_create(const char *path, struct lxm_error *err)
{
    int r = lxm_btrfs_subvol_create(path);
    return r < 0 ? lxm_error_errno(err, -r, "create the btrfs subvolume %s", path) : 0;
}

/* dst (not existing) as a writable snapshot of src; a plain src (made
 * before the pool, or elsewhere) is copied into a new subvolume by
 * reflink, so that dst's own copies are snapshots. */
static int snapshot_or_copy(const char *src, const char *dst, struct lxm_error *err)
{
    int r = -EXDEV;
    if (lxm_btrfs_is_subvolume(src) && (r = lxm_btrfs_snapshot(src, dst, false)) == 0)
        return 0;
    if (r != -EXDEV)
        return lxm_error_errno(err, -r, "btrfs snapshot of %s at %s", src, dst);
    lxm_debug("%s is no subvolume of this filesystem: copying it to %s", src, dst);
    r = btrfs_image_create(dst, err);
    if (r == 0)
        r = lxm_copy_tree(src, dst, LXM_COPY_REFLINK, NULL, err);
    if (r < 0)
        lxm_btrfs_remove(dst);
    return r;
}

static int btrfs_create(const char *image, const char *vol, struct lxm_error *err)
{
    _cleanup_free_ char *rootfs = lxm_storage_path(vol, "rootfs");
    if (!rootfs)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!image)
        return btrfs_image_create(rootfs, err);
    /* An image is never written once unpacked: read-only from its first
     * use on, so no container can change what its siblings share. */
    if (lxm_btrfs_is_subvolume(image)) {
        int r = lxm_btrfs_set_readonly(image, true);
        if (r < 0)
            return lxm_error_errno(err, -r, "make the image %s read-only", image);
    }
    return snapshot_or_copy(image, rootfs, err);
}

static int btrfs_clone(const char *image, const char *src, const char *dst, struct lxm_error *err)
{
    (void)image;
    _cleanup_free_ char *from = lxm_storage_path(src, "rootfs");
    _cleanup_free_ char *to = lxm_storage_path(dst, "rootfs");
    if (!from || !to)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return snapshot_or_copy(from, to, err);
}

/* The snapshot's rootfs snapshotted beside vol's as rootfs.new, swapped in
 * by one RENAME_EXCHANGE (subvolumes rename like directories), the old one
 * deleted. */
static int btrfs_restore(const char *image, const char *snap, const char *vol,
                         struct lxm_error *err)
{
    (void)image;
    return lxm_storage_restore_part(snap, vol, "rootfs", snapshot_or_copy, remove_part, err);
}

static int btrfs_destroy(const char *vol, struct lxm_error *err)
{
    static const char *const parts[] = { "rootfs", "rootfs.new", "rootfs.old" };
    return lxm_storage_remove_parts(vol, parts, ARRAY_SIZE(parts), remove_part, err);
}

static int btrfs_image_destroy(const char *path, struct lxm_error *err)
{
    return remove_part(path, err);
}

const struct lxm_storage_ops lxm_storage_btrfs = {
    .name = "btrfs",
    .probe = btrfs_probe,
    .owns = btrfs_owns,
    .image_create = btrfs_image_create,
    .image_destroy = btrfs_image_destroy,
    .create = btrfs_create,
    .clone = btrfs_clone,
    .snapshot = btrfs_clone,
    .restore = btrfs_restore,
    .destroy = btrfs_destroy,
    /* btrfs takes idmapped mounts: the snapshot keeps the image's ids and
     * the start maps them, as on dir. */
    .mount = lxm_storage_mount_rootfs,
    .usage = lxm_btrfs_usage,
};

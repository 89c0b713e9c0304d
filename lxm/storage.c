#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "container.h"
#include "image.h"
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
    return lxm_image_copy_tree(src, dst, err);
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

static int dir_destroy(const char *path, struct lxm_error *err)
{
    int r = rm_rf(path);
    if (r == -EPERM) {
        /* Never follows symlinks (FTW_PHYS) or leaves the filesystem (FTW_MOUNT). */
        nftw(path, clear_flags_cb, 64, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);
        r = rm_rf(path);
    }
    if (r == -EXDEV)
        return lxm_error_set(err, EXDEV, "remove %s: something is still mounted below it "
                                         "(unmount it first)", path);
    if (r < 0)
        return lxm_error_errno(err, -r, "remove %s", path);
    return 0;
}

static const struct lxm_storage_ops backends[] = {
    { "dir", dir_create, dir_clone, dir_destroy },
};

int lxm_storage_get(const char *backend, const struct lxm_storage_ops **out, struct lxm_error *err)
{
    if (!backend || strcmp(backend, "auto") == 0) {
        *out = &backends[0];
        return 0;
    }
    for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
        if (strcmp(backends[i].name, backend) == 0) {
            *out = &backends[i];
            return 0;
        }
    if (strcmp(backend, "overlay") == 0 || strcmp(backend, "btrfs") == 0)
        return lxm_error_set(err, ENOTSUP, "storage backend '%s' is not supported yet (use dir or auto)",
                             backend);
    return lxm_error_set(err, EINVAL, "unknown storage backend '%s' (auto, dir, overlay or btrfs)", backend);
}

int lxm_storage_for(const struct lxm_paths *paths, const struct lxm_storage_ops **out,
                    struct lxm_error *err)
{
    struct lxm_global *g = NULL;
    int r = lxm_global_load(paths->global_config, &g, err);
    if (r < 0)
        return r;
    r = lxm_storage_get(g->storage_backend, out, err);
    lxm_global_free(g);
    return r;
}

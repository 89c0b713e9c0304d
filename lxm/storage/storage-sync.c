/* storage-sync.c: making a volume just made durable, for create.
 *
 * A create builds its container in a staging directory, makes it durable,
 * renames it into place and syncs the parent: a crash at any point leaves
 * the whole container or only the hidden staging directory (a leftover),
 * never a container whose files are empty. The staging volume of an
 * overlay create is a handful of small files: they are fsynced one by one,
 * their writeback started first so that a single journal commit carries
 * them all (the fsyncs after the first find their data on disk). Other
 * volumes (a copied tree, a btrfs snapshot) take one syncfs. */
#include "storage/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

/* Deeper than any fresh volume goes (VOL/upper/etc/FILE); a guard against
 * a tree that is not one. */
#define SYNC_TREE_DEPTH 16

enum sync_pass { PASS_START, PASS_SYNC };

static int sync_tree_at(int dfd, const char *path, enum sync_pass pass, int depth,
                        struct lxm_error *err);

/* One entry of a directory: a file is started or synced; a directory
 * recursed into. Symlinks, devices and the like carry no data. */
static int sync_entry(int dfd, const char *dir, const struct dirent *de, enum sync_pass pass,
                      int depth, struct lxm_error *err)
{
    unsigned char type = de->d_type;
    if (type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return lxm_error_errno(err, errno, "stat %s/%s", dir, de->d_name);
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
    }
    if (type == DT_DIR) {
        _cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
        if (!sub)
            return lxm_error_set(err, ENOMEM, "out of memory");
        _cleanup_close_ int fd = openat(dfd, de->d_name,
                                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return lxm_error_errno(err, errno, "open %s", sub);
        return sync_tree_at(TAKE_FD(fd), sub, pass, depth + 1, err);
    }
    if (type != DT_REG)
        return 0;
    _cleanup_close_ int fd = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s/%s", dir, de->d_name);
    if (pass == PASS_START) {
        /* Only a hint: where it is not supported, the fsync does it all. */
        (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        return 0;
    }
    if (fsync(fd) < 0)
        return lxm_error_errno(err, errno, "fsync %s/%s", dir, de->d_name);
    return 0;
}

/* Takes dfd (closed here). */
static int sync_tree_at(int dfd, const char *path, enum sync_pass pass, int depth,
                        struct lxm_error *err)
{
    if (depth > SYNC_TREE_DEPTH) {
        close(dfd);
        return lxm_error_set(err, ELOOP, "sync %s: too deep", path);
    }
    _cleanup_closedir_ DIR *d = fdopendir(dfd);
    if (!d) {
        int e = errno;
        close(dfd);
        return lxm_error_errno(err, e, "open %s", path);
    }
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int r = sync_entry(dirfd(d), path, de, pass, depth, err);
        if (r < 0)
            return r;
        errno = 0;
    }
    if (errno)
        return lxm_error_errno(err, errno, "read %s", path);
    /* The directory after its entries: their names, once they are whole. */
    if (pass == PASS_SYNC && fsync(dirfd(d)) < 0)
        return lxm_error_errno(err, errno, "fsync %s", path);
    return 0;
}

int lxm_storage_sync_tree(const char *path, struct lxm_error *err)
{
    for (enum sync_pass pass = PASS_START; pass <= PASS_SYNC; pass++) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return lxm_error_errno(err, errno, "open %s", path);
        int r = sync_tree_at(fd, path, pass, 0, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int lxm_storage_sync(const struct lxm_storage_ops *ops, const char *vol, struct lxm_error *err)
{
    if (ops && ops->sync)
        return ops->sync(vol, err);
    _cleanup_close_ int fd = open(vol, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s", vol);
    if (syncfs(fd) < 0)
        return lxm_error_errno(err, errno, "sync %s", vol);
    return 0;
}

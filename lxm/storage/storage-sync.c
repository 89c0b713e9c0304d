/* storage-sync.c: making a container just created durable.
 *
 * A create builds its container in a staging directory, renames it into
 * place and returns once it is on disk: a crash after create returned
 * keeps the container, and a crash before leaves the whole container or
 * only the hidden staging directory (a leftover the next command removes),
 * never a container whose files are empty.
 *
 * So the files' data must be on disk before the rename is, and everything
 * after it. Two steps:
 *  1. write out the data: for a volume of a few files (an overlay's new
 *     upper layer, config.yaml), every file's pages are written, then
 *     waited for (sync_file_range), which also records their block allocation in
 *     the filesystem's running transaction; any other volume (a copied
 *     tree, a btrfs snapshot) takes a syncfs;
 *  2. rename, then one syncfs, which commits the journal (ext4, xfs) or
 *     the transaction (btrfs) holding the allocations, the new directories
 *     and the rename, after a cache flush that makes the data written in
 *     step 1 durable. A commit that lands between the rename and the
 *     syncfs (the periodic one) carries the allocations with the rename,
 *     since a journal commits in order and the data was already written.
 * One journal commit per overlay create, instead of one per fsync: ext4
 * commits its journal for every fsync of a directory, and an fsync of each
 * new file and directory (seven) was slower under load than this. The
 * syncfs also writes other processes' dirty data on the filesystem; the
 * overlay unmount that create did before did the same (overlayfs syncs its
 * upper filesystem when it goes), as does lxc-copy's.
 *
 * A copy (lifecycle.c) is made durable the same way: a syncfs before the
 * rename that names it (its volume is a copied tree), one after. */
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

/* Deeper than a fresh volume goes (VOL/upper/etc/FILE): a guard only. */
#define WRITE_OUT_DEPTH 16

/* Two passes: every file's writeback started, then each waited for, so
 * that the writes go to the disk together. */
enum pass { PASS_START, PASS_WAIT };

static int write_out_at(int dfd, const char *path, enum pass pass, int depth,
                        struct lxm_error *err);

static int write_out_entry(int dfd, const char *dir, const struct dirent *de, enum pass pass,
                           int depth, struct lxm_error *err)
{
    unsigned char type = de->d_type;
    if (type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return lxm_error_errno(err, errno, "stat %s/%s", dir, de->d_name);
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
    }
    if (type != DT_DIR && type != DT_REG)
        return 0; /* symlinks, devices: metadata only */
    int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (type == DT_DIR ? O_DIRECTORY : 0);
    int fd = openat(dfd, de->d_name, flags);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s/%s", dir, de->d_name);
    if (type == DT_DIR) {
        _cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
        if (!sub) {
            close(fd);
            return lxm_error_set(err, ENOMEM, "out of memory");
        }
        return write_out_at(fd, sub, pass, depth + 1, err);
    }
    int r = sync_file_range(fd, 0, 0, pass == PASS_START ? SYNC_FILE_RANGE_WRITE
                                                          : SYNC_FILE_RANGE_WAIT_BEFORE |
                                                                SYNC_FILE_RANGE_WRITE |
                                                                SYNC_FILE_RANGE_WAIT_AFTER);
    if (r < 0 && (errno == ENOSYS || errno == EINVAL || errno == ESPIPE))
        r = fdatasync(fd); /* no writeback control there: the whole of it */
    int e = errno;
    close(fd);
    return r < 0 ? lxm_error_errno(err, e, "write out %s/%s", dir, de->d_name) : 0;
}

/* Takes dfd. */
static int write_out_at(int dfd, const char *path, enum pass pass, int depth,
                        struct lxm_error *err)
{
    if (depth > WRITE_OUT_DEPTH) {
        close(dfd);
        return lxm_error_set(err, ELOOP, "write out %s: too deep", path);
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
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            int r = write_out_entry(dirfd(d), path, de, pass, depth, err);
            if (r < 0)
                return r;
        }
        errno = 0;
    }
    return errno ? lxm_error_errno(err, errno, "read %s", path) : 0;
}

int lxm_storage_write_out(const struct lxm_storage_ops *ops, const char *vol,
                          struct lxm_error *err)
{
    if (!ops->few_files)
        return lxm_storage_sync(vol, err);
    for (enum pass pass = PASS_START; pass <= PASS_WAIT; pass++) {
        int fd = open(vol, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return lxm_error_errno(err, errno, "open %s", vol);
        int r = write_out_at(fd, vol, pass, 0, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int lxm_storage_sync(const char *path, struct lxm_error *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s", path);
    if (syncfs(fd) < 0)
        return lxm_error_errno(err, errno, "sync %s", path);
    return 0;
}

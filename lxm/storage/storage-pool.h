/* storage-pool: a btrfs pool on a sparse loop file for hosts whose disk is
 * not btrfs (as LXD's loop pools). `lxm storage init` makes the file,
 * formats it, mounts it on the state directory (/var/lib/lxm: containers/
 * and images/ must share one filesystem for snapshots) and records it in
 * lxm.yaml (storage: {driver: btrfs, pool: FILE}); after a reboot the next
 * command mounts it again (lxm_storage_pool_ensure). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config/container.h"
#include "util/err.h"

/* The smallest pool: mkfs.btrfs wants ~114 MiB, and less is no use. */
#define LXM_POOL_MIN_SIZE (256LL << 20)

/* Make the pool: driver must be "btrfs"; pool is the loop file to create
 * (NULL = <state>-disks/btrfs.img, i.e. /var/lib/lxm-disks/btrfs.img; it
 * must not exist, nor lie inside the state directory it is mounted on);
 * size in bytes. Refused, with nothing changed, when a pool is already
 * configured or the state directory holds anything but empty directories
 * (a container or image would be hidden). On failure everything made so far
 * is undone (unmounted, loop device detached, file removed). *pool_out
 * (may be NULL) receives the file's path. */
int lxm_storage_pool_init(const struct lxm_paths *paths, const char *driver, const char *pool,
                          int64_t size, char **pool_out, struct lxm_error *err);

/* When lxm.yaml names a pool that is not mounted (after a reboot), attach
 * and mount it. 1 = it was mounted now (*pool_out, may be NULL, names the
 * file), 0 = nothing to do, <0 = error (the pool file is missing, or the
 * state directory holds something the mount would hide). */
int lxm_storage_pool_ensure(const struct lxm_paths *paths, char **pool_out, struct lxm_error *err);

struct lxm_storage_info {
    char *driver;     /* in use: dir or btrfs ("auto" resolved) */
    char *configured; /* as lxm.yaml says: auto, dir, overlay, btrfs */
    char *pool;       /* loop file, NULL = none */
    char *dir;        /* the state directory, where the pool is mounted */
    char *device;     /* what is mounted on dir, NULL = not a mount point */
    bool mounted;     /* the pool is mounted on dir (false without a pool) */
    int64_t size;     /* bytes of the filesystem holding dir; -1 unknown */
    int64_t used;     /* bytes used on it; -1 unknown */
    int64_t file_bytes; /* disk the pool file takes (it is sparse); -1 = no pool */
};
int lxm_storage_info(const struct lxm_paths *paths, struct lxm_storage_info *out,
                     struct lxm_error *err);
void lxm_storage_info_free(struct lxm_storage_info *info);

/* ---- pure pieces (unit-tested) ---- */

/* "0 for a usable pool size, else -EINVAL with a message naming the limit. */
int lxm_storage_pool_check_size(int64_t size, struct lxm_error *err);
/* In /proc/self/mountinfo text, the top mount on target: its fstype and
 * source (either may be NULL). 1 found, 0 not, -ENOMEM. */
int lxm_mountinfo_find(const char *text, const char *target, char **fstype, char **source);
/* lxm.yaml's text (NULL = no file) with storage.driver and storage.pool
 * set, the rest kept (comments are not). */
int lxm_global_set_storage(const char *file, const char *text, const char *driver,
                           const char *pool, char **out, struct lxm_error *err);

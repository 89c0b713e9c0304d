/* storage-btrfs: the btrfs storage backend. An image is a read-only
 * subvolume, a container's rootfs a writable snapshot of it, a snapshot or
 * copy of a container another snapshot: every one of them instant and
 * sharing every unchanged block. The primitives below return 0 or -errno
 * (no message: callers name the step). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "storage/storage.h"

/* path lies on a btrfs filesystem (statfs BTRFS_SUPER_MAGIC). */
bool lxm_btrfs_is_fs(const char *path);
/* path is the root directory of a btrfs subvolume (not followed if a symlink). */
bool lxm_btrfs_is_subvolume(const char *path);

/* A new empty subvolume at path (its parent exists; path does not), 0755. */
int lxm_btrfs_subvol_create(const char *path);
/* A snapshot of the subvolume src at dst (not existing, same filesystem);
 * read-only when readonly. -EXDEV: another filesystem. */
int lxm_btrfs_snapshot(const char *src, const char *dst, bool readonly);
/* Make a subvolume read-only or writable again. */
int lxm_btrfs_set_readonly(const char *path, bool readonly);
/* Delete the subvolume at path together with every subvolume nested below
 * it (a guest may make its own: creating one needs no privilege). */
int lxm_btrfs_subvol_destroy(const char *path);
/* Remove path whatever it is: a subvolume, or a directory that may hold
 * subvolumes (rm_rf alone refuses them: each has its own st_dev). Never
 * follows symlinks or enters other mounts. A missing path is success. */
int lxm_btrfs_remove(const char *path);

/* Bytes vol's rootfs holds of its own: data extents no other subvolume
 * shares (FIEMAP_EXTENT_SHARED), and small files kept inline in metadata
 * when changed after the subvolume was made. Hard links count once. The
 * ops table's usage for btrfs (the row itself is lxm_storage_btrfs). */
int lxm_btrfs_usage(const char *vol, uint64_t *bytes, struct lxm_error *err);

/* storage-internal: what the backends (storage*.c) share. */
#pragma once

#include "storage/storage.h"

extern const struct lxm_storage_ops lxm_storage_dir;
extern const struct lxm_storage_ops lxm_storage_overlay;
extern const struct lxm_storage_ops lxm_storage_btrfs;

/* VOL/WHAT, NULL on ENOMEM. */
char *lxm_storage_path(const char *vol, const char *what);
/* mkdir path 0755 whatever the umask. */
int lxm_storage_mkdir_rootfs(const char *path, struct lxm_error *err);
/* Undo what a restore that died left around path (path.new, path.old). */
int lxm_storage_recover(const char *path, struct lxm_error *err);

/* How a backend copies a tree and removes one (btrfs: subvolume-aware). */
typedef int (*lxm_storage_copy_fn)(const char *src, const char *dst, struct lxm_error *err);
typedef int (*lxm_storage_remove_fn)(const char *path, struct lxm_error *err);
/* Restore VOL/PART from SNAP/PART atomically: recover from a restore that
 * died, build VOL/PART.new with copy, swap it in; PART.new goes on error. */
int lxm_storage_restore_part(const char *snap, const char *vol, const char *part,
                             lxm_storage_copy_fn copy, lxm_storage_remove_fn remove,
                             struct lxm_error *err);
/* Remove VOL/PART for each of the n parts. */
int lxm_storage_remove_parts(const char *vol, const char *const *parts, size_t n,
                             lxm_storage_remove_fn remove, struct lxm_error *err);
/* The mount of VOL/rootfs (dir, btrfs): an idmapped (or plain) detached
 * mount of the tree, read-only if asked. */
int lxm_storage_mount_rootfs(const char *image, const char *vol, const struct lxm_storage_mount *how,
                             struct lxm_error *err);

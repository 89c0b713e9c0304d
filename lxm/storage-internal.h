/* storage-internal: what the backends (storage*.c) share. */
#pragma once

#include "storage.h"

extern const struct lxm_storage_ops lxm_storage_dir;
extern const struct lxm_storage_ops lxm_storage_overlay;
extern const struct lxm_storage_ops lxm_storage_btrfs;

/* VOL/WHAT, NULL on ENOMEM. */
char *lxm_storage_path(const char *vol, const char *what);
/* mkdir path 0755 whatever the umask. */
int lxm_storage_mkdir_rootfs(const char *path, struct lxm_error *err);
/* Undo what a restore that died left around path (path.new, path.old). */
int lxm_storage_recover(const char *path, struct lxm_error *err);

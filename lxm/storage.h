/* storage: where a container's root filesystem lives and how it comes and
 * goes: create an empty rootfs, clone one, destroy one. Backends sit behind
 * a small ops table: "dir" (a plain directory, copies by reflink where the
 * filesystem can) and "btrfs" (storage-btrfs.c: subvolumes and snapshots). */
#pragma once

#include "util/err.h"

struct lxm_storage_ops {
    const char *name;
    /* Make an empty rootfs at path (its parent exists); fails if it exists. */
    int (*create)(const char *path, struct lxm_error *err);
    /* Copy src to dst (not existing), keeping owners, modes, xattrs, ACLs,
     * hard links and device nodes; never leaves src's filesystem. */
    int (*clone)(const char *src, const char *dst, struct lxm_error *err);
    /* Remove the rootfs (clearing immutable / append-only flags if they
     * are in the way); never follows symlinks or crosses mounts. */
    int (*destroy)(const char *path, struct lxm_error *err);
};

/* The backend for a name from lxm.yaml's storage.driver: "auto" and NULL
 * give dir (lxm_storage_for() resolves auto by the filesystem); an unknown
 * or unavailable name is an error. */
int lxm_storage_get(const char *backend, const struct lxm_storage_ops **out, struct lxm_error *err);

/* The dir row's destroy, which the btrfs row uses for a plain tree. */
int lxm_storage_dir_destroy(const char *path, struct lxm_error *err);

struct lxm_paths;
/* The backend the global config (paths->global_config) names; auto is
 * btrfs where the containers directory is on btrfs, else dir. */
int lxm_storage_for(const struct lxm_paths *paths, const struct lxm_storage_ops **out,
                    struct lxm_error *err);

/* storage: where a container's root filesystem lives and how it comes and
 * goes. Backends sit behind one ops table (rows: dir, overlay, btrfs).
 *
 * A VOLUME is the directory that holds one root filesystem's storage: a
 * container's (containers/NAME) or a snapshot's
 * (containers/NAME/snapshots/SNAP). What a backend keeps in it:
 *   dir      VOL/rootfs           a whole tree, copied
 *   overlay  VOL/upper, VOL/work  over the image tree (lower, read-only)
 *   btrfs    VOL/rootfs           a subvolume, a snapshot of the image's
 * An IMAGE is a read-only tree in the image store (images/FP/rootfs, see
 * image_store.h). Operations that take an image get NULL for a volume
 * that has none (an imported container, a dir-backed one). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

struct lxm_paths;

/* How a rootfs is mounted for a start or for lxm's own writes. */
struct lxm_storage_mount {
    /* >= 0: the user namespace a start idmaps the rootfs (or, on overlay,
     * the image layer) with; -1: ids as they are on disk. */
    int userns_fd;
    uid_t root_uid;             /* host ids of the container's root, */
    gid_t root_gid;             /* when userns_fd >= 0 */
    bool readonly;
    /* NULL, or 2 ints where a backend that makes mounts of its own to
     * build the rootfs from (overlay's idmapped layers) hands them over,
     * -1 for none, instead of closing them: closing a detached mount waits
     * for an RCU grace period, which a start leaves for after its answer. */
    int *layers;
};

struct lxm_storage_ops {
    const char *name;
    /* 1 when the backend can hold volumes and images below state_dir on
     * this host, 0 when not (err says why), -errno on other failures. */
    int (*probe)(const char *state_dir, struct lxm_error *err);
    /* 1 when vol holds this backend's layout, 0 when not. */
    int (*owns)(const char *vol);
    /* Make the empty directory (parent exists) that an image is unpacked
     * into, and remove an image tree (no longer used by any volume). */
    int (*image_create)(const char *path, struct lxm_error *err);
    int (*image_destroy)(const char *path, struct lxm_error *err);
    /* Fill the existing empty vol with a rootfs: the image's (image may be
     * NULL: an empty rootfs a caller fills). Nothing is copied where the
     * backend can share. On error vol may hold a part: call destroy. */
    int (*create)(const char *image, const char *vol, struct lxm_error *err);
    /* A copy of src's rootfs in the existing empty dst, both over image:
     * owners, modes, times, xattrs, ACLs, file capabilities, hard links and
     * device nodes kept. src is stopped or frozen (the caller sees to it).
     * On error dst may hold a part: call destroy. */
    int (*clone)(const char *image, const char *src, const char *dst, struct lxm_error *err);
    /* A point-in-time copy of a volume in use (frozen by the caller):
     * clone where the backend has nothing better; btrfs snapshots. */
    int (*snapshot)(const char *image, const char *src, const char *dst, struct lxm_error *err);
    /* Make vol's rootfs a copy of snap's, atomically: built beside vol's
     * and renamed into place, so a crash leaves the old or the new rootfs,
     * never none; the next restore finishes or undoes a crashed one. */
    int (*restore)(const char *image, const char *snap, const char *vol, struct lxm_error *err);
    /* Remove vol's rootfs storage (clearing immutable / append-only flags
     * in the way); never follows symlinks or crosses mounts. vol itself and
     * its other files stay. Succeeds when there is nothing to remove. */
    int (*destroy)(const char *vol, struct lxm_error *err);
    /* A detached mount of vol's whole rootfs (an fd for move_mount; no
     * mount is ever attached on the host, so closing it is the unmount). */
    int (*mount)(const char *image, const char *vol, const struct lxm_storage_mount *how,
                 struct lxm_error *err);
    /* Bytes vol's rootfs uses of its own, the image excluded (du-like:
     * allocated blocks, hard links counted once). */
    int (*usage)(const char *vol, uint64_t *bytes, struct lxm_error *err);
    /* Optional: write into a volume that create has just made, without a
     * mount. *view is a directory fd on the rootfs as a start will see it
     * (to look at what is there), *root one where new files go; each of
     * dirs (one path component each) exists in *root as it is in *view.
     * -ENOTSUP (err untouched) when this volume needs a mount for it. */
    int (*fresh_root)(const char *image, const char *vol, const char *const *dirs, int *view,
                      int *root, struct lxm_error *err);
    /* A volume create makes holds a few files (written out one by one,
     * not by a syncfs of the whole filesystem). */
    bool few_files;
};

/* The backend for a name from lxm.yaml's storage.driver: "auto" and NULL
 * pick the best one that probes usable for state_dir (btrfs on btrfs,
 * else overlay, else dir); an unknown or unusable name is an error. */
int lxm_storage_get(const char *driver, const char *state_dir,
                    const struct lxm_storage_ops **out, struct lxm_error *err);

/* The backend the global config (paths->global_config) names, for new
 * volumes under paths' state directory. */
int lxm_storage_for(const struct lxm_paths *paths, const struct lxm_storage_ops **out,
                    struct lxm_error *err);

/* The backend whose layout vol holds (an existing volume keeps its
 * backend whatever the config says now); -ENOENT when none does. */
int lxm_storage_of(const char *vol, const struct lxm_storage_ops **out, struct lxm_error *err);

/* A backend by name, NULL when there is no such row. */
const struct lxm_storage_ops *lxm_storage_by_name(const char *name);

/* Shared helpers for backends. */
/* Copy the tree src into dst (must not exist), every piece of metadata kept. */
int lxm_storage_copy_tree(const char *src, const char *dst, struct lxm_error *err);
/* rm -rf that clears immutable/append-only flags; never crosses mounts. */
int lxm_storage_remove_tree(const char *path, struct lxm_error *err);
/* du of a tree: allocated bytes, each inode once; 0 for a missing tree. */
int lxm_storage_tree_usage(const char *path, uint64_t *bytes, struct lxm_error *err);
/* Swap the existing path `fresh` into `path` (RENAME_EXCHANGE, or two
 * renames through `path.old`), then remove what was at path. */
int lxm_storage_swap_in(const char *fresh, const char *path, struct lxm_error *err);

/* Write out the data of a volume just made, with what its caller wrote in
 * it, without committing (see storage-sync.c): file by file where the
 * backend's volumes are a few files, else one syncfs. */
int lxm_storage_write_out(const struct lxm_storage_ops *ops, const char *vol,
                          struct lxm_error *err);
/* One syncfs of the filesystem that holds path. */
int lxm_storage_sync(const char *path, struct lxm_error *err);

/* The state directory (parent of containers/ and images/), NULL on ENOMEM. */
char *lxm_storage_state_dir(const struct lxm_paths *paths);

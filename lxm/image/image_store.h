/* image_store: every image unpacked once into a read-only tree that
 * containers share (through the storage backend), keyed by a sha256:
 *
 *   STATE/images/FP/rootfs       the tree (a btrfs subvolume on btrfs)
 *   STATE/images/FP/image.yaml   fingerprint, aliases, template, release,
 *                                arch, size, created, source, driver
 *   STATE/images/.lock           flock: shared while a command uses an
 *                                image, exclusive to delete or prune
 *
 * FP is the sha256 of the imported file for imports, and of the build
 * recipe (template, release, arch, packages, setup, source checksum) for
 * template builds: the same recipe finds the same tree. Which containers
 * and snapshots use an image is not stored: it is read from their
 * config.yaml (`image: FP`), so it can never drift. An image is built in
 * images/.staging-PID-XXXXXX and renamed into place. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct lxm_paths;
struct lxm_storage_ops;

struct lxm_image {
    char *fingerprint;          /* 64 hex */
    char **aliases;             /* NULL-terminated, may be NULL */
    char *template_name, *release, *arch, *created, *source, *driver;
    uint64_t size;              /* bytes of the tree, measured at import */
    char *dir;                  /* images/FP */
    char *rootfs;               /* images/FP/rootfs */
};

void lxm_image_free(struct lxm_image *img);
static inline void lxm_image_freep(struct lxm_image **i) { lxm_image_free(*i); }
#define _cleanup_image_ __attribute__((cleanup(lxm_image_freep)))

/* STATE/images. NULL on ENOMEM. */
char *lxm_image_store_dir(const struct lxm_paths *paths);

/* Take the store lock (creating the store): shared for anything that
 * makes or uses images, exclusive to remove them. Returns the fd. */
int lxm_image_store_lock(const struct lxm_paths *paths, bool exclusive, struct lxm_error *err);

/* Every image, sorted by created then fingerprint. */
int lxm_image_store_list(const struct lxm_paths *paths, struct lxm_image ***out, size_t *n,
                         struct lxm_error *err);
void lxm_image_list_free(struct lxm_image **list, size_t n);

/* An image by alias, or by fingerprint prefix (at least 4 hex, unique).
 * -ENOENT "image 'X' not found", -EINVAL when a prefix is ambiguous. */
int lxm_image_store_find(const struct lxm_paths *paths, const char *ref, struct lxm_image **out,
                         struct lxm_error *err);
/* The image with exactly this fingerprint: 1 found, 0 not. */
int lxm_image_store_get(const struct lxm_paths *paths, const char *fp, struct lxm_image **out,
                        struct lxm_error *err);

/* Who uses fingerprint fp: "NAME" for containers, "NAME/SNAP" for
 * snapshots, sorted. */
int lxm_image_store_users(const struct lxm_paths *paths, const char *fp, char ***out,
                          struct lxm_error *err);

/* Staging: a hidden directory with an empty rootfs/ made by ops, for the
 * caller to fill; commit writes image.yaml (size measured here) and
 * renames it to images/FP. When FP already exists the staging tree is
 * dropped and the existing image returned (aliases merged). */
int lxm_image_store_stage(const struct lxm_paths *paths, const struct lxm_storage_ops *ops,
                          char **staging, struct lxm_error *err);
int lxm_image_store_commit(const struct lxm_paths *paths, const char *staging,
                           const struct lxm_image *meta, struct lxm_image **out,
                           struct lxm_error *err);
void lxm_image_store_discard(const char *staging);

/* Remove staging trees and half-deleted images that commands killed
 * mid-way left (their pid is gone). Takes no lock: call with one held. */
void lxm_image_store_sweep(const struct lxm_paths *paths);

/* Aliases are unique across the store: adding one another image holds is
 * refused. Names: 1-63 of a-z, A-Z, 0-9, '.', '_', '-' and ':'. */
int lxm_image_store_alias_add(const struct lxm_paths *paths, const char *ref, const char *alias,
                              struct lxm_error *err);
int lxm_image_store_alias_remove(const struct lxm_paths *paths, const char *alias,
                                 struct lxm_error *err);
int lxm_image_alias_validate(const char *alias, struct lxm_error *err);

/* Delete one image; refused (-EBUSY, naming the users) while used. */
int lxm_image_store_delete(const struct lxm_paths *paths, const char *ref, struct lxm_error *err);
/* Delete every unused image; *count and *freed say what went. */
int lxm_image_store_prune(const struct lxm_paths *paths, size_t *count, uint64_t *freed,
                          struct lxm_error *err);

/* "2026-12-03T09:24:14Z" now, NULL on ENOMEM. */
char *lxm_utc_now(void);

struct lxm_image;
/* Parse image.yaml text (bounded size, no NUL bytes); for the fuzzers. */
int lxm_image_meta_parse(const char *file, const char *text, size_t len, struct lxm_image **out,
                         struct lxm_error *err);

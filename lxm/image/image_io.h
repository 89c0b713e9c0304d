/* image_io: images into and out of the store (image_io.c). */
#pragma once

#include <stdbool.h>

#include "config/container.h"
#include "image/image.h"
#include "image/image_store.h"
#include "util/err.h"

/* The image tree a volume's config names, NULL when it names none. */
int lxm_image_rootfs(const struct lxm_paths *paths, const char *fp, char **out,
                     struct lxm_error *err);

/* Import an image (any format lxm_image_unpack_any reads: a file, a split
 * LXC image with extra = its rootfs file, or an OCI layout "DIR[:TAG]")
 * into the store, unpacked once. Its fingerprint is the sha256 of what was
 * imported; importing the same thing again only adds the aliases. */
int lxm_image_import(const struct lxm_paths *paths, const char *source,
                     const char *extra, char *const *aliases,
                     const struct lxm_report *progress, struct lxm_image **out,
                     bool *existed, struct lxm_error *err);
/* The same, with label as the image's `source` (NULL: "FORMAT FILE"). */
int lxm_image_import_as(const struct lxm_paths *paths, const char *source,
                        const char *extra, const char *label, char *const *aliases,
                        const struct lxm_report *progress, struct lxm_image **out,
                        bool *existed, struct lxm_error *err);

/* Write an image's tree as a rootfs tarball (zstd, .tar.zst), which
 * `image import` and `create --from` read back. */
int lxm_image_export(const struct lxm_paths *paths, const char *ref, const char *file,
                     const struct lxm_report *progress, struct lxm_error *err);

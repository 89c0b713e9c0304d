/* image_import: read an image in any format lxm accepts and unpack its root
 * filesystem into a directory, with its metadata. The formats: lxm's own
 * export (config.yaml + rootfs/), a plain rootfs tarball, an LXC/Incus
 * image (unified tarball with metadata.yaml + rootfs/, or the split form:
 * metadata tarball + rootfs tarball or rootfs.squashfs) and an OCI image
 * layout directory (DIR or DIR:TAG). Every entry goes through the same
 * hostile-entry checks as any extraction (nothing outside the tree, no
 * device nodes). The image store (lxm/store.c) is the caller. */
#pragma once

#include <stdint.h>

#include "image/image.h"
#include "util/err.h"

struct lxm_image_meta {
    char *format;        /* "lxm-export", "rootfs", "lxc-unified", "lxc-split", "oci" */
    char *template_name; /* distribution / template ("debian"), NULL if unknown */
    char *release;       /* "bookworm", NULL if unknown */
    char *arch;          /* "amd64", NULL if unknown */
    char *description;   /* free text, NULL if none */
    int64_t created;     /* unix seconds from the image's metadata, 0 if unknown */
};

void lxm_image_meta_clear(struct lxm_image_meta *m);

/* Unpack the image at source (a file, or an OCI layout "DIR[:TAG]") into
 * the existing empty directory rootfs and describe it in *meta. extra is
 * the rootfs file of a split LXC image (source is then its metadata
 * tarball), else NULL. On error rootfs may hold a partial tree (the caller
 * removes it). */
int lxm_image_unpack_any(const char *source, const char *extra, const char *rootfs,
                         struct lxm_image_meta *meta, const struct lxm_report *progress,
                         struct lxm_error *err);

/* 0 when source names something readable: a file, or the directory of an
 * OCI "DIR[:TAG]". -errno otherwise. */
int lxm_image_source_access(const char *source);

/* What identifies the image source (+ extra) names, as 64 hex digits, for
 * a store or cache key: a file's sha256; for an OCI layout, a hash of the
 * digest its tag (or its one image) names, so the same image in another
 * layout is the same; for a split image, a hash of both files' sums. */
int lxm_image_source_id(const char *source, const char *extra, char hex[65],
                        struct lxm_error *err);

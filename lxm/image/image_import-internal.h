/* image_import-internal: what the image readers (image_import.c for tar
 * based formats, image_oci.c, image_sqfs.c) share, and the metadata
 * parsers exposed for the unit tests and the fuzzer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image_import.h"

struct archive;

/* Metadata files are small: anything bigger is not one. */
#define LXM_IMAGE_META_MAX (4 << 20)

/* ---- parsers of untrusted metadata (no I/O) ---------------------------------- */

/* An LXC/Incus metadata.yaml: architecture, creation_date and
 * properties {os, release, description}. Fills the fields of meta it
 * finds (leaves format alone). */
int lxm_lxc_metadata_parse(const char *label, const char *text, size_t len,
                           struct lxm_image_meta *meta, struct lxm_error *err);

/* The "config" file of an LXC download image's meta.tar.xz: its
 * "lxc.arch = ..." line. 0 or -ENOMEM. */
int lxm_lxc_config_meta(const char *text, struct lxm_image_meta *meta);

/* The config.yaml of an lxm export: template, release, arch, created. */
int lxm_export_config_meta(const char *label, const char *text, size_t len,
                           struct lxm_image_meta *meta, struct lxm_error *err);

/* An OCI content descriptor. */
struct lxm_oci_desc {
    char *media_type;       /* NULL if absent */
    char hex[65];           /* the sha256 digest, lowercase hex */
    int64_t size;
    char *ref_name;         /* annotation org.opencontainers.image.ref.name */
    char *os, *arch, *variant; /* platform, NULL if absent */
};

struct lxm_oci_index {
    struct lxm_oci_desc *manifests;
    size_t n;
};

struct lxm_oci_manifest {
    struct lxm_oci_desc config;
    struct lxm_oci_desc *layers;
    size_t n_layers;
    char *description;      /* annotation org.opencontainers.image.description */
};

struct lxm_oci_config {
    char *os, *arch, *variant;
    int64_t created;        /* 0 if absent */
};

/* JSON documents of an OCI layout. A document that is an index where a
 * manifest was expected (and the reverse) is an error naming both. */
bool lxm_oci_is_index(const char *text, size_t len);
int lxm_oci_index_parse(const char *label, const char *text, size_t len,
                        struct lxm_oci_index *out, struct lxm_error *err);
int lxm_oci_manifest_parse(const char *label, const char *text, size_t len,
                           struct lxm_oci_manifest *out, struct lxm_error *err);
int lxm_oci_config_parse(const char *label, const char *text, size_t len,
                         struct lxm_oci_config *out, struct lxm_error *err);
void lxm_oci_desc_clear(struct lxm_oci_desc *d);
void lxm_oci_index_clear(struct lxm_oci_index *x);
void lxm_oci_manifest_clear(struct lxm_oci_manifest *m);
void lxm_oci_config_clear(struct lxm_oci_config *c);

/* "2024-05-01T12:00:00.123Z" or "...+02:00" as unix seconds; -1 if it is
 * not such a time. */
int64_t lxm_rfc3339_parse(const char *s);
/* An architecture in Debian's spelling, from Go's (OCI: amd64, arm64,
 * 386, ppc64le, arm + variant) or the kernel's (LXC: x86_64, aarch64).
 * Unknown names are returned as they are. */
const char *lxm_arch_to_debian(const char *arch, const char *variant);

/* ---- readers ------------------------------------------------------------------- */

/* Split "[oci:]DIR[:TAG]" where DIR is a directory holding oci-layout
 * (*tag NULL without one). 1 = source names no OCI layout, -ENOMEM. */
int lxm_oci_split_source(const char *source, char **dir, char **tag);

/* The OCI image layout at source ("DIR" or "DIR:TAG", "oci:" prefix
 * allowed) into rootfs. 1 = source names no OCI layout (nothing done). */
int lxm_oci_unpack(const char *source, const char *rootfs, struct lxm_image_meta *meta,
                   const struct lxm_report *progress, struct lxm_error *err);

/* The identity of the image an OCI source names (see
 * lxm_image_source_id); 1 = source names no OCI layout. */
int lxm_oci_source_id(const char *source, char hex[65], struct lxm_error *err);

/* Open the squashfs image at path as a libarchive reader of a tar stream
 * of its tree, so its entries take the same checks as any tarball.
 * Returns the reader or NULL with err set. */
struct archive *lxm_sqfs_open_as_tar(const char *path, struct lxm_error *err);
/* true when the file starts with the squashfs magic. */
bool lxm_is_squashfs(const char *path);

/* Paths written by one OCI layer, so its whiteouts spare them. */
struct lxm_pathset;
/* The filter for lxm_image_extract_archive() that applies OCI whiteouts
 * (".wh.NAME" removes NAME of lower layers, ".wh..wh..opq" empties a
 * directory of them) and replaces a lower directory by a non-directory. */
struct lxm_whiteout_state {
    const char *label;
    struct lxm_pathset *layer;
};
int lxm_whiteout_filter(void *arg, struct archive *in, struct archive_entry *e, int rootfd,
                        struct lxm_error *err);
struct lxm_pathset *lxm_pathset_new(void);
void lxm_pathset_free(struct lxm_pathset *s);

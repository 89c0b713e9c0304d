/* simplestreams: the read-only image server protocol of LXD/Incus image
 * servers. The client reads URL/streams/v1/index.json, the products file
 * it names for "image-downloads", and picks the newest version of a
 * product for one architecture that has a container image: a metadata
 * tarball (ftype lxd.tar.xz or incus.tar.xz) and a root filesystem
 * (ftype squashfs, else root.tar.xz). Files are downloaded with libcurl
 * (HTTPS with the system's CA store, proxies from the environment) and
 * checked against the index's size and sha256 before anything uses them. */
#pragma once

#include <stdint.h>
#include <stddef.h>

#include "util/err.h"
#include "util/report.h"

struct lxm_ss_item {
    char *ftype, *path, *sha256; /* path relative to the server URL */
    int64_t size;
};

struct lxm_ss_image {
    char *product;   /* "alpine:3.20:amd64:default" */
    char *aliases;   /* "alpine/3.20/default,alpine/3.20" */
    char *os, *release, *arch, *variant, *version, *description;
    struct lxm_ss_item meta, rootfs;
};

void lxm_ss_image_clear(struct lxm_ss_image *img);
void lxm_ss_images_free(struct lxm_ss_image *v, size_t n);

/* The newest container image of every product; arch NULL for all
 * architectures, filter NULL or a string every listed image has in one
 * of its aliases. Sorted by first alias, then arch. */
int lxm_ss_list(const char *url, const char *arch, const char *filter, struct lxm_ss_image **out,
                size_t *n, struct lxm_error *err);

/* The newest container image whose aliases include alias, for arch.
 * -ENOENT "no image 'ALIAS' on URL" or "... for ARCH (there is: ...)". */
int lxm_ss_find(const char *url, const char *alias, const char *arch, struct lxm_ss_image *out,
                struct lxm_error *err);

/* Download item into dir as SHA256.FTYPE, resuming a partial SHA256.part
 * of an earlier attempt, and check its size and sha256; a file that is
 * already there is checked again, not fetched. *path is the result. A
 * mismatch deletes what was fetched. */
int lxm_ss_download(const char *url, const struct lxm_ss_item *item, const char *dir,
                    const struct lxm_report *progress, char **path, struct lxm_error *err);

/* The parsers behind them, for a document already in memory (label names
 * it in errors): index.json -> the products file's path (relative, no
 * ".."); a products file -> its images, filtered as lxm_ss_list does. */
int lxm_ss_parse_index(const char *label, const char *text, size_t len, char **path,
                       struct lxm_error *err);
int lxm_ss_parse_products(const char *label, const char *text, size_t len, const char *arch,
                          const char *filter, struct lxm_ss_image **out, size_t *n,
                          struct lxm_error *err);

/* GET url into memory, at most max bytes (the JSON indexes). */
int lxm_http_get(const char *url, size_t max, char **out, size_t *len, struct lxm_error *err);

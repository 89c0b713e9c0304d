/* image: root filesystem tarballs through libarchive. Extraction of any
 * rootfs tarball that refuses hostile entries, packing a tree into a zstd
 * pax tarball, a metadata-preserving tree copy, and the image cache
 * (PATHS->images/NAME.tar.zst + NAME.tar.zst.sha256). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"
#include "util/report.h"

/* Long operations take a report (util/report.h) for their progress
 * meter; NULL = none. */

/* Extract tarball (tar, pax, gnu; none/gz/xz/zst/bz2/lzma) into the
 * existing directory dest, keeping owners, modes, times, xattrs, ACLs, file
 * flags and hard links. Block and character devices (and hard links to
 * them) are never created: one warning line counts and names them. An
 * entry with an absolute path, a ".." component, or a path (or hard link
 * target) through a symlink is refused, naming the entry; nothing is ever written outside dest, but
 * dest may hold a partial tree on error (the caller removes it). */
int lxm_image_extract(const char *tarball, const char *dest, const struct lxm_report *progress,
                      struct lxm_error *err);

struct archive;
struct archive_entry;

/* What a filter of lxm_image_extract_archive() decided for an entry. */
enum { LXM_ENTRY_EXTRACT = 0, LXM_ENTRY_SKIP = 1 };

/* Called with each entry before the checks above: it may rename the entry
 * (a prefix strip), consume its data (archive_read_data) and skip it, or
 * act on the tree beneath rootfd (OCI whiteouts). Returns LXM_ENTRY_* or
 * -errno with err set. An entry it keeps is then checked and written like
 * any other. */
typedef int (*lxm_entry_filter)(void *arg, struct archive *in, struct archive_entry *e, int rootfd,
                                struct lxm_error *err);

/* Extract every entry of the open reader in (label names it in errors and
 * progress; total is its size for the progress bar, 0 if unknown) into the
 * existing directory dest, with the same checks and fidelity as
 * lxm_image_extract(). filter may be NULL. */
int lxm_image_extract_archive(struct archive *in, const char *label, const char *dest,
                              lxm_entry_filter filter, void *arg, const struct lxm_report *progress,
                              int64_t total, struct lxm_error *err);

/* A tar reader with only in-process decompressors (gzip, xz, zstd, bzip2,
 * lzma); NULL on ENOMEM. */
struct archive *lxm_tar_reader_new(void);

/* Open file as a tarball: *fdp the open file (the reader reads from it),
 * *out the reader, *size the file's size (0 if not a regular file). */
int lxm_tar_open(const char *file, int *fdp, struct archive **out, int64_t *size,
                 struct lxm_error *err);

/* Pack the tree below dir into a zstd pax tarball at out (written to a
 * temp file and renamed), never leaving dir's filesystem, without its
 * device nodes (extraction never makes them). sha256 (may be
 * NULL) receives the tarball's checksum as hex. */
int lxm_image_pack(const char *dir, const char *out, char sha256[65], const struct lxm_report *progress,
                   struct lxm_error *err);

/* Copy the tree below src into the existing empty directory dst with the
 * same fidelity as pack + extract, without an intermediate file. */
int lxm_image_copy_tree(const char *src, const char *dst, struct lxm_error *err);

/* Image cache. The file name says what the image is, and a hash of
 * variant + sorted package list keeps different package sets apart:
 * "debian-bookworm-amd64-0123456789ab.tar.zst". Returns NULL on ENOMEM. */
char *lxm_image_cache_name(const char *template_name, const char *release, const char *arch,
                           const char *variant, char *const *packages);

/* 1 = hit (*path = the cached tarball, checksum verified), 0 = miss. A
 * tarball whose checksum does not match is removed with a warning, so the
 * caller rebuilds it. */
int lxm_image_cache_lookup(const char *images_dir, const char *name, char **path,
                           struct lxm_error *err);

/* Pack dir into the cache under name, with its .sha256 beside it. */
int lxm_image_cache_store(const char *images_dir, const char *name, const char *dir,
                          const struct lxm_report *progress, struct lxm_error *err);

/* image: root filesystem tarballs through libarchive. Extraction of any
 * rootfs tarball that refuses hostile entries, packing a tree into a zstd
 * pax tarball, a metadata-preserving tree copy, and the image cache
 * (PATHS->images/NAME.tar.zst + NAME.tar.zst.sha256). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

/* How long operations report progress (stderr): not at all (--quiet),
 * no progress but a rare one-line notice such as "bootstrapping..."
 * (stdout not a terminal), or one line redrawn in place and a closing
 * line saying what was made and how long it took (a terminal). */
enum lxm_progress { LXM_PROGRESS_QUIET, LXM_PROGRESS_PLAIN, LXM_PROGRESS_TTY };

/* The mode for this process: quiet wins; TTY only when stdout and stderr
 * are terminals; else PLAIN. */
enum lxm_progress lxm_progress_mode(bool quiet);

/* The terminal's width (stderr), 80 when unknown. */
int lxm_terminal_width(void);
/* Redraw the progress line: cut to the terminal's width, never wrapped. */
void lxm_progress_draw(const char *line);

/* A progress meter on stderr (TTY mode only): "VERB 42% 1.0/2.4 MiB NAME",
 * at most 5 redraws a second, nothing for steps under 0.3 s, and a closing
 * "DONE_VERB 2.4 MiB in 1.2 s: WHAT" line on success. */
struct lxm_meter {
    enum lxm_progress mode;
    const char *verb;           /* "unpacking", "packing", "copying" */
    const char *done_verb;      /* "unpacked", ... for the closing line */
    const char *what;           /* a path: its last component is shown */
    int64_t total;              /* 0 = unknown: show a byte count only */
    int64_t start_ms, last_ms, bytes;
    bool drawn;
};
void lxm_meter_start(struct lxm_meter *m, enum lxm_progress mode, const char *verb,
                     const char *done_verb, const char *what, int64_t total);
void lxm_meter_update(struct lxm_meter *m, int64_t done);
void lxm_meter_done(struct lxm_meter *m, bool ok);

/* Extract tarball (tar, pax, gnu; none/gz/xz/zst/bz2/lzma) into the
 * existing directory dest, keeping owners, modes, times, xattrs, ACLs, file
 * flags and hard links. Block and character devices (and hard links to
 * them) are never created: one warning line counts and names them. An
 * entry with an absolute path, a ".." component, or a path (or hard link
 * target) through a symlink is refused, naming the entry; nothing is ever written outside dest, but
 * dest may hold a partial tree on error (the caller removes it). */
int lxm_image_extract(const char *tarball, const char *dest, enum lxm_progress progress,
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
                              lxm_entry_filter filter, void *arg, enum lxm_progress progress,
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
int lxm_image_pack(const char *dir, const char *out, char sha256[65], enum lxm_progress progress,
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
                          enum lxm_progress progress, struct lxm_error *err);

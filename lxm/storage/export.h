/* export: a whole container as one tarball (config.yaml, then rootfs/ with
 * owners, modes, xattrs, ACLs, file capabilities, hard links and device
 * nodes) and back. The archive format follows the file name. */
#pragma once

#include "config/container.h"
#include "image/image.h"
#include "util/err.h"

enum lxm_export_compression { LXM_EXPORT_TAR, LXM_EXPORT_GZIP, LXM_EXPORT_XZ, LXM_EXPORT_ZSTD };

/* From the file name: .tar, .tar.gz/.tgz, .tar.xz/.txz, .tar.zst/.tzst.
 * -EINVAL with a message for anything else. */
int lxm_export_compression_for(const char *file, enum lxm_export_compression *out,
                               struct lxm_error *err);

/* Write c (stopped; its lock is taken) to file: built as a temp file in the
 * same directory and renamed into place, so file is whole or untouched. */
int lxm_export(struct lxm_container *c, const char *file, const struct lxm_report *progress,
               struct lxm_error *err);

/* What the importing user decides, not the archive (NULL: [default],
 * nothing trusted, no progress). */
struct lxm_import_opts {
    char *const *profiles;      /* -p: the container's profiles; NULL = [default] */
    bool trust_profiles;        /* keep the archive's profiles (when no -p) and its
                                 * security.* and mounts keys */
    const struct lxm_report *progress;
};

/* Create a container from an exported tarball. name NULL = the name in the
 * archive's config.yaml. The archive goes through lxm_image_extract's
 * checks (no device nodes) into a hidden directory beside the containers;
 * its config.yaml gets the profiles of opts and, unless trust_profiles,
 * loses its security.privileged/nesting/idmap/profile and mounts keys (one
 * line names what the archive asked for), is validated (and the name)
 * before that directory becomes the container, and the directory is
 * removed on any failure. *out (may be NULL) gets the name used. */
int lxm_import(const struct lxm_paths *paths, const char *file, const char *name,
               const struct lxm_import_opts *opts, char **out, struct lxm_error *err);

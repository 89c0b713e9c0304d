/* template: turn a template (templates/NAME.yaml) into a root filesystem.
 * The source fills an empty rootfs (busybox: built from the host's static
 * busybox; debootstrap: through the image cache; tarball: extracted), then
 * the setup adapts it: hostname, hosts, machine-id, the template's files
 * and its chrooted commands. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "config/container.h"
#include "image/image.h"
#include "image/image_import.h"
#include "util/err.h"

struct lxm_provision_opts {
    const char *name;           /* container name, also its hostname */
    const char *release;        /* already resolved (lxm_template_release) */
    char **include;             /* extra packages (debootstrap), may be NULL */
    const char *from;           /* an image that replaces the template's source: any
                                 * format of image_import.h, or an OCI "DIR[:TAG]" */
    const char *from_rootfs;    /* the rootfs file of a split LXC image (from is then
                                 * its metadata tarball), else NULL */
    struct lxm_image_meta *meta; /* if not NULL, filled with what the image says
                                  * about itself (only with from) */
    const struct lxm_report *progress;
};

/* The release to use: release if given, else the template's default
 * (NULL for templates without releases). Errors when release is not one
 * of the template's. */
int lxm_template_release(const struct lxm_template *t, const char *release, const char **out,
                         struct lxm_error *err);

/* Fill the existing empty directory rootfs with the template's image: its
 * source, setup files and setup commands (everything but a container's
 * identity, see lxm_rootfs_set_identity). On error rootfs may hold a
 * partial tree: the caller removes it. */
int lxm_template_provision(const struct lxm_paths *paths, const struct lxm_template *t,
                           const struct lxm_provision_opts *opts, const char *rootfs,
                           struct lxm_error *err);

/* The image a build with these options makes, before it is made: fp gets
 * the sha256 of its recipe (template, release, arch, packages, setup
 * files and commands, and the checksum of the file or binary it starts
 * from), *source a one-line description. */
int lxm_template_recipe(const struct lxm_paths *paths, const struct lxm_template *t,
                        const struct lxm_provision_opts *opts, char fp[65], char **source,
                        struct lxm_error *err);

/* Apply the create's "-c template.KEY=VALUE" options to t (variant,
 * packages, mirror; debootstrap templates only) after the global config's
 * mirrors.NAME; *rest gets the other settings. */
int lxm_template_apply_options(struct lxm_template *t, const struct lxm_global *g,
                               char *const *settings, char ***rest, struct lxm_error *err);

/* A Debian package name: a-z or 0-9 first, then a-z 0-9 + - . */
bool lxm_valid_package_name(const char *p);

/* The bootstrap command a create with these options would run (ROOTFS
 * for the tree), without running or making anything; *argv is NULL for
 * templates that bootstrap nothing. */
int lxm_template_dry_run(const struct lxm_paths *paths, const struct lxm_template *t,
                         const struct lxm_provision_opts *opts, char ***argv, struct lxm_error *err);

/* lxm_rootfs_set_identity on an open rootfs directory (or mount) fd. */
int lxm_rootfs_set_identity_at(int rootfd, const char *name, struct lxm_error *err);
/* The same with the tree looked at (does it have /etc/machine-id?) apart
 * from the one written to: an overlay's image and its fresh upper layer. */
int lxm_rootfs_set_identity_in(int viewfd, int rootfd, const char *name, struct lxm_error *err);

/* Give a rootfs its identity: /etc/hostname and /etc/hosts for name, and
 * a fresh /etc/machine-id when the tree has that file. Writes go through
 * the rootfs's own symlinks as if chrooted, never outside it. */
int lxm_rootfs_set_identity(const char *rootfs, const char *name, struct lxm_error *err);

/* Every template in paths->templates, sorted by name; files that do not
 * parse are skipped with a warning. */
int lxm_template_list(const struct lxm_paths *paths, struct lxm_template ***out, size_t *n,
                      struct lxm_error *err);
void lxm_template_list_free(struct lxm_template **list, size_t n);

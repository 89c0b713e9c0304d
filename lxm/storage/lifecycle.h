/* lifecycle: containers come and go here. create, copy and delete share
 * one rollback strategy: everything is built in a hidden staging
 * directory beside the containers (containers/.create-PID-NAME,
 * .copy-PID-NAME) and renamed into place as the last step; a delete
 * renames to .delete-PID-NAME first. A command killed at any point leaves
 * only a hidden directory, which the next lifecycle command removes (its
 * pid is gone). The rootfs goes through the storage backend (storage.h),
 * the tree through the image store (image_store.h). */
#pragma once

#include <stdbool.h>

#include "config/container.h"
#include "image/image.h"
#include "image/image_store.h"
#include "util/err.h"

struct lxm_template;
struct lxm_provision_opts;

struct lxm_create_opts {
    const char *name;
    const char *template_name;  /* NULL: the image's template, or "tarball" with from */
    const char *release;
    const char *from;           /* an image file (any format of image_import.h) to start from */
    const char *from_rootfs;    /* the rootfs file of a split LXC image (with from) */
    const char *image;          /* an image store alias or fingerprint prefix */
    char **profiles;            /* -p: layered after the template's (default) */
    bool no_default_profile;    /* --no-default-profile: profiles alone replace them */
    char **settings;            /* KEY=VALUE */
    char **include;             /* extra packages */
    const struct lxm_report *progress;
};

/* Create the container (stopped). *out (may be NULL) gets it. */
int lxm_lifecycle_create(const struct lxm_paths *paths, const struct lxm_create_opts *o,
                         struct lxm_container **out, struct lxm_error *err);

/* Everything a create checks, then the bootstrap command it would run
 * (*argv; NULL when the template bootstraps nothing), making nothing. */
int lxm_lifecycle_create_dry_run(const struct lxm_paths *paths, const struct lxm_create_opts *o,
                                 char ***argv, struct lxm_error *err);

/* Copy the stopped container src to a new container dst: the rootfs
 * through its backend (on overlay: the upper layer only), a new identity
 * (hostname, hosts, machine-id), a config with the new name and no fixed
 * MAC. Snapshots are not copied. */
int lxm_lifecycle_copy(const struct lxm_paths *paths, const char *src, const char *dst,
                       struct lxm_error *err);

/* Delete c with its snapshots (force: stop it first when running). */
int lxm_lifecycle_delete(struct lxm_container *c, bool force, struct lxm_error *err);

/* Stop a running container (when force) or refuse naming `lxm WHAT -f`;
 * 0 when it is stopped. */
int lxm_lifecycle_ensure_stopped(struct lxm_container *c, bool force, const char *what,
                                 struct lxm_error *err);

/* The image a template build makes, from the store or built into it now
 * (the store lock held shared by the caller). */
int lxm_lifecycle_template_image(const struct lxm_paths *paths, const struct lxm_template *t,
                                 const struct lxm_provision_opts *popts,
                                 struct lxm_image **out, struct lxm_error *err);

/* Remove a container directory or a staging one (.create-/.copy-/.delete-
 * OWNER.NAME), its snapshots' volumes and its own, whatever backend holds
 * them. */
int lxm_lifecycle_remove_dir(const char *dir, struct lxm_error *err);

/* Write the identity (hostname, hosts, machine-id) into the rootfs of vol
 * through its backend's mount of vol; fresh (a volume create has just
 * made, nothing in it yet): straight into it where the backend can (an
 * overlay's upper layer), without a mount. */
int lxm_lifecycle_set_identity(const char *image_rootfs, const char *vol, const char *name,
                               bool fresh, struct lxm_error *err);


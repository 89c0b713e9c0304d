/* snapshot: point-in-time copies of a container, kept under
 * containers/NAME/snapshots/SNAP/ (a storage volume: the backend's rootfs
 * layout, plus config.yaml and snapshot.yaml), and restoring a container
 * from one. Every copy goes through the container's storage backend (on
 * overlay: the upper layer only); a running container is frozen for the
 * copy and thawed after. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/container.h"
#include "util/err.h"

struct lxm_snapshot {
    char *name;
    char *created; /* UTC ISO 8601; NULL when unknown */
};

/* Snapshot names follow the container-name rule. 0 or -EINVAL with
 * "invalid snapshot name 'X' (...)". */
int lxm_snapshot_validate_name(const char *snap, struct lxm_error *err);

/* Snapshot c as snap (NULL = the next free "snapN"); *out (may be NULL)
 * receives the name used. Takes c's lock. A stopped or frozen container is
 * copied as it is; a running one is frozen for the copy and thawed after
 * (-EBUSY while starting or stopping). Nothing is left behind on failure:
 * the copy is built in a hidden directory and renamed into place. */
int lxm_snapshot_create(struct lxm_container *c, const char *snap, char **out,
                        struct lxm_error *err);

/* Replace c's rootfs and config.yaml with the snapshot's; c must be
 * stopped. The backend builds the new rootfs beside the old one and swaps
 * it in with one rename, so a crash leaves the old or the new rootfs,
 * never none; config.yaml follows atomically. */
int lxm_snapshot_restore(struct lxm_container *c, const char *snap, struct lxm_error *err);

int lxm_snapshot_delete(struct lxm_container *c, const char *snap, struct lxm_error *err);

/* A snapshot being built or deleted is snapshots/.SNAP.partial.OWNER (OWNER
 * from util/owner.h); one whose owner died is a leftover, removed with: */
#define LXM_SNAPSHOT_PARTIAL ".partial."
int lxm_snapshot_remove_partial(const char *path);

/* c's snapshots, sorted by name. */
int lxm_snapshot_list(const struct lxm_container *c, struct lxm_snapshot **out, size_t *n,
                      struct lxm_error *err);
void lxm_snapshot_list_free(struct lxm_snapshot *list, size_t n);

/* Remove every snapshot of c, each through the backend holding it. */
int lxm_snapshot_remove_all(const struct lxm_container *c, struct lxm_error *err);

/* mount_live: bind mounts of a container's config.yaml (`mounts:`) added
 * and removed while it runs: the change is made in the running container
 * at once (idmapped and read-only like a start-time mount) and recorded in
 * config.yaml, all or nothing. A stopped container only gets the record. */
#pragma once

#include <stdbool.h>

#include "config/config.h"
#include "config/container.h"
#include "util/err.h"

/* Bind host path source on path inside NAME (read-only if asked). *live
 * (may be NULL) says whether a running container got it now. Refused when
 * NAME already has a mount on path. */
int lxm_mount_add(const struct lxm_paths *paths, const char *name, const char *source,
                  const char *path, bool readonly, bool *live, struct lxm_error *err);
/* Drop NAME's mount on path from config.yaml and unmount it when NAME runs;
 * *live says whether something was unmounted. */
int lxm_mount_remove(const struct lxm_paths *paths, const char *name, const char *path, bool *live,
                     struct lxm_error *err);

/* The live halves, on a running container (c locked by the caller). */
int lxm_mount_live_add(struct lxm_container *c, const struct lxm_mount *m, struct lxm_error *err);
/* 1 when something was unmounted, 0 when nothing was mounted on path. */
int lxm_mount_live_remove(struct lxm_container *c, const char *path, struct lxm_error *err);

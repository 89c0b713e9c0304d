/* image_remote: images from image servers into the local store. A copy
 * reads the server's index, computes the store fingerprint the two files
 * will have from the sums the index gives (so an image the store already
 * holds is not downloaded again), downloads both into CACHE/downloads,
 * checks them, and imports them as a split LXC image with the source
 * "REMOTE:ALIAS (PRODUCT VERSION)". The downloads are removed once the
 * image is in the store. */
#pragma once

#include <stdbool.h>

#include "image/image.h"
#include "image/image_store.h"
#include "image/remote.h"
#include "util/err.h"

struct lxm_paths;

/* Copy REMOTE:ALIAS (the newest build for this host's architecture). */
int lxm_image_remote_copy(const struct lxm_paths *paths, const struct lxm_remote *remote,
                          const char *alias, char *const *aliases, const struct lxm_report *progress,
                          struct lxm_image **out, bool *existed, struct lxm_error *err);

/* The store image for ref when ref is "REMOTE:ALIAS": one copied from
 * there before (newest first, no network), else a copy made now.
 * 1 and *fp (64 hex) when ref was a remote reference, 0 when it was not. */
int lxm_image_remote_resolve(const struct lxm_paths *paths, const char *ref,
                             const struct lxm_report *progress, char **fp, struct lxm_error *err);

/* remote: the image servers lxm knows, by name ("images"), kept in
 * ETC/remotes.yaml:
 *
 *   images:
 *     url: https://images.linuxcontainers.org
 *     protocol: simplestreams
 *
 * While the file does not exist the built-in list applies (the one remote
 * `images`); the first `lxm remote add|remove` writes it out whole. A
 * reference to a remote image is "REMOTE:ALIAS" (images:alpine/3.20). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

struct lxm_paths;

struct lxm_remote {
    char *name, *url, *protocol;
};

void lxm_remotes_free(struct lxm_remote *r, size_t n);

/* Every remote, sorted by name. */
int lxm_remotes_load(const struct lxm_paths *paths, struct lxm_remote **out, size_t *n,
                     struct lxm_error *err);

/* One remote by name: 1 and *out filled, 0 when there is none. */
int lxm_remote_get(const struct lxm_paths *paths, const char *name, struct lxm_remote *out,
                   struct lxm_error *err);

/* Add (refused when the name exists, the name is not 1-63 of a-z 0-9 - _,
 * the URL is not http(s)://HOST..., or the protocol is not simplestreams)
 * or remove (refused when there is none) a remote. */
int lxm_remote_add(const struct lxm_paths *paths, const char *name, const char *url,
                   const char *protocol, struct lxm_error *err);
int lxm_remote_remove(const struct lxm_paths *paths, const char *name, struct lxm_error *err);

/* Split "REMOTE:REST" when REMOTE names a remote: 1 with *remote filled
 * and *rest pointing into ref; 0 when ref is not a remote reference. */
int lxm_remote_split(const struct lxm_paths *paths, const char *ref, struct lxm_remote *remote,
                     const char **rest, struct lxm_error *err);

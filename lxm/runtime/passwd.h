/* passwd: users and groups as a container knows them, read from its own
 * /etc/passwd and /etc/group through its root (util/inroot.h), never from
 * the host's databases (no NSS: getpwnam() would read the host's files). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

struct lxm_user {
    uid_t uid;
    gid_t gid;
    char *name;   /* NULL for a numeric uid without a passwd line */
    char *home;   /* "/" when unknown */
    char *shell;  /* "/bin/sh" when unknown or empty */
    gid_t *groups; /* supplementary groups from /etc/group (primary first) */
    size_t n_groups;
};

void lxm_user_clear(struct lxm_user *u);

/* Parsers on the files' text (exposed for the unit tests). SPEC is a
 * name or a decimal id. A numeric uid with no line gives uid = gid = N,
 * home "/", shell "/bin/sh". -ENOENT when a name has no line. */
int lxm_passwd_find(const char *passwd, const char *spec, struct lxm_user *out);
/* gid of group SPEC (name or number); -ENOENT for an unknown name. */
int lxm_group_find(const char *group, const char *spec, gid_t *out);
/* Fill u->groups: u->gid, then every group that lists u->name. */
int lxm_group_members(const char *group, struct lxm_user *u);

/* Resolve SPEC ("USER" or "USER:GROUP", names or ids; NULL = root) in the
 * tree at rootfd. Missing files are empty files; an unknown name is an
 * error naming the file. With SPEC NULL, files that cannot be read (or
 * no line for uid 0) give root with home /root and /bin/sh. */
int lxm_user_resolve(int rootfd, const char *spec, struct lxm_user *out, struct lxm_error *err);

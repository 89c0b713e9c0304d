/* file: copying files into and out of a container, running or stopped.
 * Every container path is resolved inside the container's root
 * (util/inroot.h): a running one's as its init sees it (/proc/PID/root,
 * whatever the storage), a stopped one's through a private detached mount
 * of its storage. Symlinks in the tree never lead to a host path. Owners
 * go through the container's id map: uid 0 inside is root's subordinate
 * uid on the host for an unprivileged container. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "config/container.h"
#include "util/err.h"

struct lxm_file_opts {
    bool recursive;
    const char *uid; /* push: owner, a name or id of the container's passwd; NULL = 0 */
    const char *gid; /* push: group (name or id); NULL = the owner's primary group */
    int mode;        /* push: permission bits of files; -1 = the source's */
    bool create_dirs; /* push: make PATH's missing parent directories (root's, 0755) */
};

/* Copy host SRC to PATH inside: into PATH when it is a directory (or ends
 * in '/'), else as PATH (its parent must exist, or with o->create_dirs is
 * made, each missing directory in turn, inside the root like PATH itself,
 * owned by the container's root, mode 0755: LXD's `file push -p`). A file replaces what is
 * at PATH atomically (written beside it, renamed over it; a symlink there
 * is replaced, not followed). Directories need o->recursive; inside them
 * symlinks are copied as symlinks and other special files refused. */
int lxm_file_push(struct lxm_container *c, const char *src, const char *path,
                  const struct lxm_file_opts *o, struct lxm_error *err);

/* Copy PATH inside to host DST (into DST when it is a directory; "-" is
 * stdout, for a file). Symlinks along PATH are followed inside the
 * container; inside a directory they are copied as symlinks, and device
 * nodes, FIFOs and sockets are skipped (*skipped counts them). Host copies
 * are owned by the caller, with the source's permission bits. */
int lxm_file_pull(struct lxm_container *c, const char *path, const char *dst,
                  const struct lxm_file_opts *o, unsigned *skipped, struct lxm_error *err);

/* file edit, in two steps so the caller runs the editor in between (no
 * lock held): fetch copies the file (after following symlinks inside) to
 * out_fd and records what store needs; a missing file is empty and new
 * (0644, root). store writes in_fd's content back atomically with the
 * recorded owner and mode. */
struct lxm_file_copy {
    char *path;  /* the file itself (symlinks followed), inside */
    uid_t uid;   /* container ids */
    gid_t gid;
    mode_t mode;
};
int lxm_file_fetch(struct lxm_container *c, const char *path, int out_fd, struct lxm_file_copy *copy,
                   struct lxm_error *err);
int lxm_file_store(struct lxm_container *c, const struct lxm_file_copy *copy, int in_fd,
                   struct lxm_error *err);
void lxm_file_copy_clear(struct lxm_file_copy *copy);

/* The names in directory DIR inside (symlinks along it followed inside),
 * sorted, a directory's with a '/' after it; at most LXM_FILE_LIST_MAX.
 * For shell completion: it makes no process in the container, and a
 * container whose lock another command holds is -EBUSY at once. *names is
 * NULL for an empty directory. */
#define LXM_FILE_LIST_MAX 4096
int lxm_file_list(struct lxm_container *c, const char *dir, char ***names, struct lxm_error *err);

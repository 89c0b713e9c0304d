/* container: one container on disk: its directories, its config, its
 * lock (where lxm keeps things is paths.h). */
#pragma once

#include <stdbool.h>

#include "config/config.h"
#include "config/paths.h"
#include "util/err.h"

/* Per-container locations. Strings are owned by the struct. */
struct lxm_container {
    char *name;
    /* Host-global identity: cgroup dir, AppArmor profile, veth names. The
     * name alone for the FHS root; NAME + paths->instance under --root, so
     * a test's "c1" never meets the system's "c1" in /sys/fs/cgroup. */
    char *id;
    const struct lxm_paths *paths;
    char *dir;                  /* containers/NAME */
    char *config_file;          /* containers/NAME/config.yaml */
    char *rootfs;               /* containers/NAME/rootfs */
    char *run_dir;              /* run/NAME */
    char *log_dir;              /* log/NAME */
    int lock_fd;                /* RUN/.locks/NAME.lock, -1 unless locked */
    struct lxm_config *config;  /* NULL until lxm_container_load_config */
};

/* Validate the name and compute paths; touches nothing on disk. */
int lxm_container_new(const struct lxm_paths *paths, const char *name,
                      struct lxm_container **out, struct lxm_error *err);
bool lxm_container_exists(const struct lxm_container *c);

/* c's rootfs storage (rootfs/, or an overlay volume's upper/ and work/)
 * is made of real directories. A symlink there is refused, never
 * followed: export, copy, snapshot and start would otherwise act on
 * whatever it points to (the host's /, say). -ENOENT when there is none. */
int lxm_container_check_rootfs(const struct lxm_container *c, struct lxm_error *err);
/* lxm_container_new() of a container that must exist (has config.yaml):
 * -ENOENT "container 'x' not found" otherwise. */
int lxm_container_open(const struct lxm_paths *paths, const char *name,
                       struct lxm_container **out, struct lxm_error *err);
/* Load config.yaml (no profile merge). -ENOENT "container 'x' not found". */
int lxm_container_load_config(struct lxm_container *c, struct lxm_error *err);
/* The per-container lock: flock on RUN/.locks/NAME.lock, a file that is
 * never removed (so no command can wait on a lock file that another has
 * already replaced). Every command that changes a container's state holds
 * it from before its first look at that state to its last change; it
 * waits for the command that holds it. Idempotent: a holder locks again
 * at no cost (and the lock stays until unlock or free). */
int lxm_container_lock(struct lxm_container *c, struct lxm_error *err);
/* 0, or -EBUSY at once if another command holds it (list's cleanup of a
 * dead monitor, the monitor's removal of the run dir: best-effort work). */
int lxm_container_trylock(struct lxm_container *c);
/* lxm_container_open() with the lock held; existence is checked once the
 * lock is held. What every state-changing command of one container uses. */
int lxm_container_open_locked(const struct lxm_paths *paths, const char *name,
                              struct lxm_container **out, struct lxm_error *err);
/* Both locks, always in name order (no deadlock between copy a b and
 * copy b a); -EINVAL if a and b are the same name. */
int lxm_container_lock_pair(struct lxm_container *a, struct lxm_container *b,
                            struct lxm_error *err);
void lxm_container_unlock(struct lxm_container *c);
void lxm_container_free(struct lxm_container *c);
static inline void lxm_container_freep(struct lxm_container **c) { lxm_container_free(*c); }
#define _cleanup_container_ __attribute__((cleanup(lxm_container_freep)))

/* Names of all containers (sorted). */
int lxm_container_list_names(const struct lxm_paths *paths, char ***out, struct lxm_error *err);

/* container: where lxm keeps things (paths relocatable by --root), and one
 * container on disk: its directories, its config, its lock. */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "util/err.h"

struct lxm_paths {
    char *root;                 /* --root / LXM_ROOT, NULL = FHS */
    char *etc;                  /* /etc/lxm */
    char *global_config;        /* /etc/lxm/lxm.yaml */
    char *local_profiles;       /* /etc/lxm/profiles */
    char *containers;           /* /var/lib/lxm/containers */
    char *cache;                /* /var/cache/lxm (LXM_CACHE_DIR overrides) */
    char *images;               /* <cache>/images */
    char *run;                  /* /run/lxm */
    char *log;                  /* /var/log/lxm */
    char *instance;             /* "" for the FHS root, else "-<8 hex of --root>" */
    char *templates;            /* LXM_TEMPLATES_DIR or $(datadir)/lxm/templates */
    char *profiles;             /* LXM_PROFILES_DIR or $(datadir)/lxm/profiles */
};

/* root may be NULL (then LXM_ROOT, then FHS). */
int lxm_paths_init(struct lxm_paths *p, const char *root, struct lxm_error *err);
void lxm_paths_free(struct lxm_paths *p);

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
    int lock_fd;                /* -1 unless locked */
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
/* Take the per-container lock (run/NAME/lock, flock). wait=false gives
 * -EBUSY at once when another lxm command holds it. */
int lxm_container_lock(struct lxm_container *c, bool wait, struct lxm_error *err);
void lxm_container_unlock(struct lxm_container *c);
void lxm_container_free(struct lxm_container *c);
static inline void lxm_container_freep(struct lxm_container **c) { lxm_container_free(*c); }
#define _cleanup_container_ __attribute__((cleanup(lxm_container_freep)))

/* Names of all containers (sorted). */
int lxm_container_list_names(const struct lxm_paths *paths, char ***out, struct lxm_error *err);

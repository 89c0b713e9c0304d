/* cgroup: one interface over cgroup v2 (cgroup-v2.c) and v1 (cgroup-v1.c),
 * chosen per controller from what the host mounts. A container's cgroup is
 * "lxm/NAME" (below a delegated subtree on systemd v2 hosts). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "util/err.h"

struct lxm_cgroup;

struct lxm_cgroup_stats {
    int64_t memory_usage;       /* bytes, -1 = unknown */
    int64_t memory_limit;       /* bytes, -1 = none */
    int64_t memory_peak;
    int64_t swap_usage;
    int64_t cpu_usage_ns;
    int64_t pids_current;
    int64_t pids_limit;         /* -1 = none */
    int64_t oom_kills;
    int64_t io_read_bytes;
    int64_t io_write_bytes;
};

/* Create (or reuse, after a crash) the container's cgroups and apply the
 * limits. Nothing is left behind on failure. */
int lxm_cgroup_create(const char *name, const struct lxm_limits *limits,
                      struct lxm_cgroup **out, struct lxm_error *err);
/* Open an existing container cgroup (-ENOENT if there is none). */
int lxm_cgroup_open(const char *name, struct lxm_cgroup **out, struct lxm_error *err);
/* O_PATH|O_DIRECTORY fd of the container's cgroup2 directory for
 * clone3(CLONE_INTO_CGROUP), or -1 when there is no usable cgroup2. */
int lxm_cgroup_v2_fd(struct lxm_cgroup *cg);
/* Host path of the container's cgroup2 directory, or NULL. */
const char *lxm_cgroup_v2_path(struct lxm_cgroup *cg);
/* Move a process into every hierarchy of the container. */
int lxm_cgroup_attach(struct lxm_cgroup *cg, pid_t pid, struct lxm_error *err);
/* Apply (live) limits; keys left unset are not touched. */
int lxm_cgroup_set_limits(struct lxm_cgroup *cg, const struct lxm_limits *limits, struct lxm_error *err);
int lxm_cgroup_stats(struct lxm_cgroup *cg, struct lxm_cgroup_stats *st, struct lxm_error *err);
int lxm_cgroup_freeze(struct lxm_cgroup *cg, bool frozen, struct lxm_error *err);
int lxm_cgroup_is_frozen(struct lxm_cgroup *cg);   /* 1, 0, or -errno */
/* Hand ownership of the container's cgroup2 subtree to uid/gid (user ns). */
int lxm_cgroup_chown(struct lxm_cgroup *cg, uid_t uid, gid_t gid, struct lxm_error *err);
/* Kill what is left and remove every directory. */
int lxm_cgroup_destroy(struct lxm_cgroup *cg, struct lxm_error *err);
void lxm_cgroup_free(struct lxm_cgroup *cg);

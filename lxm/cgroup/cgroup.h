/* cgroup: one interface over cgroup v2 (cgroup-v2.c) and v1 (cgroup-v1.c),
 * chosen per controller from what the host mounts. A container's cgroup is
 * "lxm/NAME" at the top of every hierarchy (docs/cgroups.md says why);
 * $LXM_CGROUP_PARENT replaces "lxm" so a test suite never shares a cgroup
 * with a host container of the same name. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
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
/* Directory fd (O_RDONLY|O_DIRECTORY, owned by cg) of the container's
 * cgroup2 directory for clone3(CLONE_INTO_CGROUP) and BPF device programs,
 * or -1 when there is no usable cgroup2. */
int lxm_cgroup_v2_fd(struct lxm_cgroup *cg);
/* Host path of the container's cgroup2 directory, or NULL. */
const char *lxm_cgroup_v2_path(struct lxm_cgroup *cg);
/* Move a process into every hierarchy of the container. */
int lxm_cgroup_attach(struct lxm_cgroup *cg, pid_t pid, struct lxm_error *err);
/* Apply (live) limits; keys left unset are not touched. */
int lxm_cgroup_set_limits(struct lxm_cgroup *cg, const struct lxm_limits *limits, struct lxm_error *err);
/* Apply a whole limits block live: like set_limits, but unset keys go back
 * to the kernel default (what `config unset limits.X` on a running
 * container means). Everything is checked before anything is written. */
int lxm_cgroup_apply_limits(struct lxm_cgroup *cg, const struct lxm_limits *limits,
                            struct lxm_error *err);
int lxm_cgroup_stats(struct lxm_cgroup *cg, struct lxm_cgroup_stats *st, struct lxm_error *err);
int lxm_cgroup_freeze(struct lxm_cgroup *cg, bool frozen, struct lxm_error *err);
int lxm_cgroup_is_frozen(struct lxm_cgroup *cg);   /* 1, 0, or -errno */
/* Before a kill: thaw the container and every group below it that its
 * guest froze (v1 freezer tasks outlive SIGKILL, and a pid namespace's
 * init cannot finish exiting while one of its processes is frozen). v2
 * frozen tasks die of SIGKILL: there only the container's own group. */
void lxm_cgroup_thaw_all(struct lxm_cgroup *cg);
/* The same for the container called name, without opening its cgroup:
 * one read of its freezer file (-ENOENT when there is none). For a
 * command that asks about many containers; the host's layout is read
 * once per process. */
int lxm_cgroup_peek_frozen(const char *name);
/* An fd of the file that says whether cg is frozen, for a reader that has
 * no struct lxm_cgroup (the idle monitor): v1 freezer.state ("FROZEN"),
 * v2 cgroup.events (a line "frozen 1"); -errno. */
int lxm_cgroup_frozen_fd(struct lxm_cgroup *cg);
/* Hand ownership of the container's cgroup2 subtree to uid/gid (user ns). */
int lxm_cgroup_chown(struct lxm_cgroup *cg, uid_t uid, gid_t gid, struct lxm_error *err);
/* A process in the container's cgroups (any hierarchy), 0 if none. */
pid_t lxm_cgroup_any_pid(struct lxm_cgroup *cg);
/* Kill what is left and remove the container's directories (the shared
 * parent stays: lxm_cgroup_prune_parent). */
int lxm_cgroup_destroy(struct lxm_cgroup *cg, struct lxm_error *err);
/* Remove the parent of the containers' cgroups (lxm_cg_parent()) in every
 * hierarchy where it is empty: when a container is deleted. Best effort. */
void lxm_cgroup_prune_parent(void);
void lxm_cgroup_free(struct lxm_cgroup *cg);
static inline void lxm_cgroup_freep(struct lxm_cgroup **cg) { lxm_cgroup_free(*cg); }
#define _cleanup_cgroup_ __attribute__((cleanup(lxm_cgroup_freep)))

/* The container's directory in the v1 hierarchy that carries `controller`
 * ("devices", "memory", ...), or NULL when that controller is not on v1. */
const char *lxm_cgroup_v1_path(struct lxm_cgroup *cg, const char *controller);

/* OOM kills inside the container so far (v2 memory.events oom_kill, v1
 * memory.oom_control oom_kill), or -errno when the host cannot tell. */
int64_t lxm_cgroup_oom_kills(struct lxm_cgroup *cg);

/* An fd (owned by the caller, O_CLOEXEC) that becomes ready on memory
 * events such as an OOM kill: poll it for *events (POLLPRI on cgroup2's
 * memory.events, POLLIN on a v1 eventfd registered for memory.oom_control).
 * After each wakeup call lxm_cgroup_memory_events_ack() (re-arms / drains
 * it) and compare lxm_cgroup_oom_kills() with the last value seen.
 * -EOPNOTSUPP without a memory controller. */
int lxm_cgroup_memory_events_fd(struct lxm_cgroup *cg, short *events, struct lxm_error *err);
void lxm_cgroup_memory_events_ack(struct lxm_cgroup *cg, int fd);

/* The parent of every container's cgroup: $LXM_CGROUP_PARENT or "lxm". */
const char *lxm_cg_parent(void);
/* The names of the cgroups below the parent (a container's id each), in
 * any hierarchy, sorted, each once (*names NULL when there is none). What
 * is left of a container whose state file was lost is found by them
 * (runtime/start-lost.h). */
int lxm_cgroup_list(char ***names, struct lxm_error *err);

/* The host's cgroup layout for people ("memory pids ... on v1, cpuset on
 * cgroup2 at /sys/fs/cgroup/unified"; caller frees) and the roles no
 * hierarchy serves ("" when every one is served). For `lxm doctor`. */
int lxm_cgroup_describe_host(char **layout, char **missing, struct lxm_error *err);

/* start-lost: the cgroups of a container that is not running. The monitor
 * writes the state file before it makes the cgroups and removes it after
 * them, so a cgroup whose container has no state file was left by a record
 * that got lost: the run dir wiped without a reboot, or a crash between
 * the two steps of a teardown. A stale record (monitor and init dead, the
 * state file kept because its cgroup could not be removed) is the other
 * kind. Neither is looked for by every command (that would read every
 * hierarchy at each start): `lxm doctor` lists them and --fix removes them,
 * `lxm delete NAME` and `lxm stop NAME` remove those of NAME, and
 * `lxm start NAME` reuses an empty set (its limits reset in full).
 *
 * A process still in such a cgroup is a container that runs without a
 * monitor and without a record: it is never killed behind the user's back.
 * doctor --fix, delete and start refuse and say so; `lxm stop NAME` and
 * `lxm delete -f NAME` kill it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config/container.h"
#include "util/err.h"

struct lxm_lost_cgroup {
    char *name;     /* the container */
    char *id;       /* its cgroup's name below the parent */
    bool deleted;   /* no such container any more */
    bool stale;     /* a stale record (monitor and init gone) */
    pid_t pid;      /* a process still in the cgroup, 0 if none */
};

/* Every lost cgroup of this root's containers (the cgroup's name carries
 * the root's instance, paths.h; under the FHS root a name with another
 * root's suffix is left alone unless that container is ours). */
int lxm_lost_cgroups_find(const struct lxm_paths *paths, struct lxm_lost_cgroup **out, size_t *n,
                          struct lxm_error *err);
void lxm_lost_cgroups_free(struct lxm_lost_cgroup *v, size_t n);

/* Remove the lost cgroup of container name, under its lock, after looking
 * again: a stale record is reaped (lxm_runtime_reap); a cgroup with a
 * process in it is -EBUSY unless kill. 0 when there is nothing (left). */
int lxm_lost_cgroup_remove(const struct lxm_paths *paths, const char *name, bool kill,
                           struct lxm_error *err);

/* With c locked and not running (no state file): remove its cgroups if
 * any are left; a process in them is -EBUSY unless kill, and then killed
 * (*killed: its pid, else 0). */
int lxm_runtime_drop_cgroup(struct lxm_container *c, bool kill, pid_t *killed,
                            struct lxm_error *err);

/* nesting: what security.nesting adds for runtimes inside a container
 * (nesting.c says what and why; docs/security.md, "Nesting"). */
#pragma once

#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "util/err.h"

/* Monitor side, before init is released: hand the container's directory of
 * each delegated cgroup v1 hierarchy (not devices) to container root. */
int lxm_nesting_delegate(struct lxm_cgroup *cg, uid_t uid, gid_t gid, struct lxm_error *err);

/* Child side, after /dev is mounted and before pivot_root: a fully visible
 * proc and sysfs at /dev/.lxm/{proc,sys} and the delegated v1 directories
 * at /dev/.lxm/cgroup/CONTROLLERS. container_id names the cgroups. */
int lxm_nesting_mounts(int rootfd, const char *container_id, struct lxm_error *err);

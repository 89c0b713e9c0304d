/* devices: which device nodes a container may open or create — the
 * standard set plus the policy's `devices:` — enforced by the v1 devices
 * cgroup and/or a cgroup2 BPF device program. */
#pragma once

#include <stddef.h>

#include "config/config.h"
#include "util/err.h"

/* v1_devices_dir: the container's dir in the v1 devices hierarchy, or
 * NULL; v2_cgroup_fd: a directory fd of its cgroup2 dir, or -1. Applies
 * to whichever is given (both when both are). */
int lxm_devices_apply(const struct lxm_policy *p, const char *v1_devices_dir, int v2_cgroup_fd,
                      struct lxm_error *err);
/* One policy `devices:` entry ("fuse", "net/tun", "c 10:229 rwm") as a v1
 * devices.allow line; -EINVAL naming the entry when unknown. */
int lxm_devices_rule(const char *spec, char *buf, size_t len, struct lxm_error *err);
/* The same for a container's cgroup (lxm_cgroup_create): its v1 devices
 * directory and/or its cgroup2 directory, whichever the host has. */
struct lxm_cgroup;
int lxm_devices_apply_cgroup(const struct lxm_policy *p, struct lxm_cgroup *cg, struct lxm_error *err);

/* cgroup-layout-cache: the host's cgroup layout (which hierarchies are
 * mounted where) for `lxm attach`, kept in RUN/.cgroup-layout so that an
 * attach need not read and parse /proc/self/mountinfo (0.1-0.15 ms of
 * its 2-2.5 ms here). An entry is used only while it still describes the
 * host:
 *   - the hierarchies that exist (/proc/self/cgroup without the paths)
 *     are the ones it was written with: a hierarchy mounted since is a
 *     miss;
 *   - each mount point is still the same mount (statx mount id and
 *     device): unmounted, remounted or covered by another mount is a miss;
 *   - it has a mount for each of those v1 hierarchies, and a cgroup2
 *     mount (a cgroup2 mounted later would not show in /proc/self/cgroup);
 *   - the file is root's and written by nobody else.
 * And lxm_cgroup_open_entry() uses it only when the container has its
 * directory in every cached hierarchy; otherwise it reads mountinfo like
 * lxm_cgroup_open(). */
#pragma once

#include "cgroup/cgroup-enter.h"

/* lxm_cgroup_open(name) and lxm_cgroup_entry_open() in one, the layout
 * from run/.cgroup-layout when it is still right (and written there when
 * it was not). run may be NULL (no cache). -ENOENT: no cgroup of that
 * name on this host (*out NULL, e untouched). */
int lxm_cgroup_open_entry(const char *name, const char *run, struct lxm_cgroup **out,
                          struct lxm_cgroup_entry *e, struct lxm_error *err);

/* lxcfs: container views of /proc from a running LXCFS. When the global
 * key `lxcfs:` (default /var/lib/lxcfs) names a live lxcfs FUSE mount,
 * the child binds its proc/meminfo, cpuinfo, stat, uptime, loadavg,
 * diskstats, swaps and sys/devices/system/cpu/online over the
 * container's, so free, top, uptime and nproc show the container's
 * cgroup limits and its own uptime. Without it nothing is bound and the
 * container starts as before. `lxcfs: false` turns it off. */
#pragma once

#include <stdbool.h>

#include "container.h"
#include "util/err.h"

#define LXM_LXCFS_DEFAULT "/var/lib/lxcfs"

/* The files bound, relative to the lxcfs mount and to "/". */
extern const char *const lxm_lxcfs_files[];

/* The global value turns the views off ("false", "off", "no"). */
bool lxm_lxcfs_off(const char *value);

/* 0 when an lxcfs FUSE mount serves dir; -ENOENT when nothing is
 * mounted there, -ENOTCONN when its daemon is gone, other -errno; err
 * says what was found. */
int lxm_lxcfs_probe(const char *dir, struct lxm_error *err);

/* In the child, after /proc and /sys are mounted below rootfd and before
 * pivot_root: bind the lxcfs files over the container's. Best effort:
 * one debug line says what happened; never fails the start. Returns the
 * number of files bound. */
int lxm_lxcfs_setup(int rootfd, const struct lxm_paths *paths);

/* lxcfs: container views of /proc from a running LXCFS. When the global
 * key `lxcfs:` (default /var/lib/lxcfs) names a live lxcfs FUSE mount,
 * the child binds its proc/meminfo, cpuinfo, stat, uptime, loadavg,
 * diskstats, swaps and sys/devices/system/cpu/online over the
 * container's, so free, top, uptime and nproc show the container's
 * cgroup limits and its own uptime. Without it nothing is bound and the
 * container starts as before. `lxcfs: false` turns it off. */
#pragma once

#include <stdbool.h>

#include "config/container.h"
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

/* In the monitor, right after the rootfs went to the waiting child over
 * sock: one byte, a mask of the views that follow, then a detached copy
 * of each (made here, as the host's root, who can reach the mount point
 * and read the global config). One debug line says why none when lxcfs is
 * off or not running. 0 or -errno of the socket. */
int lxm_lxcfs_send(const struct lxm_paths *paths, int sock);

/* In the child, after /proc and /sys are mounted below rootfd and before
 * pivot_root: receive what lxm_lxcfs_send sent and attach each view over
 * the container's file. Best effort past the socket: a view that cannot
 * be attached is named in one debug line. */
int lxm_lxcfs_setup(int rootfd, int sock, struct lxm_error *err);

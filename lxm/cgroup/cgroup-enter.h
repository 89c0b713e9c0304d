/* cgroup-enter: how a new process gets into a container's cgroups without
 * the kernel's global cgroup lock. On cgroup2 it is created there by
 * clone3(CLONE_INTO_CGROUP); on each v1 hierarchy it writes "0" to the
 * "tasks" file itself: a single-threaded process that moves itself needs
 * no threadgroup lock, where a write of a pid to cgroup.procs takes the
 * lock that every fork and exit on the host takes too, once per hierarchy
 * (ten times on a hybrid host; with a busy host each waits) and, after a
 * quiet spell, waits a whole RCU grace period (5-10 ms here). The files
 * are opened by the caller beforehand (host root, host mount namespace),
 * so the process can join from inside the container's namespaces: v1
 * checks the opener's credentials. */
#pragma once

#include "cgroup/cgroup.h"

struct lxm_cgroup_entry {
    int v2_dir;       /* clone3's cgroup, -1: no cgroup2 directory */
    int v1_tasks[16]; /* open for writing, one per v1 hierarchy */
    const char *v1_dir[16];
    int n_v1;
    /* A shared flock() while the tasks files chosen stay right (-1: none,
     * or released): a hierarchy where the container has no directory yet
     * is joined at the parent's (cgroup-lazy.c). */
    int lock_fd;
};

/* Open what the new process needs; the cgroup2 directory is a leaf below
 * the container's ("lxm-attach") when the guest has enabled controllers in
 * its root (no process may live there then). e is cleared first. */
int lxm_cgroup_entry_open(struct lxm_cgroup *cg, struct lxm_cgroup_entry *e, struct lxm_error *err);
/* The v1 hierarchies only (e->v2_dir stays -1): for init, which the
 * monitor clones into the container's cgroup2 directory itself
 * (lxm_cgroup_v2_fd). */
int lxm_cgroup_entry_open_v1(struct lxm_cgroup *cg, struct lxm_cgroup_entry *e,
                             struct lxm_error *err);
/* In the new process (single-threaded): join every v1 hierarchy, then
 * drop the lock (for the process that opened e too). */
int lxm_cgroup_entry_join_v1(const struct lxm_cgroup_entry *e, struct lxm_error *err);
void lxm_cgroup_entry_close(struct lxm_cgroup_entry *e);

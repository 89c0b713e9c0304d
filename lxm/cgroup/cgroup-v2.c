/* cgroup-v2: the unified hierarchy backend. Controllers are enabled top
 * down through cgroup.subtree_control; freezing, killing and CPU usage are
 * core cgroup2 files that exist even where no controller is enabled. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/io.h"

#define FREEZE_TIMEOUT_MS 10000

/* The controllers lxm enables for its containers, with the role each one
 * serves. Others (hugetlb, rdma, misc) are left for the guest's own parent
 * to decide. */
static const struct {
    const char *name;
    enum lxm_cg_role role;
} v2_controllers[] = {
    {"cpuset", LXM_CG_CPUSET}, {"cpu", LXM_CG_CPU},   {"io", LXM_CG_IO},
    {"memory", LXM_CG_MEMORY}, {"pids", LXM_CG_PIDS},
};

static bool has_token(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        p += strspn(p, " \t\n+");
        size_t len = strcspn(p, " \t\n");
        if (len == n && strncmp(p, word, n) == 0)
            return true;
        p += len;
    }
    return false;
}

static unsigned v2_roles_available(const struct lxm_cg_mount *m)
{
    unsigned roles = LXM_CG_ROLE(LXM_CG_CPUACCT) | LXM_CG_ROLE(LXM_CG_FREEZER);
    _cleanup_free_ char *ctrl = NULL;
    if (lxm_cg_read(m->path, "cgroup.controllers", &ctrl) < 0)
        return roles;
    for (size_t i = 0; i < ARRAY_SIZE(v2_controllers); i++)
        if (has_token(ctrl, v2_controllers[i].name))
            roles |= LXM_CG_ROLE(v2_controllers[i].role);
    return roles;
}

/* Enable in parent what the container may use and parent offers. One write
 * first (the common case); one by one if the kernel refuses the batch, so a
 * single refused controller does not cost the others. */
static int v2_prepare_dir(const struct lxm_cg_hier *h, const char *parent, const char *dir,
                          struct lxm_error *err)
{
    (void)h;
    (void)dir;
    (void)err;
    _cleanup_free_ char *avail = NULL, *enabled = NULL;
    if (lxm_cg_read(parent, "cgroup.controllers", &avail) < 0)
        return 0;
    if (lxm_cg_read(parent, "cgroup.subtree_control", &enabled) < 0)
        return 0;
    char want[256] = "";
    for (size_t i = 0; i < ARRAY_SIZE(v2_controllers); i++) {
        const char *c = v2_controllers[i].name;
        if (has_token(avail, c) && !has_token(enabled, c))
            snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s+%s", *want ? " " : "",
                     c);
    }
    if (!*want || lxm_cg_write(parent, "cgroup.subtree_control", want, NULL) == 0)
        return 0;
    for (char *p = want; *p;) {
        size_t len = strcspn(p, " ");
        char one[32];
        snprintf(one, sizeof(one), "%.*s", (int)len, p);
        struct lxm_error e;
        if (lxm_cg_write(parent, "cgroup.subtree_control", one, &e) < 0)
            lxm_warn("cgroup: cannot enable %s: %s", one + 1, e.msg);
        p += len + strspn(p + len, " ");
    }
    return 0;
}

static char *parent_of(const char *dir)
{
    const char *slash = strrchr(dir, '/');
    return slash ? strndup(dir, (size_t)(slash - dir)) : strdup(".");
}

static int v2_check_limits(const struct lxm_cg_hier *h, unsigned roles, const struct lxm_limits *l,
                           struct lxm_error *err)
{
    _cleanup_free_ char *ctrl = NULL;
    (void)lxm_cg_read(h->dir, "cgroup.controllers", &ctrl);
    for (size_t i = 0; i < ARRAY_SIZE(v2_controllers); i++) {
        enum lxm_cg_role r = v2_controllers[i].role;
        bool wanted = (r == LXM_CG_MEMORY && (l->memory >= 0 || l->memory_swap >= 0)) ||
                      (r == LXM_CG_CPU && (l->cpu >= 0 || l->cpu_weight >= 0)) ||
                      (r == LXM_CG_CPUSET && l->cpuset) || (r == LXM_CG_PIDS && l->pids >= 0);
        if ((roles & LXM_CG_ROLE(r)) && wanted && !has_token(ctrl, v2_controllers[i].name))
            return lxm_error_set(err, EOPNOTSUPP,
                                 "limits: the %s controller is not enabled "
                                 "for %s",
                                 v2_controllers[i].name, h->dir);
    }
    if ((roles & LXM_CG_ROLE(LXM_CG_MEMORY)) && l->memory_swap > 0 &&
        !lxm_cg_exists(h->dir, "memory.swap.max"))
        return lxm_error_set(err, EOPNOTSUPP,
                             "limits.memory_swap: this kernel does not account "
                             "swap (no memory.swap.max)");
    if ((roles & LXM_CG_ROLE(LXM_CG_CPUSET)) && l->cpuset) {
        _cleanup_free_ char *parent = parent_of(h->dir), *avail = NULL;
        if (!parent || lxm_cg_read(parent, "cpuset.cpus.effective", &avail) < 0)
            return lxm_error_set(err, EOPNOTSUPP,
                                 "limits.cpuset: cannot read the CPUs "
                                 "available to %s",
                                 h->dir);
        return lxm_cg_check_cpuset(l->cpuset, avail, err);
    }
    return 0;
}

/* Write when the key is set, or reset it to the kernel default when asked;
 * a file that does not exist is only an error for a key that is set. */
static int put(const char *dir, const char *file, const char *value, bool set,
               struct lxm_error *err)
{
    if (!set && !lxm_cg_exists(dir, file))
        return 0;
    return lxm_cg_write(dir, file, value, err);
}

static int v2_set_memory(const char *dir, const struct lxm_limits *l, bool reset,
                         struct lxm_error *err)
{
    char buf[64];
    int r = 0;
    if (l->memory != LXM_UNSET || reset) {
        lxm_cg_format_max(l->memory, buf, sizeof(buf));
        r = put(dir, "memory.max", buf, l->memory != LXM_UNSET, err);
    }
    if (r >= 0 && (l->memory_swap != LXM_UNSET || reset)) {
        lxm_cg_format_max(l->memory_swap, buf, sizeof(buf));
        /* No swap accounting and "no swap" asked: nothing can swap anyway
         * beyond what the host allows; only a positive amount is an error
         * (reported by check_limits). */
        r = put(dir, "memory.swap.max", buf, l->memory_swap > 0, err);
    }
    return r;
}

static int v2_set_cpu(const char *dir, const struct lxm_limits *l, bool reset,
                      struct lxm_error *err)
{
    char buf[64];
    int r = 0;
    if (l->cpu >= 0 || reset) {
        lxm_cg_format_cpu_max(l->cpu, buf, sizeof(buf));
        r = put(dir, "cpu.max", buf, l->cpu >= 0, err);
    }
    if (r >= 0 && (l->cpu_weight != LXM_UNSET || reset)) {
        snprintf(buf, sizeof(buf), "%lld", (long long)(l->cpu_weight >= 0 ? l->cpu_weight : 100));
        r = put(dir, "cpu.weight", buf, l->cpu_weight != LXM_UNSET, err);
    }
    return r;
}

static int v2_set_io(const char *dir, const struct lxm_limits *l, bool reset, struct lxm_error *err)
{
    if (l->io_weight == LXM_UNSET && !reset)
        return 0;
    long long w = l->io_weight >= 0 ? l->io_weight : 100;
    char buf[64];
    /* io.weight comes from iocost, io.bfq.weight from the BFQ scheduler;
     * with neither, there is nothing that honours a weight. */
    if (lxm_cg_exists(dir, "io.weight")) {
        snprintf(buf, sizeof(buf), "default %lld", w);
        return lxm_cg_write(dir, "io.weight", buf, err);
    }
    if (lxm_cg_exists(dir, "io.bfq.weight")) {
        snprintf(buf, sizeof(buf), "%lld", w > 1000 ? 1000 : w);
        return lxm_cg_write(dir, "io.bfq.weight", buf, err);
    }
    if (l->io_weight != LXM_UNSET)
        lxm_warn("limits.io_weight: no io.weight or io.bfq.weight in %s (needs iocost or the "
                 "BFQ scheduler), not applied",
                 dir);
    return 0;
}

static int v2_set_limits(const struct lxm_cg_hier *h, unsigned roles, const struct lxm_limits *l,
                         bool reset, struct lxm_error *err)
{
    int r = 0;
    if (roles & LXM_CG_ROLE(LXM_CG_MEMORY))
        r = v2_set_memory(h->dir, l, reset, err);
    if (r >= 0 && (roles & LXM_CG_ROLE(LXM_CG_CPU)))
        r = v2_set_cpu(h->dir, l, reset, err);
    if (r >= 0 && (roles & LXM_CG_ROLE(LXM_CG_CPUSET)) && (l->cpuset || reset))
        r = put(h->dir, "cpuset.cpus", l->cpuset ? l->cpuset : "\n", l->cpuset != NULL, err);
    if (r >= 0 && (roles & LXM_CG_ROLE(LXM_CG_PIDS)) && (l->pids != LXM_UNSET || reset)) {
        char buf[64];
        lxm_cg_format_max(l->pids, buf, sizeof(buf));
        r = put(h->dir, "pids.max", buf, l->pids != LXM_UNSET, err);
    }
    if (r >= 0 && (roles & LXM_CG_ROLE(LXM_CG_IO)))
        r = v2_set_io(h->dir, l, reset, err);
    return r;
}

static void read_kv(const char *dir, const char *file, const char *key, int64_t *out)
{
    _cleanup_free_ char *text = NULL;
    int64_t v;
    if (lxm_cg_read(dir, file, &text) == 0 && lxm_cg_parse_kv(text, key, &v) == 0)
        *out = v;
}

static void read_num(const char *dir, const char *file, int64_t *out)
{
    int64_t v;
    if (lxm_cg_read_int64(dir, file, &v) == 0)
        *out = v;
}

static void v2_stats(const struct lxm_cg_hier *h, unsigned roles, struct lxm_cgroup_stats *st)
{
    if (roles & LXM_CG_ROLE(LXM_CG_MEMORY)) {
        read_num(h->dir, "memory.current", &st->memory_usage);
        read_num(h->dir, "memory.max", &st->memory_limit);
        read_num(h->dir, "memory.peak", &st->memory_peak);
        read_num(h->dir, "memory.swap.current", &st->swap_usage);
        read_kv(h->dir, "memory.events", "oom_kill", &st->oom_kills);
    }
    if (roles & LXM_CG_ROLE(LXM_CG_CPUACCT)) {
        int64_t us = -1;
        read_kv(h->dir, "cpu.stat", "usage_usec", &us);
        if (us >= 0)
            st->cpu_usage_ns = us * 1000;
    }
    if (roles & LXM_CG_ROLE(LXM_CG_PIDS)) {
        read_num(h->dir, "pids.current", &st->pids_current);
        read_num(h->dir, "pids.max", &st->pids_limit);
    }
    _cleanup_free_ char *io = NULL;
    if ((roles & LXM_CG_ROLE(LXM_CG_IO)) && lxm_cg_read(h->dir, "io.stat", &io) == 0)
        lxm_cg_parse_io_stat(io, &st->io_read_bytes, &st->io_write_bytes);
}

static int v2_is_frozen(const struct lxm_cg_hier *h)
{
    _cleanup_free_ char *ev = NULL;
    int64_t v;
    int r = lxm_cg_read(h->dir, "cgroup.events", &ev);
    if (r < 0)
        return r;
    return lxm_cg_parse_kv(ev, "frozen", &v) == 0 ? v == 1 : -EOPNOTSUPP;
}

/* cgroup.events changes (POLLPRI) when "frozen" flips; poll it rather than
 * sleep, with a short tick in case the notification raced our read. */
static int v2_wait_frozen(const struct lxm_cg_hier *h, bool frozen)
{
    _cleanup_free_ char *path = xasprintf("%s/cgroup.events", h->dir);
    _cleanup_close_ int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    int64_t deadline = lxm_now_ms() + FREEZE_TIMEOUT_MS;
    for (;;) {
        int r = v2_is_frozen(h);
        if (r < 0 || r == frozen)
            return r < 0 ? r : 0;
        if (lxm_now_ms() > deadline)
            return -ETIMEDOUT;
        if (fd >= 0) {
            char buf[256];
            struct pollfd p = {.fd = fd, .events = POLLPRI};
            (void)!pread(fd, buf, sizeof(buf), 0);
            (void)poll(&p, 1, 100);
        } else {
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
}

static int v2_freeze(const struct lxm_cg_hier *h, bool frozen, struct lxm_error *err)
{
    if (!lxm_cg_exists(h->dir, "cgroup.freeze"))
        return lxm_error_set(err, EOPNOTSUPP, "%s: this kernel has no cgroup.freeze in %s",
                             frozen ? "freeze" : "unfreeze", h->dir);
    int r = lxm_cg_write(h->dir, "cgroup.freeze", frozen ? "1" : "0", err);
    if (r < 0)
        return r;
    r = v2_wait_frozen(h, frozen);
    if (r == -ETIMEDOUT && frozen) {
        (void)lxm_cg_write(h->dir, "cgroup.freeze", "0", NULL);
        return lxm_error_set(err, ETIMEDOUT, "freeze: processes in %s did not stop within %d s",
                             h->dir, FREEZE_TIMEOUT_MS / 1000);
    }
    if (r < 0)
        return lxm_error_errno(err, -r, "%s: wait for %s/cgroup.events",
                               frozen ? "freeze" : "unfreeze", h->dir);
    return 0;
}

static int v2_kill_all(const struct lxm_cg_hier *h)
{
    /* cgroup.kill (5.14) kills the whole subtree at once, including
     * processes forking as we go. */
    return lxm_cg_write(h->dir, "cgroup.kill", "1", NULL) == 0 ? 1 : 0;
}

static int v2_memory_events_fd(const struct lxm_cg_hier *h, short *events, struct lxm_error *err)
{
    _cleanup_free_ char *path = xasprintf("%s/memory.events", h->dir);
    if (!path)
        return lxm_error_errno(err, ENOMEM, "memory events");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s", path);
    *events = POLLPRI;
    return fd;
}

static void v2_memory_events_ack(const struct lxm_cg_hier *h, int fd)
{
    (void)h;
    char buf[512];
    /* kernfs re-arms POLLPRI once the file is read again. */
    (void)!pread(fd, buf, sizeof(buf), 0);
}

const struct lxm_cg_ops lxm_cg_v2_ops = {
    .version = 2,
    .roles_available = v2_roles_available,
    .prepare_dir = v2_prepare_dir,
    .check_limits = v2_check_limits,
    .set_limits = v2_set_limits,
    .stats = v2_stats,
    .freeze = v2_freeze,
    .is_frozen = v2_is_frozen,
    .kill_all = v2_kill_all,
    .memory_events_fd = v2_memory_events_fd,
    .memory_events_ack = v2_memory_events_ack,
};

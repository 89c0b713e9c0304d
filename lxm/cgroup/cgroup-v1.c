/* cgroup-v1: the legacy per-controller hierarchies (memory, cpu, cpuacct,
 * cpuset, pids, blkio, freezer, devices, named ones). Translates lxm's
 * cgroup2-style limits into v1 files: cpu.shares from a weight,
 * memory.memsw from memory + swap, cfs quota/period. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#define FREEZE_TIMEOUT_MS 10000

static const struct {
    const char *name;
    enum lxm_cg_role role;
} v1_controllers[] = {
    {"memory", LXM_CG_MEMORY},   {"cpu", LXM_CG_CPU},         {"cpuacct", LXM_CG_CPUACCT},
    {"cpuset", LXM_CG_CPUSET},   {"pids", LXM_CG_PIDS},       {"blkio", LXM_CG_IO},
    {"freezer", LXM_CG_FREEZER}, {"devices", LXM_CG_DEVICES},
};

static bool opt_has(const char *opts, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = opts; p && *p; p = strchr(p, ','), p = p ? p + 1 : NULL)
        if (strncmp(p, word, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

static unsigned v1_roles_available(const struct lxm_cg_mount *m)
{
    unsigned roles = 0;
    for (size_t i = 0; i < ARRAY_SIZE(v1_controllers); i++)
        if (opt_has(m->opts, v1_controllers[i].name))
            roles |= LXM_CG_ROLE(v1_controllers[i].role);
    return roles;
}

static bool blank(const char *s)
{
    return !s || strspn(s, " \t\n") == strlen(s);
}

/* A new v1 cpuset starts with no CPUs and no memory nodes, and no task can
 * join it until both are filled in: inherit the parent's. */
static int copy_from_parent(const char *parent, const char *dir, const char *file,
                            struct lxm_error *err)
{
    _cleanup_free_ char *mine = NULL, *theirs = NULL;
    if (lxm_cg_read(dir, file, &mine) == 0 && !blank(mine))
        return 0;
    int r = lxm_cg_read(parent, file, &theirs);
    if (r < 0)
        return lxm_error_errno(err, -r, "read %s/%s", parent, file);
    if (blank(theirs))
        return lxm_error_set(err, EINVAL, "%s/%s is empty", parent, file);
    return lxm_cg_write(dir, file, theirs, err);
}

static int v1_prepare_dir(const struct lxm_cg_hier *h, const char *parent, const char *dir,
                          struct lxm_error *err)
{
    if (!opt_has(h->opts, "cpuset"))
        return 0;
    int r = copy_from_parent(parent, dir, "cpuset.cpus", err);
    if (r >= 0)
        r = copy_from_parent(parent, dir, "cpuset.mems", err);
    return r;
}

static char *parent_of(const char *dir)
{
    const char *slash = strrchr(dir, '/');
    return slash ? strndup(dir, (size_t)(slash - dir)) : strdup(".");
}

static int v1_check_limits(const struct lxm_cg_hier *h, unsigned roles, const struct lxm_limits *l,
                           struct lxm_error *err)
{
    if ((roles & LXM_CG_ROLE(LXM_CG_MEMORY)) && l->memory_swap > 0 &&
        !lxm_cg_exists(h->dir, "memory.memsw.limit_in_bytes"))
        return lxm_error_set(err, EOPNOTSUPP,
                             "limits.memory_swap: this kernel does not account "
                             "swap (no memory.memsw.limit_in_bytes; boot with swapaccount=1)");
    if ((roles & LXM_CG_ROLE(LXM_CG_CPUSET)) && l->cpuset) {
        _cleanup_free_ char *parent = parent_of(h->dir), *avail = NULL;
        if (!parent || (lxm_cg_read(parent, "cpuset.effective_cpus", &avail) < 0 &&
                        lxm_cg_read(parent, "cpuset.cpus", &avail) < 0))
            return lxm_error_set(err, EOPNOTSUPP,
                                 "limits.cpuset: cannot read the CPUs "
                                 "available to %s",
                                 h->dir);
        return lxm_cg_check_cpuset(l->cpuset, avail, err);
    }
    return 0;
}

static int write_num(const char *dir, const char *file, int64_t v, struct lxm_error *err)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", (long long)v); /* -1 = unlimited in v1 */
    return lxm_cg_write(dir, file, buf, err);
}

static int write_mem_limit(const char *dir, int64_t v, struct lxm_error *err)
{
    int r = write_num(dir, "memory.limit_in_bytes", v, err);
    if (r == -EBUSY) {
        int64_t used = -1;
        (void)lxm_cg_read_int64(dir, "memory.usage_in_bytes", &used);
        return lxm_error_set(err, EBUSY,
                             "limits.memory: cannot lower the limit to %lld bytes: "
                             "the container uses %lld bytes that the kernel could not reclaim",
                             (long long)v, (long long)used);
    }
    return r;
}

/* "unlimited" (-1) is larger than everything. */
static bool raises(int64_t new_v, int64_t cur)
{
    return new_v < 0 ? true : cur < 0 ? false : new_v >= cur;
}

/* v1 has no separate swap limit: memsw = memory + swap, and the kernel
 * insists on memory <= memsw at every moment, so the order of the two
 * writes depends on whether memsw grows or shrinks. An unset swap keeps
 * the container's current swap allowance, as cgroup2's independent
 * memory.swap.max would. */
static int v1_set_memory(const char *dir, const struct lxm_limits *l, bool reset,
                         struct lxm_error *err)
{
    if (l->memory == LXM_UNSET && l->memory_swap == LXM_UNSET && !reset)
        return 0;
    int64_t cur_mem = -1, cur_memsw = -1;
    (void)lxm_cg_read_int64(dir, "memory.limit_in_bytes", &cur_mem);
    int64_t mem = l->memory != LXM_UNSET ? l->memory : reset ? -1 : cur_mem;
    if (!lxm_cg_exists(dir, "memory.memsw.limit_in_bytes"))
        return write_mem_limit(dir, mem, err);
    (void)lxm_cg_read_int64(dir, "memory.memsw.limit_in_bytes", &cur_memsw);
    int64_t swap = l->memory_swap != LXM_UNSET             ? l->memory_swap
                   : reset || cur_mem < 0 || cur_memsw < 0 ? -1
                                                           : cur_memsw - cur_mem;
    if (mem < 0 && l->memory_swap != LXM_UNSET)
        lxm_warn("limits.memory_swap: cgroup v1 limits swap only together with memory, "
                 "not applied");
    int64_t memsw = mem < 0 || swap < 0 ? -1 : mem + swap;
    int r;
    if (raises(memsw, cur_memsw)) {
        r = write_num(dir, "memory.memsw.limit_in_bytes", memsw, err);
        if (r >= 0)
            r = write_mem_limit(dir, mem, err);
    } else {
        r = write_mem_limit(dir, mem, err);
        if (r >= 0)
            r = write_num(dir, "memory.memsw.limit_in_bytes", memsw, err);
    }
    return r;
}

static int v1_set_cpu(const char *dir, const struct lxm_limits *l, bool reset,
                      struct lxm_error *err)
{
    int r = 0;
    if (l->cpu >= 0 || reset) {
        r = write_num(dir, "cpu.cfs_period_us", LXM_CG_CPU_PERIOD_US, err);
        if (r >= 0)
            r = write_num(dir, "cpu.cfs_quota_us", lxm_cg_cpu_quota_us(l->cpu), err);
    }
    if (r >= 0 && (l->cpu_weight != LXM_UNSET || reset))
        r = write_num(dir, "cpu.shares",
                      l->cpu_weight != LXM_UNSET ? lxm_cg_weight_to_shares(l->cpu_weight) : 1024,
                      err);
    return r;
}

static int v1_set_io(const char *dir, const struct lxm_limits *l, bool reset, struct lxm_error *err)
{
    if (l->io_weight == LXM_UNSET && !reset)
        return 0;
    int64_t w = l->io_weight != LXM_UNSET ? l->io_weight : 100;
    /* CFQ's blkio.weight (10..1000, default 500) is gone from current
     * kernels; BFQ's blkio.bfq.weight takes 1..1000 with default 100. */
    if (lxm_cg_exists(dir, "blkio.weight"))
        return write_num(dir, "blkio.weight", lxm_cg_weight_to_blkio(w), err);
    if (lxm_cg_exists(dir, "blkio.bfq.weight"))
        return write_num(dir, "blkio.bfq.weight", w > 1000 ? 1000 : w, err);
    if (l->io_weight != LXM_UNSET)
        lxm_warn("limits.io_weight: no blkio.weight or blkio.bfq.weight in %s (needs the BFQ "
                 "scheduler), not applied",
                 dir);
    return 0;
}

static int v1_set_limits(const struct lxm_cg_hier *h, unsigned roles, const struct lxm_limits *l,
                         bool reset, struct lxm_error *err)
{
    int r = 0;
    if (roles & LXM_CG_ROLE(LXM_CG_MEMORY))
        r = v1_set_memory(h->dir, l, reset, err);
    if (r >= 0 && (roles & LXM_CG_ROLE(LXM_CG_CPU)))
        r = v1_set_cpu(h->dir, l, reset, err);
    if (r >= 0 && (roles & LXM_CG_ROLE(LXM_CG_CPUSET))) {
        if (l->cpuset) {
            r = lxm_cg_write(h->dir, "cpuset.cpus", l->cpuset, err);
        } else if (reset) {
            _cleanup_free_ char *parent = parent_of(h->dir), *cpus = NULL;
            if (parent && lxm_cg_read(parent, "cpuset.cpus", &cpus) == 0 && !blank(cpus))
                r = lxm_cg_write(h->dir, "cpuset.cpus", cpus, err);
        }
    }
    if (r >= 0 && (roles & LXM_CG_ROLE(LXM_CG_PIDS)) && (l->pids != LXM_UNSET || reset)) {
        char buf[32];
        lxm_cg_format_max(l->pids, buf, sizeof(buf));
        r = lxm_cg_write(h->dir, "pids.max", buf, err);
    }
    if (r >= 0 && (roles & LXM_CG_ROLE(LXM_CG_IO)))
        r = v1_set_io(h->dir, l, reset, err);
    return r;
}

static void read_num(const char *dir, const char *file, int64_t *out)
{
    int64_t v;
    if (lxm_cg_read_int64(dir, file, &v) == 0)
        *out = v;
}

static void v1_stats_memory(const char *dir, struct lxm_cgroup_stats *st)
{
    read_num(dir, "memory.usage_in_bytes", &st->memory_usage);
    read_num(dir, "memory.limit_in_bytes", &st->memory_limit);
    read_num(dir, "memory.max_usage_in_bytes", &st->memory_peak);
    int64_t memsw = -1;
    read_num(dir, "memory.memsw.usage_in_bytes", &memsw);
    if (memsw >= 0 && st->memory_usage >= 0)
        st->swap_usage = memsw > st->memory_usage ? memsw - st->memory_usage : 0;
    _cleanup_free_ char *oom = NULL;
    int64_t kills;
    if (lxm_cg_read(dir, "memory.oom_control", &oom) == 0 &&
        lxm_cg_parse_kv(oom, "oom_kill", &kills) == 0)
        st->oom_kills = kills;
}

static void v1_stats(const struct lxm_cg_hier *h, unsigned roles, struct lxm_cgroup_stats *st)
{
    if (roles & LXM_CG_ROLE(LXM_CG_MEMORY))
        v1_stats_memory(h->dir, st);
    if (roles & LXM_CG_ROLE(LXM_CG_CPUACCT))
        read_num(h->dir, "cpuacct.usage", &st->cpu_usage_ns);
    if (roles & LXM_CG_ROLE(LXM_CG_PIDS)) {
        read_num(h->dir, "pids.current", &st->pids_current);
        read_num(h->dir, "pids.max", &st->pids_limit);
    }
    if (roles & LXM_CG_ROLE(LXM_CG_IO)) {
        _cleanup_free_ char *io = NULL;
        if (lxm_cg_read(h->dir, "blkio.throttle.io_service_bytes_recursive", &io) == 0 ||
            lxm_cg_read(h->dir, "blkio.throttle.io_service_bytes", &io) == 0)
            lxm_cg_parse_blkio_bytes(io, &st->io_read_bytes, &st->io_write_bytes);
    }
}

static int read_state(const char *dir, char *buf, size_t size)
{
    _cleanup_free_ char *s = NULL;
    int r = lxm_cg_read(dir, "freezer.state", &s);
    if (r < 0)
        return r;
    snprintf(buf, size, "%.*s", (int)strcspn(s, "\n"), s);
    return 0;
}

static int v1_is_frozen(const struct lxm_cg_hier *h)
{
    char st[32];
    int r = read_state(h->dir, st, sizeof(st));
    return r < 0 ? r : strcmp(st, "FROZEN") == 0;
}

static int v1_freeze(const struct lxm_cg_hier *h, bool frozen, struct lxm_error *err)
{
    int r = lxm_cg_write(h->dir, "freezer.state", frozen ? "FROZEN" : "THAWED", err);
    if (r < 0 || !frozen)
        return r;
    /* FREEZING means some task has not stopped yet; writing FROZEN again
     * makes the kernel retry those tasks. */
    for (int waited = 0; waited < FREEZE_TIMEOUT_MS; waited += 10) {
        char st[32];
        r = read_state(h->dir, st, sizeof(st));
        if (r < 0)
            return lxm_error_errno(err, -r, "read %s/freezer.state", h->dir);
        if (strcmp(st, "FROZEN") == 0)
            return 0;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        if (waited % 500 == 490)
            (void)lxm_cg_write(h->dir, "freezer.state", "FROZEN", NULL);
    }
    (void)lxm_cg_write(h->dir, "freezer.state", "THAWED", NULL);
    return lxm_error_set(err, ETIMEDOUT, "freeze: processes in %s did not stop within %d s", h->dir,
                         FREEZE_TIMEOUT_MS / 1000);
}

static int v1_kill_all(const struct lxm_cg_hier *h)
{
    (void)h;
    return 0;
}

/* v1 OOM notification: an eventfd registered through cgroup.event_control
 * against memory.oom_control fires on every OOM in the cgroup. */
static int v1_memory_events_fd(const struct lxm_cg_hier *h, short *events, struct lxm_error *err)
{
    _cleanup_free_ char *path = xasprintf("%s/memory.oom_control", h->dir);
    if (!path)
        return lxm_error_errno(err, ENOMEM, "memory events");
    _cleanup_close_ int oom_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (oom_fd < 0)
        return lxm_error_errno(err, errno, "open %s", path);
    _cleanup_close_ int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0)
        return lxm_error_errno(err, errno, "eventfd");
    char buf[64];
    snprintf(buf, sizeof(buf), "%d %d", efd, oom_fd);
    int r = lxm_cg_write(h->dir, "cgroup.event_control", buf, err);
    if (r < 0)
        return r;
    *events = POLLIN;
    return TAKE_FD(efd);
}

static void v1_memory_events_ack(const struct lxm_cg_hier *h, int fd)
{
    (void)h;
    uint64_t n;
    (void)!read(fd, &n, sizeof(n));
}

const struct lxm_cg_ops lxm_cg_v1_ops = {
    .version = 1,
    .roles_available = v1_roles_available,
    .prepare_dir = v1_prepare_dir,
    .check_limits = v1_check_limits,
    .set_limits = v1_set_limits,
    .stats = v1_stats,
    .freeze = v1_freeze,
    .is_frozen = v1_is_frozen,
    .kill_all = v1_kill_all,
    .memory_events_fd = v1_memory_events_fd,
    .memory_events_ack = v1_memory_events_ack,
};

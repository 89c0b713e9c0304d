/* cgroup-internal: what cgroup.c shares with its two backends (cgroup-v2.c,
 * cgroup-v1.c) and with the unit test: the host layout, the per-container
 * object, the backend ops table and the small file-format helpers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cgroup/cgroup.h"

/* The roles a container's cgroup plays; each is served by exactly one
 * mounted hierarchy (or by none on this host). */
enum lxm_cg_role {
    LXM_CG_MEMORY,
    LXM_CG_CPU,     /* quota and weight */
    LXM_CG_CPUACCT, /* usage (v2: core cpu.stat) */
    LXM_CG_CPUSET,
    LXM_CG_PIDS,
    LXM_CG_IO,      /* v2 io, v1 blkio */
    LXM_CG_FREEZER, /* v2: core cgroup.freeze */
    LXM_CG_DEVICES, /* v1 only; v2 uses a BPF program (devices.c) */
    LXM_CG_NROLES
};

#define LXM_CG_ROLE(r) (1u << (r))
#define LXM_CG_MAX_HIER 16
#define LXM_CG_PARENT_DEFAULT "lxm"

/* One mounted hierarchy as seen in /proc/self/mountinfo. */
struct lxm_cg_mount {
    int version; /* 1 or 2 */
    char *path;  /* mount point */
    char *opts;  /* v1: "cpu,cpuacct", "name=systemd"; v2: NULL */
};

/* What the host mounts: at most one entry per hierarchy. */
struct lxm_cg_layout {
    struct lxm_cg_mount m[LXM_CG_MAX_HIER];
    int n;
};

struct lxm_cg_ops;

/* The container's directory in one hierarchy. */
struct lxm_cg_hier {
    const struct lxm_cg_ops *ops;
    char *mount;
    char *opts;
    char *dir;      /* mount/PARENT/NAME */
    unsigned roles; /* LXM_CG_ROLE() bits this hierarchy serves */
};

struct lxm_cgroup {
    char *name;
    char *rel; /* PARENT/NAME, relative to each mount */
    struct lxm_cg_hier h[LXM_CG_MAX_HIER];
    int n;
    int role[LXM_CG_NROLES]; /* index into h, -1 = not available */
    int v2;                  /* index of the cgroup2 hierarchy, -1 = none */
    int v2_fd;
};

/* A backend. Every function works on one hierarchy's container dir;
 * `roles` says which of its roles the caller wants handled. */
struct lxm_cg_ops {
    int version;
    /* Roles this hierarchy can serve (v2: from cgroup.controllers of the
     * mount root, plus the core files every cgroup2 has). */
    unsigned (*roles_available)(const struct lxm_cg_mount *m);
    /* Make a freshly created (or reused) directory usable, parent first:
     * v2 enables controllers in parent's subtree_control, v1 cpuset copies
     * cpus/mems from the parent. */
    int (*prepare_dir)(const struct lxm_cg_hier *h, const char *parent, const char *dir,
                       struct lxm_error *err);
    /* Check that every set key can be applied (before anything is written). */
    int (*check_limits)(const struct lxm_cg_hier *h, unsigned roles, const struct lxm_limits *l,
                        struct lxm_error *err);
    /* reset: unset keys go back to the kernel default (create) instead of
     * being left alone (live change). */
    int (*set_limits)(const struct lxm_cg_hier *h, unsigned roles, const struct lxm_limits *l,
                      bool reset, struct lxm_error *err);
    void (*stats)(const struct lxm_cg_hier *h, unsigned roles, struct lxm_cgroup_stats *st);
    int (*freeze)(const struct lxm_cg_hier *h, bool frozen, struct lxm_error *err);
    int (*is_frozen)(const struct lxm_cg_hier *h);
    /* Kill everything below dir in one go if the kernel can (cgroup.kill):
     * 1 = done, 0 = caller must signal pid by pid. */
    int (*kill_all)(const struct lxm_cg_hier *h);
    int (*memory_events_fd)(const struct lxm_cg_hier *h, short *events, struct lxm_error *err);
    void (*memory_events_ack)(const struct lxm_cg_hier *h, int fd);
};

extern const struct lxm_cg_ops lxm_cg_v1_ops;
extern const struct lxm_cg_ops lxm_cg_v2_ops;

/* --- layout ------------------------------------------------------------ */

/* Parse /proc/self/mountinfo text into a layout (one entry per hierarchy). */
int lxm_cg_layout_parse(const char *mountinfo, struct lxm_cg_layout *out);
int lxm_cg_layout_detect(struct lxm_cg_layout *out, struct lxm_error *err);
/* Add a mount by hand (unit tests point this at a scratch directory). */
int lxm_cg_layout_add(struct lxm_cg_layout *l, int version, const char *path, const char *opts);
void lxm_cg_layout_clear(struct lxm_cg_layout *l);


/* The object for PARENT/NAME on layout l, without touching the host. */
int lxm_cgroup_new_in(const struct lxm_cg_layout *l, const char *parent, const char *name,
                      struct lxm_cgroup **out, struct lxm_error *err);
/* create/open against an explicit layout and parent ("lxm"). */
int lxm_cgroup_create_in(const struct lxm_cg_layout *l, const char *parent, const char *name,
                         const struct lxm_limits *limits, struct lxm_cgroup **out,
                         struct lxm_error *err);
int lxm_cgroup_open_in(const struct lxm_cg_layout *l, const char *parent, const char *name,
                       struct lxm_cgroup **out, struct lxm_error *err);
/* lxm_cgroup_list against an explicit layout and parent (cgroup-list.c). */
int lxm_cgroup_list_in(const struct lxm_cg_layout *l, const char *parent, char ***names,
                       struct lxm_error *err);

/* Walk dir and its descendants, calling fn on every pid in cgroup.procs;
 * how many pids were seen, or -errno for dir itself (0 when it is gone). */
int lxm_cg_for_each_pid(const char *dir, void (*fn)(pid_t, void *), void *data);

/* --- directories made only when a limit needs them (cgroup-lazy.c) ------- */

/* A v1 hierarchy that serves only cpu (quota, weight) and cpuset, or no
 * role at all (name=systemd, net_cls, ...): nothing is read there, so a
 * container has a directory in it only while a limit of those is set (or
 * was set while it ran); else its processes live in PARENT/ there. cpu
 * co-mounted with cpuacct is not one (usage is read there). Each
 * directory costs the kernel 5-16 KiB (docs/benchmarks.md). */
bool lxm_cg_lazy(const struct lxm_cg_hier *h);
bool lxm_cg_has_lazy(const struct lxm_cgroup *cg);
/* PARENT's directory in h (h->dir without the name); caller frees. */
char *lxm_cg_top(const struct lxm_cgroup *cg, const struct lxm_cg_hier *h);
/* flock(op) on the container's anchor directory (a hierarchy every process
 * of it is in): a joiner holds LOCK_SH from choosing its tasks files until
 * it has joined; lxm_cg_lazy_make holds LOCK_EX. fd or -errno. */
int lxm_cg_lazy_lock(const struct lxm_cgroup *cg, int op);
/* Make the container's directory in lazy hierarchy h of a running
 * container and move every process of it there (frozen meanwhile). On
 * failure the directory is gone and the processes are back. */
int lxm_cg_lazy_make(struct lxm_cgroup *cg, const struct lxm_cg_hier *h, struct lxm_error *err);

/* --- file helpers shared by the backends ---------------------------------- */

/* Write a value to dir/file; the error names the value and the path. */
int lxm_cg_write(const char *dir, const char *file, const char *value, struct lxm_error *err);
/* Read dir/file (NUL-terminated, trailing newline kept); 0 or -errno. */
int lxm_cg_read(const char *dir, const char *file, char **out);
/* Read a single number; "max" reads as -1. */
int lxm_cg_read_int64(const char *dir, const char *file, int64_t *out);
bool lxm_cg_exists(const char *dir, const char *file);

/* --- formats (pure functions, unit-tested) -------------------------------- */

/* "KEY VALUE" lines (cpu.stat, memory.stat, memory.events, oom_control). */
int lxm_cg_parse_kv(const char *text, const char *key, int64_t *out);
/* v2 io.stat: sum of rbytes= / wbytes= over all devices. */
void lxm_cg_parse_io_stat(const char *text, int64_t *rbytes, int64_t *wbytes);
/* v1 blkio.*io_service_bytes: sum of "MAJ:MIN Read N" / "Write N". */
void lxm_cg_parse_blkio_bytes(const char *text, int64_t *rbytes, int64_t *wbytes);
/* A number or "max" (-1); v1's "unlimited" page-counter value is also -1. */
int lxm_cg_parse_int64(const char *s, int64_t *out);

/* Formats written to the kernel; buf of at least 64 bytes. */
void lxm_cg_format_cpu_max(double cpus, char *buf, size_t size); /* "50000 100000", "max 100000" */
void lxm_cg_format_max(int64_t v, char *buf, size_t size);       /* v < 0 -> "max" */
int64_t lxm_cg_cpu_quota_us(double cpus);                        /* -1 for unset */
int64_t lxm_cg_weight_to_shares(int64_t weight);                 /* v2 weight -> v1 cpu.shares */
int64_t lxm_cg_weight_to_blkio(int64_t weight); /* v2 io.weight -> v1 blkio.weight */

#define LXM_CG_CPU_PERIOD_US 100000

/* CPU lists ("0-3,5"): parse into a bitmask of up to 1024 CPUs. */
#define LXM_CG_MAX_CPUS 1024
int lxm_cg_parse_cpulist(const char *s, uint64_t mask[LXM_CG_MAX_CPUS / 64]);
/* Check that `want` only names CPUs of `avail` (both cpu lists). */
int lxm_cg_check_cpuset(const char *want, const char *avail, struct lxm_error *err);

/* Unit tests for the cgroup module: the v2 and v1 backends' file formats
 * against scratch directories laid out like cgroupfs, the parsers, the
 * v1 conversions and the mountinfo-based detection.
 *
 * With arguments it is also the driver of tests/integration/limits.sh,
 * which runs the same code against the host's real hierarchies:
 *   test-cgroup drive layout
 *   test-cgroup drive create NAME [memory=B swap=B cpu=F cpu_weight=N cpuset=L pids=N io_weight=N]
 *   test-cgroup drive set NAME KEY=VALUE...
 *   test-cgroup drive attach NAME PID | stats NAME | freeze NAME | thaw NAME | frozen NAME
 *   test-cgroup drive destroy NAME | path NAME CONTROLLER|v2 | oomfd NAME | chown NAME UID GID
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"
#include "tap.h"

static void put_file(const char *dir, const char *file, const char *content)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
    FILE *f = fopen(p, "we");
    if (f) {
        fputs(content, f);
        fclose(f);
    }
}

static char *get_file(const char *dir, const char *file)
{
    static char buf[4096];
    _cleanup_free_ char *s = NULL;
    if (lxm_cg_read(dir, file, &s) < 0)
        return NULL;
    snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(s, "\n"), s);
    return buf;
}

static struct lxm_limits no_limits(void)
{
    return (struct lxm_limits){.memory = LXM_UNSET,
                               .memory_swap = LXM_UNSET,
                               .cpu = -1,
                               .cpu_weight = LXM_UNSET,
                               .cpuset = NULL,
                               .pids = LXM_UNSET,
                               .io_weight = LXM_UNSET};
}

/* A cgroup2 tree the way the kernel would show it to lxm. */
static void make_v2_dir(const char *dir, bool leaf)
{
    mkdir(dir, 0755);
    put_file(dir, "cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
    put_file(dir, "cgroup.subtree_control", "");
    put_file(dir, "cpuset.cpus.effective", "0-1\n");
    if (!leaf)
        return;
    static const char *const files[] = {"cgroup.procs", "memory.max", "memory.swap.max",
                                        "cpu.max",      "cpu.weight", "cpuset.cpus",
                                        "pids.max",     "io.weight",  "cgroup.freeze"};
    for (size_t i = 0; i < ARRAY_SIZE(files); i++)
        put_file(dir, files[i], "");
    put_file(dir, "cgroup.events", "populated 1\nfrozen 0\n");
}

/* Live changes and refused input on an existing v2 cgroup. */
static void test_v2_live(struct lxm_cgroup *cg, const char *dir)
{
    struct lxm_error err = {0};
    int r;
    /* Live change: only what is set is touched. */
    struct lxm_limits live = no_limits();
    live.cpu = 1.5;
    r = lxm_cgroup_set_limits(cg, &live, &err);
    is_int(r, 0, "live cpu change");
    is_str(get_file(dir, "cpu.max"), "150000 100000", "cpu.max for 1.5 CPUs");
    is_str(get_file(dir, "memory.max"), "104857600", "unset memory left alone");
    is_str(get_file(dir, "pids.max"), "50", "unset pids left alone");

    /* A whole-block apply resets what is unset (config unset limits.X). */
    struct lxm_limits whole = no_limits();
    whole.memory = 100 << 20;
    whole.pids = 50;
    whole.cpu = 1.5;
    is_int(lxm_cgroup_apply_limits(cg, &whole, &err), 0, "apply a whole limits block");
    is_str(get_file(dir, "cpu.weight"), "100", "apply: unset cpu_weight back to 100");
    is_str(get_file(dir, "memory.swap.max"), "max", "apply: unset swap back to max");
    is_str(get_file(dir, "pids.max"), "50", "apply: set pids kept");

    /* Bad input: refused before anything is written. */
    live = no_limits();
    live.memory = 50 << 20;
    live.cpuset = (char *)"0-7";
    r = lxm_cgroup_set_limits(cg, &live, &err);
    is_int(r, -EINVAL, "cpuset outside the host's CPUs is refused");
    ok(strstr(err.msg, "CPU 2") && strstr(err.msg, "0-1"), "error names the CPU: %s", err.msg);
    is_str(get_file(dir, "memory.max"), "104857600", "nothing applied on error");
    live.cpuset = (char *)"zero";
    r = lxm_cgroup_set_limits(cg, &live, &err);
    is_int(r, -EINVAL, "cpuset syntax error: %s", err.msg);
    live = no_limits();
    live.cpu_weight = 20000;
    is_int(lxm_cgroup_set_limits(cg, &live, &err), -EINVAL, "cpu_weight out of range: %s", err.msg);
    live = no_limits();
    live.cpu = 0.001;
    is_int(lxm_cgroup_set_limits(cg, &live, &err), -EINVAL, "cpu below 0.01: %s", err.msg);
}

static void test_v2_limits(const char *root)
{
    struct lxm_cg_layout l = {.n = 0};
    lxm_cg_layout_add(&l, 2, root, NULL);
    _cleanup_free_ char *top = xasprintf("%s/lxm", root), *dir = xasprintf("%s/lxm/c1", root);
    make_v2_dir(root, false);
    make_v2_dir(top, false);
    make_v2_dir(dir, true);

    struct lxm_limits lim = no_limits();
    lim.memory = 100 << 20;
    lim.memory_swap = 0;
    lim.cpu = 0.5;
    lim.cpu_weight = 200;
    lim.cpuset = (char *)"0";
    lim.pids = 50;
    lim.io_weight = 300;
    struct lxm_cgroup *cg = NULL;
    struct lxm_error err = {0};
    int r = lxm_cgroup_create_in(&l, "lxm", "c1", &lim, &cg, &err);
    is_int(r, 0, "v2 create in a scratch tree (%s)", err.msg);
    if (r < 0)
        return;
    is_str(lxm_cgroup_v2_path(cg), dir, "v2 path is ROOT/lxm/c1");
    is_str(get_file(root, "cgroup.subtree_control"), "+cpuset +cpu +io +memory +pids",
           "controllers enabled in the root");
    is_str(get_file(top, "cgroup.subtree_control"), "+cpuset +cpu +io +memory +pids",
           "controllers enabled in lxm/");
    is_str(get_file(dir, "memory.max"), "104857600", "memory.max");
    is_str(get_file(dir, "memory.swap.max"), "0", "memory.swap.max 0 = no swap");
    is_str(get_file(dir, "cpu.max"), "50000 100000", "cpu.max for 0.5 CPU");
    is_str(get_file(dir, "cpu.weight"), "200", "cpu.weight");
    is_str(get_file(dir, "cpuset.cpus"), "0", "cpuset.cpus");
    is_str(get_file(dir, "pids.max"), "50", "pids.max");
    is_str(get_file(dir, "io.weight"), "default 300", "io.weight");
    ok(lxm_cgroup_v2_fd(cg) >= 0, "v2 fd is open");

    test_v2_live(cg, dir);

    /* Freezer state from cgroup.events. */
    is_int(lxm_cgroup_is_frozen(cg), 0, "not frozen");
    put_file(dir, "cgroup.events", "populated 1\nfrozen 1\n");
    is_int(lxm_cgroup_is_frozen(cg), 1, "frozen 1 in cgroup.events");
    is_int(lxm_cgroup_freeze(cg, true, &err), 0, "freeze writes cgroup.freeze, sees frozen 1");
    is_str(get_file(dir, "cgroup.freeze"), "1", "cgroup.freeze = 1");
    lxm_cgroup_free(cg);

    /* Re-create (after a crash): unset keys go back to the defaults. */
    lim = no_limits();
    r = lxm_cgroup_create_in(&l, "lxm", "c1", &lim, &cg, &err);
    is_int(r, 0, "re-create resets (%s)", r < 0 ? err.msg : "");
    is_str(get_file(dir, "cpu.max"), "max 100000", "cpu.max unset = max 100000");
    is_str(get_file(dir, "memory.max"), "max", "memory.max unset = max");
    is_str(get_file(dir, "memory.swap.max"), "max", "memory.swap.max unset = max");
    is_str(get_file(dir, "pids.max"), "max", "pids.max unset = max");
    is_str(get_file(dir, "cpu.weight"), "100", "cpu.weight unset = 100");
    is_str(get_file(dir, "io.weight"), "default 100", "io.weight unset = default 100");
    lxm_cgroup_free(cg);

    /* A cgroup with processes is not taken over. */
    put_file(dir, "cgroup.procs", "4242\n");
    r = lxm_cgroup_create_in(&l, "lxm", "c1", &lim, &cg, &err);
    is_int(r, -EBUSY, "create refuses a cgroup with processes: %s", err.msg);
    put_file(dir, "cgroup.procs", "");
    lxm_cg_layout_clear(&l);
}

static void test_v2_stats(const char *root)
{
    struct lxm_cg_layout l = {.n = 0};
    lxm_cg_layout_add(&l, 2, root, NULL);
    _cleanup_free_ char *dir = xasprintf("%s/lxm/c1", root);
    put_file(dir, "memory.current", "1234\n");
    put_file(dir, "memory.max", "max\n");
    put_file(dir, "memory.peak", "5000\n");
    put_file(dir, "memory.swap.current", "0\n");
    put_file(dir, "memory.events", "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n");
    put_file(dir, "cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n");
    put_file(dir, "pids.current", "7\n");
    put_file(dir, "pids.max", "50\n");
    put_file(dir, "io.stat",
             "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
             "8:16 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n");
    struct lxm_cgroup *cg = NULL;
    struct lxm_error err = {0};
    is_int(lxm_cgroup_open_in(&l, "lxm", "c1", &cg, &err), 0, "open existing");
    is_int(lxm_cgroup_open_in(&l, "lxm", "nope", &(struct lxm_cgroup *){NULL}, &err), -ENOENT,
           "open missing: %s", err.msg);
    struct lxm_cgroup_stats st;
    lxm_cgroup_stats(cg, &st, &err);
    is_int(st.memory_usage, 1234, "memory.current");
    is_int(st.memory_limit, -1, "memory.max max = -1");
    is_int(st.memory_peak, 5000, "memory.peak");
    is_int(st.swap_usage, 0, "memory.swap.current");
    is_int(st.oom_kills, 2, "memory.events oom_kill");
    is_int(lxm_cgroup_oom_kills(cg), 2, "lxm_cgroup_oom_kills");
    is_int(st.cpu_usage_ns, 2500000, "cpu.stat usage_usec in ns");
    is_int(st.pids_current, 7, "pids.current");
    is_int(st.pids_limit, 50, "pids.max");
    is_int(st.io_read_bytes, 4097, "io.stat rbytes summed");
    is_int(st.io_write_bytes, 8194, "io.stat wbytes summed");
    lxm_cgroup_free(cg);
    lxm_cg_layout_clear(&l);
}

static void test_parsers(void)
{
    int64_t v = 0;
    const char *mstat = "anon 1000\nfile 2000\nkernel 300\nfile_mapped 7\nshmem 0\n";
    is_int(lxm_cg_parse_kv(mstat, "file", &v), 0, "memory.stat: file found");
    is_int(v, 2000, "memory.stat: file is not file_mapped");
    is_int(lxm_cg_parse_kv(mstat, "file_mapped", &v), 0, "memory.stat: file_mapped");
    is_int(v, 7, "memory.stat: file_mapped value");
    is_int(lxm_cg_parse_kv(mstat, "swap", &v), -ENOENT, "memory.stat: missing key");
    is_int(lxm_cg_parse_kv("nr_periods 10\nusage_usec 99\n", "usage_usec", &v), 0, "cpu.stat");
    is_int(v, 99, "cpu.stat usage_usec");
    const char *oomc = "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n";
    is_int(lxm_cg_parse_kv(oomc, "oom_kill", &v), 0, "v1 memory.oom_control");
    is_int(v, 4, "oom_kill is not oom_kill_disable");
    is_int(lxm_cg_parse_int64("max\n", &v), 0, "\"max\" parses");
    is_int(v, -1, "\"max\" = -1");
    lxm_cg_parse_int64("9223372036854771712\n", &v);
    is_int(v, -1, "v1 unlimited = -1");
    lxm_cg_parse_int64("42\n", &v);
    is_int(v, 42, "plain number");
    is_int(lxm_cg_parse_int64("4x", &v), -EINVAL, "garbage refused");
    int64_t rb, wb;
    lxm_cg_parse_io_stat("", &rb, &wb);
    ok(rb == 0 && wb == 0, "empty io.stat = 0");
    lxm_cg_parse_blkio_bytes("8:0 Read 100\n8:0 Write 200\n8:0 Sync 300\n8:0 Async 0\n"
                             "8:0 Total 300\n8:16 Read 1\n8:16 Write 2\nTotal 303\n",
                             &rb, &wb);
    ok(rb == 101 && wb == 202, "blkio io_service_bytes: %lld read, %lld written", (long long)rb,
       (long long)wb);
    char buf[64];
    lxm_cg_format_cpu_max(-1, buf, sizeof(buf));
    is_str(buf, "max 100000", "cpu.max unset");
    lxm_cg_format_cpu_max(0.5, buf, sizeof(buf));
    is_str(buf, "50000 100000", "cpu.max 0.5");
    lxm_cg_format_cpu_max(2, buf, sizeof(buf));
    is_str(buf, "200000 100000", "cpu.max 2");
    uint64_t m[LXM_CG_MAX_CPUS / 64];
    is_int(lxm_cg_parse_cpulist("0-2,5\n", m), 0, "cpu list parses");
    is_int((int)m[0], 0x27, "cpu list bits");
    is_int(lxm_cg_parse_cpulist("3-1", m), -EINVAL, "reversed range refused");
    is_int(lxm_cg_parse_cpulist("1,,2", m), -EINVAL, "empty element refused");
}

static void test_v1_conversions(void)
{
    is_int(lxm_cg_weight_to_shares(100), 1024, "weight 100 = 1024 shares");
    is_int(lxm_cg_weight_to_shares(200), 2048, "weight 200 = 2048 shares");
    is_int(lxm_cg_weight_to_shares(1), 10, "weight 1 = 10 shares");
    is_int(lxm_cg_weight_to_shares(10000), 102400, "weight 10000 = 102400 shares");
    is_int(lxm_cg_weight_to_blkio(100), 500, "io weight 100 = blkio 500");
    is_int(lxm_cg_weight_to_blkio(1), 10, "io weight 1 = blkio 10 (clamped)");
    is_int(lxm_cg_cpu_quota_us(0.5), 50000, "quota for 0.5");
}

static void make_v1_dir(const char *dir, const char *const files[][2], size_t n)
{
    mkdir(dir, 0755);
    put_file(dir, "cgroup.procs", "");
    for (size_t i = 0; i < n; i++)
        put_file(dir, files[i][0], files[i][1]);
}

static void test_v1_limits(const char *root)
{
    static const char *const unlimited = "9223372036854771712\n";
    static const char *const memfiles[][2] = {
        {"memory.limit_in_bytes", unlimited},
        {"memory.memsw.limit_in_bytes", unlimited},
    };
    static const char *const cpufiles[][2] = {
        {"cpu.cfs_quota_us", "-1\n"},
        {"cpu.cfs_period_us", "100000\n"},
        {"cpu.shares", "1024\n"},
        {"cpuacct.usage", "123456789\n"},
    };
    static const char *const cpusetroot[][2] = {
        {"cpuset.cpus", "0-1\n"}, {"cpuset.mems", "0\n"}, {"cpuset.effective_cpus", "0-1\n"}};
    static const char *const cpusetfiles[][2] = {{"cpuset.cpus", "\n"}, {"cpuset.mems", "\n"}};
    _cleanup_free_ char *mem = xasprintf("%s/memory", root), *cpu = xasprintf("%s/cpu", root),
                        *cs = xasprintf("%s/cpuset", root);
    struct {
        const char *mount;
        const char *const (*files)[2];
        size_t n;
        const char *const (*rootf)[2];
        size_t rn;
    } h[] = {
        {mem, memfiles, ARRAY_SIZE(memfiles), memfiles, ARRAY_SIZE(memfiles)},
        {cpu, cpufiles, ARRAY_SIZE(cpufiles), cpufiles, ARRAY_SIZE(cpufiles)},
        {cs, cpusetfiles, ARRAY_SIZE(cpusetfiles), cpusetroot, ARRAY_SIZE(cpusetroot)},
    };
    for (size_t i = 0; i < ARRAY_SIZE(h); i++) {
        _cleanup_free_ char *t = xasprintf("%s/lxm", h[i].mount),
                            *d = xasprintf("%s/lxm/c1", h[i].mount);
        make_v1_dir(h[i].mount, h[i].rootf, h[i].rn);
        make_v1_dir(t, h[i].files, h[i].n);
        make_v1_dir(d, h[i].files, h[i].n);
    }
    struct lxm_cg_layout l = {.n = 0};
    lxm_cg_layout_add(&l, 1, mem, "memory");
    lxm_cg_layout_add(&l, 1, cpu, "cpu,cpuacct");
    lxm_cg_layout_add(&l, 1, cs, "cpuset");
    struct lxm_limits lim = no_limits();
    lim.memory = 100 << 20;
    lim.memory_swap = 50 << 20;
    lim.cpu = 0.5;
    lim.cpu_weight = 200;
    struct lxm_cgroup *cg = NULL;
    struct lxm_error err = {0};
    int r = lxm_cgroup_create_in(&l, "lxm", "c1", &lim, &cg, &err);
    is_int(r, 0, "v1 create in a scratch tree (%s)", r < 0 ? err.msg : "");
    if (r < 0)
        return;
    _cleanup_free_ char *md = xasprintf("%s/lxm/c1", mem), *cd = xasprintf("%s/lxm/c1", cpu),
                        *sd = xasprintf("%s/lxm/c1", cs), *st = xasprintf("%s/lxm", cs);
    is_str(get_file(md, "memory.limit_in_bytes"), "104857600", "v1 memory.limit_in_bytes");
    is_str(get_file(md, "memory.memsw.limit_in_bytes"), "157286400", "v1 memsw = memory + swap");
    is_str(get_file(cd, "cpu.cfs_quota_us"), "50000", "v1 cfs_quota_us");
    is_str(get_file(cd, "cpu.cfs_period_us"), "100000", "v1 cfs_period_us");
    is_str(get_file(cd, "cpu.shares"), "2048", "v1 cpu.shares from weight 200");
    is_str(get_file(st, "cpuset.cpus"), "0-1", "v1 cpuset: lxm/ inherits cpus");
    is_str(get_file(sd, "cpuset.mems"), "0", "v1 cpuset: lxm/c1 inherits mems");
    is_str(lxm_cgroup_v1_path(cg, "cpuacct"), cd, "v1 path of cpuacct");
    ok(lxm_cgroup_v1_path(cg, "devices") == NULL, "no devices hierarchy");
    ok(lxm_cgroup_v2_path(cg) == NULL && lxm_cgroup_v2_fd(cg) < 0, "no cgroup2 here");

    /* Lower memory, swap unset: the 50 MiB swap allowance is kept. */
    struct lxm_limits live = no_limits();
    live.memory = 60 << 20;
    is_int(lxm_cgroup_set_limits(cg, &live, &err), 0, "v1 live memory change");
    is_str(get_file(md, "memory.limit_in_bytes"), "62914560", "v1 memory lowered");
    is_str(get_file(md, "memory.memsw.limit_in_bytes"), "115343360", "v1 memsw keeps the swap");
    live.memory_swap = 0;
    is_int(lxm_cgroup_set_limits(cg, &live, &err), 0, "v1 swap 0");
    is_str(get_file(md, "memory.memsw.limit_in_bytes"), "62914560", "v1 memsw = memory: no swap");

    struct lxm_cgroup_stats s;
    lxm_cgroup_stats(cg, &s, &err);
    is_int(s.cpu_usage_ns, 123456789, "v1 cpuacct.usage");
    is_int(s.memory_usage, -1, "no usage file: -1");
    lxm_cgroup_free(cg);
    lxm_cg_layout_clear(&l);
}

static const char hybrid_mountinfo[] =
    "22 1 0:20 / /sys rw,nosuid - sysfs sysfs rw\n"
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:5 - cgroup cgroup rw,cpu,cpuacct\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd,"
    "release_agent=/x\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
    "41 30 0:31 /lxm /mnt/mem\\040x rw - cgroup cgroup rw,memory\n";

static void test_mountinfo(void)
{
    struct lxm_cg_layout l = {.n = 0};
    is_int(lxm_cg_layout_parse(hybrid_mountinfo, &l), 0, "hybrid mountinfo parses");
    is_int(l.n, 4, "four hierarchies (the second memory mount is the same one)");
    if (l.n == 4) {
        is_str(l.m[0].opts, "cpu,cpuacct", "v1 controllers from super options");
        is_str(l.m[1].path, "/sys/fs/cgroup/memory", "root mount of memory kept");
        is_str(l.m[2].opts, "name=systemd", "named hierarchy, generic options dropped");
        is_int(l.m[3].version, 2, "cgroup2");
        is_str(l.m[3].path, "/sys/fs/cgroup/unified", "cgroup2 mount point");
    }
    lxm_cg_layout_clear(&l);
    is_int(lxm_cg_layout_parse("25 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", &l), 0,
           "pure v2 mountinfo");
    ok(l.n == 1 && l.m[0].version == 2, "one cgroup2 hierarchy");
    lxm_cg_layout_clear(&l);
}

/* Hybrid: controllers on v1 win, cgroup2 gets freezer/cpuacct only when
 * v1 lacks them. */
static void test_roles(const char *root)
{
    _cleanup_free_ char *v2 = xasprintf("%s/unified", root), *fr = xasprintf("%s/freezer", root);
    mkdir(v2, 0755);
    mkdir(fr, 0755);
    put_file(v2, "cgroup.controllers", "hugetlb\n");
    struct lxm_cg_layout l = {.n = 0};
    lxm_cg_layout_add(&l, 1, fr, "freezer");
    lxm_cg_layout_add(&l, 2, v2, NULL);
    struct lxm_cgroup *cg = NULL;
    struct lxm_error err;
    _cleanup_free_ char *top = xasprintf("%s/lxm", v2), *dir = xasprintf("%s/lxm/r1", v2);
    mkdir(top, 0755);
    mkdir(dir, 0755);
    is_int(lxm_cgroup_open_in(&l, "lxm", "r1", &cg, &err), 0, "open hybrid");
    ok(cg->role[LXM_CG_FREEZER] == 0, "freezer from v1 when mounted there");
    ok(cg->role[LXM_CG_CPUACCT] == 1, "cpu usage from cgroup2 when v1 has no cpuacct");
    ok(cg->role[LXM_CG_MEMORY] == -1, "no memory controller anywhere");
    struct lxm_limits lim = no_limits();
    lim.memory = 1 << 30;
    is_int(lxm_cgroup_set_limits(cg, &lim, &err), -EOPNOTSUPP,
           "memory limit without a "
           "controller: %s",
           err.msg);
    lxm_cgroup_free(cg);
    lxm_cg_layout_clear(&l);
    is_int(lxm_cgroup_open_in(&l, "lxm", "../x", &cg, &err), -EINVAL, "bad name: %s", err.msg);
}

/* The cgroups below the parent, by name (what a lost record left is found
 * by): pure cgroup2, and v1 hierarchies where a container may have some
 * directories and not others. */
static void test_list(const char *root)
{
    _cleanup_free_ char *v2 = xasprintf("%s/list-v2", root), *mem = xasprintf("%s/list-mem", root),
                        *pids = xasprintf("%s/list-pids", root);
    const char *dirs[] = {v2, mem, pids};
    for (size_t i = 0; i < 3; i++)
        mkdir(dirs[i], 0755);
    struct lxm_cg_layout l = {.n = 0};
    struct lxm_error err;
    char **names = NULL;
    lxm_cg_layout_add(&l, 2, v2, NULL);
    is_int(lxm_cgroup_list_in(&l, "lxm", &names, &err), 0, "v2: no parent yet");
    ok(names == NULL, "v2: no parent, no names");
    const char *made[] = {"lxm", "lxm/b-1", "lxm/a-2", "lxm/a-2/init.scope"};
    for (size_t i = 0; i < 4; i++) {
        _cleanup_free_ char *d = xasprintf("%s/%s", v2, made[i]);
        mkdir(d, 0755);
    }
    put_file(v2, "lxm/cgroup.procs", "");
    is_int(lxm_cgroup_list_in(&l, "lxm", &names, &err), 0, "v2: list");
    ok(names && strv_length(names) == 2 && strcmp(names[0], "a-2") == 0 &&
           strcmp(names[1], "b-1") == 0,
       "v2: the containers' directories, sorted, files and subgroups left out");
    strv_free(names);
    lxm_cg_layout_clear(&l);
    /* v1: c-3 only in pids (a teardown that stopped half-way), a-2 in both. */
    lxm_cg_layout_add(&l, 1, mem, "memory");
    lxm_cg_layout_add(&l, 1, pids, "pids");
    const char *v1made[] = {"list-mem/lxm", "list-mem/lxm/a-2", "list-pids/lxm", "list-pids/lxm/a-2",
                            "list-pids/lxm/c-3"};
    for (size_t i = 0; i < 5; i++) {
        _cleanup_free_ char *d = xasprintf("%s/%s", root, v1made[i]);
        mkdir(d, 0755);
    }
    is_int(lxm_cgroup_list_in(&l, "lxm", &names, &err), 0, "v1: list");
    ok(names && strv_length(names) == 2 && strcmp(names[0], "a-2") == 0 &&
           strcmp(names[1], "c-3") == 0,
       "v1: each name once, from any hierarchy");
    strv_free(names);
    lxm_cg_layout_clear(&l);
}

/* --- driver for tests/integration/limits.sh --------------------------------- */

static int parse_limit(struct lxm_limits *l, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq)
        return -EINVAL;
    size_t n = (size_t)(eq - kv);
    const char *v = eq + 1;
    if (strncmp(kv, "memory", n) == 0 && n == 6)
        l->memory = strtoll(v, NULL, 10);
    else if (strncmp(kv, "swap", n) == 0 && n == 4)
        l->memory_swap = strtoll(v, NULL, 10);
    else if (strncmp(kv, "cpu", n) == 0 && n == 3)
        l->cpu = strtod(v, NULL);
    else if (strncmp(kv, "cpu_weight", n) == 0 && n == 10)
        l->cpu_weight = strtoll(v, NULL, 10);
    else if (strncmp(kv, "cpuset", n) == 0 && n == 6)
        l->cpuset = (char *)v;
    else if (strncmp(kv, "pids", n) == 0 && n == 4)
        l->pids = strtoll(v, NULL, 10);
    else if (strncmp(kv, "io_weight", n) == 0 && n == 9)
        l->io_weight = strtoll(v, NULL, 10);
    else
        return -EINVAL;
    return 0;
}

static void print_stats(const struct lxm_cgroup_stats *s)
{
    printf("memory_usage=%lld\nmemory_limit=%lld\nmemory_peak=%lld\nswap_usage=%lld\n"
           "cpu_usage_ns=%lld\npids_current=%lld\npids_limit=%lld\noom_kills=%lld\n"
           "io_read_bytes=%lld\nio_write_bytes=%lld\n",
           (long long)s->memory_usage, (long long)s->memory_limit, (long long)s->memory_peak,
           (long long)s->swap_usage, (long long)s->cpu_usage_ns, (long long)s->pids_current,
           (long long)s->pids_limit, (long long)s->oom_kills, (long long)s->io_read_bytes,
           (long long)s->io_write_bytes);
}

/* Which hierarchy serves each role on this host. */
static int drive_layout(void)
{
    static const char *const names[LXM_CG_NROLES] = {"memory", "cpu", "cpuacct", "cpuset",
                                                     "pids",   "io",  "freezer", "devices"};
    struct lxm_cg_layout l = {.n = 0};
    struct lxm_error err;
    struct lxm_cgroup *cg = NULL;
    if (lxm_cg_layout_detect(&l, &err) < 0 ||
        lxm_cgroup_new_in(&l, "lxm", "probe", &cg, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (int i = 0; i < l.n; i++)
        printf("hier v%d %s %s\n", l.m[i].version, l.m[i].path, l.m[i].opts ? l.m[i].opts : "-");
    for (int r = 0; r < LXM_CG_NROLES; r++)
        printf("role %s %s\n", names[r],
               cg->role[r] < 0                        ? "none"
               : cg->h[cg->role[r]].ops->version == 2 ? "v2"
                                                      : "v1");
    lxm_cgroup_free(cg);
    lxm_cg_layout_clear(&l);
    return 0;
}

static int drive(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "layout") == 0)
        return drive_layout();
    if (argc >= 1 && strcmp(argv[0], "prune") == 0) {
        lxm_cgroup_prune_parent();
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: test-cgroup drive CMD NAME [ARGS]\n");
        return 2;
    }
    const char *cmd = argv[0], *name = argv[1];
    struct lxm_error err = {0};
    struct lxm_cgroup *cg = NULL;
    struct lxm_limits lim = no_limits();
    for (int i = 2; strcmp(cmd, "create") == 0 || strcmp(cmd, "set") == 0 ? i < argc : 0; i++)
        if (parse_limit(&lim, argv[i]) < 0) {
            fprintf(stderr, "bad limit %s\n", argv[i]);
            return 2;
        }
    int r;
    if (strcmp(cmd, "create") == 0)
        r = lxm_cgroup_create(name, &lim, &cg, &err);
    else
        r = lxm_cgroup_open(name, &cg, &err);
    if (r >= 0) {
        if (strcmp(cmd, "set") == 0) {
            r = lxm_cgroup_set_limits(cg, &lim, &err);
        } else if (strcmp(cmd, "attach") == 0 && argc > 2) {
            r = lxm_cgroup_attach(cg, (pid_t)atoi(argv[2]), &err);
        } else if (strcmp(cmd, "stats") == 0) {
            struct lxm_cgroup_stats s;
            r = lxm_cgroup_stats(cg, &s, &err);
            print_stats(&s);
        } else if (strcmp(cmd, "freeze") == 0 || strcmp(cmd, "thaw") == 0) {
            r = lxm_cgroup_freeze(cg, strcmp(cmd, "freeze") == 0, &err);
        } else if (strcmp(cmd, "frozen") == 0) {
            r = lxm_cgroup_is_frozen(cg);
            printf("%d\n", r);
        } else if (strcmp(cmd, "chown") == 0 && argc > 3) {
            r = lxm_cgroup_chown(cg, (uid_t)atoi(argv[2]), (gid_t)atoi(argv[3]), &err);
        } else if (strcmp(cmd, "destroy") == 0) {
            r = lxm_cgroup_destroy(cg, &err);
        } else if (strcmp(cmd, "path") == 0 && argc > 2) {
            const char *p = strcmp(argv[2], "v2") == 0 ? lxm_cgroup_v2_path(cg)
                                                       : lxm_cgroup_v1_path(cg, argv[2]);
            printf("%s\n", p ? p : "-");
        } else if (strcmp(cmd, "oomfd") == 0) {
            short ev = 0;
            int fd = lxm_cgroup_memory_events_fd(cg, &ev, &err);
            r = fd < 0 ? fd : 0;
            if (fd >= 0) {
                printf("fd ok events=%s\n", ev == POLLPRI ? "POLLPRI" : "POLLIN");
                close(fd);
            }
        } else if (strcmp(cmd, "create") != 0) {
            fprintf(stderr, "unknown command %s\n", cmd);
            r = -EINVAL;
        }
    }
    if (r < 0 && err.msg[0])
        fprintf(stderr, "error: %s\n", err.msg);
    lxm_cgroup_free(cg);
    return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "drive") == 0)
        return drive(argc - 2, argv + 2);
    char tmpl[] = "/tmp/test-cgroup.XXXXXX";
    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        return 1;
    }
    _cleanup_free_ char *v2 = xasprintf("%s/v2", tmpl), *v1 = xasprintf("%s/v1", tmpl),
                        *hy = xasprintf("%s/hybrid", tmpl);
    mkdir(v1, 0755);
    mkdir(hy, 0755);
    test_parsers();
    test_v1_conversions();
    test_mountinfo();
    test_v2_limits(v2);
    test_v2_stats(v2);
    test_v1_limits(v1);
    test_roles(hy);
    test_list(tmpl);
    rm_rf(tmpl);
    return done();
}

/* doctor: host checks for `lxm doctor` (see doctor.h). */
#include "host/doctor.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "config/config.h"
#include "security/idmap.h"
#include "runtime/lxcfs.h"
#include "lxm/net/bridge.h"
#include "lxm/net/traps.h"
#include "net/network.h"
#include "security/security.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

struct checks {
    struct lxm_doctor_check v[40];
    size_t n;
    bool oom;
};

const char *lxm_doctor_status_name(enum lxm_doctor_status s)
{
    return s == LXM_DOCTOR_OK ? "OK" : s == LXM_DOCTOR_WARN ? "WARN" : "FAIL";
}

/* fix == NULL for OK. detail is a format. */
static void report(struct checks *c, const char *name, enum lxm_doctor_status st, const char *fix,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void report(struct checks *c, const char *name, enum lxm_doctor_status st, const char *fix,
                   const char *fmt, ...)
{
    if (c->n == ARRAY_SIZE(c->v))
        return;
    va_list ap;
    va_start(ap, fmt);
    char *detail = NULL;
    if (vasprintf(&detail, fmt, ap) < 0)
        detail = NULL;
    va_end(ap);
    char *f = fix ? strdup(fix) : NULL;
    c->oom |= !detail || (fix && !f);
    c->v[c->n++] = (struct lxm_doctor_check){name, st, detail, f};
}

static bool file_has_word(const char *file, const char *word)
{
    _cleanup_free_ char *text = NULL;
    if (read_file(file, &text, NULL) < 0)
        return false;
    size_t n = strlen(word);
    for (char *p = strstr(text, word); p; p = strstr(p + 1, word))
        if ((p == text || p[-1] == '\t' || p[-1] == ' ') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

static void check_root(struct checks *c)
{
    if (geteuid() == 0)
        report(c, "root", LXM_DOCTOR_OK, NULL, "running as root");
    else
        report(c, "root", LXM_DOCTOR_FAIL, "run lxm as root (sudo lxm ...)",
               "running as uid %d; lxm needs root", (int)geteuid());
}

/* "v1 /sys/fs/cgroup/cpu: cpu; ...; cgroup2 /sys/fs/cgroup/unified: (no
 * controller used)" as "hybrid: v1 cpu cpuacct ...; cgroup2 at PATH
 * (no controllers)". */
static void cgroup_summary(const char *layout, char *out, size_t size)
{
    char v1[256] = "", v2[256] = "";
    const char *v2_path = NULL;
    size_t v2_len = 0;
    for (const char *p = layout; p && *p;) {
        const char *end = strstr(p, "; ");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (colon && strncmp(p, "v1 ", 3) == 0 && colon[2] != '(')
            snprintf(v1 + strlen(v1), sizeof(v1) - strlen(v1), " %.*s",
                     (int)(len - (size_t)(colon + 2 - p)), colon + 2);
        if (colon && strncmp(p, "cgroup2 ", 8) == 0) {
            v2_path = p + 8;
            v2_len = (size_t)(colon - v2_path);
            if (colon[2] != '(')
                snprintf(v2, sizeof(v2), "%.*s", (int)(len - (size_t)(colon + 2 - p)), colon + 2);
        }
        p = end ? end + 2 : NULL;
    }
    const char *kind = *v1 && v2_path ? "hybrid" : *v1 ? "cgroup v1" : "unified (cgroup2)";
    int n = snprintf(out, size, "%s:", kind);
    if (*v1 && n > 0 && (size_t)n < size)
        n += snprintf(out + n, size - (size_t)n, " v1 controllers%s", v1);
    if (v2_path && n > 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, "%s cgroup2 at %.*s (%s%s)", *v1 ? ";" : "",
                 (int)v2_len, v2_path, *v2 ? "controllers " : "no controllers used", v2);
}

static void check_cgroups(struct checks *c)
{
    _cleanup_free_ char *layout = NULL, *missing = NULL;
    struct lxm_error e = {0};
    if (lxm_cgroup_describe_host(&layout, &missing, &e) < 0) {
        report(c, "cgroups", LXM_DOCTOR_FAIL,
               "mount cgroup2 at /sys/fs/cgroup (or the v1 controllers below it)", "%s", e.msg);
        return;
    }
    bool limits = !strstr(missing, "memory") && !strstr(missing, "pids") && !strstr(missing, "cpu");
    char kind[512];
    cgroup_summary(layout, kind, sizeof(kind));
    if (!*missing)
        report(c, "cgroups", LXM_DOCTOR_OK, NULL, "%s", kind);
    else
        report(c, "cgroups", limits ? LXM_DOCTOR_WARN : LXM_DOCTOR_FAIL,
               "enable the missing controllers (kernel config, or cgroup_enable= on the kernel "
               "command line); limits on them cannot be set",
               "%s; not served: %s", kind, missing);
}

static void check_userns(struct checks *c)
{
    _cleanup_free_ char *max = NULL;
    if (read_file("/proc/sys/user/max_user_namespaces", &max, NULL) < 0)
        report(c, "userns", LXM_DOCTOR_FAIL, "use a kernel built with CONFIG_USER_NS",
               "no user namespaces in this kernel");
    else if (atol(max) <= 0)
        report(c, "userns", LXM_DOCTOR_FAIL, "sysctl -w user.max_user_namespaces=15000",
               "user namespaces are disabled (user.max_user_namespaces = 0)");
    else
        report(c, "userns", LXM_DOCTOR_OK, NULL, "user namespaces available (max %ld)", atol(max));
}

static void check_subids(struct checks *c, const char *file, const char *name)
{
    struct lxm_subid_set set = {0};
    struct lxm_error e = {0};
    uint64_t total = 0;
    if (lxm_subid_read(file, "root", &set, &e) < 0) {
        report(c, name, LXM_DOCTOR_FAIL, "fix or remove root's malformed line", "%s", e.msg);
        return;
    }
    for (size_t i = 0; i < set.n; i++)
        total += set.r[i].count;
    if (total >= 65536)
        report(c, name, LXM_DOCTOR_OK, NULL, "root has %llu ids in %s (first at %u)",
               (unsigned long long)total, file, set.r[0].host_id);
    else
        report(c, name, LXM_DOCTOR_WARN,
               "add a line such as 'root:1000000:65536' (the first unprivileged start appends "
               "one by itself)",
               "root has %llu ids in %s; unprivileged containers need 65536",
               (unsigned long long)total, file);
}

static void check_overlay(struct checks *c)
{
    if (file_has_word("/proc/filesystems", "overlay"))
        report(c, "overlayfs", LXM_DOCTOR_OK, NULL, "overlay filesystem available");
    else
        report(c, "overlayfs", LXM_DOCTOR_WARN, "modprobe overlay",
               "no overlay filesystem: containers are full copies of their image");
}

static void check_apparmor(struct checks *c)
{
    if (lxm_apparmor_enabled())
        report(c, "apparmor", LXM_DOCTOR_OK, NULL, "AppArmor enabled");
    else
        report(c, "apparmor", LXM_DOCTOR_WARN,
               "boot a kernel with AppArmor enabled (apparmor=1 security=apparmor) to confine "
               "containers with their profile",
               "AppArmor is not enabled in this kernel; containers run without it");
}

static void check_tools(struct checks *c)
{
    /* lxm loads it on first use (lazy.c): see whether that would work. */
    void *h = dlopen("libnftables.so.1", RTLD_LAZY | RTLD_LOCAL);
    bool nft = h != NULL;
    if (h)
        dlclose(h);
    if (nft)
        report(c, "nftables", LXM_DOCTOR_OK, NULL, "libnftables found (NAT for the bridge)");
    else
        report(c, "nftables", LXM_DOCTOR_WARN, "apt-get install libnftables1",
               "libnftables not found: the bridge cannot NAT");
    if (access("/usr/sbin/dnsmasq", X_OK) == 0)
        report(c, "dnsmasq", LXM_DOCTOR_OK, NULL,
               "/usr/sbin/dnsmasq found (DHCP/DNS on the bridge)");
    else
        report(c, "dnsmasq", LXM_DOCTOR_WARN, "apt-get install dnsmasq-base",
               "/usr/sbin/dnsmasq not found: containers on the bridge get no DHCP or DNS");
}

/* Firewall traps (lxm/net/traps.h): one WARN line per finding, "WHAT; fix:
 * COMMAND" split into detail and fix; one OK line when none. */
static void check_traps(struct checks *c, const struct lxm_bridge_cfg *b)
{
    _cleanup_strv_free_ char **traps = NULL;
    struct lxm_error e = {0};
    if (lxm_net_traps(b, &traps, &e) < 0) {
        report(c, "firewall", LXM_DOCTOR_WARN, "lxm net up (it warns about the same)",
               "firewall traps not checked: %s", e.msg);
        return;
    }
    for (char **t = traps; t && *t; t++) {
        char *fix = strstr(*t, "; fix: ");
        if (fix)
            report(c, "firewall", LXM_DOCTOR_WARN, fix + 7, "%.*s", (int)(fix - *t), *t);
        else
            report(c, "firewall", LXM_DOCTOR_WARN, "see docs/networking.md", "%s", *t);
    }
    if (!traps || !traps[0])
        report(c, "firewall", LXM_DOCTOR_OK, NULL,
               "nothing on the host drops %s's traffic (forward chains, forwarding, DHCP/DNS "
               "ports)",
               b->name);
}

static void check_bridge(struct checks *c, const struct lxm_paths *paths)
{
    const struct lxm_global *g;
    struct lxm_error e = {0};
    if (lxm_paths_global(paths, &g, &e) < 0) {
        report(c, "bridge", LXM_DOCTOR_FAIL, "correct the global config", "%s", e.msg);
        return;
    }
    struct lxm_bridge_cfg b;
    _cleanup_free_ char *dir = NULL;
    struct lxm_bridge_status st = {0};
    bool have_cfg = lxm_network_bridge_cfg(paths, g, &b, &dir) == 0;
    if (!have_cfg || lxm_bridge_status(&b, &st, &e) < 0)
        report(c, "bridge", LXM_DOCTOR_WARN, "lxm net status", "cannot read the bridge: %s", e.msg);
    else if (!st.exists)
        report(c, "bridge", LXM_DOCTOR_OK, NULL,
               "%s is not up (the first container on it, or 'lxm net up', brings it up)", b.name);
    else if (!st.up)
        report(c, "bridge", LXM_DOCTOR_WARN, "lxm net up", "%s exists but is down", b.name);
    else if (b.dhcp && st.dnsmasq == 0)
        report(c, "bridge", LXM_DOCTOR_WARN, "lxm net up",
               "%s is up but its dnsmasq is not running (no DHCP or DNS)", b.name);
    else
        report(c, "bridge", LXM_DOCTOR_OK, NULL, "%s is up%s", b.name,
               b.dhcp ? ", dnsmasq running" : "");
    if (have_cfg)
        check_traps(c, &b);
    lxm_bridge_status_free(&st);
}

/* The container store, or its nearest existing parent (before the first
 * container): where rootfs trees will be written. */
static void store_dir(const struct lxm_paths *paths, char *dir, size_t size)
{
    snprintf(dir, size, "%s", paths->containers);
    char *slash;
    while (access(dir, F_OK) < 0 && (slash = strrchr(dir, '/')) && slash != dir)
        *slash = '\0';
}

/* Idmapped mounts on the filesystem of the container store: without them
 * an unprivileged container's rootfs is chowned into the host range. */
static void check_idmap(struct checks *c, const struct lxm_paths *paths)
{
    char dir[4096];
    store_dir(paths, dir, sizeof(dir));
    struct lxm_error e = {0};
    int r = lxm_idmap_mount_supported(dir, -1, &e);
    if (r > 0)
        report(c, "idmap", LXM_DOCTOR_OK, NULL, "idmapped mounts work on %s", dir);
    else if (r == 0)
        report(c, "idmap", LXM_DOCTOR_WARN,
               "keep the store on ext4, xfs, btrfs or tmpfs (or 'lxm storage init') for instant "
               "unprivileged containers",
               "%s cannot be idmapped: unprivileged rootfs trees are chowned (slower, no sharing)",
               dir);
    else
        report(c, "idmap", LXM_DOCTOR_WARN, "a kernel >= 5.12 with idmapped mounts",
               "idmapped mounts untested on %s: %s", dir, e.msg);
}

static void check_seccomp(struct checks *c)
{
    _cleanup_free_ char *actions = NULL;
    if (read_file("/proc/sys/kernel/seccomp/actions_avail", &actions, NULL) < 0) {
        report(c, "seccomp", LXM_DOCTOR_FAIL,
               "use a kernel with CONFIG_SECCOMP_FILTER, or profiles without a seccomp filter",
               "no seccomp filters in this kernel: the default profile's filter cannot load");
        return;
    }
    actions[strcspn(actions, "\n")] = '\0';
    report(c, "seccomp", LXM_DOCTOR_OK, NULL, "seccomp filters available (%s)", actions);
}

/* Per-user kernel limits: every unprivileged container's root is the same
 * host uid range, so all of them share these. */
static void check_sysctls(struct checks *c)
{
    static const struct {
        const char *name, *file, *why;
        long want;
    } s[] = {
        {"fs.inotify.max_user_instances", "/proc/sys/fs/inotify/max_user_instances",
         "systemd and its services open several inotify instances per container", 1024},
        {"fs.inotify.max_user_watches", "/proc/sys/fs/inotify/max_user_watches",
         "services in containers watch files", 65536},
        {"user.max_user_namespaces", "/proc/sys/user/max_user_namespaces",
         "each container and each service sandbox inside it is a user namespace", 10000},
        {"kernel.keys.maxkeys", "/proc/sys/kernel/keys/maxkeys",
         "each systemd container takes keys from its root's quota", 2000},
    };
    for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
        _cleanup_free_ char *text = NULL;
        char fix[160];
        if (read_file(s[i].file, &text, NULL) < 0) {
            report(c, s[i].name, LXM_DOCTOR_WARN, "check the kernel configuration",
                   "%s cannot be read", s[i].file);
            continue;
        }
        long v = atol(text);
        snprintf(fix, sizeof(fix), "sysctl -w %s=%ld (and a file in /etc/sysctl.d/ to keep it)",
                 s[i].name, s[i].want);
        if (v >= s[i].want)
            report(c, s[i].name, LXM_DOCTOR_OK, NULL, "%ld (>= %ld)", v, s[i].want);
        else
            report(c, s[i].name, LXM_DOCTOR_WARN, fix, "%ld caps how many containers run: %s", v,
                   s[i].why);
    }
}

static void check_lxcfs(struct checks *c, const struct lxm_paths *paths)
{
    const struct lxm_global *g;
    struct lxm_error e = {0};
    if (lxm_paths_global(paths, &g, &e) < 0) {
        report(c, "lxcfs", LXM_DOCTOR_FAIL, "correct the global config", "%s", e.msg);
        return;
    }
    bool installed = access("/usr/bin/lxcfs", X_OK) == 0;
    if (lxm_lxcfs_off(g->lxcfs))
        report(c, "lxcfs", LXM_DOCTOR_OK, NULL,
               "turned off in %s (containers see the host's /proc/meminfo, cpuinfo, uptime)",
               paths->global_config);
    else if (lxm_lxcfs_probe(g->lxcfs, &e) == 0)
        report(c, "lxcfs", LXM_DOCTOR_OK, NULL,
               "lxcfs serves %s: containers see their own memory, CPUs and uptime", g->lxcfs);
    else if (!installed)
        report(c, "lxcfs", LXM_DOCTOR_WARN,
               "apt-get install lxcfs (its service mounts /var/lib/lxcfs)",
               "lxcfs is not installed: free, top, uptime and nproc in containers show the host");
    else
        report(c, "lxcfs", LXM_DOCTOR_WARN,
               "systemctl start lxcfs, or run 'lxcfs PATH' and set lxcfs: PATH in lxm.yaml",
               "lxcfs is installed but not running on %s (%s): containers see the host's /proc",
               g->lxcfs, e.msg);
}

/* Free space where containers and images are written. */
static void check_space(struct checks *c, const struct lxm_paths *paths)
{
    char dir[4096];
    store_dir(paths, dir, sizeof(dir));
    struct statvfs sv;
    if (statvfs(dir, &sv) < 0) {
        report(c, "space", LXM_DOCTOR_WARN, "check the store directory", "%s: %s", dir,
               strerror(errno));
        return;
    }
    uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    uint64_t mib = avail >> 20;
    if (mib < 256)
        report(c, "space", LXM_DOCTOR_FAIL,
               "free space there (lxm image prune, lxm delete) or move the store",
               "%" PRIu64 " MiB free on %s: too little for an image or a container", mib, dir);
    else if (mib < 2048)
        report(c, "space", LXM_DOCTOR_WARN, "free space there or move the store",
               "%" PRIu64 " MiB free on %s: room for a few containers only", mib, dir);
    else
        report(c, "space", LXM_DOCTOR_OK, NULL, "%" PRIu64 " MiB free on %s", mib, dir);
}

int lxm_doctor_run(const struct lxm_paths *paths, struct lxm_doctor_check **out, size_t *n,
                   struct lxm_error *err)
{
    struct checks c = {0};
    check_root(&c);
    check_cgroups(&c);
    check_userns(&c);
    check_subids(&c, "/etc/subuid", "subuid");
    check_subids(&c, "/etc/subgid", "subgid");
    check_idmap(&c, paths);
    check_overlay(&c);
    check_seccomp(&c);
    check_apparmor(&c);
    check_sysctls(&c);
    check_tools(&c);
    check_bridge(&c, paths);
    /* check_bridge ends with the firewall traps of lxm/net/traps.c. */
    check_lxcfs(&c, paths);
    check_space(&c, paths);
    struct lxm_doctor_check *v = c.oom ? NULL : calloc(c.n, sizeof(*v));
    if (!v) {
        for (size_t i = 0; i < c.n; i++) {
            free(c.v[i].detail);
            free(c.v[i].fix);
        }
        return lxm_error_errno(err, ENOMEM, "doctor");
    }
    memcpy(v, c.v, c.n * sizeof(*v));
    *out = v;
    *n = c.n;
    return 0;
}

void lxm_doctor_free(struct lxm_doctor_check *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].detail);
        free(v[i].fix);
    }
    free(v);
}

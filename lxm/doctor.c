/* doctor: host checks for `lxm doctor` (see doctor.h). */
#include "doctor.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "config.h"
#include "idmap.h"
#include "net/bridge.h"
#include "network.h"
#include "security.h"
#include "util/cleanup.h"
#include "util/fs.h"

struct checks {
    struct lxm_doctor_check v[16];
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

static void check_cgroups(struct checks *c)
{
    _cleanup_free_ char *layout = NULL, *missing = NULL;
    struct lxm_error e = {0};
    if (lxm_cgroup_describe_host(&layout, &missing, &e) < 0) {
        report(c, "cgroups", LXM_DOCTOR_FAIL,
               "mount cgroup2 at /sys/fs/cgroup (or the v1 controllers below it)", "%s", e.msg);
        return;
    }
    bool limits = !strstr(missing, "memory") && !strstr(missing, "pids") &&
                  !strstr(missing, "cpu");
    if (!*missing)
        report(c, "cgroups", LXM_DOCTOR_OK, NULL, "%s", layout);
    else
        report(c, "cgroups", limits ? LXM_DOCTOR_WARN : LXM_DOCTOR_FAIL,
               "enable the missing controllers (kernel config, or cgroup_enable= on the kernel "
               "command line); limits on them cannot be set",
               "%s; not served: %s", layout, missing);
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
        report(c, "dnsmasq", LXM_DOCTOR_OK, NULL, "/usr/sbin/dnsmasq found (DHCP/DNS on the bridge)");
    else
        report(c, "dnsmasq", LXM_DOCTOR_WARN, "apt-get install dnsmasq-base",
               "/usr/sbin/dnsmasq not found: containers on the bridge get no DHCP or DNS");
}

static void check_bridge(struct checks *c, const struct lxm_paths *paths)
{
    struct lxm_global *g = NULL;
    struct lxm_error e = {0};
    if (lxm_global_load(paths->global_config, &g, &e) < 0) {
        report(c, "bridge", LXM_DOCTOR_FAIL, "correct the global config", "%s", e.msg);
        return;
    }
    struct lxm_bridge_cfg b;
    _cleanup_free_ char *dir = NULL;
    struct lxm_bridge_status st = {0};
    if (lxm_network_bridge_cfg(paths, g, &b, &dir) < 0 || lxm_bridge_status(&b, &st, &e) < 0)
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
    lxm_bridge_status_free(&st);
    lxm_global_free(g);
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
    check_overlay(&c);
    check_apparmor(&c);
    check_tools(&c);
    check_bridge(&c, paths);
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

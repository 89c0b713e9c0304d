/* cgroup: the one interface over cgroup v2 (cgroup-v2.c) and v1
 * (cgroup-v1.c). It reads what the host mounts, decides per controller
 * which hierarchy serves it, and dispatches; creation, attach, destroy and
 * the shared file/format helpers live here. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

/* How long destroy keeps killing before it gives up on a process that will
 * not die (e.g. stuck in D state on a dead NFS server). */
#define KILL_ATTEMPTS 100
#define KILL_INTERVAL_MS 50

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* --- file helpers ---------------------------------------------------------- */

int lxm_cg_write(const char *dir, const char *file, const char *value, struct lxm_error *err)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
    if (!path)
        return lxm_error_errno(err, ENOMEM, "write %s", file);
    /* No O_CREAT: a missing file means a missing controller, never a new
     * regular file in a scratch directory. */
    _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s", path);
    size_t len = strlen(value);
    ssize_t w = write(fd, value, len);
    if (w < 0)
        return lxm_error_errno(err, errno, "write \"%s\" to %s", value, path);
    if ((size_t)w != len)
        return lxm_error_set(err, EIO, "write \"%s\" to %s: short write", value, path);
    return 0;
}

int lxm_cg_read(const char *dir, const char *file, char **out)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
    if (!path)
        return -ENOMEM;
    return read_file(path, out, NULL);
}

int lxm_cg_read_int64(const char *dir, const char *file, int64_t *out)
{
    _cleanup_free_ char *s = NULL;
    int r = lxm_cg_read(dir, file, &s);
    if (r < 0)
        return r;
    return lxm_cg_parse_int64(s, out);
}

bool lxm_cg_exists(const char *dir, const char *file)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
    return path && access(path, F_OK) == 0;
}

/* --- formats --------------------------------------------------------------- */

int lxm_cg_parse_int64(const char *s, int64_t *out)
{
    while (isspace((unsigned char)*s))
        s++;
    if (strncmp(s, "max", 3) == 0 && (s[3] == '\0' || isspace((unsigned char)s[3]))) {
        *out = -1;
        return 0;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || end == s)
        return -EINVAL;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return -EINVAL;
    /* v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712
     * on 4k pages); nothing real is that large. */
    *out = v >= (1LL << 62) ? -1 : (int64_t)v;
    return 0;
}

int lxm_cg_parse_kv(const char *text, const char *key, int64_t *out)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, klen) != 0 || p[klen] != ' ')
            continue;
        char *end;
        errno = 0;
        long long v = strtoll(p + klen + 1, &end, 10);
        if (errno || end == p + klen + 1)
            return -EINVAL;
        *out = v;
        return 0;
    }
    return -ENOENT;
}

/* Add `val` of "name=VALUE" tokens in one io.stat line. */
static void io_stat_field(const char *tok, const char *name, int64_t *sum)
{
    size_t n = strlen(name);
    if (strncmp(tok, name, n) == 0 && tok[n] == '=')
        *sum += strtoll(tok + n + 1, NULL, 10);
}

void lxm_cg_parse_io_stat(const char *text, int64_t *rbytes, int64_t *wbytes)
{
    *rbytes = *wbytes = 0;
    _cleanup_free_ char *copy = strdup(text);
    if (!copy) {
        *rbytes = *wbytes = -1;
        return;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
        io_stat_field(tok, "rbytes", rbytes);
        io_stat_field(tok, "wbytes", wbytes);
    }
}

void lxm_cg_parse_blkio_bytes(const char *text, int64_t *rbytes, int64_t *wbytes)
{
    *rbytes = *wbytes = 0;
    const char *p = text;
    while (p && *p) {
        char dev[64], op[32];
        long long v;
        /* "8:0 Read 4096"; the last line is "Total N" (no device). */
        if (sscanf(p, "%63s %31s %lld", dev, op, &v) == 3 && strchr(dev, ':')) {
            if (strcmp(op, "Read") == 0)
                *rbytes += v;
            else if (strcmp(op, "Write") == 0)
                *wbytes += v;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
}

int64_t lxm_cg_cpu_quota_us(double cpus)
{
    if (cpus < 0)
        return -1;
    return (int64_t)(cpus * LXM_CG_CPU_PERIOD_US + 0.5); /* round, without libm */
}

void lxm_cg_format_cpu_max(double cpus, char *buf, size_t size)
{
    int64_t q = lxm_cg_cpu_quota_us(cpus);
    if (q < 0)
        snprintf(buf, size, "max %d", LXM_CG_CPU_PERIOD_US);
    else
        snprintf(buf, size, "%lld %d", (long long)q, LXM_CG_CPU_PERIOD_US);
}

void lxm_cg_format_max(int64_t v, char *buf, size_t size)
{
    if (v < 0)
        snprintf(buf, size, "max");
    else
        snprintf(buf, size, "%lld", (long long)v);
}

/* systemd's mapping: the defaults (weight 100, 1024 shares) correspond, and
 * the result is clamped to what cpu.shares accepts (2..262144). */
int64_t lxm_cg_weight_to_shares(int64_t weight)
{
    int64_t s = weight * 1024 / 100;
    return s < 2 ? 2 : s > 262144 ? 262144 : s;
}

/* Same idea for blkio.weight: default 100 -> 500, range 10..1000. */
int64_t lxm_cg_weight_to_blkio(int64_t weight)
{
    int64_t w = weight * 500 / 100;
    return w < 10 ? 10 : w > 1000 ? 1000 : w;
}

int lxm_cg_parse_cpulist(const char *s, uint64_t mask[LXM_CG_MAX_CPUS / 64])
{
    memset(mask, 0, LXM_CG_MAX_CPUS / 8);
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    while (*p && *p != '\n') {
        char *end;
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        unsigned long a = strtoul(p, &end, 10), b = a;
        if (*end == '-') {
            if (!isdigit((unsigned char)end[1]))
                return -EINVAL;
            b = strtoul(end + 1, &end, 10);
        }
        if (a > b || b >= LXM_CG_MAX_CPUS)
            return -EINVAL;
        for (unsigned long i = a; i <= b; i++)
            mask[i / 64] |= 1ULL << (i % 64);
        if (*end == ',')
            end++;
        else if (*end && *end != '\n')
            return -EINVAL;
        p = end;
    }
    return 0;
}

int lxm_cg_check_cpuset(const char *want, const char *avail, struct lxm_error *err)
{
    uint64_t w[LXM_CG_MAX_CPUS / 64], a[LXM_CG_MAX_CPUS / 64];
    if (lxm_cg_parse_cpulist(want, w) < 0 || strspn(want, " \t\n") == strlen(want))
        return lxm_error_set(err, EINVAL,
                             "limits.cpuset: \"%s\" is not a CPU list (use e.g. 0-1,3)", want);
    if (lxm_cg_parse_cpulist(avail, a) < 0)
        return lxm_error_set(err, EINVAL, "cannot parse the host's CPU list \"%s\"", avail);
    for (int i = 0; i < LXM_CG_MAX_CPUS; i++) {
        if ((w[i / 64] >> (i % 64) & 1) && !(a[i / 64] >> (i % 64) & 1)) {
            _cleanup_free_ char *av = strndup(avail, strcspn(avail, "\n"));
            return lxm_error_set(err, EINVAL,
                                 "limits.cpuset: CPU %d of \"%s\" is not available on this host "
                                 "(available: %s)",
                                 i, want, av ? av : "?");
        }
    }
    return 0;
}

/* --- layout ---------------------------------------------------------------- */

void lxm_cg_layout_clear(struct lxm_cg_layout *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->m[i].path);
        free(l->m[i].opts);
    }
    l->n = 0;
}

int lxm_cg_layout_add(struct lxm_cg_layout *l, int version, const char *path, const char *opts)
{
    if (l->n >= LXM_CG_MAX_HIER)
        return -E2BIG;
    struct lxm_cg_mount *m = &l->m[l->n];
    m->version = version;
    m->path = strdup(path);
    m->opts = opts ? strdup(opts) : NULL;
    if (!m->path || (opts && !m->opts)) {
        free(m->path);
        free(m->opts);
        return -ENOMEM;
    }
    l->n++;
    return 0;
}

/* Keep only the v1 super options that name controllers ("cpu,cpuacct",
 * "name=systemd"): rw, clone_children, release_agent=... are not. */
static char *v1_controller_opts(const char *super)
{
    static const char *const generic[] = {
        "rw", "ro", "clone_children", "noprefix", "xattr", "cpuset_v2_mode", "all", "none"};
    _cleanup_free_ char *copy = strdup(super);
    char *out = calloc(1, strlen(super) + 1);
    if (!copy || !out) {
        free(out);
        return NULL;
    }
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        bool skip = strncmp(t, "release_agent=", 14) == 0;
        for (size_t i = 0; i < ARRAY_SIZE(generic) && !skip; i++)
            skip = strcmp(t, generic[i]) == 0;
        if (skip)
            continue;
        if (*out)
            strcat(out, ",");
        strcat(out, t);
    }
    return out;
}

struct mi_entry {
    unsigned major, minor;
    char root[4096], point[4096], fstype[64], super[1024];
};

/* One mountinfo line; 1 = a cgroup mount, 0 = something else. */
static int parse_mountinfo_line(const char *line, struct mi_entry *e)
{
    if (sscanf(line, "%*d %*d %u:%u %4095s %4095s", &e->major, &e->minor, e->root, e->point) != 4)
        return 0;
    const char *sep = strstr(line, " - ");
    if (!sep || sscanf(sep + 3, "%63s %*s %1023s", e->fstype, e->super) != 2)
        return 0;
    if (strcmp(e->fstype, "cgroup") != 0 && strcmp(e->fstype, "cgroup2") != 0)
        return 0;
    unescape_octal(e->root);
    unescape_octal(e->point);
    return 1;
}

/* Whether the line of length len has fstype cgroup or cgroup2: most
 * lines do not, and cost no copy nor sscanf then. */
static bool cgroup_line(const char *line, size_t len)
{
    const char *sep = memmem(line, len, " - ", 3);
    if (!sep)
        return false;
    const char *fs = sep + 3;
    size_t rest = len - (size_t)(fs - line);
    return (rest > 7 && memcmp(fs, "cgroup ", 7) == 0) ||
           (rest > 8 && memcmp(fs, "cgroup2 ", 8) == 0);
}

/* check_visible: skip mounts hidden under a later mount (a tmpfs over
 * /sys/fs/cgroup), by comparing the mount point's st_dev. */
static int layout_from_mountinfo(const char *text, struct lxm_cg_layout *out, bool check_visible)
{
    dev_t devs[LXM_CG_MAX_HIER];
    bool at_root[LXM_CG_MAX_HIER];
    out->n = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        size_t len = strcspn(p, "\n");
        if (!cgroup_line(p, len))
            continue;
        _cleanup_free_ char *line = strndup(p, len);
        _cleanup_free_ struct mi_entry *e = calloc(1, sizeof(*e));
        if (!line || !e)
            return -ENOMEM;
        if (!parse_mountinfo_line(line, e))
            continue;
        dev_t dev = makedev(e->major, e->minor);
        struct stat st;
        if (check_visible && (stat(e->point, &st) < 0 || st.st_dev != dev))
            continue;
        int version = strcmp(e->fstype, "cgroup2") == 0 ? 2 : 1;
        _cleanup_free_ char *opts = version == 1 ? v1_controller_opts(e->super) : NULL;
        if (version == 1 && !opts)
            return -ENOMEM;
        int i;
        for (i = 0; i < out->n && devs[i] != dev; i++)
            ;
        bool root = strcmp(e->root, "/") == 0;
        if (i < out->n) {
            /* The same hierarchy mounted twice: prefer its root mount. */
            if (root && !at_root[i]) {
                free(out->m[i].path);
                out->m[i].path = strdup(e->point);
                at_root[i] = true;
                if (!out->m[i].path)
                    return -ENOMEM;
            }
            continue;
        }
        int r = lxm_cg_layout_add(out, version, e->point, opts);
        if (r == -E2BIG)
            break;
        if (r < 0)
            return r;
        devs[i] = dev;
        at_root[i] = root;
    }
    return 0;
}

int lxm_cg_layout_parse(const char *mountinfo, struct lxm_cg_layout *out)
{
    int r = layout_from_mountinfo(mountinfo, out, false);
    if (r < 0)
        lxm_cg_layout_clear(out);
    return r;
}

int lxm_cg_layout_detect(struct lxm_cg_layout *out, struct lxm_error *err)
{
    _cleanup_free_ char *text = NULL;
    int r = read_file("/proc/self/mountinfo", &text, NULL);
    if (r < 0)
        return lxm_error_errno(err, -r, "read /proc/self/mountinfo");
    r = layout_from_mountinfo(text, out, true);
    if (r < 0) {
        lxm_cg_layout_clear(out);
        return lxm_error_errno(err, -r, "parse /proc/self/mountinfo");
    }
    if (out->n == 0)
        return lxm_error_set(err, ENOENT,
                             "no cgroup filesystem is mounted "
                             "(neither cgroup2 nor v1 in /proc/self/mountinfo)");
    return 0;
}

/* --- the object ------------------------------------------------------------ */

static const char *const role_names[LXM_CG_NROLES] = {
    [LXM_CG_MEMORY] = "memory",   [LXM_CG_CPU] = "cpu",         [LXM_CG_CPUACCT] = "cpuacct",
    [LXM_CG_CPUSET] = "cpuset",   [LXM_CG_PIDS] = "pids",       [LXM_CG_IO] = "io",
    [LXM_CG_FREEZER] = "freezer", [LXM_CG_DEVICES] = "devices",
};

void lxm_cgroup_free(struct lxm_cgroup *cg)
{
    if (!cg)
        return;
    for (int i = 0; i < cg->n; i++) {
        free(cg->h[i].mount);
        free(cg->h[i].opts);
        free(cg->h[i].dir);
    }
    if (cg->v2_fd >= 0)
        close(cg->v2_fd);
    free(cg->name);
    free(cg->rel);
    free(cg);
}

static int check_name(const char *what, const char *s, struct lxm_error *err)
{
    bool okay = s && *s && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && strlen(s) < 200;
    for (const char *p = s; okay && *p; p++)
        okay = isalnum((unsigned char)*p) || strchr("._-", *p);
    return okay ? 0
                : lxm_error_set(err, EINVAL, "cgroup %s \"%s\" is not a valid name", what,
                                s ? s : "");
}

/* Roles prefer v2 (what current hosts run), except where the v1 controller
 * is actually mounted and v2 only has a core substitute: freezer and
 * cpuacct on a hybrid host stay with the v1 hierarchy that carries them,
 * as systemd does there. */
static void assign_roles(struct lxm_cgroup *cg, const unsigned avail[])
{
    const unsigned v1_first = LXM_CG_ROLE(LXM_CG_FREEZER) | LXM_CG_ROLE(LXM_CG_CPUACCT);
    for (int r = 0; r < LXM_CG_NROLES; r++) {
        int best = -1;
        for (int i = 0; i < cg->n; i++) {
            if (!(avail[i] & LXM_CG_ROLE(r)))
                continue;
            int want = (v1_first & LXM_CG_ROLE(r)) ? 1 : 2;
            if (best < 0 || (cg->h[best].ops->version != want && cg->h[i].ops->version == want))
                best = i;
        }
        cg->role[r] = best;
        if (best >= 0)
            cg->h[best].roles |= LXM_CG_ROLE(r);
    }
}

int lxm_cgroup_new_in(const struct lxm_cg_layout *l, const char *parent, const char *name,
                      struct lxm_cgroup **out, struct lxm_error *err)
{
    int r = check_name("name", name, err);
    if (r < 0)
        return r;
    r = check_name("parent", parent, err);
    if (r < 0)
        return r;
    struct lxm_cgroup *cg = calloc(1, sizeof(*cg));
    if (!cg)
        return lxm_error_errno(err, ENOMEM, "cgroup");
    cg->v2 = -1;
    cg->v2_fd = -1;
    cg->name = strdup(name);
    cg->rel = xasprintf("%s/%s", parent, name);
    unsigned avail[LXM_CG_MAX_HIER] = {0};
    bool oom = !cg->name || !cg->rel;
    for (int i = 0; i < l->n && !oom; i++) {
        struct lxm_cg_hier *h = &cg->h[cg->n++];
        h->ops = l->m[i].version == 2 ? &lxm_cg_v2_ops : &lxm_cg_v1_ops;
        h->mount = strdup(l->m[i].path);
        h->opts = l->m[i].opts ? strdup(l->m[i].opts) : NULL;
        h->dir = xasprintf("%s/%s", l->m[i].path, cg->rel);
        oom = !h->mount || !h->dir || (l->m[i].opts && !h->opts);
        avail[i] = oom ? 0 : h->ops->roles_available(&l->m[i]);
        if (l->m[i].version == 2 && cg->v2 < 0)
            cg->v2 = i;
    }
    if (oom) {
        lxm_cgroup_free(cg);
        return lxm_error_errno(err, ENOMEM, "cgroup");
    }
    assign_roles(cg, avail);
    *out = cg;
    return 0;
}

const char *lxm_cg_parent(void)
{
    /* Lets a test suite (or a second lxm installation) keep its containers
     * apart from the host's: "lxm/web1" would otherwise be shared by every
     * --root that has a container called web1. */
    const char *p = getenv("LXM_CGROUP_PARENT");
    return p && *p ? p : LXM_CG_PARENT_DEFAULT;
}

static void open_v2_fd(struct lxm_cgroup *cg)
{
    if (cg->v2 >= 0 && cg->v2_fd < 0)
        cg->v2_fd = open(cg->h[cg->v2].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int lxm_cgroup_open_in(const struct lxm_cg_layout *l, const char *parent, const char *name,
                       struct lxm_cgroup **out, struct lxm_error *err)
{
    struct lxm_cgroup *cg = NULL;
    int r = lxm_cgroup_new_in(l, parent, name, &cg, err);
    if (r < 0)
        return r;
    bool found = false;
    for (int i = 0; i < cg->n; i++)
        found = found || access(cg->h[i].dir, F_OK) == 0;
    if (!found) {
        lxm_cgroup_free(cg);
        return lxm_error_set(err, ENOENT, "no cgroup %s on this host", name);
    }
    open_v2_fd(cg);
    *out = cg;
    return 0;
}

int lxm_cgroup_open(const char *name, struct lxm_cgroup **out, struct lxm_error *err)
{
    struct lxm_cg_layout l = {.n = 0};
    int r = lxm_cg_layout_detect(&l, err);
    if (r < 0)
        return r;
    r = lxm_cgroup_open_in(&l, lxm_cg_parent(), name, out, err);
    lxm_cg_layout_clear(&l);
    return r;
}

/* Where lxm_cgroup_peek_frozen looks, found once per process: the
 * hierarchy that serves the freezer role (its backend and mount) and the
 * parent, which are the same for every container. */
static struct {
    const struct lxm_cg_ops *ops; /* NULL: no freezer on this host */
    char *mount;
    const char *parent;
} peek;
static pthread_once_t peek_once = PTHREAD_ONCE_INIT;

static void peek_find_freezer(void)
{
    struct lxm_cg_layout l = {.n = 0};
    struct lxm_cgroup *cg = NULL;
    peek.parent = lxm_cg_parent();
    if (lxm_cg_layout_detect(&l, NULL) == 0 &&
        lxm_cgroup_new_in(&l, peek.parent, "peek", &cg, NULL) == 0 &&
        cg->role[LXM_CG_FREEZER] >= 0) {
        const struct lxm_cg_hier *h = &cg->h[cg->role[LXM_CG_FREEZER]];
        peek.mount = strdup(h->mount);
        peek.ops = peek.mount ? h->ops : NULL;
    }
    lxm_cgroup_free(cg);
    lxm_cg_layout_clear(&l);
}

int lxm_cgroup_peek_frozen(const char *name)
{
    pthread_once(&peek_once, peek_find_freezer);
    if (!peek.ops)
        return -EOPNOTSUPP;
    if (check_name("name", name, NULL) < 0)
        return -EINVAL;
    _cleanup_free_ char *dir = xasprintf("%s/%s/%s", peek.mount, peek.parent, name);
    if (!dir)
        return -ENOMEM;
    struct lxm_cg_hier h = {.ops = peek.ops, .mount = peek.mount, .dir = dir};
    return peek.ops->is_frozen(&h);
}

int lxm_cgroup_v2_fd(struct lxm_cgroup *cg)
{
    return cg ? cg->v2_fd : -1;
}

const char *lxm_cgroup_v2_path(struct lxm_cgroup *cg)
{
    return cg && cg->v2 >= 0 ? cg->h[cg->v2].dir : NULL;
}

static bool opts_have(const char *opts, const char *ctrl)
{
    size_t n = strlen(ctrl);
    for (const char *p = opts; p && *p; p = strchr(p, ','), p = p ? p + 1 : NULL)
        if (strncmp(p, ctrl, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

const char *lxm_cgroup_v1_path(struct lxm_cgroup *cg, const char *controller)
{
    for (int i = 0; cg && i < cg->n; i++)
        if (cg->h[i].ops->version == 1 && opts_have(cg->h[i].opts, controller))
            return cg->h[i].dir;
    return NULL;
}

/* --- processes ------------------------------------------------------------- */

/* Walk dir and its descendants, calling fn on every pid in cgroup.procs;
 * returns how many pids were seen (or -errno for dir itself). */
static int for_each_pid(const char *dir, void (*fn)(pid_t, void *), void *data, int depth)
{
    _cleanup_free_ char *procs = NULL;
    int r = lxm_cg_read(dir, "cgroup.procs", &procs);
    if (r < 0)
        return r == -ENOENT || r == -ENODEV ? 0 : r;
    int n = 0;
    for (char *p = procs; *p;) {
        char *end;
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pid > 0) {
            n++;
            if (fn)
                fn((pid_t)pid, data);
        }
        p = end + strspn(end, "\n");
    }
    if (depth > 64)
        return n;
    _cleanup_closedir_ DIR *d = opendir(dir);
    if (!d)
        return n;
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
        if (sub) {
            r = for_each_pid(sub, fn, data, depth + 1);
            n += r > 0 ? r : 0;
        }
    }
    return n;
}

int lxm_cg_for_each_pid(const char *dir, void (*fn)(pid_t, void *), void *data)
{
    return for_each_pid(dir, fn, data, 0);
}

static void note_pid(pid_t pid, void *data)
{
    pid_t *first = data;
    if (*first == 0)
        *first = pid;
}

static void kill_pid(pid_t pid, void *data)
{
    (void)data;
    /* Never ourselves: a caller inside the container's cgroup (it should
     * not be, but a wrong attach must not turn destroy into suicide). */
    if (pid != getpid())
        kill(pid, SIGKILL);
}

/* First pid found anywhere in the container's hierarchies, 0 if none. */
pid_t lxm_cgroup_any_pid(struct lxm_cgroup *cg)
{
    pid_t first = 0;
    for (int i = 0; i < cg->n && !first; i++)
        for_each_pid(cg->h[i].dir, note_pid, &first, 0);
    return first;
}

int lxm_cgroup_attach(struct lxm_cgroup *cg, pid_t pid, struct lxm_error *err)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%d", (int)pid);
    /* No lazy directory may appear between the choice and the write. */
    _cleanup_close_ int lock = lxm_cg_has_lazy(cg) ? lxm_cg_lazy_lock(cg, LOCK_SH) : -1;
    for (int i = 0; i < cg->n; i++) {
        struct lxm_cg_hier *h = &cg->h[i];
        _cleanup_free_ char *top = NULL;
        const char *dir = h->dir;
        if (access(dir, F_OK) < 0) {
            /* A lazy hierarchy without the container's own: the parent. */
            if (!lxm_cg_lazy(h) || !(top = lxm_cg_top(cg, h)) || access(top, F_OK) < 0)
                continue;
            dir = top;
        }
        int r = lxm_cg_write(dir, "cgroup.procs", buf, err);
        if (r == -EBUSY && h->ops->version == 2) {
            /* The guest has enabled controllers in its root (its systemd
             * does): no process may live there any more, so join a leaf. */
            _cleanup_free_ char *leaf = xasprintf("%s/lxm-attach", h->dir);
            if (!leaf)
                return lxm_error_errno(err, ENOMEM, "attach");
            if (mkdir(leaf, 0755) < 0 && errno != EEXIST)
                return lxm_error_errno(err, errno, "mkdir %s", leaf);
            lxm_error_clear(err);
            r = lxm_cg_write(leaf, "cgroup.procs", buf, err);
        }
        if (r < 0)
            return lxm_error_prefix(err, "attach pid %d", (int)pid);
    }
    return 0;
}

/* --- limits ---------------------------------------------------------------- */

static bool limit_set(const struct lxm_limits *l, enum lxm_cg_role r)
{
    switch (r) {
    case LXM_CG_MEMORY: return l->memory != LXM_UNSET || l->memory_swap != LXM_UNSET;
    case LXM_CG_CPU: return l->cpu >= 0 || l->cpu_weight != LXM_UNSET;
    case LXM_CG_CPUSET: return l->cpuset != NULL;
    case LXM_CG_PIDS: return l->pids != LXM_UNSET;
    case LXM_CG_IO: return l->io_weight != LXM_UNSET;
    default: return false;
    }
}

/* Values the kernel would take but that make no sense, refused before any
 * file is written so a bad `config set` changes nothing. */
static int check_values(const struct lxm_limits *l, struct lxm_error *err)
{
    if (l->memory != LXM_UNSET && l->memory < LXM_LIMIT_MEMORY_MIN)
        return lxm_error_set(err, EINVAL, "limits.memory: %lld bytes is too small",
                             (long long)l->memory);
    if (l->memory_swap != LXM_UNSET && l->memory_swap < 0)
        return lxm_error_set(err, EINVAL, "limits.memory_swap: must not be negative");
    if (l->cpu >= 0 && (l->cpu < LXM_LIMIT_CPU_MIN || l->cpu > LXM_LIMIT_CPU_MAX))
        return lxm_error_set(err, EINVAL, "limits.cpu: %g is not in %g..%g", l->cpu,
                             LXM_LIMIT_CPU_MIN, LXM_LIMIT_CPU_MAX);
    if (l->cpu_weight != LXM_UNSET && (l->cpu_weight < 1 || l->cpu_weight > 10000))
        return lxm_error_set(err, EINVAL, "limits.cpu_weight: %lld is not in 1..10000",
                             (long long)l->cpu_weight);
    if (l->io_weight != LXM_UNSET && (l->io_weight < 1 || l->io_weight > 10000))
        return lxm_error_set(err, EINVAL, "limits.io_weight: %lld is not in 1..10000",
                             (long long)l->io_weight);
    if (l->pids != LXM_UNSET && l->pids < 1)
        return lxm_error_set(err, EINVAL, "limits.pids: %lld is not a positive number",
                             (long long)l->pids);
    return 0;
}

static int check_limits(struct lxm_cgroup *cg, const struct lxm_limits *l, struct lxm_error *err)
{
    int r = check_values(l, err);
    if (r < 0)
        return r;
    for (int role = 0; role < LXM_CG_NROLES; role++) {
        if (!limit_set(l, role) || cg->role[role] >= 0)
            continue;
        if (role == LXM_CG_IO) {
            lxm_warn("limits.io_weight: no io/blkio controller on this host, not applied");
            continue;
        }
        return lxm_error_set(err, EOPNOTSUPP,
                             "limits: no %s controller on this host "
                             "(neither in cgroup2 nor mounted as v1)",
                             role_names[role]);
    }
    for (int i = 0; i < cg->n; i++) {
        struct lxm_cg_hier *h = &cg->h[i];
        if (h->roles && (r = h->ops->check_limits(h, h->roles, l, err)) < 0)
            return r;
    }
    return 0;
}

/* Whether l sets a limit that lazy hierarchy h carries. */
static bool lazy_wanted(const struct lxm_cg_hier *h, const struct lxm_limits *l)
{
    for (int role = 0; role < LXM_CG_NROLES; role++)
        if ((h->roles & LXM_CG_ROLE(role)) && limit_set(l, role))
            return true;
    return false;
}

/* live: the container runs; a lazy hierarchy's directory that a limit now
 * needs is made and its processes moved in (cgroup-lazy.c). A directory
 * made now has the kernel's defaults: only what is set is written. */
static int apply_limits(struct lxm_cgroup *cg, const struct lxm_limits *l, bool reset, bool live,
                        struct lxm_error *err)
{
    int r = check_limits(cg, l, err);
    for (int i = 0; i < cg->n && r >= 0; i++) {
        struct lxm_cg_hier *h = &cg->h[i];
        bool fresh = false;
        if (!h->roles)
            continue;
        if (lxm_cg_lazy(h) && access(h->dir, F_OK) < 0) {
            if (!lazy_wanted(h, l))
                continue;
            if (!live)
                return lxm_error_errno(err, ENOENT, "cgroup %s", h->dir);
            r = lxm_cg_lazy_make(cg, h, err);
            fresh = true;
        }
        if (r >= 0)
            r = h->ops->set_limits(h, h->roles, l, reset && !fresh, err);
    }
    return r;
}

int lxm_cgroup_set_limits(struct lxm_cgroup *cg, const struct lxm_limits *limits,
                          struct lxm_error *err)
{
    return apply_limits(cg, limits, false, true, err);
}

int lxm_cgroup_apply_limits(struct lxm_cgroup *cg, const struct lxm_limits *limits,
                            struct lxm_error *err)
{
    return apply_limits(cg, limits, true, true, err);
}

/* --- create / destroy ------------------------------------------------------ */

/* 1: made now, 0: it was there. */
static int make_dir(const struct lxm_cg_hier *h, const char *parent, const char *dir,
                    struct lxm_error *err)
{
    bool made = mkdir(dir, 0755) == 0;
    if (!made && errno != EEXIST)
        return lxm_error_errno(err, errno, "mkdir %s", dir);
    int r = h->ops->prepare_dir(h, parent, dir, err);
    return r < 0 ? r : made;
}

/* 1: every container directory is new (the kernel's defaults in all of
 * them), 0: one was left over. A lazy hierarchy gets only PARENT/ unless
 * a limit needs the container's own (or one was left over). */
static int create_dirs(struct lxm_cgroup *cg, const struct lxm_limits *l, struct lxm_error *err)
{
    int fresh = 1;
    for (int i = 0; i < cg->n; i++) {
        struct lxm_cg_hier *h = &cg->h[i];
        _cleanup_free_ char *top = lxm_cg_top(cg, h);
        if (!top)
            return lxm_error_errno(err, ENOMEM, "cgroup");
        int r = make_dir(h, h->mount, top, err);
        if (r >= 0 && lxm_cg_lazy(h) && !lazy_wanted(h, l) && access(h->dir, F_OK) < 0)
            continue;
        if (r >= 0)
            r = make_dir(h, top, h->dir, err);
        if (r == -ENOENT) {
            /* A delete of the last container pruned the parent between
             * the two: once more. */
            lxm_error_clear(err);
            r = make_dir(h, h->mount, top, err);
            if (r >= 0)
                r = make_dir(h, top, h->dir, err);
        }
        if (r < 0)
            return r;
        fresh &= r;
    }
    return fresh;
}

int lxm_cgroup_create_in(const struct lxm_cg_layout *l, const char *parent, const char *name,
                         const struct lxm_limits *limits, struct lxm_cgroup **out,
                         struct lxm_error *err)
{
    struct lxm_cgroup *cg = NULL;
    int r = lxm_cgroup_new_in(l, parent, name, &cg, err);
    if (r < 0)
        return r;
    pid_t busy = lxm_cgroup_any_pid(cg);
    if (busy) {
        lxm_cgroup_free(cg);
        return lxm_error_set(err, EBUSY,
                             "cgroup %s/%s still has processes (pid %d): "
                             "is the container still running?",
                             parent, name, (int)busy);
    }
    r = create_dirs(cg, limits, err);
    /* New directories have the kernel's defaults: only what is set is
     * written; a left-over one is reset in full. */
    if (r >= 0)
        r = apply_limits(cg, limits, r == 0, false, err);
    if (r >= 0) {
        open_v2_fd(cg);
        if (cg->v2 >= 0 && cg->v2_fd < 0)
            r = lxm_error_errno(err, errno, "open %s", cg->h[cg->v2].dir);
    }
    if (r < 0) {
        struct lxm_error e2;
        (void)lxm_cgroup_destroy(cg, &e2);
        lxm_cgroup_free(cg);
        return r;
    }
    *out = cg;
    return 0;
}

int lxm_cgroup_create(const char *name, const struct lxm_limits *limits, struct lxm_cgroup **out,
                      struct lxm_error *err)
{
    struct lxm_cg_layout l = {.n = 0};
    int r = lxm_cg_layout_detect(&l, err);
    if (r < 0)
        return r;
    r = lxm_cgroup_create_in(&l, lxm_cg_parent(), name, limits, out, err);
    lxm_cg_layout_clear(&l);
    return r;
}

/* rmdir dir after its children; the kernel only removes empty cgroups,
 * and cgroupfs files vanish with their directory. */
static int rmdir_tree(const char *dir, int depth)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    for (struct dirent *de; depth < 64 && (de = readdir(d));) {
        if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
        if (sub)
            rmdir_tree(sub, depth + 1);
    }
    /* A process that was just killed may still be leaving the cgroup. */
    for (int i = 0; i < 50; i++) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            return -errno;
        sleep_ms(20);
    }
    return -EBUSY;
}

static int kill_everything(struct lxm_cgroup *cg, struct lxm_error *err)
{
    /* v1 freezer: a frozen task does not die until thawed. */
    lxm_cgroup_thaw_all(cg);
    for (int i = 0; i < cg->n; i++)
        if (access(cg->h[i].dir, F_OK) == 0)
            cg->h[i].ops->kill_all(&cg->h[i]);
    for (int attempt = 0; attempt < KILL_ATTEMPTS; attempt++) {
        int n = 0;
        for (int i = 0; i < cg->n; i++) {
            int k = for_each_pid(cg->h[i].dir, kill_pid, NULL, 0);
            n += k > 0 ? k : 0;
        }
        if (n == 0)
            return 0;
        sleep_ms(KILL_INTERVAL_MS);
    }
    pid_t left = lxm_cgroup_any_pid(cg);
    if (!left)
        return 0;
    return lxm_error_set(err, EBUSY, "cgroup %s: pid %d survives SIGKILL (stuck in the kernel?)",
                         cg->rel, (int)left);
}

int lxm_cgroup_destroy(struct lxm_cgroup *cg, struct lxm_error *err)
{
    int r = kill_everything(cg, err);
    if (r < 0)
        return r;
    if (cg->v2_fd >= 0) {
        close(cg->v2_fd);
        cg->v2_fd = -1;
    }
    int first = 0;
    for (int i = 0; i < cg->n; i++) {
        struct lxm_cg_hier *h = &cg->h[i];
        r = rmdir_tree(h->dir, 0);
        if (r < 0 && !first) {
            first = r;
            lxm_error_errno(err, -r, "rmdir %s", h->dir);
        }
    }
    /* The shared parent stays, as systemd's machine.slice does: the next
     * start needs it again (made at every start and removed at every stop,
     * it was ~10 mkdir and ~10 rmdir per cycle; no gain in wall time was
     * measured). lxm_cgroup_prune_parent() removes it. */
    return first;
}

void lxm_cgroup_prune_parent(void)
{
    struct lxm_cg_layout l = {.n = 0};
    struct lxm_error e = {0};
    if (lxm_cg_layout_detect(&l, &e) < 0)
        return;
    for (int i = 0; i < l.n; i++) {
        _cleanup_free_ char *top = xasprintf("%s/%s", l.m[i].path, lxm_cg_parent());
        /* EBUSY while it has a container's directory or process. */
        if (top)
            (void)rmdir(top);
    }
    lxm_cg_layout_clear(&l);
}

/* --- stats, freezer, ownership, events -------------------------------------- */

int lxm_cgroup_stats(struct lxm_cgroup *cg, struct lxm_cgroup_stats *st, struct lxm_error *err)
{
    (void)err;
    *st = (struct lxm_cgroup_stats){-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
    for (int i = 0; i < cg->n; i++)
        if (cg->h[i].roles)
            cg->h[i].ops->stats(&cg->h[i], cg->h[i].roles, st);
    return 0;
}

static struct lxm_cg_hier *role_hier(struct lxm_cgroup *cg, enum lxm_cg_role r)
{
    return cg->role[r] >= 0 ? &cg->h[cg->role[r]] : NULL;
}

/* Only the memory hierarchy's files: the monitor asks at every start. */
int64_t lxm_cgroup_oom_kills(struct lxm_cgroup *cg)
{
    struct lxm_cgroup_stats st = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
    struct lxm_cg_hier *h = role_hier(cg, LXM_CG_MEMORY);
    if (h)
        h->ops->stats(h, LXM_CG_ROLE(LXM_CG_MEMORY), &st);
    return st.oom_kills < 0 ? -ENOENT : st.oom_kills;
}

int lxm_cgroup_freeze(struct lxm_cgroup *cg, bool frozen, struct lxm_error *err)
{
    struct lxm_cg_hier *h = role_hier(cg, LXM_CG_FREEZER);
    if (!h)
        return lxm_error_set(err, EOPNOTSUPP,
                             "%s: no freezer on this host (no cgroup2, no v1 "
                             "freezer)",
                             frozen ? "freeze" : "unfreeze");
    return h->ops->freeze(h, frozen, err);
}

/* THAWED into dir and then into every group below it: a v1 group frozen
 * by itself stays frozen when its parent thaws. */
static void v1_thaw_tree(const char *dir, int depth)
{
    _cleanup_free_ char *st = NULL;
    if (lxm_cg_read(dir, "freezer.state", &st) < 0)
        return;
    if (strncmp(st, "THAWED", 6) != 0)
        (void)lxm_cg_write(dir, "freezer.state", "THAWED", NULL);
    _cleanup_closedir_ DIR *d = depth < 64 ? opendir(dir) : NULL;
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
        if (sub)
            v1_thaw_tree(sub, depth + 1);
    }
}

void lxm_cgroup_thaw_all(struct lxm_cgroup *cg)
{
    struct lxm_cg_hier *h = role_hier(cg, LXM_CG_FREEZER);
    if (h && h->ops->version == 1)
        v1_thaw_tree(h->dir, 0);
    else if (h)
        (void)h->ops->freeze(h, false, NULL);
}

int lxm_cgroup_is_frozen(struct lxm_cgroup *cg)
{
    struct lxm_cg_hier *h = role_hier(cg, LXM_CG_FREEZER);
    return h ? h->ops->is_frozen(h) : -EOPNOTSUPP;
}

int lxm_cgroup_frozen_fd(struct lxm_cgroup *cg)
{
    struct lxm_cg_hier *h = role_hier(cg, LXM_CG_FREEZER);
    if (!h)
        return -EOPNOTSUPP;
    _cleanup_free_ char *path =
        xasprintf("%s/%s", h->dir, h->ops->version == 1 ? "freezer.state" : "cgroup.events");
    if (!path)
        return -ENOMEM;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int lxm_cgroup_memory_events_fd(struct lxm_cgroup *cg, short *events, struct lxm_error *err)
{
    struct lxm_cg_hier *h = role_hier(cg, LXM_CG_MEMORY);
    if (!h)
        return lxm_error_set(err, EOPNOTSUPP, "memory events: no memory controller on this host");
    return h->ops->memory_events_fd(h, events, err);
}

void lxm_cgroup_memory_events_ack(struct lxm_cgroup *cg, int fd)
{
    struct lxm_cg_hier *h = role_hier(cg, LXM_CG_MEMORY);
    if (h)
        h->ops->memory_events_ack(h, fd);
}

/* The files a delegatee may write (the kernel lists them in
 * /sys/kernel/cgroup/delegate; older kernels: the three core ones). */
static int chown_delegated(const char *dir, uid_t uid, gid_t gid, struct lxm_error *err)
{
    _cleanup_free_ char *list = NULL;
    if (read_file("/sys/kernel/cgroup/delegate", &list, NULL) < 0) {
        list = strdup("cgroup.procs\ncgroup.threads\ncgroup.subtree_control\n");
        if (!list)
            return lxm_error_errno(err, ENOMEM, "chown");
    }
    if (chown(dir, uid, gid) < 0)
        return lxm_error_errno(err, errno, "chown %s", dir);
    char *save = NULL;
    for (char *f = strtok_r(list, "\n", &save); f; f = strtok_r(NULL, "\n", &save)) {
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, f);
        if (path && chown(path, uid, gid) < 0 && errno != ENOENT)
            return lxm_error_errno(err, errno, "chown %s", path);
    }
    return 0;
}

int lxm_cgroup_chown(struct lxm_cgroup *cg, uid_t uid, gid_t gid, struct lxm_error *err)
{
    /* Only the cgroup2 subtree is handed over: that is the tree the guest
     * mounts; v1 limits stay under the host's control. */
    if (cg->v2 < 0)
        return 0;
    return chown_delegated(cg->h[cg->v2].dir, uid, gid, err);
}

/* --- description (lxm doctor) ------------------------------------------------ */

/* "v1 /sys/fs/cgroup/memory: memory; cgroup2 /sys/fs/cgroup/unified: none" */
static char *describe_layout(const struct lxm_cgroup *cg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    for (int i = 0; i < cg->n; i++) {
        fprintf(f, "%s%s %s:", i ? "; " : "", cg->h[i].ops->version == 2 ? "cgroup2" : "v1",
                cg->h[i].mount);
        bool any = false;
        for (int k = 0; k < LXM_CG_NROLES; k++)
            if (cg->role[k] == i) {
                fprintf(f, " %s", role_names[k]);
                any = true;
            }
        if (!any)
            fputs(" (no controller used)", f);
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

int lxm_cgroup_describe_host(char **layout, char **missing, struct lxm_error *err)
{
    struct lxm_cg_layout l = {0};
    struct lxm_cgroup *cg = NULL;
    *layout = *missing = NULL;
    int r = lxm_cg_layout_detect(&l, err);
    if (r == 0)
        r = lxm_cgroup_new_in(&l, LXM_CG_PARENT_DEFAULT, "doctor", &cg, err);
    lxm_cg_layout_clear(&l);
    if (r < 0)
        return r;
    *layout = describe_layout(cg);
    char buf[128] = "";
    for (int k = 0; k < LXM_CG_NROLES; k++)
        if (cg->role[k] < 0)
            snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", buf[0] ? " " : "",
                     role_names[k]);
    *missing = strdup(buf);
    lxm_cgroup_free(cg);
    if (!*layout || !*missing) {
        free(*layout);
        free(*missing);
        *layout = *missing = NULL;
        return lxm_error_errno(err, ENOMEM, "cgroup layout");
    }
    return 0;
}

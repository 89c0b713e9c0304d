/* cgroup-layout-cache: the host's cgroup layout kept for attach
 * (cgroup-layout-cache.h says when an entry is used). The file:
 *   lxm-cgroup-layout 1
 *   hier<TAB>1:cpu 2:cpuacct ... 0:
 *   mount<TAB>VERSION<TAB>MOUNT_ID<TAB>DEV<TAB>OPTS or -<TAB>PATH
 */
#include "cgroup/cgroup-layout-cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgroup/cgroup-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define CACHE_MAGIC "lxm-cgroup-layout 1\n"
#define CACHE_MAX 8192

/* "1:cpu 2:cpuacct ... 0:": /proc/self/cgroup without the paths. */
static char *hierarchies(void)
{
    _cleanup_free_ char *text = NULL;
    if (read_file("/proc/self/cgroup", &text, NULL) < 0)
        return NULL;
    char *out = calloc(1, strlen(text) + 1), *o = out;
    for (const char *p = text; out && *p;) {
        const char *colon = strchr(p, ':');
        colon = colon ? strchr(colon + 1, ':') : NULL;
        const char *nl = strchr(p, '\n');
        if (!colon || !nl || colon > nl)
            break;
        if (o != out)
            *o++ = ' ';
        memcpy(o, p, (size_t)(colon - p + 1));
        o += colon - p + 1;
        p = nl + 1;
    }
    return out;
}

static int mount_id(const char *path, uint64_t *id, uint64_t *dev)
{
    struct statx stx;
    if (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, STATX_MNT_ID, &stx) < 0)
        return -errno;
    if (!(stx.stx_mask & STATX_MNT_ID))
        return -EOPNOTSUPP;
    *id = stx.stx_mnt_id;
    *dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
    return 0;
}

/* A layout worth keeping, and one still whole: a cgroup2 mount and one
 * mount for every v1 hierarchy in hier (an entry "N:..." with N > 0). */
static bool cacheable(const struct lxm_cg_layout *l, const char *hier)
{
    int v1 = 0, v2 = 0, want = 0;
    for (int i = 0; i < l->n; i++) {
        v1 += l->m[i].version == 1;
        v2 += l->m[i].version == 2;
        if (strpbrk(l->m[i].path, "\t\n") || (l->m[i].opts && strpbrk(l->m[i].opts, "\t\n ")))
            return false;
    }
    for (const char *p = hier; *p; p += strcspn(p, " "), p += *p == ' ')
        want += strncmp(p, "0:", 2) != 0;
    return v2 == 1 && v1 == want;
}

/* Best effort: a cache that cannot be written costs the next attach the
 * mountinfo read, nothing else. */
static void cache_write(const char *file, const struct lxm_cg_layout *l)
{
    _cleanup_free_ char *hier = hierarchies();
    if (!hier || !cacheable(l, hier))
        return;
    char text[CACHE_MAX];
    int n = snprintf(text, sizeof(text), "%shier\t%s\n", CACHE_MAGIC, hier);
    for (int i = 0; i < l->n && n > 0 && (size_t)n < sizeof(text); i++) {
        uint64_t id, dev;
        if (mount_id(l->m[i].path, &id, &dev) < 0)
            return;
        n += snprintf(text + n, sizeof(text) - (size_t)n, "mount\t%d\t%" PRIu64 "\t%" PRIu64 "\t%s\t%s\n",
                      l->m[i].version, id, dev, l->m[i].opts ? l->m[i].opts : "-", l->m[i].path);
    }
    if (n > 0 && (size_t)n < sizeof(text))
        (void)write_file_replace(file, text, (size_t)n, 0600);
}

/* One "mount" line, checked against the host; 0 or -ESTALE. */
static int cache_mount(char *line, struct lxm_cg_layout *l)
{
    char *f[6], *save = NULL;
    int n = 0;
    for (char *t = strtok_r(line, "\t", &save); t && n < 6; t = strtok_r(NULL, "\t", &save))
        f[n++] = t;
    uint64_t id, dev;
    if (n != 6 || strcmp(f[0], "mount") != 0 || (strcmp(f[1], "1") != 0 && strcmp(f[1], "2") != 0) ||
        mount_id(f[5], &id, &dev) < 0 || strtoull(f[2], NULL, 10) != id ||
        strtoull(f[3], NULL, 10) != dev)
        return -ESTALE;
    int r = lxm_cg_layout_add(l, f[1][0] - '0', f[5], strcmp(f[4], "-") == 0 ? NULL : f[4]);
    return r < 0 ? r : 0;
}

/* 1: l holds the cached layout, still the host's; 0: no usable entry. */
static int cache_read(const char *file, struct lxm_cg_layout *l)
{
    _cleanup_close_ int fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    char text[CACHE_MAX];
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & (S_IWGRP | S_IWOTH)))
        return 0;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    if (n <= 0 || (size_t)n == sizeof(text) - 1)
        return 0;
    text[n] = '\0';
    size_t magic = strlen(CACHE_MAGIC);
    _cleanup_free_ char *hier = hierarchies();
    char *line = text + magic, *nl = strchr(line, '\n');
    if (strncmp(text, CACHE_MAGIC, magic) != 0 || !hier || !nl || strncmp(line, "hier\t", 5) != 0)
        return 0;
    *nl = '\0';
    if (strcmp(line + 5, hier) != 0)
        return 0;
    for (line = nl + 1; *line; line = nl + 1) {
        if (!(nl = strchr(line, '\n')))
            break;
        *nl = '\0';
        if (cache_mount(line, l) < 0)
            break;
    }
    if (*line || !cacheable(l, hier)) {
        lxm_cg_layout_clear(l);
        return 0;
    }
    return 1;
}

/* The entry has a tasks file for every v1 hierarchy of cg and the cgroup2
 * directory if cg has one: the container is where the layout says. */
static bool entry_complete(const struct lxm_cgroup *cg, const struct lxm_cgroup_entry *e)
{
    int v1 = 0;
    for (int i = 0; i < cg->n; i++)
        v1 += cg->h[i].ops->version == 1;
    return e->n_v1 == v1 && (cg->v2 < 0 || e->v2_dir >= 0);
}

static int open_on(const struct lxm_cg_layout *l, const char *name, struct lxm_cgroup **out,
                   struct lxm_cgroup_entry *e, struct lxm_error *err)
{
    int r = lxm_cgroup_open_in(l, lxm_cg_parent(), name, out, err);
    if (r < 0)
        return r;
    r = lxm_cgroup_entry_open(*out, e, err);
    if (r < 0) {
        lxm_cgroup_free(*out);
        *out = NULL;
    }
    return r;
}

int lxm_cgroup_open_entry(const char *name, const char *run, struct lxm_cgroup **out,
                          struct lxm_cgroup_entry *e, struct lxm_error *err)
{
    _cleanup_free_ char *file = run ? xasprintf("%s/.cgroup-layout", run) : NULL;
    struct lxm_cg_layout l = {.n = 0};
    *out = NULL;
    if (file && cache_read(file, &l) == 1) {
        struct lxm_error ignored = {0};
        int r = open_on(&l, name, out, e, &ignored);
        lxm_cg_layout_clear(&l);
        if (r == 0 && entry_complete(*out, e))
            return 0;
        if (r == 0) {
            lxm_cgroup_entry_close(e);
            lxm_cgroup_free(*out);
            *out = NULL;
        }
    }
    int r = lxm_cg_layout_detect(&l, err);
    if (r == 0) {
        r = open_on(&l, name, out, e, err);
        if (file && r == 0 && entry_complete(*out, e))
            cache_write(file, &l);
    }
    lxm_cg_layout_clear(&l);
    return r;
}

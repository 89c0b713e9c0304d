/* leftovers: staged things whose owner is gone, found and removed (see
 * leftovers.h). */
#include "storage/leftovers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "config/config.h"
#include "storage/lifecycle.h"
#include "lxm/net/dnsmasq.h"
#include "net/network.h"
#include "net/network-ports.h"
#include "runtime/start-lost.h"
#include "util/strv.h"
#include "storage/snapshot.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/owner.h"

struct found {
    struct lxm_leftover *v;
    size_t n, cap;
    int error;                 /* first -errno (ENOMEM) */
};

const char *lxm_leftover_kind_name(enum lxm_leftover_kind kind)
{
    switch (kind) {
    case LXM_LEFTOVER_IMPORT: return "import-staging";
    case LXM_LEFTOVER_CONTAINER: return "container-staging";
    case LXM_LEFTOVER_TEMP_FILE: return "temp-file";
    case LXM_LEFTOVER_EXPORT_TEMP: return "export-temp";
    case LXM_LEFTOVER_SNAPSHOT: return "partial-snapshot";
    case LXM_LEFTOVER_RECORD: return "staging-record";
    case LXM_LEFTOVER_DNS: return "dns-entry";
    case LXM_LEFTOVER_FORWARDS: return "port-forwards";
    case LXM_LEFTOVER_CGROUPS: return "cgroups";
    }
    return "?";
}

static char *owner_of(const char *tag)
{
    pid_t pid;
    uint64_t start;
    return owner_tag_parse(tag, &pid, &start) ? xasprintf("pid %d", (int)pid) : NULL;
}

static void add(struct found *f, enum lxm_leftover_kind kind, char *path, const char *tag)
{
    if (!path) {
        f->error = -ENOMEM;
        return;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct lxm_leftover *v = realloc(f->v, cap * sizeof(*v));
        if (!v) {
            free(path);
            f->error = -ENOMEM;
            return;
        }
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = (struct lxm_leftover){.kind = kind, .path = path,
                                        .owner = tag ? owner_of(tag) : NULL};
}

/* The owner tag in name after marker, if name has one and its owner is
 * gone; NULL for anything else (not ours, or still running). */
static const char *dead_tag(const char *name, const char *marker, bool at_start)
{
    const char *m = at_start ? (strncmp(name, marker, strlen(marker)) == 0 ? name : NULL)
                             : strstr(name, marker);
    if (!m)
        return NULL;
    const char *tag = m + strlen(marker);
    pid_t pid;
    uint64_t start;
    if (!owner_tag_parse(tag, &pid, &start) || owner_tag_alive(tag))
        return NULL;
    return tag;
}

/* Entries of dir whose name holds a dead owner's tag after marker. */
static void scan_dir(struct found *f, const char *dir, const char *marker, bool at_start,
                     bool dot_only, enum lxm_leftover_kind kind)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            (dot_only && de->d_name[0] != '.'))
            continue;
        const char *tag = dead_tag(de->d_name, marker, at_start);
        if (tag)
            add(f, kind, xasprintf("%s/%s", dir, de->d_name), tag);
    }
}

static void scan_containers(struct found *f, const struct lxm_paths *p)
{
    scan_dir(f, p->containers, LXM_IMPORT_STAGING, true, true, LXM_LEFTOVER_IMPORT);
    static const char *const lifecycle[] = {".create-", ".copy-", ".delete-"};
    for (size_t i = 0; i < ARRAY_SIZE(lifecycle); i++)
        scan_dir(f, p->containers, lifecycle[i], true, true, LXM_LEFTOVER_CONTAINER);
    _cleanup_closedir_ DIR *d = opendir(p->containers);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        _cleanup_free_ char *dir = xasprintf("%s/%s", p->containers, de->d_name);
        _cleanup_free_ char *snaps = xasprintf("%s/%s/snapshots", p->containers, de->d_name);
        if (!dir || !snaps) {
            f->error = -ENOMEM;
            return;
        }
        scan_dir(f, dir, ".tmp.", false, false, LXM_LEFTOVER_TEMP_FILE);
        scan_dir(f, snaps, LXM_SNAPSHOT_PARTIAL, false, true, LXM_LEFTOVER_SNAPSHOT);
    }
}

/* run/net/BRIDGE/{,hosts,dhcp-hosts}: temp files, and entries of
 * containers that do not exist. */
static void scan_net(struct found *f, const struct lxm_paths *p)
{
    _cleanup_free_ char *net = xasprintf("%s/" LXM_NET_RUN_DIR, p->run);
    _cleanup_closedir_ DIR *d = net ? opendir(net) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        static const char *const subs[] = {"", "/hosts", "/dhcp-hosts"};
        for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
            _cleanup_free_ char *dir = xasprintf("%s/%s%s", net, de->d_name, subs[i]);
            if (dir)
                scan_dir(f, dir, ".tmp.", false, false, LXM_LEFTOVER_TEMP_FILE);
        }
        _cleanup_free_ char *dh = xasprintf("%s/%s/dhcp-hosts", net, de->d_name);
        _cleanup_free_ char *hh = xasprintf("%s/%s/hosts", net, de->d_name);
        const char *dirs[] = {dh, hh};
        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
            _cleanup_closedir_ DIR *e = dirs[i] ? opendir(dirs[i]) : NULL;
            struct dirent *ee;
            while (e && (ee = readdir(e))) {
                if (ee->d_name[0] == '.' || lxm_validate_name(ee->d_name, NULL) < 0)
                    continue;
                _cleanup_free_ char *cf = xasprintf("%s/%s/config.yaml", p->containers, ee->d_name);
                /* One leftover per container and bridge: the dhcp-hosts
                 * entry, or the hosts entry alone. */
                _cleanup_free_ char *twin = xasprintf("%s/%s", dh, ee->d_name);
                if (!cf || !twin || path_exists(cf) || (i == 1 && path_exists(twin)))
                    continue;
                add(f, LXM_LEFTOVER_DNS, xasprintf("%s/%s", dirs[i], ee->d_name), NULL);
                if (f->error == 0) {
                    f->v[f->n - 1].bridge = strdup(de->d_name);
                    f->v[f->n - 1].key = strdup(ee->d_name);
                }
            }
        }
    }
}

/* nftables chains of port forwards whose container does not run. */
static void scan_forwards(struct found *f, const struct lxm_paths *p)
{
    _cleanup_strv_free_ char **names = NULL;
    struct lxm_error e = {0};
    if (lxm_ports_stale(p, &names, &e) < 0) {
        lxm_debug("leftovers: %s", e.msg);
        return;
    }
    for (char **n = names; n && *n; n++) {
        _cleanup_free_ char *key = lxm_ports_key(p, *n);
        add(f, LXM_LEFTOVER_FORWARDS,
            key ? xasprintf("nftables: ip %s p-%s", LXM_PORTFWD_TABLE, key) : NULL, NULL);
        if (f->error == 0 && (!(f->v[f->n - 1].key = strdup(*n)) ||
                              !(f->v[f->n - 1].owner = xasprintf("container %s, not running", *n))))
            f->error = -ENOMEM;
    }
}

/* Cgroups of containers that do not run (runtime/start-lost.h). A
 * process in one is said, never killed here: the container runs without
 * lxm knowing it. */
static void scan_cgroups(struct found *f, const struct lxm_paths *p)
{
    struct lxm_lost_cgroup *v = NULL;
    size_t n = 0;
    struct lxm_error e = {0};
    if (lxm_lost_cgroups_find(p, &v, &n, &e) < 0) {
        lxm_debug("leftovers: %s", e.msg);
        return;
    }
    for (size_t i = 0; i < n && f->error == 0; i++) {
        add(f, LXM_LEFTOVER_CGROUPS, xasprintf("%s/%s", lxm_cg_parent(), v[i].id),
            NULL);
        if (f->error)
            break;
        struct lxm_leftover *l = &f->v[f->n - 1];
        const char *what = v[i].stale ? "crashed, its state kept" : "not running, no state file";
        if (v[i].deleted)
            l->owner = xasprintf("deleted container %s%s", v[i].name,
                                 v[i].pid > 0 ? ": a process still runs in it" : "");
        else if (v[i].pid > 0)
            l->owner = xasprintf("container %s, %s: pid %d still runs in it without a monitor",
                                 v[i].name, what, (int)v[i].pid);
        else
            l->owner = xasprintf("container %s, %s", v[i].name, what);
        /* Not doctor's to kill: the person who runs it says so. */
        if (v[i].pid > 0)
            l->fix = v[i].deleted ? xasprintf("kill %d (and what else runs in it)", (int)v[i].pid)
                                  : xasprintf("lxm stop %s", v[i].name);
        l->key = strdup(v[i].name);
        if (!l->key || !l->owner || (v[i].pid > 0 && !l->fix))
            f->error = -ENOMEM;
    }
    lxm_lost_cgroups_free(v, n);
}

static char *staging_dir(const struct lxm_paths *p)
{
    _cleanup_free_ char *copy = strdup(p->containers);
    return copy ? xasprintf("%s/staging", dirname(copy)) : NULL;
}

/* Records of dead owners: the temp files they name, then the record. */
static void scan_records(struct found *f, const struct lxm_paths *p)
{
    _cleanup_free_ char *sd = staging_dir(p);
    _cleanup_closedir_ DIR *d = sd ? opendir(sd) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        pid_t pid;
        uint64_t start;
        if (!owner_tag_parse(de->d_name, &pid, &start) || owner_tag_alive(de->d_name))
            continue;
        _cleanup_free_ char *rec = xasprintf("%s/%s", sd, de->d_name);
        _cleanup_free_ char *prefix = NULL;
        /* An empty or unreadable record (its owner died writing it) names
         * nothing: only the record itself is left. */
        if (!rec || read_file(rec, &prefix, NULL) < 0 || !prefix[0]) {
            add(f, LXM_LEFTOVER_RECORD, TAKE_PTR(rec), de->d_name);
            continue;
        }
        prefix[strcspn(prefix, "\n")] = '\0';
        _cleanup_free_ char *dcopy = strdup(prefix), *bcopy = strdup(prefix);
        const char *dir = dcopy ? dirname(dcopy) : NULL, *base = bcopy ? basename(bcopy) : NULL;
        /* Only what the record can name: FILE.tmp.OWNER. in one directory. */
        _cleanup_free_ char *want = xasprintf(".tmp.%.*s.", (int)strcspn(de->d_name, "."), de->d_name);
        _cleanup_closedir_ DIR *t = dir && want && strstr(base, want) ? opendir(dir) : NULL;
        struct dirent *te;
        while (t && (te = readdir(t)))
            if (strncmp(te->d_name, base, strlen(base)) == 0)
                add(f, LXM_LEFTOVER_EXPORT_TEMP, xasprintf("%s/%s", dir, te->d_name), de->d_name);
        add(f, LXM_LEFTOVER_RECORD, TAKE_PTR(rec), de->d_name);
    }
}

static int find(const struct lxm_paths *paths, bool cgroups, struct lxm_leftover **out, size_t *n,
                struct lxm_error *err)
{
    struct found f = {0};
    scan_containers(&f, paths);
    scan_records(&f, paths);
    scan_net(&f, paths);
    scan_forwards(&f, paths);
    if (cgroups)
        scan_cgroups(&f, paths);
    if (f.error < 0) {
        lxm_leftovers_free(f.v, f.n);
        return lxm_error_errno(err, -f.error, "leftovers");
    }
    *out = f.v;
    *n = f.n;
    return 0;
}

int lxm_leftovers_find(const struct lxm_paths *paths, struct lxm_leftover **out, size_t *n,
                       struct lxm_error *err)
{
    return find(paths, true, out, n, err);
}

int lxm_leftover_remove(const struct lxm_paths *paths, const struct lxm_leftover *l,
                        struct lxm_error *err)
{
    int r = 0;
    switch (l->kind) {
    case LXM_LEFTOVER_IMPORT:
    case LXM_LEFTOVER_CONTAINER:
        return lxm_lifecycle_remove_dir(l->path, err);
    case LXM_LEFTOVER_SNAPSHOT:
        r = lxm_snapshot_remove_partial(l->path);
        break;
    case LXM_LEFTOVER_TEMP_FILE:
    case LXM_LEFTOVER_EXPORT_TEMP:
    case LXM_LEFTOVER_RECORD:
        r = unlink(l->path) < 0 && errno != ENOENT ? -errno : 0;
        break;
    case LXM_LEFTOVER_DNS: {
        _cleanup_free_ char *dir = xasprintf("%s/" LXM_NET_RUN_DIR, paths->run);
        if (!dir)
            return lxm_error_set(err, ENOMEM, "out of memory");
        return lxm_dnsmasq_remove_host(dir, l->bridge, l->key, err);
    }
    case LXM_LEFTOVER_FORWARDS: return lxm_ports_remove_stale(paths, l->key, err);
    case LXM_LEFTOVER_CGROUPS: return lxm_lost_cgroup_remove(paths, l->key, false, err);
    }
    if (r < 0)
        return lxm_error_errno(err, -r, "remove %s", l->path);
    return 0;
}

void lxm_leftovers_free(struct lxm_leftover *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].path);
        free(v[i].owner);
        free(v[i].bridge);
        free(v[i].key);
        free(v[i].fix);
    }
    free(v);
}

int lxm_leftovers_sweep(const struct lxm_paths *paths)
{
    struct lxm_leftover *v = NULL;
    size_t n = 0;
    int removed = 0;
    struct lxm_error e = {0};
    if (find(paths, false, &v, &n, &e) < 0) {
        lxm_debug("leftovers: %s", e.msg);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (lxm_leftover_remove(paths, &v[i], &e) < 0) {
            lxm_debug("leftovers: %s", e.msg);
            continue;
        }
        lxm_debug("removed %s %s left by %s", lxm_leftover_kind_name(v[i].kind), v[i].path,
                  v[i].owner ? v[i].owner : "a deleted container");
        removed++;
    }
    lxm_leftovers_free(v, n);
    return removed;
}

/* ---- staging records ---------------------------------------------------------------- */

struct lxm_staging_record {
    char *path;
};

int lxm_staging_record_add(const struct lxm_paths *paths, const char *prefix,
                           struct lxm_staging_record **out, struct lxm_error *err)
{
    _cleanup_free_ char *sd = staging_dir(paths);
    if (!sd)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = mkdir_p(sd, 0700);
    if (r < 0)
        return lxm_error_errno(err, -r, "create %s", sd);
    _cleanup_free_ char *path = xasprintf("%s/%s.XXXXXX", sd, owner_tag());
    struct lxm_staging_record *rec = calloc(1, sizeof(*rec));
    if (!path || !rec) {
        free(rec);
        return lxm_error_set(err, ENOMEM, "out of memory");
    }
    _cleanup_close_ int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0 || dprintf(fd, "%s\n", prefix) < 0 || fsync(fd) < 0) {
        r = errno;
        if (fd >= 0)
            unlink(path);
        free(rec);
        return lxm_error_errno(err, r, "write a staging record in %s", sd);
    }
    rec->path = TAKE_PTR(path);
    *out = rec;
    return 0;
}

void lxm_staging_record_free(struct lxm_staging_record *rec)
{
    if (!rec)
        return;
    unlink(rec->path);
    free(rec->path);
    free(rec);
}

/* leftovers: staged things whose owner is gone, found and removed (see
 * leftovers.h). */
#include "storage/leftovers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
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
#include "util/io.h"
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

/* Entries of dir whose name holds a dead owner's tag after marker; the
 * number of entries with a tag there at all (their owners dead or not). */
static size_t scan_dir(struct found *f, const char *dir, const char *marker, bool at_start,
                       bool dot_only, enum lxm_leftover_kind kind)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;
    size_t tagged = 0;
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            (dot_only && de->d_name[0] != '.'))
            continue;
        if (at_start ? strncmp(de->d_name, marker, strlen(marker)) == 0
                     : strstr(de->d_name, marker) != NULL)
            tagged++;
        const char *tag = dead_tag(de->d_name, marker, at_start);
        if (tag)
            add(f, kind, xasprintf("%s/%s", dir, de->d_name), tag);
    }
    return tagged;
}

/* ---- container directories known clean -------------------------------------------- */

/* A sweep looks into every container's directory (temp files) and its
 * snapshots/ (partial snapshots): two directory reads per container, most
 * of a create's or start's system time with 200 containers. What it found
 * clean it notes in RUN/.leftovers-clean ("NAME DIR-MTIME SNAPS-MTIME",
 * nanoseconds, 0 for no snapshots/): while both mtimes are unchanged no
 * entry came or went, so the next sweep skips it. Only a directory whose
 * mtimes are older than SETTLED_NS is noted: a temp file made in the same
 * clock tick as the last change would not change them. A reboot empties
 * the run dir (and every owner is then gone): the first sweep looks at
 * all. `lxm doctor` always looks at all. The file is a hint, written in
 * place under a lock once the command succeeded: a torn or stale line only
 * costs a look. */
#define CLEAN_FILE ".leftovers-clean"
#define SETTLED_NS (2 * 1000000000LL)

struct clean_list {
    char *old;                  /* the file as read */
    char *cursor;               /* in old: where the next line may be */
    char *next;                 /* what this sweep found clean */
    size_t next_len, next_cap;
    long long now;              /* ns, CLOCK_REALTIME (mtimes' clock) */
    bool quick;                 /* skip what old names (a sweep, not doctor) */
};

static long long mtime_ns(int dfd, const char *path)
{
    struct stat st;
    if (fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
        return 0;
    return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

static bool clean_known(struct clean_list *cl, const char *line)
{
    size_t n = strlen(line);
    /* Mostly in the order of the last sweep's readdir: the next line first. */
    if (cl->cursor && strncmp(cl->cursor, line, n) == 0) {
        cl->cursor += n;
        return true;
    }
    for (const char *p = cl->old; p && (p = strstr(p, line)); p += n)
        if (p == cl->old || p[-1] == '\n') {
            cl->cursor = (char *)p + n;
            return true;
        }
    return false;
}

static void clean_note(struct clean_list *cl, const char *line)
{
    size_t n = strlen(line);
    if (cl->next_len + n + 1 > cl->next_cap) {
        size_t cap = (cl->next_len + n + 1) * 2;
        char *p = realloc(cl->next, cap);
        if (!p)
            return;
        cl->next = p;
        cl->next_cap = cap;
    }
    memcpy(cl->next + cl->next_len, line, n);
    cl->next_len += n;
    cl->next[cl->next_len] = '\0';
}

static char *clean_file(const struct lxm_paths *p)
{
    return p->run ? xasprintf("%s/" CLEAN_FILE, p->run) : NULL;
}

static void clean_load(struct clean_list *cl, const struct lxm_paths *p)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cl->now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    _cleanup_free_ char *file = cl->quick ? clean_file(p) : NULL;
    _cleanup_close_ int fd = file ? open(file, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0 || flock(fd, LOCK_SH) < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > (1 << 24))
        return;
    char *buf = malloc((size_t)st.st_size + 1);
    ssize_t n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
    if (n < 0) {
        free(buf);
        return;
    }
    buf[n] = '\0';
    cl->old = cl->cursor = buf;
}

static struct clean_list pending;

static void clean_save(struct clean_list *cl, const struct lxm_paths *p)
{
    const char *next = cl->next ? cl->next : "";
    if (cl->old && strcmp(cl->old, next) == 0)
        return;
    _cleanup_free_ char *file = clean_file(p);
    _cleanup_close_ int fd = file ? open(file, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    if (fd < 0 || flock(fd, LOCK_EX) < 0)
        return;
    if (ftruncate(fd, 0) == 0 && *next)
        (void)lxm_write_all(fd, next, strlen(next));
}

/* One container's directory and its snapshots/, unless known clean. */
static void scan_container(struct found *f, const struct lxm_paths *p, int cfd, const char *name,
                           struct clean_list *cl)
{
    char line[NAME_MAX + 64];
    long long dm = mtime_ns(cfd, name), sm = 0;
    /* Without snapshots/ then, and the directory unchanged since: still
     * without (making it changes the directory): one stat. */
    snprintf(line, sizeof(line), "%s %lld 0\n", name, dm);
    if (cl->quick && dm && clean_known(cl, line)) {
        clean_note(cl, line);
        return;
    }
    _cleanup_free_ char *snaps_rel = xasprintf("%s/snapshots", name);
    sm = snaps_rel ? mtime_ns(cfd, snaps_rel) : 0;
    snprintf(line, sizeof(line), "%s %lld %lld\n", name, dm, sm);
    if (cl->quick && dm && sm && clean_known(cl, line)) {
        clean_note(cl, line);
        return;
    }
    _cleanup_free_ char *dir = xasprintf("%s/%s", p->containers, name);
    _cleanup_free_ char *snaps = xasprintf("%s/%s/snapshots", p->containers, name);
    if (!dir || !snaps) {
        f->error = -ENOMEM;
        return;
    }
    size_t tagged = scan_dir(f, dir, ".tmp.", false, false, LXM_LEFTOVER_TEMP_FILE);
    tagged += sm ? scan_dir(f, snaps, LXM_SNAPSHOT_PARTIAL, false, true, LXM_LEFTOVER_SNAPSHOT) : 0;
    if (tagged == 0 && dm && dm < cl->now - SETTLED_NS && sm < cl->now - SETTLED_NS)
        clean_note(cl, line);
}

static void scan_containers(struct found *f, const struct lxm_paths *p, bool quick)
{
    static const char *const staged[] = {LXM_IMPORT_STAGING, ".create-", ".copy-", ".delete-"};
    static const enum lxm_leftover_kind kinds[] = {LXM_LEFTOVER_IMPORT, LXM_LEFTOVER_CONTAINER,
                                                   LXM_LEFTOVER_CONTAINER, LXM_LEFTOVER_CONTAINER};
    _cleanup_closedir_ DIR *d = opendir(p->containers);
    if (!d)
        return;
    _cleanup_strv_free_ char **hidden = NULL, **names = NULL;
    struct dirent *de;
    /* One read of containers/; then the staged kinds in their order. */
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (strv_push(de->d_name[0] == '.' ? &hidden : &names, de->d_name) < 0) {
            f->error = -ENOMEM;
            return;
        }
    }
    for (size_t k = 0; k < ARRAY_SIZE(staged); k++)
        for (size_t i = 0; hidden && hidden[i]; i++) {
            const char *tag = dead_tag(hidden[i], staged[k], true);
            if (tag)
                add(f, kinds[k], xasprintf("%s/%s", p->containers, hidden[i]), tag);
        }
    struct clean_list cl = {.quick = quick};
    clean_load(&cl, p);
    for (size_t i = 0; names && names[i]; i++)
        scan_container(f, p, dirfd(d), names[i], &cl);
    /* Noted once the command has succeeded (lxm_leftovers_sweep_done):
     * bad input changes nothing, not even this. */
    free(pending.old);
    free(pending.next);
    pending = (struct clean_list){0};
    if (quick && f->error == 0) {
        pending = cl;
        return;
    }
    free(cl.old);
    free(cl.next);
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

/* "nftables: ip6 lxm_port-forwards p-KEY": the table of each family that
 * holds the container's chains (all four are named by KEY); the ip one
 * when that cannot be told. */
static char *forwards_path(const char *key)
{
    const char *t = LXM_PORTFWD_TABLE;
    unsigned in = 0;
    struct lxm_error e = {0};
    if (lxm_portfwd_tables(key, &in, &e) < 0)
        lxm_debug("leftovers: %s", e.msg);
    if (in == (LXM_PORTFWD_IN_IP | LXM_PORTFWD_IN_IP6))
        return xasprintf("nftables: ip %s p-%s, ip6 %s p-%s", t, key, t, key);
    return xasprintf("nftables: %s %s p-%s", in == LXM_PORTFWD_IN_IP6 ? "ip6" : "ip", t, key);
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
        add(f, LXM_LEFTOVER_FORWARDS, key ? forwards_path(key) : NULL, NULL);
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

static int find(const struct lxm_paths *paths, unsigned sweep, struct lxm_leftover **out,
                size_t *n, struct lxm_error *err)
{
    struct found f = {0};
    scan_containers(&f, paths, sweep & LXM_SWEEP_QUICK);
    scan_records(&f, paths);
    scan_net(&f, paths);
    if (!(sweep & LXM_SWEEP_NO_FORWARDS))
        scan_forwards(&f, paths);
    if (!(sweep & LXM_SWEEP_QUICK))
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
    return find(paths, 0, out, n, err);
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

int lxm_leftovers_sweep(const struct lxm_paths *paths, unsigned flags)
{
    struct lxm_leftover *v = NULL;
    size_t n = 0;
    int removed = 0;
    struct lxm_error e = {0};
    if (find(paths, flags | LXM_SWEEP_QUICK, &v, &n, &e) < 0) {
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

void lxm_leftovers_sweep_done(const struct lxm_paths *paths)
{
    if (!pending.quick)
        return;
    clean_save(&pending, paths);
    free(pending.old);
    free(pending.next);
    pending = (struct clean_list){0};
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

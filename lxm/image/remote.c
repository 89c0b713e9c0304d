#include "image/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "config/container.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "config/ydoc.h"

#define DEFAULT_NAME "images"
#define DEFAULT_URL "https://images.linuxcontainers.org"
#define PROTOCOL "simplestreams"

void lxm_remotes_free(struct lxm_remote *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++) {
        free(r[i].name);
        free(r[i].url);
        free(r[i].protocol);
    }
    free(r);
}

static int push(struct lxm_remote **v, size_t *n, const char *name, const char *url,
                const char *protocol)
{
    struct lxm_remote *nv = realloc(*v, (*n + 1) * sizeof(**v));
    if (!nv)
        return -ENOMEM;
    *v = nv;
    struct lxm_remote *r = &nv[*n];
    r->name = strdup(name);
    r->url = strdup(url);
    r->protocol = strdup(protocol);
    (*n)++;
    return r->name && r->url && r->protocol ? 0 : -ENOMEM;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct lxm_remote *)a)->name, ((const struct lxm_remote *)b)->name);
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return false;
    return true;
}

static bool valid_url(const char *u)
{
    const char *host = strncmp(u, "https://", 8) == 0 ? u + 8
                     : strncmp(u, "http://", 7) == 0  ? u + 7
                                                      : NULL;
    if (!host || !*host || *host == '/')
        return false;
    for (; *u; u++)
        if ((unsigned char)*u <= ' ' || *u == 0x7f)
            return false;
    return true;
}

static const char *entry_value(const struct lxm_ynode *map, const char *key)
{
    for (size_t i = 0; map->type == LXM_YAML_MAP && i + 1 < map->count; i += 2)
        if (strcmp(map->items[i]->value, key) == 0)
            return map->items[i + 1]->type == LXM_YAML_SCALAR ? map->items[i + 1]->value : NULL;
    return NULL;
}

/* One "NAME: {url, protocol}" entry of remotes.yaml, checked. */
static int parse_entry(const char *file, const struct lxm_ynode *k, const struct lxm_ynode *v,
                       struct lxm_remote **out, size_t *n, struct lxm_error *err)
{
    if (k->type != LXM_YAML_SCALAR || !valid_name(k->value))
        return lxm_error_set(err, EINVAL, "%s:%d:%d: remote names are 1-63 of a-z, 0-9, '-', '_'",
                             file, k->line, k->col);
    if (v->type != LXM_YAML_MAP)
        return lxm_error_set(err, EINVAL, "%s:%d:%d: remote '%s' must be a map with url and protocol",
                             file, v->line, v->col, k->value);
    const char *url = entry_value(v, "url"), *proto = entry_value(v, "protocol");
    if (!url || !valid_url(url))
        return lxm_error_set(err, EINVAL, "%s:%d:%d: remote '%s': url must be http:// or https://",
                             file, v->line, v->col, k->value);
    if (proto && strcmp(proto, PROTOCOL) != 0)
        return lxm_error_set(err, EINVAL, "%s:%d:%d: remote '%s': protocol '%s' (lxm speaks "
                             PROTOCOL ")", file, v->line, v->col, k->value, proto);
    if (push(out, n, k->value, url, PROTOCOL) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return 0;
}

static char *remotes_file(const struct lxm_paths *paths)
{
    return xasprintf("%s/remotes.yaml", paths->etc);
}

int lxm_remotes_load(const struct lxm_paths *paths, struct lxm_remote **out, size_t *n,
                     struct lxm_error *err)
{
    *out = NULL;
    *n = 0;
    _cleanup_free_ char *file = remotes_file(paths);
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    if (!file)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = lxm_yaml_read_file(file, &text, &len, err);
    if (r == -ENOENT) {
        if (push(out, n, DEFAULT_NAME, DEFAULT_URL, PROTOCOL) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
        return 0;
    }
    _cleanup_ynode_ struct lxm_ynode *doc = NULL;
    if (r == 0)
        r = lxm_yaml_load(file, text, len, &doc, err);
    if (r == 0 && doc->type != LXM_YAML_MAP)
        r = lxm_error_set(err, EINVAL, "%s:%d:%d: expected a map of remotes", file, doc->line,
                          doc->col);
    for (size_t i = 0; r == 0 && i + 1 < doc->count; i += 2)
        r = parse_entry(file, doc->items[i], doc->items[i + 1], out, n, err);
    if (r < 0) {
        lxm_remotes_free(*out, *n);
        *out = NULL;
        *n = 0;
        return r;
    }
    if (*n > 1)
        qsort(*out, *n, sizeof(**out), by_name);
    return 0;
}

/* The index of name in v, or n. */
static size_t find(const struct lxm_remote *v, size_t n, const char *name)
{
    size_t i = 0;
    while (i < n && strcmp(v[i].name, name) != 0)
        i++;
    return i;
}

int lxm_remote_get(const struct lxm_paths *paths, const char *name, struct lxm_remote *out,
                   struct lxm_error *err)
{
    struct lxm_remote *all;
    size_t n;
    int r = lxm_remotes_load(paths, &all, &n, err);
    if (r < 0)
        return r;
    size_t at = find(all, n, name);
    if (at < n) {
        *out = all[at];
        all[at] = (struct lxm_remote){ 0 };
    }
    lxm_remotes_free(all, n);
    return at < n;
}

struct remote_list {
    const struct lxm_remote *v;
    size_t n;
};

static void write_remotes(FILE *f, const void *data)
{
    const struct remote_list *l = data;
    fputs("# Image servers (lxm remote add/remove). An image is REMOTE:ALIAS.\n", f);
    for (size_t i = 0; i < l->n; i++) {
        fprintf(f, "%s:\n  url: ", l->v[i].name);
        lxm_yaml_write_scalar(f, l->v[i].url);
        fprintf(f, "\n  protocol: %s\n", l->v[i].protocol);
    }
}

static int save(const struct lxm_paths *paths, const struct lxm_remote *v, size_t n,
                struct lxm_error *err)
{
    _cleanup_free_ char *file = remotes_file(paths);
    if (!file)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = mkdir_p(paths->etc, 0755);
    if (r == 0)
        r = write_file_atomic_stream(file, 0644, write_remotes, &(struct remote_list){ v, n });
    return r < 0 ? lxm_error_errno(err, -r, "write %s", file) : 0;
}

/* Read-modify-write under ETC/.remotes.lock, so two commands never lose
 * each other's change. */
static int lock_remotes(const struct lxm_paths *paths, struct lxm_error *err)
{
    int r = mkdir_p(paths->etc, 0755);
    if (r < 0)
        return lxm_error_errno(err, -r, "mkdir %s", paths->etc);
    _cleanup_free_ char *lock = xasprintf("%s/.remotes.lock", paths->etc);
    int fd = lock ? open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
    if (fd < 0)
        return lxm_error_errno(err, lock ? errno : ENOMEM, "open %s", lock ? lock : "lock");
    if (flock(fd, LOCK_EX) < 0) {
        r = -errno;
        close(fd);
        return lxm_error_errno(err, -r, "lock %s", lock);
    }
    return fd;
}

/* Under the lock: load the list, let edit change it and, unless edit
 * failed, save it sorted. */
static int edit_remotes(const struct lxm_paths *paths,
                        int (*edit)(struct lxm_remote **v, size_t *n, const void *data,
                                    struct lxm_error *err),
                        const void *data, struct lxm_error *err)
{
    _cleanup_close_ int lock = lock_remotes(paths, err);
    if (lock < 0)
        return lock;
    struct lxm_remote *all;
    size_t n;
    int r = lxm_remotes_load(paths, &all, &n, err);
    if (r < 0)
        return r;
    r = edit(&all, &n, data, err);
    if (r == 0) {
        if (n > 1)
            qsort(all, n, sizeof(*all), by_name);
        r = save(paths, all, n, err);
    }
    lxm_remotes_free(all, n);
    return r;
}

static int add_one(struct lxm_remote **v, size_t *n, const void *data, struct lxm_error *err)
{
    const struct lxm_remote *add = data;
    size_t at = find(*v, *n, add->name);
    if (at < *n)
        return lxm_error_set(err, EEXIST, "remote '%s' exists (%s); remove it first", add->name,
                             (*v)[at].url);
    if (push(v, n, add->name, add->url, PROTOCOL) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return 0;
}

int lxm_remote_add(const struct lxm_paths *paths, const char *name, const char *url,
                   const char *protocol, struct lxm_error *err)
{
    if (!valid_name(name))
        return lxm_error_set(err, EINVAL, "remote name '%s': use 1-63 of a-z, 0-9, '-', '_'", name);
    if (!valid_url(url))
        return lxm_error_set(err, EINVAL, "remote url '%s': must be http://HOST... or https://HOST...",
                             url);
    if (protocol && strcmp(protocol, PROTOCOL) != 0)
        return lxm_error_set(err, EINVAL, "protocol '%s': lxm speaks " PROTOCOL, protocol);
    const struct lxm_remote add = { .name = (char *)name, .url = (char *)url };
    return edit_remotes(paths, add_one, &add, err);
}

static int remove_one(struct lxm_remote **v, size_t *n, const void *data, struct lxm_error *err)
{
    const char *name = data;
    size_t at = find(*v, *n, name);
    if (at == *n)
        return lxm_error_set(err, ENOENT, "no remote '%s' (see 'lxm remote list')", name);
    struct lxm_remote *gone = &(*v)[at];
    free(gone->name);
    free(gone->url);
    free(gone->protocol);
    memmove(gone, gone + 1, (*n - at - 1) * sizeof(*gone));
    (*n)--;
    return 0;
}

int lxm_remote_remove(const struct lxm_paths *paths, const char *name, struct lxm_error *err)
{
    return edit_remotes(paths, remove_one, name, err);
}

int lxm_remote_split(const struct lxm_paths *paths, const char *ref, struct lxm_remote *remote,
                     const char **rest, struct lxm_error *err)
{
    const char *colon = strchr(ref, ':');
    if (!colon || colon == ref || (size_t)(colon - ref) > 63)
        return 0;
    _cleanup_free_ char *name = strndup(ref, (size_t)(colon - ref));
    if (!name)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!valid_name(name))
        return 0;
    int r = lxm_remote_get(paths, name, remote, err);
    if (r == 1)
        *rest = colon + 1;
    return r;
}

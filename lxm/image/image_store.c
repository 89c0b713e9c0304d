#include "image/image_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/container.h"
#include "storage/storage.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/owner.h"
#include "util/strv.h"
#include "config/ydoc.h"

/* image.yaml is a few hundred bytes; anything big is not one. */
#define META_MAX (64 << 10)

char *lxm_utc_now(void)
{
    time_t now = time(NULL);
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&now, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return NULL;
    return strdup(buf);
}

void lxm_image_free(struct lxm_image *img)
{
    if (!img)
        return;
    strv_free(img->aliases);
    char *fields[] = { img->fingerprint, img->template_name, img->release, img->arch,
                       img->created, img->source, img->driver, img->dir, img->rootfs };
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
        free(fields[i]);
    free(img);
}

void lxm_image_list_free(struct lxm_image **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        lxm_image_free(list[i]);
    free(list);
}

char *lxm_image_store_dir(const struct lxm_paths *paths)
{
    _cleanup_free_ char *state = lxm_storage_state_dir(paths);
    return state ? xasprintf("%s/images", state) : NULL;
}

static bool is_fingerprint(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 64;
}

int lxm_image_store_lock(const struct lxm_paths *paths, bool exclusive, struct lxm_error *err)
{
    _cleanup_free_ char *dir = lxm_image_store_dir(paths);
    _cleanup_free_ char *file = dir ? xasprintf("%s/.lock", dir) : NULL;
    if (!file)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = mkdir_p(dir, 0711);
    if (r < 0)
        return lxm_error_errno(err, -r, "create %s", dir);
    int fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s", file);
    while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(fd);
        return lxm_error_errno(err, e, "lock %s", file);
    }
    return fd;
}

/* ---- image.yaml -------------------------------------------------------------------- */

static char **field_for(struct lxm_image *img, const char *key)
{
    static const struct { const char *key; size_t off; } f[] = {
        { "fingerprint", offsetof(struct lxm_image, fingerprint) },
        { "template", offsetof(struct lxm_image, template_name) },
        { "release", offsetof(struct lxm_image, release) },
        { "arch", offsetof(struct lxm_image, arch) },
        { "created", offsetof(struct lxm_image, created) },
        { "source", offsetof(struct lxm_image, source) },
        { "driver", offsetof(struct lxm_image, driver) },
    };
    for (size_t i = 0; i < ARRAY_SIZE(f); i++)
        if (strcmp(f[i].key, key) == 0)
            return (char **)((char *)img + f[i].off);
    return NULL;
}

static int meta_value(struct lxm_image *img, const char *file, const struct lxm_ynode *k,
                      const struct lxm_ynode *v, struct lxm_error *err)
{
    if (strcmp(k->value, "aliases") == 0) {
        if (v->type != LXM_YAML_SEQ)
            return lxm_error_set(err, EINVAL, "%s:%d:%d: aliases: expected a list", file, v->line, v->col);
        for (size_t j = 0; j < v->n; j++) {
            if (v->items[j]->type != LXM_YAML_SCALAR || lxm_image_alias_validate(v->items[j]->value, NULL) < 0)
                return lxm_error_set(err, EINVAL, "%s:%d:%d: aliases: bad alias", file,
                                     v->items[j]->line, v->items[j]->col);
            if (strv_push(&img->aliases, v->items[j]->value) < 0)
                return lxm_error_set(err, ENOMEM, "out of memory");
        }
        return 0;
    }
    if (v->type != LXM_YAML_SCALAR)
        return lxm_error_set(err, EINVAL, "%s:%d:%d: %s: expected a string", file, v->line, v->col, k->value);
    if (strcmp(k->value, "size") == 0) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v->value, &end, 10);
        if (errno || *end || !*v->value || v->value[0] == '-')
            return lxm_error_set(err, EINVAL, "%s:%d:%d: size: not a number", file, v->line, v->col);
        img->size = n;
        return 0;
    }
    char **field = field_for(img, k->value);
    if (!field)
        return 0; /* newer lxm's keys: ignored */
    free(*field);
    *field = strdup(v->value);
    return *field ? 0 : lxm_error_set(err, ENOMEM, "out of memory");
}

/* Parse image.yaml text; exposed for the fuzzer through image_store_parse. */
int lxm_image_meta_parse(const char *file, const char *text, size_t len, struct lxm_image **out,
                         struct lxm_error *err)
{
    if (len > META_MAX || memchr(text, '\0', len))
        return lxm_error_set(err, EINVAL, "%s: not an image.yaml (too big, or a NUL byte)", file);
    _cleanup_ynode_ struct lxm_ynode *doc = NULL;
    int r = lxm_yaml_load(file, text, len, &doc, err);
    if (r < 0)
        return r;
    if (doc->type != LXM_YAML_MAP)
        return lxm_error_set(err, EINVAL, "%s: expected a map", file);
    struct lxm_image *img = calloc(1, sizeof(*img));
    if (!img)
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (size_t i = 0; r == 0 && i + 1 < doc->count; i += 2)
        if (doc->items[i]->type == LXM_YAML_SCALAR)
            r = meta_value(img, file, doc->items[i], doc->items[i + 1], err);
    if (r == 0 && (!img->fingerprint || !is_fingerprint(img->fingerprint)))
        r = lxm_error_set(err, EINVAL, "%s: fingerprint: missing or not 64 lowercase hex digits", file);
    if (r < 0) {
        lxm_image_free(img);
        return r;
    }
    *out = img;
    return 0;
}

static int load_meta(const char *dir, struct lxm_image **out, struct lxm_error *err)
{
    _cleanup_free_ char *file = xasprintf("%s/image.yaml", dir);
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    if (!file)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = read_file(file, &text, &len);
    if (r < 0)
        return lxm_error_errno(err, -r, "read %s", file);
    struct lxm_image *img = NULL;
    r = lxm_image_meta_parse(file, text, len, &img, err);
    if (r < 0)
        return r;
    img->dir = strdup(dir);
    img->rootfs = xasprintf("%s/rootfs", dir);
    if (!img->dir || !img->rootfs) {
        lxm_image_free(img);
        return lxm_error_set(err, ENOMEM, "out of memory");
    }
    *out = img;
    return 0;
}

static void write_kv(FILE *f, const char *key, const char *value)
{
    if (!value)
        return;
    fprintf(f, "%s: ", key);
    lxm_yaml_write_scalar(f, value);
    fputc('\n', f);
}

static void write_meta(FILE *f, const void *data)
{
    const struct lxm_image *img = data;
    write_kv(f, "fingerprint", img->fingerprint);
    fputs("aliases: [", f);
    for (size_t i = 0; img->aliases && img->aliases[i]; i++) {
        fputs(i ? ", " : "", f);
        lxm_yaml_write_scalar(f, img->aliases[i]);
    }
    fputs("]\n", f);
    write_kv(f, "template", img->template_name);
    write_kv(f, "release", img->release);
    write_kv(f, "arch", img->arch);
    fprintf(f, "size: %llu\n", (unsigned long long)img->size);
    write_kv(f, "created", img->created);
    write_kv(f, "source", img->source);
    write_kv(f, "driver", img->driver);
}

static int save_meta(const char *dir, const struct lxm_image *img, struct lxm_error *err)
{
    _cleanup_free_ char *file = xasprintf("%s/image.yaml", dir);
    if (!file)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = write_file_atomic_stream(file, 0644, write_meta, img);
    return r < 0 ? lxm_error_errno(err, -r, "write %s", file) : 0;
}

/* ---- listing and lookup -------------------------------------------------------------- */

static int cmp_image(const void *a, const void *b)
{
    const struct lxm_image *x = *(struct lxm_image *const *)a, *y = *(struct lxm_image *const *)b;
    int c = strcmp(x->created ? x->created : "", y->created ? y->created : "");
    return c ? c : strcmp(x->fingerprint, y->fingerprint);
}

int lxm_image_store_list(const struct lxm_paths *paths, struct lxm_image ***out, size_t *n,
                         struct lxm_error *err)
{
    *out = NULL;
    *n = 0;
    _cleanup_free_ char *store = lxm_image_store_dir(paths);
    if (!store)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_closedir_ DIR *d = opendir(store);
    if (!d)
        return errno == ENOENT ? 0 : lxm_error_errno(err, errno, "open %s", store);
    struct lxm_image **list = NULL;
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!is_fingerprint(de->d_name))
            continue;
        _cleanup_free_ char *dir = xasprintf("%s/%s", store, de->d_name);
        struct lxm_image *img = NULL;
        struct lxm_error e = { 0 };
        if (!dir || load_meta(dir, &img, &e) < 0) {
            lxm_warn("skipping image %s", e.msg[0] ? e.msg : de->d_name);
            continue;
        }
        struct lxm_image **grown = realloc(list, (count + 1) * sizeof(*list));
        if (!grown) {
            lxm_image_free(img);
            lxm_image_list_free(list, count);
            return lxm_error_set(err, ENOMEM, "out of memory");
        }
        list = grown;
        list[count++] = img;
    }
    if (count > 1)
        qsort(list, count, sizeof(*list), cmp_image);
    *out = list;
    *n = count;
    return 0;
}

int lxm_image_store_get(const struct lxm_paths *paths, const char *fp, struct lxm_image **out,
                        struct lxm_error *err)
{
    if (!is_fingerprint(fp))
        return 0;
    _cleanup_free_ char *store = lxm_image_store_dir(paths);
    _cleanup_free_ char *dir = store ? xasprintf("%s/%s", store, fp) : NULL;
    if (!dir)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!path_exists(dir))
        return 0;
    int r = load_meta(dir, out, err);
    return r < 0 ? r : 1;
}

static bool is_hex_prefix(const char *s)
{
    size_t n = strlen(s);
    return n >= 4 && n <= 64 && strspn(s, "0123456789abcdef") == n;
}

int lxm_image_store_find(const struct lxm_paths *paths, const char *ref, struct lxm_image **out,
                         struct lxm_error *err)
{
    struct lxm_image **list = NULL;
    size_t n = 0;
    int r = lxm_image_store_list(paths, &list, &n, err);
    if (r < 0)
        return r;
    ssize_t hit = -1;
    size_t matches = 0;
    for (size_t i = 0; i < n && hit < 0; i++)
        if (strv_contains(list[i]->aliases, ref))
            hit = (ssize_t)i;
    for (size_t i = 0; hit < 0 && is_hex_prefix(ref) && i < n; i++)
        if (strncmp(list[i]->fingerprint, ref, strlen(ref)) == 0 && matches++ == 0)
            hit = (ssize_t)i;
    if (matches > 1)
        r = lxm_error_set(err, EINVAL, "image '%s' is ambiguous: %zu fingerprints start with it "
                                       "(give more digits)", ref, matches);
    else if (hit < 0)
        r = lxm_error_set(err, ENOENT, "image '%s' not found (see 'lxm image list')", ref);
    else {
        *out = list[hit];
        list[hit] = NULL;
    }
    lxm_image_list_free(list, n);
    return r;
}

/* ---- users ------------------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The value of a top-level "image:" line of a config.yaml (lxm writes it
 * plain; config.c validates it as a sha256 on load). */
static bool config_uses(const char *file, const char *fp)
{
    _cleanup_free_ char *text = NULL;
    if (read_file(file, &text, NULL) < 0)
        return false;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, "image: ", 7) == 0) {
            const char *v = line + 7;
            v += *v == '"';
            return strncmp(v, fp, 64) == 0;
        }
        line = nl ? nl + 1 : NULL;
    }
    return false;
}

static int snapshot_users(const char *cdir, const char *name, const char *fp, char ***out)
{
    _cleanup_free_ char *sdir = xasprintf("%s/snapshots", cdir);
    if (!sdir)
        return -ENOMEM;
    _cleanup_closedir_ DIR *d = opendir(sdir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        _cleanup_free_ char *cfg = xasprintf("%s/%s/config.yaml", sdir, de->d_name);
        if (!cfg)
            return -ENOMEM;
        if (config_uses(cfg, fp) && strv_consume(out, xasprintf("%s/%s", name, de->d_name)) < 0)
            return -ENOMEM;
    }
    return 0;
}

int lxm_image_store_users(const struct lxm_paths *paths, const char *fp, char ***out,
                          struct lxm_error *err)
{
    _cleanup_strv_free_ char **users = calloc(1, sizeof(char *));
    _cleanup_closedir_ DIR *d = opendir(paths->containers);
    if (!users)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!d && errno != ENOENT)
        return lxm_error_errno(err, errno, "open %s", paths->containers);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        _cleanup_free_ char *cdir = xasprintf("%s/%s", paths->containers, de->d_name);
        _cleanup_free_ char *cfg = cdir ? xasprintf("%s/config.yaml", cdir) : NULL;
        if (!cfg)
            return lxm_error_set(err, ENOMEM, "out of memory");
        if (config_uses(cfg, fp) && strv_push(&users, de->d_name) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
        if (snapshot_users(cdir, de->d_name, fp, &users) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    }
    if (users[0])
        qsort(users, strv_length(users), sizeof(char *), cmp_str);
    *out = TAKE_PTR(users);
    return 0;
}

/* ---- staging, commit, sweep ----------------------------------------------------------- */

int lxm_image_store_stage(const struct lxm_paths *paths, const struct lxm_storage_ops *ops,
                          char **staging, struct lxm_error *err)
{
    _cleanup_free_ char *store = lxm_image_store_dir(paths);
    _cleanup_free_ char *dir = store ? xasprintf("%s/.staging-%s.XXXXXX", store, owner_tag()) : NULL;
    if (!dir)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = mkdir_p(store, 0711);
    if (r < 0)
        return lxm_error_errno(err, -r, "create %s", store);
    if (!mkdtemp(dir))
        return lxm_error_errno(err, errno, "create %s", dir);
    chmod(dir, 0755);
    _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
    r = rootfs ? ops->image_create(rootfs, err) : lxm_error_set(err, ENOMEM, "out of memory");
    if (r < 0) {
        rm_rf(dir);
        return r;
    }
    *staging = TAKE_PTR(dir);
    return 0;
}

/* Remove an image directory: its tree through the backend that made it. */
static int remove_image_dir(const char *dir, const char *driver, struct lxm_error *err)
{
    const struct lxm_storage_ops *ops = lxm_storage_by_name(driver ? driver : "dir");
    if (!ops || !ops->image_destroy)
        ops = lxm_storage_by_name("dir");
    _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
    if (!rootfs)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = path_exists(rootfs) ? ops->image_destroy(rootfs, err) : 0;
    if (r == 0 && (r = rm_rf(dir)) < 0 && r != -ENOENT)
        return lxm_error_errno(err, -r, "remove %s", dir);
    return r < 0 && r != -ENOENT ? r : 0;
}

void lxm_image_store_discard(const char *staging)
{
    struct lxm_error ignored = { 0 };
    if (staging && remove_image_dir(staging, NULL, &ignored) < 0)
        lxm_warn("could not remove %s: %s", staging, ignored.msg);
}

static int merge_aliases(const char *dir, char *const *aliases, struct lxm_image **out,
                         struct lxm_error *err)
{
    struct lxm_image *img = NULL;
    int r = load_meta(dir, &img, err);
    bool changed = false;
    for (size_t i = 0; r == 0 && aliases && aliases[i]; i++)
        if (!strv_contains(img->aliases, aliases[i])) {
            r = strv_push(&img->aliases, aliases[i]) < 0 ? lxm_error_set(err, ENOMEM, "out of memory") : 0;
            changed = true;
        }
    if (r == 0 && changed)
        r = save_meta(dir, img, err);
    if (r < 0) {
        lxm_image_free(img);
        return r;
    }
    *out = img;
    return 0;
}

int lxm_image_store_commit(const struct lxm_paths *paths, const char *staging,
                           const struct lxm_image *meta, struct lxm_image **out,
                           struct lxm_error *err)
{
    _cleanup_free_ char *store = lxm_image_store_dir(paths);
    _cleanup_free_ char *final = store ? xasprintf("%s/%s", store, meta->fingerprint) : NULL;
    _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", staging);
    if (!final || !rootfs)
        return lxm_error_set(err, ENOMEM, "out of memory");
    struct lxm_image img = *meta;
    int r = lxm_storage_tree_usage(rootfs, &img.size, err);
    if (r == 0)
        r = save_meta(staging, &img, err);
    if (r == 0 && renameat2(AT_FDCWD, staging, AT_FDCWD, final, RENAME_NOREPLACE) < 0) {
        if (errno != EEXIST && errno != ENOTEMPTY)
            r = lxm_error_errno(err, errno, "rename %s to %s", staging, final);
        else {
            /* Built twice at once: the first one stays. */
            lxm_image_store_discard(staging);
            return merge_aliases(final, meta->aliases, out, err);
        }
    }
    if (r < 0)
        return r;
    return load_meta(final, out, err);
}

/* ".staging-OWNER.XXXXXX" / ".delete-OWNER.FP" (util/owner.h) of a
 * process that is gone (pid reuse cannot fool it: the start time is in
 * the tag). */
static bool left_by_dead_owner(const char *name)
{
    const char *tag = strncmp(name, ".staging-", 9) == 0 ? name + 9
                      : strncmp(name, ".delete-", 8) == 0 ? name + 8 : NULL;
    pid_t pid;
    uint64_t start;
    return tag && owner_tag_parse(tag, &pid, &start) && !owner_tag_alive(tag);
}

void lxm_image_store_sweep(const struct lxm_paths *paths)
{
    _cleanup_free_ char *store = lxm_image_store_dir(paths);
    _cleanup_closedir_ DIR *d = store ? opendir(store) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!left_by_dead_owner(de->d_name))
            continue;
        _cleanup_free_ char *dir = xasprintf("%s/%s", store, de->d_name);
        struct lxm_image *img = NULL;
        struct lxm_error e = { 0 };
        const char *driver = dir && load_meta(dir, &img, &e) == 0 ? img->driver : NULL;
        if (dir) {
            lxm_debug("removing %s, left by a command that died", dir);
            remove_image_dir(dir, driver, &e);
        }
        lxm_image_free(img);
    }
}

/* ---- aliases ------------------------------------------------------------------------------ */

int lxm_image_alias_validate(const char *alias, struct lxm_error *err)
{
    size_t n = alias ? strlen(alias) : 0;
    bool ok = n >= 1 && n <= 63 && alias[0] != '.' && alias[0] != '-' &&
              strspn(alias, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:") == n;
    if (ok)
        return 0;
    if (err)
        lxm_error_set(err, EINVAL, "invalid image alias '%s' (use 1-63 of a-z, A-Z, 0-9, '.', "
                                   "'_', '-' and ':', not starting with '.' or '-')", alias ? alias : "");
    return -EINVAL;
}

static int alias_owner(struct lxm_image **list, size_t n, const char *alias)
{
    for (size_t i = 0; i < n; i++)
        if (strv_contains(list[i]->aliases, alias))
            return (int)i;
    return -1;
}

int lxm_image_store_alias_add(const struct lxm_paths *paths, const char *ref, const char *alias,
                              struct lxm_error *err)
{
    int r = lxm_image_alias_validate(alias, err);
    if (r < 0)
        return r;
    _cleanup_close_ int lock = lxm_image_store_lock(paths, true, err);
    if (lock < 0)
        return lock;
    _cleanup_image_ struct lxm_image *img = NULL;
    r = lxm_image_store_find(paths, ref, &img, err);
    if (r < 0)
        return r;
    struct lxm_image **list = NULL;
    size_t n = 0;
    r = lxm_image_store_list(paths, &list, &n, err);
    if (r < 0)
        return r;
    int owner = alias_owner(list, n, alias);
    if (owner >= 0 && strcmp(list[owner]->fingerprint, img->fingerprint) != 0)
        r = lxm_error_set(err, EEXIST, "alias '%s' already names image %.12s", alias,
                          list[owner]->fingerprint);
    lxm_image_list_free(list, n);
    if (r < 0 || owner >= 0)
        return r;
    if (strv_push(&img->aliases, alias) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return save_meta(img->dir, img, err);
}

int lxm_image_store_alias_remove(const struct lxm_paths *paths, const char *alias,
                                 struct lxm_error *err)
{
    _cleanup_close_ int lock = lxm_image_store_lock(paths, true, err);
    if (lock < 0)
        return lock;
    struct lxm_image **list = NULL;
    size_t n = 0;
    int r = lxm_image_store_list(paths, &list, &n, err);
    if (r < 0)
        return r;
    int owner = alias_owner(list, n, alias);
    if (owner < 0) {
        r = lxm_error_set(err, ENOENT, "no image has the alias '%s'", alias);
    } else {
        struct lxm_image *img = list[owner];
        _cleanup_strv_free_ char **kept = calloc(1, sizeof(char *));
        for (size_t i = 0; kept && img->aliases[i]; i++)
            if (strcmp(img->aliases[i], alias) != 0 && strv_push(&kept, img->aliases[i]) < 0)
                kept = NULL;
        if (!kept)
            r = lxm_error_set(err, ENOMEM, "out of memory");
        else {
            strv_free(img->aliases);
            img->aliases = TAKE_PTR(kept);
            r = save_meta(img->dir, img, err);
        }
    }
    lxm_image_list_free(list, n);
    return r;
}

/* ---- delete, prune ---------------------------------------------------------------------------- */

/* Hide the image first (rename to .delete-OWNER.FP), then remove it: a
 * delete cut short never leaves half an image that looks whole. */
static int remove_image(const char *store, const struct lxm_image *img, struct lxm_error *err)
{
    _cleanup_free_ char *doomed = xasprintf("%s/.delete-%s.%s", store, owner_tag(), img->fingerprint);
    if (!doomed)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (rename(img->dir, doomed) < 0)
        return lxm_error_errno(err, errno, "rename %s", img->dir);
    return remove_image_dir(doomed, img->driver, err);
}

static char *join_users(char **users)
{
    size_t n = strv_length(users);
    _cleanup_free_ char *s = strdup("");
    for (size_t i = 0; s && i < n && i < 8; i++) {
        char *next = xasprintf("%s%s%s", s, i ? ", " : "", users[i]);
        free(s);
        s = next;
    }
    if (s && n > 8) {
        char *next = xasprintf("%s and %zu more", s, n - 8);
        free(s);
        s = next;
    }
    return TAKE_PTR(s);
}

int lxm_image_store_delete(const struct lxm_paths *paths, const char *ref, struct lxm_error *err)
{
    _cleanup_close_ int lock = lxm_image_store_lock(paths, true, err);
    if (lock < 0)
        return lock;
    lxm_image_store_sweep(paths);
    _cleanup_image_ struct lxm_image *img = NULL;
    int r = lxm_image_store_find(paths, ref, &img, err);
    if (r < 0)
        return r;
    _cleanup_strv_free_ char **users = NULL;
    r = lxm_image_store_users(paths, img->fingerprint, &users, err);
    if (r < 0)
        return r;
    if (users[0]) {
        _cleanup_free_ char *names = join_users(users);
        return lxm_error_set(err, EBUSY, "image %.12s is used by %s (delete those first)",
                             img->fingerprint, names ? names : "containers");
    }
    _cleanup_free_ char *store = lxm_image_store_dir(paths);
    return store ? remove_image(store, img, err) : lxm_error_set(err, ENOMEM, "out of memory");
}

int lxm_image_store_prune(const struct lxm_paths *paths, size_t *count, uint64_t *freed,
                          struct lxm_error *err)
{
    *count = 0;
    *freed = 0;
    _cleanup_close_ int lock = lxm_image_store_lock(paths, true, err);
    if (lock < 0)
        return lock;
    lxm_image_store_sweep(paths);
    _cleanup_free_ char *store = lxm_image_store_dir(paths);
    struct lxm_image **list = NULL;
    size_t n = 0;
    int r = store ? lxm_image_store_list(paths, &list, &n, err) : lxm_error_set(err, ENOMEM, "out of memory");
    for (size_t i = 0; r == 0 && i < n; i++) {
        _cleanup_strv_free_ char **users = NULL;
        r = lxm_image_store_users(paths, list[i]->fingerprint, &users, err);
        if (r < 0 || users[0])
            continue;
        uint64_t size = 0;
        struct lxm_error ignored = { 0 };
        lxm_storage_tree_usage(list[i]->rootfs, &size, &ignored);
        r = remove_image(store, list[i], err);
        if (r == 0) {
            (*count)++;
            *freed += size;
        }
    }
    lxm_image_list_free(list, n);
    return r;
}

#include "image/simplestreams.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/json.h"
#include "image/lazy-curl.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/report.h"
#include "util/sha256.h"

/* The indexes of the public image server are a few MiB; a server sending
 * more than this is not one. */
#define INDEX_MAX ((size_t)256 << 20)
#define USER_AGENT "lxm/" PACKAGE_VERSION

/* ---- HTTP ----------------------------------------------------------------------- */

static void curl_freep(CURL **c)
{
    if (*c)
        curl_easy_cleanup(*c);
}
#define _cleanup_curl_ __attribute__((cleanup(curl_freep)))

/* A handle with lxm's policy: http(s) only (also after redirects), a few
 * redirects, no signals, give up on a stalled transfer after a minute.
 * libcurl itself takes proxies from the environment and the CA store from
 * the system. */
static CURL *http_handle(const char *url)
{
    static bool initialized;
    if (!initialized) { /* once per process, before any handle, as libcurl asks */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        initialized = true;
    }
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    return c;
}

/* One error line for a failed transfer: the HTTP status when there was
 * one, else what libcurl says (DNS, TLS, connection, timeout). */
static int http_error(struct lxm_error *err, CURL *c, CURLcode rc, const char *url,
                      const char *why)
{
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (why)
        return lxm_error_set(err, EIO, "GET %s: %s", url, why);
    if (rc == CURLE_HTTP_RETURNED_ERROR && status >= 400)
        return lxm_error_set(err, status == 404 ? ENOENT : EIO, "GET %s: HTTP %ld", url, status);
    return lxm_error_set(err, EIO, "GET %s: %s", url, curl_easy_strerror(rc));
}

struct membuf {
    char *data;
    size_t len, max;
    bool over;
};

static size_t mem_write(char *p, size_t size, size_t n, void *arg)
{
    struct membuf *b = arg;
    size_t add = size * n;
    if (add > b->max - b->len) {
        b->over = true;
        return 0;
    }
    char *nd = realloc(b->data, b->len + add + 1);
    if (!nd)
        return 0;
    memcpy(nd + b->len, p, add);
    b->data = nd;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

int lxm_http_get(const char *url, size_t max, char **out, size_t *len, struct lxm_error *err)
{
    _cleanup_curl_ CURL *c = http_handle(url);
    if (!c)
        return lxm_error_set(err, ENOMEM, "out of memory");
    struct membuf b = { .max = max };
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mem_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK || !b.data) {
        free(b.data);
        if (rc == CURLE_OK)
            return lxm_error_set(err, EIO, "GET %s: empty response", url);
        return http_error(err, c, rc, url, b.over ? "larger than an index can be" : NULL);
    }
    *out = b.data;
    *len = b.len;
    return 0;
}

/* ---- the index -------------------------------------------------------------------- */

void lxm_ss_image_clear(struct lxm_ss_image *img)
{
    free(img->product);
    free(img->aliases);
    free(img->os);
    free(img->release);
    free(img->arch);
    free(img->variant);
    free(img->version);
    free(img->description);
    struct lxm_ss_item *items[] = { &img->meta, &img->rootfs };
    for (size_t i = 0; i < 2; i++) {
        free(items[i]->ftype);
        free(items[i]->path);
        free(items[i]->sha256);
    }
    memset(img, 0, sizeof(*img));
}

void lxm_ss_images_free(struct lxm_ss_image *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        lxm_ss_image_clear(&v[i]);
    free(v);
}

static char *join_url(const char *base, const char *path)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    return xasprintf("%.*s/%s", (int)n, base, path);
}

/* A path the server names must stay below its URL: relative, no "..",
 * no backslash, nothing that is not printable ASCII. */
static bool safe_path(const char *p)
{
    if (!*p || *p == '/')
        return false;
    for (const char *s = p; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f || *s == '\\' || *s == '?' ||
            *s == '#')
            return false;
    for (const char *s = p; s; s = strchr(s, '/')) {
        s += *s == '/';
        if (strncmp(s, "..", 2) == 0 && (s[2] == '/' || s[2] == '\0'))
            return false;
    }
    return true;
}

int lxm_ss_parse_index(const char *label, const char *text, size_t len, char **out,
                       struct lxm_error *err)
{
    _cleanup_json_ json_object *idx = NULL;
    int r = lxm_json_parse(label, text, len, &idx, err);
    if (r < 0)
        return r;
    json_object *streams = lxm_jget(idx, "index", json_type_object);
    if (!streams)
        return lxm_error_set(err, EINVAL, "%s: no \"index\" object (not a simplestreams server)", label);
    json_object_object_foreach(streams, key, s) {
        json_object *dt = lxm_jget(s, "datatype", json_type_string);
        json_object *path = lxm_jget(s, "path", json_type_string);
        if (!dt || strcmp(json_object_get_string(dt), "image-downloads") != 0 || !path)
            continue;
        if (!safe_path(json_object_get_string(path)))
            return lxm_error_set(err, EINVAL, "%s: index \"%s\": unsafe path", label, key);
        *out = strdup(json_object_get_string(path));
        return *out ? 0 : lxm_error_set(err, ENOMEM, "out of memory");
    }
    return lxm_error_set(err, ENOENT, "%s: no image-downloads stream", label);
}

/* streams/v1/index.json -> the path of the image-downloads products file. */
static int products_path(const char *base, char **out, struct lxm_error *err)
{
    _cleanup_free_ char *url = join_url(base, "streams/v1/index.json");
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = url ? lxm_http_get(url, INDEX_MAX, &text, &len, err)
                : lxm_error_set(err, ENOMEM, "out of memory");
    return r < 0 ? r : lxm_ss_parse_index(url, text, len, out, err);
}

static int item_parse(const char *label, json_object *o, struct lxm_ss_item *it,
                      struct lxm_error *err)
{
    int r = lxm_jstr(label, o, "ftype", &it->ftype, err);
    if (r == 0)
        r = lxm_jstr(label, o, "path", &it->path, err);
    if (r == 0)
        r = lxm_jstr(label, o, "sha256", &it->sha256, err);
    json_object *size = lxm_jget(o, "size", json_type_int);
    if (r < 0)
        return r;
    it->size = size ? json_object_get_int64(size) : -1;
    if (!it->path || !safe_path(it->path))
        return lxm_error_set(err, EINVAL, "%s: missing or unsafe \"path\"", label);
    if (!it->sha256 || !lxm_valid_sha256_hex(it->sha256))
        return lxm_error_set(err, EINVAL, "%s: \"sha256\" is not 64 hex digits", label);
    if (it->size <= 0)
        return lxm_error_set(err, EINVAL, "%s: \"size\" missing or not positive", label);
    return 0;
}

static bool is_meta(const char *ftype)
{
    return strcmp(ftype, "lxd.tar.xz") == 0 || strcmp(ftype, "incus.tar.xz") == 0;
}

/* The container pair of one version: metadata + rootfs (squashfs is
 * preferred: it unpacks without decompressing a whole stream first).
 * 1 when the version has one, 0 when not (a VM-only build). */
static int version_pair(const char *label, json_object *items, struct lxm_ss_image *img,
                        struct lxm_error *err)
{
    json_object *meta = NULL, *sqfs = NULL, *txz = NULL;
    json_object_object_foreach(items, key, o) {
        json_object *ft = lxm_jget(o, "ftype", json_type_string);
        const char *f = ft ? json_object_get_string(ft) : "";
        if (is_meta(f) && (!meta || strcmp(f, "incus.tar.xz") == 0))
            meta = o;
        else if (strcmp(f, "squashfs") == 0)
            sqfs = o;
        else if (strcmp(f, "root.tar.xz") == 0)
            txz = o;
        (void)key;
    }
    if (!meta || (!sqfs && !txz))
        return 0;
    _cleanup_free_ char *ml = xasprintf("%s: metadata item", label);
    _cleanup_free_ char *rl = xasprintf("%s: rootfs item", label);
    int r = item_parse(ml, meta, &img->meta, err);
    if (r == 0)
        r = item_parse(rl, sqfs ? sqfs : txz, &img->rootfs, err);
    return r < 0 ? r : 1;
}

static int pstr(json_object *p, const char *key, char **out)
{
    json_object *v = lxm_jget(p, key, json_type_string);
    if (!v)
        return 0;
    *out = strdup(json_object_get_string(v));
    return *out ? 0 : -ENOMEM;
}

/* The newest version of product p that has a container image. 1 found,
 * 0 when none has. */
static int product_parse(const char *url, const char *name, json_object *p,
                         struct lxm_ss_image *img, struct lxm_error *err)
{
    json_object *versions = lxm_jget(p, "versions", json_type_object);
    if (!versions)
        return 0;
    const char *best = NULL;
    json_object *best_items = NULL;
    json_object_object_foreach(versions, ver, v) {
        json_object *items = lxm_jget(v, "items", json_type_object);
        if (!items || (best && strcmp(ver, best) <= 0))
            continue;
        struct lxm_ss_image probe = { 0 };
        _cleanup_free_ char *label = xasprintf("%s: %s %s", url, name, ver);
        int r = version_pair(label, items, &probe, err);
        lxm_ss_image_clear(&probe);
        if (r < 0)
            return r;
        if (r == 1)
            best = ver, best_items = items;
    }
    if (!best)
        return 0;
    _cleanup_free_ char *label = xasprintf("%s: %s %s", url, name, best);
    int r = version_pair(label, best_items, img, err);
    if (r == 1 && ((img->product = strdup(name)) == NULL || (img->version = strdup(best)) == NULL ||
                   pstr(p, "aliases", &img->aliases) < 0 || pstr(p, "os", &img->os) < 0 ||
                   pstr(p, "release", &img->release) < 0 || pstr(p, "arch", &img->arch) < 0 ||
                   pstr(p, "variant", &img->variant) < 0 ||
                   pstr(p, "release_title", &img->description) < 0))
        r = lxm_error_set(err, ENOMEM, "out of memory");
    if (r == 1 && !img->arch)
        r = lxm_error_set(err, EINVAL, "%s: no \"arch\"", label);
    return r;
}

/* Does the comma-separated list have exactly s? */
static bool list_has(const char *list, const char *s)
{
    size_t n = strlen(s);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, s, n) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

static int first_alias_cmp(const void *a, const void *b)
{
    const struct lxm_ss_image *x = a, *y = b;
    int c = strcmp(x->aliases ? x->aliases : x->product, y->aliases ? y->aliases : y->product);
    return c ? c : strcmp(x->arch, y->arch);
}

/* Every product of a products document that keep() accepts. */
static int parse_products(const char *label, const char *text, size_t len,
                          bool (*keep)(const struct lxm_ss_image *, const void *), const void *arg,
                          struct lxm_ss_image **out, size_t *n, struct lxm_error *err)
{
    *out = NULL;
    *n = 0;
    _cleanup_json_ json_object *doc = NULL;
    int r = lxm_json_parse(label, text, len, &doc, err);
    if (r < 0)
        return r;
    json_object *products = lxm_jget(doc, "products", json_type_object);
    if (!products)
        return lxm_error_set(err, EINVAL, "%s: no \"products\" object", label);
    json_object_object_foreach(products, name, p) {
        struct lxm_ss_image img = { 0 };
        r = json_object_get_type(p) == json_type_object ? product_parse(label, name, p, &img, err) : 0;
        if (r == 1 && keep(&img, arg)) {
            struct lxm_ss_image *nv = realloc(*out, (*n + 1) * sizeof(**out));
            if (!nv) {
                r = lxm_error_set(err, ENOMEM, "out of memory");
            } else {
                *out = nv;
                (*out)[(*n)++] = img;
                continue;
            }
        }
        lxm_ss_image_clear(&img);
        if (r < 0) {
            lxm_ss_images_free(*out, *n);
            *out = NULL;
            *n = 0;
            return r;
        }
    }
    if (*n > 1)
        qsort(*out, *n, sizeof(**out), first_alias_cmp);
    return 0;
}

/* Walk every product of the server; keep those keep() accepts. */
static int walk(const char *base, bool (*keep)(const struct lxm_ss_image *, const void *),
                const void *arg, struct lxm_ss_image **out, size_t *n, struct lxm_error *err)
{
    *out = NULL;
    *n = 0;
    _cleanup_free_ char *path = NULL;
    int r = products_path(base, &path, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *url = join_url(base, path);
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    r = url ? lxm_http_get(url, INDEX_MAX, &text, &len, err)
            : lxm_error_set(err, ENOMEM, "out of memory");
    return r < 0 ? r : parse_products(url, text, len, keep, arg, out, n, err);
}

struct list_filter {
    const char *arch, *text;
};

static bool keep_listed(const struct lxm_ss_image *img, const void *arg)
{
    const struct list_filter *f = arg;
    if (f->arch && strcmp(img->arch, f->arch) != 0)
        return false;
    return !f->text || (img->aliases && strstr(img->aliases, f->text)) ||
           strstr(img->product, f->text);
}

int lxm_ss_list(const char *url, const char *arch, const char *filter, struct lxm_ss_image **out,
                size_t *n, struct lxm_error *err)
{
    struct list_filter f = { .arch = arch, .text = filter && *filter ? filter : NULL };
    return walk(url, keep_listed, &f, out, n, err);
}

int lxm_ss_parse_products(const char *label, const char *text, size_t len, const char *arch,
                          const char *filter, struct lxm_ss_image **out, size_t *n,
                          struct lxm_error *err)
{
    struct list_filter f = { .arch = arch, .text = filter && *filter ? filter : NULL };
    return parse_products(label, text, len, keep_listed, &f, out, n, err);
}

static bool keep_alias(const struct lxm_ss_image *img, const void *alias)
{
    return list_has(img->aliases, alias);
}

int lxm_ss_find(const char *url, const char *alias, const char *arch, struct lxm_ss_image *out,
                struct lxm_error *err)
{
    struct lxm_ss_image *all;
    size_t n;
    int r = walk(url, keep_alias, alias, &all, &n, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].arch, arch) == 0) {
            *out = all[i];
            all[i] = (struct lxm_ss_image){ 0 };
            lxm_ss_images_free(all, n);
            return 0;
        }
    char others[256] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(others + strlen(others), sizeof(others) - strlen(others), "%s%s", i ? ", " : "",
                 all[i].arch);
    lxm_ss_images_free(all, n);
    if (n)
        return lxm_error_set(err, ENOENT, "no image '%s' for %s on %s (there is: %s)", alias, arch,
                             url, others);
    return lxm_error_set(err, ENOENT, "no image '%s' on %s", alias, url);
}

/* ---- downloads ------------------------------------------------------------------ */

struct sink {
    int fd;
    int64_t at, limit; /* bytes in the file, and what the index says */
    bool over;
    struct lxm_meter *meter;
};

static size_t file_write(char *p, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t len = size * n;
    if ((int64_t)len > s->limit - s->at) {
        s->over = true;
        return 0;
    }
    for (size_t done = 0; done < len;) {
        ssize_t w = write(s->fd, p + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        done += (size_t)w;
    }
    s->at += (int64_t)len;
    lxm_meter_update(s->meter, s->at);
    return len;
}

/* ftype as a file name suffix: [a-z0-9.-_] only. */
static void suffix(const char *ftype, char out[32])
{
    size_t i = 0;
    for (; ftype[i] && i < 31; i++) {
        char c = ftype[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                  c == '_';
        out[i] = ok ? c : '_';
    }
    out[i] = '\0';
}

/* Fetch from offset s->at to the end into s->fd. A server that ignores
 * the range gets one more try from the start. */
static int fetch_into(const char *url, struct sink *s, struct lxm_error *err)
{
    for (int attempt = 0;; attempt++) {
        _cleanup_curl_ CURL *c = http_handle(url);
        if (!c)
            return lxm_error_set(err, ENOMEM, "out of memory");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, file_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
        if (s->at > 0)
            curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)s->at);
        CURLcode rc = curl_easy_perform(c);
        if (rc == CURLE_RANGE_ERROR && attempt == 0 && s->at > 0) {
            if (ftruncate(s->fd, 0) < 0 || lseek(s->fd, 0, SEEK_SET) < 0)
                return lxm_error_errno(err, errno, "truncate the download of %s", url);
            s->at = 0;
            continue;
        }
        if (rc == CURLE_WRITE_ERROR && s->over)
            return lxm_error_set(err, EIO, "GET %s: larger than the index says (%lld bytes)", url,
                                 (long long)s->limit);
        if (rc != CURLE_OK)
            return http_error(err, c, rc, url, NULL);
        return 0;
    }
}

static int check_sum(const char *file, const struct lxm_ss_item *item, const char *url,
                     struct lxm_error *err)
{
    char hex[65];
    int r = sha256_file(file, hex);
    if (r < 0)
        return lxm_error_errno(err, -r, "read %s", file);
    if (strcmp(hex, item->sha256) != 0)
        return lxm_error_set(err, EBADMSG, "%s: sha256 mismatch (the index says %.12s…, got %.12s…)",
                             url, item->sha256, hex);
    return 0;
}

/* Download into part (locked, maybe partly there), check, rename to final. */
static int download_part(const char *url, const struct lxm_ss_item *item, const char *part,
                         const char *final, const struct lxm_report *progress, struct lxm_error *err)
{
    _cleanup_close_ int fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s", part);
    if (flock(fd, LOCK_EX) < 0)
        return lxm_error_errno(err, errno, "lock %s", part);
    if (access(final, F_OK) == 0) /* another command finished it meanwhile */
        return 0;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return lxm_error_errno(err, errno, "stat %s", part);
    int64_t have = st.st_size <= item->size ? st.st_size : 0;
    if ((have == 0 && ftruncate(fd, 0) < 0) || lseek(fd, have, SEEK_SET) < 0)
        return lxm_error_errno(err, errno, "prepare %s", part);
    struct lxm_meter m;
    lxm_meter_start(&m, progress, "downloading", "downloaded", url, item->size);
    struct sink s = { .fd = fd, .at = have, .limit = item->size, .meter = &m };
    int r = have < item->size ? fetch_into(url, &s, err) : 0;
    lxm_meter_done(&m, r == 0);
    if (r == 0 && s.at != item->size)
        r = lxm_error_set(err, EIO, "GET %s: truncated (%lld of %lld bytes)", url, (long long)s.at,
                          (long long)item->size);
    if (r == 0 && fsync(fd) < 0)
        r = lxm_error_errno(err, errno, "fsync %s", part);
    if (r == 0)
        r = check_sum(part, item, url, err);
    /* A wrong file is no start for a resume; a short one is. */
    if (r == -EBADMSG || (r < 0 && s.over))
        unlink(part);
    if (r == 0 && rename(part, final) < 0)
        r = lxm_error_errno(err, errno, "rename %s", part);
    return r;
}

int lxm_ss_download(const char *base, const struct lxm_ss_item *item, const char *dir,
                    const struct lxm_report *progress, char **path, struct lxm_error *err)
{
    char sfx[32];
    suffix(item->ftype ? item->ftype : "bin", sfx);
    _cleanup_free_ char *url = join_url(base, item->path);
    _cleanup_free_ char *final = xasprintf("%s/%s.%s", dir, item->sha256, sfx);
    _cleanup_free_ char *part = xasprintf("%s/%s.part", dir, item->sha256);
    if (!url || !final || !part)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = mkdir_p(dir, 0700);
    if (r < 0)
        return lxm_error_errno(err, -r, "mkdir %s", dir);
    if (access(final, F_OK) == 0) {
        /* From an earlier run: trusted only after the same check. */
        r = check_sum(final, item, url, err);
        if (r == 0) {
            *path = TAKE_PTR(final);
            return 0;
        }
        unlink(final);
        lxm_error_clear(err);
    }
    r = download_part(url, item, part, final, progress, err);
    if (r == 0)
        *path = TAKE_PTR(final);
    return r;
}

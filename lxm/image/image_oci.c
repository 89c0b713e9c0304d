/* OCI image layouts (oci-layout, index.json, blobs/sha256/...), as
 * `skopeo copy ... oci:DIR:TAG` writes them: index -> (nested index) ->
 * manifest -> config and layers. Every blob is checked against its
 * descriptor's size and sha256 before it is used; layers are applied in
 * order with their whiteouts. JSON is parsed with json-c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "image/image_import-internal.h"
#include "image/json.h"
#include "util/arch.h"
#include "util/lazy-archive.h"
#include "image/lazy-image.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/inroot.h"
#include "util/log.h"
#include "util/sha256.h"

#define IO_BLOCK (1 << 20)
/* An index may point at an index; deeper than this is a loop or abuse. */
#define MAX_INDEX_DEPTH 4

/* ---- JSON ------------------------------------------------------------------------ */

void lxm_oci_desc_clear(struct lxm_oci_desc *d)
{
    free(d->media_type);
    free(d->ref_name);
    free(d->os);
    free(d->arch);
    free(d->variant);
    memset(d, 0, sizeof(*d));
}

static int parse_desc(const char *label, json_object *o, struct lxm_oci_desc *d,
                      struct lxm_error *err)
{
    memset(d, 0, sizeof(*d));
    if (!o || json_object_get_type(o) != json_type_object)
        return lxm_error_set(err, EINVAL, "%s: a descriptor must be a JSON object", label);
    json_object *digest = lxm_jget(o, "digest", json_type_string);
    json_object *size = lxm_jget(o, "size", json_type_int);
    if (!digest || !size)
        return lxm_error_set(err, EINVAL, "%s: a descriptor needs \"digest\" and \"size\"", label);
    const char *dg = json_object_get_string(digest);
    if (strncmp(dg, "sha256:", 7) != 0 || !lxm_valid_sha256_hex(dg + 7))
        return lxm_error_set(err, EINVAL, "%s: digest '%.80s' is not sha256:<64 hex digits>", label, dg);
    memcpy(d->hex, dg + 7, 65);
    d->size = json_object_get_int64(size);
    if (d->size < 0)
        return lxm_error_set(err, EINVAL, "%s: descriptor %.19s has a negative size", label, dg);
    json_object *ann = lxm_jget(o, "annotations", json_type_object);
    json_object *plat = lxm_jget(o, "platform", json_type_object);
    int r = lxm_jstr(label, o, "mediaType", &d->media_type, err);
    if (r == 0 && ann)
        r = lxm_jstr(label, ann, "org.opencontainers.image.ref.name", &d->ref_name, err);
    if (r == 0 && plat)
        r = lxm_jstr(label, plat, "os", &d->os, err);
    if (r == 0 && plat)
        r = lxm_jstr(label, plat, "architecture", &d->arch, err);
    if (r == 0 && plat)
        r = lxm_jstr(label, plat, "variant", &d->variant, err);
    if (r < 0)
        lxm_oci_desc_clear(d);
    return r;
}

/* The descriptors of the array member key (may be missing: 0 of them). */
static int parse_desc_array(const char *label, json_object *o, const char *key,
                            struct lxm_oci_desc **out, size_t *n, struct lxm_error *err)
{
    *out = NULL;
    *n = 0;
    json_object *arr = NULL;
    if (!json_object_object_get_ex(o, key, &arr) || !arr)
        return 0;
    if (json_object_get_type(arr) != json_type_array)
        return lxm_error_set(err, EINVAL, "%s: \"%s\" must be an array", label, key);
    size_t count = json_object_array_length(arr);
    struct lxm_oci_desc *d = calloc(count ? count : 1, sizeof(*d));
    if (!d)
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        int r = parse_desc(label, json_object_array_get_idx(arr, i), &d[i], err);
        if (r < 0) {
            for (size_t j = 0; j < i; j++)
                lxm_oci_desc_clear(&d[j]);
            free(d);
            return lxm_error_prefix(err, "%s[%zu]", key, i);
        }
    }
    *out = d;
    *n = count;
    return 0;
}

bool lxm_oci_is_index(const char *text, size_t len)
{
    _cleanup_json_ json_object *o = NULL;
    if (lxm_json_parse("", text, len, &o, NULL) < 0)
        return false;
    return lxm_jget(o, "manifests", json_type_array) && !lxm_jget(o, "layers", json_type_array);
}

void lxm_oci_index_clear(struct lxm_oci_index *x)
{
    for (size_t i = 0; i < x->n; i++)
        lxm_oci_desc_clear(&x->manifests[i]);
    free(x->manifests);
    memset(x, 0, sizeof(*x));
}

int lxm_oci_index_parse(const char *label, const char *text, size_t len,
                        struct lxm_oci_index *out, struct lxm_error *err)
{
    memset(out, 0, sizeof(*out));
    _cleanup_json_ json_object *o = NULL;
    int r = lxm_json_parse(label, text, len, &o, err);
    if (r < 0)
        return r;
    if (!lxm_jget(o, "manifests", json_type_array))
        return lxm_error_set(err, EINVAL, "%s: not an image index (no \"manifests\" array)", label);
    r = parse_desc_array(label, o, "manifests", &out->manifests, &out->n, err);
    return r < 0 ? lxm_error_prefix(err, "%s", label) : 0;
}

void lxm_oci_manifest_clear(struct lxm_oci_manifest *m)
{
    lxm_oci_desc_clear(&m->config);
    for (size_t i = 0; i < m->n_layers; i++)
        lxm_oci_desc_clear(&m->layers[i]);
    free(m->layers);
    free(m->description);
    memset(m, 0, sizeof(*m));
}

int lxm_oci_manifest_parse(const char *label, const char *text, size_t len,
                           struct lxm_oci_manifest *out, struct lxm_error *err)
{
    memset(out, 0, sizeof(*out));
    _cleanup_json_ json_object *o = NULL;
    int r = lxm_json_parse(label, text, len, &o, err);
    if (r < 0)
        return r;
    json_object *config = lxm_jget(o, "config", json_type_object);
    if (!config || !lxm_jget(o, "layers", json_type_array))
        return lxm_error_set(err, EINVAL, "%s: not an image manifest (needs \"config\" and \"layers\")",
                             label);
    r = parse_desc(label, config, &out->config, err);
    if (r == 0)
        r = parse_desc_array(label, o, "layers", &out->layers, &out->n_layers, err);
    json_object *ann = lxm_jget(o, "annotations", json_type_object);
    if (r == 0 && ann)
        r = lxm_jstr(label, ann, "org.opencontainers.image.description", &out->description, err);
    if (r < 0)
        lxm_oci_manifest_clear(out);
    return r;
}

void lxm_oci_config_clear(struct lxm_oci_config *c)
{
    free(c->os);
    free(c->arch);
    free(c->variant);
    memset(c, 0, sizeof(*c));
}

int lxm_oci_config_parse(const char *label, const char *text, size_t len,
                         struct lxm_oci_config *out, struct lxm_error *err)
{
    memset(out, 0, sizeof(*out));
    _cleanup_json_ json_object *o = NULL;
    int r = lxm_json_parse(label, text, len, &o, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *created = NULL;
    r = lxm_jstr(label, o, "architecture", &out->arch, err);
    if (r == 0)
        r = lxm_jstr(label, o, "os", &out->os, err);
    if (r == 0)
        r = lxm_jstr(label, o, "variant", &out->variant, err);
    if (r == 0)
        r = lxm_jstr(label, o, "created", &created, err);
    if (r == 0 && created && (out->created = lxm_rfc3339_parse(created)) < 0)
        r = lxm_error_set(err, EINVAL, "%s: \"created\": '%.40s' is not an RFC 3339 time", label,
                          created);
    if (r < 0)
        lxm_oci_config_clear(out);
    return r;
}

/* ---- the layout --------------------------------------------------------------------- */

struct layout {
    const char *dir;
    int fd;                 /* the layout directory */
    const struct lxm_report *progress;
};

/* Open a file beneath the layout, never leaving it. */
static int layout_open(const struct layout *l, const char *rel, struct lxm_error *err)
{
    int fd = lxm_openat2(l->fd, rel, O_RDONLY | O_NOCTTY, 0, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    if (fd == -EXDEV || fd == -ELOOP)
        return lxm_error_set(err, EPERM, "%s/%s: a symlink leads out of the layout", l->dir, rel);
    if (fd < 0)
        return lxm_error_errno(err, -fd, "%s/%s", l->dir, rel);
    return fd;
}

static int read_fd(int fd, const char *what, char **out, size_t *len, struct lxm_error *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return lxm_error_errno(err, errno, "stat %s", what);
    if (!S_ISREG(st.st_mode) || st.st_size > LXM_IMAGE_META_MAX)
        return lxm_error_set(err, EINVAL, "%s: not a regular file of at most %d bytes", what,
                             LXM_IMAGE_META_MAX);
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return lxm_error_set(err, ENOMEM, "out of memory");
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(buf);
            return n < 0 ? lxm_error_errno(err, errno, "read %s", what)
                         : lxm_error_set(err, EIO, "read %s: file shrank", what);
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

/* Refuse a blob whose size or sha256 is not what its descriptor says. */
static int verify_blob(const struct layout *l, int fd, const struct lxm_oci_desc *d,
                       struct lxm_error *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return lxm_error_errno(err, errno, "stat blob sha256:%s", d->hex);
    if (!S_ISREG(st.st_mode))
        return lxm_error_set(err, EINVAL, "%s: blob sha256:%s is not a regular file", l->dir, d->hex);
    if (st.st_size != d->size)
        return lxm_error_set(err, EINVAL, "%s: blob sha256:%.12s is %lld bytes, its descriptor says %lld",
                             l->dir, d->hex, (long long)st.st_size, (long long)d->size);
    size_t block = d->size < IO_BLOCK ? (size_t)d->size + 1 : IO_BLOCK;
    _cleanup_free_ char *buf = malloc(block);
    if (!buf)
        return lxm_error_set(err, ENOMEM, "out of memory");
    struct sha256_ctx c;
    sha256_init(&c);
    for (off_t off = 0;;) {
        ssize_t n = pread(fd, buf, block, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return lxm_error_errno(err, errno, "read blob sha256:%s", d->hex);
        if (n == 0)
            break;
        sha256_update(&c, buf, (size_t)n);
        off += n;
    }
    char hex[65];
    sha256_final_hex(&c, hex);
    if (strcmp(hex, d->hex) != 0)
        return lxm_error_set(err, EINVAL, "%s: blob sha256:%.12s does not match its digest (its content hashes to sha256:%.12s)",
                             l->dir, d->hex, hex);
    return 0;
}

/* Open the blob of d, checked. Returns the fd. */
static int blob_open(const struct layout *l, const struct lxm_oci_desc *d, struct lxm_error *err)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "blobs/sha256/%s", d->hex);
    _cleanup_close_ int fd = layout_open(l, rel, err);
    if (fd == -ENOENT)
        return lxm_error_set(err, ENOENT, "%s: blob sha256:%.12s is missing (%s)", l->dir, d->hex,
                             rel);
    if (fd < 0)
        return fd;
    int r = verify_blob(l, fd, d, err);
    return r < 0 ? r : TAKE_FD(fd);
}

static int blob_read(const struct layout *l, const struct lxm_oci_desc *d, char **text,
                     size_t *len, struct lxm_error *err)
{
    if (d->size > LXM_IMAGE_META_MAX)
        return lxm_error_set(err, EINVAL, "%s: blob sha256:%.12s: %lld bytes is too big for metadata",
                             l->dir, d->hex, (long long)d->size);
    _cleanup_close_ int fd = blob_open(l, d, err);
    if (fd < 0)
        return fd;
    char what[96];
    snprintf(what, sizeof(what), "blob sha256:%.12s", d->hex);
    return read_fd(fd, what, text, len, err);
}

/* ---- choosing the image ------------------------------------------------------------- */

static int pick_by_tag(const struct layout *l, const struct lxm_oci_index *x, const char *tag,
                       const struct lxm_oci_desc **out, struct lxm_error *err)
{
    if (x->n == 0)
        return lxm_error_set(err, ENOENT, "%s: index.json lists no image", l->dir);
    for (size_t i = 0; tag && i < x->n; i++)
        if (x->manifests[i].ref_name && strcmp(x->manifests[i].ref_name, tag) == 0) {
            *out = &x->manifests[i];
            return 0;
        }
    if (!tag && x->n == 1) {
        *out = &x->manifests[0];
        return 0;
    }
    char tags[1024] = "";
    for (size_t i = 0; i < x->n; i++) {
        const char *t = x->manifests[i].ref_name ? x->manifests[i].ref_name : "(untagged)";
        size_t used = strlen(tags);
        snprintf(tags + used, sizeof(tags) - used, "%s%s", i ? ", " : "", t);
    }
    if (tag)
        return lxm_error_set(err, ENOENT, "%s: no image tagged '%s' (tags: %s)", l->dir, tag, tags);
    return lxm_error_set(err, EINVAL, "%s holds %zu images: name one as %s:TAG (tags: %s)", l->dir,
                         x->n, l->dir, tags);
}

static const char *go_arch(const char *debian)
{
    static const struct { const char *deb, *go; } map[] = {
        { "i386", "386" }, { "armhf", "arm" }, { "armel", "arm" },
        { "ppc64el", "ppc64le" }, { "mips64el", "mips64le" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (strcmp(debian, map[i].deb) == 0)
            return map[i].go;
    return debian;
}

/* In an image index: the manifest for linux on this host's architecture. */
static int pick_platform(const struct layout *l, const struct lxm_oci_index *x,
                         const struct lxm_oci_desc **out, struct lxm_error *err)
{
    const char *want = go_arch(lxm_host_arch());
    for (size_t i = 0; i < x->n; i++) {
        const struct lxm_oci_desc *d = &x->manifests[i];
        if (d->arch && strcmp(d->arch, want) == 0 && (!d->os || strcmp(d->os, "linux") == 0)) {
            *out = d;
            return 0;
        }
    }
    char have[1024] = "";
    for (size_t i = 0; i < x->n; i++) {
        size_t used = strlen(have);
        snprintf(have + used, sizeof(have) - used, "%s%s/%s", i ? ", " : "",
                 x->manifests[i].os ? x->manifests[i].os : "?",
                 x->manifests[i].arch ? x->manifests[i].arch : "?");
    }
    return lxm_error_set(err, ENOENT, "%s: no image for linux/%s (it has: %s)", l->dir, want, have);
}

/* From a descriptor in index.json, through nested indexes, to a manifest. */
static int resolve_manifest(const struct layout *l, const struct lxm_oci_desc *d,
                            struct lxm_oci_manifest *m, struct lxm_error *err)
{
    struct lxm_oci_desc cur = *d;
    for (int depth = 0; depth < MAX_INDEX_DEPTH; depth++) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = blob_read(l, &cur, &text, &len, err);
        if (r < 0)
            return r;
        char label[PATH_MAX + 64];
        snprintf(label, sizeof(label), "%s: blob sha256:%.12s", l->dir, cur.hex);
        if (!lxm_oci_is_index(text, len))
            return lxm_oci_manifest_parse(label, text, len, m, err);
        struct lxm_oci_index x;
        r = lxm_oci_index_parse(label, text, len, &x, err);
        const struct lxm_oci_desc *pick = NULL;
        if (r == 0)
            r = pick_platform(l, &x, &pick, err);
        if (r == 0) {
            memcpy(cur.hex, pick->hex, sizeof(cur.hex));
            cur.size = pick->size;
        }
        lxm_oci_index_clear(&x);
        if (r < 0)
            return r;
    }
    return lxm_error_set(err, ELOOP, "%s: image indexes nested deeper than %d", l->dir,
                         MAX_INDEX_DEPTH);
}

/* ---- layers ------------------------------------------------------------------------- */

static bool layer_type_ok(const char *mt)
{
    static const char *const ok[] = {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    };
    if (!mt)
        return true; /* the blob's own bytes tell what it is */
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
        if (strcmp(mt, ok[i]) == 0)
            return true;
    return false;
}

static int apply_layer(const struct layout *l, const struct lxm_oci_desc *d, size_t i, size_t n,
                       const char *rootfs, struct lxm_error *err)
{
    if (!layer_type_ok(d->media_type))
        return lxm_error_set(err, ENOTSUP, "%s: layer %zu (sha256:%.12s) has unsupported media type '%s'",
                             l->dir, i + 1, d->hex, d->media_type);
    _cleanup_close_ int fd = blob_open(l, d, err);
    if (fd < 0)
        return fd;
    _cleanup_archive_read_ struct archive *in = lxm_tar_reader_new();
    if (!in)
        return lxm_error_set(err, ENOMEM, "out of memory");
    char label[PATH_MAX + 96];
    snprintf(label, sizeof(label), "%s layer %zu/%zu (sha256:%.12s)", l->dir, i + 1, n, d->hex);
    if (archive_read_open_fd(in, fd, IO_BLOCK) != ARCHIVE_OK)
        return lxm_error_set(err, EINVAL, "%s: not a tar layer lxm can read (%s)", label,
                             archive_error_string(in));
    struct lxm_whiteout_state ws = { .label = label, .layer = lxm_pathset_new() };
    if (!ws.layer)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = lxm_image_extract_archive(in, label, rootfs, lxm_whiteout_filter, &ws, l->progress,
                                      d->size, err);
    lxm_pathset_free(ws.layer);
    return r;
}

static int set_meta(struct lxm_image_meta *meta, const struct lxm_oci_config *cfg,
                    const struct lxm_oci_manifest *m, const char *source)
{
    const char *arch = lxm_arch_to_debian(cfg->arch, cfg->variant);
    if (arch && !(meta->arch = strdup(arch)))
        return -ENOMEM;
    meta->created = cfg->created > 0 ? cfg->created : 0;
    meta->description = m->description ? strdup(m->description) : strdup(source);
    return meta->description ? 0 : -ENOMEM;
}

static int unpack_manifest(const struct layout *l, const struct lxm_oci_manifest *m,
                           const char *source, const char *rootfs, struct lxm_image_meta *meta,
                           struct lxm_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = blob_read(l, &m->config, &text, &len, err);
    if (r < 0)
        return lxm_error_prefix(err, "image config");
    char label[PATH_MAX + 64];
    snprintf(label, sizeof(label), "%s: config sha256:%.12s", l->dir, m->config.hex);
    struct lxm_oci_config cfg;
    r = lxm_oci_config_parse(label, text, len, &cfg, err);
    if (r < 0)
        return r;
    if (cfg.os && strcmp(cfg.os, "linux") != 0)
        r = lxm_error_set(err, ENOTSUP, "%s: image is for %s, not linux", l->dir, cfg.os);
    if (r == 0 && set_meta(meta, &cfg, m, source) < 0)
        r = lxm_error_set(err, ENOMEM, "out of memory");
    lxm_oci_config_clear(&cfg);
    for (size_t i = 0; r == 0 && i < m->n_layers; i++)
        r = apply_layer(l, &m->layers[i], i, m->n_layers, rootfs, err);
    return r;
}

static bool is_layout_dir(const char *dir)
{
    struct stat st;
    _cleanup_free_ char *marker = xasprintf("%s/oci-layout", dir);
    return marker && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && path_exists(marker);
}

static int split_plain(const char *source, char **dir, char **tag)
{
    _cleanup_free_ char *d = strdup(source);
    if (!d)
        return -ENOMEM;
    /* DIR itself, else the shortest DIR before a ':' (a tag may hold ':'). */
    const char *t = NULL;
    if (!is_layout_dir(d)) {
        for (char *colon = strchr(d, ':'); colon && !t; colon = strchr(colon + 1, ':')) {
            *colon = '\0';
            if (is_layout_dir(d))
                t = source + (colon - d) + 1;
            else
                *colon = ':';
        }
        if (!t)
            return 1;
    }
    if (t && !(*tag = strdup(t)))
        return -ENOMEM;
    *dir = TAKE_PTR(d);
    return 0;
}

int lxm_oci_split_source(const char *source, char **dir, char **tag)
{
    *dir = *tag = NULL;
    int r = split_plain(source, dir, tag);
    /* skopeo's "oci:DIR:TAG", unless a directory "oci" was meant. */
    if (r == 1 && strncmp(source, "oci:", 4) == 0)
        r = split_plain(source + 4, dir, tag);
    return r;
}

static int check_oci_layout(const struct layout *l, struct lxm_error *err)
{
    _cleanup_close_ int fd = layout_open(l, "oci-layout", err);
    if (fd < 0)
        return fd;
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = read_fd(fd, "oci-layout", &text, &len, err);
    _cleanup_json_ json_object *o = NULL;
    char label[PATH_MAX + 32];
    snprintf(label, sizeof(label), "%s/oci-layout", l->dir);
    if (r == 0)
        r = lxm_json_parse(label, text, len, &o, err);
    if (r == 0 && !lxm_jget(o, "imageLayoutVersion", json_type_string))
        r = lxm_error_set(err, EINVAL, "%s: no imageLayoutVersion", label);
    return r;
}

/* index.json, and in it the image source names (*d points into *x). */
static int load_index(const struct layout *l, const char *tag, struct lxm_oci_index *x,
                      const struct lxm_oci_desc **d, struct lxm_error *err)
{
    int r = check_oci_layout(l, err);
    if (r < 0)
        return r;
    _cleanup_close_ int fd = layout_open(l, "index.json", err);
    if (fd < 0)
        return fd;
    _cleanup_free_ char *text = NULL;
    size_t len;
    r = read_fd(fd, "index.json", &text, &len, err);
    if (r < 0)
        return r;
    char label[PATH_MAX + 32];
    snprintf(label, sizeof(label), "%s/index.json", l->dir);
    r = lxm_oci_index_parse(label, text, len, x, err);
    if (r == 0 && (r = pick_by_tag(l, x, tag, d, err)) < 0)
        lxm_oci_index_clear(x);
    return r;
}

static int unpack_layout(const struct layout *l, const char *tag, const char *source,
                         const char *rootfs, struct lxm_image_meta *meta, struct lxm_error *err)
{
    struct lxm_oci_index x;
    const struct lxm_oci_desc *d = NULL;
    int r = load_index(l, tag, &x, &d, err);
    if (r < 0)
        return r;
    struct lxm_oci_manifest m = { 0 };
    r = resolve_manifest(l, d, &m, err);
    if (r == 0)
        r = unpack_manifest(l, &m, source, rootfs, meta, err);
    lxm_oci_manifest_clear(&m);
    lxm_oci_index_clear(&x);
    return r;
}

/* Open the layout of source; 1 = source names none. */
static int open_layout(const char *source, struct layout *l, char **dir, char **tag,
                       struct lxm_error *err)
{
    int r = lxm_oci_split_source(source, dir, tag);
    if (r < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    struct stat st;
    if (r == 1 && stat(source, &st) == 0 && S_ISDIR(st.st_mode))
        return lxm_error_set(err, EINVAL, "%s is a directory but not an OCI image layout (no oci-layout file)",
                             source);
    if (r == 1)
        return 1;
    l->dir = *dir;
    l->fd = open(*dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (l->fd < 0)
        return lxm_error_errno(err, errno, "open %s", *dir);
    return 0;
}

int lxm_oci_source_id(const char *source, char hex[65], struct lxm_error *err)
{
    _cleanup_free_ char *dir = NULL, *tag = NULL;
    struct layout l = { .fd = -1 };
    int r = open_layout(source, &l, &dir, &tag, err);
    if (r != 0)
        return r;
    _cleanup_close_ int fd = l.fd;
    struct lxm_oci_index x;
    const struct lxm_oci_desc *d = NULL;
    r = load_index(&l, tag, &x, &d, err);
    if (r < 0)
        return r;
    /* The digest of what the tag names identifies the image's content,
     * wherever the layout lives. */
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, "oci:", 4);
    sha256_update(&c, d->hex, 64);
    sha256_final_hex(&c, hex);
    lxm_oci_index_clear(&x);
    return 0;
}

int lxm_oci_unpack(const char *source, const char *rootfs, struct lxm_image_meta *meta,
                   const struct lxm_report *progress, struct lxm_error *err)
{
    _cleanup_free_ char *dir = NULL, *tag = NULL;
    struct layout l = { .fd = -1, .progress = progress };
    int r = open_layout(source, &l, &dir, &tag, err);
    if (r != 0)
        return r;
    _cleanup_close_ int fd = l.fd;
    return unpack_layout(&l, tag, source, rootfs, meta, err);
}

/* ---- whiteouts ---------------------------------------------------------------------- */

struct lxm_pathset {
    char **slots;
    size_t cap, n;
};

struct lxm_pathset *lxm_pathset_new(void)
{
    struct lxm_pathset *s = calloc(1, sizeof(*s));
    if (s && !(s->slots = calloc(s->cap = 1024, sizeof(char *)))) {
        free(s);
        return NULL;
    }
    return s;
}

void lxm_pathset_free(struct lxm_pathset *s)
{
    for (size_t i = 0; s && i < s->cap; i++)
        free(s->slots[i]);
    if (s)
        free(s->slots);
    free(s);
}

static size_t hash_str(const char *p)
{
    size_t h = 1469598103934665603ULL;
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

static bool pathset_has(const struct lxm_pathset *s, const char *p)
{
    for (size_t i = hash_str(p) & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1))
        if (strcmp(s->slots[i], p) == 0)
            return true;
    return false;
}

static int pathset_add(struct lxm_pathset *s, const char *p)
{
    if (pathset_has(s, p))
        return 0;
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap * 2;
        char **slots = calloc(cap, sizeof(char *));
        if (!slots)
            return -ENOMEM;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i])
                continue;
            size_t j = hash_str(s->slots[i]) & (cap - 1);
            while (slots[j])
                j = (j + 1) & (cap - 1);
            slots[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    size_t i = hash_str(p) & (s->cap - 1);
    while (s->slots[i])
        i = (i + 1) & (s->cap - 1);
    if (!(s->slots[i] = strdup(p)))
        return -ENOMEM;
    s->n++;
    return 0;
}

/* name as plain components ("./a//b/." is "a/b", the root is "."); NULL
 * if it is absolute, has a ".." component, or on ENOMEM. */
static char *clean_path(const char *name)
{
    if (name[0] == '/')
        return NULL;
    char *out = malloc(strlen(name) + 2);
    if (!out)
        return NULL;
    size_t n = 0;
    for (const char *c = name; *c;) {
        size_t len = strcspn(c, "/");
        if (len == 2 && c[0] == '.' && c[1] == '.') {
            free(out);
            return NULL;
        }
        if (len > 0 && !(len == 1 && c[0] == '.')) {
            if (n > 0)
                out[n++] = '/';
            memcpy(out + n, c, len);
            n += len;
        }
        c += len;
        while (*c == '/')
            c++;
    }
    if (n == 0)
        out[n++] = '.';
    out[n] = '\0';
    return out;
}

/* The directory rel beneath rootfd with no symlink on the way; -ENOENT
 * when it is not there, -ELOOP/-EXDEV when a symlink or mount is. */
static int open_dir_plainly(int rootfd, const char *rel)
{
    return lxm_openat2(rootfd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY, 0,
                       RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
}

static int remove_in(int dirfd, const char *name)
{
    char path[64 + 256];
    if (strlen(name) > 255)
        return -ENAMETOOLONG;
    /* The magic link is the directory already opened without symlinks. */
    snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
    return rm_rf(path);
}

/* Remove everything in dir (rel) that this layer did not write. */
static int make_opaque(int dirfd, const char *rel, const struct lxm_pathset *layer)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    _cleanup_closedir_ DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *p = *rel ? xasprintf("%s/%s", rel, de->d_name) : strdup(de->d_name);
        if (!p)
            return -ENOMEM;
        if (pathset_has(layer, p))
            continue;
        int r = remove_in(dirfd, de->d_name);
        if (r < 0)
            return r;
    }
    return 0;
}

static int apply_whiteout(struct lxm_whiteout_state *s, int rootfd, const char *name,
                          char *path, struct lxm_error *err)
{
    char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *parent = slash ? path : "";
    if (slash)
        *slash = '\0';
    const char *target = base + 4; /* after ".wh." */
    bool opaque = strcmp(base, ".wh..wh..opq") == 0;
    if (!opaque && (!*target || strcmp(target, ".") == 0 || strcmp(target, "..") == 0))
        return lxm_error_set(err, EPERM, "%s: refusing entry '%s' (whiteout of nothing)", s->label, name);
    _cleanup_close_ int dirfd = open_dir_plainly(rootfd, parent);
    if (dirfd == -ENOENT || dirfd == -ENOTDIR)
        return LXM_ENTRY_SKIP; /* nothing below to hide */
    if (dirfd < 0)
        return lxm_error_set(err, EPERM, "%s: refusing entry '%s' (whiteout through a symlink)",
                             s->label, name);
    int r;
    if (opaque) {
        r = make_opaque(dirfd, parent, s->layer);
    } else {
        _cleanup_free_ char *p = *parent ? xasprintf("%s/%s", parent, target) : strdup(target);
        if (!p)
            return lxm_error_set(err, ENOMEM, "out of memory");
        r = pathset_has(s->layer, p) ? 0 : remove_in(dirfd, target);
    }
    if (r < 0)
        return lxm_error_errno(err, -r, "%s: apply whiteout '%s'", s->label, name);
    return LXM_ENTRY_SKIP;
}

/* A non-directory replaces a directory of a lower layer entirely. */
static int replace_lower_dir(struct lxm_whiteout_state *s, int rootfd, const char *name,
                             char *path, struct lxm_error *err)
{
    char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash)
        *slash = '\0';
    _cleanup_close_ int dirfd = open_dir_plainly(rootfd, slash ? path : "");
    if (slash)
        *slash = '/';
    if (dirfd < 0)
        return 0; /* check_entry decides about symlinks on the way */
    struct stat st;
    if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
        return 0;
    int r = remove_in(dirfd, base);
    return r < 0 ? lxm_error_errno(err, -r, "%s: replace directory '%s'", s->label, name) : 0;
}

int lxm_whiteout_filter(void *arg, struct archive *in, struct archive_entry *e, int rootfd,
                        struct lxm_error *err)
{
    (void)in;
    struct lxm_whiteout_state *s = arg;
    const char *name = archive_entry_pathname(e);
    if (!name)
        return LXM_ENTRY_EXTRACT; /* check_entry refuses it */
    _cleanup_free_ char *path = clean_path(name);
    if (!path)
        return LXM_ENTRY_EXTRACT; /* absolute, "..": check_entry refuses it by name */
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (strncmp(base, ".wh.", 4) == 0)
        return apply_whiteout(s, rootfd, name, path, err);
    if (archive_entry_filetype(e) != AE_IFDIR && strcmp(path, ".") == 0)
        return lxm_error_set(err, EPERM, "%s: refusing entry '%s' (the top of a layer must be a directory)",
                             s->label, name);
    if (archive_entry_filetype(e) != AE_IFDIR) {
        int r = replace_lower_dir(s, rootfd, name, path, err);
        if (r < 0)
            return r;
    }
    if (pathset_add(s->layer, path) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return LXM_ENTRY_EXTRACT;
}

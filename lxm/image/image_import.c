/* Readers for every image format lxm imports: which format a source is,
 * the tar based ones (lxm export, plain rootfs, LXC/Incus unified and
 * split), and their YAML metadata. OCI layouts are in image_oci.c,
 * squashfs in image_sqfs.c; every tree goes through
 * lxm_image_extract_archive() and so through one set of entry checks. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/image_import-internal.h"
#include "util/lazy-archive.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/sha256.h"
#include "config/ydoc.h"


void lxm_image_meta_clear(struct lxm_image_meta *m)
{
    free(m->format);
    free(m->template_name);
    free(m->release);
    free(m->arch);
    free(m->description);
    memset(m, 0, sizeof(*m));
}

/* ---- small parsers ------------------------------------------------------------------- */

int64_t lxm_rfc3339_parse(const char *s)
{
    struct tm tm = { 0 };
    const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!p)
        return -1;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    int64_t offset = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        offset = 0;
    } else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
               isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
               isdigit((unsigned char)p[5]) && p[6] == '\0') {
        offset = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
        if (*p == '-')
            offset = -offset;
    } else {
        return -1;
    }
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? -1 : (int64_t)t - offset;
}

const char *lxm_arch_to_debian(const char *arch, const char *variant)
{
    static const struct { const char *from, *debian; } map[] = {
        { "x86_64", "amd64" },   { "aarch64", "arm64" },   { "386", "i386" },
        { "i686", "i386" },      { "ppc64le", "ppc64el" }, { "armv7l", "armhf" },
        { "mips64le", "mips64el" },
    };
    if (!arch)
        return NULL;
    if (strcmp(arch, "arm") == 0)
        return variant && (strcmp(variant, "v5") == 0 || strcmp(variant, "v6") == 0) ? "armel"
                                                                                        : "armhf";
    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (strcmp(arch, map[i].from) == 0)
            return map[i].debian;
    return arch;
}

static const struct lxm_ynode *ymap_get(const struct lxm_ynode *map, const char *key)
{
    if (!map || map->type != LXM_YAML_MAP)
        return NULL;
    for (size_t i = 0; i + 1 < map->count; i += 2)
        if (map->items[i]->type == LXM_YAML_SCALAR && strcmp(map->items[i]->value, key) == 0)
            return map->items[i + 1];
    return NULL;
}

/* Copy a scalar (not null) into *field; other node kinds are an error. */
static int take_scalar(const char *label, const struct lxm_ynode *n, const char *key, char **field,
                       struct lxm_error *err)
{
    if (!n || lxm_ynode_is_null(n))
        return 0;
    if (n->type != LXM_YAML_SCALAR)
        return lxm_error_set(err, EINVAL, "%s:%d:%d: %s: expected a string, got %s", label, n->line,
                             n->col, key, lxm_ynode_kind(n));
    char *v = strdup(n->value);
    if (!v)
        return lxm_error_set(err, ENOMEM, "out of memory");
    free(*field);
    *field = v;
    return 0;
}

static int load_top_map(const char *label, const char *text, size_t len, struct lxm_ynode **out,
                        struct lxm_error *err)
{
    _cleanup_ynode_ struct lxm_ynode *root = NULL;
    int r = lxm_yaml_load(label, text, len, &root, err);
    if (r < 0)
        return r;
    if (root->type != LXM_YAML_MAP)
        return lxm_error_set(err, EINVAL, "%s:%d:%d: expected a map at the top, got %s", label,
                             root->line, root->col, lxm_ynode_kind(root));
    *out = TAKE_PTR(root);
    return 0;
}

static void lowercase(char *s)
{
    for (; s && *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static int set_arch(struct lxm_image_meta *meta, char *raw, const char *variant)
{
    const char *deb = lxm_arch_to_debian(raw, variant);
    char *v = deb ? strdup(deb) : NULL;
    free(raw);
    if (deb && !v)
        return -ENOMEM;
    free(meta->arch);
    meta->arch = v;
    return 0;
}

int lxm_lxc_metadata_parse(const char *label, const char *text, size_t len,
                           struct lxm_image_meta *meta, struct lxm_error *err)
{
    _cleanup_ynode_ struct lxm_ynode *root = NULL;
    int r = load_top_map(label, text, len, &root, err);
    if (r < 0)
        return r;
    const struct lxm_ynode *props = ymap_get(root, "properties");
    if (props && !lxm_ynode_is_null(props) && props->type != LXM_YAML_MAP)
        return lxm_error_set(err, EINVAL, "%s:%d:%d: properties: expected a map, got %s", label,
                             props->line, props->col, lxm_ynode_kind(props));
    char *arch = NULL;
    r = take_scalar(label, ymap_get(root, "architecture"), "architecture", &arch, err);
    if (r == 0 && !arch)
        r = take_scalar(label, ymap_get(props, "architecture"), "properties.architecture", &arch, err);
    if (r == 0 && set_arch(meta, arch, NULL) < 0)
        r = lxm_error_set(err, ENOMEM, "out of memory");
    if (r == 0)
        r = take_scalar(label, ymap_get(props, "os"), "properties.os", &meta->template_name, err);
    if (r == 0)
        r = take_scalar(label, ymap_get(props, "release"), "properties.release", &meta->release, err);
    if (r == 0)
        r = take_scalar(label, ymap_get(props, "description"), "properties.description",
                        &meta->description, err);
    if (r < 0)
        return r;
    lowercase(meta->template_name);
    const struct lxm_ynode *date = ymap_get(root, "creation_date");
    if (date && !lxm_ynode_is_null(date)) {
        char *end = NULL;
        errno = 0;
        long long v = date->type == LXM_YAML_SCALAR ? strtoll(date->value, &end, 10) : -1;
        if (date->type != LXM_YAML_SCALAR || errno || !end || *end || end == date->value || v < 0)
            return lxm_error_set(err, EINVAL, "%s:%d:%d: creation_date: expected unix seconds",
                                 label, date->line, date->col);
        meta->created = v;
    }
    return 0;
}

int lxm_export_config_meta(const char *label, const char *text, size_t len,
                           struct lxm_image_meta *meta, struct lxm_error *err)
{
    _cleanup_ynode_ struct lxm_ynode *root = NULL;
    int r = load_top_map(label, text, len, &root, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *created = NULL;
    r = take_scalar(label, ymap_get(root, "template"), "template", &meta->template_name, err);
    if (r == 0)
        r = take_scalar(label, ymap_get(root, "release"), "release", &meta->release, err);
    if (r == 0)
        r = take_scalar(label, ymap_get(root, "arch"), "arch", &meta->arch, err);
    if (r == 0)
        r = take_scalar(label, ymap_get(root, "created"), "created", &created, err);
    if (r < 0)
        return r;
    int64_t t = created ? lxm_rfc3339_parse(created) : 0;
    meta->created = t > 0 ? t : 0;
    return 0;
}

/* ---- which tar based format ---------------------------------------------------------- */

enum tar_kind { TAR_PLAIN, TAR_LXM_EXPORT, TAR_LXC_UNIFIED, TAR_LXC_METADATA };

/* The entry's path without "./" prefixes and trailing slashes, in buf
 * ("." for the top itself); NULL when it does not fit (PATH_MAX: no
 * filesystem takes it). */
static const char *normalize(const char *name, char *buf, size_t size)
{
    while (name[0] == '.' && name[1] == '/')
        for (name += 2; *name == '/'; name++)
            ;
    size_t n = strlen(name);
    while (n > 1 && name[n - 1] == '/')
        n--;
    if (n >= size)
        return NULL;
    if (n == 0)
        return ".";
    memcpy(buf, name, n);
    buf[n] = '\0';
    return buf;
}

static bool top_is(const char *path, const char *top)
{
    size_t n = strlen(top);
    return strncmp(path, top, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Look at the top-level names only, stopping as soon as they tell. */
static int classify_tar(const char *file, enum tar_kind *kind, struct lxm_error *err)
{
    _cleanup_close_ int fd = -1;
    _cleanup_archive_read_ struct archive *in = NULL;
    int64_t size;
    int r = lxm_tar_open(file, &fd, &in, &size, err);
    if (r < 0)
        return r;
    bool config = false, metadata = false, rootfs = false;
    for (;;) {
        struct archive_entry *e;
        r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return lxm_error_set(err, EINVAL, "%s: not a tarball lxm can read (%s)", file,
                                 archive_error_string(in));
        char buf[PATH_MAX];
        const char *p = normalize(archive_entry_pathname(e) ? archive_entry_pathname(e) : "", buf,
                                  sizeof(buf));
        if (!p)
            break; /* a name that long is no format's: extraction refuses it */
        if (strcmp(p, "config.yaml") == 0)
            config = true;
        else if (strcmp(p, "metadata.yaml") == 0)
            metadata = true;
        else if (top_is(p, "rootfs"))
            rootfs = true;
        else if (!top_is(p, "templates") && strcmp(p, ".") != 0) {
            *kind = TAR_PLAIN;
            return 0;
        }
        if (rootfs && (config || metadata))
            break;
    }
    *kind = rootfs && metadata  ? TAR_LXC_UNIFIED
            : rootfs && config  ? TAR_LXM_EXPORT
            : metadata          ? TAR_LXC_METADATA
                                : TAR_PLAIN;
    return 0;
}

/* ---- tar based formats --------------------------------------------------------------- */

struct strip_state {
    const char *label;
    const char *strip;        /* keep only entries below this top-level dir, without it */
    const char *capture;      /* a top-level file to keep in memory */
    char *captured;
    size_t captured_len;
};

static int capture_data(struct strip_state *s, struct archive *in, struct archive_entry *e,
                        struct lxm_error *err)
{
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_size(e) > LXM_IMAGE_META_MAX)
        return lxm_error_set(err, EINVAL, "%s: %s is not a regular file of at most %d bytes",
                             s->label, s->capture, LXM_IMAGE_META_MAX);
    size_t size = (size_t)archive_entry_size(e);
    char *buf = malloc(size + 1);
    if (!buf)
        return lxm_error_set(err, ENOMEM, "out of memory");
    la_ssize_t n = size ? archive_read_data(in, buf, size) : 0;
    if (n != (la_ssize_t)size) {
        free(buf);
        return lxm_error_set(err, EIO, "read %s: %s: %s", s->label, s->capture,
                             n < 0 ? archive_error_string(in) : "short read");
    }
    buf[size] = '\0';
    free(s->captured);
    s->captured = buf;
    s->captured_len = size;
    return LXM_ENTRY_SKIP;
}

static bool has_dotdot(const char *p)
{
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p += n;
        while (*p == '/')
            p++;
    }
    return false;
}

/* Replace the entry's path (and hard link target) by what follows
 * strip/; everything outside strip/ is skipped, capture kept. */
static int strip_filter(void *arg, struct archive *in, struct archive_entry *e, int rootfd,
                        struct lxm_error *err)
{
    struct strip_state *s = arg;
    char buf[PATH_MAX];
    const char *name = archive_entry_pathname(e);
    if (!name)
        return LXM_ENTRY_EXTRACT; /* check_entry refuses it */
    const char *p = normalize(name, buf, sizeof(buf));
    if (!p)
        return lxm_error_set(err, EPERM, "%s: refusing entry '%.200s...' (path too long)", s->label, name);
    /* Absolute and ".." paths stay as they are: check_entry refuses them
     * by their name, wherever they point. */
    if (p[0] == '/' || has_dotdot(p))
        return LXM_ENTRY_EXTRACT;
    if (!top_is(p, s->strip)) {
        if (s->capture && strcmp(p, s->capture) == 0)
            return capture_data(s, in, e, err);
        lxm_debug("%s: skipping '%s' (outside %s/)", s->label, name, s->strip);
        return LXM_ENTRY_SKIP;
    }
    const char *rest = p + strlen(s->strip);
    if (!*rest && archive_entry_filetype(e) != AE_IFDIR)
        return lxm_error_set(err, EPERM, "%s: refusing entry '%s' (%s/ must be a directory)",
                             s->label, name, s->strip);
    _cleanup_free_ char *path = strdup(*rest ? rest + 1 : ".");
    if (!path)
        return lxm_error_set(err, ENOMEM, "out of memory");
    const char *link = archive_entry_hardlink(e);
    if (link) {
        char lbuf[PATH_MAX];
        const char *l = normalize(link, lbuf, sizeof(lbuf));
        if (!l || !top_is(l, s->strip) || !l[strlen(s->strip)])
            return lxm_error_set(err, EPERM, "%s: refusing entry '%s' (hard link outside %s/)",
                                 s->label, name, s->strip);
        _cleanup_free_ char *target = strdup(l + strlen(s->strip) + 1);
        if (!target)
            return lxm_error_set(err, ENOMEM, "out of memory");
        archive_entry_set_hardlink(e, target);
    }
    archive_entry_set_pathname(e, path);
    return LXM_ENTRY_EXTRACT;
}

/* The rootfs/ of an lxm export or an LXC unified tarball, with the
 * metadata file (capture) read on the way. */
static int unpack_stripped(const char *file, const char *capture, const char *rootfs,
                           const struct lxm_report *progress, char **meta_text, size_t *meta_len,
                           struct lxm_error *err)
{
    _cleanup_close_ int fd = -1;
    _cleanup_archive_read_ struct archive *in = NULL;
    int64_t size;
    int r = lxm_tar_open(file, &fd, &in, &size, err);
    if (r < 0)
        return r;
    struct strip_state s = { .label = file, .strip = "rootfs", .capture = capture };
    r = lxm_image_extract_archive(in, file, rootfs, strip_filter, &s, progress, size, err);
    if (r == 0 && !s.captured)
        r = lxm_error_set(err, EINVAL, "%s: no %s", file, capture);
    if (r < 0) {
        free(s.captured);
        return r;
    }
    *meta_text = s.captured;
    *meta_len = s.captured_len;
    return 0;
}

int lxm_lxc_config_meta(const char *text, struct lxm_image_meta *meta)
{
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n");
        const char *p = line + strspn(line, " \t");
        line += len + (line[len] == '\n');
        if (strncmp(p, "lxc.arch", 8) != 0)
            continue;
        p += 8 + strspn(p + 8, " \t");
        if (*p != '=')
            continue;
        p += 1 + strspn(p + 1, " \t");
        size_t n = strcspn(p, " \t\r\n#");
        if (n == 0 || n > 32)
            continue;
        char *raw = strndup(p, n);
        if (!raw || set_arch(meta, raw, NULL) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* The metadata of a split image's metadata tarball (nothing extracted):
 * Incus/LXD's metadata.yaml, or the "config" of LXC's download images
 * (meta.tar.xz: config, templates, expiry...), which says only the arch. */
static int read_metadata_tarball(const char *file, struct lxm_image_meta *meta,
                                 struct lxm_error *err)
{
    _cleanup_close_ int fd = -1;
    _cleanup_archive_read_ struct archive *in = NULL;
    int64_t size;
    int r = lxm_tar_open(file, &fd, &in, &size, err);
    if (r < 0)
        return r;
    struct strip_state yaml = { .label = file, .capture = "metadata.yaml" };
    struct strip_state config = { .label = file, .capture = "config" };
    while (!yaml.captured) {
        struct archive_entry *e;
        r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            r = lxm_error_set(err, EIO, "read %s: %s", file, archive_error_string(in));
        char buf[PATH_MAX];
        const char *name = r < 0 ? NULL : archive_entry_pathname(e);
        const char *p = name ? normalize(name, buf, sizeof(buf)) : NULL;
        if (p && strcmp(p, "metadata.yaml") == 0)
            r = capture_data(&yaml, in, e, err);
        else if (p && strcmp(p, "config") == 0)
            r = capture_data(&config, in, e, err);
        if (r < 0)
            break;
    }
    _cleanup_free_ char *text = yaml.captured, *lxc = config.captured;
    if (r < 0)
        return r;
    if (!text && lxc)
        return lxm_lxc_config_meta(lxc, meta) < 0 ? lxm_error_set(err, ENOMEM, "out of memory") : 0;
    if (!text)
        return lxm_error_set(err, EINVAL,
                             "%s: no metadata.yaml or config (not an LXC image metadata tarball)", file);
    _cleanup_free_ char *label = xasprintf("%s:metadata.yaml", file);
    return lxm_lxc_metadata_parse(label ? label : file, text, yaml.captured_len, meta, err);
}

static int unpack_plain(const char *file, const char *rootfs, const struct lxm_report *progress,
                        struct lxm_error *err)
{
    if (lxm_is_squashfs(file)) {
        _cleanup_archive_read_ struct archive *in = lxm_sqfs_open_as_tar(file, err);
        if (!in)
            return -(err->code ? err->code : EINVAL);
        return lxm_image_extract_archive(in, file, rootfs, NULL, NULL, progress, 0, err);
    }
    return lxm_image_extract(file, rootfs, progress, err);
}

static int unpack_tar_kind(const char *source, enum tar_kind kind, const char *rootfs,
                           struct lxm_image_meta *meta, const struct lxm_report *progress,
                           struct lxm_error *err)
{
    if (kind == TAR_PLAIN)
        return unpack_plain(source, rootfs, progress, err);
    if (kind == TAR_LXC_METADATA)
        return lxm_error_set(err, EINVAL,
                             "%s is the metadata half of a split LXC image: its root filesystem "
                             "(rootfs.squashfs or a rootfs tarball) must be given too",
                             source);
    bool unified = kind == TAR_LXC_UNIFIED;
    const char *name = unified ? "metadata.yaml" : "config.yaml";
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = unpack_stripped(source, name, rootfs, progress, &text, &len, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *label = xasprintf("%s:%s", source, name);
    if (!label)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return unified ? lxm_lxc_metadata_parse(label, text, len, meta, err)
                   : lxm_export_config_meta(label, text, len, meta, err);
}

static int set_format(struct lxm_image_meta *meta, const char *format, struct lxm_error *err)
{
    free(meta->format);
    meta->format = strdup(format);
    return meta->format ? 0 : lxm_error_set(err, ENOMEM, "out of memory");
}

static int unpack_split(const char *source, const char *extra, const char *rootfs,
                        struct lxm_image_meta *meta, const struct lxm_report *progress,
                        struct lxm_error *err)
{
    int r = read_metadata_tarball(source, meta, err);
    if (r < 0)
        return r;
    if (access(extra, R_OK) < 0)
        return lxm_error_errno(err, errno, "%s", extra);
    r = unpack_plain(extra, rootfs, progress, err);
    return r < 0 ? r : set_format(meta, "lxc-split", err);
}

int lxm_image_unpack_any(const char *source, const char *extra, const char *rootfs,
                         struct lxm_image_meta *meta, const struct lxm_report *progress,
                         struct lxm_error *err)
{
    static const char *const formats[] = {
        [TAR_PLAIN] = "rootfs", [TAR_LXM_EXPORT] = "lxm-export",
        [TAR_LXC_UNIFIED] = "lxc-unified", [TAR_LXC_METADATA] = "lxc-split",
    };
    memset(meta, 0, sizeof(*meta));
    int r;
    if (extra) {
        r = unpack_split(source, extra, rootfs, meta, progress, err);
    } else if ((r = lxm_oci_unpack(source, rootfs, meta, progress, err)) == 1) {
        enum tar_kind kind = TAR_PLAIN;
        struct stat st;
        if (stat(source, &st) < 0)
            return lxm_error_errno(err, errno, "%s", source);
        r = lxm_is_squashfs(source) ? 0 : classify_tar(source, &kind, err);
        if (r == 0 && lxm_is_squashfs(source))
            kind = TAR_PLAIN;
        if (r == 0)
            r = unpack_tar_kind(source, kind, rootfs, meta, progress, err);
        if (r == 0)
            r = set_format(meta, formats[kind], err);
    } else if (r == 0) {
        r = set_format(meta, "oci", err);
    }
    if (r < 0)
        lxm_image_meta_clear(meta);
    return r;
}

int lxm_image_source_access(const char *source)
{
    _cleanup_free_ char *dir = NULL, *tag = NULL;
    int r = lxm_oci_split_source(source, &dir, &tag);
    if (r < 0)
        return r;
    return access(r == 0 ? dir : source, R_OK) < 0 ? -errno : 0;
}

int lxm_image_source_id(const char *source, const char *extra, char hex[65],
                        struct lxm_error *err)
{
    int r = extra ? 1 : lxm_oci_source_id(source, hex, err);
    if (r <= 0)
        return r;
    char a[65], b[65];
    if ((r = sha256_file(source, a)) < 0)
        return lxm_error_errno(err, -r, "read %s", source);
    if (!extra) {
        memcpy(hex, a, sizeof(a));
        return 0;
    }
    if ((r = sha256_file(extra, b)) < 0)
        return lxm_error_errno(err, -r, "read %s", extra);
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, "split:", 6);
    sha256_update(&c, a, 64);
    sha256_update(&c, b, 64);
    sha256_final_hex(&c, hex);
    return 0;
}

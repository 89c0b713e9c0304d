/* A squashfs image read with libsquashfs (never mounted) and presented as
 * a libarchive reader of a tar stream of its tree. The stream is made on
 * demand, one entry at a time, as the reader asks for bytes: nothing is
 * staged on disk, and every entry then takes exactly the path of a tarball
 * entry through lxm_image_extract_archive() and its checks. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "image/image_import-internal.h"
#include "util/lazy-archive.h"
#include "image/lazy-image.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define CHUNK (128 << 10)

bool lxm_is_squashfs(const char *path)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    char magic[4];
    return fd >= 0 && read(fd, magic, 4) == 4 && memcmp(magic, "hsqs", 4) == 0;
}

/* Inode number -> first path, for files with more than one link. */
struct link_seen {
    sqfs_u32 inode;
    char *path;
};

struct sqfs_gen {
    char *path;
    sqfs_file_t *file;
    sqfs_compressor_t *cmp;
    sqfs_id_table_t *ids;
    sqfs_dir_reader_t *dirs;
    sqfs_data_reader_t *data;
    sqfs_xattr_reader_t *xattrs;
    sqfs_tree_node_t *root;
    sqfs_super_t super;
    sqfs_u64 kv_start;        /* where the xattr key/value pairs begin */

    struct archive *w;        /* tar writer into buf */
    char *buf;
    size_t len, cap;
    const sqfs_tree_node_t *node; /* next node to emit, depth first */
    const sqfs_tree_node_t *cur;  /* regular file whose data is being written */
    sqfs_u64 cur_off, cur_size;
    char *chunk;
    struct link_seen *links;
    size_t n_links;
    bool closed, eof;
};

static void gen_free(struct sqfs_gen *g)
{
    if (g->w)
        archive_write_free(g->w);
    if (g->root)
        sqfs_dir_tree_destroy(g->root);
    sqfs_destroy(g->xattrs);
    sqfs_destroy(g->data);
    sqfs_destroy(g->dirs);
    sqfs_destroy(g->ids);
    sqfs_destroy(g->cmp);
    sqfs_destroy(g->file);
    for (size_t i = 0; i < g->n_links; i++)
        free(g->links[i].path);
    free(g->links);
    free(g->chunk);
    free(g->buf);
    free(g->path);
    free(g);
}

static la_ssize_t buf_write(struct archive *a, void *arg, const void *data, size_t n)
{
    struct sqfs_gen *g = arg;
    if (g->len + n > g->cap) {
        size_t cap = (g->len + n) * 2;
        char *b = realloc(g->buf, cap);
        if (!b) {
            archive_set_error(a, ENOMEM, "out of memory");
            return -1;
        }
        g->buf = b;
        g->cap = cap;
    }
    memcpy(g->buf + g->len, data, n);
    g->len += n;
    return (la_ssize_t)n;
}

static const char *sqfs_why(int code)
{
    switch (code) {
    case SQFS_ERROR_ALLOC: return "out of memory";
    case SQFS_ERROR_IO: return "I/O error";
    case SQFS_ERROR_COMPRESSOR: return "decompression failed";
    case SFQS_ERROR_SUPER_MAGIC: /* sic: libsquashfs 1.2 spells these SFQS_ */ return "not a squashfs image";
    case SFQS_ERROR_SUPER_VERSION: return "unsupported squashfs version";
    case SQFS_ERROR_SUPER_BLOCK_SIZE: return "bad block size";
    case SQFS_ERROR_UNSUPPORTED: return "unsupported compressor or feature";
    case SQFS_ERROR_OUT_OF_BOUNDS: return "a reference points outside the image";
    case SQFS_ERROR_LINK_LOOP: return "a directory loop";
    default: return "corrupt image";
    }
}

/* libsquashfs allocates the fragment and xattr id tables from the counts
 * an image claims before it reads them: refuse counts the file cannot
 * hold (each entry stands for at least one byte of it), so a 4 KiB image
 * cannot ask for gigabytes. */
static int check_counts(struct sqfs_gen *g, struct lxm_error *err)
{
    struct stat st;
    if (stat(g->path, &st) < 0)
        return lxm_error_errno(err, errno, "stat %s", g->path);
    const sqfs_super_t *s = &g->super;
    if (s->bytes_used > (sqfs_u64)st.st_size)
        return lxm_error_set(err, EINVAL, "%s: truncated (its superblock says %llu bytes, the file has %lld)",
                             g->path, (unsigned long long)s->bytes_used, (long long)st.st_size);
    if (s->fragment_entry_count > s->bytes_used)
        return lxm_error_set(err, EINVAL, "%s: corrupt image (%u fragments in %llu bytes)", g->path,
                             s->fragment_entry_count, (unsigned long long)s->bytes_used);
    if (s->xattr_id_table_start == 0xFFFFFFFFFFFFFFFFULL || (s->flags & SQFS_FLAG_NO_XATTRS))
        return 0;
    _cleanup_close_ int fd = open(g->path, O_RDONLY | O_CLOEXEC);
    unsigned char hdr[16];
    if (fd < 0 || pread(fd, hdr, sizeof(hdr), (off_t)s->xattr_id_table_start) != (ssize_t)sizeof(hdr))
        return lxm_error_set(err, EINVAL, "%s: corrupt image (no xattr table)", g->path);
    for (int i = 7; i >= 0; i--)
        g->kv_start = g->kv_start << 8 | hdr[i];
    sqfs_u32 count = (sqfs_u32)hdr[8] | (sqfs_u32)hdr[9] << 8 | (sqfs_u32)hdr[10] << 16 |
                     (sqfs_u32)hdr[11] << 24;
    if (count > s->bytes_used)
        return lxm_error_set(err, EINVAL, "%s: corrupt image (%u xattr sets in %llu bytes)", g->path,
                             count, (unsigned long long)s->bytes_used);
    return 0;
}

static int open_parts(struct sqfs_gen *g, struct lxm_error *err)
{
    g->file = sqfs_open_file(g->path, SQFS_FILE_OPEN_READ_ONLY);
    if (!g->file)
        return lxm_error_errno(err, errno ? errno : EIO, "open %s", g->path);
    int r = sqfs_super_read(&g->super, g->file);
    if (r)
        return lxm_error_set(err, EINVAL, "%s: %s", g->path, sqfs_why(r));
    r = check_counts(g, err);
    if (r < 0)
        return r;
    sqfs_compressor_config_t cfg;
    r = sqfs_compressor_config_init(&cfg, (SQFS_COMPRESSOR)g->super.compression_id,
                                    g->super.block_size, SQFS_COMP_FLAG_UNCOMPRESS);
    if (r == 0)
        r = sqfs_compressor_create(&cfg, &g->cmp);
    if (r)
        return lxm_error_set(err, EINVAL, "%s: compressor %u: %s", g->path,
                             g->super.compression_id, sqfs_why(r));
    g->ids = sqfs_id_table_create(0);
    g->dirs = sqfs_dir_reader_create(&g->super, g->cmp, g->file, 0);
    g->data = sqfs_data_reader_create(g->file, g->super.block_size, g->cmp, 0);
    g->xattrs = sqfs_xattr_reader_create(0);
    g->chunk = malloc(CHUNK);
    if (!g->ids || !g->dirs || !g->data || !g->xattrs || !g->chunk)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if ((r = sqfs_id_table_read(g->ids, g->file, &g->super, g->cmp)) ||
        (r = sqfs_data_reader_load_fragment_table(g->data, &g->super)) ||
        (r = sqfs_xattr_reader_load(g->xattrs, &g->super, g->file, g->cmp)) ||
        (r = sqfs_dir_reader_get_full_hierarchy(g->dirs, g->ids, NULL, 0, &g->root)))
        return lxm_error_set(err, EINVAL, "%s: %s", g->path, sqfs_why(r));
    return 0;
}

static const sqfs_tree_node_t *next_node(const sqfs_tree_node_t *n)
{
    if (n->children)
        return n->children;
    for (; n; n = n->parent)
        if (n->next)
            return n->next;
    return NULL;
}

static sqfs_u32 nlink_of(const sqfs_inode_generic_t *in)
{
    switch (in->base.type) {
    case SQFS_INODE_FILE: return 1;
    case SQFS_INODE_EXT_FILE: return in->data.file_ext.nlink;
    default: return 1;
    }
}

/* A little-endian integer of n (<= 8) bytes from the metadata stream. */
static int read_le(sqfs_meta_reader_t *m, size_t n, sqfs_u64 *out)
{
    unsigned char b[8];
    int r = sqfs_meta_reader_read(m, b, n);
    *out = 0;
    for (size_t i = n; r == 0 && i > 0; i--)
        *out = *out << 8 | b[i - 1];
    return r;
}

static int skip_bytes(sqfs_meta_reader_t *m, sqfs_u64 n)
{
    char buf[256];
    int r = 0;
    while (r == 0 && n > 0) {
        size_t k = n > sizeof(buf) ? sizeof(buf) : (size_t)n;
        r = sqfs_meta_reader_read(m, buf, k);
        n -= k;
    }
    return r;
}

/* An out-of-line value: inline stands its 8-byte address; the size is
 * read there, and the reader comes back to where it was. */
static int ool_value_size(struct sqfs_gen *g, sqfs_meta_reader_t *m, sqfs_u64 *size)
{
    sqfs_u64 inline_size, ref, block;
    size_t offset;
    int r = read_le(m, 4, &inline_size);
    if (r == 0 && inline_size != 8)
        r = SQFS_ERROR_CORRUPTED;
    if (r == 0)
        r = read_le(m, 8, &ref);
    if (r)
        return r;
    sqfs_meta_reader_get_position(m, &block, &offset);
    r = sqfs_meta_reader_seek(m, g->kv_start + (ref >> 16), ref & 0xFFFF);
    if (r == 0)
        r = read_le(m, 4, size);
    return r ? r : sqfs_meta_reader_seek(m, block, offset);
}

/* libsquashfs allocates an xattr value of whatever size the image claims
 * before it reads it: walk the set with a reader of our own first and
 * refuse a value larger than Linux allows (XATTR_SIZE_MAX, 64 KiB). */
static int check_xattr_sizes(struct sqfs_gen *g, const sqfs_xattr_id_t *desc)
{
    sqfs_meta_reader_t *m = sqfs_meta_reader_create(g->file, g->cmp, g->kv_start,
                                                    g->super.bytes_used);
    if (!m)
        return SQFS_ERROR_ALLOC;
    int r = sqfs_meta_reader_seek(m, g->kv_start + (desc->xattr >> 16), desc->xattr & 0xFFFF);
    for (sqfs_u32 i = 0; r == 0 && i < desc->count; i++) {
        sqfs_u64 type, len, size;
        if ((r = read_le(m, 2, &type)) || (r = read_le(m, 2, &len)) || (r = skip_bytes(m, len)))
            break;
        bool ool = (type & SQFS_XATTR_FLAG_OOL) != 0;
        r = ool ? ool_value_size(g, m, &size) : read_le(m, 4, &size);
        if (r == 0 && size > 65536)
            r = SQFS_ERROR_CORRUPTED;
        if (r == 0 && !ool)
            r = skip_bytes(m, size);
    }
    sqfs_destroy(m);
    return r;
}

static int add_xattrs(struct sqfs_gen *g, const sqfs_inode_generic_t *in, struct archive_entry *e)
{
    sqfs_u32 idx;
    sqfs_xattr_id_t desc;
    if (sqfs_inode_get_xattr_index(in, &idx) || idx == 0xFFFFFFFF)
        return 0;
    int r = sqfs_xattr_reader_get_desc(g->xattrs, idx, &desc);
    if (r == 0)
        r = check_xattr_sizes(g, &desc);
    if (r == 0)
        r = sqfs_xattr_reader_seek_kv(g->xattrs, &desc);
    for (sqfs_u32 i = 0; r == 0 && i < desc.count; i++) {
        sqfs_xattr_entry_t *key = NULL;
        sqfs_xattr_value_t *val = NULL;
        r = sqfs_xattr_reader_read_key(g->xattrs, &key);
        if (r == 0)
            r = sqfs_xattr_reader_read_value(g->xattrs, key, &val);
        const char *prefix = r == 0 ? sqfs_get_xattr_prefix(key->type & SQFS_XATTR_PREFIX_MASK) : NULL;
        if (r == 0 && prefix) {
            /* libsquashfs hands out the key with its prefix ("user.x")
             * and NUL-terminated; be ready for one without. */
            const char *k = (const char *)key->key;
            _cleanup_free_ char *name = strncmp(k, prefix, strlen(prefix)) == 0
                                            ? strndup(k, strlen(prefix) + key->size)
                                            : xasprintf("%s%.*s", prefix, (int)key->size, k);
            if (name)
                archive_entry_xattr_add_entry(e, name, val->value, val->size);
        }
        sqfs_free(key);
        sqfs_free(val);
    }
    return r;
}

/* A hard link to an earlier path, or remember this one for later links. */
static int link_or_remember(struct sqfs_gen *g, const sqfs_inode_generic_t *in, const char *path,
                            struct archive_entry *e, bool *is_link)
{
    *is_link = false;
    if (nlink_of(in) < 2)
        return 0;
    for (size_t i = 0; i < g->n_links; i++)
        if (g->links[i].inode == in->base.inode_number) {
            archive_entry_set_hardlink(e, g->links[i].path);
            archive_entry_set_size(e, 0);
            *is_link = true;
            return 0;
        }
    struct link_seen *l = realloc(g->links, (g->n_links + 1) * sizeof(*l));
    if (!l)
        return -ENOMEM;
    g->links = l;
    if (!(l[g->n_links].path = strdup(path)))
        return -ENOMEM;
    l[g->n_links++].inode = in->base.inode_number;
    return 0;
}

static int fill_entry(struct sqfs_gen *g, const sqfs_tree_node_t *n, const char *path,
                      struct archive_entry *e, bool *has_data)
{
    const sqfs_inode_generic_t *in = n->inode;
    archive_entry_set_pathname(e, path);
    archive_entry_set_mode(e, in->base.mode);
    archive_entry_set_uid(e, n->uid);
    archive_entry_set_gid(e, n->gid);
    archive_entry_set_mtime(e, in->base.mod_time, 0);
    *has_data = false;
    switch (in->base.type) {
    case SQFS_INODE_SLINK:
    case SQFS_INODE_EXT_SLINK: {
        _cleanup_free_ char *target = strndup((const char *)in->extra, in->data.slink.target_size);
        if (!target)
            return -ENOMEM;
        archive_entry_set_symlink(e, target);
        break;
    }
    case SQFS_INODE_BDEV: case SQFS_INODE_CDEV:
    case SQFS_INODE_EXT_BDEV: case SQFS_INODE_EXT_CDEV: {
        sqfs_u32 d = in->base.type < SQFS_INODE_EXT_DIR ? in->data.dev.devno : in->data.dev_ext.devno;
        archive_entry_set_rdev(e, makedev((d & 0xfff00) >> 8, (d & 0xff) | ((d >> 12) & 0xfff00)));
        break;
    }
    case SQFS_INODE_FILE:
    case SQFS_INODE_EXT_FILE: {
        sqfs_u64 size = 0;
        bool link;
        if (sqfs_inode_get_file_size(in, &size) || link_or_remember(g, in, path, e, &link) < 0)
            return -EINVAL;
        if (!link) {
            archive_entry_set_size(e, (la_int64_t)size);
            g->cur_size = size;
            *has_data = size > 0;
        }
        break;
    }
    default: break;
    }
    return add_xattrs(g, in, e) ? -EINVAL : 0;
}

/* Emit the header of the next node (and open its data), or close. */
static int emit_next(struct archive *a, struct sqfs_gen *g)
{
    if (!g->node) {
        g->closed = true;
        return archive_write_close(g->w) == ARCHIVE_OK ? 0 : -1;
    }
    const sqfs_tree_node_t *n = g->node;
    g->node = next_node(n);
    char *abs = NULL;
    if (sqfs_tree_node_get_path(n, &abs)) {
        archive_set_error(a, EINVAL, "%s: corrupt directory entry", g->path);
        return -1;
    }
    _cleanup_free_ char *path = xasprintf(".%s", abs);
    sqfs_free(abs);
    _cleanup_archive_entry_ struct archive_entry *e = archive_entry_new();
    bool has_data = false;
    if (!path || !e || fill_entry(g, n, path, e, &has_data) < 0) {
        archive_set_error(a, EINVAL, "%s: cannot read '%s'", g->path, path ? path : "?");
        return -1;
    }
    if (archive_write_header(g->w, e) < ARCHIVE_WARN) {
        archive_set_error(a, EIO, "%s: %s", path, archive_error_string(g->w));
        return -1;
    }
    g->cur = has_data ? n : NULL;
    g->cur_off = 0;
    return 0;
}

static int emit_data(struct archive *a, struct sqfs_gen *g)
{
    sqfs_u64 left = g->cur_size - g->cur_off;
    size_t want = left < CHUNK ? (size_t)left : CHUNK;
    sqfs_s32 got = sqfs_data_reader_read(g->data, g->cur->inode, g->cur_off, g->chunk, (sqfs_u32)want);
    if (got <= 0) {
        archive_set_error(a, EIO, "%s: %s: %s", g->path, (const char *)g->cur->name,
                          got < 0 ? sqfs_why(got) : "file shorter than its size");
        return -1;
    }
    if (archive_write_data(g->w, g->chunk, (size_t)got) < 0) {
        archive_set_error(a, EIO, "%s", archive_error_string(g->w));
        return -1;
    }
    g->cur_off += (sqfs_u64)got;
    if (g->cur_off >= g->cur_size)
        g->cur = NULL;
    return 0;
}

static la_ssize_t gen_read(struct archive *a, void *arg, const void **out)
{
    struct sqfs_gen *g = arg;
    g->len = 0;
    while (g->len == 0 && !g->closed) {
        int r = g->cur ? emit_data(a, g) : emit_next(a, g);
        if (r < 0)
            return -1;
    }
    *out = g->buf;
    return (la_ssize_t)g->len;
}

static int gen_close(struct archive *a, void *arg)
{
    (void)a;
    gen_free(arg);
    return ARCHIVE_OK;
}

static int open_writer(struct sqfs_gen *g, struct lxm_error *err)
{
    g->w = archive_write_new();
    if (!g->w)
        return lxm_error_set(err, ENOMEM, "out of memory");
    /* Unblocked: every write reaches buf at once, so each read callback
     * hands out whole entries and data chunks. */
    if (archive_write_set_format_pax_restricted(g->w) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(g->w, 0) != ARCHIVE_OK ||
        archive_write_open(g->w, g, NULL, buf_write, NULL) != ARCHIVE_OK)
        return lxm_error_set(err, EIO, "libarchive: %s", archive_error_string(g->w));
    return 0;
}

struct archive *lxm_sqfs_open_as_tar(const char *path, struct lxm_error *err)
{
    struct sqfs_gen *g = calloc(1, sizeof(*g));
    if (!g || !(g->path = strdup(path))) {
        free(g);
        lxm_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    if (open_parts(g, err) < 0 || open_writer(g, err) < 0) {
        gen_free(g);
        return NULL;
    }
    g->node = g->root;
    struct archive *in = archive_read_new();
    if (!in) {
        gen_free(g);
        lxm_error_set(err, ENOMEM, "out of memory");
        return NULL;
    }
    archive_read_support_format_tar(in);
    /* The reader owns g from here: closing it (archive_read_free, also
     * after a failed open) calls gen_close. */
    if (archive_read_open(in, g, NULL, gen_read, gen_close) != ARCHIVE_OK) {
        lxm_error_set(err, EINVAL, "%s: %s", path, archive_error_string(in));
        archive_read_free(in);
        return NULL;
    }
    return in;
}

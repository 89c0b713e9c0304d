#include "image/image.h"

#include "util/lazy-archive.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/inroot.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/strv.h"

/* Large reads and writes: a rootfs tarball is tens of MiB and small
 * blocks cost a syscall each. */
#define IO_BLOCK (1 << 20)

/* Everything lxm extracts or copies keeps the full metadata of a system
 * tree, and never writes outside the destination. */
#define EXTRACT_FLAGS                                                                          \
    (ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |                     \
     ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_FFLAGS |                     \
     ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |                       \
     ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

/* ---- entry checks ---------------------------------------------------------- */

/* Drop "./" prefixes; refuse absolute paths and ".." components. */
static const char *relative_path(const char *path, const char **why)
{
    while (path[0] == '.' && path[1] == '/') {
        path += 2;
        while (*path == '/')
            path++;
    }
    if (path[0] == '/') {
        *why = "absolute path";
        return NULL;
    }
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            *why = "'..' in its path";
            return NULL;
        }
        p += n;
        while (*p == '/')
            p++;
    }
    return path;
}

/* 0 when path (relative to rootfd) resolves beneath rootfd without any
 * symlink, or does not exist yet; -ELOOP / -EXDEV otherwise. With
 * only_parent, the last component may be anything. */
static int resolves_plainly(int rootfd, const char *path, bool only_parent)
{
    _cleanup_free_ char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    size_t n = strlen(p);
    while (n > 0 && p[n - 1] == '/')
        p[--n] = '\0';
    if (only_parent) {
        char *slash = strrchr(p, '/');
        if (!slash)
            return 0;
        *slash = '\0';
    }
    if (!*p || strcmp(p, ".") == 0)
        return 0;
    int fd = lxm_openat2(rootfd, p, O_PATH, 0,
                         RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (fd == -ELOOP || fd == -EXDEV)
        return -errno;
    return 0; /* missing parents are created by libarchive; ENOTDIR fails there */
}

/* Device nodes an archive asked for and did not get: counted, the first
 * few named in one warning, and every name kept so that a hard link to a
 * skipped node is skipped too (tsearch: a hostile archive may hold many). */
#define SKIPPED_NAMED 3

struct skipped_nodes {
    size_t count;
    char *first[SKIPPED_NAMED];
    void *names;                /* tsearch tree of every skipped path */
};

static int cmp_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int skip_node(struct skipped_nodes *s, const char *rel)
{
    char *copy = strdup(rel);
    if (!copy)
        return -ENOMEM;
    char **slot = tsearch(copy, &s->names, cmp_names);
    if (!slot) {
        free(copy);
        return -ENOMEM;
    }
    if (*slot != copy) { /* the same path twice: one node */
        free(copy);
        return 0;
    }
    if (s->count < SKIPPED_NAMED)
        s->first[s->count] = copy;
    s->count++;
    return 0;
}

static void skipped_nodes_clear(struct skipped_nodes *s)
{
    tdestroy(s->names, free);
    *s = (struct skipped_nodes){ 0 };
}

/* The one line that says what was left out (not under --quiet: leaving
 * nodes out is the safe side, and -q asks for errors only). */
static void skipped_nodes_warn(const struct skipped_nodes *s, const char *tarball)
{
    if (s->count == 0 || lxm_log_get_level() == LXM_LOG_QUIET)
        return;
    char names[512] = "";
    size_t shown = s->count < SKIPPED_NAMED ? s->count : SKIPPED_NAMED;
    for (size_t i = 0; i < shown; i++) {
        size_t n = strlen(names);
        snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "", s->first[i]);
    }
    if (s->count > shown) {
        size_t n = strlen(names);
        snprintf(names + n, sizeof(names) - n, " and %zu more", s->count - shown);
    }
    lxm_warn("%s: skipped %zu device node%s (%s): lxm never creates device nodes from an archive",
             tarball, s->count, s->count == 1 ? "" : "s", names);
}

enum { ENTRY_EXTRACT = 0, ENTRY_SKIP = 1 };

/* A block or character device, or a hard link to one already skipped:
 * never made, whatever the archive says (a node of the host's disk in a
 * container is the host's disk). */
static int check_device(struct archive_entry *e, const char *rel, const char *link_rel,
                        struct skipped_nodes *s)
{
    mode_t type = archive_entry_filetype(e);
    bool device = type == AE_IFBLK || type == AE_IFCHR;
    if (!device && link_rel && s->names && tfind(link_rel, &s->names, cmp_names))
        device = true;
    if (!device)
        return ENTRY_EXTRACT;
    return skip_node(s, rel) < 0 ? -ENOMEM : ENTRY_SKIP;
}

/* Refuse an entry that could write outside rootfd, before libarchive sees
 * it (libarchive's own secure flags are the second line of defence), and
 * leave out device nodes: ENTRY_EXTRACT, ENTRY_SKIP or -errno. */
static int check_entry(int rootfd, struct archive_entry *e, const char *tarball,
                       struct skipped_nodes *skipped, struct lxm_error *err)
{
    const char *name = archive_entry_pathname(e);
    const char *why = NULL;
    if (!name || !*name)
        return lxm_error_set(err, EINVAL, "%s: refusing an entry with an empty name", tarball);
    const char *rel = relative_path(name, &why);
    if (rel && resolves_plainly(rootfd, rel, true) < 0)
        why = "its path goes through a symlink";
    const char *link = archive_entry_hardlink(e);
    const char *lrel = NULL;
    if (!why && link) {
        lrel = relative_path(link, &why);
        if (lrel && resolves_plainly(rootfd, lrel, archive_entry_size(e) == 0) < 0)
            why = "hard link through a symlink";
        else if (why)
            why = strcmp(why, "absolute path") == 0 ? "hard link to an absolute path"
                                                    : "hard link with '..' in its target";
    }
    if (why)
        return lxm_error_set(err, EPERM, "%s: refusing entry '%s' (%s)", tarball, name, why);
    int r = check_device(e, rel, lrel, skipped);
    return r < 0 ? lxm_error_set(err, ENOMEM, "out of memory") : r;
}

/* ---- extraction ------------------------------------------------------------ */

enum { COPY_OK = 0, COPY_READ_FAILED = -1, COPY_WRITE_FAILED = -2 };

/* The disk writer reports a failed write(2) as ARCHIVE_WARN: anything but
 * ARCHIVE_OK from it is data that did not reach the disk. */
static int copy_blocks(struct archive *in, struct archive *out)
{
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int r = archive_read_data_block(in, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            return COPY_OK;
        if (r < ARCHIVE_WARN)
            return COPY_READ_FAILED;
        if (archive_write_data_block(out, buf, size, off) != ARCHIVE_OK)
            return COPY_WRITE_FAILED;
    }
}

/* What a caller's filter made of an entry before it is checked. */
struct entry_filter {
    lxm_entry_filter fn; /* NULL: every entry is extracted as it is */
    void *arg;
};

/* One entry, its header checked by check_entry. */
static int extract_entry(struct archive *in, struct archive *out, struct archive_entry *e,
                         const char *tarball, struct lxm_error *err)
{
    const char *name = archive_entry_pathname(e);
    int r = archive_write_header(out, e);
    if (lxm_archive_out_of_space(out) && r < ARCHIVE_OK)
        return lxm_archive_error(err, out, EIO, "%s: write '%s'", tarball, name);
    if (r < ARCHIVE_WARN)
        return lxm_error_set(err, EPERM, "%s: refusing entry '%s' (%s)", tarball, name,
                             archive_error_string(out));
    if (r == ARCHIVE_WARN)
        lxm_debug("%s: %s: %s", tarball, name, archive_error_string(out));
    if (archive_entry_size(e) > 0) {
        r = copy_blocks(in, out);
        if (r == COPY_READ_FAILED)
            return lxm_archive_error(err, in, EIO, "read %s: %s", tarball, name);
        if (r == COPY_WRITE_FAILED)
            return lxm_archive_error(err, out, EIO, "%s: write '%s'", tarball, name);
    }
    r = archive_write_finish_entry(out);
    if (r < ARCHIVE_WARN || (r < ARCHIVE_OK && lxm_archive_out_of_space(out)))
        return lxm_archive_error(err, out, EIO, "%s: write '%s'", tarball, name);
    return 0;
}

static int extract_entries(struct archive *in, struct archive *out, int rootfd, const char *tarball,
                           const struct entry_filter *f, struct lxm_meter *m, struct lxm_error *err)
{
    struct skipped_nodes skipped = { 0 };
    int r;
    for (;;) {
        struct archive_entry *e;
        r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF) {
            skipped_nodes_warn(&skipped, tarball);
            r = 0;
            break;
        }
        if (r < ARCHIVE_WARN) {
            r = lxm_error_set(err, EIO, "read %s: %s", tarball, archive_error_string(in));
            break;
        }
        if (f && f->fn) {
            r = f->fn(f->arg, in, e, rootfd, err);
            if (r < 0)
                break;
            if (r == LXM_ENTRY_SKIP)
                continue;
        }
        r = check_entry(rootfd, e, tarball, &skipped, err);
        if (r == ENTRY_EXTRACT)
            r = extract_entry(in, out, e, tarball, err);
        if (r < 0)
            break;
        lxm_meter_update(m, archive_filter_bytes(in, -1));
    }
    skipped_nodes_clear(&skipped);
    return r;
}

/* libarchive's disk writer works relative to the current directory: run
 * fn with the cwd in dirfd and put the old cwd back whatever happens. */
static int in_directory(int dirfd, const char *dir, int (*fn)(void *), void *arg, struct lxm_error *err)
{
    _cleanup_close_ int saved = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fchdir(dirfd) < 0)
        return lxm_error_errno(err, errno, "chdir %s", dir);
    int r = fn(arg);
    if (saved < 0 || fchdir(saved) < 0)
        (void)!chdir("/");
    return r;
}

struct extract_job {
    struct archive *in, *out;
    int rootfd;
    const char *tarball;
    struct lxm_meter *meter;
    struct lxm_error *err;
    const struct entry_filter *filter;
};

static int extract_job_run(void *arg)
{
    struct extract_job *j = arg;
    int r = extract_entries(j->in, j->out, j->rootfd, j->tarball, j->filter, j->meter, j->err);
    /* close applies the deferred directory modes and times: still in dest. */
    if (archive_write_close(j->out) < ARCHIVE_WARN && r == 0)
        r = lxm_archive_error(j->err, j->out, EIO, "%s: finish extraction", j->tarball);
    return r;
}

struct archive *lxm_tar_reader_new(void)
{
    struct archive *in = archive_read_new();
    if (!in)
        return NULL;
    /* Only in-process decompressors: "all" would also run external
     * programs on untrusted input. */
    archive_read_support_filter_gzip(in);
    archive_read_support_filter_xz(in);
    archive_read_support_filter_zstd(in);
    archive_read_support_filter_bzip2(in);
    archive_read_support_filter_lzma(in);
    archive_read_support_format_tar(in);
    return in;
}

int lxm_tar_open(const char *file, int *fdp, struct archive **out, int64_t *size,
                 struct lxm_error *err)
{
    _cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s", file);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return lxm_error_errno(err, errno, "stat %s", file);
    if (S_ISDIR(st.st_mode))
        return lxm_error_set(err, EISDIR, "%s is a directory, not a tarball", file);
    _cleanup_archive_read_ struct archive *in = lxm_tar_reader_new();
    if (!in)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (archive_read_open_fd(in, fd, IO_BLOCK) != ARCHIVE_OK)
        return lxm_error_set(err, EINVAL, "%s: not a tarball lxm can read (%s)", file,
                             archive_error_string(in));
    *size = S_ISREG(st.st_mode) ? st.st_size : 0;
    *fdp = TAKE_FD(fd);
    *out = TAKE_PTR(in);
    return 0;
}

int lxm_image_extract_archive(struct archive *in, const char *label, const char *dest,
                              lxm_entry_filter filter, void *arg, const struct lxm_report *progress,
                              int64_t total, struct lxm_error *err)
{
    _cleanup_close_ int rootfd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rootfd < 0)
        return lxm_error_errno(err, errno, "open %s", dest);
    _cleanup_archive_write_ struct archive *out = archive_write_disk_new();
    if (!out)
        return lxm_error_set(err, ENOMEM, "out of memory");
    archive_write_disk_set_options(out, EXTRACT_FLAGS);
    struct lxm_meter m;
    lxm_meter_start(&m, progress, "unpacking", "unpacked", label, total);
    struct entry_filter f = { filter, arg };
    struct extract_job job = { in, out, rootfd, label, &m, err, &f };
    int r = in_directory(rootfd, dest, extract_job_run, &job, err);
    if (r == 0)
        m.p.done = archive_filter_bytes(in, -1);
    lxm_meter_done(&m, r == 0);
    if (r == -ENOSPC || r == -EDQUOT) /* say which filesystem is full */
        return lxm_error_prefix(err, "extract into %s", dest);
    return r;
}

int lxm_image_extract(const char *tarball, const char *dest, const struct lxm_report *progress,
                      struct lxm_error *err)
{
    _cleanup_close_ int fd = -1;
    _cleanup_archive_read_ struct archive *in = NULL;
    int64_t size = 0;
    int r = lxm_tar_open(tarball, &fd, &in, &size, err);
    if (r < 0)
        return r;
    return lxm_image_extract_archive(in, tarball, dest, NULL, NULL, progress, size, err);
}

/* ---- walking a tree (pack, copy) ------------------------------------------- */

static int write_entry_data(struct archive *disk, struct archive *out, const char *dir,
                            const char *rel, void *buf, struct lxm_error *err)
{
    for (;;) {
        la_ssize_t n = archive_read_data(disk, buf, IO_BLOCK);
        if (n == 0)
            return 0;
        if (n < 0)
            return lxm_error_set(err, EIO, "read %s/%s: %s", dir, rel, archive_error_string(disk));
        if (archive_write_data(out, buf, (size_t)n) < 0)
            return lxm_archive_error(err, out, EIO, "write %s", rel);
    }
}

static int write_entry(struct archive *disk, struct archive *out, struct archive_entry *e,
                       const char *dir, void *buf, struct lxm_error *err)
{
    const char *rel = archive_entry_pathname(e);
    int r = archive_write_header(out, e);
    if (r < ARCHIVE_WARN || (r < ARCHIVE_OK && lxm_archive_out_of_space(out)))
        return lxm_archive_error(err, out, EIO, "write %s", rel);
    if (r == ARCHIVE_WARN)
        lxm_debug("%s: %s", rel, archive_error_string(out));
    if (archive_entry_size(e) > 0 && !archive_entry_hardlink(e)) {
        r = write_entry_data(disk, out, dir, rel, buf, err);
        if (r < 0)
            return r;
    }
    r = archive_write_finish_entry(out);
    if (r < ARCHIVE_WARN || (r < ARCHIVE_OK && lxm_archive_out_of_space(out)))
        return lxm_archive_error(err, out, EIO, "write %s", rel);
    return 0;
}

/* Give the entry its path relative to dir ("." for dir itself). */
static int relativise(struct archive_entry *e, const char *dir, size_t dirlen)
{
    const char *full = archive_entry_pathname(e);
    if (!full || strncmp(full, dir, dirlen) != 0)
        return -EINVAL;
    const char *rel = full + dirlen;
    while (*rel == '/')
        rel++;
    _cleanup_free_ char *copy = strdup(*rel ? rel : ".");
    if (!copy)
        return -ENOMEM;
    archive_entry_copy_pathname(e, copy);
    return 0;
}

/* Every file below dir, in walk order, into out: a tar writer (pack) or a
 * disk writer (copy). Mount points are not descended. Without devices,
 * block and character nodes are left out (an image never carries them:
 * extraction would skip them anyway, with a warning at every use). */
static int walk_tree(const char *dir, struct archive *out, int format, bool devices,
                     struct lxm_meter *m, struct lxm_error *err)
{
    _cleanup_archive_read_ struct archive *disk = archive_read_disk_new();
    _cleanup_linkresolver_ struct archive_entry_linkresolver *links = archive_entry_linkresolver_new();
    _cleanup_free_ void *buf = malloc(IO_BLOCK);
    if (!disk || !links || !buf)
        return lxm_error_set(err, ENOMEM, "out of memory");
    archive_entry_linkresolver_set_strategy(links, format);
    struct stat st;
    if (lstat(dir, &st) < 0)
        return lxm_error_errno(err, errno, "read %s", dir);
    if (!S_ISDIR(st.st_mode)) /* a symlink above all: never walked */
        return lxm_error_set(err, ENOTDIR, "read %s: not a directory%s", dir,
                             S_ISLNK(st.st_mode) ? " but a symlink (lxm never follows one)" : "");
    archive_read_disk_set_symlink_physical(disk);
    archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS | ARCHIVE_READDISK_NO_SPARSE);
    if (archive_read_disk_open(disk, dir) != ARCHIVE_OK)
        return lxm_error_set(err, EIO, "read %s: %s", dir, archive_error_string(disk));
    size_t dirlen = strlen(dir);
    for (;;) {
        _cleanup_archive_entry_ struct archive_entry *e = archive_entry_new();
        struct archive_entry *spare = NULL;
        if (!e)
            return lxm_error_set(err, ENOMEM, "out of memory");
        int r = archive_read_next_header2(disk, e);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return lxm_error_set(err, EIO, "read %s: %s", dir, archive_error_string(disk));
        if (archive_read_disk_can_descend(disk))
            archive_read_disk_descend(disk);
        if (relativise(e, dir, dirlen) < 0)
            return lxm_error_set(err, EINVAL, "read %s: unexpected path '%s'", dir,
                                 archive_entry_pathname(e));
        mode_t type = archive_entry_filetype(e);
        if (!devices && (type == AE_IFBLK || type == AE_IFCHR)) {
            lxm_debug("%s: leaving out the device node %s", dir, archive_entry_pathname(e));
            continue;
        }
        int64_t size = archive_entry_size(e) > 0 ? archive_entry_size(e) : 0;
        archive_entry_linkify(links, &e, &spare);
        if (e) {
            r = write_entry(disk, out, e, dir, buf, err);
            if (r < 0)
                return r;
        }
        archive_entry_free(spare); /* pax never defers; keep it leak-free anyway */
        /* The data read so far (a disk writer has no filter to ask). */
        lxm_meter_update(m, m->p.done + size);
    }
}

struct sink {
    int fd;
    struct sha256_ctx sha;
};

static la_ssize_t sink_write(struct archive *a, void *arg, const void *buf, size_t n)
{
    struct sink *s = arg;
    const char *p = buf;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(s->fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            archive_set_error(a, errno, "%s", strerror(errno));
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    sha256_update(&s->sha, buf, n);
    return (la_ssize_t)n;
}

static int open_pack_writer(struct archive *w, struct sink *sink, struct lxm_error *err)
{
    char threads[16];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(threads, sizeof(threads), "%ld", ncpu > 0 ? ncpu : 1);
    if (archive_write_add_filter_zstd(w) != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(w) != ARCHIVE_OK)
        return lxm_error_set(err, ENOTSUP, "libarchive: %s", archive_error_string(w));
    /* Best effort: older libarchive lacks the threads option. */
    archive_write_set_filter_option(w, "zstd", "compression-level", "6");
    archive_write_set_filter_option(w, "zstd", "threads", threads);
    archive_write_set_bytes_per_block(w, IO_BLOCK);
    archive_write_set_bytes_in_last_block(w, 1);
    if (archive_write_open(w, sink, NULL, sink_write, NULL) != ARCHIVE_OK)
        return lxm_error_set(err, EIO, "libarchive: %s", archive_error_string(w));
    return 0;
}

static int pack_to_fd(const char *dir, int fd, char sha256[65], const struct lxm_report *progress,
                      struct lxm_error *err)
{
    _cleanup_archive_write_ struct archive *w = archive_write_new();
    if (!w)
        return lxm_error_set(err, ENOMEM, "out of memory");
    struct sink sink = { .fd = fd };
    sha256_init(&sink.sha);
    int r = open_pack_writer(w, &sink, err);
    if (r < 0)
        return r;
    struct lxm_meter m;
    lxm_meter_start(&m, progress, "packing", "packed", dir, 0);
    r = walk_tree(dir, w, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, false, &m, err);
    lxm_meter_done(&m, r == 0);
    if (r < 0)
        return r;
    if (archive_write_close(w) != ARCHIVE_OK)
        return lxm_archive_error(err, w, EIO, "write");
    if (fsync(fd) < 0)
        return lxm_error_errno(err, errno, "fsync");
    char hex[65];
    sha256_final_hex(&sink.sha, hex);
    if (sha256)
        memcpy(sha256, hex, sizeof(hex));
    return 0;
}

int lxm_image_pack(const char *dir, const char *out, char sha256[65], const struct lxm_report *progress,
                   struct lxm_error *err)
{
    _cleanup_free_ char *tmp = xasprintf("%s.tmp.XXXXXX", out);
    if (!tmp)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "create %s", tmp);
    int r = pack_to_fd(dir, fd, sha256, progress, err);
    if (r == 0 && fchmod(fd, 0600) < 0)
        r = lxm_error_errno(err, errno, "chmod %s", tmp);
    if (r == 0 && rename(tmp, out) < 0)
        r = lxm_error_errno(err, errno, "rename %s", tmp);
    if (r < 0) {
        unlink(tmp);
        return lxm_error_prefix(err, "pack %s into %s", dir, out);
    }
    return 0;
}

struct copy_job {
    const char *src;
    const struct lxm_report *report;
    struct archive *out;
    struct lxm_error *err;
};

static int copy_job_run(void *arg)
{
    struct copy_job *j = arg;
    struct lxm_meter m;
    lxm_meter_start(&m, j->report, "copying", "copied", j->src, 0);
    /* Only a copy long enough to have shown progress gets a closing line. */
    m.p.brief = true;
    int r = walk_tree(j->src, j->out, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED, true, &m, j->err);
    lxm_meter_done(&m, r == 0);
    if (archive_write_close(j->out) < ARCHIVE_WARN && r == 0)
        r = lxm_archive_error(j->err, j->out, EIO, "copy");
    return r;
}

int lxm_image_copy_tree(const char *src, const char *dst, struct lxm_error *err)
{
    _cleanup_close_ int dstfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dstfd < 0)
        return lxm_error_errno(err, errno, "open %s", dst);
    _cleanup_archive_write_ struct archive *out = archive_write_disk_new();
    if (!out)
        return lxm_error_set(err, ENOMEM, "out of memory");
    archive_write_disk_set_options(out, EXTRACT_FLAGS);
    struct copy_job job = { src, NULL, out, err };
    int r = in_directory(dstfd, dst, copy_job_run, &job, err);
    if (r < 0)
        return lxm_error_prefix(err, "copy %s to %s", src, dst);
    return 0;
}

/* ---- cache ------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *lxm_image_cache_name(const char *template_name, const char *release, const char *arch,
                           const char *variant, char *const *packages)
{
    _cleanup_strv_free_ char **sorted = strv_copy(packages);
    if (packages && !sorted)
        return NULL;
    size_t n = strv_length(sorted);
    if (n > 1)
        qsort(sorted, n, sizeof(char *), cmp_str);
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, "variant=", 8);
    if (variant)
        sha256_update(&c, variant, strlen(variant));
    sha256_update(&c, "\npackages=", 10);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(sorted[i], sorted[i - 1]) == 0)
            continue;
        sha256_update(&c, sorted[i], strlen(sorted[i]));
        sha256_update(&c, ",", 1);
    }
    char hex[65];
    sha256_final_hex(&c, hex);
    return xasprintf("%s-%s-%s-%.12s.tar.zst", template_name, release ? release : "default",
                     arch, hex);
}

int lxm_image_cache_lookup(const char *images_dir, const char *name, char **path,
                           struct lxm_error *err)
{
    _cleanup_free_ char *tarball = xasprintf("%s/%s", images_dir, name);
    _cleanup_free_ char *sumfile = xasprintf("%s/%s.sha256", images_dir, name);
    if (!tarball || !sumfile)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!path_exists(tarball))
        return 0;
    /* A tarball without its sum may be a concurrent store in progress:
     * a miss, not corruption. */
    _cleanup_free_ char *want = NULL;
    if (read_file(sumfile, &want, NULL) < 0)
        return 0;
    char got[65];
    int r = sha256_file(tarball, got);
    if (r < 0)
        return lxm_error_errno(err, -r, "read %s", tarball);
    if (strlen(want) < 64 || strncmp(want, got, 64) != 0) {
        lxm_warn("image cache: %s is corrupt (sha256 mismatch); removing it and rebuilding", tarball);
        unlink(tarball);
        unlink(sumfile);
        return 0;
    }
    *path = TAKE_PTR(tarball);
    return 1;
}

int lxm_image_cache_store(const char *images_dir, const char *name, const char *dir,
                          const struct lxm_report *progress, struct lxm_error *err)
{
    int r = mkdir_p(images_dir, 0700);
    if (r < 0)
        return lxm_error_errno(err, -r, "create %s", images_dir);
    _cleanup_free_ char *tarball = xasprintf("%s/%s", images_dir, name);
    _cleanup_free_ char *sumfile = xasprintf("%s/%s.sha256", images_dir, name);
    if (!tarball || !sumfile)
        return lxm_error_set(err, ENOMEM, "out of memory");
    char hex[65];
    r = lxm_image_pack(dir, tarball, hex, progress, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *line = xasprintf("%s  %s\n", hex, name);
    if (!line)
        return lxm_error_set(err, ENOMEM, "out of memory");
    r = write_file_atomic(sumfile, line, strlen(line), 0600);
    if (r < 0) {
        unlink(tarball);
        return lxm_error_errno(err, -r, "write %s", sumfile);
    }
    return 0;
}

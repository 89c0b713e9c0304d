#include "storage/copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

#define LINK_BUCKETS 1024
#define MAX_DEPTH 512
#define FLAGS_KEPT (FS_IMMUTABLE_FL | FS_APPEND_FL | FS_NODUMP_FL | FS_NOATIME_FL)

/* A file with more than one link, by its source identity, and where its
 * first copy went (relative to the destination root). */
struct link {
    dev_t dev;
    ino_t ino;
    char *rel;
    struct link *next;
};

struct copier {
    unsigned flags;
    int dst_root;
    dev_t dev;
    char rel[PATH_MAX];
    size_t rel_len;
    struct link *links[LINK_BUCKETS];
    struct lxm_copy_stats *stats;
    const char *src, *dst;
    struct lxm_error *err;
};

/* One file to copy metadata from or to: an fd when we hold one, else the
 * path "/proc/self/fd/DIRFD/NAME" (symlinks and special files, which must
 * not be opened). */
struct node {
    int fd;
    char path[64 + NAME_MAX];
};

static void node_at(struct node *n, int fd, int dirfd, const char *name)
{
    n->fd = fd;
    n->path[0] = '\0';
    if (fd < 0)
        snprintf(n->path, sizeof(n->path), "/proc/self/fd/%d/%s", dirfd, name);
}

static int fail(struct copier *c, int e, const char *what)
{
    return lxm_error_errno(c->err, e, "copy %s to %s: %s: %s", c->src, c->dst,
                           c->rel_len ? c->rel : ".", what);
}

/* ---- hard links ------------------------------------------------------------------ */

static size_t link_hash(dev_t dev, ino_t ino)
{
    return (size_t)((ino * 2654435761u) ^ dev) % LINK_BUCKETS;
}

static const char *link_find(struct copier *c, const struct stat *st)
{
    for (struct link *l = c->links[link_hash(st->st_dev, st->st_ino)]; l; l = l->next)
        if (l->dev == st->st_dev && l->ino == st->st_ino)
            return l->rel;
    return NULL;
}

static int link_add(struct copier *c, const struct stat *st)
{
    struct link *l = calloc(1, sizeof(*l));
    if (!l || !(l->rel = strdup(c->rel))) {
        free(l);
        return -ENOMEM;
    }
    size_t h = link_hash(st->st_dev, st->st_ino);
    l->dev = st->st_dev;
    l->ino = st->st_ino;
    l->next = c->links[h];
    c->links[h] = l;
    return 0;
}

static void links_free(struct copier *c)
{
    for (size_t i = 0; i < LINK_BUCKETS; i++)
        while (c->links[i]) {
            struct link *l = c->links[i];
            c->links[i] = l->next;
            free(l->rel);
            free(l);
        }
}

/* ---- metadata ----------------------------------------------------------------------- */

static ssize_t x_list(const struct node *n, char *buf, size_t len)
{
    return n->fd >= 0 ? flistxattr(n->fd, buf, len) : llistxattr(n->path, buf, len);
}

static ssize_t x_get(const struct node *n, const char *name, void *buf, size_t len)
{
    return n->fd >= 0 ? fgetxattr(n->fd, name, buf, len) : lgetxattr(n->path, name, buf, len);
}

static int x_set(const struct node *n, const char *name, const void *v, size_t len)
{
    return n->fd >= 0 ? fsetxattr(n->fd, name, v, len, 0) : lsetxattr(n->path, name, v, len, 0);
}

static int copy_xattrs(struct copier *c, const struct node *s, const struct node *d)
{
    ssize_t len = x_list(s, NULL, 0);
    if (len < 0)
        return errno == ENOTSUP ? 0 : fail(c, errno, "list xattrs");
    if (len == 0)
        return 0;
    _cleanup_free_ char *names = malloc((size_t)len);
    _cleanup_free_ char *val = malloc(XATTR_SIZE_MAX);
    if (!names || !val)
        return fail(c, ENOMEM, "xattrs");
    len = x_list(s, names, (size_t)len);
    if (len < 0)
        return fail(c, errno, "list xattrs");
    for (char *name = names; name < names + len; name += strlen(name) + 1) {
        ssize_t vlen = x_get(s, name, val, XATTR_SIZE_MAX);
        if (vlen < 0 && errno == ENODATA)
            continue;
        if (vlen < 0 || x_set(d, name, val, (size_t)vlen) < 0) {
            char what[300];
            snprintf(what, sizeof(what), "xattr %s", name);
            return fail(c, errno, what);
        }
    }
    return 0;
}

/* Owner first (chown clears set-id bits and security.capability), then
 * xattrs, mode, times, and the inode flags last (immutable stops all else). */
static int copy_meta(struct copier *c, const struct stat *st, const struct node *s,
                     const struct node *d)
{
    bool lnk = S_ISLNK(st->st_mode);
    if ((d->fd >= 0 ? fchown(d->fd, st->st_uid, st->st_gid)
                    : lchown(d->path, st->st_uid, st->st_gid)) < 0)
        return fail(c, errno, "chown");
    int r = copy_xattrs(c, s, d);
    if (r < 0)
        return r;
    if (!lnk && (d->fd >= 0 ? fchmod(d->fd, st->st_mode & 07777)
                            : chmod(d->path, st->st_mode & 07777)) < 0)
        return fail(c, errno, "chmod");
    struct timespec ts[2] = { st->st_atim, st->st_mtim };
    if ((d->fd >= 0 ? futimens(d->fd, ts) : utimensat(AT_FDCWD, d->path, ts, AT_SYMLINK_NOFOLLOW)) < 0)
        return fail(c, errno, "set times");
    int flags = 0;
    if (s->fd >= 0 && d->fd >= 0 && ioctl(s->fd, FS_IOC_GETFLAGS, &flags) == 0 &&
        (flags & FLAGS_KEPT) && ioctl(d->fd, FS_IOC_SETFLAGS, &(int){ flags & FLAGS_KEPT }) < 0)
        return fail(c, errno, "set inode flags");
    return 0;
}

/* ---- file data ------------------------------------------------------------------------ */

static int copy_bytes(int sfd, int dfd, uint64_t *copied)
{
    bool use_range = true;
    char buf[128 * 1024];
    for (;;) {
        ssize_t n;
        if (use_range) {
            n = copy_file_range(sfd, NULL, dfd, NULL, 1u << 30, 0);
            if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
                          errno == EOPNOTSUPP)) {
                use_range = false;
                continue;
            }
        } else {
            n = read(sfd, buf, sizeof(buf));
            for (ssize_t off = 0; n > 0 && off < n;) {
                ssize_t w = write(dfd, buf + off, (size_t)(n - off));
                if (w < 0 && errno != EINTR)
                    return -errno;
                off += w > 0 ? w : 0;
            }
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        *copied += (uint64_t)n;
    }
}

static int copy_regular(struct copier *c, int sdir, int ddir, const char *name, const struct stat *st)
{
    _cleanup_close_ int sfd = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (sfd < 0)
        return fail(c, errno, "open");
    _cleanup_close_ int dfd = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (dfd < 0)
        return fail(c, errno, "create");
    c->stats->files++;
    if (st->st_size > 0) {
        if ((c->flags & LXM_COPY_REFLINK) && ioctl(dfd, FICLONE, sfd) == 0) {
            c->stats->reflinked++;
        } else {
            int r = copy_bytes(sfd, dfd, &c->stats->bytes);
            if (r < 0)
                return fail(c, -r, "copy data");
        }
    }
    struct node s = { .fd = sfd }, d = { .fd = dfd };
    return copy_meta(c, st, &s, &d);
}

static int copy_special(struct copier *c, int sdir, int ddir, const char *name, const struct stat *st)
{
    if (S_ISLNK(st->st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
        if (n < 0)
            return fail(c, errno, "readlink");
        target[n] = '\0';
        if (symlinkat(target, ddir, name) < 0)
            return fail(c, errno, "symlink");
    } else if (mknodat(ddir, name, st->st_mode & S_IFMT, st->st_rdev) < 0) {
        return fail(c, errno, "mknod");
    }
    struct node s, d;
    node_at(&s, -1, sdir, name);
    node_at(&d, -1, ddir, name);
    return copy_meta(c, st, &s, &d);
}

/* ---- the walk ------------------------------------------------------------------------ */

static int copy_contents(struct copier *c, int sfd, int dfd, int depth);

static int copy_directory(struct copier *c, int sdir, int ddir, const char *name,
                          const struct stat *st, int depth)
{
    if (mkdirat(ddir, name, 0700) < 0)
        return fail(c, errno, "mkdir");
    _cleanup_close_ int sfd = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int dfd = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0 || dfd < 0)
        return fail(c, errno, "open directory");
    /* A mount point or nested subvolume: the directory, not what is in it. */
    if (st->st_dev == c->dev) {
        int r = copy_contents(c, sfd, dfd, depth + 1);
        if (r < 0)
            return r;
    }
    struct node s = { .fd = sfd }, d = { .fd = dfd };
    return copy_meta(c, st, &s, &d);
}

static int copy_entry(struct copier *c, int sdir, int ddir, const char *name, int depth)
{
    struct stat st;
    if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return fail(c, errno, "stat");
    if (S_ISDIR(st.st_mode))
        return copy_directory(c, sdir, ddir, name, &st, depth);
    const char *first = st.st_nlink > 1 ? link_find(c, &st) : NULL;
    if (first)
        return linkat(c->dst_root, first, ddir, name, 0) < 0 ? fail(c, errno, "link") : 0;
    int r = S_ISREG(st.st_mode) ? copy_regular(c, sdir, ddir, name, &st)
                                : copy_special(c, sdir, ddir, name, &st);
    if (r == 0 && st.st_nlink > 1 && link_add(c, &st) < 0)
        return fail(c, ENOMEM, "remember hard link");
    return r;
}

static int copy_contents(struct copier *c, int sfd, int dfd, int depth)
{
    if (depth > MAX_DEPTH)
        return fail(c, ELOOP, "too deep");
    int fd = dup(sfd);
    DIR *raw = fd >= 0 ? fdopendir(fd) : NULL;
    if (!raw) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return fail(c, e, "read directory");
    }
    _cleanup_closedir_ DIR *d = raw;
    struct dirent *de;
    size_t saved = c->rel_len;
    while ((errno = 0, de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int n = snprintf(c->rel + saved, sizeof(c->rel) - saved, "%s%s", saved ? "/" : "",
                         de->d_name);
        if (n < 0 || (size_t)n >= sizeof(c->rel) - saved)
            return fail(c, ENAMETOOLONG, de->d_name);
        c->rel_len = saved + (size_t)n;
        int r = copy_entry(c, sfd, dfd, de->d_name, depth);
        c->rel_len = saved;
        c->rel[saved] = '\0';
        if (r < 0)
            return r;
    }
    return errno ? fail(c, errno, "read directory") : 0;
}

int lxm_copy_tree(const char *src, const char *dst, unsigned flags, struct lxm_copy_stats *stats,
                  struct lxm_error *err)
{
    struct lxm_copy_stats ignored = { 0 };
    _cleanup_free_ struct copier *c = calloc(1, sizeof(*c));
    if (!c)
        return lxm_error_set(err, ENOMEM, "out of memory");
    *c = (struct copier){ .flags = flags, .stats = stats ? stats : &ignored, .src = src, .dst = dst,
                        .err = err };
    _cleanup_close_ int sfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0)
        return lxm_error_errno(err, errno, "copy: open %s", src);
    _cleanup_close_ int dfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return lxm_error_errno(err, errno, "copy: open %s", dst);
    struct stat st;
    if (fstat(sfd, &st) < 0)
        return lxm_error_errno(err, errno, "copy: stat %s", src);
    c->dst_root = dfd;
    c->dev = st.st_dev;
    int r = copy_contents(c, sfd, dfd, 0);
    if (r == 0) {
        struct node s = { .fd = sfd }, d = { .fd = dfd };
        r = copy_meta(c, &st, &s, &d);
    }
    links_free(c);
    return r;
}

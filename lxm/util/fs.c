#include "util/fs.h"
#include "util/cleanup.h"
#include "util/io.h"
#include "util/owner.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *xasprintf(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    return r < 0 ? NULL : s;
}

int mkdir_p(const char *path, mode_t mode)
{
    /* Mostly the parents exist (every start makes its run dir): one call. */
    if (mkdir(path, mode) == 0 || errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -errno;
    _cleanup_free_ char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    if (mkdir(p, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int read_file(const char *path, char **out, size_t *len)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t cap = 4096, n = 0;
    _cleanup_free_ char *buf = malloc(cap + 1);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (n == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb)
                return -ENOMEM;
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    *out = TAKE_PTR(buf);
    return 0;
}

/* Put tmp in the place of path, atomically for readers of path. Not with
 * rename(2) when path exists: ext4 (where /run is not a tmpfs) then starts
 * writeback of tmp's data (auto_da_alloc), and the next replacement, whose
 * rename frees this inode, waits for that I/O to finish: 2-3 ms per start
 * here. Exchanged, the old inode is unlinked with its data never written. */
static int swap_in(const char *tmp, const char *path)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
        unlink(tmp); /* the old content now */
        return 0;
    }
    /* Nothing to exchange with (ENOENT), or a filesystem without it. */
    if (rename(tmp, path) == 0)
        return 0;
    int r = -errno;
    unlink(tmp);
    return r;
}

/* Write a temporary file and rename it over path; durable also fsyncs the
 * file and its directory before and after the rename. */
static int replace_file(const char *path, const char *data, size_t len, mode_t mode, bool durable)
{
    _cleanup_free_ char *dir_copy = strdup(path);
    /* The owner tag lets the next lxm command remove it if we die here. */
    _cleanup_free_ char *tmp = xasprintf("%s.tmp.%s.XXXXXX", path, owner_tag());
    if (!dir_copy || !tmp)
        return -ENOMEM;
    _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = lxm_write_all(fd, data, len);
    if (r == 0 && fchmod(fd, mode) < 0)
        r = -errno;
    if (r == 0 && durable && fsync(fd) < 0)
        r = -errno;
    if (r == 0 && !durable)
        return swap_in(tmp, path);
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    _cleanup_close_ int dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        (void)fsync(dfd);
    return 0;
}

int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
    return replace_file(path, data, len, mode, true);
}

int write_file_replace(const char *path, const char *data, size_t len, mode_t mode)
{
    return replace_file(path, data, len, mode, false);
}

char *fill_string(fill_fn fill, const void *data, size_t *len)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    if (!f)
        return NULL;
    fill(f, data);
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed) {
        free(text);
        return NULL;
    }
    if (len)
        *len = n;
    return text;
}

int write_file_atomic_stream(const char *path, mode_t mode, fill_fn fill, const void *data)
{
    size_t len;
    _cleanup_free_ char *text = fill_string(fill, data, &len);
    return text ? write_file_atomic(path, text, len, mode) : -ENOMEM;
}

int write_string(const char *path, const char *s)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t w = write(fd, s, strlen(s));
    if (w < 0)
        return -errno;
    return (size_t)w == strlen(s) ? 0 : -EIO;
}

/* Empty directory fd (which we own) of everything; dev is the filesystem we
 * must not leave. */
static int rm_rf_children(int dfd, dev_t dev)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        int r = -errno;
        close(dfd);
        return r;
    }
    _cleanup_closedir_ DIR *dir = d;
    int ret = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT && ret == 0)
                ret = -errno;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (st.st_dev != dev) {
                if (ret == 0)
                    ret = -EXDEV;
                continue;
            }
            int cfd = openat(dirfd(dir), de->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (cfd < 0) {
                if (ret == 0)
                    ret = -errno;
                continue;
            }
            int r = rm_rf_children(cfd, dev);
            if (r < 0 && ret == 0)
                ret = r;
            if (unlinkat(dirfd(dir), de->d_name, AT_REMOVEDIR) < 0 && ret == 0)
                ret = -errno;
        } else if (unlinkat(dirfd(dir), de->d_name, 0) < 0 && errno != ENOENT && ret == 0) {
            ret = -errno;
        }
    }
    return ret;
}

int rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 ? -errno : 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = rm_rf_children(fd, st.st_dev);
    if (r < 0)
        return r;
    return rmdir(path) < 0 ? -errno : 0;
}

bool path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
void unescape_octal(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

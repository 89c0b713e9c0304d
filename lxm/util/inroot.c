#include "util/inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/io.h"

int lxm_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
        .resolve = resolve,
    };
    /* EAGAIN: a rename in the tree raced a ".." walk; the container may
     * do it on purpose, so the retries are bounded. */
    int fd = -1;
    for (int tries = 0; tries < 32; tries++) {
        fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        if (fd >= 0 || errno != EAGAIN)
            break;
    }
    return fd < 0 ? -errno : fd;
}

int lxm_open_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
    while (*path == '/')
        path++;
    return lxm_openat2(rootfd, *path ? path : ".", flags, mode,
                       RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

int lxm_mkdir_in_root(int rootfd, const char *path)
{
    _cleanup_free_ char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    _cleanup_close_ int cur = lxm_open_in_root(rootfd, "", O_PATH | O_DIRECTORY, 0);
    if (cur < 0)
        return cur;
    for (char *s = p; *s;) {
        char *slash = strchr(s, '/');
        if (slash)
            *slash = '\0';
        if (*s) {
            int fd = lxm_open_in_root(rootfd, p, O_PATH | O_DIRECTORY, 0);
            if (fd == -ENOENT) {
                if (mkdirat(cur, s, 0755) < 0 && errno != EEXIST)
                    return -errno;
                fd = lxm_open_in_root(rootfd, p, O_PATH | O_DIRECTORY, 0);
            }
            if (fd < 0)
                return fd;
            close(cur);
            cur = fd;
        }
        if (!slash)
            break;
        *slash = '/';
        s = slash + 1;
    }
    return TAKE_FD(cur);
}

int lxm_read_in_root(int rootfd, const char *path, size_t max, char **out, size_t *len)
{
    _cleanup_close_ int fd = lxm_open_in_root(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
    if (fd < 0)
        return fd;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    if ((size_t)st.st_size > max)
        return -EFBIG;
    _cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return -ENOMEM;
    size_t n = 0;
    while (n < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        if (k == 0)
            break;
        n += (size_t)k;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    *out = TAKE_PTR(buf);
    return 0;
}

int lxm_replace_at(int dfd, const char *name, const char *data, size_t len, mode_t mode,
                   uid_t uid, gid_t gid)
{
    _cleanup_free_ char *tmp = malloc(strlen(name) + 16);
    if (!tmp)
        return -ENOMEM;
    _cleanup_close_ int fd = -1;
    for (int i = 0; i < 16 && fd < 0; i++) {
        uint32_t rnd;
        if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
            rnd = (uint32_t)getpid() + (uint32_t)i;
        sprintf(tmp, ".%s.lxm-%08x", name, rnd);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            return -errno;
    }
    if (fd < 0)
        return -EEXIST;
    int r = lxm_write_all(fd, data, len);
    if (r == 0 && uid != (uid_t)-1 && fchown(fd, uid, gid) < 0)
        r = -errno;
    if (r == 0 && fchmod(fd, mode) < 0)
        r = -errno;
    if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
        r = -errno;
    if (r < 0)
        unlinkat(dfd, tmp, 0);
    return r;
}

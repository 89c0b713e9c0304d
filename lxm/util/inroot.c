#include "util/inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

int lxm_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
        .resolve = resolve,
    };
    int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    return fd < 0 ? -errno : fd;
}

int open_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
    while (*path == '/')
        path++;
    return lxm_openat2(rootfd, *path ? path : ".", flags, mode,
                       RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

int mkdir_in_root(int rootfd, const char *path)
{
    _cleanup_free_ char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    _cleanup_close_ int cur = open_in_root(rootfd, "", O_PATH | O_DIRECTORY, 0);
    if (cur < 0)
        return cur;
    for (char *s = p; *s;) {
        char *slash = strchr(s, '/');
        if (slash)
            *slash = '\0';
        if (*s) {
            int fd = open_in_root(rootfd, p, O_PATH | O_DIRECTORY, 0);
            if (fd == -ENOENT) {
                if (mkdirat(cur, s, 0755) < 0 && errno != EEXIST)
                    return -errno;
                fd = open_in_root(rootfd, p, O_PATH | O_DIRECTORY, 0);
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

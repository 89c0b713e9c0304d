/* init_detect: read where a rootfs's init really is. The tree is untrusted:
 * the path is resolved with openat2(RESOLVE_IN_ROOT), so an absolute or
 * ../ symlink in it stays inside, and only the name of what it resolves to
 * is read (nothing is opened for reading or executed). */
#include "runtime/init_detect.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/inroot.h"

int lxm_init_detect_halt(const char *rootfs, const char *init, int *halt)
{
    if (!rootfs || !init)
        return 0;
    _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return 0;
    _cleanup_close_ int fd = lxm_open_in_root(rootfd, init, O_PATH, 0);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    char link[64], target[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    if (strcmp(base, "systemd") == 0) {
        *halt = SIGRTMIN + 3;
        return 1;
    }
    return 0;
}

/* ---- systemd's version --------------------------------------------------------- */

/* N of the libsystemd-shared-N.so beside the systemd binary (systemd 231
 * and newer ship it), 0 when there is none. */
static int shared_lib_version(const char *dir)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;
    int v = 0;
    while (d && (de = readdir(d))) {
        int n = 0;
        if (sscanf(de->d_name, "libsystemd-shared-%d", &n) == 1 && n > v)
            v = n;
    }
    return v;
}

/* The "systemd NNN" version string in the binary itself (older systemd
 * has no shared library), 0 when it is not found in the first 16 MiB. */
static int binary_version(const char *path)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    static const char tag[] = "systemd ";
    char buf[65536 + sizeof(tag) + 4];
    size_t keep = 0;
    for (int chunk = 0; fd >= 0 && chunk < 256; chunk++) {
        ssize_t n = read(fd, buf + keep, sizeof(buf) - keep - 1);
        if (n <= 0)
            break;
        size_t len = keep + (size_t)n;
        buf[len] = '\0';
        for (size_t i = 0; i + sizeof(tag) + 3 <= len; i++) {
            const char *p = buf + i + sizeof(tag) - 1;
            if (memcmp(buf + i, tag, sizeof(tag) - 1) != 0 || !isdigit((unsigned char)p[0]) ||
                !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]))
                continue;
            char after = p[3];
            if (after == '\0' || after == ' ' || after == '\n' || after == '.' || after == '~')
                return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
        }
        keep = len < sizeof(tag) + 3 ? len : sizeof(tag) + 3;
        memmove(buf, buf + len - keep, keep);
    }
    return 0;
}

int lxm_init_check_cgroup2(const char *init, struct lxm_error *err)
{
    char target[PATH_MAX];
    if (!realpath(init, target))
        return 0;
    char *slash = strrchr(target, '/');
    if (!slash || strcmp(slash + 1, "systemd") != 0)
        return 0;
    *slash = '\0';
    int v = shared_lib_version(target[0] ? target : "/");
    *slash = '/';
    if (v == 0)
        v = binary_version(target);
    if (v == 0 || v >= LXM_SYSTEMD_MIN_CGROUP2)
        return 0;
    return lxm_error_set(err, ENOTSUP,
                         "%s is systemd %d, too old for the cgroup2 hierarchy lxm gives a "
                         "container (it needs systemd %d or newer: Debian 9, Ubuntu 18.04, "
                         "CentOS 8 and later)", init, v, LXM_SYSTEMD_MIN_CGROUP2);
}

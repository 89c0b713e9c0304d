/* init_detect: which init a rootfs boots. The tree is untrusted: the path
 * is resolved with openat2(RESOLVE_IN_ROOT), so an absolute or ../ symlink
 * in it stays inside; the name of what it resolves to is read, and, when
 * that says nothing, the bytes of that regular file (never run). */
#include "runtime/init_detect.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/inroot.h"

const char *lxm_init_kind_name(enum lxm_init_kind kind)
{
    switch (kind) {
    case LXM_INIT_SYSTEMD: return "systemd";
    case LXM_INIT_SYSVINIT: return "sysvinit";
    case LXM_INIT_SYSVINIT_OPENRC: return "openrc";
    case LXM_INIT_OPENRC: return "openrc-init";
    case LXM_INIT_BUSYBOX: return "busybox";
    case LXM_INIT_UNKNOWN: break;
    }
    return "unknown";
}

/* What each init does on a signal from outside (SIGRTMIN is no constant):
 * systemd halts on SIGRTMIN+3 and reboots on SIGINT; sysvinit runs
 * inittab's powerwait entry on SIGPWR (a halt once lxm_inittab_adapt()
 * made it one) and its ctrlaltdel entry on SIGINT; openrc-init halts on
 * SIGPWR and reboots on SIGINT; busybox init powers off on SIGUSR2 and
 * reboots on SIGTERM, whatever its inittab says. */
static void signals_of(struct lxm_init_info *i)
{
    switch (i->kind) {
    case LXM_INIT_SYSTEMD: i->halt = SIGRTMIN + 3, i->reboot = SIGINT; break;
    case LXM_INIT_SYSVINIT:
    case LXM_INIT_SYSVINIT_OPENRC:
    case LXM_INIT_OPENRC: i->halt = SIGPWR, i->reboot = SIGINT; break;
    case LXM_INIT_BUSYBOX: i->halt = SIGUSR2, i->reboot = SIGTERM; break;
    case LXM_INIT_UNKNOWN: i->halt = i->reboot = 0; break;
    }
}

/* What a binary says of itself, in its first 16 MiB. */
static const struct {
    const char *text;
    enum lxm_init_kind kind;
} markers[] = {
    { "INIT_VERSION=sysvinit", LXM_INIT_SYSVINIT },
    { "OpenRC init version", LXM_INIT_OPENRC },
    { "BusyBox v", LXM_INIT_BUSYBOX },
};
#define MARKER_OVERLAP 31 /* longer than every marker */

static enum lxm_init_kind kind_of_content(int fd)
{
    char buf[65536 + MARKER_OVERLAP];
    size_t keep = 0, total = 0;
    while (total < (16u << 20)) {
        ssize_t n = read(fd, buf + keep, sizeof(buf) - keep);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t len = keep + (size_t)n;
        total += (size_t)n;
        for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
            if (memmem(buf, len, markers[i].text, strlen(markers[i].text)))
                return markers[i].kind;
        keep = len < MARKER_OVERLAP ? len : MARKER_OVERLAP;
        memmove(buf, buf + len - keep, keep);
    }
    return LXM_INIT_UNKNOWN;
}

static enum lxm_init_kind kind_of_name(const char *base)
{
    if (strcmp(base, "systemd") == 0)
        return LXM_INIT_SYSTEMD;
    if (strcmp(base, "busybox") == 0)
        return LXM_INIT_BUSYBOX;
    if (strcmp(base, "openrc-init") == 0)
        return LXM_INIT_OPENRC;
    return LXM_INIT_UNKNOWN;
}

static bool is_file_in(int rootfd, const char *path)
{
    _cleanup_close_ int fd = lxm_open_in_root(rootfd, path, O_PATH, 0);
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

int lxm_init_detect(const char *rootfs, const char *init, struct lxm_init_info *out)
{
    *out = (struct lxm_init_info){ 0 };
    if (!rootfs || !init)
        return 0;
    _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return 0;
    /* O_NONBLOCK: a FIFO planted as init cannot hang the open. */
    _cleanup_close_ int fd = lxm_open_in_root(rootfd, init, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
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
    enum lxm_init_kind kind = kind_of_name(base ? base + 1 : target);
    if (kind == LXM_INIT_UNKNOWN)
        kind = kind_of_content(fd);
    if (kind == LXM_INIT_SYSVINIT &&
        (is_file_in(rootfd, "/sbin/openrc") || is_file_in(rootfd, "/usr/sbin/openrc")))
        kind = LXM_INIT_SYSVINIT_OPENRC;
    out->kind = kind;
    signals_of(out);
    return kind != LXM_INIT_UNKNOWN;
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

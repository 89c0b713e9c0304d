/* lxcfs: bind LXCFS's /proc views into a container (see lxcfs.h). */
#include "runtime/lxcfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "config/config.h"
#include "util/cleanup.h"
#include "util/inroot.h"
#include "util/io.h"
#include "util/log.h"

#define FUSE_MAGIC 0x65735546

#define LXCFS_VIEWS 8

const char *const lxm_lxcfs_files[LXCFS_VIEWS + 1] = {
    "proc/meminfo", "proc/cpuinfo",   "proc/stat",  "proc/uptime",
    "proc/loadavg", "proc/diskstats", "proc/swaps", "sys/devices/system/cpu/online",
    NULL,
};

bool lxm_lxcfs_off(const char *value)
{
    return value &&
           (strcmp(value, "false") == 0 || strcmp(value, "off") == 0 || strcmp(value, "no") == 0);
}

int lxm_lxcfs_probe(const char *dir, struct lxm_error *err)
{
    struct statfs sf;
    if (statfs(dir, &sf) < 0) {
        if (errno == ENOTCONN)
            return lxm_error_set(err, ENOTCONN, "lxcfs: %s: its daemon is gone", dir);
        return lxm_error_errno(err, errno, "lxcfs: %s", dir);
    }
    if ((unsigned long)sf.f_type != FUSE_MAGIC)
        return lxm_error_set(err, ENOENT, "lxcfs: nothing is mounted on %s", dir);
    char file[4200];
    snprintf(file, sizeof(file), "%s/proc/meminfo", dir);
    struct stat st;
    if (stat(file, &st) < 0) {
        if (errno == ENOTCONN)
            return lxm_error_set(err, ENOTCONN, "lxcfs: %s: its daemon is gone", dir);
        return lxm_error_errno(err, errno, "lxcfs: %s", file);
    }
    if (!S_ISREG(st.st_mode))
        return lxm_error_set(err, ENOENT, "lxcfs: %s is not an lxcfs mount", dir);
    return 0;
}

/* The configured mount point in *dir, NULL when turned off; -ENOMEM. */
static int lxcfs_dir(const struct lxm_paths *paths, char **dir)
{
    const struct lxm_global *g;
    struct lxm_error e = {0};
    const char *want = LXM_LXCFS_DEFAULT;
    if (lxm_paths_global(paths, &g, &e) < 0)
        lxm_debug("lxcfs: %s; trying %s", e.msg, want);
    else if (g->lxcfs)
        want = lxm_lxcfs_off(g->lxcfs) ? NULL : g->lxcfs;
    *dir = want ? strdup(want) : NULL;
    return want && !*dir ? -ENOMEM : 0;
}

/* A detached copy of dir/rel, nosuid,nodev,noexec; fd or -errno. */
static int clone_view(const char *dir, const char *rel)
{
    char src[4200];
    snprintf(src, sizeof(src), "%s/%s", dir, rel);
    _cleanup_close_ int mfd = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (mfd < 0)
        return -errno;
    struct mount_attr a = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
    if (mount_setattr(mfd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
        return -errno;
    return TAKE_FD(mfd);
}

int lxm_lxcfs_send(const struct lxm_paths *paths, int sock)
{
    _cleanup_free_ char *dir = NULL;
    if (lxcfs_dir(paths, &dir) < 0)
        return -ENOMEM;
    struct lxm_error e = {0};
    int fds[LXCFS_VIEWS];
    unsigned char mask = 0;
    if (!dir)
        lxm_debug("lxcfs: turned off in the global config");
    else if (lxm_lxcfs_probe(dir, &e) < 0)
        lxm_debug("%s: host values in /proc", e.msg);
    for (size_t i = 0; dir && !e.code && i < LXCFS_VIEWS; i++) {
        fds[i] = clone_view(dir, lxm_lxcfs_files[i]);
        if (fds[i] >= 0)
            mask |= (unsigned char)(1u << i);
        else
            lxm_debug("lxcfs: %s/%s: %s", dir, lxm_lxcfs_files[i], strerror(-fds[i]));
    }
    int r = lxm_write_all(sock, &mask, 1);
    for (size_t i = 0; i < LXCFS_VIEWS; i++) {
        if (!(mask & (1u << i)))
            continue;
        if (r == 0)
            r = lxm_send_fd(sock, fds[i]);
        close(fds[i]);
    }
    return r;
}

int lxm_lxcfs_setup(int rootfd, int sock, struct lxm_error *err)
{
    unsigned char mask = 0;
    if (read(sock, &mask, 1) != 1)
        return lxm_error_set(err, EIO, "lxcfs: no word from the monitor");
    int n = 0;
    char skipped[512] = "";
    for (size_t i = 0; i < LXCFS_VIEWS; i++) {
        if (!(mask & (1u << i)))
            continue;
        _cleanup_close_ int mfd = lxm_recv_fd(sock);
        if (mfd < 0)
            return lxm_error_errno(err, -mfd, "lxcfs: receive /%s", lxm_lxcfs_files[i]);
        const char *rel = lxm_lxcfs_files[i];
        _cleanup_close_ int target = lxm_open_in_root(rootfd, rel, O_PATH | O_NOFOLLOW, 0);
        if (target >= 0 && move_mount(mfd, "", target, "",
                                      MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) == 0) {
            n++;
            continue;
        }
        size_t len = strlen(skipped);
        snprintf(skipped + len, sizeof(skipped) - len, " /%s (%s)", rel,
                 strerror(target < 0 ? -target : errno));
    }
    if (mask)
        lxm_debug("lxcfs: %d views bound%s%s", n, *skipped ? "; not bound:" : "", skipped);
    return 0;
}

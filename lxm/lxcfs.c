/* lxcfs: bind LXCFS's /proc views into a container (see lxcfs.h). */
#include "lxcfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "config.h"
#include "runtime-internal.h"
#include "util/cleanup.h"
#include "util/log.h"

#define FUSE_MAGIC 0x65735546

const char *const lxm_lxcfs_files[] = {
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
    if (statfs(dir, &sf) < 0)
        return lxm_error_errno(err, errno, "lxcfs: %s", dir);
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

/* The configured mount point, or NULL when turned off. */
static char *lxcfs_dir(const struct lxm_paths *paths)
{
    struct lxm_global *g = NULL;
    struct lxm_error e = {0};
    if (lxm_global_load(paths->global_config, &g, &e) < 0) {
        lxm_debug("lxcfs: %s; trying %s", e.msg, LXM_LXCFS_DEFAULT);
        return strdup(LXM_LXCFS_DEFAULT);
    }
    char *dir = NULL;
    if (!lxm_lxcfs_off(g->lxcfs))
        dir = strdup(g->lxcfs ? g->lxcfs : LXM_LXCFS_DEFAULT);
    lxm_global_free(g);
    return dir;
}

static int bind_one(int rootfd, const char *dir, const char *rel)
{
    char src[4200];
    snprintf(src, sizeof(src), "%s/%s", dir, rel);
    _cleanup_close_ int target = lxm_rootfs_open_in_root(rootfd, rel, O_PATH | O_NOFOLLOW);
    if (target < 0)
        return target;
    _cleanup_close_ int mfd = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (mfd < 0)
        return -errno;
    struct mount_attr a = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
    if (mount_setattr(mfd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
        return -errno;
    if (move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return -errno;
    return 0;
}

int lxm_lxcfs_setup(int rootfd, const struct lxm_paths *paths)
{
    _cleanup_free_ char *dir = lxcfs_dir(paths);
    if (!dir) {
        lxm_debug("lxcfs: turned off in the global config");
        return 0;
    }
    struct lxm_error e = {0};
    if (lxm_lxcfs_probe(dir, &e) < 0) {
        lxm_debug("%s: host values in /proc", e.msg);
        return 0;
    }
    int n = 0;
    char skipped[512] = "";
    for (size_t i = 0; lxm_lxcfs_files[i]; i++) {
        int r = bind_one(rootfd, dir, lxm_lxcfs_files[i]);
        if (r == 0) {
            n++;
            continue;
        }
        size_t len = strlen(skipped);
        snprintf(skipped + len, sizeof(skipped) - len, " %s (%s)", lxm_lxcfs_files[i],
                 strerror(-r));
    }
    lxm_debug("lxcfs: %d views from %s bound%s%s", n, dir, *skipped ? "; not bound:" : "", skipped);
    return n;
}

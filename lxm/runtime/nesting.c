/* nesting.c: what security.nesting (the `nesting` profile) adds so that
 * container runtimes inside the container (lxm, podman, docker) work in a
 * user namespace of their own, and nothing else:
 *
 *  - a proc and a sysfs with nothing mounted over them, under /dev/.lxm/
 *    (mode 0700). A runtime inside mounts proc and sysfs for its own
 *    containers; in a user namespace the kernel allows that only while
 *    some proc (sysfs) of the mount namespace is fully visible, and the
 *    container's /proc and /sys are not (masked and read-only paths, the
 *    boot id). These two are read-write: the user namespace still decides
 *    what container root may write there (its own network, IPC and UTS
 *    knobs).
 *  - on cgroup v1 hierarchies (hybrid and legacy hosts) the container's
 *    own directory of each hierarchy, handed to container root like the
 *    cgroup2 subtree always is, and bound on /dev/.lxm/cgroup/CONTROLLERS,
 *    so an lxm inside can create cgroups with limits for its containers.
 *    The devices hierarchy is left out: writing its rules needs host
 *    privileges, and the container's own rules already bound every process
 *    below it. So is release_agent: only a hierarchy's root has one.
 */
#include "runtime/nesting.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define NEST_ATTRS (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

/* v1 hierarchies handed over: those whose options name one of these. */
static const char *const delegated_v1[] = {"pids",   "memory",  "cpu",  "cpuacct",
                                           "cpuset", "freezer", "blkio"};

static bool opts_word(const char *opts, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = opts; p && *p; p = strchr(p, ','), p = p ? p + 1 : NULL)
        if (strncmp(p, word, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

static bool v1_delegated(const struct lxm_cg_hier *h)
{
    if (h->ops->version != 1 || opts_word(h->opts, "devices"))
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(delegated_v1); i++)
        if (opts_word(h->opts, delegated_v1[i]))
            return true;
    return false;
}

int lxm_nesting_delegate(struct lxm_cgroup *cg, uid_t uid, gid_t gid, struct lxm_error *err)
{
    static const char *const files[] = {"", "cgroup.procs", "tasks"};
    for (int i = 0; i < cg->n; i++) {
        if (!v1_delegated(&cg->h[i]))
            continue;
        /* cpu or cpuset without a limit: no directory of its own yet
         * (cgroup-lazy.c); the lxm inside needs one, and init (joining
         * now) moves in with it. */
        int r = access(cg->h[i].dir, F_OK) < 0 && lxm_cg_lazy(&cg->h[i])
                    ? lxm_cg_lazy_make(cg, &cg->h[i], err)
                    : 0;
        if (r < 0)
            return lxm_error_prefix(err, "nesting");
        for (size_t k = 0; k < ARRAY_SIZE(files); k++) {
            _cleanup_free_ char *path =
                *files[k] ? xasprintf("%s/%s", cg->h[i].dir, files[k]) : strdup(cg->h[i].dir);
            if (!path)
                return lxm_error_errno(err, ENOMEM, "nesting: chown");
            if (chown(path, uid, gid) < 0)
                return lxm_error_errno(err, errno, "nesting: chown %s", path);
        }
    }
    return 0;
}

static int mkdir_at(int dirfd, const char *name, mode_t mode, const char *where,
                    struct lxm_error *err)
{
    if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
        return lxm_error_errno(err, errno, "nesting: mkdir %s", where);
    int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "nesting: open %s", where);
    return fd;
}

/* A fresh instance of type on dirfd/name. */
static int mount_fresh(int dirfd, const char *name, const char *type, const char *where,
                       struct lxm_error *err)
{
    _cleanup_close_ int t = mkdir_at(dirfd, name, 0755, where, err);
    if (t < 0)
        return t;
    _cleanup_close_ int fs = fsopen(type, FSOPEN_CLOEXEC);
    if (fs < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return lxm_error_errno(err, errno, "nesting: mount %s on %s", type, where);
    _cleanup_close_ int m = fsmount(fs, FSMOUNT_CLOEXEC, NEST_ATTRS);
    if (m < 0 || move_mount(m, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return lxm_error_errno(err, errno, "nesting: mount %s on %s", type, where);
    return 0;
}

/* h's container directory (a path of the host's mounts, still reachable
 * before pivot_root) on cgdir/OPTS. */
static int bind_one(int cgdir, const struct lxm_cg_hier *h, struct lxm_error *err)
{
    _cleanup_free_ char *where = xasprintf("/dev/.lxm/cgroup/%s", h->opts);
    if (!where)
        return lxm_error_errno(err, ENOMEM, "nesting");
    _cleanup_close_ int t = mkdir_at(cgdir, h->opts, 0755, where, err);
    if (t < 0)
        return t;
    _cleanup_close_ int m = open_tree(AT_FDCWD, h->dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    struct mount_attr a = {.attr_set = NEST_ATTRS};
    if (m < 0 || mount_setattr(m, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0 ||
        move_mount(m, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return lxm_error_errno(err, errno, "nesting: bind %s on %s", h->dir, where);
    return 0;
}

/* Each delegated v1 hierarchy's container directory under dirfd/cgroup. */
static int bind_v1(int dirfd, const char *container_id, struct lxm_error *err)
{
    struct lxm_cgroup *cg = NULL;
    int r = lxm_cgroup_open(container_id, &cg, err);
    if (r < 0)
        return lxm_error_prefix(err, "nesting");
    _cleanup_close_ int cgdir = -1;
    for (int i = 0; i < cg->n && r == 0; i++) {
        if (!v1_delegated(&cg->h[i]))
            continue;
        if (cgdir < 0)
            cgdir = r = mkdir_at(dirfd, "cgroup", 0755, "/dev/.lxm/cgroup", err);
        if (r >= 0)
            r = bind_one(cgdir, &cg->h[i], err);
    }
    lxm_cgroup_free(cg);
    return r < 0 ? r : 0;
}

int lxm_nesting_mounts(int rootfd, const char *container_id, struct lxm_error *err)
{
    _cleanup_close_ int dev = openat(rootfd, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dev < 0)
        return lxm_error_errno(err, errno, "nesting: open /dev");
    _cleanup_close_ int dir = mkdir_at(dev, ".lxm", 0700, "/dev/.lxm", err);
    if (dir < 0)
        return dir;
    int r = mount_fresh(dir, "proc", "proc", "/dev/.lxm/proc", err);
    if (r == 0)
        r = mount_fresh(dir, "sys", "sysfs", "/dev/.lxm/sys", err);
    if (r == 0)
        r = bind_v1(dir, container_id, err);
    return r;
}

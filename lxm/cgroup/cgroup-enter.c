/* cgroup-enter: a new process into a container's cgroups (cgroup-enter.h
 * says how and why). */
#include "cgroup/cgroup-enter.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

_Static_assert(LXM_CG_MAX_HIER <= 16, "struct lxm_cgroup_entry holds 16 hierarchies");

/* Controllers enabled below dir: then no process may live in it. */
static bool has_subtree_controllers(int dirfd)
{
    char buf[256];
    _cleanup_close_ int fd = openat(dirfd, "cgroup.subtree_control", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
    return n > 0 && buf[0] != '\n';
}

/* *out: the directory for clone3, or -1 when the container has none on
 * this hierarchy. */
static int open_v2(const char *dir, int *out, struct lxm_error *err)
{
    *out = -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s", dir);
    if (!has_subtree_controllers(fd)) {
        *out = fd;
        return 0;
    }
    close(fd);
    _cleanup_free_ char *leaf = xasprintf("%s/lxm-attach", dir);
    if (!leaf)
        return lxm_error_errno(err, ENOMEM, "cgroup");
    if (mkdir(leaf, 0755) < 0 && errno != EEXIST)
        return lxm_error_errno(err, errno, "mkdir %s", leaf);
    *out = open(leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return *out >= 0 ? 0 : lxm_error_errno(err, errno, "open %s", leaf);
}

/* The tasks file of h for a process of the container: its own
 * directory's, or PARENT's in a lazy hierarchy where it has none. */
static int open_tasks(struct lxm_cgroup *cg, const struct lxm_cg_hier *h)
{
    _cleanup_free_ char *tasks = xasprintf("%s/tasks", h->dir);
    if (!tasks)
        return -ENOMEM;
    int fd = open(tasks, O_WRONLY | O_CLOEXEC);
    if (fd >= 0 || errno != ENOENT || access(h->dir, F_OK) == 0)
        return fd >= 0 ? fd : -errno;
    _cleanup_free_ char *top = lxm_cg_lazy(h) ? lxm_cg_top(cg, h) : NULL;
    _cleanup_free_ char *top_tasks = top ? xasprintf("%s/tasks", top) : NULL;
    fd = top_tasks ? open(top_tasks, O_WRONLY | O_CLOEXEC) : -1;
    return fd >= 0 ? fd : -ENOENT;
}

static int entry_open(struct lxm_cgroup *cg, struct lxm_cgroup_entry *e, bool v2,
                      struct lxm_error *err)
{
    memset(e, 0, sizeof(*e));
    e->v2_dir = -1;
    e->lock_fd = -1;
    if (lxm_cg_has_lazy(cg)) {
        e->lock_fd = lxm_cg_lazy_lock(cg, LOCK_SH);
        if (e->lock_fd < 0 && e->lock_fd != -ENOENT)
            return lxm_error_errno(err, -e->lock_fd, "lock the cgroup of %s", cg->name);
        e->lock_fd = e->lock_fd < 0 ? -1 : e->lock_fd;
    }
    for (int i = 0; i < cg->n; i++) {
        const char *dir = cg->h[i].dir;
        if (cg->h[i].ops->version == 2) {
            int r = v2 ? open_v2(dir, &e->v2_dir, err) : 0;
            if (r < 0) {
                lxm_cgroup_entry_close(e);
                return r;
            }
            continue;
        }
        int fd = open_tasks(cg, &cg->h[i]);
        if (fd == -ENOENT)
            continue; /* not in this hierarchy */
        if (fd < 0) {
            int r = lxm_error_errno(err, -fd, "open %s/tasks", dir);
            lxm_cgroup_entry_close(e);
            return r;
        }
        e->v1_dir[e->n_v1] = dir;
        e->v1_tasks[e->n_v1++] = fd;
    }
    return 0;
}

int lxm_cgroup_entry_open(struct lxm_cgroup *cg, struct lxm_cgroup_entry *e, struct lxm_error *err)
{
    return entry_open(cg, e, true, err);
}

int lxm_cgroup_entry_open_v1(struct lxm_cgroup *cg, struct lxm_cgroup_entry *e,
                             struct lxm_error *err)
{
    return entry_open(cg, e, false, err);
}

int lxm_cgroup_entry_join_v1(const struct lxm_cgroup_entry *e, struct lxm_error *err)
{
    for (int i = 0; i < e->n_v1; i++) {
        ssize_t w = write(e->v1_tasks[i], "0", 1);
        if (w != 1)
            return lxm_error_errno(err, w < 0 ? errno : EIO, "join %s", e->v1_dir[i]);
    }
    /* The lock belongs to the open file, shared with the opener: released
     * for both. */
    if (e->lock_fd >= 0)
        (void)flock(e->lock_fd, LOCK_UN);
    return 0;
}

void lxm_cgroup_entry_close(struct lxm_cgroup_entry *e)
{
    for (int i = 0; i < e->n_v1; i++)
        if (e->v1_tasks[i] >= 0)
            close(e->v1_tasks[i]);
    if (e->v2_dir >= 0)
        close(e->v2_dir);
    if (e->lock_fd >= 0)
        close(e->lock_fd);
    e->n_v1 = 0;
    e->v2_dir = -1;
    e->lock_fd = -1;
}

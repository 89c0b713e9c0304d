/* cgroup-lazy: the v1 hierarchies where a container gets a directory only
 * when one of its limits needs it (cgroup-internal.h says which), or
 * never (name=systemd, controllers lxm does not use). Until then its
 * processes live in the shared parent there (PARENT/, like lxm/): out of
 * the cgroup of whoever started it, as before; a live `config set` that
 * sets such a limit makes the directory and moves every process of the
 * container into it.
 *
 * The move must miss nobody: a process forking meanwhile, or one joining
 * the container (an attach, a rebooted init) that opened the parent's
 * tasks file just before the directory appeared. So the container is
 * frozen while its processes move (its freezer; a user's freeze is kept),
 * and every joiner holds a shared flock() on the container's anchor
 * directory from choosing its tasks files until it has joined them, which
 * the mover takes exclusively before it makes the directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define MOVE_PASSES 100

bool lxm_cg_lazy(const struct lxm_cg_hier *h)
{
    const unsigned lazy = LXM_CG_ROLE(LXM_CG_CPU) | LXM_CG_ROLE(LXM_CG_CPUSET);
    return h->ops->version == 1 && !(h->roles & ~lazy);
}

bool lxm_cg_has_lazy(const struct lxm_cgroup *cg)
{
    for (int i = 0; i < cg->n; i++)
        if (lxm_cg_lazy(&cg->h[i]))
            return true;
    return false;
}

char *lxm_cg_top(const struct lxm_cgroup *cg, const struct lxm_cg_hier *h)
{
    return strndup(h->dir, strlen(h->dir) - strlen(cg->name) - 1);
}

/* The directory every process of the container is in (and that is never
 * lazy): the freezer's, else the cgroup2 one, else any other. */
static const struct lxm_cg_hier *anchor(const struct lxm_cgroup *cg)
{
    if (cg->role[LXM_CG_FREEZER] >= 0)
        return &cg->h[cg->role[LXM_CG_FREEZER]];
    if (cg->v2 >= 0)
        return &cg->h[cg->v2];
    for (int i = 0; i < cg->n; i++)
        if (!lxm_cg_lazy(&cg->h[i]))
            return &cg->h[i];
    return NULL;
}

int lxm_cg_lazy_lock(const struct lxm_cgroup *cg, int op)
{
    const struct lxm_cg_hier *a = anchor(cg);
    if (!a)
        return -ENOENT;
    int fd = open(a->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    while (flock(fd, op) < 0) {
        if (errno != EINTR) {
            int r = -errno;
            close(fd);
            return r;
        }
    }
    return fd;
}

struct move {
    const char *to;   /* cgroup.procs of this directory */
    char *there;      /* its cgroup.procs as read before the pass */
    int moved, error;
};

static bool listed(const char *procs, pid_t pid)
{
    char key[24];
    int n = snprintf(key, sizeof(key), "%d\n", (int)pid);
    for (const char *p = procs; p && (p = strstr(p, key)); p += n)
        if (p == procs || p[-1] == '\n')
            return true;
    return false;
}

static void move_one(pid_t pid, void *data)
{
    struct move *m = data;
    if (listed(m->there, pid))
        return;
    char buf[24];
    snprintf(buf, sizeof(buf), "%d", (int)pid);
    struct lxm_error e = {0};
    int r = lxm_cg_write(m->to, "cgroup.procs", buf, &e);
    if (r == 0)
        m->moved++;
    else if (r != -ESRCH && !m->error)
        m->error = r; /* ESRCH: it exited meanwhile */
}

/* Every process below from (recursively) into to, pass after pass until a
 * pass finds nobody left behind. 0 or -errno. */
static int move_all(const char *from, const char *to)
{
    for (int pass = 0; pass < MOVE_PASSES; pass++) {
        struct move m = {.to = to};
        int r = lxm_cg_read(to, "cgroup.procs", &m.there);
        if (r == 0)
            r = lxm_cg_for_each_pid(from, move_one, &m);
        free(m.there);
        if (r < 0)
            return r;
        if (m.error)
            return m.error;
        if (m.moved == 0)
            return 0;
    }
    return -EAGAIN;
}

/* Under the exclusive lock: freeze (unless frozen already), move, thaw. */
static int fill_dir(struct lxm_cgroup *cg, const struct lxm_cg_hier *h, struct lxm_error *err)
{
    const struct lxm_cg_hier *a = anchor(cg);
    bool froze = false;
    if (cg->role[LXM_CG_FREEZER] >= 0 && lxm_cgroup_is_frozen(cg) == 0) {
        int r = lxm_cgroup_freeze(cg, true, err);
        if (r < 0)
            return lxm_error_prefix(err, "move the container's processes into %s", h->dir);
        froze = true;
    }
    int r = move_all(a->dir, h->dir);
    if (froze)
        (void)lxm_cgroup_freeze(cg, false, NULL);
    if (r < 0)
        return lxm_error_errno(err, -r, "move the processes of %s into %s", a->dir, h->dir);
    return 0;
}

int lxm_cg_lazy_make(struct lxm_cgroup *cg, const struct lxm_cg_hier *h, struct lxm_error *err)
{
    _cleanup_free_ char *top = lxm_cg_top(cg, h);
    if (!top)
        return lxm_error_errno(err, ENOMEM, "cgroup");
    int lock = lxm_cg_lazy_lock(cg, LOCK_EX);
    if (lock < 0)
        return lxm_error_errno(err, -lock, "%s: find the container's processes", h->dir);
    int r = 0;
    if (mkdir(h->dir, 0755) < 0 && errno != EEXIST)
        r = lxm_error_errno(err, errno, "mkdir %s", h->dir);
    if (r == 0)
        r = h->ops->prepare_dir(h, top, h->dir, err);
    if (r == 0)
        r = fill_dir(cg, h, err);
    if (r < 0) {
        /* Back where they were, and no directory. */
        (void)move_all(h->dir, top);
        (void)rmdir(h->dir);
    }
    close(lock);
    return r;
}

/* cgroup-warm.c: start the wait of a v1 attach early, and attach in the
 * background (see cgroup.h: lxm_cgroup_warm_attach, lxm_cgroup_attach_job).
 *
 * Every write of a pid to a v1 cgroup.procs takes the kernel's global
 * cgroup threadgroup lock as a writer. That lock is a per-CPU rwsem: after
 * a quiet spell its first writer waits one RCU grace period (several
 * milliseconds, more on a busy host) for the readers to switch to the slow
 * path; writers that come within about a grace period of the last one do
 * not wait. The monitor's attach of init comes a few milliseconds into a
 * start, after the configuration is read and the cgroups are made: a
 * throwaway thread that moves itself (only itself) begins that wait at
 * once, and the attach then waits only for what is left of it. The
 * monitor's attach itself runs in a helper process that does the same
 * first, while the monitor goes on with the child's network, id map and
 * rootfs; the child is released only once it is in every hierarchy. A
 * process, not a thread: the monitor clones the child with clone3, which
 * runs no fork handlers, and glibc in a child of a threaded process waits
 * forever for the other threads at its first setresgid(). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* A hierarchy for the throwaway move: v1, with a controller (not a named
 * one such as name=systemd). */
static bool warm_hierarchy(int version, const char *opts)
{
    return version == 1 && opts && strncmp(opts, "name=", 5) != 0;
}

/* Move the calling thread (only it) into the cgroup dir of a v1
 * hierarchy: the kernel takes its writer lock as for any attach. */
static void move_self_to(const char *dir)
{
    char path[4096], tid[32];
    int n = snprintf(tid, sizeof(tid), "%d", (int)gettid());
    if ((size_t)snprintf(path, sizeof(path), "%s/tasks", dir) >= sizeof(path))
        return;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        /* Best effort: a refusal only means the attach waits in full. */
        (void)!write(fd, tid, (size_t)n);
        close(fd);
    }
}

/* Our own cgroup in the hierarchy with these controllers ("cpu,cpuacct"),
 * from /proc/self/cgroup, below mount; NULL if it does not say. */
static char *own_cgroup_dir(const char *mount, const char *opts)
{
    _cleanup_free_ char *text = NULL;
    if (read_file("/proc/thread-self/cgroup", &text, NULL) < 0)
        return NULL;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *ctrl = strchr(line, ':');
        char *path = ctrl ? strchr(ctrl + 1, ':') : NULL;
        if (!path)
            continue;
        *path++ = '\0';
        if (strcmp(ctrl + 1, opts) == 0 && path[0] == '/')
            return xasprintf("%s%s", mount, strcmp(path, "/") == 0 ? "" : path);
    }
    return NULL;
}

/* The start command's thread: a move into the cgroup it is in already,
 * which moves nothing but takes the lock all the same. */
static void move_self(void)
{
    struct lxm_cg_layout l = {.n = 0};
    if (lxm_cg_layout_detect(&l, NULL) < 0)
        return;
    for (int i = 0; i < l.n; i++)
        if (warm_hierarchy(l.m[i].version, l.m[i].opts)) {
            _cleanup_free_ char *dir = own_cgroup_dir(l.m[i].path, l.m[i].opts);
            if (dir)
                move_self_to(dir);
            break;
        }
    lxm_cg_layout_clear(&l);
}

static void *warm_thread(void *arg)
{
    (void)arg;
    move_self();
    return NULL;
}

void lxm_cgroup_warm_attach(void)
{
    pthread_attr_t attr;
    pthread_t t;
    if (pthread_attr_init(&attr) != 0)
        return;
    /* Detached: nobody waits for it; if the command ends first, its exit
     * waits at most for the grace period the thread is in. */
    if (pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
        pthread_attr_setstacksize(&attr, 256 * 1024) == 0)
        (void)pthread_create(&t, &attr, warm_thread, NULL);
    pthread_attr_destroy(&attr);
}

/* --- the monitor's attach job ------------------------------------------------ */

struct lxm_cgroup_attach_job {
    struct lxm_cgroup *cg;
    pid_t helper;            /* -1: none, end attaches in the caller */
    int to_fd, from_fd;      /* the request to it, its result */
    bool told;
    pid_t pid;               /* 0: nothing to attach */
    bool cloned;
};

struct job_request {
    pid_t pid;
    bool cloned;
};

struct job_result {
    int r;
    struct lxm_error err;
};

static int job_attach(struct lxm_cgroup *cg, pid_t pid, bool cloned, struct lxm_error *err)
{
    return cloned ? lxm_cgroup_attach_cloned(cg, pid, err) : lxm_cgroup_attach(cg, pid, err);
}

static bool io_full(int fd, void *buf, size_t len, bool out)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = out ? write(fd, p, len) : read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* The helper: the warming move, then the attach it is asked for (or none
 * when the request pipe closes), its result back, and out. */
static _Noreturn void helper_main(struct lxm_cgroup *cg, const char *warm_dir, int in, int out)
{
    unsigned lo = (unsigned)(in < out ? in : out), hi = (unsigned)(in < out ? out : in);
    if (lo > 3)
        close_range(3, lo - 1, 0);
    if (hi > lo + 1)
        close_range(lo + 1, hi - 1, 0);
    close_range(hi + 1, ~0U, 0);
    if (warm_dir)
        move_self_to(warm_dir);
    struct job_request req;
    if (!io_full(in, &req, sizeof(req), false) || req.pid <= 0)
        _exit(0);
    struct job_result *res = calloc(1, sizeof(*res));
    if (!res)
        _exit(1);
    res->r = job_attach(cg, req.pid, req.cloned, &res->err);
    _exit(io_full(out, res, sizeof(*res), true) ? 0 : 1);
}

int lxm_cgroup_attach_begin(struct lxm_cgroup *cg, struct lxm_cgroup_attach_job **out)
{
    struct lxm_cgroup_attach_job *j = calloc(1, sizeof(*j));
    *out = j;
    if (!j)
        return -ENOMEM;
    *j = (struct lxm_cgroup_attach_job){.cg = cg, .helper = -1, .to_fd = -1, .from_fd = -1};
    /* The helper moves itself to lxm's own parent of the container's
     * cgroup (it exists: the container's is in it). */
    _cleanup_free_ char *warm_dir = NULL;
    bool v1 = false;
    for (int i = 0; i < cg->n; i++) {
        v1 = v1 || cg->h[i].ops->version == 1;
        if (!warm_dir && warm_hierarchy(cg->h[i].ops->version, cg->h[i].opts))
            warm_dir = strndup(cg->h[i].dir, strlen(cg->h[i].dir) - strlen(cg->name) - 1);
    }
    /* Pure v2: clone3 puts init in its cgroup, and nothing is left to do. */
    int to[2], from[2];
    if (!v1 || pipe2(to, O_CLOEXEC) < 0)
        return 0;
    if (pipe2(from, O_CLOEXEC) < 0) {
        close(to[0]);
        close(to[1]);
        return 0;
    }
    j->helper = fork();
    if (j->helper == 0)
        helper_main(cg, warm_dir, to[0], from[1]);
    close(to[0]);
    close(from[1]);
    if (j->helper < 0) {
        /* No helper: lxm_cgroup_attach_end attaches in the caller. */
        close(to[1]);
        close(from[0]);
        return 0;
    }
    j->to_fd = to[1];
    j->from_fd = from[0];
    return 0;
}

void lxm_cgroup_attach_pid(struct lxm_cgroup_attach_job *j, pid_t pid, bool cloned)
{
    j->told = true;
    j->pid = pid;
    j->cloned = cloned;
    struct job_request req = {.pid = pid, .cloned = cloned};
    /* A helper that is gone is seen at the end, by its missing result. */
    if (j->helper > 0)
        (void)io_full(j->to_fd, &req, sizeof(req), true);
}

/* The helper's result; -EIO when it died without one. */
static int helper_result(struct lxm_cgroup_attach_job *j, struct lxm_error *err)
{
    struct job_result *res = calloc(1, sizeof(*res));
    if (!res)
        return lxm_error_errno(err, ENOMEM, "attach pid %d", (int)j->pid);
    int r = io_full(j->from_fd, res, sizeof(*res), false)
                ? res->r
                : lxm_error_set(err, EIO, "attach pid %d: the attach helper died", (int)j->pid);
    if (r < 0 && res->err.code && err)
        *err = res->err;
    free(res);
    return r;
}

int lxm_cgroup_attach_end(struct lxm_cgroup_attach_job *j, struct lxm_error *err)
{
    if (!j)
        return 0;
    int r = 0;
    if (j->helper > 0) {
        close(j->to_fd); /* no request (yet): the helper leaves */
        if (j->told && j->pid > 0)
            r = helper_result(j, err);
        close(j->from_fd);
        while (waitpid(j->helper, NULL, 0) < 0 && errno == EINTR)
            ;
    } else if (j->told && j->pid > 0) {
        r = job_attach(j->cg, j->pid, j->cloned, err);
    }
    free(j);
    return r;
}

/* cgroup-warm.c: start the wait of a v1 attach early (see cgroup.h,
 * lxm_cgroup_warm_attach).
 *
 * Every write of a pid to a v1 cgroup.procs takes the kernel's global
 * cgroup threadgroup lock as a writer. That lock is a per-CPU rwsem: after
 * a quiet spell its first writer waits one RCU grace period (several
 * milliseconds, more on a busy host) for the readers to switch to the slow
 * path; writers that come within about a grace period of the last one do
 * not wait. The monitor's attach of init comes a few milliseconds into a
 * start, after the configuration is read and the cgroups are made: a
 * throwaway thread of the start command that moves itself (only itself)
 * begins that wait at once, and the attach then waits only for what is
 * left of it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup-internal.h"

/* The first v1 hierarchy with a controller (not a named one such as
 * name=systemd): its root's `tasks`, where the thread moves itself. */
static void move_self(void)
{
    struct lxm_cg_layout l = {.n = 0};
    if (lxm_cg_layout_detect(&l, NULL) < 0)
        return;
    for (int i = 0; i < l.n; i++) {
        const struct lxm_cg_mount *m = &l.m[i];
        if (m->version != 1 || !m->opts || strncmp(m->opts, "name=", 5) == 0)
            continue;
        char path[4096], tid[32];
        int n = snprintf(tid, sizeof(tid), "%d", (int)gettid());
        if ((size_t)snprintf(path, sizeof(path), "%s/tasks", m->path) >= sizeof(path))
            break;
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            /* Best effort: a refusal only means the attach waits in full. */
            (void)!write(fd, tid, (size_t)n);
            close(fd);
        }
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

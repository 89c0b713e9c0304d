/* monitor-exec.c: the full monitor's side of the hand-over to the idle
 * monitor (monitor-idle.c) and back (monitor-handover.c has the format).
 *
 * Once the container is ready and nothing is under way, the monitor execs
 * lxm-monitor-idle: same pid (the state file still names it, init is still
 * its child), a fresh small image instead of the lxm binary with what the
 * start command and the boot left in it. When the idle monitor needs the
 * full one it execs `lxm __monitor resume NAME FD`, which comes here: the
 * state it kept is loaded, and what it did not keep is made again from the
 * container's config (the network's host-side names, the cgroup), the rest
 * (user namespace, seccomp, AppArmor) only if a reboot needs it.
 * Both binaries are held open from the start on (the idle one's fd goes
 * back and forth with the state): an upgrade of lxm while the container
 * runs changes neither, so the two always speak the same format.
 * LXM_MONITOR_IDLE=0 in the start command's environment keeps the full
 * monitor (to compare the two). */
#include "runtime/monitor-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "net/network.h"
#include "security/seccomp-cache.h"
#include "security/security.h"
#include "util/log.h"

extern char **environ;

#define IDLE_BINARY "lxm-monitor-idle"
/* An idle monitor that hands back this soon after it took over, this many
 * times in a row, is given up (whatever event it keeps seeing must not
 * make the two exec each other in a loop). */
#define QUICK_RETURN_MS 1000
#define QUICK_RETURNS_MAX 5

bool monitor_may_idle(struct monitor *m)
{
    if (m->idle_failed || !m->ready.ready || m->stopping || m->ready.stopping || m->pidfd < 0 ||
        m->reboot_pending ||
        m->oom_recheck_at > 0 || m->ready.watch_fd >= 0 || m->stage_dir)
        return false;
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (m->clients[i].fd >= 0 && m->clients[i].kind == CLIENT_STOP)
            return false;
    return true;
}

/* Next to the lxm binary (a build tree), else where it is installed. */
static bool idle_binary(char *path, size_t size)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash &&
            snprintf(path, size, "%.*s/%s", (int)(slash - self), self, IDLE_BINARY) < (int)size &&
            access(path, X_OK) == 0)
            return true;
    }
    return snprintf(path, size, "%s/%s", LXM_PKGLIBEXECDIR, IDLE_BINARY) < (int)size &&
           access(path, X_OK) == 0;
}

void monitor_open_idle(struct monitor *m)
{
    char path[PATH_MAX];
    const char *env = getenv("LXM_MONITOR_IDLE");
    if ((env && strcmp(env, "0") == 0) || !idle_binary(path, sizeof(path)))
        return;
    m->idle_fd = open(path, O_RDONLY | O_CLOEXEC);
}

void monitor_go_idle(struct monitor *m)
{
    char fdarg[64];
    m->idle_failed = true; /* whatever happens next, once is enough */
    if (m->idle_fd < 0)
        return;
    struct monitor_names names = {.name = m->c->name,
                                  .log_dir = m->c->log_dir,
                                  .root = m->c->paths->root ? m->c->paths->root : "",
                                  .log_level = lxm_log_get_level()};
    m->exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    int fd = m->cg ? lxm_cgroup_frozen_fd(m->cg) : -1;
    m->frozen_fd = fd >= 0 ? fd : -1;
    m->idle_since_ms = lxm_now_ms();
    int memfd = m->exe_fd >= 0 ? monitor_handover_save(m, &names) : -errno;
    int r = memfd;
    if (memfd >= 0) {
        /* The state's fd in the environment: argv is only the title
         * that ps shows, as for the full monitor. */
        snprintf(fdarg, sizeof(fdarg), LXM_MONITOR_HANDOVER_ENV "=%d", memfd);
        char title[300];
        snprintf(title, sizeof(title), "lxm monitor %s", m->c->name);
        char *argv[] = {title, NULL};
        size_t n = 0;
        while (environ[n])
            n++;
        char **env = calloc(n + 2, sizeof(*env));
        if (env) {
            memcpy(env, environ, n * sizeof(*env));
            env[n] = fdarg;
            syscall(SYS_execveat, m->idle_fd, "", argv, env, AT_EMPTY_PATH);
        }
        free(env);
        r = -errno;
        monitor_handover_abort(m, memfd);
    }
    lxm_warn("%s: the idle monitor cannot take over: %s", m->c->name, strerror(-r));
    if (m->exe_fd >= 0)
        close(m->exe_fd);
    if (m->frozen_fd >= 0)
        close(m->frozen_fd);
    m->exe_fd = m->frozen_fd = -1;
}

int monitor_resume_load(struct monitor *m, int memfd, struct lxm_error *err)
{
    struct monitor_names names;
    int r = monitor_handover_load(m, &names, memfd);
    if (r < 0) {
        free(names.name);
        free(names.log_dir);
        free(names.root);
        return lxm_error_errno(err, -r, "read the idle monitor's state");
    }
    bool same = names.name && strcmp(names.name, m->c->name) == 0;
    free(names.name);
    free(names.log_dir);
    free(names.root);
    if (!same)
        return lxm_error_set(err, EINVAL, "the idle monitor's state is another container's");
    if (m->exe_fd >= 0)
        close(m->exe_fd);
    if (m->frozen_fd >= 0)
        close(m->frozen_fd);
    m->exe_fd = m->frozen_fd = -1;
    m->need_boot_setup = true;
    m->quick_returns =
        lxm_now_ms() - m->idle_since_ms < QUICK_RETURN_MS ? m->quick_returns + 1 : 0;
    if (m->quick_returns >= QUICK_RETURNS_MAX) {
        lxm_warn("%s: the idle monitor handed back %d times in a row at once: staying whole",
                 m->c->name, m->quick_returns);
        m->idle_failed = true;
    }
    m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    m->boot_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (m->timer_fd < 0 || m->boot_timer_fd < 0)
        return lxm_error_errno(err, errno, "timerfd");
    /* The cgroup and the network's names are needed by the teardown. */
    r = lxm_cgroup_open(m->c->id, &m->cg, err);
    if (r < 0 && r != -ENOENT)
        return lxm_error_prefix(err, "cgroup");
    if ((r = lxm_runtime_load_config(m->c, err)) < 0)
        return r;
    m->cfg = m->c->config;
    if ((r = lxm_network_of_running(m->c->paths, m->cfg, &m->net)) < 0)
        return lxm_error_errno(err, -r, "network");
    return 0;
}

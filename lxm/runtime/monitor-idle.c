/* monitor-idle.c: lxm-monitor-idle, the monitor of a container that is up
 * and ready, as a small static program. The full monitor (monitor.c)
 * execs it once the boot is done; it keeps the console (console.log, the
 * ring, console clients), answers state/ready/wait-ready requests and
 * hears the guest's notify messages, with the code of monitor-io.c and
 * monitor-notify.c. Anything more (init exited: a reboot or the teardown;
 * a stop request; an OOM event; the guest's STOPPING=1) is the full monitor's: this one execs the
 * lxm binary it came from again (an fd of it), with the same state
 * (monitor-handover.c). A process that only waits costs what it maps and
 * dirties: a few pages here against the lxm binary's libraries, heap and
 * relocations. */
#include "runtime/monitor-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/lazy.h"
#include "util/log.h"

extern char **environ;

#ifndef LXM_IDLE_DATA
#define LXM_IDLE_DATA
#endif

/* What the full monitor would have made from a struct lxm_container. */
static struct monitor_names names LXM_IDLE_DATA;
static struct lxm_container container LXM_IDLE_DATA;

/* The state file of the cgroup's freezer (lxm_cgroup_frozen_fd). */
static bool is_frozen(int fd)
{
    char buf[512];
    ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return strncmp(buf, "FROZEN", 6) == 0 || strncmp(buf, "frozen 1", 8) == 0 ||
           strstr(buf, "\nfrozen 1") != NULL;
}

/* monitor-mem.c gives back the libraries the lxm binary opened on first
 * use; this program opens none. */
void lxm_lazy_unload(void) {}

/* The requests monitor-io.c hands on. */
enum lxm_state monitor_state(struct monitor *m)
{
    if (m->stop_pending || m->ready.stopping)
        return LXM_STATE_STOPPING;
    if (is_frozen(m->frozen_fd))
        return LXM_STATE_FROZEN;
    return m->ready.ready ? LXM_STATE_RUNNING : LXM_STATE_STARTING;
}

/* A stop is the full monitor's: it takes it over with the client. */
void monitor_begin_stop(struct monitor *m, int64_t timeout_ms, bool kill)
{
    if (!m->stop_pending || kill || timeout_ms < m->stop_ms)
        m->stop_ms = timeout_ms;
    m->stop_kill |= kill;
    m->stop_pending = true;
}

/* Exec the lxm binary again as the full monitor; only returns when it
 * cannot, after a second (the container's fds stay ours meanwhile). */
static void go_full(struct monitor *m)
{
    char fdarg[16];
    char *argv[10];
    int n = 0;
    int fd = monitor_handover_save(m, &names);
    int r = fd;
    if (fd >= 0) {
        snprintf(fdarg, sizeof(fdarg), "%d", fd);
        argv[n++] = "lxm";
        if (names.root[0]) {
            argv[n++] = "--root";
            argv[n++] = names.root;
        }
        if (names.log_level >= LXM_LOG_DEBUG)
            argv[n++] = "--debug";
        argv[n++] = "__monitor";
        argv[n++] = "resume";
        argv[n++] = names.name;
        argv[n++] = fdarg;
        argv[n] = NULL;
        syscall(SYS_execveat, m->exe_fd, "", argv, environ, AT_EMPTY_PATH);
        r = -errno;
        monitor_handover_abort(m, fd);
    }
    lxm_warn("%s: cannot run the full monitor again: %s", names.name, strerror(-r));
    sleep(1);
}

enum { PFD_INIT, PFD_LISTEN, PFD_OOM, PFD_NOTIFY, PFD_IO };

static void run_loop(struct monitor *m)
{
    for (;;) {
        struct pollfd pfd[PFD_IO + 1 + MAX_CLIENTS];
        pfd[PFD_INIT] = (struct pollfd){.fd = m->pidfd, .events = POLLIN};
        pfd[PFD_LISTEN] = (struct pollfd){.fd = m->listen_fd, .events = POLLIN};
        pfd[PFD_OOM] = (struct pollfd){.fd = m->oom_fd, .events = m->oom_events};
        pfd[PFD_NOTIFY] = (struct pollfd){.fd = m->ready.notify_fd, .events = POLLIN};
        int n = PFD_IO + monitor_io_pollfds(m, pfd + PFD_IO);
        if (poll(pfd, (nfds_t)n, monitor_io_expire(m)) < 0)
            continue;
        monitor_io_events(m, pfd + PFD_IO, n - PFD_IO);
        if (pfd[PFD_LISTEN].revents & POLLIN)
            monitor_accept(m);
        if (pfd[PFD_NOTIFY].revents & POLLIN)
            monitor_notify_read(m);
        /* Init's exit and an OOM event stay pending for the full monitor
         * (a pidfd and the event fds are level-triggered); the guest's
         * STOPPING=1 goes on record there (the state file). */
        if (m->stop_pending || m->ready.stopping || (pfd[PFD_INIT].revents & POLLIN) ||
            (pfd[PFD_OOM].revents & (m->oom_events | POLLERR)))
            go_full(m);
    }
}

/* Static, like the rest: a page is dirty only where it is used. */
static struct monitor monitor;

int main(int argc, char **argv)
{
    struct monitor *m = &monitor;
    m->c = &container;
    m->uffd = -1;
    (void)argv;
    const char *s = getenv(LXM_MONITOR_HANDOVER_ENV);
    char *end = NULL;
    long fd = argc == 1 && s ? strtol(s, &end, 10) : -1;
    unsetenv(LXM_MONITOR_HANDOVER_ENV);
    if (fd < 0 || !end || *end) {
        static const char usage[] =
            "lxm-monitor-idle: for lxm's monitor only, not to be run by hand\n";
        (void)!write(STDERR_FILENO, usage, sizeof(usage) - 1);
        return 2;
    }
    lxm_log_set_timestamps(true);
    int r = monitor_handover_load(m, &names, (int)fd);
    if (r < 0) {
        /* The container is left without a monitor: the next lxm command
         * that looks at it finds it stale and cleans up. */
        lxm_warn("lxm-monitor-idle: cannot read the monitor's state: %s", strerror(-r));
        return 1;
    }
    container.name = names.name;
    container.log_dir = names.log_dir;
    container.lock_fd = -1;
    lxm_log_set_level((enum lxm_log_level)names.log_level);
    prctl(PR_SET_NAME, "lxm-monitor");
    lxm_debug("%s: idle monitor", names.name);
#ifndef LXM_IDLE_NOLIBC
    /* What the start-up touched (the loader's reads, the state's) is not
     * what the loop needs: only the pages it touches stay mapped. Without
     * libc (monitor-idle-rt.c) there is no loader, and the whole image is
     * smaller than the 64 KiB fault-around maps at once. */
    monitor_trim_memory(m);
#endif
    run_loop(m);
}

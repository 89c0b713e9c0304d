/* monitor-handover.c: the monitor's state across an exec. Once a
 * container is up, the full monitor (monitor.c, in the lxm binary) execs
 * the idle one (monitor-idle.c, a small static binary) and the idle one
 * execs the full one again when something needs it (init exited, a stop,
 * an OOM event). Same process, same pid, same children: what passes is
 * this state, in a memfd, and the fds it names, left open across the exec.
 * Built into both programs, so both read and write one format. */
#include "runtime/monitor-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/io.h"

/* "lxmmon" and a format number: a mismatch (an idle binary of another
 * build) is refused rather than misread. */
#define HANDOVER_MAGIC 0x6c786d6d6f6e0001ULL

struct handover_header {
    uint64_t magic;
    uint32_t size;
    /* name, log dir and root follow the header, each NUL-terminated */
    uint32_t name_len, log_dir_len, root_len;
    int log_level;
    uint64_t starttime;
    int listen_fd, pidfd, oom_fd, idle_fd, exe_fd, frozen_fd;
    int master_fd, slave_fd, log_fd;
    int64_t log_size;
    short oom_events;
    int64_t oom_kills;
    pid_t init_pid;
    uint64_t init_starttime;
    int64_t started_at, boot_ms;
    int fast_reboots;
    int64_t idle_since_ms;
    int quick_returns;
    bool own_mntns, stop_pending, stop_kill;
    int64_t stop_ms;
    struct monitor_ready ready;
};

/* Every fd the state names: the fixed ones, then the console's and the
 * clients'. */
#define HANDOVER_FDS (8 + MONITOR_IO_FDS)

static int handover_fds(const struct monitor *m, int *fds)
{
    int n = 0;
    fds[n++] = m->listen_fd;
    fds[n++] = m->pidfd;
    fds[n++] = m->oom_fd;
    fds[n++] = m->idle_fd;
    fds[n++] = m->exe_fd;
    fds[n++] = m->frozen_fd;
    fds[n++] = m->ready.notify_fd;
    fds[n++] = m->ready.watch_fd;
    return n + monitor_io_fds(m, fds + n);
}

static void set_cloexec(const struct monitor *m, bool on)
{
    int fds[HANDOVER_FDS];
    int n = handover_fds(m, fds);
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            fcntl(fds[i], F_SETFD, on ? FD_CLOEXEC : 0);
}

int monitor_handover_save(const struct monitor *m, const struct monitor_names *names)
{
    struct handover_header h = {
        .magic = HANDOVER_MAGIC,
        .size = sizeof(h),
        .name_len = (uint32_t)strlen(names->name) + 1,
        .log_dir_len = (uint32_t)strlen(names->log_dir) + 1,
        .root_len = (uint32_t)strlen(names->root) + 1,
        .log_level = names->log_level,
        .starttime = m->starttime,
        .listen_fd = m->listen_fd,
        .pidfd = m->pidfd,
        .oom_fd = m->oom_fd,
        .idle_fd = m->idle_fd,
        .exe_fd = m->exe_fd,
        .frozen_fd = m->frozen_fd,
        .master_fd = m->master_fd,
        .slave_fd = m->slave_fd,
        .log_fd = m->log_fd,
        .log_size = m->log_size,
        .oom_events = m->oom_events,
        .oom_kills = m->oom_kills,
        .init_pid = m->init_pid,
        .init_starttime = m->init_starttime,
        .started_at = m->started_at,
        .boot_ms = m->boot_ms,
        .fast_reboots = m->fast_reboots,
        .idle_since_ms = m->idle_since_ms,
        .quick_returns = m->quick_returns,
        .own_mntns = m->own_mntns,
        .stop_pending = m->stop_pending,
        .stop_kill = m->stop_kill,
        .stop_ms = m->stop_ms,
        .ready = m->ready,
    };
    int fd = memfd_create("lxm-monitor-state", 0);
    if (fd < 0)
        return -errno;
    int r = lxm_write_all(fd, &h, sizeof(h));
    if (r == 0)
        r = lxm_write_all(fd, names->name, h.name_len);
    if (r == 0)
        r = lxm_write_all(fd, names->log_dir, h.log_dir_len);
    if (r == 0)
        r = lxm_write_all(fd, names->root, h.root_len);
    if (r == 0)
        r = monitor_io_save(m, fd);
    if (r == 0 && lseek(fd, 0, SEEK_SET) < 0)
        r = -errno;
    if (r < 0) {
        close(fd);
        return r;
    }
    set_cloexec(m, false);
    return fd;
}

void monitor_handover_abort(const struct monitor *m, int memfd)
{
    set_cloexec(m, true);
    close(memfd);
}

/* A NUL-terminated string of len bytes (len counts the NUL). */
static int read_string(int fd, uint32_t len, char **out)
{
    if (len == 0 || len > 4096)
        return -EPROTO;
    char *s = malloc(len);
    if (!s)
        return -ENOMEM;
    int r = lxm_read_all(fd, s, len);
    s[len - 1] = '\0';
    *out = s;
    return r;
}

static int read_header(int fd, struct handover_header *h, struct monitor_names *names)
{
    *names = (struct monitor_names){0};
    int r = lxm_read_all(fd, h, sizeof(*h));
    if (r == 0 && (h->magic != HANDOVER_MAGIC || h->size != sizeof(*h)))
        r = -EPROTO;
    if (r == 0)
        r = read_string(fd, h->name_len, &names->name);
    if (r == 0)
        r = read_string(fd, h->log_dir_len, &names->log_dir);
    if (r == 0)
        r = read_string(fd, h->root_len, &names->root);
    names->log_level = h->log_level;
    return r;
}

int monitor_handover_load(struct monitor *m, struct monitor_names *names, int memfd)
{
    struct handover_header h;
    int r = read_header(memfd, &h, names);
    if (r < 0) {
        close(memfd);
        return r;
    }
    m->starttime = h.starttime;
    m->listen_fd = h.listen_fd;
    m->pidfd = h.pidfd;
    m->oom_fd = h.oom_fd;
    m->idle_fd = h.idle_fd;
    m->exe_fd = h.exe_fd;
    m->frozen_fd = h.frozen_fd;
    m->master_fd = h.master_fd;
    m->slave_fd = h.slave_fd;
    m->log_fd = h.log_fd;
    m->log_size = h.log_size;
    m->oom_events = h.oom_events;
    m->oom_kills = h.oom_kills;
    m->init_pid = h.init_pid;
    m->init_starttime = h.init_starttime;
    m->started_at = h.started_at;
    m->boot_ms = h.boot_ms;
    m->fast_reboots = h.fast_reboots;
    m->idle_since_ms = h.idle_since_ms;
    m->quick_returns = h.quick_returns;
    m->own_mntns = h.own_mntns;
    m->stop_pending = h.stop_pending;
    m->stop_kill = h.stop_kill;
    m->stop_ms = h.stop_ms;
    m->ready = h.ready;
    r = monitor_io_load(m, memfd);
    close(memfd);
    if (r == 0)
        set_cloexec(m, true);
    return r;
}

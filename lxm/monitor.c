/* monitor.c: the per-container monitor. It owns the host side of a running
 * container (cgroup, network, console pty, state file, socket), is the
 * parent of init, boots it again on reboot and cleans up when it stops. */
#include "runtime-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/sched.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#define MAX_CLIENTS 32
#define CONSOLE_LOG_MAX (1024 * 1024)

enum client_kind { CLIENT_REQUEST, CLIENT_STOP, CLIENT_CONSOLE };

struct client {
    int fd;
    enum client_kind kind;
    size_t len;
    char buf[128];
};

struct monitor {
    struct lxm_container *c;
    struct lxm_config *cfg;
    struct lxm_cgroup *cg;
    struct lxm_network *net;
    struct lxm_seccomp *seccomp;
    char *apparmor_profile;
    struct lxm_userns userns;
    bool own_mntns;
    char *stage_dir;
    int listen_fd;
    int master_fd;
    int slave_fd;
    int log_fd;
    off_t log_size;
    int timer_fd;
    int oom_fd;          /* memory events of the cgroup, -1 if none */
    short oom_events;
    int64_t oom_kills;   /* last count written to lxm.log */
    int64_t oom_recheck_until; /* CLOCK_MONOTONIC ms; 0: no re-read due */
    int pidfd;
    pid_t init_pid;
    int64_t started_at;
    bool stopping;
    struct client clients[MAX_CLIENTS];
};

/* --- setup ------------------------------------------------------------------ */

static int open_listen_socket(struct monitor *m, struct lxm_error *err)
{
    _cleanup_free_ char *path = lxm_monitor_socket_path(m->c);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!path)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (strlen(path) >= sizeof(sa.sun_path))
        return lxm_error_set(err, ENAMETOOLONG, "socket path %s is too long", path);
    strcpy(sa.sun_path, path);
    unlink(path);
    m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (m->listen_fd < 0)
        return lxm_error_errno(err, errno, "socket");
    if (bind(m->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(m->listen_fd, 16) < 0)
        return lxm_error_errno(err, errno, "bind %s", path);
    return 0;
}

static void open_console_log(struct monitor *m)
{
    _cleanup_free_ char *log = xasprintf("%s/console.log", m->c->log_dir);
    m->log_fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
    struct stat st;
    if (m->log_fd >= 0 && fstat(m->log_fd, &st) == 0)
        m->log_size = st.st_size;
}

/* The console master of this boot, from the child's devpts. */
static void take_console(struct monitor *m, int master)
{
    if (m->master_fd >= 0)
        close(m->master_fd);
    if (m->slave_fd >= 0)
        close(m->slave_fd);
    m->master_fd = master;
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    /* Holding the peer open keeps the master free of EIO/hangups while
     * init reopens its console. */
    m->slave_fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

/* OOM kills are reported in lxm.log; a host without a memory controller
 * has nothing to report. */
static void watch_oom(struct monitor *m)
{
    struct lxm_error e = {0};
    if (!m->cg)
        return;
    m->oom_fd = lxm_cgroup_memory_events_fd(m->cg, &m->oom_events, &e);
    if (m->oom_fd < 0 && m->oom_fd != -EOPNOTSUPP)
        lxm_warn("%s: OOM kills will not be logged: %s", m->c->name, e.msg);
    int64_t n = lxm_cgroup_oom_kills(m->cg);
    m->oom_kills = n > 0 ? n : 0;
}

/* v1 signals an OOM before the kernel has chosen and counted its victim,
 * so after an event that finds no new kill the count is read again every
 * OOM_RECHECK_MS for a while, from the poll loop: the monitor never sleeps
 * here. */
#define OOM_RECHECK_MS 50
#define OOM_RECHECK_FOR_MS 2000

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count_oom_kills(struct monitor *m)
{
    int64_t n = lxm_cgroup_oom_kills(m->cg);
    if (n > m->oom_kills) {
        lxm_info("%s: oom-kill: %" PRId64 " process(es) killed by the memory limit", m->c->name,
                 n - m->oom_kills);
        m->oom_recheck_until = 0;
    }
    if (n >= 0)
        m->oom_kills = n;
    if (m->oom_recheck_until && monotonic_ms() >= m->oom_recheck_until)
        m->oom_recheck_until = 0;
}

static void check_oom(struct monitor *m)
{
    lxm_cgroup_memory_events_ack(m->cg, m->oom_fd);
    m->oom_recheck_until = monotonic_ms() + OOM_RECHECK_FOR_MS;
    count_oom_kills(m);
}

static void unstage_mounts(struct monitor *m);

static int monitor_setup(struct monitor *m, struct lxm_error *err)
{
    int r = open_listen_socket(m, err);
    if (r < 0)
        return r;
    open_console_log(m);
    r = lxm_userns_prepare(m->c, m->cfg, &m->userns, err);
    if (r < 0)
        return r;
    r = lxm_cgroup_create(m->c->id, &m->cfg->limits, &m->cg, err);
    if (r < 0)
        return lxm_error_prefix(err, "cgroup");
    /* Before init exists: it must never see a device outside the list. */
    r = lxm_devices_apply_cgroup(&m->cfg->policy, m->cg, err);
    if (r < 0)
        return lxm_error_prefix(err, "devices");
    r = lxm_seccomp_compile(&m->cfg->policy, &m->seccomp, err);
    if (r < 0)
        return lxm_error_prefix(err, "seccomp");
    r = lxm_apparmor_prepare(m->c->id, &m->cfg->policy, m->c->run_dir, &m->apparmor_profile, err);
    if (r < 0)
        return lxm_error_prefix(err, "apparmor");
    m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (m->timer_fd < 0)
        return lxm_error_errno(err, errno, "timerfd");
    watch_oom(m);
    return 0;
}

/* --- boot ---------------------------------------------------------------------- */

static void kill_child(int pidfd)
{
    siginfo_t si;
    pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
    while (waitid(P_PIDFD, pidfd, &si, WEXITED) < 0 && errno == EINTR)
        ;
}

/* Read the child's verdict: "" (EOF: init exec'd) or its error message. */
static void read_child_error(int fd, char *buf, size_t size)
{
    size_t n = 0;
    for (;;) {
        ssize_t k = read(fd, buf + n, size - 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 || (n += (size_t)k) >= size - 1)
            break;
    }
    buf[n] = '\0';
}

static pid_t clone_child(struct monitor *m, int *pidfd, int sync_fd, int error_fd)
{
    int cgfd = m->cg ? lxm_cgroup_v2_fd(m->cg) : -1;
    /* The cgroup namespace is unshared by the child after the monitor has
     * moved it into every hierarchy, so its root is the container's cgroup
     * on v1 controllers too, not the monitor's. */
    struct clone_args args = {
        .flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
                 CLONE_PIDFD | (cgfd >= 0 ? CLONE_INTO_CGROUP : 0) |
                 (m->userns.enabled ? CLONE_NEWUSER : 0),
        .pidfd = (uint64_t)(uintptr_t)pidfd,
        .exit_signal = SIGCHLD,
        .cgroup = cgfd >= 0 ? (uint64_t)cgfd : 0,
    };
    pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
    if (pid == 0) {
        struct lxm_boot b = {
            .c = m->c,
            .cfg = m->cfg,
            .seccomp = m->seccomp,
            .apparmor_profile = m->apparmor_profile,
            .sync_fd = sync_fd,
            .error_fd = error_fd,
        };
        lxm_child_main(&b);
    }
    return pid;
}

/* The user ns of init: its maps, then the rootfs idmapped with it, and
 * the cgroup2 subtree handed to its root. */
static int prepare_userns(struct monitor *m, pid_t pid, int *rootfd, struct lxm_error *err)
{
    int r;
    if (m->userns.enabled && (r = lxm_idmap_write(pid, &m->userns.map, err)) < 0)
        return lxm_error_prefix(err, "user namespace");
    *rootfd = lxm_userns_rootfs_fd(m->c, &m->userns, pid, err);
    if (*rootfd < 0)
        return *rootfd;
    if (!m->userns.enabled || !m->cg)
        return 0;
    uid_t uid;
    gid_t gid;
    if (lxm_idmap_host_root(&m->userns.map, &uid, &gid) &&
        (r = lxm_cgroup_chown(m->cg, uid, gid, err)) < 0)
        return lxm_error_prefix(err, "cgroup");
    return 0;
}

/* Host-side steps between clone and release; the child is waiting. */
static int prepare_child(struct monitor *m, pid_t pid, int *rootfd, struct lxm_error *err)
{
    int r;
    if (m->cg) {
        r = lxm_cgroup_attach(m->cg, pid, err);
        if (r < 0)
            return lxm_error_prefix(err, "cgroup");
    }
    if (m->net) {
        r = lxm_network_attach(m->net, pid, err);
        if (r < 0)
            return lxm_error_prefix(err, "network");
    }
    return prepare_userns(m, pid, rootfd, err);
}

/* `mounts:` are staged in the monitor's own mount namespace (made once,
 * a slave of the host's) so that init's copy of it locks their flags;
 * the clone starts in the staging dir, where init finds them. */
static int stage_mounts(struct monitor *m, struct lxm_error *err)
{
    if (m->cfg->n_mounts == 0)
        return 0;
    if (!m->own_mntns) {
        if (unshare(CLONE_NEWNS) < 0)
            return lxm_error_errno(err, errno, "mounts: unshare mount namespace");
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
            return lxm_error_errno(err, errno, "mounts: make / rslave");
        m->own_mntns = true;
    }
    free(m->stage_dir);
    m->stage_dir = xasprintf("%s/mounts", m->c->run_dir);
    if (!m->stage_dir)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = lxm_userns_stage_mounts(m->cfg, &m->userns, m->stage_dir, err);
    if (r == 0 && chdir(m->stage_dir) < 0)
        r = lxm_error_errno(err, errno, "chdir %s", m->stage_dir);
    if (r < 0)
        unstage_mounts(m);
    return r;
}

static void unstage_mounts(struct monitor *m)
{
    if (!m->stage_dir)
        return;
    (void)!chdir("/");
    umount2(m->stage_dir, MNT_DETACH);
    rmdir(m->stage_dir);
    free(m->stage_dir);
    m->stage_dir = NULL;
}

static int monitor_boot(struct monitor *m, struct lxm_error *err)
{
    int sync[2], errp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) < 0)
        return lxm_error_errno(err, errno, "socketpair");
    if (pipe2(errp, O_CLOEXEC) < 0) {
        close(sync[0]);
        close(sync[1]);
        return lxm_error_errno(err, errno, "pipe");
    }
    _cleanup_close_ int sync_w = sync[1], err_r = errp[0];
    int r = lxm_network_prepare(m->c->paths, m->cfg, &m->net, err);
    if (r < 0) {
        close(sync[0]);
        close(errp[1]);
        return lxm_error_prefix(err, "network");
    }
    r = stage_mounts(m, err);
    if (r < 0) {
        close(sync[0]);
        close(errp[1]);
        return r;
    }
    int pidfd = -1;
    pid_t pid = clone_child(m, &pidfd, sync[0], errp[1]);
    int saved = errno;
    close(sync[0]);
    close(errp[1]);
    if (pid < 0)
        return lxm_error_errno(err, saved, "clone3");
    _cleanup_close_ int rootfd = -1;
    r = prepare_child(m, pid, &rootfd, err);
    if (r == 0 && write(sync_w, "1", 1) != 1)
        r = lxm_error_errno(err, errno, "release child");
    if (r == 0 && (r = lxm_send_fd(sync_w, rootfd)) < 0)
        r = lxm_error_errno(err, -r, "hand the rootfs to init");
    if (r < 0) {
        kill_child(pidfd);
        close(pidfd);
        return r;
    }
    /* The child sends the console master once its /dev is built; a child
     * that failed before sends nothing and its reason follows on err_r. */
    int master = lxm_recv_fd(sync_w);
    if (master >= 0)
        take_console(m, master);
    char msg[LXM_ERROR_MAX];
    read_child_error(err_r, msg, sizeof(msg));
    unstage_mounts(m);
    siginfo_t si = {0};
    if (!msg[0] && waitid(P_PIDFD, pidfd, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
        snprintf(msg, sizeof(msg), "init exited at once (%s %d)",
                 si.si_code == CLD_EXITED ? "status" : "signal", si.si_status);
    if (msg[0]) {
        kill_child(pidfd);
        close(pidfd);
        return lxm_error_set(err, EIO, "%s", msg);
    }
    m->pidfd = pidfd;
    m->init_pid = pid;
    m->started_at = time(NULL);
    struct lxm_state_file st = {getpid(), pid, lxm_proc_starttime(pid), m->started_at};
    r = lxm_state_write(m->c, &st);
    if (r < 0)
        lxm_warn("%s: write state: %s", m->c->name, strerror(-r));
    return 0;
}

/* --- teardown --------------------------------------------------------------------- */

static void teardown_boot(struct monitor *m)
{
    if (m->net) {
        lxm_network_cleanup(m->net);
        lxm_network_free(m->net);
        m->net = NULL;
    }
    if (m->pidfd >= 0) {
        close(m->pidfd);
        m->pidfd = -1;
    }
}

static void teardown(struct monitor *m)
{
    struct lxm_error e = {0};
    teardown_boot(m);
    unstage_mounts(m);
    if (m->oom_fd >= 0) {
        close(m->oom_fd);
        m->oom_fd = -1;
    }
    if (m->cg) {
        if (lxm_cgroup_destroy(m->cg, &e) < 0)
            lxm_warn("%s: %s", m->c->name, e.msg);
        lxm_cgroup_free(m->cg);
        m->cg = NULL;
    }
    lxm_state_remove(m->c);
}

/* Drop the lock file and run dir when no lxm command holds the lock (a
 * poweroff from inside); a stop command removes them itself. */
static void remove_run_dir_if_idle(struct monitor *m)
{
    _cleanup_free_ char *lock = xasprintf("%s/lock", m->c->run_dir);
    _cleanup_close_ int fd = lock ? open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW) : -1;
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        rm_rf(m->c->run_dir);
}

/* --- console and clients ---------------------------------------------------------- */

static void log_console(struct monitor *m, const char *buf, size_t n)
{
    if (m->log_fd < 0)
        return;
    if (m->log_size + (off_t)n > CONSOLE_LOG_MAX) {
        _cleanup_free_ char *log = xasprintf("%s/console.log", m->c->log_dir);
        _cleanup_free_ char *old = xasprintf("%s/console.log.1", m->c->log_dir);
        if (log && old && rename(log, old) == 0) {
            close(m->log_fd);
            m->log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
            m->log_size = 0;
            if (m->log_fd < 0)
                return;
        }
    }
    if (write(m->log_fd, buf, n) > 0)
        m->log_size += (off_t)n;
}

static void drop_client(struct client *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    cl->fd = -1;
}

static void read_console(struct monitor *m)
{
    char buf[4096];
    ssize_t n = read(m->master_fd, buf, sizeof(buf));
    if (n <= 0)
        return;
    log_console(m, buf, (size_t)n);
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *cl = &m->clients[i];
        if (cl->fd >= 0 && cl->kind == CLIENT_CONSOLE && lxm_write_all(cl->fd, buf, (size_t)n) < 0)
            drop_client(cl);
    }
}

static enum lxm_state current_state(struct monitor *m)
{
    if (m->stopping)
        return LXM_STATE_STOPPING;
    if (m->cg && lxm_cgroup_is_frozen(m->cg) == 1)
        return LXM_STATE_FROZEN;
    return LXM_STATE_RUNNING;
}

static void begin_stop(struct monitor *m, int64_t timeout_ms, bool kill)
{
    if (kill || timeout_ms <= 0) {
        pidfd_send_signal(m->pidfd, SIGKILL, NULL, 0);
    } else if (!m->stopping) {
        pidfd_send_signal(m->pidfd, lxm_halt_signal(m->cfg), NULL, 0);
        struct itimerspec its = {.it_value = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000}};
        timerfd_settime(m->timer_fd, 0, &its, NULL);
    }
    m->stopping = true;
}

static void handle_request(struct monitor *m, struct client *cl)
{
    char reply[256];
    int64_t ms;
    int kill;
    if (strcmp(cl->buf, "state") == 0) {
        int n = snprintf(reply, sizeof(reply), "STATE %s %d %" PRId64 "\n",
                         lxm_state_name(current_state(m)), (int)m->init_pid, m->started_at);
        lxm_write_all(cl->fd, reply, (size_t)n);
        drop_client(cl);
    } else if (sscanf(cl->buf, "stop %" SCNd64 " %d", &ms, &kill) == 2) {
        cl->kind = CLIENT_STOP;
        begin_stop(m, ms, kill != 0);
    } else if (strcmp(cl->buf, "console") == 0) {
        cl->kind = CLIENT_CONSOLE;
        if (lxm_write_all(cl->fd, "ok\n", 3) < 0)
            drop_client(cl);
    } else {
        drop_client(cl);
    }
}

static void read_client(struct monitor *m, struct client *cl)
{
    char buf[4096];
    ssize_t n =
        read(cl->fd, buf, cl->kind == CLIENT_REQUEST ? sizeof(cl->buf) - 1 - cl->len : sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        drop_client(cl);
        return;
    }
    if (cl->kind == CLIENT_CONSOLE) {
        lxm_write_all(m->master_fd, buf, (size_t)n);
        return;
    }
    if (cl->kind != CLIENT_REQUEST)
        return;
    memcpy(cl->buf + cl->len, buf, (size_t)n);
    cl->len += (size_t)n;
    cl->buf[cl->len] = '\0';
    char *nl = strchr(cl->buf, '\n');
    if (nl) {
        *nl = '\0';
        handle_request(m, cl);
    } else if (cl->len >= sizeof(cl->buf) - 1) {
        drop_client(cl);
    }
}

static void accept_client(struct monitor *m)
{
    int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (m->clients[i].fd < 0) {
            m->clients[i] = (struct client){.fd = fd, .kind = CLIENT_REQUEST};
            return;
        }
    close(fd);
}

static void notify_stop_clients(struct monitor *m, const char *line)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (m->clients[i].fd >= 0 && m->clients[i].kind == CLIENT_STOP)
            lxm_write_all(m->clients[i].fd, line, strlen(line));
}

/* --- main loop ------------------------------------------------------------------------ */

/* Init has exited: true if it asked for a reboot (pid-ns reboot(RESTART)
 * kills init with SIGHUP) and we are not stopping. */
static bool init_exited(struct monitor *m)
{
    siginfo_t si = {0};
    while (waitid(P_PIDFD, m->pidfd, &si, WEXITED) < 0 && errno == EINTR)
        ;
    /* One line in lxm.log per boot's end: how a container went down (a
     * clean halt, a reboot, or SIGKILL) is the first thing one asks. */
    if (si.si_code == CLD_EXITED) {
        lxm_info("%s: init exited with status %d", m->c->name, si.si_status);
    } else {
        const char *abbrev = sigabbrev_np(si.si_status);
        lxm_info("%s: init killed by SIG%s%s", m->c->name, abbrev ? abbrev : "?",
                 si.si_status == SIGHUP   ? " (reboot)"
                 : si.si_status == SIGINT ? " (halt or poweroff)"
                                          : "");
    }
    return !m->stopping && si.si_code == CLD_KILLED && si.si_status == SIGHUP;
}

static void run_loop(struct monitor *m)
{
    for (;;) {
        struct pollfd pfd[5 + MAX_CLIENTS];
        int idx[MAX_CLIENTS];
        int n = 0;
        pfd[n++] = (struct pollfd){.fd = m->pidfd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = m->listen_fd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = m->master_fd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = m->timer_fd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = m->oom_fd, .events = m->oom_events};
        int nc = 0;
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (m->clients[i].fd >= 0) {
                idx[nc++] = i;
                pfd[n++] = (struct pollfd){.fd = m->clients[i].fd, .events = POLLIN};
            }
        if (poll(pfd, (nfds_t)n, m->oom_recheck_until ? OOM_RECHECK_MS : -1) < 0)
            continue;
        if (m->oom_recheck_until && !(pfd[4].revents & (m->oom_events | POLLERR)))
            count_oom_kills(m);
        if (pfd[2].revents & POLLIN)
            read_console(m);
        if (pfd[1].revents & POLLIN)
            accept_client(m);
        if (pfd[3].revents & POLLIN) {
            uint64_t ticks;
            if (read(m->timer_fd, &ticks, sizeof(ticks)) > 0) {
                notify_stop_clients(m, "kill\n");
                pidfd_send_signal(m->pidfd, SIGKILL, NULL, 0);
            }
        }
        if (pfd[4].revents & (m->oom_events | POLLERR))
            check_oom(m);
        for (int k = 0; k < nc; k++)
            if (pfd[5 + k].revents & (POLLIN | POLLHUP | POLLERR))
                read_client(m, &m->clients[idx[k]]);
        if (pfd[0].revents & POLLIN) {
            /* Drain what init wrote last before it went away. */
            read_console(m);
            if (!init_exited(m))
                return;
            struct lxm_error e = {0};
            teardown_boot(m);
            if (monitor_boot(m, &e) < 0) {
                lxm_warn("%s: reboot failed: %s", m->c->name, e.msg);
                return;
            }
        }
    }
}

/* The monitor is a fork of the CLI and maps every library the CLI used.
 * Dropping the page-table entries of file mappings that hold no private
 * (copy-on-write) page loses nothing: they are re-read from the page cache
 * if ever touched again. What stays resident is what the loop uses. */
static void trim_memory(void)
{
    struct {
        unsigned long start, end;
    } drop[256];
    size_t n = 0;
    malloc_trim(0);
    {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/smaps", "re");
        if (!f)
            return;
        char line[512];
        unsigned long start = 0, end = 0;
        bool code = false;
        while (fgets(line, sizeof(line), f) && n < ARRAY_SIZE(drop)) {
            char perms[8] = "";
            unsigned long a, b, anon;
            if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3) {
                start = a, end = b;
                code = perms[3] == 'p' && strchr(line, '/');
            } else if (code && sscanf(line, "Anonymous: %lu kB", &anon) == 1) {
                if (anon == 0)
                    drop[n].start = start, drop[n++].end = end;
                code = false;
            }
        }
    }
    /* No library calls between the drops: they would fault pages back. */
    for (size_t i = 0; i < n; i++)
        madvise((void *)drop[i].start, drop[i].end - drop[i].start, MADV_DONTNEED);
}

static void redirect_stdio(struct monitor *m)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    _cleanup_free_ char *log = xasprintf("%s/lxm.log", m->c->log_dir);
    int logfd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(logfd >= 0 ? logfd : null, 2);
        close(null);
    }
    if (logfd >= 0)
        close(logfd);
}

void lxm_monitor_main(struct lxm_container *c, int result_fd)
{
    struct monitor m = {.c = c,
                        .cfg = c->config,
                        .listen_fd = -1,
                        .master_fd = -1,
                        .slave_fd = -1,
                        .log_fd = -1,
                        .timer_fd = -1,
                        .oom_fd = -1,
                        .pidfd = -1};
    struct lxm_error err = {0};
    for (int i = 0; i < MAX_CLIENTS; i++)
        m.clients[i].fd = -1;
    /* The lock belongs to the start command; our copy would keep it held.
     * Nothing else the caller left open (not close-on-exec) stays with us. */
    lxm_container_unlock(c);
    if (result_fd > 3)
        close_range(3, (unsigned)result_fd - 1, 0);
    close_range((unsigned)result_fd + 1, ~0U, 0);
    redirect_stdio(&m);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    prctl(PR_SET_NAME, "lxm-monitor");
    prctl(PR_SET_CHILD_SUBREAPER, 0);

    int r = monitor_setup(&m, &err);
    if (r == 0)
        r = monitor_boot(&m, &err);
    if (r < 0) {
        lxm_write_all(result_fd, err.msg, strlen(err.msg));
        teardown(&m);
        _exit(1);
    }
    lxm_write_all(result_fd, "ok\n", 3);
    close(result_fd);
    trim_memory();
    run_loop(&m);
    teardown(&m);
    notify_stop_clients(&m, "stopped\n");
    remove_run_dir_if_idle(&m);
    _exit(0);
}

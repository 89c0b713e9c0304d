/* start.c: the parent side of the runtime: start (fork the monitor and wait
 * for its verdict), stop, query, freeze, live limits, and the state file
 * and socket plumbing the other runtime files share. */
#include "runtime/runtime-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/owner.h"

#define DEFAULT_HALT_SIGNAL SIGPWR

const char *lxm_state_name(enum lxm_state s)
{
    switch (s) {
    case LXM_STATE_STOPPED: return "STOPPED";
    case LXM_STATE_STARTING: return "STARTING";
    case LXM_STATE_RUNNING: return "RUNNING";
    case LXM_STATE_FROZEN: return "FROZEN";
    case LXM_STATE_STOPPING: return "STOPPING";
    case LXM_STATE_ABORTING: return "ABORTING";
    }
    return "UNKNOWN";
}

static int state_from_name(const char *s, enum lxm_state *out)
{
    for (int i = LXM_STATE_STOPPED; i <= LXM_STATE_ABORTING; i++)
        if (strcmp(s, lxm_state_name((enum lxm_state)i)) == 0) {
            *out = (enum lxm_state)i;
            return 0;
        }
    return -EINVAL;
}

int lxm_halt_signal(const struct lxm_config *cfg)
{
    return cfg && cfg->halt_signal > 0 ? cfg->halt_signal : DEFAULT_HALT_SIGNAL;
}

int lxm_runtime_load_config(struct lxm_container *c, struct lxm_error *err)
{
    int r = lxm_container_load_config(c, err);
    if (r < 0)
        return r;
    return lxm_config_effective(c->paths, c->config, err);
}

/* --- state file ----------------------------------------------------------- */

static char *state_path(const struct lxm_container *c)
{
    return xasprintf("%s/state", c->run_dir);
}

int lxm_state_write(const struct lxm_container *c, const struct lxm_state_file *st)
{
    _cleanup_free_ char *path = state_path(c);
    _cleanup_free_ char *text =
        xasprintf("%d %d %" PRIu64 " %" PRId64 " %" PRIu64 " %d %" PRIu64 "\n",
                  (int)st->monitor_pid, (int)st->init_pid, st->init_starttime, st->started_at,
                  st->monitor_starttime, (int)st->boot_pid, st->boot_starttime);
    if (!path || !text)
        return -ENOMEM;
    /* Replaced atomically, not synced: it names processes, which a crash
     * of the host takes with it (lxm_state_read drops what is unreadable). */
    return write_file_replace(path, text, strlen(text), 0600);
}

int lxm_state_read(const struct lxm_container *c, struct lxm_state_file *st)
{
    _cleanup_free_ char *path = state_path(c);
    _cleanup_free_ char *text = NULL;
    if (!path)
        return -ENOMEM;
    int r = read_file(path, &text, NULL);
    if (r < 0)
        return r;
    int mon, init, boot = 0;
    *st = (struct lxm_state_file){0};
    int n = sscanf(text, "%d %d %" SCNu64 " %" SCNd64 " %" SCNu64 " %d %" SCNu64, &mon, &init,
                   &st->init_starttime, &st->started_at, &st->monitor_starttime, &boot,
                   &st->boot_starttime);
    /* An older lxm wrote four fields, always with an init. */
    if (n < 4 || (n < 7 && init <= 0) || mon < 0 || init < 0 || boot < 0)
        return -EINVAL;
    st->monitor_pid = mon;
    st->init_pid = init;
    st->boot_pid = boot;
    return 0;
}

bool lxm_state_is_mine(const struct lxm_container *c)
{
    struct lxm_state_file st;
    return lxm_state_read(c, &st) == 0 && st.monitor_pid == getpid() &&
           st.monitor_starttime == proc_starttime(getpid());
}

void lxm_state_remove(const struct lxm_container *c)
{
    _cleanup_free_ char *path = state_path(c);
    _cleanup_free_ char *sock = lxm_monitor_socket_path(c);
    if (path)
        unlink(path);
    if (sock)
        unlink(sock);
}

int lxm_pidfd_verified(pid_t pid, uint64_t starttime)
{
    if (pid <= 0)
        return -ESRCH;
    _cleanup_close_ int fd = pidfd_open(pid, 0);
    if (fd < 0)
        return -errno;
    /* The pidfd pins the process: checking after opening closes the race.
     * A zombie (readable pidfd) is no longer that process either. */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (proc_starttime(pid) != starttime || poll(&p, 1, 0) > 0)
        return -ESRCH;
    return TAKE_FD(fd);
}

/* --- monitor socket -------------------------------------------------------- */

char *lxm_monitor_socket_path(const struct lxm_container *c)
{
    return xasprintf("%s/monitor.sock", c->run_dir);
}

int lxm_monitor_connect(const struct lxm_container *c)
{
    _cleanup_free_ char *path = lxm_monitor_socket_path(c);
    if (!path)
        return -ENOMEM;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    /* Non-blocking: a connect to a unix socket whose backlog is full
     * would otherwise wait for the monitor to accept. */
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
        return -errno;
    return TAKE_FD(fd);
}

int lxm_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                poll(&pfd, 1, -1);
                continue;
            }
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int lxm_read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;
    while (n + 1 < size) {
        ssize_t k = read(fd, buf + n, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        if (k == 0)
            return -EPIPE;
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = '\0';
    return 0;
}

int lxm_send_fd(int sock, int fd)
{
    char data = 'm';
    struct iovec iov = {.iov_base = &data, .iov_len = 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u = {0};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int lxm_recv_fd(int sock)
{
    char data;
    struct iovec iov = {.iov_base = &data, .iov_len = 1};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } u = {0};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
        return -EIO;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (!cm || cm->cmsg_type != SCM_RIGHTS)
        return -EIO;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    return fd;
}

/* --- query ------------------------------------------------------------------ */

/* How long a command waits for the monitor's answer. Not a liveness test
 * (the monitor's pidfd is): a monitor that answers late is reported from
 * the state file, never as gone. */
#define QUERY_WAIT_MS 3000

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line from fd within ms; gives up early when the process behind
 * pidfd (-1: unknown) exits. -ETIMEDOUT, -ECONNRESET, -EPROTO or 0. */
static int read_line_while_alive(int fd, int pidfd, int64_t ms, char *buf, size_t size)
{
    size_t n = 0;
    int64_t deadline = now_ms() + ms;
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        int r = poll(p, 2, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (p[0].revents) {
            /* A byte at a time: a second line ("kill", then "stopped")
             * stays in the socket for the next call. */
            ssize_t k = recv(fd, buf + n, 1, MSG_DONTWAIT);
            if (k < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (k <= 0)
                return -ECONNRESET;
            n += (size_t)k;
            buf[n] = '\0';
            char *nl = strchr(buf, '\n');
            if (nl) {
                *nl = '\0';
                return 0;
            }
            if (n >= size - 1)
                return -EPROTO;
        } else if (p[1].revents) {
            return -ECONNRESET;
        }
    }
}

static int query_monitor(struct lxm_container *c, int monfd, struct lxm_runtime_info *out)
{
    _cleanup_close_ int fd = lxm_monitor_connect(c);
    if (fd < 0)
        return fd == -EAGAIN ? -ETIMEDOUT : fd;
    char line[256], state[32];
    int pid;
    int64_t started;
    if (send(fd, "state\n", 6, MSG_NOSIGNAL | MSG_DONTWAIT) != 6)
        return -ECONNRESET;
    int r = read_line_while_alive(fd, monfd, QUERY_WAIT_MS, line, sizeof(line));
    if (r < 0)
        return r;
    if (sscanf(line, "STATE %31s %d %" SCNd64, state, &pid, &started) != 3 ||
        state_from_name(state, &out->state) < 0)
        return -EPROTO;
    out->init_pid = pid;
    out->started_at = started;
    out->monitor_alive = true;
    return 0;
}

/* A pidfd of the monitor the state file names, if it is still that one. */
static int monitor_pidfd(const struct lxm_state_file *st)
{
    if (st->monitor_starttime == 0)
        return -ESRCH;
    return lxm_pidfd_verified(st->monitor_pid, st->monitor_starttime);
}

static bool pidfd_exited(int pidfd)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* RUNNING or FROZEN if the recorded init lives; false otherwise. */
static bool init_from_state(struct lxm_container *c, const struct lxm_state_file *st,
                            struct lxm_runtime_info *out)
{
    _cleanup_close_ int pidfd =
        st->init_pid > 0 ? lxm_pidfd_verified(st->init_pid, st->init_starttime) : -1;
    if (pidfd < 0)
        return false;
    out->state = LXM_STATE_RUNNING;
    out->init_pid = st->init_pid;
    out->started_at = st->started_at;
    struct lxm_cgroup *cg = NULL;
    struct lxm_error e = {0};
    if (lxm_cgroup_open(c->id, &cg, &e) == 0) {
        if (lxm_cgroup_is_frozen(cg) == 1)
            out->state = LXM_STATE_FROZEN;
        lxm_cgroup_free(cg);
    }
    return true;
}

/* The monitor is gone and so is init: undo what it would have undone. A
 * child it had released but not seen exec init (it died during a boot,
 * after the start command was told the start failed) is killed with
 * everything else in the cgroup, and we say so. */
static void cleanup_stale(struct lxm_container *c, const struct lxm_state_file *st)
{
    struct lxm_cgroup *cg = NULL;
    struct lxm_error e = {0};
    if (st && st->boot_pid > 0) {
        _cleanup_close_ int boot = lxm_pidfd_verified(st->boot_pid, st->boot_starttime);
        if (boot >= 0)
            lxm_warn("%s: its monitor died while booting it: killing the unfinished init "
                     "(pid %d)",
                     c->name, (int)st->boot_pid);
    }
    if (lxm_cgroup_open(c->id, &cg, &e) == 0) {
        if (lxm_cgroup_destroy(cg, &e) < 0)
            lxm_warn("%s: %s", c->name, e.msg);
        lxm_cgroup_free(cg);
    }
    if (!c->config)
        lxm_runtime_load_config(c, &e);
    if (c->config)
        lxm_network_cleanup_by_name(c->paths, c->config);
    lxm_state_remove(c);
}

/* Only clean up under the lock so a concurrent start is not undone. */
static void cleanup_stale_locked(struct lxm_container *c, const struct lxm_state_file *st)
{
    bool had_lock = c->lock_fd >= 0;
    if (lxm_container_trylock(c) == 0) {
        cleanup_stale(c, st);
        if (!had_lock)
            lxm_container_unlock(c);
    }
}

/* The monitor is alive (monfd) but did not answer: what the state file and
 * pidfds say, and never a teardown. */
static void query_busy_monitor(struct lxm_container *c, const struct lxm_state_file *st,
                               struct lxm_runtime_info *out)
{
    out->monitor_alive = true;
    out->monitor_busy = true;
    if (!init_from_state(c, st, out))
        out->state = st->init_pid > 0 ? LXM_STATE_STOPPING : LXM_STATE_STARTING;
}

int lxm_runtime_query(struct lxm_container *c, struct lxm_runtime_info *out, struct lxm_error *err)
{
    (void)err;
    memset(out, 0, sizeof(*out));
    out->state = LXM_STATE_STOPPED;
    struct lxm_state_file st;
    int r = lxm_state_read(c, &st);
    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        /* Unreadable (never torn: it is replaced atomically): drop it. */
        lxm_state_remove(c);
        return 0;
    }
    _cleanup_close_ int monfd = monitor_pidfd(&st);
    if (monfd >= 0 && st.boot_pid > 0) {
        /* Between release and exec: the monitor answers once it is done. */
        out->state = LXM_STATE_STARTING;
        out->monitor_alive = true;
        return 0;
    }
    if (monfd >= 0 || st.monitor_starttime == 0) {
        r = query_monitor(c, monfd, out);
        if (r == 0)
            return 0;
        if (monfd >= 0 && !pidfd_exited(monfd)) {
            query_busy_monitor(c, &st, out);
            return 0;
        }
    }
    if (init_from_state(c, &st, out))
        return 0; /* an orphan: the monitor died after init exec'd */
    cleanup_stale_locked(c, &st);
    return 0;
}

static bool is_running(enum lxm_state s)
{
    return s != LXM_STATE_STOPPED;
}

/* Take c's lock unless the caller holds it already (delete -f stops, restart
 * stops and starts, all under one lock); *took says whether to release it.
 * The container must still exist once the lock is held. */
static int lock_existing(struct lxm_container *c, bool *took, struct lxm_error *err)
{
    *took = c->lock_fd < 0;
    int r = lxm_container_lock(c, err);
    if (r == 0 && !lxm_container_exists(c))
        r = lxm_error_set(err, ENOENT, "container '%s' not found", c->name);
    if (r < 0 && *took)
        lxm_container_unlock(c);
    return r;
}

static void unlock_if(struct lxm_container *c, bool took)
{
    if (took)
        lxm_container_unlock(c);
}

/* The v1 freezer keeps frozen tasks alive through SIGKILL, and a frozen
 * init cannot act on its halt signal: thaw before either. */
static void thaw(const struct lxm_container *c)
{
    struct lxm_cgroup *cg = NULL;
    if (lxm_cgroup_open(c->id, &cg, NULL) == 0) {
        lxm_cgroup_freeze(cg, false, NULL);
        lxm_cgroup_free(cg);
    }
}

/* --- start ------------------------------------------------------------------ */

/* Remove the run dir (the lock file lives elsewhere); called with the lock
 * held, last. */
static void remove_run_dir(struct lxm_container *c)
{
    int r = rm_rf(c->run_dir);
    if (r < 0)
        lxm_warn("remove %s: %s", c->run_dir, strerror(-r));
}

/* Fork the monitor and wait for its verdict: "ok\n", "ok ready\n" (init
 * runs and the guest is ready already: *ready) or its error. */
static int spawn_monitor(struct lxm_container *c, bool *ready, struct lxm_error *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return lxm_error_errno(err, errno, "pipe");
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return lxm_error_errno(err, errno, "fork");
    }
    if (pid == 0) {
        close(p[0]);
        setsid();
        /* Double fork: the monitor is reparented away from the CLI and is
         * not a session leader that could acquire a terminal. */
        pid_t m = fork();
        if (m != 0)
            _exit(m < 0);
        lxm_monitor_main(c, p[1]);
    }
    close(p[1]);
    _cleanup_close_ int rfd = p[0];
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    char buf[LXM_ERROR_MAX];
    size_t n = 0;
    for (;;) {
        ssize_t k = read(rfd, buf + n, sizeof(buf) - 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 || (n += (size_t)k) >= sizeof(buf) - 1)
            break;
    }
    buf[n] = '\0';
    *ready = strcmp(buf, "ok ready\n") == 0;
    if (*ready || strcmp(buf, "ok\n") == 0)
        return 0;
    if (n == 0)
        return lxm_error_set(err, EIO,
                             "start %s: the monitor died during the boot (see %s/lxm.log)",
                             c->name, c->log_dir);
    buf[strcspn(buf, "\n")] = '\0';
    return lxm_error_set(err, EIO, "start %s: %s", c->name, buf);
}

/* A monitor that closed its end of the result pipe is on its way out;
 * its record is read once it is gone (bounded: it may be stuck in exit). */
static void wait_monitor_exit(struct lxm_container *c)
{
    struct lxm_state_file st;
    if (lxm_state_read(c, &st) < 0)
        return;
    _cleanup_close_ int monfd = monitor_pidfd(&st);
    if (monfd >= 0) {
        struct pollfd p = {.fd = monfd, .events = POLLIN};
        while (poll(&p, 1, 10000) < 0 && errno == EINTR)
            ;
    }
}

/* The monitor logs a missing AppArmor at every start, but its stderr is the
 * container's log: a person at a terminal is told here too. */
static void warn_no_apparmor(const struct lxm_container *c)
{
    const struct lxm_policy *pol = &c->config->policy;
    if (!pol->apparmor_profile || strcmp(pol->apparmor_profile, "unconfined") == 0 ||
        pol->apparmor_required || !isatty(STDERR_FILENO) || lxm_apparmor_enabled())
        return;
    lxm_warn("AppArmor is not enabled in this kernel; %s runs without it", c->name);
}

int lxm_runtime_start(struct lxm_container *c, const struct lxm_start_opts *opts,
                      struct lxm_error *err)
{
    bool ready;
    return lxm_runtime_start_tell(c, opts, &ready, err);
}

int lxm_runtime_start_tell(struct lxm_container *c, const struct lxm_start_opts *opts,
                           bool *ready, struct lxm_error *err)
{
    *ready = false;
    bool took;
    int r = lock_existing(c, &took, err);
    if (r < 0)
        return r;
    struct lxm_runtime_info info = {.state = LXM_STATE_STOPPED};
    r = lxm_runtime_query(c, &info, err);
    if (r < 0)
        goto out;
    if (is_running(info.state)) {
        r = lxm_error_set(err, EEXIST, "container '%s' is already running", c->name);
        goto out;
    }
    /* While we read the configuration and the monitor sets up. */
    lxm_cgroup_warm_attach();
    r = lxm_runtime_load_config(c, err);
    if (r == 0)
        r = lxm_container_check_rootfs(c, err);
    if (r < 0)
        goto out;
    if (opts && opts->on_config)
        opts->on_config(c, c->config);
    else if (lxm_security_is_unconfined(&c->config->policy))
        lxm_security_warn_unconfined(c->name);
    warn_no_apparmor(c);
    const char *dirs[] = {c->run_dir, c->log_dir};
    for (size_t i = 0; i < ARRAY_SIZE(dirs) && r == 0; i++)
        if ((r = mkdir_p(dirs[i], 0700)) < 0)
            r = lxm_error_errno(err, -r, "create %s", dirs[i]);
    if (r < 0)
        goto out;
    r = spawn_monitor(c, ready, err);
    if (r < 0) {
        wait_monitor_exit(c);
        /* A monitor killed during the boot left its record: a child it
         * had released is killed now, under our lock, and said so; an init
         * it had recorded as running is adopted like any orphan. */
        (void)lxm_runtime_query(c, &info, NULL);
        if (is_running(info.state))
            lxm_warn("%s: its monitor died once init was running: it runs without one "
                     "(no console, no reboot; 'lxm stop %s' stops it)",
                     c->name, c->name);
    }
out:
    /* A failed start leaves nothing behind; a running container keeps its dir. */
    if (r < 0 && !is_running(info.state))
        remove_run_dir(c);
    unlock_if(c, took);
    if (r == 0 && opts && opts->foreground)
        return lxm_runtime_console(c, err);
    return r;
}

/* --- stop --------------------------------------------------------------------- */

/* Wait up to ms (-1 = forever) for the process behind pidfd to exit. */
static bool pidfd_wait(int pidfd, int64_t ms)
{
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    for (;;) {
        int r = poll(&pfd, 1, ms > INT32_MAX ? INT32_MAX : (int)ms);
        if (r < 0 && errno == EINTR)
            continue;
        return r > 0;
    }
}

static void say_killing(const struct lxm_container *c, int64_t timeout_ms)
{
    if (timeout_ms > 0)
        lxm_info("%s: init did not shut down within %" PRId64 " s: killing it (SIGKILL)", c->name,
                 timeout_ms / 1000);
}

/* Beyond the stop timeout, how long a stop waits for a live monitor to
 * report the container down before it gives up (leaving it to finish). */
#define STOP_GRACE_MS 30000

/* Stop through the monitor (monfd: its pidfd, -1 if unknown): 0 once it
 * says "stopped", -ECONNRESET if it died on the way, -ETIMEDOUT if it is
 * still at it after the grace period. */
static int stop_via_monitor(struct lxm_container *c, int monfd, int64_t timeout_ms, bool kill)
{
    _cleanup_close_ int fd = lxm_monitor_connect(c);
    if (fd < 0)
        return fd == -EAGAIN ? -ETIMEDOUT : -ECONNRESET;
    char req[64], line[64];
    int n = snprintf(req, sizeof(req), "stop %" PRId64 " %d\n", timeout_ms, kill ? 1 : 0);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
        return -ECONNRESET;
    int64_t deadline = now_ms() + (kill ? 0 : timeout_ms) + STOP_GRACE_MS;
    for (;;) {
        int64_t left = deadline - now_ms();
        int r = read_line_while_alive(fd, monfd, left > 0 ? left : 0, line, sizeof(line));
        if (r < 0)
            return r == -ETIMEDOUT ? r : -ECONNRESET;
        if (strcmp(line, "kill") == 0 && !kill)
            say_killing(c, timeout_ms);
        else if (strcmp(line, "stopped") == 0)
            return 0;
    }
}

static int stop_orphan(struct lxm_container *c, int64_t timeout_ms, bool kill,
                       struct lxm_error *err)
{
    struct lxm_state_file st;
    bool have = lxm_state_read(c, &st) == 0;
    if (have) {
        _cleanup_close_ int pidfd = lxm_pidfd_verified(st.init_pid, st.init_starttime);
        if (pidfd >= 0) {
            if (!c->config)
                lxm_runtime_load_config(c, err);
            thaw(c);
            if (!kill)
                pidfd_send_signal(pidfd, lxm_halt_signal(c->config), NULL, 0);
            if (kill || !pidfd_wait(pidfd, timeout_ms)) {
                if (!kill)
                    say_killing(c, timeout_ms);
                thaw(c);
                pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
                pidfd_wait(pidfd, -1);
            }
        }
    }
    cleanup_stale(c, have ? &st : NULL);
    return 0;
}

/* A live monitor is asked and waited for; only a dead one's container is
 * stopped and cleaned up by the command itself. */
static int stop_running(struct lxm_container *c, const struct lxm_runtime_info *info,
                        int64_t timeout_ms, bool kill, struct lxm_error *err)
{
    if (info->monitor_alive) {
        struct lxm_state_file st;
        _cleanup_close_ int monfd = lxm_state_read(c, &st) == 0 ? monitor_pidfd(&st) : -1;
        int r = stop_via_monitor(c, monfd, timeout_ms, kill);
        if (r == 0)
            return 0;
        if (monfd >= 0 && !pidfd_exited(monfd))
            return lxm_error_set(err, ETIMEDOUT,
                                 "container '%s': its monitor (pid %d) is alive but has not "
                                 "finished the stop; it was left to do so (see %s/lxm.log)",
                                 c->name, (int)st.monitor_pid, c->log_dir);
    }
    return stop_orphan(c, timeout_ms, kill, err);
}

int lxm_runtime_stop(struct lxm_container *c, int64_t timeout_ms, bool kill, struct lxm_error *err)
{
    bool took;
    int r = lock_existing(c, &took, err);
    if (r < 0)
        return r;
    struct lxm_runtime_info info;
    r = lxm_runtime_query(c, &info, err);
    if (r == 0 && !is_running(info.state))
        r = lxm_error_set(err, EINVAL, "container '%s' is not running", c->name);
    if (r == 0) {
        if (!kill && timeout_ms > 0 && isatty(STDERR_FILENO))
            lxm_info("%s: waiting up to %" PRId64 " s for init to shut down", c->name,
                     timeout_ms / 1000);
        /* Always, not only when FROZEN: the state may be older than a
         * freeze by hand, and a frozen init outlives SIGKILL. */
        thaw(c);
        r = stop_running(c, &info, timeout_ms, kill, err);
        if (r == 0)
            remove_run_dir(c);
    }
    unlock_if(c, took);
    return r;
}

/* --- freeze, limits ------------------------------------------------------------- */

/* Under c's lock: a stop (which holds it) is never frozen half-way. A
 * STOPPING container (its stop command gone, the monitor still at it) or
 * a STARTING one is refused: frozen, its init would outlive SIGKILL. */
static int freeze_locked(struct lxm_container *c, bool freeze, struct lxm_error *err)
{
    struct lxm_runtime_info info;
    int r = lxm_runtime_query(c, &info, err);
    if (r < 0)
        return r;
    if (!is_running(info.state))
        return lxm_error_set(err, EINVAL, "container '%s' is not running", c->name);
    /* STARTING with an init: it runs, only not ready yet. */
    bool init_runs = info.state == LXM_STATE_STARTING && info.init_pid > 0;
    if (freeze && info.state != LXM_STATE_RUNNING && info.state != LXM_STATE_FROZEN && !init_runs)
        return lxm_error_set(err, EBUSY, "container '%s' is %s: it cannot be frozen now", c->name,
                             lxm_state_name(info.state));
    struct lxm_cgroup *cg = NULL;
    r = lxm_cgroup_open(c->id, &cg, err);
    if (r < 0)
        return r;
    r = lxm_cgroup_freeze(cg, freeze, err);
    lxm_cgroup_free(cg);
    return r;
}

int lxm_runtime_freeze(struct lxm_container *c, bool freeze, struct lxm_error *err)
{
    bool took;
    int r = lock_existing(c, &took, err);
    if (r < 0)
        return r;
    r = freeze_locked(c, freeze, err);
    unlock_if(c, took);
    if (r < 0 && r != -EINVAL && r != -EBUSY)
        return lxm_error_prefix(err, "%s %s", freeze ? "freeze" : "unfreeze", c->name);
    return r;
}

/* The effective limits of the saved config.yaml, into a running c. */
static int apply_saved_limits(struct lxm_container *c, struct lxm_cgroup *cg, struct lxm_error *err)
{
    struct lxm_config *saved = NULL;
    int r = lxm_config_load(c->config_file, &saved, err);
    if (r == 0)
        r = lxm_config_effective(c->paths, saved, err);
    if (r == 0)
        r = lxm_cgroup_apply_limits(cg, &saved->limits, err);
    lxm_config_free(saved);
    return r;
}

/* NULL, or the cgroup of c when it runs (*r says why not otherwise). */
static struct lxm_cgroup *running_cgroup(struct lxm_container *c, int *r, struct lxm_error *err)
{
    struct lxm_runtime_info info;
    struct lxm_cgroup *cg = NULL;
    *r = lxm_runtime_query(c, &info, err);
    if (*r == 0 && is_running(info.state))
        *r = lxm_cgroup_open(c->id, &cg, err);
    return cg;
}

int lxm_runtime_change_limits(struct lxm_container *c, const struct lxm_limits *limits,
                              struct lxm_error *err)
{
    int r;
    struct lxm_cgroup *cg = running_cgroup(c, &r, err);
    if (!cg)
        return r;
    /* limits is the whole effective set: a key it leaves unset goes back
     * to the kernel's default, as at a fresh start (config unset). */
    r = lxm_cgroup_apply_limits(cg, limits, err);
    if (r < 0) {
        /* Some files may have been written before the one that failed. */
        struct lxm_error e = {0};
        if (apply_saved_limits(c, cg, &e) < 0)
            lxm_warn("%s: could not put back the saved limits: %s", c->name, e.msg);
    }
    lxm_cgroup_free(cg);
    return r;
}

int lxm_runtime_apply_limits(struct lxm_container *c, struct lxm_error *err)
{
    int r;
    struct lxm_cgroup *cg = running_cgroup(c, &r, err);
    if (!cg)
        return r;
    r = apply_saved_limits(c, cg, err);
    lxm_cgroup_free(cg);
    return r;
}

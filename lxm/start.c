/* start.c: the parent side of the runtime: start (fork the monitor and wait
 * for its verdict), stop, query, freeze, live limits, and the state file
 * and socket plumbing the other runtime files share. */
#include "runtime-internal.h"

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
    _cleanup_free_ char *text = xasprintf("%d %d %" PRIu64 " %" PRId64 "\n", (int)st->monitor_pid,
                                          (int)st->init_pid, st->init_starttime, st->started_at);
    if (!path || !text)
        return -ENOMEM;
    return write_file_atomic(path, text, strlen(text), 0600);
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
    int mon, init;
    if (sscanf(text, "%d %d %" SCNu64 " %" SCNd64, &mon, &init, &st->init_starttime,
               &st->started_at) != 4 ||
        init <= 0)
        return -EINVAL;
    st->monitor_pid = mon;
    st->init_pid = init;
    return 0;
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

uint64_t lxm_proc_starttime(pid_t pid)
{
    char path[64];
    _cleanup_free_ char *text = NULL;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (read_file(path, &text, NULL) < 0)
        return 0;
    /* comm may hold spaces and parens: fields count from the last ')'. */
    char *p = strrchr(text, ')');
    if (!p)
        return 0;
    p++;
    for (int field = 3; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

int lxm_pidfd_verified(pid_t pid, uint64_t starttime)
{
    if (pid <= 0)
        return -ESRCH;
    _cleanup_close_ int fd = pidfd_open(pid, 0);
    if (fd < 0)
        return -errno;
    /* The pidfd pins the process: checking after opening closes the race. */
    if (lxm_proc_starttime(pid) != starttime)
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
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
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

static int query_monitor(struct lxm_container *c, struct lxm_runtime_info *out)
{
    _cleanup_close_ int fd = lxm_monitor_connect(c);
    if (fd < 0)
        return fd;
    /* A monitor that stopped answering must not hang list/info: fall back
     * to the pidfd check below. */
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char line[256], state[32];
    int pid;
    int64_t started;
    if (lxm_write_all(fd, "state\n", 6) < 0 || lxm_read_line(fd, line, sizeof(line)) < 0)
        return -ECONNRESET;
    if (sscanf(line, "STATE %31s %d %" SCNd64, state, &pid, &started) != 3 ||
        state_from_name(state, &out->state) < 0)
        return -EPROTO;
    out->init_pid = pid;
    out->started_at = started;
    out->monitor_alive = true;
    return 0;
}

/* The monitor is gone and so is init: undo what it would have undone. */
static void cleanup_stale(struct lxm_container *c)
{
    struct lxm_cgroup *cg = NULL;
    struct lxm_error e = {0};
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

int lxm_runtime_query(struct lxm_container *c, struct lxm_runtime_info *out, struct lxm_error *err)
{
    memset(out, 0, sizeof(*out));
    out->state = LXM_STATE_STOPPED;
    if (query_monitor(c, out) == 0)
        return 0;
    struct lxm_state_file st;
    int r = lxm_state_read(c, &st);
    if (r < 0) {
        if (r != -ENOENT)
            lxm_state_remove(c);
        return 0;
    }
    _cleanup_close_ int pidfd = lxm_pidfd_verified(st.init_pid, st.init_starttime);
    if (pidfd >= 0) {
        out->state = LXM_STATE_RUNNING;
        out->init_pid = st.init_pid;
        out->started_at = st.started_at;
        struct lxm_cgroup *cg = NULL;
        struct lxm_error e = {0};
        if (lxm_cgroup_open(c->id, &cg, &e) == 0) {
            if (lxm_cgroup_is_frozen(cg) == 1)
                out->state = LXM_STATE_FROZEN;
            lxm_cgroup_free(cg);
        }
        return 0;
    }
    /* Only clean up under the lock so a concurrent start is not undone. */
    bool had_lock = c->lock_fd >= 0;
    if (lxm_container_trylock(c) == 0) {
        cleanup_stale(c);
        if (!had_lock)
            lxm_container_unlock(c);
    }
    (void)err;
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

static int spawn_monitor(struct lxm_container *c, struct lxm_error *err)
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
    if (strcmp(buf, "ok\n") == 0)
        return 0;
    if (n == 0)
        return lxm_error_set(err, EIO,
                             "start %s: the monitor died before init started (see %s/lxm.log)",
                             c->name, c->log_dir);
    buf[strcspn(buf, "\n")] = '\0';
    return lxm_error_set(err, EIO, "start %s: %s", c->name, buf);
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
    r = lxm_runtime_load_config(c, err);
    if (r == 0)
        r = lxm_container_check_rootfs(c, err);
    if (r < 0)
        goto out;
    if (lxm_security_is_unconfined(&c->config->policy))
        lxm_security_warn_unconfined(c->name);
    warn_no_apparmor(c);
    const char *dirs[] = {c->run_dir, c->log_dir};
    for (size_t i = 0; i < ARRAY_SIZE(dirs) && r == 0; i++)
        if ((r = mkdir_p(dirs[i], 0700)) < 0)
            r = lxm_error_errno(err, -r, "create %s", dirs[i]);
    if (r < 0)
        goto out;
    r = spawn_monitor(c, err);
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

/* Stop through the monitor; -ECONNRESET if it died on the way. */
static int stop_via_monitor(struct lxm_container *c, int64_t timeout_ms, bool kill)
{
    _cleanup_close_ int fd = lxm_monitor_connect(c);
    if (fd < 0)
        return -ECONNRESET;
    char req[64], line[64];
    int n = snprintf(req, sizeof(req), "stop %" PRId64 " %d\n", timeout_ms, kill ? 1 : 0);
    if (lxm_write_all(fd, req, (size_t)n) < 0)
        return -ECONNRESET;
    while (lxm_read_line(fd, line, sizeof(line)) == 0) {
        if (strcmp(line, "kill") == 0 && !kill)
            say_killing(c, timeout_ms);
        else if (strcmp(line, "stopped") == 0)
            return 0;
    }
    return -ECONNRESET;
}

static int stop_orphan(struct lxm_container *c, int64_t timeout_ms, bool kill,
                       struct lxm_error *err)
{
    struct lxm_state_file st;
    if (lxm_state_read(c, &st) == 0) {
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
    cleanup_stale(c);
    return 0;
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
        if (!info.monitor_alive || stop_via_monitor(c, timeout_ms, kill) < 0)
            r = stop_orphan(c, timeout_ms, kill, err);
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
    if (freeze && info.state != LXM_STATE_RUNNING && info.state != LXM_STATE_FROZEN)
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
    r = lxm_cgroup_set_limits(cg, limits, err);
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

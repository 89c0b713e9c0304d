/* state.c: the state file and the monitor's client: what a command knows
 * of a container (lxm_runtime_query, which changes nothing), the monitor
 * socket, and the stop request. Used by the runtime and by every module
 * that asks whether a container runs; uses no other runtime file. */
#include "runtime/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "config/config.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/io.h"
#include "util/log.h"
#include "util/owner.h"

#define DEFAULT_HALT_SIGNAL SIGPWR

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
        xasprintf("%d %d %" PRIu64 " %" PRId64 " %" PRIu64 " %d %" PRIu64 " %d\n",
                  (int)st->monitor_pid, (int)st->init_pid, st->init_starttime, st->started_at,
                  st->monitor_starttime, (int)st->boot_pid, st->boot_starttime,
                  st->flags > 0 ? st->flags : 0);
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
    int mon, init, boot = 0, flags = -1;
    *st = (struct lxm_state_file){0};
    int n = sscanf(text, "%d %d %" SCNu64 " %" SCNd64 " %" SCNu64 " %d %" SCNu64 " %d", &mon,
                   &init, &st->init_starttime, &st->started_at, &st->monitor_starttime, &boot,
                   &st->boot_starttime, &flags);
    /* An older lxm wrote four fields, always with an init, then seven. */
    if (n < 4 || (n < 7 && init <= 0) || mon < 0 || init < 0 || boot < 0 ||
        (n == 8 && flags < 0))
        return -EINVAL;
    st->flags = n == 8 ? flags : -1;
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
    if (proc_starttime(pid) != starttime || lxm_pidfd_exited(fd))
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
    struct sockaddr_un sa;
    if (lxm_sockaddr_un(&sa, path) < 0)
        return -ENAMETOOLONG;
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

/* --- query ------------------------------------------------------------------ */

/* How long a command waits for the monitor's answer. Not a liveness test
 * (the monitor's pidfd is): a monitor that answers late is reported from
 * the state file, never as gone. */
#define QUERY_WAIT_MS 3000

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
    int r = lxm_read_line_within(fd, monfd, QUERY_WAIT_MS, line, sizeof(line));
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
int lxm_state_monitor_pidfd(const struct lxm_state_file *st)
{
    if (st->monitor_starttime == 0)
        return -ESRCH;
    return lxm_pidfd_verified(st->monitor_pid, st->monitor_starttime);
}

bool lxm_pidfd_wait(int pidfd, int64_t ms)
{
    int64_t deadline = ms < 0 ? -1 : lxm_now_ms() + ms;
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    for (;;) {
        int timeout = -1;
        if (deadline >= 0) {
            int64_t left = deadline - lxm_now_ms();
            timeout = left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
        }
        int r = poll(&p, 1, timeout);
        if (r < 0 && errno == EINTR)
            continue;
        return r > 0;
    }
}

bool lxm_pidfd_exited(int pidfd)
{
    return lxm_pidfd_wait(pidfd, 0);
}

/* A monitor hangs up on a client without an answer when it dies (it keeps
 * its clients across its execs and says "stopped" before it exits; only a
 * flood of connections makes it drop a waiting one). Its files close in
 * the middle of its exit, before the kernel marks it exited, and the rest
 * (its mount namespace, the console's pty) can take a while on a loaded
 * host: whoever reads "it died" from a hang-up waits for its pidfd first,
 * bounded, or it calls a dying monitor alive and leaves the container to
 * a monitor that is gone. */
#define MONITOR_EXIT_WAIT_MS 5000

bool lxm_monitor_wait_exit(int monfd)
{
    return monfd < 0 || lxm_pidfd_wait(monfd, MONITOR_EXIT_WAIT_MS);
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

/* Is pid still the process that started at starttime, and neither a
 * zombie nor (with not_stopped) stopped by a signal or a tracer? Its
 * state letter in *state. */
static bool proc_is(pid_t pid, uint64_t starttime, bool not_stopped, char *state)
{
    if (pid <= 0 || proc_starttime_state(pid, state) != starttime)
        return false;
    return *state != 'Z' && *state != 'X' && *state != 'x' &&
           !(not_stopped && (*state == 'T' || *state == 't'));
}

/* The state from the monitor's own record, without asking it: when the
 * file carries it (flags), no boot is under way, and both the monitor
 * and the init it names run. A stopped or traced monitor is asked all
 * the same, so that its silence is reported (monitor_busy); so is one
 * between boots (its init is gone). */
static bool query_record(struct lxm_container *c, const struct lxm_state_file *st,
                         struct lxm_runtime_info *out)
{
    char mon_state, init_state;
    if (st->flags < 0 || st->boot_pid > 0 || st->init_pid <= 0 || st->monitor_starttime == 0 ||
        !proc_is(st->monitor_pid, st->monitor_starttime, true, &mon_state) ||
        !proc_is(st->init_pid, st->init_starttime, false, &init_state))
        return false;
    out->monitor_alive = true;
    out->init_pid = st->init_pid;
    out->started_at = st->started_at;
    /* In the order of the monitor's own answer (monitor_state). A frozen
     * cgroup (v1 FROZEN, v2 frozen 1) is one whose every task is frozen,
     * and the kernel shows a frozen task as D (uninterruptible): an init
     * in any other state means not frozen, without reading the cgroup. */
    if (st->flags & LXM_STATE_F_STOPPING)
        out->state = LXM_STATE_STOPPING;
    else if (init_state == 'D' && lxm_cgroup_peek_frozen(c->id) == 1)
        out->state = LXM_STATE_FROZEN;
    else
        out->state = st->flags & LXM_STATE_F_READY ? LXM_STATE_RUNNING : LXM_STATE_STARTING;
    return true;
}

/* The monitor and init are gone: stale, and ABORTING while a child the
 * monitor had released (it died during a boot) still runs. */
static void query_stale(const struct lxm_state_file *st, struct lxm_runtime_info *out)
{
    out->stale = true;
    if (st->boot_pid > 0) {
        _cleanup_close_ int boot = lxm_pidfd_verified(st->boot_pid, st->boot_starttime);
        if (boot >= 0)
            out->state = LXM_STATE_ABORTING;
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
        /* Unreadable (never torn: it is replaced atomically): the next
         * lxm_runtime_reap drops it. */
        out->stale = true;
        return 0;
    }
    if (query_record(c, &st, out))
        return 0;
    _cleanup_close_ int monfd = lxm_state_monitor_pidfd(&st);
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
        /* Not there or hung up: it is on its way out (a silence is not). */
        bool hung_up = r == -ECONNRESET || r == -ECONNREFUSED || r == -ENOENT;
        bool gone = hung_up ? lxm_monitor_wait_exit(monfd) : lxm_pidfd_exited(monfd);
        if (monfd >= 0 && !gone) {
            query_busy_monitor(c, &st, out);
            return 0;
        }
    }
    if (init_from_state(c, &st, out))
        return 0; /* an orphan: the monitor died after init exec'd */
    query_stale(&st, out);
    return 0;
}

/* --- stop request ------------------------------------------------------------ */

/* Beyond the stop timeout, how long a stop waits for a live monitor to
 * report the container down before it gives up (leaving it to finish). */
#define STOP_GRACE_MS 30000

void lxm_runtime_say_killing(const struct lxm_container *c, int64_t timeout_ms)
{
    if (timeout_ms > 0)
        lxm_info("%s: init did not shut down within %" PRId64 " s: killing it (SIGKILL)", c->name,
                 timeout_ms / 1000);
}

/* How often a stop that waits looks at the monitor, and how long one that
 * is stopped (SIGSTOP, a debugger) is waited for before the stop says so:
 * it is not working on the request, and it may never be continued. */
#define STOP_CHECK_MS 500
#define STOP_STOPPED_MS QUERY_WAIT_MS

static bool is_stopped(pid_t pid)
{
    char state = 0;
    return pid > 0 && proc_starttime_state(pid, &state) > 0 && (state == 'T' || state == 't');
}

/* One stop request (monfd: the monitor's pidfd, -1 if unknown; monpid: its
 * pid, 0 if unknown): 0 once it says "stopped", -ECONNRESET if it hung up or
 * was not there, -EBUSY if it stays stopped, -ETIMEDOUT if it is still at it
 * after the grace period. Lines are read in slices of STOP_CHECK_MS; the
 * monitor's are a few bytes in one write each, never split across two. */
static int stop_request(struct lxm_container *c, int monfd, pid_t monpid, int64_t timeout_ms,
                        bool kill)
{
    _cleanup_close_ int fd = lxm_monitor_connect(c);
    if (fd < 0)
        return fd == -EAGAIN ? -ETIMEDOUT : -ECONNRESET;
    char req[64], line[64];
    int n = snprintf(req, sizeof(req), "stop %" PRId64 " %d\n", timeout_ms, kill ? 1 : 0);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
        return -ECONNRESET;
    int64_t deadline = lxm_now_ms() + (kill ? 0 : timeout_ms) + STOP_GRACE_MS, stopped = -1;
    for (;;) {
        int64_t now = lxm_now_ms(), left = deadline - now;
        if (left <= 0)
            return -ETIMEDOUT;
        int r = lxm_read_line_within(fd, monfd, left < STOP_CHECK_MS ? left : STOP_CHECK_MS, line,
                                     sizeof(line));
        if (r == -ETIMEDOUT) {
            if (!is_stopped(monpid))
                stopped = -1;
            else if (stopped < 0)
                stopped = now;
            else if (now - stopped >= STOP_STOPPED_MS)
                return -EBUSY;
            continue;
        }
        if (r < 0)
            return -ECONNRESET;
        if (strcmp(line, "kill") == 0 && !kill)
            lxm_runtime_say_killing(c, timeout_ms);
        else if (strcmp(line, "stopped") == 0)
            return 0;
    }
}

/* As stop_request; a hang-up is told apart: the monitor has exited by the
 * end of the wait (-ECONNRESET) or lives on (-EPIPE). */
int lxm_monitor_stop(struct lxm_container *c, int monfd, pid_t monpid, int64_t timeout_ms,
                     bool kill)
{
    int r = stop_request(c, monfd, monfd >= 0 ? monpid : 0, timeout_ms, kill);
    if (r == -ECONNRESET && !lxm_monitor_wait_exit(monfd))
        return -EPIPE;
    return r;
}

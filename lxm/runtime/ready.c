/* ready.c: the command side of readiness (see ready.h): ask the monitor,
 * start and wait, wait for a state. Waiting for ready is a request the
 * monitor answers when it happens; waiting for stopped watches the
 * monitor's (or an orphan init's) pidfd; only waiting for a stopped
 * container to be started looks again every few milliseconds. */
#include "runtime/ready.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime-internal.h"
#include "util/cleanup.h"
#include "util/io.h"

/* How long a command waits for the monitor's answer to "ready". */
#define READY_QUERY_MS 3000
/* The look-again interval while nothing can be waited on. */
#define WAIT_STEP_MS 50

int lxm_ready_query(struct lxm_container *c, struct lxm_ready_info *out, struct lxm_error *err)
{
    (void)err;
    *out = (struct lxm_ready_info){.boot_ms = -1};
    _cleanup_close_ int fd = lxm_monitor_connect(c);
    if (fd < 0)
        return 0;
    char line[128 + LXM_READY_STATUS_MAX];
    if (send(fd, "ready\n", 6, MSG_NOSIGNAL) != 6 ||
        lxm_read_line_within(fd, -1, READY_QUERY_MS, line, sizeof(line)) < 0)
        return 0;
    int ready, notified, leased, pos = 0;
    int64_t boot_ms;
    if (sscanf(line, "READY %d %d %d %" SCNd64 " %n", &ready, &notified, &leased, &boot_ms, &pos) <
            4 ||
        pos == 0)
        return 0;
    out->known = true;
    out->ready = ready != 0;
    out->notified = notified != 0;
    out->leased = leased != 0;
    out->boot_ms = boot_ms;
    snprintf(out->status, sizeof(out->status), "%s", line + pos);
    return 0;
}

int lxm_wait_state_parse(const char *s, enum lxm_wait_state *out)
{
    for (int i = LXM_WAIT_READY; i <= LXM_WAIT_STOPPED; i++)
        if (strcmp(s, lxm_wait_state_name((enum lxm_wait_state)i)) == 0) {
            *out = (enum lxm_wait_state)i;
            return 0;
        }
    return -EINVAL;
}

const char *lxm_wait_state_name(enum lxm_wait_state s)
{
    return s == LXM_WAIT_READY ? "ready" : s == LXM_WAIT_RUNNING ? "running" : "stopped";
}

/* Does c's state (ri) hold for want? */
static bool holds(struct lxm_container *c, const struct lxm_runtime_info *ri,
                  enum lxm_wait_state want)
{
    switch (want) {
    case LXM_WAIT_STOPPED: return ri->state == LXM_STATE_STOPPED;
    case LXM_WAIT_RUNNING:
        return ri->init_pid > 0 &&
               (ri->state == LXM_STATE_RUNNING || ri->state == LXM_STATE_FROZEN ||
                ri->state == LXM_STATE_STARTING);
    case LXM_WAIT_READY:
        if (ri->state == LXM_STATE_RUNNING)
            return true;
        if (ri->state == LXM_STATE_FROZEN) {
            struct lxm_ready_info rd;
            lxm_ready_query(c, &rd, NULL);
            return !rd.known || rd.ready;
        }
        return false;
    }
    return false;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Ask the monitor to say when c is ready; waits up to ms for the answer
 * or for the monitor to drop us (it stopped, or evicted us). */
static void wait_ready_event(struct lxm_container *c, int64_t ms)
{
    int64_t t0 = lxm_now_ms();
    _cleanup_close_ int fd = lxm_monitor_connect(c);
    char line[32];
    if (fd >= 0 && send(fd, "wait-ready\n", 11, MSG_NOSIGNAL) == 11 &&
        lxm_read_line_within(fd, -1, ms, line, sizeof(line)) == 0)
        return;
    /* Refused or dropped at once: do not spin on it. */
    int64_t spent = lxm_now_ms() - t0;
    if (spent < WAIT_STEP_MS && ms > spent)
        sleep_ms(ms - spent < WAIT_STEP_MS - spent ? ms - spent : WAIT_STEP_MS - spent);
}

/* Wait up to ms for the monitor (or the orphan init) of c to exit. */
static void wait_exit_event(struct lxm_container *c, int64_t ms)
{
    struct lxm_state_file st;
    _cleanup_close_ int pidfd = -1;
    if (lxm_state_read(c, &st) == 0) {
        pidfd = lxm_pidfd_verified(st.monitor_pid, st.monitor_starttime);
        if (pidfd < 0 && st.init_pid > 0)
            pidfd = lxm_pidfd_verified(st.init_pid, st.init_starttime);
    }
    if (pidfd < 0) {
        sleep_ms(ms < WAIT_STEP_MS ? ms : WAIT_STEP_MS);
        return;
    }
    (void)lxm_pidfd_wait(pidfd, ms);
}

static void format_secs(int64_t ms, char *buf, size_t size)
{
    if (ms % 1000 == 0)
        snprintf(buf, size, "%" PRId64, ms / 1000);
    else
        snprintf(buf, size, "%.1f", (double)ms / 1000);
}

/* The wait itself: 0, -ETIMEDOUT, or -ECHILD when c stops while waiting
 * for it to be ready and stop_fails is set. */
static int wait_state(struct lxm_container *c, enum lxm_wait_state want, int64_t timeout_ms,
                      bool stop_fails)
{
    int64_t deadline = timeout_ms < 0 ? -1 : lxm_now_ms() + timeout_ms;
    for (;;) {
        struct lxm_runtime_info ri;
        if (lxm_runtime_query(c, &ri, NULL) < 0)
            ri.state = LXM_STATE_STOPPED;
        if (holds(c, &ri, want))
            return 0;
        if (stop_fails && ri.state == LXM_STATE_STOPPED)
            return -ECHILD;
        int64_t left = deadline < 0 ? 60000 : deadline - lxm_now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        bool live = ri.state != LXM_STATE_STOPPED;
        if (want == LXM_WAIT_READY && live && ri.monitor_alive && !ri.monitor_busy)
            wait_ready_event(c, left);
        else if (want == LXM_WAIT_STOPPED && live)
            wait_exit_event(c, left);
        else
            sleep_ms(left < WAIT_STEP_MS ? left : WAIT_STEP_MS);
    }
}

int lxm_wait(struct lxm_container *c, enum lxm_wait_state state, int64_t timeout_ms,
             struct lxm_error *err)
{
    if (!lxm_container_exists(c))
        return lxm_error_set(err, ENOENT, "container '%s' not found", c->name);
    int r = wait_state(c, state, timeout_ms, false);
    if (r == -ETIMEDOUT) {
        char secs[32];
        format_secs(timeout_ms, secs, sizeof(secs));
        return lxm_error_set(err, ETIMEDOUT, "%s is not %s after %s s", c->name,
                             lxm_wait_state_name(state), secs);
    }
    return r;
}

int lxm_start_ready(struct lxm_container *c, const struct lxm_start_opts *opts,
                    int64_t timeout_ms, struct lxm_error *err)
{
    if ((opts && opts->foreground) || timeout_ms < 0)
        return lxm_runtime_start(c, opts, err);
    /* The lock stays held from the start to the first look: a command
     * waiting on it (a stop) cannot get in between and make a guest that
     * was ready at once look as if it stopped before it was. */
    int r = lxm_container_lock(c, err);
    if (r < 0)
        return r;
    bool ready = false;
    r = lxm_runtime_start_tell(c, opts, &ready, err);
    /* The monitor's verdict says when the guest was ready at once (an init
     * other than systemd, no DHCP to wait for); else look. */
    struct lxm_runtime_info ri;
    if (r == 0 && !ready)
        ready = lxm_runtime_query(c, &ri, NULL) == 0 && holds(c, &ri, LXM_WAIT_READY);
    lxm_container_unlock(c);
    if (r < 0 || ready)
        return r;
    r = wait_state(c, LXM_WAIT_READY, timeout_ms, true);
    if (r == -ECHILD)
        return lxm_error_set(err, ECHILD, "%s stopped before it was ready (see %s/console.log)",
                             c->name, c->log_dir);
    if (r == -ETIMEDOUT) {
        struct lxm_ready_info rd;
        char secs[32];
        lxm_ready_query(c, &rd, NULL);
        format_secs(timeout_ms, secs, sizeof(secs));
        return lxm_error_set(err, ETIMEDOUT,
                             "%s started but is not ready after %s s (last status: %s)%s", c->name,
                             secs, rd.status[0] ? rd.status : "none",
                             rd.known && rd.notified && !rd.leased ? " (no DHCP lease yet)" : "");
    }
    return r;
}

/* state: the state file the monitor keeps in run/NAME/state and the
 * monitor's client (its socket, the stop request). lxm_runtime_query and
 * lxm_state_name (runtime.h) are defined with them, in state.c. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/container.h"

struct lxm_config;

/* The last STATUS= of the guest, as the monitor keeps and reports it. */
#define LXM_READY_STATUS_MAX 256
/* Where the notify socket is inside the container (NOTIFY_SOCKET). */
#define LXM_NOTIFY_SOCKET "/run/host/notify"

/* What the monitor records in run/NAME/state, first thing at its start and
 * again at each step of a boot: who the monitor is (so a command tells a
 * slow monitor from a dead one by a pidfd, and an old monitor can tell the
 * container has a newer one), which init runs, and which child is between
 * its release and the exec of init, and what it would answer to a state
 * request (flags). One line of numbers, replaced atomically; the first
 * four fields keep their place for scripts. */
struct lxm_state_file {
    pid_t monitor_pid;
    pid_t init_pid;              /* 0 until the first init has exec'd */
    uint64_t init_starttime;     /* /proc/PID/stat field 22 */
    int64_t started_at;          /* unix seconds */
    uint64_t monitor_starttime;  /* 0 in a file of an older lxm */
    pid_t boot_pid;              /* released child, init not exec'd yet; 0 */
    uint64_t boot_starttime;
    int flags;                   /* LXM_STATE_F_*; -1 in a file of an older lxm */
};

/* The monitor's own view in the state file (the eighth field), rewritten
 * before anyone is told of a change: while the monitor and the init the
 * file names both live, a command takes its state from the file
 * (RUNNING, STARTING or STOPPING; FROZEN from the cgroup) instead of
 * asking the monitor. */
#define LXM_STATE_F_READY 1     /* the guest is ready (else STARTING) */
#define LXM_STATE_F_STOPPING 2  /* a stop is under way */

int lxm_state_write(const struct lxm_container *c, const struct lxm_state_file *st);
/* 0, -ENOENT when there is none, -EINVAL when unreadable. */
int lxm_state_read(const struct lxm_container *c, struct lxm_state_file *st);
void lxm_state_remove(const struct lxm_container *c);
/* True if the state file names the calling process as its monitor. */
bool lxm_state_is_mine(const struct lxm_container *c);
/* pidfd of pid if it is still the process that started at starttime. */
int lxm_pidfd_verified(pid_t pid, uint64_t starttime);
/* pidfd of the monitor st names, if it is still that one; -ESRCH. */
int lxm_state_monitor_pidfd(const struct lxm_state_file *st);
/* Wait up to ms (-1: for ever) for the process behind pidfd to exit;
 * whether it has. */
bool lxm_pidfd_wait(int pidfd, int64_t ms);
/* Has the process behind pidfd exited (without waiting)? */
bool lxm_pidfd_exited(int pidfd);

/* run/NAME/monitor.sock: one request line per connection.
 *   "state\n"        -> "STATE <NAME> <init_pid> <started_at>\n"
 *   "stop MS KILL\n" -> "kill\n" if it escalates, "stopped\n" when done
 *   "console\n"      -> "ok\n", the last 16 KiB of console output, then raw
 *                       bytes both ways (a client that lags 64 KiB is dropped) */
char *lxm_monitor_socket_path(const struct lxm_container *c);
/* Connect to the monitor; -ECONNREFUSED/-ENOENT when it is not there,
 * -EAGAIN when its backlog is full (it never blocks the caller). */
int lxm_monitor_connect(const struct lxm_container *c);

/* Effective config of a container (profiles merged); c->config set. */
int lxm_runtime_load_config(struct lxm_container *c, struct lxm_error *err);
int lxm_halt_signal(const struct lxm_config *cfg);

/* Wait (bounded, a few seconds) for a monitor that hung up on a client to
 * finish exiting; true once it has (or monfd < 0: nothing to wait for). */
bool lxm_monitor_wait_exit(int monfd);
/* Ask the live monitor (monfd: its pidfd, -1 if unknown; monpid: its pid)
 * to stop c: 0 once it says "stopped", -ECONNRESET if it died on the way
 * (it has exited by then), -EPIPE if it hung up but still lives after the
 * wait, -EBUSY if it is stopped (SIGSTOP, a debugger) for a few seconds
 * (the request stays in its socket), -ETIMEDOUT if it is still at it after
 * the grace period. */
int lxm_monitor_stop(struct lxm_container *c, int monfd, pid_t monpid, int64_t timeout_ms,
                     bool kill);
/* "init did not shut down within N s: killing it" (timeout_ms > 0). */
void lxm_runtime_say_killing(const struct lxm_container *c, int64_t timeout_ms);

/* runtime: starting, stopping and querying a container. The start sequence
 * lives in start.c (parent side), monitor.c (the per-container monitor) and
 * child.c (inside the new namespaces); this header is their whole
 * interface to the command layer. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/container.h"
#include "util/err.h"

enum lxm_state {
    LXM_STATE_STOPPED,
    LXM_STATE_STARTING,
    LXM_STATE_RUNNING,
    LXM_STATE_FROZEN,
    LXM_STATE_STOPPING,
    LXM_STATE_ABORTING,
};

const char *lxm_state_name(enum lxm_state s);

struct lxm_runtime_info {
    enum lxm_state state;
    pid_t init_pid;             /* in the host's pid namespace, 0 if none */
    int64_t started_at;         /* unix seconds, 0 if not running */
    bool monitor_alive;         /* false + RUNNING = monitor died, init alive */
    bool monitor_busy;          /* alive (its pidfd says so) but no answer in time */
    /* The monitor and init are gone (or the state file is unreadable) but
     * what they leave on the host is still there: cgroup, network, port
     * forwards, the state file. lxm_runtime_reap() removes it. STOPPED,
     * or ABORTING while a child the dead monitor released still lives. */
    bool stale;
};

/* The truth about a container, from the monitor (or, if it died, from a
 * pidfd on the recorded init): never from a stale pid file alone. The
 * monitor's record in the state file answers without a round trip while
 * the monitor and its init are verifiably alive (state.h). Changes
 * nothing, on the host or on disk: a stale container is reported (stale),
 * not cleaned up. */
int lxm_runtime_query(struct lxm_container *c, struct lxm_runtime_info *out, struct lxm_error *err);
/* Clean up after a stale container (see stale above): kill what is left
 * in its cgroup and remove the cgroup, its network and port forwards and
 * its state file. Nothing for a container that is not stale. Takes c's
 * lock unless the caller holds it; start, stop and delete call it. */
int lxm_runtime_reap(struct lxm_container *c, struct lxm_error *err);

struct lxm_start_opts {
    /* -F: the caller attaches to the console (lxm_runtime_console_open) once
     * the start returns; lxm_start_ready does not wait for readiness. */
    bool foreground;
    /* Called with the effective config (profiles merged) before anything
     * boots: where the command layer warns. NULL: the runtime's own loud
     * line for an unconfined container. */
    void (*on_config)(const struct lxm_container *c, const struct lxm_config *eff);
};

/* Boot the container's init; returns once init has been exec'd, or fails
 * with the child's reason and leaves the host as it was. Takes the lock
 * unless the caller holds it (and releases only what it took). */
int lxm_runtime_start(struct lxm_container *c, const struct lxm_start_opts *opts, struct lxm_error *err);

/* Clean shutdown: halt signal, wait timeout_ms, then SIGKILL; a frozen
 * container is thawed first. kill=true skips the wait. Returns when init
 * is gone and the host side cleaned. Takes the lock like start. */
int lxm_runtime_stop(struct lxm_container *c, int64_t timeout_ms, bool kill, struct lxm_error *err);

struct lxm_attach_opts {
    /* "USER[:GROUP]", names or ids, resolved in the container's own
     * /etc/passwd and /etc/group (passwd.h); NULL = root. */
    const char *user;
    char **env;                 /* extra K=V */
    const char *cwd;            /* NULL = the user's home (else /) */
    char **argv;                /* NULL = the user's login shell */
    /* What the caller's stdin and stdout are; the command layer decides
     * (the library does not look at terminals). pty: the command runs on
     * a pty of the container's, relayed to stdin/stdout; else it gets
     * stdin/stdout/stderr themselves. stdin_tty: stdin is a terminal: with
     * a pty, in raw mode while it runs; without, the command stays in the
     * terminal's foreground group. With a pty and a stdin that is not a
     * terminal, the pty's end-of-file is typed once stdin has ended. */
    bool pty;
    bool stdin_tty;
};

/* Run a command inside; returns its exit status (128+N on signal N). A
 * command that could not be exec'd returns 127 (not found) or 126 (not
 * executable), as a shell does, with err saying why. */
int lxm_runtime_attach(struct lxm_container *c, const struct lxm_attach_opts *opts, struct lxm_error *err);

/* lxm console: connect to the console pty the monitor of a running c
 * holds; *fd is the byte stream to it (the caller closes it). */
int lxm_runtime_console_open(struct lxm_container *c, int *fd, struct lxm_error *err);
/* Relay stdin/stdout and the console fd until the console closes or Ctrl-a
 * q is typed. *raw: stdin is a terminal, to be put in raw mode meanwhile;
 * false on return when it could not be (it was left as it was). What the
 * user is told around it is the caller's. */
int lxm_runtime_console_relay(int fd, bool *raw, struct lxm_error *err);
/* Under the lock, like start and stop; freezing a STARTING or STOPPING
 * container is refused (-EBUSY). */
int lxm_runtime_freeze(struct lxm_container *c, bool freeze, struct lxm_error *err);
/* The container's monitor, exec'd again by its idle form with its state
 * in memfd (`lxm __monitor resume NAME FD`, monitor-exec.c). */
void lxm_runtime_monitor_resume(struct lxm_container *c, int memfd) __attribute__((noreturn));

/* config set/edit, with c locked: give a running c's cgroup `limits` (the
 * effective limits of a config not saved yet); a stopped c is left alone
 * (0). All or nothing: when a write fails, the limits of the saved
 * config.yaml are put back and err says what failed; the caller then
 * saves nothing. */
int lxm_runtime_change_limits(struct lxm_container *c, const struct lxm_limits *limits,
                              struct lxm_error *err);
/* Put the effective limits of the saved config.yaml on a running c (to
 * undo lxm_runtime_change_limits when saving failed); 0 if stopped. */
int lxm_runtime_apply_limits(struct lxm_container *c, struct lxm_error *err);

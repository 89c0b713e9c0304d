/* start.c: the parent side of the runtime: start (fork the monitor and wait
 * for its verdict), stop, the reaping of a crashed container, freeze and
 * live limits. The state file and the monitor's client are state.c. */
#include "runtime/runtime-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "runtime/hostname.h"
#include "runtime/start-lost.h"
#include "util/child_pipe.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/owner.h"

/* --- stale containers -------------------------------------------------------- */

/* The monitor is gone and so is init: undo what it would have undone. A
 * child it had released but not seen exec init (it died during a boot,
 * after the start command was told the start failed) is killed with
 * everything else in the cgroup, and we say so. A cgroup that cannot be
 * emptied (a process that outlives SIGKILL) keeps the state file, so the
 * next command that reaps the container tries again, and is the error. */
static int cleanup_stale(struct lxm_container *c, const struct lxm_state_file *st,
                         struct lxm_error *err)
{
    struct lxm_cgroup *cg = NULL;
    struct lxm_error e = {0};
    int r = 0;
    if (st && st->boot_pid > 0) {
        _cleanup_close_ int boot = lxm_pidfd_verified(st->boot_pid, st->boot_starttime);
        if (boot >= 0)
            lxm_warn("%s: its monitor died while booting it: killing the unfinished init "
                     "(pid %d)",
                     c->name, (int)st->boot_pid);
    }
    struct lxm_error d = {0};
    if (lxm_cgroup_open(c->id, &cg, &e) == 0) {
        r = lxm_cgroup_destroy(cg, &d);
        lxm_cgroup_free(cg);
    }
    if (!c->config)
        lxm_runtime_load_config(c, &e);
    if (c->config)
        lxm_network_cleanup_by_name(c->paths, c->config);
    if (r < 0)
        return lxm_error_set(err, -r, "%s: %s; its state is kept ('lxm stop %s' tries again)",
                             c->name, d.msg, c->name);
    lxm_state_remove(c);
    return 0;
}

/* With c locked: what a dead monitor and init left is removed, and only
 * then (a live container is never touched). *info: c's state as the query
 * found it, STOPPED once a stale record is reaped (its state file gone):
 * a caller need not read the state file again. */
static int reap_locked(struct lxm_container *c, struct lxm_runtime_info *info,
                       struct lxm_error *err)
{
    int r = lxm_runtime_query(c, info, err);
    if (r < 0 || !info->stale)
        return r;
    struct lxm_state_file st;
    if (lxm_state_read(c, &st) == 0)
        r = cleanup_stale(c, &st, err);
    else
        lxm_state_remove(c); /* unreadable: nothing in it to go by */
    if (r == 0)
        *info = (struct lxm_runtime_info){.state = LXM_STATE_STOPPED};
    return r;
}

int lxm_runtime_reap(struct lxm_container *c, struct lxm_error *err)
{
    bool took = c->lock_fd < 0;
    struct lxm_runtime_info info;
    int r = lxm_container_lock(c, err);
    if (r == 0)
        r = reap_locked(c, &info, err);
    if (took)
        lxm_container_unlock(c);
    return r;
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
 * init cannot act on its halt signal: thaw before either, the groups its
 * guest froze below it included (a nested container). */
static void thaw(const struct lxm_container *c)
{
    struct lxm_cgroup *cg = NULL;
    if (lxm_cgroup_open(c->id, &cg, NULL) == 0) {
        lxm_cgroup_thaw_all(cg);
        lxm_cgroup_free(cg);
    }
}

/* A state file left after its container stopped: the monitor kept its
 * record because the cgroup could not be removed (monitor.c teardown). */
static bool state_kept(struct lxm_container *c)
{
    struct lxm_state_file st;
    return lxm_state_read(c, &st) != -ENOENT;
}

/* After a stop the monitor answered: a record it kept is reaped once it
 * has exited (the cgroup tried again); its error is the stop's. */
static int reap_kept(struct lxm_container *c, struct lxm_error *err)
{
    struct lxm_state_file st;
    if (lxm_state_read(c, &st) == -ENOENT)
        return 0;
    _cleanup_close_ int monfd = lxm_state_monitor_pidfd(&st);
    (void)lxm_monitor_wait_exit(monfd);
    struct lxm_runtime_info info;
    return reap_locked(c, &info, err);
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
    int fd;
    pid_t pid = lxm_fork_piped(&fd, err);
    if (pid < 0)
        return (int)pid;
    if (pid == 0) {
        /* A session of its own, away from the command's terminal and job
         * control. One fork, not two: the command does not wait for it
         * (only for its answer), and when the command exits it is
         * reparented like any orphan. It never opens a terminal (the
         * console's master comes over a socket), so being a session
         * leader cannot give it one. */
        setsid();
        lxm_monitor_main(c, fd);
    }
    _cleanup_close_ int rfd = fd;
    char buf[LXM_ERROR_MAX];
    size_t n = lxm_read_message(rfd, buf, sizeof(buf));
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
    _cleanup_close_ int monfd = lxm_state_monitor_pidfd(&st);
    if (monfd >= 0)
        (void)lxm_pidfd_wait(monfd, 10000);
}

/* The monitor logs a missing AppArmor at every start, but its stderr is the
 * container's log: the command layer tells a person at a terminal too. */
static void warn_no_apparmor(const struct lxm_container *c)
{
    const struct lxm_policy *pol = &c->config->policy;
    if (!pol->apparmor_profile || strcmp(pol->apparmor_profile, "unconfined") == 0 ||
        pol->apparmor_required || lxm_apparmor_enabled())
        return;
    lxm_report_notice(c->paths->report, LXM_NOTICE_WARNING,
                      "AppArmor is not enabled in this kernel; %s runs without it", c->name);
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
    r = reap_locked(c, &info, err);
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
    lxm_hostname_sync(c); /* before init reads /etc/hostname */
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
        (void)reap_locked(c, &info, NULL);
        if (is_running(info.state))
            lxm_warn("%s: its monitor died once init was running: it runs without one "
                     "(no console, no reboot; 'lxm stop %s' stops it)",
                     c->name, c->name);
    }
out:
    /* A failed start leaves nothing behind; a running container keeps its
     * dir, and so does one whose cgroup could not be removed (its record). */
    if (r < 0 && !is_running(info.state) && !state_kept(c))
        remove_run_dir(c);
    unlock_if(c, took);
    return r;
}

/* --- stop --------------------------------------------------------------------- */

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
            if (kill || !lxm_pidfd_wait(pidfd, timeout_ms)) {
                if (!kill)
                    lxm_runtime_say_killing(c, timeout_ms);
                thaw(c);
                pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
                lxm_pidfd_wait(pidfd, -1);
            }
        }
    }
    return cleanup_stale(c, have ? &st : NULL, err);
}

/* A live monitor is asked and waited for; only a dead one's container is
 * stopped and cleaned up by the command itself. */
static int stop_running(struct lxm_container *c, const struct lxm_runtime_info *info,
                        int64_t timeout_ms, bool kill, struct lxm_error *err)
{
    if (info->monitor_alive) {
        struct lxm_state_file st = {0};
        _cleanup_close_ int monfd = lxm_state_read(c, &st) == 0 ? lxm_state_monitor_pidfd(&st) : -1;
        int r = lxm_monitor_stop(c, monfd, st.monitor_pid, timeout_ms, kill);
        if (r == 0)
            return 0;
        if (r == -EBUSY)
            return lxm_error_set(err, EBUSY,
                                 "container '%s': its monitor (pid %d) is stopped (SIGSTOP or a "
                                 "debugger) and has not taken the stop request; it takes it when "
                                 "it runs again ('kill -CONT %d')",
                                 c->name, (int)st.monitor_pid, (int)st.monitor_pid);
        if (r == -EPIPE)
            return lxm_error_set(err, EPIPE,
                                 "container '%s': its monitor (pid %d) hung up on the stop "
                                 "request and is still alive (see %s/lxm.log)",
                                 c->name, (int)st.monitor_pid, c->log_dir);
        if (monfd >= 0 && !lxm_pidfd_exited(monfd))
            return lxm_error_set(err, ETIMEDOUT,
                                 "container '%s': its monitor (pid %d) is alive but has not "
                                 "finished the stop; it was left to do so (see %s/lxm.log)",
                                 c->name, (int)st.monitor_pid, c->log_dir);
    }
    return stop_orphan(c, timeout_ms, kill, err);
}

/* Not running by its record, but its cgroups may be left (start-lost.h):
 * what runs in them is killed (it has no monitor to ask), an empty set
 * is removed; "not running" unless something was killed. */
static int stop_lost(struct lxm_container *c, struct lxm_error *err)
{
    pid_t killed = 0;
    struct lxm_error e = {0};
    int r = lxm_runtime_drop_cgroup(c, true, &killed, err);
    if (r < 0)
        return r;
    if (killed == 0)
        return lxm_error_set(err, EINVAL, "container '%s' is not running", c->name);
    lxm_warn("%s: it ran without a monitor or a state file (pid %d in its cgroups): killed "
             "what ran there",
             c->name, (int)killed);
    /* Its veth and port forwards went with its network namespace or are
     * its own to remove, as after a crash. */
    if (!c->config)
        lxm_runtime_load_config(c, &e);
    if (c->config)
        lxm_network_cleanup_by_name(c->paths, c->config);
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
    if (r == 0 && info.stale && !is_running(info.state)) {
        /* It crashed: what is left of it on the host is what stops. */
        r = reap_locked(c, &info, err);
        if (r == 0)
            remove_run_dir(c);
    } else if (r == 0 && !is_running(info.state)) {
        r = stop_lost(c, err);
    } else if (r == 0) {
        if (!kill && timeout_ms > 0)
            lxm_report_notice(c->paths->report, LXM_NOTICE_WAIT,
                              "%s: waiting up to %" PRId64 " s for init to shut down", c->name,
                              timeout_ms / 1000);
        /* Always, not only when FROZEN: the state may be older than a
         * freeze by hand, and a frozen init outlives SIGKILL. */
        thaw(c);
        r = stop_running(c, &info, timeout_ms, kill, err);
        if (r == 0)
            r = reap_kept(c, err);
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

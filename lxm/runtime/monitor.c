/* monitor.c: the per-container monitor. It owns the host side of a running
 * container (cgroup, network, console pty, state file, socket), is the
 * parent of init, boots it again on reboot and cleans up when it stops. */
#include "runtime/monitor-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

#include "cgroup/cgroup-enter.h"
#include "security/devices.h"
#include "security/seccomp-cache.h"
#include "runtime/hostname.h"
#include "runtime/lxcfs.h"
#include "runtime/nesting.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/owner.h"
#include "util/proctitle.h"
#include "util/sched.h"

/* lxm.log is rotated like console.log. */
#define MONITOR_LOG_MAX (1024 * 1024)
/* A boot that ends (in a reboot) sooner than this after init's exec is a
 * fast one; after FAST_REBOOT_FREE of them in a row the next boot waits,
 * from BACKOFF_FIRST_MS doubling up to BACKOFF_MAX_MS, and after
 * FAST_REBOOT_LIMIT the container is stopped (like systemd's start limit). */
#define FAST_BOOT_MS 10000
#define FAST_REBOOT_FREE 2
#define FAST_REBOOT_LIMIT 8
#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 30000

/* run/NAME/state from what we know now; boot_pid is a child released but
 * not yet seen exec init (0 if none). */
static int record_state(struct monitor *m, pid_t boot_pid)
{
    struct lxm_state_file st = {
        .monitor_pid = getpid(),
        .init_pid = m->init_pid,
        .init_starttime = m->init_starttime,
        .started_at = m->started_at,
        .monitor_starttime = m->starttime,
        .boot_pid = boot_pid,
        .boot_starttime = boot_pid > 0 ? proc_starttime(boot_pid) : 0,
        .flags = (m->ready.ready ? LXM_STATE_F_READY : 0) |
                 (m->stopping || m->ready.stopping ? LXM_STATE_F_STOPPING : 0),
    };
    return lxm_state_write(m->c, &st);
}

void monitor_record_state(struct monitor *m)
{
    int r = record_state(m, 0);
    if (r < 0)
        lxm_warn("%s: write state: %s", m->c->name, strerror(-r));
}

/* --- setup ------------------------------------------------------------------ */

static int open_listen_socket(struct monitor *m, struct lxm_error *err)
{
    _cleanup_free_ char *path = lxm_monitor_socket_path(m->c);
    struct sockaddr_un sa;
    if (!path)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (lxm_sockaddr_un(&sa, path) < 0)
        return lxm_error_set(err, ENAMETOOLONG, "socket path %s is too long", path);
    unlink(path);
    m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (m->listen_fd < 0)
        return lxm_error_errno(err, errno, "socket");
    if (bind(m->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(m->listen_fd, 16) < 0)
        return lxm_error_errno(err, errno, "bind %s", path);
    return 0;
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

/* The event comes when the memory cgroup hits OOM, which can be before
 * the kill is counted (v1 notifies first): look again a few times. */
#define OOM_RECHECK_MS 50
#define OOM_RECHECKS 20

static void check_oom(struct monitor *m, bool event)
{
    if (event) {
        lxm_cgroup_memory_events_ack(m->cg, m->oom_fd);
        m->oom_rechecks = OOM_RECHECKS;
    }
    int64_t n = lxm_cgroup_oom_kills(m->cg);
    if (n > m->oom_kills) {
        lxm_info("%s: oom-kill: %" PRId64 " process(es) killed by the memory limit", m->c->name,
                 n - m->oom_kills);
        m->oom_rechecks = 0;
    }
    if (n >= 0)
        m->oom_kills = n;
    m->oom_recheck_at = m->oom_rechecks-- > 0 ? lxm_now_ms() + OOM_RECHECK_MS : 0;
}

/* Poll timeout: the sooner of an idle client's expiry and an OOM recheck. */
static int loop_timeout(struct monitor *m)
{
    int t = monitor_io_expire(m);
    if (m->oom_recheck_at > 0) {
        int64_t left = m->oom_recheck_at - lxm_now_ms();
        int o = left > 0 ? (int)left : 0;
        t = t < 0 || o < t ? o : t;
    }
    return t;
}

static void unstage_mounts(struct monitor *m);

int monitor_boot_policy(struct monitor *m, struct lxm_error *err)
{
    if (!m->cfg)
        return lxm_error_set(err, EINVAL, "no config");
    int r = lxm_userns_prepare(m->c, m->cfg, &m->userns, err);
    if (r < 0)
        return r;
    r = lxm_seccomp_cached(&m->cfg->policy, m->c->paths->run, &m->seccomp, err);
    if (r < 0)
        return lxm_error_prefix(err, "seccomp");
    r = lxm_apparmor_prepare(m->c->id, &m->cfg->policy, m->c->run_dir, &m->apparmor_profile, err);
    if (r < 0)
        return lxm_error_prefix(err, "apparmor");
    m->need_boot_setup = false;
    return 0;
}

/* The container's cgroups still hold a process (lxm_cgroup_create: -EBUSY)
 * though this monitor has just written its state file: an earlier run of
 * it whose record was lost (runtime/start-lost.h), never killed here.
 * True, with err saying what runs there, where, and what to do; false
 * (err untouched) when no process is found there now. */
static bool cgroup_of_lost_run(const struct lxm_container *c, struct lxm_error *err)
{
    _cleanup_cgroup_ struct lxm_cgroup *cg = NULL;
    pid_t pid = lxm_cgroup_open(c->id, &cg, NULL) == 0 ? lxm_cgroup_any_pid(cg) : 0;
    if (pid <= 0)
        return false;
    lxm_error_clear(err);
    lxm_error_set(err, EBUSY,
                  "pid %d of an earlier run of '%s' still runs in its cgroups (%s/%s), "
                  "without a monitor or a state file: 'lxm stop %s' kills it "
                  "('lxm doctor' lists such leftovers)",
                  (int)pid, c->name, lxm_cg_parent(), c->id, c->name);
    return true;
}

/* The container's cgroup, its device list and the OOM watch: m->cg and
 * the oom fields are this step's alone until it is done. */
static int setup_cgroup(struct monitor *m, struct lxm_error *err)
{
    int r = lxm_cgroup_create(m->c->id, &m->cfg->limits, &m->cg, err);
    if (r == -EBUSY && cgroup_of_lost_run(m->c, err))
        return r;
    if (r < 0)
        return lxm_error_prefix(err, "cgroup");
    /* Before init exists: it must never see a device outside the list. */
    r = lxm_devices_apply_cgroup(&m->cfg->policy, m->cg, err);
    if (r < 0)
        return lxm_error_prefix(err, "devices");
    watch_oom(m);
    return 0;
}

struct cgroup_job {
    struct monitor *m;
    struct lxm_error err;
    int r;
};

static void *cgroup_job_run(void *arg)
{
    struct cgroup_job *j = arg;
    j->r = setup_cgroup(j->m, &j->err);
    return NULL;
}

/* The rest of the setup, beside the cgroup's. */
static int setup_rest(struct monitor *m, struct lxm_error *err)
{
    int r = open_listen_socket(m, err);
    if (r < 0 || (r = monitor_boot_policy(m, err)) < 0)
        return r;
    m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    m->boot_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (m->timer_fd < 0 || m->boot_timer_fd < 0)
        return lxm_error_errno(err, errno, "timerfd");
    return monitor_ready_setup(m, err);
}

/* Ten cgroup directories on a hybrid host are a millisecond of the
 * kernel's time; the socket, the policy files and the notify socket are
 * most of another. Neither needs the other: the cgroup is made by a
 * thread meanwhile (the second CPU), and the monitor is one thread again
 * before anything else (a clone, setns) happens. */
static int monitor_setup(struct monitor *m, struct lxm_error *err)
{
    struct cgroup_job job = {.m = m};
    pthread_t tid;
    pthread_attr_t attr;
    /* Its stack stays cached after the join: a small one. */
    bool started = pthread_attr_init(&attr) == 0 &&
                   pthread_attr_setstacksize(&attr, 256 * 1024) == 0 &&
                   pthread_create(&tid, &attr, cgroup_job_run, &job) == 0;
    pthread_attr_destroy(&attr);
    if (!started) {
        int r = setup_cgroup(m, err);
        return r < 0 ? r : setup_rest(m, err);
    }
    int r = setup_rest(m, err);
    /* The rootfs does not need init, only the id map: it is made now,
     * while the cgroup is, not between init's clone and its release. A
     * failure is left to the boot, which tries again and says why. */
    struct lxm_error e = {0};
    if (r == 0)
        m->rootfd =
            lxm_userns_rootfs_fd_early(m->c, &m->userns, &m->userns_helper, m->layers, &e);
    pthread_join(tid, NULL);
    if (r == 0 && job.r < 0) {
        *err = job.err;
        r = job.r;
    }
    return r;
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

static void close_fds_except(int a, int b)
{
    int lo = a < b ? a : b, hi = a < b ? b : a;
    if (lo > 3)
        close_range(3, (unsigned)lo - 1, 0);
    if (hi > lo + 1)
        close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
    close_range((unsigned)hi + 1, ~0U, 0);
}

static pid_t clone_child(struct monitor *m, const struct lxm_cgroup_entry *entry, int *pidfd,
                         int sync_fd, int error_fd)
{
    int cgfd = m->cg ? lxm_cgroup_v2_fd(m->cg) : -1;
    bool locked = lxm_mounts_locked(m->cfg);
    /* The child is created in the cgroup2 directory and joins each v1
     * hierarchy itself, first thing (cgroup-enter.h: no global lock); it
     * unshares its cgroup namespace later, so that the namespace's root is
     * the container's cgroup on v1 controllers too. With locked mounts the
     * mount namespace is unshared by the child too (rootfs-lock.c). */
    struct clone_args args = {
        .flags = CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_PIDFD |
                 (locked ? 0 : CLONE_NEWNS) | (cgfd >= 0 ? CLONE_INTO_CGROUP : 0) |
                 (m->userns.enabled ? CLONE_NEWUSER : 0),
        .pidfd = (uint64_t)(uintptr_t)pidfd,
        .exit_signal = SIGCHLD,
        .cgroup = cgfd >= 0 ? (uint64_t)cgfd : 0,
    };
    pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
    if (pid == 0) {
        struct lxm_error join_err = {0};
        if (lxm_cgroup_entry_join_v1(entry, &join_err) < 0)
            lxm_child_fail(error_fd, &join_err);
        /* The child keeps stdio and its two ends of the channels, nothing
         * else of ours: with our end of sync_fd it would never see EOF if
         * we die before releasing it, and with the result pipe, the socket
         * or a client it would keep them open for as long as it lives. */
        close_fds_except(sync_fd, error_fd);
        struct lxm_boot b = {
            .c = m->c,
            .cfg = m->cfg,
            .seccomp = m->seccomp,
            .apparmor_profile = m->apparmor_profile,
            .sync_fd = sync_fd,
            .error_fd = error_fd,
            .notify = m->ready.notify_fd >= 0,
            .locked = locked,
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
    *rootfd = m->rootfd >= 0 ? TAKE_FD(m->rootfd)
                             : lxm_userns_rootfs_fd(m->c, &m->userns, pid, err);
    if (*rootfd < 0)
        return *rootfd;
    if (!m->userns.enabled || !m->cg)
        return 0;
    uid_t uid;
    gid_t gid;
    if (!lxm_idmap_host_root(&m->userns.map, &uid, &gid))
        return 0;
    if ((r = lxm_cgroup_chown(m->cg, uid, gid, err)) < 0)
        return lxm_error_prefix(err, "cgroup");
    if (m->cfg->security.nesting && (r = lxm_nesting_delegate(m->cg, uid, gid, err)) < 0)
        return r;
    return 0;
}

/* Host-side steps between clone and release; the child is waiting (it
 * has joined its cgroups by then or is joining them, see clone_child). */
static int prepare_child(struct monitor *m, pid_t pid, int *rootfd, struct lxm_error *err)
{
    int r;
    if (m->net) {
        r = lxm_network_attach(m->net, pid, err);
        if (r < 0)
            return lxm_error_prefix(err, "network");
    }
    return prepare_userns(m, pid, rootfd, err);
}

/* `mounts:` are staged in the monitor's own mount namespace (a slave of
 * the host's, for the boot only) so that init's copy of it locks their flags;
 * the clone starts in the staging dir, where init finds them, and where
 * the locked rootfs is built (rootfs-lock.c). */
static int stage_mounts(struct monitor *m, struct lxm_error *err)
{
    if (m->cfg->n_mounts == 0 && !lxm_mounts_locked(m->cfg))
        return 0;
    if (!m->own_mntns) {
        m->host_mntns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
        const char *what = "unshare mount namespace";
        if (unshare(CLONE_NEWNS) == 0) {
            m->own_mntns = true;
            what = mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == 0 ? NULL : "make / rslave";
        }
        if (what) {
            int saved = errno;
            unstage_mounts(m);
            return lxm_error_errno(err, saved, "mounts: %s", what);
        }
    }
    /* One directory for every monitor: each mounts its stage on it in a
     * mount namespace of its own, so it is made once, never at a start. */
    free(m->stage_dir);
    m->stage_dir = xasprintf("%s/" LXM_STAGE_DIR, m->c->paths->run);
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
    if (m->stage_dir) {
        (void)!chdir("/");
        umount2(m->stage_dir, MNT_DETACH);
        free(m->stage_dir);
        m->stage_dir = NULL;
    }
    /* Back to the host's: our copy of its mount table (every host mount
     * once more) would cost the kernel memory for as long as we run. */
    if (m->own_mntns && m->host_mntns >= 0 && setns(m->host_mntns, CLONE_NEWNS) == 0)
        m->own_mntns = false;
    if (m->host_mntns >= 0)
        close(m->host_mntns);
    m->host_mntns = -1;
}

/* The rootfs with proc, sysfs and the masks, built where init's copy of
 * our mount namespace will hold them locked (rootfs-lock.c). */
static int build_locked(struct monitor *m, int pidfd, int rootfd, struct lxm_error *err)
{
    uid_t uid;
    gid_t gid;
    if (!lxm_idmap_host_root(&m->userns.map, &uid, &gid))
        return lxm_error_set(err, EINVAL, "rootfs of %s: the id map has no root", m->c->name);
    return lxm_rootfs_lock_build(m->cfg, pidfd, m->stage_dir, m->c->run_dir, rootfd, uid, gid,
                                 err);
}

/* Release the waiting child: record it first (a command that finds us
 * dead then knows what we let go), then go and the rootfs. */
static int release_child(struct monitor *m, pid_t pid, int sync_w, int rootfd,
                         struct lxm_error *err)
{
    int r = record_state(m, pid);
    if (r < 0)
        return lxm_error_errno(err, -r, "record the state of %s", m->c->name);
    if (write(sync_w, "1", 1) != 1)
        return lxm_error_errno(err, errno, "release child");
    /* Under locked masks it takes the tree from the stage instead. */
    if (!lxm_mounts_locked(m->cfg) && (r = lxm_send_fd(sync_w, rootfd)) < 0)
        return lxm_error_errno(err, -r, "hand the rootfs to init");
    /* In the order init takes them (rootfs.c): the notify socket, then
     * the lxcfs views. */
    if (m->ready.notify_fd >= 0) {
        _cleanup_close_ int notify = monitor_ready_mount_fd(m);
        if (notify < 0)
            return lxm_error_errno(err, errno, "bind the notify socket");
        if ((r = lxm_send_fd(sync_w, notify)) < 0)
            return lxm_error_errno(err, -r, "hand the notify socket to init");
    }
    if ((r = lxm_lxcfs_send(m->c->paths, sync_w)) < 0)
        return lxm_error_errno(err, -r, "hand the lxcfs views to init");
    return 0;
}

/* After release: the console master, then "" (init exec'd) or the child's
 * reason on err_r. */
static int await_exec(struct monitor *m, int sync_w, int err_r, int pidfd, struct lxm_error *err)
{
    int master = lxm_recv_fd(sync_w);
    if (master >= 0)
        monitor_take_console(m, master);
    char msg[LXM_ERROR_MAX];
    read_child_error(err_r, msg, sizeof(msg));
    siginfo_t si = {0};
    if (!msg[0] && waitid(P_PIDFD, pidfd, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
        snprintf(msg, sizeof(msg), "init exited at once (%s %d)",
                 si.si_code == CLD_EXITED ? "status" : "signal", si.si_status);
    return msg[0] ? lxm_error_set(err, EIO, "%s", msg) : 0;
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
    _cleanup_close_ int sync_c = sync[0], err_c = errp[1];
    int r = lxm_network_prepare(m->c->paths, m->cfg, &m->net, err);
    if (r < 0)
        return lxm_error_prefix(err, "network");
    r = stage_mounts(m, err);
    if (r < 0)
        return r;
    struct lxm_cgroup_entry entry = {.v2_dir = -1, .lock_fd = -1};
    if (m->cg && (r = lxm_cgroup_entry_open_v1(m->cg, &entry, err)) < 0)
        return lxm_error_prefix(err, "cgroup");
    int pidfd = -1;
    pid_t pid = clone_child(m, &entry, &pidfd, sync_c, err_c);
    int saved = errno;
    lxm_cgroup_entry_close(&entry);
    close(TAKE_FD(sync_c));
    close(TAKE_FD(err_c));
    if (pid < 0)
        return lxm_error_errno(err, saved, "clone3");
    _cleanup_close_ int rootfd = -1;
    r = prepare_child(m, pid, &rootfd, err);
    if (r == 0 && lxm_mounts_locked(m->cfg))
        r = build_locked(m, pidfd, rootfd, err);
    if (r == 0)
        r = release_child(m, pid, sync_w, rootfd, err);
    if (r == 0)
        r = await_exec(m, sync_w, err_r, pidfd, err);
    if (r < 0) {
        unstage_mounts(m);
        kill_child(pidfd);
        close(pidfd);
        (void)record_state(m, 0);
        return r;
    }
    m->pidfd = pidfd;
    m->init_pid = pid;
    m->init_starttime = proc_starttime(pid);
    m->started_at = time(NULL);
    m->boot_ms = lxm_now_ms();
    lxm_info("%s: init started (pid %d)", m->c->name, (int)pid);
    /* A container that is ready at once is recorded so, in one write. */
    monitor_ready_boot(m);
    if (!m->ready.ready)
        monitor_record_state(m);
    return 0;
}

/* --- teardown --------------------------------------------------------------------- */

/* What the first boot's rootfs was made with, once init has its own
 * copy: the throwaway user ns's helper and the layer mounts (each close
 * is an RCU grace period, which the start command does not wait for). */
static void release_early_rootfs(struct monitor *m)
{
    lxm_idmap_userns_reap(&m->userns_helper);
    for (size_t i = 0; i < ARRAY_SIZE(m->layers); i++)
        if (m->layers[i] >= 0) {
            close(m->layers[i]);
            m->layers[i] = -1;
        }
}

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
    if (m->rootfd >= 0) {
        close(m->rootfd);
        m->rootfd = -1;
    }
    release_early_rootfs(m);
}

/* The host side goes only while the state file still names us: should a
 * newer instance of the container ever run (whatever went wrong for that to
 * happen), its cgroup, state, socket and run dir are not ours to remove.
 * A cgroup that cannot be removed keeps the state file, as a stale
 * container's reap does (start.c): the next stop, delete or doctor --fix
 * finds the container stale and tries again. */
static bool teardown(struct monitor *m)
{
    struct lxm_error e = {0};
    bool mine = lxm_state_is_mine(m->c), kept = false;
    teardown_boot(m);
    unstage_mounts(m);
    monitor_ready_free(m);
    if (m->oom_fd >= 0) {
        close(m->oom_fd);
        m->oom_fd = -1;
    }
    if (!mine)
        lxm_warn("%s: the container has another monitor now: leaving its cgroup and run dir "
                 "alone",
                 m->c->name);
    if (m->cg) {
        if (mine && lxm_cgroup_destroy(m->cg, &e) < 0) {
            lxm_warn("%s: %s; its state is kept ('lxm stop %s' tries again)", m->c->name, e.msg,
                     m->c->name);
            kept = true;
        }
        lxm_cgroup_free(m->cg);
        m->cg = NULL;
    }
    if (mine && !kept)
        lxm_state_remove(m->c);
    return mine;
}

/* Drop the run dir when no lxm command holds the lock (a poweroff from
 * inside; a stop command removes it itself) and no new instance moved in
 * since our teardown (a start that took the lock meanwhile: its monitor
 * socket and state file are there). Never waits: a stop holding the lock
 * waits for us. */
static void remove_run_dir_if_idle(struct monitor *m)
{
    if (lxm_container_trylock(m->c) < 0)
        return;
    _cleanup_free_ char *sock = lxm_monitor_socket_path(m->c);
    _cleanup_free_ char *state = xasprintf("%s/state", m->c->run_dir);
    if (sock && state && !path_exists(sock) && !path_exists(state))
        rm_rf(m->c->run_dir);
    lxm_container_unlock(m->c);
}

/* --- state and stop --------------------------------------------------------------- */

enum lxm_state monitor_state(struct monitor *m)
{
    /* A stop request, or the guest's own shutdown (STOPPING=1). */
    if (m->stopping || m->ready.stopping)
        return LXM_STATE_STOPPING;
    if (m->pidfd < 0)
        return LXM_STATE_STARTING; /* between boots (a delayed reboot) */
    if (m->cg && lxm_cgroup_is_frozen(m->cg) == 1)
        return LXM_STATE_FROZEN;
    /* Init runs, the guest has not said it is ready (ready.h). */
    return m->ready.ready ? LXM_STATE_RUNNING : LXM_STATE_STARTING;
}

/* The v1 freezer keeps a frozen task alive through SIGKILL: thaw first. */
static void kill_init(struct monitor *m)
{
    if (m->cg)
        lxm_cgroup_freeze(m->cg, false, NULL);
    pidfd_send_signal(m->pidfd, SIGKILL, NULL, 0);
}

void monitor_begin_stop(struct monitor *m, int64_t timeout_ms, bool kill)
{
    if (m->pidfd < 0) {
        /* Between boots: nothing to stop but the boot to come. */
    } else if (kill || timeout_ms <= 0) {
        kill_init(m);
    } else if (!m->stopping) {
        pidfd_send_signal(m->pidfd, lxm_halt_signal(m->cfg), NULL, 0);
        struct itimerspec its = {.it_value = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000}};
        timerfd_settime(m->timer_fd, 0, &its, NULL);
    }
    if (!m->stopping) {
        m->stopping = true;
        monitor_record_state(m);
    }
}

/* --- reboots ---------------------------------------------------------------------- */

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

/* How long to wait before booting again (ms), or -1 to stop: a guest that
 * reboots as soon as it is up must not spin the host. */
static int64_t reboot_delay(struct monitor *m)
{
    int64_t ran = lxm_now_ms() - m->boot_ms;
    m->fast_reboots = ran < FAST_BOOT_MS ? m->fast_reboots + 1 : 0;
    if (m->fast_reboots >= FAST_REBOOT_LIMIT) {
        lxm_warn("%s: reboot loop: %d reboots in a row, each within %d s of its boot: "
                 "stopping the container (lxm start to try again)",
                 m->c->name, m->fast_reboots, FAST_BOOT_MS / 1000);
        return -1;
    }
    if (m->fast_reboots <= FAST_REBOOT_FREE)
        return 0;
    int64_t delay = BACKOFF_FIRST_MS;
    for (int i = FAST_REBOOT_FREE + 1; i < m->fast_reboots && delay < BACKOFF_MAX_MS; i++)
        delay *= 2;
    if (delay > BACKOFF_MAX_MS)
        delay = BACKOFF_MAX_MS;
    lxm_info("%s: %d fast reboots in a row: booting again in %" PRId64 ".%03d s", m->c->name,
             m->fast_reboots, delay / 1000, (int)(delay % 1000));
    return delay;
}

/* Boot again now or when the back-off timer fires; false to stop. */
static bool boot_again(struct monitor *m)
{
    struct lxm_error e = {0};
    teardown_boot(m);
    m->reboot_pending = false;
    monitor_untrim(m);
    /* A reboot reads lxm.yaml as it is now, like a start, and the
     * hostname key (m->cfg is c->config), which goes into the guest's
     * files before init reads them, as at a start. */
    lxm_paths_global_forget(m->c->paths);
    lxm_hostname_reload(m->c);
    lxm_hostname_sync(m->c);
    if ((m->need_boot_setup && monitor_boot_policy(m, &e) < 0) || monitor_boot(m, &e) < 0) {
        lxm_warn("%s: reboot failed: %s", m->c->name, e.msg);
        return false;
    }
    unstage_mounts(m);
    monitor_trim_memory(m);
    return true;
}

/* Init is gone: false when the monitor's work is done. */
static bool on_init_exit(struct monitor *m)
{
    /* Drain what init wrote last before it went away. */
    monitor_read_console(m);
    monitor_ready_reset(m);
    if (!init_exited(m))
        return false;
    int64_t delay = reboot_delay(m);
    if (delay < 0)
        return false;
    if (delay == 0)
        return boot_again(m);
    teardown_boot(m);
    struct itimerspec its = {.it_value = {delay / 1000, (delay % 1000) * 1000000}};
    timerfd_settime(m->boot_timer_fd, 0, &its, NULL);
    m->reboot_pending = true;
    return true;
}

/* --- main loop ------------------------------------------------------------------------ */

/* `ps` shows "lxm monitor NAME", not the start command we were forked
 * from; top and ps -e show the comm "lxm-monitor". Cosmetic: best effort. */
static void set_process_title(const char *name)
{
    prctl(PR_SET_NAME, "lxm-monitor");
    _cleanup_free_ char *title = xasprintf("lxm monitor %s", name);
    if (title)
        (void)lxm_set_process_title(title);
}

/* lxm.log is our stderr: past MONITOR_LOG_MAX it becomes lxm.log.1. */
static void rotate_own_log(struct monitor *m)
{
    struct stat st;
    if (fstat(STDERR_FILENO, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= MONITOR_LOG_MAX)
        return;
    int fd = monitor_log_rotate(m->c->log_dir, "lxm.log");
    if (fd >= 0) {
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
}

static void on_stop_timer(struct monitor *m)
{
    uint64_t ticks;
    if (read(m->timer_fd, &ticks, sizeof(ticks)) > 0 && m->pidfd >= 0) {
        monitor_notify_stop(m, "kill\n");
        kill_init(m);
    }
}

/* Fixed pollfds, then the console and clients (monitor-io.c). */
enum { PFD_INIT, PFD_LISTEN, PFD_TIMER, PFD_BOOT_TIMER, PFD_OOM, PFD_READY, PFD_IO = PFD_READY + 2 };

static void run_loop(struct monitor *m)
{
    for (;;) {
        struct pollfd pfd[PFD_IO + 1 + MAX_CLIENTS];
        pfd[PFD_INIT] = (struct pollfd){.fd = m->pidfd, .events = POLLIN};
        pfd[PFD_LISTEN] = (struct pollfd){.fd = m->listen_fd, .events = POLLIN};
        pfd[PFD_TIMER] = (struct pollfd){.fd = m->timer_fd, .events = POLLIN};
        pfd[PFD_BOOT_TIMER] = (struct pollfd){.fd = m->boot_timer_fd, .events = POLLIN};
        pfd[PFD_OOM] = (struct pollfd){.fd = m->oom_fd, .events = m->oom_events};
        monitor_ready_pollfds(m, pfd + PFD_READY);
        int n = PFD_IO + monitor_io_pollfds(m, pfd + PFD_IO);
        int timeout = loop_timeout(m);
        if (poll(pfd, (nfds_t)n, timeout) < 0)
            continue;
        rotate_own_log(m);
        monitor_io_events(m, pfd + PFD_IO, n - PFD_IO);
        if (pfd[PFD_LISTEN].revents & POLLIN)
            monitor_accept(m);
        if (pfd[PFD_TIMER].revents & POLLIN)
            on_stop_timer(m);
        bool was_ready = m->ready.ready;
        monitor_ready_events(m, pfd + PFD_READY);
        /* Waiting for readiness ran code the ready guest no longer needs. */
        if (!was_ready && m->ready.ready)
            monitor_trim_memory(m);
        if (pfd[PFD_OOM].revents & (m->oom_events | POLLERR))
            check_oom(m, true);
        else if (m->oom_recheck_at > 0 && lxm_now_ms() >= m->oom_recheck_at)
            check_oom(m, false);
        if (m->reboot_pending && m->stopping)
            return; /* stopped while waiting to boot again */
        if (pfd[PFD_BOOT_TIMER].revents & POLLIN) {
            uint64_t ticks;
            if (read(m->boot_timer_fd, &ticks, sizeof(ticks)) > 0 && !boot_again(m))
                return;
        }
        if ((pfd[PFD_INIT].revents & POLLIN) && !on_init_exit(m))
            return;
        /* After the events: what made the idle monitor hand over (init's
         * exit, a stop, an OOM event) is dealt with first. */
        if (monitor_may_idle(m))
            monitor_go_idle(m);
    }
}
/* The loop until the container stops, then its teardown. */
static __attribute__((noreturn)) void serve(struct monitor *m)
{
    run_loop(m);
    monitor_untrim(m);
    bool mine = teardown(m);
    monitor_notify_stop(m, "stopped\n");
    monitor_io_free(m);
    if (mine)
        remove_run_dir_if_idle(m);
    _exit(0);
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
    rotate_own_log(m);
}

/* A monitor of c with no fd open yet. */
static void monitor_init(struct monitor *m, struct lxm_container *c)
{
    *m = (struct monitor){.c = c,
                          .listen_fd = -1,
                          .master_fd = -1,
                          .slave_fd = -1,
                          .log_fd = -1,
                          .timer_fd = -1,
                          .boot_timer_fd = -1,
                          .oom_fd = -1,
                          .pidfd = -1,
                          .rootfd = -1,
                          .uffd = -1,
                          .idle_fd = -1,
                          .exe_fd = -1,
                          .frozen_fd = -1,
                          .host_mntns = -1,
                          .layers = {-1, -1}};
}

void lxm_monitor_main(struct lxm_container *c, int result_fd)
{
    struct monitor m;
    monitor_init(&m, c);
    m.cfg = c->config;
    struct lxm_error err = {0};
    /* The lock belongs to the start command; our copy would keep it held.
     * Nothing else the caller left open (not close-on-exec) stays with us. */
    lxm_container_unlock(c);
    if (result_fd > 3)
        close_range(3, (unsigned)result_fd - 1, 0);
    close_range((unsigned)result_fd + 1, ~0U, 0);
    redirect_stdio(&m);
    monitor_open_idle(&m);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    set_process_title(c->name);
    /* Our stderr is lxm.log: every line timestamped, none silenced by
     * the -q of the start command. */
    lxm_log_set_timestamps(true);
    if (lxm_log_get_level() < LXM_LOG_NORMAL)
        lxm_log_set_level(LXM_LOG_NORMAL);
    /* Started from a real-time process (chrt): the container is not. */
    if (lxm_sched_normal() > 0)
        lxm_info("%s: started by a real-time process: the monitor and the container run with "
                 "the normal policy (SCHED_OTHER)",
                 c->name);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    monitor_io_init(&m);
    monitor_ready_init(&m);

    /* Who we are goes on record before anything of the container exists. */
    m.starttime = proc_starttime(getpid());
    int r = record_state(&m, 0);
    if (r < 0)
        r = lxm_error_errno(&err, -r, "record the state of %s", c->name);
    if (r == 0)
        r = monitor_setup(&m, &err);
    if (r == 0)
        r = monitor_boot(&m, &err);
    if (r < 0) {
        /* The start command reads until we are gone: undo first. */
        teardown(&m);
        lxm_write_all(result_fd, err.msg, strlen(err.msg));
        _exit(1);
    }
    /* "ready" spares the start command a query when the guest is ready
     * once init runs (ready.h); the lock it holds keeps a freeze out. */
    const char *verdict = m.ready.ready ? "ok ready\n" : "ok\n";
    lxm_write_all(result_fd, verdict, strlen(verdict));
    close(result_fd);
    /* Init has its own copy of the tree by now: the stage goes once the
     * start command has its answer (an umount), the helper of the
     * rootfs's user ns is reaped (waiting for it to exit can take a
     * scheduler tick on a busy host) and the rootfs's layer mounts are
     * closed (RCU grace periods). */
    unstage_mounts(&m);
    release_early_rootfs(&m);
    monitor_trim_memory(&m);
    /* A guest ready once init runs: idle at once, not at the first event. */
    if (monitor_may_idle(&m))
        monitor_go_idle(&m);
    serve(&m);
}

void lxm_runtime_monitor_resume(struct lxm_container *c, int memfd)
{
    struct monitor m;
    monitor_init(&m, c);
    struct lxm_error err = {0};
    /* stdio, the ignored signals and the title's comm are the idle
     * monitor's, which had them from us. */
    set_process_title(c->name);
    lxm_log_set_timestamps(true);
    if (lxm_log_get_level() < LXM_LOG_NORMAL)
        lxm_log_set_level(LXM_LOG_NORMAL);
    int r = monitor_resume_load(&m, memfd, &err);
    if (r < 0 && m.listen_fd < 0) {
        /* Nothing to serve with: the next command finds us gone (stale)
         * and cleans up. */
        lxm_warn("%s: monitor: %s", c->name, err.msg);
        _exit(1);
    }
    if (r < 0) {
        lxm_warn("%s: monitor: %s: stopping the container", c->name, err.msg);
        monitor_begin_stop(&m, 0, true);
    }
    if (m.stop_pending) {
        m.stop_pending = false;
        monitor_begin_stop(&m, m.stop_ms, m.stop_kill);
    } else if (m.ready.stopping) {
        /* The idle one heard it: on record now. */
        lxm_info("%s: the guest is shutting down (STOPPING=1)", c->name);
        monitor_record_state(&m);
    }
    lxm_debug("%s: full monitor again", c->name);
    serve(&m);
}

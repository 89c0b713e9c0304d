/* rootfs-lock.c: kernel filesystems and masks the container cannot undo.
 *
 * The kernel locks the mounts that a mount namespace inherits when it is
 * made for a less privileged user namespace: there they cannot be
 * unmounted or moved (EINVAL), their read-only/nosuid/nodev/noexec flags
 * cannot be cleared (EPERM), and a fresh proc or sysfs is refused while a
 * locked mount hides part of the existing one (EPERM, "too revealing").
 * Mounts a container makes in its own namespace get none of that.
 *
 * So, when lxm_mounts_locked() says so, the tree that must stick is built
 * on the host side: the monitor attaches the rootfs at STAGE/root in its
 * own mount namespace (owned by the host's user namespace) and mounts
 * /proc, a read-only /sys, the masked and the read-only paths on it. proc
 * and sysfs show the namespaces of whoever mounts them: proc is told
 * init's pid namespace (pidns=, Linux 6.15) and sysfs is opened from
 * init's network namespace. On an older kernel a helper that has joined
 * init's pid and network namespaces (but not its user namespace) does
 * the mounting: a fork and an exit more at every start. Init,
 * cloned without a mount namespace of its own, then unshares one: the copy
 * belongs to its user namespace and holds all of those locked. What init
 * mounts afterwards (/dev, the cgroup2 view, bind mounts) stays its own. */
#include "runtime/runtime-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"

/* The one switch. Off where there is nothing to lock against (privileged:
 * no user namespace, container root is host root), where nested
 * containers need proc and sysfs mounts of their own (nesting), and where
 * the policy confines nothing anyway (unconfined). */
bool lxm_mounts_locked(const struct lxm_config *cfg)
{
    if (cfg->security.privileged)
        return false;
    if (cfg->security.nesting)
        return false;
    return !lxm_security_is_unconfined(&cfg->policy);
}

static void wait_pid(pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
}

struct helper_args {
    const struct lxm_config *cfg;
    int pidfd, rootfd, rundir, empty, errfd;
    uid_t uid; /* host ids of container root: the owner of what we create */
    gid_t gid;
};

/* Mount the kernel filesystems and masks (proc and sysfs from fs, or for
 * our own namespaces). A directory missing in the rootfs (/proc, /sys) is
 * made as container root would make it: host root has no id on an
 * idmapped rootfs (EOVERFLOW), and on a shifted one the directory must
 * belong to container root anyway. */
static int build(const struct helper_args *h, const struct lxm_kernel_fs *fs,
                 struct lxm_error *err)
{
    setfsgid(h->gid);
    setfsuid(h->uid);
    int r = lxm_rootfs_kernel_fs(h->rootfd, h->cfg, fs, h->empty, err);
    setfsuid(0);
    setfsgid(0);
    if (r == 0)
        lxm_rootfs_boot_id(h->rootfd, h->rundir);
    return r;
}

/* RUN/.empty, the one empty directory that masks every container's masked
 * directories (a read-only bind of it, locked like the rest), made on first
 * use; -1 (a tmpfs of its own per mask) unless it is an empty directory of
 * root's that nobody can write. rundir is RUN/NAME. */
static int open_empty_dir(int rundir)
{
    static const char name[] = "../.empty";
    if (mkdirat(rundir, name, 0555) < 0 && errno != EEXIST)
        return -1;
    _cleanup_close_ int fd = openat(rundir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 0222) != 0)
        return -1;
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    _cleanup_closedir_ DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        return -1;
    }
    struct dirent *e;
    bool is_empty = true;
    while (is_empty && (e = readdir(d)))
        is_empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    return is_empty ? TAKE_FD(fd) : -1;
}

/* ioctls of a pidfd (Linux 6.11), not in our headers yet. */
#ifndef PIDFD_GET_NET_NAMESPACE
#define PIDFD_GET_NET_NAMESPACE _IO(0xFF, 4)
#endif
#ifndef PIDFD_GET_PID_NAMESPACE
#define PIDFD_GET_PID_NAMESPACE _IO(0xFF, 5)
#endif

/* proc and sysfs for init's namespaces, opened by us: proc takes the pid
 * namespace from its pidns= option (Linux 6.15), sysfs the network
 * namespace its opener is in (we are there for the fsopen only). No
 * helper process then. -EOPNOTSUPP, with nothing changed, where the
 * kernel has no pidns= (or no pidfd ioctls): the helper does it. */
static int open_kernel_fs(int pidfd, struct lxm_kernel_fs *fs, struct lxm_error *err)
{
    _cleanup_close_ int pidns = ioctl(pidfd, PIDFD_GET_PID_NAMESPACE, 0);
    _cleanup_close_ int netns = ioctl(pidfd, PIDFD_GET_NET_NAMESPACE, 0);
    if (pidns < 0 || netns < 0)
        return -EOPNOTSUPP;
    _cleanup_close_ int proc = fsopen("proc", FSOPEN_CLOEXEC);
    if (proc < 0)
        return lxm_error_errno(err, errno, "mount proc");
    if (fsconfig(proc, FSCONFIG_SET_FD, "pidns", NULL, pidns) < 0)
        return -EOPNOTSUPP;
    _cleanup_close_ int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (own < 0)
        return lxm_error_errno(err, errno, "open /proc/self/ns/net");
    if (setns(netns, CLONE_NEWNET) < 0)
        return lxm_error_errno(err, errno, "join the container's network namespace");
    int sysfs = fsopen("sysfs", FSOPEN_CLOEXEC);
    int saved = errno;
    if (setns(own, CLONE_NEWNET) < 0) {
        /* Whatever we did next would act on the container's network. */
        lxm_warn("back to our own network namespace: %s; the monitor exits", strerror(errno));
        _exit(1);
    }
    if (sysfs < 0)
        return lxm_error_errno(err, saved, "mount sysfs");
    *fs = (struct lxm_kernel_fs){.proc = TAKE_FD(proc), .sysfs = sysfs};
    return 0;
}

/* In the helper, forked into init's pid namespace: join its network
 * namespace too and mount. */
static _Noreturn void helper(const struct helper_args *h)
{
    struct lxm_error err = {0};
    if (setns(h->pidfd, CLONE_NEWNET) < 0)
        lxm_error_errno(&err, errno, "join the container's network namespace");
    else if (build(h, NULL, &err) == 0)
        _exit(0);
    (void)!lxm_write_all(h->errfd, err.msg, strlen(err.msg));
    _exit(1);
}

/* Fork the helper into init's pid namespace: only a fork enters one, so
 * our namespace for children is init's for this one fork and then ours
 * again (the one we live in never changes). */
static pid_t fork_into_pidns(int pidfd, struct lxm_error *err)
{
    _cleanup_close_ int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (own < 0)
        return lxm_error_errno(err, errno, "open /proc/self/ns/pid");
    if (setns(pidfd, CLONE_NEWPID) < 0)
        return lxm_error_errno(err, errno, "join the container's pid namespace");
    pid_t pid = fork();
    int saved = errno;
    if (pid == 0)
        return 0;
    if (setns(own, CLONE_NEWPID) < 0) {
        /* Every later child of ours would be born in the container. */
        lxm_warn("back to our own pid namespace: %s; the monitor exits", strerror(errno));
        _exit(1);
    }
    return pid < 0 ? lxm_error_errno(err, saved, "fork into the container's pid namespace") : pid;
}

int lxm_rootfs_lock_build(const struct lxm_config *cfg, int pidfd, const char *stage,
                          const char *run_dir, int rootfd, uid_t uid, gid_t gid,
                          struct lxm_error *err)
{
    _cleanup_close_ int dir = open(stage, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0)
        return lxm_error_errno(err, errno, "open %s", stage);
    if (mkdirat(dir, LXM_STAGE_ROOT, 0755) < 0 && errno != EEXIST)
        return lxm_error_errno(err, errno, "mkdir %s/" LXM_STAGE_ROOT, stage);
    if (move_mount(rootfd, "", dir, LXM_STAGE_ROOT, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return lxm_error_errno(err, errno, "mount the rootfs on %s/" LXM_STAGE_ROOT, stage);
    _cleanup_close_ int root =
        openat(dir, LXM_STAGE_ROOT, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (root < 0)
        return lxm_error_errno(err, errno, "open %s/" LXM_STAGE_ROOT, stage);
    /* The boot id's file waits in RUN/NAME, not in the stage: a bind of
     * it would keep the stage tmpfs alive as long as the container. */
    _cleanup_close_ int rundir = open(run_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rundir < 0)
        return lxm_error_errno(err, errno, "open %s", run_dir);
    _cleanup_close_ int empty = open_empty_dir(rundir);
    if (empty < 0)
        lxm_debug("no shared empty directory for the masks: a tmpfs each");
    struct helper_args h = {cfg, pidfd, root, rundir, empty, -1, uid, gid};
    struct lxm_kernel_fs fs;
    int r = open_kernel_fs(pidfd, &fs, err);
    if (r != -EOPNOTSUPP)
        return r < 0 ? r : build(&h, &fs, err);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return lxm_error_errno(err, errno, "pipe");
    pid_t pid = fork_into_pidns(pidfd, err);
    if (pid == 0) {
        close(p[0]);
        h.errfd = p[1];
        helper(&h);
    }
    close(p[1]);
    _cleanup_close_ int rd = p[0];
    if (pid < 0)
        return pid;
    char msg[LXM_ERROR_MAX];
    size_t n = 0;
    ssize_t k;
    while (n < sizeof(msg) - 1 &&
           ((k = read(rd, msg + n, sizeof(msg) - 1 - n)) > 0 || (k < 0 && errno == EINTR)))
        n += k > 0 ? (size_t)k : 0;
    msg[n] = '\0';
    int status = 0;
    wait_pid(pid, &status);
    if (msg[0])
        return lxm_error_set(err, EIO, "%s", msg);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return lxm_error_set(err, EIO, "the mount helper failed (status %d)", status);
    return 0;
}

/* mount_live: bind mounts added to and removed from a running container,
 * and recorded in its config.yaml so the next start has them too.
 *
 * An added mount is made like a start-time one (userns.c, rootfs.c): a
 * detached clone of the host path (open_tree), idmapped through the
 * container's user namespace and read-only as asked (mount_setattr). A
 * mount that the container's root could remount read-write would not be
 * read-only, so the clone goes through a mount namespace owned by the
 * container's user namespace first, which locks its flags (the kernel does
 * that to every mount it copies into a less privileged namespace), and a
 * clone of that keeps the lock. Then, in the container's mount namespace,
 * the target is resolved inside the container's root (openat2
 * RESOLVE_IN_ROOT: its symlinks cannot lead out), made if missing, and the
 * mount moved onto it (move_mount). All of it runs in a forked child: the
 * namespaces it enters are never the caller's. */
#include "runtime/mount_live.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config_check.h"
#include "security/idmap.h"
#include "runtime/runtime-internal.h"
#include "util/child_pipe.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* The running container's namespaces, held by fd. */
struct target {
    int pidfd;
    int userns; /* -1: the container has no user namespace */
    int mntns;
};

static void target_close(struct target *t)
{
    if (t->pidfd >= 0)
        close(t->pidfd);
    if (t->userns >= 0)
        close(t->userns);
    if (t->mntns >= 0)
        close(t->mntns);
}

static int open_ns(pid_t pid, const char *which, struct lxm_error *err)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, which);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? lxm_error_errno(err, errno, "open %s", path) : fd;
}

static bool same_ns(int fd, const char *mine)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(mine, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

/* Init's namespaces, init checked alive after they were opened (so they
 * are not those of a process that took its pid). */
static int target_open(struct lxm_container *c, struct target *t, struct lxm_error *err)
{
    struct lxm_state_file st;
    *t = (struct target){.pidfd = -1, .userns = -1, .mntns = -1};
    if (lxm_state_read(c, &st) < 0 || st.init_pid <= 0)
        return lxm_error_set(err, ESRCH, "container '%s' is not running", c->name);
    t->pidfd = lxm_pidfd_verified(st.init_pid, st.init_starttime);
    if (t->pidfd < 0)
        return lxm_error_set(err, ESRCH, "container '%s' is not running", c->name);
    int r = t->mntns = open_ns(st.init_pid, "mnt", err);
    if (r >= 0)
        r = t->userns = open_ns(st.init_pid, "user", err);
    if (r >= 0 && same_ns(t->userns, "/proc/self/ns/user")) {
        close(t->userns);
        t->userns = -1;
    }
    if (r >= 0 && syscall(SYS_pidfd_send_signal, t->pidfd, 0, NULL, 0) < 0)
        r = lxm_error_set(err, ESRCH, "container '%s' stopped meanwhile", c->name);
    return r < 0 ? r : 0;
}

/* Run fn in a forked child; its error message comes back on a pipe. */
static int in_child(int (*fn)(const void *, struct lxm_error *), const void *arg,
                    struct lxm_error *err)
{
    int fd;
    pid_t pid = lxm_fork_piped(&fd, err);
    if (pid < 0)
        return (int)pid;
    if (pid == 0) {
        struct lxm_error e = {0};
        int r = fn(arg, &e);
        if (r < 0)
            (void)!write(fd, e.msg, strlen(e.msg));
        _exit(r < 0 ? 1 : r == 0 ? 0 : 2);
    }
    char msg[LXM_ERROR_MAX];
    lxm_read_message(fd, msg, sizeof(msg));
    close(fd);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return lxm_error_errno(err, errno, "wait for the mount helper");
    if (WIFEXITED(status) && WEXITSTATUS(status) <= 2 && WEXITSTATUS(status) != 1)
        return WEXITSTATUS(status) == 2 ? 1 : 0;
    return lxm_error_set(err, EIO, "%s", msg[0] ? msg : "the mount helper died");
}

struct add_job {
    const struct target *t;
    const char *stage; /* a directory of ours to stage the mount in */
    const struct lxm_mount *m;
};

/* The detached mount, idmapped (when the filesystem can) and read-only as
 * asked: what start-time mounts are (userns.c). */
static int detached_mount(const struct add_job *j, struct lxm_error *err)
{
    int userns = j->t->userns;
    if (userns >= 0) {
        int r = lxm_idmap_mount_supported(j->m->source, userns, err);
        if (r < 0)
            return r;
        if (r == 0)
            userns = -1;
    }
    unsigned flags = LXM_IDMAP_MOUNT_RECURSIVE | (j->m->readonly ? LXM_IDMAP_MOUNT_RDONLY : 0);
    return lxm_idmap_mount_open(userns, j->m->source, flags, err);
}

/* Stage mfd on STAGE/m (a tmpfs of this child's own mount namespace), then
 * enter the container's user namespace and a new mount namespace: its copy
 * of m has locked flags; a clone of that copy is returned. */
static int locked_clone(const struct add_job *j, int mfd, struct lxm_error *err)
{
    if (mount("lxm-live", j->stage, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0711") < 0)
        return lxm_error_errno(err, errno, "mount tmpfs on %s", j->stage);
    struct stat st;
    if (fstat(mfd, &st) < 0 || chdir(j->stage) < 0)
        return lxm_error_errno(err, errno, "stage %s", j->m->source);
    int r = S_ISDIR(st.st_mode) ? mkdir("m", 0700) : mknod("m", S_IFREG | 0600, 0);
    if (r < 0 || move_mount(mfd, "", AT_FDCWD, "m", MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return lxm_error_errno(err, errno, "stage %s", j->m->source);
    if (setns(j->t->userns, CLONE_NEWUSER) < 0)
        return lxm_error_errno(err, errno, "enter the container's user namespace");
    if ((r = lxm_idmap_become_root(err)) < 0)
        return r;
    /* The copy's cwd is the copy of the stage: "m" is the locked mount. */
    if (unshare(CLONE_NEWNS) < 0)
        return lxm_error_errno(err, errno, "unshare a mount namespace");
    int fd = open_tree(AT_FDCWD, "m", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    return fd < 0 ? lxm_error_errno(err, errno, "clone the staged mount of %s", j->m->source) : fd;
}

static int add_child(const void *arg, struct lxm_error *err)
{
    const struct add_job *j = arg;
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return lxm_error_errno(err, errno, "private mount namespace");
    _cleanup_close_ int mfd = detached_mount(j, err);
    if (mfd < 0)
        return mfd;
    if (j->t->userns >= 0) {
        int fd = locked_clone(j, mfd, err);
        if (fd < 0)
            return fd;
        close(mfd);
        mfd = fd;
    }
    struct stat st;
    if (fstat(mfd, &st) < 0)
        return lxm_error_errno(err, errno, "mount %s", j->m->source);
    if (setns(j->t->mntns, CLONE_NEWNS) < 0)
        return lxm_error_errno(err, errno, "enter the container's mount namespace");
    /* setns made the container's root our "/". */
    _cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return lxm_error_errno(err, errno, "open the container's root");
    _cleanup_close_ int target = S_ISDIR(st.st_mode) ? lxm_rootfs_mkdir_in_root(rootfd, j->m->path)
                                                     : lxm_rootfs_touch_in_root(rootfd, j->m->path);
    if (target < 0)
        return lxm_error_errno(err, -target, "mount point %s", j->m->path);
    if (move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return lxm_error_errno(err, errno, "mount %s on %s", j->m->source, j->m->path);
    return 0;
}

struct remove_job {
    const struct target *t;
    const char *path;
};

static int remove_child(const void *arg, struct lxm_error *err)
{
    const struct remove_job *j = arg;
    /* The container's /proc has no "self" for us: the host's does. */
    _cleanup_close_ int proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (proc < 0)
        return lxm_error_errno(err, errno, "open /proc");
    if (setns(j->t->mntns, CLONE_NEWNS) < 0)
        return lxm_error_errno(err, errno, "enter the container's mount namespace");
    _cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return lxm_error_errno(err, errno, "open the container's root");
    _cleanup_close_ int fd = lxm_rootfs_open_in_root(rootfd, j->path, O_PATH | O_NOFOLLOW);
    if (fd == -ENOENT)
        return 1;
    if (fd < 0)
        return lxm_error_errno(err, -fd, "open %s", j->path);
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH, 0, &sx) < 0)
        return lxm_error_errno(err, errno, "stat %s", j->path);
    if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
        !(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
        return 1; /* nothing mounted there (any more) */
    char self[64];
    snprintf(self, sizeof(self), "self/fd/%d", fd);
    if (fchdir(proc) < 0)
        return lxm_error_errno(err, errno, "chdir /proc");
    if (umount2(self, MNT_DETACH) < 0)
        return lxm_error_errno(err, errno, "unmount %s", j->path);
    return 0;
}

int lxm_mount_live_add(struct lxm_container *c, const struct lxm_mount *m, struct lxm_error *err)
{
    struct target t;
    int r = target_open(c, &t, err);
    _cleanup_free_ char *stage = xasprintf("%s/live-mount", c->run_dir);
    if (r == 0 && !stage)
        r = lxm_error_set(err, ENOMEM, "out of memory");
    if (r == 0 && mkdir(stage, 0700) < 0 && errno != EEXIST)
        r = lxm_error_errno(err, errno, "create %s", stage);
    if (r == 0) {
        struct add_job j = {.t = &t, .stage = stage, .m = m};
        r = in_child(add_child, &j, err);
        rmdir(stage);
    }
    target_close(&t);
    return r < 0 ? lxm_error_prefix(err, "%s", c->name) : 0;
}

int lxm_mount_live_remove(struct lxm_container *c, const char *path, struct lxm_error *err)
{
    struct target t;
    int r = target_open(c, &t, err);
    if (r == 0) {
        struct remove_job j = {.t = &t, .path = path};
        r = in_child(remove_child, &j, err);
    }
    target_close(&t);
    return r < 0 ? lxm_error_prefix(err, "%s", c->name) : r == 0;
}

/* ---- the config side ------------------------------------------------------------ */

/* "/data/" and "/data" are one mount point. */
static char *mount_point(const char *path, struct lxm_error *err)
{
    char allowed[LXM_ALLOWED_MAX];
    const char *what = lxm_check_abs_path(path, allowed);
    if (what)
        return lxm_error_set(err, EINVAL, "PATH '%s' %s (%s)", path, what, allowed), NULL;
    char *p = strdup(path);
    if (!p)
        return lxm_error_set(err, ENOMEM, "out of memory"), NULL;
    for (size_t n = strlen(p); n > 1 && p[n - 1] == '/'; n--)
        p[n - 1] = '\0';
    if (!strcmp(p, "/")) {
        free(p);
        return lxm_error_set(err, EINVAL, "PATH '/': cannot mount over the container's root"), NULL;
    }
    return p;
}

static int find_mount(const struct lxm_config *cfg, const char *path)
{
    for (int i = 0; i < cfg->n_mounts; i++) {
        _cleanup_free_ char *p = mount_point(cfg->mounts[i].path, NULL);
        if (p && !strcmp(p, path))
            return i;
    }
    return -1;
}

/* The container locked, its config loaded, and whether it runs now. */
static int open_for_mount(const struct lxm_paths *paths, const char *name,
                          struct lxm_container **out, bool *running, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    struct lxm_runtime_info info;
    int r = lxm_container_open_locked(paths, name, &c, err);
    if (r == 0)
        r = lxm_container_load_config(c, err);
    if (r == 0)
        r = lxm_runtime_query(c, &info, err);
    if (r < 0)
        return r;
    if (info.state != LXM_STATE_STOPPED && info.state != LXM_STATE_RUNNING &&
        info.state != LXM_STATE_FROZEN)
        return lxm_error_set(err, EBUSY,
                             "container '%s' is %s (try again when it is running or "
                             "stopped)",
                             name, lxm_state_name(info.state));
    *running = info.state != LXM_STATE_STOPPED;
    *out = TAKE_PTR(c);
    return 0;
}

static int append_mount(struct lxm_config *cfg, const char *source, const char *path, bool ro)
{
    struct lxm_mount *m = realloc(cfg->mounts, (size_t)(cfg->n_mounts + 1) * sizeof(*m));
    if (!m)
        return -ENOMEM;
    cfg->mounts = m;
    m = &cfg->mounts[cfg->n_mounts];
    *m = (struct lxm_mount){.source = strdup(source), .path = strdup(path), .readonly = ro};
    cfg->n_mounts++;
    return m->source && m->path ? 0 : -ENOMEM;
}

int lxm_mount_add(const struct lxm_paths *paths, const char *name, const char *source,
                  const char *path, bool readonly, bool *live, struct lxm_error *err)
{
    char allowed[LXM_ALLOWED_MAX];
    const char *what = lxm_check_abs_path(source, allowed);
    if (what)
        return lxm_error_set(err, EINVAL, "SRC '%s' %s (%s)", source, what, allowed);
    _cleanup_free_ char *point = mount_point(path, err);
    if (!point)
        return -err->code;
    struct stat st;
    if (stat(source, &st) < 0)
        return lxm_error_errno(err, errno, "SRC %s", source);
    _cleanup_container_ struct lxm_container *c = NULL;
    bool running;
    int r = open_for_mount(paths, name, &c, &running, err);
    if (r < 0)
        return r;
    if (find_mount(c->config, point) >= 0)
        return lxm_error_set(err, EEXIST,
                             "container '%s' already has a mount on %s ('lxm mount "
                             "remove %s %s' first)",
                             name, point, name, point);
    if (append_mount(c->config, source, point, readonly) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    const struct lxm_mount *m = &c->config->mounts[c->config->n_mounts - 1];
    if (running && (r = lxm_mount_live_add(c, m, err)) < 0)
        return lxm_error_prefix(err, "config unchanged");
    r = lxm_config_save(c->config, c->config_file, err);
    if (r < 0 && running) {
        struct lxm_error e = {0};
        lxm_mount_live_remove(c, m->path, &e);
    }
    if (r == 0 && live)
        *live = running;
    return r;
}

int lxm_mount_remove(const struct lxm_paths *paths, const char *name, const char *path, bool *live,
                     struct lxm_error *err)
{
    _cleanup_free_ char *point = mount_point(path, err);
    if (!point)
        return -err->code;
    _cleanup_container_ struct lxm_container *c = NULL;
    bool running;
    int r = open_for_mount(paths, name, &c, &running, err);
    if (r < 0)
        return r;
    struct lxm_config *cfg = c->config;
    int i = find_mount(cfg, point);
    if (i < 0)
        return lxm_error_set(err, ENOENT,
                             "container '%s' has no mount on %s (see 'lxm config "
                             "show %s')",
                             name, point, name);
    struct lxm_mount gone = cfg->mounts[i];
    memmove(&cfg->mounts[i], &cfg->mounts[i + 1], (size_t)(cfg->n_mounts - i - 1) * sizeof(gone));
    cfg->n_mounts--;
    int unmounted = 0;
    if (running && (unmounted = lxm_mount_live_remove(c, point, err)) < 0)
        r = lxm_error_prefix(err, "config unchanged");
    if (r == 0 && (r = lxm_config_save(cfg, c->config_file, err)) < 0 && unmounted > 0) {
        struct lxm_error e = {0};
        lxm_mount_live_add(c, &gone, &e);
    }
    free(gone.source);
    free(gone.path);
    if (r == 0 && live)
        *live = unmounted > 0;
    return r;
}

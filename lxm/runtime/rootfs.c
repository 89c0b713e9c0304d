/* rootfs.c: the container's filesystem view, built in the child's mount
 * namespace: the rootfs (a clone the monitor made, idmapped in a user
 * namespace), /proc, /sys, /dev, console, bind mounts, masked
 * and read-only paths, pivot_root. Paths inside the rootfs are resolved
 * fd-relative and inside the root: a rootfs is untrusted. */
#include "runtime/runtime-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/lxcfs.h"
#include "runtime/nesting.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/inroot.h"
#include "util/log.h"
#include "runtime/state.h"

#define ATTR_NOSUID_NODEV (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
#define ATTR_SAFE (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

/* A regular file to bind something onto (inside the root). */
static int touch_in_root(int rootfd, const char *path)
{
    _cleanup_free_ char *dir = strdup(path);
    if (!dir)
        return -ENOMEM;
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        _cleanup_close_ int d = lxm_mkdir_in_root(rootfd, dir);
        if (d < 0)
            return d;
    }
    int fd = lxm_open_in_root(rootfd, path, O_PATH, 0);
    if (fd == -ENOENT) {
        fd = lxm_open_in_root(rootfd, path, O_CREAT | O_WRONLY | O_NOFOLLOW, 0644);
        if (fd >= 0) {
            close(fd);
            fd = lxm_open_in_root(rootfd, path, O_PATH, 0);
        }
    }
    return fd;
}

static int attach_mount(int mfd, int target, const char *what, const char *where,
                        struct lxm_error *err)
{
    if (move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return lxm_error_errno(err, errno, "mount %s on %s", what, where);
    return 0;
}

/* A new filesystem instance of type on target: fs_fd is a context of
 * fsopen(type) to use (closed here; the monitor opens some before the clone),
 * or -1 for a new one; opts is "key=value" or "flag", NULL-ended. */
static int mount_fs(int fs_fd, int target, const char *type, const char *const *opts,
                    unsigned attrs, const char *where, struct lxm_error *err)
{
    _cleanup_close_ int fs = fs_fd >= 0 ? fs_fd : fsopen(type, FSOPEN_CLOEXEC);
    if (fs < 0)
        return lxm_error_errno(err, errno, "mount %s on %s", type, where);
    for (size_t i = 0; opts && opts[i]; i++) {
        char key[64];
        const char *eq = strchr(opts[i], '=');
        int r;
        if (eq) {
            snprintf(key, sizeof(key), "%.*s", (int)(eq - opts[i]), opts[i]);
            r = fsconfig(fs, FSCONFIG_SET_STRING, key, eq + 1, 0);
        } else {
            r = fsconfig(fs, FSCONFIG_SET_FLAG, opts[i], NULL, 0);
        }
        if (r < 0)
            return lxm_error_errno(err, errno, "mount %s on %s: option %s", type, where, opts[i]);
    }
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return lxm_error_errno(err, errno, "mount %s on %s", type, where);
    _cleanup_close_ int mfd = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
    if (mfd < 0)
        return lxm_error_errno(err, errno, "mount %s on %s", type, where);
    return attach_mount(mfd, target, type, where, err);
}

/* Bind src (dirfd-relative, "" = dirfd itself) onto target with attrs. */
static int bind_mount(int srcdir, const char *src, int target, unsigned attrs, const char *what,
                      const char *where, struct lxm_error *err)
{
    unsigned flags =
        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | (*src ? 0 : AT_EMPTY_PATH);
    _cleanup_close_ int mfd = open_tree(srcdir, src, flags);
    if (mfd < 0)
        return lxm_error_errno(err, errno, "bind %s on %s", what, where);
    if (attrs) {
        struct mount_attr a = {.attr_set = attrs};
        if (mount_setattr(mfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
            return lxm_error_errno(err, errno, "bind %s on %s: set attributes", what, where);
    }
    return attach_mount(mfd, target, what, where, err);
}

/* mount_fs on path inside the root, made if missing. */
static int mount_at(int fs_fd, int rootfd, const char *path, const char *type,
                    const char *const *opts, unsigned attrs, struct lxm_error *err)
{
    _cleanup_close_ int fs = fs_fd;
    _cleanup_close_ int t = lxm_mkdir_in_root(rootfd, path);
    if (t < 0)
        return lxm_error_errno(err, -t, "mount %s on %s", type, path);
    return mount_fs(TAKE_FD(fs), t, type, opts, attrs, path, err);
}

/* --- /dev ---------------------------------------------------------------------- */

struct devnode {
    const char *name;
    unsigned major, minor;
};

static const struct devnode base_devices[] = {
    {"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

static const struct devnode extra_devices[] = {
    {"fuse", 10, 229},
    {"net/tun", 10, 200},
    {"kvm", 10, 232},
};

/* mknod where we may; a bind of the host's node where we may not (a user
 * namespace). */
static int make_device(int devfd, const struct devnode *d, struct lxm_error *err)
{
    const char *slash = strrchr(d->name, '/');
    if (slash) {
        char dir[64];
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - d->name), d->name);
        if (mkdirat(devfd, dir, 0755) < 0 && errno != EEXIST)
            return lxm_error_errno(err, errno, "mkdir /dev/%s", dir);
    }
    if (mknodat(devfd, d->name, S_IFCHR | 0666, makedev(d->major, d->minor)) == 0) {
        fchmodat(devfd, d->name, 0666, 0);
        return 0;
    }
    if (errno != EPERM)
        return lxm_error_errno(err, errno, "mknod /dev/%s", d->name);
    _cleanup_close_ int t =
        openat(devfd, d->name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (t < 0)
        return lxm_error_errno(err, errno, "create /dev/%s", d->name);
    char host[80];
    snprintf(host, sizeof(host), "/dev/%s", d->name);
    _cleanup_close_ int tp = openat(devfd, d->name, O_PATH | O_CLOEXEC | O_NOFOLLOW);
    return bind_mount(AT_FDCWD, host, tp, 0, host, host, err);
}

static int setup_dev_mounts(int devfd, struct lxm_error *err)
{
    static const char *const pts_opts[] = {"newinstance", "ptmxmode=0666", "mode=0620", "gid=5",
                                           NULL};
    static const char *const shm_opts[] = {"mode=1777", "size=65536k", NULL};
    static const struct {
        const char *dir, *type;
        const char *const *opts;
        unsigned attrs;
    } m[] = {
        {"pts", "devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC},
        {"shm", "tmpfs", shm_opts, ATTR_NOSUID_NODEV},
        {"mqueue", "mqueue", NULL, ATTR_SAFE},
    };
    for (size_t i = 0; i < ARRAY_SIZE(m); i++) {
        char where[32];
        snprintf(where, sizeof(where), "/dev/%s", m[i].dir);
        if (mkdirat(devfd, m[i].dir, 0755) < 0 && errno != EEXIST)
            return lxm_error_errno(err, errno, "mkdir %s", where);
        _cleanup_close_ int t =
            openat(devfd, m[i].dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (t < 0)
            return lxm_error_errno(err, errno, "open %s", where);
        int r = mount_fs(-1, t, m[i].type, m[i].opts, m[i].attrs, where, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* A pty of the container's devpts bound on /dev/console; the master goes
 * to the monitor. */
static int setup_console(int devfd, int sock, struct lxm_error *err)
{
    _cleanup_close_ int master =
        openat(devfd, "pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
    if (master < 0)
        return lxm_error_errno(err, errno, "open /dev/pts/ptmx");
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
        return lxm_error_errno(err, errno, "console: unlock pty");
    _cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        return lxm_error_errno(err, errno, "console: open pty peer");
    _cleanup_close_ int cfd =
        openat(devfd, "console", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (cfd < 0)
        return lxm_error_errno(err, errno, "create /dev/console");
    _cleanup_close_ int cpath = openat(devfd, "console", O_PATH | O_CLOEXEC | O_NOFOLLOW);
    int r = bind_mount(slave, "", cpath, 0, "console pty", "/dev/console", err);
    if (r < 0)
        return r;
    r = lxm_send_fd(sock, master);
    return r < 0 ? lxm_error_errno(err, -r, "console: hand the pty to the monitor") : 0;
}

static int setup_dev(int rootfd, const struct lxm_boot *b, struct lxm_error *err)
{
    static const char *const dev_opts[] = {"mode=755", "size=65536k", NULL};
    int r =
        mount_at(-1, rootfd, "/dev", "tmpfs", dev_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
    if (r < 0)
        return r;
    /* Our own fresh tmpfs from here on: plain fd-relative calls are safe. */
    _cleanup_close_ int devfd = lxm_open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, 0);
    if (devfd < 0)
        return lxm_error_errno(err, -devfd, "open /dev");
    for (size_t i = 0; i < ARRAY_SIZE(base_devices); i++)
        if ((r = make_device(devfd, &base_devices[i], err)) < 0)
            return r;
    char **extra = b->cfg->policy.devices;
    for (size_t i = 0; extra && extra[i]; i++) {
        size_t k = 0;
        while (k < ARRAY_SIZE(extra_devices) && strcmp(extra_devices[k].name, extra[i]) != 0)
            k++;
        if (k == ARRAY_SIZE(extra_devices))
            lxm_warn("device %s: unknown, not created", extra[i]);
        else if ((r = make_device(devfd, &extra_devices[k], err)) < 0)
            return r;
    }
    if ((r = setup_dev_mounts(devfd, err)) < 0)
        return r;
    static const char *const links[][2] = {
        {"pts/ptmx", "ptmx"},          {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
        {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(links); i++)
        if (symlinkat(links[i][0], devfd, links[i][1]) < 0)
            return lxm_error_errno(err, errno, "symlink /dev/%s", links[i][1]);
    return setup_console(devfd, b->sync_fd, err);
}

/* --- user bind mounts, masked and read-only paths ---------------------------------- */

/* The monitor staged each mount (idmapped, read-only as configured) as
 * ./0, ./1... of our initial cwd; our copy of its mount namespace locks
 * their flags, and a clone keeps the locks. */
static int setup_user_mounts(int rootfd, const struct lxm_config *cfg, struct lxm_error *err)
{
    for (int i = 0; i < cfg->n_mounts; i++) {
        const struct lxm_mount *mt = &cfg->mounts[i];
        char staged[16];
        snprintf(staged, sizeof(staged), "%d", i);
        _cleanup_close_ int mfd =
            open_tree(AT_FDCWD, staged, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (mfd < 0)
            return lxm_error_errno(err, errno, "mount %s: staged mount", mt->source);
        struct stat st;
        if (fstat(mfd, &st) < 0)
            return lxm_error_errno(err, errno, "mount %s", mt->source);
        _cleanup_close_ int t =
            S_ISDIR(st.st_mode) ? lxm_mkdir_in_root(rootfd, mt->path) : touch_in_root(rootfd, mt->path);
        if (t < 0)
            return lxm_error_errno(err, -t, "mount %s on %s", mt->source, mt->path);
        int r = attach_mount(mfd, t, mt->source, mt->path, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* A masked directory gets a read-only bind of empty (an empty directory
 * of the host's, the same for every container: a mount costs the kernel
 * far less than a filesystem instance, see docs/benchmarks.md) or, with
 * empty -1, an empty read-only tmpfs of its own. */
static int mask_dir(int t, int empty, const char *path, struct lxm_error *err)
{
    static const char *const ro_tmpfs[] = {"size=0", NULL};
    if (empty < 0)
        return mount_fs(-1, t, "tmpfs", ro_tmpfs, ATTR_SAFE | MOUNT_ATTR_RDONLY, path, err);
    return bind_mount(empty, "", t, ATTR_SAFE | MOUNT_ATTR_RDONLY, "an empty directory", path, err);
}

static int mask_paths(int rootfd, char **paths, int empty, struct lxm_error *err)
{
    for (size_t i = 0; paths && paths[i]; i++) {
        _cleanup_close_ int t = lxm_open_in_root(rootfd, paths[i], O_PATH | O_NOFOLLOW, 0);
        if (t == -ENOENT)
            continue;
        if (t < 0)
            return lxm_error_errno(err, -t, "mask %s", paths[i]);
        struct stat st;
        if (fstat(t, &st) < 0)
            return lxm_error_errno(err, errno, "mask %s", paths[i]);
        int r = S_ISDIR(st.st_mode)
                    ? mask_dir(t, empty, paths[i], err)
                    : bind_mount(AT_FDCWD, "/dev/null", t, 0, "/dev/null", paths[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int readonly_paths(int rootfd, char **paths, struct lxm_error *err)
{
    for (size_t i = 0; paths && paths[i]; i++) {
        _cleanup_close_ int t = lxm_open_in_root(rootfd, paths[i], O_PATH | O_NOFOLLOW, 0);
        if (t == -ENOENT)
            continue;
        if (t < 0)
            return lxm_error_errno(err, -t, "read-only %s", paths[i]);
        int r =
            bind_mount(t, "", t, MOUNT_ATTR_RDONLY | ATTR_NOSUID_NODEV, paths[i], paths[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* --- the whole sequence ---------------------------------------------------------------- */

int lxm_rootfs_kernel_fs(int rootfd, const struct lxm_config *cfg, const struct lxm_kernel_fs *fs,
                         int empty, struct lxm_error *err)
{
    _cleanup_close_ int sysfs = fs ? fs->sysfs : -1;
    int r = mount_at(fs ? fs->proc : -1, rootfd, "/proc", "proc", NULL, ATTR_SAFE, err);
    if (r == 0)
        r = mount_at(TAKE_FD(sysfs), rootfd, "/sys", "sysfs", NULL, ATTR_SAFE | MOUNT_ATTR_RDONLY,
                     err);
    if (r == 0)
        r = mask_paths(rootfd, cfg->policy.masked_paths, empty, err);
    if (r == 0)
        r = readonly_paths(rootfd, cfg->policy.readonly_paths, err);
    return r;
}

/* The cgroup namespace makes this the container's own subtree. */
static void setup_cgroup_fs(int rootfd)
{
    struct lxm_error e = {0};
    _cleanup_close_ int cg = lxm_open_in_root(rootfd, "/sys/fs/cgroup", O_PATH | O_DIRECTORY, 0);
    if (cg < 0 || mount_fs(-1, cg, "cgroup2", NULL, ATTR_SAFE, "/sys/fs/cgroup", &e) < 0)
        lxm_debug("no cgroup2 in the container: %s", cg < 0 ? strerror(-cg) : e.msg);
}

/* A boot id of this boot bound over /proc/sys/kernel/random/boot_id, so
 * journald and `journalctl -b` / `--list-boots` tell the container's boots
 * apart instead of sharing the host's. The file lives in tmpdir (the
 * container's /dev, or its run dir on the host) only until it is bound. Best
 * effort: a guest without it still boots. */
void lxm_rootfs_boot_id(int rootfd, int tmpdir)
{
    static const char name[] = ".lxm-boot-id";
    uint8_t b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        return;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    char id[40];
    int n = snprintf(id, sizeof(id),
                     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                     "%02x%02x%02x%02x%02x%02x\n",
                     b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                     b[12], b[13], b[14], b[15]);
    _cleanup_close_ int target =
        lxm_open_in_root(rootfd, "/proc/sys/kernel/random/boot_id", O_PATH, 0);
    if (target < 0)
        return;
    unlinkat(tmpdir, name, 0); /* left by a start that died half-way */
    _cleanup_close_ int fd =
        openat(tmpdir, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0444);
    struct lxm_error e = {0};
    if (fd < 0 || write(fd, id, (size_t)n) != n ||
        bind_mount(tmpdir, name, target, MOUNT_ATTR_RDONLY | ATTR_SAFE, "boot id",
                   "/proc/sys/kernel/random/boot_id", &e) < 0)
        lxm_debug("no boot id of its own: %s", e.msg[0] ? e.msg : strerror(errno));
    if (fd >= 0)
        unlinkat(tmpdir, name, 0);
}

/* Not for an unconfined container: a bind over a file of /proc makes that
 * proc not "fully visible" to a user namespace made inside (the bind is
 * locked there), and the kernel then refuses it any proc of its own
 * (`unshare -Urmpf --mount-proc`), which an unconfined container is
 * expected to allow. Its guest shares the host's boot id instead. */
static void setup_boot_id(int rootfd, const struct lxm_config *cfg)
{
    if (lxm_security_is_unconfined(&cfg->policy)) {
        lxm_debug("unconfined: no boot id of its own (the host's)");
        return;
    }
    _cleanup_close_ int devfd = lxm_open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, 0);
    if (devfd >= 0)
        lxm_rootfs_boot_id(rootfd, devfd);
}

/* A tmpfs on /run, as systemd-nspawn gives one: systemd would otherwise
 * mount its own over what we put there. The monitor's notify socket
 * (notify_fd, -1 = none) is bound on /run/host/notify. */
static int setup_run(int rootfd, int notify_fd, struct lxm_error *err)
{
    static const char *const run_opts[] = {"mode=755", "size=20%", "nr_inodes=800k", NULL};
    int r = mount_at(-1, rootfd, "/run", "tmpfs", run_opts, ATTR_NOSUID_NODEV, err);
    if (r < 0 || notify_fd < 0)
        return r;
    _cleanup_close_ int t = touch_in_root(rootfd, LXM_NOTIFY_SOCKET);
    if (t < 0)
        return lxm_error_errno(err, -t, "create %s", LXM_NOTIFY_SOCKET);
    return attach_mount(notify_fd, t, "notify socket", LXM_NOTIFY_SOCKET, err);
}

static int pivot(int rootfd, struct lxm_error *err)
{
    if (fchdir(rootfd) < 0)
        return lxm_error_errno(err, errno, "chdir to rootfs");
    /* new_root == put_old: the old root ends up stacked under the new one
     * and a lazy unmount of "." takes it away. */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return lxm_error_errno(err, errno, "pivot_root");
    if (umount2(".", MNT_DETACH) < 0)
        return lxm_error_errno(err, errno, "unmount old root");
    if (chdir("/") < 0)
        return lxm_error_errno(err, errno, "chdir /");
    return 0;
}

/* The rootfs as a detached tree: the one the monitor built with the
 * locked mounts (a recursive clone: pivot_root refuses a locked mount, and
 * the clone's top is not locked while everything below stays so), or the
 * monitor's plain rootfs mount over sync_fd. */
static int take_rootfs(const struct lxm_boot *b, struct lxm_error *err)
{
    int fd;
    if (b->locked) {
        fd = open_tree(AT_FDCWD, LXM_STAGE_ROOT,
                       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW);
        if (fd < 0)
            return lxm_error_errno(err, errno, "rootfs %s: clone the staged tree", b->c->rootfs);
        return fd;
    }
    fd = lxm_recv_fd(b->sync_fd);
    if (fd < 0)
        return lxm_error_errno(err, -fd, "rootfs %s: receive it from the monitor", b->c->rootfs);
    return fd;
}

int lxm_rootfs_setup(const struct lxm_boot *b, struct lxm_error *err)
{
    const char *rootfs = b->c->rootfs;
    /* Nothing we mount may propagate back to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return lxm_error_errno(err, errno, "make / rslave");
    /* Attached on any directory, since pivot_root wants it mounted. */
    _cleanup_close_ int rootfd = take_rootfs(b, err);
    if (rootfd < 0)
        return rootfd;
    /* Then, over sync_fd, the notify socket and the lxcfs views (in the
     * order the monitor's release_child sends them). */
    _cleanup_close_ int notify = b->notify ? lxm_recv_fd(b->sync_fd) : -1;
    if (b->notify && notify < 0)
        return lxm_error_errno(err, -notify, "receive the notify socket from the monitor");
    const char *at = access("/mnt", F_OK) == 0 ? "/mnt" : "/tmp";
    if (move_mount(rootfd, "", AT_FDCWD, at, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return lxm_error_errno(err, errno, "mount rootfs %s on %s", rootfs, at);
    int r = b->locked ? 0 : lxm_rootfs_kernel_fs(rootfd, b->cfg, NULL, -1, err);
    if (r < 0)
        return r;
    setup_cgroup_fs(rootfd);
    r = lxm_lxcfs_setup(rootfd, b->sync_fd, err);
    if (r == 0)
        r = setup_dev(rootfd, b, err);
    if (r == 0 && b->cfg->security.nesting)
        r = lxm_nesting_mounts(rootfd, b->c->id, err);
    if (r == 0 && !b->locked)
        setup_boot_id(rootfd, b->cfg);
    if (r == 0)
        r = setup_run(rootfd, notify, err);
    if (r == 0)
        r = setup_user_mounts(rootfd, b->cfg, err);
    if (r == 0)
        r = pivot(rootfd, err);
    return r;
}

/* For live mounts (mount_live.c), which resolve targets the same way. */
int lxm_rootfs_open_in_root(int rootfd, const char *path, int flags)
{
    return lxm_open_in_root(rootfd, path, flags, 0);
}

int lxm_rootfs_mkdir_in_root(int rootfd, const char *path)
{
    return lxm_mkdir_in_root(rootfd, path);
}

int lxm_rootfs_touch_in_root(int rootfd, const char *path)
{
    return touch_in_root(rootfd, path);
}

/* file.c: file push/pull/edit (file.h). The container side is always
 * walked from one root fd: openat2(RESOLVE_IN_ROOT) for the path given,
 * then single names relative to directory fds (O_NOFOLLOW, O_EXCL), so
 * a symlink or a rename the container makes meanwhile cannot take us out
 * of its tree. Files are created with the fsuid/fsgid of the container's
 * root as the mount shows it (an idmapped mount refuses ids it does not
 * map) and then given their owner. */
#include "runtime/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "image/image_io.h"
#include "runtime/passwd.h"
#include "runtime/runtime-internal.h"
#include "storage/storage.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/inroot.h"
#include "util/strv.h"

#define MAX_DEPTH 256
#define MAX_LINKS 40

/* The container's / and how its ids look through it. */
struct froot {
    struct lxm_container *c;
    int fd;
    int pidfd;        /* running: init, checked after opening its root */
    struct lxm_idmap map;
    bool mapped;      /* ids seen through fd are map(container ids) */
    bool creds;       /* fsuid/fsgid switched */
};

static void froot_close(struct froot *r);
static inline void froot_closep(struct froot *r) { froot_close(r); }
#define _cleanup_froot_ __attribute__((cleanup(froot_closep)))

/* ---- ids ----------------------------------------------------------------------------- */

/* /proc/PID/uid_map or gid_map: "NS HOST COUNT" lines. */
static int read_proc_map(pid_t pid, const char *which, struct lxm_idmap_range *r, size_t *n)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, which);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    *n = 0;
    unsigned a, b, c;
    while (*n < LXM_IDMAP_MAX_RANGES && fscanf(f, "%u %u %u", &a, &b, &c) == 3)
        r[(*n)++] = (struct lxm_idmap_range){.ns_id = a, .host_id = b, .count = c};
    return 0;
}

static bool identity_map(const struct lxm_idmap_range *r, size_t n)
{
    return n == 1 && r[0].ns_id == 0 && r[0].host_id == 0 && r[0].count == UINT32_MAX;
}

/* Container id -> id as seen through the root fd; -1 when unmapped. */
static int64_t to_view(const struct froot *r, bool gid, uint32_t id)
{
    if (!r->mapped)
        return id;
    return gid ? lxm_idmap_range_to_host(r->map.gid, r->map.n_gid, id)
               : lxm_idmap_range_to_host(r->map.uid, r->map.n_uid, id);
}

static int64_t from_view(const struct froot *r, bool gid, uint32_t id)
{
    if (!r->mapped)
        return id;
    return gid ? lxm_idmap_range_to_ns(r->map.gid, r->map.n_gid, id)
               : lxm_idmap_range_to_ns(r->map.uid, r->map.n_uid, id);
}

/* Owner of what we create, as seen through the root fd. */
struct owner {
    uid_t uid;
    gid_t gid;
    int mode; /* -1: the source's */
};

static int view_owner(const struct froot *r, uid_t uid, gid_t gid, struct owner *o,
                      struct lxm_error *err)
{
    int64_t u = to_view(r, false, uid), g = to_view(r, true, gid);
    if (u < 0 || g < 0)
        return lxm_error_set(err, EINVAL, "%s %u is not mapped in container '%s'",
                             u < 0 ? "uid" : "gid", u < 0 ? (unsigned)uid : (unsigned)gid,
                             r->c->name);
    o->uid = (uid_t)u;
    o->gid = (gid_t)g;
    return 0;
}

/* Keep every capability while the fsuid is not 0 (the kernel drops the
 * filesystem ones on the change); this process only, until creds_leave. */
static int raise_caps(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0)
        return -errno;
    d[0].effective = d[0].permitted;
    d[1].effective = d[1].permitted;
    return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static int creds_enter(struct froot *r, struct lxm_error *err)
{
    struct owner root;
    int ret = view_owner(r, 0, 0, &root, err);
    if (ret < 0)
        return ret;
    syscall(SYS_setfsgid, root.gid);
    syscall(SYS_setfsuid, root.uid);
    r->creds = true;
    ret = raise_caps();
    return ret < 0 ? lxm_error_errno(err, -ret, "capset") : 0;
}

static void creds_leave(struct froot *r)
{
    if (!r->creds)
        return;
    syscall(SYS_setfsuid, 0);
    syscall(SYS_setfsgid, 0);
    (void)raise_caps();
    r->creds = false;
}

/* ---- the root ------------------------------------------------------------------------- */

static int open_running(struct froot *r, const struct lxm_state_file *st, struct lxm_error *err)
{
    r->pidfd = lxm_pidfd_verified(st->init_pid, st->init_starttime);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/root", (int)st->init_pid);
    r->fd = r->pidfd < 0 ? -1 : open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (r->fd < 0 || read_proc_map(st->init_pid, "uid_map", r->map.uid, &r->map.n_uid) < 0 ||
        read_proc_map(st->init_pid, "gid_map", r->map.gid, &r->map.n_gid) < 0 ||
        pidfd_send_signal(r->pidfd, 0, NULL, 0) < 0)
        return lxm_error_set(err, ESRCH, "container '%s' stopped meanwhile", r->c->name);
    r->mapped = !identity_map(r->map.uid, r->map.n_uid) || !identity_map(r->map.gid, r->map.n_gid);
    return 0;
}

static int open_stopped(struct froot *r, bool write, struct lxm_error *err)
{
    const struct lxm_storage_ops *ops;
    _cleanup_free_ char *image = NULL;
    int ret = lxm_container_check_rootfs(r->c, err);
    if (ret == 0)
        ret = lxm_storage_of(r->c->dir, &ops, err);
    if (ret == 0)
        ret = lxm_image_rootfs(r->c->paths, r->c->config->image, &image, err);
    if (ret == 0)
        ret = lxm_userns_disk_map(r->c, &r->map, &r->mapped, err);
    if (ret < 0)
        return ret;
    struct lxm_storage_mount how = {.userns_fd = -1, .readonly = !write};
    r->fd = ops->mount(image, r->c->dir, &how, err);
    return r->fd < 0 ? r->fd : 0;
}

/* Under the container's lock (held until froot_close), so a stopped
 * container does not start while its storage is mounted here. */
static int froot_open(struct lxm_container *c, bool write, struct froot *r, struct lxm_error *err)
{
    *r = (struct froot){.c = c, .fd = -1, .pidfd = -1};
    int ret = lxm_container_lock(c, err);
    if (ret < 0)
        return ret;
    if (!lxm_container_exists(c))
        return lxm_error_set(err, ENOENT, "container '%s' not found", c->name);
    ret = lxm_container_load_config(c, err);
    if (ret < 0)
        return ret;
    struct lxm_runtime_info info;
    ret = lxm_runtime_query(c, &info, err);
    if (ret < 0)
        return ret;
    struct lxm_state_file st;
    if (info.state != LXM_STATE_STOPPED && info.init_pid > 0 && lxm_state_read(c, &st) == 0)
        ret = open_running(r, &st, err);
    else if (info.state == LXM_STATE_STOPPED)
        ret = open_stopped(r, write, err);
    else
        ret = lxm_error_set(err, EBUSY, "container '%s' is %s: try again", c->name,
                            lxm_state_name(info.state));
    if (ret == 0 && write)
        ret = creds_enter(r, err);
    return ret;
}

static void froot_close(struct froot *r)
{
    if (!r->c)
        return;
    creds_leave(r);
    if (r->fd >= 0)
        close(r->fd);
    if (r->pidfd >= 0)
        close(r->pidfd);
    r->fd = r->pidfd = -1;
    lxm_container_unlock(r->c);
    r->c = NULL;
}

/* ---- data --------------------------------------------------------------------------- */

static int copy_data(int in, int out)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        if (lxm_write_all(out, buf, (size_t)n) < 0)
            return -errno;
    }
}

static bool bad_name(const char *name)
{
    return !*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/') ||
           strlen(name) > NAME_MAX - 24;
}

/* Write in_fd's data as dir/name: a temp file beside it, renamed over it. */
static int write_atomic(int dir, const char *name, int in_fd, const struct owner *o, mode_t mode,
                        const char *what, struct lxm_error *err)
{
    static unsigned counter;
    char tmp[NAME_MAX + 1];
    snprintf(tmp, sizeof(tmp), ".%s.lxm-%d-%u", name, (int)getpid(), counter++);
    _cleanup_close_ int fd =
        openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return lxm_error_errno(err, errno, "create %s", what);
    int r = copy_data(in_fd, fd);
    if (r < 0)
        lxm_error_errno(err, -r, "write %s", what);
    else if (fchown(fd, o->uid, o->gid) < 0 || fchmod(fd, mode & 07777) < 0)
        r = lxm_error_errno(err, errno, "set the owner and mode of %s", what);
    else if (renameat(dir, tmp, dir, name) < 0)
        r = lxm_error_errno(err, errno, "replace %s", what);
    if (r < 0)
        unlinkat(dir, tmp, 0);
    return r;
}

/* Each entry of directory src but . and .. to fn, with "what/NAME" for its
 * messages and depth + 1 (more than MAX_DEPTH levels are refused). src
 * stays open: a dup of it is read. */
typedef int (*entry_fn)(void *walk, int src_dir, const char *name, int dst, const char *what,
                        int depth);

static int each_entry(int src, int dst, const char *what, int depth, struct lxm_error *err,
                      entry_fn fn, void *walk)
{
    if (depth > MAX_DEPTH)
        return lxm_error_set(err, ELOOP, "%s: more than %d levels of directories", what, MAX_DEPTH);
    int dfd = dup(src);
    _cleanup_closedir_ DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return lxm_error_errno(err, errno, "read %s", what);
    }
    struct dirent *e;
    while ((errno = 0, e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *sub = xasprintf("%s/%s", what, e->d_name);
        if (!sub)
            return lxm_error_set(err, ENOMEM, "out of memory");
        int r = fn(walk, src, e->d_name, dst, sub, depth + 1);
        if (r < 0)
            return r;
    }
    return errno ? lxm_error_errno(err, errno, "read %s", what) : 0;
}

/* The last name of path, trailing slashes dropped (*copy holds it; "" for
 * an empty path). */
static const char *last_name(const char *path, char **copy)
{
    *copy = strdup(path);
    if (!*copy)
        return NULL;
    size_t len = strlen(*copy);
    while (len > 1 && (*copy)[len - 1] == '/')
        (*copy)[--len] = '\0';
    const char *slash = strrchr(*copy, '/');
    return slash ? slash + 1 : *copy;
}

/* ---- push ------------------------------------------------------------------------------ */

struct push {
    struct froot *r;
    struct owner owner;
    struct lxm_error *err;
};

/* The directory to make name in, and the name: PATH itself when it is a
 * directory inside (or ends in '/'), with the source's name. */
static int push_target(struct froot *r, const char *path, const char *src_name, int *dir,
                       char **name, struct lxm_error *err)
{
    _cleanup_free_ char *p = strdup(path);
    if (!p)
        return lxm_error_set(err, ENOMEM, "out of memory");
    size_t len = strlen(p);
    bool into = len == 0 || p[len - 1] == '/';
    while (len > 1 && p[len - 1] == '/')
        p[--len] = '\0';
    int fd = lxm_open_in_root(r->fd, p, O_PATH | O_DIRECTORY, 0);
    if (fd >= 0 || into) {
        if (fd < 0)
            return lxm_error_errno(err, -fd, "%s in '%s'", path, r->c->name);
        *dir = fd;
        *name = strdup(src_name);
    } else {
        char *slash = strrchr(p, '/');
        const char *base = slash ? slash + 1 : p;
        const char *parent = slash ? (slash == p ? "/" : (*slash = '\0', p)) : "/";
        fd = lxm_open_in_root(r->fd, parent, O_PATH | O_DIRECTORY, 0);
        if (fd < 0)
            return lxm_error_errno(err, -fd, "%s in '%s': directory %s", path, r->c->name, parent);
        *dir = fd;
        *name = strdup(base);
    }
    if (!*name)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (bad_name(*name))
        return lxm_error_set(err, EINVAL, "%s: '%s' is not a file name", path, *name);
    return 0;
}

/* mkdir dir/name (kept when it is there) and open it, never through a
 * symlink; a directory we made gets the owner and the source's mode. */
static int push_mkdir(struct push *p, int dir, const char *name, mode_t mode, const char *what)
{
    bool made = mkdirat(dir, name, 0700) == 0;
    if (!made && errno != EEXIST)
        return lxm_error_errno(p->err, errno, "mkdir %s", what);
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(p->err, errno, "open %s", what);
    if (made && (fchown(fd, p->owner.uid, p->owner.gid) < 0 || fchmod(fd, mode & 07777) < 0)) {
        int e = errno;
        close(fd);
        return lxm_error_errno(p->err, e, "set the owner and mode of %s", what);
    }
    return fd;
}

static int push_symlink(struct push *p, int src_dir, const char *src_name, int dir,
                        const char *what)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(src_dir, src_name, target, sizeof(target) - 1);
    if (n < 0)
        return lxm_error_errno(p->err, errno, "readlink %s", what);
    target[n] = '\0';
    char tmp[NAME_MAX + 1];
    snprintf(tmp, sizeof(tmp), ".%s.lxm-%d-l", src_name, (int)getpid());
    if (symlinkat(target, dir, tmp) < 0)
        return lxm_error_errno(p->err, errno, "symlink %s", what);
    if (fchownat(dir, tmp, p->owner.uid, p->owner.gid, AT_SYMLINK_NOFOLLOW) < 0 ||
        renameat(dir, tmp, dir, src_name) < 0) {
        int e = errno;
        unlinkat(dir, tmp, 0);
        return lxm_error_errno(p->err, e, "symlink %s", what);
    }
    return 0;
}

static int push_entry(struct push *p, int src_dir, const char *src_name, int dir,
                      const char *name, const char *what, int depth);

static int push_child(void *p, int src_dir, const char *name, int dir, const char *what, int depth)
{
    return push_entry(p, src_dir, name, dir, name, what, depth);
}

static int push_entry(struct push *p, int src_dir, const char *src_name, int dir,
                      const char *name, const char *what, int depth)
{
    struct stat st;
    if (fstatat(src_dir, src_name, &st, depth == 0 ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
        return lxm_error_errno(p->err, errno, "%s", what);
    if (S_ISLNK(st.st_mode))
        return push_symlink(p, src_dir, src_name, dir, what);
    if (S_ISDIR(st.st_mode)) {
        _cleanup_close_ int src = openat(src_dir, src_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                                                                (depth ? O_NOFOLLOW : 0));
        if (src < 0)
            return lxm_error_errno(p->err, errno, "open %s", what);
        _cleanup_close_ int sub = push_mkdir(p, dir, name, st.st_mode, what);
        return sub < 0 ? sub : each_entry(src, sub, what, depth, p->err, push_child, p);
    }
    if (!S_ISREG(st.st_mode))
        return lxm_error_set(p->err, EINVAL, "%s: not a file, directory or symlink", what);
    _cleanup_close_ int fd =
        openat(src_dir, src_name, O_RDONLY | O_CLOEXEC | (depth ? O_NOFOLLOW : 0));
    if (fd < 0)
        return lxm_error_errno(p->err, errno, "open %s", what);
    mode_t mode = p->owner.mode >= 0 ? (mode_t)p->owner.mode : st.st_mode;
    return write_atomic(dir, name, fd, &p->owner, mode, what, p->err);
}

/* push -p: the directories PATH needs (PATH itself when it ends in '/'),
 * one component at a time: each is resolved in the root (a symlink the
 * container made leads only inside it), made where missing with mkdirat
 * (never through a symlink), and given root's owner and 0755. */
static int push_parents(struct froot *r, const char *path, struct lxm_error *err)
{
    _cleanup_free_ char *p = strdup(path);
    if (!p)
        return lxm_error_set(err, ENOMEM, "out of memory");
    size_t len = strlen(p);
    bool into = len > 0 && p[len - 1] == '/';
    char *slash = strrchr(p, '/');
    if (!into) {
        if (!slash)
            return 0;
        *slash = '\0';
    }
    struct owner root;
    int ret = view_owner(r, 0, 0, &root, err);
    if (ret < 0)
        return ret;
    _cleanup_close_ int cur = lxm_open_in_root(r->fd, "", O_PATH | O_DIRECTORY, 0);
    if (cur < 0)
        return lxm_error_errno(err, -cur, "open the root of '%s'", r->c->name);
    for (char *s = p; *s;) {
        char *end = s + strcspn(s, "/");
        char saved = *end;
        *end = '\0';
        if (*s) {
            int fd = lxm_open_in_root(r->fd, p, O_PATH | O_DIRECTORY, 0);
            if (fd == -ENOENT) {
                if (mkdirat(cur, s, 0755) < 0 && errno != EEXIST)
                    return lxm_error_errno(err, errno, "mkdir %s in '%s'", p, r->c->name);
                fd = lxm_open_in_root(r->fd, p, O_RDONLY | O_DIRECTORY, 0);
                if (fd >= 0 && (fchown(fd, root.uid, root.gid) < 0 || fchmod(fd, 0755) < 0)) {
                    int e = errno;
                    close(fd);
                    return lxm_error_errno(err, e, "set the owner and mode of %s", p);
                }
            }
            if (fd < 0)
                return lxm_error_errno(err, -fd, "%s in '%s'", p, r->c->name);
            close(cur);
            cur = fd;
        }
        *end = saved;
        s = saved ? end + 1 : end;
    }
    return 0;
}

/* --uid/--gid: names or ids of the container's own passwd and group. */
static int push_owner(struct froot *r, const struct lxm_file_opts *o, struct owner *out,
                      struct lxm_error *err)
{
    out->mode = o->mode;
    if (!o->uid && !o->gid)
        return view_owner(r, 0, 0, out, err);
    struct lxm_user u = {0};
    _cleanup_free_ char *spec =
        xasprintf("%s%s%s", o->uid ? o->uid : "0", o->gid ? ":" : "", o->gid ? o->gid : "");
    if (!spec)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int ret = lxm_user_resolve(r->fd, spec, &u, err);
    if (ret < 0)
        return ret;
    ret = view_owner(r, u.uid, u.gid, out, err);
    lxm_user_clear(&u);
    return ret;
}

int lxm_file_push(struct lxm_container *c, const char *src, const char *path,
                  const struct lxm_file_opts *o, struct lxm_error *err)
{
    struct stat st;
    if (stat(src, &st) < 0)
        return lxm_error_errno(err, errno, "%s", src);
    if (S_ISDIR(st.st_mode) && !o->recursive)
        return lxm_error_set(err, EISDIR, "%s is a directory (use -r)", src);
    _cleanup_free_ char *copy = NULL;
    const char *base = last_name(src, &copy);
    if (!base)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_froot_ struct froot r = {0};
    int ret = froot_open(c, true, &r, err);
    struct push p = {.r = &r, .err = err};
    if (ret == 0)
        ret = push_owner(&r, o, &p.owner, err);
    _cleanup_close_ int dir = -1;
    _cleanup_free_ char *name = NULL;
    if (ret == 0 && o->create_dirs)
        ret = push_parents(&r, path, err);
    if (ret == 0)
        ret = push_target(&r, path, base, &dir, &name, err);
    if (ret == 0)
        ret = push_entry(&p, AT_FDCWD, src, dir, name, src, 0);
    return ret < 0 ? lxm_error_prefix(err, "push %s to %s:%s", src, c->name, path) : 0;
}

/* ---- pull ------------------------------------------------------------------------------ */

struct pull {
    unsigned skipped;
    struct lxm_error *err;
};

/* Host side: dst/name (dst a directory fd or AT_FDCWD), written in place;
 * in a directory a host symlink of the same name is not followed. */
static int pull_file(struct pull *p, int src, const struct stat *st, int dst, const char *name,
                     const char *what)
{
    _cleanup_close_ int fd = strcmp(name, "-") == 0 && dst == AT_FDCWD
                                 ? dup(STDOUT_FILENO)
                                 : openat(dst, name,
                                          O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
                                              (dst == AT_FDCWD ? 0 : O_NOFOLLOW),
                                          st->st_mode & 0777);
    if (fd < 0)
        return lxm_error_errno(p->err, errno, "create %s", name);
    int r = copy_data(src, fd);
    if (r < 0)
        return lxm_error_errno(p->err, -r, "copy %s", what);
    if (strcmp(name, "-") != 0 && fchmod(fd, st->st_mode & 0777) < 0)
        return lxm_error_errno(p->err, errno, "chmod %s", name);
    return 0;
}

static int pull_entry(struct pull *p, int src_dir, const char *src_name, int dst, const char *name,
                      const char *what, int depth);

static int pull_child(void *p, int src_dir, const char *name, int dst, const char *what, int depth)
{
    return pull_entry(p, src_dir, name, dst, name, what, depth);
}

static int pull_dir(struct pull *p, int src, const struct stat *st, int dst, const char *name,
                    const char *what, int depth)
{
    if (mkdirat(dst, name, 0700) < 0 && errno != EEXIST)
        return lxm_error_errno(p->err, errno, "mkdir %s", name);
    _cleanup_close_ int out = openat(dst, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                                                    (depth ? O_NOFOLLOW : 0));
    if (out < 0)
        return lxm_error_errno(p->err, errno, "open %s", name);
    int r = each_entry(src, out, what, depth, p->err, pull_child, p);
    if (r == 0 && fchmod(out, st->st_mode & 0777) < 0)
        r = lxm_error_errno(p->err, errno, "chmod %s", name);
    return r;
}

/* Container side: src_dir/src_name, never through a symlink (depth > 0). */
static int pull_entry(struct pull *p, int src_dir, const char *src_name, int dst, const char *name,
                      const char *what, int depth)
{
    struct stat st;
    if (fstatat(src_dir, src_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return lxm_error_errno(p->err, errno, "%s", what);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(src_dir, src_name, target, sizeof(target) - 1);
        if (n < 0)
            return lxm_error_errno(p->err, errno, "readlink %s", what);
        target[n] = '\0';
        if (symlinkat(target, dst, name) < 0)
            return lxm_error_errno(p->err, errno, "symlink %s", name);
        return 0;
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        p->skipped++;
        return 0;
    }
    _cleanup_close_ int fd = openat(src_dir, src_name,
                                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0)
        return lxm_error_errno(p->err, errno, "open %s", what);
    if (S_ISDIR(st.st_mode))
        return pull_dir(p, fd, &st, dst, name, what, depth);
    if (!S_ISREG(st.st_mode)) /* swapped meanwhile */
        return lxm_error_set(p->err, EINVAL, "%s changed while it was copied", what);
    return pull_file(p, fd, &st, dst, name, what);
}

/* Host destination: into DST when it is a directory, else DST itself. */
static int pull_dest(const char *dst, const char *base, int *dir, char **name, struct lxm_error *err)
{
    struct stat st;
    if (strcmp(dst, "-") != 0 && stat(dst, &st) == 0 && S_ISDIR(st.st_mode)) {
        *dir = open(dst, O_PATH | O_DIRECTORY | O_CLOEXEC);
        *name = strdup(base);
        if (*dir < 0)
            return lxm_error_errno(err, errno, "open %s", dst);
    } else {
        *dir = AT_FDCWD;
        *name = strdup(dst);
    }
    return *name ? 0 : lxm_error_set(err, ENOMEM, "out of memory");
}

int lxm_file_pull(struct lxm_container *c, const char *path, const char *dst,
                  const struct lxm_file_opts *o, unsigned *skipped, struct lxm_error *err)
{
    struct pull p = {.err = err};
    _cleanup_froot_ struct froot r = {0};
    int ret = froot_open(c, false, &r, err);
    if (ret < 0)
        return ret;
    /* O_PATH first: a FIFO or device is never opened for real. */
    _cleanup_close_ int at = lxm_open_in_root(r.fd, path, O_PATH, 0);
    struct stat st;
    if (at < 0 || fstat(at, &st) < 0)
        return lxm_error_errno(err, at < 0 ? -at : errno, "pull %s:%s", c->name, path);
    if (S_ISDIR(st.st_mode) && !o->recursive)
        return lxm_error_set(err, EISDIR, "pull %s:%s: a directory (use -r)", c->name, path);
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return lxm_error_set(err, EINVAL, "pull %s:%s: not a regular file", c->name, path);
    if (S_ISDIR(st.st_mode) && strcmp(dst, "-") == 0)
        return lxm_error_set(err, EINVAL, "pull %s:%s: a directory cannot go to stdout", c->name, path);
    _cleanup_close_ int fd = lxm_open_in_root(r.fd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
    if (fd < 0)
        return lxm_error_errno(err, -fd, "pull %s:%s", c->name, path);
    _cleanup_free_ char *copy = NULL, *name = NULL;
    const char *base = last_name(path, &copy);
    if (!base)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!*base || strcmp(base, "..") == 0 || strcmp(base, ".") == 0)
        base = c->name;
    int dir = AT_FDCWD;
    ret = pull_dest(dst, base, &dir, &name, err);
    if (ret == 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
        ret = pull_dir(&p, fd, &st, dir, name, path, 0);
    else if (ret == 0)
        ret = S_ISREG(st.st_mode) ? pull_file(&p, fd, &st, dir, name, path)
                                  : lxm_error_set(err, EINVAL, "%s changed meanwhile", path);
    if (dir >= 0)
        close(dir);
    if (skipped)
        *skipped = p.skipped;
    return ret < 0 ? lxm_error_prefix(err, "pull %s:%s", c->name, path) : 0;
}

/* ---- edit ------------------------------------------------------------------------------ */

void lxm_file_copy_clear(struct lxm_file_copy *copy)
{
    free(copy->path);
    *copy = (struct lxm_file_copy){0};
}

/* Split p (modified) into its parent directory and last name. */
static void split_path(char *p, const char **parent, const char **base)
{
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        p[--len] = '\0';
    char *slash = strrchr(p, '/');
    if (!slash) {
        *parent = "/";
        *base = p;
    } else {
        *base = slash + 1;
        *parent = slash == p ? "/" : (*slash = '\0', p);
    }
}

/* PATH with its final symlinks followed, inside the root: the file an
 * editor would change. */
static int follow_final(int rootfd, const char *path, char **out, struct lxm_error *err)
{
    _cleanup_free_ char *cur = strdup(path);
    for (int i = 0; cur && i < MAX_LINKS; i++) {
        _cleanup_free_ char *p = strdup(cur);
        if (!p)
            break;
        const char *parent, *base;
        split_path(p, &parent, &base);
        if (bad_name(base))
            return lxm_error_set(err, EINVAL, "%s: not a file name", path);
        _cleanup_close_ int dir = lxm_open_in_root(rootfd, parent, O_PATH | O_DIRECTORY, 0);
        if (dir < 0)
            return lxm_error_errno(err, -dir, "%s", parent);
        char target[PATH_MAX];
        ssize_t n = readlinkat(dir, base, target, sizeof(target) - 1);
        if (n < 0) {
            *out = TAKE_PTR(cur);
            return 0; /* not a symlink (or missing: a new file) */
        }
        target[n] = '\0';
        free(cur);
        cur = target[0] == '/' ? strdup(target) : xasprintf("%s/%s", parent, target);
    }
    return cur ? lxm_error_set(err, ELOOP, "%s: too many levels of symlinks", path)
               : lxm_error_set(err, ENOMEM, "out of memory");
}

int lxm_file_fetch(struct lxm_container *c, const char *path, int out_fd, struct lxm_file_copy *copy,
                   struct lxm_error *err)
{
    *copy = (struct lxm_file_copy){.mode = 0644};
    _cleanup_froot_ struct froot r = {0};
    int ret = froot_open(c, false, &r, err);
    if (ret == 0)
        ret = follow_final(r.fd, path, &copy->path, err);
    if (ret < 0)
        return lxm_error_prefix(err, "edit %s:%s", c->name, path);
    _cleanup_close_ int fd =
        lxm_open_in_root(r.fd, copy->path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW, 0);
    if (fd == -ENOENT)
        return 0;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return lxm_error_errno(err, fd < 0 ? -fd : errno, "edit %s:%s", c->name, path);
    if (!S_ISREG(st.st_mode))
        return lxm_error_set(err, EINVAL, "edit %s:%s: not a regular file", c->name, path);
    int64_t u = from_view(&r, false, st.st_uid), g = from_view(&r, true, st.st_gid);
    copy->uid = u < 0 ? 0 : (uid_t)u;
    copy->gid = g < 0 ? 0 : (gid_t)g;
    copy->mode = st.st_mode & 07777;
    ret = copy_data(fd, out_fd);
    return ret < 0 ? lxm_error_errno(err, -ret, "edit %s:%s: read", c->name, path) : 0;
}

int lxm_file_store(struct lxm_container *c, const struct lxm_file_copy *copy, int in_fd,
                   struct lxm_error *err)
{
    _cleanup_free_ char *p = strdup(copy->path);
    if (!p)
        return lxm_error_set(err, ENOMEM, "out of memory");
    const char *parent, *base;
    split_path(p, &parent, &base);
    _cleanup_froot_ struct froot r = {0};
    int ret = froot_open(c, true, &r, err);
    struct owner o = {.mode = -1};
    if (ret == 0)
        ret = view_owner(&r, copy->uid, copy->gid, &o, err);
    if (ret < 0)
        return lxm_error_prefix(err, "edit %s:%s", c->name, copy->path);
    _cleanup_close_ int dir = lxm_open_in_root(r.fd, parent, O_PATH | O_DIRECTORY, 0);
    if (dir < 0)
        return lxm_error_errno(err, -dir, "edit %s:%s: directory %s", c->name, copy->path, parent);
    if (lseek(in_fd, 0, SEEK_SET) < 0)
        return lxm_error_errno(err, errno, "edit: rewind the copy");
    ret = write_atomic(dir, base, in_fd, &o, copy->mode, copy->path, err);
    return ret < 0 ? lxm_error_prefix(err, "edit %s", c->name) : 0;
}

/* ---- list (shell completion) ------------------------------------------------------------ */

struct list {
    char **names;
    size_t n;
    struct lxm_error *err;
};

static int list_entry(void *walk, int dir, const char *name, int dst, const char *what, int depth)
{
    (void)dst, (void)what, (void)depth;
    struct list *l = walk;
    if (l->n >= LXM_FILE_LIST_MAX)
        return 0;
    struct stat st;
    bool is_dir = fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    if (strv_consume(&l->names, xasprintf("%s%s", name, is_dir ? "/" : "")) < 0)
        return lxm_error_set(l->err, ENOMEM, "out of memory");
    l->n++;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int lxm_file_list(struct lxm_container *c, const char *dir, char ***names, struct lxm_error *err)
{
    /* A TAB must not wait for a start or a stop that holds the lock. */
    if (lxm_container_trylock(c) < 0)
        return lxm_error_set(err, EBUSY, "container '%s' is busy", c->name);
    _cleanup_froot_ struct froot r = {0};
    int ret = froot_open(c, false, &r, err);
    if (ret < 0)
        return ret;
    _cleanup_close_ int d = lxm_open_in_root(r.fd, dir, O_RDONLY | O_DIRECTORY | O_NONBLOCK, 0);
    if (d < 0)
        return lxm_error_errno(err, -d, "%s:%s", c->name, dir);
    struct list l = {.err = err};
    ret = each_entry(d, -1, dir, 0, err, list_entry, &l);
    if (ret < 0) {
        strv_free(l.names);
        return ret;
    }
    if (l.n > 1)
        qsort(l.names, l.n, sizeof(*l.names), cmp_names);
    *names = l.names;
    return 0;
}

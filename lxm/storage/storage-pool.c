#include "storage/storage-pool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_check.h"
#include "storage/storage-btrfs.h"
#include "storage/storage.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/signals.h"
#include "config/ydoc.h"

static char *parent_of(const char *path)
{
    char *s = strdup(path);
    char *slash = s ? strrchr(s, '/') : NULL;
    if (slash)
        slash == s ? (void)(slash[1] = '\0') : (void)(*slash = '\0');
    return s;
}

int lxm_storage_pool_check_size(int64_t size, struct lxm_error *err)
{
    char buf[32];
    lxm_format_size(size, buf, sizeof(buf));
    if (size < LXM_POOL_MIN_SIZE)
        return lxm_error_set(err, EINVAL, "--size %s is too small for a btrfs pool (at least "
                             "256MiB)", buf);
    if (size > (1LL << 50))
        return lxm_error_set(err, EINVAL, "--size %s is more than 1PiB", buf);
    return 0;
}

/* ---- /proc/self/mountinfo ------------------------------------------------------------ */

/* One line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS". */
static bool parse_line(char *line, const char *target, char **fstype, char **source)
{
    char *save = NULL, *mp = NULL, *tok = strtok_r(line, " ", &save);
    for (int i = 0; tok && i < 4; i++)
        tok = strtok_r(NULL, " ", &save);
    if (!tok)
        return false;
    mp = tok;
    unescape_octal(mp);
    if (strcmp(mp, target) != 0)
        return false;
    while ((tok = strtok_r(NULL, " ", &save)) && strcmp(tok, "-") != 0)
        ;
    *fstype = tok ? strtok_r(NULL, " ", &save) : NULL;
    *source = *fstype ? strtok_r(NULL, " ", &save) : NULL;
    if (*source)
        unescape_octal(*source);
    return true;
}

int lxm_mountinfo_find(const char *text, const char *target, char **fstype, char **source)
{
    _cleanup_free_ char *copy = strdup(text);
    if (!copy)
        return -ENOMEM;
    char *found_type = NULL, *found_source = NULL;
    bool found = false;
    /* The last match is the top of a stack of mounts on one place. */
    for (char *line = copy, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *t, *s;
        if (parse_line(line, target, &t, &s)) {
            found = true;
            found_type = t;
            found_source = s;
        }
    }
    if (!found)
        return 0;
    if (fstype && !(*fstype = strdup(found_type ? found_type : "")))
        return -ENOMEM;
    if (source && !(*source = strdup(found_source ? found_source : ""))) {
        if (fstype) {
            free(*fstype);
            *fstype = NULL;
        }
        return -ENOMEM;
    }
    return 1;
}

static int mount_on(const char *dir, char **fstype, char **source)
{
    _cleanup_free_ char *text = NULL;
    int r = read_file("/proc/self/mountinfo", &text, NULL);
    return r < 0 ? r : lxm_mountinfo_find(text, dir, fstype, source);
}

/* ---- lxm.yaml ------------------------------------------------------------------------ */

static struct lxm_ynode *map_get(struct lxm_ynode *map, const char *key)
{
    for (size_t i = 0; i < map->n; i++)
        if (map->items[2 * i]->type == LXM_YAML_SCALAR && strcmp(map->items[2 * i]->value, key) == 0)
            return map->items[2 * i + 1];
    return NULL;
}

/* map[key] = value (a plain scalar, or a new empty map when value is NULL). */
static struct lxm_ynode *map_set(struct lxm_ynode *map, const char *key, const char *value)
{
    struct lxm_ynode *v = lxm_ynode_new(value ? LXM_YAML_SCALAR : LXM_YAML_MAP, value, 0, 0);
    if (!v)
        return NULL;
    v->plain = false;
    for (size_t i = 0; i < map->n; i++)
        if (map->items[2 * i]->type == LXM_YAML_SCALAR && strcmp(map->items[2 * i]->value, key) == 0) {
            lxm_ynode_free(map->items[2 * i + 1]);
            map->items[2 * i + 1] = v;
            return v;
        }
    struct lxm_ynode *k = lxm_ynode_new(LXM_YAML_SCALAR, key, 0, 0);
    if (!k || lxm_ynode_append(map, k) < 0) {
        lxm_ynode_free(k);
        lxm_ynode_free(v);
        return NULL;
    }
    if (lxm_ynode_append(map, v) < 0) {
        lxm_ynode_free(v);
        return NULL;
    }
    return v;
}

int lxm_global_set_storage(const char *file, const char *text, const char *driver,
                           const char *pool, char **out, struct lxm_error *err)
{
    _cleanup_ynode_ struct lxm_ynode *root = NULL;
    int r = lxm_yaml_load(file, text ? text : "", text ? strlen(text) : 0, &root, err);
    if (r < 0)
        return r;
    if (root->type != LXM_YAML_MAP)
        return lxm_error_set(err, EINVAL, "%s: not a map of settings", file);
    struct lxm_ynode *storage = map_get(root, "storage");
    if (!storage || storage->type != LXM_YAML_MAP)
        storage = map_set(root, "storage", NULL);
    if (!storage || !map_set(storage, "driver", driver) || (pool && !map_set(storage, "pool", pool)))
        return lxm_error_set(err, ENOMEM, "out of memory");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return lxm_error_errno(err, errno, "open_memstream");
    lxm_yaml_write_doc(f, root);
    if (fclose(f) != 0) {
        free(buf);
        return lxm_error_set(err, ENOMEM, "out of memory");
    }
    /* What we write must load: checked before it replaces the file. */
    struct lxm_global *g = NULL;
    r = lxm_global_parse(file, buf, &g, err);
    lxm_global_free(g);
    if (r < 0) {
        free(buf);
        return r;
    }
    *out = buf;
    return 0;
}

static int record_pool(const struct lxm_paths *paths, const char *pool, struct lxm_error *err)
{
    _cleanup_free_ char *text = NULL;
    int r = read_file(paths->global_config, &text, NULL);
    if (r < 0 && r != -ENOENT)
        return lxm_error_errno(err, -r, "read %s", paths->global_config);
    _cleanup_free_ char *out = NULL;
    r = lxm_global_set_storage(paths->global_config, text, "btrfs", pool, &out, err);
    if (r < 0)
        return r;
    struct stat st;
    mode_t mode = stat(paths->global_config, &st) == 0 ? st.st_mode & 07777 : 0644;
    if ((r = mkdir_p(paths->etc, 0755)) < 0)
        return lxm_error_errno(err, -r, "create %s", paths->etc);
    r = write_file_atomic(paths->global_config, out, strlen(out), mode);
    lxm_paths_global_forget(paths);
    return r < 0 ? lxm_error_errno(err, -r, "write %s", paths->global_config) : 0;
}

/* ---- mkfs, loop, mount ------------------------------------------------------------- */

static int run_mkfs(const char *file, struct lxm_error *err)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return lxm_error_errno(err, errno, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0)
            _exit(127);
        syscall(SYS_close_range, 3U, ~0U, 0U);
        execlp("mkfs.btrfs", "mkfs.btrfs", "-q", "-L", "lxm", file, (char *)NULL);
        dprintf(2, "cannot run mkfs.btrfs: %s (install btrfs-progs)\n", strerror(errno));
        _exit(127);
    }
    int e = errno;
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        return lxm_error_errno(err, e, "fork");
    }
    char out[4096] = "";
    size_t len = 0;
    ssize_t n;
    while ((n = read(pfd[0], out + len, sizeof(out) - 1 - len)) > 0 || (n < 0 && errno == EINTR))
        len += n > 0 ? (size_t)n : 0;
    close(pfd[0]);
    out[len] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return lxm_error_errno(err, errno, "wait for mkfs.btrfs");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    /* The last line says why, in one line. */
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
        out[--len] = '\0';
    char *last = strrchr(out, '\n');
    return lxm_error_set(err, EIO, "mkfs.btrfs %s failed: %s", file,
                         last ? last + 1 : len ? out : "no output");
}

/* Attach file to a free loop device that detaches itself when the last
 * user (the mount) goes. Returns the loop fd; *dev gets its name. */
static int loop_attach(const char *file, char dev[32], struct lxm_error *err)
{
    _cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (ctl < 0)
        return lxm_error_errno(err, errno, "open /dev/loop-control (is the loop module loaded?)");
    _cleanup_close_ int ffd = open(file, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (ffd < 0)
        return lxm_error_errno(err, errno, "open %s", file);
    /* Another process may take the free device between GET_FREE and
     * CONFIGURE: then ask again. */
    for (int tries = 0; tries < 16; tries++) {
        int n = ioctl(ctl, LOOP_CTL_GET_FREE);
        if (n < 0)
            return lxm_error_errno(err, errno, "find a free loop device");
        snprintf(dev, 32, "/dev/loop%d", n);
        _cleanup_close_ int lfd = open(dev, O_RDWR | O_CLOEXEC);
        if (lfd < 0)
            return lxm_error_errno(err, errno, "open %s", dev);
        struct loop_config cfg = { .fd = (unsigned)ffd };
        cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
        snprintf((char *)cfg.info.lo_file_name, LO_NAME_SIZE, "%s", file);
        if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0)
            return TAKE_FD(lfd);
        if (errno != EBUSY)
            return lxm_error_errno(err, errno, "attach %s to %s", file, dev);
    }
    return lxm_error_set(err, EBUSY, "attach %s: every free loop device was taken first", file);
}

static int mount_btrfs(const char *dev, const char *dir, struct lxm_error *err)
{
    _cleanup_close_ int fs = fsopen("btrfs", FSOPEN_CLOEXEC);
    if (fs < 0)
        return lxm_error_errno(err, errno, "mount %s on %s: btrfs", dev, dir);
    if (fsconfig(fs, FSCONFIG_SET_STRING, "source", dev, 0) < 0 ||
        fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
        int e = errno;
        char why[256] = "";
        ssize_t n = read(fs, why, sizeof(why) - 1); /* the kernel's own words */
        why[n > 0 ? n : 0] = '\0';
        return lxm_error_errno(err, e, "mount %s on %s%s%s", dev, dir, n > 0 ? ": " : "", why);
    }
    _cleanup_close_ int mfd = fsmount(fs, FSMOUNT_CLOEXEC, 0);
    if (mfd < 0 || move_mount(mfd, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return lxm_error_errno(err, errno, "mount %s on %s", dev, dir);
    return 0;
}

/* Attach and mount the pool file on dir; the loop device goes with the
 * unmount (autoclear). */
static int pool_mount(const char *file, const char *dir, struct lxm_error *err)
{
    char dev[32];
    _cleanup_close_ int lfd = loop_attach(file, dev, err);
    if (lfd < 0)
        return lfd;
    int r = mount_btrfs(dev, dir, err);
    if (r < 0)
        ioctl(lfd, LOOP_CLR_FD, 0);
    return r;
}

/* ---- init ------------------------------------------------------------------------------- */

/* Files lxm makes again when they are missing, so hiding them under the
 * pool loses nothing: the image store's lock and overlay's probe record. */
static bool regenerable(const char *name, const struct stat *st)
{
    return S_ISREG(st->st_mode) && (strcmp(name, ".lock") == 0 || strcmp(name, ".overlay-ok") == 0);
}

/* The first thing below dir that a mount on it would hide: anything but
 * (trees of) empty directories and regenerable files. 1 (and *what names
 * it), 0 when none. */
static int hidden_content(const char *dir, char **what, int depth)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
        if (!path)
            return -ENOMEM;
        struct stat st;
        if (lstat(path, &st) == 0 && regenerable(de->d_name, &st))
            continue;
        if (depth < 4 && lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            int r = hidden_content(path, what, depth + 1);
            if (r != 0)
                return r;
            continue;
        }
        *what = TAKE_PTR(path);
        return 1;
    }
    return 0;
}

static int check_target(const char *target, struct lxm_error *err)
{
    _cleanup_free_ char *what = NULL;
    int r = hidden_content(target, &what, 0);
    if (r < 0)
        return lxm_error_errno(err, -r, "read %s", target);
    if (r > 0)
        return lxm_error_set(err, ENOTEMPTY, "%s holds %s, which the pool would hide: a pool is "
                             "made before the first container or image (delete them, and their images, first)",
                             target, what);
    return 0;
}

static int check_init(const struct lxm_paths *paths, const char *target, const char *driver,
                      const char *pool, int64_t size, struct lxm_error *err)
{
    if (strcmp(driver, "btrfs") != 0)
        return lxm_error_set(err, EINVAL, "--driver %s: only btrfs pools can be made (dir and "
                             "overlay need no pool)", driver);
    int r = lxm_storage_pool_check_size(size, err);
    if (r < 0)
        return r;
    const struct lxm_global *g;
    r = lxm_paths_global(paths, &g, err);
    if (r < 0)
        return r;
    if (g->storage_pool)
        return lxm_error_set(err, EEXIST, "a storage pool is already configured (%s, in %s)",
                             g->storage_pool, paths->global_config);
    size_t tlen = strlen(target);
    if (strncmp(pool, target, tlen) == 0 && (pool[tlen] == '/' || pool[tlen] == '\0'))
        return lxm_error_set(err, EINVAL, "--pool %s: the pool is mounted on %s, so its file must "
                             "live elsewhere", pool, target);
    struct stat st;
    if (lstat(pool, &st) == 0)
        return lxm_error_set(err, EEXIST, "%s already exists (choose another --pool, or remove it)",
                             pool);
    _cleanup_free_ char *source = NULL;
    if (mount_on(target, NULL, &source) > 0)
        return lxm_error_set(err, EBUSY, "%s is already a mount point (of %s)", target, source);
    return check_target(target, err);
}

struct made {
    char *disks_dir;     /* created parent of the pool file, or NULL */
    int disks_top;       /* how many levels of it were created */
    bool file;
    bool target_dir;     /* created */
    bool mounted;
};

static void undo_init(const char *target, const char *pool, const struct made *m)
{
    if (m->mounted && umount2(target, 0) < 0)
        lxm_warn("could not unmount %s: %s", target, strerror(errno));
    if (m->target_dir)
        rmdir(target);
    if (m->file)
        unlink(pool);
    /* The directories made for the file, and only those. */
    for (int i = 0; m->disks_dir && i < m->disks_top; i++) {
        if (rmdir(m->disks_dir) < 0)
            break;
        char *slash = strrchr(m->disks_dir, '/');
        if (!slash || slash == m->disks_dir)
            break;
        *slash = '\0';
    }
}

/* How many directories above path (path included) do not exist yet. */
static int missing_levels(const char *path)
{
    _cleanup_free_ char *p = strdup(path);
    int n = 0;
    while (p && strcmp(p, "/") != 0 && !path_exists(p)) {
        n++;
        char *slash = strrchr(p, '/');
        if (!slash || slash == p)
            break;
        *slash = '\0';
    }
    return n;
}

static int make_pool(const struct lxm_paths *paths, const char *target, const char *pool,
                     int64_t size, struct made *m, struct lxm_error *err)
{
    _cleanup_free_ char *parent = parent_of(pool);
    if (!parent)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int top_missing = missing_levels(parent);
    if (!path_exists(parent)) {
        int r = mkdir_p(parent, 0700);
        if (r < 0)
            return lxm_error_errno(err, -r, "create %s", parent);
        m->disks_dir = TAKE_PTR(parent);
        m->disks_top = top_missing;
    }
    _cleanup_close_ int fd = open(pool, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return lxm_error_errno(err, errno, "create %s", pool);
    m->file = true;
    /* Sparse: the file takes disk only as the pool fills. */
    if (ftruncate(fd, size) < 0)
        return lxm_error_errno(err, errno, "size %s", pool);
    int r = run_mkfs(pool, err);
    if (r < 0 || lxm_signals_pending())
        return r < 0 ? r : lxm_error_set(err, EINTR, "interrupted");
    if (!path_exists(target)) {
        if ((r = mkdir_p(target, 0711)) < 0)
            return lxm_error_errno(err, -r, "create %s", target);
        m->target_dir = true;
    }
    if ((r = pool_mount(pool, target, err)) < 0)
        return r;
    m->mounted = true;
    if (chmod(target, 0711) < 0)
        return lxm_error_errno(err, errno, "chmod %s", target);
    if (lxm_signals_pending())
        return lxm_error_set(err, EINTR, "interrupted");
    return record_pool(paths, pool, err);
}

int lxm_storage_pool_init(const struct lxm_paths *paths, const char *driver, const char *pool,
                          int64_t size, char **pool_out, struct lxm_error *err)
{
    _cleanup_free_ char *target = lxm_storage_state_dir(paths);
    _cleanup_free_ char *file = pool ? (pool[0] == '/' ? strdup(pool) : NULL)
                                     : xasprintf("%s-disks/btrfs.img", target ? target : "");
    if (pool && pool[0] != '/')
        return lxm_error_set(err, EINVAL, "storage init: --pool %s: use an absolute path", pool);
    if (!target || !file)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = check_init(paths, target, driver, file, size, err);
    if (r < 0)
        return lxm_error_prefix(err, "storage init");
    struct made m = { 0 };
    sigset_t old;
    lxm_signals_block(&old);
    r = make_pool(paths, target, file, size, &m, err);
    if (r < 0)
        undo_init(target, file, &m);
    lxm_signals_restore(&old);
    free(m.disks_dir);
    if (r < 0)
        return lxm_error_prefix(err, "storage init");
    if (pool_out)
        *pool_out = TAKE_PTR(file);
    return 0;
}

/* ---- after a reboot --------------------------------------------------------------------- */

static int ensure_locked(const char *target, const char *pool, struct lxm_error *err)
{
    if (mount_on(target, NULL, NULL) > 0)
        return 0;
    int r = check_target(target, err);
    if (r < 0)
        return lxm_error_prefix(err, "storage pool %s is not mounted", pool);
    r = mkdir_p(target, 0711);
    if (r < 0)
        return lxm_error_errno(err, -r, "create %s", target);
    r = pool_mount(pool, target, err);
    return r < 0 ? lxm_error_prefix(err, "storage pool %s", pool) : 1;
}

int lxm_storage_pool_ensure(const struct lxm_paths *paths, char **pool_out, struct lxm_error *err)
{
    const struct lxm_global *g;
    struct lxm_error ignored = { 0 };
    /* A broken lxm.yaml is reported by the commands that use it. */
    if (lxm_paths_global(paths, &g, &ignored) < 0 || !g->storage_pool)
        return 0;
    _cleanup_free_ char *target = lxm_storage_state_dir(paths);
    if (!target)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (mount_on(target, NULL, NULL) > 0)
        return 0;
    /* Two commands at once must not mount the pool twice. */
    _cleanup_close_ int fd = open(g->storage_pool, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return lxm_error_errno(err, errno, "storage pool %s (storage.pool in %s)", g->storage_pool,
                               paths->global_config);
    if (flock(fd, LOCK_EX) < 0)
        return lxm_error_errno(err, errno, "lock %s", g->storage_pool);
    int r = ensure_locked(target, g->storage_pool, err);
    if (r > 0 && pool_out)
        *pool_out = strdup(g->storage_pool);
    return r;
}

/* ---- info ------------------------------------------------------------------------------------ */

static void fill_usage(struct lxm_storage_info *info)
{
    _cleanup_free_ char *dir = strdup(info->dir);
    while (dir && !path_exists(dir)) {
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
            break;
        *slash = '\0';
    }
    struct statfs sfs;
    if (dir && statfs(dir, &sfs) == 0) {
        info->size = (int64_t)sfs.f_blocks * sfs.f_bsize;
        info->used = (int64_t)(sfs.f_blocks - sfs.f_bfree) * sfs.f_bsize;
    }
    struct stat st;
    if (info->pool && stat(info->pool, &st) == 0)
        info->file_bytes = (int64_t)st.st_blocks * 512;
}

int lxm_storage_info(const struct lxm_paths *paths, struct lxm_storage_info *info,
                     struct lxm_error *err)
{
    *info = (struct lxm_storage_info){ .size = -1, .used = -1, .file_bytes = -1 };
    const struct lxm_global *g;
    int r = lxm_paths_global(paths, &g, err);
    if (r < 0)
        return r;
    const struct lxm_storage_ops *ops;
    r = lxm_storage_for(paths, &ops, err);
    if (r < 0)
        return r;
    info->driver = strdup(ops->name);
    info->configured = strdup(g->storage_driver ? g->storage_driver : "auto");
    info->pool = g->storage_pool ? strdup(g->storage_pool) : NULL;
    info->dir = lxm_storage_state_dir(paths);
    if (!info->driver || !info->configured || !info->dir || (g->storage_pool && !info->pool)) {
        lxm_storage_info_free(info);
        return lxm_error_set(err, ENOMEM, "out of memory");
    }
    _cleanup_free_ char *fstype = NULL;
    if (mount_on(info->dir, &fstype, &info->device) > 0)
        info->mounted = info->pool && strcmp(fstype, "btrfs") == 0;
    fill_usage(info);
    return 0;
}

void lxm_storage_info_free(struct lxm_storage_info *info)
{
    free(info->driver);
    free(info->configured);
    free(info->pool);
    free(info->dir);
    free(info->device);
    *info = (struct lxm_storage_info){ 0 };
}

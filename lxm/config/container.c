#include "config/container.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/strv.h"

int lxm_container_new(const struct lxm_paths *paths, const char *name,
                      struct lxm_container **out, struct lxm_error *err)
{
    int r = lxm_validate_name(name, err);
    if (r < 0)
        return r;
    struct lxm_container *c = calloc(1, sizeof(*c));
    if (!c)
        return lxm_error_set(err, ENOMEM, "out of memory");
    c->lock_fd = -1;
    c->paths = paths;
    c->name = strdup(name);
    c->id = xasprintf("%s%s", name, paths->instance);
    c->dir = xasprintf("%s/%s", paths->containers, name);
    c->config_file = xasprintf("%s/%s/config.yaml", paths->containers, name);
    c->rootfs = xasprintf("%s/%s/rootfs", paths->containers, name);
    c->run_dir = xasprintf("%s/%s", paths->run, name);
    c->log_dir = xasprintf("%s/%s", paths->log, name);
    if (!c->name || !c->id || !c->dir || !c->config_file || !c->rootfs || !c->run_dir || !c->log_dir) {
        lxm_container_free(c);
        return lxm_error_set(err, ENOMEM, "out of memory");
    }
    *out = c;
    return 0;
}

bool lxm_container_exists(const struct lxm_container *c)
{
    return path_exists(c->config_file);
}

/* One part of a rootfs's storage (rootfs/, or upper/ and work/ of an
 * overlay volume): 1 a real directory, 0 missing, <0 refused. */
static int check_part(const struct lxm_container *c, const char *part, struct lxm_error *err)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", c->dir, part);
    struct stat st;
    if (!path)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : lxm_error_errno(err, errno, "container '%s': %s", c->name, path);
    if (S_ISLNK(st.st_mode)) {
        char target[256] = "";
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = '\0';
        return lxm_error_set(err, ELOOP,
                             "container '%s': %s is a symlink (to %s); lxm never follows one "
                             "(put the tree itself there)",
                             c->name, path, target);
    }
    if (!S_ISDIR(st.st_mode))
        return lxm_error_set(err, ENOTDIR, "container '%s': %s is not a directory", c->name, path);
    return 1;
}

int lxm_container_check_rootfs(const struct lxm_container *c, struct lxm_error *err)
{
    static const char *const parts[] = { "rootfs", "upper", "work" };
    int found = 0;
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        int r = check_part(c, parts[i], err);
        if (r < 0)
            return r;
        found += r;
    }
    if (!found)
        return lxm_error_errno(err, ENOENT, "container '%s': %s", c->name, c->rootfs);
    return 0;
}

int lxm_container_open(const struct lxm_paths *paths, const char *name,
                       struct lxm_container **out, struct lxm_error *err)
{
    struct lxm_container *c = NULL;
    int r = lxm_container_new(paths, name, &c, err);
    if (r < 0)
        return r;
    if (!lxm_container_exists(c)) {
        lxm_container_free(c);
        return lxm_error_set(err, ENOENT, "container '%s' not found", name);
    }
    *out = c;
    return 0;
}

int lxm_container_load_config(struct lxm_container *c, struct lxm_error *err)
{
    if (!lxm_container_exists(c))
        return lxm_error_set(err, ENOENT, "container '%s' not found", c->name);
    struct lxm_config *cfg = NULL;
    int r = lxm_config_load(c->config_file, &cfg, err);
    if (r < 0)
        return r;
    lxm_config_free(c->config);
    c->config = cfg;
    return 0;
}

/* The lock file lives in RUN/.locks (no container name starts with a
 * dot, so no run dir can be it), outside the run dir that stop, delete
 * and the monitor remove, and is never unlinked: a command waiting in
 * flock() on it always waits on the file the next command will lock too.
 * (An unlinked lock file lets two commands "hold" the lock at once.) */
static int open_lock_file(const struct lxm_container *c, struct lxm_error *err)
{
    _cleanup_free_ char *dir = xasprintf("%s/.locks", c->paths->run);
    _cleanup_free_ char *path = dir ? xasprintf("%s/%s.lock", dir, c->name) : NULL;
    if (!path)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = mkdir_p(dir, 0700);
    if (r < 0)
        return lxm_error_errno(err, -r, "create %s", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s", path);
    return fd;
}

static int flock_retry(int fd, int op)
{
    while (flock(fd, op) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

int lxm_container_lock(struct lxm_container *c, struct lxm_error *err)
{
    if (c->lock_fd >= 0)
        return 0;
    _cleanup_close_ int fd = open_lock_file(c, err);
    if (fd < 0)
        return fd;
    int r = flock_retry(fd, LOCK_EX | LOCK_NB);
    if (r == -EWOULDBLOCK) {
        lxm_report_notice(c->paths->report, LXM_NOTICE_WAIT,
                          "%s: waiting for another lxm command on this container to finish",
                          c->name);
        r = flock_retry(fd, LOCK_EX);
    }
    if (r < 0)
        return lxm_error_errno(err, -r, "lock container '%s'", c->name);
    c->lock_fd = TAKE_FD(fd);
    return 0;
}

int lxm_container_trylock(struct lxm_container *c)
{
    if (c->lock_fd >= 0)
        return 0;
    _cleanup_close_ int fd = open_lock_file(c, NULL);
    if (fd < 0)
        return fd;
    int r = flock_retry(fd, LOCK_EX | LOCK_NB);
    if (r < 0)
        return r == -EWOULDBLOCK ? -EBUSY : r;
    c->lock_fd = TAKE_FD(fd);
    return 0;
}

void lxm_container_unlock(struct lxm_container *c)
{
    if (c->lock_fd >= 0) {
        close(c->lock_fd);
        c->lock_fd = -1;
    }
}

int lxm_container_open_locked(const struct lxm_paths *paths, const char *name,
                              struct lxm_container **out, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    /* Checked first so that a name that is no container gets no lock file,
     * and again under the lock: a delete that held it may just have run. */
    int r = lxm_container_open(paths, name, &c, err);
    if (r == 0)
        r = lxm_container_lock(c, err);
    if (r < 0)
        return r;
    if (!lxm_container_exists(c))
        return lxm_error_set(err, ENOENT, "container '%s' not found", name);
    *out = TAKE_PTR(c);
    return 0;
}

int lxm_container_lock_pair(struct lxm_container *a, struct lxm_container *b,
                            struct lxm_error *err)
{
    int cmp = strcmp(a->name, b->name);
    if (cmp == 0)
        return lxm_error_set(err, EINVAL, "'%s' is named twice", a->name);
    /* One order for everyone: copy a b and copy b a cannot deadlock. */
    struct lxm_container *first = cmp < 0 ? a : b, *second = cmp < 0 ? b : a;
    int r = lxm_container_lock(first, err);
    if (r == 0)
        r = lxm_container_lock(second, err);
    return r;
}

void lxm_container_free(struct lxm_container *c)
{
    if (!c)
        return;
    lxm_container_unlock(c);
    lxm_config_free(c->config);
    free(c->name);
    free(c->id);
    free(c->dir);
    free(c->config_file);
    free(c->rootfs);
    free(c->run_dir);
    free(c->log_dir);
    free(c);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int lxm_container_list_names(const struct lxm_paths *paths, char ***out, struct lxm_error *err)
{
    _cleanup_strv_free_ char **names = calloc(1, sizeof(char *));
    if (!names)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_closedir_ DIR *d = opendir(paths->containers);
    if (!d) {
        if (errno != ENOENT)
            return lxm_error_errno(err, errno, "open %s", paths->containers);
        *out = TAKE_PTR(names);
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || lxm_validate_name(de->d_name, NULL) < 0)
            continue;
        _cleanup_free_ char *cfg = xasprintf("%s/%s/config.yaml", paths->containers, de->d_name);
        if (cfg && path_exists(cfg) && strv_push(&names, de->d_name) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    }
    qsort(names, strv_length(names), sizeof(char *), cmp_str);
    *out = TAKE_PTR(names);
    return 0;
}

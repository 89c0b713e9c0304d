/* userns.c: the runtime's side of user namespaces: which map a start uses,
 * the rootfs layout recorded in containers/NAME/idmap.state (converted at
 * start when the config asks for another one), and the detached mounts
 * (rootfs, `mounts:`) the monitor makes for init. The id-map mechanics
 * themselves are idmap.c's. */
#include "runtime/runtime-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image_io.h"
#include "storage/storage.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

static char *state_path(const struct lxm_container *c)
{
    return xasprintf("%s/idmap.state", c->dir);
}

/* "METHOD\nMAP\n" (MAP "-" for none). No file: the layout create leaves,
 * ids on disk are the container's (method none). */
static int read_layout(const struct lxm_container *c, enum lxm_idmap_method *method,
                       struct lxm_idmap *map, bool *has_map, struct lxm_error *err)
{
    _cleanup_free_ char *path = state_path(c);
    _cleanup_free_ char *text = NULL;
    *method = LXM_IDMAP_METHOD_NONE;
    *has_map = false;
    if (!path)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = read_file(path, &text, NULL);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return lxm_error_errno(err, -r, "read %s", path);
    char *nl = strchr(text, '\n');
    if (!nl)
        return lxm_error_set(err, EINVAL, "%s: malformed", path);
    *nl = '\0';
    char *mapline = nl + 1;
    mapline[strcspn(mapline, "\n")] = '\0';
    if (lxm_idmap_method_from_name(text, method) < 0)
        return lxm_error_set(err, EINVAL, "%s: unknown method '%s'", path, text);
    if (strcmp(mapline, "-") != 0) {
        r = lxm_idmap_parse(mapline, map, err);
        if (r < 0)
            return lxm_error_prefix(err, "%s", path);
        *has_map = true;
    }
    if (*method == LXM_IDMAP_METHOD_SHIFTED && !*has_map)
        return lxm_error_set(err, EINVAL, "%s: a shifted rootfs without its map", path);
    return 0;
}

int lxm_userns_disk_map(const struct lxm_container *c, struct lxm_idmap *map, bool *shifted,
                        struct lxm_error *err)
{
    enum lxm_idmap_method method;
    bool has_map;
    int r = read_layout(c, &method, map, &has_map, err);
    *shifted = r == 0 && method == LXM_IDMAP_METHOD_SHIFTED;
    return r;
}

static int write_layout(const struct lxm_container *c, enum lxm_idmap_method method,
                        const struct lxm_idmap *map, struct lxm_error *err)
{
    _cleanup_free_ char *path = state_path(c);
    _cleanup_free_ char *m = map ? lxm_idmap_format(map) : strdup("-");
    _cleanup_free_ char *text = m ? xasprintf("%s\n%s\n", lxm_idmap_method_name(method), m) : NULL;
    if (!path || !text)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = write_file_atomic(path, text, strlen(text), 0644);
    return r < 0 ? lxm_error_errno(err, -r, "write %s", path) : 0;
}

static bool same_map(const struct lxm_idmap *a, const struct lxm_idmap *b)
{
    _cleanup_free_ char *x = lxm_idmap_format(a);
    _cleanup_free_ char *y = lxm_idmap_format(b);
    return x && y && strcmp(x, y) == 0;
}

static int resolve_map(const struct lxm_container *c, const struct lxm_config *cfg,
                       struct lxm_idmap *map, struct lxm_error *err)
{
    const struct lxm_global *g;
    int r = lxm_paths_global(c->paths, &g, err);
    if (r < 0)
        return r; /* lxm.yaml's FILE:LINE:COL says where */
    struct lxm_subid_files files = {0};
    r = lxm_idmap_parse_default_range(g->idmap_range, &files, err);
    if (r == 0)
        r = lxm_idmap_resolve(cfg->security.idmap, &files, map, err);
    return r < 0 ? lxm_error_prefix(err, "security.idmap") : 0;
}

/* A rootfs that is not a plain tree (overlay: an image plus an upper
 * layer, both with the container's ids on disk) is never shifted: its
 * layers are idmapped at mount time, so any layout is free to reach. */
static int convert_layers(const struct lxm_userns *u, enum lxm_idmap_method from,
                          enum lxm_idmap_method *out, struct lxm_error *err)
{
    if (from == LXM_IDMAP_METHOD_SHIFTED)
        return lxm_error_set(err, EINVAL, "a shifted %s volume cannot be converted",
                             u->storage->name);
    *out = u->enabled ? LXM_IDMAP_METHOD_IDMAPPED : LXM_IDMAP_METHOD_NONE;
    return 0;
}

static int find_storage(const struct lxm_container *c, const struct lxm_config *cfg,
                        struct lxm_userns *u, struct lxm_error *err)
{
    _cleanup_free_ char *image = NULL;
    int r = lxm_storage_of(c->dir, &u->storage, err);
    if (r == 0)
        r = lxm_image_rootfs(c->paths, cfg->image, &image, err);
    if (r < 0)
        return lxm_error_prefix(err, "rootfs of %s", c->name);
    if (image && strlen(image) >= sizeof(u->image))
        return lxm_error_set(err, ENAMETOOLONG, "rootfs of %s: image path too long", c->name);
    snprintf(u->image, sizeof(u->image), "%s", image ? image : "");
    return 0;
}

int lxm_userns_prepare(const struct lxm_container *c, const struct lxm_config *cfg,
                       struct lxm_userns *u, struct lxm_error *err)
{
    memset(u, 0, sizeof(*u));
    u->enabled = !cfg->security.privileged;
    if (u->enabled) {
        int r = resolve_map(c, cfg, &u->map, err);
        if (r < 0)
            return r;
    }
    int r = find_storage(c, cfg, u, err);
    if (r < 0)
        return r;
    enum lxm_idmap_method from;
    struct lxm_idmap from_map;
    bool has_from;
    r = read_layout(c, &from, &from_map, &has_from, err);
    if (r < 0)
        return r;
    /* A config set of security.* on a stopped container only saves the
     * config; the rootfs follows here, once, before the next boot. */
    if (strcmp(u->storage->name, "overlay") == 0)
        r = convert_layers(u, from, &u->method, err);
    else
        r = lxm_idmap_convert_rootfs(c->rootfs, from, has_from ? &from_map : NULL,
                                     u->enabled ? &u->map : NULL, &u->method, err);
    if (r < 0)
        return r;
    if (u->method == from && !u->enabled == !has_from &&
        (!u->enabled || same_map(&u->map, &from_map)))
        return 0;
    return write_layout(c, u->method, u->enabled ? &u->map : NULL, err);
}

/* One detached mount, idmapped when userns >= 0 and the filesystem can. */
static int open_mount(int userns, const char *source, unsigned flags, struct lxm_error *err)
{
    if (userns >= 0) {
        int r = lxm_idmap_mount_supported(source, userns, err);
        if (r < 0)
            return lxm_error_prefix(err, "mount %s", source);
        if (r == 0)
            userns = -1;
    }
    int fd = lxm_idmap_mount_open(userns, source, flags, err);
    return fd < 0 ? lxm_error_prefix(err, "mount %s", source) : fd;
}

static int rootfs_fd_in(const struct lxm_container *c, const struct lxm_userns *u, int userns,
                        int *layers, struct lxm_error *err)
{
    struct lxm_storage_mount how = { .userns_fd = userns, .layers = layers };
    if (userns >= 0 && !lxm_idmap_host_root(&u->map, &how.root_uid, &how.root_gid))
        return lxm_error_set(err, EINVAL, "rootfs of %s: the id map has no root", c->name);
    int fd = u->storage->mount(u->image[0] ? u->image : NULL, c->dir, &how, err);
    return fd < 0 ? lxm_error_prefix(err, "rootfs of %s", c->name) : fd;
}

static bool idmapped(const struct lxm_userns *u)
{
    return u->enabled && u->method == LXM_IDMAP_METHOD_IDMAPPED;
}

int lxm_userns_rootfs_fd(const struct lxm_container *c, const struct lxm_userns *u, pid_t pid,
                         struct lxm_error *err)
{
    _cleanup_close_ int userns = -1;
    if (idmapped(u)) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
        userns = open(path, O_RDONLY | O_CLOEXEC);
        if (userns < 0)
            return lxm_error_errno(err, errno, "open %s", path);
    }
    return rootfs_fd_in(c, u, userns, NULL, err);
}

int lxm_userns_rootfs_fd_early(const struct lxm_container *c, const struct lxm_userns *u,
                               struct lxm_userns_helper *h, int layers[2], struct lxm_error *err)
{
    *h = (struct lxm_userns_helper){0};
    _cleanup_close_ int userns = -1;
    /* The same map gives the same owners through any user ns. */
    if (idmapped(u) && (userns = lxm_idmap_userns_open_nowait(&u->map, h, err)) < 0)
        return lxm_error_prefix(err, "rootfs of %s: user namespace", c->name);
    return rootfs_fd_in(c, u, userns, layers, err);
}

static int stage_one(int dirfd, int idx, int mfd, const char *source, struct lxm_error *err)
{
    char name[16];
    struct stat st;
    snprintf(name, sizeof(name), "%d", idx);
    if (fstat(mfd, &st) < 0)
        return lxm_error_errno(err, errno, "mount %s", source);
    int r = S_ISDIR(st.st_mode) ? mkdirat(dirfd, name, 0700) : mknodat(dirfd, name, S_IFREG | 0600, 0);
    if (r < 0)
        return lxm_error_errno(err, errno, "mount %s: staging point", source);
    if (move_mount(mfd, "", dirfd, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return lxm_error_errno(err, errno, "mount %s: staging", source);
    return 0;
}

int lxm_userns_stage_mounts(const struct lxm_config *cfg, const struct lxm_userns *u,
                            const char *dir, struct lxm_error *err)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return lxm_error_errno(err, errno, "mkdir %s", dir);
    /* Only the container's root needs to get through it (search, no read). */
    if (mount("lxm-stage", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0711") < 0)
        return lxm_error_errno(err, errno, "mount tmpfs on %s", dir);
    _cleanup_close_ int dirfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dirfd < 0)
        return lxm_error_errno(err, errno, "open %s", dir);
    _cleanup_close_ int userns = -1;
    if (u->enabled && cfg->n_mounts > 0 && (userns = lxm_idmap_userns_open(&u->map, err)) < 0)
        return lxm_error_prefix(err, "user namespace");
    for (int i = 0; i < cfg->n_mounts; i++) {
        const struct lxm_mount *mt = &cfg->mounts[i];
        unsigned flags = LXM_IDMAP_MOUNT_RECURSIVE | (mt->readonly ? LXM_IDMAP_MOUNT_RDONLY : 0);
        _cleanup_close_ int mfd = open_mount(userns, mt->source, flags, err);
        if (mfd < 0)
            return mfd;
        int r = stage_one(dirfd, i, mfd, mt->source, err);
        if (r < 0)
            return r;
    }
    return 0;
}

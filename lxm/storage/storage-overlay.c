/* storage-overlay.c: a container is VOL/upper + VOL/work over its image's
 * tree (read-only lower layer). Nothing is copied at create; copy,
 * snapshot and restore copy the upper layer only.
 *
 * Unprivileged containers: both layers are idmapped mounts with the
 * container's user namespace, passed to overlayfs as file descriptors
 * (lowerdir+/upperdir/workdir, FSCONFIG_SET_FD), and the overlay is
 * mounted with the container root's host ids as fsuid/fsgid (capabilities
 * kept), so that its copy-ups go through the idmapped upper layer. Ids on
 * disk stay the container's in both layers: one image serves privileged
 * containers and every id map alike, and switching between them is free.
 * See docs/storage.md. */
#include "storage/storage-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "security/idmap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

static int ovl_owns(const char *vol)
{
    _cleanup_free_ char *upper = lxm_storage_path(vol, "upper");
    struct stat st;
    return upper && lstat(upper, &st) == 0 && S_ISDIR(st.st_mode);
}

/* *out: the mount a layer is taken from: an idmapped clone of dir when
 * userns_fd >= 0 (kept open until the overlay is made: closing the clone
 * dissolves it, and overlayfs then refuses it), else -1 for dir itself. */
static int layer_mount(const char *dir, int userns_fd, int *out, struct lxm_error *err)
{
    *out = -1;
    if (userns_fd < 0)
        return 0;
    /* Not lxm_idmap_mount_open: overlayfs refuses to take a private
     * clone of a layer whose mount is a propagation slave. */
    _cleanup_close_ int mnt = (int)syscall(SYS_open_tree, AT_FDCWD, dir,
                                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (mnt < 0)
        return lxm_error_errno(err, errno, "clone %s", dir);
    struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
    if (syscall(SYS_mount_setattr, mnt, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
        return lxm_error_errno(err, errno, "idmap %s", dir);
    *out = TAKE_FD(mnt);
    return 0;
}

/* A directory fd (not O_PATH: fsconfig wants an open file) on path below
 * the layer mount (or on dir/path when there is none). */
static int layer_fd(int mnt, const char *dir, const char *path, struct lxm_error *err)
{
    int fd;
    if (mnt >= 0) {
        fd = openat(mnt, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    } else {
        _cleanup_free_ char *full = lxm_storage_path(dir, path);
        fd = full ? open(full, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    }
    return fd < 0 ? lxm_error_errno(err, errno, "open %s/%s", dir, path) : fd;
}

static int set_fd(int fs, const char *key, int fd, struct lxm_error *err)
{
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_FD, key, NULL, fd) < 0)
        return lxm_error_errno(err, errno, "overlay %s", key);
    return 0;
}

static int set_str(int fs, const char *key, const char *value, struct lxm_error *err)
{
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, key, value, 0) < 0)
        return lxm_error_errno(err, errno, "overlay %s=%s", key, value);
    return 0;
}

/* The kernel's reason for a failed overlay mount, when it left one. */
static int mount_error(int fs, int e, const char *vol, struct lxm_error *err)
{
    char msg[256];
    ssize_t n = read(fs, msg, sizeof(msg) - 1);
    if (n > 2) {
        msg[n] = '\0';
        msg[strcspn(msg, "\n")] = '\0';
        return lxm_error_set(err, e, "mount overlay for %s: %s (%s)", vol, strerror(e), msg + 2);
    }
    return lxm_error_errno(err, e, "mount overlay for %s", vol);
}

static int configure(int fs, int lower, int upper, int work, struct lxm_error *err)
{
    int r = set_fd(fs, "lowerdir+", lower, err);
    if (r == 0)
        r = set_fd(fs, "upperdir", upper, err);
    if (r == 0)
        r = set_fd(fs, "workdir", work, err);
    /* Plain layers a copy of the upper dir keeps whole: no metadata-only
     * copy-ups, no index, no redirects pointing into the lower layer. */
    if (r == 0)
        r = set_str(fs, "index", "off", err);
    if (r == 0)
        r = set_str(fs, "metacopy", "off", err);
    if (r == 0)
        r = set_str(fs, "redirect_dir", "off", err);
    return r;
}

/* Run the overlay's creation with fsuid/fsgid of the container's root:
 * overlayfs records the mounter's credentials and makes every copy-up with
 * them, which must map through the idmapped upper layer. Changing the
 * fsuid drops the filesystem capabilities; they are raised again (this
 * thread only, as both calls are). */
struct saved_creds {
    bool changed;
};

static int become_mounter(const struct lxm_storage_mount *how, struct saved_creds *s,
                          struct lxm_error *err)
{
    s->changed = false;
    if (how->userns_fd < 0)
        return 0;
    struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0)
        return lxm_error_errno(err, errno, "capget");
    syscall(SYS_setfsgid, how->root_gid);
    syscall(SYS_setfsuid, how->root_uid);
    s->changed = true;
    if (syscall(SYS_capset, &h, d) < 0)
        return lxm_error_errno(err, errno, "capset");
    return 0;
}

static void restore_creds(struct saved_creds *s)
{
    if (!s->changed)
        return;
    /* Back to fsuid 0: the filesystem capabilities come back with it. */
    syscall(SYS_setfsuid, 0);
    syscall(SYS_setfsgid, 0);
}

static int ovl_mount(const char *image, const char *vol, const struct lxm_storage_mount *how,
                     struct lxm_error *err)
{
    if (!image)
        return lxm_error_set(err, EINVAL, "%s: an overlay volume without its image", vol);
    _cleanup_close_ int lmnt = -1, vmnt = -1;
    int r = layer_mount(image, how->userns_fd, &lmnt, err);
    if (r == 0)
        r = layer_mount(vol, how->userns_fd, &vmnt, err);
    if (r < 0)
        return r;
    _cleanup_close_ int lower = layer_fd(lmnt, image, ".", err);
    if (lower < 0)
        return lower;
    _cleanup_close_ int upper = layer_fd(vmnt, vol, "upper", err);
    if (upper < 0)
        return upper;
    _cleanup_close_ int work = layer_fd(vmnt, vol, "work", err);
    if (work < 0)
        return work;
    struct saved_creds s;
    r = become_mounter(how, &s, err);
    _cleanup_close_ int fs = r < 0 ? -1 : (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
    if (r == 0 && fs < 0)
        r = lxm_error_errno(err, errno, "overlayfs");
    if (r == 0)
        r = configure(fs, lower, upper, work, err);
    if (r == 0 && syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        r = mount_error(fs, errno, vol, err);
    int mfd = -1;
    if (r == 0) {
        mfd = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, how->readonly ? MOUNT_ATTR_RDONLY : 0);
        if (mfd < 0)
            r = lxm_error_errno(err, errno, "mount overlay for %s", vol);
    }
    restore_creds(&s);
    if (r == 0 && how->layers) {
        how->layers[0] = TAKE_FD(lmnt);
        how->layers[1] = TAKE_FD(vmnt);
    }
    return r < 0 ? r : mfd;
}

/* The upper layer's root is the overlay's root: it takes the image root's
 * owner, mode and times. */
static int make_upper(const char *image, const char *upper, struct lxm_error *err)
{
    struct stat st;
    if (stat(image, &st) < 0)
        return lxm_error_errno(err, errno, "stat %s", image);
    if (mkdir(upper, 0700) < 0)
        return lxm_error_errno(err, errno, "create %s", upper);
    if (chown(upper, st.st_uid, st.st_gid) < 0 || chmod(upper, st.st_mode & 07777) < 0)
        return lxm_error_errno(err, errno, "set the owner of %s", upper);
    return 0;
}

static int make_work(const char *vol, struct lxm_error *err)
{
    _cleanup_free_ char *work = lxm_storage_path(vol, "work");
    if (!work)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = lxm_storage_remove_tree(work, err);
    if (r == 0 && mkdir(work, 0700) < 0)
        r = lxm_error_errno(err, errno, "create %s", work);
    return r;
}

static int ovl_create(const char *image, const char *vol, struct lxm_error *err)
{
    /* An image-less rootfs (an import) is a plain tree: the volume then
     * holds the dir layout, which lxm_storage_of finds. */
    if (!image)
        return lxm_storage_dir.create(NULL, vol, err);
    _cleanup_free_ char *upper = lxm_storage_path(vol, "upper");
    if (!upper)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = make_upper(image, upper, err);
    return r < 0 ? r : make_work(vol, err);
}

/* A volume ovl_create has just made holds only empty layers: files go
 * straight into the upper layer, offline (overlayfs allows changes to the
 * upper tree while it is not mounted), and what the rootfs holds is the
 * image's. No mount, so no unmount either, which syncs the whole upper
 * filesystem (overlayfs's sync_fs). Each of dirs is made in the upper
 * layer with its owner and mode in the image, as a copy-up would make it;
 * not its times (the files written in it next change them anyway) nor its
 * overlay xattrs: the first mount's lookup records the merged directory's
 * origin, and the upper root's uuid and "impure" mark, as a copy-up did.
 * One that is not a directory in the image (a symlink to follow) is left
 * to a mount: -ENOTSUP. */
static int ovl_fresh_root(const char *image, const char *vol, const char *const *dirs, int *view,
                          int *root, struct lxm_error *err)
{
    *view = *root = -1;
    if (!image)
        return -ENOTSUP;
    _cleanup_free_ char *upath = lxm_storage_path(vol, "upper");
    if (!upath)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_close_ int lower = open(image, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (lower < 0)
        return lxm_error_errno(err, errno, "open %s", image);
    _cleanup_close_ int upper = open(upath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (upper < 0)
        return lxm_error_errno(err, errno, "open %s", upath);
    for (size_t i = 0; dirs && dirs[i]; i++) {
        struct stat st;
        if (strchr(dirs[i], '/'))
            return -ENOTSUP;
        if (fstatat(lower, dirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue; /* made by the writer, as in a mounted overlay */
            return lxm_error_errno(err, errno, "stat %s/%s", image, dirs[i]);
        }
        if (!S_ISDIR(st.st_mode))
            return -ENOTSUP;
        if (mkdirat(upper, dirs[i], 0700) < 0 && errno != EEXIST)
            return lxm_error_errno(err, errno, "create %s/%s", upath, dirs[i]);
        if (fchownat(upper, dirs[i], st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            fchmodat(upper, dirs[i], st.st_mode & 07777, 0) < 0)
            return lxm_error_errno(err, errno, "set the owner of %s/%s", upath, dirs[i]);
    }
    *view = TAKE_FD(lower);
    *root = TAKE_FD(upper);
    return 0;
}

static int ovl_clone(const char *image, const char *src, const char *dst, struct lxm_error *err)
{
    (void)image;
    _cleanup_free_ char *from = lxm_storage_path(src, "upper");
    _cleanup_free_ char *to = lxm_storage_path(dst, "upper");
    if (!from || !to)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = lxm_storage_copy_tree(from, to, err);
    return r < 0 ? r : make_work(dst, err);
}

static int ovl_restore(const char *image, const char *snap, const char *vol, struct lxm_error *err)
{
    (void)image;
    int r = lxm_storage_restore_part(snap, vol, "upper", lxm_storage_copy_tree,
                                     lxm_storage_remove_tree, err);
    /* A work dir must start empty under the new upper layer. */
    return r < 0 ? r : make_work(vol, err);
}

static int ovl_destroy(const char *vol, struct lxm_error *err)
{
    static const char *const parts[] = { "upper", "upper.new", "upper.old", "work" };
    return lxm_storage_remove_parts(vol, parts, ARRAY_SIZE(parts), lxm_storage_remove_tree, err);
}

static int ovl_usage(const char *vol, uint64_t *bytes, struct lxm_error *err)
{
    _cleanup_free_ char *upper = lxm_storage_path(vol, "upper");
    _cleanup_free_ char *work = lxm_storage_path(vol, "work");
    if (!upper || !work)
        return lxm_error_set(err, ENOMEM, "out of memory");
    uint64_t a = 0, b = 0;
    int r = lxm_storage_tree_usage(upper, &a, err);
    if (r == 0)
        r = lxm_storage_tree_usage(work, &b, err);
    *bytes = a + b;
    return r;
}

/* ---- probe ------------------------------------------------------------------------ */

static int probe_in(const char *dir, struct lxm_error *err)
{
    _cleanup_free_ char *lower = lxm_storage_path(dir, "lower");
    _cleanup_free_ char *vol = lxm_storage_path(dir, "vol");
    _cleanup_free_ char *upper = lxm_storage_path(dir, "vol/upper");
    if (!lower || !vol || !upper)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (mkdir(lower, 0755) < 0 || mkdir(vol, 0700) < 0)
        return lxm_error_errno(err, errno, "create %s", lower);
    int r = make_upper(lower, upper, err);
    if (r == 0)
        r = make_work(vol, err);
    struct lxm_idmap map;
    if (r == 0)
        r = lxm_idmap_parse("0 1000000 65536", &map, err);
    _cleanup_close_ int userns = r < 0 ? -1 : lxm_idmap_userns_open(&map, err);
    if (r == 0 && userns < 0)
        r = userns;
    struct lxm_storage_mount how = { .userns_fd = userns, .root_uid = 1000000, .root_gid = 1000000 };
    int mfd = r < 0 ? r : ovl_mount(lower, vol, &how, err);
    if (mfd >= 0)
        close(mfd);
    return mfd < 0 ? mfd : 1;
}

/* STATE/.overlay-ok holds the kernel release the probe last worked on:
 * the probe costs two mounts, so it runs once per kernel, not per command. */
static char *probe_record(const char *state_dir)
{
    return xasprintf("%s/.overlay-ok", state_dir);
}

static bool probed_before(const char *state_dir)
{
    struct utsname u;
    _cleanup_free_ char *file = probe_record(state_dir);
    _cleanup_free_ char *text = NULL;
    return file && uname(&u) == 0 && read_file(file, &text, NULL) == 0 &&
           strncmp(text, u.release, strlen(u.release)) == 0 && text[strlen(u.release)] == '\n';
}

static void record_probe(const char *state_dir)
{
    struct utsname u;
    _cleanup_free_ char *file = probe_record(state_dir);
    _cleanup_free_ char *line = uname(&u) == 0 ? xasprintf("%s\n", u.release) : NULL;
    if (file && line)
        (void)write_file_atomic(file, line, strlen(line), 0644);
}

/* Overlayfs with idmapped layers given as file descriptors (Linux 6.13+
 * here; checked by doing it once, in a scratch dir, per kernel). */
static int ovl_probe(const char *state_dir, struct lxm_error *err)
{
    static int cached = -1;
    static char why[LXM_ERROR_MAX];
    if (cached < 0 && probed_before(state_dir))
        cached = 1;
    if (cached >= 0) {
        if (cached == 0)
            lxm_error_set(err, ENOTSUP, "%s", why);
        return cached;
    }
    _cleanup_free_ char *dir = xasprintf("%s/.overlay-probe-XXXXXX", state_dir);
    if (!dir)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!mkdtemp(dir))
        return lxm_error_errno(err, errno, "create %s", dir);
    struct lxm_error e = { 0 };
    int r = probe_in(dir, &e);
    struct lxm_error ignored = { 0 };
    lxm_storage_remove_tree(dir, &ignored);
    cached = r == 1;
    if (cached)
        record_probe(state_dir);
    if (!cached) {
        snprintf(why, sizeof(why), "overlayfs over idmapped layers does not work in %s: %s",
                 state_dir, e.msg);
        lxm_error_set(err, ENOTSUP, "%s", why);
    }
    return cached;
}

const struct lxm_storage_ops lxm_storage_overlay = {
    .name = "overlay",
    .probe = ovl_probe,
    .owns = ovl_owns,
    .image_create = lxm_storage_mkdir_rootfs,
    .image_destroy = lxm_storage_remove_tree,
    .create = ovl_create,
    .clone = ovl_clone,
    .snapshot = ovl_clone,
    .restore = ovl_restore,
    .destroy = ovl_destroy,
    .mount = ovl_mount,
    .usage = ovl_usage,
    .fresh_root = ovl_fresh_root,
    .few_files = true,
};

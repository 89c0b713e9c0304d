/* storage-pool.c's pure pieces (pool size, mountinfo, lxm.yaml rewrite)
 * and copy.c's tree copy on a temp directory (owners and device nodes only
 * when run as root). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "config/config.h"
#include "storage/copy.h"
#include "storage/storage-pool.h"
#include "tap.h"
#include "util/fs.h"

static void test_size(void)
{
    struct lxm_error err = { 0 };
    ok(lxm_storage_pool_check_size(LXM_POOL_MIN_SIZE, &err) == 0, "256MiB is enough");
    ok(lxm_storage_pool_check_size(20LL << 30, &err) == 0, "20GiB is fine");
    is_int(lxm_storage_pool_check_size(100LL << 20, &err), -EINVAL, "100MiB refused");
    is_str(err.msg, "--size 100MiB is too small for a btrfs pool (at least 256MiB)", "size message");
    is_int(lxm_storage_pool_check_size(2LL << 50, &err), -EINVAL, "2PiB refused");
}

static void test_mountinfo(void)
{
    const char *text =
        "22 1 0:21 / / rw shared:1 - ext4 /dev/vda1 rw\n"
        "40 22 0:35 / /var/lib/lxm rw,relatime shared:20 - btrfs /dev/loop3 rw\n"
        "41 22 0:36 / /srv/a\\040b rw - tmpfs none rw\n"
        "42 40 0:37 / /var/lib/lxm rw master:3 - btrfs /dev/loop7 rw\n";
    char *type = NULL, *source = NULL;
    is_int(lxm_mountinfo_find(text, "/var/lib/lxm", &type, &source), 1, "found");
    is_str(source, "/dev/loop7", "the top of two stacked mounts");
    is_str(type, "btrfs", "its type");
    free(type);
    free(source);
    type = source = NULL;
    is_int(lxm_mountinfo_find(text, "/srv/a b", &type, &source), 1, "escaped space");
    is_str(type, "tmpfs", "escaped mount point's type");
    free(type);
    free(source);
    is_int(lxm_mountinfo_find(text, "/var/lib", NULL, NULL), 0, "a prefix is not a match");
    is_int(lxm_mountinfo_find("", "/", NULL, NULL), 0, "empty text");
}

static void test_global_rewrite(void)
{
    struct lxm_error err = { 0 };
    char *out = NULL;
    ok(lxm_global_set_storage("/g.yaml", NULL, "btrfs", "/p.img", &out, &err) == 0,
       "no file yet: %s", err.msg);
    is_str(out, "storage:\n  driver: btrfs\n  pool: /p.img\n", "a new file");
    free(out);
    out = NULL;
    const char *text = "network:\n  bridge: br9  # mine\n  nat: false\nstorage: {driver: dir}\n"
                       "idmap:\n  range: \"2000000:65536\"\n";
    ok(lxm_global_set_storage("/g.yaml", text, "btrfs", "/var/lib/lxm-disks/btrfs.img", &out,
                              &err) == 0, "existing file: %s", err.msg);
    is_str(out,
           "network:\n  bridge: br9\n  nat: false\nstorage:\n  driver: btrfs\n"
           "  pool: /var/lib/lxm-disks/btrfs.img\nidmap:\n  range: 2000000:65536\n",
           "other settings kept, storage replaced");
    struct lxm_global *g = NULL;
    ok(out && lxm_global_parse("/g.yaml", out, &g, &err) == 0 && !g->nat &&
           strcmp(g->bridge, "br9") == 0 && strcmp(g->storage_pool,
                                                   "/var/lib/lxm-disks/btrfs.img") == 0,
       "the result loads with the same values");
    lxm_global_free(g);
    free(out);
    out = NULL;
    ok(lxm_global_set_storage("/g.yaml", "storage: [a\n", "btrfs", "/p", &out, &err) < 0 && !out,
       "broken yaml refused");
    ok(lxm_global_set_storage("/g.yaml", "- a\n", "btrfs", "/p", &out, &err) < 0 && !out,
       "a list refused");
}

static int mk(const char *path, const char *data, mode_t mode)
{
    return write_file_atomic(path, data, strlen(data), mode);
}

static void make_tree(const char *s, bool root)
{
    char p[512], q[512];
    snprintf(p, sizeof(p), "%s/dir/sub", s);
    mkdir_p(p, 0750);
    snprintf(p, sizeof(p), "%s/dir/file", s);
    mk(p, "hello\n", 04755);
    chmod(p, 04755);
    setxattr(p, "user.note", "v1", 2, 0);
    snprintf(q, sizeof(q), "%s/dir/sub/link", s);
    link(p, q);
    snprintf(q, sizeof(q), "%s/sym", s);
    symlink("dir/file", q);
    snprintf(q, sizeof(q), "%s/fifo", s);
    mkfifo(q, 0620);
    chmod(q, 0620);
    snprintf(q, sizeof(q), "%s/empty", s);
    mk(q, "", 0600);
    if (root) {
        snprintf(q, sizeof(q), "%s/null", s);
        mknod(q, S_IFCHR | 0666, makedev(1, 3));
        snprintf(q, sizeof(q), "%s/dir/owned", s);
        mk(q, "x", 0644);
        chown(q, 1000123, 1000456);
    }
}

static void test_copy_tree(void)
{
    char tmpl[] = "/tmp/test-storage-XXXXXX";
    char *base = mkdtemp(tmpl);
    ok(base != NULL, "temp dir");
    if (!base)
        return;
    bool root = geteuid() == 0;
    char s[256], d[256], p[512];
    snprintf(s, sizeof(s), "%s/src", base);
    snprintf(d, sizeof(d), "%s/dst", base);
    mkdir(s, 0751);
    chmod(s, 0751);
    mkdir(d, 0700);
    make_tree(s, root);
    struct lxm_error err = { 0 };
    struct lxm_copy_stats st = { 0 };
    ok(lxm_copy_tree(s, d, LXM_COPY_REFLINK, &st, &err) == 0, "copy: %s", err.msg);
    struct stat a, b, l;
    ok(stat(d, &a) == 0 && (a.st_mode & 07777) == 0751, "the top's mode follows the source");
    snprintf(p, sizeof(p), "%s/dir/file", d);
    ok(stat(p, &a) == 0 && (a.st_mode & 07777) == 04755, "setuid mode kept");
    char v[8] = "";
    ok(getxattr(p, "user.note", v, sizeof(v)) == 2 && memcmp(v, "v1", 2) == 0, "xattr kept");
    snprintf(p, sizeof(p), "%s/dir/sub/link", d);
    ok(stat(p, &b) == 0 && b.st_ino == a.st_ino && a.st_nlink == 2, "hard link kept");
    snprintf(p, sizeof(p), "%s/sym", d);
    char t[64] = "";
    ok(lstat(p, &l) == 0 && S_ISLNK(l.st_mode) && readlink(p, t, sizeof(t)) == 8 &&
           memcmp(t, "dir/file", 8) == 0, "symlink copied as a symlink");
    snprintf(p, sizeof(p), "%s/fifo", d);
    ok(lstat(p, &l) == 0 && S_ISFIFO(l.st_mode) && (l.st_mode & 0777) == 0620, "fifo kept");
    snprintf(p, sizeof(p), "%s/dir/sub", d);
    ok(stat(p, &l) == 0 && (l.st_mode & 0777) == 0750, "directory mode kept");
    snprintf(p, sizeof(p), "%s/dir/file", s);
    struct stat sa;
    ok(stat(p, &sa) == 0 && sa.st_mtim.tv_sec == a.st_mtim.tv_sec &&
           sa.st_mtim.tv_nsec == a.st_mtim.tv_nsec, "mtime kept to the nanosecond");
    is_int(st.files, 2 + (root ? 1 : 0), "regular files counted once per inode");
    if (root) {
        snprintf(p, sizeof(p), "%s/null", d);
        ok(lstat(p, &l) == 0 && S_ISCHR(l.st_mode) && l.st_rdev == makedev(1, 3), "device node kept");
        snprintf(p, sizeof(p), "%s/dir/owned", d);
        ok(lstat(p, &l) == 0 && l.st_uid == 1000123 && l.st_gid == 1000456, "owner kept");
    } else {
        printf("ok %d - device nodes and owners # SKIP not root\n", ++tap_n);
    }
    snprintf(p, sizeof(p), "%s/x", base);
    mkdir(p, 0700);
    ok(lxm_copy_tree("/nonexistent-lxm", p, 0, NULL, &err) < 0 && strstr(err.msg, "nonexistent-lxm"),
       "a missing source is named");
    rm_rf(base);
}

int main(void)
{
    test_size();
    test_mountinfo();
    test_global_rewrite();
    test_copy_tree();
    return done();
}

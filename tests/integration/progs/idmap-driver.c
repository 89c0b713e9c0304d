/* idmap-driver: exposes lxm/security/idmap.c to tests/integration/idmap.sh.
 *
 *   idmap-driver parse SPEC [SUBUID SUBGID]   resolve/parse, print the map
 *   idmap-driver supported DIR                "yes" or "no"
 *   idmap-driver shift|unshift MAP DIR        shift ownership, print stats
 *   idmap-driver convert ROOTFS FROM FROM-MAP TO-MAP   ("" = no map) print
 *                                             the method to record
 *   idmap-driver caps FILE                    security.capability decoded
 *   idmap-driver run MAP [-m SRC DST]... [-r SRC DST]... -- CMD...
 *       in a private mount ns: make a user ns with MAP, attach idmapped
 *       clones of SRC on DST (-r: read-only), run CMD as root of the user ns
 *       (-n: run CMD as host root instead, to see the mounts from outside)
 *   idmap-driver pivot MAP ROOTFS [plain]     init in a new user+mount ns
 *       attaches a detached (idmapped or plain) clone of ROOTFS made by
 *       the parent, pivots into it, prints the owner of / and mkdir result
 *   idmap-driver bench MAP ROOTFS N           medians of N: clone of init to
 *       rootfs attached, unprivileged (user ns + maps + idmapped mount) vs
 *       privileged (plain clone of the mount); and lxm_idmap_userns_open
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "security/idmap.h"
#include "util/cleanup.h"
#include "util/err.h"

static int fail(const struct lxm_error *err)
{
    fprintf(stderr, "idmap-driver: %s\n", err->msg);
    return 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: idmap-driver parse|supported|shift|unshift|caps|run|bench ...\n");
    return 2;
}

static int cmd_parse(int argc, char **argv)
{
    struct lxm_error err = {0};
    struct lxm_idmap map;
    int r;
    if (argc >= 4) {
        struct lxm_subid_files files = {.subuid = argv[2], .subgid = argv[3]};
        r = lxm_idmap_resolve(argv[1], &files, &map, &err);
    } else {
        r = lxm_idmap_parse(argv[1], &map, &err);
    }
    if (r < 0)
        return fail(&err);
    _cleanup_free_ char *s = lxm_idmap_format(&map);
    printf("%s\n", s);
    return 0;
}

static int cmd_supported(const char *dir)
{
    struct lxm_error err = {0};
    int r = lxm_idmap_mount_supported(dir, -1, &err);
    if (r < 0)
        return fail(&err);
    printf("%s\n", r ? "yes" : "no");
    return 0;
}

static int cmd_shift(const char *spec, const char *dir, enum lxm_idmap_direction d)
{
    struct lxm_error err = {0};
    struct lxm_idmap map;
    struct lxm_idmap_shift_stats st;
    if (lxm_idmap_parse(spec, &map, &err) < 0 || lxm_idmap_shift_tree(dir, &map, d, &st, &err) < 0)
        return fail(&err);
    printf("inodes=%llu acls=%llu fcaps=%llu unmapped=%llu mountpoints=%llu\n",
           (unsigned long long)st.inodes, (unsigned long long)st.acls, (unsigned long long)st.fcaps,
           (unsigned long long)st.unmapped, (unsigned long long)st.mountpoints);
    return 0;
}

static uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int cmd_caps(const char *file)
{
    unsigned char b[64];
    ssize_t n = lgetxattr(file, "security.capability", b, sizeof(b));
    if (n < 0) {
        if (errno == ENODATA) {
            printf("none\n");
            return 0;
        }
        perror(file);
        return 1;
    }
    uint32_t magic = n >= 4 ? le32(b) : 0;
    printf("v%u len=%zd effective=%u permitted=0x%08x", magic >> 24, n, magic & 1,
           n >= 8 ? le32(b + 4) : 0);
    if (n == 24)
        printf(" rootid=%u", le32(b + 20));
    printf("\n");
    return 0;
}

static int enter_userns(int userns)
{
    if (setns(userns, CLONE_NEWUSER) < 0)
        return -errno;
    /* setgroups works because the maps were written without "deny". */
    struct lxm_error err = {0};
    return lxm_idmap_become_root(&err);
}

static int attach(int userns, const char *src, const char *dst, unsigned flags)
{
    struct lxm_error err = {0};
    _cleanup_close_ int fd = lxm_idmap_mount_open(userns, src, flags, &err);
    if (fd < 0)
        return fail(&err);
    if (move_mount(fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
        fprintf(stderr, "idmap-driver: move_mount %s: %s\n", dst, strerror(errno));
        return 1;
    }
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    struct lxm_error err = {0};
    struct lxm_idmap map;
    if (lxm_idmap_parse(argv[1], &map, &err) < 0)
        return fail(&err);
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        perror("idmap-driver: private mount namespace");
        return 1;
    }
    _cleanup_close_ int userns = lxm_idmap_userns_open(&map, &err);
    if (userns < 0)
        return fail(&err);
    int i = 2;
    bool host = false;
    while (i < argc && strcmp(argv[i], "--") != 0) {
        if (strcmp(argv[i], "-n") == 0) {
            host = true;
            i++;
            continue;
        }
        if (i + 2 >= argc || (strcmp(argv[i], "-m") && strcmp(argv[i], "-r")))
            return usage();
        unsigned flags =
            LXM_IDMAP_MOUNT_RECURSIVE | (argv[i][1] == 'r' ? LXM_IDMAP_MOUNT_RDONLY : 0);
        if (attach(userns, argv[i + 1], argv[i + 2], flags))
            return 1;
        i += 3;
    }
    if (i + 1 >= argc)
        return usage();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int r = host ? 0 : enter_userns(userns);
        if (r < 0) {
            fprintf(stderr, "idmap-driver: enter user ns: %s\n", strerror(-r));
            _exit(126);
        }
        execvp(argv[i + 1], argv + i + 1);
        fprintf(stderr, "idmap-driver: exec %s: %s\n", argv[i + 1], strerror(errno));
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A stand-in for the container's init: cloned like the runtime clones it
 * (fork-like, plus CLONE_NEWUSER when unprivileged), waiting on a pipe. */
static pid_t spawn_init(bool userns, int *hold_w)
{
    int hold[2];
    if (pipe2(hold, O_CLOEXEC) < 0)
        return -1;
    pid_t pid =
        (pid_t)syscall(SYS_clone, (userns ? CLONE_NEWUSER : 0) | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid == 0) {
        char c;
        close(hold[1]);
        (void)!read(hold[0], &c, 1);
        _exit(0);
    }
    close(hold[0]);
    *hold_w = hold[1];
    return pid;
}

/* One start's worth of id-mapping work, timed from the clone of init to
 * the rootfs attached: privileged = plain clone of the rootfs mount;
 * unprivileged = user ns + uid_map/gid_map + idmapped clone. Tearing down
 * (init's exit, umount) is not part of a start and is not timed. */
static int bench_round(const struct lxm_idmap *map, const char *rootfs, const char *target,
                       bool unpriv, double *ms)
{
    struct lxm_error err = {0};
    _cleanup_close_ int hold = -1, userns = -1, fd = -1;
    double t0 = now_ms();
    pid_t pid = spawn_init(unpriv, &hold);
    if (pid < 0) {
        perror("idmap-driver: clone");
        return 1;
    }
    int r = 0;
    if (unpriv) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
        r = lxm_idmap_write(pid, map, &err);
        if (r == 0 && (userns = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            r = lxm_error_errno(&err, errno, "open %s", path);
        if (r == 0 &&
            (fd = lxm_idmap_mount_open(userns, rootfs, LXM_IDMAP_MOUNT_RECURSIVE, &err)) < 0)
            r = fd;
    } else {
        fd = open_tree(AT_FDCWD, rootfs, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (fd < 0)
            r = lxm_error_errno(&err, errno, "clone %s", rootfs);
    }
    if (r == 0 && move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        r = lxm_error_errno(&err, errno, "move_mount %s", target);
    *ms = now_ms() - t0;
    close(TAKE_FD(hold));
    waitpid(pid, NULL, 0);
    if (r < 0)
        return fail(&err);
    return umount2(target, MNT_DETACH) < 0;
}

static int bench_helper(const struct lxm_idmap *map, double *ms)
{
    struct lxm_error err = {0};
    double t0 = now_ms();
    int fd = lxm_idmap_userns_open(map, &err);
    *ms = now_ms() - t0;
    if (fd < 0)
        return fail(&err);
    close(fd);
    return 0;
}

static int cmd_bench(const char *spec, const char *rootfs, int n)
{
    struct lxm_error err = {0};
    struct lxm_idmap map;
    if (lxm_idmap_parse(spec, &map, &err) < 0)
        return fail(&err);
    if (n < 1 || n > 1000)
        return usage();
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        perror("idmap-driver: private mount namespace");
        return 1;
    }
    char target[] = "/tmp/lxm-idmap-bench.XXXXXX";
    if (!mkdtemp(target))
        return 1;
    double *u = calloc((size_t)n, sizeof(double)), *p = calloc((size_t)n, sizeof(double));
    double *h = calloc((size_t)n, sizeof(double));
    int r = !u || !p || !h;
    for (int i = 0; i < n && r == 0; i++) {
        r = bench_round(&map, rootfs, target, true, &u[i]);
        if (r == 0)
            r = bench_round(&map, rootfs, target, false, &p[i]);
        if (r == 0)
            r = bench_helper(&map, &h[i]);
    }
    rmdir(target);
    if (r == 0) {
        double mu = median(u, n), mp = median(p, n);
        printf("runs=%d unprivileged_ms=%.3f privileged_ms=%.3f delta_ms=%.3f "
               "userns_helper_ms=%.3f\n",
               n, mu, mp, mu - mp, median(h, n));
    }
    free(u);
    free(p);
    free(h);
    return r;
}

/* The start sequence in small: init is cloned into new user + mount
 * namespaces; the parent writes the maps and makes a detached clone of
 * ROOTFS (idmapped, or plain with "plain"); init attaches it on /mnt (it
 * need not be able to walk the path to ROOTFS), pivots into it, becomes
 * root of its user ns and creates a directory. */
struct pivot_arg {
    int pipe_r;
    int mnt_fd; /* filled in by the parent: CLONE_FILES */
};

static int pivot_child(void *p)
{
    struct pivot_arg *a = p;
    char c;
    if (read(a->pipe_r, &c, 1) != 1 || read(a->pipe_r, &a->mnt_fd, sizeof(a->mnt_fd)) != 4)
        return 10;
    struct lxm_error err = {0};
    if (lxm_idmap_become_root(&err) < 0)
        return fprintf(stderr, "%s\n", err.msg), 11;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return perror("make / private"), 12;
    if (move_mount(a->mnt_fd, "", AT_FDCWD, "/mnt", MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return perror("move_mount /mnt"), 13;
    if (chdir("/mnt") < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
        umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        return perror("pivot_root"), 14;
    struct stat st;
    if (stat("/", &st) < 0)
        return perror("stat /"), 15;
    printf("root=%u:%u mkdir=%s\n", st.st_uid, st.st_gid,
           mkdir("/lxm-pivot-test", 0755) == 0 ? "ok" : strerror(errno));
    fflush(stdout);
    return 0;
}

static int cmd_pivot(const char *spec, const char *rootfs, bool plain)
{
    struct lxm_error err = {0};
    struct lxm_idmap map;
    if (lxm_idmap_parse(spec, &map, &err) < 0)
        return fail(&err);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return 1;
    struct pivot_arg a = {.pipe_r = p[0], .mnt_fd = -1};
    size_t size = 256 * 1024;
    _cleanup_free_ char *stack = malloc(size);
    pid_t pid = stack ? clone(pivot_child, stack + size,
                              CLONE_NEWUSER | CLONE_NEWNS | CLONE_FILES | SIGCHLD, &a)
                      : -1;
    if (pid < 0)
        return perror("clone"), 1;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
    _cleanup_close_ int userns = -1, fd = -1;
    int r = lxm_idmap_write(pid, &map, &err);
    if (r == 0 && (userns = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        r = lxm_error_errno(&err, errno, "open %s", path);
    if (r == 0 && (fd = lxm_idmap_mount_open(plain ? -1 : userns, rootfs, LXM_IDMAP_MOUNT_RECURSIVE,
                                             &err)) < 0)
        r = fd;
    if (r == 0 && (write(p[1], "g", 1) != 1 || write(p[1], &fd, sizeof(fd)) != sizeof(fd)))
        r = lxm_error_errno(&err, errno, "release init");
    close(p[1]);
    int status;
    waitpid(pid, &status, 0);
    close(p[0]);
    if (r < 0)
        return fail(&err);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int cmd_convert(const char *rootfs, const char *from, const char *from_spec,
                       const char *to_spec)
{
    struct lxm_error err = {0};
    struct lxm_idmap fm, tm;
    enum lxm_idmap_method m, out;
    if (lxm_idmap_method_from_name(from, &m) < 0)
        return usage();
    if ((*from_spec && lxm_idmap_parse(from_spec, &fm, &err) < 0) ||
        (*to_spec && lxm_idmap_parse(to_spec, &tm, &err) < 0) ||
        lxm_idmap_convert_rootfs(rootfs, m, *from_spec ? &fm : NULL, *to_spec ? &tm : NULL, &out,
                                 &err) < 0)
        return fail(&err);
    printf("%s\n", lxm_idmap_method_name(out));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *cmd = argv[1];
    if (strcmp(cmd, "parse") == 0)
        return cmd_parse(argc - 1, argv + 1);
    if (strcmp(cmd, "supported") == 0)
        return cmd_supported(argv[2]);
    if (strcmp(cmd, "shift") == 0 && argc == 4)
        return cmd_shift(argv[2], argv[3], LXM_IDMAP_TO_HOST);
    if (strcmp(cmd, "unshift") == 0 && argc == 4)
        return cmd_shift(argv[2], argv[3], LXM_IDMAP_TO_NS);
    if (strcmp(cmd, "caps") == 0)
        return cmd_caps(argv[2]);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "pivot") == 0 && (argc == 4 || argc == 5))
        return cmd_pivot(argv[2], argv[3], argc == 5 && strcmp(argv[4], "plain") == 0);
    if (strcmp(cmd, "convert") == 0 && argc == 6)
        return cmd_convert(argv[2], argv[3], argv[4], argv[5]);
    if (strcmp(cmd, "bench") == 0 && argc == 5)
        return cmd_bench(argv[2], argv[3], atoi(argv[4]));
    return usage();
}

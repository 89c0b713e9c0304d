/* lxm-probe: escape probes for tests/integration/security.sh, one static
 * multi-call program run inside a container: `lxm-probe NAME [ARG]`.
 *
 * Each probe tries one known way out and prints ONE line on stdout: the
 * errno name that stopped it ("EPERM", "EROFS", ...), "ALLOWED" when the
 * step went through, or a probe-specific word (MASKED, NONE, SKIP: why).
 * Details go to stderr. The caller asserts the exact word.
 *
 * Probes never do damage when they are allowed: they open for writing
 * without writing, re-set values to what they were, pass invalid flags so
 * an allowed call still fails harmlessly, and undo their mounts. The one
 * exception is `reboot`, which is meant to end the container. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sched.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#define TMP "/tmp/.lxm-probe"

static int result_errno(int e)
{
    const char *n = strerrorname_np(e);
    printf("%s\n", n ? n : "E?");
    return 0;
}

static int allowed(const char *what)
{
    fprintf(stderr, "probe: %s went through\n", what);
    printf("ALLOWED\n");
    return 0;
}

/* open(path, flags) and close: the errno, or ALLOWED. Never writes. */
static int try_open(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return result_errno(errno);
    close(fd);
    return allowed(path);
}

/* A whole disk of the host, from the sysfs the container can read. */
static dev_t host_disk(void)
{
    struct stat st;
    if (stat("/", &st) == 0 && major(st.st_dev) != 0)
        return st.st_dev;
    DIR *d = opendir("/sys/dev/block");
    struct dirent *e;
    unsigned ma, mi;
    dev_t dev = 0;
    while (d && (e = readdir(d)))
        if (sscanf(e->d_name, "%u:%u", &ma, &mi) == 2 && ma != 7 && ma != 1 && !dev)
            dev = makedev(ma, mi);
    if (d)
        closedir(d);
    return dev;
}

static int probe_mknod_disk(const char *arg)
{
    dev_t dev = host_disk();
    char buf[512];
    if (!dev) {
        printf("SKIP: no host block device visible\n");
        return 0;
    }
    fprintf(stderr, "probe: host disk %u:%u\n", major(dev), minor(dev));
    unlink(TMP "-disk");
    if (mknod(TMP "-disk", S_IFBLK | 0600, dev) < 0)
        return result_errno(errno);
    int fd = open(TMP "-disk", O_RDONLY | O_CLOEXEC);
    unlink(TMP "-disk");
    if (fd < 0) {
        /* mknod went through: whatever stopped the open, it was not the
         * container's device allowlist. */
        printf("open:");
        return result_errno(errno);
    }
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    return n < 0 ? result_errno(errno) : allowed("read of the host disk");
}

static int probe_mknod_mem(const char *arg)
{
    unlink(TMP "-mem");
    if (mknod(TMP "-mem", S_IFCHR | 0600, makedev(1, 1)) < 0)
        return result_errno(errno);
    printf("open:");
    int r = try_open(TMP "-mem", O_RDONLY);
    unlink(TMP "-mem");
    return r;
}

/* Find the node for dev below dir (one level: devtmpfs keeps disks at top). */
static int node_for(const char *dir, dev_t dev, char *out, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct stat st;
    int found = -1;
    while (d && found < 0 && (e = readdir(d))) {
        snprintf(out, len, "%s/%s", dir, e->d_name);
        if (lstat(out, &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == dev)
            found = 0;
    }
    if (d)
        closedir(d);
    return found;
}

static int probe_mount_blockdev(const char *arg)
{
    dev_t dev = host_disk();
    char node[512];
    int r;
    if (!dev) {
        printf("SKIP: no host block device visible\n");
        return 0;
    }
    mkdir(TMP "-devtmpfs", 0700);
    mkdir(TMP "-mnt", 0700);
    /* devtmpfs hands out the host's nodes without mknod; else make one. */
    if (mount("devtmpfs", TMP "-devtmpfs", "devtmpfs", 0, NULL) == 0 &&
        node_for(TMP "-devtmpfs", dev, node, sizeof(node)) == 0) {
        fprintf(stderr, "probe: devtmpfs mounted, using %s\n", node);
    } else {
        snprintf(node, sizeof(node), TMP "-disk");
        unlink(node);
        if (mknod(node, S_IFBLK | 0600, dev) < 0) {
            int e = errno;
            umount2(TMP "-devtmpfs", MNT_DETACH);
            fprintf(stderr, "probe: mknod: %s\n", strerror(e));
            return result_errno(e);
        }
    }
    /* With the host's own flags a mounted disk's superblock is simply
     * reused: try read-write and read-only, for the usual filesystems. */
    static const char *const types[] = {"ext4", "xfs", "btrfs", "vfat", NULL};
    int e = 0;
    r = -1;
    for (const char *const *t = types; *t && r < 0; t++)
        for (int ro = 0; ro < 2 && r < 0; ro++) {
            r = mount(node, TMP "-mnt", *t, ro ? MS_RDONLY : 0, NULL);
            if (r < 0 && (e == 0 || e == EINVAL || e == EBUSY))
                e = errno; /* keep the most telling error */
        }
    if (r == 0)
        umount2(TMP "-mnt", MNT_DETACH);
    umount2(TMP "-devtmpfs", MNT_DETACH);
    unlink(TMP "-disk");
    return r == 0 ? allowed("mount of the host disk") : result_errno(e);
}

/* Mount fstype at a scratch dir and open a host-wide knob in it for writing. */
static int mount_and_open(const char *fstype, const char *const *files)
{
    char path[256];
    mkdir(TMP "-fs", 0700);
    if (mount(fstype, TMP "-fs", fstype, 0, NULL) < 0)
        return result_errno(errno);
    int r = -1;
    for (; *files && r < 0; files++) {
        snprintf(path, sizeof(path), TMP "-fs/%s", *files);
        if (access(path, F_OK) == 0)
            r = try_open(path, O_WRONLY);
    }
    if (r < 0)
        printf("SKIP: %s mounted, but none of its probe files exist\n", fstype);
    umount2(TMP "-fs", MNT_DETACH);
    return 0;
}

static int probe_mount_proc(const char *arg)
{
    static const char *const files[] = {"sys/kernel/core_pattern", NULL};
    return mount_and_open("proc", files);
}

static int probe_mount_sysfs(const char *arg)
{
    static const char *const files[] = {"kernel/uevent_helper", "kernel/rcu_expedited",
                                        "kernel/profiling", NULL};
    return mount_and_open("sysfs", files);
}

static int probe_mount_debugfs(const char *arg)
{
    mkdir(TMP "-fs", 0700);
    if (mount("debugfs", TMP "-fs", "debugfs", 0, NULL) < 0)
        return result_errno(errno);
    umount2(TMP "-fs", MNT_DETACH);
    return allowed("mount -t debugfs");
}

/* "shocker": a handle to inode 2, the root of the filesystem under the
 * container's rootfs, opened past the container's root. */
static int probe_open_by_handle_at(const char *arg)
{
    union {
        struct file_handle fh;
        unsigned char raw[sizeof(struct file_handle) + 8];
    } h;
    unsigned int ino = 2;
    memset(&h, 0, sizeof(h));
    h.fh.handle_bytes = 8;
    h.fh.handle_type = 1; /* FILEID_INO32_GEN: inode, generation */
    memcpy(h.fh.f_handle, &ino, sizeof(ino));
    int mfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = (int)syscall(SYS_open_by_handle_at, mfd, &h.fh, O_RDONLY | O_CLOEXEC);
    int e = errno;
    close(mfd);
    if (fd >= 0) {
        close(fd);
        return allowed("open_by_handle_at");
    }
    return result_errno(e);
}

static int probe_sysrq(const char *arg)
{
    return try_open("/proc/sysrq-trigger", O_WRONLY);
}
static int probe_core_pattern(const char *arg)
{
    return try_open("/proc/sys/kernel/core_pattern", O_WRONLY);
}

static int probe_sys_write(const char *arg)
{
    const char *f = access("/sys/kernel/uevent_helper", F_OK) == 0 ? "/sys/kernel/uevent_helper"
                                                                   : "/sys/kernel/rcu_expedited";
    return try_open(f, O_WRONLY);
}

static int sys_result(long r)
{
    return r < 0 ? result_errno(errno) : allowed("syscall");
}

static int probe_init_module(const char *arg)
{
    static char image[64];
    return sys_result(syscall(SYS_init_module, image, sizeof(image), ""));
}

static int probe_finit_module(const char *arg)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    long r = syscall(SYS_finit_module, fd, "", 0);
    int e = errno;
    close(fd);
    errno = e;
    return sys_result(r);
}

static int probe_delete_module(const char *arg)
{
    return sys_result(syscall(SYS_delete_module, "lxm_probe_no_such_module", O_NONBLOCK));
}

/* Invalid flags: even an allowed call fails with EINVAL, loads nothing. */
static int probe_kexec_load(const char *arg)
{
    return sys_result(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0xdead0000UL));
}

static int probe_kexec_file_load(const char *arg)
{
    return sys_result(syscall(SYS_kexec_file_load, -1, -1, 0UL, "", 0xdead0000UL));
}

/* CVE-2022-0492: a new v1 hierarchy's release_agent runs on the host. The
 * probe only writes the agent when it is empty, and writes it empty. */
static int probe_release_agent(const char *arg)
{
    static const char *const opts[] = {
        "rdma", "net_cls", "perf_event", "hugetlb", "none,name=lxmprobe", NULL};
    char buf[256] = "";
    mkdir(TMP "-cg", 0700);
    int e = EPERM;
    const char *const *o;
    for (o = opts; *o; o++) {
        if (mount("cgroup", TMP "-cg", "cgroup", 0, *o) == 0)
            break;
        e = errno;
    }
    if (!*o)
        return result_errno(e);
    fprintf(stderr, "probe: mounted a cgroup v1 hierarchy with -o %s\n", *o);
    int fd = open(TMP "-cg/release_agent", O_RDWR | O_CLOEXEC);
    int r;
    if (fd < 0) {
        r = result_errno(errno);
    } else if (read(fd, buf, sizeof(buf)) > 1) {
        r = printf("SKIP: release_agent already set: %s", buf) * 0;
    } else {
        r = write(fd, "\n", 1) == 1 ? allowed("write of release_agent") : result_errno(errno);
    }
    if (fd >= 0)
        close(fd);
    umount2(TMP "-cg", MNT_DETACH);
    return r;
}

static int probe_kcore(const char *arg)
{
    char c;
    struct stat st;
    int fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return result_errno(errno);
    ssize_t n = read(fd, &c, 1);
    int e = errno;
    fstat(fd, &st);
    close(fd);
    if (n == 0 || (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))) {
        printf("MASKED\n");
        return 0;
    }
    return n < 0 ? result_errno(e) : allowed("read of /proc/kcore");
}

static int probe_keyctl(const char *arg)
{
    return sys_result(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0));
}

static int probe_add_key(const char *arg)
{
    return sys_result(syscall(SYS_add_key, "user", "lxm-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
}

/* Re-set the clock to what it reads: harmless if allowed. */
static int probe_settimeofday(const char *arg)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return sys_result(settimeofday(&tv, NULL));
}

static int probe_clock_settime(const char *arg)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return sys_result(clock_settime(CLOCK_REALTIME, &ts));
}

static int probe_bpf(const char *arg)
{
    struct bpf_insn prog[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = (unsigned long)prog;
    attr.insn_cnt = 2;
    attr.license = (unsigned long)"GPL";
    long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
    if (fd >= 0)
        close((int)fd);
    return sys_result(fd);
}

static int probe_perf_event(const char *arg)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_CPU_CLOCK;
    a.exclude_user = 1; /* kernel only, every task on cpu 0 */
    a.disabled = 1;
    long fd = syscall(SYS_perf_event_open, &a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd >= 0)
        close((int)fd);
    return sys_result(fd);
}

/* The container's netns holds no host interface: a raw socket is allowed
 * (CAP_NET_RAW of its own netns) but cannot bind to the host's iface. */
static int probe_raw_socket(const char *ifname)
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0)
        return result_errno(errno);
    close(fd);
    struct if_nameindex *ifs = if_nameindex();
    for (struct if_nameindex *i = ifs; i && i->if_index; i++)
        fprintf(stderr, "probe: interface %s\n", i->if_name);
    if (ifs)
        if_freenameindex(ifs);
    if (!ifname || !*ifname) {
        printf("SKIP: no host interface name given\n");
        return 0;
    }
    return if_nametoindex(ifname) == 0 ? result_errno(errno) : allowed("host interface visible");
}

static int probe_ptrace_host(const char *pidstr)
{
    char path[64];
    pid_t pid = pidstr ? (pid_t)atoi(pidstr) : 0;
    if (pid <= 1) {
        printf("SKIP: no host pid given\n");
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/%d", (int)pid);
    if (access(path, F_OK) == 0) {
        printf("SKIP: pid %d is also a pid inside the container\n", (int)pid);
        return 0;
    }
    int k = kill(pid, 0) < 0 ? errno : 0;
    int p = ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0 ? errno : 0;
    if (k && k == p)
        return result_errno(k);
    printf("kill=%s ptrace=%s\n", k ? strerrorname_np(k) : "ok", p ? strerrorname_np(p) : "ok");
    return 0;
}

/* fds above stderr of a process: "NONE" or "3->target,...". */
static void list_fds(const char *pid, char *out, size_t len)
{
    char dir[64], link[340], target[256];
    snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || (strcmp(pid, "self") == 0 && fd == dirfd(d)))
            continue;
        snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = '\0';
        fprintf(stderr, "probe: %s fd %d -> %s\n", pid, fd, target);
        if (fd > 2)
            snprintf(out + strlen(out), len - strlen(out), "%s%s:%d->%s", *out ? "," : "", pid, fd,
                     target);
    }
    if (d)
        closedir(d);
}

static int probe_fds(const char *arg)
{
    char out[2048] = "";
    list_fds("self", out, sizeof(out));
    list_fds("1", out, sizeof(out));
    printf("%s\n", *out ? out : "NONE");
    return 0;
}

/* CVE-2019-5736 class: the attached process's own exe cannot be written. */
static int probe_exe_write(const char *arg)
{
    return try_open("/proc/self/exe", O_WRONLY);
}

/* No process of the container runs the lxm binary. */
static int probe_exe_scan(const char *arg)
{
    char out[2048] = "", link[300], target[256];
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(link, sizeof(link), "/proc/%s/exe", e->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        const char *base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (strncmp(base, "lxm", 3) == 0 && strncmp(base, "lxm-probe", 9) != 0)
            snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s=%s ", e->d_name, target);
    }
    if (d)
        closedir(d);
    printf("%s\n", *out ? out : "NONE");
    return 0;
}

/* CVE-2019-5736 proper: watch /proc for SECONDS while the test runs `lxm
 * attach` repeatedly; hold an O_PATH fd on any exe named lxm* seen, then
 * try to reopen it for writing (never writes). NONE = never seen. */
static int probe_exe_race(const char *secs)
{
    char link[300], target[256], held[64];
    int fd = -1, seen = 0;
    time_t end = time(NULL) + (secs ? atoi(secs) : 5);

    while (time(NULL) < end && fd < 0) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && fd < 0 && (e = readdir(d))) {
            if (e->d_name[0] < '1' || e->d_name[0] > '9')
                continue;
            snprintf(link, sizeof(link), "/proc/%s/exe", e->d_name);
            ssize_t n = readlink(link, target, sizeof(target) - 1);
            if (n <= 0)
                continue;
            target[n] = '\0';
            const char *base = strrchr(target, '/');
            base = base ? base + 1 : target;
            if (strncmp(base, "lxm", 3) != 0 || strncmp(base, "lxm-probe", 9) == 0)
                continue;
            seen++;
            fd = open(link, O_PATH | O_CLOEXEC);
            fprintf(stderr, "probe: pid %s runs %s (O_PATH %s)\n", e->d_name, target,
                    fd < 0 ? strerror(errno) : "held");
        }
        if (d)
            closedir(d);
    }
    if (!seen) {
        printf("NONE\n");
        return 0;
    }
    if (fd < 0) {
        printf("SEEN:EACCES\n");
        return 0;
    }
    usleep(500 * 1000); /* let that process exec or exit */
    snprintf(held, sizeof(held), "/proc/self/fd/%d", fd);
    int w = open(held, O_WRONLY | O_CLOEXEC);
    if (w >= 0) {
        close(w);
        printf("SEEN:ALLOWED\n");
        return 0;
    }
    printf("SEEN:%s\n", strerrorname_np(errno));
    return 0;
}

/* In a child pid namespace only restart/halt/power-off exist: anything
 * else is EINVAL, so the host's ctrl-alt-del setting is out of reach. */
static int probe_reboot_cad(const char *arg)
{
    return sys_result(reboot(RB_DISABLE_CAD));
}

static int probe_reboot(const char *arg)
{
    sync();
    return sys_result(reboot(RB_POWER_OFF));
}

#if defined(__x86_64__)
static long int80(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}
#endif

/* The filter must cover the i386 entry point (keyctl is 288 there). */
static int probe_compat_i386(const char *arg)
{
#if defined(__x86_64__)
    int status;
    pid_t pid = fork();
    if (pid == 0)
        _exit(int80(20, 0, 0, 0) == getpid() ? 0 : 1);
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("SKIP: this kernel does not run i386 syscalls (int $0x80)\n");
        return 0;
    }
    long r = int80(288, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
    return r < 0 ? result_errno((int)-r) : allowed("i386 keyctl");
#else
    printf("SKIP: not an amd64 host\n");
    return 0;
#endif
}

static int probe_swapon(const char *arg)
{
    return sys_result(swapon(TMP "-no-such-swapfile", 0));
}

static int probe_iopl(const char *arg)
{
#if defined(__x86_64__)
    return sys_result(iopl(3));
#else
    printf("SKIP: not an amd64 host\n");
    return 0;
#endif
}

/* Re-set the console log level to its current value. */
static int probe_syslog(const char *arg)
{
    int level = 4;
    FILE *f = fopen("/proc/sys/kernel/printk", "re");
    if (f) {
        if (fscanf(f, "%d", &level) != 1)
            level = 4;
        fclose(f);
    }
    return sys_result(klogctl(8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, NULL, level));
}

/* --- locked masks (issue 16): the mount or unmount itself must fail ----------- */

/* Is path a mount point in our namespace (a line of mountinfo)? */
static int is_mount_point(const char *path)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096], mp[4096];
    int found = 0;
    while (f && !found && fgets(line, sizeof(line), f))
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strcmp(mp, path) == 0)
            found = 1;
    if (f)
        fclose(f);
    return found;
}

/* A probe of a mount must find one: NOTMOUNTED fails the expected errno. */
static int need_mount(const char *path)
{
    if (!path) {
        printf("SKIP: no path given\n");
        return 0;
    }
    if (access(path, F_OK) < 0) {
        printf("SKIP: %s does not exist here\n", path);
        return 0;
    }
    if (!is_mount_point(path)) {
        fprintf(stderr, "probe: %s is not a mount point\n", path);
        printf("NOTMOUNTED\n");
        return 0;
    }
    return 1;
}

/* umount (lazy, the strongest form) of a mask or kernel filesystem. */
static int probe_umount(const char *path)
{
    if (!need_mount(path))
        return 0;
    if (umount2(path, MNT_DETACH) < 0)
        return result_errno(errno);
    return allowed("umount");
}

/* Read-write again: per mount (bind remount), per superblock (remount),
 * and with mount_setattr. The nosuid/nodev/noexec we set are passed on, so
 * only the read-only flag is asked to change. */
static int probe_remount_rw(const char *path)
{
    const unsigned long keep = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    struct statvfs sv;
    if (!need_mount(path))
        return 0;
    if (statvfs(path, &sv) == 0 && !(sv.f_flag & ST_RDONLY)) {
        fprintf(stderr, "probe: %s is not read-only to begin with\n", path);
        printf("NOTRO\n");
        return 0;
    }
    int first = 0, ok = 0;
    if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | keep, NULL) == 0)
        ok = 1;
    else
        first = errno;
    if (!ok && mount(NULL, path, NULL, MS_REMOUNT | keep, NULL) == 0)
        ok = 1;
    struct mount_attr a = {.attr_clr = MOUNT_ATTR_RDONLY};
    if (!ok && mount_setattr(AT_FDCWD, path, 0, &a, sizeof(a)) == 0)
        ok = 1;
    if (!ok)
        return result_errno(first);
    mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL);
    return allowed("remount read-write");
}

/* A fresh proc or sysfs, with the flags most likely to be let through. */
static int fresh_mount(const char *type, unsigned long flags)
{
    mkdir(TMP "-fresh", 0700);
    if (mount(type, TMP "-fresh", type, flags, NULL) < 0)
        return result_errno(errno);
    umount2(TMP "-fresh", MNT_DETACH);
    return allowed(type);
}

static int probe_fresh_proc(const char *arg)
{
    return fresh_mount("proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

static int probe_fresh_sysfs(const char *arg)
{
    return fresh_mount("sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
}

/* The same through the new mount API: the check is at fsmount(). */
static int fs_mount_api(const char *type, unsigned attrs)
{
    int fs = fsopen(type, FSOPEN_CLOEXEC);
    if (fs < 0)
        return result_errno(errno);
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
        int e = errno;
        close(fs);
        return result_errno(e);
    }
    int m = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
    int e = errno;
    close(fs);
    if (m < 0)
        return result_errno(e);
    close(m);
    return allowed(type);
}

static int probe_fsmount_proc(const char *arg)
{
    return fs_mount_api("proc", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
}

static int probe_fsmount_sysfs(const char *arg)
{
    return fs_mount_api("sysfs", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
                                     MOUNT_ATTR_RDONLY);
}

static const struct {
    const char *name;
    int (*fn)(const char *arg);
} probes[] = {
    {"mknod_disk", probe_mknod_disk},
    {"mknod_mem", probe_mknod_mem},
    {"mount_blockdev", probe_mount_blockdev},
    {"mount_proc", probe_mount_proc},
    {"mount_sysfs", probe_mount_sysfs},
    {"mount_debugfs", probe_mount_debugfs},
    {"open_by_handle_at", probe_open_by_handle_at},
    {"sysrq", probe_sysrq},
    {"core_pattern", probe_core_pattern},
    {"sys_write", probe_sys_write},
    {"init_module", probe_init_module},
    {"finit_module", probe_finit_module},
    {"delete_module", probe_delete_module},
    {"kexec_load", probe_kexec_load},
    {"kexec_file_load", probe_kexec_file_load},
    {"release_agent", probe_release_agent},
    {"kcore", probe_kcore},
    {"keyctl", probe_keyctl},
    {"add_key", probe_add_key},
    {"settimeofday", probe_settimeofday},
    {"clock_settime", probe_clock_settime},
    {"bpf", probe_bpf},
    {"perf_event", probe_perf_event},
    {"raw_socket", probe_raw_socket},
    {"ptrace_host", probe_ptrace_host},
    {"fds", probe_fds},
    {"exe_write", probe_exe_write},
    {"exe_scan", probe_exe_scan},
    {"exe_race", probe_exe_race},
    {"reboot_cad", probe_reboot_cad},
    {"reboot", probe_reboot},
    {"compat_i386", probe_compat_i386},
    {"swapon", probe_swapon},
    {"iopl", probe_iopl},
    {"syslog", probe_syslog},
    {"umount", probe_umount},
    {"remount_rw", probe_remount_rw},
    {"fresh_proc", probe_fresh_proc},
    {"fresh_sysfs", probe_fresh_sysfs},
    {"fsmount_proc", probe_fsmount_proc},
    {"fsmount_sysfs", probe_fsmount_sysfs},
};

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
            printf("%s\n", probes[i].name);
        return 0;
    }
    /* "unshare:NAME": the probe in a mount namespace of its own (unshare -m). */
    if (argc >= 2 && strncmp(argv[1], "unshare:", 8) == 0) {
        if (unshare(CLONE_NEWNS) < 0) {
            printf("UNSHARE:%s\n", strerrorname_np(errno));
            return 0;
        }
        argv[1] += 8;
    }
    for (size_t i = 0; argc >= 2 && i < sizeof(probes) / sizeof(probes[0]); i++)
        if (strcmp(argv[1], probes[i].name) == 0) {
            setvbuf(stdout, NULL, _IOLBF, 0);
            probes[i].fn(argc >= 3 ? argv[2] : NULL);
            return 0;
        }
    fprintf(stderr, "usage: lxm-probe list | lxm-probe NAME [ARG]\n");
    return 2;
}

/* devices: policy entries -> rules; and, as root, the rules' effect on a
 * forked child placed in a scratch v1 devices cgroup and in a scratch
 * cgroup2 directory with the BPF device program attached. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>

#include "security/devices.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define V1_DEVICES "/sys/fs/cgroup/devices"
#define V2_ROOT "/sys/fs/cgroup/unified"

static void test_rules(void)
{
    struct lxm_error err = {0};
    char buf[64];

    lxm_devices_rule("fuse", buf, sizeof(buf), &err);
    is_str(buf, "c 10:229 rwm", "fuse");
    lxm_devices_rule("net/tun", buf, sizeof(buf), &err);
    is_str(buf, "c 10:200 rwm", "net/tun");
    lxm_devices_rule("loop", buf, sizeof(buf), &err);
    is_str(buf, "b 7:* rwm", "loop: every loop device");
    is_int(lxm_devices_rule("c 4:* rw", buf, sizeof(buf), &err), 0, "explicit rule");
    is_str(buf, "c 4:* rw", "explicit rule kept");
    if (path_exists("/dev/null")) {
        lxm_devices_rule("null", buf, sizeof(buf), &err);
        is_str(buf, "c 1:3 rwm", "other names: looked up in the host's /dev");
    }
    is_int(lxm_devices_rule("../etc/passwd", buf, sizeof(buf), &err), -EINVAL, "'..' rejected");
    is_int(lxm_devices_rule("no-such-device", buf, sizeof(buf), &err), -EINVAL, "unknown rejected");
    ok(strstr(err.msg, "no-such-device") != NULL, "and named: %s", err.msg);
    is_int(lxm_devices_rule("c 1:3 rwx", buf, sizeof(buf), &err), -EINVAL, "bad access rejected");
}

/* In the child: 1 = /dev/null failed, 2 = /dev/fuse not EPERM, 4 = tun
 * allowed-ness wrong, 8 = mknod of a disk not EPERM. */
static int probe(bool tun_allowed)
{
    int bad = 0, fd;

    if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
        bad |= 1;
    else
        close(fd);
    errno = 0;
    if ((fd = open("/dev/fuse", O_RDWR | O_CLOEXEC)) >= 0 || errno != EPERM)
        bad |= 2;
    if (fd >= 0)
        close(fd);
    fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if ((fd >= 0) != tun_allowed || (fd < 0 && errno != EPERM))
        bad |= 4;
    if (fd >= 0)
        close(fd);
    char node[64];
    snprintf(node, sizeof(node), "/tmp/lxm-test-devices-sda.%d", (int)getpid());
    if (mknod(node, S_IFBLK | 0600, makedev(8, 0)) == 0 || errno != EPERM)
        bad |= 8;
    unlink(node);
    return bad;
}

/* Run probe() in a child that first joins the cgroup via procs_file. */
static int run_in(const char *procs_file, bool tun_allowed)
{
    int status;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char s[32];
        snprintf(s, sizeof(s), "%d", (int)getpid());
        if (write_string(procs_file, s) < 0)
            _exit(64);
        _exit(probe(tun_allowed));
    }
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void check(int r, const char *what)
{
    ok(r == 0, "%s: /dev/null opens, /dev/fuse EPERM, tun as allowed, mknod sda EPERM (code %d)",
       what, r);
}

static void test_v1(void)
{
    struct lxm_policy p = {0};
    struct lxm_error err = {0};
    char *devs[] = {"net/tun", NULL};

    if (geteuid() != 0 || !path_exists(V1_DEVICES "/devices.allow") || !path_exists("/dev/fuse")) {
        printf("ok %d - v1 devices cgroup # SKIP needs root, " V1_DEVICES " and /dev/fuse\n",
               ++tap_n);
        return;
    }
    _cleanup_free_ char *dir = xasprintf(V1_DEVICES "/lxm-test-devices.%d", (int)getpid());
    _cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
    mkdir(dir, 0755);
    p.devices = devs;
    int r = lxm_devices_apply(&p, dir, -1, &err);
    is_int(r, 0, "v1 rules applied%s%s", r ? ": " : "", r ? err.msg : "");
    char *list = NULL;
    _cleanup_free_ char *list_file = xasprintf("%s/devices.list", dir);
    read_file(list_file, &list, NULL);
    ok(list && strstr(list, "c 1:3 rwm") && strstr(list, "c 10:200 rwm") && !strstr(list, "a *:*"),
       "devices.list holds the allowlist, not 'a *:* rwm'");
    free(list);
    check(run_in(procs, true), "v1");
    rmdir(dir);
}

static void test_v2(void)
{
    struct lxm_policy p = {0};
    struct lxm_error err = {0};
    struct statfs sf;

    if (geteuid() != 0 || statfs(V2_ROOT, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC ||
        !path_exists("/dev/fuse")) {
        printf("ok %d - cgroup2 BPF device program # SKIP needs root, a cgroup2 at " V2_ROOT
               " and /dev/fuse\n",
               ++tap_n);
        return;
    }
    _cleanup_free_ char *dir = xasprintf(V2_ROOT "/lxm-test-devices.%d", (int)getpid());
    _cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
    mkdir(dir, 0755);
    _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = lxm_devices_apply(&p, NULL, fd, &err);
    is_int(r, 0, "BPF device program attached%s%s", r ? ": " : "", r ? err.msg : "");
    if (r == 0)
        check(run_in(procs, false), "cgroup2 BPF");
    rmdir(dir);
}

int main(void)
{
    test_rules();
    test_v1();
    test_v2();
    return done();
}

/* lxm-confine: run a command confined by a profile's security policy the
 * way the runtime confines a container's processes, without a rootfs:
 *
 *   lxm-confine PROFILE.yaml CMD [ARG...]
 *
 * New mount/pid/net/uts/ipc/cgroup namespaces, a scratch v1 devices cgroup
 * (or a cgroup2 dir with the BPF device program) with the policy's allowlist, the policy's masked
 * and read-only paths over a fresh /proc, then lxm_caps_apply,
 * no_new_privs, lxm_seccomp_load, exec. Lets security.sh check the
 * capability, seccomp and device layers even where no container runs. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "security/devices.h"
#include "security/security.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define V1_DEVICES "/sys/fs/cgroup/devices"
#define V2_UNIFIED "/sys/fs/cgroup/unified"
#define V2_ROOT "/sys/fs/cgroup"

static int die(const char *what, const struct lxm_error *err)
{
    fprintf(stderr, "lxm-confine: %s: %s\n", what, err ? err->msg : strerror(errno));
    return 125;
}

static void mask(char **paths)
{
    struct stat st;
    for (char **p = paths; p && *p; p++) {
        if (stat(*p, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode))
            mount("tmpfs", *p, "tmpfs", MS_RDONLY, "size=0,mode=0555");
        else
            mount("/dev/null", *p, NULL, MS_BIND, NULL);
    }
}

static void readonly(char **paths)
{
    for (char **p = paths; p && *p; p++)
        if (mount(*p, *p, NULL, MS_BIND | MS_REC, NULL) == 0)
            mount(NULL, *p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
}

/* pid 1 of the new pid namespace. */
static int confined(const struct lxm_policy *p, struct lxm_seccomp *s, char **argv)
{
    struct lxm_error err = {0};

    /* The command may live below /tmp, which gets a scratch tmpfs. */
    int exe = strchr(argv[0], '/') ? open(argv[0], O_PATH | O_CLOEXEC) : -1;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return die("mount /proc", NULL);
    mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    mask(p->masked_paths);
    readonly(p->readonly_paths);
    if (lxm_caps_apply(p, &err) < 0)
        return die("capabilities", &err);
    if (lxm_security_apply_nnp(p, &err) < 0)
        return die("no_new_privs", &err);
    if (lxm_seccomp_load(s, &err) < 0)
        return die("seccomp", &err);
    if (exe >= 0)
        syscall(SYS_execveat, exe, "", argv, environ, AT_EMPTY_PATH);
    else
        execvp(argv[0], argv);
    return die(argv[0], NULL);
}

static int wait_for(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return die("waitpid", NULL);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* In a child that joins the cgroup (procs) and then the new namespaces:
 * the caller stays outside both, so it can remove the cgroup afterwards. */
static int run(const struct lxm_policy *p, struct lxm_seccomp *s, const char *procs, char **argv)
{
    char pidbuf[32];

    fflush(stdout);
    pid_t outer = fork();
    if (outer < 0)
        return die("fork", NULL);
    if (outer > 0)
        return wait_for(outer);
    snprintf(pidbuf, sizeof(pidbuf), "%d", (int)getpid());
    if (write_string(procs, pidbuf) < 0)
        _exit(die(procs, NULL));
    if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC |
                CLONE_NEWCGROUP) < 0)
        _exit(die("unshare", NULL));
    pid_t pid = fork();
    if (pid < 0)
        _exit(die("fork", NULL));
    if (pid == 0)
        _exit(confined(p, s, argv));
    _exit(wait_for(pid));
}

int main(int argc, char **argv)
{
    struct lxm_profile *prof = NULL;
    struct lxm_seccomp *s = NULL;
    struct lxm_error err = {0};

    if (argc < 3) {
        fprintf(stderr, "usage: lxm-confine PROFILE.yaml CMD [ARG...]\n");
        return 2;
    }
    if (lxm_profile_load(argv[1], &prof, &err) < 0)
        return die("profile", &err);
    if (lxm_seccomp_compile(&prof->policy, &s, &err) < 0)
        return die("seccomp", &err);
    /* A scratch devices cgroup (v1, else a cgroup2 dir with the BPF
     * program) for the command; removed once it is gone. */
    bool v1 = path_exists(V1_DEVICES "/devices.allow");
    const char *root = v1                                        ? V1_DEVICES
                       : path_exists(V2_UNIFIED "/cgroup.procs") ? V2_UNIFIED
                                                                 : V2_ROOT;
    _cleanup_free_ char *cg = xasprintf("%s/lxm-confine.%d", root, (int)getpid());
    _cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", cg);
    if (mkdir(cg, 0755) < 0)
        return die(cg, NULL);
    _cleanup_close_ int cgfd = v1 ? -1 : open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lxm_devices_apply(&prof->policy, v1 ? cg : NULL, cgfd, &err) < 0) {
        rmdir(cg);
        return die("devices cgroup", &err);
    }
    int rc = run(&prof->policy, s, procs, argv + 2);
    if (rmdir(cg) < 0)
        fprintf(stderr, "lxm-confine: remove %s: %s\n", cg, strerror(errno));
    lxm_seccomp_free(s);
    lxm_profile_free(prof);
    return rc;
}

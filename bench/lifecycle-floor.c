/* bench/lifecycle-floor.c: the floor under a container start, for
 * bench/lifecycle. It does the kernel's part of a container start and
 * nothing else: new user, mount, pid, uts, ipc, net and cgroup namespaces
 * in one clone(), container ids 0..COUNT-1 mapped onto BASE.. (written
 * by the parent, as a privileged runtime does), /proc mounted, a chroot
 * into ROOTFS and an exec of CMD; then it waits for CMD and exits with
 * its status. No configuration, no cgroups, no seccomp, no monitor.
 *
 *   lifecycle-floor BASE COUNT ROOTFS CMD [ARG...]
 *
 * bench/lifecycle compiles it with `cc -O2` into its own --root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

static int sync_pipe[2];
static char *rootfs;
static char **cmd;

static void die(const char *what)
{
    fprintf(stderr, "lifecycle-floor: %s: %s\n", what, strerror(errno));
    _exit(127);
}

static int child(void *arg)
{
    char c;

    (void)arg;
    close(sync_pipe[1]);
    if (read(sync_pipe[0], &c, 1) != 1)
        _exit(127); /* the parent failed to write the id maps */
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
        die("setresuid 0");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die("make / private");
    if (chroot(rootfs) < 0 || chdir("/") < 0)
        die(rootfs);
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("mount /proc");
    execv(cmd[0], cmd);
    die(cmd[0]);
    return 0;
}

static void write_map(pid_t pid, const char *file, const char *map)
{
    char path[64];
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, map, strlen(map)) < 0)
        die(path);
    close(fd);
}

int main(int argc, char **argv)
{
    static char stack[64 * 1024] __attribute__((aligned(16)));
    char map[64];
    int status;
    pid_t pid;

    if (argc < 5) {
        fprintf(stderr, "usage: lifecycle-floor BASE COUNT ROOTFS CMD [ARG...]\n");
        return 2;
    }
    snprintf(map, sizeof(map), "0 %s %s\n", argv[1], argv[2]);
    rootfs = argv[3];
    cmd = argv + 4;
    if (pipe2(sync_pipe, O_CLOEXEC) < 0)
        die("pipe");
    pid = clone(child, stack + sizeof(stack),
                CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC |
                    CLONE_NEWNET | CLONE_NEWCGROUP | SIGCHLD,
                NULL);
    if (pid < 0)
        die("clone");
    close(sync_pipe[0]);
    write_map(pid, "uid_map", map);
    write_map(pid, "gid_map", map);
    if (write(sync_pipe[1], "x", 1) != 1)
        die("sync");
    close(sync_pipe[1]);
    if (waitpid(pid, &status, 0) < 0)
        die("waitpid");
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

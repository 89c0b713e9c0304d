/* attach.c: run a command inside a running container. The CLI finds init
 * from the state file (no round trip to the monitor), reads what the
 * command needs (the user from the container's passwd, the config, the
 * seccomp program from the cache of seccomp-cache.c), opens the files of
 * the container's cgroups (the host's layout from the cache of
 * cgroup-layout-cache.c), and clones the command straight into init's pid
 * namespace and the container's cgroup2 directory. The command joins the
 * other namespaces (one setns on init's pidfd) and then the v1 hierarchies
 * itself (cgroup-enter.h says why), takes a pty from the container's own
 * devpts (or the caller's stdio), the container's security context, and
 * nothing else of the host. */
#include "runtime/runtime-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup-layout-cache.h"
#include "runtime/passwd.h"
#include "security/seccomp-cache.h"
#include "util/cleanup.h"
#include "util/clone-vm.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/sched.h"
#include "util/strv.h"

#define ATTACH_NS                                                                                  \
    (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP)

extern char **environ;

struct attach_ctx {
    struct lxm_container *c;
    const struct lxm_attach_opts *opts;
    struct lxm_cgroup *cg;
    struct lxm_cgroup_entry entry; /* cg's files, opened for the command */
    struct lxm_seccomp *seccomp;
    char *apparmor_profile;
    struct lxm_user user; /* resolved in the container's passwd/group */
    int pidfd;
    pid_t init;
    bool userns; /* init is in a user namespace other than ours */
    bool tty;
    /* Pipes, but stdin is the user's terminal: the command stays in the
     * terminal's foreground group (it may read it) and gets Ctrl-C from
     * the terminal itself, so terminal-sent signals are not forwarded. */
    bool same_pgrp;
    int sock;     /* command -> CLI: the pty master */
    int error_fd; /* command -> CLI: why it failed */
};

static int exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

/* Exit statuses of a command that could not be run, as a shell has them:
 * not found, found but not executable. The error pipe says why; any other
 * failure before the exec exits EXIT_SETUP. */
#define EXIT_NOT_FOUND 127
#define EXIT_NOT_EXECUTABLE 126
#define EXIT_SETUP 125

static void fail_child_with(int error_fd, struct lxm_error *err, int status) __attribute__((noreturn));
static void fail_child_with(int error_fd, struct lxm_error *err, int status)
{
    (void)!lxm_write_all(error_fd, err->msg, strlen(err->msg));
    _exit(status);
}

static void fail_child(int error_fd, struct lxm_error *err) __attribute__((noreturn));
static void fail_child(int error_fd, struct lxm_error *err)
{
    fail_child_with(error_fd, err, EXIT_SETUP);
}

/* HOME, USER, LOGNAME and SHELL of the user, then the caller's --env. */
static char **command_env(const struct attach_ctx *a)
{
    const struct lxm_user *u = &a->user;
    const char *term = getenv("TERM");
    _cleanup_strv_free_ char **extra = NULL;
    int r = 0;
    if (u->name) {
        r |= strv_consume(&extra, xasprintf("USER=%s", u->name));
        r |= strv_consume(&extra, xasprintf("LOGNAME=%s", u->name));
    }
    r |= strv_consume(&extra, xasprintf("SHELL=%s", u->shell));
    for (size_t i = 0; a->opts->env && a->opts->env[i]; i++)
        r |= strv_push(&extra, a->opts->env[i]);
    if (r < 0)
        return NULL;
    return lxm_container_env(a->c->config, a->tty && term ? term : "dumb", u->home, extra);
}

/* --cwd must work; the home directory may be missing (then /). */
static int enter_cwd(const struct attach_ctx *a, struct lxm_error *err)
{
    if (a->opts->cwd)
        return chdir(a->opts->cwd) < 0
                   ? lxm_error_errno(err, errno, "attach: chdir %s", a->opts->cwd)
                   : 0;
    if (chdir(a->user.home) < 0 && chdir("/") < 0)
        return lxm_error_errno(err, errno, "attach: chdir /");
    return 0;
}

static void exec_command(const struct attach_ctx *a, char **env) __attribute__((noreturn));
static void exec_command(const struct attach_ctx *a, char **env)
{
    struct lxm_error err = {0};
    /* Only stdio and the error pipe (close-on-exec) cross into the command. */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        lxm_error_errno(&err, errno, "attach: close the host's file descriptors (close_range)");
        fail_child(a->error_fd, &err);
    }
    environ = env;
    if (a->opts->argv && a->opts->argv[0]) {
        execvp(a->opts->argv[0], a->opts->argv);
        int e = errno;
        lxm_error_errno(&err, e, "attach: exec %s", a->opts->argv[0]);
        fail_child_with(a->error_fd, &err, e == ENOENT ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE);
    }
    /* A login shell: argv[0] is "-" and the shell's name. */
    const char *base = strrchr(a->user.shell, '/');
    char login[256];
    snprintf(login, sizeof(login), "-%s", base ? base + 1 : a->user.shell);
    char *argv[] = {login, NULL};
    execv(a->user.shell, argv);
    lxm_error_errno(&err, errno, "attach: exec the login shell %s", a->user.shell);
    fail_child(a->error_fd, &err);
}

/* The command itself, in the container's pid namespace. */
static void run_command(struct attach_ctx *a, int slave) __attribute__((noreturn));
static void run_command(struct attach_ctx *a, int slave)
{
    struct lxm_error err = {0};
    const struct lxm_user *u = &a->user;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (slave >= 0) {
        if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0 || dup2(slave, 0) < 0 ||
            dup2(slave, 1) < 0 || dup2(slave, 2) < 0) {
            lxm_error_errno(&err, errno, "attach: terminal");
            fail_child(a->error_fd, &err);
        }
    }
    if (enter_cwd(a, &err) < 0)
        fail_child(a->error_fd, &err);
    char **env = command_env(a);
    /* While still root: dropping from the bounding set needs CAP_SETPCAP,
     * and a filter without no_new_privs needs CAP_SYS_ADMIN. */
    if (!env || lxm_apply_security(a->c->config, a->seccomp, a->apparmor_profile, &err) < 0) {
        if (!env)
            lxm_error_set(&err, ENOMEM, "out of memory");
        fail_child(a->error_fd, &err);
    }
    /* Plain root keeps what it has: a profile may have dropped the
     * capabilities a switch needs. */
    bool plain_root = u->uid == 0 && u->gid == 0 && u->n_groups <= 1;
    if (!plain_root &&
        (setgroups(u->n_groups, u->groups) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
         setresuid(u->uid, u->uid, u->uid) < 0)) {
        lxm_error_errno(&err, errno, "attach: switch to uid %u gid %u", (unsigned)u->uid,
                        (unsigned)u->gid);
        fail_child(a->error_fd, &err);
    }
    exec_command(a, env);
}

/* Allocate the pty from the container's devpts; the slave through
 * TIOCGPTPEER so no path inside the container is trusted for it. */
static int open_container_pty(int *slave, struct lxm_error *err)
{
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return lxm_error_errno(err, errno, "attach: open /dev/ptmx in the container");
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0 ||
        (*slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
        close(master);
        return lxm_error_errno(err, errno, "attach: open pty");
    }
    return master;
}

/* The command, created in init's pid namespace and the container's
 * cgroup2 directory: straight into the other namespaces (it never works in
 * the host's mount namespace), then into the v1 hierarchies by its own
 * hand, before it touches anything of the container; then run_command(). */
static void enter_container(struct attach_ctx *a) __attribute__((noreturn));
static void enter_container(struct attach_ctx *a)
{
    struct lxm_error err = {0};
    /* Pipes: a group of its own unless it shares the user's terminal
     * (same_pgrp); a pty: setsid() in run_command() makes one. */
    if (!a->same_pgrp && !a->tty)
        setpgid(0, 0);
    /* With CLONE_NEWUSER the kernel joins the user namespace first, so
     * the others are entered as its root. */
    if (setns(a->pidfd, ATTACH_NS | (a->userns ? CLONE_NEWUSER : 0)) < 0) {
        lxm_error_errno(&err, errno, "attach: enter namespaces");
        fail_child(a->error_fd, &err);
    }
    if (a->userns && lxm_idmap_become_root(&err) < 0) {
        lxm_error_prefix(&err, "attach: user namespace");
        fail_child(a->error_fd, &err);
    }
    /* A real-time caller (chrt): the command runs with the normal
     * policy, which the v1 cpu controller lets into the container. */
    (void)lxm_sched_normal();
    if (lxm_cgroup_entry_join_v1(&a->entry, &err) < 0) {
        lxm_error_prefix(&err, "attach: cgroup");
        fail_child(a->error_fd, &err);
    }
    int slave = -1;
    if (a->tty) {
        int master = open_container_pty(&slave, &err);
        if (master < 0 || lxm_send_fd(a->sock, master) < 0)
            fail_child(a->error_fd, &err);
        close(master);
        close(a->sock);
    }
    run_command(a, slave);
}

/* The command's own stack while it shares our memory (clone-vm.h): it
 * needs a few KiB (error messages, execvp's path); untouched pages cost
 * nothing. */
#define COMMAND_STACK_SIZE (256 * 1024)

static int command_main(void *arg)
{
    enter_container(arg);
}

/* The command shares our memory until its exec (no copy of our page
 * tables, no copy-on-write faults): we wait meanwhile. Where that cannot
 * be done (another architecture, a process that had threads), a fork. environ is ours again after
 * (exec_command sets the command's). */
static pid_t spawn_command(struct attach_ctx *a, struct clone_args *args)
{
    void *stack = mmap(NULL, COMMAND_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    if (stack != MAP_FAILED) {
        char **env = environ;
        struct clone_args vm = *args;
        vm.flags |= CLONE_VM | CLONE_VFORK;
        pid_t pid = lxm_clone3_vm(&vm, stack, COMMAND_STACK_SIZE, command_main, a);
        int e = errno;
        environ = env;
        munmap(stack, COMMAND_STACK_SIZE);
        if (pid >= 0 || e != ENOSYS) {
            errno = e;
            return pid;
        }
    }
    pid_t pid = (pid_t)syscall(SYS_clone3, args, sizeof(*args));
    if (pid == 0)
        enter_container(a);
    return pid;
}

/* Create the command in init's pid namespace (the CLI sets where its
 * children go: setns CLONE_NEWPID changes nothing of its own, and it is
 * set back at once) and, with clone3, in the container's cgroup2
 * directory. The pid or -errno. */
static pid_t clone_command(struct attach_ctx *a, struct lxm_error *err)
{
    /* Until its exec nothing in the container may take hold of the
     * command (ptrace, /proc/PID/mem): between its setns() into the
     * container's user namespace and its switch to the container's root
     * it passes the credential checks, and it shares our memory. A
     * non-dumpable mm needs CAP_SYS_PTRACE over the host's user namespace
     * too. The flag belongs to the mm, so it is ours from here on (we only
     * wait and relay now); the command's exec gets a new one. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return lxm_error_errno(err, errno, "attach: prctl(PR_SET_DUMPABLE)");
    _cleanup_close_ int self = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return lxm_error_errno(err, errno, "attach: open /proc/self/ns/pid");
    if (setns(a->pidfd, CLONE_NEWPID) < 0)
        return lxm_error_errno(err, errno, "attach: enter the pid namespace");
    int cgfd = a->entry.v2_dir;
    struct clone_args args = {
        .flags = cgfd >= 0 ? CLONE_INTO_CGROUP : 0,
        .exit_signal = SIGCHLD,
        .cgroup = cgfd >= 0 ? (uint64_t)cgfd : 0,
    };
    pid_t pid = spawn_command(a, &args);
    int e = errno;
    if (setns(self, CLONE_NEWPID) < 0 && pid > 0) {
        /* Cannot happen (our own namespace); never leave a command behind
         * that nobody waits for the right way. */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return lxm_error_errno(err, errno, "attach: back to our pid namespace");
    }
    if (pid < 0)
        return lxm_error_errno(err, e, "attach: clone3%s", cgfd >= 0 ? " into the cgroup" : "");
    return pid;
}

/* Decided from init itself, not the config: it may have been changed
 * since the boot. */
static bool in_other_userns(pid_t pid)
{
    char path[64];
    struct stat a, b;
    snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
    return stat(path, &a) == 0 && stat("/proc/self/ns/user", &b) == 0 &&
           (a.st_ino != b.st_ino || a.st_dev != b.st_dev);
}

/* The user's names come from the container's files, read through init's
 * root (where the container sees /), checked to be init's still. */
static int resolve_user(struct attach_ctx *a, pid_t init, struct lxm_error *err)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/root", (int)init);
    _cleanup_close_ int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0 || pidfd_send_signal(a->pidfd, 0, NULL, 0) < 0)
        return lxm_error_set(err, ESRCH, "container '%s' is not running", a->c->name);
    int r = lxm_user_resolve(root, a->opts->user, &a->user, err);
    return r < 0 ? lxm_error_prefix(err, "%s", a->c->name) : 0;
}

/* Running = the state file names an init that is still the same process
 * (no round trip to the monitor); frozen = its cgroup says so. */
static int find_init(struct attach_ctx *a, struct lxm_error *err)
{
    struct lxm_container *c = a->c;
    struct lxm_state_file st;
    if (lxm_state_read(c, &st) < 0 || st.init_pid <= 0 ||
        (a->pidfd = lxm_pidfd_verified(st.init_pid, st.init_starttime)) < 0)
        return lxm_error_set(err, EINVAL, "container '%s' is not running", c->name);
    a->init = st.init_pid;
    int r = lxm_cgroup_open_entry(c->id, c->paths->run, &a->cg, &a->entry, err);
    if (r < 0 && r != -ENOENT)
        return lxm_error_prefix(err, "attach: cgroup");
    lxm_error_clear(err);
    if (a->cg && lxm_cgroup_is_frozen(a->cg) == 1)
        return lxm_error_set(err, EBUSY, "container '%s' is frozen (run 'lxm unfreeze %s' first)",
                             c->name, c->name);
    return 0;
}

/* Everything the command takes from the container, before it exists. */
static int prepare(struct attach_ctx *a, struct lxm_error *err)
{
    struct lxm_container *c = a->c;
    int r = find_init(a, err);
    if (r < 0)
        return r;
    a->userns = in_other_userns(a->init);
    r = resolve_user(a, a->init, err);
    if (r < 0)
        return r;
    r = lxm_runtime_load_config(c, err);
    if (r < 0)
        return r;
    r = lxm_seccomp_cached(&c->config->policy, c->paths->run, &a->seccomp, err);
    if (r < 0)
        return lxm_error_prefix(err, "attach: seccomp");
    r = lxm_apparmor_attach_profile(c->id, &c->config->policy, &a->apparmor_profile, err);
    if (r < 0)
        return lxm_error_prefix(err, "attach: apparmor");
    return 0;
}

/* Relay the pty until the command exits; then drain what is left. */
static void relay_pty(int master, int sfd, pid_t pid, bool stdin_tty)
{
    struct termios saved;
    bool raw = lxm_tty_raw(STDIN_FILENO, &saved) == 0;
    lxm_tty_copy_winsize(STDIN_FILENO, master);
    lxm_relay(STDIN_FILENO, STDOUT_FILENO, master, stdin_tty ? 0 : LXM_RELAY_FEED_EOF, sfd, pid);
    if (raw)
        lxm_tty_restore(STDIN_FILENO, &saved);
}

/* Forward signals to the command and pass its status on as ours. */
static int wait_command(pid_t pid, int sfd, bool same_pgrp)
{
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return exit_code(status);
        if (r < 0 && errno != EINTR)
            return 1;
        struct signalfd_siginfo si;
        if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD &&
            si.ssi_signo != SIGWINCH && !(same_pgrp && si.ssi_code == SI_KERNEL))
            kill(pid, (int)si.ssi_signo);
    }
}

/* What the command wrote on its error pipe before dying, as the error;
 * otherwise r, its exit status. A command that could not be exec'd keeps
 * its shell-like status (127, 126) with the message in err. */
static int command_error(int fd, struct lxm_error *err, int r)
{
    char msg[LXM_ERROR_MAX];
    ssize_t n = read(fd, msg, sizeof(msg) - 1);
    if (n <= 0)
        return r;
    msg[n] = '\0';
    int e = lxm_error_set(err, EIO, "%s", msg);
    return r == EXIT_NOT_FOUND || r == EXIT_NOT_EXECUTABLE ? r : e;
}

static int run_attach(struct attach_ctx *a, struct lxm_error *err)
{
    int sp[2] = {-1, -1}, ep[2];
    if (a->tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return lxm_error_errno(err, errno, "socketpair");
    if (pipe2(ep, O_CLOEXEC) < 0) {
        int e = errno;
        if (sp[0] >= 0)
            close(sp[0]), close(sp[1]);
        return lxm_error_errno(err, e, "pipe");
    }
    sigset_t mask, old;
    sigemptyset(&mask);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGCHLD, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
        sigaddset(&mask, sigs[i]);
    sigprocmask(SIG_BLOCK, &mask, &old);
    _cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    a->sock = sp[1];
    a->error_fd = ep[1];
    pid_t pid = clone_command(a, err);
    _cleanup_close_ int err_r = ep[0], sock = sp[0];
    close(ep[1]);
    if (sp[1] >= 0)
        close(sp[1]);
    if (pid < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        return pid;
    }
    if (a->tty) {
        _cleanup_close_ int master = lxm_recv_fd(sock);
        if (master >= 0)
            relay_pty(master, sfd, pid, a->opts->stdin_tty);
    }
    int code = wait_command(pid, sfd, a->same_pgrp);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return command_error(err_r, err, code);
}

int lxm_runtime_attach(struct lxm_container *c, const struct lxm_attach_opts *opts,
                       struct lxm_error *err)
{
    if (!lxm_container_exists(c))
        return lxm_error_set(err, ENOENT, "container '%s' not found", c->name);
    struct attach_ctx a = {
        .c = c, .opts = opts, .pidfd = -1, .sock = -1, .error_fd = -1, .entry = {.v2_dir = -1, .lock_fd = -1}};
    int r = prepare(&a, err);
    if (r == 0) {
        a.tty = opts->pty;
        a.same_pgrp = !opts->pty && opts->stdin_tty;
        r = run_attach(&a, err);
    }
    if (a.pidfd >= 0)
        close(a.pidfd);
    lxm_cgroup_entry_close(&a.entry);
    lxm_cgroup_free(a.cg);
    lxm_seccomp_free(a.seccomp);
    free(a.apparmor_profile);
    lxm_user_clear(&a.user);
    return r;
}

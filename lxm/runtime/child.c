/* child.c: the container's first process, inside the new namespaces:
 * waits for the monitor, builds the rootfs, takes the console, drops
 * privileges and execs init. Its failure travels back over error_fd. */
#include "runtime/runtime-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lxm/net/link.h"
#include "runtime/init_detect.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define CONTAINER_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

char **lxm_container_env(const struct lxm_config *cfg, const char *term, const char *home,
                         char *const *extra)
{
    char **env = NULL;
    int r = 0;
    r |= strv_push(&env, "container=lxm");
    r |= strv_push(&env, "PATH=" CONTAINER_PATH);
    r |= strv_consume(&env, xasprintf("TERM=%s", term && *term ? term : "linux"));
    if (home)
        r |= strv_consume(&env, xasprintf("HOME=%s", home));
    for (int i = 0; cfg && i < cfg->n_environment; i++)
        r |= strv_consume(&env,
                          xasprintf("%s=%s", cfg->environment[i].key, cfg->environment[i].value));
    for (size_t i = 0; extra && extra[i]; i++)
        r |= strv_push(&env, extra[i]);
    if (r < 0) {
        strv_free(env);
        return NULL;
    }
    return env;
}

int lxm_apply_security(const struct lxm_config *cfg, struct lxm_seccomp *seccomp,
                       const char *apparmor_profile, struct lxm_error *err)
{
    int r = lxm_caps_apply(&cfg->policy, err);
    if (r < 0)
        return lxm_error_prefix(err, "capabilities");
    if (apparmor_profile) {
        r = lxm_apparmor_onexec(apparmor_profile, err);
        if (r < 0)
            return lxm_error_prefix(err, "apparmor");
    }
    r = lxm_security_apply_nnp(&cfg->policy, err);
    if (r < 0)
        return r;
    /* Last: the filter may forbid what the steps above needed. */
    if (seccomp) {
        r = lxm_seccomp_load(seccomp, err);
        if (r < 0)
            return lxm_error_prefix(err, "seccomp");
    }
    return 0;
}

static int take_console(struct lxm_error *err)
{
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open /dev/console");
    /* Like the kernel's init, ours gets the console as stdio but not as
     * its controlling terminal: a getty takes it later, which in a user
     * namespace it could not steal from init (that needs CAP_SYS_ADMIN
     * on the host). */
    if (setsid() < 0) {
        close(fd);
        return lxm_error_errno(err, errno, "console: setsid");
    }
    for (int i = 0; i < 3; i++)
        if (dup2(fd, i) < 0) {
            close(fd);
            return lxm_error_errno(err, errno, "console: dup2");
        }
    if (fd > 2)
        close(fd);
    return 0;
}

static int check_init(const char *init, struct lxm_error *err)
{
    struct stat st;
    if (init[0] != '/')
        return lxm_error_set(err, EINVAL, "init %s: must be an absolute path", init);
    if (stat(init, &st) < 0)
        return lxm_error_set(err, ENOENT, "init %s not found in rootfs", init);
    if (!S_ISREG(st.st_mode) || access(init, X_OK) < 0)
        return lxm_error_set(err, EACCES, "init %s in rootfs is not an executable file", init);
    return 0;
}

/* Init starts with default dispositions, not the monitor's SIG_IGNs (an
 * ignored SIGPIPE or SIGHUP would be inherited by every process inside). */
static void reset_signals(void)
{
    sigset_t none;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static int child_run(struct lxm_boot *b, struct lxm_error *err)
{
    /* Ours from the clone on, while the monitor works on the host side. */
    if (lxm_link_lo_up(err) < 0)
        return lxm_error_prefix(err, "network");
    char go;
    ssize_t n;
    while ((n = read(b->sync_fd, &go, 1)) < 0 && errno == EINTR)
        ;
    if (n != 1)
        return lxm_error_set(err, ECANCELED, "the monitor gave up before release");
    /* The maps are written now; until we take uid 0 of the namespace we
     * are its overflow id and could not even create a file. */
    if (!b->cfg->security.privileged && lxm_idmap_become_root(err) < 0)
        return lxm_error_prefix(err, "user namespace");
    if (unshare(CLONE_NEWCGROUP) < 0)
        return lxm_error_errno(err, errno, "unshare cgroup namespace");
    /* Our copy of the monitor's mount namespace, where it built the
     * rootfs: owned by our user namespace, so every mount in it is locked
     * (rootfs-lock.c). */
    if (b->locked && unshare(CLONE_NEWNS) < 0)
        return lxm_error_errno(err, errno, "unshare mount namespace");
    int r = lxm_rootfs_setup(b, err);
    if (r < 0)
        return r;
    const char *hostname = b->cfg->hostname ? b->cfg->hostname : b->c->name;
    if (sethostname(hostname, strlen(hostname)) < 0)
        return lxm_error_errno(err, errno, "sethostname %s", hostname);
    const char *init = b->cfg->init ? b->cfg->init : "/sbin/init";
    r = check_init(init, err);
    if (r == 0)
        r = lxm_init_check_cgroup2(init, err);
    if (r < 0)
        return r;
    r = take_console(err);
    if (r < 0)
        return r;
    char *notify[] = {(char *)"NOTIFY_SOCKET=" LXM_NOTIFY_SOCKET, NULL};
    _cleanup_strv_free_ char **env =
        lxm_container_env(b->cfg, "linux", NULL, b->notify ? notify : NULL);
    if (!env)
        return lxm_error_set(err, ENOMEM, "out of memory");
    r = lxm_apply_security(b->cfg, b->seccomp, b->apparmor_profile, err);
    if (r < 0)
        return r;
    /* Nothing of the host survives exec; error_fd stays usable until then. */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        return lxm_error_errno(err, errno, "close_range");
    char *argv[] = {(char *)init, NULL};
    reset_signals();
    execve(init, argv, env);
    return lxm_error_errno(err, errno, "exec %s", init);
}

void lxm_child_fail(int error_fd, const struct lxm_error *err)
{
    if (lxm_write_all(error_fd, err->msg, strlen(err->msg)) < 0)
        _exit(127);
    _exit(1);
}

void lxm_child_main(struct lxm_boot *b)
{
    struct lxm_error err = {0};
    child_run(b, &err);
    lxm_child_fail(b->error_fd, &err);
}

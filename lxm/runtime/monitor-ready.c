/* monitor-ready.c: the monitor's half of readiness (see ready.h). A
 * datagram socket in the run dir, bound into the container at
 * /run/host/notify, takes the notify protocol of systemd (READY=1,
 * STATUS=...) from init alone: the sender's credentials, which the
 * kernel vouches for, must name init's pid, as systemd-nspawn checks. A
 * netlink socket in the container's netns says when a DHCP lease may
 * have come. Both are re-armed at every boot. */
#include "runtime/monitor-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/network.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

static char *notify_path(const struct monitor *m)
{
    return xasprintf("%s/notify", m->c->run_dir);
}

void monitor_ready_init(struct monitor *m)
{
    m->ready = (struct monitor_ready){
        .notify_fd = -1, .watch_fd = -1, .boot_ms = -1, .begin_ms = lxm_now_ms()};
}

int monitor_ready_setup(struct monitor *m, struct lxm_error *err)
{
    _cleanup_free_ char *path = notify_path(m);
    struct sockaddr_un sa;
    if (!path)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (lxm_sockaddr_un(&sa, path) < 0)
        return lxm_error_set(err, ENAMETOOLONG, "socket path %s is too long", path);
    unlink(path);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
        return lxm_error_errno(err, errno, "notify socket");
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return lxm_error_errno(err, errno, "bind %s", path);
    /* Only the container's root may send: sending needs write access. */
    uid_t uid = 0;
    gid_t gid = 0;
    if (m->userns.enabled && !lxm_idmap_host_root(&m->userns.map, &uid, &gid))
        return lxm_error_set(err, EINVAL, "notify socket: the id map has no root");
    if (chown(path, uid, gid) < 0 || chmod(path, 0600) < 0)
        return lxm_error_errno(err, errno, "notify socket %s", path);
    m->ready.notify_fd = TAKE_FD(fd);
    return 0;
}

int monitor_ready_mount_fd(struct monitor *m)
{
    if (m->ready.notify_fd < 0)
        return -1;
    _cleanup_free_ char *path = notify_path(m);
    return path ? open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC) : -1;
}

/* `ready: auto` waits for READY=1 from systemd, whatever path names it:
 * the binary init runs is what counts. */
static bool init_is_systemd(pid_t pid)
{
    char link[64], exe[4096];
    snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(link, exe, sizeof(exe) - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    const char *base = strrchr(exe, '/');
    return strcmp(base ? base + 1 : exe, "systemd") == 0;
}

static bool wants_notify(struct monitor *m)
{
    const char *mode = m->cfg->ready ? m->cfg->ready : "auto";
    bool want =
        strcmp(mode, "notify") == 0 || (strcmp(mode, "auto") == 0 && init_is_systemd(m->init_pid));
    if (want && m->ready.notify_fd < 0) {
        lxm_warn("%s: no notify socket: ready once init runs", m->c->name);
        return false;
    }
    return want;
}

static void close_watch(struct monitor *m)
{
    if (m->ready.watch_fd >= 0)
        close(m->ready.watch_fd);
    m->ready.watch_fd = -1;
}

static void check_ready(struct monitor *m)
{
    struct monitor_ready *r = &m->ready;
    if (r->ready || m->pidfd < 0 || m->stopping || r->stopping || (r->want_notify && !r->notified) ||
        !r->leased)
        return;
    r->ready = true;
    r->boot_ms = lxm_now_ms() - r->begin_ms;
    char why[96] = "";
    if (r->want_notify)
        snprintf(why, sizeof(why), ": READY=1 at %" PRId64 " ms", r->notified_ms);
    if (r->leased_ms > 0)
        snprintf(why + strlen(why), sizeof(why) - strlen(why), "%s DHCP lease at %" PRId64 " ms",
                 why[0] ? "," : ":", r->leased_ms);
    lxm_info("%s: ready, %" PRId64 " ms after its boot began%s", m->c->name, r->boot_ms, why);
    monitor_record_state(m);
    monitor_notify_ready(m);
}

static void check_lease(struct monitor *m)
{
    struct lxm_error e = {0};
    bool leased = false;
    if (lxm_network_leased(m->net, m->init_pid, &leased, &e) < 0)
        lxm_debug("%s: lease: %s", m->c->name, e.msg);
    if (leased && !m->ready.leased)
        m->ready.leased_ms = m->ready.watch_fd >= 0 ? lxm_now_ms() - m->ready.begin_ms : 0;
    m->ready.leased = leased;
    if (leased)
        close_watch(m);
}

void monitor_ready_boot(struct monitor *m)
{
    struct monitor_ready *r = &m->ready;
    r->notified = r->ready = r->leased = r->stopping = false;
    r->boot_ms = r->notified_ms = r->leased_ms = -1;
    r->status[0] = '\0';
    r->want_notify = wants_notify(m);
    close_watch(m);
    if (lxm_network_wants_lease(m->net)) {
        struct lxm_error e = {0};
        /* Subscribed before the first look: no lease slips in between. */
        r->watch_fd = lxm_network_watch_fd(m->init_pid, &e);
        if (r->watch_fd < 0)
            lxm_warn("%s: cannot watch for the DHCP lease: %s", m->c->name, e.msg);
    }
    check_lease(m);
    check_ready(m);
}

void monitor_ready_reset(struct monitor *m)
{
    struct monitor_ready *r = &m->ready;
    close_watch(m);
    r->notified = r->ready = r->leased = r->stopping = false;
    r->boot_ms = -1;
    r->begin_ms = lxm_now_ms();
}

void monitor_ready_pollfds(struct monitor *m, struct pollfd *pfd)
{
    pfd[0] = (struct pollfd){.fd = m->ready.notify_fd, .events = POLLIN};
    pfd[1] = (struct pollfd){.fd = m->ready.watch_fd, .events = POLLIN};
}

void monitor_ready_events(struct monitor *m, const struct pollfd *pfd)
{
    bool was_stopping = m->ready.stopping;
    if (pfd[0].fd >= 0 && (pfd[0].revents & POLLIN))
        monitor_notify_read(m);
    /* The guest shuts down by itself: STOPPING until init is gone. */
    if (!was_stopping && m->ready.stopping) {
        lxm_info("%s: the guest is shutting down (STOPPING=1)", m->c->name);
        monitor_record_state(m);
    }
    if (pfd[1].fd >= 0 && pfd[1].fd == m->ready.watch_fd && pfd[1].revents) {
        char buf[8192];
        while (recv(m->ready.watch_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
            ;
        check_lease(m);
    }
    check_ready(m);
}

void monitor_ready_free(struct monitor *m)
{
    close_watch(m);
    if (m->ready.notify_fd >= 0)
        close(m->ready.notify_fd);
    m->ready.notify_fd = -1;
}

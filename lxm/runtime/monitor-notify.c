/* monitor-notify.c: the guest's notify messages (READY=1, STOPPING=1,
 * STATUS=...) on run/NAME/notify, read by the monitor in both of its forms
 * (the full one of monitor.c and the idle one of monitor-idle.c): what a
 * guest says after it is ready (a new STATUS=, the STOPPING=1 of its own
 * shutdown) must still be heard. */
#include "runtime/monitor-internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"

/* Largest notify datagram read (systemd's own limit is larger, but
 * nothing we read comes close); longer ones are cut. */
#define NOTIFY_MAX 4096
/* Room for the credentials and a few fds (FDSTORE=1): fds are closed. */
#define NOTIFY_FDS 16

/* STATUS= text kept printable, on one line. */
static void set_status(struct monitor_ready *r, const char *s, size_t n)
{
    if (n >= sizeof(r->status))
        n = sizeof(r->status) - 1;
    for (size_t i = 0; i < n; i++)
        r->status[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
    r->status[n] = '\0';
}

static void parse_notify(struct monitor *m, char *buf, size_t len)
{
    for (char *p = buf, *end = buf + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n == 7 && memcmp(p, "READY=1", 7) == 0 && !m->ready.notified) {
            m->ready.notified = true;
            m->ready.notified_ms = lxm_now_ms() - m->ready.begin_ms;
        } else if (n == 10 && memcmp(p, "STOPPING=1", 10) == 0) {
            m->ready.stopping = true;
        } else if (n >= 7 && memcmp(p, "STATUS=", 7) == 0)
            set_status(&m->ready, p + 7, n - 7);
        p += n + 1;
    }
}

/* One datagram; false when there is none left. Fds passed with it are
 * closed; a sender other than this boot's init is ignored. */
static bool read_notify(struct monitor *m)
{
    char buf[NOTIFY_MAX];
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * NOTIFY_FDS)];
    } u;
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n = recvmsg(m->ready.notify_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
    if (n < 0)
        return errno == EINTR;
    const struct ucred *cred = NULL;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET)
            continue;
        if (cm->cmsg_type == SCM_CREDENTIALS && cm->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
            cred = (const struct ucred *)CMSG_DATA(cm);
        else if (cm->cmsg_type == SCM_RIGHTS)
            for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                close(fd);
            }
    }
    if (!cred || m->pidfd < 0 || cred->pid != m->init_pid) {
        lxm_debug("%s: notify message from pid %d ignored: only init counts", m->c->name,
                  cred ? (int)cred->pid : 0);
        return true;
    }
    parse_notify(m, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf));
    return true;
}

void monitor_notify_read(struct monitor *m)
{
    /* Bounded: a guest that floods the socket cannot hold the loop. */
    for (int i = 0; i < 64 && read_notify(m); i++)
        ;
}

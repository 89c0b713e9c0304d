#include "lxm/net/netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/netlink.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "util/cleanup.h"

static const struct {
    int nle;
    int err;
} nle_map[] = {
    {NLE_INTR, EINTR},          {NLE_AGAIN, EAGAIN},         {NLE_NOMEM, ENOMEM},
    {NLE_EXIST, EEXIST},        {NLE_INVAL, EINVAL},         {NLE_RANGE, ERANGE},
    {NLE_MSGSIZE, EMSGSIZE},    {NLE_OPNOTSUPP, EOPNOTSUPP}, {NLE_AF_NOSUPPORT, EAFNOSUPPORT},
    {NLE_OBJ_NOTFOUND, ENOENT}, {NLE_NOADDR, EADDRNOTAVAIL}, {NLE_BUSY, EBUSY},
    {NLE_NOACCESS, EACCES},     {NLE_PERM, EPERM},           {NLE_NODEV, ENODEV},
    {NLE_BAD_SOCK, EBADF},
};

int lxm_nl_errno(int nlerr)
{
    if (nlerr < 0)
        nlerr = -nlerr;
    for (size_t i = 0; i < ARRAY_SIZE(nle_map); i++)
        if (nle_map[i].nle == nlerr)
            return nle_map[i].err;
    return EIO;
}

int lxm_nl_error(struct lxm_error *err, int nlerr, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    int e = lxm_nl_errno(nlerr);
    if (e == EIO)
        return lxm_error_set(err, e, "%s: %s", what, nl_geterror(nlerr));
    return lxm_error_set(err, e, "%s: %s", what, strerror(e));
}

static int connect_here(struct nl_sock **out, struct lxm_error *err)
{
    struct nl_sock *sk = nl_socket_alloc();
    if (!sk)
        return lxm_error_set(err, ENOMEM, "netlink socket: out of memory");
    int r = nl_connect(sk, NETLINK_ROUTE);
    if (r < 0) {
        nl_socket_free(sk);
        return lxm_nl_error(err, r, "netlink socket");
    }
    /* libnl sets O_CLOEXEC only on recent versions; make sure. */
    int fd = nl_socket_get_fd(sk);
    fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
    *out = sk;
    return 0;
}

int lxm_nl_open(int netns_fd, struct nl_sock **out, struct lxm_error *err)
{
    if (netns_fd < 0)
        return connect_here(out, err);
    _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return lxm_error_errno(err, errno, "open /proc/thread-self/ns/net");
    if (setns(netns_fd, CLONE_NEWNET) < 0)
        return lxm_error_errno(err, errno, "enter network namespace");
    int r = connect_here(out, err);
    if (setns(self, CLONE_NEWNET) < 0) {
        /* Carrying on in the wrong netns would configure the wrong host. */
        fprintf(stderr, "lxm: cannot return to own network namespace: %s\n", strerror(errno));
        abort();
    }
    return r;
}

int lxm_netns_open_pid(pid_t pid, struct lxm_error *err)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s", path);
    return fd;
}

int lxm_nl_open_pid(pid_t pid, struct nl_sock **out, struct lxm_error *err)
{
    _cleanup_close_ int fd = lxm_netns_open_pid(pid, err);
    if (fd < 0)
        return fd;
    return lxm_nl_open(fd, out, err);
}

void lxm_nl_close(struct nl_sock *sk)
{
    nl_socket_free(sk);
}

/* Room for one batch of a dump: the kernel fills a batch of at most
 * NLMSG_GOODSIZE (under 8 KiB) or the largest buffer this socket has read
 * with; a longer one shows as MSG_TRUNC. On the stack: no allocation per
 * container listed. */
#define DUMP_BUF (16 * 1024)

/* The answer to a dump's NLMSG_ERROR. */
static int dump_error(const struct nlmsghdr *h, const struct lxm_nl_dump *d, struct lxm_error *err)
{
    const struct nlmsgerr *e = NLMSG_DATA(h);
    for (const int *n = d->nothing; n && *n; n++)
        if (e->error == -*n)
            return 0;
    return lxm_error_errno(err, e->error ? -e->error : EIO, "%s", d->what);
}

int lxm_nl_dump(int fd, const void *req, size_t len, const struct lxm_nl_dump *d,
                struct lxm_error *err)
{
    if (send(fd, req, len, 0) != (ssize_t)len)
        return lxm_error_errno(err, errno, "%s", d->what);
    _Alignas(struct nlmsghdr) char buf[DUMP_BUF];
    for (;;) {
        struct iovec iov = {buf, sizeof(buf)};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = recvmsg(fd, &msg, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return lxm_error_errno(err, errno, "%s", d->what);
        if (msg.msg_flags & MSG_TRUNC)
            return lxm_error_set(err, EMSGSIZE, "%s: answer truncated", d->what);
        size_t left = (size_t)n;
        for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (h->nlmsg_type == NLMSG_ERROR)
                return dump_error(h, d, err);
            int r = d->each(h, d->data, err);
            if (r < 0)
                return r;
        }
    }
}

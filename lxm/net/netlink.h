/* netlink: rtnetlink sockets bound to a network namespace, libnl error
 * codes turned into errno + message, and the one reader of a raw netlink
 * dump. Everything in net/ is container agnostic: it takes interface
 * names, netns fds and addresses. */
#pragma once

#include <sys/types.h>

#include "util/err.h"

struct nl_sock;
struct nlmsghdr;

/* A connected NETLINK_ROUTE socket living in the netns of netns_fd (-1 =
 * the caller's). The calling thread enters the netns only while the
 * socket is created: a socket stays bound to the netns it was made in. */
int lxm_nl_open(int netns_fd, struct nl_sock **out, struct lxm_error *err);
/* The same for the netns of pid (/proc/PID/ns/net). */
int lxm_nl_open_pid(pid_t pid, struct nl_sock **out, struct lxm_error *err);
void lxm_nl_close(struct nl_sock *sk);
static inline void lxm_nl_closep(struct nl_sock **sk)
{
    if (*sk)
        lxm_nl_close(*sk);
}
#define _cleanup_nl_ __attribute__((cleanup(lxm_nl_closep)))

/* libnl error (negative NLE_*) to a positive errno. */
int lxm_nl_errno(int nlerr);
/* Set err to "<what>: <strerror>" from a libnl error; returns -errno. */
int lxm_nl_error(struct lxm_error *err, int nlerr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Open /proc/PID/ns/net (O_CLOEXEC); the fd or -errno. */
int lxm_netns_open_pid(pid_t pid, struct lxm_error *err);

/* One dump on a raw netlink socket (lxm_nl_dump), for the few readers
 * that keep libnl off their path. */
struct lxm_nl_dump {
    /* What the request does, the start of every message ("list addresses"). */
    const char *what;
    /* Each answer other than NLMSG_DONE and NLMSG_ERROR: 0 to go on, or
     * -errno with err set to stop the dump. */
    int (*each)(const struct nlmsghdr *h, void *data, struct lxm_error *err);
    void *data;
    /* Errors of an NLMSG_ERROR answer (positive errnos, 0-terminated; NULL
     * for none) that mean there is nothing to list: the dump ends with 0. */
    const int *nothing;
};

/* Send the dump request req (len bytes) on fd and hand every answer to
 * d->each up to NLMSG_DONE. -errno with "WHAT: strerror" in err when the
 * socket fails or the kernel answers with an error, "WHAT: answer
 * truncated" when a batch does not fit the buffer (16 KiB, more than the
 * kernel fills). */
int lxm_nl_dump(int fd, const void *req, size_t len, const struct lxm_nl_dump *d,
                struct lxm_error *err);

/* nsaddr: the addresses in a process's network namespace from one raw
 * RTM_GETADDR dump (nsaddr.h). */
#include "lxm/net/nsaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "lxm/net/addr.h"
#include "lxm/net/ipv6.h"
#include "lxm/net/netlink.h"
#include "util/cleanup.h"
#include "util/strv.h"

/* A NETLINK_ROUTE socket made in netns (the thread goes back to home_ns,
 * or to the netns it was in when home_ns is -1). */
static int socket_in(int netns, int home_ns, struct lxm_error *err)
{
    _cleanup_close_ int own = -1;
    if (home_ns < 0) {
        own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (own < 0)
            return lxm_error_errno(err, errno, "open /proc/thread-self/ns/net");
        home_ns = own;
    }
    if (setns(netns, CLONE_NEWNET) < 0)
        return lxm_error_errno(err, errno, "enter network namespace");
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    int saved = errno;
    if (setns(home_ns, CLONE_NEWNET) < 0) {
        /* Carrying on in the wrong netns would configure the wrong host. */
        fprintf(stderr, "lxm: cannot return to own network namespace: %s\n", strerror(errno));
        abort();
    }
    if (fd < 0)
        return lxm_error_errno(err, saved, "netlink socket");
    return fd;
}

/* The addresses read so far, of each family. */
struct addrs {
    char ***v4, ***v6;
};

/* One RTM_NEWADDR into v4 or v6 if the lists show it. Its own address is
 * IFA_LOCAL, or IFA_ADDRESS when there is no IFA_LOCAL (IPv6; on a
 * point-to-point IPv4 link IFA_ADDRESS is the peer), as libnl has it. */
static int take_addr(const struct nlmsghdr *h, char ***v4, char ***v6)
{
    const struct ifaddrmsg *ifa = NLMSG_DATA(h);
    const struct rtattr *local = NULL, *address = NULL;
    int len = (int)IFA_PAYLOAD(h);
    for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFA_LOCAL)
            local = a;
        else if (a->rta_type == IFA_ADDRESS)
            address = a;
    }
    if (!local)
        local = address;
    if (!local)
        return 0;
    size_t n = RTA_PAYLOAD(local);
    if (ifa->ifa_family == AF_INET && n == 4 && lxm_addr_listed(ifa->ifa_scope)) {
        uint32_t be;
        memcpy(&be, RTA_DATA(local), 4);
        struct lxm_cidr c = {ntohl(be), ifa->ifa_prefixlen};
        char s[24];
        lxm_cidr_format(&c, s);
        return strv_push(v4, s);
    }
    if (ifa->ifa_family == AF_INET6 && n == 16) {
        struct lxm_cidr6 c = {.prefix = ifa->ifa_prefixlen};
        memcpy(&c.addr, RTA_DATA(local), 16);
        if (!lxm_addr6_listed(&c.addr, ifa->ifa_scope))
            return 0;
        char s[LXM_CIDR6_LEN];
        lxm_cidr6_format(&c, s);
        return strv_push(v6, s);
    }
    return 0;
}

/* One answer of the dump. */
static int take_answer(const struct nlmsghdr *h, void *data, struct lxm_error *err)
{
    struct addrs *a = data;
    if (h->nlmsg_type == RTM_NEWADDR && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifaddrmsg)) &&
        take_addr(h, a->v4, a->v6) < 0)
        return lxm_error_set(err, ENOMEM, "list addresses: out of memory");
    return 0;
}

int lxm_nsaddr_list(pid_t pid, int home_ns, char ***v4, char ***v6, struct lxm_error *err)
{
    _cleanup_close_ int netns = lxm_netns_open_pid(pid, err);
    if (netns < 0)
        return netns;
    _cleanup_close_ int fd = socket_in(netns, home_ns, err);
    if (fd < 0)
        return fd;
    struct {
        struct nlmsghdr h;
        struct ifaddrmsg a;
    } req = {
        .h = {.nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETADDR,
              .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1},
        .a = {.ifa_family = AF_UNSPEC},
    };
    _cleanup_strv_free_ char **a4 = calloc(1, sizeof(char *));
    _cleanup_strv_free_ char **a6 = calloc(1, sizeof(char *));
    if (!a4 || !a6)
        return lxm_error_set(err, ENOMEM, "list addresses: out of memory");
    struct addrs a = {&a4, &a6};
    const struct lxm_nl_dump d = {"list addresses", take_answer, &a, NULL};
    int r = lxm_nl_dump(fd, &req, sizeof(req), &d, err);
    if (r < 0)
        return r;
    *v4 = TAKE_PTR(a4);
    *v6 = TAKE_PTR(a6);
    return 0;
}

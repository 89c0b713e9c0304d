/* nft-chains: the names of a table's chains from one raw NFT_MSG_GETCHAIN
 * dump over nfnetlink (nat.h). No libnftables and no libnl: the leftover
 * sweep of every start asks it, and loading libnftables costs that start
 * milliseconds whenever the table exists. */
#include "lxm/net/nat.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "util/cleanup.h"
#include "util/strv.h"

/* One batch of a dump: the kernel fills at most NLMSG_GOODSIZE (under
 * 8 KiB) or the largest buffer this socket has read with. */
#define CHAIN_DUMP_BUF (16 * 1024)

/* A string attribute's value, NUL-terminated within the attribute, or NULL. */
static const char *attr_string(const struct nlattr *a)
{
    size_t len = a->nla_len - NLA_HDRLEN;
    const char *s = (const char *)a + NLA_HDRLEN;
    return len > 0 && memchr(s, '\0', len) ? s : NULL;
}

/* One NFT_MSG_NEWCHAIN: its name into *v when it is of table. */
static int take_chain(const struct nlmsghdr *h, const char *table, char ***v)
{
    size_t off = NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct nfgenmsg)));
    if (h->nlmsg_len < off)
        return 0;
    const char *tab = NULL, *name = NULL;
    size_t left = h->nlmsg_len - off;
    const struct nlattr *a = (const struct nlattr *)((const char *)h + off);
    while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= left) {
        int type = a->nla_type & NLA_TYPE_MASK;
        if (type == NFTA_CHAIN_TABLE)
            tab = attr_string(a);
        else if (type == NFTA_CHAIN_NAME)
            name = attr_string(a);
        size_t step = NLA_ALIGN(a->nla_len);
        if (step >= left)
            break;
        left -= step;
        a = (const struct nlattr *)((const char *)a + step);
    }
    if (!tab || !name || strcmp(tab, table) != 0)
        return 0;
    return strv_push(v, name);
}

/* The dump's answers up to NLMSG_DONE. */
static int read_chains(int fd, char *buf, const char *table, char ***v, struct lxm_error *err)
{
    for (;;) {
        struct iovec iov = {buf, CHAIN_DUMP_BUF};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = recvmsg(fd, &msg, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return lxm_error_errno(err, errno, "list nftables chains of %s", table);
        if (msg.msg_flags & MSG_TRUNC)
            return lxm_error_set(err, EMSGSIZE, "list nftables chains of %s: answer truncated",
                                 table);
        size_t left = (size_t)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                /* No nf_tables in this kernel: no chain of anyone's. */
                if (e->error == -ENOENT || e->error == -EPROTONOSUPPORT)
                    return 0;
                return lxm_error_errno(err, e->error ? -e->error : EIO,
                                       "list nftables chains of %s", table);
            }
            if (h->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN) &&
                take_chain(h, table, v) < 0)
                return lxm_error_set(err, ENOMEM, "out of memory");
        }
    }
}

int lxm_nft_chains(int family, const char *table, char ***out, struct lxm_error *err)
{
    *out = NULL;
    _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0 && (errno == EPROTONOSUPPORT || errno == EAFNOSUPPORT)) {
        *out = calloc(1, sizeof(char *));
        return *out ? 0 : lxm_error_set(err, ENOMEM, "out of memory");
    }
    if (fd < 0)
        return lxm_error_errno(err, errno, "nfnetlink socket");
    struct {
        struct nlmsghdr h;
        struct nfgenmsg g;
    } req = {
        .h = {.nlmsg_len = sizeof(req),
              .nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN,
              .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
              .nlmsg_seq = 1},
        .g = {.nfgen_family = (uint8_t)family, .version = NFNETLINK_V0},
    };
    if (send(fd, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
        return lxm_error_errno(err, errno, "list nftables chains of %s", table);
    _cleanup_free_ char *buf = aligned_alloc(NLMSG_ALIGNTO, CHAIN_DUMP_BUF);
    _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
    if (!buf || !v)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = read_chains(fd, buf, table, &v, err);
    if (r < 0)
        return r;
    *out = TAKE_PTR(v);
    return 0;
}

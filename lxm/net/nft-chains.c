/* nft-chains: the names of a table's chains from one raw NFT_MSG_GETCHAIN
 * dump over nfnetlink (nat.h). No libnftables and no libnl: the leftover
 * sweep of every start asks it, and loading libnftables costs that start
 * milliseconds whenever the table exists. */
#include "lxm/net/nat.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "lxm/net/netlink.h"
#include "util/cleanup.h"
#include "util/strv.h"

/* A string attribute's value, NUL-terminated within the attribute, or NULL. */
static const char *attr_string(const struct nlattr *a)
{
    size_t len = a->nla_len - NLA_HDRLEN;
    const char *s = (const char *)a + NLA_HDRLEN;
    return len > 0 && memchr(s, '\0', len) ? s : NULL;
}

/* The chains read so far, of one table. */
struct chains {
    const char *table;
    char ***v;
};

/* One answer of the dump: an NFT_MSG_NEWCHAIN's name into the list when
 * it is of the table. */
static int take_chain(const struct nlmsghdr *h, void *data, struct lxm_error *err)
{
    struct chains *c = data;
    if (h->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN))
        return 0;
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
    if (!tab || !name || strcmp(tab, c->table) != 0)
        return 0;
    if (strv_push(c->v, name) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return 0;
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
    _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
    if (!v)
        return lxm_error_set(err, ENOMEM, "out of memory");
    char what[64 + NFT_TABLE_MAXNAMELEN];
    snprintf(what, sizeof(what), "list nftables chains of %s", table);
    struct chains c = {table, &v};
    /* No nf_tables in this kernel: no chain of anyone's. */
    static const int no_nftables[] = {ENOENT, EPROTONOSUPPORT, 0};
    const struct lxm_nl_dump d = {what, take_chain, &c, no_nftables};
    int r = lxm_nl_dump(fd, &req, sizeof(req), &d, err);
    if (r < 0)
        return r;
    *out = TAKE_PTR(v);
    return 0;
}

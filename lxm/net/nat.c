#include "lxm/net/nat.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include "util/lazy-nft.h"

#include "lxm/net/link.h"
#include "lxm/net/netlink.h"
#include "util/cleanup.h"
#include "util/fs.h"

void lxm_nat_table_name(const char *bridge, char out[32])
{
    int n = snprintf(out, 32, "lxm_%s", bridge);
    for (int i = 4; i < n && i < 31; i++)
        if (!((out[i] >= 'a' && out[i] <= 'z') || (out[i] >= 'A' && out[i] <= 'Z') ||
              (out[i] >= '0' && out[i] <= '9') || out[i] == '_'))
            out[i] = '_';
}

void lxm_nft_ctx_free(struct nft_ctx **c)
{
    if (*c)
        nft_ctx_free(*c);
    *c = NULL;
}

struct nft_ctx *lxm_nft_ctx(const char *what, struct lxm_error *err)
{
    struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) {
        lxm_error_set(err, ENOMEM, "%s: cannot create nftables context", what);
        return NULL;
    }
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    return ctx;
}

int lxm_nft_run_in(struct nft_ctx *ctx, const char *script, char **output, bool *missing,
                   struct lxm_error *err, const char *what)
{
    if (nft_run_cmd_from_buffer(ctx, script) != 0) {
        const char *e = nft_ctx_get_error_buffer(ctx);
        if (missing && e && strstr(e, "No such file or directory")) {
            *missing = true;
            return 0;
        }
        char line[256] = "";
        if (e)
            sscanf(e, "%255[^\n]", line);
        return lxm_error_set(err, EIO, "%s: nftables: %s", what, line[0] ? line : "failed");
    }
    if (output) {
        const char *o = nft_ctx_get_output_buffer(ctx);
        *output = strdup(o ? o : "");
        if (!*output)
            return lxm_error_set(err, ENOMEM, "%s: out of memory", what);
    }
    return 0;
}

/* Run an nft script in a context of its own. */
static int run_nft(const char *script, char **output, struct lxm_error *err, const char *what)
{
    __attribute__((cleanup(lxm_nft_ctx_free))) struct nft_ctx *ctx = lxm_nft_ctx(what, err);
    return ctx ? lxm_nft_run_in(ctx, script, output, NULL, err, what) : -ENOMEM;
}

/* What differs between the two families: the nft family, which is also
 * the keyword of its address matches, and the name in messages. */
static const struct {
    const char *nft;
    int nfproto;
    const char *what;
} families[] = {
    [LXM_NAT_IPV4] = {"ip", AF_INET /* == NFPROTO_IPV4 */, "NAT"},
    [LXM_NAT_IPV6] = {"ip6", AF_INET6 /* == NFPROTO_IPV6 */, "NAT66"},
};

int lxm_nat_enable(enum lxm_nat_family fam, const char *bridge, const char *subnet,
                   struct lxm_error *err)
{
    const char *what = families[fam].what;
    if (lxm_ifname_validate(bridge, err) < 0)
        return lxm_error_prefix(err, "%s", what);
    char t[32], step[32];
    lxm_nat_table_name(bridge, t);
    /* add+delete first makes the whole replacement one transaction that
     * works whether or not the table exists. */
    _cleanup_free_ char *script =
        xasprintf("add table %1$s %2$s\n"
                  "delete table %1$s %2$s\n"
                  "table %1$s %2$s {\n"
                  "  chain postrouting {\n"
                  "    type nat hook postrouting priority srcnat; policy accept;\n"
                  "    %1$s saddr %4$s %1$s daddr != %4$s oifname != \"%3$s\" masquerade\n"
                  "  }\n"
                  "  chain forward {\n"
                  "    type filter hook forward priority filter; policy accept;\n"
                  "    iifname \"%3$s\" accept\n"
                  "    oifname \"%3$s\" ct state established,related accept\n"
                  "  }\n"
                  "}\n",
                  families[fam].nft, t, bridge, subnet);
    if (!script)
        return lxm_error_set(err, ENOMEM, "%s: out of memory", what);
    snprintf(step, sizeof(step), "%s for bridge", what);
    return run_nft(script, NULL, err, step);
}

static void nlsockp(struct nl_sock **sk)
{
    if (*sk)
        nl_socket_free(*sk);
}

int lxm_nft_run(const char *script, char **output, struct lxm_error *err, const char *what)
{
    return run_nft(script, output, err, what);
}

int lxm_nat_present(enum lxm_nat_family fam, const char *bridge, bool *out,
                    struct lxm_error *err)
{
    char t[32];
    lxm_nat_table_name(bridge, t);
    return lxm_nft_table_present(families[fam].nfproto, t, out, err);
}

/* A GETTABLE (or GETCHAIN) request over nfnetlink: libnftables spends
 * tens of milliseconds setting up in every new process, too much for the
 * checks that each container start and stop make. */
int lxm_nft_exists(int family, const char *table, const char *chain, bool *out,
                   struct lxm_error *err)
{
    *out = false;
    __attribute__((cleanup(nlsockp))) struct nl_sock *sk = nl_socket_alloc();
    if (!sk)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = nl_connect(sk, NETLINK_NETFILTER);
    if (r < 0)
        return lxm_nl_error(err, r, "nfnetlink socket");
    int type = chain ? NFT_MSG_GETCHAIN : NFT_MSG_GETTABLE;
    struct nl_msg *m =
        nlmsg_alloc_simple((NFNL_SUBSYS_NFTABLES << 8) | type, NLM_F_REQUEST | NLM_F_ACK);
    struct nfgenmsg g = {.nfgen_family = (uint8_t)family, .version = NFNETLINK_V0};
    if (!m || nlmsg_append(m, &g, sizeof(g), NLMSG_ALIGNTO) < 0 ||
        nla_put_string(m, chain ? NFTA_CHAIN_TABLE : NFTA_TABLE_NAME, table) < 0 ||
        (chain && nla_put_string(m, NFTA_CHAIN_NAME, chain) < 0)) {
        nlmsg_free(m);
        return lxm_error_set(err, ENOMEM, "out of memory");
    }
    r = nl_send_auto(sk, m);
    nlmsg_free(m);
    if (r >= 0)
        r = nl_recvmsgs_default(sk);
    if (r >= 0)
        r = nl_wait_for_ack(sk);
    *out = r >= 0;
    if (r < 0 && lxm_nl_errno(r) != ENOENT)
        return lxm_nl_error(err, r, "look up nftables %s %s", chain ? "chain" : "table",
                            chain ? chain : table);
    return 0;
}

int lxm_nft_table_present(int family, const char *t, bool *out, struct lxm_error *err)
{
    return lxm_nft_exists(family, t, NULL, out, err);
}

int lxm_nat_disable(enum lxm_nat_family fam, const char *bridge, struct lxm_error *err)
{
    bool present;
    int r = lxm_nat_present(fam, bridge, &present, err);
    if (r < 0 || !present)
        return r;
    const char *what = families[fam].what;
    char t[32], step[32];
    lxm_nat_table_name(bridge, t);
    _cleanup_free_ char *script = xasprintf("delete table %s %s\n", families[fam].nft, t);
    if (!script)
        return lxm_error_set(err, ENOMEM, "%s: out of memory", what);
    snprintf(step, sizeof(step), "remove %s table", what);
    return run_nft(script, NULL, err, step);
}

int lxm_ip_forward_enable(struct lxm_error *err)
{
    const char *p = "/proc/sys/net/ipv4/ip_forward";
    _cleanup_free_ char *cur = NULL;
    if (read_file(p, &cur, NULL) == 0 && cur[0] == '1')
        return 0;
    int r = write_string(p, "1");
    if (r < 0)
        return lxm_error_errno(err, -r, "enable IPv4 forwarding (%s)", p);
    return 0;
}

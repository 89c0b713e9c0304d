#include "lxm/net/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "lxm/net/link.h"
#include "lxm/net/netlink.h"
#include "util/cleanup.h"
#include "util/strv.h"

static void nladdrp(struct nl_addr **a)
{
    if (*a)
        nl_addr_put(*a);
}
#define _cleanup_nladdr_ _cleanup_(nladdrp)

static void cachep(struct nl_cache **c)
{
    if (*c)
        nl_cache_free(*c);
}
#define _cleanup_cache_ _cleanup_(cachep)

uint32_t lxm_cidr_mask(int prefix)
{
    return prefix <= 0 ? 0 : 0xffffffffu << (32 - prefix);
}

bool lxm_cidr_contains(const struct lxm_cidr *net, uint32_t addr)
{
    uint32_t m = lxm_cidr_mask(net->prefix);
    return (addr & m) == (net->addr & m);
}

bool lxm_cidr_overlap(const struct lxm_cidr *a, const struct lxm_cidr *b)
{
    uint32_t m = lxm_cidr_mask(a->prefix < b->prefix ? a->prefix : b->prefix);
    return (a->addr & m) == (b->addr & m);
}

int lxm_ipv4_parse(const char *s, uint32_t *out, struct lxm_error *err)
{
    struct in_addr a;
    if (!s || inet_pton(AF_INET, s, &a) != 1)
        return lxm_error_set(err, EINVAL, "invalid IPv4 address '%s' (expected A.B.C.D)",
                             s ? s : "");
    *out = ntohl(a.s_addr);
    return 0;
}

int lxm_cidr_parse(const char *s, bool allow_bare, struct lxm_cidr *out, struct lxm_error *err)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    char ip[INET_ADDRSTRLEN];
    size_t len = slash ? (size_t)(slash - s) : (s ? strlen(s) : 0);
    int prefix = 32;
    bool ok = s && len > 0 && len < sizeof(ip) && (slash || allow_bare);
    if (ok && slash) {
        const char *p = slash + 1;
        ok = *p && strlen(p) <= 2 && strspn(p, "0123456789") == strlen(p);
        prefix = ok ? atoi(p) : -1;
        ok = ok && prefix >= 0 && prefix <= 32;
    }
    struct in_addr a;
    if (ok) {
        memcpy(ip, s, len);
        ip[len] = '\0';
        ok = inet_pton(AF_INET, ip, &a) == 1;
    }
    if (!ok)
        return lxm_error_set(err, EINVAL, "invalid IPv4 address '%s' (expected A.B.C.D/N)",
                             s ? s : "");
    out->addr = ntohl(a.s_addr);
    out->prefix = prefix;
    return 0;
}

void lxm_ipv4_format(uint32_t addr, char out[INET_ADDRSTRLEN])
{
    struct in_addr a = {.s_addr = htonl(addr)};
    inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

void lxm_cidr_format(const struct lxm_cidr *c, char out[24])
{
    char ip[INET_ADDRSTRLEN];
    lxm_ipv4_format(c->addr, ip);
    snprintf(out, 24, "%s/%d", ip, c->prefix);
}

static struct nl_addr *nl_ipv4(uint32_t addr, int prefix)
{
    uint32_t be = htonl(addr);
    struct nl_addr *a = nl_addr_build(AF_INET, &be, sizeof(be));
    if (a)
        nl_addr_set_prefixlen(a, prefix);
    return a;
}

int lxm_addr_add(struct nl_sock *sk, const char *ifname, const struct lxm_cidr *c,
                 struct lxm_error *err)
{
    char s[24];
    lxm_cidr_format(c, s);
    int idx = lxm_link_ifindex(sk, ifname);
    if (idx < 0)
        return lxm_error_errno(err, -idx, "add address %s to %s", s, ifname);
    struct rtnl_addr *ra = rtnl_addr_alloc();
    _cleanup_nladdr_ struct nl_addr *local = nl_ipv4(c->addr, c->prefix);
    _cleanup_nladdr_ struct nl_addr *bcast = nl_ipv4(lxm_cidr_broadcast(c), 32);
    if (!ra || !local || !bcast) {
        if (ra)
            rtnl_addr_put(ra);
        return lxm_error_set(err, ENOMEM, "add address %s: out of memory", s);
    }
    rtnl_addr_set_ifindex(ra, idx);
    rtnl_addr_set_family(ra, AF_INET);
    rtnl_addr_set_local(ra, local);
    if (c->prefix < 31)
        rtnl_addr_set_broadcast(ra, bcast);
    int r = rtnl_addr_add(sk, ra, 0);
    rtnl_addr_put(ra);
    if (r < 0 && lxm_nl_errno(r) != EEXIST)
        return lxm_nl_error(err, r, "add address %s to %s", s, ifname);
    return 0;
}

bool lxm_addr_listed(int scope)
{
    return scope != RT_SCOPE_HOST;
}

int lxm_addr_list(struct nl_sock *sk, const char *ifname, char ***out, struct lxm_error *err)
{
    int want = 0;
    if (ifname && (want = lxm_link_ifindex(sk, ifname)) < 0)
        return lxm_error_errno(err, -want, "addresses of %s", ifname);
    _cleanup_cache_ struct nl_cache *cache = NULL;
    int r = rtnl_addr_alloc_cache(sk, &cache);
    if (r < 0)
        return lxm_nl_error(err, r, "list addresses");
    _cleanup_strv_free_ char **v = NULL;
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        struct rtnl_addr *a = (struct rtnl_addr *)o;
        struct nl_addr *local = rtnl_addr_get_local(a);
        if (rtnl_addr_get_family(a) != AF_INET || !local || nl_addr_get_len(local) != 4)
            continue;
        if (want ? rtnl_addr_get_ifindex(a) != want : !lxm_addr_listed(rtnl_addr_get_scope(a)))
            continue;
        uint32_t be;
        memcpy(&be, nl_addr_get_binary_addr(local), 4);
        struct lxm_cidr c = {ntohl(be), rtnl_addr_get_prefixlen(a)};
        char s[24];
        lxm_cidr_format(&c, s);
        if (strv_push(&v, s) < 0)
            return lxm_error_set(err, ENOMEM, "list addresses: out of memory");
    }
    if (!v && !(v = calloc(1, sizeof(char *))))
        return lxm_error_set(err, ENOMEM, "list addresses: out of memory");
    *out = TAKE_PTR(v);
    return 0;
}

int lxm_route_add_default(struct nl_sock *sk, uint32_t gw, struct lxm_error *err)
{
    char s[INET_ADDRSTRLEN];
    lxm_ipv4_format(gw, s);
    struct rtnl_route *rt = rtnl_route_alloc();
    struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
    _cleanup_nladdr_ struct nl_addr *dst = nl_ipv4(0, 0);
    struct nl_addr *via = nl_ipv4(gw, 32);
    if (!rt || !nh || !dst || !via) {
        if (rt)
            rtnl_route_put(rt);
        if (nh)
            rtnl_route_nh_free(nh);
        if (via)
            nl_addr_put(via);
        return lxm_error_set(err, ENOMEM, "default route via %s: out of memory", s);
    }
    rtnl_route_set_family(rt, AF_INET);
    rtnl_route_set_table(rt, RT_TABLE_MAIN);
    rtnl_route_set_protocol(rt, RTPROT_STATIC);
    rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
    rtnl_route_set_type(rt, RTN_UNICAST);
    rtnl_route_set_dst(rt, dst);
    rtnl_route_nh_set_gateway(nh, via);
    nl_addr_put(via);
    rtnl_route_add_nexthop(rt, nh);
    int r = rtnl_route_add(sk, rt, NLM_F_CREATE | NLM_F_EXCL);
    rtnl_route_put(rt);
    if (r < 0)
        return lxm_nl_error(err, r, "default route via %s", s);
    return 0;
}

static int push_prefix(struct lxm_cidr **v, int *n, struct nl_addr *a)
{
    if (!a || nl_addr_get_family(a) != AF_INET || nl_addr_get_len(a) != 4)
        return 0;
    uint32_t be;
    memcpy(&be, nl_addr_get_binary_addr(a), 4);
    int prefix = nl_addr_get_prefixlen(a);
    if (prefix == 0)
        return 0;
    struct lxm_cidr *nv = realloc(*v, (*n + 1) * sizeof(**v));
    if (!nv)
        return -ENOMEM;
    nv[*n] = (struct lxm_cidr){ntohl(be), prefix};
    *v = nv;
    (*n)++;
    return 0;
}

int lxm_route_prefixes(struct nl_sock *sk, struct lxm_cidr **out, int *n, struct lxm_error *err)
{
    _cleanup_cache_ struct nl_cache *routes = NULL, *addrs = NULL;
    int r = rtnl_route_alloc_cache(sk, AF_INET, 0, &routes);
    if (r < 0)
        return lxm_nl_error(err, r, "list routes");
    r = rtnl_addr_alloc_cache(sk, &addrs);
    if (r < 0)
        return lxm_nl_error(err, r, "list addresses");
    _cleanup_free_ struct lxm_cidr *v = NULL;
    int count = 0;
    /* Every type counts: a blackhole or unreachable route also says the
     * range is spoken for. */
    for (struct nl_object *o = nl_cache_get_first(routes); o; o = nl_cache_get_next(o))
        if (push_prefix(&v, &count, rtnl_route_get_dst((struct rtnl_route *)o)) < 0)
            return lxm_error_set(err, ENOMEM, "list routes: out of memory");
    for (struct nl_object *o = nl_cache_get_first(addrs); o; o = nl_cache_get_next(o)) {
        struct rtnl_addr *a = (struct rtnl_addr *)o;
        struct nl_addr *local = rtnl_addr_get_local(a);
        if (!local || nl_addr_get_family(local) != AF_INET)
            continue;
        _cleanup_nladdr_ struct nl_addr *p = nl_addr_clone(local);
        if (!p)
            return lxm_error_set(err, ENOMEM, "list addresses: out of memory");
        nl_addr_set_prefixlen(p, rtnl_addr_get_prefixlen(a) ?: 32);
        if (push_prefix(&v, &count, p) < 0)
            return lxm_error_set(err, ENOMEM, "list addresses: out of memory");
    }
    *out = TAKE_PTR(v);
    *n = count;
    return 0;
}

int lxm_route_has_default(struct nl_sock *sk, bool *out, struct lxm_error *err)
{
    _cleanup_cache_ struct nl_cache *routes = NULL;
    int r = rtnl_route_alloc_cache(sk, AF_INET, 0, &routes);
    if (r < 0)
        return lxm_nl_error(err, r, "list routes");
    *out = false;
    for (struct nl_object *o = nl_cache_get_first(routes); o && !*out; o = nl_cache_get_next(o)) {
        struct rtnl_route *rt = (struct rtnl_route *)o;
        struct nl_addr *dst = rtnl_route_get_dst(rt);
        *out = rtnl_route_get_table(rt) == RT_TABLE_MAIN && rtnl_route_get_type(rt) == RTN_UNICAST &&
               (!dst || nl_addr_get_prefixlen(dst) == 0);
    }
    return 0;
}

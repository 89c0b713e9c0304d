#include "lxm/net/ipv6.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <linux/if_addr.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>

#include "lxm/net/link.h"
#include "lxm/net/netlink.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

int lxm_cidr6_parse(const char *s, struct lxm_cidr6 *out, struct lxm_error *err)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    char a[INET6_ADDRSTRLEN];
    char *end;
    if (!slash || (size_t)(slash - s) >= sizeof(a) || !slash[1])
        goto bad;
    memcpy(a, s, (size_t)(slash - s));
    a[slash - s] = '\0';
    long p = strtol(slash + 1, &end, 10);
    if (*end || p < 0 || p > 128 || inet_pton(AF_INET6, a, &out->addr) != 1)
        goto bad;
    out->prefix = (int)p;
    return 0;
bad:
    return lxm_error_set(err, EINVAL, "invalid IPv6 address '%s' (expected ADDR/N)", s ? s : "");
}

void lxm_ipv6_format(const struct in6_addr *a, char out[INET6_ADDRSTRLEN])
{
    if (!inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN))
        snprintf(out, INET6_ADDRSTRLEN, "::");
}

void lxm_cidr6_format(const struct lxm_cidr6 *c, char out[LXM_CIDR6_LEN])
{
    char a[INET6_ADDRSTRLEN];
    lxm_ipv6_format(&c->addr, a);
    snprintf(out, LXM_CIDR6_LEN, "%s/%d", a, c->prefix);
}

struct lxm_cidr6 lxm_cidr6_network(const struct lxm_cidr6 *c)
{
    struct lxm_cidr6 n = *c;
    for (int i = 0; i < 16; i++) {
        int bits = c->prefix - i * 8;
        n.addr.s6_addr[i] &= bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
    }
    return n;
}

int lxm_ula_generate(struct lxm_cidr6 *out, struct lxm_error *err)
{
    uint8_t id[5];
    if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id))
        return lxm_error_errno(err, errno ? errno : EIO, "random ULA global ID");
    memset(out, 0, sizeof(*out));
    out->addr.s6_addr[0] = 0xfd;
    memcpy(&out->addr.s6_addr[1], id, sizeof(id));
    out->addr.s6_addr[15] = 1;
    out->prefix = 64;
    return 0;
}

struct in6_addr lxm_ipv6_eui64(const struct lxm_cidr6 *net, const uint8_t mac[6])
{
    struct in6_addr a = lxm_cidr6_network(net).addr;
    uint8_t iid[8] = {mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]};
    memcpy(&a.s6_addr[8], iid, sizeof(iid));
    return a;
}

bool lxm_ipv6_available(void)
{
    return path_exists("/proc/sys/net/ipv6/conf/all");
}

static bool is_link_local(const struct in6_addr *a)
{
    return a->s6_addr[0] == 0xfe && (a->s6_addr[1] & 0xc0) == 0x80;
}

static int parse_conf(const char *bridge, const char *conf, struct lxm_cidr6 *out,
                      struct lxm_error *err)
{
    int r = lxm_cidr6_parse(conf, out, err);
    if (r < 0)
        return lxm_error_prefix(err, "bridge %s", bridge);
    if (out->prefix != 64)
        return lxm_error_set(err, EINVAL,
                             "bridge %s: IPv6 prefix /%d of '%s' is not /64 (SLAAC needs a /64)",
                             bridge, out->prefix, conf);
    struct lxm_cidr6 net = lxm_cidr6_network(out);
    if (memcmp(&net.addr, &out->addr, sizeof(net.addr)) == 0)
        out->addr.s6_addr[15] = 1; /* PREFIX::/64: the bridge takes ::1 */
    return 0;
}

int lxm_ipv6_check_conf(const char *bridge, const char *conf, struct lxm_error *err)
{
    struct lxm_cidr6 c;
    return !conf || strcmp(conf, "none") == 0 ? 0 : parse_conf(bridge, conf, &c, err);
}

static int record(const char *dir, const char *bridge, const struct lxm_cidr6 *c,
                  struct lxm_error *err)
{
    char s[LXM_CIDR6_LEN + 1];
    lxm_cidr6_format(c, s);
    strcat(s, "\n");
    _cleanup_free_ char *d = xasprintf("%s/%s", dir, bridge);
    _cleanup_free_ char *f = xasprintf("%s/%s/ipv6", dir, bridge);
    int r = d && f ? mkdir_p(d, 0755) : -ENOMEM;
    if (r == 0)
        r = write_file_atomic(f, s, strlen(s), 0644);
    return r < 0 ? lxm_error_errno(err, -r, "record IPv6 prefix in %s", f ? f : dir) : 0;
}

int lxm_ipv6_resolve(struct nl_sock *sk, const char *bridge, const char *dir, const char *conf,
                     bool exists, struct lxm_cidr6 *out, bool *on, struct lxm_error *err)
{
    *on = false;
    if (conf && strcmp(conf, "none") == 0)
        return 0;
    if (!lxm_ipv6_available())
        return 0;
    *on = true;
    if (conf)
        return parse_conf(bridge, conf, out, err);
    _cleanup_free_ char *f = xasprintf("%s/%s/ipv6", dir, bridge);
    _cleanup_free_ char *rec = NULL;
    if (!f)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (read_file(f, &rec, NULL) == 0) {
        rec[strcspn(rec, "\n")] = '\0';
        if (parse_conf(bridge, rec, out, NULL) == 0)
            return 0;
    }
    int r;
    if (exists) {
        _cleanup_strv_free_ char **have = NULL;
        if ((r = lxm_addr6_list(sk, bridge, &have, err)) < 0)
            return r;
        for (char **h = have; *h; h++)
            if (lxm_cidr6_parse(*h, out, NULL) == 0 && out->prefix == 64)
                return record(dir, bridge, out, err);
    }
    r = lxm_ula_generate(out, err);
    return r < 0 ? r : record(dir, bridge, out, err);
}

void lxm_ipv6_router_iface(const char *ifname)
{
    static const char *const keys[] = {"accept_ra", "autoconf"};
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        _cleanup_free_ char *p = xasprintf("/proc/sys/net/ipv6/conf/%s/%s", ifname, keys[i]);
        _cleanup_free_ char *cur = NULL;
        if (p && read_file(p, &cur, NULL) == 0 && cur[0] != '0')
            (void)write_string(p, "0");
    }
}

static void nladdrp(struct nl_addr **a)
{
    if (*a)
        nl_addr_put(*a);
}

static void cachep(struct nl_cache **c)
{
    if (*c)
        nl_cache_free(*c);
}

int lxm_addr6_add(struct nl_sock *sk, const char *ifname, const struct lxm_cidr6 *c,
                  struct lxm_error *err)
{
    char s[LXM_CIDR6_LEN];
    lxm_cidr6_format(c, s);
    int idx = lxm_link_ifindex(sk, ifname);
    if (idx < 0)
        return lxm_error_errno(err, -idx, "add address %s to %s", s, ifname);
    /* A bridge made while the host default is disable_ipv6=1. */
    _cleanup_free_ char *dis = xasprintf("/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
    _cleanup_free_ char *cur = NULL;
    if (dis && read_file(dis, &cur, NULL) == 0 && cur[0] == '1')
        (void)write_string(dis, "0");
    struct rtnl_addr *ra = rtnl_addr_alloc();
    __attribute__((cleanup(nladdrp))) struct nl_addr *local =
        nl_addr_build(AF_INET6, &c->addr, sizeof(c->addr));
    if (!ra || !local) {
        if (ra)
            rtnl_addr_put(ra);
        return lxm_error_set(err, ENOMEM, "add address %s: out of memory", s);
    }
    nl_addr_set_prefixlen(local, c->prefix);
    rtnl_addr_set_ifindex(ra, idx);
    rtnl_addr_set_family(ra, AF_INET6);
    rtnl_addr_set_local(ra, local);
    rtnl_addr_set_flags(ra, IFA_F_NODAD);
    int r = rtnl_addr_add(sk, ra, 0);
    rtnl_addr_put(ra);
    if (r < 0 && lxm_nl_errno(r) != EEXIST)
        return lxm_nl_error(err, r, "add address %s to %s", s, ifname);
    return 0;
}

bool lxm_addr6_listed(const struct in6_addr *a, int scope)
{
    return scope < RT_SCOPE_LINK && !is_link_local(a);
}

int lxm_addr6_list(struct nl_sock *sk, const char *ifname, char ***out, struct lxm_error *err)
{
    int want = 0;
    if (ifname && (want = lxm_link_ifindex(sk, ifname)) < 0)
        return lxm_error_errno(err, -want, "addresses of %s", ifname);
    __attribute__((cleanup(cachep))) struct nl_cache *cache = NULL;
    int r = rtnl_addr_alloc_cache(sk, &cache);
    if (r < 0)
        return lxm_nl_error(err, r, "list addresses");
    _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
    if (!v)
        return lxm_error_set(err, ENOMEM, "list addresses: out of memory");
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        struct rtnl_addr *a = (struct rtnl_addr *)o;
        struct nl_addr *local = rtnl_addr_get_local(a);
        if (rtnl_addr_get_family(a) != AF_INET6 || !local || nl_addr_get_len(local) != 16)
            continue;
        if (want && rtnl_addr_get_ifindex(a) != want)
            continue;
        struct lxm_cidr6 c = {.prefix = rtnl_addr_get_prefixlen(a)};
        memcpy(&c.addr, nl_addr_get_binary_addr(local), 16);
        if (!lxm_addr6_listed(&c.addr, rtnl_addr_get_scope(a)))
            continue;
        char s[LXM_CIDR6_LEN];
        lxm_cidr6_format(&c, s);
        if (strv_push(&v, s) < 0)
            return lxm_error_set(err, ENOMEM, "list addresses: out of memory");
    }
    *out = TAKE_PTR(v);
    return 0;
}

int lxm_ipv6_forward_enable(struct lxm_error *err)
{
    const char *p = "/proc/sys/net/ipv6/conf/all/forwarding";
    _cleanup_free_ char *cur = NULL;
    if (read_file(p, &cur, NULL) == 0 && cur[0] == '1')
        return 0;
    _cleanup_closedir_ DIR *d = opendir("/proc/sys/net/ipv6/conf");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        _cleanup_free_ char *ra = xasprintf("/proc/sys/net/ipv6/conf/%s/accept_ra", e->d_name);
        _cleanup_free_ char *v = NULL;
        if (ra && read_file(ra, &v, NULL) == 0 && v[0] == '1')
            (void)write_string(ra, "2");
    }
    int r = write_string(p, "1");
    if (r < 0)
        return lxm_error_errno(err, -r, "enable IPv6 forwarding (%s)", p);
    return 0;
}

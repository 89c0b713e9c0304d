#include "lxm/net/bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lxm/net/dnsmasq.h"
#include "lxm/net/link.h"
#include "lxm/net/nat.h"
#include "lxm/net/netlink.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

static int parse_bridge_addr(const char *name, const char *s, struct lxm_cidr *out,
                             struct lxm_error *err)
{
    int r = lxm_cidr_parse(s, false, out, err);
    if (r < 0)
        return lxm_error_prefix(err, "bridge %s", name);
    if (out->prefix < 8 || out->prefix > 30)
        return lxm_error_set(err, EINVAL, "bridge %s: prefix /%d of '%s' is not in /8../30", name,
                             out->prefix, s);
    if (out->addr == lxm_cidr_network(out) || out->addr == lxm_cidr_broadcast(out))
        return lxm_error_set(
            err, EINVAL, "bridge %s: '%s' is a network or broadcast address, not a host address",
            name, s);
    return 0;
}

int lxm_bridge_check(const struct lxm_bridge_cfg *c, struct lxm_error *err)
{
    int r = lxm_ifname_validate(c->name, err);
    if (r < 0)
        return lxm_error_prefix(err, "bridge");
    struct lxm_cidr a;
    if (c->ipv4 && (r = parse_bridge_addr(c->name, c->ipv4, &a, err)) < 0)
        return r;
    return lxm_ipv6_check_conf(c->name, c->ipv6, err);
}

int lxm_bridge_pick_subnet(struct nl_sock *sk, struct lxm_cidr *out, struct lxm_error *err)
{
    _cleanup_free_ struct lxm_cidr *used = NULL;
    int n = 0;
    int r = lxm_route_prefixes(sk, &used, &n, err);
    if (r < 0)
        return r;
    for (uint32_t second = 77; second < 255; second++) {
        struct lxm_cidr cand = {(10u << 24) | (second << 16), 24};
        bool clash = false;
        for (int i = 0; i < n && !clash; i++)
            clash = lxm_cidr_overlap(&cand, &used[i]);
        if (!clash) {
            cand.addr |= 1;
            *out = cand;
            return 0;
        }
    }
    return lxm_error_set(err, EADDRINUSE,
                         "no free /24 in 10.77.0.0-10.254.0.0 for the bridge; "
                         "set network.ipv4 in the global config");
}

static char *state_file(const struct lxm_bridge_cfg *c)
{
    return xasprintf("%s/%s/ipv4", c->dir, c->name);
}

/* Address: configured, else what the bridge has, else recorded, else a
 * free /24 which is then recorded. */
static int resolve_addr(struct nl_sock *sk, const struct lxm_bridge_cfg *c, bool exists,
                        struct lxm_cidr *out, struct lxm_error *err)
{
    if (c->ipv4)
        return parse_bridge_addr(c->name, c->ipv4, out, err);
    if (exists) {
        _cleanup_strv_free_ char **have = NULL;
        int r = lxm_addr_list(sk, c->name, &have, err);
        if (r < 0)
            return r;
        if (have[0])
            return lxm_cidr_parse(have[0], false, out, err);
    }
    _cleanup_free_ char *sf = state_file(c);
    _cleanup_free_ char *rec = NULL;
    if (!sf)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (read_file(sf, &rec, NULL) == 0) {
        rec[strcspn(rec, "\n")] = '\0';
        if (parse_bridge_addr(c->name, rec, out, NULL) == 0)
            return 0;
    }
    int r = lxm_bridge_pick_subnet(sk, out, err);
    if (r < 0)
        return r;
    char s[24];
    lxm_cidr_format(out, s);
    strcat(s, "\n");
    _cleanup_free_ char *d = xasprintf("%s/%s", c->dir, c->name);
    if (!d || (r = mkdir_p(d, 0755)) < 0 || (r = write_file_atomic(sf, s, strlen(s), 0644)) < 0)
        return lxm_error_errno(err, r ? -r : ENOMEM, "record subnet in %s", sf);
    return 0;
}

int lxm_bridge_address(const struct lxm_bridge_cfg *c, struct lxm_cidr *out, struct lxm_error *err)
{
    _cleanup_nl_ struct nl_sock *sk = NULL;
    int r = lxm_nl_open(-1, &sk, err);
    if (r < 0)
        return r;
    struct lxm_link_info li;
    return resolve_addr(sk, c, lxm_link_get(sk, c->name, &li, NULL) == 0, out, err);
}

int lxm_bridge_address6(const struct lxm_bridge_cfg *c, struct lxm_cidr6 *out, bool *on,
                        struct lxm_error *err)
{
    _cleanup_nl_ struct nl_sock *sk = NULL;
    int r = lxm_nl_open(-1, &sk, err);
    if (r < 0)
        return r;
    struct lxm_link_info li;
    bool exists = lxm_link_get(sk, c->name, &li, NULL) == 0;
    return lxm_ipv6_resolve(sk, c->name, c->dir, c->ipv6, exists, out, on, err);
}

/* NAT of one family as the bridge wants it, with forwarding on when it
 * does. The table is rewritten only when it or the address is new:
 * libnftables costs tens of ms per process. */
static int sync_nat(enum lxm_nat_family fam, const char *bridge, bool want, const char *subnet,
                    bool had_addr, struct lxm_error *err)
{
    bool there = false;
    int r = lxm_nat_present(fam, bridge, &there, err);
    if (r < 0)
        return r;
    if (!want)
        return there ? lxm_nat_disable(fam, bridge, err) : 0;
    r = fam == LXM_NAT_IPV6 ? lxm_ipv6_forward_enable(err) : lxm_ip_forward_enable(err);
    if (r < 0)
        return r;
    return there && had_addr ? 0 : lxm_nat_enable(fam, bridge, subnet, err);
}

/* The ULA on the bridge, and NAT66 with forwarding when nat is on. */
static int up_ipv6(struct nl_sock *sk, const struct lxm_bridge_cfg *c, bool exists, bool on,
                   const struct lxm_cidr6 *a6, struct lxm_error *err)
{
    bool had = false;
    char want[LXM_CIDR6_LEN], subnet[LXM_CIDR6_LEN] = "";
    _cleanup_strv_free_ char **have = NULL;
    if (on) {
        lxm_cidr6_format(a6, want);
        struct lxm_cidr6 net = lxm_cidr6_network(a6);
        lxm_cidr6_format(&net, subnet);
        had = exists && lxm_addr6_list(sk, c->name, &have, NULL) == 0 && strv_contains(have, want);
        lxm_ipv6_router_iface(c->name);
    }
    int r;
    if (on && !had && (r = lxm_addr6_add(sk, c->name, a6, err)) < 0)
        return r;
    return sync_nat(LXM_NAT_IPV6, c->name, on && c->nat, subnet, had, err);
}

static int ensure_link(struct nl_sock *sk, const struct lxm_bridge_cfg *c, bool *exists,
                       struct lxm_error *err)
{
    struct lxm_link_info li;
    int r = lxm_link_get(sk, c->name, &li, NULL);
    *exists = r == 0;
    if (r == 0 && strcmp(li.kind, "bridge") != 0)
        return lxm_error_set(err, EEXIST, "bridge %s: an interface of that name exists and is %s%s",
                             c->name, li.kind[0] ? "a " : "not a bridge", li.kind);
    return 0;
}

/* Serialises up and down of one bridge (concurrent starts of several
 * containers bring it up together). Released when the fd closes. */
static int lock_bridge(const struct lxm_bridge_cfg *c, struct lxm_error *err)
{
    _cleanup_free_ char *d = xasprintf("%s/%s", c->dir, c->name);
    _cleanup_free_ char *p = xasprintf("%s/lock", d ? d : "");
    if (!d || !p)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = mkdir_p(d, 0755);
    if (r < 0)
        return lxm_error_errno(err, -r, "create %s", d);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s", p);
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return lxm_error_errno(err, e, "lock %s", p);
        }
    }
    return fd;
}

int lxm_bridge_up(const struct lxm_bridge_cfg *c, struct lxm_cidr *addr, struct lxm_error *err)
{
    int r = lxm_bridge_check(c, err);
    if (r < 0)
        return r;
    _cleanup_close_ int lock = lock_bridge(c, err);
    if (lock < 0)
        return lock;
    _cleanup_nl_ struct nl_sock *sk = NULL;
    if ((r = lxm_nl_open(-1, &sk, err)) < 0)
        return r;
    bool exists;
    if ((r = ensure_link(sk, c, &exists, err)) < 0)
        return r;
    struct lxm_cidr a;
    if ((r = resolve_addr(sk, c, exists, &a, err)) < 0)
        return r;
    struct lxm_cidr6 a6;
    bool on6;
    if ((r = lxm_ipv6_resolve(sk, c->name, c->dir, c->ipv6, exists, &a6, &on6, err)) < 0)
        return r;
    struct lxm_dnsmasq_cfg d = {c->dir, c->name, a.addr, a.prefix, c->domain, c->upstream, NULL,
                                on6 ? &a6 : NULL, c->nat};
    if (c->dhcp && (r = lxm_dnsmasq_check(&d, err)) < 0)
        return r;
    char want[24];
    lxm_cidr_format(&a, want);
    _cleanup_strv_free_ char **have = NULL;
    bool had_addr =
        exists && lxm_addr_list(sk, c->name, &have, NULL) == 0 && strv_contains(have, want);
    if (!exists && (r = lxm_link_bridge_create(sk, c->name, err)) < 0 && r != -EEXIST)
        return r;
    if ((!had_addr && (r = lxm_addr_add(sk, c->name, &a, err)) < 0) ||
        (r = lxm_link_set_up(sk, c->name, true, err)) < 0 ||
        (r = up_ipv6(sk, c, exists, on6, &a6, err)) < 0)
        return r;
    struct lxm_cidr net = {lxm_cidr_network(&a), a.prefix};
    char subnet[24];
    lxm_cidr_format(&net, subnet);
    if ((r = sync_nat(LXM_NAT_IPV4, c->name, c->nat, subnet, had_addr, err)) < 0)
        return r;
    if (c->dhcp) {
        /* A dnsmasq that outlived its bridge holds sockets on the old
         * interface and would not serve the new one. */
        if (!exists && (r = lxm_dnsmasq_stop(c->dir, c->name, err)) < 0)
            return r;
        r = lxm_dnsmasq_ensure(&d, NULL, err);
        /* Another lxm root (a test) already serves this bridge: its
         * dnsmasq answers our containers as well. */
        if (r == -EADDRINUSE)
            lxm_warn("%s; DHCP/DNS on %s is left to the server already there", err->msg, c->name);
        else if (r < 0)
            return r;
    } else if ((r = lxm_dnsmasq_stop(c->dir, c->name, err)) < 0) {
        return r;
    }
    if (addr)
        *addr = a;
    return 0;
}

static int list_ports(struct nl_sock *sk, int ifindex, char ***out, struct lxm_error *err)
{
    _cleanup_free_ struct lxm_link_info *links = NULL;
    int n = 0;
    int r = lxm_link_list(sk, &links, &n, err);
    if (r < 0)
        return r;
    _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
    if (!v)
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (int i = 0; i < n; i++)
        if (links[i].master == ifindex && strv_push(&v, links[i].name) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    *out = TAKE_PTR(v);
    return 0;
}

int lxm_bridge_status(const struct lxm_bridge_cfg *c, struct lxm_bridge_status *out,
                      struct lxm_error *err)
{
    memset(out, 0, sizeof(*out));
    _cleanup_nl_ struct nl_sock *sk = NULL;
    int r = lxm_nl_open(-1, &sk, err);
    if (r < 0)
        return r;
    struct lxm_link_info li;
    out->exists = lxm_link_get(sk, c->name, &li, NULL) == 0;
    if (out->exists) {
        out->up = li.up;
        _cleanup_strv_free_ char **have = NULL;
        if ((r = lxm_addr_list(sk, c->name, &have, err)) < 0)
            return r;
        out->has_addr = have[0] && lxm_cidr_parse(have[0], false, &out->addr, NULL) == 0;
        _cleanup_strv_free_ char **have6 = NULL;
        if ((r = lxm_addr6_list(sk, c->name, &have6, err)) < 0)
            return r;
        out->has_addr6 = have6[0] && lxm_cidr6_parse(have6[0], &out->addr6, NULL) == 0;
        if ((r = list_ports(sk, li.ifindex, &out->ports, err)) < 0)
            return r;
    }
    if ((r = lxm_nat_present(LXM_NAT_IPV4, c->name, &out->nat, err)) < 0 ||
        (r = lxm_nat_present(LXM_NAT_IPV6, c->name, &out->nat6, err)) < 0)
        return r;
    out->dnsmasq = lxm_dnsmasq_pid(c->dir, c->name);
    return 0;
}

void lxm_bridge_status_free(struct lxm_bridge_status *s)
{
    strv_free(s->ports);
    s->ports = NULL;
}

int lxm_bridge_down(const struct lxm_bridge_cfg *c, bool force, struct lxm_error *err)
{
    int r = lxm_ifname_validate(c->name, err);
    if (r < 0)
        return lxm_error_prefix(err, "bridge");
    _cleanup_free_ char *state = xasprintf("%s/%s", c->dir, c->name);
    if (!state)
        return lxm_error_set(err, ENOMEM, "out of memory");
    bool ours = path_exists(state);
    _cleanup_nl_ struct nl_sock *sk = NULL;
    if ((r = lxm_nl_open(-1, &sk, err)) < 0)
        return r;
    struct lxm_link_info li;
    bool exists = lxm_link_get(sk, c->name, &li, NULL) == 0;
    if (exists && strcmp(li.kind, "bridge") != 0)
        return lxm_error_set(err, EEXIST, "%s is not a bridge; not touching it", c->name);
    /* Bridge names are host-wide: a bridge, NAT table or dnsmasq set up by
     * another lxm (another --root) or by hand is left alone. */
    if (!ours && !force) {
        if (exists)
            return lxm_error_set(err, EPERM,
                                 "bridge %s was not set up by this lxm (no %s); use -f to remove "
                                 "it anyway",
                                 c->name, state);
        return 0;
    }
    _cleanup_close_ int lock = lock_bridge(c, err);
    if (lock < 0)
        return lock;
    if (exists && !force) {
        _cleanup_strv_free_ char **ports = NULL;
        if ((r = list_ports(sk, li.ifindex, &ports, err)) < 0)
            return r;
        if (ports[0])
            return lxm_error_set(err, EBUSY,
                                 "bridge %s is in use by %zu interface(s) (%s%s): stop those "
                                 "containers first, or use -f",
                                 c->name, strv_length(ports), ports[0], ports[1] ? ", ..." : "");
    }
    if ((r = lxm_dnsmasq_stop(c->dir, c->name, err)) < 0 ||
        (r = lxm_nat_disable(LXM_NAT_IPV4, c->name, err)) < 0 ||
        (r = lxm_nat_disable(LXM_NAT_IPV6, c->name, err)) < 0)
        return r;
    if (exists && (r = lxm_link_delete(sk, c->name, err)) < 0 && r != -ENODEV)
        return r;
    return exists ? 1 : 0;
}

#include "lxm/net/link.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/veth.h>

#include "lxm/net/netlink.h"
#include "util/cleanup.h"

static void linkp(struct rtnl_link **l)
{
    if (*l)
        rtnl_link_put(*l);
}
#define _cleanup_link_ _cleanup_(linkp)

static void nladdrp(struct nl_addr **a)
{
    if (*a)
        nl_addr_put(*a);
}
#define _cleanup_nladdr_ _cleanup_(nladdrp)

int lxm_ifname_validate(const char *name, struct lxm_error *err)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0)
        return lxm_error_set(err, EINVAL, "interface name is empty");
    if (len >= IF_NAMESIZE)
        return lxm_error_set(err, EINVAL, "interface name '%s' is longer than %d characters", name,
                             IF_NAMESIZE - 1);
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return lxm_error_set(err, EINVAL, "interface name '%s' is not allowed", name);
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == ':' || *p <= ' ' || *p == 0x7f)
            return lxm_error_set(err, EINVAL, "interface name '%s' contains '%c'", name, *p);
    return 0;
}

int lxm_mac_parse(const char *s, uint8_t mac[LXM_MAC_LEN])
{
    unsigned v[LXM_MAC_LEN];
    char tail;
    if (!s || strlen(s) != 17 ||
        sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) !=
            LXM_MAC_LEN)
        return -EINVAL;
    for (int i = 0; i < LXM_MAC_LEN; i++)
        mac[i] = (uint8_t)v[i];
    if (mac[0] & 1) /* multicast bit: not a unicast station */
        return -EINVAL;
    return 0;
}

void lxm_mac_format(const uint8_t mac[LXM_MAC_LEN], char out[18])
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
}

int lxm_link_ifindex(struct nl_sock *sk, const char *name)
{
    _cleanup_link_ struct rtnl_link *l = NULL;
    int r = rtnl_link_get_kernel(sk, 0, name, &l);
    if (r < 0)
        return -lxm_nl_errno(r) == -ENOENT ? -ENODEV : -lxm_nl_errno(r);
    return rtnl_link_get_ifindex(l);
}

static void fill_info(struct rtnl_link *l, struct lxm_link_info *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", rtnl_link_get_name(l) ?: "");
    const char *kind = rtnl_link_get_type(l);
    snprintf(out->kind, sizeof(out->kind), "%s", kind ? kind : "");
    out->ifindex = rtnl_link_get_ifindex(l);
    out->master = rtnl_link_get_master(l);
    out->up = rtnl_link_get_flags(l) & IFF_UP;
    int32_t nsid;
    out->peer_netns = strcmp(out->kind, "veth") == 0 && rtnl_link_get_link_netnsid(l, &nsid) == 0;
    out->mtu = rtnl_link_get_mtu(l);
    out->rx_bytes = rtnl_link_get_stat(l, RTNL_LINK_RX_BYTES);
    out->tx_bytes = rtnl_link_get_stat(l, RTNL_LINK_TX_BYTES);
}

int lxm_link_get(struct nl_sock *sk, const char *name, struct lxm_link_info *out,
                 struct lxm_error *err)
{
    _cleanup_link_ struct rtnl_link *l = NULL;
    int r = rtnl_link_get_kernel(sk, 0, name, &l);
    if (r < 0) {
        if (lxm_nl_errno(r) == ENOENT || lxm_nl_errno(r) == ENODEV)
            return lxm_error_set(err, ENODEV, "interface %s: No such device", name);
        return lxm_nl_error(err, r, "interface %s", name);
    }
    fill_info(l, out);
    return 0;
}

int lxm_link_list(struct nl_sock *sk, struct lxm_link_info **out, int *n, struct lxm_error *err)
{
    struct nl_cache *cache = NULL;
    int r = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
    if (r < 0)
        return lxm_nl_error(err, r, "list interfaces");
    int count = nl_cache_nitems(cache);
    struct lxm_link_info *v = calloc(count ? count : 1, sizeof(*v));
    if (!v) {
        nl_cache_free(cache);
        return lxm_error_set(err, ENOMEM, "list interfaces: out of memory");
    }
    int i = 0;
    for (struct nl_object *o = nl_cache_get_first(cache); o && i < count; o = nl_cache_get_next(o))
        fill_info((struct rtnl_link *)o, &v[i++]);
    nl_cache_free(cache);
    *out = v;
    *n = i;
    return 0;
}

static int set_mac(struct rtnl_link *l, const uint8_t *mac)
{
    if (!mac)
        return 0;
    _cleanup_nladdr_ struct nl_addr *a = nl_addr_build(AF_LLC, mac, LXM_MAC_LEN);
    if (!a)
        return -ENOMEM;
    rtnl_link_set_addr(l, a);
    return 0;
}

int lxm_link_bridge_create(struct nl_sock *sk, const char *name, struct lxm_error *err)
{
    int r = lxm_ifname_validate(name, err);
    if (r < 0)
        return lxm_error_prefix(err, "bridge");
    /* A bridge whose MAC was set keeps it; otherwise it takes the lowest
     * of its ports' and changes as containers come and go, leaving stale
     * gateway entries in their ARP caches. Locally administered, stable
     * per name. */
    uint32_t h = 2166136261u;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    const uint8_t mac[LXM_MAC_LEN] = {
        0x02, 0x6c, (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h};
    _cleanup_link_ struct rtnl_link *l = rtnl_link_bridge_alloc();
    if (!l || set_mac(l, mac) < 0)
        return lxm_error_set(err, ENOMEM, "create bridge %s: out of memory", name);
    rtnl_link_set_name(l, name);
    r = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
    if (r < 0)
        return lxm_nl_error(err, r, "create bridge %s", name);
    return 0;
}

int lxm_link_veth_create(struct nl_sock *sk, const struct lxm_veth_spec *s, struct lxm_error *err)
{
    int r = lxm_ifname_validate(s->name, err);
    if (r < 0 || (r = lxm_ifname_validate(s->peer_name, err)) < 0)
        return lxm_error_prefix(err, "veth");
    int master = 0;
    if (s->master && (master = lxm_link_ifindex(sk, s->master)) < 0)
        return lxm_error_errno(err, -master, "veth %s: bridge %s", s->name, s->master);
    _cleanup_link_ struct rtnl_link *l = rtnl_link_veth_alloc();
    if (!l)
        return lxm_error_set(err, ENOMEM, "veth %s: out of memory", s->name);
    _cleanup_link_ struct rtnl_link *peer = rtnl_link_veth_get_peer(l);
    rtnl_link_set_name(l, s->name);
    rtnl_link_set_name(peer, s->peer_name);
    if (s->mtu) {
        rtnl_link_set_mtu(l, s->mtu);
        rtnl_link_set_mtu(peer, s->mtu);
    }
    if (master)
        rtnl_link_set_master(l, master);
    rtnl_link_set_flags(l, IFF_UP);
    if (s->peer_netns_fd >= 0)
        rtnl_link_set_ns_fd(peer, s->peer_netns_fd);
    if (set_mac(peer, s->peer_mac) < 0)
        return lxm_error_set(err, ENOMEM, "veth %s: out of memory", s->name);
    r = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
    if (r < 0)
        return lxm_nl_error(err, r, "create veth %s (peer %s)", s->name, s->peer_name);
    return 0;
}

int lxm_link_macvlan_create(struct nl_sock *sk, const struct lxm_macvlan_spec *s,
                            struct lxm_error *err)
{
    int r = lxm_ifname_validate(s->name, err);
    if (r < 0)
        return lxm_error_prefix(err, "macvlan");
    int parent = lxm_link_ifindex(sk, s->parent);
    if (parent < 0)
        return lxm_error_set(err, ENODEV, "macvlan %s: unknown parent interface '%s'", s->name,
                             s->parent);
    _cleanup_link_ struct rtnl_link *l = rtnl_link_macvlan_alloc();
    if (!l)
        return lxm_error_set(err, ENOMEM, "macvlan %s: out of memory", s->name);
    rtnl_link_set_name(l, s->name);
    rtnl_link_set_link(l, parent);
    rtnl_link_macvlan_set_mode(l, rtnl_link_macvlan_str2mode("bridge"));
    if (s->mtu)
        rtnl_link_set_mtu(l, s->mtu);
    if (s->netns_fd >= 0)
        rtnl_link_set_ns_fd(l, s->netns_fd);
    if (set_mac(l, s->mac) < 0)
        return lxm_error_set(err, ENOMEM, "macvlan %s: out of memory", s->name);
    r = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
    if (r < 0)
        return lxm_nl_error(err, r, "create macvlan %s on %s", s->name, s->parent);
    return 0;
}

/* Apply the attributes of changes to the existing interface name. */
static int change(struct nl_sock *sk, const char *name, struct rtnl_link *changes,
                  struct lxm_error *err, const char *what)
{
    _cleanup_link_ struct rtnl_link *orig = NULL;
    int r = rtnl_link_get_kernel(sk, 0, name, &orig);
    if (r < 0)
        return lxm_nl_error(err, r, "%s %s", what, name);
    r = rtnl_link_change(sk, orig, changes, 0);
    if (r < 0)
        return lxm_nl_error(err, r, "%s %s", what, name);
    return 0;
}

int lxm_link_set_up(struct nl_sock *sk, const char *name, bool up, struct lxm_error *err)
{
    _cleanup_link_ struct rtnl_link *c = rtnl_link_alloc();
    if (!c)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (up)
        rtnl_link_set_flags(c, IFF_UP);
    else
        rtnl_link_unset_flags(c, IFF_UP);
    return change(sk, name, c, err, up ? "bring up" : "bring down");
}

int lxm_link_lo_up(struct lxm_error *err)
{
    _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return lxm_error_errno(err, errno, "bring up lo: socket");
    struct ifreq ifr = {.ifr_name = "lo"};
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        return lxm_error_errno(err, errno, "bring up lo");
    if (ifr.ifr_flags & IFF_UP)
        return 0;
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        return lxm_error_errno(err, errno, "bring up lo");
    return 0;
}

int lxm_link_set_master(struct nl_sock *sk, const char *name, const char *master,
                        struct lxm_error *err)
{
    int idx = 0;
    if (master && (idx = lxm_link_ifindex(sk, master)) < 0)
        return lxm_error_errno(err, -idx, "attach %s to bridge %s", name, master);
    _cleanup_link_ struct rtnl_link *c = rtnl_link_alloc();
    if (!c)
        return lxm_error_set(err, ENOMEM, "out of memory");
    rtnl_link_set_master(c, idx);
    return change(sk, name, c, err, "set master of");
}

int lxm_link_set_mtu(struct nl_sock *sk, const char *name, unsigned mtu, struct lxm_error *err)
{
    _cleanup_link_ struct rtnl_link *c = rtnl_link_alloc();
    if (!c)
        return lxm_error_set(err, ENOMEM, "out of memory");
    rtnl_link_set_mtu(c, mtu);
    return change(sk, name, c, err, "set MTU of");
}

int lxm_link_set_mac(struct nl_sock *sk, const char *name, const uint8_t mac[LXM_MAC_LEN],
                     struct lxm_error *err)
{
    _cleanup_link_ struct rtnl_link *c = rtnl_link_alloc();
    if (!c || set_mac(c, mac) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return change(sk, name, c, err, "set MAC address of");
}

int lxm_link_rename(struct nl_sock *sk, const char *name, const char *new_name,
                    struct lxm_error *err)
{
    int r = lxm_ifname_validate(new_name, err);
    if (r < 0)
        return lxm_error_prefix(err, "rename %s", name);
    _cleanup_link_ struct rtnl_link *c = rtnl_link_alloc();
    if (!c)
        return lxm_error_set(err, ENOMEM, "out of memory");
    rtnl_link_set_name(c, new_name);
    return change(sk, name, c, err, "rename");
}

int lxm_link_move(struct nl_sock *sk, const char *name, int netns_fd, pid_t pid,
                  struct lxm_error *err)
{
    _cleanup_link_ struct rtnl_link *c = rtnl_link_alloc();
    if (!c)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (netns_fd >= 0)
        rtnl_link_set_ns_fd(c, netns_fd);
    else
        rtnl_link_set_ns_pid(c, pid);
    return change(sk, name, c, err, "move to another network namespace:");
}

int lxm_link_delete(struct nl_sock *sk, const char *name, struct lxm_error *err)
{
    _cleanup_link_ struct rtnl_link *l = rtnl_link_alloc();
    if (!l)
        return lxm_error_set(err, ENOMEM, "out of memory");
    rtnl_link_set_name(l, name);
    int r = rtnl_link_delete(sk, l);
    if (r < 0) {
        int e = lxm_nl_errno(r);
        if (e == ENOENT || e == ENODEV)
            return lxm_error_set(err, ENODEV, "delete interface %s: No such device", name);
        return lxm_nl_error(err, r, "delete interface %s", name);
    }
    return 0;
}

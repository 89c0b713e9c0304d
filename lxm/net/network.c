/* network: a container's interfaces built from its config (veth on a
 * bridge, macvlan on a parent, none), on top of the container-agnostic
 * layer in net/. Owns host-side naming, stable MACs, validation against
 * the managed bridge, and the per-container host cleanup. */
#include "net/network.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "config/container.h"
#include "net/network-ports.h"
#include "lxm/net/addr.h"
#include "lxm/net/bridge.h"
#include "lxm/net/dnsmasq.h"
#include "lxm/net/link.h"
#include "lxm/net/netlink.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/strv.h"

#define MAX_NETIFS 32

struct iface {
    char name[IF_NAMESIZE]; /* inside the container */
    enum lxm_net_type type;
    char host[IF_NAMESIZE]; /* veth: the host end */
    char link[IF_NAMESIZE]; /* veth: bridge; macvlan: parent */
    uint8_t mac[LXM_MAC_LEN];
    unsigned mtu;
    bool is_static;
    bool dhcp;              /* addressed by the managed bridge's DHCP */
    struct lxm_cidr addr;
    uint32_t gw; /* 0 = no default route */
    uint32_t reserve; /* DHCP: the address dnsmasq keeps for it (ports), 0 = none */
};

struct lxm_network {
    struct iface *ifs;
    int n;
    char *ports_key; /* its forwards (ports:) are in place under this key */
};

static void lxm_network_freep(struct lxm_network **n)
{
    lxm_network_free(*n);
}

/* The hash of "A/B". */
static uint32_t fnv1a(const char *a, const char *b)
{
    return lxm_fnv1a(lxm_fnv1a(lxm_fnv1a(LXM_FNV1A_INIT, a), "/"), b);
}

/* "v" + up to 8 chars of the name + 4 hex of a hash + index: readable, at
 * most 15 chars, derived from the container's name and its --root
 * (paths->instance) alone, so a crashed container's leftovers can be found
 * again and the same name under two roots never meets on the host. */
static void host_name(const char *container, const char *instance, int idx, char out[IF_NAMESIZE])
{
    uint32_t h = fnv1a(container, instance);
    snprintf(out, IF_NAMESIZE, "v%.8s%04x%d", container, (h >> 16 ^ h) & 0xffff, idx);
}

static void stable_mac(const char *container, const char *ifname, uint8_t mac[LXM_MAC_LEN])
{
    uint32_t h = fnv1a(container, ifname);
    mac[0] = 0x00, mac[1] = 0x16, mac[2] = 0x3e;
    mac[3] = (h >> 16) & 0x7f, mac[4] = (h >> 8) & 0xff, mac[5] = h & 0xff;
}

void lxm_network_mac(const char *container, const struct lxm_netif *nif, uint8_t mac[LXM_MAC_LEN])
{
    if (!nif->hwaddr || strcmp(nif->hwaddr, "auto") == 0 || lxm_mac_parse(nif->hwaddr, mac) < 0)
        stable_mac(container, nif->name, mac);
}

int lxm_network_bridge_cfg(const struct lxm_paths *paths, const struct lxm_global *g,
                           struct lxm_bridge_cfg *out, char **dir)
{
    *dir = xasprintf("%s/" LXM_NET_RUN_DIR, paths->run);
    if (!*dir)
        return -ENOMEM;
    *out = (struct lxm_bridge_cfg){.name = g->bridge ? g->bridge : "lxmbr0",
                                   .ipv4 = g->ipv4,
                                   .ipv6 = g->ipv6,
                                   .nat = g->nat,
                                   .dhcp = g->dhcp,
                                   .dir = *dir,
                                   .domain = g->dns_domain ? g->dns_domain : "lxm",
                                   .upstream = g->dns_upstream};
    return 0;
}

static int parse_addr(const struct lxm_netif *nif, struct iface *f, struct lxm_error *err)
{
    if (!nif->ipv4 || strcmp(nif->ipv4, "dhcp") == 0)
        return 0;
    int r = lxm_cidr_parse(nif->ipv4, false, &f->addr, err);
    if (r < 0)
        return r;
    if (f->addr.prefix < 32 && f->addr.prefix > 0 &&
        (f->addr.addr == lxm_cidr_network(&f->addr) ||
         (f->addr.prefix < 31 && f->addr.addr == lxm_cidr_broadcast(&f->addr))))
        return lxm_error_set(err, EINVAL, "ipv4 '%s' is a network or broadcast address", nif->ipv4);
    f->is_static = true;
    if (nif->gateway && strcmp(nif->gateway, "auto") != 0) {
        if ((r = lxm_ipv4_parse(nif->gateway, &f->gw, err)) < 0)
            return lxm_error_prefix(err, "gateway");
        if (!lxm_cidr_contains(&f->addr, f->gw) || f->gw == f->addr.addr)
            return lxm_error_set(err, EINVAL, "gateway %s is not another address in %s",
                                 nif->gateway, nif->ipv4);
    }
    return 0;
}

/* Everything that needs no look at the host. */
static int parse_iface(const struct lxm_config *cfg, const char *instance, const struct lxm_netif *nif, int idx,
                       const char *default_bridge, struct iface *f, struct lxm_error *err)
{
    memset(f, 0, sizeof(*f));
    int r = lxm_ifname_validate(nif->name, err);
    if (r < 0)
        return r;
    snprintf(f->name, sizeof(f->name), "%s", nif->name);
    f->type = nif->type;
    if (f->type == LXM_NET_NONE)
        return 0;
    const char *link =
        f->type == LXM_NET_VETH ? (nif->bridge ? nif->bridge : default_bridge) : nif->parent;
    if (!link)
        return lxm_error_set(err, EINVAL, "macvlan needs a parent interface (network.%s.parent)",
                             nif->name);
    if ((r = lxm_ifname_validate(link, err)) < 0)
        return lxm_error_prefix(err, "%s", f->type == LXM_NET_VETH ? "bridge" : "parent");
    snprintf(f->link, sizeof(f->link), "%s", link);
    if (f->type == LXM_NET_VETH)
        host_name(cfg->name, instance, idx, f->host);
    if (!nif->hwaddr || strcmp(nif->hwaddr, "auto") == 0)
        stable_mac(cfg->name, nif->name, f->mac);
    else if (lxm_mac_parse(nif->hwaddr, f->mac) < 0)
        return lxm_error_set(
            err, EINVAL, "invalid hwaddr '%s' (expected aa:bb:cc:dd:ee:ff, unicast)", nif->hwaddr);
    if (nif->mtu && (nif->mtu < 68 || nif->mtu > 65535))
        return lxm_error_set(err, EINVAL, "mtu %lld is not in 68..65535", (long long)nif->mtu);
    f->mtu = (unsigned)nif->mtu;
    return parse_addr(nif, f, err);
}

bool lxm_network_ipv4_claimed(const struct lxm_paths *paths, const char *self, uint32_t addr,
                              char **owner)
{
    _cleanup_strv_free_ char **names = NULL;
    if (lxm_container_list_names(paths, &names, NULL) < 0 || !names)
        return false;
    for (char **n = names; *n; n++) {
        if (strcmp(*n, self) == 0)
            continue;
        _cleanup_free_ char *file = xasprintf("%s/%s/config.yaml", paths->containers, *n);
        struct lxm_config *other = NULL;
        if (!file || lxm_config_load(file, &other, NULL) < 0)
            continue;
        bool dup = false;
        for (int i = 0; i < other->n_netifs && !dup; i++) {
            struct lxm_cidr c;
            const char *v = other->netifs[i].ipv4;
            dup = v && lxm_cidr_parse(v, false, &c, NULL) == 0 && c.addr == addr;
        }
        lxm_config_free(other);
        if (dup) {
            if (owner)
                *owner = strdup(*n);
            return true;
        }
    }
    return false;
}

/* A static address must not be claimed by another container's config. */
static int check_duplicate(const struct lxm_paths *paths, const char *self, const struct iface *f,
                           struct lxm_error *err)
{
    _cleanup_free_ char *owner = NULL;
    if (lxm_network_ipv4_claimed(paths, self, f->addr.addr, &owner)) {
        char s[16];
        lxm_ipv4_format(f->addr.addr, s);
        return lxm_error_set(err, EADDRINUSE, "ipv4 %s is already used by container '%s'", s,
                             owner ? owner : "?");
    }
    return 0;
}

/* The host end of a veth is left behind only by a start that died half
 * way; one whose peer sits in a netns is live (or its netns is still
 * being torn down: give that a moment). */
static int clear_stale(struct nl_sock *sk, const char *host, struct lxm_error *err)
{
    for (int i = 0; i < 40; i++) {
        struct lxm_link_info li;
        if (lxm_link_get(sk, host, &li, NULL) < 0)
            return 0;
        if (strcmp(li.kind, "veth") != 0)
            return lxm_error_set(err, EEXIST, "host interface %s exists and is not an lxm veth",
                                 host);
        if (!li.peer_netns) {
            int r = lxm_link_delete(sk, host, err);
            return r == -ENODEV ? 0 : r;
        }
        usleep(25000);
    }
    return lxm_error_set(err, EEXIST,
                         "host interface %s is in use (is a container of that name running under "
                         "another --root?)",
                         host);
}

static int check_host(struct nl_sock *sk, const struct iface *f, bool managed,
                      const struct lxm_cidr *baddr, struct lxm_error *err)
{
    struct lxm_link_info li;
    if (f->type == LXM_NET_MACVLAN && lxm_link_get(sk, f->link, &li, NULL) < 0)
        return lxm_error_set(err, ENODEV, "unknown macvlan parent '%s'", f->link);
    if (f->type != LXM_NET_VETH)
        return 0;
    if (!managed && (lxm_link_get(sk, f->link, &li, NULL) < 0 || strcmp(li.kind, "bridge") != 0))
        return lxm_error_set(err, ENODEV,
                             "bridge '%s' does not exist (only the managed bridge "
                             "is created by lxm)",
                             f->link);
    if (managed && f->is_static) {
        char a[24], b[24];
        lxm_cidr_format(&f->addr, a);
        lxm_cidr_format(baddr, b);
        if (!lxm_cidr_contains(baddr, f->addr.addr) || f->addr.prefix < baddr->prefix)
            return lxm_error_set(err, EINVAL, "ipv4 %s is outside the subnet of bridge %s (%s)", a,
                                 f->link, b);
        if (f->addr.addr == baddr->addr)
            return lxm_error_set(err, EADDRINUSE, "ipv4 %s is the address of bridge %s", a,
                                 f->link);
    }
    return clear_stale(sk, f->host, err);
}

/* A static address that dnsmasq has leased to someone else. */
static int check_leases(const struct lxm_bridge_cfg *b, const struct iface *f,
                        struct lxm_error *err)
{
    _cleanup_free_ struct lxm_lease *leases = NULL;
    int n = 0;
    if (lxm_dnsmasq_leases(b->dir, b->name, &leases, &n, NULL) < 0)
        return 0;
    char ip[16], mac[18];
    lxm_ipv4_format(f->addr.addr, ip);
    lxm_mac_format(f->mac, mac);
    for (int i = 0; i < n; i++)
        if (strcmp(leases[i].ip, ip) == 0 && strcasecmp(leases[i].mac, mac) != 0 &&
            (leases[i].expires == 0 || leases[i].expires > time(NULL)))
            return lxm_error_set(err, EADDRINUSE, "ipv4 %s is leased by DHCP to %s (%s)", ip,
                                 leases[i].hostname, leases[i].mac);
    return 0;
}

static int parse_all(const struct lxm_config *cfg, const char *instance, const char *bridge, struct lxm_network *n,
                     struct lxm_error *err)
{
    if (cfg->n_netifs > MAX_NETIFS)
        return lxm_error_set(err, EINVAL, "network: at most %d interfaces", MAX_NETIFS);
    n->ifs = calloc(cfg->n_netifs, sizeof(*n->ifs));
    if (!n->ifs)
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (int i = 0; i < cfg->n_netifs; i++) {
        struct iface *f = &n->ifs[n->n];
        int r = parse_iface(cfg, instance, &cfg->netifs[i], i, bridge, f, err);
        if (r < 0)
            return lxm_error_prefix(err, "network.%s", cfg->netifs[i].name);
        for (int j = 0; j < n->n; j++)
            if (strcmp(n->ifs[j].name, f->name) == 0)
                return lxm_error_set(err, EINVAL, "network: interface %s given twice", f->name);
        if (f->type != LXM_NET_NONE)
            n->n++;
    }
    return 0;
}

/* Entries of deleted containers would keep reserving their addresses and
 * names in dnsmasq. */
static void prune_dns(const struct lxm_paths *paths, const struct lxm_bridge_cfg *b)
{
    _cleanup_free_ char *d = xasprintf("%s/%s/dhcp-hosts", b->dir, b->name);
    _cleanup_closedir_ DIR *dir = d ? opendir(d) : NULL;
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        if (e->d_name[0] == '.' || lxm_validate_name(e->d_name, NULL) < 0)
            continue;
        _cleanup_free_ char *cf = xasprintf("%s/%s/config.yaml", paths->containers, e->d_name);
        if (cf && !path_exists(cf))
            (void)lxm_dnsmasq_remove_host(b->dir, b->name, e->d_name, NULL);
    }
}

/* The name gets the interface's IPv4 (a static one; DHCP names dynamic
 * ones) and, when the bridge has IPv6, the SLAAC address the guest makes
 * from the MAC (EUI-64): known here before the guest even starts. */
static int register_dns(const struct lxm_config *cfg, const struct lxm_bridge_cfg *b,
                        const struct lxm_network *n, struct lxm_error *err)
{
    for (int i = 0; i < n->n; i++) {
        const struct iface *f = &n->ifs[i];
        if (f->type != LXM_NET_VETH || strcmp(f->link, b->name) != 0)
            continue;
        char mac[18];
        lxm_mac_format(f->mac, mac);
        struct lxm_cidr6 net;
        bool on6 = false;
        int r = lxm_bridge_address6(b, &net, &on6, err);
        if (r < 0)
            return r;
        struct in6_addr ip6 = lxm_ipv6_eui64(&net, f->mac);
        return lxm_dnsmasq_set_host(b->dir, b->name, cfg->name, mac, cfg->name,
                                    f->is_static ? f->addr.addr : f->reserve, on6 ? &ip6 : NULL, err);
    }
    return 0;
}

static void portsp(struct lxm_ports **p)
{
    lxm_ports_free(*p);
}

/* The forwards of cfg; a DHCP target gets its address kept by dnsmasq. */
static int plan_ports(const struct lxm_paths *paths, const struct lxm_config *cfg,
                      const struct lxm_bridge_cfg *b, struct lxm_network *n, struct lxm_ports **out,
                      struct lxm_error *err)
{
    uint32_t reserve;
    const char *ifname;
    int r = lxm_ports_plan(paths, cfg, b, 0, out, &reserve, &ifname, err);
    if (r == 0 && *out)
        r = lxm_ports_check(*out, err);
    for (int i = 0; r == 0 && reserve && i < n->n; i++)
        if (!strcmp(n->ifs[i].name, ifname))
            n->ifs[i].reserve = reserve;
    return r;
}

int lxm_network_prepare(const struct lxm_paths *paths, const struct lxm_config *cfg,
                        struct lxm_network **out, struct lxm_error *err)
{
    *out = NULL;
    /* Always an object, even without interfaces. */
    _cleanup_(lxm_network_freep) struct lxm_network *n = calloc(1, sizeof(*n));
    if (!n)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (cfg->n_netifs == 0) {
        if (cfg->n_ports > 0)
            return lxm_error_set(err, EINVAL,
                                 "ports: the container has no network interface to forward to");
        *out = TAKE_PTR(n);
        return 0;
    }
    const struct lxm_global *g;
    int r = lxm_paths_global(paths, &g, err);
    if (r < 0)
        return r;
    struct lxm_bridge_cfg b;
    _cleanup_free_ char *dir = NULL;
    if (lxm_network_bridge_cfg(paths, g, &b, &dir) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if ((r = parse_all(cfg, paths->instance, b.name, n, err)) < 0)
        return r;
    bool managed = false;
    for (int i = 0; i < n->n; i++)
        managed |= n->ifs[i].type == LXM_NET_VETH && strcmp(n->ifs[i].link, b.name) == 0;
    struct lxm_cidr baddr = {0, 0};
    if (managed &&
        ((r = lxm_bridge_check(&b, err)) < 0 || (r = lxm_bridge_address(&b, &baddr, err)) < 0))
        return r;
    _cleanup_nl_ struct nl_sock *sk = NULL;
    if ((r = lxm_nl_open(-1, &sk, err)) < 0)
        return r;
    for (int i = 0; i < n->n; i++) {
        struct iface *f = &n->ifs[i];
        bool on_managed = f->type == LXM_NET_VETH && strcmp(f->link, b.name) == 0;
        if ((r = check_host(sk, f, on_managed, &baddr, err)) < 0 ||
            (f->is_static && (r = check_duplicate(paths, cfg->name, f, err)) < 0) ||
            (on_managed && f->is_static && b.dhcp && (r = check_leases(&b, f, err)) < 0))
            return lxm_error_prefix(err, "network.%s", f->name);
        if (on_managed && f->is_static && !f->gw)
            f->gw = baddr.addr;
        f->dhcp = on_managed && !f->is_static && b.dhcp;
    }
    _cleanup_(portsp) struct lxm_ports *ports = NULL;
    if ((r = plan_ports(paths, cfg, &b, n, &ports, err)) < 0)
        return r;
    if (managed && ((r = lxm_bridge_up(&b, NULL, err)) < 0 ||
                    (b.dhcp && (r = register_dns(cfg, &b, n, err)) < 0)))
        return r;
    if (managed && b.dhcp)
        prune_dns(paths, &b);
    /* Set live later (config set) or now: cleanup looks under the key. */
    if (!(n->ports_key = lxm_ports_key(paths, cfg->name)))
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (ports && (r = lxm_ports_apply(ports, err)) < 0)
        return r;
    *out = TAKE_PTR(n);
    return 0;
}

static int attach_one(struct nl_sock *host, struct nl_sock *ns, int nsfd, const struct iface *f,
                      struct lxm_error *err)
{
    int r;
    if (f->type == LXM_NET_VETH) {
        struct lxm_veth_spec s = {.name = f->host,
                                  .peer_name = f->name,
                                  .peer_netns_fd = nsfd,
                                  .peer_mac = f->mac,
                                  .mtu = f->mtu,
                                  .master = f->link};
        r = lxm_link_veth_create(host, &s, err);
    } else {
        struct lxm_macvlan_spec s = {
            .name = f->name, .parent = f->link, .netns_fd = nsfd, .mac = f->mac, .mtu = f->mtu};
        r = lxm_link_macvlan_create(host, &s, err);
    }
    if (r < 0)
        return r;
    if (f->is_static && (r = lxm_addr_add(ns, f->name, &f->addr, err)) < 0)
        return r;
    if ((r = lxm_link_set_up(ns, f->name, true, err)) < 0)
        return r;
    if (f->is_static && f->gw && (r = lxm_route_add_default(ns, f->gw, err)) < 0)
        return r;
    return 0;
}

int lxm_network_attach(struct lxm_network *n, pid_t pid, struct lxm_error *err)
{
    /* lo: init raises it itself (lxm_link_lo_up). */
    if (!n || n->n == 0)
        return 0;
    _cleanup_close_ int nsfd = lxm_netns_open_pid(pid, err);
    if (nsfd < 0)
        return nsfd;
    _cleanup_nl_ struct nl_sock *ns = NULL;
    int r = lxm_nl_open(nsfd, &ns, err);
    if (r < 0)
        return r;
    _cleanup_nl_ struct nl_sock *host = NULL;
    if ((r = lxm_nl_open(-1, &host, err)) < 0)
        return r;
    for (int i = 0; i < n->n; i++)
        if ((r = attach_one(host, ns, nsfd, &n->ifs[i], err)) < 0)
            return lxm_error_prefix(err, "network.%s", n->ifs[i].name);
    return 0;
}

static void delete_host_ends(const struct iface *ifs, int count, bool only_stale)
{
    _cleanup_nl_ struct nl_sock *sk = NULL;
    if (lxm_nl_open(-1, &sk, NULL) < 0)
        return;
    for (int i = 0; i < count; i++) {
        struct lxm_link_info li;
        if (ifs[i].type != LXM_NET_VETH || lxm_link_get(sk, ifs[i].host, &li, NULL) < 0)
            continue;
        if (strcmp(li.kind, "veth") != 0 || (only_stale && li.peer_netns))
            continue;
        struct lxm_error e = {0};
        if (lxm_link_delete(sk, ifs[i].host, &e) < 0 && e.code != ENODEV)
            lxm_warn("%s", e.msg);
    }
}

void lxm_network_cleanup(struct lxm_network *n)
{
    if (!n)
        return;
    delete_host_ends(n->ifs, n->n, false);
    if (n->ports_key) {
        struct lxm_error e = {0};
        if (lxm_portfwd_clear(n->ports_key, &e) < 0)
            lxm_warn("%s", e.msg);
        free(n->ports_key);
        n->ports_key = NULL;
    }
}

int lxm_network_of_running(const struct lxm_paths *paths, const struct lxm_config *cfg,
                           struct lxm_network **out)
{
    *out = NULL;
    if (cfg->n_netifs > MAX_NETIFS)
        return -EINVAL;
    _cleanup_(lxm_network_freep) struct lxm_network *n = calloc(1, sizeof(*n));
    if (!n || (cfg->n_netifs > 0 && !(n->ifs = calloc(cfg->n_netifs, sizeof(*n->ifs)))))
        return -ENOMEM;
    for (int i = 0; i < cfg->n_netifs; i++) {
        if (cfg->netifs[i].type == LXM_NET_NONE)
            continue;
        n->ifs[n->n].type = cfg->netifs[i].type;
        host_name(cfg->name, paths->instance, i, n->ifs[n->n].host);
        n->n++;
    }
    if (!(n->ports_key = lxm_ports_key(paths, cfg->name)))
        return -ENOMEM;
    *out = TAKE_PTR(n);
    return 0;
}

void lxm_network_free(struct lxm_network *n)
{
    if (!n)
        return;
    free(n->ifs);
    free(n->ports_key);
    free(n);
}

void lxm_network_cleanup_by_name(const struct lxm_paths *paths, const struct lxm_config *cfg)
{
    if (cfg && cfg->name)
        lxm_ports_clear(paths, cfg->name);
    if (!cfg || !cfg->name || cfg->n_netifs <= 0 || cfg->n_netifs > MAX_NETIFS)
        return;
    struct iface ifs[MAX_NETIFS];
    for (int i = 0; i < cfg->n_netifs; i++) {
        memset(&ifs[i], 0, sizeof(ifs[i]));
        ifs[i].type = cfg->netifs[i].type;
        host_name(cfg->name, paths->instance, i, ifs[i].host);
    }
    /* A veth whose peer is in a netns belongs to a live container (maybe
     * one of the same name under another --root): leave it. */
    delete_host_ends(ifs, cfg->n_netifs, true);
}

int lxm_network_ipv4(pid_t pid, char ***out, struct lxm_error *err)
{
    _cleanup_nl_ struct nl_sock *ns = NULL;
    int r = lxm_nl_open_pid(pid, &ns, err);
    if (r < 0)
        return r;
    return lxm_addr_list(ns, NULL, out, err);
}

int lxm_network_ipv6(pid_t pid, char ***out, struct lxm_error *err)
{
    _cleanup_nl_ struct nl_sock *ns = NULL;
    int r = lxm_nl_open_pid(pid, &ns, err);
    if (r < 0)
        return r;
    return lxm_addr6_list(ns, NULL, out, err);
}

int lxm_network_stats(pid_t pid, struct lxm_netif_stats **out, int *n, struct lxm_error *err)
{
    *out = NULL;
    *n = 0;
    _cleanup_nl_ struct nl_sock *ns = NULL;
    int r = lxm_nl_open_pid(pid, &ns, err);
    if (r < 0)
        return r;
    _cleanup_free_ struct lxm_link_info *links = NULL;
    int count = 0;
    if ((r = lxm_link_list(ns, &links, &count, err)) < 0)
        return r;
    struct lxm_netif_stats *v = calloc(count ? count : 1, sizeof(*v));
    if (!v)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int k = 0;
    for (int i = 0; i < count; i++) {
        if (strcmp(links[i].name, "lo") == 0)
            continue;
        snprintf(v[k].name, sizeof(v[k].name), "%s", links[i].name);
        v[k].rx_bytes = links[i].rx_bytes;
        v[k].tx_bytes = links[i].tx_bytes;
        k++;
    }
    *out = v;
    *n = k;
    return 0;
}

/* --- leases (readiness) ------------------------------------------------------- */

bool lxm_network_wants_lease(const struct lxm_network *n)
{
    for (int i = 0; n && i < n->n; i++)
        if (n->ifs[i].dhcp)
            return true;
    return false;
}

int lxm_network_watch_fd(pid_t pid, struct lxm_error *err)
{
    _cleanup_close_ int nsfd = lxm_netns_open_pid(pid, err);
    if (nsfd < 0)
        return nsfd;
    _cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return lxm_error_errno(err, errno, "open /proc/thread-self/ns/net");
    if (setns(nsfd, CLONE_NEWNET) < 0)
        return lxm_error_errno(err, errno, "enter network namespace");
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    int saved = errno;
    if (setns(self, CLONE_NEWNET) < 0) {
        /* Carrying on in the wrong netns would configure the wrong host. */
        fprintf(stderr, "lxm: cannot return to own network namespace: %s\n", strerror(errno));
        abort();
    }
    if (fd < 0)
        return lxm_error_errno(err, saved, "netlink socket");
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
                             .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        saved = errno;
        close(fd);
        return lxm_error_errno(err, saved, "netlink: subscribe to address events");
    }
    return fd;
}

int lxm_network_leased(const struct lxm_network *n, pid_t pid, bool *leased,
                       struct lxm_error *err)
{
    *leased = true;
    if (!lxm_network_wants_lease(n))
        return 0;
    _cleanup_nl_ struct nl_sock *ns = NULL;
    int r = lxm_nl_open_pid(pid, &ns, err);
    if (r < 0)
        return r;
    for (int i = 0; i < n->n && *leased; i++) {
        if (!n->ifs[i].dhcp)
            continue;
        _cleanup_strv_free_ char **addrs = NULL;
        if ((r = lxm_addr_list(ns, n->ifs[i].name, &addrs, err)) < 0)
            return r;
        *leased = addrs && addrs[0];
    }
    if (*leased && (r = lxm_route_has_default(ns, leased, err)) < 0)
        return r;
    return 0;
}

/* network-ports: a container's `ports:` planned against its interface and
 * put in place through lxm/net/portfwd.c (see network-ports.h). */
#include "net/network-ports.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/container.h"
#include "lxm/net/addr.h"
#include "lxm/net/bridge.h"
#include "lxm/net/dnsmasq.h"
#include "lxm/net/ipv6.h"
#include "lxm/net/link.h"
#include "lxm/net/nat.h"
#include "net/network.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

struct lxm_ports {
    const struct lxm_paths *paths;
    char *key;
    char *label;
    char bridge[16];
    struct lxm_cidr subnet;
    struct lxm_cidr6 subnet6; /* prefix 0: no IPv6 target */
    struct in6_addr target6;  /* the interface's SLAAC address in it */
    struct lxm_portfwd *f;
    int n;
    /* DHCP on the managed bridge: the address dnsmasq keeps for ifname */
    uint32_t reserve;
    char ifname[16];
    char mac[18];
};

struct plan_ctx {
    const struct lxm_paths *paths;
    const struct lxm_config *cfg;
    const struct lxm_bridge_cfg *b;
    const struct lxm_netif *nif;
    pid_t pid;
};

void lxm_ports_free(struct lxm_ports *p)
{
    if (!p)
        return;
    free(p->key);
    free(p->label);
    free(p->f);
    free(p);
}

static void portsp(struct lxm_ports **p)
{
    lxm_ports_free(*p);
}

char *lxm_ports_key(const struct lxm_paths *paths, const char *name)
{
    return xasprintf("%s%s", name, paths->instance ? paths->instance : "");
}

static const struct lxm_netif *first_veth(const struct lxm_config *cfg)
{
    for (int i = 0; i < cfg->n_netifs; i++)
        if (cfg->netifs[i].type == LXM_NET_VETH)
            return &cfg->netifs[i];
    return NULL;
}

static bool in_subnet(const struct lxm_cidr *net, uint32_t a)
{
    return lxm_cidr_contains(net, a) && a != lxm_cidr_network(net) && a != lxm_cidr_broadcast(net);
}

/* An address another holder has: a lease or reservation of another MAC,
 * or the static ipv4 of another container of this root. */
static bool taken(const struct plan_ctx *x, const struct lxm_lease *leases, int n_leases,
                  const char *mac, uint32_t a)
{
    char s[16];
    lxm_ipv4_format(a, s);
    for (int i = 0; i < n_leases; i++)
        if (!strcmp(leases[i].ip, s) && strcasecmp(leases[i].mac, mac) != 0)
            return true;
    _cleanup_free_ char *d = xasprintf("%s/%s/dhcp-hosts", x->b->dir, x->b->name);
    _cleanup_closedir_ DIR *dir = d ? opendir(d) : NULL;
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, x->cfg->name))
            continue;
        _cleanup_free_ char *f = xasprintf("%s/%s", d, e->d_name);
        _cleanup_free_ char *text = NULL;
        if (f && read_file(f, &text, NULL) == 0 && strstr(text, s)) {
            const char *hit = strstr(text, s);
            char after = hit[strlen(s)];
            if (hit > text && hit[-1] == ',' && (after == ',' || after == '\n' || !after))
                return true;
        }
    }
    return lxm_network_ipv4_claimed(x->paths, x->cfg->name, a, NULL);
}

/* The address a DHCP container on the managed bridge is to keep: the one
 * it has (running), else its lease, else a free one from the top of the
 * subnet down (dnsmasq hands out from the bottom). */
static int pick_dynamic(const struct plan_ctx *x, const struct lxm_cidr *baddr, const char *mac,
                        uint32_t *out, struct lxm_error *err)
{
    if (x->pid > 0) {
        _cleanup_strv_free_ char **have = NULL;
        struct lxm_cidr c;
        if (lxm_network_ipv4(x->pid, &have, NULL) == 0)
            for (char **h = have; *h; h++)
                if (lxm_cidr_parse(*h, false, &c, NULL) == 0 && in_subnet(baddr, c.addr)) {
                    *out = c.addr;
                    return 0;
                }
    }
    _cleanup_free_ struct lxm_lease *leases = NULL;
    int n = 0;
    (void)lxm_dnsmasq_leases(x->b->dir, x->b->name, &leases, &n, NULL);
    for (int i = 0; i < n; i++) {
        uint32_t a;
        if (!strcasecmp(leases[i].mac, mac) && lxm_ipv4_parse(leases[i].ip, &a, NULL) == 0 &&
            in_subnet(baddr, a) && a != baddr->addr && !taken(x, leases, n, mac, a)) {
            *out = a;
            return 0;
        }
    }
    for (uint32_t a = lxm_cidr_broadcast(baddr) - 1; a > lxm_cidr_network(baddr); a--)
        if (a != baddr->addr && !taken(x, leases, n, mac, a)) {
            *out = a;
            return 0;
        }
    return lxm_error_set(err, EADDRNOTAVAIL, "ports: no free address left on bridge %s",
                         x->b->name);
}

/* The IPv6 target: on the managed bridge with IPv6, the SLAAC (EUI-64)
 * address the guest forms from its MAC in the /64 (the one dnsmasq's AAAA
 * record names). Elsewhere lxm knows no IPv6 address: none. */
static int plan_target6(const struct plan_ctx *x, struct lxm_ports *p, struct lxm_error *err)
{
    bool on6 = false;
    if (strcmp(p->bridge, x->b->name) != 0)
        return 0;
    int r = lxm_bridge_address6(x->b, &p->subnet6, &on6, err);
    if (r < 0 || !on6) {
        p->subnet6.prefix = 0;
        return r;
    }
    uint8_t mac[LXM_MAC_LEN];
    lxm_network_mac(x->cfg->name, x->nif, mac);
    p->target6 = lxm_ipv6_eui64(&p->subnet6, mac);
    return 0;
}

/* The forwards of one ports: entry: the IPv4 one, the IPv6 one, or both
 * (no address: every address of the host, either family). */
static int plan_port(struct lxm_ports *p, const struct lxm_port *c, int i, uint32_t target,
                     struct lxm_error *err)
{
    struct lxm_portfwd f = {
        .proto = c->proto == LXM_PROTO_UDP ? LXM_PORTFWD_UDP : LXM_PORTFWD_TCP,
        .family = AF_INET,
        .host_port = (uint16_t)c->host,
        .target_port = (uint16_t)c->container,
        .target = target,
    };
    bool v6 = c->address && strchr(c->address, ':');
    if (!v6) {
        int r = c->address ? lxm_ipv4_parse(c->address, &f.listen, err) : 0;
        if (r < 0)
            return lxm_error_prefix(err, "ports[%d].address", i);
        p->f[p->n++] = f;
        if (c->address || p->subnet6.prefix == 0)
            return 0;
    } else if (p->subnet6.prefix == 0) {
        return lxm_error_set(err, EINVAL,
                             "ports[%d].address: %s is IPv6, but lxm knows no IPv6 address of "
                             "the container (only on its own bridge, with IPv6 on)",
                             i, c->address);
    }
    f.family = AF_INET6;
    f.listen = f.target = 0;
    f.target6 = p->target6;
    if (v6 && inet_pton(AF_INET6, c->address, &f.listen6) != 1)
        return lxm_error_set(err, EINVAL, "ports[%d].address: '%s' is not an IPv6 address", i,
                             c->address);
    p->f[p->n++] = f;
    return 0;
}

/* Where the forwards go: p->bridge, p->subnet and the target address. */
static int plan_target(const struct plan_ctx *x, struct lxm_ports *p, uint32_t *target,
                       struct lxm_error *err)
{
    const struct lxm_netif *nif = x->nif;
    const char *bridge = nif->bridge ? nif->bridge : x->b->name;
    bool managed = !strcmp(bridge, x->b->name);
    snprintf(p->bridge, sizeof(p->bridge), "%s", bridge);
    int r = plan_target6(x, p, err);
    if (r < 0)
        return r;
    if (nif->ipv4 && strcmp(nif->ipv4, "dhcp") != 0) {
        if ((r = lxm_cidr_parse(nif->ipv4, false, &p->subnet, err)) < 0)
            return lxm_error_prefix(err, "network.%s", nif->name);
        *target = p->subnet.addr;
        return 0;
    }
    if (!managed)
        return lxm_error_set(err, EINVAL,
                             "ports: network.%s needs a static ipv4 (lxm knows DHCP addresses "
                             "only on its own bridge %s, not on %s)",
                             nif->name, x->b->name, bridge);
    if (!x->b->dhcp)
        return lxm_error_set(err, EINVAL,
                             "ports: network.%s has no address to forward to (DHCP is off on "
                             "%s): give it a static ipv4",
                             nif->name, bridge);
    if ((r = lxm_bridge_address(x->b, &p->subnet, err)) < 0)
        return r;
    uint8_t mac[LXM_MAC_LEN];
    lxm_network_mac(x->cfg->name, nif, mac);
    lxm_mac_format(mac, p->mac);
    if ((r = pick_dynamic(x, &p->subnet, p->mac, target, err)) < 0)
        return r;
    p->reserve = *target;
    snprintf(p->ifname, sizeof(p->ifname), "%s", nif->name);
    return 0;
}

int lxm_ports_plan(const struct lxm_paths *paths, const struct lxm_config *cfg,
                   const struct lxm_bridge_cfg *b, pid_t pid, struct lxm_ports **out,
                   uint32_t *reserve, const char **ifname, struct lxm_error *err)
{
    *out = NULL;
    *reserve = 0;
    *ifname = NULL;
    if (cfg->n_ports == 0)
        return 0;
    struct plan_ctx x = {paths, cfg, b, first_veth(cfg), pid};
    if (!x.nif)
        return lxm_error_set(err, EINVAL,
                             "ports: the container has no veth interface to forward to (add "
                             "one, e.g. network.eth0.type=veth)");
    _cleanup_(portsp) struct lxm_ports *p = calloc(1, sizeof(*p));
    if (!p || !(p->key = lxm_ports_key(paths, cfg->name)) || !(p->label = strdup(cfg->name)) ||
        !(p->f = calloc(2 * (size_t)cfg->n_ports, sizeof(*p->f))))
        return lxm_error_set(err, ENOMEM, "out of memory");
    p->paths = paths;
    uint32_t target = 0;
    int r = plan_target(&x, p, &target, err);
    if (r < 0)
        return r;
    for (int i = 0; i < cfg->n_ports; i++)
        if ((r = plan_port(p, &cfg->ports[i], i, target, err)) < 0)
            return r;
    *reserve = p->reserve;
    *ifname = p->reserve ? p->ifname : NULL;
    *out = TAKE_PTR(p);
    return 0;
}

/* The container of this root whose forwards key is, or NULL. */
static char *own_name(const struct lxm_paths *paths, const char *key)
{
    const char *inst = paths->instance ? paths->instance : "";
    size_t n = strlen(key), k = strlen(inst);
    if (n <= k || strcmp(key + n - k, inst) != 0)
        return NULL;
    /* The FHS root has no tag: a key ending in one is another root's (a
     * container of its own of such a name is left alone, the safe way). */
    if (k == 0 && n > 9 && key[n - 9] == '-' && strspn(key + n - 8, "0123456789abcdef") == 8)
        return NULL;
    char *name = strndup(key, n - k);
    if (name && lxm_validate_name(name, NULL) < 0) {
        free(name);
        return NULL;
    }
    return name;
}

/* A conflicting forward of a container of this root that is no longer
 * running (its monitor was killed and no command has looked at it since)
 * is a leftover: removed, with the rest of its stale state. */
static void reap_stale(const struct lxm_ports *p)
{
    _cleanup_free_ struct lxm_portfwd_entry *e = NULL;
    int n = 0;
    if (!p->paths || lxm_portfwd_list(NULL, &e, &n, NULL) < 0)
        return;
    for (int i = 0; i < n; i++) {
        bool clash = false;
        for (int j = 0; j < p->n && !clash; j++)
            clash = e[i].f.proto == p->f[j].proto && e[i].f.host_port == p->f[j].host_port;
        _cleanup_free_ char *name =
            clash && strcmp(e[i].key, p->key) ? own_name(p->paths, e[i].key) : NULL;
        _cleanup_container_ struct lxm_container *c = NULL;
        struct lxm_runtime_info ri;
        /* Under its lock no start of it is half way. */
        if (!name || lxm_container_open(p->paths, name, &c, NULL) < 0 ||
            lxm_container_trylock(c) < 0)
            continue;
        if (lxm_runtime_query(c, &ri, NULL) == 0 && ri.state == LXM_STATE_STOPPED)
            lxm_ports_clear(p->paths, name);
        lxm_container_unlock(c);
    }
}

int lxm_ports_check(const struct lxm_ports *p, struct lxm_error *err)
{
    struct lxm_portfwd_owner o = {p->key, p->label, p->bridge, p->subnet, p->subnet6};
    reap_stale(p);
    return lxm_portfwd_check(&o, p->f, p->n, err);
}

int lxm_ports_apply(const struct lxm_ports *p, struct lxm_error *err)
{
    struct lxm_portfwd_owner o = {p->key, p->label, p->bridge, p->subnet, p->subnet6};
    return lxm_portfwd_set(&o, p->f, p->n, err);
}

void lxm_ports_clear(const struct lxm_paths *paths, const char *name)
{
    _cleanup_free_ char *key = lxm_ports_key(paths, name);
    struct lxm_error e = {0};
    if (key && lxm_portfwd_clear(key, &e) < 0)
        lxm_warn("%s: %s", name, e.msg);
}


/* The DHCP reservation that makes a forward's target address known, with
 * the AAAA record of the container's SLAAC address kept (register_dns of
 * network.c writes the same entry at start). */
static int reserve_address(const struct lxm_bridge_cfg *b, const char *name, const char *mac,
                           uint32_t ip, struct lxm_error *err)
{
    uint8_t raw[LXM_MAC_LEN];
    struct lxm_cidr6 net;
    bool on6 = false;
    int r = lxm_bridge_address6(b, &net, &on6, err);
    if (r < 0)
        return r;
    struct in6_addr ip6;
    if (on6 && lxm_mac_parse(mac, raw) == 0)
        ip6 = lxm_ipv6_eui64(&net, raw);
    else
        on6 = false;
    return lxm_dnsmasq_set_host(b->dir, b->name, name, mac, name, ip, on6 ? &ip6 : NULL, err);
}
int lxm_ports_change(struct lxm_container *c, const struct lxm_config *eff, struct lxm_error *err)
{
    struct lxm_runtime_info ri;
    int r = lxm_runtime_query(c, &ri, err);
    if (r < 0)
        return r;
    if (ri.init_pid <= 0 || ri.state == LXM_STATE_STOPPED || ri.state == LXM_STATE_STOPPING ||
        ri.state == LXM_STATE_ABORTING)
        return 0;
    const struct lxm_global *g;
    if ((r = lxm_paths_global(c->paths, &g, err)) < 0)
        return r;
    struct lxm_bridge_cfg b;
    _cleanup_free_ char *dir = NULL;
    if (lxm_network_bridge_cfg(c->paths, g, &b, &dir) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_(portsp) struct lxm_ports *p = NULL;
    uint32_t reserve;
    const char *ifname;
    if ((r = lxm_ports_plan(c->paths, eff, &b, ri.init_pid, &p, &reserve, &ifname, err)) < 0)
        return r;
    if (!p) {
        _cleanup_free_ char *key = lxm_ports_key(c->paths, c->name);
        return key ? lxm_portfwd_clear(key, err) : lxm_error_set(err, ENOMEM, "out of memory");
    }
    if ((r = lxm_ports_check(p, err)) < 0)
        return r;
    if (reserve && (r = reserve_address(&b, c->name, p->mac, reserve, err)) < 0)
        return r;
    return lxm_ports_apply(p, err);
}

int lxm_ports_list(const struct lxm_paths *paths, const char *name, struct lxm_portfwd_entry **out,
                   int *n, struct lxm_error *err)
{
    _cleanup_free_ char *key = name ? lxm_ports_key(paths, name) : NULL;
    if (name && !key)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return lxm_portfwd_list(key, out, n, err);
}

/* Not running: gone, or no state file (a start records it before its
 * container runs, and holds the container's lock from before its forwards
 * are written until then). */
static bool stale_owner(const struct lxm_paths *paths, const char *name)
{
    _cleanup_free_ char *cf = xasprintf("%s/%s/config.yaml", paths->containers, name);
    _cleanup_free_ char *st = xasprintf("%s/%s/state", paths->run, name);
    return cf && st && (!path_exists(cf) || !path_exists(st));
}

/* Could a forward of a container of this root that does not run be in
 * place? Every forward lives in a chain p-KEY (portfwd.c), so the chains'
 * names alone say which containers have one: asked over nfnetlink, which
 * costs a start a tenth of what loading libnftables and listing the
 * tables does. True when in doubt. */
static bool maybe_stale(const struct lxm_paths *paths)
{
    static const int families[] = {AF_INET, AF_INET6};
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        _cleanup_strv_free_ char **chains = NULL;
        struct lxm_error e = {0};
        if (lxm_nft_chains(families[i], LXM_PORTFWD_TABLE, &chains, &e) < 0)
            return true;
        for (char **c = chains; *c; c++) {
            if (strncmp(*c, "p-", 2) != 0)
                continue;
            _cleanup_free_ char *name = own_name(paths, *c + 2);
            if (name && stale_owner(paths, name))
                return true;
        }
    }
    return false;
}

int lxm_ports_stale(const struct lxm_paths *paths, char ***out, struct lxm_error *err)
{
    *out = NULL;
    if (!maybe_stale(paths)) {
        *out = calloc(1, sizeof(char *));
        return *out ? 0 : lxm_error_set(err, ENOMEM, "out of memory");
    }
    _cleanup_free_ struct lxm_portfwd_entry *e = NULL;
    int n = 0;
    int r = lxm_portfwd_list(NULL, &e, &n, err);
    if (r < 0)
        return r;
    _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
    if (!v)
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        _cleanup_free_ char *name = own_name(paths, e[i].key);
        if (name && !strv_contains(v, name) && stale_owner(paths, name) && strv_push(&v, name) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    }
    *out = TAKE_PTR(v);
    return 0;
}

int lxm_ports_remove_stale(const struct lxm_paths *paths, const char *name, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    _cleanup_free_ char *key = lxm_ports_key(paths, name);
    if (!key)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (lxm_container_open(paths, name, &c, NULL) == 0 && lxm_container_trylock(c) < 0)
        return lxm_error_set(err, EBUSY, "%s: busy (a command holds its lock)", name);
    int r = stale_owner(paths, name) ? lxm_portfwd_clear(key, err) : 0;
    if (c)
        lxm_container_unlock(c);
    return r;
}

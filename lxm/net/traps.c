#include "lxm/net/traps.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <net/if.h>

#include <linux/inet_diag.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include "lxm/net/dnsmasq.h"
#include "lxm/net/link.h"
#include "lxm/net/nat.h"
#include "lxm/net/netlink.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

/* --- nftables (also what iptables-nft, Docker, ufw, firewalld make) ---------- */

struct nft_table {
    char family[16], name[64];
    bool docker, ufw;
    char **found; /* pairs: chain, rule text ("" = the policy) */
};

static const char *manager(const struct nft_table *t)
{
    if (t->docker)
        return "Docker";
    if (t->ufw)
        return "ufw";
    if (strcmp(t->name, "firewalld") == 0)
        return "firewalld";
    if (strcmp(t->name, "filter") == 0 && strcmp(t->family, "inet") != 0)
        return "iptables-nft";
    return NULL;
}

static char *fix_for(const struct nft_table *t, const char *chain, bool policy, const char *br)
{
    const char *ipt = strcmp(t->family, "ip6") == 0 ? "ip6tables" : "iptables";
    const char *m = manager(t);
    if (!policy && m && strcmp(m, "firewalld") != 0)
        return xasprintf("remove that rule (%s -S %s lists it; %s -D %s RULE)", ipt, chain, ipt,
                         chain);
    if (!policy)
        return xasprintf("remove that rule (nft -a list chain %s %s %s shows its handle; nft "
                         "delete rule %s %s %s handle N)",
                         t->family, t->name, chain, t->family, t->name, chain);
    if (t->docker)
        return xasprintf("%1$s -I DOCKER-USER -i %2$s -j ACCEPT; %1$s -I DOCKER-USER -o %2$s -j "
                         "ACCEPT",
                         ipt, br);
    if (t->ufw)
        return xasprintf("ufw route allow in on %1$s; ufw route allow out on %1$s", br);
    if (m && strcmp(m, "firewalld") == 0)
        return xasprintf("firewall-cmd --zone=trusted --add-interface=%s (and again with "
                         "--permanent)",
                         br);
    if (m)
        return xasprintf("%1$s -I %2$s -i %3$s -j ACCEPT; %1$s -I %2$s -o %3$s -j ACCEPT", ipt,
                         chain, br);
    return xasprintf("nft insert rule %1$s %2$s %3$s iifname %4$s accept; nft insert rule %1$s "
                     "%2$s %3$s oifname %4$s accept",
                     t->family, t->name, chain, br);
}

static int emit_table(struct nft_table *t, const char *br, char ***out)
{
    const char *m = manager(t);
    for (char **f = t->found; f && f[0] && f[1]; f += 2) {
        bool policy = !f[1][0];
        _cleanup_free_ char *fix = fix_for(t, f[0], policy, br);
        _cleanup_free_ char *what =
            policy ? xasprintf("chain %s has policy drop", f[0])
                   : xasprintf("chain %s has the rule '%s'", f[0], f[1]);
        if (!fix || !what ||
            strv_consume(out, xasprintf("nftables table %s %s%s%s%s drops traffic forwarded "
                                        "for %s: %s; fix: %s",
                                        t->family, t->name, m ? " (" : "", m ? m : "",
                                        m ? ")" : "", br, what, fix)) < 0)
            return -ENOMEM;
    }
    strv_free(t->found);
    t->found = NULL;
    return 0;
}

/* The rule names the bridge as its input or output interface (not "!="). */
static bool names_bridge(const char *rule, const char *br)
{
    _cleanup_free_ char *q = xasprintf("\"%s\"", br);
    for (const char *p = q ? strstr(rule, q) : NULL; p; p = strstr(p + 1, q))
        if (p - rule < 3 || strncmp(p - 3, "!= ", 3) != 0)
            return true;
    return false;
}

static bool is_drop(const char *rule)
{
    size_t n = strlen(rule);
    return (n >= 4 && strcmp(rule + n - 4, "drop") == 0 && (n == 4 || rule[n - 5] == ' ')) ||
           strncmp(rule, "reject", 6) == 0 || strstr(rule, " reject") != NULL;
}

/* Nothing but a counter before the verdict: it hits every packet. */
static bool unconditional(const char *rule)
{
    unsigned long long a, b;
    int off = 0;
    if (sscanf(rule, "counter packets %llu bytes %llu %n", &a, &b, &off) == 2 && off > 0)
        rule += off;
    return strcmp(rule, "drop") == 0 || strncmp(rule, "reject", 6) == 0;
}

struct nft_chain {
    char name[64];
    bool forward, policy_drop, accepts;
    char **drops;
};

static int end_chain(struct nft_chain *c, struct nft_table *t)
{
    int r = 0;
    if (c->forward && c->policy_drop && !c->accepts)
        r = strv_push(&t->found, c->name) < 0 || strv_push(&t->found, "") < 0 ? -ENOMEM : 0;
    for (char **d = c->drops; r == 0 && c->forward && d && *d; d++)
        r = strv_push(&t->found, c->name) < 0 || strv_push(&t->found, *d) < 0 ? -ENOMEM : 0;
    strv_free(c->drops);
    memset(c, 0, sizeof(*c));
    return r;
}

static int chain_line(struct nft_chain *c, const char *l, const char *br)
{
    if (strncmp(l, "type ", 5) == 0) {
        c->forward = strstr(l, " hook forward ") != NULL;
        c->policy_drop = strstr(l, "policy drop;") != NULL;
        return 0;
    }
    if (!l[0] || strncmp(l, "comment ", 8) == 0)
        return 0;
    bool ours = names_bridge(l, br);
    size_t n = strlen(l);
    if (ours && n >= 6 && strcmp(l + n - 6, "accept") == 0)
        c->accepts = true;
    if (is_drop(l) && (ours || unconditional(l)))
        return strv_push(&c->drops, l);
    return 0;
}

static void trim(char *s, char **start)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    *start = s;
}

int lxm_traps_nft_text(const char *ruleset, const char *bridge, char ***out)
{
    _cleanup_free_ char *copy = strdup(ruleset);
    if (!copy)
        return -ENOMEM;
    struct nft_table t = {0};
    struct nft_chain c = {0};
    int depth = 0, chain_depth = 0, r = 0;
    bool skip = false;
    char *save = NULL;
    for (char *raw = strtok_r(copy, "\n", &save); raw && r == 0;
         raw = strtok_r(NULL, "\n", &save)) {
        char *l;
        trim(raw, &l);
        size_t n = strlen(l);
        bool opens = n && l[n - 1] == '{';
        if (depth == 0 && opens && sscanf(l, "table %15s %63s", t.family, t.name) == 2) {
            skip = strncmp(t.name, "lxm_", 4) == 0;
            t.docker = t.ufw = false;
        } else if (depth == 1 && opens && sscanf(l, "chain %63s", c.name) == 1) {
            chain_depth = 2;
            t.docker |= strcmp(c.name, "DOCKER-USER") == 0 || strcmp(c.name, "DOCKER") == 0;
            t.ufw |= strncmp(c.name, "ufw", 3) == 0;
        } else if (depth == chain_depth && chain_depth && !opens && strcmp(l, "}") != 0) {
            r = skip ? 0 : chain_line(&c, l, bridge);
        }
        if (opens) {
            depth++;
            continue;
        }
        if (strcmp(l, "}") != 0 || depth == 0)
            continue;
        depth--;
        if (chain_depth && depth < chain_depth) {
            chain_depth = 0;
            r = end_chain(&c, &t);
        }
        if (r == 0 && depth == 0)
            r = emit_table(&t, bridge, out);
    }
    end_chain(&c, &t);
    strv_free(t.found);
    return r;
}

static int check_nft(const struct lxm_bridge_cfg *c, char ***out)
{
    _cleanup_free_ char *text = NULL;
    if (lxm_nft_run("list ruleset", &text, NULL, "list ruleset") < 0)
        return 0;
    return lxm_traps_nft_text(text, c->name, out);
}

/* --- iptables-legacy (IPv4): the FORWARD chain of its filter table ---------- */

/* Only when the legacy filter table exists in this netns: asking for it
 * otherwise would load iptable_filter and create it. */
static bool legacy_filter_loaded(void)
{
    _cleanup_free_ char *names = NULL;
    if (read_file("/proc/net/ip_tables_names", &names, NULL) < 0)
        return false;
    for (char *p = strstr(names, "filter"); p; p = strstr(p + 1, "filter"))
        if ((p == names || p[-1] == '\n') && (p[6] == '\n' || p[6] == '\0'))
            return true;
    return false;
}

static int legacy_entries(struct ipt_getinfo *info, struct ipt_get_entries **out)
{
    _cleanup_close_ int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    if (fd < 0)
        return -errno;
    socklen_t len = sizeof(*info);
    memset(info, 0, sizeof(*info));
    snprintf(info->name, sizeof(info->name), "filter");
    if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_INFO, info, &len) < 0)
        return -errno;
    len = sizeof(struct ipt_get_entries) + info->size;
    struct ipt_get_entries *e = calloc(1, len);
    if (!e)
        return -ENOMEM;
    snprintf(e->name, sizeof(e->name), "filter");
    e->size = info->size;
    if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_ENTRIES, e, &len) < 0) {
        int r = -errno;
        free(e);
        return r;
    }
    *out = e;
    return 0;
}

/* Verdict of an entry: 'A'ccept, 'D'rop (or REJECT), other 0. */
static char verdict(const struct ipt_entry *e)
{
    const struct xt_entry_target *t = (const void *)((const char *)e + e->target_offset);
    if (strcmp(t->u.user.name, "REJECT") == 0)
        return 'D';
    if (t->u.user.name[0])
        return 0;
    int v = ((const struct xt_standard_target *)t)->verdict;
    return v == -NF_ACCEPT - 1 ? 'A' : v == -NF_DROP - 1 ? 'D' : 0;
}

static bool entry_names(const struct ipt_entry *e, const char *br)
{
    return (!(e->ip.invflags & IPT_INV_VIA_IN) && strcmp(e->ip.iniface, br) == 0) ||
           (!(e->ip.invflags & IPT_INV_VIA_OUT) && strcmp(e->ip.outiface, br) == 0);
}

static bool entry_matches_all(const struct ipt_entry *e)
{
    return !e->ip.iniface[0] && !e->ip.outiface[0] && !e->ip.smsk.s_addr && !e->ip.dmsk.s_addr &&
           !e->ip.proto && e->target_offset == sizeof(struct ipt_entry);
}

static int check_legacy(const struct lxm_bridge_cfg *c, char ***out)
{
    struct ipt_getinfo info;
    _cleanup_free_ struct ipt_get_entries *ents = NULL;
    if (!legacy_filter_loaded() || legacy_entries(&info, &ents) < 0)
        return 0;
    if (!(info.valid_hooks & (1u << NF_INET_FORWARD)))
        return 0;
    unsigned first = info.hook_entry[NF_INET_FORWARD], policy = info.underflow[NF_INET_FORWARD];
    bool accepts = false, drops = false;
    const char *base = (const char *)ents->entrytable;
    for (unsigned off = first; off < policy && off < info.size;) {
        const struct ipt_entry *e = (const void *)(base + off);
        char v = verdict(e);
        accepts |= v == 'A' && entry_names(e, c->name);
        drops |= v == 'D' && (entry_names(e, c->name) || entry_matches_all(e));
        if (e->next_offset == 0)
            break;
        off += e->next_offset;
    }
    if (drops && strv_consume(out, xasprintf("iptables-legacy: chain FORWARD has a rule that "
                                             "drops traffic of %s; fix: remove it "
                                             "(iptables-legacy -S FORWARD lists it; "
                                             "iptables-legacy -D FORWARD RULE)",
                                             c->name)) < 0)
        return -ENOMEM;
    bool pdrop = policy < info.size && verdict((const void *)(base + policy)) == 'D';
    if (pdrop && !accepts &&
        strv_consume(out, xasprintf("iptables-legacy: chain FORWARD has policy DROP and no "
                                    "rule accepting %1$s; fix: iptables-legacy -I FORWARD -i "
                                    "%1$s -j ACCEPT; iptables-legacy -I FORWARD -o %1$s -j ACCEPT",
                                    c->name)) < 0)
        return -ENOMEM;
    return 0;
}

/* --- forwarding switched off after lxm switched it on ------------------------- */

static int check_sysctls(const struct lxm_bridge_cfg *c, bool has6, char ***out)
{
    if (!c->nat)
        return 0;
    _cleanup_free_ char *v4 = NULL, *v6 = NULL;
    if (read_file("/proc/sys/net/ipv4/ip_forward", &v4, NULL) == 0 && v4[0] == '0' &&
        strv_consume(out, xasprintf("net.ipv4.ip_forward is 0 (reset after lxm set it?): "
                                    "containers on %s cannot reach beyond the host; fix: lxm net "
                                    "up (or sysctl -w net.ipv4.ip_forward=1), and find what "
                                    "resets it (/etc/sysctl.d, a firewall or network manager)",
                                    c->name)) < 0)
        return -ENOMEM;
    if (has6 && read_file("/proc/sys/net/ipv6/conf/all/forwarding", &v6, NULL) == 0 &&
        v6[0] == '0' &&
        strv_consume(out, xasprintf("net.ipv6.conf.all.forwarding is 0 (reset after lxm set "
                                    "it?): containers on %s cannot reach beyond the host over "
                                    "IPv6; fix: lxm net up (or sysctl -w "
                                    "net.ipv6.conf.all.forwarding=1)",
                                    c->name)) < 0)
        return -ENOMEM;
    return 0;
}

/* --- DHCP/DNS ports on the bridge held by another process --------------------- */

struct sock_hit {
    int family, proto;
    uint16_t port;
    uint32_t inode;
    char addr[INET6_ADDRSTRLEN];
};

struct bridge_addrs {
    int ifindex;
    uint32_t v4; /* network order, 0 = none */
    bool has6;
    struct in6_addr v6;
};

static bool wanted(const struct inet_diag_msg *d, int proto, const struct bridge_addrs *b)
{
    uint16_t port = ntohs(d->id.idiag_sport);
    bool v4 = d->idiag_family == AF_INET;
    if (!(port == 53 || (proto == IPPROTO_UDP && port == (v4 ? 67 : 547))))
        return false;
    if (d->id.idiag_if && (int)d->id.idiag_if != b->ifindex)
        return false;
    static const uint32_t any[4];
    if (memcmp(d->id.idiag_src, any, v4 ? 4 : 16) == 0)
        return true;
    return v4 ? d->id.idiag_src[0] == b->v4
              : b->has6 && memcmp(d->id.idiag_src, &b->v6, 16) == 0;
}

static int push_hit(struct sock_hit **v, int *n, const struct inet_diag_msg *d, int proto)
{
    struct sock_hit *nv = realloc(*v, (*n + 1) * sizeof(**v));
    if (!nv)
        return -ENOMEM;
    *v = nv;
    struct sock_hit *h = &nv[(*n)++];
    h->family = d->idiag_family;
    h->proto = proto;
    h->port = ntohs(d->id.idiag_sport);
    h->inode = d->idiag_inode;
    if (!inet_ntop(d->idiag_family, d->id.idiag_src, h->addr, sizeof(h->addr)))
        h->addr[0] = '\0';
    return 0;
}

/* What one dump collects: the bridge's DHCP/DNS sockets of one protocol. */
struct diag_hits {
    int proto;
    const struct bridge_addrs *b;
    struct sock_hit **v;
    int *n;
};

/* One answer of the dump: a socket of the bridge's into the hits. */
static int take_socket(const struct nlmsghdr *h, void *data, struct lxm_error *err)
{
    struct diag_hits *hits = data;
    const struct inet_diag_msg *d = NLMSG_DATA(h);
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*d)) || !wanted(d, hits->proto, hits->b))
        return 0;
    if (push_hit(hits->v, hits->n, d, hits->proto) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return 0;
}

static int diag_dump(int family, int proto, const struct bridge_addrs *b, struct sock_hit **v,
                     int *n)
{
    _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return -errno;
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } m = {
        .nlh = {.nlmsg_len = sizeof(m),
                .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
        .req = {.sdiag_family = (uint8_t)family,
                .sdiag_protocol = (uint8_t)proto,
                .idiag_states = proto == IPPROTO_TCP ? 1u << 10 /* TCP_LISTEN */ : ~0u},
    };
    struct diag_hits hits = {proto, b, v, n};
    const struct lxm_nl_dump d = {"list sockets", take_socket, &hits, NULL};
    return lxm_nl_dump(fd, &m, sizeof(m), &d, NULL);
}

/* The process holding socket inode (pid 0 when not found). */
static pid_t socket_owner(uint32_t inode, char comm[32])
{
    char want[32];
    snprintf(want, sizeof(want), "socket:[%u]", inode);
    _cleanup_closedir_ DIR *proc = opendir("/proc");
    struct dirent *p;
    while (proc && (p = readdir(proc))) {
        if (!isdigit((unsigned char)p->d_name[0]))
            continue;
        _cleanup_free_ char *fdd = xasprintf("/proc/%s/fd", p->d_name);
        _cleanup_closedir_ DIR *fds = fdd ? opendir(fdd) : NULL;
        struct dirent *f;
        while (fds && (f = readdir(fds))) {
            char link[64], path[300];
            snprintf(path, sizeof(path), "%s/%s", fdd, f->d_name);
            ssize_t n = readlink(path, link, sizeof(link) - 1);
            if (n <= 0)
                continue;
            link[n] = '\0';
            if (strcmp(link, want) != 0)
                continue;
            _cleanup_free_ char *cf = xasprintf("/proc/%s/comm", p->d_name);
            _cleanup_free_ char *c = NULL;
            snprintf(comm, 32, "%s", cf && read_file(cf, &c, NULL) == 0 ? c : "?");
            comm[strcspn(comm, "\n")] = '\0';
            return (pid_t)atoi(p->d_name);
        }
    }
    snprintf(comm, 32, "another process");
    return 0;
}

static int report_hit(const struct lxm_bridge_cfg *c, const struct sock_hit *h, char ***out)
{
    char comm[32];
    pid_t pid = socket_owner(h->inode, comm);
    if (pid > 0 && pid == lxm_dnsmasq_pid(c->dir, c->name))
        return 0;
    bool any = strcmp(h->addr, "0.0.0.0") == 0 || strcmp(h->addr, "::") == 0;
    char who[64];
    if (pid > 0)
        snprintf(who, sizeof(who), "%s (pid %d)", comm, (int)pid);
    else
        snprintf(who, sizeof(who), "%s", comm);
    const char *what = h->port == 53 ? "DNS" : h->port == 67 ? "DHCP" : "DHCPv6";
    return strv_consume(out, xasprintf("port %u/%s on %s (%s%s) is held by %s: lxm's dnsmasq "
                                       "cannot serve %s there; fix: stop it or make it listen "
                                       "elsewhere (a host dnsmasq: bind-interfaces and "
                                       "except-interface=%s), then lxm net up",
                                       h->port, h->proto == IPPROTO_TCP ? "tcp" : "udp", c->name,
                                       h->addr, any ? ", every address" : "", who, what,
                                       c->name));
}

static int bridge_addrs(const struct lxm_bridge_cfg *c, struct bridge_addrs *b)
{
    memset(b, 0, sizeof(*b));
    _cleanup_nl_ struct nl_sock *sk = NULL;
    struct lxm_link_info li;
    if (lxm_nl_open(-1, &sk, NULL) < 0 || lxm_link_get(sk, c->name, &li, NULL) < 0)
        return -ENODEV;
    b->ifindex = li.ifindex;
    _cleanup_strv_free_ char **v4 = NULL, **v6 = NULL;
    struct lxm_cidr a;
    if (lxm_addr_list(sk, c->name, &v4, NULL) == 0 && v4[0] &&
        lxm_cidr_parse(v4[0], false, &a, NULL) == 0)
        b->v4 = htonl(a.addr);
    struct lxm_cidr6 a6;
    if (lxm_addr6_list(sk, c->name, &v6, NULL) == 0 && v6[0] &&
        lxm_cidr6_parse(v6[0], &a6, NULL) == 0) {
        b->has6 = true;
        b->v6 = a6.addr;
    }
    return 0;
}

static int check_ports(const struct lxm_bridge_cfg *c, const struct bridge_addrs *b,
                       char ***out)
{
    static const int combos[][2] = {{AF_INET, IPPROTO_UDP},
                                    {AF_INET, IPPROTO_TCP},
                                    {AF_INET6, IPPROTO_UDP},
                                    {AF_INET6, IPPROTO_TCP}};
    _cleanup_free_ struct sock_hit *hits = NULL;
    int n = 0, r = 0;
    for (size_t i = 0; i < ARRAY_SIZE(combos); i++)
        if (diag_dump(combos[i][0], combos[i][1], b, &hits, &n) == -ENOMEM)
            return -ENOMEM;
    for (int i = 0; i < n && r == 0; i++)
        r = report_hit(c, &hits[i], out);
    return r;
}

/* With br_netfilter, frames bridged between two containers pass the
 * forward hook too: the traps above then cut containers off each other. */
static int check_br_netfilter(const struct lxm_bridge_cfg *c, char ***out)
{
    _cleanup_free_ char *v = NULL;
    if (read_file("/proc/sys/net/bridge/bridge-nf-call-iptables", &v, NULL) < 0 || v[0] != '1')
        return 0;
    return strv_consume(out, xasprintf("br_netfilter is loaded with "
                                       "net.bridge.bridge-nf-call-iptables=1: the chains above "
                                       "also drop traffic between containers on %s; fix: the "
                                       "accepts above (or sysctl -w "
                                       "net.bridge.bridge-nf-call-iptables=0 if nothing on the "
                                       "host needs it; Docker does)",
                                       c->name));
}

int lxm_net_traps(const struct lxm_bridge_cfg *c, char ***out, struct lxm_error *err)
{
    _cleanup_strv_free_ char **v = calloc(1, sizeof(char *));
    if (!v)
        return lxm_error_set(err, ENOMEM, "out of memory");
    struct bridge_addrs b;
    bool exists = bridge_addrs(c, &b) == 0;
    int r = check_nft(c, &v);
    if (r == 0)
        r = check_legacy(c, &v);
    if (r == 0 && v[0])
        r = check_br_netfilter(c, &v);
    if (r == 0 && exists) /* no bridge yet: lxm has not switched anything on */
        r = check_sysctls(c, b.has6, &v);
    if (r == 0 && exists && c->dhcp)
        r = check_ports(c, &b, &v);
    if (r < 0)
        return lxm_error_set(err, ENOMEM, "firewall checks: out of memory");
    *out = TAKE_PTR(v);
    return 0;
}

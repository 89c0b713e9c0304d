#include "lxm/net/portfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lxm/net/link.h"
#include "lxm/net/nat.h"
#include "lxm/net/netlink.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* The table of each family: "ip lxm_port-forwards", "ip6 lxm_port-forwards". */
#define T4 "ip " LXM_PORTFWD_TABLE
#define T6 "ip6 " LXM_PORTFWD_TABLE
/* Serialises every lxm process (of any root) that edits the table. */
#define LOCK_FILE "/run/lxm-ports.lock"
#define MAX_GUARDS 64

struct guard {
    char bridge[16];
    char saved[4]; /* route_localnet before lxm set it */
};

/* Index 0: the ip table, 1: the ip6 one. */
struct table_state {
    struct lxm_portfwd_entry *e;
    int n;
    struct guard g[MAX_GUARDS];
    int n_guards;
    bool exists[2];
    bool other_chains[2]; /* chains that are not an owner's p-/o-/s-/f- or a guard */
};

static bool is6(const struct lxm_portfwd *f)
{
    return f->family == AF_INET6;
}

static const char *table_of(int v6)
{
    return v6 ? T6 : T4;
}

const char *lxm_portfwd_proto_name(int proto)
{
    return proto == LXM_PORTFWD_UDP ? "udp" : "tcp";
}

void lxm_portfwd_addr(const struct lxm_portfwd *f, bool target, char out[INET6_ADDRSTRLEN])
{
    if (is6(f))
        lxm_ipv6_format(target ? &f->target6 : &f->listen6, out);
    else
        lxm_ipv4_format(target ? f->target : f->listen, out);
}

void lxm_portfwd_format(const struct lxm_portfwd *f, char *buf, size_t len)
{
    char l[INET6_ADDRSTRLEN], t[INET6_ADDRSTRLEN];
    lxm_portfwd_addr(f, false, l);
    lxm_portfwd_addr(f, true, t);
    const char *o = is6(f) ? "[" : "", *c = is6(f) ? "]" : "";
    snprintf(buf, len, "%s %s%s%s:%u -> %s%s%s:%u", lxm_portfwd_proto_name(f->proto), o, l, c,
             (unsigned)f->host_port, o, t, c, (unsigned)f->target_port);
}

#define WHAT "port forwards"

static int run(const char *script, char **output, bool *missing, struct lxm_error *err)
{
    __attribute__((cleanup(lxm_nft_ctx_free))) struct nft_ctx *ctx = lxm_nft_ctx(WHAT, err);
    return ctx ? lxm_nft_run_in(ctx, script, output, missing, err, WHAT) : -ENOMEM;
}

static int lock_table(struct lxm_error *err)
{
    int fd = open(LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s", LOCK_FILE);
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return lxm_error_errno(err, e, "lock %s", LOCK_FILE);
        }
    }
    return fd;
}

/* The quoted text after `comment "` in line, into out. */
static bool comment_of(const char *line, char *out, size_t len)
{
    const char *c = strstr(line, "comment \"");
    if (!c)
        return false;
    c += strlen("comment \"");
    size_t n = strcspn(c, "\"");
    if (n >= len)
        n = len - 1;
    memcpy(out, c, n);
    out[n] = '\0';
    return true;
}

/* A rule's record: "PROTO LISTEN HPORT TARGET TPORT", addresses of the
 * table's family (v6). */
static bool parse_record(const char *s, bool v6, struct lxm_portfwd *f)
{
    char proto[8], l[INET6_ADDRSTRLEN], t[INET6_ADDRSTRLEN];
    unsigned hp, tp;
    memset(f, 0, sizeof(*f));
    if (sscanf(s, "%7s %45s %u %45s %u", proto, l, &hp, t, &tp) != 5 || !hp || hp > 65535 || !tp ||
        tp > 65535)
        return false;
    f->proto = strcmp(proto, "udp") == 0 ? LXM_PORTFWD_UDP : LXM_PORTFWD_TCP;
    f->host_port = (uint16_t)hp;
    f->target_port = (uint16_t)tp;
    if (v6) {
        f->family = AF_INET6;
        return inet_pton(AF_INET6, l, &f->listen6) == 1 && inet_pton(AF_INET6, t, &f->target6) == 1;
    }
    f->family = AF_INET;
    return lxm_ipv4_parse(l, &f->listen, NULL) == 0 && lxm_ipv4_parse(t, &f->target, NULL) == 0;
}

static int push_entry(struct table_state *s, const char *key, const char *label, const char *bridge,
                      const struct lxm_portfwd *f)
{
    struct lxm_portfwd_entry *v = realloc(s->e, (size_t)(s->n + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    s->e = v;
    struct lxm_portfwd_entry *e = &v[s->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->key, sizeof(e->key), "%s", key);
    snprintf(e->label, sizeof(e->label), "%s", label);
    snprintf(e->bridge, sizeof(e->bridge), "%s", bridge);
    e->f = *f;
    return 0;
}

struct parse_pos {
    int v6; /* in the ip6 table */
    char chain[128];
    char label[64];
    char bridge[16];
};

static int parse_line(struct table_state *s, struct parse_pos *p, const char *line)
{
    char text[192];
    if (sscanf(line, "chain %127s {", p->chain) == 1) {
        p->label[0] = p->bridge[0] = '\0';
        bool ours = !strncmp(p->chain, "p-", 2) || !strncmp(p->chain, "o-", 2) ||
                    !strncmp(p->chain, "s-", 2) || !strncmp(p->chain, "f-", 2) ||
                    (!p->v6 && !strncmp(p->chain, "g-", 2));
        s->other_chains[p->v6] |= !ours;
        return 0;
    }
    if (!comment_of(line, text, sizeof(text)))
        return 0;
    if (!strncmp(line, "comment \"", 9)) { /* the chain's own comment */
        if (!p->v6 && !strncmp(p->chain, "g-", 2) && s->n_guards < MAX_GUARDS) {
            struct guard *g = &s->g[s->n_guards++];
            snprintf(g->bridge, sizeof(g->bridge), "%s", p->chain + 2);
            if (sscanf(text, "route_localnet %3s", g->saved) != 1)
                snprintf(g->saved, sizeof(g->saved), "0");
        } else if (sscanf(text, "%63s %15s", p->label, p->bridge) != 2) {
            p->label[0] = p->bridge[0] = '\0';
        }
        return 0;
    }
    struct lxm_portfwd f;
    if (strncmp(p->chain, "p-", 2) != 0 || !parse_record(text, p->v6, &f))
        return 0;
    return push_entry(s, p->chain + 2, p->label, p->bridge, &f);
}

static void state_free(struct table_state *s)
{
    free(s->e);
    s->e = NULL;
}

static int nft_exists(int v6, const char *chain, bool *out, struct lxm_error *err);

static int parse_table(struct table_state *s, int v6, char *out, struct lxm_error *err)
{
    struct parse_pos p;
    memset(&p, 0, sizeof(p));
    p.v6 = v6;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line += strspn(line, " \t");
        if (parse_line(s, &p, line) < 0) {
            state_free(s);
            return lxm_error_set(err, ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* Both tables (those that are there: asked over nfnetlink first, which is
 * cheap), each listed on its own (nft builds its cache for one list
 * command of a batch only) in one libnftables context. */
static int read_state(struct table_state *s, struct lxm_error *err)
{
    memset(s, 0, sizeof(*s));
    __attribute__((cleanup(lxm_nft_ctx_free))) struct nft_ctx *ctx = NULL;
    for (int v6 = 0; v6 < 2; v6++) {
        int r = nft_exists(v6, NULL, &s->exists[v6], err);
        if (r < 0) {
            state_free(s);
            return r;
        }
        if (!s->exists[v6])
            continue;
        if (!ctx && !(ctx = lxm_nft_ctx(WHAT, err)))
            r = -ENOMEM;
        _cleanup_free_ char *out = NULL;
        bool missing = false;
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "list table %s\n", table_of(v6));
        if (r == 0 && (r = lxm_nft_run_in(ctx, cmd, &out, &missing, err, WHAT)) == 0 && !missing)
            r = parse_table(s, v6, out, err);
        s->exists[v6] &= !missing; /* removed meanwhile (a check without the lock) */
        if (r < 0) {
            state_free(s);
            return r;
        }
    }
    return 0;
}

int lxm_portfwd_list(const char *key, struct lxm_portfwd_entry **out, int *n, struct lxm_error *err)
{
    *out = NULL;
    *n = 0;
    struct table_state s;
    int r = read_state(&s, err);
    if (r < 0)
        return r;
    int k = 0;
    for (int i = 0; i < s.n; i++)
        if (!key || !strcmp(s.e[i].key, key))
            s.e[k++] = s.e[i];
    if (k == 0)
        state_free(&s);
    *out = s.e;
    *n = k;
    return 0;
}

static bool needs_localnet(const struct lxm_portfwd *f)
{
    return !is6(f) && (f->listen == 0 || (f->listen >> 24) == 127);
}

static bool same_listen(const struct lxm_portfwd *a, const struct lxm_portfwd *b)
{
    if (a->proto != b->proto || a->host_port != b->host_port || is6(a) != is6(b))
        return false;
    if (!is6(a))
        return !a->listen || !b->listen || a->listen == b->listen;
    return IN6_IS_ADDR_UNSPECIFIED(&a->listen6) || IN6_IS_ADDR_UNSPECIFIED(&b->listen6) ||
           IN6_ARE_ADDR_EQUAL(&a->listen6, &b->listen6);
}

static int check_conflicts(const struct table_state *s, const struct lxm_portfwd_owner *o,
                           const struct lxm_portfwd *f, int n, struct lxm_error *err)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s->n; j++) {
            const struct lxm_portfwd_entry *e = &s->e[j];
            if (!strcmp(e->key, o->key) || !same_listen(&f[i], &e->f))
                continue;
            char a[INET6_ADDRSTRLEN];
            lxm_portfwd_addr(&e->f, false, a);
            bool v6 = is6(&e->f);
            return lxm_error_set(err, EADDRINUSE,
                                 "host port %s/%u is already forwarded to container '%s' "
                                 "(%s%s%s:%u, chain p-%s)",
                                 lxm_portfwd_proto_name(f[i].proto), (unsigned)f[i].host_port,
                                 e->label[0] ? e->label : e->key, v6 ? "[" : "", a, v6 ? "]" : "",
                                 (unsigned)e->f.host_port, e->key);
        }
    return 0;
}

static void drop_chains(FILE *f, int v6, const char *key)
{
    static const char kinds[] = "posf";
    const char *t = table_of(v6);
    for (const char *k = kinds; *k; k++)
        fprintf(f, "add chain %1$s %2$c-%3$s\ndelete chain %1$s %2$c-%3$s\n", t, *k, key);
}

/* The address keyword of the family's matches: "ip", "ip6". */
static const char *kw(int v6)
{
    return v6 ? "ip6" : "ip";
}

static void write_match(FILE *f, const char *chain, const struct lxm_portfwd *fw)
{
    char l[INET6_ADDRSTRLEN], t[INET6_ADDRSTRLEN];
    bool v6 = is6(fw);
    lxm_portfwd_addr(fw, false, l);
    lxm_portfwd_addr(fw, true, t);
    fprintf(f, "add rule %s %s ", table_of(v6), chain);
    if (v6 ? !IN6_IS_ADDR_UNSPECIFIED(&fw->listen6) : fw->listen != 0)
        fprintf(f, "%s daddr %s ", kw(v6), l);
    else if (v6) /* ::1 cannot be forwarded: left to the host (refused at once) */
        fputs("fib daddr type local ip6 daddr != ::1 ", f);
    else
        fputs("fib daddr type local ", f);
    fprintf(f, "%s dport %u dnat to %s%s%s:%u", lxm_portfwd_proto_name(fw->proto),
            (unsigned)fw->host_port, v6 ? "[" : "", t, v6 ? "]" : "", (unsigned)fw->target_port);
}

static bool same_target(const struct lxm_portfwd *a, const struct lxm_portfwd *b)
{
    return is6(a) == is6(b) &&
           (is6(a) ? IN6_ARE_ADDR_EQUAL(&a->target6, &b->target6) : a->target == b->target);
}

/* Masquerade and forward accept of one target: from the bridge's subnet
 * (hairpin) and, IPv4 only, the host's loopback. */
static void write_target(FILE *f, const struct lxm_portfwd_owner *o, const struct lxm_portfwd *fw)
{
    char net[LXM_CIDR6_LEN], t[INET6_ADDRSTRLEN];
    bool v6 = is6(fw);
    lxm_portfwd_addr(fw, true, t);
    const char *tb = table_of(v6), *k = kw(v6);
    if (v6) {
        struct lxm_cidr6 sub = lxm_cidr6_network(&o->subnet6);
        lxm_cidr6_format(&sub, net);
        fprintf(f,
                "add rule %1$s s-%2$s oifname \"%3$s\" ip6 daddr %4$s ct status dnat ip6 saddr "
                "%5$s masquerade\n",
                tb, o->key, o->bridge, t, net);
    } else {
        struct lxm_cidr sub = {lxm_cidr_network(&o->subnet), o->subnet.prefix};
        lxm_cidr_format(&sub, net);
        fprintf(f,
                "add rule %1$s s-%2$s oifname \"%3$s\" ip daddr %4$s ct status dnat ip saddr { "
                "127.0.0.0/8%5$s%6$s } masquerade\n",
                tb, o->key, o->bridge, t, o->subnet.prefix ? ", " : "",
                o->subnet.prefix ? net : "");
    }
    fprintf(f, "add rule %s f-%s oifname \"%s\" %s daddr %s ct status dnat accept\n", tb, o->key,
            o->bridge, k, t);
}

/* The owner's chains in the table of one family, with its forwards of
 * that family (none: nothing written). */
static void write_owner(FILE *f, int v6, const struct lxm_portfwd_owner *o,
                        const struct lxm_portfwd *fw, int n)
{
    bool any = false;
    for (int i = 0; i < n; i++)
        any |= is6(&fw[i]) == v6;
    if (!any)
        return;
    fprintf(f,
            "add chain %1$s p-%2$s { comment \"%3$s %4$s\"; type nat hook prerouting priority "
            "dstnat; policy accept; }\n"
            "add chain %1$s o-%2$s { type nat hook output priority -100; policy accept; }\n"
            "add chain %1$s s-%2$s { type nat hook postrouting priority srcnat; policy accept; }\n"
            "add chain %1$s f-%2$s { type filter hook forward priority filter; policy accept; }\n",
            table_of(v6), o->key, o->label, o->bridge);
    char p[112], out[112];
    snprintf(p, sizeof(p), "p-%s", o->key);
    snprintf(out, sizeof(out), "o-%s", o->key);
    for (int i = 0; i < n; i++) {
        if (is6(&fw[i]) != v6)
            continue;
        char l[INET6_ADDRSTRLEN], t[INET6_ADDRSTRLEN];
        lxm_portfwd_addr(&fw[i], false, l);
        lxm_portfwd_addr(&fw[i], true, t);
        write_match(f, p, &fw[i]);
        fprintf(f, " comment \"%s %s %u %s %u\"\n", lxm_portfwd_proto_name(fw[i].proto), l,
                (unsigned)fw[i].host_port, t, (unsigned)fw[i].target_port);
        write_match(f, out, &fw[i]);
        fputc('\n', f);
        /* Once per target: the same rules serve every port of it. */
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = same_target(&fw[j], &fw[i]);
        if (!seen)
            write_target(f, o, &fw[i]);
    }
}

static int sysctl_path(const char *bridge, char *buf, size_t len)
{
    if (lxm_ifname_validate(bridge, NULL) < 0)
        return -EINVAL;
    snprintf(buf, len, "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
    return 0;
}

static bool bridge_needs_localnet(const struct table_state *s, const char *bridge)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->e[i].bridge, bridge) && needs_localnet(&s->e[i].f))
            return true;
    return false;
}

static bool has_guard(const struct table_state *s, const char *bridge)
{
    for (int g = 0; g < s->n_guards; g++)
        if (!strcmp(s->g[g].bridge, bridge))
            return true;
    return false;
}

/* Add the guards missing, drop those not needed, and the table when
 * nothing is left in it. */
static void write_guards(FILE *f, const void *data)
{
    const struct table_state *s = data;
    char path[96];
    for (int i = 0; i < s->n; i++) {
        const char *br = s->e[i].bridge;
        bool first = true;
        for (int j = 0; j < i; j++)
            first &= strcmp(s->e[j].bridge, br) != 0;
        if (!first || has_guard(s, br) || !bridge_needs_localnet(s, br) ||
            sysctl_path(br, path, sizeof(path)) < 0)
            continue;
        _cleanup_free_ char *cur = NULL;
        if (read_file(path, &cur, NULL) < 0)
            continue; /* the bridge is gone */
        cur[strcspn(cur, "\n")] = '\0';
        fprintf(f,
                "add chain " T4 " g-%1$s { comment \"route_localnet %2$.3s\"; type filter hook "
                "prerouting priority raw; policy accept; }\n"
                "add rule " T4 " g-%1$s iifname \"%1$s\" ip daddr 127.0.0.0/8 drop\n",
                br, cur);
    }
    for (int g = 0; g < s->n_guards; g++)
        if (!bridge_needs_localnet(s, s->g[g].bridge))
            fprintf(f, "delete chain " T4 " g-%s\n", s->g[g].bridge);
    for (int v6 = 0; v6 < 2; v6++) {
        bool used = s->other_chains[v6];
        for (int i = 0; i < s->n && !used; i++)
            used = is6(&s->e[i].f) == v6;
        if (s->exists[v6] && !used)
            fprintf(f, "delete table %s\n", table_of(v6));
    }
}

/* Guards and route_localnet exactly for the bridges whose forwards
 * include the host's loopback (route_localnet is set after its guard is
 * in place and put back after it went). */
static int reconcile_guards(struct lxm_error *err)
{
    struct table_state s;
    int r = read_state(&s, err);
    if (r < 0 || (!s.exists[0] && !s.exists[1]))
        return r;
    _cleanup_free_ char *script = fill_string(write_guards, &s, NULL);
    if (!script) {
        state_free(&s);
        return lxm_error_set(err, ENOMEM, "out of memory");
    }
    if (*script && (r = run(script, NULL, NULL, err)) < 0) {
        state_free(&s);
        return r;
    }
    char path[96];
    for (int g = 0; g < s.n_guards; g++)
        if (!bridge_needs_localnet(&s, s.g[g].bridge) &&
            sysctl_path(s.g[g].bridge, path, sizeof(path)) == 0)
            (void)write_string(path, s.g[g].saved);
    for (int i = 0; i < s.n; i++)
        if (needs_localnet(&s.e[i].f) && sysctl_path(s.e[i].bridge, path, sizeof(path)) == 0)
            (void)write_string(path, "1");
    state_free(&s);
    return 0;
}

/* A socket's local address from /proc/net/{tcp,udp}{,6} into a (16
 * bytes; IPv4 in the first 4), in network order: /proc prints each 32-bit
 * word of the address as a native u32. */
static bool sock_addr(const char *hex, bool v6, uint8_t a[16])
{
    size_t words = v6 ? 4 : 1;
    if (strlen(hex) != words * 8)
        return false;
    for (size_t i = 0; i < words; i++) {
        char w[9];
        unsigned x;
        memcpy(w, hex + i * 8, 8);
        w[8] = '\0';
        if (sscanf(w, "%8x", &x) != 1)
            return false;
        uint32_t u = x;
        memcpy(a + i * 4, &u, 4);
    }
    return true;
}

/* Would forward f take the traffic of a host socket bound to a (v6: an
 * IPv6 socket)? For an IPv4 forward: IPv4 sockets and the IPv6 ones that
 * take IPv4 (:: and ::ffff:A.B.C.D); for an IPv6 one: IPv6 sockets but
 * those on ::1 (never forwarded) and the mapped ones. */
static bool sock_clash(const struct lxm_portfwd *f, bool v6, const uint8_t a[16], char *shown)
{
    struct in6_addr s6;
    memcpy(&s6, a, 16);
    if (is6(f)) {
        if (!v6 || IN6_IS_ADDR_LOOPBACK(&s6) || IN6_IS_ADDR_V4MAPPED(&s6))
            return false;
        lxm_ipv6_format(&s6, shown + 1);
        shown[0] = '[';
        strcat(shown, "]");
        return IN6_IS_ADDR_UNSPECIFIED(&f->listen6) || IN6_IS_ADDR_UNSPECIFIED(&s6) ||
               IN6_ARE_ADDR_EQUAL(&f->listen6, &s6);
    }
    uint32_t addr;
    if (v6 && !IN6_IS_ADDR_UNSPECIFIED(&s6) && !IN6_IS_ADDR_V4MAPPED(&s6))
        return false;
    memcpy(&addr, v6 ? a + 12 : a, 4);
    addr = ntohl(addr);
    lxm_ipv4_format(addr, shown);
    return !f->listen || !addr || addr == f->listen;
}

/* A socket of the host on f's port that f would take the traffic of;
 * its address into shown ("0.0.0.0", "[::]"). */
static bool host_listens(const struct lxm_portfwd *f, bool v6, char *shown)
{
    bool tcp = f->proto == LXM_PORTFWD_TCP;
    const char *file =
        tcp ? (v6 ? "/proc/net/tcp6" : "/proc/net/tcp") : (v6 ? "/proc/net/udp6" : "/proc/net/udp");
    _cleanup_fclose_ FILE *fp = fopen(file, "re");
    char line[256], hex[40];
    unsigned p, st;
    uint8_t a[16];
    while (fp && fgets(line, sizeof(line), fp)) {
        if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %*39[0-9A-Fa-f]:%*x %x", hex, &p, &st) != 3 ||
            p != f->host_port || st != (tcp ? 0x0A : 0x07)) /* LISTEN, or unconnected UDP */
            continue;
        memset(a, 0, sizeof(a));
        if (sock_addr(hex, v6, a) && sock_clash(f, v6, a, shown))
            return true;
    }
    return false;
}

/* docker -p fails when a process of the host has the port (its proxy
 * cannot bind); DNAT would silently take the traffic from it instead. */
static int check_host_sockets(const struct table_state *s, const struct lxm_portfwd_owner *o,
                              const struct lxm_portfwd *f, int n, struct lxm_error *err)
{
    for (int i = 0; i < n; i++) {
        bool had = false; /* ports the owner forwards already are not re-checked */
        for (int j = 0; j < s->n && !had; j++)
            had = !strcmp(s->e[j].key, o->key) && s->e[j].f.proto == f[i].proto &&
                  s->e[j].f.host_port == f[i].host_port && is6(&s->e[j].f) == is6(&f[i]);
        char a[INET6_ADDRSTRLEN + 2] = "";
        if (had || !(host_listens(&f[i], false, a) || host_listens(&f[i], true, a)))
            continue;
        return lxm_error_set(err, EADDRINUSE,
                             "host port %s/%u is in use on the host (a process has %s:%u)",
                             lxm_portfwd_proto_name(f[i].proto), (unsigned)f[i].host_port, a,
                             (unsigned)f[i].host_port);
    }
    return 0;
}

/* Keys become chain names and labels comments: [a-z0-9-] only. */
static int check_word(const char *s, size_t max, struct lxm_error *err)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
        return lxm_error_set(err, EINVAL, "port forwards: bad owner name '%s'", s);
    return 0;
}

/* The owner's names become an interface match, chain names and comments. */
static int check_owner(const struct lxm_portfwd_owner *o, struct lxm_error *err)
{
    int r = lxm_ifname_validate(o->bridge, err);
    if (r < 0)
        return lxm_error_prefix(err, "port forwards");
    if ((r = check_word(o->key, 90, err)) < 0 || (r = check_word(o->label, 63, err)) < 0)
        return r;
    return 0;
}

/* fw against the forwards in the tables and the host's sockets; exists
 * (may be NULL): which tables are there (ip, ip6). */
static int check_fw(const struct lxm_portfwd_owner *o, const struct lxm_portfwd *fw, int n,
                    bool exists[2], struct lxm_error *err)
{
    for (int i = 0; i < n; i++)
        if (is6(&fw[i]) && o->subnet6.prefix == 0)
            return lxm_error_set(err, EINVAL,
                                 "port forwards: an IPv6 forward but no IPv6 subnet on bridge %s",
                                 o->bridge);
    struct table_state s;
    int r = read_state(&s, err);
    if (r < 0)
        return r;
    r = check_conflicts(&s, o, fw, n, err);
    if (r == 0)
        r = check_host_sockets(&s, o, fw, n, err);
    if (exists)
        memcpy(exists, s.exists, sizeof(s.exists));
    state_free(&s);
    return r;
}

int lxm_portfwd_check(const struct lxm_portfwd_owner *o, const struct lxm_portfwd *fw, int n,
                      struct lxm_error *err)
{
    int r = check_owner(o, err);
    return r < 0 ? r : check_fw(o, fw, n, NULL, err);
}

/* Run the script fill prints, then put the guards right. */
static int apply(fill_fn fill, const void *data, struct lxm_error *err)
{
    _cleanup_free_ char *script = fill_string(fill, data, NULL);
    if (!script)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!*script)
        return 0;
    int r = run(script, NULL, NULL, err);
    return r < 0 ? r : reconcile_guards(err);
}

struct owner_fw {
    const struct lxm_portfwd_owner *o;
    const struct lxm_portfwd *fw;
    int n;
    const bool *exists; /* [2]: ip, ip6 */
    const char *key;    /* clear: drop these chains only */
};

/* In each table that is there or gets forwards: the owner's chains
 * dropped and written again (both families in one transaction). */
static void write_set(FILE *f, const void *data)
{
    const struct owner_fw *s = data;
    for (int v6 = 0; v6 < 2; v6++) {
        bool some = false;
        for (int i = 0; i < s->n && !some; i++)
            some = is6(&s->fw[i]) == v6;
        if (!some && !s->exists[v6])
            continue;
        fprintf(f, "add table %s\n", table_of(v6));
        drop_chains(f, v6, s->o ? s->o->key : s->key);
        if (some)
            write_owner(f, v6, s->o, s->fw, s->n);
    }
}

int lxm_portfwd_set(const struct lxm_portfwd_owner *o, const struct lxm_portfwd *fw, int n,
                    struct lxm_error *err)
{
    int r = check_owner(o, err);
    if (r < 0)
        return r;
    _cleanup_close_ int lock = lock_table(err);
    if (lock < 0)
        return lock;
    bool exists[2] = {false, false};
    if ((r = check_fw(o, fw, n, exists, err)) < 0)
        return r;
    return apply(write_set, &(struct owner_fw){o, fw, n, exists, NULL}, err);
}

int lxm_portfwd_clear(const char *key, struct lxm_error *err)
{
    int r0 = check_word(key, 90, err);
    bool present = false;
    if (r0 < 0 || (r0 = lxm_portfwd_present(key, &present, err)) < 0 || !present)
        return r0;
    _cleanup_close_ int lock = lock_table(err);
    if (lock < 0)
        return lock;
    struct table_state s;
    int r = read_state(&s, err);
    bool mine = false;
    for (int i = 0; r == 0 && i < s.n; i++)
        mine |= !strcmp(s.e[i].key, key);
    state_free(&s);
    if (r < 0 || !mine)
        return r;
    return apply(write_set, &(struct owner_fw){NULL, NULL, 0, s.exists, key}, err);
}

/* A GETTABLE/GETCHAIN over nfnetlink: cheap enough for every container
 * stop (libnftables is loaded only when there is something to do). */
static int nft_exists(int v6, const char *chain, bool *out, struct lxm_error *err)
{
    /* AF_INET == NFPROTO_IPV4, AF_INET6 == NFPROTO_IPV6 */
    return lxm_nft_exists(v6 ? AF_INET6 : AF_INET, LXM_PORTFWD_TABLE, chain, out, err);
}

int lxm_portfwd_present(const char *key, bool *out, struct lxm_error *err)
{
    char chain[112];
    snprintf(chain, sizeof(chain), "p-%s", key);
    int r = nft_exists(0, chain, out, err);
    return r < 0 || *out ? r : nft_exists(1, chain, out, err);
}

int lxm_portfwd_tables(const char *key, unsigned *out, struct lxm_error *err)
{
    char chain[112];
    snprintf(chain, sizeof(chain), "p-%s", key);
    *out = 0;
    for (int v6 = 0; v6 < 2; v6++) {
        bool in = false;
        int r = nft_exists(v6, chain, &in, err);
        if (r < 0)
            return r;
        if (in)
            *out |= v6 ? LXM_PORTFWD_IN_IP6 : LXM_PORTFWD_IN_IP;
    }
    return 0;
}

#include "lxm/net/portfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/lazy-nft.h"

#include "lxm/net/link.h"
#include "lxm/net/nat.h"
#include "lxm/net/netlink.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define T "ip " LXM_PORTFWD_TABLE
/* Serialises every lxm process (of any root) that edits the table. */
#define LOCK_FILE "/run/lxm-ports.lock"
#define MAX_GUARDS 64

struct guard {
    char bridge[16];
    char saved[4]; /* route_localnet before lxm set it */
};

struct table_state {
    struct lxm_portfwd_entry *e;
    int n;
    struct guard g[MAX_GUARDS];
    int n_guards;
    bool exists;
    bool other_chains; /* chains that are not an owner's p-/o-/s-/f- or a guard */
};

const char *lxm_portfwd_proto_name(int proto)
{
    return proto == LXM_PORTFWD_UDP ? "udp" : "tcp";
}

void lxm_portfwd_format(const struct lxm_portfwd *f, char *buf, size_t len)
{
    char l[16], t[16];
    lxm_ipv4_format(f->listen, l);
    lxm_ipv4_format(f->target, t);
    snprintf(buf, len, "%s %s:%u -> %s:%u", lxm_portfwd_proto_name(f->proto), l,
             (unsigned)f->host_port, t, (unsigned)f->target_port);
}

static void nftp(struct nft_ctx **c)
{
    if (*c)
        nft_ctx_free(*c);
}

/* Run a script; *missing (may be NULL) is set when nft said the table is
 * not there, which is then no error. */
static int run(const char *script, char **output, bool *missing, struct lxm_error *err)
{
    __attribute__((cleanup(nftp))) struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx)
        return lxm_error_set(err, ENOMEM, "port forwards: cannot create nftables context");
    nft_ctx_buffer_output(ctx);
    nft_ctx_buffer_error(ctx);
    if (nft_run_cmd_from_buffer(ctx, script) != 0) {
        const char *e = nft_ctx_get_error_buffer(ctx);
        if (missing && e && strstr(e, "No such file or directory")) {
            *missing = true;
            return 0;
        }
        char line[256] = "";
        if (e)
            sscanf(e, "%255[^\n]", line);
        return lxm_error_set(err, EIO, "port forwards: nftables: %s", line[0] ? line : "failed");
    }
    if (output) {
        const char *o = nft_ctx_get_output_buffer(ctx);
        if (!(*output = strdup(o ? o : "")))
            return lxm_error_set(err, ENOMEM, "out of memory");
    }
    return 0;
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

/* A rule's record: "PROTO LISTEN HPORT TARGET TPORT". */
static bool parse_record(const char *s, struct lxm_portfwd *f)
{
    char proto[8], l[16], t[16];
    unsigned hp, tp;
    if (sscanf(s, "%7s %15s %u %15s %u", proto, l, &hp, t, &tp) != 5 || !hp || hp > 65535 || !tp ||
        tp > 65535)
        return false;
    f->proto = strcmp(proto, "udp") == 0 ? LXM_PORTFWD_UDP : LXM_PORTFWD_TCP;
    f->host_port = (uint16_t)hp;
    f->target_port = (uint16_t)tp;
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
    char chain[128];
    char label[64];
    char bridge[16];
};

static int parse_line(struct table_state *s, struct parse_pos *p, const char *line)
{
    char text[160];
    if (sscanf(line, "chain %127s {", p->chain) == 1) {
        p->label[0] = p->bridge[0] = '\0';
        bool ours = !strncmp(p->chain, "p-", 2) || !strncmp(p->chain, "o-", 2) ||
                    !strncmp(p->chain, "s-", 2) || !strncmp(p->chain, "f-", 2) ||
                    !strncmp(p->chain, "g-", 2);
        s->other_chains |= !ours;
        return 0;
    }
    if (!comment_of(line, text, sizeof(text)))
        return 0;
    if (!strncmp(line, "comment \"", 9)) { /* the chain's own comment */
        if (!strncmp(p->chain, "g-", 2) && s->n_guards < MAX_GUARDS) {
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
    if (strncmp(p->chain, "p-", 2) != 0 || !parse_record(text, &f))
        return 0;
    return push_entry(s, p->chain + 2, p->label, p->bridge, &f);
}

static void state_free(struct table_state *s)
{
    free(s->e);
    s->e = NULL;
}

static int read_state(struct table_state *s, struct lxm_error *err)
{
    memset(s, 0, sizeof(*s));
    _cleanup_free_ char *out = NULL;
    bool missing = false;
    int r = run("list table " T "\n", &out, &missing, err);
    if (r < 0 || missing)
        return r;
    s->exists = true;
    struct parse_pos p;
    memset(&p, 0, sizeof(p));
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

static int nft_exists(const char *chain, bool *out, struct lxm_error *err);

int lxm_portfwd_list(const char *key, struct lxm_portfwd_entry **out, int *n, struct lxm_error *err)
{
    *out = NULL;
    *n = 0;
    bool there;
    int r = nft_exists(NULL, &there, err);
    if (r < 0 || !there)
        return r;
    struct table_state s;
    if ((r = read_state(&s, err)) < 0)
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
    return f->listen == 0 || (f->listen >> 24) == 127;
}

static bool same_listen(const struct lxm_portfwd *a, const struct lxm_portfwd *b)
{
    return a->proto == b->proto && a->host_port == b->host_port &&
           (!a->listen || !b->listen || a->listen == b->listen);
}

static int check_conflicts(const struct table_state *s, const struct lxm_portfwd_owner *o,
                           const struct lxm_portfwd *f, int n, struct lxm_error *err)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s->n; j++) {
            const struct lxm_portfwd_entry *e = &s->e[j];
            if (!strcmp(e->key, o->key) || !same_listen(&f[i], &e->f))
                continue;
            char a[16];
            lxm_ipv4_format(e->f.listen, a);
            return lxm_error_set(err, EADDRINUSE,
                                 "host port %s/%u is already forwarded to container '%s' "
                                 "(%s:%u, chain p-%s)",
                                 lxm_portfwd_proto_name(f[i].proto), (unsigned)f[i].host_port,
                                 e->label[0] ? e->label : e->key, a, (unsigned)e->f.host_port,
                                 e->key);
        }
    return 0;
}

static void drop_chains(FILE *f, const char *key)
{
    static const char kinds[] = "posf";
    for (const char *k = kinds; *k; k++)
        fprintf(f, "add chain " T " %c-%s\ndelete chain " T " %c-%s\n", *k, key, *k, key);
}

static void write_match(FILE *f, const char *chain, const struct lxm_portfwd *fw)
{
    char l[16], t[16];
    lxm_ipv4_format(fw->listen, l);
    lxm_ipv4_format(fw->target, t);
    fprintf(f, "add rule " T " %s ", chain);
    if (fw->listen)
        fprintf(f, "ip daddr %s ", l);
    else
        fputs("fib daddr type local ", f);
    fprintf(f, "%s dport %u dnat to %s:%u", lxm_portfwd_proto_name(fw->proto),
            (unsigned)fw->host_port, t, (unsigned)fw->target_port);
}

static void write_owner(FILE *f, const struct lxm_portfwd_owner *o, const struct lxm_portfwd *fw,
                        int n)
{
    fprintf(f,
            "add chain " T " p-%1$s { comment \"%2$s %3$s\"; type nat hook prerouting priority "
            "dstnat; policy accept; }\n"
            "add chain " T " o-%1$s { type nat hook output priority -100; policy accept; }\n"
            "add chain " T " s-%1$s { type nat hook postrouting priority srcnat; policy accept; }\n"
            "add chain " T " f-%1$s { type filter hook forward priority filter; policy accept; }\n",
            o->key, o->label, o->bridge);
    char p[112], out[112], net[24];
    snprintf(p, sizeof(p), "p-%s", o->key);
    snprintf(out, sizeof(out), "o-%s", o->key);
    struct lxm_cidr sub = {lxm_cidr_network(&o->subnet), o->subnet.prefix};
    lxm_cidr_format(&sub, net);
    for (int i = 0; i < n; i++) {
        char l[16], t[16];
        lxm_ipv4_format(fw[i].listen, l);
        lxm_ipv4_format(fw[i].target, t);
        write_match(f, p, &fw[i]);
        fprintf(f, " comment \"%s %s %u %s %u\"\n", lxm_portfwd_proto_name(fw[i].proto), l,
                (unsigned)fw[i].host_port, t, (unsigned)fw[i].target_port);
        write_match(f, out, &fw[i]);
        fputc('\n', f);
        /* Once per target: the same rules serve every port of it. */
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = fw[j].target == fw[i].target;
        if (seen)
            continue;
        fprintf(f,
                "add rule " T " s-%s oifname \"%s\" ip daddr %s ct status dnat ip saddr { "
                "127.0.0.0/8%s%s } masquerade\n"
                "add rule " T " f-%s oifname \"%s\" ip daddr %s ct status dnat accept\n",
                o->key, o->bridge, t, o->subnet.prefix ? ", " : "", o->subnet.prefix ? net : "",
                o->key, o->bridge, t);
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
                "add chain " T " g-%1$s { comment \"route_localnet %2$.3s\"; type filter hook "
                "prerouting priority raw; policy accept; }\n"
                "add rule " T " g-%1$s iifname \"%1$s\" ip daddr 127.0.0.0/8 drop\n",
                br, cur);
    }
    for (int g = 0; g < s->n_guards; g++)
        if (!bridge_needs_localnet(s, s->g[g].bridge))
            fprintf(f, "delete chain " T " g-%s\n", s->g[g].bridge);
    if (s->n == 0 && !s->other_chains)
        fputs("delete table " T "\n", f);
}

/* Guards and route_localnet exactly for the bridges whose forwards
 * include the host's loopback (route_localnet is set after its guard is
 * in place and put back after it went). */
static int reconcile_guards(struct lxm_error *err)
{
    struct table_state s;
    int r = read_state(&s, err);
    if (r < 0 || !s.exists)
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

/* A socket of the host on port: bound to addr (host order, 0 = any). */
static bool host_listens(const char *file, bool v6, bool tcp, unsigned port, uint32_t listen,
                         uint32_t *bound)
{
    _cleanup_fclose_ FILE *f = fopen(file, "re");
    char line[256], a[40];
    unsigned p, st;
    while (f && fgets(line, sizeof(line), f)) {
        if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %*39[0-9A-Fa-f]:%*x %x", a, &p, &st) != 3 ||
            p != port || st != (tcp ? 0x0A : 0x07)) /* LISTEN, or an unconnected UDP socket */
            continue;
        uint32_t addr = 0;
        if (v6) { /* only :: and ::ffff:A.B.C.D take IPv4 */
            if (strlen(a) != 32)
                continue;
            bool any = strspn(a, "0") == 32;
            bool mapped = !strncmp(a, "0000000000000000FFFF0000", 24);
            if (!any && !mapped)
                continue;
            if (mapped)
                sscanf(a + 24, "%8x", &addr);
        } else if (sscanf(a, "%8x", &addr) != 1) {
            continue;
        }
        addr = ntohl(addr); /* /proc prints the network-order word as a native u32 */
        if (!listen || !addr || addr == listen) {
            *bound = addr;
            return true;
        }
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
                  s->e[j].f.host_port == f[i].host_port;
        bool tcp = f[i].proto == LXM_PORTFWD_TCP;
        uint32_t bound = 0;
        if (had || !(host_listens(tcp ? "/proc/net/tcp" : "/proc/net/udp", false, tcp,
                                  f[i].host_port, f[i].listen, &bound) ||
                     host_listens(tcp ? "/proc/net/tcp6" : "/proc/net/udp6", true, tcp,
                                  f[i].host_port, f[i].listen, &bound)))
            continue;
        char a[16];
        lxm_ipv4_format(bound, a);
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

/* fw against the forwards in the table and the host's sockets; *exists
 * (may be NULL): is the table there? */
static int check_fw(const struct lxm_portfwd_owner *o, const struct lxm_portfwd *fw, int n,
                    bool *exists, struct lxm_error *err)
{
    struct table_state s;
    int r = read_state(&s, err);
    if (r < 0)
        return r;
    r = check_conflicts(&s, o, fw, n, err);
    if (r == 0)
        r = check_host_sockets(&s, o, fw, n, err);
    if (exists)
        *exists = s.exists;
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
    int r = run(script, NULL, NULL, err);
    return r < 0 ? r : reconcile_guards(err);
}

struct owner_fw {
    const struct lxm_portfwd_owner *o;
    const struct lxm_portfwd *fw;
    int n;
};

static void write_set(FILE *f, const void *data)
{
    const struct owner_fw *s = data;
    fputs("add table " T "\n", f);
    drop_chains(f, s->o->key);
    if (s->n > 0)
        write_owner(f, s->o, s->fw, s->n);
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
    bool exists = false;
    r = check_fw(o, fw, n, &exists, err);
    if (r < 0 || (!exists && n == 0))
        return r;
    return apply(write_set, &(struct owner_fw){o, fw, n}, err);
}

static void write_clear(FILE *f, const void *key)
{
    drop_chains(f, key);
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
    return apply(write_clear, key, err);
}

/* A GETTABLE/GETCHAIN over nfnetlink: cheap enough for every container
 * stop (libnftables is loaded only when there is something to do). */
static int nft_exists(const char *chain, bool *out, struct lxm_error *err)
{
    return lxm_nft_exists(AF_INET /* == NFPROTO_IPV4 */, LXM_PORTFWD_TABLE, chain, out, err);
}

int lxm_portfwd_present(const char *key, bool *out, struct lxm_error *err)
{
    char chain[112];
    snprintf(chain, sizeof(chain), "p-%s", key);
    return nft_exists(chain, out, err);
}

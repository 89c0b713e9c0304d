/* net up/down/status: the managed bridge of the global config, with its
 * address, NAT and dnsmasq (lxm/net/bridge.c does the work). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "lxm/net/bridge.h"
#include "lxm/net/dnsmasq.h"
#include "lxm/net/traps.h"
#include "net/network.h"
#include "net/network-ports.h"
#include "cmd/output.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strv.h"

static int no_more_args(const char *cmd, int argc, char **argv, struct lxm_error *err)
{
    if (optind < argc)
        return lxm_usage_error(err, cmd, "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* What silently drops the bridge's traffic (lxm/net/traps.h): one warning
 * line each, on stderr; the checks themselves never fail the command. */
static char **find_traps(const struct lxm_bridge_cfg *b)
{
    char **traps = NULL;
    struct lxm_error terr = {0};
    if (lxm_net_traps(b, &traps, &terr) < 0)
        lxm_warn("%s", terr.msg);
    return traps;
}

static void warn_traps(char **traps)
{
    for (char **t = traps; t && *t; t++)
        lxm_warn("%s", *t);
}

static int net_up(struct lxm_ctx *ctx, const struct lxm_bridge_cfg *b, struct lxm_error *err)
{
    struct lxm_cidr a;
    int r = lxm_bridge_up(b, &a, err);
    _cleanup_strv_free_ char **traps = find_traps(b);
    warn_traps(traps); /* also (above all) when up failed: they may say why */
    if (r < 0)
        return lxm_error_prefix(err, "net up");
    struct lxm_cidr6 a6;
    bool on6 = false;
    if (lxm_bridge_address6(b, &a6, &on6, NULL) < 0)
        on6 = false;
    if (!ctx->quiet) {
        char s[24], s6[LXM_CIDR6_LEN] = "";
        lxm_cidr_format(&a, s);
        if (on6)
            lxm_cidr6_format(&a6, s6);
        printf("bridge %s up at %s%s%s (NAT %s, DHCP/DNS %s)\n", b->name, s, on6 ? " and " : "",
               s6, b->nat ? "on" : "off", b->dhcp ? "on" : "off");
    }
    return 0;
}

static int net_down(struct lxm_ctx *ctx, const struct lxm_bridge_cfg *b, bool force,
                    struct lxm_error *err)
{
    int r = lxm_bridge_down(b, force, err);
    if (r < 0)
        return lxm_error_prefix(err, "net down");
    if (!ctx->quiet)
        printf(r > 0 ? "bridge %s removed\n" : "bridge %s was not up\n", b->name);
    return 0;
}

struct forwards {
    struct lxm_portfwd_entry *e;
    int n;
};

static void add_forwards(struct lxm_value *o, const struct lxm_bridge_cfg *b,
                         const struct forwards *fw)
{
    struct lxm_value *arr = lxm_obj_array(o, "forwards");
    for (int i = 0; i < fw->n; i++) {
        const struct lxm_portfwd_entry *e = &fw->e[i];
        if (strcmp(e->bridge, b->name) != 0)
            continue;
        char l[INET6_ADDRSTRLEN], t[INET6_ADDRSTRLEN];
        lxm_portfwd_addr(&e->f, false, l);
        lxm_portfwd_addr(&e->f, true, t);
        struct lxm_value *v = lxm_value_object();
        lxm_obj_str(v, "container", e->label);
        lxm_obj_str(v, "proto", lxm_portfwd_proto_name(e->f.proto));
        lxm_obj_str(v, "address", l);
        lxm_obj_int(v, "host", e->f.host_port);
        lxm_obj_str(v, "target", t);
        lxm_obj_int(v, "target_port", e->f.target_port);
        lxm_array_push(arr, v);
    }
}

static struct lxm_value *status_value(const struct lxm_bridge_cfg *b,
                                      const struct lxm_bridge_status *st,
                                      const struct lxm_lease *leases, int n, char **traps,
                                      const struct forwards *fw)
{
    struct lxm_value *o = lxm_value_object();
    char a[24] = "", net[24] = "";
    if (st->has_addr) {
        struct lxm_cidr c = {lxm_cidr_network(&st->addr), st->addr.prefix};
        lxm_cidr_format(&st->addr, a);
        lxm_cidr_format(&c, net);
    }
    lxm_obj_str(o, "bridge", b->name);
    lxm_obj_str(o, "state", !st->exists ? "absent" : st->up ? "up" : "down");
    lxm_obj_str(o, "ipv4", a[0] ? a : NULL);
    lxm_obj_str(o, "subnet", net[0] ? net : NULL);
    char a6[LXM_CIDR6_LEN] = "", net6[LXM_CIDR6_LEN] = "";
    if (st->has_addr6) {
        struct lxm_cidr6 c6 = lxm_cidr6_network(&st->addr6);
        lxm_cidr6_format(&st->addr6, a6);
        lxm_cidr6_format(&c6, net6);
    }
    lxm_obj_str(o, "ipv6", a6[0] ? a6 : NULL);
    lxm_obj_str(o, "subnet6", net6[0] ? net6 : NULL);
    lxm_obj_bool(o, "nat", st->nat);
    lxm_obj_bool(o, "nat6", st->nat6);
    lxm_obj_int_or_null(o, "dnsmasq_pid", st->dnsmasq > 0 ? st->dnsmasq : -1);
    lxm_obj_bool(o, "dhcp", st->dnsmasq > 0);
    struct lxm_value *dns = lxm_obj_object(o, "dns");
    lxm_obj_str(dns, "domain", b->domain);
    if (b->upstream)
        lxm_obj_strv(dns, "upstream", b->upstream);
    else
        lxm_obj_str(dns, "resolv_file", lxm_dnsmasq_resolv_file(NULL, NULL));
    lxm_obj_strv(o, "ports", st->ports);
    struct lxm_value *arr = lxm_obj_array(o, "leases");
    for (int i = 0; i < n; i++) {
        struct lxm_value *l = lxm_value_object();
        lxm_obj_str(l, "ipv4", leases[i].ip);
        lxm_obj_str(l, "mac", leases[i].mac);
        lxm_obj_str(l, "hostname", strcmp(leases[i].hostname, "*") ? leases[i].hostname : NULL);
        lxm_obj_int(l, "expires", leases[i].expires);
        lxm_array_push(arr, l);
    }
    lxm_obj_strv(o, "warnings", traps);
    add_forwards(o, b, fw);
    return o;
}

static void print_status_table(const struct lxm_bridge_cfg *b, const struct lxm_bridge_status *st,
                               const struct lxm_lease *leases, int n, const struct forwards *fw)
{
    char a[24] = "-";
    if (st->has_addr)
        lxm_cidr_format(&st->addr, a);
    printf("bridge:  %s (%s)\n", b->name, !st->exists ? "absent" : st->up ? "up" : "down");
    char a6[LXM_CIDR6_LEN] = "-";
    if (st->has_addr6)
        lxm_cidr6_format(&st->addr6, a6);
    printf("ipv4:    %s\n", a);
    printf("ipv6:    %s\n", a6);
    printf("nat:     %s%s\n", st->nat ? "on" : "off", st->nat6 ? " (and NAT66)" : "");
    if (st->dnsmasq > 0)
        printf("dnsmasq: running (pid %d)\n", (int)st->dnsmasq);
    else
        printf("dnsmasq: not running\n");
    if (!b->upstream) {
        printf("dns:     %s, upstream: the servers in %s\n", b->domain,
               lxm_dnsmasq_resolv_file(NULL, NULL));
    } else if (!b->upstream[0]) {
        printf("dns:     %s, upstream: none\n", b->domain);
    } else {
        printf("dns:     %s, upstream:", b->domain);
        for (char *const *u = b->upstream; *u; u++)
            printf(" %s", *u);
        printf("\n");
    }
    printf("ports:   %zu\n", strv_length(st->ports));
    printf("leases:  %d\n", n);
    for (int i = 0; i < n; i++)
        printf("  %-15s %s %s\n", leases[i].ip, leases[i].mac, leases[i].hostname);
    int k = 0;
    for (int i = 0; i < fw->n; i++)
        k += strcmp(fw->e[i].bridge, b->name) == 0;
    printf("forwards: %d\n", k);
    for (int i = 0; i < fw->n; i++) {
        char s[128];
        lxm_portfwd_format(&fw->e[i].f, s, sizeof(s));
        if (strcmp(fw->e[i].bridge, b->name) == 0)
            printf("  %-44s %s\n", s, fw->e[i].label);
    }
}

static int net_status(struct lxm_ctx *ctx, const struct lxm_bridge_cfg *b, struct lxm_error *err)
{
    struct lxm_bridge_status st;
    int r = lxm_bridge_status(b, &st, err);
    if (r < 0)
        return lxm_error_prefix(err, "net status");
    _cleanup_free_ struct lxm_lease *leases = NULL;
    int n = 0;
    struct lxm_error lerr = {0};
    (void)lxm_dnsmasq_leases(b->dir, b->name, &leases, &n, &lerr);
    struct forwards fw = {NULL, 0};
    if ((r = lxm_ports_list(&ctx->paths, NULL, &fw.e, &fw.n, err)) < 0) {
        lxm_bridge_status_free(&st);
        return lxm_error_prefix(err, "net status");
    }
    _cleanup_strv_free_ char **traps = find_traps(b);
    if (ctx->format == LXM_OUT_TABLE) {
        print_status_table(b, &st, leases, n, &fw);
        warn_traps(traps);
    } else {
        struct lxm_value *v = status_value(b, &st, leases, n, traps, &fw);
        lxm_output_print(stdout, ctx->format, v, NULL, NULL);
        lxm_value_free(v);
    }
    lxm_bridge_status_free(&st);
    free(fw.e);
    return 0;
}

int cmd_net(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    int o;
    while ((o = lxm_getopt("net", argc, argv, "", NULL, err)) != -1)
        return o == 'h' ? 0 : -LXM_EUSAGE;
    if (optind >= argc)
        return lxm_usage_error(err, "net", "missing subcommand (up, down or status)");
    const char *sub = argv[optind];
    argc -= optind;
    argv += optind;
    optind = 0;
    bool force = false;
    static const struct option down_opts[] = {{"force", no_argument, NULL, 'f'}, {0}};
    bool is_down = strcmp(sub, "down") == 0;
    while ((o = lxm_getopt("net", argc, argv, is_down ? "f" : "", is_down ? down_opts : NULL,
                           err)) != -1) {
        if (o == 'h')
            return 0;
        if (o != 'f')
            return -LXM_EUSAGE;
        force = true;
    }
    int r = no_more_args("net", argc, argv, err);
    if (r < 0)
        return r;
    const struct lxm_global *g;
    if ((r = lxm_paths_global(&ctx->paths, &g, err)) < 0)
        return r;
    struct lxm_bridge_cfg b;
    _cleanup_free_ char *dir = NULL;
    if (lxm_network_bridge_cfg(&ctx->paths, g, &b, &dir) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (strcmp(sub, "up") == 0)
        return net_up(ctx, &b, err);
    if (is_down)
        return net_down(ctx, &b, force, err);
    if (strcmp(sub, "status") == 0)
        return net_status(ctx, &b, err);
    return lxm_usage_error(err, "net", "unknown subcommand '%s' (up, down or status)", sub);
}

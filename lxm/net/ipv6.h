/* ipv6: the IPv6 side of a managed bridge: a ULA /64 (generated once from
 * a random 40-bit global ID and recorded in DIR/BRIDGE/ipv6, like the IPv4
 * subnet), its address on the bridge, the SLAAC (EUI-64) address a guest
 * derives from its MAC (NAT66, in lxm's own table "ip6 lxm_BRIDGE", is
 * nat.c's). */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct nl_sock;

struct lxm_cidr6 {
    struct in6_addr addr;
    int prefix; /* 0..128 */
};

/* INET6_ADDRSTRLEN + "/128" */
#define LXM_CIDR6_LEN 52

/* "ADDR/N" (N required). */
int lxm_cidr6_parse(const char *s, struct lxm_cidr6 *out, struct lxm_error *err);
void lxm_cidr6_format(const struct lxm_cidr6 *c, char out[LXM_CIDR6_LEN]);
/* The address part alone. */
void lxm_ipv6_format(const struct in6_addr *a, char out[INET6_ADDRSTRLEN]);
/* c with the host bits cleared. */
struct lxm_cidr6 lxm_cidr6_network(const struct lxm_cidr6 *c);
/* fdXX:XXXX:XXXX::1/64 with 40 random bits (RFC 4193 global ID, subnet 0). */
int lxm_ula_generate(struct lxm_cidr6 *out, struct lxm_error *err);
/* The SLAAC address of mac in the /64 of net (modified EUI-64). */
struct in6_addr lxm_ipv6_eui64(const struct lxm_cidr6 *net, const uint8_t mac[6]);
/* Is IPv6 there at all (no ipv6.disable=1 on the kernel command line)? */
bool lxm_ipv6_available(void);

/* Validate a network.ipv6 value ("none", "ADDR/64", NULL) for bridge. */
int lxm_ipv6_check_conf(const char *bridge, const char *conf, struct lxm_error *err);
/* The bridge's IPv6 address: conf ("ADDR/64"; "none" = *out untouched and
 * 0 returned with *on false), else the one recorded in DIR/BRIDGE/ipv6,
 * else a /64 the bridge has (when exists), else a new ULA; the last two
 * are recorded. */
int lxm_ipv6_resolve(struct nl_sock *sk, const char *bridge, const char *dir, const char *conf,
                     bool exists, struct lxm_cidr6 *out, bool *on, struct lxm_error *err);
/* A router's interface takes no router advertisements and makes no SLAAC
 * address (accept_ra=0, autoconf=0): the bridge would otherwise configure
 * itself from the RAs its own dnsmasq sends. */
void lxm_ipv6_router_iface(const char *ifname);
/* Add an IPv6 address to ifname without duplicate address detection (so
 * it is usable at once); one that is there is success. Also clears
 * disable_ipv6 of ifname. */
int lxm_addr6_add(struct nl_sock *sk, const char *ifname, const struct lxm_cidr6 *c,
                  struct lxm_error *err);
/* IPv6 addresses of ifname (NULL = every interface) except link-local and
 * loopback ones, as "ADDR/N" strings. */
int lxm_addr6_list(struct nl_sock *sk, const char *ifname, char ***out, struct lxm_error *err);
/* Is an IPv6 address of this scope (RT_SCOPE_*) one that the lists show
 * (here and in nsaddr.h)? Global or site scope, and not link-local. */
bool lxm_addr6_listed(const struct in6_addr *a, int scope);

/* net.ipv6.conf.all.forwarding = 1 in the caller's netns. Interfaces that
 * take router advertisements (accept_ra 1) would stop doing so once the
 * host forwards: they are set to 2 (accept even when forwarding) first. */
int lxm_ipv6_forward_enable(struct lxm_error *err);

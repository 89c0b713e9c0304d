/* addr: IPv4 prefixes (parse, format, overlap), interface addresses and
 * routes through rtnetlink (libnl-route-3). */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct nl_sock;

struct lxm_cidr {
    uint32_t addr; /* host byte order */
    int prefix;    /* 0..32 */
};

/* "A.B.C.D/N" (N required unless allow_bare, then /32). -EINVAL with
 * "invalid IPv4 address 'x' (expected A.B.C.D/N)". */
int lxm_cidr_parse(const char *s, bool allow_bare, struct lxm_cidr *out, struct lxm_error *err);
/* Plain "A.B.C.D". */
int lxm_ipv4_parse(const char *s, uint32_t *out, struct lxm_error *err);
void lxm_ipv4_format(uint32_t addr, char out[INET_ADDRSTRLEN]);
/* "A.B.C.D/N" of c (address part as given); out holds 19 bytes. */
void lxm_cidr_format(const struct lxm_cidr *c, char out[24]);
uint32_t lxm_cidr_mask(int prefix);
static inline uint32_t lxm_cidr_network(const struct lxm_cidr *c)
{
    return c->addr & lxm_cidr_mask(c->prefix);
}
static inline uint32_t lxm_cidr_broadcast(const struct lxm_cidr *c)
{
    return c->addr | ~lxm_cidr_mask(c->prefix);
}
bool lxm_cidr_contains(const struct lxm_cidr *net, uint32_t addr);
bool lxm_cidr_overlap(const struct lxm_cidr *a, const struct lxm_cidr *b);

/* Add an IPv4 address (with its prefix) to interface ifname. An address
 * that is already there is success. */
int lxm_addr_add(struct nl_sock *sk, const char *ifname, const struct lxm_cidr *c,
                 struct lxm_error *err);
/* IPv4 addresses of ifname (NULL = every interface except loopback) as
 * "A.B.C.D/N" strings in a NULL-terminated strv. */
int lxm_addr_list(struct nl_sock *sk, const char *ifname, char ***out, struct lxm_error *err);
/* Is an IPv4 address of this scope (RT_SCOPE_*) one that the lists of
 * every interface show (here and in nsaddr.h)? Not host scope (127.0.0.1). */
bool lxm_addr_listed(int scope);
/* default via gw (on whatever interface reaches it). */
int lxm_route_add_default(struct nl_sock *sk, uint32_t gw, struct lxm_error *err);
/* *out: the namespace of sk has an IPv4 default route (main table). */
int lxm_route_has_default(struct nl_sock *sk, bool *out, struct lxm_error *err);
/* Every IPv4 destination the host has a route or an address for, except
 * the default route: what a new subnet must not collide with. */
int lxm_route_prefixes(struct nl_sock *sk, struct lxm_cidr **out, int *n, struct lxm_error *err);

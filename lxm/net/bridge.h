/* bridge: a managed bridge as a whole: the bridge with its IPv4 address
 * (configured, kept, or a free /24 picked and recorded in DIR/NAME/ipv4),
 * its IPv6 ULA /64 (lxm/net/ipv6.h, recorded in DIR/NAME/ipv6), forwarding and
 * NAT (NAT66 too), and dnsmasq for DHCP/DNS and router advertisements. Knows nothing of
 * containers: "in use" means the bridge has ports. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "lxm/net/addr.h"
#include "lxm/net/ipv6.h"
#include "util/err.h"

struct lxm_bridge_cfg {
    const char *name;
    const char *ipv4; /* "A.B.C.D/N" of the bridge, NULL = keep or pick */
    const char *ipv6; /* "ADDR/64" of the bridge, "none", NULL = keep or generate */
    bool nat;
    bool dhcp;
    const char *dir;    /* state directory (run/net) */
    const char *domain; /* DNS domain served by dnsmasq */
    char *const *upstream; /* NULL = host's resolvers, empty = none (dnsmasq.h) */
};

struct lxm_bridge_status {
    bool exists;
    bool up;
    bool has_addr;
    struct lxm_cidr addr;
    bool nat;
    bool has_addr6;
    struct lxm_cidr6 addr6;
    bool nat6;
    pid_t dnsmasq; /* 0 = not running */
    char **ports;  /* interfaces enslaved to it */
};

/* Validate the cfg (name, address) without touching anything. */
int lxm_bridge_check(const struct lxm_bridge_cfg *c, struct lxm_error *err);
/* The address the bridge has or will get at up (picking and recording a
 * free subnet if need be), without touching the host. */
int lxm_bridge_address(const struct lxm_bridge_cfg *c, struct lxm_cidr *out, struct lxm_error *err);
/* The same for IPv6: *on false when the bridge has none (ipv6: none, or
 * no IPv6 in the kernel). */
int lxm_bridge_address6(const struct lxm_bridge_cfg *c, struct lxm_cidr6 *out, bool *on,
                        struct lxm_error *err);
/* Bring everything up; idempotent and quick when all is in place. */
int lxm_bridge_up(const struct lxm_bridge_cfg *c, struct lxm_cidr *addr, struct lxm_error *err);
/* Remove bridge, NAT table and dnsmasq: 1 if the bridge was there, 0 if
 * not. -EBUSY while it has ports, unless force. */
int lxm_bridge_down(const struct lxm_bridge_cfg *c, bool force, struct lxm_error *err);
int lxm_bridge_status(const struct lxm_bridge_cfg *c, struct lxm_bridge_status *out,
                      struct lxm_error *err);
void lxm_bridge_status_free(struct lxm_bridge_status *s);
/* Pick a /24 in 10.77-254.0.0 free of every host route and address. */
int lxm_bridge_pick_subnet(struct nl_sock *sk, struct lxm_cidr *out, struct lxm_error *err);

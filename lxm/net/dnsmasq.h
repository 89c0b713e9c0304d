/* dnsmasq: one supervised dnsmasq per bridge giving DHCP leases and DNS
 * (NAME and NAME.DOMAIN, A and AAAA) on that bridge only, and, with an
 * IPv6 prefix, router advertisements (SLAAC) and stateless DHCPv6. Its files live in
 * DIR/BRIDGE/ (pid, leases, log, dhcp-hosts/, hosts/); the pid file plus a
 * check of /proc/PID identifies our instance. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lxm/net/ipv6.h"
#include "util/err.h"

struct lxm_dnsmasq_cfg {
    const char *dir; /* state directory (run/net) */
    const char *bridge;
    uint32_t address; /* the bridge's address (host order) */
    int prefix;
    const char *domain; /* "lxm" */
    /* Where names outside domain go: NULL = the servers in resolv_file
     * (read and re-read by dnsmasq itself); else these servers
     * ("ADDR" or "ADDR#PORT"), an empty list meaning nowhere. */
    char *const *upstream;
    const char *resolv_file; /* NULL = lxm_dnsmasq_resolv_file(NULL, NULL) */
    const struct lxm_cidr6 *ipv6; /* the bridge's /64 address; NULL = IPv4 only */
    bool ra_route; /* advertise the bridge as IPv6 default router (NAT66 on) */
};

/* The file holding the host's resolvers: etc (default /etc/resolv.conf),
 * or resolved (default /run/systemd/resolve/resolv.conf) when etc names
 * only systemd-resolved's local stub (127.0.0.53/54): then dnsmasq
 * talks to the servers the stub itself uses. */
const char *lxm_dnsmasq_resolv_file(const char *etc, const char *resolved);

/* Refuse settings dnsmasq cannot work with (an upstream that is the
 * bridge's own address), touching nothing. ensure checks too. */
int lxm_dnsmasq_check(const struct lxm_dnsmasq_cfg *c, struct lxm_error *err);
/* Start dnsmasq unless our instance is alive with these settings (one
 * started with others is replaced); *pid (may be NULL) gets it. */
int lxm_dnsmasq_ensure(const struct lxm_dnsmasq_cfg *c, pid_t *pid, struct lxm_error *err);
/* PID of our live instance for bridge, or 0. */
pid_t lxm_dnsmasq_pid(const char *dir, const char *bridge);
/* Stop it (SIGTERM, then SIGKILL after 2 s); not running is success. */
int lxm_dnsmasq_stop(const char *dir, const char *bridge, struct lxm_error *err);

/* Record a host: mac (DHCP reservation and name) with ip (0 = dynamic).
 * key names the entry (one per key, replaced). A static ip is also put
 * in DNS, and so is ip6 (its SLAAC address; NULL = none) as AAAA. dnsmasq
 * is told (SIGHUP) when an entry changes. */
int lxm_dnsmasq_set_host(const char *dir, const char *bridge, const char *key, const char *mac,
                         const char *name, uint32_t ip, const struct in6_addr *ip6,
                         struct lxm_error *err);
int lxm_dnsmasq_remove_host(const char *dir, const char *bridge, const char *key,
                            struct lxm_error *err);

struct lxm_lease {
    int64_t expires; /* unix seconds, 0 = infinite */
    char mac[18];
    char ip[16];
    char hostname[64]; /* "*" if none */
};
/* Current leases; *out malloc'd (NULL when none). */
int lxm_dnsmasq_leases(const char *dir, const char *bridge, struct lxm_lease **out, int *n,
                       struct lxm_error *err);

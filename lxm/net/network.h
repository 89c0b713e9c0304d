/* network: a container's interfaces, built from its config on top of the
 * container-agnostic netlink layer in net/. The runtime calls prepare
 * before clone (host side), attach once the child's netns exists, and
 * cleanup on stop and on every failed start. */
#pragma once

/* Bridge state below the run dir: "RUN/.net/BRIDGE". No container name
 * starts with a dot, so no container's run dir can be it. */
#define LXM_NET_RUN_DIR ".net"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "util/err.h"

struct lxm_paths;
struct lxm_network;

/* Validate the config's interfaces against the host (bridge, parent,
 * addresses), bring the managed bridge up if an interface needs it, and
 * plan host-side names. On success *out is always an object (also with no
 * interfaces). Nothing is created for a config that fails validation. */
int lxm_network_prepare(const struct lxm_paths *paths, const struct lxm_config *cfg,
                        struct lxm_network **out, struct lxm_error *err);
/* Create the interfaces with their final names directly in the netns of
 * pid (still waiting to exec init), address them and bring them up.
 * Loopback is init's own to raise (lxm_link_lo_up). */
int lxm_network_attach(struct lxm_network *n, pid_t pid, struct lxm_error *err);
/* Remove host-side interfaces; safe to call twice and on a crashed start. */
void lxm_network_cleanup(struct lxm_network *n);
void lxm_network_free(struct lxm_network *n);
/* The object lxm_network_prepare made for a container that runs, from its
 * config, for lxm_network_cleanup (a monitor that exec'd itself again has
 * only its config); creates and checks nothing. 0 or -errno. */
int lxm_network_of_running(const struct lxm_paths *paths, const struct lxm_config *cfg,
                           struct lxm_network **out);
/* The MAC of interface nif of container (hwaddr, or a stable one). */
void lxm_network_mac(const char *container, const struct lxm_netif *nif, uint8_t mac[6]);
/* Host-side leftovers of a container (after a monitor crash), its port
 * forwards included. */
void lxm_network_cleanup_by_name(const struct lxm_paths *paths, const struct lxm_config *cfg);
/* Readiness: a container with an interface addressed by the managed
 * bridge's DHCP is ready only once the guest holds its lease. */
bool lxm_network_wants_lease(const struct lxm_network *n);
/* *leased: every such interface inside the netns of pid has an IPv4
 * address, and the netns has a default route (dnsmasq always offers one). */
int lxm_network_leased(const struct lxm_network *n, pid_t pid, bool *leased,
                       struct lxm_error *err);
/* A non-blocking rtnetlink socket in the netns of pid, subscribed to its
 * IPv4 address and route changes: readable when a lease may have come. */
int lxm_network_watch_fd(pid_t pid, struct lxm_error *err);

/* Whether another container of this root (not self) claims the IPv4
 * address addr (host order) as a static ipv4 in its config; *owner (if
 * owner is not NULL) gets its name, malloc'd. */
bool lxm_network_ipv4_claimed(const struct lxm_paths *paths, const char *self, uint32_t addr,
                              char **owner);

/* IPv4 addresses (CIDR strings) inside the netns of pid, except loopback. */
int lxm_network_ipv4(pid_t pid, char ***out, struct lxm_error *err);
/* IPv6 addresses inside the netns of pid, except loopback and link-local. */
int lxm_network_ipv6(pid_t pid, char ***out, struct lxm_error *err);

/* Byte counters of each interface inside the netns of pid, except
 * loopback (for `lxm info`). *out is a malloc'd array of *n entries. */
struct lxm_netif_stats {
    char name[16];
    uint64_t rx_bytes;
    uint64_t tx_bytes;
};
int lxm_network_stats(pid_t pid, struct lxm_netif_stats **out, int *n, struct lxm_error *err);

/* The managed bridge of the global config, for `lxm net` and the
 * implicit `net up` of prepare. *dir (the state directory run/net) must
 * be freed; out points into g and *dir. -ENOMEM only. */
struct lxm_bridge_cfg;
int lxm_network_bridge_cfg(const struct lxm_paths *paths, const struct lxm_global *g,
                           struct lxm_bridge_cfg *out, char **dir);

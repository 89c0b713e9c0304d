/* network-ports: a container's `ports:` as forwards in lxm/net/portfwd.c,
 * towards its first veth interface: its static ipv4, or on the managed
 * bridge with DHCP an address dnsmasq is told to keep for it (the lease
 * it has, else a free one), so the target is known before it boots.
 * Applied by lxm_network_prepare, removed by lxm_network_cleanup (and the
 * stale cleanup), changed live by `config set/unset/edit`. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "lxm/net/portfwd.h"
#include "util/err.h"

struct lxm_paths;
struct lxm_container;
struct lxm_bridge_cfg;
struct lxm_ports;

/* Plan cfg's forwards (nothing touched but the choice of an address);
 * pid: the running container (its current address is kept), 0 at start.
 * *out NULL when cfg has no ports. *reserve: the address to reserve in
 * dnsmasq for the interface *ifname (0 = none). */
int lxm_ports_plan(const struct lxm_paths *paths, const struct lxm_config *cfg,
                   const struct lxm_bridge_cfg *b, pid_t pid, struct lxm_ports **out,
                   uint32_t *reserve, const char **ifname, struct lxm_error *err);
/* Refuse what apply would refuse (a port held by another running
 * container or a host process) before anything is changed. */
int lxm_ports_check(const struct lxm_ports *p, struct lxm_error *err);
int lxm_ports_apply(const struct lxm_ports *p, struct lxm_error *err);
void lxm_ports_free(struct lxm_ports *p);
/* The owner key of a container (its host-wide id: NAME + --root tag). */
char *lxm_ports_key(const struct lxm_paths *paths, const char *name);
/* Remove the forwards of the container name (quietly: a warning). */
void lxm_ports_clear(const struct lxm_paths *paths, const char *name);
/* config set/unset/edit with c locked: give a running c the ports of
 * eff (its effective new config); stopped: 0, nothing done. */
int lxm_ports_change(struct lxm_container *c, const struct lxm_config *eff, struct lxm_error *err);
/* The forwards in place for container name (NULL = all of this host). */
int lxm_ports_list(const struct lxm_paths *paths, const char *name, struct lxm_portfwd_entry **out,
                   int *n, struct lxm_error *err);
/* Leftovers (leftovers.c): containers of this root with forwards in place
 * that are gone or not running (a killed monitor); cheap (no libnftables)
 * when the host has no forwards at all. */
int lxm_ports_stale(const struct lxm_paths *paths, char ***out, struct lxm_error *err);
/* Remove them, under the container's lock, if still not running. */
int lxm_ports_remove_stale(const struct lxm_paths *paths, const char *name, struct lxm_error *err);

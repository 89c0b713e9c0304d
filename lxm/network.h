/* network: a container's interfaces, built from its config on top of the
 * container-agnostic netlink layer in net/. The runtime calls prepare
 * before clone (host side), attach once the child's netns exists, and
 * cleanup on stop and on every failed start. */
#pragma once

#include <sys/types.h>

#include "config.h"
#include "util/err.h"

struct lxm_paths;
struct lxm_network;

int lxm_network_prepare(const struct lxm_paths *paths, const struct lxm_config *cfg,
                        struct lxm_network **out, struct lxm_error *err);
/* Move interfaces into the netns of pid (still waiting to exec init),
 * rename, address and bring them up; loopback up. */
int lxm_network_attach(struct lxm_network *n, pid_t pid, struct lxm_error *err);
/* Remove host-side interfaces; safe to call twice and on a crashed start. */
void lxm_network_cleanup(struct lxm_network *n);
void lxm_network_free(struct lxm_network *n);
/* Host-side leftovers of a container (after a monitor crash). */
void lxm_network_cleanup_by_name(const struct lxm_config *cfg);
/* IPv4 addresses (CIDR strings) inside the netns of pid, except loopback. */
int lxm_network_ipv4(pid_t pid, char ***out, struct lxm_error *err);

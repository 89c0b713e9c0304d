/* link: network interfaces through rtnetlink (libnl-route-3): bridges,
 * veth pairs, macvlans; up/down, master, MTU, MAC, rename, netns moves,
 * delete, list with byte counters. Names are kernel interface names. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

struct nl_sock;

#define LXM_MAC_LEN 6

/* Valid kernel interface name: 1..15 chars, no '/', ':' or whitespace. */
int lxm_ifname_validate(const char *name, struct lxm_error *err);
/* "aa:bb:cc:dd:ee:ff" -> bytes; -EINVAL if malformed. */
int lxm_mac_parse(const char *s, uint8_t mac[LXM_MAC_LEN]);
void lxm_mac_format(const uint8_t mac[LXM_MAC_LEN], char out[18]);

struct lxm_link_info {
    char name[IF_NAMESIZE];
    char kind[16]; /* "veth", "bridge", "macvlan", "" */
    int ifindex;
    int master; /* ifindex of the bridge, 0 = none */
    bool up;
    bool peer_netns; /* veth whose peer lives in another netns */
    unsigned mtu;
    uint64_t rx_bytes;
    uint64_t tx_bytes;
};

/* ifindex of name, or -ENODEV. */
int lxm_link_ifindex(struct nl_sock *sk, const char *name);
/* -ENODEV (err set) if there is no such interface. */
int lxm_link_get(struct nl_sock *sk, const char *name, struct lxm_link_info *out,
                 struct lxm_error *err);
/* Every interface of the socket's netns; *out is malloc'd. */
int lxm_link_list(struct nl_sock *sk, struct lxm_link_info **out, int *n, struct lxm_error *err);

int lxm_link_bridge_create(struct nl_sock *sk, const char *name, struct lxm_error *err);

struct lxm_veth_spec {
    const char *name; /* end in the socket's netns */
    const char *peer_name;
    int peer_netns_fd;       /* -1 = peer stays in the socket's netns */
    const uint8_t *peer_mac; /* NULL = random */
    unsigned mtu;            /* 0 = default, applies to both ends */
    const char *master;      /* bridge for the near end, NULL = none */
};
/* Both ends are created by one request, the peer directly in its netns,
 * so a failure leaves nothing half-made. */
int lxm_link_veth_create(struct nl_sock *sk, const struct lxm_veth_spec *s, struct lxm_error *err);

struct lxm_macvlan_spec {
    const char *name;
    const char *parent; /* in the socket's netns */
    int netns_fd;       /* -1 = the socket's netns */
    const uint8_t *mac; /* NULL = random */
    unsigned mtu;       /* 0 = parent's */
};
/* Mode bridge. */
int lxm_link_macvlan_create(struct nl_sock *sk, const struct lxm_macvlan_spec *s,
                            struct lxm_error *err);

int lxm_link_set_up(struct nl_sock *sk, const char *name, bool up, struct lxm_error *err);
/* Raise lo in the caller's own network namespace: two ioctls on a socket,
 * no netlink. For a container's init, which owns its namespace from the
 * clone on and does this while the monitor works on the host side. */
int lxm_link_lo_up(struct lxm_error *err);
int lxm_link_set_master(struct nl_sock *sk, const char *name, const char *master,
                        struct lxm_error *err);
int lxm_link_set_mtu(struct nl_sock *sk, const char *name, unsigned mtu, struct lxm_error *err);
int lxm_link_set_mac(struct nl_sock *sk, const char *name, const uint8_t mac[LXM_MAC_LEN],
                     struct lxm_error *err);
int lxm_link_rename(struct nl_sock *sk, const char *name, const char *new_name,
                    struct lxm_error *err);
/* Move into another netns, by fd (pid 0) or by pid (fd -1). */
int lxm_link_move(struct nl_sock *sk, const char *name, int netns_fd, pid_t pid,
                  struct lxm_error *err);
/* -ENODEV (err set) if missing. */
int lxm_link_delete(struct nl_sock *sk, const char *name, struct lxm_error *err);

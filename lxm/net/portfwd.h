/* portfwd: port forwards (DNAT) from host addresses to addresses behind a
 * bridge, in nftables tables of lxm's own shared by every lxm root on the
 * host (a host port is host-wide): `ip lxm_port-forwards` for IPv4 and
 * `ip6 lxm_port-forwards` for IPv6 (made only when an IPv6 forward is
 * set), changed together in one transaction. Each owner (a running
 * container) has its own chains in the table of each family it forwards,
 * named by its key:
 *   p-KEY  nat prerouting: traffic from outside and from other containers
 *   o-KEY  nat output: the host's own connections (to 127.0.0.1 as well)
 *   s-KEY  nat postrouting: masquerade of what would not find its way back
 *          (hairpin from the bridge's subnet, the host's 127.0.0.0/8)
 *   f-KEY  filter forward: accept the forwarded connections
 * and each bridge with forwards one guard chain g-BRIDGE (ip only) that
 * drops packets from the bridge to 127.0.0.0/8: forwards from the host's
 * loopback need net.ipv4.conf.BRIDGE.route_localnet=1, which portfwd sets
 * while the bridge has forwards and puts back (the old value is kept in
 * the guard chain's comment) when the last one goes. IPv6 has no
 * route_localnet: the host's ::1 is never forwarded (the rules leave it
 * out, so a connection to it is refused at once instead of hanging).
 * Knows nothing of containers: owners are a key and a label. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "lxm/net/addr.h"
#include "lxm/net/ipv6.h"
#include "util/err.h"

#define LXM_PORTFWD_TABLE "lxm_port-forwards"

enum { LXM_PORTFWD_TCP, LXM_PORTFWD_UDP };

struct lxm_portfwd {
    int proto;                /* LXM_PORTFWD_TCP | LXM_PORTFWD_UDP */
    int family;               /* AF_INET6, else IPv4 */
    uint32_t listen;          /* IPv4 host address (host order); 0 = every address of the host */
    uint32_t target;          /* IPv4 address behind the bridge (host order) */
    struct in6_addr listen6;  /* IPv6 host address; :: = every one but ::1 */
    struct in6_addr target6;  /* IPv6 address behind the bridge */
    uint16_t host_port;
    uint16_t target_port;
};

struct lxm_portfwd_owner {
    const char *key;        /* [a-z0-9-], unique host-wide (a container's id) */
    const char *label;      /* for people: the container's name */
    const char *bridge;     /* where target lives */
    struct lxm_cidr subnet; /* the bridge's subnet */
    struct lxm_cidr6 subnet6; /* its IPv6 /64 (prefix 0: none, no IPv6 forwards) */
};

/* One forward of one owner, as found in the table. */
struct lxm_portfwd_entry {
    char key[96];
    char label[64];
    char bridge[16];
    struct lxm_portfwd f;
};

const char *lxm_portfwd_proto_name(int proto);
/* The listen (target false) or target address alone: "0.0.0.0", "fd00::5". */
void lxm_portfwd_addr(const struct lxm_portfwd *f, bool target, char out[INET6_ADDRSTRLEN]);
/* "tcp 0.0.0.0:8080 -> 10.77.0.5:80", "tcp [::]:8080 -> [fd00::5]:80" */
void lxm_portfwd_format(const struct lxm_portfwd *f, char *buf, size_t len);
/* Replace the owner's forwards by these n (n = 0: remove them), of both
 * families, in one transaction. A host port (proto, address) another owner holds is
 * refused (-EADDRINUSE, naming it) and nothing changes. */
int lxm_portfwd_set(const struct lxm_portfwd_owner *o, const struct lxm_portfwd *f, int n,
                    struct lxm_error *err);
/* What set would refuse, checked without changing anything (set checks
 * again). */
int lxm_portfwd_check(const struct lxm_portfwd_owner *o, const struct lxm_portfwd *f, int n,
                      struct lxm_error *err);
/* Whether key has forwards in place (over nfnetlink, without libnftables). */
int lxm_portfwd_present(const char *key, bool *out, struct lxm_error *err);
/* Which tables hold key's chains: LXM_PORTFWD_IN_IP and/or LXM_PORTFWD_IN_IP6
 * in *out (a GETCHAIN over nfnetlink each). */
#define LXM_PORTFWD_IN_IP 1u
#define LXM_PORTFWD_IN_IP6 2u
int lxm_portfwd_tables(const char *key, unsigned *out, struct lxm_error *err);
/* Remove key's forwards; none is success (and cheap: no libnftables). */
int lxm_portfwd_clear(const char *key, struct lxm_error *err);
/* Every forward in the table (*out NULL when none); key limits it to one
 * owner (NULL = all). */
int lxm_portfwd_list(const char *key, struct lxm_portfwd_entry **out, int *n,
                     struct lxm_error *err);

/* nat: IPv4 forwarding, and NAT (IPv4) and NAT66 (IPv6) for a bridge's
 * subnets through nftables (libnftables): one table of lxm's own per bridge
 * and family (ip lxm_BRIDGE, ip6 lxm_BRIDGE) holding a postrouting
 * masquerade and forward accepts; removing it removes all. */
#pragma once

#include <stdbool.h>

#include "util/err.h"

/* The table name for bridge ("lxm_" + name, non [A-Za-z0-9_] as '_'). */
void lxm_nat_table_name(const char *bridge, char out[32]);
enum lxm_nat_family { LXM_NAT_IPV4, LXM_NAT_IPV6 };
/* Create or replace (atomically) the table of family fam for bridge and
 * subnet ("10.77.0.0/24", "fd..::/64"). */
int lxm_nat_enable(enum lxm_nat_family fam, const char *bridge, const char *subnet,
                   struct lxm_error *err);
/* Delete the table; a missing table is success. */
int lxm_nat_disable(enum lxm_nat_family fam, const char *bridge, struct lxm_error *err);
int lxm_nat_present(enum lxm_nat_family fam, const char *bridge, bool *out,
                    struct lxm_error *err);
/* Does nftables table family/name exist (family: NFPROTO_IPV4, _IPV6,
 * _INET...)? Asked over nfnetlink, without loading libnftables. */
int lxm_nft_table_present(int family, const char *name, bool *out, struct lxm_error *err);
/* The same for a chain of a table (chain NULL: the table itself). */
int lxm_nft_exists(int family, const char *table, const char *chain, bool *out,
                   struct lxm_error *err);
/* The names of the chains of table family/name (an empty list when there
 * is no such table, or no nf_tables), from one raw nfnetlink dump
 * (nft-chains.c): cheap enough for every start, unlike libnftables. */
int lxm_nft_chains(int family, const char *table, char ***out, struct lxm_error *err);
/* Run an nft script through libnftables; *output (may be NULL) gets what
 * it printed. On failure err holds nft's first error line ("WHAT:
 * nftables: ..."). */
int lxm_nft_run(const char *script, char **output, struct lxm_error *err, const char *what);
/* The same in a context kept for several scripts (libnftables costs tens
 * of ms per new context): lxm_nft_ctx (NULL with err set on failure), then
 * lxm_nft_run_in; *missing (may be NULL) set, and no error, when nft said
 * a table or chain is not there. */
struct nft_ctx;
struct nft_ctx *lxm_nft_ctx(const char *what, struct lxm_error *err);
void lxm_nft_ctx_free(struct nft_ctx **c); /* for __attribute__((cleanup)) */
int lxm_nft_run_in(struct nft_ctx *ctx, const char *script, char **output, bool *missing,
                   struct lxm_error *err, const char *what);
/* net.ipv4.ip_forward = 1 in the caller's netns. */
int lxm_ip_forward_enable(struct lxm_error *err);

/* traps: what on the host silently drops the traffic of a managed bridge,
 * found without changing anything: a forward-hook chain of another
 * nftables table (Docker, ufw, firewalld, iptables-nft) or of
 * iptables-legacy with policy drop or a drop rule for the bridge,
 * IPv4/IPv6 forwarding switched off by someone else, and the DHCP/DNS
 * ports on the bridge held by another process. lxm never rewrites other
 * tables: each finding comes with the command that fixes it. */
#pragma once

#include "lxm/net/bridge.h"
#include "util/err.h"

/* One line per trap, "WHAT; fix: COMMAND", in *out (a strv, empty when
 * nothing was found). Checks that cannot run (no libnftables, no
 * permission) are skipped: -errno only for ENOMEM. */
int lxm_net_traps(const struct lxm_bridge_cfg *c, char ***out, struct lxm_error *err);

/* The nftables part on the text of `nft list ruleset` (for tests):
 * appends to *out. Tables named lxm_* are lxm's own and skipped. */
int lxm_traps_nft_text(const char *ruleset, const char *bridge, char ***out);

/* doctor: what `lxm doctor` checks on this host (root, cgroup layout,
 * user namespaces and root's subordinate ids, idmapped mounts on the
 * store, overlayfs, seccomp, AppArmor, the per-user sysctls that cap
 * density, nftables, dnsmasq, the managed bridge, lxcfs, free space), each
 * OK, WARN or FAIL with the fix, and the leftovers of killed commands
 * (leftovers.h). docs/doctor.md explains each. Quiet: cmd_doctor.c
 * prints. */
#pragma once

#include <stddef.h>

#include "config/container.h"
#include "util/err.h"

enum lxm_doctor_status { LXM_DOCTOR_OK, LXM_DOCTOR_WARN, LXM_DOCTOR_FAIL };

struct lxm_doctor_check {
    const char *name;          /* "cgroups", "userns", ... */
    enum lxm_doctor_status status;
    char *detail;              /* what was found */
    char *fix;                 /* what to do; NULL when OK */
};

const char *lxm_doctor_status_name(enum lxm_doctor_status s);

/* Run every host check; *out has *n entries, in a fixed order. */
int lxm_doctor_run(const struct lxm_paths *paths, struct lxm_doctor_check **out, size_t *n,
                   struct lxm_error *err);
void lxm_doctor_free(struct lxm_doctor_check *v, size_t n);

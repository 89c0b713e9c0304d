/* caps: the capability sets (bounding, ambient, inheritable, permitted,
 * effective) of init and attached processes, from the policy; plus the
 * no_new_privs bit and the "unconfined" warning, which belong with them. */
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "security/security.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

static void cap_freep(cap_t *c)
{
    if (*c)
        cap_free(*c);
}
#define _cleanup_cap_ _cleanup_(cap_freep)

/* The highest capability this kernel knows; libcap may know newer ones. */
static int last_cap(void)
{
    int last = (int)cap_max_bits() - 1;
    return last < 63 ? last : 63;
}

int lxm_cap_from_name(const char *name, int *cap, struct lxm_error *err)
{
    cap_value_t v;

    if (!name || !*name)
        return lxm_error_set(err, EINVAL, "capabilities: empty capability name");
    /* cap_from_name also takes numbers and "cap_" names; the policy
     * language is lowercase names without the prefix only. */
    bool plain = strncmp(name, "cap_", 4) != 0;
    for (const char *s = name; *s && plain; s++)
        if (!((*s >= 'a' && *s <= 'z') || *s == '_' || (*s >= '0' && *s <= '9' && s != name)))
            plain = false;
    _cleanup_free_ char *full = xasprintf("cap_%s", name);
    if (!plain || !full || cap_from_name(full, &v) < 0)
        return lxm_error_set(err, EINVAL,
                             "capabilities: unknown capability '%s' (lowercase names without "
                             "cap_, e.g. sys_module, net_admin)",
                             name);
    *cap = v;
    return 0;
}

/* Bit set of the capabilities to remove: caps_drop, or the complement of
 * caps_keep when the policy lists what to keep. */
static int caps_to_drop(const struct lxm_policy *p, uint64_t *drop, struct lxm_error *err)
{
    uint64_t keep = 0;
    int cap, r;

    *drop = 0;
    for (char **n = p->caps_drop; n && *n; n++) {
        if ((r = lxm_cap_from_name(*n, &cap, err)) < 0)
            return r;
        if (cap < 64)
            *drop |= UINT64_C(1) << cap;
    }
    if (!p->caps_keep)
        return 0;
    for (char **n = p->caps_keep; *n; n++) {
        if ((r = lxm_cap_from_name(*n, &cap, err)) < 0)
            return r;
        if (cap < 64)
            keep |= UINT64_C(1) << cap;
    }
    for (cap = 0; cap <= last_cap(); cap++)
        if (!(keep & (UINT64_C(1) << cap)))
            *drop |= UINT64_C(1) << cap;
    return 0;
}

int lxm_caps_validate(const struct lxm_policy *p, struct lxm_error *err)
{
    uint64_t drop;
    return caps_to_drop(p, &drop, err);
}

static int drop_bounding(uint64_t drop, struct lxm_error *err)
{
    for (int cap = 0; cap <= last_cap(); cap++) {
        if (!(drop & (UINT64_C(1) << cap)))
            continue;
        int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
        if (in <= 0)
            continue; /* already gone, or unknown to this kernel */
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            int e = errno;
            char *name = cap_to_name(cap);
            lxm_error_errno(err, e, "capabilities: drop %s from the bounding set",
                            name ? name : "?");
            cap_free(name);
            return -e;
        }
    }
    return 0;
}

/* Remove the dropped capabilities from the process's own sets too, so a
 * process that does not exec (or execs a file with capabilities) holds
 * exactly what init holds after its exec. */
static int drop_process_sets(uint64_t drop, struct lxm_error *err)
{
    _cleanup_cap_ cap_t caps = cap_get_proc();
    cap_value_t list[64];
    int n = 0;

    if (!caps)
        return lxm_error_errno(err, errno, "capabilities: read the process's capabilities");
    for (int cap = 0; cap <= last_cap(); cap++)
        if (drop & (UINT64_C(1) << cap))
            list[n++] = cap;
    if (n == 0)
        return 0;
    if (cap_set_flag(caps, CAP_EFFECTIVE, n, list, CAP_CLEAR) < 0 ||
        cap_set_flag(caps, CAP_PERMITTED, n, list, CAP_CLEAR) < 0 ||
        cap_set_flag(caps, CAP_INHERITABLE, n, list, CAP_CLEAR) < 0)
        return lxm_error_errno(err, errno, "capabilities: build the capability set");
    if (cap_set_proc(caps) < 0)
        return lxm_error_errno(err, errno, "capabilities: set the process's capabilities");
    return 0;
}

int lxm_caps_apply(const struct lxm_policy *p, struct lxm_error *err)
{
    uint64_t drop;
    int r;

    if ((r = caps_to_drop(p, &drop, err)) < 0)
        return r;
    /* Ambient caps would survive exec of an unprivileged program. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return lxm_error_errno(err, errno, "capabilities: clear the ambient set");
    /* The bounding set first: dropping it needs CAP_SETPCAP, which the
     * second step may remove. */
    if ((r = drop_bounding(drop, err)) < 0)
        return r;
    return drop_process_sets(drop, err);
}

int lxm_security_apply_nnp(const struct lxm_policy *p, struct lxm_error *err)
{
    if (!p->no_new_privs)
        return 0;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return lxm_error_errno(err, errno, "no_new_privs: prctl(PR_SET_NO_NEW_PRIVS)");
    return 0;
}

bool lxm_security_seccomp_allows_all(const struct lxm_policy *p)
{
    if (!p->seccomp_default)
        return true;
    if (strcmp(p->seccomp_default, "allow") != 0)
        return false;
    for (int i = 0; i < p->n_seccomp_rules; i++)
        if (strcmp(p->seccomp_rules[i].action, "allow") != 0 && p->seccomp_rules[i].syscalls &&
            p->seccomp_rules[i].syscalls[0])
            return false;
    return true;
}

bool lxm_security_is_unconfined(const struct lxm_policy *p)
{
    bool no_caps = strv_length(p->caps_drop) == 0 && !p->caps_keep;
    bool no_lsm = p->apparmor_profile && strcmp(p->apparmor_profile, "unconfined") == 0;
    return no_caps && no_lsm && lxm_security_seccomp_allows_all(p);
}

void lxm_security_warn_unconfined(const char *container)
{
    lxm_warn("*** %s runs UNCONFINED: no capability drop, no seccomp filter, no AppArmor. "
             "Root in this container is root on the host. Use only for debugging. ***",
             container);
}

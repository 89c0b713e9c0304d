/* seccomp: compile the policy's filter once per start, for every ABI the
 * host can run (a 32-bit syscall must not bypass a 64-bit filter), export
 * it as a classic BPF program, and load that program in the child with one
 * syscall (no allocation after fork). */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "security/security.h"
#include "util/cleanup.h"
#include "util/strv.h"

struct lxm_seccomp {
    struct sock_filter *insns;
    size_t n_insns;
};

static void seccomp_ctxp(scmp_filter_ctx *c)
{
    if (*c)
        seccomp_release(*c);
}
#define _cleanup_seccomp_ _cleanup_(seccomp_ctxp)

static int parse_errno(const char *s, int *out)
{
    char *end;

    if (*s >= '0' && *s <= '9') {
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || *end || v < 0 || v > 4095)
            return -EINVAL;
        *out = (int)v;
        return 0;
    }
    for (int e = 1; e < 4096; e++) {
        const char *name = strerrorname_np(e);
        if (name && strcmp(name, s) == 0) {
            *out = e;
            return 0;
        }
    }
    return -EINVAL;
}

int lxm_seccomp_parse_action(const char *s, uint32_t *action, struct lxm_error *err)
{
    int e;

    if (!s)
        return lxm_error_set(err, EINVAL, "seccomp: missing action");
    if (strcmp(s, "allow") == 0)
        *action = SCMP_ACT_ALLOW;
    else if (strcmp(s, "kill") == 0 || strcmp(s, "kill_process") == 0)
        *action = SCMP_ACT_KILL_PROCESS;
    else if (strcmp(s, "kill_thread") == 0)
        *action = SCMP_ACT_KILL_THREAD;
    else if (strcmp(s, "log") == 0)
        *action = SCMP_ACT_LOG;
    else if (strcmp(s, "trap") == 0)
        *action = SCMP_ACT_TRAP;
    else if (strncmp(s, "errno ", 6) == 0 && parse_errno(s + 6 + strspn(s + 6, " "), &e) == 0)
        *action = SCMP_ACT_ERRNO(e);
    else
        return lxm_error_set(err, EINVAL,
                             "seccomp: unknown action '%s' (allow, kill, kill_thread, log, trap, "
                             "errno NAME, errno N)",
                             s);
    return 0;
}

/* The ABIs of the host: the native one plus every compat ABI its kernel
 * may accept. Unknown to libseccomp's build = not runnable here either. */
static int add_arches(scmp_filter_ctx ctx, struct lxm_error *err)
{
    static const uint32_t amd64[] = {SCMP_ARCH_X86_64, SCMP_ARCH_X32, SCMP_ARCH_X86};
    static const uint32_t arm64[] = {SCMP_ARCH_AARCH64, SCMP_ARCH_ARM};
    const uint32_t *list = NULL;
    size_t n = 0;

    switch (seccomp_arch_native()) {
    case SCMP_ARCH_X86_64: list = amd64, n = ARRAY_SIZE(amd64); break;
    case SCMP_ARCH_AARCH64: list = arm64, n = ARRAY_SIZE(arm64); break;
    }
    for (size_t i = 0; i < n; i++) {
        int r = seccomp_arch_add(ctx, list[i]);
        if (r < 0 && r != -EEXIST)
            return lxm_error_errno(err, -r, "seccomp: add architecture 0x%x", list[i]);
    }
    return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t def, uint32_t action, const char *rule_action,
                    const char *name, struct lxm_error *err)
{
    int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, name);
    if (nr == __NR_SCMP_ERROR)
        return lxm_error_set(err, EINVAL, "seccomp: unknown syscall '%s' in rule '%s'", name,
                             rule_action);
    if (action == def)
        return 0; /* same as the default: nothing to add */
    int r = seccomp_rule_add(ctx, action, nr, 0);
    if (r == -EEXIST)
        return lxm_error_set(err, EEXIST, "seccomp: syscall '%s' appears in two rules", name);
    if (r < 0)
        return lxm_error_errno(err, -r, "seccomp: rule '%s' for %s", rule_action, name);
    return 0;
}

static int build_ctx(const struct lxm_policy *p, scmp_filter_ctx *out, struct lxm_error *err)
{
    uint32_t def, action;
    int r;

    if ((r = lxm_seccomp_parse_action(p->seccomp_default, &def, err)) < 0)
        return lxm_error_prefix(err, "default_action");
    _cleanup_seccomp_ scmp_filter_ctx ctx = seccomp_init(def);
    if (!ctx)
        return lxm_error_set(err, ENOMEM, "seccomp: cannot create a filter");
    /* no_new_privs is the policy's own decision, made in caps.c. */
    if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
        return lxm_error_errno(err, -r, "leave no_new_privs to the policy");
    /* A syscall of an ABI we did not add cannot be allowed blindly. */
    if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0)
        return lxm_error_errno(err, -r, "kill on a foreign architecture");
    if ((r = add_arches(ctx, err)) < 0)
        return r;
    /* Profiles are merged by concatenation: a later rule for a syscall
     * (e.g. nesting's "allow bpf") overrides an earlier one, so walk
     * backwards and keep the first action seen per syscall. */
    _cleanup_strv_free_ char **seen = NULL;
    for (int i = p->n_seccomp_rules - 1; i >= 0; i--) {
        const struct lxm_seccomp_rule *rule = &p->seccomp_rules[i];
        if ((r = lxm_seccomp_parse_action(rule->action, &action, err)) < 0)
            return r;
        for (char **s = rule->syscalls; s && *s; s++) {
            if (strv_contains(seen, *s))
                continue;
            if ((r = add_rule(ctx, def, action, rule->action, *s, err)) < 0)
                return r;
            if (strv_push(&seen, *s) < 0)
                return lxm_error_set(err, ENOMEM, "seccomp: out of memory");
        }
    }
    *out = TAKE_PTR(ctx);
    return 0;
}

/* libseccomp 2.5 exports to an fd only: a memfd, read back whole. */
static int export_bpf(scmp_filter_ctx ctx, struct lxm_seccomp *s, struct lxm_error *err)
{
    _cleanup_close_ int fd = memfd_create("lxm-seccomp", MFD_CLOEXEC);
    struct stat st;
    int r;

    if (fd < 0)
        return lxm_error_errno(err, errno, "seccomp: memfd_create");
    if ((r = seccomp_export_bpf(ctx, fd)) < 0)
        return lxm_error_errno(err, -r, "seccomp: export the filter");
    if (fstat(fd, &st) < 0)
        return lxm_error_errno(err, errno, "seccomp: stat the exported filter");
    if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
        st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
        return lxm_error_set(err, E2BIG, "seccomp: exported filter has a bad size (%lld bytes)",
                             (long long)st.st_size);
    s->insns = malloc(st.st_size);
    if (!s->insns)
        return lxm_error_set(err, ENOMEM, "seccomp: out of memory");
    s->n_insns = st.st_size / sizeof(struct sock_filter);
    if (pread(fd, s->insns, st.st_size, 0) != st.st_size)
        return lxm_error_errno(err, errno ? errno : EIO, "seccomp: read the exported filter");
    return 0;
}

int lxm_seccomp_compile(const struct lxm_policy *p, struct lxm_seccomp **out, struct lxm_error *err)
{
    _cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
    int r;

    *out = NULL;
    if (!p->seccomp_default)
        return 0; /* no filter */
    /* The filter is loaded after the capability drop: without sys_admin
     * the kernel accepts it only under no_new_privs. Say so now, not as
     * an EACCES from the child. */
    bool drops_admin = strv_contains(p->caps_drop, "sys_admin") ||
                       (p->caps_keep && !strv_contains(p->caps_keep, "sys_admin"));
    if (drops_admin && !p->no_new_privs && !lxm_security_seccomp_allows_all(p))
        return lxm_error_set(err, EINVAL, "seccomp: a filter without sys_admin needs "
                                          "no_new_privs: true (the kernel refuses it otherwise)");
    if ((r = build_ctx(p, &ctx, err)) < 0)
        return r; /* also checks every name of a no-op policy */
    if (lxm_security_seccomp_allows_all(p))
        return 0; /* default allow and no rule that does anything else */
    struct lxm_seccomp *s = calloc(1, sizeof(*s));
    if (!s)
        return lxm_error_set(err, ENOMEM, "seccomp: out of memory");
    if ((r = export_bpf(ctx, s, err)) < 0) {
        lxm_seccomp_free(s);
        return r;
    }
    *out = s;
    return 0;
}

const struct sock_filter *lxm_seccomp_program(const struct lxm_seccomp *s, size_t *n_insns)
{
    *n_insns = s ? s->n_insns : 0;
    return s ? s->insns : NULL;
}

struct lxm_seccomp *lxm_seccomp_from_program(const struct sock_filter *insns, size_t n_insns)
{
    struct lxm_seccomp *s = calloc(1, sizeof(*s));
    if (!s || !(s->insns = malloc(n_insns * sizeof(*insns)))) {
        free(s);
        return NULL;
    }
    memcpy(s->insns, insns, n_insns * sizeof(*insns));
    s->n_insns = n_insns;
    return s;
}

int lxm_seccomp_load(struct lxm_seccomp *s, struct lxm_error *err)
{
    if (!s)
        return 0;
    struct sock_fprog prog = {.len = (unsigned short)s->n_insns, .filter = s->insns};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
        return 0;
    if (errno == ENOSYS && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0)
        return 0;
    if (errno == EACCES)
        return lxm_error_errno(err, errno,
                               "seccomp: load the filter (needs no_new_privs or "
                               "CAP_SYS_ADMIN: the policy dropped sys_admin without no_new_privs)");
    return lxm_error_errno(err, errno, "seccomp: load the filter");
}

void lxm_seccomp_free(struct lxm_seccomp *s)
{
    if (!s)
        return;
    free(s->insns);
    free(s);
}

/* caps: name validation; applying a policy in a forked child (as root)
 * and reading back its sets from /proc/self/status; no_new_privs. */
#include <errno.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "security/security.h"
#include "tap.h"

static void test_names(void)
{
    struct lxm_error err = {0};
    int cap = -1;

    is_int(lxm_cap_from_name("sys_module", &cap, &err), 0, "sys_module is known");
    is_int(cap, CAP_SYS_MODULE, "sys_module -> CAP_SYS_MODULE");
    lxm_cap_from_name("net_admin", &cap, &err);
    is_int(cap, CAP_NET_ADMIN, "net_admin -> CAP_NET_ADMIN");
    lxm_cap_from_name("mac_override", &cap, &err);
    is_int(cap, CAP_MAC_OVERRIDE, "mac_override -> CAP_MAC_OVERRIDE");
    is_int(lxm_cap_from_name("sys_modul", &cap, &err), -EINVAL, "typo rejected");
    ok(strstr(err.msg, "'sys_modul'") != NULL, "error names it: %s", err.msg);
    is_int(lxm_cap_from_name("CAP_SYS_MODULE", &cap, &err), -EINVAL,
           "upper case with CAP_ rejected");
    is_int(lxm_cap_from_name("cap_sys_module", &cap, &err), -EINVAL, "cap_ prefix rejected");
    is_int(lxm_cap_from_name("16", &cap, &err), -EINVAL, "numbers rejected");
    is_int(lxm_cap_from_name("", &cap, &err), -EINVAL, "empty rejected");

    char *keep[] = {"chown", "bogus_cap", NULL};
    struct lxm_policy p = {0};
    p.caps_keep = keep;
    is_int(lxm_caps_validate(&p, &err), -EINVAL, "bad name in keep: policy rejected");
    ok(strstr(err.msg, "bogus_cap") != NULL, "and named: %s", err.msg);
}

static uint64_t status_mask(const char *field)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    uint64_t v = UINT64_MAX;
    size_t n = strlen(field);

    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = strtoull(line + n + 1, NULL, 16);
    if (f)
        fclose(f);
    return v;
}

#define BIT(c) (UINT64_C(1) << (c))

/* Exit code: bitmask of failed checks (64 = apply failed). */
static int drop_child(void)
{
    char *drop[] = {"sys_module", "sys_time", "mac_admin", NULL};
    struct lxm_policy p = {0};
    struct lxm_error err = {0};
    uint64_t before = status_mask("CapBnd");
    int bad = 0;

    p.caps_drop = drop;
    if (lxm_caps_apply(&p, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 64;
    }
    uint64_t bnd = status_mask("CapBnd"), eff = status_mask("CapEff");
    uint64_t prm = status_mask("CapPrm"), amb = status_mask("CapAmb");
    uint64_t gone = BIT(CAP_SYS_MODULE) | BIT(CAP_SYS_TIME) | BIT(CAP_MAC_ADMIN);
    if (bnd & gone)
        bad |= 1;
    if ((eff | prm) & gone)
        bad |= 2;
    if (amb != 0)
        bad |= 4;
    if ((before & BIT(CAP_SYS_BOOT)) && !(bnd & BIT(CAP_SYS_BOOT)))
        bad |= 8;
    if (bnd != (before & ~gone))
        bad |= 16;
    return bad;
}

static int keep_child(void)
{
    char *keep[] = {"chown", "kill", "setpcap", "sys_admin", NULL};
    struct lxm_policy p = {0};
    struct lxm_error err = {0};

    p.caps_keep = keep;
    if (lxm_caps_apply(&p, &err) < 0)
        return 64;
    uint64_t want = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_SETPCAP) | BIT(CAP_SYS_ADMIN);
    return (status_mask("CapBnd") == want ? 0 : 1) | (status_mask("CapEff") == want ? 0 : 2);
}

static int nnp_child(void)
{
    struct lxm_policy p = {0};
    struct lxm_error err = {0};

    if (status_mask("NoNewPrivs") != 0)
        return 1;
    if (lxm_security_apply_nnp(&p, &err) < 0 || status_mask("NoNewPrivs") != 0)
        return 2;
    p.no_new_privs = true;
    if (lxm_security_apply_nnp(&p, &err) < 0 || status_mask("NoNewPrivs") != 1)
        return 4;
    return 0;
}

static int run_child(int (*fn)(void))
{
    int status;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn());
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_apply(void)
{
    if (geteuid() != 0 || !(status_mask("CapEff") & BIT(CAP_SETPCAP))) {
        printf("ok %d - apply in a child # SKIP needs root with CAP_SETPCAP\n", ++tap_n);
        return;
    }
    int r = run_child(drop_child);
    ok(r != 64, "drop applies");
    ok(r < 64 && !(r & 1), "dropped caps gone from CapBnd");
    ok(r < 64 && !(r & 2), "dropped caps gone from CapEff and CapPrm");
    ok(r < 64 && !(r & 4), "CapAmb cleared");
    ok(r < 64 && !(r & 8), "sys_boot stays (reboot ends the pid namespace)");
    ok(r < 64 && !(r & 16), "nothing else removed from CapBnd");
    r = run_child(keep_child);
    is_int(r, 0, "keep: CapBnd and CapEff are exactly the kept set");
}

static void test_misc(void)
{
    char *drop[] = {"sys_module", NULL};
    struct lxm_policy p = {0};

    is_int(run_child(nnp_child), 0, "no_new_privs set only when the policy says so");
    ok(!lxm_security_is_unconfined(&p), "empty policy: generated AppArmor profile, not unconfined");
    p.apparmor_profile = "unconfined";
    ok(lxm_security_is_unconfined(&p), "apparmor unconfined and nothing else: unconfined");
    p.caps_drop = drop;
    ok(!lxm_security_is_unconfined(&p), "a cap drop is confinement");
    p.caps_drop = NULL;
    p.seccomp_default = "allow";
    ok(lxm_security_is_unconfined(&p), "seccomp allow without rules confines nothing");
    static char *calls[] = {"kexec_load", NULL};
    struct lxm_seccomp_rule rule = {"errno EPERM", calls};
    p.seccomp_rules = &rule;
    p.n_seccomp_rules = 1;
    ok(!lxm_security_is_unconfined(&p), "a seccomp rule is confinement");
}

int main(void)
{
    test_names();
    test_apply();
    test_misc();
    return done();
}

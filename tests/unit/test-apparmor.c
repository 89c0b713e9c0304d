/* apparmor: profile generation from a default.yaml-like policy, rule
 * checks, validation with apparmor_parser -QK (skipped with the reason when
 * it is missing), and prepare() on a kernel without AppArmor. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "security/security.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"

static bool have_parser(void)
{
    return system("command -v apparmor_parser >/dev/null 2>&1") == 0;
}

static void test_generate(const char *dir)
{
    char *deny[] = {"mount fstype=debugfs", "/proc/sysrq-trigger rwklx", "deny /srv/secret/** rw,",
                    "mount options=(ro, remount) -> /data/", NULL};
    struct lxm_policy p = {0};
    struct lxm_error err = {0};
    char *text = NULL;

    p.apparmor_profile = "generated";
    p.apparmor_deny = deny;
    is_int(lxm_apparmor_generate("web1", &p, &text, &err), 0, "generate for web1");
    if (!text)
        return;
    ok(strstr(text, "profile lxm-web1 ") != NULL, "profile is named lxm-web1");
    ok(strstr(text, "  deny mount fstype=debugfs,\n") != NULL, "debugfs mounts denied");
    ok(strstr(text, "  deny mount fstype=securityfs,\n") != NULL, "securityfs mounts denied");
    ok(strstr(text, "deny /proc/sys/[^n]*{,/**} wklx,") != NULL,
       "/proc/sys writable only below net/");
    ok(strstr(text, "  deny /srv/secret/** rw,\n") != NULL,
       "a policy rule with 'deny' and ',' is normalised");
    ok(strstr(text, "  deny mount options=(ro, remount) -> /data/,\n") != NULL,
       "commas inside parentheses are one rule");
    ok(strstr(text, "#include") == NULL, "stand-alone: no includes");

    _cleanup_free_ char *file = xasprintf("%s/lxm-web1.profile", dir);
    write_file_atomic(file, text, strlen(text), 0600);
    if (!have_parser()) {
        printf("ok %d - apparmor_parser -QK accepts the profile # SKIP apparmor_parser not "
               "installed\n",
               ++tap_n);
    } else {
        int r = lxm_apparmor_validate_file(file, &err);
        is_int(r, 0, "apparmor_parser -QK accepts the generated profile%s%s", r ? ": " : "",
               r ? err.msg : "");
        _cleanup_free_ char *broken = xasprintf("%s/broken.profile", dir);
        const char *b = "profile x {\n  deny /a wat,\n}\n";
        write_file_atomic(broken, b, strlen(b), 0600);
        ok(lxm_apparmor_validate_file(broken, &err) < 0,
           "and rejects a broken one (the check can fail)");
    }
    free(text);
}

static void test_bad_rules(void)
{
    const char *bad[] = {"/a r,\n}\nprofile evil {", "/a r, /b w", "/a{b r", "/x # comment", ""};
    struct lxm_error err = {0};
    char *text = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *deny[] = {(char *)bad[i], NULL};
        struct lxm_policy p = {0};
        p.apparmor_deny = deny;
        ok(lxm_apparmor_generate("c1", &p, &text, &err) == -EINVAL && text == NULL,
           "deny rule #%zu rejected: %s", i, err.msg);
    }
    struct lxm_policy p = {0};
    ok(lxm_apparmor_generate("Bad/Name", &p, &text, &err) < 0, "invalid container name rejected");
}

static void test_prepare(const char *dir)
{
    struct lxm_policy p = {0};
    struct lxm_error err = {0};
    char *name = (char *)"unset";

    p.apparmor_profile = "unconfined";
    is_int(lxm_apparmor_prepare("c1", &p, dir, &name, &err), 0, "unconfined: prepare succeeds");
    ok(name == NULL, "unconfined: no profile to switch to");

    if (lxm_apparmor_enabled()) {
        printf("ok %d - prepare without AppArmor # SKIP this kernel has AppArmor\n", ++tap_n);
        return;
    }
    p.apparmor_profile = "generated";
    is_int(lxm_apparmor_prepare("c1", &p, dir, &name, &err), 0, "no AppArmor: warn and go on");
    ok(name == NULL, "no AppArmor: no profile name");
    _cleanup_free_ char *file = xasprintf("%s/apparmor.profile", dir);
    ok(path_exists(file), "generated profile written to run_dir/apparmor.profile");
    p.apparmor_required = true;
    is_int(lxm_apparmor_prepare("c1", &p, dir, &name, &err), -EOPNOTSUPP, "required: fails");
    is_str(err.msg, "profile requires AppArmor but this kernel does not have it",
           "required: message");
    is_int(lxm_apparmor_onexec(NULL, &err), 0, "onexec(NULL) is a no-op");
}

int main(void)
{
    char dir[] = "/tmp/lxm-test-apparmor.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_generate(dir);
    test_bad_rules();
    test_prepare(dir);
    rm_rf(dir);
    return done();
}

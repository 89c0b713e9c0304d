/* Unit tests for profile.c (what a merged config leaves out, the name
 * check of a profile being saved, local profiles on disk) and
 * init_detect.c (where a rootfs's init leads, never out of the tree). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/container.h"
#include "runtime/init_detect.h"
#include "config/profile.h"
#include "tap.h"
#include "util/fs.h"

static struct lxm_profile *profile(const char *text)
{
    struct lxm_profile *p = NULL;
    struct lxm_error err = {0};
    if (lxm_profile_parse("/p/x.yaml", text, &p, &err) < 0)
        printf("# parse: %s\n", err.msg);
    return p;
}

/* The effective config of a bare container under the given profiles. */
static void missing_of(const char *name, const char *a, const char *b, const char *want)
{
    struct lxm_error err = {0};
    struct lxm_config *c = NULL;
    lxm_config_parse("config.yaml", "name: c1\n", &c, &err);
    struct lxm_profile *ps[2] = {profile(a), b ? profile(b) : NULL};
    char buf[128];
    lxm_config_merge(c, ps, b ? 2 : 1, &err);
    int n = lxm_config_missing(c, buf, sizeof(buf));
    is_str(buf, want, "%s: %s", name, want[0] ? want : "nothing missing");
    ok((n == 0) == (want[0] == '\0'), "%s: count %d", name, n);
    lxm_profile_free(ps[0]);
    lxm_profile_free(ps[1]);
    lxm_config_free(c);
}

static const char *const full =
    "capabilities: {drop: [sys_module]}\n"
    "seccomp: {default_action: allow, rules: [{action: errno EPERM, syscalls: [kexec_load]}]}\n"
    "network: {eth0: {type: veth}}\n";

static void test_missing(void)
{
    missing_of("full policy", full, NULL, "");
    missing_of("empty profile", "description: x\n", NULL,
               "no seccomp filter, no capability drop, no network");
    missing_of("full, then a profile with limits only", full, "limits: {pids: 10}\n", "");
    missing_of("full, then unconfined-style clears", full,
               "capabilities: {drop: []}\nseccomp: {rules: []}\n",
               "no seccomp filter, no capability drop");
    missing_of("keep: counts as a drop",
               "capabilities: {keep: [chown]}\n"
               "seccomp: {default_action: errno EPERM}\nnetwork: {eth0: {type: veth}}\n",
               NULL, "");
    missing_of("network type none", full, "network: {eth0: {type: none}}\n", "no network");
    missing_of("an allow-only filter is no filter",
               "capabilities: {drop: [sys_module]}\nseccomp: {default_action: allow, rules: "
               "[{action: allow, syscalls: [bpf]}]}\nnetwork: {eth0: {type: veth}}\n",
               NULL, "no seccomp filter");
}

static void test_check_text(void)
{
    struct lxm_error err = {0};
    is_int(lxm_profile_check_text("web", "/t/web.yaml", "description: x\n", &err), 0,
           "a profile without name: is NAME");
    is_int(lxm_profile_check_text("web", "/t/web.yaml", "name: web\n", &err), 0, "name: web");
    ok(lxm_profile_check_text("web", "/t/web.yaml", "name: other\n", &err) < 0,
       "name: other refused");
    ok(strstr(err.msg, "'other' does not match the profile's name 'web'") != NULL, "says why: %s",
       err.msg);
    ok(lxm_profile_check_text("web", "/t/web.yaml", "limits:\n  pids: lots\n", &err) < 0,
       "an invalid value refused");
    ok(strstr(err.msg, "/t/web.yaml:2:9: limits.pids") != NULL, "with file:line:col: %s", err.msg);
}

static char *tmp;

static void test_local_profiles(void)
{
    struct lxm_paths paths = {0};
    struct lxm_error err = {0};
    char *root = xasprintf("%s/root", tmp), *shipped = xasprintf("%s/shipped", tmp);
    mkdir(shipped, 0755);
    setenv("LXM_PROFILES_DIR", shipped, 1);
    char *f = xasprintf("%s/base.yaml", shipped);
    write_file_atomic(f, "# shipped\nname: base\ndescription: b\n", 36, 0644);
    free(f);
    is_int(lxm_paths_init(&paths, root, &err), 0, "paths under %s", root);
    bool local, ship;
    is_int(lxm_profile_copy(&paths, "base", "mine", &err), 0, "copy base mine");
    char *text = NULL;
    f = xasprintf("%s/mine.yaml", paths.local_profiles);
    read_file(f, &text, NULL);
    is_str(text, "# shipped\nname: mine\ndescription: b\n", "the copy is renamed");
    free(text);
    free(f);
    ok(lxm_profile_copy(&paths, "base", "mine", &err) < 0, "copy onto mine refused");
    ok(lxm_profile_delete(&paths, "base", &err) < 0 && strstr(err.msg, "shipped"),
       "a shipped profile is not deleted: %s", err.msg);
    is_int(lxm_profile_save_text(&paths, "base", "name: base\ndescription: local\n", NULL, &err), 0,
           "save a local base");
    lxm_profile_where(&paths, "base", &local, &ship, &err);
    ok(local && ship, "base: local and shipped");
    is_int(lxm_profile_delete(&paths, "base", &err), 0, "delete the local base");
    lxm_profile_where(&paths, "base", &local, &ship, &err);
    ok(!local && ship, "base: shipped again");
    is_int(lxm_profile_delete(&paths, "mine", &err), 0, "delete mine");
    ok(lxm_profile_create(&paths, "../x", &err) < 0, "a bad name refused: %s", err.msg);
    lxm_paths_free(&paths);
    free(root);
    free(shipped);
}

static void test_init_detect(void)
{
    char *r = xasprintf("%s/rootfs", tmp);
    char *d = xasprintf("%s/lib/systemd", r), *s = xasprintf("%s/sbin", r);
    mkdir_p(d, 0755);
    mkdir_p(s, 0755);
    char *sd = xasprintf("%s/systemd", d), *init = xasprintf("%s/init", s);
    write_file_atomic(sd, "", 0, 0755);
    int halt = 0;
    is_int(lxm_init_detect_halt(r, "/sbin/init", &halt), 0, "no /sbin/init: unknown");
    symlink("../lib/systemd/systemd", init);
    is_int(lxm_init_detect_halt(r, "/sbin/init", &halt), 1, "relative link to systemd");
    is_int(halt, SIGRTMIN + 3, "halt SIGRTMIN+3");
    unlink(init);
    symlink("/lib/systemd/systemd", init);
    is_int(lxm_init_detect_halt(r, "/sbin/init", &halt), 1, "absolute link, resolved inside");
    unlink(init);
    /* Out of the tree: ../../.. stays at its root, so this names a host file
     * only a resolution on the host would reach. */
    char *esc = xasprintf("../../../../../..%s/outside/systemd", tmp);
    char *out = xasprintf("%s/outside", tmp);
    mkdir(out, 0755);
    char *outsd = xasprintf("%s/systemd", out);
    write_file_atomic(outsd, "", 0, 0755);
    symlink(esc, init);
    is_int(lxm_init_detect_halt(r, "/sbin/init", &halt), 0,
           "a link out of the tree is not followed");
    unlink(init);
    symlink("/bin/busybox", init);
    is_int(lxm_init_detect_halt(r, "/sbin/init", &halt), 0, "busybox (missing): unknown");
    free(esc), free(out), free(outsd), free(sd), free(init), free(d), free(s), free(r);
}

int main(void)
{
    char templ[] = "/tmp/test-profile-XXXXXX";
    tmp = mkdtemp(templ);
    test_missing();
    test_check_text();
    test_local_profiles();
    test_init_detect();
    char *cmd = xasprintf("rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmp);
    free(cmd);
    return done();
}

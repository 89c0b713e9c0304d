/* Unit tests for profile.c (what a merged config leaves out, the name
 * check of a profile being saved, local profiles on disk) and
 * init_detect.c (where a rootfs's init leads, never out of the tree, which
 * init it is) and init_detect-inittab.c (a sysvinit inittab for a container). */
#include <fcntl.h>
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

/* The kind lxm_init_detect finds at /sbin/init of r, and its halt signal. */
static int detect(const char *r, int *halt)
{
    struct lxm_init_info i;
    int known = lxm_init_detect(r, "/sbin/init", &i);
    *halt = i.halt;
    return known ? (int)i.kind : -1;
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
    is_int(detect(r, &halt), -1, "no /sbin/init: unknown");
    symlink("../lib/systemd/systemd", init);
    is_int(detect(r, &halt), LXM_INIT_SYSTEMD, "relative link to systemd");
    is_int(halt, SIGRTMIN + 3, "halt SIGRTMIN+3");
    unlink(init);
    symlink("/lib/systemd/systemd", init);
    is_int(detect(r, &halt), LXM_INIT_SYSTEMD, "absolute link, resolved inside");
    unlink(init);
    /* Out of the tree: ../../.. stays at its root, so this names a host file
     * only a resolution on the host would reach. */
    char *esc = xasprintf("../../../../../..%s/outside/systemd", tmp);
    char *out = xasprintf("%s/outside", tmp);
    mkdir(out, 0755);
    char *outsd = xasprintf("%s/systemd", out);
    write_file_atomic(outsd, "", 0, 0755);
    symlink(esc, init);
    is_int(detect(r, &halt), -1, "a link out of the tree is not followed");
    unlink(init);
    symlink("/bin/busybox", init);
    is_int(detect(r, &halt), -1, "busybox (missing): unknown");
    char *bin = xasprintf("%s/bin", r), *bb = xasprintf("%s/bin/busybox", r);
    mkdir_p(bin, 0755);
    write_file_atomic(bb, "", 0, 0755);
    is_int(detect(r, &halt), LXM_INIT_BUSYBOX, "link to busybox");
    is_int(halt, SIGUSR2, "busybox: halt SIGUSR2 (poweroff)");
    unlink(init);
    /* A file named init says what it is: sysvinit's version string (here
     * across the 64 KiB boundary of a read), BusyBox's banner. */
    size_t n = 65536 + 4096;
    char *body = calloc(1, n + 1);
    memset(body, 'x', n);
    memcpy(body + 65536 - 10, "INIT_VERSION=sysvinit-3.06", 26);
    write_file_atomic(init, body, n, 0755);
    is_int(detect(r, &halt), LXM_INIT_SYSVINIT, "sysvinit by its version string");
    is_int(halt, SIGPWR, "sysvinit: halt SIGPWR");
    char *orc = xasprintf("%s/sbin/openrc", r);
    write_file_atomic(orc, "", 0, 0755);
    is_int(detect(r, &halt), LXM_INIT_SYSVINIT_OPENRC, "sysvinit with /sbin/openrc: sysvinit + OpenRC");
    is_str(lxm_init_kind_name(LXM_INIT_SYSVINIT_OPENRC), "openrc", "named as template.init names it");
    unlink(orc);
    write_file_atomic(init, "\177ELF...BusyBox v1.36.1 (2024)...", 32, 0755);
    is_int(detect(r, &halt), LXM_INIT_BUSYBOX, "a copied busybox by its banner");
    write_file_atomic(init, "\177ELF...OpenRC init version %s", 30, 0755);
    is_int(detect(r, &halt), LXM_INIT_OPENRC, "openrc-init by its banner");
    write_file_atomic(init, "#!/bin/sh\nexec sleep 1\n", 23, 0755);
    is_int(detect(r, &halt), -1, "a script: unknown");
    unlink(init);
    mkfifo(init, 0644);
    is_int(detect(r, &halt), -1, "a FIFO: unknown, and no hang");
    unlink(init);
    free(body), free(orc), free(bin), free(bb);
    free(esc), free(out), free(outsd), free(sd), free(init), free(d), free(s), free(r);
}

/* Debian's stock inittab (sysvinit-core's /usr/share/sysvinit/inittab, less
 * its comments) and what a container gets. */
static const char stock_inittab[] =
    "# a comment: kept\n"
    "id:2:initdefault:\n"
    "si::sysinit:/etc/init.d/rcS\n"
    "l0:0:wait:/etc/init.d/rc 0\n"
    "l2:2:wait:/etc/init.d/rc 2\n"
    "ca:12345:ctrlaltdel:/sbin/shutdown -t1 -a -r now\n"
    "pf::powerwait:/etc/init.d/powerfail start\n"
    "pn::powerfailnow:/etc/init.d/powerfail now\n"
    "1:2345:respawn:/sbin/getty --noclear 38400 tty1\n"
    "2:23:respawn:/sbin/getty 38400 tty2\n"
    "T0:23:respawn:/sbin/getty -L ttyS0 9600 vt100\n";
static const char adapted_inittab[] =
    "# a comment: kept\n"
    "id:2:initdefault:\n"
    "si::sysinit:/etc/init.d/rcS\n"
    "l0:0:wait:/etc/init.d/rc 0\n"
    "l2:2:wait:/etc/init.d/rc 2\n"
    "ca:12345:ctrlaltdel:/sbin/shutdown -r now\n"
    "pf::powerwait:/sbin/shutdown -h now\n"
    "pn::powerfailnow:/etc/init.d/powerfail now\n"
    "1:2345:respawn:/sbin/getty --noclear 38400 console\n"
    "#2:23:respawn:/sbin/getty 38400 tty2\n"
    "T0:23:respawn:/sbin/getty -L ttyS0 9600 vt100\n";

static void test_inittab(void)
{
    char *r = xasprintf("%s/itab", tmp), *etc = xasprintf("%s/itab/etc", tmp);
    char *f = xasprintf("%s/inittab", etc);
    mkdir_p(etc, 0755);
    int rootfd = open(r, O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct lxm_error err = {0};
    is_int(lxm_inittab_adapt(rootfd, &err), 0, "no inittab: nothing to do");
    write_file_atomic(f, stock_inittab, strlen(stock_inittab), 0600);
    is_int(chown(f, 1234, 5678), 0, "an inittab of uid 1234");
    is_int(lxm_inittab_adapt(rootfd, &err), 1, "stock inittab adapted");
    char *got = NULL;
    read_file(f, &got, NULL);
    is_str(got, adapted_inittab, "halt on powerwait, reboot on ctrlaltdel, one getty on the console");
    struct stat st;
    stat(f, &st);
    ok(st.st_uid == 1234 && st.st_gid == 5678 && (st.st_mode & 07777) == 0600,
       "owner and mode kept");
    is_int(lxm_inittab_adapt(rootfd, &err), 0, "adapted twice: no change");
    free(got);
    const char bare[] = "id:3:initdefault:\nco:2345:respawn:/sbin/agetty console 115200\n"
                        "c1:2345:respawn:/sbin/agetty tty1 38400";
    write_file_atomic(f, bare, strlen(bare), 0644);
    is_int(lxm_inittab_adapt(rootfd, &err), 1, "an inittab without powerwait");
    read_file(f, &got, NULL);
    is_str(got, "id:3:initdefault:\nco:2345:respawn:/sbin/agetty console 115200\n"
                "#c1:2345:respawn:/sbin/agetty tty1 38400\n"
                "pf::powerwait:/sbin/shutdown -h now\nca:12345:ctrlaltdel:/sbin/shutdown -r now\n",
           "entries added, the VT getty goes when the console has one");
    free(got);
    unlink(f);
    symlink("/etc/inittab.real", f);
    is_int(lxm_inittab_adapt(rootfd, &err), 0, "a symlinked inittab is left alone");
    close(rootfd);
    free(r), free(etc), free(f);
}

int main(void)
{
    char templ[] = "/tmp/test-profile-XXXXXX";
    tmp = mkdtemp(templ);
    test_missing();
    test_check_text();
    test_local_profiles();
    test_init_detect();
    test_inittab();
    char *cmd = xasprintf("rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmp);
    free(cmd);
    return done();
}

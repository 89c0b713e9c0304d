/* passwd.c, util/inroot.c and the small helpers of the everyday commands:
 * users and groups parsed from a container's files, lookups that stay in
 * a tree whatever its symlinks say, the typo distance, human durations. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/output.h"
#include "runtime/passwd.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/inroot.h"
#include "util/strv.h"

static const char *PASSWD = "root:x:0:0:root:/root:/bin/bash\n"
                            "# a comment\n"
                            "broken line\n"
                            "bad:x:notanumber:0::/:/bin/sh\n"
                            "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                            "noshell:x:7:7::relative:\n"
                            "alice:x:1000:1000:Alice,,,:/home/alice:/bin/zsh";
static const char *GROUP = "root:x:0:\n"
                           "wheel:x:10:bob,alice\n"
                           "tty:x:5:\n"
                           "alice:x:1000:\n"
                           "audio:x:29:alice";

static void test_parse(void)
{
    struct lxm_user u;
    is_int(lxm_passwd_find(PASSWD, "alice", &u), 0, "find a user by name");
    ok(u.uid == 1000 && u.gid == 1000, "her ids");
    is_str(u.home, "/home/alice", "her home");
    is_str(u.shell, "/bin/zsh", "her shell (last line without newline)");
    is_int(lxm_group_members(GROUP, &u), 0, "her groups");
    ok(u.n_groups == 3 && u.groups[0] == 1000 && u.groups[1] == 10 && u.groups[2] == 29,
       "primary group first, then the groups listing her");
    lxm_user_clear(&u);
    is_int(lxm_passwd_find(PASSWD, "1", &u), 0, "find a user by uid");
    is_str(u.name, "daemon", "uid 1 is daemon");
    lxm_user_clear(&u);
    is_int(lxm_passwd_find(PASSWD, "noshell", &u), 0, "a line with an empty shell");
    ok(strcmp(u.shell, "/bin/sh") == 0 && strcmp(u.home, "/") == 0, "empty shell -> /bin/sh, relative home -> /");
    lxm_user_clear(&u);
    is_int(lxm_passwd_find(PASSWD, "4242", &u), 0, "an id without a line");
    ok(u.uid == 4242 && u.gid == 4242 && !u.name, "is that id, nameless");
    lxm_user_clear(&u);
    is_int(lxm_passwd_find(PASSWD, "bad", &u), -ENOENT, "a malformed line is skipped");
    is_int(lxm_passwd_find(PASSWD, "bob", &u), -ENOENT, "an unknown name");
    is_int(lxm_passwd_find(PASSWD, "4294967295", &u), -ENOENT, "(uid_t)-1 is not an id");
    gid_t g;
    ok(lxm_group_find(GROUP, "tty", &g) == 0 && g == 5, "group by name");
    ok(lxm_group_find(GROUP, "77", &g) == 0 && g == 77, "group by number");
    is_int(lxm_group_find(GROUP, "nope", &g), -ENOENT, "unknown group");
}

/* A tree whose /etc/passwd is a symlink climbing out of it: the lookup
 * must read the tree's own file, not the host's. */
static void test_resolve_in_tree(void)
{
    char tmpl[] = "/tmp/lxm-test-passwd.XXXXXX";
    char *dir = mkdtemp(tmpl);
    _cleanup_free_ char *etc = xasprintf("%s/etc", dir);
    _cleanup_free_ char *real = xasprintf("%s/etc/passwd.real", dir);
    _cleanup_free_ char *link = xasprintf("%s/etc/passwd", dir);
    _cleanup_free_ char *grp = xasprintf("%s/etc/group", dir);
    mkdir(etc, 0755);
    write_file_atomic(real, "zed:x:77:78:Z:/z:/bin/ksh\n", 26, 0644);
    write_file_atomic(grp, "zz:x:78:\n", 9, 0644);
    ok(symlink("../../../../../../../etc/passwd.real", link) == 0, "plant a climbing symlink");
    _cleanup_close_ int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct lxm_user u;
    struct lxm_error err = {0};
    is_int(lxm_user_resolve(root, "zed", &u, &err), 0, "resolve through the symlink");
    ok(u.uid == 77 && u.gid == 78, "the tree's own user");
    lxm_user_clear(&u);
    is_int(lxm_user_resolve(root, "root", &u, &err), -ENOENT, "the host's root is not in the tree");
    is_str(err.msg, "user 'root' not found in the container's /etc/passwd", "the error says where");
    is_int(lxm_user_resolve(root, NULL, &u, &err), 0, "no user asked: root all the same");
    ok(u.uid == 0 && strcmp(u.home, "/root") == 0, "root, home /root");
    lxm_user_clear(&u);
    is_int(lxm_user_resolve(root, "zed:zz", &u, &err), 0, "USER:GROUP");
    ok(u.gid == 78 && u.n_groups == 1, "exactly that group");
    lxm_user_clear(&u);
    unlink(link);
    ok(mkfifo(link, 0644) == 0, "a FIFO as /etc/passwd");
    is_int(lxm_user_resolve(root, "zed", &u, &err), -EINVAL, "refused at once, not read");
    unlink(link);
    ok(symlink("/proc/self/root/etc/passwd", link) == 0, "a /proc magic link as /etc/passwd");
    char *text = NULL;
    ok(lxm_read_in_root(root, "/etc/passwd", 1 << 20, &text, NULL) < 0, "refused (no magic links)");
    free(text);
    _cleanup_close_ int up = lxm_open_in_root(root, "../../..", O_PATH | O_DIRECTORY, 0);
    struct stat a, b;
    ok(up >= 0 && fstat(up, &a) == 0 && fstat(root, &b) == 0 && a.st_ino == b.st_ino,
       "'..' above the root stays at the root");
    is_int(rm_rf(dir), 0, "cleanup");
}

static void test_helpers(void)
{
    is_int(str_edit_distance("lsit", "list"), 1, "a transposition is one edit");
    is_int(str_edit_distance("exce", "exec"), 1, "exce -> exec");
    is_int(str_edit_distance("shel", "shell"), 1, "an insertion");
    is_int(str_edit_distance("", "list"), 4, "from nothing");
    is_int(str_edit_distance("frobnicate", "create"), 6, "far apart");
    char buf[32];
    lxm_format_seconds(buf, sizeof(buf), 0.016);
    is_str(buf, "0.016s", "fractions below 10 s");
    lxm_format_seconds(buf, sizeof(buf), 42);
    is_str(buf, "42s", "seconds");
    lxm_format_seconds(buf, sizeof(buf), 185);
    is_str(buf, "3m05s", "minutes");
    lxm_format_seconds(buf, sizeof(buf), 7380);
    is_str(buf, "2h03m", "hours");
    lxm_format_seconds(buf, sizeof(buf), 360000);
    is_str(buf, "4d04h", "days");
}

int main(void)
{
    test_parse();
    test_resolve_in_tree();
    test_helpers();
    return done();
}

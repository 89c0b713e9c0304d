/* util/: error objects, string vectors, atomic writes, safe rm_rf. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "util/child_pipe.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/strv.h"

static void test_errors(void)
{
    struct lxm_error err = { 0 };
    is_int(lxm_error_set(&err, EINVAL, "bad %s", "thing"), -EINVAL, "error_set returns -code");
    is_str(err.msg, "bad thing", "error_set formats the message");
    lxm_error_prefix(&err, "start %s", "web1");
    is_str(err.msg, "start web1: bad thing", "prefix adds context in front");
    lxm_error_errno(&err, ENOENT, "open %s", "/x");
    is_str(err.msg, "open /x: No such file or directory", "errno variant appends strerror");
    is_int(lxm_error_set(NULL, EPERM, "x"), -EPERM, "NULL error object is allowed");
}

static void test_strv(void)
{
    _cleanup_strv_free_ char **v = NULL;
    strv_push(&v, "a");
    strv_push(&v, "b");
    is_int(strv_length(v), 2, "strv_push appends");
    ok(strv_contains(v, "b") && !strv_contains(v, "c"), "strv_contains");
    _cleanup_strv_free_ char **c = strv_copy(v);
    is_str(c[1], "b", "strv_copy copies");
    ok(c[2] == NULL, "strv_copy terminates");
}

static void test_fs(void)
{
    char tmpl[] = "/tmp/lxm-test-util.XXXXXX";
    char *dir = mkdtemp(tmpl);
    ok(dir != NULL, "mkdtemp");
    _cleanup_free_ char *deep = xasprintf("%s/a/b/c", dir);
    is_int(mkdir_p(deep, 0755), 0, "mkdir_p creates nested dirs");
    is_int(mkdir_p(deep, 0755), 0, "mkdir_p is idempotent");

    _cleanup_free_ char *f = xasprintf("%s/a/file", dir);
    is_int(write_file_atomic(f, "one\n", 4, 0600), 0, "atomic write");
    is_int(write_file_atomic(f, "two\n", 4, 0644), 0, "atomic overwrite");
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    is_int(read_file(f, &data, &len), 0, "read back");
    is_str(data, "two\n", "atomic overwrite replaced the content");
    struct stat st;
    stat(f, &st);
    is_int(st.st_mode & 0777, 0644, "atomic write sets the mode");

    /* A symlink to a directory outside must be removed, not followed. */
    char otmpl[] = "/tmp/lxm-test-outside.XXXXXX";
    char *outside = mkdtemp(otmpl);
    _cleanup_free_ char *victim = xasprintf("%s/keep", outside);
    write_file_atomic(victim, "x", 1, 0644);
    _cleanup_free_ char *link = xasprintf("%s/a/b/escape", dir);
    ok(symlink(outside, link) == 0, "plant a symlink to outside");
    is_int(rm_rf(dir), 0, "rm_rf removes the tree");
    ok(!path_exists(dir), "tree is gone");
    ok(path_exists(victim), "rm_rf did not follow the symlink");
    is_int(rm_rf(outside), 0, "cleanup");
    is_int(rm_rf("/tmp/lxm-test-does-not-exist"), 0, "rm_rf of a missing path is success");
}

static void print_yaml(FILE *f, const void *data)
{
    fprintf(f, "name: %s\n", (const char *)data);
}

static void print_nothing(FILE *f, const void *data)
{
    (void)f, (void)data;
}

static void test_fill(void)
{
    size_t len = 0;
    _cleanup_free_ char *s = fill_string(print_yaml, "web1", &len);
    is_str(s, "name: web1\n", "fill_string returns what was printed");
    is_int(len, 11, "fill_string gives its length");
    _cleanup_free_ char *e = fill_string(print_nothing, NULL, NULL);
    is_str(e, "", "fill_string of nothing is an empty string");

    char tmpl[] = "/tmp/lxm-test-fill.XXXXXX";
    char *dir = mkdtemp(tmpl);
    _cleanup_free_ char *f = xasprintf("%s/sub/c.yaml", dir);
    is_int(write_file_atomic_stream(f, 0640, print_yaml, "c1"), -ENOENT,
           "stream write into a missing directory fails");
    ok(!path_exists(f), "and leaves nothing");
    _cleanup_free_ char *g = xasprintf("%s/c.yaml", dir);
    is_int(write_file_atomic_stream(g, 0640, print_yaml, "c1"), 0, "stream write");
    _cleanup_free_ char *data = NULL;
    read_file(g, &data, NULL);
    is_str(data, "name: c1\n", "stream write wrote what was printed");
    struct stat st;
    stat(g, &st);
    is_int(st.st_mode & 0777, 0640, "stream write sets the mode");
    rm_rf(dir);
}

static void test_child_pipe(void)
{
    struct lxm_error err = {0};
    int fd = -1;
    pid_t pid = lxm_fork_piped(&fd, &err);
    if (pid == 0) {
        (void)!write(fd, "mount: no such path", 19);
        _exit(1);
    }
    ok(pid > 0 && fd >= 0, "fork_piped forks");
    ok(fcntl(fd, F_GETFD) & FD_CLOEXEC, "the parent's end is O_CLOEXEC");
    char buf[8];
    is_int(lxm_read_message(fd, buf, sizeof(buf)), 7, "read_message stops when buf is full");
    is_str(buf, "mount: ", "and ends it with a NUL");
    char rest[64];
    is_int(lxm_read_message(fd, rest, sizeof(rest)), 12, "read_message reads to the end");
    is_str(rest, "no such path", "the rest of the message");
    close(fd);
    int status;
    is_int(waitpid(pid, &status, 0), pid, "the child is ours to wait for");
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 1, "the child's exit status");
}

int main(void)
{
    test_errors();
    test_strv();
    test_fs();
    test_fill();
    test_child_pipe();
    return done();
}

/* util/report.c: the library says what it does only through the report
 * the command layer gives it. A meter (image pack and extract) and a
 * notice (waiting for a container's lock) reach the callbacks, and with
 * no report nothing at all is written to stderr. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/container.h"
#include "image/image.h"
#include "tap.h"
#include "util/fs.h"
#include "util/report.h"

struct seen {
    int begin, step, end, fail, notes;
    int64_t last_done;
    char first_verb[32];
    char what[512];
    enum lxm_notice kind;
    char msg[512];
    int release_fd; /* the notice lets the lock's holder go */
};

static void on_progress(void *data, const struct lxm_progress *p)
{
    struct seen *s = data;
    if (p->phase == LXM_PROGRESS_BEGIN && !s->begin && p->verb)
        snprintf(s->first_verb, sizeof(s->first_verb), "%s", p->verb);
    s->begin += p->phase == LXM_PROGRESS_BEGIN;
    s->step += p->phase == LXM_PROGRESS_STEP;
    s->end += p->phase == LXM_PROGRESS_END;
    s->fail += p->phase == LXM_PROGRESS_FAIL;
    s->last_done = p->done;
    if (p->what)
        snprintf(s->what, sizeof(s->what), "%s", p->what);
}

static void on_notice(void *data, enum lxm_notice kind, const char *msg)
{
    struct seen *s = data;
    s->notes++;
    s->kind = kind;
    snprintf(s->msg, sizeof(s->msg), "%s", msg);
    if (s->release_fd >= 0)
        (void)!write(s->release_fd, "x", 1);
}

/* Point stderr at a file for a while: what the library wrote there. */
static int saved_stderr = -1;
static void capture_stderr(const char *file)
{
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    dup2(fd, STDERR_FILENO);
    close(fd);
}
static off_t end_capture(const char *file)
{
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    struct stat st;
    return stat(file, &st) == 0 ? st.st_size : -1;
}

static void test_meter(const char *dir)
{
    char *src = xasprintf("%s/src", dir), *tar = xasprintf("%s/t.tar.zst", dir);
    char *ext = xasprintf("%s/ext", dir), *log = xasprintf("%s/stderr", dir);
    mkdir_p(xasprintf("%s/etc", src), 0755);
    write_file_atomic(xasprintf("%s/etc/f", src), "hello\n", 6, 0644);
    char sum[65];
    struct lxm_error err = {0};
    struct seen s = {.release_fd = -1};
    struct lxm_report r = {.progress = on_progress, .notice = on_notice, .data = &s};
    is_int(lxm_image_pack(src, tar, sum, &r, &err), 0, "pack with a report (%s)", err.msg);
    is_int(s.begin, 1, "pack: one BEGIN");
    is_str(s.first_verb, "packing", "... of a packing meter");
    ok(s.step >= 1, "... steps (%d)", s.step);
    is_int(s.end, 1, "... one END");
    is_int(s.fail, 0, "... no FAIL");
    is_str(s.what, src, "... naming what it packed");
    s = (struct seen){.release_fd = -1};
    mkdir(ext, 0755);
    is_int(lxm_image_extract(tar, ext, &r, &err), 0, "extract with a report (%s)", err.msg);
    ok(s.begin == 1 && s.end == 1 && s.step >= 1, "extract: BEGIN, steps, END");
    struct stat st;
    ok(stat(tar, &st) == 0 && s.last_done > 0 && s.last_done <= st.st_size,
       "... its count is the bytes read (%lld of %lld)", (long long)s.last_done,
       (long long)st.st_size);

    capture_stderr(log);
    rm_rf(ext);
    mkdir(ext, 0755);
    int a = lxm_image_pack(src, tar, sum, NULL, &err);
    int b = lxm_image_extract(tar, ext, NULL, &err);
    struct lxm_report empty = {.data = &s};
    int c = lxm_image_extract(tar, ext, &empty, &err);
    is_int(end_capture(log), 0, "no report (or no callbacks): nothing on stderr");
    ok(a == 0 && b == 0 && c == 0, "... and the work is done all the same");
}

/* Another holder of c's lock: the library says it waits, through the
 * report; the callback lets the holder go, so nothing waits on time. */
static void test_lock_notice(const char *dir)
{
    struct lxm_paths paths;
    struct lxm_error err = {0};
    is_int(lxm_paths_init(&paths, dir, &err), 0, "paths (%s)", err.msg);
    int held[2], release[2];
    ok(pipe2(held, O_CLOEXEC) == 0 && pipe2(release, O_CLOEXEC) == 0, "pipes");
    pid_t pid = fork();
    if (pid == 0) {
        struct lxm_container *hc = NULL;
        if (lxm_container_new(&paths, "t1", &hc, &err) < 0 || lxm_container_lock(hc, &err) < 0)
            _exit(1);
        char x;
        (void)!write(held[1], "x", 1);
        (void)!read(release[0], &x, 1);
        _exit(0);
    }
    char x = 0;
    ok(read(held[0], &x, 1) == 1, "another process holds t1's lock");
    struct seen s = {.release_fd = release[1]};
    struct lxm_report r = {.progress = on_progress, .notice = on_notice, .data = &s};
    paths.report = &r;
    struct lxm_container *c = NULL;
    char *log = xasprintf("%s/stderr-lock", dir);
    capture_stderr(log);
    int rc = lxm_container_new(&paths, "t1", &c, &err);
    if (rc == 0)
        rc = lxm_container_lock(c, &err);
    off_t printed = end_capture(log);
    is_int(rc, 0, "the lock is taken once the other lets go (%s)", err.msg);
    is_int(s.notes, 1, "one notice while waiting");
    is_int(s.kind, LXM_NOTICE_WAIT, "... a wait");
    is_str(s.msg, "t1: waiting for another lxm command on this container to finish", "... saying so");
    is_int(printed, 0, "... and nothing printed by the library itself");
    int status = -1;
    waitpid(pid, &status, 0);
    is_int(status, 0, "the holder ended cleanly");
    lxm_container_free(c);
    lxm_paths_free(&paths);
}

int main(void)
{
    char tmpl[] = "/tmp/test-report.XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir)
        return 1;
    test_meter(dir);
    test_lock_notice(dir);
    rm_rf(dir);
    return done();
}

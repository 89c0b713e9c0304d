#include "runtime/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define FOLLOW_POLL_MS 200

/* Start of the last `lines` lines of buf (a final line without '\n'
 * counts as one). */
static size_t tail_start(const char *buf, size_t len, long lines)
{
    if (lines < 0)
        return 0;
    if (lines == 0)
        return len;
    size_t i = len;
    if (i > 0 && buf[i - 1] == '\n')
        i--;
    for (; i > 0; i--)
        if (buf[i - 1] == '\n' && --lines == 0)
            return i;
    return 0;
}

/* The rotated file then the current one, as one buffer; *fd is left open
 * on the current file at the end of what was read (-1 if none). */
static int read_both(const char *path, char **out, size_t *len, int *fd, struct lxm_error *err)
{
    _cleanup_free_ char *old_path = xasprintf("%s.1", path);
    _cleanup_free_ char *old = NULL, *cur = NULL;
    size_t old_len = 0, cur_len = 0;
    if (!old_path)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = read_file(old_path, &old, &old_len);
    if (r < 0 && r != -ENOENT)
        return lxm_error_errno(err, -r, "read %s", old_path);
    *fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (*fd < 0 && errno != ENOENT)
        return lxm_error_errno(err, errno, "open %s", path);
    char buf[65536];
    ssize_t n;
    while (*fd >= 0 && (n = read(*fd, buf, sizeof(buf))) > 0) {
        char *grown = realloc(cur, cur_len + (size_t)n + 1);
        if (!grown)
            return lxm_error_set(err, ENOMEM, "out of memory");
        cur = grown;
        memcpy(cur + cur_len, buf, (size_t)n);
        cur_len += (size_t)n;
    }
    *out = malloc(old_len + cur_len + 1);
    if (!*out)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (old_len)
        memcpy(*out, old, old_len);
    if (cur_len)
        memcpy(*out + old_len, cur, cur_len);
    *len = old_len + cur_len;
    return 0;
}

static int drain(int fd, int out_fd)
{
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        if (lxm_write_all(out_fd, buf, (size_t)n) < 0)
            return -errno;
    return n < 0 ? -errno : 0;
}

/* Copy what is appended to path; a rotation (the name now another file)
 * is followed to the new file once the old one is drained. */
static int follow(const char *path, int fd, int out_fd, struct lxm_error *err)
{
    for (;;) {
        if (fd >= 0) {
            struct stat st;
            off_t pos = lseek(fd, 0, SEEK_CUR);
            if (fstat(fd, &st) == 0 && pos > st.st_size)
                lseek(fd, 0, SEEK_SET); /* truncated */
            int r = drain(fd, out_fd);
            if (r < 0) {
                close(fd);
                return r == -EPIPE ? 0 : lxm_error_errno(err, -r, "follow %s", path);
            }
        }
        struct stat now, ours;
        if (stat(path, &now) == 0 &&
            (fd < 0 || (fstat(fd, &ours) == 0 && (now.st_ino != ours.st_ino || now.st_dev != ours.st_dev)))) {
            if (fd >= 0) {
                (void)drain(fd, out_fd);
                close(fd);
            }
            fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            continue;
        }
        struct timespec ts = {0, FOLLOW_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int lxm_log_show(const struct lxm_container *c, enum lxm_log_kind kind, long lines, bool follow_it,
                 int out_fd, struct lxm_error *err)
{
    _cleanup_free_ char *path =
        xasprintf("%s/%s", c->log_dir, kind == LXM_LOG_CONSOLE ? "console.log" : "lxm.log");
    if (!path)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    int fd = -1;
    int r = read_both(path, &buf, &len, &fd, err);
    if (r < 0) {
        if (fd >= 0)
            close(fd);
        return r;
    }
    size_t start = tail_start(buf, len, lines);
    if (lxm_write_all(out_fd, buf + start, len - start) < 0 && errno != EPIPE) {
        if (fd >= 0)
            close(fd);
        return lxm_error_errno(err, errno, "write");
    }
    if (!follow_it) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    return follow(path, fd, out_fd, err);
}

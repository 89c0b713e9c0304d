#include "util/child_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

pid_t lxm_fork_piped(int *fd, struct lxm_error *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return lxm_error_errno(err, errno, "pipe");
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return lxm_error_errno(err, e, "fork");
    }
    close(p[pid == 0 ? 0 : 1]);
    *fd = p[pid == 0 ? 1 : 0];
    return pid;
}

size_t lxm_read_message(int fd, char *buf, size_t size)
{
    size_t n = 0;
    while (n < size - 1) {
        ssize_t k = read(fd, buf + n, size - 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    buf[n] = '\0';
    return n;
}

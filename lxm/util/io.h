/* io: whole writes, line reads and fd passing over pipes and unix
 * sockets (one copy each, for every module). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

/* Write all of buf: retries EINTR, waits for POLLOUT on EAGAIN. 0 or
 * -errno. */
int lxm_write_all(int fd, const void *buf, size_t len);
/* Read exactly len bytes: 0, -EPIPE at an early EOF, or -errno. */
int lxm_read_all(int fd, void *buf, size_t len);
/* Read one line (without '\n') into buf; 0 on success, -EPIPE at EOF. */
int lxm_read_line(int fd, char *buf, size_t size);
/* Milliseconds of CLOCK_MONOTONIC. */
int64_t lxm_now_ms(void);
/* One line (without '\n') from a socket within ms; gives up early when the
 * process behind pidfd (-1: none) exits. A second line stays in the socket
 * for the next call. 0, -ETIMEDOUT, -ECONNRESET, -EPROTO (longer than
 * buf) or -errno. */
int lxm_read_line_within(int fd, int pidfd, int64_t ms, char *buf, size_t size);
/* Pass an fd over a unix socket (SCM_RIGHTS); recv gives the fd or -errno. */
int lxm_send_fd(int sock, int fd);
int lxm_recv_fd(int sock);
/* Fill a unix socket address with path: 0, or -ENAMETOOLONG if it does
 * not fit in sun_path. */
int lxm_sockaddr_un(struct sockaddr_un *sa, const char *path);

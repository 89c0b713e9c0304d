/* child_pipe: a forked child that reports back to its parent on a pipe
 * (the monitor's "ok" or its error, a mount helper's error message). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

/* fork with a pipe from the child to the parent (O_CLOEXEC both ends):
 * the pid, *fd the parent's read end; 0 in the child, *fd its write end;
 * <0 with err set ("pipe: ...", "fork: ...") and nothing left open. */
pid_t lxm_fork_piped(int *fd, struct lxm_error *err);

/* Read fd until its end, an error, or buf (size >= 1) is full less the
 * NUL that ends it; EINTR is retried. The length read. */
size_t lxm_read_message(int fd, char *buf, size_t size);

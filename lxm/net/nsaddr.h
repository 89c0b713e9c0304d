/* nsaddr: the addresses in the network namespace of a process, for a
 * command that lists many containers. One RTM_GETADDR dump of both
 * families on a plain netlink socket made in the namespace (no libnl
 * socket setup, no cache): the same addresses, in the same order, as
 * lxm_addr_list and lxm_addr6_list of every interface (the rules are
 * lxm_addr_listed and lxm_addr6_listed), for about a third of the system
 * calls. */
#pragma once

#include <sys/types.h>

#include "util/err.h"

/* IPv4 ("A.B.C.D/N") and IPv6 ("ADDR/N") addresses in the netns of pid,
 * each a NULL-terminated strv (empty, not NULL, when there are none).
 * home_ns is an fd of the caller's own netns, to return to (-1: opened
 * for the call); the calling thread is in pid's netns only while the
 * socket is made. 0 or -errno (and nothing in *v4, *v6). */
int lxm_nsaddr_list(pid_t pid, int home_ns, char ***v4, char ***v6, struct lxm_error *err);

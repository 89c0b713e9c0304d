/* logfile: reading a container's logs (containers' log dir): lxm.log,
 * what its monitor wrote (each line ISO-8601 timestamped), and
 * console.log, what init and its children wrote on the console. Both are
 * rotated to NAME.1 past 1 MiB; readers see the two as one log. */
#pragma once

#include <stdbool.h>

#include "config/container.h"
#include "util/err.h"

enum lxm_log_kind { LXM_LOG_MONITOR, LXM_LOG_CONSOLE };

/* Write the last `lines` lines (< 0: all) to out_fd. With follow, then
 * keep writing what is appended, across rotations, until interrupted
 * (SIGINT/SIGTERM end the process as usual). A log not written yet is
 * empty (and, with follow, waited for). */
int lxm_log_show(const struct lxm_container *c, enum lxm_log_kind kind, long lines, bool follow,
                 int out_fd, struct lxm_error *err);

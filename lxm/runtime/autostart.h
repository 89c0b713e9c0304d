/* autostart: the host's boot and shutdown of containers. `lxm autostart`
 * (ExecStart of lxm.service) starts every container with `autostart: true`
 * in autostart_order, lowest first, one at a time, waiting
 * autostart_delay after each; `lxm stop --all` (its ExecStop) stops every
 * running container in the reverse order, one order group at a time, the
 * containers of a group in parallel, each with its own stop timeout.
 * The library reports each container through a callback; the command
 * prints. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config/container.h"
#include "util/err.h"

/* The stop timeout when neither -t nor the container's stop_timeout says. */
#define LXM_STOP_TIMEOUT_DEFAULT_MS 30000

enum lxm_boot_result {
    LXM_BOOT_DONE,    /* started / stopped */
    LXM_BOOT_SKIPPED, /* already running / already stopped */
    LXM_BOOT_FAILED,  /* msg says why */
};

/* One container done: name, what happened, msg (the error for FAILED, else
 * NULL). Called in the order things finish. */
typedef void (*lxm_boot_report_fn)(const char *name, enum lxm_boot_result result, const char *msg,
                                   void *data);

/* The wait before a stop's SIGKILL: given_ms when >= 0 (-t), else the
 * container's stop_timeout, else LXM_STOP_TIMEOUT_DEFAULT_MS. cfg may be
 * NULL. */
int64_t lxm_stop_timeout_of(const struct lxm_config *cfg, int64_t given_ms);

/* Start every autostart container, ordered by (autostart_order, name);
 * one that fails (or whose config cannot be read) does not stop the
 * others. Returns the number that failed (0 = all fine), or -errno when
 * the containers could not even be listed. */
int lxm_autostart_run(const struct lxm_paths *paths, lxm_boot_report_fn report, void *data,
                      struct lxm_error *err);

/* Stop every running container: groups of equal autostart_order, highest
 * first; within a group each container is stopped by a process of its own,
 * at the same time, with lxm_stop_timeout_of(its config, given_ms).
 * Returns the number that failed, or -errno. */
int lxm_stop_all(const struct lxm_paths *paths, int64_t given_ms, lxm_boot_report_fn report,
                 void *data, struct lxm_error *err);

/* ready: when a started container is ready for use, and waiting for it.
 *
 * The monitor decides, once per boot (a reboot inside re-arms it):
 *   - a guest whose init speaks the notify protocol (systemd; config key
 *     `ready: notify`, or `auto` with an init that is systemd) is ready
 *     when init sends READY=1 on NOTIFY_SOCKET (/run/host/notify, a
 *     datagram socket of the monitor bound into the container; only
 *     messages from init's own pid count);
 *   - any other init (`ready: init`, or `auto`) is ready once it runs;
 *   - and in both cases only once every interface addressed by the
 *     managed bridge's DHCP holds its lease.
 * The monitor also keeps the guest's latest STATUS= line and the time
 * from start (or from the reboot) to ready. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config/container.h"
#include "runtime/runtime.h"
#include "runtime/state.h"
#include "util/err.h"

#define LXM_READY_TIMEOUT_MS 60000

struct lxm_ready_info {
    bool known; /* a live monitor answered */
    bool ready;
    bool notified;                     /* READY=1 came, or this boot does not wait for it */
    bool leased;                       /* every DHCP interface has its lease */
    int64_t boot_ms;                   /* start (or reboot) to ready; -1 until ready */
    char status[LXM_READY_STATUS_MAX]; /* the guest's last STATUS=, "" if none */
};

/* What the monitor of a running c says; known = false when c is stopped
 * or its monitor does not answer (out is zeroed, boot_ms -1). */
int lxm_ready_query(struct lxm_container *c, struct lxm_ready_info *out, struct lxm_error *err);

/* lxm_runtime_start, then wait up to timeout_ms for c to be ready
 * (timeout_ms < 0: return once init runs; -F's console never waits).
 * The lock is held from the start to a first look at readiness, then
 * released (the caller's too) before any wait. On expiry -ETIMEDOUT
 * and "NAME started but is not ready after N s (last status: ...)", and c
 * is left running; -ECHILD if it stopped before it was ready. */
int lxm_start_ready(struct lxm_container *c, const struct lxm_start_opts *opts, int64_t timeout_ms,
                    struct lxm_error *err);

enum lxm_wait_state { LXM_WAIT_READY, LXM_WAIT_RUNNING, LXM_WAIT_STOPPED };

/* "ready", "running", "stopped"; -EINVAL otherwise. */
int lxm_wait_state_parse(const char *s, enum lxm_wait_state *out);
const char *lxm_wait_state_name(enum lxm_wait_state s);

/* Wait until c is in state (running: init runs, ready or not), for up
 * to timeout_ms (< 0: no limit); 0 at once when it already is, else
 * -ETIMEDOUT with a message. Takes no lock. */
int lxm_wait(struct lxm_container *c, enum lxm_wait_state state, int64_t timeout_ms,
             struct lxm_error *err);

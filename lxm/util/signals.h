/* signals: a long copy interrupted by Ctrl-C must still clean up after
 * itself: block SIGINT/SIGTERM/SIGHUP around it, poll lxm_signals_pending()
 * between steps, clean up, then restore the mask (a pending signal then
 * takes its normal effect). No handler, so no process-wide state. */
#pragma once

#include <signal.h>
#include <stdbool.h>

void lxm_signals_block(sigset_t *old);
bool lxm_signals_pending(void);
void lxm_signals_restore(const sigset_t *old);

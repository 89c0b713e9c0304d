/* signals: Ctrl-C during a long copy (see signals.h). */
#include "util/signals.h"

static void interrupt_set(sigset_t *s)
{
    sigemptyset(s);
    sigaddset(s, SIGINT);
    sigaddset(s, SIGTERM);
    sigaddset(s, SIGHUP);
}

void lxm_signals_block(sigset_t *old)
{
    sigset_t s;
    interrupt_set(&s);
    sigprocmask(SIG_BLOCK, &s, old);
}

bool lxm_signals_pending(void)
{
    sigset_t p;
    if (sigpending(&p) < 0)
        return false;
    return sigismember(&p, SIGINT) == 1 || sigismember(&p, SIGTERM) == 1 ||
           sigismember(&p, SIGHUP) == 1;
}

void lxm_signals_restore(const sigset_t *old)
{
    sigprocmask(SIG_SETMASK, old, NULL);
}

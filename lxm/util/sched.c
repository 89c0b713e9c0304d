/* sched: back to the normal scheduling policy (sched.h). */
#include "util/sched.h"

#include <errno.h>
#include <sched.h>

int lxm_sched_normal(void)
{
    int policy = sched_getscheduler(0);
    if (policy < 0)
        return -errno;
    policy &= ~SCHED_RESET_ON_FORK;
    if (policy != SCHED_FIFO && policy != SCHED_RR)
        return 0;
    /* Lowering one's own policy needs no privilege. */
    struct sched_param sp = {.sched_priority = 0};
    return sched_setscheduler(0, SCHED_OTHER, &sp) < 0 ? -errno : 1;
}

/* state-name.c: the names of the container states, on their own: the
 * idle monitor (monitor-idle.c) answers with them and links nothing else
 * of the runtime. */
#include "runtime/runtime.h"

const char *lxm_state_name(enum lxm_state s)
{
    switch (s) {
    case LXM_STATE_STOPPED: return "STOPPED";
    case LXM_STATE_STARTING: return "STARTING";
    case LXM_STATE_RUNNING: return "RUNNING";
    case LXM_STATE_FROZEN: return "FROZEN";
    case LXM_STATE_STOPPING: return "STOPPING";
    case LXM_STATE_ABORTING: return "ABORTING";
    }
    return "UNKNOWN";
}

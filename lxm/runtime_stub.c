/* STUB: replaced by start.c/monitor.c/child.c/attach.c/console.c. */
#include "runtime.h"

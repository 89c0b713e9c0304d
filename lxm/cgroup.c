/* STUB: replaced by the cgroup module. */
#include "cgroup.h"

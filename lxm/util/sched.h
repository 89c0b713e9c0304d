/* sched: the processes of a container run under the normal scheduling
 * policy, whatever the lxm command that made them ran under. A command
 * started with `chrt -f` or `chrt -r` (a real-time policy) would pass it on
 * to the monitor, to init and to an attached command; a v1 cpu controller
 * refuses such a task into a group that has no real-time runtime
 * (cpu.rt_runtime_us = 0, the default of a new group), and a real-time
 * guest could starve the host. */
#pragma once

/* SCHED_FIFO or SCHED_RR: the calling thread goes to SCHED_OTHER (its
 * nice value kept). 1 when it did, 0 when there was nothing to do,
 * -errno when it could not. */
int lxm_sched_normal(void);

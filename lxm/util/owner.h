/* owner: a process identity that survives pid reuse, "PID-STARTTIME"
 * (start time in clock ticks since boot, from /proc/PID/stat). lxm puts it
 * in the name of every temporary file or tree it stages, so that the next
 * command can tell the staging of a dead command (a leftover to remove)
 * from that of one still running (to leave alone). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define OWNER_TAG_MAX 48

/* Start time of pid in clock ticks since boot; 0 if there is no such
 * process. */
uint64_t proc_starttime(pid_t pid);
/* The same and the process's state letter (R, S, D, T, t, Z, X...) from
 * one read of /proc/PID/stat; state is '?' when there is no such process. */
uint64_t proc_starttime_state(pid_t pid, char *state);

/* The calling process's tag ("1234-567890"); recomputed after a fork. */
const char *owner_tag(void);

/* Parse a tag at the start of s (it may go on after it, e.g. ".XXXXXX").
 * true and *pid, *start set if s starts with one. */
bool owner_tag_parse(const char *s, pid_t *pid, uint64_t *start);

/* Is the process named by the tag at the start of s still running? false
 * for a string that does not start with a tag. */
bool owner_tag_alive(const char *s);

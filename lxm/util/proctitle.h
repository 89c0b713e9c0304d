/* The command line `ps` shows for this process. */
#pragma once

/* Make /proc/self/cmdline read TITLE (words separated by spaces).
 * PR_SET_MM onto a buffer of our own when we hold CAP_SYS_RESOURCE; else
 * TITLE is written over the original argument strings (and, when they are
 * too short, the environment strings after them, which are copied to the
 * heap first), the way setproctitle(3) does. The original argv strings
 * must not be used afterwards. 0 or -errno (-ENOSPC: no room). */
int lxm_set_process_title(const char *title);

/* init_detect: which init a root filesystem boots, for rootfs trees whose
 * template cannot know it (--from tarballs, imported images). */
#pragma once

/* The halt signal the init at path init (absolute, inside rootfs) wants,
 * when it is one lxm knows: systemd (the file, after every symlink inside
 * the root, is named systemd) wants SIGRTMIN+3. 1 and *halt set when
 * known, 0 when not (missing, another init); never follows a link out of
 * rootfs. */
int lxm_init_detect_halt(const char *rootfs, const char *init, int *halt);

#include "util/err.h"

/* The oldest systemd that boots with only a cgroup2 hierarchy at
 * /sys/fs/cgroup (its unified mode came in 230). */
#define LXM_SYSTEMD_MIN_CGROUP2 230

/* Called inside the container, just before init is exec'd: when init is
 * systemd (after its symlinks) and its version (from libsystemd-shared-N.so
 * beside it, else the version string in the binary) is older than
 * LXM_SYSTEMD_MIN_CGROUP2, an error saying so; 0 otherwise (unknown
 * versions are let through). */
int lxm_init_check_cgroup2(const char *init, struct lxm_error *err);

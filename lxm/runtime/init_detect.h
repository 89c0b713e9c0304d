/* init_detect: which init a root filesystem boots, for rootfs trees whose
 * template cannot know it (--from tarballs, imported images). */
#pragma once

/* The inits lxm tells apart in a tree it did not build. */
enum lxm_init_kind {
    LXM_INIT_UNKNOWN = 0,
    LXM_INIT_SYSTEMD,         /* systemd */
    LXM_INIT_SYSVINIT,        /* sysvinit's init with its own rc scripts */
    LXM_INIT_SYSVINIT_OPENRC, /* sysvinit's init, OpenRC as its rc (openrc in the tree) */
    LXM_INIT_OPENRC,          /* openrc-init as PID 1 */
    LXM_INIT_BUSYBOX,         /* busybox init */
};

/* What an init is and the signals that halt and reboot it cleanly. */
struct lxm_init_info {
    enum lxm_init_kind kind;
    int halt, reboot;           /* 0 when kind is unknown */
};

/* The name of a kind as `-c template.init=` spells it where a template
 * has one: "systemd", "sysvinit", "openrc" (sysvinit + OpenRC, as the
 * debian template's), "openrc-init", "busybox"; "unknown". */
const char *lxm_init_kind_name(enum lxm_init_kind kind);

/* Which init the file init (absolute, inside rootfs) is, after every
 * symlink inside the root (never one out of it): by the name it ends at
 * (systemd, busybox, openrc-init), else by what the regular file says of
 * itself (sysvinit's INIT_VERSION, BusyBox's banner, OpenRC init's); a
 * sysvinit whose tree has /sbin/openrc is sysvinit + OpenRC. Nothing is
 * run. 1 and *out filled when known, 0 when not (missing, another init). */
int lxm_init_detect(const char *rootfs, const char *init, struct lxm_init_info *out);

#include "util/err.h"

/* Make a sysvinit tree's /etc/inittab (below rootfd) fit a container, as
 * the debian template's sysvinit setup does: the powerwait entry (what
 * SIGPWR runs) halts with "shutdown -h now", the ctrlaltdel entry (SIGINT)
 * reboots with "shutdown -r now" (each added when missing), the getty of
 * the first virtual terminal moves to the console and the other VT gettys
 * are commented out. Owner and mode are kept; nothing is run. 1 when the
 * file changed, 0 when there is none (or a symlink) or nothing to change,
 * -errno with err. */
int lxm_inittab_adapt(int rootfd, struct lxm_error *err);

/* The oldest systemd that boots with only a cgroup2 hierarchy at
 * /sys/fs/cgroup (its unified mode came in 230). */
#define LXM_SYSTEMD_MIN_CGROUP2 230

/* Called inside the container, just before init is exec'd: when init is
 * systemd (after its symlinks) and its version (from libsystemd-shared-N.so
 * beside it, else the version string in the binary) is older than
 * LXM_SYSTEMD_MIN_CGROUP2, an error saying so; 0 otherwise (unknown
 * versions are let through). */
int lxm_init_check_cgroup2(const char *init, struct lxm_error *err);

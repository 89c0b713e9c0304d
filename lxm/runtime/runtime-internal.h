/* runtime internals: what start.c, monitor.c, child.c, rootfs.c, attach.c
 * and console.c share (the child's boot arguments, the user namespace, the
 * rootfs setup; the state file and the monitor socket are state.h). Not
 * for other modules. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <termios.h>

#include "cgroup/cgroup.h"
#include "config/config.h"
#include "config/container.h"
#include "security/idmap.h"
#include "net/network.h"
#include "runtime/runtime.h"
#include "runtime/state.h"
#include "security/security.h"
#include "util/err.h"
#include "util/io.h"

/* lxm_runtime_start, and whether the guest was ready already when init
 * had been exec'd (*ready: the monitor said so in its verdict; the state
 * was RUNNING then, and no query is needed to know it). */
int lxm_runtime_start_tell(struct lxm_container *c, const struct lxm_start_opts *opts,
                           bool *ready, struct lxm_error *err);

/* Paths below rootfd as if it were "/" (rootfs.c): an O_PATH-style open
 * (openat2 RESOLVE_IN_ROOT, no magic links), mkdir -p, and a regular file
 * to bind onto (created if missing). fd or -errno. */
int lxm_rootfs_open_in_root(int rootfd, const char *path, int flags);
int lxm_rootfs_mkdir_in_root(int rootfd, const char *path);
int lxm_rootfs_touch_in_root(int rootfd, const char *path);


/* User namespace of a start (userns.c). */
struct lxm_storage_ops;
struct lxm_userns {
    bool enabled;                  /* false: privileged, no user ns */
    struct lxm_idmap map;
    enum lxm_idmap_method method;  /* rootfs layout, as recorded */
    const struct lxm_storage_ops *storage; /* the backend holding the rootfs */
    char image[4096];              /* the image tree under it, or "" */
};

/* Resolve the map (unprivileged) and bring the rootfs to the layout the
 * config asks for, recorded in containers/NAME/idmap.state. */
int lxm_userns_prepare(const struct lxm_container *c, const struct lxm_config *cfg,
                       struct lxm_userns *u, struct lxm_error *err);
/* The detached rootfs mount init attaches (idmapped with the user ns of
 * pid when the layout is idmapped); it goes to init over sync_fd. */
int lxm_userns_rootfs_fd(const struct lxm_container *c, const struct lxm_userns *u, pid_t pid,
                         struct lxm_error *err);
/* The same before init exists: idmapped with a throwaway user ns of the
 * same map, whose helper *h is for lxm_idmap_userns_reap later; the
 * mounts the rootfs was made from (struct lxm_storage_mount's layers, -1
 * for none) are the caller's to close, later too. */
int lxm_userns_rootfs_fd_early(const struct lxm_container *c, const struct lxm_userns *u,
                               struct lxm_userns_helper *h, int layers[2],
                               struct lxm_error *err);
/* The ids on disk of a stopped c's rootfs: *shifted (with *map) when
 * they are host ids (the shifted layout), else the container's own. */
int lxm_userns_disk_map(const struct lxm_container *c, struct lxm_idmap *map, bool *shifted,
                        struct lxm_error *err);
/* `mounts:` entries, idmapped with a namespace of the same map, attached
 * as DIR/0, DIR/1... on a tmpfs in the monitor's own mount namespace
 * before the clone: init's copy of that namespace then holds them with
 * their flags locked (container root cannot remount a read-only one rw),
 * and init clones them from its cwd (DIR). */
int lxm_userns_stage_mounts(const struct lxm_config *cfg, const struct lxm_userns *u,
                            const char *dir, struct lxm_error *err);

/* Everything the monitor hands the child across clone3. */
struct lxm_boot {
    struct lxm_container *c;
    struct lxm_config *cfg;
    struct lxm_seccomp *seccomp;
    char *apparmor_profile;
    int sync_fd;  /* socket: child reads one byte = go, then the
                   * rootfs mount fd; sends the console pty
                   * master back */
    int error_fd; /* child writes its failure, CLOEXEC */
    bool notify;  /* the notify socket's mount follows the rootfs on sync_fd */
    bool locked;  /* lxm_mounts_locked(): the rootfs with /proc, /sys
                   * and the masks waits in cwd/LXM_STAGE_ROOT instead
                   * of coming over sync_fd */
};

/* The monitor's whole life after the start command forked it; never
 * returns. result_fd gets "ok\n" or the error message. */
void lxm_monitor_main(struct lxm_container *c, int result_fd) __attribute__((noreturn));
/* The child's failure: err's message to error_fd (the monitor reads it
 * as the start's error), then exit; never returns. */
void lxm_child_fail(int error_fd, const struct lxm_error *err) __attribute__((noreturn));
/* In the new namespaces: set up the rootfs, exec init; never returns. */
void lxm_child_main(struct lxm_boot *b) __attribute__((noreturn));
/* Mount everything below the rootfs and pivot into it. The console pty
 * comes from the container's own devpts (a remount by the guest then
 * touches only its own instance); its master is sent over sync_fd. */
int lxm_rootfs_setup(const struct lxm_boot *b, struct lxm_error *err);
/* Contexts of fsopen("proc") and fsopen("sysfs") made for another process's
 * namespaces (rootfs-lock.c); each is closed by the call it is given to. */
struct lxm_kernel_fs {
    int proc, sysfs;
};
/* /proc, a read-only /sys, then the policy's masked and read-only paths,
 * below rootfd; proc and sysfs from fs when not NULL (new ones for the
 * caller's namespaces otherwise). A masked directory gets a read-only bind
 * of empty (an empty directory; -1: a read-only tmpfs of its own). */
int lxm_rootfs_kernel_fs(int rootfd, const struct lxm_config *cfg, const struct lxm_kernel_fs *fs,
                         int empty, struct lxm_error *err);
/* A boot id of its own bound over /proc/sys/kernel/random/boot_id (the
 * file is made in tmpdir, on a filesystem that is there anyway: the
 * container's /dev or the host's, and unlinked once bound); best effort. Locked
 * too when mounts are: systemd unmounts what it can below /proc before it
 * tries a proc of its own for a service (ProtectProc=), and gives up if
 * it took anything away. */
void lxm_rootfs_boot_id(int rootfd, int tmpdir);

/* Locked kernel filesystems and masks (rootfs-lock.c). The one switch:
 * true unless the container is privileged, nesting or unconfined. When
 * true, init is cloned without a mount namespace of its own (it shares the
 * monitor's), the monitor calls lxm_rootfs_lock_build() before releasing
 * it, and init unshares its mount namespace then: the copy, owned by its
 * user namespace, holds proc, sysfs and the masks locked. */
bool lxm_mounts_locked(const struct lxm_config *cfg);
#define LXM_STAGE_ROOT "root"
/* Below the run dir (no container name starts with a dot). */
#define LXM_STAGE_DIR ".stage"
/* Attach rootfd at STAGE/root (in the monitor's own mount namespace) and
 * mount the kernel filesystems and masks on it, with host credentials,
 * proc and sysfs for the pid and network namespaces of init (pidfd): made
 * by the caller where the kernel lets proc take a pid namespace, else
 * from a helper forked into them; a directory it has to make is owned by
 * uid:gid (container root on the host). The boot id's file is made in
 * run_dir (RUN/NAME); the masks bind RUN/.empty. */
int lxm_rootfs_lock_build(const struct lxm_config *cfg, int pidfd, const char *stage,
                          const char *run_dir, int rootfd, uid_t uid, gid_t gid,
                          struct lxm_error *err);

/* Environment for init and attached processes (container=lxm, PATH...). */
char **lxm_container_env(const struct lxm_config *cfg, const char *term, const char *home,
                         char *const *extra);
/* Apply caps, AppArmor and seccomp of the policy to the calling process. */
int lxm_apply_security(const struct lxm_config *cfg, struct lxm_seccomp *seccomp,
                       const char *apparmor_profile, struct lxm_error *err);

/* Terminal helpers (console.c). */
int lxm_tty_raw(int fd, struct termios *saved);
void lxm_tty_restore(int fd, const struct termios *saved);
void lxm_tty_copy_winsize(int from, int to);
/* Relay between the local side (in/out) and a remote fd until the
 * remote closes, the escape (Ctrl-a q) is typed under LXM_RELAY_ESCAPE,
 * or child exits (SIGCHLD on sfd; other signals on sfd go to child).
 * LXM_RELAY_FEED_EOF: once in has ended (a pipe, not a terminal), ^D is
 * typed on the remote pty whenever it is idle. Returns 0, or 1 on detach. */
enum { LXM_RELAY_ESCAPE = 1u << 0, LXM_RELAY_FEED_EOF = 1u << 1 };
int lxm_relay(int in, int out, int remote, unsigned flags, int sfd, pid_t child);

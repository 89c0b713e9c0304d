/* Paths inside a container's root: every lookup is openat2 with
 * RESOLVE_IN_ROOT, so ".." and absolute symlinks stop at the root (as if
 * chrooted there) and /proc magic links are refused. A rootfs is
 * untrusted input; nothing below may reach a host path through it. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* openat2(2) with O_CLOEXEC added (EAGAIN, a rename racing a ".." walk
 * under RESOLVE_IN_ROOT, is retried a bounded number of times); the fd or
 * -errno. */
int lxm_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve);

/* openat2(rootfd, path, flags|O_CLOEXEC, mode) resolved in rootfd; a
 * leading '/' is allowed and "" or "/" is the root itself. fd or -errno. */
int lxm_open_in_root(int rootfd, const char *path, int flags, mode_t mode);

/* mkdir -p of path inside the root, mode 0755 for what it creates, each
 * component opened in the root before the next is made. Returns an
 * O_PATH fd of the directory or -errno. */
int lxm_mkdir_in_root(int rootfd, const char *path);

/* Read a small regular file inside the root (opened O_NONBLOCK so a FIFO
 * planted there cannot hang us; anything but a regular file is -EINVAL,
 * more than max bytes -EFBIG). NUL-terminated; 0 or -errno. */
int lxm_read_in_root(int rootfd, const char *path, size_t max, char **out, size_t *len);

/* Replace dfd/name with data: a new file beside it (".NAME.lxm-XXXXXXXX",
 * O_EXCL|O_NOFOLLOW, so nothing planted there is followed), owned by
 * uid:gid (unchanged when uid is (uid_t)-1), mode, then renamed over name;
 * readers see the old or the new file. The temp file is removed on
 * failure. No fsync: callers sync the tree. 0 or -errno. */
int lxm_replace_at(int dfd, const char *name, const char *data, size_t len, mode_t mode,
                   uid_t uid, gid_t gid);

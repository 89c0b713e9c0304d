/* Paths inside a container's root, opened through openat2(2) so that a
 * symlink in the tree ("/etc -> /", "../../..") is resolved as if chrooted
 * into it and can never lead to a host path. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* openat2(2) with O_CLOEXEC added; the fd or -errno. */
int lxm_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve);

/* path (leading slashes ignored; "" or "/" is the root itself) beneath
 * rootfd with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS; the fd or -errno. */
int open_in_root(int rootfd, const char *path, int flags, mode_t mode);

/* mkdir -p of path inside the root, mode 0755 for what it creates, each
 * component opened in the root before the next is made. Returns an
 * O_PATH fd of the directory or -errno. */
int mkdir_in_root(int rootfd, const char *path);

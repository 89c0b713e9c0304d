/* copy: a whole-tree copy that keeps everything a rootfs needs — owners,
 * modes, times (ns), xattrs (so ACLs and file capabilities), hard links,
 * device nodes, FIFOs, sockets, immutable/append-only flags — and shares
 * file data by reflink (FICLONE) where the filesystem can. */
#pragma once

#include <stdint.h>

#include "util/err.h"

enum {
    /* Share each regular file's blocks with FICLONE when the filesystem
     * can (btrfs, XFS with reflink, bcachefs); copy bytes otherwise. */
    LXM_COPY_REFLINK = 1u << 0,
};

struct lxm_copy_stats {
    uint64_t files;     /* regular files written */
    uint64_t reflinked; /* of which shared by FICLONE */
    uint64_t bytes;     /* bytes copied the slow way */
};

/* Copy the tree src into the existing empty directory dst (whose owner,
 * mode, xattrs and times become src's). Symlinks are copied, never
 * followed; a directory on another filesystem (a mount point, a nested
 * btrfs subvolume) is copied as an empty directory, not entered. stats may
 * be NULL. On error dst holds a partial tree: the caller removes it. */
int lxm_copy_tree(const char *src, const char *dst, unsigned flags, struct lxm_copy_stats *stats,
                  struct lxm_error *err);

/* idmap: everything about user-namespace id maps. It owns the syntax of
 * security.idmap, root's subordinate ranges (/etc/subuid, /etc/subgid) and
 * per-container isolated blocks, writing a child's uid_map/gid_map, idmapped
 * mounts, and the ownership-shifting fallback (uids, gids, POSIX ACLs,
 * security.capability) for filesystems that cannot be idmapped. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

#define LXM_IDMAP_MAX_RANGES 32
/* The range "auto" writes for root when /etc/subuid has no line for it. */
#define LXM_IDMAP_DEFAULT_START 1000000u
#define LXM_IDMAP_DEFAULT_COUNT 65536u
/* Size of the map "auto" gives a container, and of an isolated block. */
#define LXM_IDMAP_BLOCK 65536u

/* ns_id..ns_id+count-1 inside the namespace is host_id..host_id+count-1. */
struct lxm_idmap_range {
    uint32_t ns_id;
    uint32_t host_id;
    uint32_t count;
};

/* uid and gid maps are kept apart: "0 1000000 65536" fills both, while
 * "u ..." / "g ..." lines (see docs/userns.md) fill one of them. */
struct lxm_idmap {
    struct lxm_idmap_range uid[LXM_IDMAP_MAX_RANGES];
    size_t n_uid;
    struct lxm_idmap_range gid[LXM_IDMAP_MAX_RANGES];
    size_t n_gid;
};

/* Where root's subordinate ids live. NULL members mean /etc/subuid and
 * /etc/subgid; tests point them at temp files. default_count 0 means the
 * built-in default range; else default_start/default_count (lxm.yaml
 * idmap.range "START:COUNT") is what root gets when it has no line. */
struct lxm_subid_files {
    const char *subuid;
    const char *subgid;
    uint32_t default_start;
    uint32_t default_count;
};

/* Parse lxm.yaml's idmap.range: "auto" (leaves the built-in default) or
 * "START:COUNT" (COUNT >= 65536) into files->default_start/count. */
int lxm_idmap_parse_default_range(const char *text, struct lxm_subid_files *files,
                                  struct lxm_error *err);

/* One user's allocation read from a subuid/subgid file. */
struct lxm_subid_set {
    struct lxm_idmap_range r[LXM_IDMAP_MAX_RANGES]; /* ns_id unused (0) */
    size_t n;
};

/* Parse an explicit map: entries separated by newlines, ';' or ','; each
 * entry is "[u|g|b] NSID HOSTID COUNT" (no prefix = both), and a bare
 * line may hold several triples. Checks the syntax, count >= 1, ranges
 * inside 0..4294967294, no overlap (inside or on the host side), and that
 * container uid 0 and gid 0 are mapped. "auto" is not accepted here. */
int lxm_idmap_parse(const char *text, struct lxm_idmap *map, struct lxm_error *err);

/* The canonical text of a map ("0 1000000 65536" when uid and gid maps
 * are equal, else "u ..." and "g ..." lines joined by "; "). Caller frees. */
char *lxm_idmap_format(const struct lxm_idmap *map);

/* Read USER's lines ("root" or "0" for root) from a subuid/subgid file.
 * A missing file is an empty set. Malformed lines of other users are
 * ignored; malformed lines of USER are an error. */
int lxm_subid_read(const char *file, const char *user, struct lxm_subid_set *out,
                   struct lxm_error *err);

/* Check that every host range of the map lies inside root's allocation:
 * "idmap 0 1000000 100000: larger than root's allocation in /etc/subuid
 * (65536 ids at 1000000)". An empty allocation stands for the default. */
int lxm_idmap_check_allocation(const struct lxm_idmap *map, const struct lxm_subid_set *uids,
                               const struct lxm_subid_set *gids,
                               const struct lxm_subid_files *files, struct lxm_error *err);

/* Give root the default range (1000000:65536) in each file that has no
 * line for it, by an atomic rewrite; refuses when another user already
 * owns part of that range. Fills the (possibly new) allocations. */
int lxm_subid_ensure_root(const struct lxm_subid_files *files, struct lxm_subid_set *uids,
                          struct lxm_subid_set *gids, struct lxm_error *err);

/* security.idmap -> map. spec NULL or "auto": container 0..65535 on the
 * start of root's allocation (written first if absent). Explicit: parsed
 * and checked against root's allocation; on bad input nothing is written. */
int lxm_idmap_resolve(const char *spec, const struct lxm_subid_files *files, struct lxm_idmap *map,
                      struct lxm_error *err);

/* An isolated map for container NAME: a 65536-id block of root's
 * allocation that overlaps neither the "auto" block nor another
 * container's block. Blocks are recorded in STATE_DIR/idmap-isolated
 * (under a lock); asking again for the same name returns the same block. */
int lxm_idmap_allocate_isolated(const char *state_dir, const char *name,
                                const struct lxm_subid_files *files, struct lxm_idmap *map,
                                struct lxm_error *err);
/* Forget NAME's block (container deleted). Unknown names are fine. */
int lxm_idmap_release_isolated(const char *state_dir, const char *name, struct lxm_error *err);

/* Id translation: -1 when the id is not mapped. */
int64_t lxm_idmap_range_to_host(const struct lxm_idmap_range *r, size_t n, uint32_t ns_id);
int64_t lxm_idmap_range_to_ns(const struct lxm_idmap_range *r, size_t n, uint32_t host_id);
/* Host uid/gid of container root (for chown of delegated cgroups, run
 * dirs, ...). false when 0 is not mapped. */
bool lxm_idmap_host_root(const struct lxm_idmap *map, uid_t *uid, gid_t *gid);

/* Write /proc/PID/uid_map then gid_map. setgroups is left allowed (a
 * privileged writer does not need "deny", and systemd inside calls
 * setgroups). Each file takes the whole map in one write. */
int lxm_idmap_write(pid_t pid, const struct lxm_idmap *map, struct lxm_error *err);

/* In init, once released (maps written): become uid/gid 0 of the user ns
 * with no supplementary groups. Until then init runs as an unmapped id,
 * and creating files fails with EOVERFLOW. */
int lxm_idmap_become_root(struct lxm_error *err);

/* A user namespace with this map when no container exists yet: a helper
 * child is cloned into a new user ns, its maps written, its
 * /proc/PID/ns/user opened, and the child reaped. Returns the fd. */
int lxm_idmap_userns_open(const struct lxm_idmap *map, struct lxm_error *err);
/* The same, without waiting for the helper to exit (on a busy host that
 * wait is a scheduler tick, milliseconds): it exits on its own, and *h is
 * for lxm_idmap_userns_reap later (its stack is ours until then). */
struct lxm_userns_helper {
    pid_t pid; /* 0: none */
    char *stack;
};
int lxm_idmap_userns_open_nowait(const struct lxm_idmap *map, struct lxm_userns_helper *h,
                                 struct lxm_error *err);
void lxm_idmap_userns_reap(struct lxm_userns_helper *h);

enum {
    LXM_IDMAP_MOUNT_RECURSIVE = 1 << 0, /* clone submounts too (AT_RECURSIVE) */
    LXM_IDMAP_MOUNT_RDONLY = 1 << 1,    /* MOUNT_ATTR_RDONLY on the clone */
};

/* A detached, idmapped clone of SOURCE (open_tree(OPEN_TREE_CLONE) +
 * mount_setattr(MOUNT_ATTR_IDMAP, userns_fd)), propagation slave. The
 * caller attaches it with move_mount(fd, "", AT_FDCWD, target,
 * MOVE_MOUNT_F_EMPTY_PATH), typically from the container's init after
 * receiving the fd: a process in the new user ns may attach it in its own
 * mount ns even when it could not walk the path to SOURCE. userns_fd -1
 * gives a plain (not idmapped) clone with the same flags, for privileged
 * containers and shifted rootfs. Returns the fd. */
int lxm_idmap_mount_open(int userns_fd, const char *source, unsigned flags, struct lxm_error *err);

/* 1 when the filesystem holding DIR can be idmapped, 0 when not, -errno
 * on other failures. Nothing is mounted or written. userns_fd may be -1
 * (a throwaway namespace is made). */
int lxm_idmap_mount_supported(const char *dir, int userns_fd, struct lxm_error *err);

/* How a rootfs's ownership matches the container. The caller records it
 * in the container's config so conversion knows what to undo. */
enum lxm_idmap_method {
    LXM_IDMAP_METHOD_NONE,     /* privileged: ids on disk are the container's */
    LXM_IDMAP_METHOD_IDMAPPED, /* unshifted on disk, idmapped mount at start */
    LXM_IDMAP_METHOD_SHIFTED,  /* on-disk ids shifted to the host range */
};
const char *lxm_idmap_method_name(enum lxm_idmap_method m);
/* -EINVAL for an unknown name. */
int lxm_idmap_method_from_name(const char *name, enum lxm_idmap_method *out);

/* Pick the method for an unprivileged rootfs: IDMAPPED when the
 * filesystem supports it, SHIFTED otherwise. */
int lxm_idmap_choose_method(const char *rootfs, const struct lxm_idmap *map,
                            enum lxm_idmap_method *out, struct lxm_error *err);

/* Bring a rootfs from its current layout (FROM; FROM_MAP when it is not
 * NONE) to what TO_MAP needs (NULL = privileged): unshift a shifted tree,
 * then pick IDMAPPED when the filesystem can, else shift. Same map in and
 * out is a no-op. *OUT is the method to record. Crash-safe to rerun with
 * the same arguments (see lxm_idmap_shift_tree). */
int lxm_idmap_convert_rootfs(const char *rootfs, enum lxm_idmap_method from,
                             const struct lxm_idmap *from_map, const struct lxm_idmap *to_map,
                             enum lxm_idmap_method *out, struct lxm_error *err);

enum lxm_idmap_direction {
    LXM_IDMAP_TO_HOST, /* container ids -> host ids (make unprivileged) */
    LXM_IDMAP_TO_NS,   /* host ids -> container ids (back to privileged) */
};

struct lxm_idmap_shift_stats {
    uint64_t inodes;      /* inodes whose owner changed */
    uint64_t acls;        /* ACL xattrs rewritten */
    uint64_t fcaps;       /* security.capability xattrs rewritten */
    uint64_t unmapped;    /* inodes left alone: id outside the map */
    uint64_t mountpoints; /* directories on another fs, not entered */
};

/* Shift the ownership of the tree at ROOT (ROOT included) once. Never
 * follows a symlink, works fd-relative, stays on ROOT's filesystem, keeps
 * setuid/setgid bits, rewrites POSIX ACLs and file capabilities. Needs
 * disjoint container and host ranges, which also makes a rerun after an
 * interruption safe (already shifted ids are outside the source range). */
int lxm_idmap_shift_tree(const char *root, const struct lxm_idmap *map,
                         enum lxm_idmap_direction dir, struct lxm_idmap_shift_stats *stats,
                         struct lxm_error *err);

/* In-place shift of the ids in a system.posix_acl_access/default value.
 * Returns the number of ids changed, or -EINVAL for a malformed value. */
int lxm_idmap_shift_acl(void *value, size_t len, const struct lxm_idmap *map,
                        enum lxm_idmap_direction dir);

/* Rewrite a security.capability value for the shifted tree. The root id
 * the caps belong to (0 for v1/v2, rootid for v3) is shifted like a uid;
 * the result is v2 when it comes out as 0, else v3 with that rootid (v1's
 * 32-bit sets are widened). OUT must hold 24 bytes. Returns the new
 * length, -ERANGE when the root id is not mapped, -EINVAL for a malformed
 * value. */
ssize_t lxm_idmap_shift_fcaps(const void *in, size_t len, void *out, const struct lxm_idmap *map,
                              enum lxm_idmap_direction dir);

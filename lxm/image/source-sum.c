/* source-sum.c: the SHA-256 of a template's source file (the host's
 * busybox, a rootfs tarball), remembered by its identity on disk.
 *
 * A create names its image by a recipe that includes its source's sum;
 * hashing the 2 MB busybox took a third of a warm busybox create's CPU.
 * The sum is kept in CACHE/source-sums/HASH-OF-PATH (CACHE is /var/cache/lxm)
 * with the file's device,
 * inode, size, mtime and ctime, and used while all of them are unchanged.
 * Any write to the file or replacement of it changes its ctime (which no
 * user can set) or its inode. A change within the same clock tick as the
 * hashing could go unseen, so a sum is only recorded for a file whose
 * ctime is older than SETTLED_NS at the time of hashing, and unchanged
 * across it (git's "racy clean" rule, in short). A record that is torn,
 * stale or gone only costs a hash. */
#include "image/source-sum.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/paths.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/sha256.h"

#define SUMS_DIR "source-sums"
#define SETTLED_NS (2 * 1000000000LL)

static long long ns_of(const struct timespec *t)
{
    return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* The record's first line for the file as st describes it. */
static char *identity(const struct stat *st, const char *file)
{
    return xasprintf("v1 %" PRIu64 " %" PRIu64 " %lld %lld %lld %s", (uint64_t)st->st_dev,
                     (uint64_t)st->st_ino, (long long)st->st_size, ns_of(&st->st_mtim),
                     ns_of(&st->st_ctim), file);
}

static char *record_path(const struct lxm_paths *paths, const char *file)
{
    uint32_t h = lxm_fnv1a(LXM_FNV1A_INIT, file);
    return paths->cache ? xasprintf("%s/" SUMS_DIR "/%08x", paths->cache, h) : NULL;
}

/* The remembered sum, if the record describes the file as it is now. */
static bool recall(const char *rec, const char *id, char sum[65])
{
    _cleanup_free_ char *text = NULL;
    if (!rec || !id || read_file(rec, &text, NULL) < 0)
        return false;
    char *nl = strchr(text, '\n');
    if (!nl)
        return false;
    *nl = '\0';
    const char *s = nl + 1;
    if (strcmp(text, id) != 0 || strlen(s) != 65 || s[64] != '\n' || strspn(s, "0123456789abcdef") != 64)
        return false;
    memcpy(sum, s, 64);
    sum[64] = '\0';
    return true;
}

static void remember(const struct lxm_paths *paths, const char *rec, const char *id,
                     const char *sum)
{
    _cleanup_free_ char *dir = xasprintf("%s/" SUMS_DIR, paths->cache);
    _cleanup_free_ char *text = xasprintf("%s\n%s\n", id, sum);
    if (!dir || !text || mkdir_p(dir, 0700) < 0)
        return;
    (void)write_file_replace(rec, text, strlen(text), 0600);
}

int lxm_source_sum(const struct lxm_paths *paths, const char *file, char sum[65])
{
    _cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat before, after;
    if (fd < 0 || fstat(fd, &before) < 0)
        return -errno;
    _cleanup_free_ char *id = S_ISREG(before.st_mode) ? identity(&before, file) : NULL;
    _cleanup_free_ char *rec = id ? record_path(paths, file) : NULL;
    if (recall(rec, id, sum))
        return 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int r = sha256_fd(fd, sum);
    if (r < 0)
        return r;
    if (rec && fstat(fd, &after) == 0 && ns_of(&after.st_ctim) == ns_of(&before.st_ctim) &&
        ns_of(&after.st_mtim) == ns_of(&before.st_mtim) && after.st_size == before.st_size &&
        ns_of(&before.st_ctim) < ns_of(&now) - SETTLED_NS)
        remember(paths, rec, id, sum);
    return 0;
}

/* seccomp-cache: compiled seccomp programs kept as raw classic BPF in a
 * root-only directory, RUN/.seccomp (no container name starts with a dot),
 * one file per set of inputs, so that a start or an attach whose filter was
 * compiled before loads it with one read instead of running libseccomp for
 * every ABI.
 *
 * The file name is the SHA-256 of everything that shapes the program: the
 * policy's seccomp section and the parts of it lxm_seccomp_compile checks
 * (capabilities, no_new_privs), the lxm binary that compiles it (its
 * device, inode, size and mtime: a rebuilt or upgraded lxm never reuses an
 * older one's program) and the kernel release and machine. A changed policy
 * is a different file; an entry is never edited in place.
 *
 * A file is used only if it is a regular file owned by us, writable by no
 * one else, in a directory of the same kind, and its header names the same
 * key, its length and the SHA-256 of its instructions: anything else (a
 * torn or corrupt file, a hand edit) is compiled again and replaced. */
#include "security/seccomp-cache.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/sha256.h"

#define CACHE_MAGIC "LXMBPF1\n"
/* Bump when lxm_seccomp_compile changes what it makes of the same policy
 * (the binary's identity covers a rebuild too; this is for the record). */
#define CACHE_FORMAT "lxm-seccomp-cache 1"

struct cache_header {
    char magic[8];
    uint32_t n_insns; /* 0: the policy needs no filter */
    uint32_t reserved;
    char key[64]; /* hex SHA-256 of the inputs, as in the file name */
    char sum[64]; /* hex SHA-256 of the instructions */
};

static void hash_str(struct sha256_ctx *h, const char *s)
{
    /* Length-prefixed, and NULL apart from "": no two inputs collide. */
    uint64_t len = s ? strlen(s) : UINT64_MAX;
    sha256_update(h, &len, sizeof(len));
    if (s)
        sha256_update(h, s, strlen(s));
}

static void hash_strv(struct sha256_ctx *h, char *const *v)
{
    uint64_t n = 0;
    if (!v)
        n = UINT64_MAX;
    else
        while (v[n])
            n++;
    sha256_update(h, &n, sizeof(n));
    for (size_t i = 0; v && v[i]; i++)
        hash_str(h, v[i]);
}

/* The compiling binary and the kernel it runs on. */
static int hash_host(struct sha256_ctx *h)
{
    struct stat st;
    struct utsname u;
    if (stat("/proc/self/exe", &st) < 0)
        return -errno;
    if (uname(&u) < 0)
        return -errno;
    uint64_t id[5] = {st.st_dev, st.st_ino, (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec,
                      (uint64_t)st.st_mtim.tv_nsec};
    sha256_update(h, id, sizeof(id));
    hash_str(h, u.release);
    hash_str(h, u.machine);
    return 0;
}

int lxm_seccomp_cache_key(const struct lxm_policy *p, char key[65])
{
    struct sha256_ctx h;
    sha256_init(&h);
    hash_str(&h, CACHE_FORMAT);
    int r = hash_host(&h);
    if (r < 0)
        return r;
    hash_str(&h, p->seccomp_default);
    uint64_t n = (uint64_t)p->n_seccomp_rules;
    sha256_update(&h, &n, sizeof(n));
    for (int i = 0; i < p->n_seccomp_rules; i++) {
        hash_str(&h, p->seccomp_rules[i].action);
        hash_strv(&h, p->seccomp_rules[i].syscalls);
    }
    hash_strv(&h, p->caps_drop);
    hash_strv(&h, p->caps_keep);
    uint8_t nnp = p->no_new_privs;
    sha256_update(&h, &nnp, 1);
    sha256_final_hex(&h, key);
    return 0;
}

static void insns_sum(const struct sock_filter *insns, size_t n, char sum[65])
{
    struct sha256_ctx h;
    sha256_init(&h);
    sha256_update(&h, insns, n * sizeof(*insns));
    sha256_final_hex(&h, sum);
}

/* Ours alone: owned by our euid, no write bit for group or others. */
static bool private_to_us(const struct stat *st)
{
    return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* The directory, made if missing; -EPERM when someone else could write it. */
static int open_dir(const char *dir)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || !private_to_us(&st)) {
        close(fd);
        return -EPERM;
    }
    return fd;
}

/* 1 and *out (NULL: no filter) from a valid entry; 0 when there is none
 * usable; never a partly checked program. */
static int cache_read(int dfd, const char *key, struct lxm_seccomp **out)
{
    _cleanup_close_ int fd = openat(dfd, key, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    struct cache_header hd;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !private_to_us(&st) ||
        st.st_size < (off_t)sizeof(hd) ||
        st.st_size > (off_t)(sizeof(hd) + BPF_MAXINSNS * sizeof(struct sock_filter)))
        return 0;
    size_t len = (size_t)st.st_size - sizeof(hd);
    _cleanup_free_ struct sock_filter *insns = malloc(len ? len : 1);
    if (!insns || pread(fd, &hd, sizeof(hd), 0) != (ssize_t)sizeof(hd) ||
        (len && pread(fd, insns, len, sizeof(hd)) != (ssize_t)len))
        return 0;
    char sum[65];
    insns_sum(insns, len / sizeof(*insns), sum);
    if (memcmp(hd.magic, CACHE_MAGIC, sizeof(hd.magic)) != 0 ||
        memcmp(hd.key, key, sizeof(hd.key)) != 0 || (size_t)hd.n_insns * sizeof(*insns) != len ||
        memcmp(hd.sum, sum, sizeof(hd.sum)) != 0)
        return 0;
    *out = NULL;
    if (hd.n_insns > 0 && !(*out = lxm_seccomp_from_program(insns, hd.n_insns)))
        return -ENOMEM;
    return 1;
}

/* Best effort: a cache that cannot be written only costs the next compile. */
static void cache_write(const char *dir, const char *key, const struct lxm_seccomp *s)
{
    size_t n;
    const struct sock_filter *insns = lxm_seccomp_program(s, &n);
    struct cache_header hd = {.n_insns = (uint32_t)n};
    char sum[65];
    memcpy(hd.magic, CACHE_MAGIC, sizeof(hd.magic));
    memcpy(hd.key, key, sizeof(hd.key));
    insns_sum(insns, n, sum);
    memcpy(hd.sum, sum, sizeof(hd.sum));
    size_t len = sizeof(hd) + n * sizeof(*insns);
    _cleanup_free_ char *buf = malloc(len);
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, key);
    if (!buf || !path)
        return;
    memcpy(buf, &hd, sizeof(hd));
    if (n)
        memcpy(buf + sizeof(hd), insns, n * sizeof(*insns));
    (void)write_file_atomic(path, buf, len, 0600);
}

int lxm_seccomp_cached(const struct lxm_policy *p, const char *run, struct lxm_seccomp **out,
                       struct lxm_error *err)
{
    char key[65];
    *out = NULL;
    if (!p->seccomp_default)
        return 0; /* no filter, nothing to compile */
    _cleanup_free_ char *dir = run ? xasprintf("%s/.seccomp", run) : NULL;
    _cleanup_close_ int dfd = dir ? open_dir(dir) : -1;
    if (dfd >= 0 && lxm_seccomp_cache_key(p, key) == 0) {
        int r = cache_read(dfd, key, out);
        if (r < 0)
            return lxm_error_set(err, -r, "seccomp: out of memory");
        if (r == 1)
            return 0;
    } else {
        dfd = -1;
    }
    int r = lxm_seccomp_compile(p, out, err);
    if (r == 0 && dfd >= 0)
        cache_write(dir, key, *out);
    return r;
}

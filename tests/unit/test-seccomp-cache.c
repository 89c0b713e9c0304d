/* seccomp-cache: an entry is made once and then read back; a changed policy
 * is a new entry with a new program; a corrupt, truncated, foreign or
 * loosely permitted entry is never loaded (it is compiled again and
 * replaced); a directory others may write is not used at all. Real files
 * in a temporary run directory; the programs are compared with what
 * lxm_seccomp_compile makes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "security/seccomp-cache.h"
#include "tap.h"
#include "util/fs.h"

static char *deny_calls[] = {"kexec_load", "open_by_handle_at", NULL};
static char *nosys_calls[] = {"keyctl", NULL};
static char *more_calls[] = {"kexec_load", "open_by_handle_at", "mount", NULL};

static char run[] = "/tmp/lxm-test-seccomp-cache.XXXXXX";
static char dir[256], path[512];

static struct lxm_seccomp_rule rules[] = {{"errno EPERM", deny_calls},
                                          {"errno ENOSYS", nosys_calls}};

static struct lxm_policy policy(void)
{
    struct lxm_policy p = {0};
    p.seccomp_default = "allow";
    p.seccomp_rules = rules;
    p.n_seccomp_rules = 2;
    return p;
}

static bool same_program(const struct lxm_seccomp *a, const struct lxm_seccomp *b)
{
    size_t na, nb;
    const struct sock_filter *fa = lxm_seccomp_program(a, &na), *fb = lxm_seccomp_program(b, &nb);
    return na == nb && (na == 0 || memcmp(fa, fb, na * sizeof(*fa)) == 0);
}

static int n_entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* The entry of p: its path in `path`, 0 or -errno. */
static int entry_of(const struct lxm_policy *p)
{
    char key[65];
    int r = lxm_seccomp_cache_key(p, key);
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    return r;
}

/* Through the cache; is it the program lxm_seccomp_compile makes? */
static bool cached_is_compiled(const struct lxm_policy *p, const char *what)
{
    struct lxm_seccomp *c = NULL, *fresh = NULL;
    struct lxm_error err = {0};
    int r = lxm_seccomp_cached(p, run, &c, &err);
    if (r < 0)
        printf("# %s: %s\n", what, err.msg);
    bool same = r == 0 && lxm_seccomp_compile(p, &fresh, &err) == 0 && same_program(c, fresh);
    lxm_seccomp_free(c);
    lxm_seccomp_free(fresh);
    return same;
}

static void flip_byte(off_t at)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    unsigned char b = 0;
    if (fd >= 0 && pread(fd, &b, 1, at) == 1) {
        b ^= 0x40;
        (void)!pwrite(fd, &b, 1, at);
    }
    if (fd >= 0)
        close(fd);
}

static void test_hit_and_miss(void)
{
    struct lxm_policy p = policy();
    ok(cached_is_compiled(&p, "first"), "first use compiles the program");
    ok(entry_of(&p) == 0 && access(path, F_OK) == 0, "and stores it under its key");
    struct stat st;
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "entry is 0600");
    ok(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "cache directory is 0700");
    ok(cached_is_compiled(&p, "second"), "second use gives the same program");
    is_int(n_entries(), 1, "one entry for one policy");

    /* A changed policy is another key and another program. */
    char first[512];
    snprintf(first, sizeof(first), "%s", path);
    struct lxm_policy q = policy();
    struct lxm_seccomp_rule more[] = {{"errno EPERM", more_calls}, {"errno ENOSYS", nosys_calls}};
    q.seccomp_rules = more;
    ok(entry_of(&q) == 0 && strcmp(path, first) != 0, "a new rule changes the key");
    struct lxm_seccomp *a = NULL, *b = NULL;
    struct lxm_error err = {0};
    lxm_seccomp_cached(&p, run, &a, &err);
    lxm_seccomp_cached(&q, run, &b, &err);
    ok(a && b && !same_program(a, b), "and gives a different program");
    ok(cached_is_compiled(&q, "changed"), "the changed policy's program is its own compile");
    is_int(n_entries(), 2, "two policies, two entries");
    lxm_seccomp_free(a);
    lxm_seccomp_free(b);

    /* Everything lxm_seccomp_compile looks at is in the key. */
    char key1[65], key2[65];
    q = policy();
    lxm_seccomp_cache_key(&q, key1);
    q.no_new_privs = true;
    lxm_seccomp_cache_key(&q, key2);
    ok(strcmp(key1, key2) != 0, "no_new_privs is in the key");
    static char *drop[] = {"sys_admin", NULL};
    q.caps_drop = drop;
    lxm_seccomp_cache_key(&q, key1);
    ok(strcmp(key1, key2) != 0, "the capability drop is in the key");
    q = policy();
    q.seccomp_default = "errno EPERM";
    lxm_seccomp_cache_key(&q, key2);
    lxm_seccomp_cache_key(&p, key1);
    ok(strcmp(key1, key2) != 0, "the default action is in the key");
    /* Same syscalls, regrouped: not the same input. */
    static char *ab[] = {"kexec_load", NULL}, *c[] = {"open_by_handle_at", NULL};
    struct lxm_seccomp_rule split[] = {{"errno EPERM", ab}, {"errno EPERM", c}};
    q = policy();
    q.seccomp_rules = split;
    lxm_seccomp_cache_key(&q, key2);
    ok(strcmp(key1, key2) != 0, "the rules' grouping is in the key");
}

/* Damaged entries: recompiled and replaced, never loaded. */
static void test_damage(void)
{
    struct lxm_policy p = policy();
    struct lxm_seccomp *s = NULL;
    struct lxm_error err = {0};
    struct stat st;
    lxm_seccomp_cached(&p, run, &s, &err);
    lxm_seccomp_free(s);
    entry_of(&p);
    ok(stat(path, &st) == 0, "entry exists");
    off_t size = st.st_size;

    flip_byte(size - 3); /* inside the last instruction */
    ok(cached_is_compiled(&p, "flipped insn"), "a flipped instruction byte: compiled again");
    struct lxm_seccomp *fresh = NULL, *again = NULL;
    lxm_seccomp_compile(&p, &fresh, &err);
    /* The entry was rewritten: read it raw and compare its tail. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t n;
    const struct sock_filter *f = lxm_seccomp_program(fresh, &n);
    struct sock_filter last;
    ok(fd >= 0 && pread(fd, &last, sizeof(last), size - sizeof(last)) == sizeof(last) &&
           memcmp(&last, &f[n - 1], sizeof(last)) == 0,
       "and the entry is replaced by a good one");
    if (fd >= 0)
        close(fd);

    flip_byte(20); /* the key in the header */
    ok(cached_is_compiled(&p, "flipped key"), "a damaged header: compiled again");
    ok(truncate(path, size - 8) == 0, "truncate the entry");
    ok(cached_is_compiled(&p, "truncated"), "a truncated entry: compiled again");
    ok(stat(path, &st) == 0 && st.st_size == size, "and rewritten whole");
    ok(truncate(path, 10) == 0 && cached_is_compiled(&p, "stub"), "a 10-byte stub: compiled again");

    /* A well-formed entry of another policy copied over this one. */
    struct lxm_policy q = policy();
    struct lxm_seccomp_rule more[] = {{"errno EPERM", more_calls}};
    q.seccomp_rules = more;
    q.n_seccomp_rules = 1;
    char mine[512];
    snprintf(mine, sizeof(mine), "%s", path);
    lxm_seccomp_cached(&q, run, &again, &err);
    lxm_seccomp_free(again);
    entry_of(&q);
    char *text = NULL;
    size_t len = 0;
    ok(read_file(path, &text, &len) == 0 && write_file_atomic(mine, text, len, 0600) == 0,
       "copy another policy's entry over this one's");
    free(text);
    ok(cached_is_compiled(&p, "foreign"), "an entry made for other inputs is not used");

    /* Loose permissions: not trusted. */
    entry_of(&p);
    ok(chmod(path, 0666) == 0 && cached_is_compiled(&p, "0666"),
       "a world-writable entry: compiled again");
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "and replaced by a 0600 one");
    unlink(path);
    ok(symlink(mine, path) == 0 || errno == EEXIST, "entry replaced by a symlink");
    ok(cached_is_compiled(&p, "symlink"), "a symlink is not followed");
    ok(lstat(path, &st) == 0 && S_ISREG(st.st_mode), "and is replaced by a file");

    ok(chmod(dir, 0777) == 0, "make the cache directory world-writable");
    unlink(path);
    ok(cached_is_compiled(&p, "loose dir"), "a loose directory: the program is still compiled");
    ok(access(path, F_OK) < 0, "but nothing is stored in it");
    chmod(dir, 0700);
    lxm_seccomp_free(fresh);
}

/* No filter is an outcome too; bad input is never cached. */
static void test_outcomes(void)
{
    struct lxm_policy p = policy();
    struct lxm_seccomp *s = (struct lxm_seccomp *)1;
    struct lxm_error err = {0};
    p.n_seccomp_rules = 0;
    is_int(lxm_seccomp_cached(&p, run, &s, &err), 0, "allow without rules");
    ok(s == NULL, "needs no filter");
    s = (struct lxm_seccomp *)1;
    is_int(lxm_seccomp_cached(&p, run, &s, &err), 0, "again, from the cache");
    ok(s == NULL, "still no filter");

    static char *bad[] = {"no_such_syscall", NULL};
    struct lxm_seccomp_rule r[] = {{"errno EPERM", bad}};
    p.seccomp_rules = r;
    p.n_seccomp_rules = 1;
    int before = n_entries();
    ok(lxm_seccomp_cached(&p, run, &s, &err) == -EINVAL && strstr(err.msg, "no_such_syscall"),
       "an unknown syscall is refused: %s", err.msg);
    is_int(n_entries(), before, "and leaves no entry");
    is_int(lxm_seccomp_cached(&p, run, &s, &err), -EINVAL, "refused again (not cached)");

    p = policy();
    p.seccomp_default = NULL;
    s = (struct lxm_seccomp *)1;
    is_int(lxm_seccomp_cached(&p, run, &s, &err), 0, "no seccomp section");
    ok(s == NULL, "no filter, nothing read");
}

int main(void)
{
    if (!mkdtemp(run)) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    snprintf(dir, sizeof(dir), "%s/.seccomp", run);
    test_hit_and_miss();
    test_damage();
    test_outcomes();
    rm_rf(run);
    return done();
}

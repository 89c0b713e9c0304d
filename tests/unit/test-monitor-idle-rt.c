/* Unit tests for lxm/runtime/monitor-idle-rt.c, the idle monitor's own
 * libc on x86-64. Its object is linked here with every symbol renamed
 * rt_* (objcopy --prefix-symbols, Makefile.am), so each function runs
 * beside glibc's and the two are compared on the inputs the monitor
 * gives them. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "tap.h"

int rt_snprintf(char *buf, size_t size, const char *fmt, ...);
/* glibc's <stdio.h> names sscanf __isoc99_sscanf, and so does the runtime. */
int rt___isoc99_sscanf(const char *s, const char *fmt, ...);
long rt_strtol(const char *s, char **end, int base);
char *rt_strstr(const char *s, const char *sub);
char *rt_strchr(const char *s, int c);
int rt_strcmp(const char *a, const char *b);
void *rt_memmove(void *dst, const void *src, size_t n);
void *rt_memchr(const void *s, int c, size_t n);
char *rt_strerror(int e);
struct tm *rt_gmtime_r(const time_t *t, struct tm *tm);
size_t rt_strftime(char *buf, size_t size, const char *fmt, const struct tm *tm);
void *rt_malloc(size_t n);
void rt_free(void *p);
char *rt_getenv(const char *name);
int rt_unsetenv(const char *name);
extern char **rt_environ;

/* The runtime calls main from its start-up, never run here. */
int rt_main(int argc, char **argv)
{
    return 0;
}

#define SAME_AS_LIBC(fmt, ...)                                                                     \
    do {                                                                                           \
        char a_[256], b_[256];                                                                     \
        int x_ = rt_snprintf(a_, sizeof(a_), fmt, __VA_ARGS__);                                    \
        int y_ = snprintf(b_, sizeof(b_), fmt, __VA_ARGS__);                                       \
        is_str(a_, b_, "snprintf(%s) as glibc's", #fmt);                                           \
        is_int(x_, y_, "  and its length");                                                        \
    } while (0)

static void test_format(void)
{
    /* The formats of monitor-io.c, monitor-idle.c and util/log.c. */
    SAME_AS_LIBC("STATE %s %d %" PRId64 "\n", "RUNNING", 4242, (int64_t)1796331480123);
    SAME_AS_LIBC("READY %d %d %d %" PRId64 " %s\n", 1, 1, 0, (int64_t)-1, "serving, 3 jobs");
    SAME_AS_LIBC("%s.%03ldZ", "2026-12-03T21:00:00", 7L);
    SAME_AS_LIBC("%s: dropped a %s client that stopped reading (over %d KiB behind)", "c1",
                 "console", 64);
    SAME_AS_LIBC("%s/%s.1", "/var/log/lxm/c1", "console.log");
    /* What else it claims to take. */
    SAME_AS_LIBC("[%5s|%-5s|%05d|%-4d|%x|%c|%.*s|%%|%u]", "ab", "cd", -42, 7, 255u, 'z', 3,
                 "abcdef", 4000000000u);
    SAME_AS_LIBC("%ld %lu %zu %lld", LONG_MIN, ULONG_MAX, (size_t)12, LLONG_MIN);
    char small[5];
    is_int(rt_snprintf(small, sizeof(small), "%s", "abcdefgh"), 8, "cut short: the full length");
    is_str(small, "abcd", "  and what fits, terminated");
}

static void test_scan(void)
{
    int64_t ms = 0;
    int kill = 0;
    is_int(rt___isoc99_sscanf("stop 10000 1", "stop %" SCNd64 " %d", &ms, &kill), 2,
           "sscanf: a stop request");
    ok(ms == 10000 && kill == 1, "  its timeout and kill flag");
    is_int(rt___isoc99_sscanf("stop -1 0", "stop %" SCNd64 " %d", &ms, &kill), 2,
           "sscanf: a negative timeout");
    is_int(ms, -1, "  read as such");
    is_int(rt___isoc99_sscanf("stop now", "stop %" SCNd64 " %d", &ms, &kill), 0,
           "sscanf: not a number: nothing read");
    is_int(rt___isoc99_sscanf("start 1 1", "stop %" SCNd64 " %d", &ms, &kill), 0,
           "sscanf: another word: nothing read");

    char *end;
    ok(rt_strtol("7ffe07da1000-7ffe07dc2000", &end, 16) == 0x7ffe07da1000 && *end == '-',
       "strtol: hex up to the first non-digit");
    ok((unsigned long)rt_strtol("ffffffffff600000", NULL, 16) == 0xffffffffff600000UL,
       "strtol: an address above LONG_MAX (the vsyscall page) wraps, no overflow");
    ok(rt_strtol(" -12ab", &end, 10) == -12 && strcmp(end, "ab") == 0, "strtol: decimal, signed");
    ok(rt_strtol("x", &end, 10) == 0 && strcmp(end, "x") == 0, "strtol: no digits: end is s");
}

static void test_strings(void)
{
    ok(rt_strstr("7f00-7f02 r-xp 0 00:00 0  [vdso]", "[vdso]") != NULL, "strstr finds");
    ok(rt_strstr("abc", "abd") == NULL && rt_strstr("ab", "abc") == NULL, "strstr misses");
    ok(rt_strchr("a)b)c", ')') != NULL && rt_strchr("abc", 'x') == NULL, "strchr");
    ok(rt_strcmp("a", "b") < 0 && rt_strcmp("b", "a") > 0 && rt_strcmp("ab", "ab") == 0, "strcmp");
    char up[] = "0123456789", down[] = "0123456789";
    rt_memmove(up + 2, up, 5);
    is_str(up, "0101234789", "memmove, overlapping upwards");
    rt_memmove(down, down + 3, 5);
    is_str(down, "3456756789", "memmove, overlapping downwards");
    ok(rt_memchr("ab\nc", '\n', 4) != NULL && rt_memchr("ab\nc", '\n', 2) == NULL, "memchr");
    is_str(rt_strerror(ENOENT), strerror(ENOENT), "strerror(ENOENT) as glibc's");
    is_str(rt_strerror(4095), "error 4095", "strerror of an unknown number");
}

static void test_time(void)
{
    /* Every day over ±300 years around 1970, and odd seconds. */
    int bad = 0;
    for (long long t = -300LL * 366 * 86400; t < 300LL * 366 * 86400; t += 86400 - 7) {
        time_t tt = (time_t)t;
        struct tm a, b;
        rt_gmtime_r(&tt, &a);
        gmtime_r(&tt, &b);
        if (a.tm_year != b.tm_year || a.tm_mon != b.tm_mon || a.tm_mday != b.tm_mday ||
            a.tm_hour != b.tm_hour || a.tm_min != b.tm_min || a.tm_sec != b.tm_sec)
            bad++;
    }
    is_int(bad, 0, "gmtime_r as glibc's, 1670 to 2270");
    time_t leap = 951782400; /* 2000-02-29 */
    struct tm tm;
    char s[32];
    rt_strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", rt_gmtime_r(&leap, &tm));
    is_str(s, "2000-02-29T00:00:00", "strftime of a leap day");
    is_int(rt_strftime(s, 5, "%Y-%m", &tm), 0, "strftime: no room, 0");
}

static void test_malloc(void)
{
    char *a = rt_malloc(100), *b = rt_malloc(16 * 1024);
    ok(a && b && (uintptr_t)a % 16 == 0 && (uintptr_t)b % 16 == 0 && b >= a + 100,
       "malloc: the arena, aligned, in order");
    rt_free(b);
    ok(rt_malloc(16 * 1024) == b, "free of the last block gives it back");
    char *big = rt_malloc(64 * 1024);
    ok(big && (big < a || big > a + 128 * 1024), "malloc: a 64 KiB queue is mapped");
    memset(big, 'x', 64 * 1024);
    rt_free(big);
    unsigned char vec;
    ok(mincore(big - 16, 4096, &vec) < 0 && errno == ENOMEM, "free of a mapped block unmaps it");
    rt_free(NULL);
}

static void test_env(void)
{
    char *env[] = {"PATH=/bin", "LXM_MONITOR_HANDOVER=7", "LXM=1", NULL};
    rt_environ = env;
    is_str(rt_getenv("LXM_MONITOR_HANDOVER"), "7", "getenv");
    ok(rt_getenv("LXM_MONITOR") == NULL && rt_getenv("PAT") == NULL, "getenv: whole names only");
    rt_unsetenv("LXM_MONITOR_HANDOVER");
    ok(rt_getenv("LXM_MONITOR_HANDOVER") == NULL && env[1] && strcmp(env[1], "LXM=1") == 0 &&
           env[2] == NULL,
       "unsetenv removes it, the rest kept in order");
}

int main(void)
{
    test_format();
    test_scan();
    test_strings();
    test_time();
    test_malloc();
    test_env();
    return done();
}

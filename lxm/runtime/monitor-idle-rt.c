/* monitor-idle-rt.c: the C runtime of lxm-monitor-idle on x86-64, in
 * place of glibc (linked -nostdlib). The idle monitor waits, one per
 * running container, so what it costs is what it holds resident, and a
 * static glibc holds more than the monitor itself: its start-up applies
 * relocations (a dirty page), puts the thread block on a brk heap (a page
 * and a page table of its own), and malloc, stdio and the locale keep
 * state in .data and .bss. Here there is none of that: the functions the
 * monitor's modules call (monitor-idle.c, monitor-io.c, monitor-notify.c,
 * monitor-handover.c, util/io.c, util/log.c), each as small as those
 * calls need, over raw system calls; errno is a plain variable (one
 * thread); malloc hands out a static arena and maps what is larger.
 *
 * And the start-up moves the process into its own image. Each region of
 * the address space a process touches costs page tables (a 4 KiB page per
 * 2 MiB region, and the levels above it): the binary at 0x400000, the
 * stack at the top of the address space, the vDSO below it. The stack
 * the monitor runs on is a static array here, next to the rest of the
 * image; the arguments and the environment are copied beside it (and
 * /proc/PID/cmdline and environ pointed at the copies, PR_SET_MM_MAP), then
 * the kernel's stack and the vDSO are unmapped (time is read with
 * clock_gettime(2) itself: the monitor reads it a few times per event).
 * What is left is one run of pages under 2 MiB: one page table.
 * Where a step cannot be done (a kernel without checkpoint/restore, no
 * /proc, a larger environment than fits) the monitor runs on the kernel's
 * stack, only larger.
 *
 * Other architectures build the idle monitor with glibc (Makefile.am). */
#include <errno.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <asm/prctl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef __x86_64__
#error "monitor-idle-rt.c is for x86-64; elsewhere lxm-monitor-idle links glibc"
#endif

#define PAGE 4096
#define STACK_SIZE (64 * 1024)
#define COPY_MAX (16 * 1024)
#define ARENA_SIZE (64 * 1024)

/* The thread block as glibc lays it out, for the stack protector that a
 * distribution's CFLAGS may turn on (-fstack-protector-strong reads its
 * canary at %fs:0x28); %fs points here before any protected code runs. */
struct tcb {
    void *self;
    uintptr_t unused[4];
    uintptr_t canary;
};
_Static_assert(offsetof(struct tcb, canary) == 0x28, "the canary is at %fs:0x28");

/* What the runtime keeps, in one block laid out so that the pages the
 * monitor always writes are few and next to each other: the stack grows
 * down from the page that holds the runtime's variables and the start of
 * the arena (the copies of the arguments and the environment, then what
 * the monitor allocates). A page costs only once written: a stack page
 * once the deepest path has run (a log line over a 4 KiB console read:
 * two or three). */
static struct {
    char guard[2 * PAGE]; /* the page inside it PROT_NONE: an overflow faults */
    char stack[STACK_SIZE];
    struct tcb tcb;
    int err_no;
    int argc;
    char **argv;
    size_t arena_used;
    char *arena_last; /* the block free() can give back */
    char arena[ARENA_SIZE] __attribute__((aligned(16)));
} rt __attribute__((aligned(16)));

/* --- system calls ------------------------------------------------------------- */

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

int *__errno_location(void)
{
    return &rt.err_no;
}

/* The libc convention: -1 and errno for an error. */
static long ret(long r)
{
    if (r < 0 && r > -4096) {
        rt.err_no = (int)-r;
        return -1;
    }
    return r;
}

#define SYS(n, a, b, c, d, e, f)                                                                   \
    ret(sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f)))

long syscall(long n, ...)
{
    va_list ap;
    long a[6];
    va_start(ap, n);
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    return SYS(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}

ssize_t read(int fd, void *buf, size_t n)
{
    return SYS(SYS_read, fd, buf, n, 0, 0, 0);
}
ssize_t write(int fd, const void *buf, size_t n)
{
    return SYS(SYS_write, fd, buf, n, 0, 0, 0);
}
ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    return SYS(SYS_pread64, fd, buf, n, off, 0, 0);
}
int close(int fd)
{
    return (int)SYS(SYS_close, fd, 0, 0, 0, 0, 0);
}
off_t lseek(int fd, off_t off, int whence)
{
    return SYS(SYS_lseek, fd, off, whence, 0, 0, 0);
}
int fstat(int fd, struct stat *st)
{
    return (int)SYS(SYS_fstat, fd, st, 0, 0, 0, 0);
}
int rename(const char *from, const char *to)
{
    return (int)SYS(SYS_rename, from, to, 0, 0, 0, 0);
}
int memfd_create(const char *name, unsigned flags)
{
    return (int)SYS(SYS_memfd_create, name, flags, 0, 0, 0, 0);
}
int poll(struct pollfd *pfd, nfds_t n, int ms)
{
    return (int)SYS(SYS_poll, pfd, n, ms, 0, 0, 0);
}
int clock_gettime(clockid_t clk, struct timespec *ts)
{
    return (int)SYS(SYS_clock_gettime, clk, ts, 0, 0, 0, 0);
}
int munmap(void *p, size_t n)
{
    return (int)SYS(SYS_munmap, p, n, 0, 0, 0, 0);
}
int mprotect(void *p, size_t n, int prot)
{
    return (int)SYS(SYS_mprotect, p, n, prot, 0, 0, 0);
}

void *mmap(void *p, size_t n, int prot, int flags, int fd, off_t off)
{
    long r = SYS(SYS_mmap, p, n, prot, flags, fd, off);
    return r == -1 ? MAP_FAILED : (void *)r;
}

/* The variadic ones take their optional argument as a long, as the
 * system call does. */
#define VA_ARG1(last, x)                                                                           \
    va_list ap;                                                                                    \
    va_start(ap, last);                                                                            \
    long x = va_arg(ap, long);                                                                     \
    va_end(ap)

int open(const char *path, int flags, ...)
{
    VA_ARG1(flags, mode);
    return (int)SYS(SYS_openat, AT_FDCWD, path, flags, mode, 0, 0);
}

int fcntl(int fd, int cmd, ...)
{
    VA_ARG1(cmd, arg);
    return (int)SYS(SYS_fcntl, fd, cmd, arg, 0, 0, 0);
}

int ioctl(int fd, unsigned long req, ...)
{
    VA_ARG1(req, arg);
    return (int)SYS(SYS_ioctl, fd, req, arg, 0, 0, 0);
}

int prctl(int op, ...)
{
    va_list ap;
    va_start(ap, op);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long), d = va_arg(ap, long);
    va_end(ap);
    return (int)SYS(SYS_prctl, op, a, b, c, d, 0);
}

int accept4(int fd, __SOCKADDR_ARG sa, socklen_t *len, int flags)
{
    return (int)SYS(SYS_accept4, fd, sa.__sockaddr__, len, flags, 0, 0);
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    return SYS(SYS_sendto, fd, buf, n, flags, 0, 0);
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    return SYS(SYS_recvfrom, fd, buf, n, flags, 0, 0);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    return SYS(SYS_sendmsg, fd, msg, flags, 0, 0, 0);
}
ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    return SYS(SYS_recvmsg, fd, msg, flags, 0, 0, 0);
}

/* CMSG_NXTHDR, which glibc's headers inline only when optimizing. */
struct cmsghdr *__cmsg_nxthdr(struct msghdr *msg, struct cmsghdr *cm)
{
    unsigned char *end = (unsigned char *)msg->msg_control + msg->msg_controllen;
    if (cm->cmsg_len < sizeof(*cm))
        return NULL;
    cm = (struct cmsghdr *)((unsigned char *)cm + CMSG_ALIGN(cm->cmsg_len));
    if ((unsigned char *)(cm + 1) > end || (unsigned char *)cm + CMSG_ALIGN(cm->cmsg_len) > end)
        return NULL;
    return cm;
}

unsigned sleep(unsigned s)
{
    struct timespec ts = {.tv_sec = s};
    SYS(SYS_nanosleep, &ts, NULL, 0, 0, 0, 0);
    return 0;
}

__attribute__((noreturn)) void exit(int status)
{
    for (;;)
        sys6(SYS_exit_group, status, 0, 0, 0, 0, 0);
}

/* --- memory and strings ------------------------------------------------------- */

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    if ((uintptr_t)dst - (uintptr_t)src >= n)
        return memcpy(dst, src, n);
    /* Overlapping, dst above src: from the end down. */
    void *d = (char *)dst + n - 1;
    const void *s = (const char *)src + n - 1;
    __asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    for (; n > 0; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    for (const unsigned char *p = s; n > 0; n--, p++)
        if (*p == (unsigned char)c)
            return (void *)p;
    return NULL;
}

size_t strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n > 0; n--, a++, b++)
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
    return 0;
}

int strcmp(const char *a, const char *b)
{
    for (; *a && *a == *b; a++, b++)
        ;
    return (unsigned char)*a - (unsigned char)*b;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

char *strstr(const char *s, const char *sub)
{
    size_t n = strlen(sub);
    for (; *s; s++)
        if (strncmp(s, sub, n) == 0)
            return (char *)s;
    return n == 0 ? (char *)s : NULL;
}

long strtol(const char *s, char **end, int base)
{
    const char *p = s;
    bool neg = false;
    unsigned long v = 0; /* unsigned: wraps where a long would overflow */
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (base == 0)
        base = 10; /* no prefixes: the monitor reads decimal and bare hex */
    const char *digits = p;
    for (;; p++) {
        int d = *p >= '0' && *p <= '9'   ? *p - '0'
                : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                         : 99;
        if (d >= base)
            break;
        v = v * (unsigned)base + (unsigned)d;
    }
    if (end)
        *end = (char *)(p == digits ? s : p);
    return (long)(neg ? 0 - v : v);
}

char *strerror(int e)
{
    static const struct {
        int no;
        const char *text;
    } names[] = {
        {EPERM, "Operation not permitted"},
        {ENOENT, "No such file or directory"},
        {EINTR, "Interrupted system call"},
        {EIO, "Input/output error"},
        {EBADF, "Bad file descriptor"},
        {EAGAIN, "Resource temporarily unavailable"},
        {ENOMEM, "Cannot allocate memory"},
        {EACCES, "Permission denied"},
        {EFAULT, "Bad address"},
        {EEXIST, "File exists"},
        {EINVAL, "Invalid argument"},
        {EMFILE, "Too many open files"},
        {ENOSPC, "No space left on device"},
        {EPIPE, "Broken pipe"},
        {ENAMETOOLONG, "File name too long"},
        {ENOSYS, "Function not implemented"},
        {ENOEXEC, "Exec format error"},
        {EPROTO, "Protocol error"},
        {ECONNRESET, "Connection reset by peer"},
        {ETIMEDOUT, "Connection timed out"},
    };
    static char other[32] LXM_IDLE_DATA;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].no == e)
            return (char *)names[i].text;
    snprintf(other, sizeof(other), "error %d", e);
    return other;
}

/* --- the environment ---------------------------------------------------------- */

char **environ LXM_IDLE_DATA;

char *getenv(const char *name)
{
    size_t n = strlen(name);
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

int unsetenv(const char *name)
{
    size_t n = strlen(name);
    char **out = environ;
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, name, n) != 0 || (*e)[n] != '=')
            *out++ = *e;
    if (out)
        *out = NULL;
    return 0;
}

/* --- malloc ------------------------------------------------------------------- */

/* What the idle monitor allocates at its start (the console ring and
 * input queue, three names) comes from the arena and stays. Anything that
 * does not fit (a client's output queue, 64 KiB) is mapped, its size in a
 * header, and unmapped when freed. */
#define HEADER 16

void *malloc(size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need <= ARENA_SIZE - rt.arena_used) {
        rt.arena_last = rt.arena + rt.arena_used;
        rt.arena_used += need;
        return rt.arena_last;
    }
    need = (n + HEADER + PAGE - 1) & ~(size_t)(PAGE - 1);
    char *p = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    *(size_t *)p = need;
    return p + HEADER;
}

void free(void *ptr)
{
    char *p = ptr;
    if (!p)
        return;
    if (p >= rt.arena && p < rt.arena + ARENA_SIZE) {
        if (p == rt.arena_last) { /* the last block only: the rest stays */
            rt.arena_used = (size_t)(p - rt.arena);
            rt.arena_last = NULL;
        }
        return;
    }
    p -= HEADER;
    munmap(p, *(size_t *)p);
}

/* --- formatting --------------------------------------------------------------- */

struct out {
    char *buf;
    size_t size, len; /* len counts what would have been written */
};

static void put(struct out *o, char c, size_t times)
{
    for (; times > 0; times--, o->len++)
        if (o->len + 1 < o->size)
            o->buf[o->len] = c;
}

static void put_str(struct out *o, const char *s, size_t n, size_t width, bool left)
{
    size_t pad = width > n ? width - n : 0;
    if (!left)
        put(o, ' ', pad);
    for (size_t i = 0; i < n; i++)
        put(o, s[i], 1);
    if (left)
        put(o, ' ', pad);
}

static void put_num(struct out *o, unsigned long long v, bool neg, unsigned base, size_t width,
                    char pad, bool left)
{
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    size_t len = n + neg;
    size_t fill = width > len ? width - len : 0;
    if (!left && pad == ' ')
        put(o, ' ', fill);
    if (neg)
        put(o, '-', 1);
    if (!left && pad == '0')
        put(o, '0', fill);
    while (n > 0)
        put(o, digits[--n], 1);
    if (left)
        put(o, ' ', fill);
}

/* %[-0][width][.prec][hh|h|l|ll|z|j]{d,i,u,x,s,c,p,%}: what lxm's
 * monitor formats. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = {.buf = buf, .size = size};
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put(&o, *f, 1);
            continue;
        }
        bool left = false;
        char pad = ' ';
        for (f++; *f == '-' || *f == '0'; f++)
            *f == '-' ? (void)(left = true) : (void)(pad = '0');
        size_t width = 0, prec = SIZE_MAX;
        for (; *f >= '0' && *f <= '9'; f++)
            width = width * 10 + (size_t)(*f - '0');
        if (*f == '.') {
            f++;
            prec = 0;
            if (*f == '*') {
                int p = va_arg(ap, int);
                prec = p < 0 ? 0 : (size_t)p;
                f++;
            }
            for (; *f >= '0' && *f <= '9'; f++)
                prec = prec * 10 + (size_t)(*f - '0');
        }
        int longs = 0;
        for (; *f == 'l' || *f == 'z' || *f == 'j' || *f == 'h'; f++)
            longs += *f == 'h' ? 0 : *f == 'l' ? 1 : 2;
        if (*f == 'd' || *f == 'i') {
            long long v = longs ? va_arg(ap, long long) : va_arg(ap, int);
            put_num(&o, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, v < 0, 10,
                    width, pad, left);
        } else if (*f == 'u' || *f == 'x') {
            unsigned long long v = longs ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
            put_num(&o, v, false, *f == 'u' ? 10 : 16, width, pad, left);
        } else if (*f == 'p') {
            put_str(&o, "0x", 2, 0, false);
            put_num(&o, (uintptr_t)va_arg(ap, void *), false, 16, 0, ' ', false);
        } else if (*f == 's') {
            const char *s = va_arg(ap, const char *);
            s = s ? s : "(null)";
            size_t n = 0;
            while (n < prec && s[n])
                n++;
            put_str(&o, s, n, width, left);
        } else if (*f == 'c') {
            char c = (char)va_arg(ap, int);
            put_str(&o, &c, 1, width, left);
        } else if (*f == '%') {
            put(&o, '%', 1);
        } else {
            break; /* unknown: stop, as a bug shows better than garbage */
        }
    }
    if (size > 0)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return o.len > INT32_MAX ? -1 : (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* Spaces match any run of spaces, %d and %ld a decimal number, anything
 * else itself: the one request with arguments ("stop MS KILL"). */
int sscanf(const char *s, const char *fmt, ...)
{
    va_list ap;
    int done = 0;
    va_start(ap, fmt);
    for (const char *f = fmt; *f; f++) {
        if (*f == ' ') {
            while (*s == ' ')
                s++;
        } else if (f[0] == '%' && (f[1] == 'd' || (f[1] == 'l' && f[2] == 'd'))) {
            char *end;
            long v = strtol(s, &end, 10);
            if (end == s)
                break;
            s = end;
            if (f[1] == 'l')
                *va_arg(ap, long *) = v, f += 2;
            else
                *va_arg(ap, int *) = (int)v, f += 1;
            done++;
        } else if (*s++ != *f) {
            break;
        }
    }
    va_end(ap);
    return done;
}

/* stdio: the monitor writes its log lines with write(2) itself. */
FILE *stderr LXM_IDLE_DATA;
int fflush(FILE *f)
{
    return 0;
}

/* --- time --------------------------------------------------------------------- */

/* UTC only (the log's timestamps). Days since 1970-01-01 to a date: a
 * 400-year era is 146097 days; within it, years of 365 days with a leap
 * day every 4th year but the 100th, counted from March so the leap day
 * comes last. */
struct tm *gmtime_r(const time_t *t, struct tm *tm)
{
    long days = (long)(*t / 86400), secs = (long)(*t % 86400);
    if (secs < 0)
        secs += 86400, days--;
    days += 719468; /* from 0000-03-01 */
    long era = (days >= 0 ? days : days - 146096) / 146097;
    long doe = days - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long month = mp < 10 ? mp + 3 : mp - 9;
    *tm = (struct tm){
        .tm_year = (int)(yoe + era * 400 + (month <= 2) - 1900),
        .tm_mon = (int)month - 1,
        .tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1),
        .tm_hour = (int)(secs / 3600),
        .tm_min = (int)(secs / 60 % 60),
        .tm_sec = (int)(secs % 60),
    };
    return tm;
}

/* %Y %m %d %H %M %S and plain characters. */
size_t strftime(char *buf, size_t size, const char *fmt, const struct tm *tm)
{
    struct out o = {.buf = buf, .size = size};
    for (const char *f = fmt; *f; f++) {
        if (f[0] != '%' || !f[1]) {
            put(&o, *f, 1);
            continue;
        }
        f++;
        int v = *f == 'Y'   ? tm->tm_year + 1900
                : *f == 'm' ? tm->tm_mon + 1
                : *f == 'd' ? tm->tm_mday
                : *f == 'H' ? tm->tm_hour
                : *f == 'M' ? tm->tm_min
                : *f == 'S' ? tm->tm_sec
                            : -1;
        if (v < 0)
            put(&o, *f, 1);
        else
            put_num(&o, (unsigned)v, false, 10, *f == 'Y' ? 4 : 2, '0', false);
    }
    if (o.len >= size)
        return 0;
    buf[o.len] = '\0';
    return o.len;
}

/* --- start-up ----------------------------------------------------------------- */

int main(int argc, char **argv);

/* Copy n strings to *at on, their pointers into ptrs (NULL-terminated);
 * false if they do not fit in COPY_MAX at the start of the arena. */
static bool copy_strings(char **from, int n, char **ptrs, char **at)
{
    for (int i = 0; i < n; i++) {
        size_t len = strlen(from[i]) + 1;
        if (len > (size_t)(rt.arena + COPY_MAX - *at))
            return false;
        ptrs[i] = memcpy(*at, from[i], len);
        *at += len;
    }
    ptrs[n] = NULL;
    return true;
}

/* The kernel's record of the process image (struct prctl_mm_map) from
 * /proc/self/stat: fields 26-28 (code, stack) and 45-51 (data, brk,
 * arguments, environment), numbered from 1; brk from brk(2) itself. */
static bool read_mm(struct prctl_mm_map *map)
{
    char buf[1024];
    ssize_t n = 0;
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        n = read(fd, buf, sizeof(buf) - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char *p = NULL; /* after the last ')': the name may hold anything */
    for (char *q = buf; (q = strchr(q, ')')); q++)
        p = q + 1;
    if (!p || !(p = strchr(p + 1, ' ')))
        return false; /* field 3, the state, a letter */
    unsigned long f[52];
    for (int i = 4; i < 52; i++) {
        char *end;
        f[i] = (unsigned long)strtol(p, &end, 10);
        if (end == p)
            return false;
        p = end;
    }
    *map = (struct prctl_mm_map){
        .start_code = f[26],
        .end_code = f[27],
        .start_stack = f[28],
        .start_data = f[45],
        .end_data = f[46],
        .start_brk = f[47],
        .brk = (unsigned long)sys6(SYS_brk, 0, 0, 0, 0, 0, 0),
        .arg_start = f[48],
        .arg_end = f[49],
        .env_start = f[50],
        .env_end = f[51],
        .exe_fd = (uint32_t)-1,
    };
    return true;
}

/* The arguments and environment copied, /proc/PID/cmdline and environ
 * reading the copies; false (nothing changed) if that cannot be done.
 * PR_SET_MM_MAP, which needs no privilege (where the kernel has
 * checkpoint/restore) as long as the executable stays the same. */
static bool copy_args(int argc, char **argv, char **envp)
{
    int envc = 0;
    while (envp[envc])
        envc++;
    char **ptrs = (char **)rt.arena, **env = ptrs + argc + 1;
    char *at = (char *)(env + envc + 1);
    struct prctl_mm_map map;
    if (at > rt.arena + COPY_MAX || !read_mm(&map))
        return false;
    map.arg_start = (uintptr_t)at;
    if (!copy_strings(argv, argc, ptrs, &at))
        return false;
    map.arg_end = map.env_start = (uintptr_t)at;
    if (!copy_strings(envp, envc, env, &at))
        return false;
    map.env_end = (uintptr_t)at;
    if (prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof(map), 0) < 0)
        return false;
    rt.argc = argc;
    rt.argv = ptrs;
    rt.arena_used = ((size_t)(at - rt.arena) + 15) & ~(size_t)15;
    environ = env;
    return true;
}

/* Unmap the kernel's stack (when the monitor no longer runs on it) and
 * the vDSO, as /proc/self/maps names them. */
static void unmap_regions(bool stack_too)
{
    char maps[4096];
    size_t n = 0;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    for (ssize_t k; n < sizeof(maps) - 1 && (k = read(fd, maps + n, sizeof(maps) - 1 - n)) > 0;)
        n += (size_t)k;
    close(fd);
    maps[n] = '\0';
    for (char *line = maps, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            break; /* cut short: leave the rest */
        *nl = '\0';
        char *end;
        unsigned long start = (unsigned long)strtol(line, &end, 16);
        unsigned long stop = *end == '-' ? (unsigned long)strtol(end + 1, NULL, 16) : 0;
        if (stop > start && (strstr(line, "[vdso]") || strstr(line, "[vvar") ||
                             (stack_too && strstr(line, "[stack]"))))
            munmap((void *)start, stop - start);
    }
}

/* On the new stack. */
__attribute__((noreturn, used)) void lxm_idle_rt_main(void)
{
    unmap_regions(true);
    exit(main(rt.argc, rt.argv));
}

/* A protected frame found its canary overwritten. */
__attribute__((noreturn)) void __stack_chk_fail(void)
{
    static const char msg[] = "lxm-monitor-idle: stack smashing detected\n";
    sys6(SYS_write, STDERR_FILENO, (long)msg, sizeof(msg) - 1, 0, 0, 0);
    sys6(SYS_kill, sys6(SYS_getpid, 0, 0, 0, 0, 0, 0), SIGABRT, 0, 0, 0, 0);
    exit(127);
}

/* %fs to the thread block, the canary from the kernel's 16 random bytes
 * (AT_RANDOM in the aux vector after the environment), its low byte zero
 * as glibc's is (a string overflow cannot write it). Unprotected itself,
 * as is its caller: frames made from here on check the canary. */
__attribute__((no_stack_protector)) static void set_tcb(char **envp)
{
    rt.tcb.self = &rt.tcb;
    sys6(SYS_arch_prctl, ARCH_SET_FS, (long)&rt.tcb, 0, 0, 0, 0);
    while (*envp)
        envp++;
    for (unsigned long *av = (unsigned long *)(envp + 1); av[0] != AT_NULL; av += 2)
        if (av[0] == AT_RANDOM) {
            uintptr_t c;
            memcpy(&c, (void *)av[1], sizeof(c));
            rt.tcb.canary = c & ~(uintptr_t)0xff;
        }
}

/* From _start: sp points at argc, then argv, NULL, the environment. */
__attribute__((noreturn, used, no_stack_protector)) void lxm_idle_rt_start(long *sp)
{
    int argc = (int)sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;
    set_tcb(envp);
    mprotect((void *)(((uintptr_t)rt.guard + PAGE - 1) & ~(uintptr_t)(PAGE - 1)), PAGE, PROT_NONE);
    if (copy_args(argc, argv, envp))
        __asm__ volatile("mov %0, %%rsp\n\t"
                         "call lxm_idle_rt_main\n\t"
                         "ud2"
                         :
                         : "r"(rt.stack + STACK_SIZE)
                         : "memory");
    environ = envp;
    unmap_regions(false);
    exit(main(argc, argv));
}

/* rsp at argc; the ABI wants it 16-byte aligned at a call. */
__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "    xor %rbp, %rbp\n"
        "    mov %rsp, %rdi\n"
        "    and $-16, %rsp\n"
        "    call lxm_idle_rt_start\n"
        "    ud2\n");

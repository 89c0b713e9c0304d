/* monitor-mem.c: keep the idle monitor small.
 *
 * The monitor is a fork of the start command and maps every library the
 * command used, with the page-table entries the command touched. Once a
 * boot is done the monitor only waits on its fds and answers the odd
 * request, so what it holds resident should be what that takes:
 *
 *   - file mappings with no private (copy-on-write) page lose their page
 *     table entries (MADV_DONTNEED): nothing is lost, a page touched again
 *     is mapped again from the page cache;
 *   - without more, each such touch maps its 64 KiB neighbourhood too (the
 *     kernel's fault-around). A userfaultfd registration in asynchronous
 *     write-protect mode turns fault-around off for the read-only file
 *     mappings it covers (kernel >= 6.7; the registration is all it does:
 *     nothing is ever write-protected, there are no events to serve), so
 *     a touch maps the one page touched. On older kernels it fails and
 *     fault-around stays: correct, only larger;
 *   - the stack below what the loop needs, dirtied by the start path, is
 *     given back (MADV_DONTNEED: it reads as zeros if ever reached again);
 *   - libraries the command opened on first use are closed (the teardown
 *     opens libnftables again if it needs it);
 *   - free heap goes back to the kernel (malloc_trim).
 */
#include "runtime/monitor-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/lazy.h"

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define MAX_RANGES 128

struct range {
    unsigned long start, end;
};

struct layout {
    struct range drop[MAX_RANGES]; /* file mappings without private pages */
    size_t n_drop;
    struct range ro[MAX_RANGES]; /* read-only file mappings */
    size_t n_ro;
    struct range stack;
};

static void add(struct range *r, size_t *n, unsigned long start, unsigned long end)
{
    if (*n < MAX_RANGES)
        r[(*n)++] = (struct range){start, end};
}

/* One pass over smaps. */
static void read_layout(struct layout *l)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/smaps", "re");
    if (!f)
        return;
    char line[512];
    unsigned long start = 0, end = 0;
    bool file = false, writable = false;
    while (fgets(line, sizeof(line), f)) {
        char perms[8] = "";
        unsigned long a, b, anon;
        if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3 && strlen(perms) == 4) {
            start = a, end = b;
            file = perms[3] == 'p' && strchr(line, '/');
            writable = perms[1] == 'w';
            if (strstr(line, "[stack]"))
                l->stack = (struct range){a, b};
            if (file && !writable)
                add(l->ro, &l->n_ro, a, b);
        } else if (file && sscanf(line, "Anonymous: %lu kB", &anon) == 1) {
            if (anon == 0)
                add(l->drop, &l->n_drop, start, end);
            file = false;
        }
    }
}

/* Fault-around off for the read-only file mappings; the returned fd must
 * stay open for that (-1 if the kernel cannot). */
static int no_fault_around(const struct layout *l)
{
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    if (fd < 0)
        return -1;
    struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC};
    if (ioctl(fd, UFFDIO_API, &api) < 0) {
        close(fd);
        return -1;
    }
    for (size_t i = 0; i < l->n_ro; i++) {
        struct uffdio_register reg = {
            .range = {.start = l->ro[i].start, .len = l->ro[i].end - l->ro[i].start},
            .mode = UFFDIO_REGISTER_MODE_WP,
        };
        (void)ioctl(fd, UFFDIO_REGISTER, &reg);
    }
    return fd;
}

/* The stack below the caller's frame (the start path went deeper), but
 * the page in use and the one below it, where madvise() itself runs. */
static void drop_stack(const struct range *stack)
{
    char here;
    unsigned long page = (unsigned long)sysconf(_SC_PAGESIZE);
    unsigned long sp = (unsigned long)&here & ~(page - 1);
    if (!stack->start || sp < stack->start + 2 * page || sp >= stack->end)
        return;
    madvise((void *)stack->start, sp - page - stack->start, MADV_DONTNEED);
}

void monitor_trim_memory(struct monitor *m)
{
    /* Not on the heap nor the stack, which are what is being trimmed. */
    struct layout *l =
        mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (l == MAP_FAILED)
        return;
    /* What the command opened for itself (libnftables for the bridge,
     * libarchive for an image) comes back if ever used again. */
    lxm_lazy_unload();
    read_layout(l);
    malloc_trim(0);
    if (m->uffd < 0)
        m->uffd = no_fault_around(l);
    for (size_t i = 0; i < l->n_drop; i++)
        madvise((void *)l->drop[i].start, l->drop[i].end - l->drop[i].start, MADV_DONTNEED);
    drop_stack(&l->stack);
    munmap(l, sizeof(*l));
}

void monitor_untrim(struct monitor *m)
{
    if (m->uffd >= 0) {
        close(m->uffd);
        m->uffd = -1;
    }
}

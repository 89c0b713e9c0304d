/* spin: a busy loop for SECONDS of wall-clock time (argument, default 2),
 * then prints the CPU time it got. Used to check a CPU quota from the
 * cgroup's own accounting. Built static for busybox containers. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    double end = now(CLOCK_MONOTONIC) + secs;
    volatile unsigned long n = 0;
    while (now(CLOCK_MONOTONIC) < end)
        n++;
    printf("spun %.1f s, cpu %.3f s\n", secs, now(CLOCK_PROCESS_CPUTIME_ID));
    return 0;
}

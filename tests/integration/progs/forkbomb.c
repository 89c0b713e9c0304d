/* forkbomb: forks children that just wait until fork fails, then reports
 * how many it got and why ("fork failed after N: EAGAIN"), kills them and
 * exits 0 when the failure was EAGAIN (what pids.max produces). A cap
 * (argument, default 10000) keeps it from taking the host down when no
 * limit is set. Built static for busybox containers. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int cap = argc > 1 ? atoi(argv[1]) : 10000;
    pid_t *kids = calloc((size_t)cap, sizeof(*kids));
    int n = 0, err = 0;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!kids)
        return 2;
    while (n < cap) {
        pid_t pid = fork();
        if (pid < 0) {
            err = errno;
            break;
        }
        if (pid == 0) {
            pause();
            _exit(0);
        }
        kids[n++] = pid;
    }
    if (err)
        printf("fork failed after %d: %s\n", n, err == EAGAIN ? "EAGAIN" : strerror(err));
    else
        printf("forked %d without failure\n", n);
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    for (int i = 0; i < n; i++)
        waitpid(kids[i], NULL, 0);
    return err == EAGAIN ? 0 : 1;
}

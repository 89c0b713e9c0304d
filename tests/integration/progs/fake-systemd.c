/* A stand-in for systemd as a container's init (tests/integration/
 * profiles.sh): it halts on SIGRTMIN+3 only, as systemd does, and ignores
 * SIGPWR and SIGTERM (systemd turns SIGPWR into sigpwr.target, which
 * normally does nothing), so a wrong halt signal shows as a stop that
 * times out. Like systemd it says READY=1 on $NOTIFY_SOCKET once up,
 * so `lxm start` (which waits for that from a systemd init) returns.
 * Built static so any rootfs runs it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void notify_ready(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!path || strlen(path) >= sizeof(sa.sun_path))
        return;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    static const char msg[] = "READY=1\nSTATUS=fake-systemd: up";
    sendto(fd, msg, sizeof(msg) - 1, 0, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
}

int main(void)
{
    notify_ready();
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        int sig = sigwaitinfo(&all, NULL);
        if (sig == SIGRTMIN + 3) {
            printf("fake-systemd: SIGRTMIN+3, halting\n");
            return 0;
        }
        if (sig > 0)
            printf("fake-systemd: ignoring signal %d\n", sig);
        fflush(stdout);
    }
}

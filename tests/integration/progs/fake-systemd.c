/* A stand-in for systemd as a container's init (tests/integration/
 * profiles.sh): it halts on SIGRTMIN+3 only, as systemd does, and ignores
 * SIGPWR and SIGTERM (systemd turns SIGPWR into sigpwr.target, which
 * normally does nothing), so a wrong halt signal shows as a stop that
 * times out. Like systemd it says READY=1 on $NOTIFY_SOCKET once up,
 * so `lxm start` (which waits for that from a systemd init) returns.
 * Built static (with sd-notify.c) so any rootfs runs it. */
#include <signal.h>
#include <stdio.h>

#include "sd-notify.h"

int main(void)
{
    sd_notify_send("READY=1\nSTATUS=fake-systemd: up");
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

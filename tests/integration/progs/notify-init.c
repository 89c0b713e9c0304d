/* notify-init: an init for tests/integration/ready.sh. It speaks the
 * notify protocol on $NOTIFY_SOCKET as /etc/notify-mode inside says, then
 * execs /sbin/init (busybox) with the same pid:
 *   ready MS   sleep MS, send STATUS= and READY=1 from pid 1
 *   child      a child sends READY=1 (must not count: only init does);
 *              pid 1 sends STATUS= only
 *   silent     STATUS= only, never READY=1
 * Built statically (with sd-notify.c) at test time; no library of lxm. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sd-notify.h"

int main(int argc, char **argv)
{
    (void)argc;
    char mode[64] = "silent";
    long ms = 0;
    FILE *f = fopen("/etc/notify-mode", "re");
    if (f) {
        if (fscanf(f, "%63s %ld", mode, &ms) < 1)
            strcpy(mode, "silent");
        fclose(f);
    }
    if (strcmp(mode, "ready") == 0) {
        sd_notify_send("STATUS=notify-init: starting");
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
        sd_notify_send("READY=1\nSTATUS=notify-init: up");
    } else if (strcmp(mode, "child") == 0) {
        pid_t p = fork();
        if (p == 0) {
            sd_notify_send("READY=1\nSTATUS=sent by a child");
            _exit(0);
        }
        waitpid(p, NULL, 0);
        sd_notify_send("STATUS=notify-init: a child said READY=1");
    } else {
        sd_notify_send("STATUS=notify-init: never ready");
    }
    argv[0] = (char *)"/sbin/init";
    execv("/sbin/init", argv);
    return 127;
}

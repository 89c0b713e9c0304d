/* Unit tests of the monitor's hand-over state (monitor-handover.c and
 * monitor-io.c's part): what the full monitor writes, the idle one reads
 * back the same, queues in order, clients in their slots, and the fds it
 * names inheritable only between the two. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <unistd.h>

#include "runtime/monitor-internal.h"
#include "tap.h"

static struct byte_queue queue(size_t cap, size_t head, const char *bytes)
{
    struct byte_queue q = {.buf = calloc(1, cap), .cap = cap, .head = head, .len = strlen(bytes)};
    for (size_t i = 0; i < q.len; i++)
        q.buf[(head + i) % cap] = bytes[i];
    return q;
}

/* The queue's bytes in order, as a string (static buffer). */
static const char *bytes_of(const struct byte_queue *q)
{
    static char out[CLIENT_OUT_MAX + 1];
    for (size_t i = 0; i < q->len; i++)
        out[i] = q->buf[(q->head + i) % q->cap];
    out[q->len] = '\0';
    return out;
}

static bool cloexec(int fd)
{
    return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

static int fd(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void empty(struct monitor *m)
{
    *m = (struct monitor){.listen_fd = -1, .pidfd = -1, .oom_fd = -1, .idle_fd = -1,
                          .exe_fd = -1, .frozen_fd = -1, .master_fd = -1, .slave_fd = -1,
                          .log_fd = -1, .uffd = -1};
    m->ready.notify_fd = m->ready.watch_fd = -1;
    for (int i = 0; i < MAX_CLIENTS; i++)
        m->clients[i] = (struct client){.fd = -1};
}

int main(void)
{
    struct monitor a, b;
    empty(&a);
    a.listen_fd = fd(), a.pidfd = fd(), a.master_fd = fd(), a.log_fd = fd();
    a.idle_fd = fd(), a.ready.notify_fd = fd();
    a.init_pid = 4242, a.started_at = 1700000000, a.boot_ms = 123456, a.fast_reboots = 3;
    a.log_size = 99999, a.oom_kills = 7, a.oom_events = 0x2, a.own_mntns = true;
    a.stop_pending = true, a.stop_ms = 30000, a.stop_kill = false;
    a.ready.ready = a.ready.notified = a.ready.want_notify = a.ready.leased = true;
    a.ready.boot_ms = 812;
    snprintf(a.ready.status, sizeof(a.ready.status), "Startup finished");
    /* The ring wrapped around its end; console input waiting. */
    a.ring = queue(CONSOLE_RING_SIZE, CONSOLE_RING_SIZE - 3, "login: root\n");
    a.console_in = queue(CONSOLE_IN_MAX, 10, "ls\n");
    a.clients[0] = (struct client){.fd = fd(), .kind = CLIENT_CONSOLE, .last_active = 5};
    a.clients[0].out = queue(CLIENT_OUT_MAX, CLIENT_OUT_MAX - 1, "pending output");
    a.clients[5] = (struct client){.fd = fd(), .kind = CLIENT_REQUEST, .len = 3};
    memcpy(monitor_client_line(&a, 5), "sta", 4);
    a.clients[7] = (struct client){.fd = fd(), .kind = CLIENT_STOP};
    struct monitor_names names = {.name = "web1", .log_dir = "/var/log/lxm/web1", .root = "",
                                  .log_level = 2};

    int memfd = monitor_handover_save(&a, &names);
    ok(memfd >= 0, "save: a memfd");
    ok(!cloexec(memfd), "the memfd is inherited by the exec");
    ok(!cloexec(a.pidfd) && !cloexec(a.clients[7].fd) && !cloexec(a.idle_fd),
       "the fds it names are inherited too");

    /* The lines' store is the process's: the load must put "sta" back. */
    memcpy(monitor_client_line(&a, 5), "xyz", 4);
    empty(&b);
    struct monitor_names got;
    is_int(monitor_handover_load(&b, &got, memfd), 0, "load");
    ok(fcntl(memfd, F_GETFD) < 0 && errno == EBADF, "the memfd is closed after the load");
    is_str(got.name, "web1", "the container's name");
    is_str(got.log_dir, "/var/log/lxm/web1", "its log dir");
    is_str(got.root, "", "no --root");
    is_int(got.log_level, 2, "the log level");
    ok(b.listen_fd == a.listen_fd && b.pidfd == a.pidfd && b.master_fd == a.master_fd &&
           b.log_fd == a.log_fd && b.idle_fd == a.idle_fd && b.oom_fd == -1 && b.exe_fd == -1,
       "the fds, -1 where none");
    ok(cloexec(b.pidfd) && cloexec(b.clients[7].fd), "close-on-exec again after the load");
    ok(b.init_pid == 4242 && b.started_at == 1700000000 && b.boot_ms == 123456 &&
           b.fast_reboots == 3 && b.log_size == 99999 && b.oom_kills == 7 && b.oom_events == 0x2 &&
           b.own_mntns,
       "the boot's figures");
    ok(b.stop_pending && b.stop_ms == 30000 && !b.stop_kill, "a pending stop");
    ok(b.ready.ready && b.ready.notified && b.ready.boot_ms == 812 &&
           b.ready.notify_fd == a.ready.notify_fd && b.ready.watch_fd == -1,
       "readiness");
    is_str(b.ready.status, "Startup finished", "the guest's status");
    is_str(bytes_of(&b.ring), "login: root\n", "the console ring, in order across its wrap");
    is_int(b.ring.cap, CONSOLE_RING_SIZE, "the ring's size");
    is_str(bytes_of(&b.console_in), "ls\n", "console input waiting for the guest");
    ok(b.clients[0].fd == a.clients[0].fd && b.clients[0].kind == CLIENT_CONSOLE &&
           b.clients[0].last_active == 5,
       "a console client in its slot");
    is_str(bytes_of(&b.clients[0].out), "pending output", "with what it has not read yet");
    ok(b.clients[5].kind == CLIENT_REQUEST && b.clients[5].len == 3, "a request half read");
    is_str(monitor_client_line(&b, 5), "sta", "its line so far");
    ok(b.clients[7].kind == CLIENT_STOP && b.clients[7].out.buf == NULL,
       "a stop client, its empty queue not allocated");
    int used = 0;
    for (int i = 0; i < MAX_CLIENTS; i++)
        used += b.clients[i].fd >= 0;
    is_int(used, 3, "no other slot taken");

    /* Anything else than this build's format is refused. */
    int bad = memfd_create("bad", MFD_CLOEXEC);
    char junk[8192];
    memset(junk, 'x', sizeof(junk));
    ok(write(bad, junk, sizeof(junk)) == (ssize_t)sizeof(junk) && lseek(bad, 0, SEEK_SET) == 0,
       "a memfd of garbage");
    struct monitor c;
    empty(&c);
    is_int(monitor_handover_load(&c, &got, bad), -EPROTO, "refused: -EPROTO");
    return done();
}

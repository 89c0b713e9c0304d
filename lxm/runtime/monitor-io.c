/* monitor-io.c: the monitor's peers: the console pty master, console.log,
 * and the clients of run/NAME/monitor.sock. Nothing here may block: every
 * fd is non-blocking, a client's output waits in a bounded queue and a
 * client that falls behind by more is dropped, console input waits (and
 * the clients' input is not read) while the guest does not read its
 * console, and idle connections are dropped or evicted. */
#include "runtime/monitor-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/io.h"
#include "util/log.h"

#define CONSOLE_LOG_MAX (1024 * 1024)

/* --- byte queues -------------------------------------------------------------- */

static bool bq_alloc(struct byte_queue *q, size_t cap)
{
    if (q->buf)
        return true;
    q->buf = malloc(cap);
    q->cap = q->buf ? cap : 0;
    q->head = q->len = 0;
    return q->buf != NULL;
}

static void bq_free(struct byte_queue *q)
{
    free(q->buf);
    *q = (struct byte_queue){0};
}

/* Append n bytes; false (nothing appended) if they do not fit. */
static bool bq_push(struct byte_queue *q, const char *p, size_t n)
{
    if (n > q->cap - q->len)
        return false;
    for (size_t done = 0; done < n;) {
        size_t tail = (q->head + q->len) % q->cap;
        size_t k = q->cap - tail < n - done ? q->cap - tail : n - done;
        memcpy(q->buf + tail, p + done, k);
        q->len += k;
        done += k;
    }
    return true;
}

/* Append, dropping the oldest bytes to make room (the console ring). */
static void bq_push_ring(struct byte_queue *q, const char *p, size_t n)
{
    if (!q->buf)
        return;
    if (n > q->cap) {
        p += n - q->cap;
        n = q->cap;
    }
    size_t excess = q->len + n > q->cap ? q->len + n - q->cap : 0;
    q->head = (q->head + excess) % q->cap;
    q->len -= excess;
    bq_push(q, p, n);
}

/* The contiguous bytes at the head. */
static size_t bq_peek(const struct byte_queue *q, const char **p)
{
    *p = q->buf + q->head;
    return q->len < q->cap - q->head ? q->len : q->cap - q->head;
}

static void bq_consume(struct byte_queue *q, size_t n)
{
    q->head = (q->head + n) % q->cap;
    q->len -= n;
    if (q->len == 0)
        q->head = 0;
}

/* Copy the whole queue, in order, into another. */
static bool bq_copy(const struct byte_queue *from, struct byte_queue *to)
{
    size_t first = from->len < from->cap - from->head ? from->len : from->cap - from->head;
    return bq_push(to, from->buf + from->head, first) &&
           bq_push(to, from->buf, from->len - first);
}

/* --- clients ------------------------------------------------------------------ */

static const char *kind_name(enum client_kind k)
{
    return k == CLIENT_CONSOLE ? "console"
           : k == CLIENT_STOP  ? "stop"
           : k == CLIENT_WAIT  ? "wait"
                               : "request";
}

/* The request line each client slot reads, apart from struct monitor and
 * made at the first request: the idle monitor writes every slot at each
 * hand-over, and 4 KiB of lines among them (or among its static data)
 * would be a page or two more that it dirties for nothing. One monitor
 * per process. NULL when there is no memory for it. */
static char (*client_lines)[CLIENT_LINE_MAX];

static char *line_of(const struct monitor *m, const struct client *cl);

char *monitor_client_line(struct monitor *m, int slot)
{
    return slot >= 0 && slot < MAX_CLIENTS ? line_of(m, &m->clients[slot]) : NULL;
}

static char *line_of(const struct monitor *m, const struct client *cl)
{
    /* Uninitialised is fine: a line is read only up to its len. */
    if (!client_lines && !(client_lines = malloc(sizeof(*client_lines) * MAX_CLIENTS)))
        return NULL;
    return client_lines[cl - m->clients];
}

static void drop_client(struct client *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    bq_free(&cl->out);
    *cl = (struct client){.fd = -1};
}

/* Send what is queued; false if the client is gone. */
static bool flush_client(struct client *cl)
{
    while (cl->out.len > 0) {
        const char *p;
        size_t n = bq_peek(&cl->out, &p);
        ssize_t k = send(cl->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno == EAGAIN)
            return true;
        if (k <= 0)
            return false;
        bq_consume(&cl->out, (size_t)k);
    }
    return true;
}

/* Queue bytes for a client and send what it takes now. A client that has
 * fallen CLIENT_OUT_MAX behind is dropped: the monitor never waits. */
static void client_send(struct monitor *m, struct client *cl, const char *p, size_t n)
{
    if (!bq_alloc(&cl->out, CLIENT_OUT_MAX) || !bq_push(&cl->out, p, n)) {
        lxm_info("%s: dropped a %s client that stopped reading (over %d KiB behind)",
                 m->c->name, kind_name(cl->kind), CLIENT_OUT_MAX / 1024);
        drop_client(cl);
        return;
    }
    if (!flush_client(cl))
        drop_client(cl);
}

void monitor_notify_stop(struct monitor *m, const char *line)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (m->clients[i].fd >= 0 && m->clients[i].kind == CLIENT_STOP)
            client_send(m, &m->clients[i], line, strlen(line));
}

void monitor_notify_ready(struct monitor *m)
{
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *cl = &m->clients[i];
        if (cl->fd >= 0 && cl->kind == CLIENT_WAIT) {
            (void)!send(cl->fd, "ready\n", 6, MSG_NOSIGNAL | MSG_DONTWAIT);
            drop_client(cl);
        }
    }
}

/* "READY READY NOTIFIED LEASED BOOT_MS STATUS...": the status last, as
 * it has spaces. */
static void reply_ready(struct monitor *m, struct client *cl)
{
    const struct monitor_ready *r = &m->ready;
    char reply[96 + LXM_READY_STATUS_MAX];
    int n = snprintf(reply, sizeof(reply), "READY %d %d %d %" PRId64 " %s\n", r->ready,
                     !r->want_notify || r->notified, r->leased, r->boot_ms, r->status);
    (void)!send(cl->fd, reply, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    drop_client(cl);
}

/* A free slot, evicting the client idle longest (a request before a
 * console) when all are taken; NULL when only stop clients remain. */
static struct client *free_slot(struct monitor *m)
{
    struct client *victim = NULL;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *cl = &m->clients[i];
        if (cl->fd < 0)
            return cl;
        if (cl->kind == CLIENT_STOP)
            continue;
        if (!victim || (cl->kind == CLIENT_REQUEST && victim->kind == CLIENT_CONSOLE) ||
            (cl->kind == victim->kind && cl->last_active < victim->last_active))
            victim = cl;
    }
    if (victim) {
        lxm_info("%s: %d clients connected: evicted an idle %s client", m->c->name, MAX_CLIENTS,
                 kind_name(victim->kind));
        drop_client(victim);
    }
    return victim;
}

void monitor_accept(struct monitor *m)
{
    for (;;) {
        int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        struct client *cl = free_slot(m);
        if (!cl) {
            close(fd);
            continue;
        }
        *cl = (struct client){.fd = fd, .kind = CLIENT_REQUEST, .last_active = lxm_now_ms()};
    }
}

int monitor_io_expire(struct monitor *m)
{
    int64_t now = lxm_now_ms(), next = -1;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *cl = &m->clients[i];
        if (cl->fd < 0 || cl->kind != CLIENT_REQUEST)
            continue;
        int64_t left = cl->last_active + REQUEST_TIMEOUT_MS - now;
        if (left <= 0)
            drop_client(cl);
        else if (next < 0 || left < next)
            next = left;
    }
    return (int)next;
}

static void handle_request(struct monitor *m, struct client *cl)
{
    char reply[256];
    int64_t ms;
    int kill;
    const char *line = line_of(m, cl);
    if (!line) {
        drop_client(cl);
    } else if (strcmp(line, "state") == 0) {
        int n = snprintf(reply, sizeof(reply), "STATE %s %d %" PRId64 "\n",
                         lxm_state_name(monitor_state(m)), m->pidfd >= 0 ? (int)m->init_pid : 0,
                         m->started_at);
        (void)!send(cl->fd, reply, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        drop_client(cl);
    } else if (sscanf(line, "stop %" SCNd64 " %d", &ms, &kill) == 2) {
        cl->kind = CLIENT_STOP;
        monitor_begin_stop(m, ms, kill != 0);
    } else if (strcmp(line, "ready") == 0) {
        reply_ready(m, cl);
    } else if (strcmp(line, "wait-ready") == 0) {
        cl->kind = CLIENT_WAIT;
        if (m->ready.ready)
            monitor_notify_ready(m);
    } else if (strcmp(line, "console") == 0) {
        /* The recent output first, so a new client sees where it is. */
        cl->kind = CLIENT_CONSOLE;
        if (bq_alloc(&cl->out, CLIENT_OUT_MAX) && bq_push(&cl->out, "ok\n", 3) &&
            bq_copy(&m->ring, &cl->out) && flush_client(cl))
            return;
        drop_client(cl);
    } else {
        drop_client(cl);
    }
}

static void read_request(struct monitor *m, struct client *cl)
{
    char *line = line_of(m, cl);
    if (!line) {
        drop_client(cl);
        return;
    }
    ssize_t n = read(cl->fd, line + cl->len, CLIENT_LINE_MAX - 1 - cl->len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        drop_client(cl);
        return;
    }
    cl->len += (size_t)n;
    line[cl->len] = '\0';
    char *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        handle_request(m, cl);
    } else if (cl->len >= CLIENT_LINE_MAX - 1) {
        drop_client(cl);
    }
}

/* Write queued console input to the guest, as much as it takes. */
static void flush_console_in(struct monitor *m)
{
    while (m->master_fd >= 0 && m->console_in.len > 0) {
        const char *p;
        size_t n = bq_peek(&m->console_in, &p);
        ssize_t k = write(m->master_fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return; /* EAGAIN: the guest is not reading; EIO: no reader yet */
        bq_consume(&m->console_in, (size_t)k);
    }
}

/* Input of a console client, read only while there is room for it. */
static void read_console_client(struct monitor *m, struct client *cl)
{
    char buf[4096];
    size_t room = m->console_in.cap - m->console_in.len;
    ssize_t n = read(cl->fd, buf, room < sizeof(buf) ? room : sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        drop_client(cl);
        return;
    }
    cl->last_active = lxm_now_ms();
    bq_push(&m->console_in, buf, (size_t)n);
    flush_console_in(m);
}

static void client_event(struct monitor *m, struct client *cl, short revents)
{
    if ((revents & POLLOUT) && !flush_client(cl)) {
        drop_client(cl);
        return;
    }
    if (!(revents & (POLLIN | POLLHUP | POLLERR)))
        return;
    if (cl->kind == CLIENT_REQUEST) {
        read_request(m, cl);
    } else if (cl->kind == CLIENT_CONSOLE) {
        read_console_client(m, cl);
    } else {
        /* A stop or wait client has nothing more to say; EOF means it left. */
        char buf[64];
        ssize_t n = read(cl->fd, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            drop_client(cl);
    }
}

int monitor_io_pollfds(struct monitor *m, struct pollfd *pfd)
{
    int n = 0;
    pfd[n++] = (struct pollfd){
        .fd = m->master_fd, .events = POLLIN | (m->console_in.len > 0 ? POLLOUT : 0)};
    bool input_room = m->console_in.len < m->console_in.cap;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *cl = &m->clients[i];
        short ev = cl->out.len > 0 ? POLLOUT : 0;
        if (cl->kind != CLIENT_CONSOLE || input_room)
            ev |= POLLIN;
        pfd[n++] = (struct pollfd){.fd = cl->fd, .events = ev};
    }
    return n;
}

void monitor_io_events(struct monitor *m, const struct pollfd *pfd, int n)
{
    if (n < 1 + MAX_CLIENTS)
        return;
    if (pfd[0].revents & POLLIN)
        monitor_read_console(m);
    if (pfd[0].revents & POLLOUT)
        flush_console_in(m);
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (m->clients[i].fd >= 0 && m->clients[i].fd == pfd[1 + i].fd && pfd[1 + i].revents)
            client_event(m, &m->clients[i], pfd[1 + i].revents);
}

/* --- console ------------------------------------------------------------------ */

/* Move FILE to FILE.1 and open a new FILE; -1 if that fails. */
int monitor_log_rotate(const char *dir, const char *name)
{
    char log[PATH_MAX], old[PATH_MAX];
    if (snprintf(log, sizeof(log), "%s/%s", dir, name) >= (int)sizeof(log) ||
        snprintf(old, sizeof(old), "%s/%s.1", dir, name) >= (int)sizeof(old) ||
        rename(log, old) < 0)
        return -1;
    return open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
}

static void log_console(struct monitor *m, const char *buf, size_t n)
{
    if (m->log_fd < 0)
        return;
    if (m->log_size + (off_t)n > CONSOLE_LOG_MAX) {
        int fd = monitor_log_rotate(m->c->log_dir, "console.log");
        if (fd >= 0) {
            close(m->log_fd);
            m->log_fd = fd;
            m->log_size = 0;
        }
    }
    if (write(m->log_fd, buf, n) > 0)
        m->log_size += (off_t)n;
}

void monitor_read_console(struct monitor *m)
{
    char buf[4096];
    if (m->master_fd < 0)
        return;
    ssize_t n = read(m->master_fd, buf, sizeof(buf));
    if (n <= 0)
        return;
    log_console(m, buf, (size_t)n);
    bq_push_ring(&m->ring, buf, (size_t)n);
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *cl = &m->clients[i];
        if (cl->fd >= 0 && cl->kind == CLIENT_CONSOLE)
            client_send(m, cl, buf, (size_t)n);
    }
}

void monitor_take_console(struct monitor *m, int master)
{
    if (m->master_fd >= 0)
        close(m->master_fd);
    if (m->slave_fd >= 0)
        close(m->slave_fd);
    m->master_fd = master;
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    /* Holding the peer open keeps the master free of EIO/hangups while
     * init reopens its console. */
    m->slave_fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

static void open_console_log(struct monitor *m)
{
    char log[PATH_MAX];
    bool fits = snprintf(log, sizeof(log), "%s/console.log", m->c->log_dir) < (int)sizeof(log);
    m->log_fd = fits ? open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
    struct stat st;
    if (m->log_fd >= 0 && fstat(m->log_fd, &st) == 0)
        m->log_size = st.st_size;
}

void monitor_io_init(struct monitor *m)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        m->clients[i] = (struct client){.fd = -1};
    bq_alloc(&m->ring, CONSOLE_RING_SIZE);
    bq_alloc(&m->console_in, CONSOLE_IN_MAX);
    open_console_log(m);
}

void monitor_io_free(struct monitor *m)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (m->clients[i].fd >= 0 && m->clients[i].kind != CLIENT_STOP)
            drop_client(&m->clients[i]);
    bq_free(&m->ring);
    bq_free(&m->console_in);
}

/* --- hand-over (monitor-handover.c) --------------------------------------------- */

/* A queue as its length and its bytes in order. */
static int save_queue(const struct byte_queue *q, int fd)
{
    uint32_t len = (uint32_t)q->len;
    size_t first = q->len < q->cap - q->head ? q->len : q->cap - q->head;
    int r = lxm_write_all(fd, &len, sizeof(len));
    if (r == 0 && len > 0)
        r = lxm_write_all(fd, q->buf + q->head, first);
    if (r == 0 && len > first)
        r = lxm_write_all(fd, q->buf, q->len - first);
    return r;
}

/* lazy: an empty queue stays unallocated (a client's, allocated on use). */
static int load_queue(struct byte_queue *q, size_t cap, bool lazy, int fd)
{
    uint32_t len;
    int r = lxm_read_all(fd, &len, sizeof(len));
    if (r < 0)
        return r;
    if (len > cap)
        return -EINVAL;
    if (len == 0 && lazy)
        return 0;
    if (!bq_alloc(q, cap))
        return -ENOMEM;
    q->len = len;
    return lxm_read_all(fd, q->buf, len);
}

/* What a client is, without its queue. */
struct saved_client {
    int fd;
    int kind;
    int64_t last_active;
    uint32_t len;
    char line[CLIENT_LINE_MAX];
};

int monitor_io_save(const struct monitor *m, int fd)
{
    int r = save_queue(&m->ring, fd);
    if (r == 0)
        r = save_queue(&m->console_in, fd);
    for (int i = 0; i < MAX_CLIENTS && r == 0; i++) {
        const struct client *cl = &m->clients[i];
        struct saved_client sc = {.fd = cl->fd,
                                  .kind = cl->kind,
                                  .last_active = cl->last_active,
                                  .len = (uint32_t)cl->len};
        if (cl->fd >= 0 && cl->len > 0 && client_lines)
            memcpy(sc.line, line_of(m, cl), sizeof(sc.line));
        r = lxm_write_all(fd, &sc, sizeof(sc));
        if (r == 0 && cl->fd >= 0)
            r = save_queue(&cl->out, fd);
    }
    return r;
}

int monitor_io_load(struct monitor *m, int fd)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        m->clients[i] = (struct client){.fd = -1};
    int r = load_queue(&m->ring, CONSOLE_RING_SIZE, false, fd);
    if (r == 0)
        r = load_queue(&m->console_in, CONSOLE_IN_MAX, false, fd);
    for (int i = 0; i < MAX_CLIENTS && r == 0; i++) {
        struct saved_client sc;
        struct client *cl = &m->clients[i];
        if ((r = lxm_read_all(fd, &sc, sizeof(sc))) < 0)
            break;
        if (sc.fd < 0)
            continue;
        if (sc.len >= CLIENT_LINE_MAX || sc.kind < CLIENT_REQUEST || sc.kind > CLIENT_WAIT)
            return -EINVAL;
        *cl = (struct client){.fd = sc.fd, .kind = sc.kind, .last_active = sc.last_active,
                              .len = sc.len};
        char *line = sc.len > 0 ? line_of(m, cl) : NULL;
        if (sc.len > 0 && !line)
            return -ENOMEM;
        if (line) {
            memcpy(line, sc.line, CLIENT_LINE_MAX);
            line[cl->len] = '\0';
        }
        r = load_queue(&cl->out, CLIENT_OUT_MAX, true, fd);
    }
    return r;
}

/* Every fd of the console and the clients, for the caller to hand on. */
int monitor_io_fds(const struct monitor *m, int *fds)
{
    int n = 0;
    fds[n++] = m->master_fd;
    fds[n++] = m->slave_fd;
    fds[n++] = m->log_fd;
    for (int i = 0; i < MAX_CLIENTS; i++)
        fds[n++] = m->clients[i].fd;
    return n;
}

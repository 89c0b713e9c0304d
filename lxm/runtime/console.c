/* console.c: terminals on the user's side: raw mode, window size, the byte
 * relay with its Ctrl-a q escape, and `lxm console` (a client of the
 * monitor, which holds the console pty master). */
#include "runtime/runtime-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"

#define ESCAPE_KEY 0x01 /* Ctrl-a */

int lxm_tty_raw(int fd, struct termios *saved)
{
    if (tcgetattr(fd, saved) < 0)
        return -errno;
    struct termios raw = *saved;
    cfmakeraw(&raw);
    if (tcsetattr(fd, TCSANOW, &raw) < 0)
        return -errno;
    return 0;
}

void lxm_tty_restore(int fd, const struct termios *saved)
{
    tcsetattr(fd, TCSANOW, saved);
}

void lxm_tty_copy_winsize(int from, int to)
{
    struct winsize ws;
    if (ioctl(from, TIOCGWINSZ, &ws) == 0)
        ioctl(to, TIOCSWINSZ, &ws);
}

/* Forward input, watching for Ctrl-a q. *pending holds a lone Ctrl-a
 * across reads. Returns 1 when the user asked to detach. */
static int forward_input(const char *buf, size_t n, int remote, bool escape, bool *pending)
{
    char out[8192];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = buf[i];
        if (escape && *pending) {
            *pending = false;
            if (ch == 'q')
                return lxm_write_all(remote, out, k) < 0 ? -EPIPE : 1;
            out[k++] = ESCAPE_KEY;
            if (ch == ESCAPE_KEY)
                continue;
        } else if (escape && ch == ESCAPE_KEY) {
            *pending = true;
            continue;
        }
        out[k++] = ch;
    }
    return lxm_write_all(remote, out, k) < 0 ? -EPIPE : 0;
}

/* Returns true once child has exited (it is left for the caller to reap). */
static bool handle_signal(int sfd, int in, int remote, pid_t child)
{
    struct signalfd_siginfo si;
    if (read(sfd, &si, sizeof(si)) != sizeof(si))
        return false;
    if (si.ssi_signo == SIGWINCH) {
        lxm_tty_copy_winsize(in, remote);
    } else if (si.ssi_signo == SIGCHLD) {
        siginfo_t w = {0};
        return child > 0 && waitid(P_PID, (id_t)child, &w, WEXITED | WNOHANG | WNOWAIT) == 0 &&
               w.si_pid;
    } else if (child > 0) {
        kill(child, (int)si.ssi_signo);
    }
    return false;
}

/* Copy what is still buffered in remote (a pty master) to out. */
static void drain(int remote, int out)
{
    char buf[8192];
    fcntl(remote, F_SETFL, fcntl(remote, F_GETFL) | O_NONBLOCK);
    ssize_t n;
    while ((n = read(remote, buf, sizeof(buf))) > 0)
        if (lxm_write_all(out, buf, (size_t)n) < 0)
            break;
}

/* attach/shell on a pty fed from a pipe: once the pipe has ended, the
 * pty's end-of-file character is typed each time the session has been
 * quiet for EOF_IDLE_MS (a shell's line editor may drop typeahead while it
 * starts, so once is not enough), at most EOF_TRIES times. */
#define EOF_IDLE_MS 100
#define EOF_TRIES 50

static void send_eof(int remote)
{
    struct termios t;
    char c = tcgetattr(remote, &t) == 0 && t.c_cc[VEOF] ? (char)t.c_cc[VEOF] : '\x04';
    (void)!write(remote, &c, 1);
}

int lxm_relay(int in, int out, int remote, unsigned flags, int sfd, pid_t child)
{
    bool pending = false, in_open = true;
    bool escape = flags & LXM_RELAY_ESCAPE, feed_eof = flags & LXM_RELAY_FEED_EOF;
    int eofs_sent = 0;
    char buf[8192];
    for (;;) {
        struct pollfd p[3] = {
            {.fd = remote, .events = POLLIN},
            {.fd = in_open ? in : -1, .events = POLLIN},
            {.fd = sfd, .events = POLLIN},
        };
        bool eof_due = feed_eof && !in_open && eofs_sent < EOF_TRIES;
        int n_ready = poll(p, 3, eof_due ? EOF_IDLE_MS : -1);
        if (n_ready < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n_ready == 0) {
            send_eof(remote);
            eofs_sent++;
            continue;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(remote, buf, sizeof(buf));
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0)
                return 0; /* EIO from a pty master: the other side is gone */
            if (lxm_write_all(out, buf, (size_t)n) < 0)
                return 0;
        }
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(in, buf, sizeof(buf));
            if (n <= 0) {
                in_open = false;
                continue;
            }
            int r = forward_input(buf, (size_t)n, remote, escape, &pending);
            if (r != 0)
                return r > 0 ? 1 : 0;
        }
        if (sfd >= 0 && (p[2].revents & POLLIN) && handle_signal(sfd, in, remote, child)) {
            drain(remote, out);
            return 0;
        }
    }
}

int lxm_runtime_console_open(struct lxm_container *c, int *fd_out, struct lxm_error *err)
{
    if (!lxm_container_exists(c))
        return lxm_error_set(err, ENOENT, "container '%s' not found", c->name);
    struct lxm_runtime_info info;
    int r = lxm_runtime_query(c, &info, err);
    if (r < 0)
        return r;
    if (info.state == LXM_STATE_STOPPED)
        return lxm_error_set(err, EINVAL, "container '%s' is not running", c->name);
    if (!info.monitor_alive)
        return lxm_error_set(err, EPIPE,
                             "container '%s': its monitor is gone, the console with it "
                             "(use 'lxm attach %s')",
                             c->name, c->name);
    _cleanup_close_ int fd = lxm_monitor_connect(c);
    char line[16];
    if (fd < 0 || lxm_write_all(fd, "console\n", 8) < 0 ||
        lxm_read_line(fd, line, sizeof(line)) < 0 || strcmp(line, "ok") != 0)
        return lxm_error_set(err, EIO, "container '%s': console not available", c->name);
    *fd_out = TAKE_FD(fd);
    return 0;
}

int lxm_runtime_console_relay(int fd, bool *raw, struct lxm_error *err)
{
    struct termios saved;
    if (*raw && lxm_tty_raw(STDIN_FILENO, &saved) < 0)
        *raw = false;
    int r = lxm_relay(STDIN_FILENO, STDOUT_FILENO, fd, LXM_RELAY_ESCAPE, -1, 0);
    if (*raw)
        lxm_tty_restore(STDIN_FILENO, &saved);
    return r < 0 ? lxm_error_errno(err, -r, "console") : 0;
}

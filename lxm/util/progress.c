/* progress: the progress lines of long operations (see progress.h). */
#include "util/progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

enum lxm_progress lxm_progress_mode(bool quiet)
{
    /* Progress is for a person watching: no progress lines at all when
     * stdout is not a terminal (a script, a log, a pipe), only the rare
     * one-line notice (PLAIN). Drawn on stderr. */
    if (quiet)
        return LXM_PROGRESS_QUIET;
    if (!isatty(STDOUT_FILENO) || !isatty(STDERR_FILENO))
        return LXM_PROGRESS_PLAIN;
    return LXM_PROGRESS_TTY;
}

int lxm_terminal_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

void lxm_progress_draw(const char *line)
{
    /* One physical line, whatever the width: cut to the terminal (a line
     * that wraps cannot be redrawn in place and floods the screen). */
    int cols = lxm_terminal_width() - 1;
    int n = (int)strlen(line);
    if (n <= cols)
        fprintf(stderr, "\r\033[K%s", line);
    else
        fprintf(stderr, "\r\033[K%.*s~", cols - 1, line);
    fflush(stderr);
}

/* ---- progress meter ------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *short_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

void lxm_meter_start(struct lxm_meter *m, enum lxm_progress mode, const char *verb,
                        const char *done_verb, const char *what, int64_t total)
{
    *m = (struct lxm_meter){ .mode = mode, .verb = verb, .done_verb = done_verb, .what = what,
                         .total = total, .start_ms = now_ms() };
    m->last_ms = m->start_ms;
}

void lxm_meter_update(struct lxm_meter *m, int64_t done)
{
    m->bytes = done;
    if (m->mode != LXM_PROGRESS_TTY)
        return;
    int64_t t = now_ms();
    /* Nothing for quick steps; at most 5 redraws a second after that. */
    if (t - m->last_ms < 200 || t - m->start_ms < 300)
        return;
    m->last_ms = t;
    m->drawn = true;
    double mib = (double)done / (1 << 20);
    char line[512];
    if (m->total <= 0) {
        snprintf(line, sizeof(line), "%s %.1f MiB %s", m->verb, mib, short_name(m->what));
    } else {
        int pct = (int)(done * 100 / m->total);
        pct = pct > 100 ? 100 : pct;
        /* Numbers first: a narrow terminal cuts the name, not them. */
        snprintf(line, sizeof(line), "%s %3d%% %.1f/%.1f MiB %s", m->verb, pct, mib,
                 (double)m->total / (1 << 20), short_name(m->what));
    }
    lxm_progress_draw(line);
}

/* The closing line: what was made, how big, how long. */
void lxm_meter_done(struct lxm_meter *m, bool ok)
{
    if (m->mode != LXM_PROGRESS_TTY)
        return;
    if (m->drawn)
        fputs("\r\033[K", stderr);
    m->drawn = false;
    if (!ok)
        return;
    char line[512];
    snprintf(line, sizeof(line), "%s %.1f MiB in %.1f s: %s", m->done_verb,
             (double)m->bytes / (1 << 20), (double)(now_ms() - m->start_ms) / 1000, m->what);
    lxm_progress_draw(line);
    fputc('\n', stderr);
}

/* The command layer's side of util/report.h: what a person sees of the
 * library's long jobs and notices. Meters are for a person watching: one
 * line on stderr redrawn in place (only when stdout and stderr are
 * terminals), at most 5 redraws a second and nothing for steps under
 * 0.3 s, then a closing "DONE_VERB 2.4 MiB in 1.2 s: WHAT" line. */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "util/log.h"
#include "util/io.h"

/* The terminal's width (stderr), 80 when unknown. */
static int terminal_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

/* One physical line, whatever the width: cut to the terminal (a line
 * that wraps cannot be redrawn in place and floods the screen). */
static void draw(const char *line)
{
    int cols = terminal_width() - 1;
    int n = (int)strlen(line);
    if (n <= cols)
        fprintf(stderr, "\r\033[K%s", line);
    else
        fprintf(stderr, "\r\033[K%.*s~", cols - 1, line);
    fflush(stderr);
}

static void step(struct lxm_cmd_meter *m, const struct lxm_progress *p)
{
    if (!p->verb) { /* a line of a tool's output, shown as it comes */
        if (p->label) {
            draw(p->label);
            m->drawn = true;
        }
        return;
    }
    int64_t t = lxm_now_ms();
    if (t - m->last_ms < 200 || t - m->start_ms < 300)
        return;
    m->last_ms = t;
    m->drawn = true;
    double mib = (double)p->done / (1 << 20);
    char line[512];
    if (p->total <= 0) {
        snprintf(line, sizeof(line), "%s %.1f MiB %s", p->verb, mib, p->label);
    } else {
        int pct = (int)(p->done * 100 / p->total);
        pct = pct > 100 ? 100 : pct;
        /* Numbers first: a narrow terminal cuts the name, not them. */
        snprintf(line, sizeof(line), "%s %3d%% %.1f/%.1f MiB %s", p->verb, pct, mib,
                 (double)p->total / (1 << 20), p->label);
    }
    draw(line);
}

/* The closing line: what was made, how big, how long. */
static void finish(struct lxm_cmd_meter *m, const struct lxm_progress *p)
{
    bool drawn = m->drawn;
    if (drawn)
        fputs("\r\033[K", stderr);
    m->drawn = false;
    if (p->phase != LXM_PROGRESS_END || !p->done_verb || (p->brief && !drawn))
        return;
    char line[512];
    snprintf(line, sizeof(line), "%s %.1f MiB in %.1f s: %s", p->done_verb,
             (double)p->done / (1 << 20), (double)(lxm_now_ms() - m->start_ms) / 1000, p->what);
    draw(line);
    fputc('\n', stderr);
}

static void on_progress(void *data, const struct lxm_progress *p)
{
    struct lxm_cmd_meter *m = &((struct lxm_ctx *)data)->meter;
    if (!m->tty)
        return;
    switch (p->phase) {
    case LXM_PROGRESS_BEGIN:
        m->drawn = false;
        m->start_ms = m->last_ms = lxm_now_ms();
        break;
    case LXM_PROGRESS_STEP:
        step(m, p);
        break;
    case LXM_PROGRESS_END:
    case LXM_PROGRESS_FAIL:
        finish(m, p);
        break;
    }
}

static void on_notice(void *data, enum lxm_notice kind, const char *msg)
{
    const struct lxm_ctx *ctx = data;
    switch (kind) {
    case LXM_NOTICE_NOTE:
        if (!ctx->quiet)
            fprintf(stderr, "%s\n", msg);
        break;
    case LXM_NOTICE_WAIT:
        if (isatty(STDERR_FILENO))
            lxm_info("%s", msg);
        break;
    case LXM_NOTICE_WARNING:
        if (isatty(STDERR_FILENO))
            lxm_warn("%s", msg);
        break;
    }
}

void lxm_cmd_report_init(struct lxm_ctx *ctx)
{
    ctx->report = (struct lxm_report){.progress = on_progress, .notice = on_notice, .data = ctx};
    ctx->meter = (struct lxm_cmd_meter){
        .tty = !ctx->quiet && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO),
    };
    ctx->paths.report = &ctx->report;
}

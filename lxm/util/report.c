#include "util/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void lxm_report_notice(const struct lxm_report *r, enum lxm_notice kind, const char *fmt, ...)
{
    if (!r || !r->notice)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->notice(r->data, kind, msg);
}

static const char *short_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

static void emit(struct lxm_meter *m, enum lxm_progress_phase phase)
{
    m->p.phase = phase;
    if (m->report && m->report->progress)
        m->report->progress(m->report->data, &m->p);
}

void lxm_meter_start(struct lxm_meter *m, const struct lxm_report *r, const char *verb,
                     const char *done_verb, const char *what, int64_t total)
{
    *m = (struct lxm_meter){
        .report = r,
        .p = {.verb = verb, .done_verb = done_verb, .label = short_name(what), .what = what,
              .total = total},
    };
    emit(m, LXM_PROGRESS_BEGIN);
}

void lxm_meter_update(struct lxm_meter *m, int64_t done)
{
    m->p.done = done;
    emit(m, LXM_PROGRESS_STEP);
}

void lxm_meter_done(struct lxm_meter *m, bool ok)
{
    emit(m, ok ? LXM_PROGRESS_END : LXM_PROGRESS_FAIL);
}

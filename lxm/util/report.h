/* How the library tells a person what it is doing without printing: long
 * jobs report progress and the library says the odd notice through
 * callbacks the command layer sets (cmd/report.c draws the meters and
 * decides about terminals). With no report, or no callback, nothing is
 * said: the library never writes to the terminal itself. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum lxm_progress_phase {
    LXM_PROGRESS_BEGIN, /* a job starts: done 0 */
    LXM_PROGRESS_STEP,  /* it has come this far */
    LXM_PROGRESS_END,   /* it is done: done is the whole */
    LXM_PROGRESS_FAIL,  /* it stopped short (an error follows) */
};

/* One event of a long job. verb NULL: label is a line of a tool's output
 * (a bootstrap's), to show as it is, not a count. */
struct lxm_progress {
    enum lxm_progress_phase phase;
    const char *verb;           /* "unpacking", while it runs */
    const char *done_verb;      /* "unpacked", for the closing line */
    const char *label;          /* short, for the running line: "rootfs.tar.xz" */
    const char *what;           /* whole, for the closing line: a path, "c1 to FILE" */
    int64_t done;               /* bytes so far */
    int64_t total;              /* bytes in all; 0 = unknown */
    bool brief;                 /* often quick: no closing line unless it ran long */
};

enum lxm_notice {
    LXM_NOTICE_NOTE,    /* what lxm does next, worth a line: "bootstrapping ..." */
    LXM_NOTICE_WAIT,    /* why a command waits (for another, for init): for a watcher */
    LXM_NOTICE_WARNING, /* a problem that is logged elsewhere too: for a watcher */
};

struct lxm_report {
    void (*progress)(void *data, const struct lxm_progress *p);
    void (*notice)(void *data, enum lxm_notice kind, const char *msg);
    void *data;
};

/* Say msg (printf style) through r; nothing when r or its callback is NULL. */
void lxm_report_notice(const struct lxm_report *r, enum lxm_notice kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A progress meter: one job's events to r (NULL = none). what is a path or
 * name; the running line shows its last component. */
struct lxm_meter {
    const struct lxm_report *report;
    struct lxm_progress p;
};
void lxm_meter_start(struct lxm_meter *m, const struct lxm_report *r, const char *verb,
                     const char *done_verb, const char *what, int64_t total);
void lxm_meter_update(struct lxm_meter *m, int64_t done);
void lxm_meter_done(struct lxm_meter *m, bool ok);

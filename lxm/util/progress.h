/* progress: what long operations (unpacking, packing, downloading) show
 * on stderr while they run. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* How long operations report progress (stderr): not at all (--quiet),
 * no progress but a rare one-line notice such as "bootstrapping..."
 * (stdout not a terminal), or one line redrawn in place and a closing
 * line saying what was made and how long it took (a terminal). */
enum lxm_progress { LXM_PROGRESS_QUIET, LXM_PROGRESS_PLAIN, LXM_PROGRESS_TTY };

/* The mode for this process: quiet wins; TTY only when stdout and stderr
 * are terminals; else PLAIN. */
enum lxm_progress lxm_progress_mode(bool quiet);

/* The terminal's width (stderr), 80 when unknown. */
int lxm_terminal_width(void);
/* Redraw the progress line: cut to the terminal's width, never wrapped. */
void lxm_progress_draw(const char *line);

/* A progress meter on stderr (TTY mode only): "VERB 42% 1.0/2.4 MiB NAME",
 * at most 5 redraws a second, nothing for steps under 0.3 s, and a closing
 * "DONE_VERB 2.4 MiB in 1.2 s: WHAT" line on success. */
struct lxm_meter {
    enum lxm_progress mode;
    const char *verb;           /* "unpacking", "packing", "copying" */
    const char *done_verb;      /* "unpacked", ... for the closing line */
    const char *what;           /* a path: its last component is shown */
    int64_t total;              /* 0 = unknown: show a byte count only */
    int64_t start_ms, last_ms, bytes;
    bool drawn;
};
void lxm_meter_start(struct lxm_meter *m, enum lxm_progress mode, const char *verb,
                     const char *done_verb, const char *what, int64_t total);
void lxm_meter_update(struct lxm_meter *m, int64_t done);
void lxm_meter_done(struct lxm_meter *m, bool ok);

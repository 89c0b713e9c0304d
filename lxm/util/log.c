#include "util/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The only process-wide setting: verbosity is a property of the invocation,
 * not of any container, so it lives here rather than in every signature. */
static enum lxm_log_level current_level = LXM_LOG_NORMAL;
/* Set in the monitor, whose stderr is the container's lxm.log. */
static bool timestamps;

void lxm_log_set_level(enum lxm_log_level level) { current_level = level; }
enum lxm_log_level lxm_log_get_level(void) { return current_level; }
void lxm_log_set_timestamps(bool on) { timestamps = on; }

void lxm_log_timestamp(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char sec[32];
    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03ldZ", sec, ts.tv_nsec / 1000000);
}

/* One write per line, so lines of processes sharing the file never mix. */
static void emit(const char *prefix, const char *fmt, va_list ap)
{
    char line[4096];
    size_t n = 0;
    if (timestamps) {
        lxm_log_timestamp(line, sizeof(line));
        n = strlen(line);
        n += (size_t)snprintf(line + n, sizeof(line) - n, " %s", prefix);
    } else {
        n = (size_t)snprintf(line, sizeof(line), "lxm: %s", prefix);
    }
    int k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    n = k < 0 ? n : n + (size_t)k >= sizeof(line) - 1 ? sizeof(line) - 2 : n + (size_t)k;
    line[n++] = '\n';
    fflush(stderr);
    (void)!write(STDERR_FILENO, line, n);
}

void lxm_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("warning: ", fmt, ap);
    va_end(ap);
}

void lxm_info(const char *fmt, ...)
{
    if (current_level < LXM_LOG_NORMAL)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit("", fmt, ap);
    va_end(ap);
}

void lxm_debug(const char *fmt, ...)
{
    if (current_level < LXM_LOG_DEBUG)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit("debug: ", fmt, ap);
    va_end(ap);
}

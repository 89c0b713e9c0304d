#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

/* The only process-wide setting: verbosity is a property of the invocation,
 * not of any container, so it lives here rather than in every signature. */
static enum lxm_log_level current_level = LXM_LOG_NORMAL;

void lxm_log_set_level(enum lxm_log_level level) { current_level = level; }
enum lxm_log_level lxm_log_get_level(void) { return current_level; }

static void emit(const char *prefix, const char *fmt, va_list ap)
{
    fprintf(stderr, "lxm: %s", prefix);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
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

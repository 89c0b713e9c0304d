#include "util/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int vset(struct lxm_error *err, int code, const char *fmt, va_list ap)
{
    if (code < 0)
        code = -code;
    if (code == 0)
        code = EIO;
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    }
    return -code;
}

int lxm_error_set(struct lxm_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vset(err, code, fmt, ap);
    va_end(ap);
    return r;
}

int lxm_error_errno(struct lxm_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vset(err, code, fmt, ap);
    va_end(ap);
    if (err) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(err->code));
    }
    return r;
}

int lxm_error_prefix(struct lxm_error *err, const char *fmt, ...)
{
    if (!err)
        return -EIO;
    char head[LXM_ERROR_MAX], old[LXM_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    snprintf(err->msg, sizeof(err->msg), "%s: %s", head, old);
    if (err->code == 0)
        err->code = EIO;
    return -err->code;
}

void lxm_error_clear(struct lxm_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

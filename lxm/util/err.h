/* The one error convention of lxm: a function that can fail returns 0 (or a
 * non-negative value, or a pointer) on success and -errno (or NULL) on
 * failure, and fills a struct lxm_error with a human message. Callers add
 * context on the way up with lxm_error_prefix(); only main() prints it. */
#pragma once

#include <stdarg.h>

#define LXM_ERROR_MAX 2048

struct lxm_error {
    int code;                   /* positive errno, 0 = no error */
    char msg[LXM_ERROR_MAX];
};

/* Set the message (printf style); returns -code so callers can
 * `return lxm_error_set(err, EINVAL, "...")`. err may be NULL. */
int lxm_error_set(struct lxm_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like lxm_error_set, appending ": strerror(code)". */
int lxm_error_errno(struct lxm_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend context: "start web1: " + existing message. Returns -code. */
int lxm_error_prefix(struct lxm_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void lxm_error_clear(struct lxm_error *err);

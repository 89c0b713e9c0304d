/* Scope-bound ownership: __attribute__((cleanup)) helpers for every kind of
 * resource lxm owns, and TAKE_PTR/TAKE_FD to hand ownership out of a scope.
 * Never mix these with goto-ladders in one function. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}
static inline void fclosep(FILE **f)
{
    if (*f) {
        int saved = errno;
        fclose(*f);
        errno = saved;
    }
}
static inline void closedirp(DIR **d)
{
    if (*d) {
        int saved = errno;
        closedir(*d);
        errno = saved;
    }
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Move ownership out of a cleanup-managed variable. */
#define TAKE_PTR(p)                  \
    ({                               \
        __typeof__(p) _tmp_ = (p);   \
        (p) = NULL;                  \
        _tmp_;                       \
    })
#define TAKE_FD(fd)                  \
    ({                               \
        int _tmp_fd_ = (fd);         \
        (fd) = -1;                   \
        _tmp_fd_;                    \
    })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* lxm-failshim: an LD_PRELOAD library for tests/integration/security.sh
 * that makes one library call of lxm fail, named by LXM_TEST_FAIL:
 *   close_range        -> -1, errno EINVAL (glibc's wrapper)
 *   seccomp_attr_set   -> -EINVAL (libseccomp)
 * Every other call goes to the real function. lxm must then fail closed:
 * refuse the attach or the start, never carry on half-confined. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int failing(const char *name)
{
    const char *f = getenv("LXM_TEST_FAIL");
    return f && strcmp(f, name) == 0;
}

int close_range(unsigned int first, unsigned int last, int flags)
{
    if (failing("close_range")) {
        errno = EINVAL;
        return -1;
    }
    int (*real)(unsigned int, unsigned int, int) =
        (int (*)(unsigned int, unsigned int, int))dlsym(RTLD_NEXT, "close_range");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    return real(first, last, flags);
}

int seccomp_attr_set(void *ctx, int attr, uint32_t value)
{
    if (failing("seccomp_attr_set"))
        return -EINVAL;
    int (*real)(void *, int, uint32_t) = (int (*)(void *, int, uint32_t))dlsym(RTLD_NEXT,
                                                                              "seccomp_attr_set");
    return real ? real(ctx, attr, value) : -ENOSYS;
}

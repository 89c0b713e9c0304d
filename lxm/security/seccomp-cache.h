/* seccomp-cache: lxm_seccomp_compile through a cache of compiled programs
 * (seccomp-cache.c says what keys an entry and when one is trusted). */
#pragma once

#include "security/security.h"

/* *out as lxm_seccomp_compile(p) makes it, from the cache in run/.seccomp
 * (run: the lxm run directory, paths->run; the cache directory is created
 * 0700) when an entry for exactly these inputs is there and intact, else
 * compiled and stored there. run NULL: compile only. */
int lxm_seccomp_cached(const struct lxm_policy *p, const char *run, struct lxm_seccomp **out,
                       struct lxm_error *err);
/* The entry's name: 64 hex digits of SHA-256 over the policy's seccomp
 * inputs, the lxm binary and the kernel. 0 or -errno. */
int lxm_seccomp_cache_key(const struct lxm_policy *p, char key[65]);

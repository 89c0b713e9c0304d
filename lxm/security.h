/* security: capabilities (caps.c), seccomp (seccomp.c) and AppArmor
 * (apparmor.c). Each takes a parsed struct lxm_policy and applies it to
 * the calling process; none reads files itself. Init and every attached
 * process go through the same calls. */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "util/err.h"

/* Drop the policy's capabilities from the bounding set, clear ambient. */
int lxm_caps_apply(const struct lxm_policy *p, struct lxm_error *err);

/* Compile the policy's seccomp filter (all ABIs of the host arch) once.
 * The result is loaded later, in the child, with lxm_seccomp_load(). */
struct lxm_seccomp;
int lxm_seccomp_compile(const struct lxm_policy *p, struct lxm_seccomp **out, struct lxm_error *err);
int lxm_seccomp_load(struct lxm_seccomp *s, struct lxm_error *err);
void lxm_seccomp_free(struct lxm_seccomp *s);

/* AppArmor: is it in this kernel? */
bool lxm_apparmor_enabled(void);
/* Text of the per-container profile generated from the policy. */
int lxm_apparmor_generate(const char *container, const struct lxm_policy *p, char **out, struct lxm_error *err);
/* Host side before start: generate + load with apparmor_parser when the
 * kernel has AppArmor; warn and set *profile NULL when it has not (unless
 * the policy requires it: error). */
int lxm_apparmor_prepare(const char *container, const struct lxm_policy *p, const char *run_dir,
                         char **profile, struct lxm_error *err);
/* In the child: switch to profile at the next exec (aa_change_onexec). */
int lxm_apparmor_onexec(const char *profile, struct lxm_error *err);

/* security: capabilities and no_new_privs (caps.c), seccomp (seccomp.c)
 * and AppArmor (apparmor.c); device access is devices.h. Each takes a parsed struct lxm_policy and applies it to
 * the calling process; none reads files itself. Init and every attached
 * process go through the same calls. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "util/err.h"

/* Drop the policy's capabilities (caps_drop, or all but caps_keep) from the
 * bounding, inheritable, permitted and effective sets; clear ambient. */
int lxm_caps_apply(const struct lxm_policy *p, struct lxm_error *err);
/* "sys_module" -> CAP_SYS_MODULE; -EINVAL naming the bad name otherwise. */
int lxm_cap_from_name(const char *name, int *cap, struct lxm_error *err);
/* Check every capability name of the policy without applying anything. */
int lxm_caps_validate(const struct lxm_policy *p, struct lxm_error *err);

/* Compile the policy's seccomp filter (all ABIs of the host arch) once.
 * The result is loaded later, in the child, with lxm_seccomp_load(). */
struct lxm_seccomp;
int lxm_seccomp_compile(const struct lxm_policy *p, struct lxm_seccomp **out, struct lxm_error *err);
int lxm_seccomp_load(struct lxm_seccomp *s, struct lxm_error *err);
void lxm_seccomp_free(struct lxm_seccomp *s);
/* "allow", "kill" (kill_process), "kill_thread", "log", "trap", "errno EPERM",
 * "errno 38" -> SCMP_ACT_* value; -EINVAL with the allowed list otherwise. */
int lxm_seccomp_parse_action(const char *s, uint32_t *action, struct lxm_error *err);
/* The compiled classic-BPF program (tests, debugging). */
struct sock_filter;
const struct sock_filter *lxm_seccomp_program(const struct lxm_seccomp *s, size_t *n_insns);
/* A filter from a program compiled before (a copy); NULL without memory. */
struct lxm_seccomp *lxm_seccomp_from_program(const struct sock_filter *insns, size_t n_insns);

/* AppArmor: is it in this kernel? */
bool lxm_apparmor_enabled(void);
/* Text of the per-container profile generated from the policy. */
int lxm_apparmor_generate(const char *container, const struct lxm_policy *p, char **out, struct lxm_error *err);
/* Host side before start: generate + load with apparmor_parser when the
 * kernel has AppArmor; warn and set *profile NULL when it has not (unless
 * the policy requires it: error). */
int lxm_apparmor_prepare(const char *container, const struct lxm_policy *p, const char *run_dir,
                         char **profile, struct lxm_error *err);
/* For a process joining a running container: the profile its init runs
 * under (loaded by the start), NULL when unconfined or without AppArmor. */
int lxm_apparmor_attach_profile(const char *container, const struct lxm_policy *p, char **profile,
                                struct lxm_error *err);
/* In the child: switch to profile at the next exec (aa_change_onexec). */
int lxm_apparmor_onexec(const char *profile, struct lxm_error *err);
/* apparmor_parser -QK FILE: does the profile parse (no kernel needed)? */
int lxm_apparmor_validate_file(const char *file, struct lxm_error *err);

/* no_new_privs from the policy (off unless the policy turns it on). */
int lxm_security_apply_nnp(const struct lxm_policy *p, struct lxm_error *err);
/* True when the policy confines nothing (no cap drop, a seccomp filter
 * that allows everything, AppArmor "unconfined"): the runtime then calls
 * lxm_security_warn_unconfined() at start. */
bool lxm_security_is_unconfined(const struct lxm_policy *p);
/* No seccomp filter, or one that lets every syscall through. */
bool lxm_security_seccomp_allows_all(const struct lxm_policy *p);
void lxm_security_warn_unconfined(const char *container);

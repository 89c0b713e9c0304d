/* profile: local profiles (create, copy, save an edit, delete, who uses
 * one) and what a merged config leaves out. Reading and merging profiles
 * is config_merge.c's. Local profiles (ROOT/etc/lxm/profiles) override
 * shipped ones of the same name; shipped files are never written. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "util/err.h"

struct lxm_paths;

/* Whether NAME has a local file and a shipped one. */
int lxm_profile_where(const struct lxm_paths *paths, const char *name, bool *local, bool *shipped,
                      struct lxm_error *err);
/* Names of the containers whose config.yaml names NAME (in profiles:,
 * security.profile, or no profiles: at all for "default"). */
int lxm_profile_users(const struct lxm_paths *paths, const char *name, char ***out,
                      struct lxm_error *err);
/* Parse text as profile NAME (file in the messages): valid as a whole, and
 * its name:, if written, is NAME. */
int lxm_profile_check_text(const char *name, const char *file, const char *text,
                           struct lxm_error *err);
/* Validate text, then write it atomically as the local profile NAME.
 * errfile (may be NULL: the local file) names the text in errors. */
int lxm_profile_save_text(const struct lxm_paths *paths, const char *name, const char *text,
                          const char *errfile, struct lxm_error *err);
/* A new, empty local profile; refused when NAME exists (local or shipped). */
int lxm_profile_create(const struct lxm_paths *paths, const char *name, struct lxm_error *err);
/* A local profile dst with src's text (local or shipped), its name: renamed. */
int lxm_profile_copy(const struct lxm_paths *paths, const char *src, const char *dst,
                     struct lxm_error *err);
/* Remove the local profile NAME; refused for a shipped one and while a
 * container uses it (the error names the containers). */
int lxm_profile_delete(const struct lxm_paths *paths, const char *name, struct lxm_error *err);

/* What an effective config (lxm_config_effective) leaves out, as text for
 * one line: "no seccomp filter, no capability drop, no network". Empty when
 * nothing is missing. Returns the number of things missing. */
int lxm_config_missing(const struct lxm_config *eff, char *buf, size_t size);

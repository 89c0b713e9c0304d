/* Diagnostics to stderr: warnings and debug lines. Errors are not logged
 * here: they travel up in struct lxm_error and main() prints them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum lxm_log_level { LXM_LOG_QUIET = 0, LXM_LOG_NORMAL = 1, LXM_LOG_DEBUG = 2 };

/* Process-wide verbosity, set once by main() from -q / -v. */
void lxm_log_set_level(enum lxm_log_level level);
enum lxm_log_level lxm_log_get_level(void);
/* Start every line with an ISO-8601 UTC timestamp and no "lxm: " (the
 * monitor, whose stderr is a log file). */
void lxm_log_set_timestamps(bool on);
/* "2026-12-03T11:50:00.123Z" */
void lxm_log_timestamp(char *buf, size_t len);

void lxm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lxm_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lxm_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

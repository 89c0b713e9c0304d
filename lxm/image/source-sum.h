/* source-sum: the SHA-256 of a template's source file, hashed once and
 * remembered while the file is unchanged on disk (see source-sum.c). */
#pragma once

struct lxm_paths;

/* The sum of file as 64 hex digits; 0 or -errno. */
int lxm_source_sum(const struct lxm_paths *paths, const char *file, char sum[65]);

/* NULL-terminated string vectors (char **), owned: every element and the
 * array itself are heap-allocated. */
#pragma once

#include <stddef.h>

size_t strv_length(char *const *v);
/* Append a copy of s; returns 0 or -ENOMEM. *v may be NULL. */
int strv_push(char ***v, const char *s);
/* Append s, taking ownership of it. */
int strv_consume(char ***v, char *s);
char **strv_copy(char *const *v);
int strv_contains(char *const *v, const char *s);
void strv_free(char **v);
static inline void strv_freep(char ***v) { strv_free(*v); }
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))

/* Edit distance with adjacent transpositions counting one ("lsit" is 1
 * from "list"), for "did you mean" hints; strings past 63 bytes compare
 * as SIZE_MAX. */
size_t str_edit_distance(const char *a, const char *b);

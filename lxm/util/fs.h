/* Filesystem helpers: paths, whole-file reads, atomic writes, and a
 * recursive delete that never follows a symlink or leaves its filesystem. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* asprintf that returns the string or NULL. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* mkdir -p with the given mode for created components; 0 or -errno. */
int mkdir_p(const char *path, mode_t mode);

/* Read a whole file (NUL-terminated); 0 or -errno. *len may be NULL. */
int read_file(const char *path, char **out, size_t *len);

/* Write data to path atomically: temp file in the same directory
 * (PATH.tmp.OWNER.XXXXXX, OWNER from util/owner.h), fsync, rename, fsync of
 * the directory. A crash leaves the old or the new file, never a torn one,
 * and at most a temp file that the next lxm command removes. 0 or -errno. */
int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode);
/* Like write_file_atomic (readers see the old or the new file, never a
 * part), without the fsyncs: for runtime state under the run dir, which
 * means nothing after a crash of the host (the processes it names are gone). */
int write_file_replace(const char *path, const char *data, size_t len, mode_t mode);

/* Something that prints a text (a YAML document, an nft script) with
 * fprintf and friends. */
typedef void (*fill_fn)(FILE *f, const void *data);

/* What fill prints, as a NUL-terminated string (*len its length; len may
 * be NULL), or NULL when memory ran out. */
char *fill_string(fill_fn fill, const void *data, size_t *len);

/* write_file_atomic of what fill prints. 0 or -errno. */
int write_file_atomic_stream(const char *path, mode_t mode, fill_fn fill, const void *data);

/* Write a short string to an existing file (sysfs, cgroupfs, procfs). */
int write_string(const char *path, const char *s);

/* Remove path and everything below it. Symlinks are removed, never
 * followed; directories on another filesystem (mount points) are refused
 * with -EXDEV so a stray bind mount cannot take host files with it.
 * A missing path is success. */
int rm_rf(const char *path);

bool path_exists(const char *path);

/* Undo the \ooo escapes of /proc/self/mountinfo (space, tab, newline,
 * backslash) in place. */
void unescape_octal(char *s);

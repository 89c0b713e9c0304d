/* ydoc: the only place libyaml is driven. Loads one document into a small
 * tree whose every node remembers where it came from (1-based line:col),
 * and writes scalars so that they read back as the same string. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/err.h"

enum lxm_ynode_type { LXM_YAML_SCALAR, LXM_YAML_SEQ, LXM_YAML_MAP };

struct lxm_ynode {
    enum lxm_ynode_type type;
    int line, col;            /* 1-based, from libyaml's start mark */
    char *value;              /* scalar text */
    bool plain;               /* scalar was unquoted (so `~` means null) */
    struct lxm_ynode **items; /* seq: n items; map: 2n nodes, key then value */
    size_t n;
    size_t count; /* entries in items (a map mid-load may hold a lone key) */
};

/* The largest YAML file lxm reads (config.yaml, profiles, templates,
 * lxm.yaml): a few KiB is usual; anything near this is not a config. */
#define LXM_YAML_MAX (1024 * 1024)

/* Refuse len bytes of text that are not a document lxm reads: more than
 * LXM_YAML_MAX ("FILE: N bytes, over the 1 MiB limit..."), or a NUL byte
 * anywhere ("FILE:LINE:COL: a NUL byte..."), which C strings would
 * silently cut the document at. */
int lxm_yaml_check_text(const char *file, const char *text, size_t len, struct lxm_error *err);

/* Read a YAML file whole into *text (NUL-terminated, *len bytes; len may
 * be NULL) after lxm_yaml_check_text, in a buffer of the file's size (a
 * pipe's or a /proc file's grows as it is read). A file over the limit is
 * refused from its size, without reading it. -errno; err says "read FILE: ..." for
 * I/O errors (-ENOENT included: callers that allow a missing file test r). */
int lxm_yaml_read_file(const char *file, char **text, size_t *len, struct lxm_error *err);

/* Parse text (len bytes) as exactly one YAML document. An empty stream
 * gives an empty map. Aliases are refused, nesting is bounded. Errors:
 * "FILE:LINE:COL: yaml syntax error: PROBLEM (CONTEXT)". */
int lxm_yaml_load(const char *file, const char *text, size_t len, struct lxm_ynode **out,
                  struct lxm_error *err);
struct lxm_ynode *lxm_ynode_new(enum lxm_ynode_type type, const char *value, int line, int col);
int lxm_ynode_append(struct lxm_ynode *parent, struct lxm_ynode *child);
void lxm_ynode_free(struct lxm_ynode *n);
static inline void lxm_ynode_freep(struct lxm_ynode **n)
{
    lxm_ynode_free(*n);
}
#define _cleanup_ynode_ __attribute__((cleanup(lxm_ynode_freep)))

const char *lxm_ynode_kind(const struct lxm_ynode *n); /* "a map", "a list", "a string" */
/* A plain null scalar: `~`, `null`, or nothing at all. */
bool lxm_ynode_is_null(const struct lxm_ynode *n);

/* Write s as a YAML scalar: plain when that reads back as the same string,
 * double-quoted with escapes otherwise. */
void lxm_yaml_write_scalar(FILE *f, const char *s);
/* Write a loaded tree back as block-style YAML that loads as the same
 * tree (comments and styles are not kept). */
void lxm_yaml_write_doc(FILE *f, const struct lxm_ynode *root);
/* Write s as a JSON string (quoted and escaped). */
void lxm_json_write_string(FILE *f, const char *s);

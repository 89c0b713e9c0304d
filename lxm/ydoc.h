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

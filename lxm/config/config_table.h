/* config_table: the shape of the config key table, shared by the tables
 * (config_keys.c) and the engine that walks them (config.c). Private to
 * the config module. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config_check.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "config/ydoc.h"

enum key_type {
    KT_STR,      /* char *; optional check or choices */
    KT_BOOL,     /* bool; set_off records an explicit value */
    KT_INT,      /* int64_t in [min, max]; `none` = unset */
    KT_SIZE,     /* int64_t bytes in [min, max] */
    KT_CPU,      /* double > 0; < 0 = unset */
    KT_DURATION, /* int64_t milliseconds in [min, max] */
    KT_SIGNAL,   /* int; 0 = unset */
    KT_ENUM,     /* int index into choices */
    KT_MODE,     /* int, octal file mode; -1 = unset */
    KT_STRV,     /* char **; NULL = unset, empty = explicitly empty */
    KT_STRUCT,   /* nested map: sub's rows relative to base + off */
    KT_LIST,     /* list of maps: sub->elem_size array at off, int count at n_off */
    KT_NAMED,    /* map of NAME -> map (network.eth0): like KT_LIST, keyed by name */
    KT_ENV,      /* map of NAME -> string: struct lxm_kv array */
};

struct table;
struct walk;

struct key {
    const char *name;
    enum key_type type;
    size_t off;
    size_t set_off; /* bool set when written; 0 = none */
    size_t n_off;   /* KT_LIST/KT_NAMED/KT_ENV: int count */
    const struct table *sub;
    lxm_check_fn check;         /* strings, list items, KT_NAMED names */
    const char *const *choices; /* KT_ENUM, or KT_STR limited to these */
    int64_t min, max, none;
    const char *allowed;
};

struct table {
    const struct key *keys;
    size_t n_keys;
    size_t elem_size; /* as an element of a KT_LIST/KT_NAMED */
    bool named;       /* KT_NAMED element: char *name at name_off */
    size_t name_off;
    /* Checks across keys of one element, after it was read. */
    int (*check)(struct walk *w, const struct lxm_ynode *at, const char *path, void *elem);
};

struct walk {
    const char *file; /* NULL: no location (a `config set` value) */
    struct lxm_error *err;
};

#define FIELD(base, off, type) ((type *)((char *)(base) + (off)))
#define CFIELD(base, off, type) ((const type *)((const char *)(base) + (off)))
#define TABLE(rows, ...)                                                                           \
    {                                                                                              \
        .keys = rows, .n_keys = ARRAY_SIZE(rows), __VA_ARGS__                                      \
    }

/* The tables (config_keys.c). */
extern const struct table lxm_config_table, lxm_profile_table, lxm_profile_security_table,
    lxm_template_table, lxm_global_table, lxm_limits_table, lxm_netif_table, lxm_policy_table;

/* "[FILE:LINE:COL: ]PATH: what" into w->err; returns -EINVAL. */
int lxm_walk_error(struct walk *w, const struct lxm_ynode *at, const char *path, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

/* ports: no host port (of one protocol and address) forwarded twice. */
struct lxm_config;
int lxm_config_ports_check(struct walk *w, const struct lxm_ynode *root,
                           const struct lxm_config *c);

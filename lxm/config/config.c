/* config: the one engine that walks the key tables (config_keys.c: one row
 * per YAML key with its type, validator and place in the struct) for
 * parse, validation, set/unset, merge helpers and save, and the public
 * document API. Value parsers and validators are in config_value.c, the
 * profile search and merge in config_merge.c; libyaml is driven only by
 * ydoc.c. */
#include "config/config.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_table.h"
#include "config/paths.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"
#include "config/ydoc.h"

/* ---- field lifetimes ------------------------------------------------ */

static void reset_fields(const struct table *t, void *base);

static void *elem_at(const struct table *sub, void *array, size_t i)
{
    return (char *)array + i * sub->elem_size;
}

static void free_elems(const struct table *sub, void *array, int n)
{
    for (int i = 0; i < n; i++)
        reset_fields(sub, elem_at(sub, array, (size_t)i));
    free(array);
}

static void free_env(struct lxm_kv *kv, int n)
{
    for (int i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

/* Back to "not set", freeing what the field owns. */
static void reset_field(const struct key *k, void *base)
{
    void *f = FIELD(base, k->off, void);
    if (k->set_off)
        *FIELD(base, k->set_off, bool) = false;
    switch (k->type) {
    case KT_STR:
        free(*(char **)f);
        *(char **)f = NULL;
        break;
    case KT_BOOL: *(bool *)f = false; break;
    case KT_INT:
    case KT_DURATION:
    case KT_SIZE: *(int64_t *)f = k->none; break;
    case KT_CPU: *(double *)f = -1; break;
    case KT_SIGNAL:
    case KT_ENUM:
    case KT_MODE: *(int *)f = (int)k->none; break;
    case KT_STRV:
        strv_free(*(char ***)f);
        *(char ***)f = NULL;
        break;
    case KT_STRUCT: reset_fields(k->sub, f); break;
    case KT_LIST:
    case KT_NAMED:
        free_elems(k->sub, *(void **)f, *FIELD(base, k->n_off, int));
        *(void **)f = NULL;
        *FIELD(base, k->n_off, int) = 0;
        break;
    case KT_ENV:
        free_env(*(struct lxm_kv **)f, *FIELD(base, k->n_off, int));
        *(void **)f = NULL;
        *FIELD(base, k->n_off, int) = 0;
        break;
    }
}

static void reset_fields(const struct table *t, void *base)
{
    for (size_t i = 0; i < t->n_keys; i++)
        reset_field(&t->keys[i], base);
    if (t->named) {
        free(*FIELD(base, t->name_off, char *));
        *FIELD(base, t->name_off, char *) = NULL;
    }
}

static bool any_set(const struct table *t, const void *base);

static bool key_is_set(const struct key *k, const void *base)
{
    const void *f = CFIELD(base, k->off, void);
    bool flag = k->set_off && *CFIELD(base, k->set_off, bool);
    switch (k->type) {
    case KT_STR: return *(char *const *)f != NULL;
    case KT_BOOL: return flag || *(const bool *)f;
    case KT_INT:
    case KT_DURATION:
    case KT_SIZE: return *(const int64_t *)f != k->none;
    case KT_CPU: return *(const double *)f >= 0;
    case KT_SIGNAL:
    case KT_MODE: return *(const int *)f != (int)k->none;
    case KT_ENUM: return k->set_off ? flag || *(const int *)f != 0 : true;
    case KT_STRV: return *(char **const *)f != NULL;
    case KT_STRUCT: return any_set(k->sub, f);
    case KT_LIST:
    case KT_NAMED:
    case KT_ENV: return flag || *CFIELD(base, k->n_off, int) > 0;
    }
    return false;
}

static bool any_set(const struct table *t, const void *base)
{
    for (size_t i = 0; i < t->n_keys; i++)
        if (key_is_set(&t->keys[i], base))
            return true;
    return false;
}

/* ---- errors --------------------------------------------------------- */

int lxm_walk_error(struct walk *w, const struct lxm_ynode *at, const char *path, const char *fmt,
                   ...)
{
    char what[LXM_ERROR_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    char where[LXM_ERROR_MAX / 2] = "";
    if (w->file && at && at->line > 0)
        snprintf(where, sizeof(where), "%s:%d:%d: ", w->file, at->line, at->col);
    else if (w->file)
        snprintf(where, sizeof(where), "%s: ", w->file);
    if (path && *path)
        return lxm_error_set(w->err, EINVAL, "%s%s: %s", where, path, what);
    return lxm_error_set(w->err, EINVAL, "%s%s", where, what);
}

static void join_names(char *buf, size_t len, const char *lead, const char *const *names, size_t n,
                       size_t stride)
{
    size_t used = (size_t)snprintf(buf, len, "%s", lead);
    for (size_t i = 0; i < n && used < len; i++) {
        const char *name = *(const char *const *)((const char *)names + i * stride);
        const char *sep = i == 0 ? "" : (i + 1 == n && stride == sizeof(char *)) ? " or " : ", ";
        used += (size_t)snprintf(buf + used, len - used, "%s%s", sep, name);
    }
}

static const char *keys_allowed(const struct table *t, char *buf, size_t len)
{
    join_names(buf, len, "use ", (const char *const *)&t->keys[0].name, t->n_keys,
               sizeof(struct key));
    return buf;
}

static size_t choices_count(const char *const *choices)
{
    size_t n = 0;
    while (choices[n])
        n++;
    return n;
}

/* What to write instead, for the error about a bad value of k (after the
 * key's check, when it said nothing itself); buf is returned. */
static const char *default_allowed(const struct key *k, char *buf)
{
    buf[0] = '\0';
    if (k->allowed)
        snprintf(buf, LXM_ALLOWED_MAX, "%s", k->allowed);
    else if (k->choices)
        join_names(buf, LXM_ALLOWED_MAX, "use ", k->choices, choices_count(k->choices),
                   sizeof(char *));
    else if (k->type == KT_BOOL)
        snprintf(buf, LXM_ALLOWED_MAX, "use true or false");
    else if ((k->type == KT_INT || k->type == KT_SIZE) && k->max == INT64_MAX)
        snprintf(buf, LXM_ALLOWED_MAX, "use an integer >= %lld", (long long)k->min);
    else if (k->type == KT_INT)
        snprintf(buf, LXM_ALLOWED_MAX, "use %lld..%lld", (long long)k->min, (long long)k->max);
    return buf;
}

static int value_error(struct walk *w, const struct lxm_ynode *at, const char *path,
                       const char *value, const char *what, const char *allowed)
{
    if (allowed && *allowed)
        return lxm_walk_error(w, at, path, "\"%s\" %s (%s)", value, what, allowed);
    return lxm_walk_error(w, at, path, "\"%s\" %s", value, what);
}

static int kind_error(struct walk *w, const struct lxm_ynode *at, const char *path,
                      const char *expected, const char *allowed)
{
    return lxm_walk_error(w, at, path, "expected %s, found %s (%s)", expected, lxm_ynode_kind(at),
                          allowed);
}

/* ---- reading: YAML nodes into fields -------------------------------- */

static int walk_map(struct walk *w, const struct table *t, void *base, const char *prefix,
                    const struct lxm_ynode *node);

static char *child_path(const char *prefix, const char *name)
{
    return prefix && *prefix ? xasprintf("%s.%s", prefix, name) : strdup(name);
}

static const char *check_choice(const struct key *k, const char *s, int *index)
{
    for (int i = 0; k->choices[i]; i++) {
        if (!strcmp(s, k->choices[i])) {
            *index = i;
            return NULL;
        }
    }
    return "is not a valid choice";
}

static const char *parse_number(const struct key *k, const char *s, void *f)
{
    int64_t v;
    int r = k->type == KT_SIZE       ? lxm_parse_size(s, &v)
            : k->type == KT_DURATION ? lxm_parse_duration_ms(s, &v)
                                     : lxm_parse_int64(s, &v);
    if (r == -EINVAL)
        return k->type == KT_SIZE       ? "is not a size"
               : k->type == KT_DURATION ? "is not a duration"
                                        : "is not an integer";
    if (r < 0 || v < k->min || v > k->max)
        return "is out of range";
    *(int64_t *)f = v;
    return NULL;
}

static const char *parse_cpu(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v))
        return "is not a number";
    if (v < LXM_LIMIT_CPU_MIN || v > LXM_LIMIT_CPU_MAX)
        return "is out of range";
    *out = v;
    return NULL;
}

static const char *parse_mode(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 8);
    if (end == s || *end || errno || *s == '-' || *s == '+')
        return "is not an octal mode";
    if (v > 07777)
        return "is out of range";
    *out = (int)v;
    return NULL;
}

static const char *parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "on"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "off"};
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
            *out = !strcmp(s, yes[i]);
            return NULL;
        }
    }
    return "is not a boolean";
}

/* Parse and validate one scalar into its field. */
static int read_scalar(struct walk *w, const struct key *k, void *base, const char *path,
                       const struct lxm_ynode *v)
{
    char allowed[LXM_ALLOWED_MAX];
    allowed[0] = '\0'; /* a key's check may say what to use */
    if (v->type != LXM_YAML_SCALAR)
        return kind_error(w, v, path, "a single value", default_allowed(k, allowed));
    void *f = FIELD(base, k->off, void);
    const char *s = v->value, *what = NULL;
    int idx = 0;
    switch (k->type) {
    case KT_STR:
        what = k->choices ? check_choice(k, s, &idx) : k->check ? k->check(s, allowed) : NULL;
        if (!what) {
            char *copy = strdup(s);
            if (!copy)
                return lxm_error_set(w->err, ENOMEM, "out of memory");
            free(*(char **)f);
            *(char **)f = copy;
        }
        break;
    case KT_BOOL: what = parse_bool(s, (bool *)f); break;
    case KT_INT:
    case KT_DURATION:
    case KT_SIZE: what = parse_number(k, s, f); break;
    case KT_CPU: what = parse_cpu(s, (double *)f); break;
    case KT_SIGNAL: what = lxm_parse_signal(s, (int *)f) < 0 ? "is not a signal" : NULL; break;
    case KT_ENUM:
        what = check_choice(k, s, &idx);
        if (!what)
            *(int *)f = idx;
        break;
    case KT_MODE: what = parse_mode(s, (int *)f); break;
    default: return lxm_walk_error(w, v, path, "internal error: not a scalar key");
    }
    if (what)
        return value_error(w, v, path, s, what, allowed[0] ? allowed : default_allowed(k, allowed));
    if (k->set_off)
        *FIELD(base, k->set_off, bool) = true;
    return 0;
}

static int read_strv(struct walk *w, const struct key *k, void *base, const char *path,
                     const struct lxm_ynode *v)
{
    char allowed[LXM_ALLOWED_MAX];
    if (v->type != LXM_YAML_SEQ)
        return kind_error(w, v, path, "a list", "use [a, b] or one '- item' per line");
    _cleanup_strv_free_ char **list = calloc(1, sizeof(char *));
    if (!list)
        return lxm_error_set(w->err, ENOMEM, "out of memory");
    for (size_t i = 0; i < v->n; i++) {
        const struct lxm_ynode *item = v->items[i];
        if (item->type != LXM_YAML_SCALAR)
            return kind_error(w, item, path, "a single value in the list", "use [a, b]");
        allowed[0] = '\0';
        const char *what = k->check ? k->check(item->value, allowed) : NULL;
        if (what)
            return value_error(w, item, path, item->value, what,
                               allowed[0] ? allowed : default_allowed(k, allowed));
        if (strv_push(&list, item->value) < 0)
            return lxm_error_set(w->err, ENOMEM, "out of memory");
    }
    strv_free(*FIELD(base, k->off, char **));
    *FIELD(base, k->off, char **) = TAKE_PTR(list);
    return 0;
}

/* Append one zeroed, reset element to a KT_LIST/KT_NAMED array. */
static void *append_elem(const struct key *k, void *base)
{
    int *n = FIELD(base, k->n_off, int);
    void **array = FIELD(base, k->off, void *);
    void *grown = realloc(*array, ((size_t)*n + 1) * k->sub->elem_size);
    if (!grown)
        return NULL;
    *array = grown;
    void *elem = elem_at(k->sub, grown, (size_t)*n);
    memset(elem, 0, k->sub->elem_size);
    reset_fields(k->sub, elem);
    (*n)++;
    return elem;
}

static int read_elem(struct walk *w, const struct key *k, void *elem, const char *path,
                     const struct lxm_ynode *v)
{
    int r = walk_map(w, k->sub, elem, path, v);
    if (r < 0)
        return r;
    return k->sub->check ? k->sub->check(w, v, path, elem) : 0;
}

/* A list replaces what was there (lists of mounts, of rules). */
static int read_list(struct walk *w, const struct key *k, void *base, const char *path,
                     const struct lxm_ynode *v)
{
    if (v->type != LXM_YAML_SEQ)
        return kind_error(w, v, path, "a list", "use one '- key: value' entry per item");
    reset_field(k, base);
    if (k->set_off)
        *FIELD(base, k->set_off, bool) = true;
    for (size_t i = 0; i < v->n; i++) {
        _cleanup_free_ char *ipath = xasprintf("%s[%zu]", path, i);
        void *elem = append_elem(k, base);
        if (!ipath || !elem)
            return lxm_error_set(w->err, ENOMEM, "out of memory");
        int r = read_elem(w, k, elem, ipath, v->items[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

static int check_map_key(struct walk *w, const struct lxm_ynode *node, size_t i, const char *prefix)
{
    const struct lxm_ynode *key = node->items[2 * i];
    if (key->type != LXM_YAML_SCALAR)
        return lxm_walk_error(w, key, prefix,
                              "keys must be plain strings, found %s (use key: value)",
                              lxm_ynode_kind(key));
    for (size_t j = 0; j < i; j++) {
        const struct lxm_ynode *prev = node->items[2 * j];
        if (prev->type == LXM_YAML_SCALAR && !strcmp(prev->value, key->value)) {
            _cleanup_free_ char *path = child_path(prefix, key->value);
            return lxm_walk_error(w, key, path,
                                  "duplicate key (each key may appear once; the first "
                                  "is at line %d)",
                                  prev->line);
        }
    }
    return 0;
}

/* A map of NAME -> settings merges into what is there, by name. */
static int read_named(struct walk *w, const struct key *k, void *base, const char *path,
                      const struct lxm_ynode *v)
{
    char allowed[LXM_ALLOWED_MAX];
    if (v->type != LXM_YAML_MAP)
        return kind_error(w, v, path, "a map", "use NAME: {key: value}, e.g. eth0: {type: veth}");
    for (size_t i = 0; i < v->n; i++) {
        int r = check_map_key(w, v, i, path);
        if (r < 0)
            return r;
        const struct lxm_ynode *kn = v->items[2 * i], *vn = v->items[2 * i + 1];
        _cleanup_free_ char *epath = child_path(path, kn->value);
        if (!epath)
            return lxm_error_set(w->err, ENOMEM, "out of memory");
        allowed[0] = '\0';
        const char *what = k->check ? k->check(kn->value, allowed) : NULL;
        if (what)
            return value_error(w, kn, epath, kn->value, what,
                               allowed[0] ? allowed : default_allowed(k, allowed));
        void *elem = NULL;
        int n = *FIELD(base, k->n_off, int);
        for (int j = 0; j < n && !elem; j++) {
            void *e = elem_at(k->sub, *FIELD(base, k->off, void *), (size_t)j);
            if (!strcmp(*FIELD(e, k->sub->name_off, char *), kn->value))
                elem = e;
        }
        if (!elem) {
            if (!(elem = append_elem(k, base)) ||
                !(*FIELD(elem, k->sub->name_off, char *) = strdup(kn->value)))
                return lxm_error_set(w->err, ENOMEM, "out of memory");
        }
        if (lxm_ynode_is_null(vn))
            continue;
        if ((r = read_elem(w, k, elem, epath, vn)) < 0)
            return r;
    }
    return 0;
}

static int env_set(const struct key *k, void *base, const char *name, const char *value)
{
    struct lxm_kv **kv = FIELD(base, k->off, struct lxm_kv *);
    int *n = FIELD(base, k->n_off, int);
    char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    for (int i = 0; i < *n; i++) {
        if (!strcmp((*kv)[i].key, name)) {
            free((*kv)[i].value);
            (*kv)[i].value = copy;
            return 0;
        }
    }
    struct lxm_kv *grown = realloc(*kv, ((size_t)*n + 1) * sizeof(**kv));
    if (!grown || !(grown[*n].key = strdup(name))) {
        *kv = grown ? grown : *kv;
        free(copy);
        return -ENOMEM;
    }
    grown[*n].value = copy;
    *kv = grown;
    (*n)++;
    return 0;
}

static void env_unset(const struct key *k, void *base, const char *name)
{
    struct lxm_kv *kv = *FIELD(base, k->off, struct lxm_kv *);
    int *n = FIELD(base, k->n_off, int);
    for (int i = 0; i < *n; i++) {
        if (strcmp(kv[i].key, name) != 0)
            continue;
        free(kv[i].key);
        free(kv[i].value);
        memmove(&kv[i], &kv[i + 1], (size_t)(*n - i - 1) * sizeof(*kv));
        (*n)--;
        return;
    }
}

static int read_env(struct walk *w, const struct key *k, void *base, const char *path,
                    const struct lxm_ynode *v)
{
    char allowed[LXM_ALLOWED_MAX];
    if (v->type != LXM_YAML_MAP)
        return kind_error(w, v, path, "a map", "use NAME: value, e.g. LANG: C.UTF-8");
    for (size_t i = 0; i < v->n; i++) {
        int r = check_map_key(w, v, i, path);
        if (r < 0)
            return r;
        const struct lxm_ynode *kn = v->items[2 * i], *vn = v->items[2 * i + 1];
        _cleanup_free_ char *vpath = child_path(path, kn->value);
        if (!vpath)
            return lxm_error_set(w->err, ENOMEM, "out of memory");
        const char *what = k->check(kn->value, allowed);
        if (what)
            return value_error(w, kn, vpath, kn->value, what, allowed);
        if (lxm_ynode_is_null(vn)) {
            env_unset(k, base, kn->value);
            continue;
        }
        if (vn->type != LXM_YAML_SCALAR)
            return kind_error(w, vn, vpath, "a single value", "use NAME: value");
        if (env_set(k, base, kn->value, vn->value) < 0)
            return lxm_error_set(w->err, ENOMEM, "out of memory");
    }
    return 0;
}

static int read_value(struct walk *w, const struct key *k, void *base, const char *path,
                      const struct lxm_ynode *v)
{
    if (lxm_ynode_is_null(v)) {
        reset_field(k, base); /* `key: ~` or `key:` leaves it unset */
        return 0;
    }
    switch (k->type) {
    case KT_STRV: return read_strv(w, k, base, path, v);
    case KT_STRUCT: return walk_map(w, k->sub, FIELD(base, k->off, void), path, v);
    case KT_LIST: return read_list(w, k, base, path, v);
    case KT_NAMED: return read_named(w, k, base, path, v);
    case KT_ENV: return read_env(w, k, base, path, v);
    default: return read_scalar(w, k, base, path, v);
    }
}

static const struct key *find_key(const struct table *t, const char *name)
{
    for (size_t i = 0; i < t->n_keys; i++)
        if (!strcmp(t->keys[i].name, name))
            return &t->keys[i];
    return NULL;
}

static int walk_map(struct walk *w, const struct table *t, void *base, const char *prefix,
                    const struct lxm_ynode *node)
{
    /* The keys to use, only for an error: a map that reads well is the
     * common case, and this is the walk's most expensive string. */
    char allowed[LXM_ERROR_MAX / 4];
    if (node->type != LXM_YAML_MAP)
        return kind_error(w, node, prefix, "a map", keys_allowed(t, allowed, sizeof(allowed)));
    for (size_t i = 0; i < node->n; i++) {
        int r = check_map_key(w, node, i, prefix);
        if (r < 0)
            return r;
        const struct lxm_ynode *kn = node->items[2 * i];
        _cleanup_free_ char *path = child_path(prefix, kn->value);
        if (!path)
            return lxm_error_set(w->err, ENOMEM, "out of memory");
        const struct key *k = find_key(t, kn->value);
        if (!k)
            return lxm_walk_error(w, kn, path, "unknown key (%s)",
                                  keys_allowed(t, allowed, sizeof(allowed)));
        if ((r = read_value(w, k, base, path, node->items[2 * i + 1])) < 0)
            return r;
    }
    return 0;
}

/* ---- writing: fields back to YAML / JSON ---------------------------- */

static void write_double(FILE *f, double d)
{
    char buf[40];
    snprintf(buf, sizeof(buf), "%.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, sizeof(buf), "%.17g", d);
    fputs(buf, f);
}

static void write_scalar(FILE *f, const struct key *k, const void *base, bool json)
{
    const void *v = CFIELD(base, k->off, void);
    char buf[64];
    switch (k->type) {
    case KT_STR:
        (json ? lxm_json_write_string : lxm_yaml_write_scalar)(f, *(char *const *)v);
        return;
    case KT_BOOL: fputs(*(const bool *)v ? "true" : "false", f); return;
    case KT_INT: fprintf(f, "%lld", (long long)*(const int64_t *)v); return;
    case KT_SIZE:
        if (json)
            snprintf(buf, sizeof(buf), "%lld", (long long)*(const int64_t *)v);
        else
            lxm_format_size(*(const int64_t *)v, buf, sizeof(buf));
        fputs(buf, f);
        return;
    case KT_DURATION:
        if (json)
            snprintf(buf, sizeof(buf), "%lld", (long long)*(const int64_t *)v);
        else
            lxm_format_duration(*(const int64_t *)v, buf, sizeof(buf));
        fputs(buf, f);
        return;
    case KT_CPU: write_double(f, *(const double *)v); return;
    case KT_SIGNAL: lxm_format_signal(*(const int *)v, buf, sizeof(buf)); break;
    case KT_ENUM: snprintf(buf, sizeof(buf), "%s", k->choices[*(const int *)v]); break;
    case KT_MODE: snprintf(buf, sizeof(buf), "%04o", (unsigned)*(const int *)v); break;
    default: return;
    }
    (json ? lxm_json_write_string : lxm_yaml_write_scalar)(f, buf);
}

static void emit_yaml(FILE *f, const struct table *t, const void *base, int indent);

static void emit_list_item(FILE *f, const struct table *sub, const void *elem, int indent)
{
    if (!any_set(sub, elem)) {
        fprintf(f, "%*s- {}\n", indent, "");
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return;
    emit_yaml(mem, sub, elem, indent + 2);
    fclose(mem);
    if (text && len > (size_t)indent)
        text[indent] = '-'; /* the first line becomes the "- " item line */
    fputs(text ? text : "", f);
    free(text);
}

static void emit_yaml_key(FILE *f, const struct key *k, const void *base, int indent)
{
    const void *v = CFIELD(base, k->off, void);
    int n = k->n_off ? *CFIELD(base, k->n_off, int) : 0;
    fprintf(f, "%*s%s:", indent, "", k->name);
    switch (k->type) {
    case KT_STRV:
        fputs(strv_length(*(char **const *)v) ? "\n" : " []\n", f);
        for (char **s = *(char **const *)v; *s; s++) {
            fprintf(f, "%*s- ", indent + 2, "");
            lxm_yaml_write_scalar(f, *s);
            fputc('\n', f);
        }
        return;
    case KT_STRUCT:
        fputc('\n', f);
        emit_yaml(f, k->sub, v, indent + 2);
        return;
    case KT_LIST:
        fputs(n ? "\n" : " []\n", f);
        for (int i = 0; i < n; i++)
            emit_list_item(f, k->sub, elem_at(k->sub, *(void *const *)v, (size_t)i), indent + 2);
        return;
    case KT_NAMED:
        fputc('\n', f);
        for (int i = 0; i < n; i++) {
            const void *e = elem_at(k->sub, *(void *const *)v, (size_t)i);
            fprintf(f, "%*s", indent + 2, "");
            lxm_yaml_write_scalar(f, *CFIELD(e, k->sub->name_off, char *));
            fputs(any_set(k->sub, e) ? ":\n" : ": {}\n", f);
            emit_yaml(f, k->sub, e, indent + 4);
        }
        return;
    case KT_ENV:
        fputc('\n', f);
        for (int i = 0; i < n; i++) {
            const struct lxm_kv *kv = &(*(struct lxm_kv *const *)v)[i];
            fprintf(f, "%*s", indent + 2, "");
            lxm_yaml_write_scalar(f, kv->key);
            fputs(": ", f);
            lxm_yaml_write_scalar(f, kv->value);
            fputc('\n', f);
        }
        return;
    default:
        fputc(' ', f);
        write_scalar(f, k, base, false);
        fputc('\n', f);
    }
}

static void emit_yaml(FILE *f, const struct table *t, const void *base, int indent)
{
    for (size_t i = 0; i < t->n_keys; i++)
        if (key_is_set(&t->keys[i], base))
            emit_yaml_key(f, &t->keys[i], base, indent);
}

static void emit_json(FILE *f, const struct table *t, const void *base);

static void emit_json_value(FILE *f, const struct key *k, const void *base)
{
    const void *v = CFIELD(base, k->off, void);
    int n = k->n_off ? *CFIELD(base, k->n_off, int) : 0;
    switch (k->type) {
    case KT_STRV:
        fputc('[', f);
        for (char **s = *(char **const *)v; *s; s++) {
            fputs(s == *(char **const *)v ? "" : ", ", f);
            lxm_json_write_string(f, *s);
        }
        fputc(']', f);
        return;
    case KT_STRUCT: emit_json(f, k->sub, v); return;
    case KT_LIST:
    case KT_NAMED:
    case KT_ENV:
        fputc(k->type == KT_LIST ? '[' : '{', f);
        for (int i = 0; i < n; i++) {
            fputs(i ? ", " : "", f);
            if (k->type == KT_ENV) {
                const struct lxm_kv *kv = &(*(struct lxm_kv *const *)v)[i];
                lxm_json_write_string(f, kv->key);
                fputs(": ", f);
                lxm_json_write_string(f, kv->value);
                continue;
            }
            const void *e = elem_at(k->sub, *(void *const *)v, (size_t)i);
            if (k->type == KT_NAMED) {
                lxm_json_write_string(f, *CFIELD(e, k->sub->name_off, char *));
                fputs(": ", f);
            }
            emit_json(f, k->sub, e);
        }
        fputc(k->type == KT_LIST ? ']' : '}', f);
        return;
    default: write_scalar(f, k, base, true);
    }
}

static void emit_json(FILE *f, const struct table *t, const void *base)
{
    bool first = true;
    fputc('{', f);
    for (size_t i = 0; i < t->n_keys; i++) {
        if (!key_is_set(&t->keys[i], base))
            continue;
        fprintf(f, "%s\"%s\": ", first ? "" : ", ", t->keys[i].name);
        emit_json_value(f, &t->keys[i], base);
        first = false;
    }
    fputc('}', f);
}

/* ---- documents ------------------------------------------------------ */

typedef int (*finish_fn)(struct walk *w, const struct lxm_ynode *root, void *obj);

static int parse_doc(const char *file, const char *text, const struct table *t, void *obj,
                     finish_fn finish, struct lxm_error *err)
{
    _cleanup_ynode_ struct lxm_ynode *root = NULL;
    int r = lxm_yaml_load(file, text, strlen(text), &root, err);
    if (r < 0)
        return r;
    struct walk w = {.file = file, .err = err};
    r = walk_map(&w, t, obj, NULL, root);
    if (r == 0 && finish)
        r = finish(&w, root, obj);
    return r;
}

/* profiles/NAME.yaml may leave out `name:`. */
static char *name_from_file(const char *file)
{
    const char *slash = strrchr(file, '/');
    _cleanup_free_ char *name = strdup(slash ? slash + 1 : file);
    if (!name)
        return NULL;
    size_t n = strlen(name);
    if (n > 5 && !strcmp(name + n - 5, ".yaml"))
        name[n - 5] = '\0';
    char allowed[LXM_ALLOWED_MAX];
    return lxm_check_ref(name, allowed) ? NULL : TAKE_PTR(name);
}

static int config_finish(struct walk *w, const struct lxm_ynode *root, void *obj)
{
    const struct lxm_config *c = obj;
    if (!c->name)
        return lxm_walk_error(w, root, "name", "missing (every container config has name: NAME)");
    return lxm_config_ports_check(w, root, c);
}

static int profile_finish(struct walk *w, const struct lxm_ynode *root, void *obj)
{
    struct lxm_profile *p = obj;
    if (!p->name && w->file && !(p->name = name_from_file(w->file)))
        return lxm_walk_error(w, root, "name", "missing (use name: NAME)");
    p->has_security = any_set(&lxm_profile_security_table, p);
    return 0;
}

static int template_finish(struct walk *w, const struct lxm_ynode *root, void *obj)
{
    struct lxm_template *t = obj;
    if (!t->name && w->file && !(t->name = name_from_file(w->file)))
        return lxm_walk_error(w, root, "name", "missing (use name: NAME)");
    if (t->default_release && t->releases && !strv_contains(t->releases, t->default_release))
        return lxm_walk_error(w, root, "default_release",
                              "\"%s\" is not in releases (use one of "
                              "the releases)",
                              t->default_release);
    if (!t->default_release && strv_length(t->releases) > 0 &&
        !(t->default_release = strdup(t->releases[0])))
        return lxm_error_set(w->err, ENOMEM, "out of memory");
    return 0;
}

static void *new_doc(const struct table *t, size_t size)
{
    void *obj = calloc(1, size);
    if (obj)
        reset_fields(t, obj);
    return obj;
}

void lxm_limits_init(struct lxm_limits *l)
{
    memset(l, 0, sizeof(*l));
    reset_fields(&lxm_limits_table, l);
}

struct lxm_config *lxm_config_new(const char *name)
{
    struct lxm_config *c = new_doc(&lxm_config_table, sizeof(*c));
    if (c && name && !(c->name = strdup(name))) {
        free(c);
        return NULL;
    }
    return c;
}

void lxm_config_free(struct lxm_config *c)
{
    if (!c)
        return;
    reset_fields(&lxm_config_table, c);
    reset_fields(&lxm_policy_table, &c->policy);
    free(c);
}

void lxm_profile_free(struct lxm_profile *p)
{
    if (!p)
        return;
    reset_fields(&lxm_profile_table, p);
    free(p);
}

void lxm_template_free(struct lxm_template *t)
{
    if (!t)
        return;
    reset_fields(&lxm_template_table, t);
    free(t);
}

void lxm_global_free(struct lxm_global *g)
{
    if (!g)
        return;
    reset_fields(&lxm_global_table, g);
    free(g);
}

#define DEFINE_PARSE(fn, type, table, finish, freefn)                                              \
    int fn(const char *file, const char *text, type **out, struct lxm_error *err)                  \
    {                                                                                              \
        type *obj = new_doc(&table, sizeof(type));                                                 \
        if (!obj)                                                                                  \
            return lxm_error_set(err, ENOMEM, "out of memory");                                    \
        int r = parse_doc(file, text, &table, obj, finish, err);                                   \
        if (r < 0) {                                                                               \
            freefn(obj);                                                                           \
            return r;                                                                              \
        }                                                                                          \
        *out = obj;                                                                                \
        return 0;                                                                                  \
    }

DEFINE_PARSE(lxm_config_parse, struct lxm_config, lxm_config_table, config_finish, lxm_config_free)
DEFINE_PARSE(lxm_profile_parse, struct lxm_profile, lxm_profile_table, profile_finish,
             lxm_profile_free)
DEFINE_PARSE(lxm_template_parse, struct lxm_template, lxm_template_table, template_finish,
             lxm_template_free)

static int global_defaults(struct lxm_global *g)
{
    g->nat = true;
    g->dhcp = true;
    g->bridge = strdup("lxmbr0");
    g->dns_domain = strdup("lxm");
    g->storage_driver = strdup("auto");
    g->idmap_range = strdup("auto");
    g->lxcfs = strdup("/var/lib/lxcfs");
    return g->bridge && g->dns_domain && g->storage_driver && g->idmap_range && g->lxcfs
               ? 0 : -ENOMEM;
}

int lxm_global_parse(const char *file, const char *text, struct lxm_global **out,
                     struct lxm_error *err)
{
    struct lxm_global *g = new_doc(&lxm_global_table, sizeof(*g));
    if (!g || global_defaults(g) < 0) {
        lxm_global_free(g);
        return lxm_error_set(err, ENOMEM, "out of memory");
    }
    int r = text ? parse_doc(file, text, &lxm_global_table, g, NULL, err) : 0;
    if (r < 0) {
        lxm_global_free(g);
        return r;
    }
    *out = g;
    return 0;
}

static int read_doc(const char *file, char **text, struct lxm_error *err)
{
    return lxm_yaml_read_file(file, text, NULL, err);
}

int lxm_config_load(const char *file, struct lxm_config **out, struct lxm_error *err)
{
    _cleanup_free_ char *text = NULL;
    int r = read_doc(file, &text, err);
    return r < 0 ? r : lxm_config_parse(file, text, out, err);
}

int lxm_profile_load(const char *file, struct lxm_profile **out, struct lxm_error *err)
{
    _cleanup_free_ char *text = NULL;
    int r = read_doc(file, &text, err);
    return r < 0 ? r : lxm_profile_parse(file, text, out, err);
}

int lxm_template_load(const char *file, struct lxm_template **out, struct lxm_error *err)
{
    _cleanup_free_ char *text = NULL;
    int r = read_doc(file, &text, err);
    return r < 0 ? r : lxm_template_parse(file, text, out, err);
}

int lxm_global_load(const char *file, struct lxm_global **out, struct lxm_error *err)
{
    _cleanup_free_ char *text = NULL;
    int r = lxm_yaml_read_file(file, &text, NULL, err);
    if (r == -ENOENT) {
        lxm_error_clear(err);
        return lxm_global_parse(file, NULL, out, err);
    }
    if (r < 0)
        return r;
    return lxm_global_parse(file, text, out, err);
}

/* ---- save ----------------------------------------------------------- */

static int emit_to_string(const struct table *t, const void *obj, bool json, char **out,
                          struct lxm_error *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return lxm_error_errno(err, errno, "open_memstream");
    if (json) {
        emit_json(f, t, obj);
        fputc('\n', f);
    } else {
        emit_yaml(f, t, obj, 0);
    }
    if (fclose(f) != 0) {
        free(text);
        return lxm_error_set(err, ENOMEM, "out of memory");
    }
    *out = text;
    return 0;
}

int lxm_config_to_yaml(const struct lxm_config *c, char **out, struct lxm_error *err)
{
    return emit_to_string(&lxm_config_table, c, false, out, err);
}

int lxm_config_to_json(const struct lxm_config *c, char **out, struct lxm_error *err)
{
    return emit_to_string(&lxm_config_table, c, true, out, err);
}

int lxm_profile_to_json(const struct lxm_profile *p, char **out, struct lxm_error *err)
{
    return emit_to_string(&lxm_profile_table, p, true, out, err);
}

static int config_save(const struct lxm_config *c, const char *file, bool durable,
                       struct lxm_error *err)
{
    _cleanup_free_ char *text = NULL;
    int r = lxm_config_to_yaml(c, &text, err);
    if (r < 0)
        return r;
    /* What we write must load again: check before the old file goes. */
    struct lxm_config *check = NULL;
    if ((r = lxm_config_parse(file, text, &check, err)) < 0)
        return lxm_error_prefix(err, "refusing to save an invalid config");
    lxm_config_free(check);
    r = durable ? write_file_atomic(file, text, strlen(text), 0644)
                : write_file_replace(file, text, strlen(text), 0644);
    if (r < 0)
        return lxm_error_errno(err, -r, "write %s", file);
    return 0;
}

int lxm_config_save(const struct lxm_config *c, const char *file, struct lxm_error *err)
{
    return config_save(c, file, true, err);
}

int lxm_config_save_staged(const struct lxm_config *c, const char *file, struct lxm_error *err)
{
    return config_save(c, file, false, err);
}

/* ---- set / unset ---------------------------------------------------- */

static int config_copy(const struct lxm_config *c, struct lxm_config **out, struct lxm_error *err)
{
    _cleanup_free_ char *text = NULL;
    int r = lxm_config_to_yaml(c, &text, err);
    return r < 0 ? r : lxm_config_parse("config", text, out, err);
}

/* Install the changed copy in place; the caller's pointer stays valid and
 * keeps its effective policy. */
static void config_swap(struct lxm_config *c, struct lxm_config *copy)
{
    struct lxm_config tmp = *c;
    *c = *copy;
    *copy = tmp;
    struct lxm_policy policy = c->policy;
    c->policy = copy->policy;
    copy->policy = policy;
    lxm_config_free(copy);
}

static int bad_key(struct lxm_error *err, const char *key)
{
    return lxm_error_set(err, EINVAL,
                         "%s: is not a valid key (use dotted keys, e.g. "
                         "limits.memory)",
                         key);
}

/* limits.memory=1GiB as the document {limits: {memory: "1GiB"}}; a value
 * starting with [ or { is YAML flow ([a, b], {type: veth}). */
static int build_set_tree(const char *key, const char *value, struct lxm_ynode **out,
                          struct lxm_error *err)
{
    _cleanup_free_ char *copy = strdup(key);
    _cleanup_ynode_ struct lxm_ynode *root = lxm_ynode_new(LXM_YAML_MAP, NULL, 0, 0);
    if (!copy || !root)
        return lxm_error_set(err, ENOMEM, "out of memory");
    struct lxm_ynode *cur = root, *val = NULL;
    char *rest = copy, *comp;
    while ((comp = strsep(&rest, "."))) {
        if (!*comp)
            return bad_key(err, key);
        struct lxm_ynode *k = lxm_ynode_new(LXM_YAML_SCALAR, comp, 0, 0);
        if (rest) {
            val = lxm_ynode_new(LXM_YAML_MAP, NULL, 0, 0);
        } else if (value[0] == '[' || value[0] == '{') {
            int r = lxm_yaml_load(key, value, strlen(value), &val, err);
            if (r < 0) {
                lxm_ynode_free(k);
                return r;
            }
        } else if ((val = lxm_ynode_new(LXM_YAML_SCALAR, value, 0, 0))) {
            val->plain = value[0] == '\0'; /* KEY= unsets */
        }
        if (!k || !val || lxm_ynode_append(cur, k) < 0) {
            lxm_ynode_free(k);
            lxm_ynode_free(val);
            return lxm_error_set(err, ENOMEM, "out of memory");
        }
        if (lxm_ynode_append(cur, val) < 0) {
            lxm_ynode_free(val);
            return lxm_error_set(err, ENOMEM, "out of memory");
        }
        cur = val;
    }
    *out = TAKE_PTR(root);
    return 0;
}

static int refuse_fixed(const char *key, struct lxm_error *err)
{
    size_t n = strcspn(key, ".");
    if (n == 4 && !strncmp(key, "name", 4))
        return lxm_error_set(err, EINVAL,
                             "name: cannot be changed (a container's name is its "
                             "directory; use 'lxm copy' for another name)");
    return 0;
}

int lxm_config_set(struct lxm_config *c, const char *key, const char *value, struct lxm_error *err)
{
    if (!key || !*key)
        return bad_key(err, key ? key : "");
    int r = refuse_fixed(key, err);
    if (r < 0)
        return r;
    _cleanup_ynode_ struct lxm_ynode *tree = NULL;
    if ((r = build_set_tree(key, value ? value : "", &tree, err)) < 0)
        return r;
    struct lxm_config *copy = NULL;
    if ((r = config_copy(c, &copy, err)) < 0)
        return r;
    struct walk w = {.file = NULL, .err = err};
    r = walk_map(&w, &lxm_config_table, copy, NULL, tree);
    if (r == 0)
        r = config_finish(&w, NULL, copy);
    if (r < 0) {
        lxm_config_free(copy);
        return r;
    }
    config_swap(c, copy);
    return 0;
}

static void remove_elem(const struct key *k, void *base, void *elem)
{
    int *n = FIELD(base, k->n_off, int);
    char *array = *FIELD(base, k->off, char *);
    size_t i = (size_t)((char *)elem - array) / k->sub->elem_size;
    reset_fields(k->sub, elem);
    memmove(elem, array + (i + 1) * k->sub->elem_size, ((size_t)*n - i - 1) * k->sub->elem_size);
    (*n)--;
}

static void *find_named(const struct key *k, void *base, const char *name)
{
    int n = *FIELD(base, k->n_off, int);
    for (int i = 0; i < n; i++) {
        void *e = elem_at(k->sub, *FIELD(base, k->off, void *), (size_t)i);
        if (!strcmp(*FIELD(e, k->sub->name_off, char *), name))
            return e;
    }
    return NULL;
}

/* Unsetting what is not set is fine: the result is the same. */
static int unset_path(struct lxm_error *err, const struct table *t, void *base, const char *full,
                      char *rest)
{
    char *comp = strsep(&rest, ".");
    const struct key *k = find_key(t, comp);
    if (!*comp)
        return bad_key(err, full);
    if (!k) {
        char allowed[LXM_ERROR_MAX / 4];
        keys_allowed(t, allowed, sizeof(allowed));
        return lxm_error_set(err, EINVAL, "%s: unknown key (%s)", full, allowed);
    }
    if (!rest) {
        reset_field(k, base);
        return 0;
    }
    if (k->type == KT_STRUCT)
        return unset_path(err, k->sub, FIELD(base, k->off, void), full, rest);
    if (k->type == KT_ENV && !strchr(rest, '.')) {
        env_unset(k, base, rest);
        return 0;
    }
    if (k->type == KT_NAMED) {
        char *name = strsep(&rest, ".");
        void *elem = find_named(k, base, name);
        if (!elem)
            return 0;
        if (!rest) {
            remove_elem(k, base, elem);
            return 0;
        }
        return unset_path(err, k->sub, elem, full, rest);
    }
    return lxm_error_set(err, EINVAL, "%s: unknown key (%s has no sub-keys)", full, k->name);
}

int lxm_config_unset(struct lxm_config *c, const char *key, struct lxm_error *err)
{
    if (!key || !*key)
        return bad_key(err, key ? key : "");
    int r = refuse_fixed(key, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *path = strdup(key);
    struct lxm_config *copy = NULL;
    if (!path)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if ((r = config_copy(c, &copy, err)) < 0)
        return r;
    r = unset_path(err, &lxm_config_table, copy, key, path);
    if (r < 0) {
        lxm_config_free(copy);
        return r;
    }
    config_swap(c, copy);
    return 0;
}

/* ---- helpers for the merge (config_merge.c) ------------------------- */

static int copy_scalar_field(const struct key *k, void *dst, const void *src)
{
    if (k->set_off)
        *FIELD(dst, k->set_off, bool) = *CFIELD(src, k->set_off, bool);
    switch (k->type) {
    case KT_STR:
        free(*FIELD(dst, k->off, char *));
        *FIELD(dst, k->off, char *) = strdup(*CFIELD(src, k->off, char *));
        return *FIELD(dst, k->off, char *) ? 0 : -ENOMEM;
    case KT_STRV:
        strv_free(*FIELD(dst, k->off, char **));
        *FIELD(dst, k->off, char **) = strv_copy(*(char **const *)((const char *)src + k->off));
        return *FIELD(dst, k->off, char **) ? 0 : -ENOMEM;
    case KT_BOOL: *FIELD(dst, k->off, bool) = *CFIELD(src, k->off, bool); return 0;
    case KT_INT:
    case KT_DURATION:
    case KT_SIZE: *FIELD(dst, k->off, int64_t) = *CFIELD(src, k->off, int64_t); return 0;
    case KT_CPU: *FIELD(dst, k->off, double) = *CFIELD(src, k->off, double); return 0;
    case KT_SIGNAL:
    case KT_ENUM:
    case KT_MODE: *FIELD(dst, k->off, int) = *CFIELD(src, k->off, int); return 0;
    default: return -EINVAL; /* nested keys are filled key by key */
    }
}

/* Give every key dst leaves unset the value src has. */
static int fill_unset(const struct table *t, void *dst, const void *src)
{
    for (size_t i = 0; i < t->n_keys; i++) {
        const struct key *k = &t->keys[i];
        int r = 0;
        if (k->type == KT_STRUCT)
            r = fill_unset(k->sub, FIELD(dst, k->off, void), CFIELD(src, k->off, void));
        else if (!key_is_set(k, dst) && key_is_set(k, src))
            r = copy_scalar_field(k, dst, src);
        if (r < 0)
            return r;
    }
    return 0;
}

int lxm_limits_fill(struct lxm_limits *dst, const struct lxm_limits *src)
{
    return fill_unset(&lxm_limits_table, dst, src);
}

int lxm_netif_fill(struct lxm_netif *dst, const struct lxm_netif *src)
{
    return fill_unset(&lxm_netif_table, dst, src);
}

struct lxm_netif *lxm_config_netif(struct lxm_config *c, const char *name, bool create)
{
    const struct key *k = find_key(&lxm_config_table, "network");
    struct lxm_netif *n = find_named(k, c, name);
    if (n || !create)
        return n;
    if (!(n = append_elem(k, c)))
        return NULL;
    if (!(n->name = strdup(name))) {
        remove_elem(k, c, n);
        return NULL;
    }
    return n;
}

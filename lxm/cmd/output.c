#include "cmd/output.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/strv.h"

enum vtype { V_NULL, V_BOOL, V_INT, V_NUM, V_STR, V_ARRAY, V_OBJECT };

struct lxm_value {
    enum vtype type;
    bool b;
    int64_t i;
    double d;                   /* V_NUM */
    char *s;
    char *key;                  /* when inside an object */
    enum lxm_unit unit;         /* of an integer, for tables */
    struct lxm_value **items;
    size_t n;
};

static struct lxm_value *vnew(enum vtype t)
{
    struct lxm_value *v = calloc(1, sizeof(*v));
    if (!v)
        abort(); /* output of a few KiB: running out here is not recoverable */
    v->type = t;
    return v;
}

struct lxm_value *lxm_value_object(void) { return vnew(V_OBJECT); }
struct lxm_value *lxm_value_array(void) { return vnew(V_ARRAY); }

void lxm_array_push(struct lxm_value *arr, struct lxm_value *v)
{
    arr->items = realloc(arr->items, (arr->n + 1) * sizeof(*arr->items));
    if (!arr->items)
        abort();
    arr->items[arr->n++] = v;
}

static struct lxm_value *add(struct lxm_value *obj, const char *key, struct lxm_value *v)
{
    v->key = strdup(key);
    lxm_array_push(obj, v);
    return v;
}

void lxm_obj_str(struct lxm_value *obj, const char *key, const char *s)
{
    struct lxm_value *v = vnew(s ? V_STR : V_NULL);
    if (s)
        v->s = strdup(s);
    add(obj, key, v);
}

void lxm_obj_int(struct lxm_value *obj, const char *key, int64_t i)
{
    struct lxm_value *v = vnew(V_INT);
    v->i = i;
    add(obj, key, v);
}

void lxm_obj_int_or_null(struct lxm_value *obj, const char *key, int64_t i)
{
    if (i < 0)
        add(obj, key, vnew(V_NULL));
    else
        lxm_obj_int(obj, key, i);
}

void lxm_obj_quantity(struct lxm_value *obj, const char *key, int64_t i, enum lxm_unit unit)
{
    struct lxm_value *v = vnew(i < 0 ? V_NULL : V_INT);
    v->i = i;
    v->unit = unit;
    add(obj, key, v);
}

void lxm_obj_number(struct lxm_value *obj, const char *key, double d)
{
    struct lxm_value *v = vnew(d < 0 ? V_NULL : V_NUM);
    v->d = d;
    add(obj, key, v);
}

void lxm_obj_bool(struct lxm_value *obj, const char *key, bool b)
{
    struct lxm_value *v = vnew(V_BOOL);
    v->b = b;
    add(obj, key, v);
}

void lxm_obj_strv(struct lxm_value *obj, const char *key, char *const *sv)
{
    struct lxm_value *a = add(obj, key, vnew(V_ARRAY));
    for (size_t i = 0; sv && sv[i]; i++) {
        struct lxm_value *s = vnew(V_STR);
        s->s = strdup(sv[i]);
        lxm_array_push(a, s);
    }
}

struct lxm_value *lxm_obj_object(struct lxm_value *obj, const char *key)
{
    return add(obj, key, vnew(V_OBJECT));
}

struct lxm_value *lxm_obj_array(struct lxm_value *obj, const char *key)
{
    return add(obj, key, vnew(V_ARRAY));
}

void lxm_value_free(struct lxm_value *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++)
        lxm_value_free(v->items[i]);
    free(v->items);
    free(v->s);
    free(v->key);
    free(v);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void print_json(FILE *f, const struct lxm_value *v, int depth)
{
    switch (v->type) {
    case V_NULL: fputs("null", f); return;
    case V_BOOL: fputs(v->b ? "true" : "false", f); return;
    case V_INT: fprintf(f, "%" PRId64, v->i); return;
    case V_NUM: fprintf(f, "%.6g", v->d); return;
    case V_STR: json_string(f, v->s); return;
    case V_ARRAY:
    case V_OBJECT: break;
    }
    bool obj = v->type == V_OBJECT;
    if (v->n == 0) {
        fputs(obj ? "{}" : "[]", f);
        return;
    }
    fputs(obj ? "{\n" : "[\n", f);
    for (size_t i = 0; i < v->n; i++) {
        fprintf(f, "%*s", (depth + 1) * 2, "");
        if (obj) {
            json_string(f, v->items[i]->key);
            fputs(": ", f);
        }
        print_json(f, v->items[i], depth + 1);
        fputs(i + 1 < v->n ? ",\n" : "\n", f);
    }
    fprintf(f, "%*s%c", depth * 2, "", obj ? '}' : ']');
}

static bool yaml_needs_quotes(const char *s)
{
    if (!*s || isspace((unsigned char)s[0]) || isspace((unsigned char)s[strlen(s) - 1]))
        return true;
    static const char *words[] = { "true", "false", "yes", "no", "null", "on", "off", "~" };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasecmp(s, words[i]) == 0)
            return true;
    if (strpbrk(s, ":#{}[],&*!|>'\"%@`\n") || strchr("-?", s[0]))
        return true;
    char *end;
    (void)strtod(s, &end);
    return *end == '\0';
}

static void yaml_scalar(FILE *f, const struct lxm_value *v)
{
    switch (v->type) {
    case V_NULL: fputs("null", f); break;
    case V_BOOL: fputs(v->b ? "true" : "false", f); break;
    case V_INT: fprintf(f, "%" PRId64, v->i); break;
    case V_NUM: fprintf(f, "%.6g", v->d); break;
    case V_STR:
        if (yaml_needs_quotes(v->s))
            json_string(f, v->s); /* a JSON string is a valid YAML double-quoted scalar */
        else
            fputs(v->s, f);
        break;
    default: break;
    }
}

static bool is_scalar(const struct lxm_value *v)
{
    return (v->type != V_ARRAY && v->type != V_OBJECT) || v->n == 0;
}

static void print_yaml(FILE *f, const struct lxm_value *v, int indent)
{
    for (size_t i = 0; i < v->n; i++) {
        const struct lxm_value *it = v->items[i];
        fprintf(f, "%*s", indent, "");
        if (v->type == V_OBJECT)
            fprintf(f, "%s:", it->key);
        else
            fputs("-", f);
        if (is_scalar(it)) {
            fputc(' ', f);
            if (it->type == V_ARRAY || it->type == V_OBJECT)
                fputs(it->type == V_ARRAY ? "[]" : "{}", f);
            else
                yaml_scalar(f, it);
            fputc('\n', f);
        } else if (v->type == V_ARRAY && it->type == V_OBJECT) {
            /* "- key: v" on the dash line, the rest aligned under it */
            fputc(' ', f);
            struct lxm_value first = *it;
            first.n = 1;
            print_yaml(f, &first, 0);
            struct lxm_value rest = *it;
            rest.items = it->items + 1;
            rest.n = it->n - 1;
            print_yaml(f, &rest, indent + 2);
        } else {
            fputc('\n', f);
            print_yaml(f, it, indent + 2);
        }
    }
}

static void human_int(const struct lxm_value *v, char *buf, size_t len)
{
    switch (v->unit) {
    case LXM_UNIT_BYTES: lxm_format_bytes(buf, len, v->i); break;
    case LXM_UNIT_NS: lxm_format_seconds(buf, len, (double)v->i / 1e9); break;
    case LXM_UNIT_SECONDS: lxm_format_seconds(buf, len, (double)v->i); break;
    case LXM_UNIT_NONE: snprintf(buf, len, "%" PRId64, v->i); break;
    }
}

/* Flatten a row value into text for table/CSV cells (tables only: human
 * units). */
static void cell_text_as(const struct lxm_value *v, char *buf, size_t len, bool human)
{
    buf[0] = '\0';
    switch (v->type) {
    case V_NULL: snprintf(buf, len, "-"); break;
    case V_BOOL: snprintf(buf, len, "%s", v->b ? "true" : "false"); break;
    case V_INT:
        if (human)
            human_int(v, buf, len);
        else
            snprintf(buf, len, "%" PRId64, v->i);
        break;
    case V_NUM: snprintf(buf, len, "%.6g", v->d); break;
    case V_STR: snprintf(buf, len, "%s", v->s); break;
    case V_ARRAY:
    case V_OBJECT:
        for (size_t i = 0; i < v->n; i++) {
            char item[256];
            cell_text_as(v->items[i], item, sizeof(item), human);
            size_t used = strlen(buf);
            snprintf(buf + used, len - used, "%s%s", i ? "," : "", item);
        }
        if (v->n == 0)
            snprintf(buf, len, "-");
        break;
    }
}

static void cell_text(const struct lxm_value *v, char *buf, size_t len)
{
    cell_text_as(v, buf, len, true);
}

static const struct lxm_value *lookup(const struct lxm_value *obj, const char *key)
{
    for (size_t i = 0; obj && i < obj->n; i++) {
        const struct lxm_value *it = obj->items[i];
        size_t kl = strlen(it->key);
        if (strcmp(it->key, key) == 0)
            return it;
        if (it->type == V_OBJECT && strncmp(key, it->key, kl) == 0 && key[kl] == '.')
            return lookup(it, key + kl + 1);
    }
    return NULL;
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void print_rows(FILE *f, enum lxm_output_format fmt, const struct lxm_value *rows,
                       const char *const *columns, const char *const *headers)
{
    char **cols = NULL;
    if (columns)
        cols = strv_copy((char *const *)columns);
    else
        for (size_t i = 0; rows->n && i < rows->items[0]->n; i++)
            strv_push(&cols, rows->items[0]->items[i]->key);
    size_t nc = strv_length(cols);
    size_t *width = calloc(nc + 1, sizeof(size_t));
    char title[64];
    for (size_t c = 0; c < nc; c++) {
        const char *h = headers ? headers[c] : cols[c];
        width[c] = strlen(h);
        for (size_t r = 0; r < rows->n; r++) {
            char buf[1024];
            const struct lxm_value *v = lookup(rows->items[r], cols[c]);
            cell_text(v ? v : &(struct lxm_value){ .type = V_NULL }, buf, sizeof(buf));
            if (strlen(buf) > width[c])
                width[c] = strlen(buf);
        }
    }
    for (size_t c = 0; c < nc; c++) {
        const char *h = headers ? headers[c] : cols[c];
        snprintf(title, sizeof(title), "%s", h);
        if (fmt == LXM_OUT_TABLE && !headers)
            for (char *p = title; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        if (fmt == LXM_OUT_CSV)
            fprintf(f, "%s%s", c ? "," : "", cols[c]);
        else
            fprintf(f, "%-*s%s", c + 1 < nc ? (int)width[c] : 0, title, c + 1 < nc ? "  " : "\n");
    }
    if (fmt == LXM_OUT_CSV)
        fputc('\n', f);
    for (size_t r = 0; r < rows->n; r++) {
        for (size_t c = 0; c < nc; c++) {
            char buf[1024];
            const struct lxm_value *v = lookup(rows->items[r], cols[c]);
            struct lxm_value none = { .type = V_NULL };
            cell_text_as(v ? v : &none, buf, sizeof(buf), fmt == LXM_OUT_TABLE);
            if (fmt == LXM_OUT_CSV) {
                if (c)
                    fputc(',', f);
                /* Nothing (null, no items) is an empty field, not the table's "-". */
                bool empty = !v || v->type == V_NULL ||
                             ((v->type == V_ARRAY || v->type == V_OBJECT) && v->n == 0);
                csv_field(f, empty ? "" : buf);
            } else {
                fprintf(f, "%-*s%s", c + 1 < nc ? (int)width[c] : 0, buf, c + 1 < nc ? "  " : "");
            }
        }
        fputc('\n', f);
    }
    free(width);
    strv_free(cols);
}

static void print_kv(FILE *f, const struct lxm_value *obj, const char *prefix, int keyw)
{
    for (size_t i = 0; i < obj->n; i++) {
        const struct lxm_value *it = obj->items[i];
        char key[256];
        snprintf(key, sizeof(key), "%s%s", prefix, it->key);
        if (it->type == V_OBJECT && it->n) {
            char sub[260];
            snprintf(sub, sizeof(sub), "%s.", key);
            print_kv(f, it, sub, keyw);
            continue;
        }
        char buf[1024];
        cell_text(it, buf, sizeof(buf));
        if (it->unit != LXM_UNIT_NONE) {
            static const char *const suffixes[] = {"_bytes", "_ns", "_s"};
            for (size_t k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
                size_t kl = strlen(key), sl = strlen(suffixes[k]);
                if (kl > sl && strcmp(key + kl - sl, suffixes[k]) == 0) {
                    key[kl - sl] = '\0';
                    break;
                }
            }
        }
        fprintf(f, "%-*s %s\n", keyw, strcat(key, ":"), buf);
    }
}

void lxm_output_print(FILE *f, enum lxm_output_format fmt, const struct lxm_value *v,
                      const char *const *columns, const char *const *headers)
{
    switch (fmt) {
    case LXM_OUT_JSON:
        print_json(f, v, 0);
        fputc('\n', f);
        break;
    case LXM_OUT_YAML:
        if (is_scalar(v)) {
            yaml_scalar(f, v);
            fputc('\n', f);
        } else
            print_yaml(f, v, 0);
        break;
    case LXM_OUT_TABLE:
    case LXM_OUT_CSV:
        if (v->type == V_OBJECT) {
            if (fmt == LXM_OUT_TABLE) {
                print_kv(f, v, "", 16);
                break;
            }
            struct lxm_value one = { .type = V_ARRAY, .items = (struct lxm_value **)&v, .n = 1 };
            print_rows(f, fmt, &one, columns, headers);
        } else
            print_rows(f, fmt, v, columns, headers);
        break;
    }
}

void lxm_format_bytes(char *buf, size_t len, int64_t bytes)
{
    static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    if (bytes < 0) {
        snprintf(buf, len, "-");
        return;
    }
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%" PRId64 "B", bytes);
    else
        snprintf(buf, len, "%.1f%s", v, units[u]);
}

void lxm_format_seconds(char *buf, size_t len, double s)
{
    if (s < 0) {
        snprintf(buf, len, "-");
        return;
    }
    int64_t t = (int64_t)s;
    if (s < 10 && s != (double)t)
        snprintf(buf, len, "%.3fs", s);
    else if (t < 60)
        snprintf(buf, len, "%" PRId64 "s", t);
    else if (t < 3600)
        snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", t / 60, t % 60);
    else if (t < 86400)
        snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", t / 3600, t % 3600 / 60);
    else
        snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", t / 86400, t % 86400 / 3600);
}

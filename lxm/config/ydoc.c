#include "config/ydoc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "util/cleanup.h"

#define MAX_DEPTH 32

struct loader {
    yaml_parser_t parser;
    const char *file;
    const char *text;
    size_t len;
    struct lxm_error *err;
};

static void event_deletep(yaml_event_t *e)
{
    yaml_event_delete(e);
}
#define _cleanup_event_ __attribute__((cleanup(event_deletep)))

struct lxm_ynode *lxm_ynode_new(enum lxm_ynode_type type, const char *value, int line, int col)
{
    struct lxm_ynode *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->type = type;
    n->line = line;
    n->col = col;
    if (value && !(n->value = strdup(value))) {
        free(n);
        return NULL;
    }
    return n;
}

int lxm_ynode_append(struct lxm_ynode *parent, struct lxm_ynode *child)
{
    struct lxm_ynode **items = realloc(parent->items, (parent->count + 1) * sizeof(*items));
    if (!items)
        return -ENOMEM;
    parent->items = items;
    items[parent->count++] = child;
    parent->n = parent->type == LXM_YAML_MAP ? parent->count / 2 : parent->count;
    return 0;
}

void lxm_ynode_free(struct lxm_ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->count; i++)
        lxm_ynode_free(n->items[i]);
    free(n->items);
    free(n->value);
    free(n);
}

const char *lxm_ynode_kind(const struct lxm_ynode *n)
{
    switch (n->type) {
    case LXM_YAML_MAP: return "a map";
    case LXM_YAML_SEQ: return "a list";
    default: return "a string";
    }
}

bool lxm_ynode_is_null(const struct lxm_ynode *n)
{
    if (n->type != LXM_YAML_SCALAR || !n->plain)
        return false;
    const char *v = n->value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static void offset_to_mark(const char *text, size_t len, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int too_big(const char *file, unsigned long long size, struct lxm_error *err)
{
    return lxm_error_set(err, EFBIG,
                         "%s: %llu bytes, over the %d MiB limit for a YAML file (is it really one?)",
                         file, size, LXM_YAML_MAX >> 20);
}

int lxm_yaml_check_text(const char *file, const char *text, size_t len, struct lxm_error *err)
{
    if (len > LXM_YAML_MAX)
        return too_big(file, len, err);
    const char *nul = memchr(text, '\0', len);
    if (!nul)
        return 0;
    int line, col;
    offset_to_mark(text, len, (size_t)(nul - text), &line, &col);
    return lxm_error_set(err, EINVAL, "%s:%d:%d: a NUL byte (a YAML file is text: remove it)", file,
                         line, col);
}

/* The whole of fd into *out (NUL-terminated, *n bytes), expecting size
 * bytes (fstat's; 0 where it does not know: pipes, /proc). The buffer grows
 * if the file does while it is read, up to LXM_YAML_MAX + 1 bytes: one more
 * than allowed tells "too big" without reading further. */
static int read_whole(int fd, size_t size, char **out, size_t *n)
{
    size_t cap = size ? size + 1 : 4096; /* + 1: read to the end, no realloc */
    if (cap > LXM_YAML_MAX + 1)
        cap = LXM_YAML_MAX + 1;
    _cleanup_free_ char *buf = malloc(cap + 1);
    if (!buf)
        return -ENOMEM;
    size_t len = 0;
    for (;;) {
        if (len == cap) {
            if (cap > LXM_YAML_MAX)
                break;
            cap = cap > (LXM_YAML_MAX + 1) / 2 ? LXM_YAML_MAX + 1 : cap * 2;
            char *grown = realloc(buf, cap + 1);
            if (!grown)
                return -ENOMEM;
            buf = grown;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    *n = len;
    *out = TAKE_PTR(buf);
    return 0;
}

int lxm_yaml_read_file(const char *file, char **text, size_t *len, struct lxm_error *err)
{
    _cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "read %s", file);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return lxm_error_errno(err, errno, "read %s", file);
    if (S_ISREG(st.st_mode) && st.st_size > LXM_YAML_MAX)
        return too_big(file, (unsigned long long)st.st_size, err);
    _cleanup_free_ char *buf = NULL;
    size_t n = 0;
    int r = read_whole(fd, S_ISREG(st.st_mode) ? (size_t)st.st_size : 0, &buf, &n);
    if (r == -ENOMEM)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (r < 0)
        return lxm_error_errno(err, -r, "read %s", file);
    if ((r = lxm_yaml_check_text(file, buf, n, err)) < 0)
        return r;
    if (len)
        *len = n;
    *text = TAKE_PTR(buf);
    return 0;
}

static int syntax_error(struct loader *l)
{
    yaml_parser_t *p = &l->parser;
    int line, col;
    if (p->error == YAML_READER_ERROR) {
        offset_to_mark(l->text, l->len, p->problem_offset, &line, &col);
    } else {
        line = (int)p->problem_mark.line + 1;
        col = (int)p->problem_mark.column + 1;
    }
    if (p->error == YAML_MEMORY_ERROR)
        return lxm_error_set(l->err, ENOMEM, "%s: out of memory", l->file);
    if (p->context)
        return lxm_error_set(l->err, EINVAL, "%s:%d:%d: yaml syntax error: %s (%s)", l->file, line,
                             col, p->problem ? p->problem : "invalid", p->context);
    return lxm_error_set(l->err, EINVAL, "%s:%d:%d: yaml syntax error: %s", l->file, line, col,
                         p->problem ? p->problem : "invalid");
}

static int next_event(struct loader *l, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&l->parser, ev)) {
        memset(ev, 0, sizeof(*ev));
        return syntax_error(l);
    }
    return 0;
}

static int mark_error(struct loader *l, const yaml_mark_t *m, const char *what)
{
    return lxm_error_set(l->err, EINVAL, "%s:%zu:%zu: %s", l->file, m->line + 1, m->column + 1,
                         what);
}

static int load_node(struct loader *l, yaml_event_t *ev, int depth, struct lxm_ynode **out);

static int load_children(struct loader *l, struct lxm_ynode *n, yaml_event_type_t end, int depth)
{
    for (;;) {
        _cleanup_event_ yaml_event_t ev;
        int r = next_event(l, &ev);
        if (r < 0)
            return r;
        if (ev.type == end)
            return 0;
        struct lxm_ynode *child = NULL;
        r = load_node(l, &ev, depth + 1, &child);
        if (r < 0)
            return r;
        if (lxm_ynode_append(n, child) < 0) {
            lxm_ynode_free(child);
            return lxm_error_set(l->err, ENOMEM, "%s: out of memory", l->file);
        }
    }
}

static int load_node(struct loader *l, yaml_event_t *ev, int depth, struct lxm_ynode **out)
{
    const yaml_mark_t *m = &ev->start_mark;
    if (depth > MAX_DEPTH)
        return mark_error(l, m, "yaml: nested too deeply (use at most 32 levels)");
    if (ev->type == YAML_ALIAS_EVENT)
        return mark_error(l, m, "yaml: aliases are not supported (write the value out)");
    enum lxm_ynode_type type;
    if (ev->type == YAML_SCALAR_EVENT) {
        type = LXM_YAML_SCALAR;
        if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length))
            return mark_error(l, m, "yaml: a string contains a NUL character (remove it)");
    } else if (ev->type == YAML_SEQUENCE_START_EVENT) {
        type = LXM_YAML_SEQ;
    } else if (ev->type == YAML_MAPPING_START_EVENT) {
        type = LXM_YAML_MAP;
    } else {
        return mark_error(l, m, "yaml syntax error: unexpected event");
    }
    struct lxm_ynode *n =
        lxm_ynode_new(type, type == LXM_YAML_SCALAR ? (const char *)ev->data.scalar.value : NULL,
                      (int)m->line + 1, (int)m->column + 1);
    if (!n)
        return lxm_error_set(l->err, ENOMEM, "%s: out of memory", l->file);
    int r = 0;
    if (type == LXM_YAML_SCALAR)
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    else if (type == LXM_YAML_SEQ)
        r = load_children(l, n, YAML_SEQUENCE_END_EVENT, depth);
    else
        r = load_children(l, n, YAML_MAPPING_END_EVENT, depth);
    if (r < 0) {
        lxm_ynode_free(n);
        return r;
    }
    *out = n;
    return 0;
}

static int load_document(struct loader *l, struct lxm_ynode **out)
{
    _cleanup_event_ yaml_event_t ev;
    int r = next_event(l, &ev); /* STREAM-START */
    if (r < 0)
        return r;
    _cleanup_event_ yaml_event_t doc;
    if ((r = next_event(l, &doc)) < 0)
        return r;
    if (doc.type == YAML_STREAM_END_EVENT) {
        *out = lxm_ynode_new(LXM_YAML_MAP, NULL, 1, 1);
        return *out ? 0 : lxm_error_set(l->err, ENOMEM, "%s: out of memory", l->file);
    }
    _cleanup_event_ yaml_event_t root_ev;
    if ((r = next_event(l, &root_ev)) < 0)
        return r;
    struct lxm_ynode *root = NULL;
    if ((r = load_node(l, &root_ev, 0, &root)) < 0)
        return r;
    _cleanup_ynode_ struct lxm_ynode *owned = root;
    _cleanup_event_ yaml_event_t end;
    if ((r = next_event(l, &end)) < 0) /* DOCUMENT-END */
        return r;
    _cleanup_event_ yaml_event_t next;
    if ((r = next_event(l, &next)) < 0)
        return r;
    if (next.type != YAML_STREAM_END_EVENT)
        return mark_error(l, &next.start_mark,
                          "yaml: more than one document (use one document per file)");
    *out = TAKE_PTR(owned);
    return 0;
}

int lxm_yaml_load(const char *file, const char *text, size_t len, struct lxm_ynode **out,
                  struct lxm_error *err)
{
    struct loader l = {.file = file, .text = text, .len = len, .err = err};
    int r = lxm_yaml_check_text(file, text, len, err);
    if (r < 0)
        return r;
    if (!yaml_parser_initialize(&l.parser))
        return lxm_error_set(err, ENOMEM, "%s: out of memory", file);
    yaml_parser_set_input_string(&l.parser, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&l.parser, YAML_UTF8_ENCODING);
    r = load_document(&l, out);
    yaml_parser_delete(&l.parser);
    return r;
}

static bool plain_safe(const char *s)
{
    static const char *const words[] = {"~",    "null",  "Null",  "NULL",  "true", "True",
                                        "TRUE", "false", "False", "FALSE", "yes",  "no",
                                        "on",   "off",   "Yes",   "No",    "On",   "Off"};
    size_t n = strlen(s);
    if (n == 0 || s[0] == ' ' || s[n - 1] == ' ' || s[n - 1] == ':')
        return false;
    if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0]))
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(words); i++)
        if (!strcmp(s, words[i]))
            return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f || strchr("[]{}", ch))
            return false;
        if (ch == ':' && s[i + 1] == ' ')
            return false;
        if (ch == '#' && i > 0 && s[i - 1] == ' ')
            return false;
    }
    return true;
}

static void write_quoted(FILE *f, const char *s, bool json)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\t': fputs("\\t", f); break;
        case '\r': fputs("\\r", f); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(f, json ? "\\u%04x" : "\\x%02x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

void lxm_yaml_write_scalar(FILE *f, const char *s)
{
    if (plain_safe(s))
        fputs(s, f);
    else
        write_quoted(f, s, false);
}

void lxm_json_write_string(FILE *f, const char *s)
{
    write_quoted(f, s, true);
}

/* ---- writing a tree back ---------------------------------------------------------- */

static void write_node_scalar(FILE *f, const struct lxm_ynode *n)
{
    /* A plain scalar reads back the same when written as it came. */
    if (n->plain)
        fputs(n->value, f);
    else
        lxm_yaml_write_scalar(f, n->value);
}

static void write_block(FILE *f, const struct lxm_ynode *n, int indent, bool inline_first);

/* The value after "key:" or "-": on the same line when it is a scalar or
 * empty, else as an indented block below. */
static void write_value(FILE *f, const struct lxm_ynode *v, int indent, bool after_dash)
{
    if (v->type == LXM_YAML_SCALAR) {
        if (!lxm_ynode_is_null(v) || !v->plain) {
            fputc(' ', f);
            write_node_scalar(f, v);
        }
        fputc('\n', f);
    } else if (v->n == 0) {
        fputs(v->type == LXM_YAML_MAP ? " {}\n" : " []\n", f);
    } else if (after_dash && v->type == LXM_YAML_MAP) {
        fputc(' ', f);
        write_block(f, v, indent + 2, true);
    } else {
        fputc('\n', f);
        write_block(f, v, indent + 2, false);
    }
}

static void write_block(FILE *f, const struct lxm_ynode *n, int indent, bool inline_first)
{
    for (size_t i = 0; i < n->n; i++) {
        if (i > 0 || !inline_first)
            fprintf(f, "%*s", indent, "");
        if (n->type == LXM_YAML_SEQ) {
            fputc('-', f);
            write_value(f, n->items[i], indent, true);
        } else {
            write_node_scalar(f, n->items[2 * i]);
            fputc(':', f);
            write_value(f, n->items[2 * i + 1], indent, false);
        }
    }
}

void lxm_yaml_write_doc(FILE *f, const struct lxm_ynode *root)
{
    if (root->type == LXM_YAML_SCALAR)
        write_value(f, root, 0, false);
    else if (root->n == 0)
        fputs(root->type == LXM_YAML_MAP ? "{}\n" : "[]\n", f);
    else
        write_block(f, root, 0, false);
}

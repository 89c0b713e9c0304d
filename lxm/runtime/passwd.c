/* passwd.c: /etc/passwd and /etc/group parsed by hand, from the
 * container's tree. Lines that do not parse are skipped, as the C
 * library's files backend does. */
#include "runtime/passwd.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/inroot.h"

#define DB_MAX (16u << 20) /* bigger passwd/group files are refused */
#define FIELDS_MAX 8

void lxm_user_clear(struct lxm_user *u)
{
    free(u->name);
    free(u->home);
    free(u->shell);
    free(u->groups);
    *u = (struct lxm_user){0};
}

static bool parse_id(const char *s, uint32_t *out)
{
    if (!*s || strlen(s) > 10)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v >= UINT32_MAX) /* (uid_t)-1 is never an id */
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Split one line (modified in place) at ':'; returns the field count. */
static size_t split_line(char *line, char **f)
{
    size_t n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < FIELDS_MAX; p++)
        if (*p == ':') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

/* Call fn on each well-formed line with at least min fields; stops when
 * fn returns non-zero and passes that on. */
static int each_line(const char *text, size_t min,
                     int (*fn)(char **f, size_t n, void *data), void *data)
{
    _cleanup_free_ char *copy = strdup(text ? text : "");
    if (!copy)
        return -ENOMEM;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[FIELDS_MAX];
        if (line[0] == '#' || line[0] == '+' || line[0] == '-')
            continue;
        size_t n = split_line(line, f);
        if (n < min || !f[0][0])
            continue;
        int r = fn(f, n, data);
        if (r != 0)
            return r;
    }
    return 0;
}

struct pw_find {
    const char *spec;
    bool numeric;
    uint32_t id;
    struct lxm_user *out;
};

static int pw_match(char **f, size_t n, void *data)
{
    struct pw_find *q = data;
    uint32_t uid, gid;
    if (n < 7 || !parse_id(f[2], &uid) || !parse_id(f[3], &gid))
        return 0;
    if (q->numeric ? uid != q->id : strcmp(f[0], q->spec) != 0)
        return 0;
    q->out->uid = uid;
    q->out->gid = gid;
    q->out->name = strdup(f[0]);
    q->out->home = strdup(f[5][0] == '/' ? f[5] : "/");
    q->out->shell = strdup(f[6][0] == '/' ? f[6] : "/bin/sh");
    return 1;
}

int lxm_passwd_find(const char *passwd, const char *spec, struct lxm_user *out)
{
    *out = (struct lxm_user){0};
    struct pw_find q = {.spec = spec, .out = out};
    q.numeric = parse_id(spec, &q.id);
    int r = each_line(passwd, 7, pw_match, &q);
    if (r < 0)
        return r;
    if (r == 0) {
        if (!q.numeric)
            return -ENOENT;
        out->uid = q.id;
        out->gid = q.id;
        out->home = strdup("/");
        out->shell = strdup("/bin/sh");
    }
    if (!out->home || !out->shell || (r == 1 && !out->name)) {
        lxm_user_clear(out);
        return -ENOMEM;
    }
    return 0;
}

struct gr_find {
    const char *spec;
    bool numeric;
    uint32_t id;
    gid_t *out;
};

static int gr_match(char **f, size_t n, void *data)
{
    struct gr_find *q = data;
    uint32_t gid;
    if (n < 3 || !parse_id(f[2], &gid))
        return 0;
    if (q->numeric ? gid != q->id : strcmp(f[0], q->spec) != 0)
        return 0;
    *q->out = gid;
    return 1;
}

int lxm_group_find(const char *group, const char *spec, gid_t *out)
{
    struct gr_find q = {.spec = spec, .out = out};
    q.numeric = parse_id(spec, &q.id);
    int r = each_line(group, 3, gr_match, &q);
    if (r < 0)
        return r;
    if (r == 0 && !q.numeric)
        return -ENOENT;
    if (r == 0)
        *out = q.id;
    return 0;
}

static int add_group(struct lxm_user *u, gid_t g)
{
    for (size_t i = 0; i < u->n_groups; i++)
        if (u->groups[i] == g)
            return 0;
    if (u->n_groups >= 65536)
        return 0; /* NGROUPS_MAX */
    gid_t *v = realloc(u->groups, (u->n_groups + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    v[u->n_groups++] = g;
    u->groups = v;
    return 0;
}

static int gr_member(char **f, size_t n, void *data)
{
    struct lxm_user *u = data;
    uint32_t gid;
    if (n < 4 || !parse_id(f[2], &gid))
        return 0;
    char *save = NULL;
    for (char *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
        if (strcmp(m, u->name) == 0)
            return add_group(u, gid);
    return 0;
}

int lxm_group_members(const char *group, struct lxm_user *u)
{
    int r = add_group(u, u->gid);
    if (r < 0 || !u->name)
        return r;
    return each_line(group, 4, gr_member, u);
}

static int read_db(int rootfd, const char *path, char **out, struct lxm_error *err)
{
    int r = lxm_read_in_root(rootfd, path, DB_MAX, out, NULL);
    if (r == -ENOENT) {
        *out = strdup("");
        return *out ? 0 : lxm_error_set(err, ENOMEM, "out of memory");
    }
    if (r == -EINVAL)
        return lxm_error_set(err, EINVAL, "%s in the container is not a regular file", path);
    return r < 0 ? lxm_error_errno(err, -r, "read %s in the container", path) : 0;
}

/* Root when no user was asked for and the files cannot tell more: a
 * container with a broken or hostile /etc/passwd can still be entered
 * (and repaired). */
static int default_root(struct lxm_user *out, struct lxm_error *err)
{
    lxm_user_clear(out);
    out->name = strdup("root");
    out->home = strdup("/root");
    out->shell = strdup("/bin/sh");
    out->groups = calloc(1, sizeof(gid_t));
    out->n_groups = 1;
    if (!out->name || !out->home || !out->shell || !out->groups) {
        lxm_user_clear(out);
        return lxm_error_set(err, ENOMEM, "out of memory");
    }
    lxm_error_clear(err);
    return 0;
}

int lxm_user_resolve(int rootfd, const char *spec, struct lxm_user *out, struct lxm_error *err)
{
    _cleanup_free_ char *user = strdup(spec && *spec ? spec : "0");
    _cleanup_free_ char *passwd = NULL, *group = NULL;
    *out = (struct lxm_user){0};
    if (!user)
        return lxm_error_set(err, ENOMEM, "out of memory");
    bool implicit = !spec || !*spec;
    char *grp = strchr(user, ':');
    if (grp)
        *grp++ = '\0';
    int r = read_db(rootfd, "/etc/passwd", &passwd, err);
    if (r == 0)
        r = read_db(rootfd, "/etc/group", &group, err);
    if (r < 0)
        return implicit ? default_root(out, err) : r;
    r = lxm_passwd_find(passwd, user, out);
    if (r == 0 && implicit && !out->name)
        return default_root(out, err); /* no line for uid 0 */
    if (r == -ENOENT)
        return lxm_error_set(err, ENOENT, "user '%s' not found in the container's /etc/passwd", user);
    if (r < 0)
        return lxm_error_set(err, -r, "out of memory");
    if (grp && *grp) {
        r = lxm_group_find(group, grp, &out->gid);
        if (r < 0) {
            lxm_user_clear(out);
            if (r == -ENOENT)
                return lxm_error_set(err, ENOENT, "group '%s' not found in the container's /etc/group",
                                     grp);
            return lxm_error_set(err, -r, "out of memory");
        }
    }
    /* With an explicit group the user gets exactly it (like sudo -g). */
    r = grp && *grp ? add_group(out, out->gid) : lxm_group_members(group, out);
    if (r < 0) {
        lxm_user_clear(out);
        return lxm_error_set(err, ENOMEM, "out of memory");
    }
    return 0;
}

/* idmap: security.idmap parsing, subordinate-id allocations, writing
 * uid_map/gid_map, idmapped mounts and ownership shifting. See idmap.h
 * and docs/userns.md. */
#include "security/idmap.h"

#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"

#define ID_LIMIT 4294967295ull /* first + count may not exceed this */
#define DEFAULT_SUBUID "/etc/subuid"
#define DEFAULT_SUBGID "/etc/subgid"
#define ISOLATED_FILE "idmap-isolated"
#define ISOLATED_LOCK "idmap-isolated.lock"

/* On-disk layouts (kernel ABI): security.capability and POSIX ACL xattrs,
 * both little endian. Spelled out here so this file does not depend on
 * which of the competing capability headers is installed. */
#define VFS_CAP_REVISION_MASK 0xFF000000u
#define VFS_CAP_FLAGS_MASK 0x00FFFFFFu
#define VFS_CAP_REVISION_1 0x01000000u
#define VFS_CAP_REVISION_2 0x02000000u
#define VFS_CAP_REVISION_3 0x03000000u
#define XATTR_CAPS_SZ_1 12
#define XATTR_CAPS_SZ_2 20
#define XATTR_CAPS_SZ_3 24
#define ACL_XATTR_VERSION 2u
#define ACL_TAG_USER 0x02
#define ACL_TAG_GROUP 0x08
#define ACL_HEADER_SZ 4
#define ACL_ENTRY_SZ 8

static const char *subuid_path(const struct lxm_subid_files *f)
{
    return f && f->subuid ? f->subuid : DEFAULT_SUBUID;
}

static const char *subgid_path(const struct lxm_subid_files *f)
{
    return f && f->subgid ? f->subgid : DEFAULT_SUBGID;
}

/* ---- map text ---------------------------------------------------------- */

static bool parse_u32(const char *s, uint32_t *out)
{
    if (!*s)
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > ID_LIMIT - 1)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

static bool ranges_overlap(uint32_t a, uint32_t an, uint32_t b, uint32_t bn)
{
    return (uint64_t)a < (uint64_t)b + bn && (uint64_t)b < (uint64_t)a + an;
}

static int check_range(const struct lxm_idmap_range *r, struct lxm_error *err)
{
    if (r->count == 0)
        return lxm_error_set(err, EINVAL, "idmap %u %u %u: count must be at least 1", r->ns_id,
                             r->host_id, r->count);
    if ((uint64_t)r->ns_id + r->count > ID_LIMIT || (uint64_t)r->host_id + r->count > ID_LIMIT)
        return lxm_error_set(err, EINVAL,
                             "idmap %u %u %u: range goes beyond the largest id 4294967294",
                             r->ns_id, r->host_id, r->count);
    return 0;
}

static int check_ranges(const struct lxm_idmap_range *r, size_t n, const char *kind,
                        struct lxm_error *err)
{
    for (size_t i = 0; i < n; i++) {
        int ret = check_range(&r[i], err);
        if (ret < 0)
            return ret;
        for (size_t j = 0; j < i; j++) {
            const char *side = NULL;
            if (ranges_overlap(r[i].ns_id, r[i].count, r[j].ns_id, r[j].count))
                side = "container";
            else if (ranges_overlap(r[i].host_id, r[i].count, r[j].host_id, r[j].count))
                side = "host";
            if (side)
                return lxm_error_set(
                    err, EINVAL, "idmap %u %u %u and %u %u %u: %s %s ranges overlap", r[j].ns_id,
                    r[j].host_id, r[j].count, r[i].ns_id, r[i].host_id, r[i].count, side, kind);
        }
    }
    if (n == 0)
        return lxm_error_set(err, EINVAL, "idmap: no %s range", kind);
    if (lxm_idmap_range_to_host(r, n, 0) < 0)
        return lxm_error_set(err, EINVAL, "idmap: container %s 0 is not mapped (root needs an id)",
                             kind);
    return 0;
}

static int add_range(struct lxm_idmap *map, char kind, const uint32_t v[3], struct lxm_error *err)
{
    struct lxm_idmap_range r = {.ns_id = v[0], .host_id = v[1], .count = v[2]};
    if ((kind != 'g' && map->n_uid == LXM_IDMAP_MAX_RANGES) ||
        (kind != 'u' && map->n_gid == LXM_IDMAP_MAX_RANGES))
        return lxm_error_set(err, EINVAL, "idmap: more than %d ranges", LXM_IDMAP_MAX_RANGES);
    if (kind != 'g')
        map->uid[map->n_uid++] = r;
    if (kind != 'u')
        map->gid[map->n_gid++] = r;
    return 0;
}

/* One entry: "[u|g|b] N H C" or a run of bare triples. */
static int parse_entry(char *entry, struct lxm_idmap *map, struct lxm_error *err)
{
    char *tok[3 * LXM_IDMAP_MAX_RANGES + 1];
    size_t n = 0;
    char kind = 'b';
    _cleanup_free_ char *orig = strdup(entry);
    if (!orig)
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (char *save = NULL, *t = strtok_r(entry, " \t\r", &save); t;
         t = strtok_r(NULL, " \t\r", &save)) {
        if (n == ARRAY_SIZE(tok))
            return lxm_error_set(err, EINVAL, "idmap: more than %d ranges", LXM_IDMAP_MAX_RANGES);
        tok[n++] = t;
    }
    if (n == 0)
        return 0;
    size_t first = 0;
    static const char *const kinds[][2] = {{"u", "uid"}, {"g", "gid"}, {"b", "both"}};
    for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
        if (strcmp(tok[0], kinds[k][0]) == 0 || strcmp(tok[0], kinds[k][1]) == 0) {
            kind = kinds[k][0][0];
            first = 1;
        }
    size_t nums = n - first;
    if (nums == 0 || nums % 3 != 0 || (first && nums != 3))
        return lxm_error_set(err, EINVAL, "idmap '%s': expected [u|g|b] CONTAINER-ID HOST-ID COUNT",
                             orig);
    for (size_t i = first; i < n; i += 3) {
        uint32_t v[3];
        for (size_t k = 0; k < 3; k++)
            if (!parse_u32(tok[i + k], &v[k]))
                return lxm_error_set(err, EINVAL,
                                     "idmap '%s': '%s' is not a number (0..4294967294)", orig,
                                     tok[i + k]);
        int r = add_range(map, kind, v, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int lxm_idmap_parse(const char *text, struct lxm_idmap *map, struct lxm_error *err)
{
    struct lxm_idmap m = {0};
    if (!text)
        return lxm_error_set(err, EINVAL, "idmap: empty map");
    _cleanup_free_ char *copy = strdup(text);
    if (!copy)
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (char *save = NULL, *e = strtok_r(copy, "\n;,", &save); e;
         e = strtok_r(NULL, "\n;,", &save)) {
        int r = parse_entry(e, &m, err);
        if (r < 0)
            return r;
    }
    if (m.n_uid == 0 && m.n_gid == 0)
        return lxm_error_set(err, EINVAL, "idmap: empty map");
    int r = check_ranges(m.uid, m.n_uid, "uid", err);
    if (r == 0)
        r = check_ranges(m.gid, m.n_gid, "gid", err);
    if (r < 0)
        return r;
    *map = m;
    return 0;
}

static bool same_ranges(const struct lxm_idmap *map)
{
    return map->n_uid == map->n_gid &&
           memcmp(map->uid, map->gid, map->n_uid * sizeof(map->uid[0])) == 0;
}

static int append_fmt(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int append_fmt(char **s, const char *fmt, ...)
{
    char *add = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&add, fmt, ap);
    va_end(ap);
    if (r < 0)
        return -ENOMEM;
    char *n = xasprintf("%s%s", *s ? *s : "", add);
    free(add);
    if (!n)
        return -ENOMEM;
    free(*s);
    *s = n;
    return 0;
}

char *lxm_idmap_format(const struct lxm_idmap *map)
{
    char *s = NULL;
    bool same = same_ranges(map);
    for (int kind = 0; kind < (same ? 1 : 2); kind++) {
        const struct lxm_idmap_range *r = kind == 0 ? map->uid : map->gid;
        size_t n = kind == 0 ? map->n_uid : map->n_gid;
        for (size_t i = 0; i < n; i++)
            if (append_fmt(&s, "%s%s%u %u %u", s ? "; " : "", same ? "" : (kind ? "g " : "u "),
                           r[i].ns_id, r[i].host_id, r[i].count) < 0) {
                free(s);
                return NULL;
            }
    }
    return s ? s : strdup("");
}

int64_t lxm_idmap_range_to_host(const struct lxm_idmap_range *r, size_t n, uint32_t ns_id)
{
    for (size_t i = 0; i < n; i++)
        if (ns_id >= r[i].ns_id && (uint64_t)ns_id < (uint64_t)r[i].ns_id + r[i].count)
            return (int64_t)r[i].host_id + (ns_id - r[i].ns_id);
    return -1;
}

int64_t lxm_idmap_range_to_ns(const struct lxm_idmap_range *r, size_t n, uint32_t host_id)
{
    for (size_t i = 0; i < n; i++)
        if (host_id >= r[i].host_id && (uint64_t)host_id < (uint64_t)r[i].host_id + r[i].count)
            return (int64_t)r[i].ns_id + (host_id - r[i].host_id);
    return -1;
}

bool lxm_idmap_host_root(const struct lxm_idmap *map, uid_t *uid, gid_t *gid)
{
    int64_t u = lxm_idmap_range_to_host(map->uid, map->n_uid, 0);
    int64_t g = lxm_idmap_range_to_host(map->gid, map->n_gid, 0);
    if (u < 0 || g < 0)
        return false;
    if (uid)
        *uid = (uid_t)u;
    if (gid)
        *gid = (gid_t)g;
    return true;
}

static int64_t shift_id(const struct lxm_idmap_range *r, size_t n, uint32_t id,
                        enum lxm_idmap_direction dir)
{
    return dir == LXM_IDMAP_TO_HOST ? lxm_idmap_range_to_host(r, n, id)
                                    : lxm_idmap_range_to_ns(r, n, id);
}

/* ---- /etc/subuid, /etc/subgid ------------------------------------------- */

/* Does /proc/self/FILE map start..start+count-1 in one line? */
static bool own_map_covers(const char *file, uint32_t start, uint32_t count)
{
    _cleanup_free_ char *path = xasprintf("/proc/self/%s", file), *text = NULL;
    if (!path || read_file(path, &text, NULL) < 0)
        return true; /* cannot tell: keep the default */
    for (char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        unsigned long long ns, host, n;
        if (sscanf(p, "%llu %llu %llu", &ns, &host, &n) == 3 && ns <= start &&
            (uint64_t)start + count <= ns + n)
            return true;
    }
    return false;
}

/* The built-in default start: 1000000, unless lxm runs in a user namespace
 * that does not map those ids (an lxm nested in a container of 65536 ids):
 * then 0, and its containers share the ids of the one they run in. */
static uint32_t builtin_start(void)
{
    const uint32_t s = LXM_IDMAP_DEFAULT_START, n = LXM_IDMAP_DEFAULT_COUNT;
    if (own_map_covers("uid_map", s, n) && own_map_covers("gid_map", s, n))
        return s;
    if (own_map_covers("uid_map", 0, n) && own_map_covers("gid_map", 0, n))
        return 0;
    return s;
}

/* Root's range when its subuid/subgid line is missing (lxm.yaml
 * idmap.range, else the built-in default). */
static struct lxm_subid_set default_set(const struct lxm_subid_files *f)
{
    bool custom = f && f->default_count;
    return (struct lxm_subid_set){
        .r = {{.host_id = custom ? f->default_start : builtin_start(),
               .count = custom ? f->default_count : LXM_IDMAP_DEFAULT_COUNT}},
        .n = 1,
    };
}

int lxm_idmap_parse_default_range(const char *text, struct lxm_subid_files *files,
                                  struct lxm_error *err)
{
    if (!text || strcmp(text, "auto") == 0) {
        files->default_start = files->default_count = 0;
        return 0;
    }
    const char *colon = strchr(text, ':');
    _cleanup_free_ char *start_s = colon ? strndup(text, (size_t)(colon - text)) : NULL;
    uint32_t start, count;
    if (!colon || !start_s || !parse_u32(start_s, &start) || !parse_u32(colon + 1, &count))
        return lxm_error_set(err, EINVAL, "idmap range '%s': expected auto or START:COUNT", text);
    if (count < LXM_IDMAP_BLOCK)
        return lxm_error_set(err, EINVAL, "idmap range '%s': COUNT must be at least %u", text,
                             LXM_IDMAP_BLOCK);
    if ((uint64_t)start + count > ID_LIMIT)
        return lxm_error_set(err, EINVAL, "idmap range '%s': goes beyond the largest id", text);
    files->default_start = start;
    files->default_count = count;
    return 0;
}

/* "name:start:count" -> true, pieces out (line is modified). */
static bool split_subid_line(char *line, char **name, uint32_t *start, uint32_t *count)
{
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2 || c1 == line)
        return false;
    *c1 = *c2 = '\0';
    char *end = c2 + 1 + strcspn(c2 + 1, " \t\r");
    *end = '\0';
    *name = line;
    return parse_u32(c1 + 1, start) && parse_u32(c2 + 1, count);
}

static bool is_user(const char *name, const char *user)
{
    return strcmp(name, user) == 0 || (strcmp(user, "root") == 0 && strcmp(name, "0") == 0);
}

static int subid_parse(const char *file, const char *text, const char *user,
                       struct lxm_subid_set *out, struct lxm_error *err)
{
    _cleanup_free_ char *copy = strdup(text);
    if (!copy)
        return lxm_error_set(err, ENOMEM, "out of memory");
    struct lxm_subid_set set = {0};
    unsigned lineno = 0;
    for (char *line = copy, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        line += strspn(line, " \t");
        if (!*line || *line == '#')
            continue;
        size_t nlen = strcspn(line, ":");
        if (nlen == 0)
            continue;
        _cleanup_free_ char *name_copy = strndup(line, nlen);
        if (!name_copy)
            return lxm_error_set(err, ENOMEM, "out of memory");
        if (!is_user(name_copy, user))
            continue;
        char *name;
        uint32_t start, count;
        if (!split_subid_line(line, &name, &start, &count))
            return lxm_error_set(err, EINVAL, "%s:%u: malformed line for %s (want %s:START:COUNT)",
                                 file, lineno, user, user);
        if ((uint64_t)start + count > ID_LIMIT)
            return lxm_error_set(err, EINVAL, "%s:%u: range %u:%u goes beyond the largest id", file,
                                 lineno, start, count);
        if (count == 0)
            continue;
        if (set.n == LXM_IDMAP_MAX_RANGES)
            return lxm_error_set(err, EINVAL, "%s: more than %d ranges for %s", file,
                                 LXM_IDMAP_MAX_RANGES, user);
        set.r[set.n++] = (struct lxm_idmap_range){.host_id = start, .count = count};
    }
    *out = set;
    return 0;
}

int lxm_subid_read(const char *file, const char *user, struct lxm_subid_set *out,
                   struct lxm_error *err)
{
    _cleanup_free_ char *text = NULL;
    int r = read_file(file, &text, NULL);
    if (r == -ENOENT) {
        *out = (struct lxm_subid_set){0};
        return 0;
    }
    if (r < 0)
        return lxm_error_errno(err, -r, "read %s", file);
    return subid_parse(file, text, user, out, err);
}

/* "65536 ids at 1000000 and 10 ids at 5000000" for messages. */
static char *describe_set(const struct lxm_subid_set *set, const struct lxm_subid_files *f)
{
    if (set->n == 0) {
        struct lxm_subid_set d = default_set(f);
        return xasprintf("none; the default would be %u ids at %u", d.r[0].count, d.r[0].host_id);
    }
    char *s = NULL;
    for (size_t i = 0; i < set->n; i++)
        if (append_fmt(&s, "%s%u ids at %u", i ? " and " : "", set->r[i].count, set->r[i].host_id) <
            0) {
            free(s);
            return NULL;
        }
    return s;
}

static int check_against(const struct lxm_idmap_range *r, size_t n, const struct lxm_subid_set *set,
                         const struct lxm_subid_files *f, const char *file, struct lxm_error *err)
{
    struct lxm_subid_set d = default_set(f);
    const struct lxm_subid_set *eff = set->n ? set : &d;
    for (size_t i = 0; i < n; i++) {
        bool inside = false, starts_inside = false;
        for (size_t k = 0; k < eff->n; k++) {
            uint64_t a = eff->r[k].host_id, b = a + eff->r[k].count;
            if (r[i].host_id >= a && r[i].host_id < b) {
                starts_inside = true;
                if ((uint64_t)r[i].host_id + r[i].count <= b)
                    inside = true;
            }
        }
        if (inside)
            continue;
        _cleanup_free_ char *desc = describe_set(set, f);
        return lxm_error_set(err, EINVAL, "idmap %u %u %u: %s root's allocation in %s (%s)",
                             r[i].ns_id, r[i].host_id, r[i].count,
                             starts_inside ? "larger than" : "outside", file, desc ? desc : "?");
    }
    return 0;
}

int lxm_idmap_check_allocation(const struct lxm_idmap *map, const struct lxm_subid_set *uids,
                               const struct lxm_subid_set *gids,
                               const struct lxm_subid_files *files, struct lxm_error *err)
{
    int r = check_against(map->uid, map->n_uid, uids, files, subuid_path(files), err);
    if (r == 0)
        r = check_against(map->gid, map->n_gid, gids, files, subgid_path(files), err);
    return r;
}

/* The text of FILE with a root line for the default range appended, or an
 * error when that range is already another user's. */
static int subid_with_default(const char *file, const struct lxm_idmap_range *def, char **out,
                              mode_t *mode, struct lxm_error *err)
{
    _cleanup_free_ char *text = NULL;
    int r = read_file(file, &text, NULL);
    struct stat st;
    *mode = 0644;
    if (r == -ENOENT)
        text = strdup("");
    else if (r < 0)
        return lxm_error_errno(err, -r, "read %s", file);
    else if (stat(file, &st) == 0)
        *mode = st.st_mode & 07777;
    if (!text)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_free_ char *copy = strdup(text);
    if (!copy)
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *name;
        uint32_t start, count;
        if (*line == '#' || !split_subid_line(line, &name, &start, &count))
            continue;
        if (ranges_overlap(start, count, def->host_id, def->count))
            return lxm_error_set(err, EEXIST,
                                 "%s: the default range %u:%u for root overlaps %s's allocation "
                                 "%u:%u; add a line for root by hand",
                                 file, def->host_id, def->count, name, start, count);
    }
    size_t len = strlen(text);
    *out = xasprintf("%s%sroot:%u:%u\n", text, len && text[len - 1] != '\n' ? "\n" : "",
                     def->host_id, def->count);
    return *out ? 0 : -ENOMEM;
}

int lxm_subid_ensure_root(const struct lxm_subid_files *files, struct lxm_subid_set *uids,
                          struct lxm_subid_set *gids, struct lxm_error *err)
{
    const char *paths[2] = {subuid_path(files), subgid_path(files)};
    struct lxm_subid_set *sets[2] = {uids, gids};
    char *texts[2] = {NULL, NULL};
    mode_t modes[2] = {0644, 0644};
    struct lxm_subid_set def = default_set(files);
    int r = 0;
    /* Both files are checked before either is written. */
    for (int i = 0; i < 2 && r == 0; i++) {
        r = lxm_subid_read(paths[i], "root", sets[i], err);
        if (r == 0 && sets[i]->n == 0)
            r = subid_with_default(paths[i], &def.r[0], &texts[i], &modes[i], err);
    }
    for (int i = 0; i < 2 && r == 0; i++) {
        if (!texts[i])
            continue;
        r = write_file_atomic(paths[i], texts[i], strlen(texts[i]), modes[i]);
        if (r < 0)
            lxm_error_errno(err, -r, "write %s", paths[i]);
        else
            *sets[i] = def;
    }
    free(texts[0]);
    free(texts[1]);
    return r;
}

static int auto_range(const struct lxm_subid_set *set, const struct lxm_subid_files *f,
                      const char *file, uint32_t *start, struct lxm_error *err)
{
    struct lxm_subid_set d = default_set(f);
    const struct lxm_subid_set *eff = set->n ? set : &d;
    for (size_t i = 0; i < eff->n; i++)
        if (eff->r[i].count >= LXM_IDMAP_BLOCK) {
            *start = eff->r[i].host_id;
            return 0;
        }
    _cleanup_free_ char *desc = describe_set(set, f);
    return lxm_error_set(err, EINVAL,
                         "root's allocation in %s is too small for a container (%s; need %u)", file,
                         desc ? desc : "?", LXM_IDMAP_BLOCK);
}

static void set_single(struct lxm_idmap *map, uint32_t uid_start, uint32_t gid_start)
{
    *map = (struct lxm_idmap){
        .uid = {{.ns_id = 0, .host_id = uid_start, .count = LXM_IDMAP_BLOCK}},
        .n_uid = 1,
        .gid = {{.ns_id = 0, .host_id = gid_start, .count = LXM_IDMAP_BLOCK}},
        .n_gid = 1,
    };
}

int lxm_idmap_resolve(const char *spec, const struct lxm_subid_files *files, struct lxm_idmap *map,
                      struct lxm_error *err)
{
    struct lxm_subid_set uids, gids;
    struct lxm_idmap m;
    int r = lxm_subid_read(subuid_path(files), "root", &uids, err);
    if (r == 0)
        r = lxm_subid_read(subgid_path(files), "root", &gids, err);
    if (r < 0)
        return r;
    if (!spec || !*spec || strcmp(spec, "auto") == 0) {
        uint32_t us, gs;
        r = auto_range(&uids, files, subuid_path(files), &us, err);
        if (r == 0)
            r = auto_range(&gids, files, subgid_path(files), &gs, err);
        if (r < 0)
            return r;
        set_single(&m, us, gs);
    } else {
        r = lxm_idmap_parse(spec, &m, err);
        if (r == 0)
            r = lxm_idmap_check_allocation(&m, &uids, &gids, files, err);
        if (r < 0)
            return r;
    }
    r = lxm_subid_ensure_root(files, &uids, &gids, err);
    if (r < 0)
        return r;
    *map = m;
    return 0;
}

/* ---- isolated per-container blocks -------------------------------------- */

struct isolated_rec {
    char name[256];
    uint32_t uid_start, gid_start, count;
};

struct isolated_db {
    struct isolated_rec *recs;
    size_t n;
};

static void isolated_db_free(struct isolated_db *db)
{
    free(db->recs);
}

static int isolated_load(const char *file, struct isolated_db *db, struct lxm_error *err)
{
    _cleanup_free_ char *text = NULL;
    int r = read_file(file, &text, NULL);
    *db = (struct isolated_db){0};
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return lxm_error_errno(err, -r, "read %s", file);
    unsigned lineno = 0;
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (!*line || *line == '#')
            continue;
        struct isolated_rec rec;
        char extra;
        if (sscanf(line, "%255s %" SCNu32 " %" SCNu32 " %" SCNu32 " %c", rec.name, &rec.uid_start,
                   &rec.gid_start, &rec.count, &extra) != 4)
            return lxm_error_set(err, EINVAL, "%s:%u: malformed line (want NAME UID GID COUNT)",
                                 file, lineno);
        struct isolated_rec *nr = realloc(db->recs, (db->n + 1) * sizeof(*nr));
        if (!nr)
            return lxm_error_set(err, ENOMEM, "out of memory");
        db->recs = nr;
        db->recs[db->n++] = rec;
    }
    return 0;
}

static int isolated_save(const char *file, const struct isolated_db *db, struct lxm_error *err)
{
    _cleanup_free_ char *text =
        strdup("# lxm isolated id blocks: NAME UID-START GID-START COUNT\n");
    if (!text)
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (size_t i = 0; i < db->n; i++)
        if (append_fmt(&text, "%s %u %u %u\n", db->recs[i].name, db->recs[i].uid_start,
                       db->recs[i].gid_start, db->recs[i].count) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    int r = write_file_atomic(file, text, strlen(text), 0644);
    return r < 0 ? lxm_error_errno(err, -r, "write %s", file) : 0;
}

static int isolated_lock(const char *state_dir, struct lxm_error *err)
{
    int r = mkdir_p(state_dir, 0755);
    if (r < 0)
        return lxm_error_errno(err, -r, "create %s", state_dir);
    _cleanup_free_ char *path = xasprintf("%s/%s", state_dir, ISOLATED_LOCK);
    if (!path)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s", path);
    while (flock(fd, LOCK_EX) < 0)
        if (errno != EINTR)
            return lxm_error_errno(err, errno, "lock %s", path);
    return TAKE_FD(fd);
}

/* Lowest free block of SET: not the auto block, not another container's. */
static int64_t free_block(const struct lxm_subid_set *set, uint32_t auto_start,
                          const struct isolated_db *db, bool uid)
{
    for (size_t i = 0; i < set->n; i++) {
        uint64_t end = (uint64_t)set->r[i].host_id + set->r[i].count;
        for (uint64_t b = set->r[i].host_id; b + LXM_IDMAP_BLOCK <= end; b += LXM_IDMAP_BLOCK) {
            bool used = ranges_overlap((uint32_t)b, LXM_IDMAP_BLOCK, auto_start, LXM_IDMAP_BLOCK);
            for (size_t k = 0; k < db->n && !used; k++)
                used = ranges_overlap((uint32_t)b, LXM_IDMAP_BLOCK,
                                      uid ? db->recs[k].uid_start : db->recs[k].gid_start,
                                      db->recs[k].count);
            if (!used)
                return (int64_t)b;
        }
    }
    return -1;
}

static int isolated_pick(const struct lxm_subid_files *files, const struct isolated_db *db,
                         uint32_t *uid_start, uint32_t *gid_start, struct lxm_error *err)
{
    struct lxm_subid_set uids, gids;
    int r = lxm_subid_ensure_root(files, &uids, &gids, err);
    uint32_t ua, ga;
    if (r == 0)
        r = auto_range(&uids, files, subuid_path(files), &ua, err);
    if (r == 0)
        r = auto_range(&gids, files, subgid_path(files), &ga, err);
    if (r < 0)
        return r;
    int64_t u = free_block(&uids, ua, db, true);
    int64_t g = free_block(&gids, ga, db, false);
    if (u < 0 || g < 0) {
        _cleanup_free_ char *desc = describe_set(u < 0 ? &uids : &gids, files);
        return lxm_error_set(err, ENOSPC,
                             "no free %u-id block left in root's allocation in %s (%s; the block "
                             "at %u is the shared auto map)",
                             LXM_IDMAP_BLOCK, u < 0 ? subuid_path(files) : subgid_path(files),
                             desc ? desc : "?", u < 0 ? ua : ga);
    }
    *uid_start = (uint32_t)u;
    *gid_start = (uint32_t)g;
    return 0;
}

int lxm_idmap_allocate_isolated(const char *state_dir, const char *name,
                                const struct lxm_subid_files *files, struct lxm_idmap *map,
                                struct lxm_error *err)
{
    if (!name || !*name || strlen(name) > 255 || strpbrk(name, " \t\n\r#"))
        return lxm_error_set(err, EINVAL, "isolated idmap: invalid container name '%s'",
                             name ? name : "");
    _cleanup_close_ int lock = isolated_lock(state_dir, err);
    if (lock < 0)
        return lock;
    _cleanup_free_ char *file = xasprintf("%s/%s", state_dir, ISOLATED_FILE);
    if (!file)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_(isolated_db_free) struct isolated_db db = {0};
    int r = isolated_load(file, &db, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < db.n; i++)
        if (strcmp(db.recs[i].name, name) == 0) {
            set_single(map, db.recs[i].uid_start, db.recs[i].gid_start);
            return 0;
        }
    uint32_t us, gs;
    r = isolated_pick(files, &db, &us, &gs, err);
    if (r < 0)
        return r;
    struct isolated_rec *nr = realloc(db.recs, (db.n + 1) * sizeof(*nr));
    if (!nr)
        return lxm_error_set(err, ENOMEM, "out of memory");
    db.recs = nr;
    struct isolated_rec *rec = &db.recs[db.n++];
    snprintf(rec->name, sizeof(rec->name), "%s", name);
    rec->uid_start = us;
    rec->gid_start = gs;
    rec->count = LXM_IDMAP_BLOCK;
    r = isolated_save(file, &db, err);
    if (r < 0)
        return r;
    set_single(map, us, gs);
    return 0;
}

int lxm_idmap_release_isolated(const char *state_dir, const char *name, struct lxm_error *err)
{
    _cleanup_free_ char *file = xasprintf("%s/%s", state_dir, ISOLATED_FILE);
    if (!file)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!path_exists(file))
        return 0;
    _cleanup_close_ int lock = isolated_lock(state_dir, err);
    if (lock < 0)
        return lock;
    _cleanup_(isolated_db_free) struct isolated_db db = {0};
    int r = isolated_load(file, &db, err);
    if (r < 0)
        return r;
    size_t w = 0;
    for (size_t i = 0; i < db.n; i++)
        if (strcmp(db.recs[i].name, name) != 0)
            db.recs[w++] = db.recs[i];
    if (w == db.n)
        return 0;
    db.n = w;
    return isolated_save(file, &db, err);
}

/* ---- writing maps, user namespaces, idmapped mounts --------------------- */

static int write_map_file(pid_t pid, const char *which, const struct lxm_idmap_range *r, size_t n,
                          struct lxm_error *err)
{
    char buf[LXM_IDMAP_MAX_RANGES * 33 + 1];
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", r[i].ns_id,
                                r[i].host_id, r[i].count);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, which);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "open %s", path);
    /* The kernel takes a map in exactly one write. */
    ssize_t w = write(fd, buf, len);
    if (w < 0 || (size_t)w != len) {
        int e = w < 0 ? errno : EIO;
        buf[len ? len - 1 : 0] = '\0';
        for (char *p = buf; *p; p++)
            if (*p == '\n')
                *p = ';';
        return lxm_error_errno(err, e, "write %s (%s)", path, buf);
    }
    return 0;
}

int lxm_idmap_write(pid_t pid, const struct lxm_idmap *map, struct lxm_error *err)
{
    int r = write_map_file(pid, "uid_map", map->uid, map->n_uid, err);
    if (r == 0)
        r = write_map_file(pid, "gid_map", map->gid, map->n_gid, err);
    return r;
}

static int reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

int lxm_idmap_become_root(struct lxm_error *err)
{
    if (setresgid(0, 0, 0) < 0)
        return lxm_error_errno(err, errno, "become gid 0 of the user namespace");
    if (setgroups(0, NULL) < 0)
        return lxm_error_errno(err, errno, "drop supplementary groups");
    if (setresuid(0, 0, 0) < 0)
        return lxm_error_errno(err, errno, "become uid 0 of the user namespace");
    return 0;
}

#define HELPER_STACK_SIZE (64 * 1024)

/* The helper lives in the new user ns only to be pointed at: it waits for
 * the pipe to close. It shares our memory (CLONE_VM: a fork costs
 * milliseconds here, for nothing) and runs with every signal blocked, so
 * it never runs a handler of ours nor touches our errno. Its pipe's fds
 * are in its own stack block, not in our stack frame: it may first run
 * after we have returned and reused that frame (a busy host), and with fds
 * read from there it waited forever on a pipe it held open itself, and
 * its reaper (the monitor) and the start command with it. */
static int userns_helper(void *arg)
{
    const int *hold = arg;
    char c;
    close(hold[1]);
    (void)!read(hold[0], &c, 1);
    return 0;
}

int lxm_idmap_userns_open_nowait(const struct lxm_idmap *map, struct lxm_userns_helper *h,
                                 struct lxm_error *err)
{
    *h = (struct lxm_userns_helper){0};
    int hold[2];
    if (pipe2(hold, O_CLOEXEC) < 0)
        return lxm_error_errno(err, errno, "pipe");
    _cleanup_free_ char *stack = malloc(HELPER_STACK_SIZE);
    if (!stack) {
        close(hold[0]);
        close(hold[1]);
        return lxm_error_set(err, ENOMEM, "out of memory");
    }
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    /* At the far end of its stack block (which grows down from the top),
     * which lives until the helper is reaped. */
    int *fds = (int *)(void *)stack;
    fds[0] = hold[0];
    fds[1] = hold[1];
    pid_t pid =
        clone(userns_helper, stack + HELPER_STACK_SIZE, CLONE_NEWUSER | CLONE_VM | SIGCHLD, fds);
    int saved = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(hold[0]);
    if (pid < 0) {
        close(hold[1]);
        return lxm_error_errno(err, saved, "clone a user namespace");
    }
    int r = lxm_idmap_write(pid, map, err);
    int fd = -1;
    if (r == 0) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            r = lxm_error_errno(err, errno, "open %s", path);
    }
    /* Closing the last write end lets the helper return; its stack is ours
     * to free only once it is reaped. */
    close(hold[1]);
    *h = (struct lxm_userns_helper){.pid = pid, .stack = TAKE_PTR(stack)};
    return r < 0 ? r : fd;
}

void lxm_idmap_userns_reap(struct lxm_userns_helper *h)
{
    if (h->pid > 0)
        reap(h->pid);
    free(h->stack);
    *h = (struct lxm_userns_helper){0};
}

int lxm_idmap_userns_open(const struct lxm_idmap *map, struct lxm_error *err)
{
    struct lxm_userns_helper h;
    int fd = lxm_idmap_userns_open_nowait(map, &h, err);
    lxm_idmap_userns_reap(&h);
    return fd;
}

int lxm_idmap_mount_open(int userns_fd, const char *source, unsigned flags, struct lxm_error *err)
{
    unsigned rec = flags & LXM_IDMAP_MOUNT_RECURSIVE ? AT_RECURSIVE : 0;
    _cleanup_close_ int fd = open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
    if (fd < 0)
        return lxm_error_errno(err, errno, "clone mount of %s", source);
    /* Slave: host mounts below source still show up, but nothing mounted
     * by the container travels back to the host. */
    bool idmap = userns_fd >= 0;
    struct mount_attr attr = {
        .attr_set = (idmap ? MOUNT_ATTR_IDMAP : 0) |
                    (flags & LXM_IDMAP_MOUNT_RDONLY ? MOUNT_ATTR_RDONLY : 0),
        .userns_fd = idmap ? (uint64_t)userns_fd : 0,
        .propagation = MS_SLAVE,
    };
    if (mount_setattr(fd, "", AT_EMPTY_PATH | rec, &attr, sizeof(attr)) < 0) {
        int e = errno;
        if (!idmap)
            return lxm_error_errno(err, e, "set mount attributes of %s", source);
        if (e == EINVAL)
            return lxm_error_set(err, e,
                                 "idmapped mount of %s: the filesystem (or a mount below it) "
                                 "does not support idmapped mounts",
                                 source);
        return lxm_error_errno(err, e, "idmapped mount of %s", source);
    }
    return TAKE_FD(fd);
}

int lxm_idmap_mount_supported(const char *dir, int userns_fd, struct lxm_error *err)
{
    _cleanup_close_ int own = -1;
    if (userns_fd < 0) {
        struct lxm_idmap map;
        set_single(&map, builtin_start(), builtin_start());
        own = lxm_idmap_userns_open(&map, err);
        if (own < 0)
            return own;
        userns_fd = own;
    }
    _cleanup_close_ int fd = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "clone mount of %s", dir);
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd};
    if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) == 0)
        return 1;
    /* EINVAL: no FS_ALLOW_IDMAP (or already idmapped); EPERM: a superblock
     * owned by another user namespace. Both mean "shift instead". */
    if (errno == EINVAL || errno == EPERM || errno == EOPNOTSUPP)
        return 0;
    return lxm_error_errno(err, errno, "idmapped mount probe on %s", dir);
}

static const char *const method_names[] = {
    [LXM_IDMAP_METHOD_NONE] = "none",
    [LXM_IDMAP_METHOD_IDMAPPED] = "idmapped",
    [LXM_IDMAP_METHOD_SHIFTED] = "shifted",
};

const char *lxm_idmap_method_name(enum lxm_idmap_method m)
{
    return (size_t)m < ARRAY_SIZE(method_names) ? method_names[m] : "unknown";
}

int lxm_idmap_method_from_name(const char *name, enum lxm_idmap_method *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(method_names); i++)
        if (name && strcmp(name, method_names[i]) == 0) {
            *out = (enum lxm_idmap_method)i;
            return 0;
        }
    return -EINVAL;
}

int lxm_idmap_choose_method(const char *rootfs, const struct lxm_idmap *map,
                            enum lxm_idmap_method *out, struct lxm_error *err)
{
    _cleanup_close_ int userns = lxm_idmap_userns_open(map, err);
    if (userns < 0)
        return userns;
    int r = lxm_idmap_mount_supported(rootfs, userns, err);
    if (r < 0)
        return r;
    *out = r ? LXM_IDMAP_METHOD_IDMAPPED : LXM_IDMAP_METHOD_SHIFTED;
    return 0;
}

/* ---- ownership shifting: xattr values ----------------------------------- */

static uint32_t get_le32(const void *p, size_t off)
{
    uint32_t v;
    memcpy(&v, (const char *)p + off, sizeof(v));
    return le32toh(v);
}

static void put_le32(void *p, size_t off, uint32_t v)
{
    v = htole32(v);
    memcpy((char *)p + off, &v, sizeof(v));
}

int lxm_idmap_shift_acl(void *value, size_t len, const struct lxm_idmap *map,
                        enum lxm_idmap_direction dir)
{
    if (len < ACL_HEADER_SZ || (len - ACL_HEADER_SZ) % ACL_ENTRY_SZ != 0 ||
        get_le32(value, 0) != ACL_XATTR_VERSION)
        return -EINVAL;
    int changed = 0;
    for (size_t off = ACL_HEADER_SZ; off < len; off += ACL_ENTRY_SZ) {
        uint16_t tag;
        memcpy(&tag, (char *)value + off, sizeof(tag));
        tag = le16toh(tag);
        if (tag != ACL_TAG_USER && tag != ACL_TAG_GROUP)
            continue;
        const struct lxm_idmap_range *r = tag == ACL_TAG_USER ? map->uid : map->gid;
        size_t n = tag == ACL_TAG_USER ? map->n_uid : map->n_gid;
        int64_t id = shift_id(r, n, get_le32(value, off + 4), dir);
        /* An id outside the map stays as it is, like an unmapped owner. */
        if (id >= 0 && (uint32_t)id != get_le32(value, off + 4)) {
            put_le32(value, off + 4, (uint32_t)id);
            changed++;
        }
    }
    return changed;
}

ssize_t lxm_idmap_shift_fcaps(const void *in, size_t len, void *out, const struct lxm_idmap *map,
                              enum lxm_idmap_direction dir)
{
    if (len < 4)
        return -EINVAL;
    uint32_t magic = get_le32(in, 0);
    uint32_t rev = magic & VFS_CAP_REVISION_MASK;
    uint32_t words[4] = {0, 0, 0, 0}; /* permitted/inheritable, low then high */
    uint32_t root = 0;
    if (rev == VFS_CAP_REVISION_1 && len == XATTR_CAPS_SZ_1) {
        words[0] = get_le32(in, 4);
        words[1] = get_le32(in, 8);
    } else if ((rev == VFS_CAP_REVISION_2 && len == XATTR_CAPS_SZ_2) ||
               (rev == VFS_CAP_REVISION_3 && len == XATTR_CAPS_SZ_3)) {
        for (size_t i = 0; i < 4; i++)
            words[i] = get_le32(in, 4 + 4 * i);
        if (rev == VFS_CAP_REVISION_3)
            root = get_le32(in, 20);
    } else {
        return -EINVAL;
    }
    int64_t nroot = shift_id(map->uid, map->n_uid, root, dir);
    if (nroot < 0)
        return -ERANGE;
    /* rootid 0 is what v2 means: keep the older, more widely readable form. */
    uint32_t flags = magic & VFS_CAP_FLAGS_MASK;
    put_le32(out, 0, (nroot == 0 ? VFS_CAP_REVISION_2 : VFS_CAP_REVISION_3) | flags);
    for (size_t i = 0; i < 4; i++)
        put_le32(out, 4 + 4 * i, words[i]);
    if (nroot == 0)
        return XATTR_CAPS_SZ_2;
    put_le32(out, 20, (uint32_t)nroot);
    return XATTR_CAPS_SZ_3;
}

/* ---- ownership shifting: the tree walk ---------------------------------- */

struct shift_ctx {
    const struct lxm_idmap *map;
    enum lxm_idmap_direction dir;
    uint64_t mnt_id;
    dev_t dev;
    struct lxm_idmap_shift_stats *st;
    struct lxm_error *err;
};

struct xattr_value {
    void *buf;
    ssize_t len; /* -1: absent */
};

static void xattr_value_free(struct xattr_value *v)
{
    free(v->buf);
}

/* PROC is /proc/self/fd/N of an O_PATH fd on a non-symlink: following
 * that magic link lands on exactly the inode we opened. */
static int xattr_read(const char *proc, const char *name, struct xattr_value *v)
{
    v->len = -1;
    for (int tries = 0; tries < 3; tries++) {
        ssize_t n = getxattr(proc, name, NULL, 0);
        if (n < 0)
            return errno == ENODATA || errno == EOPNOTSUPP ? 0 : -errno;
        free(v->buf);
        v->buf = malloc((size_t)n + 1);
        if (!v->buf)
            return -ENOMEM;
        ssize_t m = getxattr(proc, name, v->buf, (size_t)n);
        if (m >= 0) {
            v->len = m;
            return 0;
        }
        if (errno != ERANGE)
            return errno == ENODATA ? 0 : -errno;
    }
    return -ERANGE;
}

static int shift_acl_xattr(struct shift_ctx *c, const char *proc, const char *name,
                           struct xattr_value *v, const char *path)
{
    if (v->len < 0)
        return 0;
    int n = lxm_idmap_shift_acl(v->buf, (size_t)v->len, c->map, c->dir);
    if (n < 0) {
        lxm_warn("shift %s: malformed %s left as it is", path, name);
        return 0;
    }
    if (n == 0)
        return 0;
    if (setxattr(proc, name, v->buf, (size_t)v->len, 0) < 0)
        return lxm_error_errno(c->err, errno, "shift %s: set %s", path, name);
    c->st->acls++;
    return 0;
}

/* chown drops security.capability, so the value read before it is always
 * written back: shifted when its root id maps, else unchanged. */
static int shift_fcaps_xattr(struct shift_ctx *c, const char *proc, struct xattr_value *v,
                             bool chowned, const char *path)
{
    if (v->len < 0)
        return 0;
    char out[XATTR_CAPS_SZ_3];
    ssize_t n = lxm_idmap_shift_fcaps(v->buf, (size_t)v->len, out, c->map, c->dir);
    if (n == -EINVAL)
        lxm_warn("shift %s: malformed security.capability kept as it is", path);
    const void *val = n > 0 ? (const void *)out : v->buf;
    size_t len = n > 0 ? (size_t)n : (size_t)v->len;
    bool changed = n > 0 && ((size_t)n != (size_t)v->len || memcmp(out, v->buf, len) != 0);
    if (!changed && !chowned)
        return 0;
    if (setxattr(proc, "security.capability", val, len, 0) < 0)
        return lxm_error_errno(c->err, errno, "shift %s: set security.capability", path);
    if (changed)
        c->st->fcaps++;
    return 0;
}

static int shift_inode(struct shift_ctx *c, int fd, const struct statx *sx, const char *path)
{
    bool lnk = S_ISLNK(sx->stx_mode);
    int64_t u = shift_id(c->map->uid, c->map->n_uid, sx->stx_uid, c->dir);
    int64_t g = shift_id(c->map->gid, c->map->n_gid, sx->stx_gid, c->dir);
    if (u < 0 || g < 0)
        c->st->unmapped++;
    bool chown_needed =
        (u >= 0 && (uint32_t)u != sx->stx_uid) || (g >= 0 && (uint32_t)g != sx->stx_gid);
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    _cleanup_(xattr_value_free) struct xattr_value caps = {NULL, -1};
    _cleanup_(xattr_value_free) struct xattr_value acl = {NULL, -1};
    _cleanup_(xattr_value_free) struct xattr_value dacl = {NULL, -1};
    int r = 0;
    if (!lnk) {
        r = xattr_read(proc, "security.capability", &caps);
        if (r == 0)
            r = xattr_read(proc, "system.posix_acl_access", &acl);
        if (r == 0 && S_ISDIR(sx->stx_mode))
            r = xattr_read(proc, "system.posix_acl_default", &dacl);
        if (r < 0)
            return lxm_error_errno(c->err, -r, "shift %s: read xattrs", path);
    }
    if (chown_needed) {
        if (fchownat(fd, "", u >= 0 ? (uid_t)u : (uid_t)-1, g >= 0 ? (gid_t)g : (gid_t)-1,
                     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
            return lxm_error_errno(c->err, errno, "shift %s: chown", path);
        /* chown clears setuid/setgid even for root: put them back. */
        if (!lnk && (sx->stx_mode & (S_ISUID | S_ISGID)) && chmod(proc, sx->stx_mode & 07777) < 0)
            return lxm_error_errno(c->err, errno, "shift %s: chmod", path);
        c->st->inodes++;
    }
    if (lnk)
        return 0;
    r = shift_acl_xattr(c, proc, "system.posix_acl_access", &acl, path);
    if (r == 0)
        r = shift_acl_xattr(c, proc, "system.posix_acl_default", &dacl, path);
    if (r == 0)
        r = shift_fcaps_xattr(c, proc, &caps, chown_needed, path);
    return r;
}

static int stat_fd(int fd, struct statx *sx)
{
    if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_MNT_ID, sx) <
        0)
        return -errno;
    return 0;
}

static bool same_mount(const struct shift_ctx *c, const struct statx *sx)
{
    if (makedev(sx->stx_dev_major, sx->stx_dev_minor) != c->dev)
        return false;
    return !(sx->stx_mask & STATX_MNT_ID) || sx->stx_mnt_id == c->mnt_id;
}

static int shift_dir(struct shift_ctx *c, int dfd, const char *path);

static int shift_entry(struct shift_ctx *c, int dfd, const char *name, const char *path)
{
    _cleanup_close_ int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(c->err, errno, "shift %s: open", path);
    struct statx sx;
    int r = stat_fd(fd, &sx);
    if (r < 0)
        return lxm_error_errno(c->err, -r, "shift %s: stat", path);
    if (!same_mount(c, &sx)) {
        c->st->mountpoints++;
        return 0;
    }
    r = shift_inode(c, fd, &sx, path);
    if (r < 0 || !S_ISDIR(sx.stx_mode))
        return r;
    _cleanup_close_ int sub = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sub < 0)
        return lxm_error_errno(c->err, errno, "shift %s: open directory", path);
    return shift_dir(c, sub, path);
}

static int shift_dir(struct shift_ctx *c, int dfd, const char *path)
{
    int dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
    if (dup_fd < 0)
        return lxm_error_errno(c->err, errno, "shift %s: dup", path);
    _cleanup_closedir_ DIR *d = fdopendir(dup_fd);
    if (!d) {
        close(dup_fd);
        return lxm_error_errno(c->err, errno, "shift %s: opendir", path);
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                return lxm_error_errno(c->err, errno, "shift %s: readdir", path);
            return 0;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *child = xasprintf("%s/%s", path, de->d_name);
        if (!child)
            return lxm_error_set(c->err, ENOMEM, "out of memory");
        int r = shift_entry(c, dirfd(d), de->d_name, child);
        if (r < 0)
            return r;
    }
}

static int check_disjoint(const struct lxm_idmap_range *r, size_t n, struct lxm_error *err)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (ranges_overlap(r[i].ns_id, r[i].count, r[j].host_id, r[j].count))
                return lxm_error_set(err, EINVAL,
                                     "idmap %u %u %u: container and host ids overlap; ownership "
                                     "shifting needs them apart",
                                     r[i].ns_id, r[i].host_id, r[i].count);
    return 0;
}

static bool is_identity(const struct lxm_idmap_range *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].ns_id != r[i].host_id)
            return false;
    return true;
}

int lxm_idmap_shift_tree(const char *root, const struct lxm_idmap *map,
                         enum lxm_idmap_direction dir, struct lxm_idmap_shift_stats *stats,
                         struct lxm_error *err)
{
    struct lxm_idmap_shift_stats local = {0};
    struct shift_ctx c = {.map = map, .dir = dir, .st = stats ? stats : &local, .err = err};
    *c.st = (struct lxm_idmap_shift_stats){0};
    /* An identity map (a nested lxm's containers sharing the ids of the
     * container it runs in) shifts nothing. */
    if (is_identity(map->uid, map->n_uid) && is_identity(map->gid, map->n_gid))
        return 0;
    int r = check_disjoint(map->uid, map->n_uid, err);
    if (r == 0)
        r = check_disjoint(map->gid, map->n_gid, err);
    if (r < 0)
        return r;
    _cleanup_close_ int fd = open(root, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "shift %s", root);
    struct statx sx;
    r = stat_fd(fd, &sx);
    if (r < 0)
        return lxm_error_errno(err, -r, "shift %s: stat", root);
    c.dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    c.mnt_id = sx.stx_mnt_id;
    r = shift_inode(&c, fd, &sx, root);
    if (r < 0)
        return r;
    _cleanup_close_ int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return lxm_error_errno(err, errno, "shift %s: open directory", root);
    return shift_dir(&c, dfd, root);
}

/* ---- conversion --------------------------------------------------------- */

static bool same_map(const struct lxm_idmap *a, const struct lxm_idmap *b)
{
    return a->n_uid == b->n_uid && a->n_gid == b->n_gid &&
           memcmp(a->uid, b->uid, a->n_uid * sizeof(a->uid[0])) == 0 &&
           memcmp(a->gid, b->gid, a->n_gid * sizeof(a->gid[0])) == 0;
}

int lxm_idmap_convert_rootfs(const char *rootfs, enum lxm_idmap_method from,
                             const struct lxm_idmap *from_map, const struct lxm_idmap *to_map,
                             enum lxm_idmap_method *out, struct lxm_error *err)
{
    if (from == LXM_IDMAP_METHOD_SHIFTED && !from_map)
        return lxm_error_set(err, EINVAL, "convert %s: a shifted rootfs needs its map", rootfs);
    if (from == LXM_IDMAP_METHOD_SHIFTED && to_map && same_map(from_map, to_map)) {
        *out = from;
        return 0;
    }
    if (from == LXM_IDMAP_METHOD_IDMAPPED && to_map && from_map && same_map(from_map, to_map)) {
        *out = from;
        return 0;
    }
    int r;
    if (from == LXM_IDMAP_METHOD_SHIFTED) {
        /* Back to the on-disk layout of a privileged container first. */
        r = lxm_idmap_shift_tree(rootfs, from_map, LXM_IDMAP_TO_NS, NULL, err);
        if (r < 0)
            return lxm_error_prefix(err, "convert %s", rootfs);
    }
    if (!to_map) {
        *out = LXM_IDMAP_METHOD_NONE;
        return 0;
    }
    enum lxm_idmap_method m;
    r = lxm_idmap_choose_method(rootfs, to_map, &m, err);
    if (r == 0 && m == LXM_IDMAP_METHOD_SHIFTED)
        r = lxm_idmap_shift_tree(rootfs, to_map, LXM_IDMAP_TO_HOST, NULL, err);
    if (r < 0)
        return lxm_error_prefix(err, "convert %s", rootfs);
    *out = m;
    return 0;
}

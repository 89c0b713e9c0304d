/* profile: local profiles, the ones a user writes. They live in the local
 * profiles directory (ROOT/etc/lxm/profiles); a local profile overrides a
 * shipped one of the same name (LXM_PROFILES_DIR, $(datadir)/lxm/profiles),
 * and shipped files are never written: editing a shipped profile saves a
 * local override, deleting one is refused. Every save validates the whole
 * document first and replaces the file atomically. */
#include "config/profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_check.h"
#include "config/container.h"
#include "security/security.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"
#include "config/ydoc.h"

static int check_name(const char *name, struct lxm_error *err)
{
    char allowed[LXM_ALLOWED_MAX];
    if (!name || lxm_check_ref(name, allowed))
        return lxm_error_set(err, EINVAL, "invalid profile name '%s' (%s)", name ? name : "",
                             allowed);
    return 0;
}

static char *local_file(const struct lxm_paths *paths, const char *name)
{
    return xasprintf("%s/%s.yaml", paths->local_profiles, name);
}

static char *shipped_file(const struct lxm_paths *paths, const char *name)
{
    return paths->profiles ? xasprintf("%s/%s.yaml", paths->profiles, name) : NULL;
}

int lxm_profile_where(const struct lxm_paths *paths, const char *name, bool *local, bool *shipped,
                      struct lxm_error *err)
{
    int r = check_name(name, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *l = local_file(paths, name), *s = shipped_file(paths, name);
    if (!l || (paths->profiles && !s))
        return lxm_error_set(err, ENOMEM, "out of memory");
    *local = path_exists(l);
    *shipped = s && path_exists(s);
    return 0;
}

/* The profiles a container's config names, as the merge reads them. */
static bool config_uses(const struct lxm_config *c, const char *name)
{
    if (c->security_profile && !strcmp(c->security_profile, name))
        return true;
    if (!c->profiles)
        return !strcmp(name, "default");
    return strv_contains(c->profiles, name);
}

int lxm_profile_users(const struct lxm_paths *paths, const char *name, char ***out,
                      struct lxm_error *err)
{
    _cleanup_strv_free_ char **names = NULL, **users = calloc(1, sizeof(char *));
    if (!users)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = lxm_container_list_names(paths, &names, err);
    if (r < 0)
        return r;
    for (size_t i = 0; names[i]; i++) {
        _cleanup_container_ struct lxm_container *c = NULL;
        struct lxm_error ignored = {0};
        /* A container whose config does not load names no profile we can see. */
        if (lxm_container_open(paths, names[i], &c, &ignored) < 0 ||
            lxm_container_load_config(c, &ignored) < 0)
            continue;
        if (config_uses(c->config, name) && strv_push(&users, names[i]) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    }
    *out = TAKE_PTR(users);
    return 0;
}

int lxm_profile_check_text(const char *name, const char *file, const char *text,
                           struct lxm_error *err)
{
    struct lxm_profile *p = NULL;
    int r = lxm_profile_parse(file, text, &p, err);
    if (r < 0)
        return r;
    if (strcmp(p->name, name) != 0)
        r = lxm_error_set(err, EINVAL,
                          "%s: name: '%s' does not match the profile's name '%s' "
                          "(leave it out or write name: %s)",
                          file, p->name, name, name);
    lxm_profile_free(p);
    return r;
}

int lxm_profile_save_text(const struct lxm_paths *paths, const char *name, const char *text,
                          const char *errfile, struct lxm_error *err)
{
    _cleanup_free_ char *file = NULL;
    int r = check_name(name, err);
    if (r < 0)
        return r;
    if (!(file = local_file(paths, name)))
        return lxm_error_set(err, ENOMEM, "out of memory");
    r = lxm_profile_check_text(name, errfile ? errfile : file, text, err);
    if (r < 0)
        return r;
    if ((r = mkdir_p(paths->local_profiles, 0755)) < 0)
        return lxm_error_errno(err, -r, "create %s", paths->local_profiles);
    if ((r = write_file_atomic(file, text, strlen(text), 0644)) < 0)
        return lxm_error_errno(err, -r, "write %s", file);
    return 0;
}

static int refuse_existing(const struct lxm_paths *paths, const char *name, struct lxm_error *err)
{
    bool local, shipped;
    int r = lxm_profile_where(paths, name, &local, &shipped, err);
    if (r < 0)
        return r;
    if (local || shipped)
        return lxm_error_set(err, EEXIST, "profile '%s' already exists%s", name,
                             local ? ""
                                   : " (shipped with lxm; 'lxm profile edit' saves a local "
                                     "copy that overrides it)");
    return 0;
}

int lxm_profile_create(const struct lxm_paths *paths, const char *name, struct lxm_error *err)
{
    int r = refuse_existing(paths, name, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *text =
        xasprintf("# A local profile. Profiles apply in order: 'lxm create -p %s' layers it\n"
                  "# after default. See lxm.yaml(5) and 'lxm profile show default'.\n"
                  "name: %s\n"
                  "description: \"\"\n",
                  name, name);
    if (!text)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return lxm_profile_save_text(paths, name, text, NULL, err);
}

/* The text of src with its top-level `name:` line (if any) naming dst. */
static char *renamed_text(const char *text, const char *dst)
{
    const char *line = text;
    while (line && *line) {
        if (!strncmp(line, "name:", 5)) {
            const char *end = strchr(line, '\n');
            return xasprintf("%.*sname: %s%s", (int)(line - text), text, dst, end ? end : "\n");
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return strdup(text);
}

int lxm_profile_copy(const struct lxm_paths *paths, const char *src, const char *dst,
                     struct lxm_error *err)
{
    _cleanup_free_ char *from = NULL, *text = NULL, *copy = NULL;
    int r = lxm_profile_path(paths, src, &from, err);
    if (r == 0)
        r = refuse_existing(paths, dst, err);
    if (r == 0)
        r = lxm_yaml_read_file(from, &text, NULL, err);
    if (r < 0)
        return r;
    /* A broken source is said as itself, not as the copy. */
    if ((r = lxm_profile_check_text(src, from, text, err)) < 0)
        return r;
    if (!(copy = renamed_text(text, dst)))
        return lxm_error_set(err, ENOMEM, "out of memory");
    return lxm_profile_save_text(paths, dst, copy, NULL, err);
}

int lxm_profile_delete(const struct lxm_paths *paths, const char *name, struct lxm_error *err)
{
    bool local, shipped;
    int r = lxm_profile_where(paths, name, &local, &shipped, err);
    if (r < 0)
        return r;
    if (!local && !shipped)
        return lxm_error_set(err, ENOENT, "profile '%s' not found (see 'lxm profile list')", name);
    if (!local)
        return lxm_error_set(err, EPERM, "profile '%s' is shipped with lxm and cannot be deleted",
                             name);
    _cleanup_strv_free_ char **users = NULL;
    if ((r = lxm_profile_users(paths, name, &users, err)) < 0)
        return r;
    if (users[0]) {
        char list[256] = "";
        for (size_t i = 0; users[i]; i++) {
            size_t n = strlen(list);
            snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", users[i]);
        }
        return lxm_error_set(
            err, EBUSY, "profile '%s' is used by container%s %s%s", name, users[1] ? "s" : "", list,
            shipped ? " (deleting it would put the shipped one in its place)" : "");
    }
    _cleanup_free_ char *file = local_file(paths, name);
    if (!file)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (unlink(file) < 0)
        return lxm_error_errno(err, errno, "remove %s", file);
    return 0;
}

static bool has_network(const struct lxm_config *c)
{
    for (int i = 0; i < c->n_netifs; i++)
        if (c->netifs[i].type != LXM_NET_NONE)
            return true;
    return false;
}

int lxm_config_missing(const struct lxm_config *eff, char *buf, size_t size)
{
    const struct lxm_policy *p = &eff->policy;
    const char *what[3];
    int n = 0;
    if (lxm_security_seccomp_allows_all(p))
        what[n++] = "no seccomp filter";
    if (!p->caps_keep && strv_length(p->caps_drop) == 0)
        what[n++] = "no capability drop";
    if (!has_network(eff))
        what[n++] = "no network";
    if (size)
        buf[0] = '\0';
    for (int i = 0; i < n && size; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", i ? ", " : "", what[i]);
    }
    return n;
}

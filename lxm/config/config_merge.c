/* Profiles: finding them (local overrides shipped) and merging them under
 * a container's own keys. The merge rule:
 *  - limits, network interfaces (key by key, matched by interface name)
 *    and security.{privileged,idmap,nesting}: the container's own value
 *    wins, else the LAST profile in the list that sets the key;
 *  - policy scalars (seccomp.default_action, apparmor.profile,
 *    apparmor.required, no_new_privs, capabilities.keep): the last profile
 *    that sets them wins;
 *  - policy lists (capabilities.drop, seccomp.rules, apparmor.deny,
 *    masked_paths, readonly_paths, devices) are concatenated in profile
 *    order without duplicates, and a profile that writes an EMPTY list
 *    (`masked_paths: []`) clears what earlier profiles contributed.
 * A config without `profiles:` gets [default]; security.profile, when set
 * and not already listed, is applied last. */
#include "config/config.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_check.h"
#include "config/paths.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

static int find_doc(const char *kind, const char *const *dirs, size_t n_dirs, const char *name,
                    char **out, struct lxm_error *err)
{
    char allowed[LXM_ALLOWED_MAX];
    if (!name || lxm_check_ref(name, allowed))
        return lxm_error_set(err, EINVAL, "invalid %s name '%s' (%s)", kind, name ? name : "",
                             allowed);
    for (size_t i = 0; i < n_dirs; i++) {
        if (!dirs[i])
            continue;
        char *path = xasprintf("%s/%s.yaml", dirs[i], name);
        if (!path)
            return lxm_error_set(err, ENOMEM, "out of memory");
        if (path_exists(path)) {
            *out = path;
            return 0;
        }
        free(path);
    }
    return lxm_error_set(err, ENOENT, "%s '%s' not found (see 'lxm %s list')", kind, name, kind);
}

int lxm_profile_path(const struct lxm_paths *paths, const char *name, char **out,
                     struct lxm_error *err)
{
    const char *dirs[] = {paths->local_profiles, paths->profiles};
    return find_doc("profile", dirs, ARRAY_SIZE(dirs), name, out, err);
}

int lxm_profile_find(const struct lxm_paths *paths, const char *name, struct lxm_profile **out,
                     struct lxm_error *err)
{
    _cleanup_free_ char *file = NULL;
    int r = lxm_profile_path(paths, name, &file, err);
    return r < 0 ? r : lxm_profile_load(file, out, err);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(const char *dir, char ***names, struct lxm_error *err)
{
    _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;
    if (!d)
        return !dir || errno == ENOENT ? 0 : lxm_error_errno(err, errno, "open %s", dir);
    struct dirent *de;
    char allowed[LXM_ALLOWED_MAX];
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n <= 5 || strcmp(de->d_name + n - 5, ".yaml") != 0)
            continue;
        de->d_name[n - 5] = '\0';
        if (lxm_check_ref(de->d_name, allowed) || strv_contains(*names, de->d_name))
            continue;
        if (strv_push(names, de->d_name) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    }
    return 0;
}

int lxm_profile_list(const struct lxm_paths *paths, char ***out, struct lxm_error *err)
{
    _cleanup_strv_free_ char **names = calloc(1, sizeof(char *));
    if (!names)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = list_dir(paths->local_profiles, &names, err);
    if (r == 0)
        r = list_dir(paths->profiles, &names, err);
    if (r < 0)
        return r;
    qsort(names, strv_length(names), sizeof(char *), cmp_str);
    *out = TAKE_PTR(names);
    return 0;
}

int lxm_template_find(const struct lxm_paths *paths, const char *name, struct lxm_template **out,
                      struct lxm_error *err)
{
    const char *dirs[] = {paths->templates};
    _cleanup_free_ char *file = NULL;
    int r = find_doc("template", dirs, ARRAY_SIZE(dirs), name, &file, err);
    return r < 0 ? r : lxm_template_load(file, out, err);
}

/* Concatenate without duplicates; an empty src list clears dst. */
static int strv_overlay(char ***dst, char *const *src)
{
    if (!src)
        return 0;
    if (!src[0]) {
        strv_free(*dst);
        *dst = calloc(1, sizeof(char *));
        return *dst ? 0 : -ENOMEM;
    }
    for (size_t i = 0; src[i]; i++)
        if (!strv_contains(*dst, src[i]) && strv_push(dst, src[i]) < 0)
            return -ENOMEM;
    return 0;
}

static int str_overlay(char **dst, const char *src)
{
    if (!src)
        return 0;
    char *copy = strdup(src);
    if (!copy)
        return -ENOMEM;
    free(*dst);
    *dst = copy;
    return 0;
}

static void rules_free(struct lxm_policy *p)
{
    for (int i = 0; i < p->n_seccomp_rules; i++) {
        free(p->seccomp_rules[i].action);
        strv_free(p->seccomp_rules[i].syscalls);
    }
    free(p->seccomp_rules);
    p->seccomp_rules = NULL;
    p->n_seccomp_rules = 0;
}

static int rules_overlay(struct lxm_policy *dst, const struct lxm_policy *src)
{
    if (!src->seccomp_rules_set)
        return 0;
    dst->seccomp_rules_set = true;
    if (src->n_seccomp_rules == 0) {
        rules_free(dst);
        return 0;
    }
    size_t n = (size_t)dst->n_seccomp_rules + (size_t)src->n_seccomp_rules;
    struct lxm_seccomp_rule *rules = realloc(dst->seccomp_rules, n * sizeof(*rules));
    if (!rules)
        return -ENOMEM;
    dst->seccomp_rules = rules;
    for (int i = 0; i < src->n_seccomp_rules; i++) {
        struct lxm_seccomp_rule *r = &rules[dst->n_seccomp_rules];
        r->action = strdup(src->seccomp_rules[i].action);
        r->syscalls = strv_copy(src->seccomp_rules[i].syscalls);
        dst->n_seccomp_rules++;
        if (!r->action || !r->syscalls)
            return -ENOMEM;
    }
    return 0;
}

static int policy_overlay(struct lxm_policy *dst, const struct lxm_policy *src)
{
    static const size_t lists[] = {
        offsetof(struct lxm_policy, caps_drop),    offsetof(struct lxm_policy, apparmor_deny),
        offsetof(struct lxm_policy, masked_paths), offsetof(struct lxm_policy, readonly_paths),
        offsetof(struct lxm_policy, devices),
    };
    for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
        char ***d = (char ***)((char *)dst + lists[i]);
        char *const *s = *(char *const *const *)((const char *)src + lists[i]);
        if (strv_overlay(d, s) < 0)
            return -ENOMEM;
    }
    if (src->caps_keep) {
        strv_free(dst->caps_keep);
        if (!(dst->caps_keep = strv_copy(src->caps_keep)))
            return -ENOMEM;
    }
    if (str_overlay(&dst->seccomp_default, src->seccomp_default) < 0 ||
        str_overlay(&dst->apparmor_profile, src->apparmor_profile) < 0)
        return -ENOMEM;
    if (src->apparmor_required_set) {
        dst->apparmor_required = src->apparmor_required;
        dst->apparmor_required_set = true;
    }
    if (src->no_new_privs_set) {
        dst->no_new_privs = src->no_new_privs;
        dst->no_new_privs_set = true;
    }
    return rules_overlay(dst, src);
}

static int security_fill(struct lxm_config *c, const struct lxm_profile *p)
{
    struct lxm_security *cs = &c->security;
    const struct lxm_security *ps = &p->security;
    if (!cs->privileged_set && ps->privileged_set) {
        cs->privileged = ps->privileged;
        cs->privileged_set = true;
    }
    if (!cs->nesting_set && ps->nesting_set) {
        cs->nesting = ps->nesting;
        cs->nesting_set = true;
    }
    if (!cs->idmap && ps->idmap && !(cs->idmap = strdup(ps->idmap)))
        return -ENOMEM;
    return 0;
}

int lxm_config_merge(struct lxm_config *c, struct lxm_profile *const *profiles, int n,
                     struct lxm_error *err)
{
    /* Interfaces keep the order in which they first appear. */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < profiles[i]->n_netifs; j++)
            if (!lxm_config_netif(c, profiles[i]->netifs[j].name, true))
                return lxm_error_set(err, ENOMEM, "out of memory");
    /* Filling unset keys from the last profile back makes later ones win. */
    for (int i = n - 1; i >= 0; i--) {
        const struct lxm_profile *p = profiles[i];
        if (lxm_limits_fill(&c->limits, &p->limits) < 0 || security_fill(c, p) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
        for (int j = 0; j < p->n_netifs; j++) {
            struct lxm_netif *cn = lxm_config_netif(c, p->netifs[j].name, false);
            if (cn && lxm_netif_fill(cn, &p->netifs[j]) < 0)
                return lxm_error_set(err, ENOMEM, "out of memory");
        }
    }
    for (int i = 0; i < n; i++)
        if (policy_overlay(&c->policy, &profiles[i]->policy) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    return 0;
}

static void profiles_free(struct lxm_profile **ps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        lxm_profile_free(ps[i]);
    free(ps);
}

int lxm_config_effective(const struct lxm_paths *paths, struct lxm_config *c, struct lxm_error *err)
{
    _cleanup_strv_free_ char **names = c->profiles ? strv_copy(c->profiles) : NULL;
    if (!c->profiles && strv_push(&names, "default") < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!names || (c->security_profile && !strv_contains(names, c->security_profile) &&
                   strv_push(&names, c->security_profile) < 0))
        return lxm_error_set(err, ENOMEM, "out of memory");
    size_t n = strv_length(names);
    struct lxm_profile **ps = calloc(n + 1, sizeof(*ps));
    if (!ps)
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int r = lxm_profile_find(paths, names[i], &ps[i], err);
        if (r < 0) {
            profiles_free(ps, i);
            return r;
        }
    }
    int r = lxm_config_merge(c, ps, (int)n, err);
    profiles_free(ps, n);
    return r;
}

/* start-lost: the cgroups of a container that is not running, found and
 * removed (start-lost.h). */
#include "runtime/start-lost.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

int lxm_runtime_drop_cgroup(struct lxm_container *c, bool kill, pid_t *killed,
                            struct lxm_error *err)
{
    _cleanup_cgroup_ struct lxm_cgroup *cg = NULL;
    struct lxm_error e = {0};
    if (killed)
        *killed = 0;
    int r = lxm_cgroup_open(c->id, &cg, &e);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return lxm_error_set(err, -r, "%s: %s", c->name, e.msg);
    pid_t pid = lxm_cgroup_any_pid(cg);
    if (pid > 0 && !kill && !lxm_container_exists(c))
        return lxm_error_set(err, EBUSY,
                             "pid %d runs in the cgroups of deleted container '%s': kill it "
                             "(and what else runs there), then 'lxm doctor --fix'",
                             (int)pid, c->name);
    if (pid > 0 && !kill)
        return lxm_error_set(err, EBUSY,
                             "container '%s' is not running, but pid %d runs in its cgroups "
                             "without a monitor or a state file ('lxm stop %s' kills it)",
                             c->name, (int)pid, c->name);
    r = lxm_cgroup_destroy(cg, &e);
    if (r < 0)
        return lxm_error_set(err, -r, "%s: remove its cgroups: %s", c->name, e.msg);
    if (killed)
        *killed = pid;
    return 0;
}

/* "-" and 8 lowercase hex digits at the end: another root's instance. */
static bool has_instance_suffix(const char *id)
{
    size_t n = strlen(id);
    if (n < 10 || id[n - 9] != '-')
        return false;
    for (size_t i = n - 8; i < n; i++)
        if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i]))
            return false;
    return true;
}

/* The container of this root whose cgroup is called id, or NULL. */
static char *name_of(const struct lxm_paths *p, const char *id)
{
    size_t n = strlen(id), k = strlen(p->instance);
    if (n <= k || strcmp(id + n - k, p->instance) != 0)
        return NULL;
    _cleanup_free_ char *name = strndup(id, n - k);
    if (!name || lxm_validate_name(name, NULL) < 0)
        return NULL;
    if (k == 0 && has_instance_suffix(id)) {
        /* Under the FHS root: ours only if the store has it. */
        _cleanup_free_ char *cf = xasprintf("%s/%s/config.yaml", p->containers, name);
        if (!cf || !path_exists(cf))
            return NULL;
    }
    return TAKE_PTR(name);
}

/* Is the cgroup id a lost one of container name? Fills l. */
static int look_at(const struct lxm_paths *p, const char *name, const char *id,
                   struct lxm_lost_cgroup *l, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = lxm_container_new(p, name, &c, err);
    if (r < 0)
        return r;
    struct lxm_state_file st;
    struct lxm_runtime_info info = {.state = LXM_STATE_STOPPED};
    if (lxm_state_read(c, &st) != -ENOENT &&
        (lxm_runtime_query(c, &info, NULL) < 0 || !info.stale || info.state != LXM_STATE_STOPPED))
        return 0; /* running, or on its way */
    _cleanup_cgroup_ struct lxm_cgroup *cg = NULL;
    if (lxm_cgroup_open(id, &cg, NULL) < 0)
        return 0; /* gone meanwhile */
    *l = (struct lxm_lost_cgroup){.name = strdup(name), .id = strdup(id),
                                  .deleted = !lxm_container_exists(c), .stale = info.stale,
                                  .pid = lxm_cgroup_any_pid(cg)};
    if (!l->name || !l->id)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return 1;
}

int lxm_lost_cgroups_find(const struct lxm_paths *paths, struct lxm_lost_cgroup **out, size_t *n,
                          struct lxm_error *err)
{
    _cleanup_strv_free_ char **ids = NULL;
    *out = NULL;
    *n = 0;
    int r = lxm_cgroup_list(&ids, err);
    if (r < 0)
        return r;
    struct lxm_lost_cgroup *v = calloc(strv_length(ids) + 1, sizeof(*v));
    if (!v)
        return lxm_error_set(err, ENOMEM, "out of memory");
    size_t k = 0;
    for (char **id = ids; id && *id && r >= 0; id++) {
        _cleanup_free_ char *name = name_of(paths, *id);
        if (name && (r = look_at(paths, name, *id, &v[k], err)) > 0)
            k++;
    }
    if (r < 0) {
        lxm_lost_cgroups_free(v, k);
        return r;
    }
    *out = v;
    *n = k;
    return 0;
}

void lxm_lost_cgroups_free(struct lxm_lost_cgroup *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].name);
        free(v[i].id);
    }
    free(v);
}

int lxm_lost_cgroup_remove(const struct lxm_paths *paths, const char *name, bool kill,
                           struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = lxm_container_new(paths, name, &c, err);
    if (r == 0)
        r = lxm_container_lock(c, err);
    if (r < 0)
        return r;
    struct lxm_state_file st;
    struct lxm_runtime_info info;
    if (lxm_state_read(c, &st) == -ENOENT)
        return lxm_runtime_drop_cgroup(c, kill, NULL, err);
    r = lxm_runtime_query(c, &info, err);
    if (r == 0 && info.stale)
        return lxm_runtime_reap(c, err);
    if (r == 0 && info.state != LXM_STATE_STOPPED)
        return lxm_error_set(err, EBUSY, "container '%s' is %s now: its cgroups are its own",
                             name, lxm_state_name(info.state));
    return r;
}

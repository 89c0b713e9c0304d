/* paths.c: where lxm keeps things (see paths.h). */
#include "config/paths.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/hash.h"

#ifndef LXM_DATADIR
#define LXM_DATADIR "/usr/local/share/lxm"
#endif

static char *under(const char *root, const char *path)
{
    return root ? xasprintf("%s%s", root, path) : strdup(path);
}

static char *env_or(const char *var, char *fallback)
{
    const char *v = getenv(var);
    if (v && *v) {
        free(fallback);
        return strdup(v);
    }
    return fallback;
}

int lxm_paths_init(struct lxm_paths *p, const char *root, struct lxm_error *err)
{
    memset(p, 0, sizeof(*p));
    if (!root || !*root)
        root = getenv("LXM_ROOT");
    if (root && *root) {
        if (root[0] != '/')
            return lxm_error_set(err, EINVAL, "--root %s: must be an absolute path", root);
        p->root = strdup(root);
        size_t n = strlen(p->root);
        while (n > 1 && p->root[n - 1] == '/')
            p->root[--n] = '\0';
    }
    if (p->root) {
        /* FNV-1a of the root path: stable, short, and distinct per --root. */
        p->instance = xasprintf("-%08x", lxm_fnv1a(LXM_FNV1A_INIT, p->root));
    } else
        p->instance = strdup("");
    p->etc = under(p->root, "/etc/lxm");
    p->global_config = under(p->root, "/etc/lxm/lxm.yaml");
    p->local_profiles = under(p->root, "/etc/lxm/profiles");
    p->containers = under(p->root, "/var/lib/lxm/containers");
    p->cache = env_or("LXM_CACHE_DIR", under(p->root, "/var/cache/lxm"));
    p->images = p->cache ? xasprintf("%s/images", p->cache) : NULL;
    p->run = under(p->root, "/run/lxm");
    p->log = under(p->root, "/var/log/lxm");
    p->templates = env_or("LXM_TEMPLATES_DIR", strdup(LXM_DATADIR "/templates"));
    p->profiles = env_or("LXM_PROFILES_DIR", strdup(LXM_DATADIR "/profiles"));
    p->global_once = calloc(1, sizeof(*p->global_once));
    if (!p->etc || !p->global_config || !p->local_profiles || !p->containers || !p->cache ||
        !p->images || !p->run || !p->log || !p->templates || !p->profiles || !p->instance ||
        !p->global_once) {
        lxm_paths_free(p);
        return lxm_error_set(err, ENOMEM, "out of memory");
    }
    return 0;
}

void lxm_paths_free(struct lxm_paths *p)
{
    char **fields[] = { &p->root, &p->etc, &p->global_config, &p->local_profiles,
                        &p->containers, &p->cache, &p->images, &p->run, &p->log,
                        &p->templates, &p->profiles, &p->instance };
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
    if (p->global_once && p->global_once->global)
        p->global_once->free_global(p->global_once->global);
    free(p->global_once);
    p->global_once = NULL;
}

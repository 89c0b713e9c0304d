/* lxm.yaml parsed once per command, kept in the paths every module gets
 * (config.h: lxm_paths_global). */
#include <errno.h>
#include <stddef.h>

#include "config/config.h"
#include "config/paths.h"

int lxm_paths_global(const struct lxm_paths *p, const struct lxm_global **out,
                     struct lxm_error *err)
{
    struct lxm_global_once *once = p->global_once;
    *out = NULL;
    if (!once)
        return lxm_error_set(err, EINVAL, "internal error: paths without lxm_paths_init");
    if (!once->loaded) {
        once->r = lxm_global_load(p->global_config, &once->global, &once->err);
        once->free_global = lxm_global_free;
        once->loaded = true;
    }
    if (once->r < 0) {
        if (err)
            *err = once->err;
        return once->r;
    }
    *out = once->global;
    return 0;
}

void lxm_paths_global_forget(const struct lxm_paths *p)
{
    struct lxm_global_once *once = p->global_once;
    if (!once)
        return;
    lxm_global_free(once->global);
    *once = (struct lxm_global_once){0};
}

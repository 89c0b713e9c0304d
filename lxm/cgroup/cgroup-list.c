/* cgroup-list: the containers that have a cgroup directory, by the name of
 * the directory (a container's id), in any hierarchy: what is left of a
 * container whose record was lost is looked for by name (cgroup.h). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int lxm_cgroup_list_in(const struct lxm_cg_layout *l, const char *parent, char ***names,
                       struct lxm_error *err)
{
    _cleanup_strv_free_ char **v = NULL;
    for (int i = 0; i < l->n; i++) {
        _cleanup_free_ char *dir = xasprintf("%s/%s", l->m[i].path, parent);
        _cleanup_closedir_ DIR *d = dir ? opendir(dir) : NULL;
        if (!dir)
            return lxm_error_errno(err, ENOMEM, "cgroup");
        if (!d && errno != ENOENT)
            return lxm_error_errno(err, errno, "open %s", dir);
        for (struct dirent *de; d && (de = readdir(d));) {
            if (de->d_type != DT_DIR || de->d_name[0] == '.' || strv_contains(v, de->d_name))
                continue;
            if (strv_push(&v, de->d_name) < 0)
                return lxm_error_errno(err, ENOMEM, "cgroup");
        }
    }
    size_t n = strv_length(v);
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_str);
    *names = TAKE_PTR(v);
    return 0;
}

int lxm_cgroup_list(char ***names, struct lxm_error *err)
{
    struct lxm_cg_layout l = {.n = 0};
    int r = lxm_cg_layout_detect(&l, err);
    if (r == 0)
        r = lxm_cgroup_list_in(&l, lxm_cg_parent(), names, err);
    lxm_cg_layout_clear(&l);
    return r;
}

/* STUB: replaced by the config core. */
#include "config.h"

#include <errno.h>
#include <string.h>

int lxm_validate_name(const char *name, struct lxm_error *err)
{
    size_t n = strlen(name);
    if (n == 0 || n > 63)
        return lxm_error_set(err, EINVAL, "invalid container name '%s'", name);
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (i > 0 && ch == '-');
        if (!ok)
            return lxm_error_set(err, EINVAL, "invalid container name '%s'", name);
    }
    return 0;
}
int lxm_config_load(const char *file, struct lxm_config **out, struct lxm_error *err) { return lxm_error_set(err, ENOSYS, "config: not implemented"); }
void lxm_config_free(struct lxm_config *c) {}

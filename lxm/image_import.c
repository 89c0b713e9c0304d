/* Readers for every image format lxm imports. For now only a plain rootfs
 * tarball; the other formats of image_import.h come next. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image_import.h"

void lxm_image_meta_clear(struct lxm_image_meta *m)
{
    free(m->format);
    free(m->template_name);
    free(m->release);
    free(m->arch);
    free(m->description);
    memset(m, 0, sizeof(*m));
}

int lxm_image_unpack_any(const char *source, const char *extra, const char *rootfs,
                         struct lxm_image_meta *meta, enum lxm_progress progress,
                         struct lxm_error *err)
{
    struct stat st;

    memset(meta, 0, sizeof(*meta));
    if (stat(source, &st) < 0)
        return lxm_error_errno(err, errno, "%s", source);
    if (extra || S_ISDIR(st.st_mode))
        return lxm_error_set(err, ENOTSUP, "%s: this image format is not supported yet", source);
    int r = lxm_image_extract(source, rootfs, progress, err);
    if (r < 0)
        return r;
    meta->format = strdup("rootfs");
    return meta->format ? 0 : lxm_error_set(err, ENOMEM, "out of memory");
}

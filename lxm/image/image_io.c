/* image_io.c: images into and out of the store: import (unpacked once,
 * through the storage backend), export as a rootfs tarball, and the tree a
 * container's image names. */
#include "image/image_io.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_import.h"
#include "storage/storage.h"
#include "util/arch.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/signals.h"

int lxm_image_rootfs(const struct lxm_paths *paths, const char *fp, char **out,
                     struct lxm_error *err)
{
    *out = NULL;
    if (!fp)
        return 0;
    _cleanup_free_ char *store = lxm_image_store_dir(paths);
    char *rootfs = store ? xasprintf("%s/%s/rootfs", store, fp) : NULL;
    if (!rootfs)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!path_exists(rootfs)) {
        free(rootfs);
        return lxm_error_set(err, ENOENT, "image %.12s is missing from %s (was it removed by hand?)",
                             fp, store);
    }
    *out = rootfs;
    return 0;
}

static int unpack_into_store(const struct lxm_paths *paths, const char *source, const char *extra,
                             const char *fp, const char *label, char *const *aliases,
                             const struct lxm_report *progress, struct lxm_image **out,
                             struct lxm_error *err)
{
    const struct lxm_storage_ops *ops;
    _cleanup_free_ char *staging = NULL;
    int r = lxm_storage_for(paths, &ops, err);
    if (r == 0)
        r = lxm_image_store_stage(paths, ops, &staging, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", staging);
    _cleanup_free_ char *created = lxm_utc_now();
    struct lxm_image_meta meta = { 0 };
    r = rootfs && created ? 0 : lxm_error_set(err, ENOMEM, "out of memory");
    if (r == 0)
        r = lxm_image_unpack_any(source, extra, rootfs, &meta, progress, err);
    if (r == 0 && lxm_signals_pending())
        r = lxm_error_set(err, EINTR, "interrupted");
    _cleanup_free_ char *desc = label ? strdup(label)
                                      : xasprintf("%s %s%s%s", meta.format ? meta.format : "file",
                                                  source, extra ? " + " : "", extra ? extra : "");
    if (r == 0) {
        struct lxm_image img = {
            .fingerprint = (char *)fp, .aliases = (char **)aliases,
            .template_name = meta.template_name, .release = meta.release,
            .arch = meta.arch ? meta.arch : (char *)lxm_host_arch(), .created = created,
            .source = desc, .driver = (char *)ops->name,
        };
        r = lxm_image_store_commit(paths, staging, &img, out, err);
    }
    lxm_image_meta_clear(&meta);
    if (r < 0)
        lxm_image_store_discard(staging);
    return r;
}

int lxm_image_import(const struct lxm_paths *paths, const char *source,
                     const char *extra, char *const *aliases,
                     const struct lxm_report *progress, struct lxm_image **out,
                     bool *existed, struct lxm_error *err)
{
    return lxm_image_import_as(paths, source, extra, NULL, aliases, progress, out,
                               existed, err);
}

int lxm_image_import_as(const struct lxm_paths *paths, const char *source,
                        const char *extra, const char *label, char *const *aliases,
                        const struct lxm_report *progress, struct lxm_image **out,
                        bool *existed, struct lxm_error *err)
{
    for (size_t i = 0; aliases && aliases[i]; i++) {
        int r = lxm_image_alias_validate(aliases[i], err);
        if (r < 0)
            return r;
    }
    char fp[65];
    int r = lxm_image_source_id(source, extra, fp, err);
    if (r < 0)
        return r;
    struct lxm_image *have = NULL;
    r = lxm_image_store_get(paths, fp, &have, err);
    if (r < 0)
        return r;
    *existed = r == 1;
    if (*existed) {
        /* Already unpacked: only the aliases are new. */
        for (size_t i = 0; r >= 0 && aliases && aliases[i]; i++)
            r = lxm_image_store_alias_add(paths, fp, aliases[i], err);
        lxm_image_free(have);
        return r < 0 ? r : lxm_image_store_find(paths, fp, out, err);
    }
    _cleanup_close_ int lock = lxm_image_store_lock(paths, false, err);
    if (lock < 0)
        return lock;
    lxm_image_store_sweep(paths);
    sigset_t old;
    lxm_signals_block(&old);
    r = unpack_into_store(paths, source, extra, fp, label, aliases, progress, out, err);
    lxm_signals_restore(&old);
    return r;
}

int lxm_image_export(const struct lxm_paths *paths, const char *ref, const char *file,
                     const struct lxm_report *progress, struct lxm_error *err)
{
    size_t n = strlen(file);
    if (!(n > 8 && strcmp(file + n - 8, ".tar.zst") == 0) && !(n > 5 && strcmp(file + n - 5, ".tzst") == 0))
        return lxm_error_set(err, EINVAL, "%s: an image is exported as a zstd rootfs tarball "
                                          "(name it .tar.zst)", file);
    _cleanup_close_ int lock = lxm_image_store_lock(paths, false, err);
    if (lock < 0)
        return lock;
    _cleanup_image_ struct lxm_image *img = NULL;
    int r = lxm_image_store_find(paths, ref, &img, err);
    if (r < 0)
        return r;
    sigset_t old;
    lxm_signals_block(&old);
    r = lxm_image_pack(img->rootfs, file, NULL, progress, err);
    lxm_signals_restore(&old);
    return r;
}

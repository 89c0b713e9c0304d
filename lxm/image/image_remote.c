#include "image/image_remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/container.h"
#include "image/image_io.h"
#include "image/simplestreams.h"
#include "util/arch.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/sha256.h"

/* What lxm_image_source_id() gives a split image, from the two sums. */
static void split_fingerprint(const char *meta_sha, const char *rootfs_sha, char hex[65])
{
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, "split:", 6);
    sha256_update(&c, meta_sha, 64);
    sha256_update(&c, rootfs_sha, 64);
    sha256_final_hex(&c, hex);
}

static char *label_of(const struct lxm_remote *remote, const char *alias,
                      const struct lxm_ss_image *img)
{
    return xasprintf("%s:%s (%s %s)", remote->name, alias, img->product, img->version);
}

/* Both files into CACHE/downloads, then into the store. */
static int fetch_and_import(const struct lxm_paths *paths, const struct lxm_remote *remote,
                            const char *alias, const struct lxm_ss_image *img,
                            char *const *aliases, const struct lxm_report *progress,
                            struct lxm_image **out, bool *existed, struct lxm_error *err)
{
    _cleanup_free_ char *dir = xasprintf("%s/downloads", paths->cache);
    _cleanup_free_ char *label = label_of(remote, alias, img);
    _cleanup_free_ char *meta = NULL, *rootfs = NULL;
    if (!dir || !label)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = lxm_ss_download(remote->url, &img->meta, dir, progress, &meta, err);
    if (r == 0)
        r = lxm_ss_download(remote->url, &img->rootfs, dir, progress, &rootfs, err);
    if (r == 0)
        r = lxm_image_import_as(paths, meta, rootfs, label, aliases, progress, out,
                                existed, err);
    /* In the store (or refused as no image): the files have done their
     * work. A failed download keeps its .part for the next attempt. */
    if (meta && (r == 0 || r == -EINVAL))
        unlink(meta);
    if (rootfs && (r == 0 || r == -EINVAL))
        unlink(rootfs);
    return r;
}

int lxm_image_remote_copy(const struct lxm_paths *paths, const struct lxm_remote *remote,
                          const char *alias, char *const *aliases, const struct lxm_report *progress,
                          struct lxm_image **out, bool *existed, struct lxm_error *err)
{
    for (size_t i = 0; aliases && aliases[i]; i++) {
        int r = lxm_image_alias_validate(aliases[i], err);
        if (r < 0)
            return r;
    }
    struct lxm_ss_image img = { 0 };
    int r = lxm_ss_find(remote->url, alias, lxm_host_arch(), &img, err);
    if (r < 0)
        return lxm_error_prefix(err, "%s:%s", remote->name, alias);
    char fp[65];
    split_fingerprint(img.meta.sha256, img.rootfs.sha256, fp);
    _cleanup_image_ struct lxm_image *have = NULL;
    r = lxm_image_store_get(paths, fp, &have, err);
    if (r == 1) {
        *existed = true;
        for (size_t i = 0; r >= 0 && aliases && aliases[i]; i++)
            r = lxm_image_store_alias_add(paths, fp, aliases[i], err);
        if (r >= 0)
            r = lxm_image_store_find(paths, fp, out, err);
    } else if (r == 0) {
        r = fetch_and_import(paths, remote, alias, &img, aliases, progress, out, existed, err);
    }
    lxm_ss_image_clear(&img);
    return r < 0 ? lxm_error_prefix(err, "%s:%s", remote->name, alias) : 0;
}

/* The newest store image whose source says it came from REMOTE:ALIAS. */
static int find_copied(const struct lxm_paths *paths, const char *ref, char **fp,
                       struct lxm_error *err)
{
    struct lxm_image **list;
    size_t n;
    int r = lxm_image_store_list(paths, &list, &n, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *prefix = xasprintf("%s (", ref);
    int found = 0;
    for (size_t i = n; prefix && i-- > 0 && !found;) /* sorted by created: newest last */
        if (list[i]->source && strncmp(list[i]->source, prefix, strlen(prefix)) == 0) {
            *fp = strdup(list[i]->fingerprint);
            found = *fp ? 1 : lxm_error_set(err, ENOMEM, "out of memory");
        }
    lxm_image_list_free(list, n);
    return prefix ? found : lxm_error_set(err, ENOMEM, "out of memory");
}

int lxm_image_remote_resolve(const struct lxm_paths *paths, const char *ref,
                             const struct lxm_report *progress, char **fp, struct lxm_error *err)
{
    struct lxm_remote remote = { 0 };
    const char *alias = NULL;
    int r = lxm_remote_split(paths, ref, &remote, &alias, err);
    if (r <= 0)
        return r;
    r = *alias ? find_copied(paths, ref, fp, err)
               : lxm_error_set(err, EINVAL, "%s: no image after the remote name (REMOTE:ALIAS)", ref);
    if (r == 0) {
        _cleanup_image_ struct lxm_image *img = NULL;
        bool existed = false;
        r = lxm_image_remote_copy(paths, &remote, alias, NULL, progress, &img, &existed, err);
        if (r == 0)
            r = (*fp = strdup(img->fingerprint)) ? 0 : lxm_error_set(err, ENOMEM, "out of memory");
    }
    free(remote.name);
    free(remote.url);
    free(remote.protocol);
    return r < 0 ? r : 1;
}

/* lazy: dlopen() of the heavy libraries (libarchive, libnftables) on first
 * use. See lazy-archive.h for why. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/lazy-archive.h"
#include "image/lazy-curl.h"
#include "image/lazy-image.h"
#include "util/lazy-nft.h"
#include "util/lazy.h"

/* What is loaded, so that a process done with these libraries (the
 * monitor, a fork of a command that used them) can let them go. */
static struct {
    void *handle;
    int *loaded;
} loaded_libs[8];
static size_t n_loaded;

void lxm_lazy_unload(void)
{
    for (size_t i = 0; i < n_loaded; i++) {
        dlclose(loaded_libs[i].handle);
        *loaded_libs[i].loaded = 0;
    }
    n_loaded = 0;
}

/* Resolve every name of a table; on any failure report and exit like the
 * dynamic linker would have. Called once per library per process (again
 * after lxm_lazy_unload()). */
static void load_table(const char *soname, const char *pkg, const char *const *names, void **slots,
                       size_t n, int *loaded)
{
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "lxm: error: cannot load %s: %s (install the Debian package %s)\n", soname,
                dlerror(), pkg);
        _exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        slots[i] = dlsym(h, names[i]);
        if (!slots[i]) {
            fprintf(stderr, "lxm: error: %s has no %s (install a current %s)\n", soname, names[i], pkg);
            _exit(1);
        }
    }
    if (n_loaded < sizeof(loaded_libs) / sizeof(loaded_libs[0]))
        loaded_libs[n_loaded].handle = h, loaded_libs[n_loaded++].loaded = loaded;
    *loaded = 1;
}

#define NAME(f) #f,

/* The tables hold only pointers, so they can be filled as arrays of void *.
 * Names are spelled without macro expansion by undefining nothing: #f in
 * NAME stringifies the argument before it is expanded. */
const struct lxm_archive_api *lxm_archive(void)
{
    static struct lxm_archive_api api;
    static int loaded;
    if (!loaded) {
        static const char *const names[] = { LXM_ARCHIVE_FUNCS(NAME) };
        load_table(LXM_LIBARCHIVE_SONAME, "libarchive13", names, (void **)&api,
                   sizeof(api) / sizeof(void *), &loaded);
    }
    return &api;
}

bool lxm_archive_out_of_space(struct archive *a)
{
    int e = archive_errno(a);
    return e == ENOSPC || e == EDQUOT;
}

int lxm_archive_error(struct lxm_error *err, struct archive *a, int code, const char *fmt, ...)
{
    char head[LXM_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    if (lxm_archive_out_of_space(a))
        return lxm_error_errno(err, archive_errno(a), "%s", head);
    const char *why = archive_error_string(a);
    return lxm_error_set(err, code, "%s: %s", head, why ? why : "unknown libarchive error");
}

const struct lxm_nft_api *lxm_nft(void)
{
    static struct lxm_nft_api api;
    static int loaded;
    if (!loaded) {
        static const char *const names[] = { LXM_NFT_FUNCS(NAME) };
        load_table(LXM_LIBNFTABLES_SONAME, "libnftables1", names, (void **)&api,
                   sizeof(api) / sizeof(void *), &loaded);
    }
    return &api;
}

const struct lxm_json_api *lxm_json(void)
{
    static struct lxm_json_api api;
    static int loaded;
    if (!loaded) {
        static const char *const names[] = { LXM_JSON_FUNCS(NAME) };
        load_table(LXM_LIBJSONC_SONAME, "libjson-c5", names, (void **)&api,
                   sizeof(api) / sizeof(void *), &loaded);
    }
    return &api;
}

const struct lxm_sqfs_api *lxm_sqfs(void)
{
    static struct lxm_sqfs_api api;
    static int loaded;
    if (!loaded) {
        static const char *const names[] = { LXM_SQFS_FUNCS(NAME) };
        load_table(LXM_LIBSQUASHFS_SONAME, "libsquashfs1", names, (void **)&api,
                   sizeof(api) / sizeof(void *), &loaded);
    }
    return &api;
}

const struct lxm_curl_api *lxm_curl(void)
{
    static struct lxm_curl_api api;
    static int loaded;
    if (!loaded) {
        static const char *const names[] = { LXM_CURL_FUNCS(NAME) };
        load_table(LXM_LIBCURL_SONAME, "libcurl4", names, (void **)&api,
                   sizeof(api) / sizeof(void *), &loaded);
    }
    return &api;
}

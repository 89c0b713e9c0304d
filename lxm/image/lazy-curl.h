/* lazy-curl: libcurl, loaded on first use like libarchive (see
 * lazy-archive.h): only downloads from image servers need it, and it maps
 * a TLS stack and a dozen protocol libraries with it. Every function lxm
 * calls must be listed below. */
#pragma once

/* The type-checking macros of curl.h would call the real symbols. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#define LXM_CURL_FUNCS(X) \
    X(curl_easy_cleanup) \
    X(curl_easy_getinfo) \
    X(curl_easy_init) \
    X(curl_easy_perform) \
    X(curl_easy_setopt) \
    X(curl_easy_strerror) \
    X(curl_global_init)

struct lxm_curl_api {
#define X(f) __typeof__(f) *f;
    LXM_CURL_FUNCS(X)
#undef X
};

/* The loaded table; a missing library ends the process with a message
 * naming the Debian package, as lxm_archive() does. */
const struct lxm_curl_api *lxm_curl(void);

/* curl.h defines these two as calls of themselves (to force three
 * arguments); the table takes their place. */
#undef curl_easy_getinfo
#undef curl_easy_setopt
#define curl_easy_cleanup (lxm_curl()->curl_easy_cleanup)
#define curl_easy_getinfo (lxm_curl()->curl_easy_getinfo)
#define curl_easy_init (lxm_curl()->curl_easy_init)
#define curl_easy_perform (lxm_curl()->curl_easy_perform)
#define curl_easy_setopt (lxm_curl()->curl_easy_setopt)
#define curl_easy_strerror (lxm_curl()->curl_easy_strerror)
#define curl_global_init (lxm_curl()->curl_global_init)

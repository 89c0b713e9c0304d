/* paths: where lxm keeps things, relocatable by --root. */
#pragma once

#include <stdbool.h>

#include "util/err.h"
#include "util/report.h"

struct lxm_global;
/* lxm.yaml as parsed at its first use in a command (lxm_paths_global in
 * config_global.c); free_global lets it go at lxm_paths_free. */
struct lxm_global_once {
    bool loaded;
    int r;
    struct lxm_global *global;
    void (*free_global)(struct lxm_global *);
    struct lxm_error err;
};

struct lxm_paths {
    char *root;                 /* --root / LXM_ROOT, NULL = FHS */
    char *etc;                  /* /etc/lxm */
    char *global_config;        /* /etc/lxm/lxm.yaml */
    char *local_profiles;       /* /etc/lxm/profiles */
    char *containers;           /* /var/lib/lxm/containers */
    char *cache;                /* /var/cache/lxm (LXM_CACHE_DIR overrides) */
    char *images;               /* <cache>/images */
    char *run;                  /* /run/lxm */
    char *log;                  /* /var/log/lxm */
    char *instance;             /* "" for the FHS root, else "-<8 hex of --root>" */
    char *templates;            /* LXM_TEMPLATES_DIR or $(datadir)/lxm/templates */
    char *profiles;             /* LXM_PROFILES_DIR or $(datadir)/lxm/profiles */
    /* Where the library's progress and notices go (the command layer's;
     * NULL = nowhere). */
    const struct lxm_report *report;
    struct lxm_global_once *global_once;
};

/* root may be NULL (then LXM_ROOT, then FHS). */
int lxm_paths_init(struct lxm_paths *p, const char *root, struct lxm_error *err);
void lxm_paths_free(struct lxm_paths *p);

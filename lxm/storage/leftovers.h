/* leftovers: what an lxm command killed half-way leaves behind, and its
 * removal. Everything lxm stages carries its owner's tag (util/owner.h) in
 * its name: import trees (containers/.import-OWNER.*), creates, copies
 * and deletes (containers/.create-OWNER.NAME, .copy-, .delete-), temp files of atomic
 * writes (FILE.tmp.OWNER.*), partial snapshots (snapshots/.SNAP.partial.OWNER)
 * and, for files outside lxm's tree (an export's FILE.tmp.OWNER.*), a record
 * in <lib>/staging/ naming them. A staged thing whose owner is gone is a
 * leftover; one whose owner runs is left alone. So are the dnsmasq entries
 * of a container that no longer exists, and the port forwards (nftables
 * chains) of one that does not run. Every state-changing command sweeps
 * them first (lxm_leftovers_sweep); `lxm doctor` lists them. The cgroups
 * of a container that does not run (its record lost, or kept because they
 * could not be removed: runtime/start-lost.h) are a leftover that only
 * `lxm doctor` looks for: the sweep would read every hierarchy at each
 * start. */
#pragma once

#include <stddef.h>

#include "config/container.h"
#include "util/cleanup.h"
#include "util/err.h"

#define LXM_IMPORT_STAGING ".import-"

enum lxm_leftover_kind {
    LXM_LEFTOVER_IMPORT,       /* an import's staging tree */
    LXM_LEFTOVER_CONTAINER,    /* a create, copy or delete staged (lifecycle.c) */
    LXM_LEFTOVER_TEMP_FILE,    /* a temp file of an atomic write */
    LXM_LEFTOVER_EXPORT_TEMP,  /* an export's temp archive */
    LXM_LEFTOVER_SNAPSHOT,     /* a snapshot half built or half deleted */
    LXM_LEFTOVER_RECORD,       /* a staging record whose owner is gone */
    LXM_LEFTOVER_DNS,          /* dnsmasq entries of a deleted container */
    LXM_LEFTOVER_FORWARDS,     /* port forwards of a container not running */
    LXM_LEFTOVER_CGROUPS,      /* cgroups of a container not running (doctor only) */
};

struct lxm_leftover {
    enum lxm_leftover_kind kind;
    char *path;
    char *owner;               /* "pid 123" (gone) or NULL */
    char *bridge;              /* LXM_LEFTOVER_DNS: the bridge; path is the entry */
    char *key;                 /* LXM_LEFTOVER_DNS, _FORWARDS, _CGROUPS: the container name */
    char *fix;                 /* what removes it when lxm_leftover_remove will not; NULL */
};

/* One word for a kind ("import-staging", "temp-file", ...). */
const char *lxm_leftover_kind_name(enum lxm_leftover_kind kind);

/* Every leftover under paths, in a stable order, the cgroups of a
 * container that does not run included. */
int lxm_leftovers_find(const struct lxm_paths *paths, struct lxm_leftover **out, size_t *n,
                       struct lxm_error *err);
int lxm_leftover_remove(const struct lxm_paths *paths, const struct lxm_leftover *l,
                        struct lxm_error *err);
void lxm_leftovers_free(struct lxm_leftover *v, size_t n);

/* Find and remove, quietly (debug lines only); the number removed. A
 * sweep skips the container directories it found clean before and that
 * have not changed since (see leftovers.c), and does not look for the
 * cgroups of containers that do not run (only lxm_leftovers_find does);
 * LXM_SWEEP_NO_FORWARDS leaves the port forwards alone (reading them
 * loads libnftables), for commands that neither make nor read any
 * (create). */
#define LXM_SWEEP_NO_FORWARDS 1u
#define LXM_SWEEP_QUICK 2u /* internal */
int lxm_leftovers_sweep(const struct lxm_paths *paths, unsigned flags);
/* After the command that swept has succeeded: note the container
 * directories the sweep found clean, for the next sweep to skip. */
void lxm_leftovers_sweep_done(const struct lxm_paths *paths);

/* A record in <lib>/staging/ for a temp file outside lxm's tree: every
 * file whose path starts with prefix belongs to this process. Freeing the
 * record removes it (call it after the temp file is renamed or removed). */
struct lxm_staging_record;
int lxm_staging_record_add(const struct lxm_paths *paths, const char *prefix,
                           struct lxm_staging_record **out, struct lxm_error *err);
void lxm_staging_record_free(struct lxm_staging_record *rec);
static inline void lxm_staging_record_freep(struct lxm_staging_record **r)
{
    lxm_staging_record_free(*r);
}

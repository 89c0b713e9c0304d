#include "storage/export.h"

#include "util/lazy-archive.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "image/image_io.h"
#include "runtime/runtime.h"
#include "storage/storage.h"
#include "image/template.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "config/ydoc.h"
#include "util/owner.h"
#include "util/signals.h"
#include "storage/leftovers.h"

#define IO_BLOCK (1 << 20)
/* A config.yaml is a few KiB; anything huge in an archive is not one. */
#define CONFIG_MAX LXM_YAML_MAX

static inline void configp(struct lxm_config **c)
{
    lxm_config_free(*c);
}
#define _cleanup_config_ _cleanup_(configp)

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

int lxm_export_compression_for(const char *file, enum lxm_export_compression *out,
                               struct lxm_error *err)
{
    static const struct {
        const char *suffix;
        enum lxm_export_compression c;
    } kinds[] = {
        {".tar", LXM_EXPORT_TAR},   {".tar.gz", LXM_EXPORT_GZIP}, {".tgz", LXM_EXPORT_GZIP},
        {".tar.xz", LXM_EXPORT_XZ}, {".txz", LXM_EXPORT_XZ},      {".tar.zst", LXM_EXPORT_ZSTD},
        {".tzst", LXM_EXPORT_ZSTD},
    };
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
        if (ends_with(file, kinds[i].suffix)) {
            *out = kinds[i].c;
            return 0;
        }
    return lxm_error_set(
        err, EINVAL, "%s: unknown archive type (name it .tar, .tar.gz, .tar.xz or .tar.zst)", file);
}

/* ---- export ------------------------------------------------------------------------- */

static int open_writer(struct archive *w, int fd, enum lxm_export_compression comp,
                       struct lxm_error *err)
{
    int r = ARCHIVE_OK;
    switch (comp) {
    case LXM_EXPORT_TAR: break;
    case LXM_EXPORT_GZIP: r = archive_write_add_filter_gzip(w); break;
    case LXM_EXPORT_XZ: r = archive_write_add_filter_xz(w); break;
    case LXM_EXPORT_ZSTD: r = archive_write_add_filter_zstd(w); break;
    }
    if (r != ARCHIVE_OK || archive_write_set_format_pax(w) != ARCHIVE_OK)
        return lxm_error_set(err, ENOTSUP, "libarchive: %s", archive_error_string(w));
    char threads[16];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(threads, sizeof(threads), "%ld", ncpu > 0 ? ncpu : 1);
    /* Best effort: older libarchive lacks these options. SCHILY xattr
     * headers as well let GNU tar --xattrs restore file capabilities. */
    archive_write_set_format_option(w, "pax", "xattrheader", "ALL");
    if (comp == LXM_EXPORT_ZSTD)
        archive_write_set_filter_option(w, "zstd", "threads", threads);
    if (comp == LXM_EXPORT_XZ)
        archive_write_set_filter_option(w, "xz", "threads", threads);
    archive_write_set_bytes_per_block(w, IO_BLOCK);
    archive_write_set_bytes_in_last_block(w, 1);
    if (archive_write_open_fd(w, fd) != ARCHIVE_OK)
        return lxm_error_set(err, EIO, "libarchive: %s", archive_error_string(w));
    return 0;
}

/* config.yaml first, so an importer meets the container's identity before
 * its tree. */
static int write_config_entry(struct archive *w, const char *file, struct lxm_error *err)
{
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    int r = read_file(file, &text, &len);
    if (r < 0)
        return lxm_error_errno(err, -r, "read %s", file);
    _cleanup_archive_entry_ struct archive_entry *e = archive_entry_new();
    if (!e)
        return lxm_error_set(err, ENOMEM, "out of memory");
    archive_entry_set_pathname(e, "config.yaml");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0600);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, time(NULL), 0);
    if (archive_write_header(w, e) < ARCHIVE_WARN ||
        archive_write_data(w, text, len) != (la_ssize_t)len ||
        archive_write_finish_entry(w) < ARCHIVE_WARN)
        return lxm_archive_error(err, w, EIO, "write config.yaml");
    return 0;
}

static int write_file_data(struct archive *disk, struct archive *w, const char *rel, void *buf,
                           struct lxm_error *err)
{
    for (;;) {
        la_ssize_t n = archive_read_data(disk, buf, IO_BLOCK);
        if (n == 0)
            return 0;
        if (n < 0)
            return lxm_error_set(err, EIO, "read %s: %s", rel, archive_error_string(disk));
        if (archive_write_data(w, buf, (size_t)n) < 0)
            return lxm_archive_error(err, w, EIO, "write %s", rel);
    }
}

static int write_tree_entry(struct archive *disk, struct archive *w, struct archive_entry *e,
                            void *buf, struct lxm_error *err)
{
    const char *rel = archive_entry_pathname(e);
    int r = archive_write_header(w, e);
    if (r < ARCHIVE_WARN)
        return lxm_archive_error(err, w, EIO, "write %s", rel);
    if (r == ARCHIVE_WARN)
        lxm_debug("export %s: %s", rel, archive_error_string(w));
    if (archive_entry_size(e) > 0 && !archive_entry_hardlink(e)) {
        r = write_file_data(disk, w, rel, buf, err);
        if (r < 0)
            return r;
    }
    if (archive_write_finish_entry(w) < ARCHIVE_WARN)
        return lxm_archive_error(err, w, EIO, "write %s", rel);
    return 0;
}

/* The entry's path as "rootfs/..." (root is the tree walked). */
static int rename_entry(struct archive_entry *e, const char *root)
{
    const char *full = archive_entry_pathname(e);
    size_t n = strlen(root);
    if (!full || strncmp(full, root, n) != 0 || (full[n] != '/' && full[n] != '\0'))
        return -EINVAL;
    _cleanup_free_ char *rel = xasprintf("rootfs%s", full + n);
    if (!rel)
        return -ENOMEM;
    archive_entry_copy_pathname(e, rel);
    return 0;
}

static int open_disk_reader(struct archive *disk, const char *rootfs, struct lxm_error *err)
{
    /* Numeric owners only: a name looked up on this host means nothing
     * inside the container (no archive_read_disk_set_standard_lookup). */
    archive_read_disk_set_symlink_physical(disk);
    archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS |
                                             ARCHIVE_READDISK_NO_SPARSE);
    if (archive_read_disk_open(disk, rootfs) != ARCHIVE_OK)
        return lxm_error_set(err, EIO, "read %s: %s", rootfs, archive_error_string(disk));
    return 0;
}

/* rootfs/ and everything below root (the container's whole rootfs, as
 * its backend mounts it: overlay layers flattened, whiteouts honoured),
 * never leaving its filesystem. */
static int write_rootfs(struct archive *w, const struct lxm_container *c, const char *root,
                        struct lxm_meter *p, struct lxm_error *err)
{
    _cleanup_archive_read_ struct archive *disk = archive_read_disk_new();
    _cleanup_linkresolver_ struct archive_entry_linkresolver *links =
        archive_entry_linkresolver_new();
    _cleanup_free_ void *buf = malloc(IO_BLOCK);
    if (!disk || !links || !buf)
        return lxm_error_set(err, ENOMEM, "out of memory");
    archive_entry_linkresolver_set_strategy(links, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);
    int r = open_disk_reader(disk, root, err);
    while (r == 0) {
        _cleanup_archive_entry_ struct archive_entry *e = archive_entry_new();
        struct archive_entry *spare = NULL;
        if (!e)
            return lxm_error_set(err, ENOMEM, "out of memory");
        r = archive_read_next_header2(disk, e);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return lxm_error_set(err, EIO, "read %s: %s", c->name, archive_error_string(disk));
        if (archive_read_disk_can_descend(disk))
            archive_read_disk_descend(disk);
        if (rename_entry(e, root) < 0)
            return lxm_error_set(err, EINVAL, "read %s: unexpected path '%s'", c->name,
                                 archive_entry_pathname(e));
        if (archive_entry_filetype(e) == AE_IFSOCK) {
            /* tar has no sockets; they belong to a running system anyway. */
            lxm_debug("export %s: skipping socket %s", c->name, archive_entry_pathname(e));
            r = 0;
            continue;
        }
        archive_entry_linkify(links, &e, &spare);
        r = e ? write_tree_entry(disk, w, e, buf, err) : 0;
        archive_entry_free(spare);
        if (r == 0 && lxm_signals_pending())
            r = lxm_error_set(err, EINTR, "interrupted");
        lxm_meter_update(p, archive_filter_bytes(w, 0));
    }
    return r;
}

static int write_export(const struct lxm_container *c, const char *root, int fd,
                        enum lxm_export_compression comp, struct lxm_meter *p, struct lxm_error *err)
{
    _cleanup_archive_write_ struct archive *w = archive_write_new();
    if (!w)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = open_writer(w, fd, comp, err);
    if (r == 0)
        r = write_config_entry(w, c->config_file, err);
    if (r == 0)
        r = write_rootfs(w, c, root, p, err);
    if (r == 0 && archive_write_close(w) != ARCHIVE_OK)
        r = lxm_archive_error(err, w, EIO, "write");
    if (r == 0 && fsync(fd) < 0)
        r = lxm_error_errno(err, errno, "fsync");
    return r;
}

static int export_to(const struct lxm_container *c, const char *root, const char *file,
                     enum lxm_export_compression comp, const struct lxm_report *report,
                     struct lxm_error *err)
{
    _cleanup_free_ char *prefix = xasprintf("%s.tmp.%s.", file, owner_tag());
    _cleanup_free_ char *tmp = prefix ? xasprintf("%sXXXXXX", prefix) : NULL;
    if (!tmp)
        return lxm_error_set(err, ENOMEM, "out of memory");
    /* FILE may be anywhere: the staging record (an absolute path, since
     * the next command runs elsewhere) is how it finds our temp file if we
     * die before the rename. */
    _cleanup_free_ char *cwd = file[0] == '/' ? NULL : getcwd(NULL, 0);
    _cleanup_free_ char *where = cwd ? xasprintf("%s/%s", cwd, prefix) : strdup(prefix);
    if (!where)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_(lxm_staging_record_freep) struct lxm_staging_record *rec = NULL;
    int r = lxm_staging_record_add(c->paths, where, &rec, err);
    if (r < 0)
        return r;
    /* mkostemp makes it 0600: the archive holds the container's secrets. */
    _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "create %s", tmp);
    _cleanup_free_ char *what = xasprintf("%s to %s", c->name, file);
    if (!what)
        return lxm_error_set(err, ENOMEM, "out of memory");
    struct lxm_meter p;
    lxm_meter_start(&p, report, "exporting", "exported", c->name, 0);
    p.p.what = what;
    r = write_export(c, root, fd, comp, &p, err);
    if (r == 0) {
        struct stat st;
        p.p.done = fstat(fd, &st) == 0 ? st.st_size : p.p.done;
    }
    lxm_meter_done(&p, r == 0);
    if (r == 0 && lxm_signals_pending())
        r = lxm_error_set(err, EINTR, "interrupted");
    if (r == 0 && rename(tmp, file) < 0)
        r = lxm_error_errno(err, errno, "rename %s to %s", tmp, file);
    if (r < 0)
        unlink(tmp);
    return r;
}

static int open_rootfs(struct lxm_container *c, struct lxm_error *err)
{
    const struct lxm_storage_ops *ops;
    _cleanup_free_ char *image = NULL;
    int r = lxm_container_load_config(c, err);
    if (r == 0)
        r = lxm_storage_of(c->dir, &ops, err);
    if (r == 0)
        r = lxm_image_rootfs(c->paths, c->config->image, &image, err);
    if (r < 0)
        return r;
    struct lxm_storage_mount how = { .userns_fd = -1, .readonly = true };
    return ops->mount(image, c->dir, &how, err);
}

int lxm_export(struct lxm_container *c, const char *file, const struct lxm_report *progress,
               struct lxm_error *err)
{
    enum lxm_export_compression comp;
    int r = lxm_export_compression_for(file, &comp, err);
    if (r < 0)
        return r;
    r = lxm_container_lock(c, err);
    if (r < 0)
        return r;
    if (!lxm_container_exists(c))
        return lxm_error_set(err, ENOENT, "container '%s' not found", c->name);
    struct lxm_runtime_info info;
    r = lxm_runtime_query(c, &info, err);
    if (r < 0)
        return r;
    if (info.state != LXM_STATE_STOPPED)
        return lxm_error_set(err, EBUSY, "container '%s' is %s (stop it first with 'lxm stop %s')",
                             c->name, lxm_state_name(info.state), c->name);
    r = lxm_container_check_rootfs(c, err);
    if (r < 0)
        return r;
    /* A private, read-only mount of the whole rootfs, never attached
     * anywhere: walked through /proc/self/fd. */
    _cleanup_close_ int mnt = open_rootfs(c, err);
    if (mnt < 0)
        return lxm_error_prefix(err, "export %s", c->name);
    char root[64];
    snprintf(root, sizeof(root), "/proc/self/fd/%d/.", mnt);
    sigset_t old;
    lxm_signals_block(&old);
    r = export_to(c, root, file, comp, progress, err);
    lxm_signals_restore(&old);
    if (r < 0)
        return lxm_error_prefix(err, "export %s to %s", c->name, file);
    return 0;
}

/* ---- import -------------------------------------------------------------------------- */

/* Only config.yaml (a regular file) and rootfs/ (a directory) may sit at
 * the top of an export: anything else means it is not one. */
static int check_layout(const char *staging, const char *file, struct lxm_error *err)
{
    _cleanup_closedir_ DIR *d = opendir(staging);
    if (!d)
        return lxm_error_errno(err, errno, "open %s", staging);
    bool config = false, rootfs = false;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        struct stat st;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            continue;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return lxm_error_errno(err, errno, "stat %s/%s", staging, n);
        if (strcmp(n, "config.yaml") == 0 && S_ISREG(st.st_mode) && st.st_size > CONFIG_MAX)
            return lxm_error_set(err, EFBIG, "%s: config.yaml is %lld bytes, over the %d MiB limit",
                                 file, (long long)st.st_size, CONFIG_MAX >> 20);
        if (strcmp(n, "config.yaml") == 0 && S_ISREG(st.st_mode))
            config = true;
        else if (strcmp(n, "rootfs") == 0 && S_ISDIR(st.st_mode))
            rootfs = true;
        else
            return lxm_error_set(err, EINVAL,
                                 "%s: not an lxm export: unexpected '%s' at its top "
                                 "(an export holds config.yaml and rootfs/)",
                                 file, n);
    }
    if (!config)
        return lxm_error_set(err, EINVAL,
                             "%s: not an lxm export: no config.yaml (for a root "
                             "filesystem tarball use 'lxm create NAME --from %s')",
                             file, file);
    if (!rootfs)
        return lxm_error_set(err, EINVAL, "%s: not an lxm export: no rootfs/", file);
    return 0;
}

/* ---- import: what an archive may not choose -------------------------------------------- */

/* An archive is someone else's word. Its profiles and the keys that reach
 * the host (privileges, nesting, the id map, extra profiles, bind mounts
 * of host paths) are the importing user's choice: dropped and named in one
 * line unless --trust-profiles. */
static bool asks_privileged(const struct lxm_config *c)
{
    return c->security.privileged_set && c->security.privileged;
}
static bool asks_nesting(const struct lxm_config *c)
{
    return c->security.nesting_set && c->security.nesting;
}
static bool asks_idmap(const struct lxm_config *c)
{
    return c->security.idmap && strcmp(c->security.idmap, "auto") != 0;
}
static bool asks_profile(const struct lxm_config *c)
{
    return c->security_profile != NULL;
}
static bool asks_mounts(const struct lxm_config *c)
{
    return c->n_mounts > 0;
}

static const struct {
    const char *key;
    bool (*asks)(const struct lxm_config *c);
} host_reaching_keys[] = {
    {"security.privileged", asks_privileged}, {"security.nesting", asks_nesting},
    {"security.idmap", asks_idmap},           {"security.profile", asks_profile},
    {"mounts", asks_mounts},
};

static void append(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
    size_t n = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, size - n, fmt, ap);
    va_end(ap);
}

static void append_list(char *buf, size_t size, char *const *v)
{
    append(buf, size, "[");
    for (size_t i = 0; v && v[i]; i++)
        append(buf, size, "%s%s", i ? ", " : "", v[i]);
    append(buf, size, "]");
}

static bool strv_equal(char *const *a, char *const *b)
{
    size_t n = strv_length(a);
    if (n != strv_length(b))
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

/* The one line about the archive's own choices: what it asked for (its
 * profiles, the host-reaching keys in dropped) and what came of it. Not
 * under --quiet: what is dropped is dropped on the safe side. */
static void announce_trust(const char *file, char *const *asked, char *const *got,
                           const char *dropped, bool trusted)
{
    bool same = !asked || strv_equal(asked, got);
    if (trusted ? !asked && !*dropped : same && !*dropped)
        return;
    if (lxm_log_get_level() == LXM_LOG_QUIET)
        return;
    char line[1024] = "the archive asks for ";
    if (asked && (trusted || !same)) {
        append(line, sizeof(line), "profiles ");
        append_list(line, sizeof(line), asked);
        append(line, sizeof(line), "%s", *dropped ? " and " : "");
    }
    append(line, sizeof(line), "%s", dropped);
    if (trusted) {
        append(line, sizeof(line), ": kept (--trust-profiles)");
        if (!same) {
            append(line, sizeof(line), ", but -p gives the container profiles ");
            append_list(line, sizeof(line), got);
        }
        lxm_info("%s: %s", file, line);
        return;
    }
    bool refused = strv_contains(asked, "privileged") || strv_contains(asked, "unconfined") ||
                   *dropped;
    append(line, sizeof(line), ": %s without --trust-profiles; the container gets profiles ",
           refused ? "refused" : "ignored");
    append_list(line, sizeof(line), got);
    lxm_warn("%s: %s", file, line);
}

/* Give cfg the profiles the user chose (-p, else [default]; with --trust-
 * profiles and no -p, the archive's) and, unless trusted, drop the keys
 * that reach the host. */
static int limit_archive_config(struct lxm_config *cfg, const char *file,
                                const struct lxm_import_opts *o, struct lxm_error *err)
{
    _cleanup_strv_free_ char **asked = TAKE_PTR(cfg->profiles);
    static char *const default_profiles[] = { (char *)"default", NULL };
    char *const *chosen = o && o->profiles && o->profiles[0] ? o->profiles : NULL;
    bool trusted = o && o->trust_profiles;
    if (!chosen)
        chosen = trusted && asked ? asked : default_profiles;
    if (!(cfg->profiles = strv_copy(chosen)))
        return lxm_error_set(err, ENOMEM, "out of memory");
    char dropped[512] = "";
    for (size_t i = 0; i < ARRAY_SIZE(host_reaching_keys); i++) {
        const char *key = host_reaching_keys[i].key;
        if (!host_reaching_keys[i].asks(cfg))
            continue;
        append(dropped, sizeof(dropped), "%s%s", *dropped ? ", " : "", key);
        if (!trusted && lxm_config_unset(cfg, key, err) < 0)
            return lxm_error_prefix(err, "%s: config.yaml", file);
    }
    announce_trust(file, asked, cfg->profiles, dropped, trusted);
    return 0;
}

/* The profiles named on the command line exist: said before any work. */
static int check_chosen_profiles(const struct lxm_paths *paths, const struct lxm_import_opts *o,
                                 struct lxm_error *err)
{
    for (size_t i = 0; o && o->profiles && o->profiles[i]; i++) {
        struct lxm_profile *p = NULL;
        int r = lxm_profile_find(paths, o->profiles[i], &p, err);
        if (r < 0)
            return r;
        lxm_profile_free(p);
    }
    return 0;
}

/* config.yaml, limited to what the importing user allows, and proved
 * startable: what will be saved is parsed again and merged with its
 * profiles (they exist, the merge validates). */
static int load_archive_config(const struct lxm_paths *paths, const char *staging, const char *file,
                               const struct lxm_import_opts *o, struct lxm_config **out,
                               struct lxm_error *err)
{
    _cleanup_free_ char *path = xasprintf("%s/config.yaml", staging);
    _cleanup_free_ char *label = xasprintf("%s:config.yaml", file);
    _cleanup_free_ char *text = NULL;
    if (!path || !label)
        return lxm_error_set(err, ENOMEM, "out of memory");
    size_t len = 0;
    int r = read_file(path, &text, &len); /* check_layout bounded its size */
    if (r < 0)
        return lxm_error_errno(err, -r, "read %s", path);
    if ((r = lxm_yaml_check_text(label, text, len, err)) < 0)
        return r;
    _cleanup_config_ struct lxm_config *cfg = NULL;
    _cleanup_config_ struct lxm_config *probe = NULL;
    _cleanup_free_ char *limited = NULL;
    r = lxm_config_parse(label, text, &cfg, err);
    if (r == 0)
        r = limit_archive_config(cfg, file, o, err);
    if (r == 0)
        r = lxm_config_to_yaml(cfg, &limited, err);
    if (r == 0)
        r = lxm_config_parse(label, limited, &probe, err);
    if (r == 0 && (r = lxm_config_effective(paths, probe, err)) < 0)
        lxm_error_prefix(err, "%s", label);
    if (r < 0)
        return r;
    *out = TAKE_PTR(cfg);
    return 0;
}

static int set_str(char **field, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    free(*field);
    *field = copy;
    return 0;
}

/* Importing under another name makes a clone: it takes the new name as
 * its hostname (when it used its old one) and gives up a fixed MAC. */
static int rename_config(struct lxm_config *cfg, const char *name, const char *rootfs,
                         struct lxm_error *err)
{
    bool hostname = !cfg->hostname || (cfg->name && strcmp(cfg->hostname, cfg->name) == 0);
    if (set_str(&cfg->name, name) < 0 || (hostname && set_str(&cfg->hostname, name) < 0))
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (int i = 0; i < cfg->n_netifs; i++)
        if (cfg->netifs[i].hwaddr && strcmp(cfg->netifs[i].hwaddr, "auto") != 0 &&
            set_str(&cfg->netifs[i].hwaddr, "auto") < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    return hostname ? lxm_rootfs_set_identity(rootfs, name, err) : 0;
}

/* Give the checked tree its final config and move it into place. Called
 * with c locked and c->dir absent. */
static int commit_import(struct lxm_container *c, struct lxm_config *cfg, const char *staging,
                         struct lxm_error *err)
{
    _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", staging);
    _cleanup_free_ char *config = xasprintf("%s/config.yaml", staging);
    if (!rootfs || !config)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = 0;
    /* The rootfs is whole (flattened at export): it needs no image. */
    free(cfg->image);
    cfg->image = NULL;
    if (!cfg->name || strcmp(cfg->name, c->name) != 0)
        r = rename_config(cfg, c->name, rootfs, err);
    if (r == 0)
        r = lxm_config_save(cfg, config, err);
    if (r == 0 && lxm_signals_pending())
        r = lxm_error_set(err, EINTR, "interrupted");
    if (r == 0 && renameat2(AT_FDCWD, staging, AT_FDCWD, c->dir, RENAME_NOREPLACE) < 0)
        r = errno == EEXIST || errno == ENOTEMPTY
                ? lxm_error_set(err, EEXIST, "container '%s' already exists", c->name)
                : lxm_error_errno(err, errno, "rename %s to %s", staging, c->dir);
    return r;
}

static int import_checked(const struct lxm_paths *paths, const char *file, const char *staging,
                          struct lxm_config *cfg, const char *name, char **out,
                          struct lxm_error *err)
{
    if (!name && !cfg->name)
        return lxm_error_set(
            err, EINVAL, "%s: config.yaml has no name (give one: lxm import %s NAME)", file, file);
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = lxm_container_new(paths, name ? name : cfg->name, &c, err);
    if (r < 0)
        return lxm_error_prefix(err, "%s: config.yaml", file);
    /* A name that is taken fails at once; under the lock (waited for: a
     * create or another import of the name may hold it) it is checked
     * again before the rename. */
    if (path_exists(c->dir))
        return lxm_error_set(err, EEXIST, "container '%s' already exists", c->name);
    r = lxm_container_lock(c, err);
    if (r < 0)
        return r;
    r = path_exists(c->dir) ? lxm_error_set(err, EEXIST, "container '%s' already exists", c->name)
                            : commit_import(c, cfg, staging, err);
    if (r < 0)
        return r;
    if (out && !(*out = strdup(c->name)))
        return lxm_error_set(err, ENOMEM, "out of memory");
    return 0;
}

static int import_into(const struct lxm_paths *paths, const char *file, const char *staging,
                       const char *name, const struct lxm_import_opts *o, char **out,
                       struct lxm_error *err)
{
    int r = lxm_image_extract(file, staging, o->progress, err);
    if (r < 0)
        return r;
    if (lxm_signals_pending())
        return lxm_error_set(err, EINTR, "interrupted");
    /* The archive's "./" entry may have given the staging dir its own mode. */
    if (chmod(staging, 0700) < 0 || lchown(staging, 0, 0) < 0)
        return lxm_error_errno(err, errno, "reset the owner and mode of %s", staging);
    r = check_layout(staging, file, err);
    if (r < 0)
        return r;
    _cleanup_config_ struct lxm_config *cfg = NULL;
    r = load_archive_config(paths, staging, file, o, &cfg, err);
    if (r < 0)
        return r;
    return import_checked(paths, file, staging, cfg, name, out, err);
}

int lxm_import(const struct lxm_paths *paths, const char *file, const char *name,
               const struct lxm_import_opts *opts, char **out, struct lxm_error *err)
{
    static const struct lxm_import_opts defaults = {.progress = NULL};
    if (!opts)
        opts = &defaults;
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = name ? lxm_container_new(paths, name, &c, err) : 0;
    if (r < 0)
        return r;
    if (c && path_exists(c->dir))
        return lxm_error_set(err, EEXIST, "container '%s' already exists", c->name);
    if (access(file, R_OK) < 0)
        return lxm_error_errno(err, errno, "import %s", file);
    r = check_chosen_profiles(paths, opts, err);
    if (r < 0)
        return r;
    r = mkdir_p(paths->containers, 0711);
    if (r < 0)
        return lxm_error_errno(err, -r, "create %s", paths->containers);
    /* Owner-tagged: the next command removes it if we die (leftovers.c). */
    _cleanup_free_ char *staging =
        xasprintf("%s/" LXM_IMPORT_STAGING "%s.XXXXXX", paths->containers, owner_tag());
    if (!staging)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!mkdtemp(staging))
        return lxm_error_errno(err, errno, "create %s", staging);
    sigset_t old;
    lxm_signals_block(&old);
    r = import_into(paths, file, staging, name, opts, out, err);
    if (r < 0 && rm_rf(staging) < 0)
        lxm_warn("could not remove %s after the failed import", staging);
    lxm_signals_restore(&old);
    return r;
}

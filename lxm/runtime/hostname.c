/* hostname.c: the configured hostname into the guest's /etc/hostname and
 * /etc/hosts before a start (hostname.h). The rootfs is the guest's: /etc
 * is opened inside it (openat2 RESOLVE_IN_ROOT, on a private detached
 * mount of the stopped storage, which has no submounts to cross), and each
 * file is replaced by a new one renamed over it (O_EXCL|O_NOFOLLOW), so a
 * symlink the guest planted is replaced, never followed. The new file
 * takes the owner and mode of the one it replaces: right for any id layout
 * on disk (shifted or not). */
#include "runtime/hostname.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image_io.h"
#include "storage/storage.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/inroot.h"
#include "util/io.h"
#include "util/log.h"

#define HOSTS_MAX (4 << 20)

static char *record_path(const char *dir)
{
    return xasprintf("%s/" LXM_HOSTNAME_STATE, dir);
}

/* The recorded name; the container's own when there is no record. */
static char *recorded_name(const struct lxm_container *c)
{
    _cleanup_free_ char *path = record_path(c->dir);
    char *text = NULL;
    if (!path || read_file(path, &text, NULL) < 0)
        return strdup(c->name);
    text[strcspn(text, "\n")] = '\0';
    return text;
}

/* Replace etc/NAME with data: a temp file beside it, owner and mode of
 * what was there (else root of the tree as /etc's owner shows, 0644). */
static int replace_file(int etc, const char *name, const char *data, struct lxm_error *err)
{
    struct stat old, dir;
    if (fstat(etc, &dir) < 0)
        return lxm_error_errno(err, errno, "/etc");
    bool had = fstatat(etc, name, &old, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(old.st_mode);
    int r = lxm_replace_at(etc, name, data, strlen(data), had ? old.st_mode & 07777 : 0644,
                           had ? old.st_uid : dir.st_uid, had ? old.st_gid : dir.st_gid);
    return r < 0 ? lxm_error_errno(err, -r, "write /etc/%s", name) : 0;
}

/* hosts with its first 127.0.1.1 line (Debian's line for the host's own
 * name) made "127.0.1.1<TAB>name", or that line added at the end. */
static char *hosts_with(const char *hosts, const char *name)
{
    size_t n = strlen(hosts), cap = n + 2 * strlen(name) + 32;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t len = 0;
    bool done = false;
    for (const char *l = hosts; *l;) {
        const char *nl = strchr(l, '\n');
        size_t ll = nl ? (size_t)(nl - l) + 1 : strlen(l);
        const char *p = l + strspn(l, " \t");
        if (!done && !strncmp(p, "127.0.1.1", 9) && (p[9] == ' ' || p[9] == '\t')) {
            len += (size_t)snprintf(out + len, cap - len, "127.0.1.1\t%s\n", name);
            done = true;
        } else {
            memcpy(out + len, l, ll);
            len += ll;
            if (!nl && ll)
                out[len++] = '\n'; /* cap has room: the line we did not write */
        }
        l += ll;
    }
    if (!done)
        len += (size_t)snprintf(out + len, cap - len, "127.0.1.1\t%s\n", name);
    out[len] = '\0';
    return out;
}

static int write_identity(int rootfd, const char *name, struct lxm_error *err)
{
    _cleanup_close_ int etc = lxm_open_in_root(rootfd, "etc", O_PATH | O_DIRECTORY, 0);
    if (etc < 0)
        return lxm_error_errno(err, -etc, "/etc");
    _cleanup_free_ char *line = xasprintf("%s\n", name);
    if (!line)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = replace_file(etc, "hostname", line, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *hosts = NULL;
    r = lxm_read_in_root(rootfd, "etc/hosts", HOSTS_MAX, &hosts, NULL);
    if (r == -ENOENT) /* the guest has none: its choice */
        return 0;
    if (r < 0)
        return lxm_error_errno(err, -r, "read /etc/hosts");
    _cleanup_free_ char *edited = hosts_with(hosts, name);
    if (!edited)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return strcmp(edited, hosts) ? replace_file(etc, "hosts", edited, err) : 0;
}

static int sync_files(struct lxm_container *c, const char *name, struct lxm_error *err)
{
    const struct lxm_storage_ops *ops;
    _cleanup_free_ char *image = NULL;
    int r = lxm_storage_of(c->dir, &ops, err);
    if (r == 0)
        r = lxm_image_rootfs(c->paths, c->config->image, &image, err);
    if (r < 0)
        return r;
    struct lxm_storage_mount how = {.userns_fd = -1};
    _cleanup_close_ int rootfd = ops->mount(image, c->dir, &how, err);
    if (rootfd < 0)
        return rootfd;
    r = write_identity(rootfd, name, err);
    return r < 0 ? r : lxm_hostname_record(c->dir, name, err);
}

int lxm_hostname_record(const char *dir, const char *name, struct lxm_error *err)
{
    _cleanup_free_ char *path = record_path(dir);
    _cleanup_free_ char *text = xasprintf("%s\n", name);
    if (!path || !text)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = write_file_atomic(path, text, strlen(text), 0644);
    return r < 0 ? lxm_error_errno(err, -r, "write %s", path) : 0;
}

void lxm_hostname_reload(struct lxm_container *c)
{
    struct lxm_config *now = NULL;
    struct lxm_error err = {0};
    if (lxm_config_load(c->config_file, &now, &err) < 0) {
        const char *had = c->config->hostname ? c->config->hostname : c->name;
        lxm_warn("%s: reboot: the hostname stays %s: %s", c->name, had, err.msg);
        return;
    }
    free(c->config->hostname);
    c->config->hostname = TAKE_PTR(now->hostname);
    lxm_config_free(now);
}

void lxm_hostname_sync(struct lxm_container *c)
{
    const char *want = c->config->hostname ? c->config->hostname : c->name;
    _cleanup_free_ char *had = recorded_name(c);
    if (had && strcmp(had, want) == 0)
        return;
    struct lxm_error err = {0};
    if (sync_files(c, want, &err) < 0)
        lxm_warn("%s: hostname %s not written into the guest's /etc (its init may set "
                 "another): %s",
                 c->name, want, err.msg);
    else
        lxm_debug("%s: /etc/hostname and /etc/hosts say %s", c->name, want);
}

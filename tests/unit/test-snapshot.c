/* snapshot.c and export.c: archive types from file names, snapshot names,
 * listing snapshots (hidden partial copies skipped, sorted, created time)
 * and removing them all. No root needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/container.h"
#include "storage/export.h"
#include "storage/snapshot.h"
#include "tap.h"
#include "util/fs.h"

static void test_compression(void)
{
    static const struct {
        const char *file;
        int want; /* -1 = refused */
    } cases[] = {
        {"a.tar", LXM_EXPORT_TAR},
        {"/x/a.tar.gz", LXM_EXPORT_GZIP},
        {"a.tgz", LXM_EXPORT_GZIP},
        {"a.tar.xz", LXM_EXPORT_XZ},
        {"a.txz", LXM_EXPORT_XZ},
        {"a.tar.zst", LXM_EXPORT_ZSTD},
        {"a.tzst", LXM_EXPORT_ZSTD},
        {"a.zip", -1},
        {"a.tar.bz2", -1},
        {".tar", -1},
        {"tar", -1},
        {"a.gz", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lxm_error err = {0};
        enum lxm_export_compression c = LXM_EXPORT_TAR;
        int r = lxm_export_compression_for(cases[i].file, &c, &err);
        if (cases[i].want < 0)
            ok(r < 0 && strstr(err.msg, "unknown archive type"), "%s refused", cases[i].file);
        else
            ok(r == 0 && (int)c == cases[i].want, "%s -> %d", cases[i].file, cases[i].want);
    }
}

static void test_names(void)
{
    struct lxm_error err = {0};
    ok(lxm_snapshot_validate_name("snap0", &err) == 0, "snap0 is a snapshot name");
    ok(lxm_snapshot_validate_name("before-upgrade", &err) == 0,
       "before-upgrade is a snapshot name");
    ok(lxm_snapshot_validate_name("pre-", &err) == 0, "pre- is a snapshot name (not a hostname)");
    const char *bad[] = {"", "Snap", "a/b", "..", ".hidden", "-x", "a_b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lxm_error_clear(&err);
        ok(lxm_snapshot_validate_name(bad[i], &err) < 0 && strstr(err.msg, "invalid snapshot name"),
           "'%s' refused", bad[i]);
    }
}

static void put(const char *dir, const char *file, const char *text)
{
    char *p = xasprintf("%s/%s", dir, file);
    write_file_atomic(p, text, strlen(text), 0600);
    free(p);
}

static void test_list(void)
{
    char tmpl[] = "/tmp/lxm-test-snapshot.XXXXXX";
    char *root = mkdtemp(tmpl);
    struct lxm_paths paths;
    struct lxm_container *c = NULL;
    struct lxm_error err = {0};
    if (!root || lxm_paths_init(&paths, root, &err) < 0 ||
        lxm_container_new(&paths, "c1", &c, &err) < 0) {
        ok(0, "setup: %s", err.msg);
        return;
    }
    struct lxm_snapshot *list = NULL;
    size_t n = 99;
    ok(lxm_snapshot_list(c, &list, &n, &err) < 0 && strstr(err.msg, "not found"),
       "unknown container");
    char *snaps = xasprintf("%s/snapshots", c->dir);
    mkdir_p(snaps, 0700);
    put(c->dir, "config.yaml", "name: c1\n");
    ok(lxm_snapshot_list(c, &list, &n, &err) == 0 && n == 0, "no snapshots yet");
    const char *dirs[] = {"snap1", "a-first", ".snap2.partial", "Bad"};
    for (size_t i = 0; i < 4; i++) {
        char *d = xasprintf("%s/%s/rootfs", snaps, dirs[i]);
        mkdir_p(d, 0755);
        free(d);
    }
    char *s1 = xasprintf("%s/snap1", snaps);
    put(s1, "snapshot.yaml", "name: snap1\ncreated: 2026-01-02T03:04:05Z\n");
    int r = lxm_snapshot_list(c, &list, &n, &err);
    is_int(n, 2, "two snapshots (hidden and invalid names skipped)");
    if (r == 0 && n == 2) {
        is_str(list[0].name, "a-first", "sorted: a-first first");
        ok(list[0].created == NULL, "no snapshot.yaml: created unknown");
        is_str(list[1].name, "snap1", "then snap1");
        is_str(list[1].created, "2026-01-02T03:04:05Z", "created read from snapshot.yaml");
    }
    lxm_snapshot_list_free(list, n);
    ok(lxm_snapshot_remove_all(c, &err) == 0, "remove all: %s", err.msg);
    ok(!path_exists(snaps), "snapshots/ is gone");
    ok(path_exists(c->config_file), "config.yaml untouched");
    free(s1);
    free(snaps);
    lxm_container_free(c);
    lxm_paths_free(&paths);
    rm_rf(root);
}

int main(void)
{
    test_compression();
    test_names();
    test_list();
    return done();
}

/* libFuzzer target for OCI layers (image_oci.c): the input is the second
 * layer of a layout over a fixed first layer that holds a directory, files
 * and two symlinks to a host directory ("outside", absolute and relative).
 * The target writes the layer's blob with its real sha256 and size, the
 * config, manifest and index, and unpacks the layout. Whiteouts delete:
 * the invariants are that no input crashes or leaks, and that nothing
 * outside the destination is created or removed (outside/victim stays).
 * As root the target first moves into a private mount namespace where
 * everything but the fuzzer's own directory is read-only. Scratch files go
 * to BUILD/fuzz/oci-scratch. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "image/image_import.h"
#include "util/lazy-archive.h"
#include "util/fs.h"

#define FUZZ_NAME "fuzz-oci-layer"
#include "confine.h"
#include "util/sha256.h"

/* Set once in LLVMFuzzerInitialize, only read afterwards. */
static char layout[4200], base_hex[65];
static long base_size;

/* No fsync: these files live for one input. */
static void put_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || (len > 0 && write(fd, data, len) != (ssize_t)len))
        die(path);
    close(fd);
}

/* Write data as blobs/sha256/HEX of the layout; hex receives the digest. */
static void put_blob(const void *data, size_t len, char hex[65])
{
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, data, len);
    sha256_final_hex(&c, hex);
    char path[4400];
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, hex);
    put_file(path, data, len);
}

static void add(struct archive *w, const char *name, int type, const char *data, const char *link)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    if (link)
        archive_entry_set_symlink(e, link);
    archive_entry_set_size(e, data ? (la_int64_t)strlen(data) : 0);
    if (archive_write_header(w, e) != ARCHIVE_OK)
        die(name);
    if (data)
        archive_write_data(w, data, strlen(data));
    archive_entry_free(e);
}

/* Layer 1: d/, d/f, d/sub/g, out -> OUTSIDE, rel -> ../../outside. */
static void write_base_layer(void)
{
    char path[4400];
    snprintf(path, sizeof(path), "%s/base.tar", scratch);
    struct archive *w = archive_write_new();
    if (!w || archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
        archive_write_open_filename(w, path) != ARCHIVE_OK)
        die("base layer");
    add(w, "d", AE_IFDIR, NULL, NULL);
    add(w, "d/f", AE_IFREG, "f\n", NULL);
    add(w, "d/sub", AE_IFDIR, NULL, NULL);
    add(w, "d/sub/g", AE_IFREG, "g\n", NULL);
    add(w, "out", AE_IFLNK, NULL, outside);
    add(w, "rel", AE_IFLNK, NULL, "../../outside");
    archive_write_close(w);
    archive_write_free(w);
    char *data = NULL;
    size_t len = 0;
    if (read_file(path, &data, &len) < 0)
        die(path);
    put_blob(data, len, base_hex);
    base_size = (long)len;
    free(data);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_scratch("oci-scratch"); /* confined from here: only its own directory is writable */
    snprintf(layout, sizeof(layout), "%s/layout", scratch);
    char blobs[4400];
    snprintf(blobs, sizeof(blobs), "%s/blobs/sha256", layout);
    if (mkdir_p(blobs, 0755) < 0)
        die(blobs);
    char victim[4300];
    snprintf(victim, sizeof(victim), "%s/victim", outside);
    if (write_file_atomic(victim, "v\n", 2, 0644) < 0)
        die(victim);
    write_base_layer();
    char f[4400];
    snprintf(f, sizeof(f), "%s/oci-layout", layout);
    if (write_file_atomic(f, "{\"imageLayoutVersion\":\"1.0.0\"}", 30, 0644) < 0)
        die(f);
    return 0;
}

/* The config, manifest and index for the base layer and a layer2. */
static void write_layout(const char *layer_hex, size_t layer_size)
{
    char text[2048], config_hex[65], manifest_hex[65];
    const char *cfg = "{\"architecture\":\"amd64\",\"os\":\"linux\"}";
    put_blob(cfg, strlen(cfg), config_hex);
    int n = snprintf(text, sizeof(text),
                     "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:%s\",\"size\":%zu},"
                     "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                     "\"digest\":\"sha256:%s\",\"size\":%ld},"
                     "{\"digest\":\"sha256:%s\",\"size\":%zu}]}",
                     config_hex, strlen(cfg), base_hex, base_size, layer_hex, layer_size);
    put_blob(text, (size_t)n, manifest_hex);
    n = snprintf(text, sizeof(text),
                 "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:%s\",\"size\":%d}]}",
                 manifest_hex, n);
    char f[4400];
    snprintf(f, sizeof(f), "%s/index.json", layout);
    put_file(f, text, (size_t)n);
}

static void check_outside(void)
{
    DIR *d = opendir(outside);
    if (!d)
        die(outside);
    struct dirent *e;
    int victim = 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, "victim") == 0)
            victim = 1;
        else if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            fprintf(stderr, "fuzz-oci-layer: a layer wrote %s/%s\n", outside, e->d_name);
            abort();
        }
    }
    closedir(d);
    if (!victim) {
        fprintf(stderr, "fuzz-oci-layer: a layer removed %s/victim\n", outside);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned generation;
    char dest[4300], hex[65];
    snprintf(dest, sizeof(dest), "%s/dest-%u", scratch, generation);
    if (mkdir(dest, 0755) < 0 && errno != EEXIST)
        die(dest);
    put_blob(data, size, hex);
    write_layout(hex, size);

    struct lxm_error err = { 0 };
    struct lxm_image_meta meta;
    int r = lxm_image_unpack_any(layout, NULL, dest, &meta, NULL, &err);
    if (r < 0 && !err.msg[0]) {
        fprintf(stderr, "fuzz-oci-layer: failed (%d) without a message\n", r);
        abort();
    }
    if (r == 0)
        lxm_image_meta_clear(&meta);
    check_outside();
    /* Drop this input's blobs but the base layer's. */
    if (strcmp(hex, base_hex) != 0) {
        char path[4400];
        snprintf(path, sizeof(path), "%s/blobs/sha256/%s", layout, hex);
        unlink(path);
    }
    if (rm_rf(dest) < 0)
        generation++;
    return 0;
}

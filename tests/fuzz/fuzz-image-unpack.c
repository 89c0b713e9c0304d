/* libFuzzer target for lxm_image_unpack_any() on a single file: format
 * detection, the rootfs/ strip of lxm exports and LXC unified tarballs
 * (with their metadata.yaml / config.yaml read on the way), and squashfs
 * images turned into a tar stream (image_sqfs.c). Invariants: no input
 * crashes or leaks, a failure carries a message, and nothing appears
 * outside the destination directory. As root the target first moves into
 * a private mount namespace where everything but the fuzzer's own
 * directory is read-only (as fuzz-tar does). Scratch files go to
 * BUILD/fuzz/unpack-scratch. */
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
#include "util/fs.h"

#define FUZZ_NAME "fuzz-image-unpack"
#include "confine.h"

/* Set once in LLVMFuzzerInitialize, only read afterwards. */
static char input[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_scratch("unpack-scratch");
    snprintf(input, sizeof(input), "%s/input", scratch);
    return 0;
}

static void fail_if_present(const char *dir, const char *const *allowed)
{
    DIR *d = opendir(dir);
    if (!d)
        die(dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        bool ok = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
        for (size_t i = 0; !ok && allowed[i]; i++)
            ok = strncmp(e->d_name, allowed[i], strlen(allowed[i])) == 0;
        if (!ok) {
            fprintf(stderr, "fuzz-image-unpack: extraction wrote %s/%s\n", dir, e->d_name);
            abort();
        }
    }
    closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned generation;
    char dest[4300];
    snprintf(dest, sizeof(dest), "%s/dest-%u", scratch, generation);
    int fd = open(input, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
        die(input);
    close(fd);
    if (mkdir(dest, 0755) < 0 && errno != EEXIST)
        die(dest);

    struct lxm_error err = { 0 };
    struct lxm_image_meta meta;
    int r = lxm_image_unpack_any(input, NULL, dest, &meta, NULL, &err);
    if (r < 0 && !err.msg[0]) {
        fprintf(stderr, "fuzz-image-unpack: failed (%d) without a message\n", r);
        abort();
    }
    if (r == 0)
        lxm_image_meta_clear(&meta);
    static const char *const top[] = { "input", "outside", "dest-", NULL };
    static const char *const none[] = { NULL };
    fail_if_present(scratch, top);
    fail_if_present(outside, none);
    if (rm_rf(dest) < 0)
        generation++;
    return 0;
}

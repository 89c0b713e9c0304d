/* libFuzzer target for tar extraction (image.c): the path every --from
 * tarball, tarball template and cached image takes. Invariants: no input
 * crashes it, and whatever the input, nothing appears outside the
 * destination directory and no device node appears inside it. Run as root, the target first moves into a
 * private mount namespace where every mount is read-only except the
 * fuzzer's own directory, so a bug cannot damage the host. Built and run
 * by tests/fuzz/run (scratch files go to BUILD/fuzz/tar-scratch). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#include "image/image.h"
#include "util/fs.h"

#define FUZZ_NAME "fuzz-tar"
#include "confine.h"

/* Set once in LLVMFuzzerInitialize, only read afterwards. */
static char input[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_scratch("tar-scratch");
    snprintf(input, sizeof(input), "%s/input.tar", scratch);
    return 0;
}

/* scratch must hold input.tar, outside/ (empty) and dest-N/ only. */
static void check_nothing_escaped(void)
{
    DIR *d = opendir(scratch);
    if (!d)
        die(scratch);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "input.tar") &&
            strcmp(e->d_name, "outside") && strncmp(e->d_name, "dest-", 5) != 0) {
            fprintf(stderr, "fuzz-tar: extraction wrote %s/%s\n", scratch, e->d_name);
            abort();
        }
    }
    closedir(d);
    d = opendir(outside);
    if (!d)
        die(outside);
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            fprintf(stderr, "fuzz-tar: extraction wrote %s/%s\n", outside, e->d_name);
            abort();
        }
    closedir(d);
}

static int refuse_device(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)type, (void)f;
    if (S_ISBLK(st->st_mode) || S_ISCHR(st->st_mode)) {
        fprintf(stderr, "fuzz-tar: extraction made the device node %s\n", path);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A tree that cannot be removed (e.g. immutable flags restored as
     * root) just moves the next input to a fresh directory. */
    static unsigned generation;
    char name[32], dest[4300];
    snprintf(name, sizeof(name), "dest-%u", generation);
    snprintf(dest, sizeof(dest), "%s/%s", scratch, name);

    int fd = open(input, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
        die(input);
    close(fd);
    if (mkdir(dest, 0755) < 0 && errno != EEXIST)
        die(dest);

    struct lxm_error err = { 0 };
    (void)lxm_image_extract(input, dest, NULL, &err);
    check_nothing_escaped();
    nftw(dest, refuse_device, 16, FTW_PHYS);
    if (rm_rf(dest) < 0)
        generation++;
    return 0;
}

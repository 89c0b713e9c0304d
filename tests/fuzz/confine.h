/* What the extracting fuzz targets share: a fatal error that names the
 * target, their scratch directory, and a mount namespace in which
 * everything but the fuzzer's directory is read-only, so that an escape of
 * the extraction code fails loudly instead of writing to the host. Define
 * FUZZ_NAME before including it. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/fs.h"

static void die(const char *what)
{
    fprintf(stderr, FUZZ_NAME ": %s: %s\n", what, strerror(errno));
    abort();
}

static void set_mount_rdonly(const char *path, int on)
{
    struct mount_attr attr = { 0 };
    if (on)
        attr.attr_set = MOUNT_ATTR_RDONLY;
    else
        attr.attr_clr = MOUNT_ATTR_RDONLY;
    if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof(attr)) < 0)
        die(path);
}

/* Everything read-only but dir (where libFuzzer keeps corpus, artifacts
 * and our scratch files), in a mount namespace of our own. */
static void confine(const char *dir)
{
    if (unshare(CLONE_NEWNS) < 0)
        die("unshare(CLONE_NEWNS)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die("make / private");
    if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0)
        die(dir);
    set_mount_rdonly("/", 1);
    set_mount_rdonly(dir, 0);
}

/* libFuzzer gives a target no context pointer: these are set once, in
 * fuzz_scratch from LLVMFuzzerInitialize, and only read afterwards. */
static char scratch[4096], outside[4200];

/* scratch = DIR/name, made afresh with an empty scratch/outside in it
 * (DIR: this binary's directory, where libFuzzer keeps corpus and
 * artifacts), then, as root, confine(DIR). */
static void fuzz_scratch(const char *name)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n < 0)
        die("readlink /proc/self/exe");
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(scratch, sizeof(scratch), "%s/%s", exe, name);
    snprintf(outside, sizeof(outside), "%s/outside", scratch);
    rm_rf(scratch);
    if (mkdir_p(outside, 0755) < 0)
        die(outside);
    if (geteuid() == 0)
        confine(exe);
}

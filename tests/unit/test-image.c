/* image.c and util/sha256.c: checksums, cache names, a pack/extract round
 * trip, and hostile archives refused with nothing written outside. */
#include "util/lazy-archive.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "tap.h"
#include "util/fs.h"
#include "util/sha256.h"

static int force_portable;

static char *sha_of(const char *s, size_t repeat)
{
    static char hex[65];
    struct sha256_ctx c;
    sha256_init(&c);
    if (force_portable)
        c.shani = 0;
    for (size_t i = 0; i < repeat; i++)
        sha256_update(&c, s, strlen(s));
    sha256_final_hex(&c, hex);
    return hex;
}

static void test_sha256(void)
{
    is_str(sha_of("", 1), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of nothing%s", force_portable ? " (portable code)" : "");
    is_str(sha_of("abc", 1), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 of abc%s", force_portable ? " (portable code)" : "");
    is_str(sha_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1),
           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
           "sha256 of the two-block vector%s", force_portable ? " (portable code)" : "");
    is_str(sha_of("a", 1000000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
           "sha256 of a million a's, fed a byte at a time%s", force_portable ? " (portable code)" : "");
}

static void test_cache_name(void)
{
    char *ab[] = { "b", "a", NULL }, *aba[] = { "a", "b", "a", NULL }, *ac[] = { "a", "c", NULL };
    char *n1 = lxm_image_cache_name("debian", "bookworm", "amd64", "minbase", ab);
    char *n2 = lxm_image_cache_name("debian", "bookworm", "amd64", "minbase", aba);
    char *n3 = lxm_image_cache_name("debian", "bookworm", "amd64", "minbase", ac);
    char *n4 = lxm_image_cache_name("debian", "bookworm", "amd64", "buildd", ab);
    is_str(n1, n2, "cache name ignores package order and duplicates");
    ok(strcmp(n1, n3) != 0, "cache name depends on the packages");
    ok(strcmp(n1, n4) != 0, "cache name depends on the variant");
    ok(strncmp(n1, "debian-bookworm-amd64-", 22) == 0 && strlen(n1) == 22 + 12 + 8,
       "cache name says what it is: %s", n1);
    free(n1), free(n2), free(n3), free(n4);
}

/* A tar at path with the given entries: name, type (AE_IFREG...), target. */
struct ent { const char *name; unsigned type; const char *target; };
static void write_tar(const char *path, const struct ent *e)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_filename(a, path);
    for (; e->name; e++) {
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, e->name);
        archive_entry_set_perm(ae, 0644);
        if (e->type == 0) { /* hard link */
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_hardlink(ae, e->target);
        } else {
            archive_entry_set_filetype(ae, e->type);
        }
        if (e->type == AE_IFLNK)
            archive_entry_set_symlink(ae, e->target);
        if (e->type == AE_IFREG)
            archive_entry_set_size(ae, 5);
        archive_write_header(a, ae);
        if (e->type == AE_IFREG)
            archive_write_data(a, "data\n", 5);
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static int refused(const char *dir, const char *tar, const struct ent *ents, const char *want)
{
    char *dest = xasprintf("%s/dest", dir);
    rm_rf(dest);
    mkdir(dest, 0755);
    write_tar(tar, ents);
    struct lxm_error err = { 0 };
    int r = lxm_image_extract(tar, dest, NULL, &err);
    int ok_ = r < 0 && strstr(err.msg, want) != NULL;
    if (!ok_)
        printf("#   r=%d msg=%s\n", r, err.msg);
    free(dest);
    return ok_;
}

static void test_hostile(const char *dir)
{
    char *tar = xasprintf("%s/t.tar", dir), *outside = xasprintf("%s/outside", dir);
    char *victim = xasprintf("%s/victim", outside), *pwned = xasprintf("%s/pwned", outside);
    mkdir(outside, 0755);
    write_file_atomic(victim, "host\n", 5, 0644);

    ok(refused(dir, tar, (struct ent[]){ { "../pwned", AE_IFREG, NULL }, { 0 } }, "refusing entry '../pwned'"),
       "'..' entry refused");
    ok(refused(dir, tar, (struct ent[]){ { pwned, AE_IFREG, NULL }, { 0 } }, "(absolute path)"),
       "absolute entry refused");
    ok(refused(dir, tar, (struct ent[]){ { "a", AE_IFLNK, outside }, { "a/pwned", AE_IFREG, NULL }, { 0 } },
               "refusing entry 'a/pwned'"),
       "write through a planted symlink refused");
    ok(refused(dir, tar, (struct ent[]){ { "h", 0, victim }, { 0 } }, "hard link to an absolute path"),
       "hard link to an absolute path refused");
    ok(refused(dir, tar, (struct ent[]){ { "a", AE_IFLNK, outside }, { "h", 0, "a/victim" }, { 0 } },
               "hard link through a symlink"),
       "hard link through a planted symlink refused");
    struct stat st;
    ok(stat(pwned, &st) < 0 && errno == ENOENT, "nothing written outside");
    ok(stat(victim, &st) == 0 && st.st_nlink == 1, "host file never linked");
    free(tar), free(outside), free(victim), free(pwned);
}

/* Run an extraction with stderr going to a file; *warned gets what it said. */
static int extract_capturing(const char *tar, const char *dest, char **warned, struct lxm_error *err)
{
    char *log = xasprintf("%s.stderr", tar);
    int saved = dup(STDERR_FILENO);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    fflush(stderr);
    dup2(fd, STDERR_FILENO);
    int r = lxm_image_extract(tar, dest, NULL, err);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved), close(fd);
    *warned = NULL;
    read_file(log, warned, NULL);
    free(log);
    return r;
}

static void test_device_nodes(const char *dir)
{
    char *tar = xasprintf("%s/dev.tar", dir), *dest = xasprintf("%s/devdest", dir);
    mkdir(dest, 0755);
    write_tar(tar, (struct ent[]){ { "dev", AE_IFDIR, NULL },
                                   { "dev/disk", AE_IFBLK, NULL },
                                   { "./dev/mem", AE_IFCHR, NULL },
                                   { "dev/mem2", 0, "dev/mem" },
                                   { "dev/tty9", AE_IFCHR, NULL },
                                   { "dev/tty10", AE_IFCHR, NULL },
                                   { "etc", AE_IFREG, NULL },
                                   { 0 } });
    struct lxm_error err = { 0 };
    char *warned = NULL;
    is_int(extract_capturing(tar, dest, &warned, &err), 0, "an archive with device nodes extracts %s", err.msg);
    const char *nodes[] = { "dev/disk", "dev/mem", "dev/mem2", "dev/tty9", "dev/tty10" };
    int made = 0;
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        struct stat st;
        made += fstatat(AT_FDCWD, xasprintf("%s/%s", dest, nodes[i]), &st, AT_SYMLINK_NOFOLLOW) == 0;
    }
    is_int(made, 0, "no device node, and no hard link to one, is created");
    struct stat st;
    ok(stat(xasprintf("%s/etc", dest), &st) == 0 && S_ISREG(st.st_mode), "the regular file is there");
    const char *w = warned ? warned : "";
    const char *nl = strchr(w, '\n');
    ok(nl && nl[1] == '\0', "one warning line: %s", w);
    ok(strstr(w, "skipped 5 device nodes (dev/disk, dev/mem, dev/mem2 and 2 more)") != NULL,
       "the warning counts them and names the first few");
    free(warned);

    write_tar(tar, (struct ent[]){ { "etc2", AE_IFREG, NULL }, { 0 } });
    extract_capturing(tar, dest, &warned, &err);
    is_str(warned ? warned : "", "", "no warning without device nodes");
    free(warned), free(tar), free(dest);
}

static void test_round_trip(const char *dir)
{
    char *src = xasprintf("%s/src", dir), *dst = xasprintf("%s/copy", dir);
    char *tar = xasprintf("%s/img.tar.zst", dir), *ext = xasprintf("%s/ext", dir);
    mkdir_p(xasprintf("%s/etc/sub", src), 0755);
    write_file_atomic(xasprintf("%s/etc/sub/f", src), "hello\n", 6, 0640);
    (void)!link(xasprintf("%s/etc/sub/f", src), xasprintf("%s/etc/hl", src));
    (void)!symlink("/etc/sub/f", xasprintf("%s/etc/sl", src));

    char sum[65], check[65];
    struct lxm_error err = { 0 };
    is_int(lxm_image_pack(src, tar, sum, NULL, &err), 0, "pack a tree %s", err.msg);
    sha256_file(tar, check);
    is_str(sum, check, "pack reports the tarball's sha256");
    mkdir(ext, 0755);
    is_int(lxm_image_extract(tar, ext, NULL, &err), 0, "extract it %s", err.msg);
    mkdir(dst, 0755);
    is_int(lxm_image_copy_tree(src, dst, &err), 0, "copy the tree %s", err.msg);
    const char *roots[] = { ext, dst };
    for (int i = 0; i < 2; i++) {
        char *data = NULL, target[64] = "";
        struct stat a, b;
        read_file(xasprintf("%s/etc/sub/f", roots[i]), &data, NULL);
        is_str(data, "hello\n", "%s: file content", i ? "copy" : "extract");
        stat(xasprintf("%s/etc/sub/f", roots[i]), &a);
        stat(xasprintf("%s/etc/hl", roots[i]), &b);
        ok(a.st_ino == b.st_ino, "%s: hard link kept", i ? "copy" : "extract");
        is_int(a.st_mode & 07777, 0640, "%s: mode kept", i ? "copy" : "extract");
        (void)!readlink(xasprintf("%s/etc/sl", roots[i]), target, sizeof(target) - 1);
        is_str(target, "/etc/sub/f", "%s: symlink kept", i ? "copy" : "extract");
        free(data);
    }
}

int main(void)
{
    char tmpl[] = "/tmp/test-image.XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir)
        return 1;
    test_sha256();
    force_portable = 1; /* the same vectors without the CPU's SHA extensions */
    test_sha256();
    force_portable = 0;
    test_cache_name();
    test_hostile(dir);
    test_device_nodes(dir);
    test_round_trip(dir);
    rm_rf(dir);
    return done();
}

/* file push | pull | edit: files in and out of a container (file.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "runtime/file.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

/* Options anywhere; the positionals in order. */
static int parse_file_args(const char *cmd, int argc, char **argv, struct lxm_file_opts *o,
                           char ***pos, struct lxm_error *err)
{
    static const struct option longopts[] = {{"recursive", no_argument, NULL, 'r'},
                                             {"uid", required_argument, NULL, 'U'},
                                             {"gid", required_argument, NULL, 'G'},
                                             {"mode", required_argument, NULL, 'M'},
                                             {"create-dirs", no_argument, NULL, 'p'},
                                             {0}};
    bool push = strcmp(cmd, "file push") == 0;
    for (;;) {
        int opt = lxm_getopt("file", argc, argv, "rp", longopts, err);
        if (opt == 'h')
            return 'h';
        if (opt == '?')
            return -LXM_EUSAGE;
        if (opt == -1) {
            if (optind >= argc)
                return 0;
            if (strv_push(pos, argv[optind++]) < 0)
                return lxm_error_set(err, ENOMEM, "out of memory");
            continue;
        }
        if (opt == 'r') {
            o->recursive = true;
        } else if (!push) {
            return lxm_usage_error(err, "file", "%s: -p, --uid, --gid and --mode are for push", cmd);
        } else if (opt == 'p') {
            o->create_dirs = true;
        } else if (opt == 'U') {
            o->uid = optarg;
        } else if (opt == 'G') {
            o->gid = optarg;
        } else if (opt == 'M') {
            char *end;
            long m = strtol(optarg, &end, 8);
            if (end == optarg || *end || m < 0 || m > 07777)
                return lxm_usage_error(err, "file", "--mode %s: not an octal mode (e.g. 0644)", optarg);
            o->mode = (int)m;
        }
    }
}

/* "NAME:PATH" -> name (in place) and path. */
static int split_remote(const char *cmd, char *arg, char **path, struct lxm_error *err)
{
    char *colon = strchr(arg, ':');
    if (!colon || colon == arg || !colon[1])
        return lxm_usage_error(err, "file", "%s: '%s' is not NAME:PATH", cmd, arg);
    *colon = '\0';
    *path = colon + 1;
    return 0;
}

static int file_push(struct lxm_ctx *ctx, char **pos, const struct lxm_file_opts *o,
                     struct lxm_error *err)
{
    size_t n = strv_length(pos);
    if (n < 2)
        return lxm_usage_error(err, "file", "push: expected SRC... NAME:PATH");
    char *path;
    int r = split_remote("push", pos[n - 1], &path, err);
    if (r < 0)
        return r;
    /* Several sources go into PATH, which must then be a directory. */
    _cleanup_free_ char *into = n > 2 && path[strlen(path) - 1] != '/' ? xasprintf("%s/", path) : NULL;
    _cleanup_container_ struct lxm_container *c = NULL;
    r = lxm_cmd_container(ctx, "file", pos[n - 1], 0, &c, err);
    for (size_t i = 0; r == 0 && i + 1 < n; i++)
        r = lxm_file_push(c, pos[i], into ? into : path, o, err);
    return r;
}

static int file_pull(struct lxm_ctx *ctx, char **pos, const struct lxm_file_opts *o,
                     struct lxm_error *err)
{
    size_t n = strv_length(pos);
    if (n < 2)
        return lxm_usage_error(err, "file", "pull: expected NAME:PATH... DST");
    const char *dst = pos[n - 1];
    struct stat st;
    if (n > 2 && (stat(dst, &st) < 0 || !S_ISDIR(st.st_mode)))
        return lxm_usage_error(err, "file", "pull: several sources need a directory DST ('%s' is not one)", dst);
    for (size_t i = 0; i + 1 < n; i++) {
        char *path;
        int r = split_remote("pull", pos[i], &path, err);
        _cleanup_container_ struct lxm_container *c = NULL;
        if (r == 0)
            r = lxm_cmd_container(ctx, "file", pos[i], 0, &c, err);
        unsigned skipped = 0;
        if (r == 0)
            r = lxm_file_pull(c, path, dst, o, &skipped, err);
        if (r < 0)
            return r;
        if (skipped)
            lxm_warn("%s:%s: %u device node(s), FIFO(s) or socket(s) not copied", c->name, path, skipped);
    }
    return 0;
}

static bool same_content(int a, int b)
{
    char x[8192], y[8192];
    if (lseek(a, 0, SEEK_SET) < 0 || lseek(b, 0, SEEK_SET) < 0)
        return false;
    for (;;) {
        ssize_t n = read(a, x, sizeof(x)), m = read(b, y, sizeof(y));
        if (n != m || n < 0 || memcmp(x, y, (size_t)n) != 0)
            return false;
        if (n == 0)
            return true;
    }
}

static int file_edit(struct lxm_ctx *ctx, char **pos, struct lxm_error *err)
{
    if (strv_length(pos) != 1)
        return lxm_usage_error(err, "file", "edit: expected one NAME:PATH");
    char *path;
    int r = split_remote("edit", pos[0], &path, err);
    _cleanup_container_ struct lxm_container *c = NULL;
    if (r == 0)
        r = lxm_cmd_container(ctx, "file", pos[0], 0, &c, err);
    if (r < 0)
        return r;
    const char *tmpdir = getenv("TMPDIR");
    tmpdir = tmpdir && *tmpdir ? tmpdir : "/tmp";
    _cleanup_free_ char *tmp = xasprintf("%s/lxm-edit-%s-XXXXXX", tmpdir, c->name);
    if (!tmp)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "create %s", tmp);
    /* The content before the editor (an unnamed file), to tell whether it
     * changed anything. */
    _cleanup_close_ int saved = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    struct lxm_file_copy copy = {0};
    r = saved < 0 ? lxm_error_errno(err, errno, "create a file in %s", tmpdir)
                  : lxm_file_fetch(c, path, fd, &copy, err);
    if (r == 0) {
        char buf[65536];
        ssize_t n;
        lseek(fd, 0, SEEK_SET);
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            if (write(saved, buf, (size_t)n) != n)
                break;
        r = n != 0 ? lxm_error_errno(err, errno ? errno : EIO, "keep a copy of %s", path)
                   : lxm_run_editor(tmp, err);
    }
    if (r == 0) {
        _cleanup_close_ int edited = open(tmp, O_RDONLY | O_CLOEXEC);
        if (edited < 0)
            r = lxm_error_errno(err, errno, "open %s", tmp);
        else if (!same_content(edited, saved))
            r = lxm_file_store(c, &copy, edited, err);
    }
    unlink(tmp);
    lxm_file_copy_clear(&copy);
    return r;
}

int cmd_file(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        lxm_print_command_help("file");
        return 0;
    }
    if (argc < 2)
        return lxm_usage_error(err, "file", "missing subcommand (push, pull or edit)");
    const char *sub = argv[1];
    _cleanup_free_ char *cmd = xasprintf("file %s", sub);
    if (!cmd)
        return lxm_error_set(err, ENOMEM, "out of memory");
    struct lxm_file_opts o = {.mode = -1};
    _cleanup_strv_free_ char **pos = NULL;
    optind = 2;
    int r = parse_file_args(cmd, argc, argv, &o, &pos, err);
    if (r != 0)
        return r == 'h' ? 0 : r;
    if (strcmp(sub, "push") == 0)
        return file_push(ctx, pos, &o, err);
    if (strcmp(sub, "pull") == 0)
        return file_pull(ctx, pos, &o, err);
    if (strcmp(sub, "edit") == 0) {
        if (o.recursive)
            return lxm_usage_error(err, "file", "edit: -r is for push and pull");
        return file_edit(ctx, pos, err);
    }
    return lxm_usage_error(err, "file", "unknown subcommand '%s' (push, pull or edit)", sub);
}

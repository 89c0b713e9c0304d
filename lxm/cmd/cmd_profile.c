/* profile list/show/create/edit/copy/delete: argument parsing and printing
 * around profile.c; and the one warning line for a container whose merged
 * profiles leave out seccomp, capability drops or a network. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "cmd/output.h"
#include "config/profile.h"
#include "security/security.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "config/ydoc.h"

static void profile_freep(struct lxm_profile **p)
{
    lxm_profile_free(*p);
}
#define _cleanup_profile_ __attribute__((cleanup(profile_freep)))

static void config_freep(struct lxm_config **c)
{
    lxm_config_free(*c);
}
#define _cleanup_config_ __attribute__((cleanup(config_freep)))

void lxm_cmd_warn_confinement(const struct lxm_container *c, const struct lxm_config *eff)
{
    char missing[96];
    int n = lxm_config_missing(eff, missing, sizeof(missing));
    /* The loud line of the unconfined profile says it all, once. */
    if (lxm_security_is_unconfined(&eff->policy))
        lxm_warn("*** %s runs UNCONFINED: no capability drop, no seccomp filter, no AppArmor%s. "
                 "Root in this container is root on the host. Use only for debugging. ***",
                 c->name, strstr(missing, "no network") ? ", no network" : "");
    else if (n > 0)
        lxm_warn("%s: %s (from its profiles and config; see 'lxm config show %s -e')", c->name,
                 missing, c->name);
}

void lxm_cmd_warn_confinement_of(struct lxm_ctx *ctx, const char *name)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    _cleanup_config_ struct lxm_config *eff = NULL;
    struct lxm_error ignored = {0};
    if (lxm_cmd_container(ctx, NULL, name, 0, &c, &ignored) < 0 ||
        lxm_config_load(c->config_file, &eff, &ignored) < 0 ||
        lxm_config_effective(&ctx->paths, eff, &ignored) < 0)
        return;
    lxm_cmd_warn_confinement(c, eff);
}

static int profile_list(struct lxm_ctx *ctx, struct lxm_error *err)
{
    _cleanup_strv_free_ char **names = NULL;
    int r = lxm_profile_list(&ctx->paths, &names, err);
    if (r < 0)
        return r;
    struct lxm_value *rows = lxm_value_array();
    for (size_t i = 0; names[i]; i++) {
        struct lxm_error perr = {0};
        _cleanup_free_ char *file = NULL;
        _cleanup_profile_ struct lxm_profile *p = NULL;
        struct lxm_value *row = lxm_value_object();
        lxm_obj_str(row, "name", names[i]);
        if (lxm_profile_path(&ctx->paths, names[i], &file, &perr) == 0 &&
            lxm_profile_load(file, &p, &perr) == 0) {
            lxm_obj_str(row, "description", p->description ? p->description : "");
        } else {
            lxm_warn("%s", perr.msg);
            lxm_obj_str(row, "description", "(invalid, see the warning)");
        }
        bool local, shipped;
        const char *source = "shipped";
        if (lxm_profile_where(&ctx->paths, names[i], &local, &shipped, &perr) == 0 && local)
            source = shipped ? "local (overrides shipped)" : "local";
        lxm_obj_str(row, "source", source);
        lxm_array_push(rows, row);
    }
    static const char *const columns[] = {"name", "description", "source", NULL};
    lxm_output_print(stdout, ctx->format, rows, columns, NULL);
    lxm_value_free(rows);
    return 0;
}

static int profile_show(struct lxm_ctx *ctx, const char *name, struct lxm_error *err)
{
    _cleanup_free_ char *file = NULL, *text = NULL;
    _cleanup_profile_ struct lxm_profile *p = NULL;
    int r = lxm_profile_path(&ctx->paths, name, &file, err);
    if (r == 0)
        r = lxm_profile_load(file, &p, err); /* a broken profile is an error */
    if (r < 0)
        return r;
    if (ctx->format == LXM_OUT_JSON) {
        if ((r = lxm_profile_to_json(p, &text, err)) < 0)
            return r;
    } else if ((r = lxm_yaml_read_file(file, &text, NULL, err)) < 0) {
        return r;
    }
    fputs(text, stdout);
    return 0;
}

/* The edit is NAME.yaml in a private temp dir, so that a profile without
 * `name:` is read as NAME and errors point at a file the user can fix. */
static int edit_copy(const char *name, const char *text, char **dir, char **file,
                     struct lxm_error *err)
{
    const char *tmpdir = getenv("TMPDIR");
    _cleanup_free_ char *d =
        xasprintf("%s/lxm-profile-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!d)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (!mkdtemp(d))
        return lxm_error_errno(err, errno, "create %s", d);
    _cleanup_free_ char *f = xasprintf("%s/%s.yaml", d, name);
    int r = f ? write_file_atomic(f, text, strlen(text), 0600) : -ENOMEM;
    if (r < 0) {
        rmdir(d);
        return lxm_error_errno(err, -r, "write the copy to edit");
    }
    *dir = TAKE_PTR(d);
    *file = TAKE_PTR(f);
    return 0;
}

static void drop_edit_copy(const char *dir, const char *file)
{
    unlink(file);
    rmdir(dir);
}

/* Save the edit unless the profile changed meanwhile: the file it
 * resolves to now (a local one may have appeared) still holds old. */
static int save_edit(struct lxm_ctx *ctx, const char *name, const char *old, const char *tmp,
                     const char *edited, struct lxm_error *err)
{
    _cleanup_free_ char *now = NULL, *from = NULL;
    int r = lxm_profile_check_text(name, tmp, edited, err);
    if (r == 0)
        r = lxm_profile_path(&ctx->paths, name, &from, err);
    if (r == 0 && (r = read_file(from, &now, NULL)) < 0)
        r = lxm_error_errno(err, -r, "read %s", from);
    if (r == 0 && strcmp(now, old) != 0)
        r = lxm_error_set(err, EAGAIN, "%s changed while you edited it", from);
    if (r == 0)
        r = lxm_profile_save_text(&ctx->paths, name, edited, tmp, err);
    if (r < 0) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof(err->msg) - n,
                 " (profile unchanged; your edit is kept in %s)", tmp);
    }
    return r;
}

static int profile_edit(struct lxm_ctx *ctx, const char *name, struct lxm_error *err)
{
    _cleanup_free_ char *from = NULL, *old = NULL, *dir = NULL, *tmp = NULL, *edited = NULL;
    bool local, shipped;
    int r = lxm_profile_path(&ctx->paths, name, &from, err);
    if (r == 0)
        r = lxm_profile_where(&ctx->paths, name, &local, &shipped, err);
    if (r == 0)
        r = lxm_yaml_read_file(from, &old, NULL, err);
    if (r == 0)
        r = edit_copy(name, old, &dir, &tmp, err);
    if (r < 0)
        return r;
    r = lxm_run_editor(tmp, err);
    if (r == 0)
        r = lxm_yaml_read_file(tmp, &edited, NULL, err);
    if (r == 0 && !strcmp(old, edited)) {
        lxm_info("profile %s: no changes", name);
        drop_edit_copy(dir, tmp);
        return 0;
    }
    if (r == 0)
        r = save_edit(ctx, name, old, tmp, edited, err);
    else
        drop_edit_copy(dir, tmp);
    if (r < 0)
        return r;
    drop_edit_copy(dir, tmp);
    if (!local)
        lxm_info("profile %s: saved as a local profile in %s (it overrides the shipped one)", name,
                 ctx->paths.local_profiles);
    return 0;
}

/* NAME arguments of a subcommand: exactly n of them. */
static int want_args(int argc, char **argv, int n, const char *what, struct lxm_error *err)
{
    if (argc - 2 < n)
        return lxm_usage_error(err, "profile", "%s: missing %s", argv[1], what);
    if (argc - 2 > n)
        return lxm_usage_error(err, "profile", "%s: unexpected argument '%s'", argv[1],
                               argv[2 + n]);
    return 0;
}

int cmd_profile(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const char subs[] = "list, show, create, edit, copy or delete";
    if (argc < 2)
        return lxm_usage_error(err, "profile", "missing subcommand (%s)", subs);
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        lxm_print_command_help("profile");
        return 0;
    }
    int r;
    if (!strcmp(sub, "list"))
        return (r = want_args(argc, argv, 0, "", err)) < 0 ? r : profile_list(ctx, err);
    if (!strcmp(sub, "show"))
        return (r = want_args(argc, argv, 1, "profile name", err)) < 0
                   ? r
                   : profile_show(ctx, argv[2], err);
    if (!strcmp(sub, "create"))
        return (r = want_args(argc, argv, 1, "profile name", err)) < 0
                   ? r
                   : lxm_profile_create(&ctx->paths, argv[2], err);
    if (!strcmp(sub, "edit"))
        return (r = want_args(argc, argv, 1, "profile name", err)) < 0
                   ? r
                   : profile_edit(ctx, argv[2], err);
    if (!strcmp(sub, "copy"))
        return (r = want_args(argc, argv, 2, "SRC and DST profile names", err)) < 0
                   ? r
                   : lxm_profile_copy(&ctx->paths, argv[2], argv[3], err);
    if (!strcmp(sub, "delete"))
        return (r = want_args(argc, argv, 1, "profile name", err)) < 0
                   ? r
                   : lxm_profile_delete(&ctx->paths, argv[2], err);
    return lxm_usage_error(err, "profile", "unknown subcommand '%s' (%s)", sub, subs);
}

/* lxm __complete KIND [NAME]: the names shell completion offers, one a
 * line, under --root / LXM_ROOT. A hidden command (no summary, so 'lxm
 * help' leaves it out); it needs no root and changes nothing. Completion
 * scripts take the commands and their flags from 'lxm help' and
 * 'lxm COMMAND --help', so a new command completes without edits here.
 *   containers | templates | profiles | images | remotes | snapshots NAME
 *   | paths NAME DIR (DIR's names inside NAME, see lxm_file_list) */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "image/image_store.h"
#include "image/remote.h"
#include "runtime/file.h"
#include "storage/snapshot.h"
#include "image/template.h"
#include "util/cleanup.h"
#include "util/strv.h"

static int print_strv(char **names)
{
    for (size_t i = 0; names && names[i]; i++)
        printf("%s\n", names[i]);
    return 0;
}

static int complete_containers(struct lxm_ctx *ctx, struct lxm_error *err)
{
    _cleanup_strv_free_ char **names = NULL;
    int r = lxm_container_list_names(&ctx->paths, &names, err);
    return r < 0 ? r : print_strv(names);
}

static int complete_profiles(struct lxm_ctx *ctx, struct lxm_error *err)
{
    _cleanup_strv_free_ char **names = NULL;
    int r = lxm_profile_list(&ctx->paths, &names, err);
    return r < 0 ? r : print_strv(names);
}

static int complete_templates(struct lxm_ctx *ctx, struct lxm_error *err)
{
    struct lxm_template **list = NULL;
    size_t n = 0;
    int r = lxm_template_list(&ctx->paths, &list, &n, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        printf("%s\n", list[i]->name);
    lxm_template_list_free(list, n);
    return 0;
}

/* Aliases, and each fingerprint's first 12 hex (a unique-enough prefix,
 * the form 'image list' shows). */
static int complete_images(struct lxm_ctx *ctx, struct lxm_error *err)
{
    struct lxm_image **list = NULL;
    size_t n = 0;
    int r = lxm_image_store_list(&ctx->paths, &list, &n, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        for (size_t a = 0; list[i]->aliases && list[i]->aliases[a]; a++)
            printf("%s\n", list[i]->aliases[a]);
        printf("%.12s\n", list[i]->fingerprint);
    }
    lxm_image_list_free(list, n);
    return 0;
}

static int complete_snapshots(struct lxm_ctx *ctx, const char *name, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = lxm_cmd_container(ctx, "__complete", name, 0, &c, err);
    if (r < 0)
        return r;
    struct lxm_snapshot *list = NULL;
    size_t n = 0;
    r = lxm_snapshot_list(c, &list, &n, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        printf("%s\n", list[i].name);
    lxm_snapshot_list_free(list, n);
    return 0;
}

static int complete_remotes(struct lxm_ctx *ctx, struct lxm_error *err)
{
    struct lxm_remote *list = NULL;
    size_t n = 0;
    int r = lxm_remotes_load(&ctx->paths, &list, &n, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        printf("%s\n", list[i].name);
    lxm_remotes_free(list, n);
    return 0;
}

static int complete_paths(struct lxm_ctx *ctx, const char *name, const char *dir,
                          struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    _cleanup_strv_free_ char **names = NULL;
    int r = lxm_cmd_container(ctx, "__complete", name, 0, &c, err);
    if (r == 0)
        r = lxm_file_list(c, *dir ? dir : "/", &names, err);
    return r < 0 ? r : print_strv(names);
}

int cmd_complete(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    const char *kind = argc > 1 ? argv[1] : "";
    if (strcmp(kind, "containers") == 0 && argc == 2)
        return complete_containers(ctx, err);
    if (strcmp(kind, "templates") == 0 && argc == 2)
        return complete_templates(ctx, err);
    if (strcmp(kind, "profiles") == 0 && argc == 2)
        return complete_profiles(ctx, err);
    if (strcmp(kind, "images") == 0 && argc == 2)
        return complete_images(ctx, err);
    if (strcmp(kind, "remotes") == 0 && argc == 2)
        return complete_remotes(ctx, err);
    if (strcmp(kind, "snapshots") == 0 && argc == 3)
        return complete_snapshots(ctx, argv[2], err);
    if (strcmp(kind, "paths") == 0 && argc == 4)
        return complete_paths(ctx, argv[2], argv[3], err);
    return lxm_usage_error(err, NULL,
                           "__complete: want containers, templates, profiles, images, "
                           "remotes, snapshots NAME or paths NAME DIR");
}

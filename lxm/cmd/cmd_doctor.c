/* lxm doctor [--fix]: the host checks of doctor.c and the leftovers of
 * killed commands (leftovers.c), in any output format; --fix removes the
 * leftovers. Exit 1 when a check FAILs. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "host/doctor.h"
#include "storage/leftovers.h"
#include "cmd/output.h"
#include "util/cleanup.h"
#include "util/fs.h"

struct report {
    struct lxm_doctor_check *checks;
    size_t n_checks;
    struct lxm_leftover *left;
    size_t n_left;
    bool *removed;             /* per leftover, with --fix */
    char **fix_errors;         /* per leftover, with --fix: why not */
};

static struct lxm_value *check_row(const struct lxm_doctor_check *c)
{
    struct lxm_value *o = lxm_value_object();
    lxm_obj_str(o, "check", c->name);
    lxm_obj_str(o, "status", lxm_doctor_status_name(c->status));
    lxm_obj_str(o, "detail", c->detail);
    lxm_obj_str(o, "fix", c->fix);
    return o;
}

static struct lxm_value *leftover_value(const struct report *rp, size_t i)
{
    const struct lxm_leftover *l = &rp->left[i];
    struct lxm_value *o = lxm_value_object();
    lxm_obj_str(o, "kind", lxm_leftover_kind_name(l->kind));
    lxm_obj_str(o, "path", l->path);
    lxm_obj_str(o, "owner", l->owner ? l->owner : "a deleted container");
    if (l->fix)
        lxm_obj_str(o, "fix", l->fix);
    if (rp->removed)
        lxm_obj_bool(o, "removed", rp->removed[i]);
    if (rp->fix_errors && rp->fix_errors[i])
        lxm_obj_str(o, "error", rp->fix_errors[i] + 2); /* without ": " */
    return o;
}

/* table and csv: one row per check, then one per leftover. */
static struct lxm_value *rows(const struct report *rp)
{
    struct lxm_value *a = lxm_value_array();
    for (size_t i = 0; i < rp->n_checks; i++)
        lxm_array_push(a, check_row(&rp->checks[i]));
    for (size_t i = 0; i < rp->n_left; i++) {
        const struct lxm_leftover *l = &rp->left[i];
        bool gone = rp->removed && rp->removed[i];
        struct lxm_value *o = lxm_value_object();
        char detail[4200];
        snprintf(detail, sizeof(detail), "%s %s (left by %s)%s%s", lxm_leftover_kind_name(l->kind),
                 l->path, l->owner ? l->owner : "a deleted container", gone ? ": removed" : "",
                 rp->fix_errors && rp->fix_errors[i] ? rp->fix_errors[i] : "");
        lxm_obj_str(o, "check", "leftover");
        lxm_obj_str(o, "status", gone ? "FIXED" : "WARN");
        lxm_obj_str(o, "detail", detail);
        lxm_obj_str(o, "fix", gone ? NULL : l->fix ? l->fix : "lxm doctor --fix");
        lxm_array_push(a, o);
    }
    return a;
}

static struct lxm_value *document(const struct report *rp)
{
    struct lxm_value *o = lxm_value_object();
    struct lxm_value *checks = lxm_obj_array(o, "checks");
    for (size_t i = 0; i < rp->n_checks; i++)
        lxm_array_push(checks, check_row(&rp->checks[i]));
    struct lxm_value *left = lxm_obj_array(o, "leftovers");
    for (size_t i = 0; i < rp->n_left; i++)
        lxm_array_push(left, leftover_value(rp, i));
    return o;
}

static int fix_leftovers(struct lxm_ctx *ctx, struct report *rp, struct lxm_error *err)
{
    rp->removed = calloc(rp->n_left + 1, sizeof(*rp->removed));
    rp->fix_errors = calloc(rp->n_left + 1, sizeof(*rp->fix_errors));
    if (!rp->removed || !rp->fix_errors)
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (size_t i = 0; i < rp->n_left; i++) {
        struct lxm_error e = {0};
        rp->removed[i] = lxm_leftover_remove(&ctx->paths, &rp->left[i], &e) == 0;
        if (!rp->removed[i])
            rp->fix_errors[i] = xasprintf(": %s", e.msg);
    }
    return 0;
}

static void report_free(struct report *rp)
{
    lxm_doctor_free(rp->checks, rp->n_checks);
    for (size_t i = 0; rp->fix_errors && i < rp->n_left; i++)
        free(rp->fix_errors[i]);
    lxm_leftovers_free(rp->left, rp->n_left);
    free(rp->removed);
    free(rp->fix_errors);
}

int cmd_doctor(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option opts[] = {{"fix", no_argument, NULL, 'f'}, {0}};
    bool fix = false;
    int o;
    while ((o = lxm_getopt("doctor", argc, argv, "", opts, err)) != -1) {
        if (o == 'h')
            return 0;
        if (o != 'f')
            return -LXM_EUSAGE;
        fix = true;
    }
    if (optind < argc)
        return lxm_usage_error(err, "doctor", "unexpected argument '%s'", argv[optind]);
    _cleanup_(report_free) struct report rp = {0};
    int r = lxm_doctor_run(&ctx->paths, &rp.checks, &rp.n_checks, err);
    if (r == 0)
        r = lxm_leftovers_find(&ctx->paths, &rp.left, &rp.n_left, err);
    if (r == 0 && fix)
        r = fix_leftovers(ctx, &rp, err);
    if (r < 0)
        return r;
    static const char *const cols[] = {"check", "status", "detail", "fix", NULL};
    struct lxm_value *v = ctx->format == LXM_OUT_TABLE || ctx->format == LXM_OUT_CSV
                              ? rows(&rp) : document(&rp);
    lxm_output_print(stdout, ctx->format, v, cols, NULL);
    lxm_value_free(v);
    bool failed = false;
    for (size_t i = 0; i < rp.n_checks; i++)
        failed |= rp.checks[i].status == LXM_DOCTOR_FAIL;
    for (size_t i = 0; fix && i < rp.n_left; i++)
        failed |= !rp.removed[i];
    return failed ? 1 : 0;
}

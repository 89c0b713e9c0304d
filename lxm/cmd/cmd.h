/* The command layer: one handler per CLI verb. A handler parses its own
 * arguments, calls the core, prints. It returns the process exit status
 * (0, or attach's pass-through status) or a negative errno with err set;
 * main() prints err once and exits 1, or 2 for usage errors. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config/container.h"
#include "cmd/output.h"
#include "util/err.h"

/* err->code of a usage error (unknown flag, missing argument): exit 2. */
#define LXM_EUSAGE 4096


struct lxm_ctx {
    struct lxm_paths paths;
    enum lxm_output_format format;
    bool quiet;
    bool debug;
    const char *argv0;          /* absolute path of this binary (for re-exec) */
    /* The library's progress and notices come here (cmd/report.c), and
     * paths.report points here; what a running meter has drawn. */
    struct lxm_report report;
    struct lxm_cmd_meter {
        bool tty;               /* stdout and stderr are terminals, no --quiet */
        bool drawn;             /* a running line is on the screen */
        int64_t start_ms, last_ms;
    } meter;
};

/* Set ctx->report (and ctx->paths.report) from ctx->quiet and the
 * terminals: meters only for a person at a terminal, notes unless
 * --quiet, waits and warnings for a terminal. After lxm_paths_init. */
void lxm_cmd_report_init(struct lxm_ctx *ctx);

typedef int (*lxm_cmd_fn)(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err);

struct lxm_command {
    const char *name;
    lxm_cmd_fn fn;
    const char *usage;          /* "NAME -t TEMPLATE [-r RELEASE] ..." */
    const char *summary;        /* one line */
    const char *help;           /* options, one per line; may be NULL */
};

/* Set a usage error: "<cmd>: <msg> (see 'lxm <cmd> --help')". */
int lxm_usage_error(struct lxm_error *err, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* getopt_long wrapper shared by every handler: handles --help/-h (prints
 * the command's help, returns 'h'), and turns unknown options and missing
 * arguments into usage errors (returns '?', err set). */
struct option;
int lxm_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
               const struct option *longopts, struct lxm_error *err);
void lxm_print_command_help(const char *cmd);

/* The container a command of one container works on: a usage error
 * "<cmd>: missing container name" when name is NULL (no NAME was given),
 * else lxm_container_open (it must exist; "container 'x' not found"), with
 * its lock held under LXM_CMD_LOCKED, or only lxm_container_new (name
 * checked, paths computed, nothing on disk looked at) under LXM_CMD_NEW.
 * cmd may be NULL where name cannot be. */
enum { LXM_CMD_NEW = 1u << 0, LXM_CMD_LOCKED = 1u << 1 };
int lxm_cmd_container(struct lxm_ctx *ctx, const char *cmd, const char *name, unsigned flags,
                      struct lxm_container **out, struct lxm_error *err);
/* The same for a command whose only operand is NAME, at optind after its
 * options: "<cmd>: unexpected argument 'x'" (a usage error) for any more. */
int lxm_cmd_container_arg(struct lxm_ctx *ctx, const char *cmd, int argc, char **argv,
                          unsigned flags, struct lxm_container **out, struct lxm_error *err);

/* Options and container names of a command whose options may come before,
 * between or after its operands ("stop -k c1", "stop c1 c2 -t 5"):
 * on_opt gets each option (optarg: arg) and returns 0 or <0 with err set.
 * The two parsers return 0, 'h' after --help (printed), or <0 with err set
 * (a usage error: -LXM_EUSAGE). */
typedef int (*lxm_cmd_opt_fn)(int opt, const char *arg, void *data, struct lxm_error *err);
/* One NAME (a usage error without one); "--" ends the options and what
 * follows is *rest (NULL when nothing does), or a usage error when rest is
 * NULL. */
int lxm_cmd_parse_args(const char *cmd, int argc, char **argv, const char *shortopts,
                       const struct option *longopts, lxm_cmd_opt_fn on_opt, void *data,
                       const char **name, char ***rest, struct lxm_error *err);
/* Any number of names (*names NULL when none was given). */
int lxm_cmd_parse_names(const char *cmd, int argc, char **argv, const char *shortopts,
                        const struct option *longopts, lxm_cmd_opt_fn on_opt, void *data,
                        char ***names, struct lxm_error *err);
/* Run fn on each named container (lxm_cmd_container with flags). One name:
 * its error is the command's. Several: each failure is printed as it
 * happens (the message names the container), the others still run, and
 * the result is 1 if any failed. */
typedef int (*lxm_cmd_each_fn)(struct lxm_container *c, void *data, struct lxm_error *err);
int lxm_cmd_each_name(struct lxm_ctx *ctx, char **names, unsigned flags, lxm_cmd_each_fn fn,
                      void *data, struct lxm_error *err);

/* Run $VISUAL, else $EDITOR, else vi on file (the variable is shell text
 * and may carry arguments, like git's); 0 when it exits 0. */
int lxm_run_editor(const char *file, struct lxm_error *err);

/* The one warning line for a container whose effective config (profiles
 * merged) has no seccomp filter, no capability drop or no network
 * (cmd_profile.c); _of loads NAME's config itself and says nothing when it
 * cannot. */
void lxm_cmd_warn_confinement(const struct lxm_container *c, const struct lxm_config *eff);
void lxm_cmd_warn_confinement_of(struct lxm_ctx *ctx, const char *name);

/* Handlers (one file per group). */
int cmd_create(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_launch(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_delete(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_copy(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_template(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_image(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_remote(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_start(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_stop(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_restart(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_attach(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_exec(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_shell(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_file(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_log(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_console(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_freeze(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_unfreeze(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_list(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_info(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_config(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_profile(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_mount(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_snapshot(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_restore(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_export(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_import(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_net(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_storage(struct lxm_ctx *, int, char **, struct lxm_error *);
/* Mount the storage pool lxm.yaml names when it is not mounted (after a
 * reboot), saying so on stderr; 0 when there is nothing to do. */
int lxm_cmd_storage_ready(struct lxm_ctx *ctx, struct lxm_error *err);
int cmd_doctor(struct lxm_ctx *, int, char **, struct lxm_error *);
/* Internal: names for shell completion ("lxm __complete KIND"). */
int cmd_complete(struct lxm_ctx *, int, char **, struct lxm_error *);
int cmd_wait(struct lxm_ctx *, int, char **, struct lxm_error *);
/* --timeout SECONDS and --no-wait of start, launch and restart (cmd_ready.c):
 * 1 when opt was one of them (*timeout_ms set; -1 = no wait), 0 when not. */
#define LXM_OPT_READY_TIMEOUT 0x1001
#define LXM_OPT_NO_WAIT 0x1002
#define LXM_READY_LONGOPTS                                                                         \
    {"timeout", required_argument, NULL, LXM_OPT_READY_TIMEOUT},                                   \
        {"no-wait", no_argument, NULL, LXM_OPT_NO_WAIT}
int lxm_cmd_ready_opt(const char *cmd, int opt, const char *arg, int64_t *timeout_ms,
                      struct lxm_error *err);
int cmd_autostart(struct lxm_ctx *, int, char **, struct lxm_error *);
/* `stop --all` (cmd_autostart.c); timeout_ms -1: each container's own. */
int lxm_cmd_stop_all(struct lxm_ctx *ctx, int64_t timeout_ms, struct lxm_error *err);
/* Internal: the per-container monitor re-exec entry ("lxm __monitor"). */
int cmd_monitor(struct lxm_ctx *, int, char **, struct lxm_error *);

int lxm_not_implemented(const char *cmd, struct lxm_error *err);

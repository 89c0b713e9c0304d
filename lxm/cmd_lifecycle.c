/* start, stop, restart, attach, console, freeze, unfreeze. */
#include "cmd.h"

int cmd_start(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("start", err); }
int cmd_stop(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("stop", err); }
int cmd_restart(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("restart", err); }
int cmd_attach(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("attach", err); }
int cmd_console(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("console", err); }
int cmd_freeze(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("freeze", err); }
int cmd_unfreeze(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("unfreeze", err); }
int cmd_monitor(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("__monitor", err); }

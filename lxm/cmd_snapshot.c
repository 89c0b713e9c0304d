/* snapshot, restore, export, import. */
#include "cmd.h"

int cmd_snapshot(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("snapshot", err); }
int cmd_restore(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("restore", err); }
int cmd_export(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("export", err); }
int cmd_import(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("import", err); }

/* create, launch, delete, copy, template list. */
#include "cmd.h"

int cmd_create(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("create", err); }
int cmd_launch(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("launch", err); }
int cmd_delete(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("delete", err); }
int cmd_copy(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("copy", err); }
int cmd_template(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("template", err); }

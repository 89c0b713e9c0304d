/* list, info. */
#include "cmd.h"

int cmd_list(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("list", err); }
int cmd_info(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("info", err); }

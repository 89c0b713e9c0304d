/* config show/set/unset/edit, profile list/show. */
#include "cmd.h"

int cmd_config(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("config", err); }
int cmd_profile(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("profile", err); }

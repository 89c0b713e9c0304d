/* net up/down/status. */
#include "cmd.h"

int cmd_net(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err) { return lxm_not_implemented("net", err); }

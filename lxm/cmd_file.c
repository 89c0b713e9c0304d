#include "cmd.h"
int cmd_file(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    (void)ctx, (void)argc, (void)argv;
    return lxm_not_implemented("file", err);
}

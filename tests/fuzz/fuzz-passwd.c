/* libFuzzer target for passwd.c: a container's /etc/passwd and /etc/group
 * are written by the guest. Input: passwd text, a NUL, group text, and
 * every user spec the first line names tried against them. Invariants: no
 * crash or leak; a found user has a home and a shell that are absolute
 * paths and its primary group first in its group list. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/passwd.h"

static void check_user(const struct lxm_user *u)
{
    if (!u->home || !u->shell || u->home[0] != '/' || u->shell[0] != '/' || u->n_groups < 1 ||
        u->groups[0] != u->gid) {
        fprintf(stderr, "fuzz-passwd: a user without an absolute home/shell or primary group\n");
        abort();
    }
}

static void try_spec(const char *passwd, const char *group, const char *spec)
{
    struct lxm_user u;
    if (lxm_passwd_find(passwd, spec, &u) == 0) {
        if (lxm_group_members(group, &u) == 0)
            check_user(&u);
        lxm_user_clear(&u);
    }
    gid_t g;
    (void)lxm_group_find(group, spec, &g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 2);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = '\0';
    const char *passwd = buf;
    const char *group = buf + strlen(buf) + 1 <= buf + size ? buf + strlen(buf) + 1 : "";
    /* The names and ids of the first passwd line, and fixed ones. */
    char first[64] = "";
    sscanf(passwd, "%63[^:\n]", first);
    const char *specs[] = {first, "root", "0", "1000", "4294967294", "nobody"};
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        if (specs[i][0])
            try_spec(passwd, group, specs[i]);
    free(buf);
    return 0;
}

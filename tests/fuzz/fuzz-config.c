/* libFuzzer target for the YAML config core: every input, NUL bytes and
 * all, goes through the gate every file passes (lxm_yaml_check_text: a NUL
 * is refused with FILE:LINE:COL, never cut at) and the raw-length loader;
 * then its text up to the first NUL goes through the four document parsers; a config that parses must also survive
 * to_yaml -> parse -> to_yaml unchanged (the save path), and a profile must
 * merge. Not part of the default build. Build and run from the top of the
 * source tree after ./configure in BUILD (for BUILD/config.h):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
 *     -include BUILD/config.h -Ilxm -I. tests/fuzz/fuzz-config.c \
 *     lxm/config/config.c lxm/config/config_keys.c lxm/config/config_merge.c lxm/config/config_value.c \
 *     lxm/config/ydoc.c lxm/util/err.c lxm/util/fs.c lxm/util/strv.c lxm/util/log.c \
 *     -lyaml -lseccomp -lcap -lm -o fuzz-config
 *   mkdir -p corpus && cp profiles/default.yaml profiles/nesting.yaml corpus/
 *   ./fuzz-config -max_total_time=30 corpus
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/ydoc.h"

static void check_config_round_trip(const struct lxm_config *c)
{
    struct lxm_error err = { 0 };
    char *y1 = NULL, *y2 = NULL;
    struct lxm_config *d = NULL;
    if (lxm_config_to_yaml(c, &y1, &err) < 0)
        abort();
    if (lxm_config_parse("round-trip", y1, &d, &err) < 0)
        abort();                /* what save writes must load again */
    if (lxm_config_to_yaml(d, &y2, &err) < 0 || strcmp(y1, y2) != 0)
        abort();
    lxm_config_free(d);
    free(y1);
    free(y2);
}

/* Files are read whole and checked: a NUL anywhere must be refused with
 * its place, the same input handed to the loader with its real length
 * too; without one, both must let it through to the parser. */
static void check_nul_gate(const char *text, size_t size)
{
    struct lxm_error err = { 0 };
    bool has_nul = memchr(text, '\0', size) != NULL;
    int r = lxm_yaml_check_text("fuzz.yaml", text, size, &err);
    if (has_nul != (r < 0))
        abort();
    if (r < 0 && (strncmp(err.msg, "fuzz.yaml:", 10) != 0 || !strstr(err.msg, "a NUL byte")))
        abort();
    struct lxm_ynode *root = NULL;
    r = lxm_yaml_load("fuzz.yaml", text, size, &root, &err);
    if (has_nul && (r == 0 || !strstr(err.msg, "a NUL byte")))
        abort();
    lxm_ynode_free(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    check_nul_gate(text, size);
    struct lxm_error err = { 0 };

    struct lxm_config *c = NULL;
    if (lxm_config_parse("fuzz.yaml", text, &c, &err) == 0) {
        check_config_round_trip(c);
        (void)lxm_config_set(c, "limits.memory", "1GiB", &err);
        (void)lxm_config_unset(c, "network", &err);
    }
    struct lxm_profile *p = NULL;
    if (lxm_profile_parse("fuzz.yaml", text, &p, &err) == 0 && c) {
        struct lxm_profile *ps[] = { p, p };
        (void)lxm_config_merge(c, ps, 2, &err);
    }
    lxm_config_free(c);
    lxm_profile_free(p);

    struct lxm_template *t = NULL;
    if (lxm_template_parse("fuzz.yaml", text, &t, &err) == 0)
        lxm_template_free(t);
    struct lxm_global *g = NULL;
    if (lxm_global_parse("fuzz.yaml", text, &g, &err) == 0)
        lxm_global_free(g);
    free(text);
    return 0;
}

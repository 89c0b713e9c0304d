/* libFuzzer target for the YAML config core: every input goes through the
 * four document parsers; a config that parses must also survive
 * to_yaml -> parse -> to_yaml unchanged (the save path), and a profile must
 * merge. Not part of the default build. Build and run from the top of the
 * source tree after ./configure in BUILD (for BUILD/config.h):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
 *     -include BUILD/config.h -Ilxm -I. tests/fuzz/fuzz-config.c \
 *     lxm/config.c lxm/config_keys.c lxm/config_merge.c lxm/config_value.c \
 *     lxm/ydoc.c lxm/util/err.c lxm/util/fs.c lxm/util/strv.c lxm/util/log.c \
 *     -lyaml -lseccomp -lcap -lm -o fuzz-config
 *   mkdir -p corpus && cp profiles/default.yaml profiles/nesting.yaml corpus/
 *   ./fuzz-config -max_total_time=30 corpus
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
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

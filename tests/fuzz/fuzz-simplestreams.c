/* libFuzzer target for the simplestreams parsers (simplestreams.c): what
 * an image server sends is untrusted. The first input byte picks the
 * document (index.json or a products file), the rest is the document.
 * Invariants: no input crashes or leaks, a failure carries a message, and
 * every image accepted has paths that stay below the server's URL (no
 * leading '/', no ".." component), 64-hex sums and positive sizes: the
 * only things that become a URL and a file name. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/simplestreams.h"

static void bad(const char *what, const char *s)
{
    fprintf(stderr, "fuzz-simplestreams: accepted %s '%s'\n", what, s ? s : "(null)");
    abort();
}

static void check_path(const char *p)
{
    if (!p || !*p || p[0] == '/')
        bad("path", p);
    for (const char *s = p; s; s = strchr(s, '/')) {
        s += *s == '/';
        if (strncmp(s, "..", 2) == 0 && (s[2] == '/' || s[2] == '\0'))
            bad("path", p);
    }
}

static void check_item(const struct lxm_ss_item *it)
{
    check_path(it->path);
    if (!it->sha256 || strlen(it->sha256) != 64 || strspn(it->sha256, "0123456789abcdef") != 64)
        bad("sha256", it->sha256);
    if (it->size <= 0)
        bad("size", "<= 0");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    struct lxm_error err = { 0 };
    int r;
    if (data[0] & 1) {
        char *path = NULL;
        r = lxm_ss_parse_index("index.json", text, len, &path, &err);
        if (r == 0)
            check_path(path);
        free(path);
    } else {
        struct lxm_ss_image *v = NULL;
        size_t n = 0;
        r = lxm_ss_parse_products("images.json", text, len, (data[0] & 2) ? "amd64" : NULL,
                                  (data[0] & 4) ? "a" : NULL, &v, &n, &err);
        for (size_t i = 0; r == 0 && i < n; i++) {
            check_item(&v[i].meta);
            check_item(&v[i].rootfs);
            if (!v[i].product || !v[i].arch || !v[i].version)
                bad("image without product/arch/version", v[i].product);
        }
        lxm_ss_images_free(v, n);
    }
    if (r < 0 && !err.msg[0]) {
        fprintf(stderr, "fuzz-simplestreams: failed (%d) without a message\n", r);
        abort();
    }
    return 0;
}

/* libFuzzer target for the image store's metadata parser (image.yaml):
 * whatever the bytes, lxm_image_meta_parse either refuses them with a
 * message or returns an image whose fingerprint is 64 lowercase hex digits
 * and whose aliases are valid alias names. Built and run by tests/fuzz/run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lxm_error err = { 0 };
    struct lxm_image *img = NULL;
    if (lxm_image_meta_parse("image.yaml", (const char *)data, size, &img, &err) < 0) {
        if (!err.msg[0])
            abort(); /* a refusal always says why */
        return 0;
    }
    if (strlen(img->fingerprint) != 64 || strspn(img->fingerprint, "0123456789abcdef") != 64)
        abort();
    for (size_t i = 0; img->aliases && img->aliases[i]; i++)
        if (lxm_image_alias_validate(img->aliases[i], NULL) < 0)
            abort();
    lxm_image_free(img);
    return 0;
}

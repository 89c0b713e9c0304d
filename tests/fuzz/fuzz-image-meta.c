/* libFuzzer target for the image metadata parsers (image_import.c,
 * image_oci.c): an LXC/Incus metadata.yaml, an lxm export's config.yaml,
 * and the OCI index, manifest and config JSON documents. The first input
 * byte picks the parser, the rest is the document. Invariants: no input
 * crashes or leaks, a failure always carries a message, and a successful
 * parse gives descriptors whose digests are 64 lowercase hex digits (the
 * only thing that ever becomes a path: blobs/sha256/HEX). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_import-internal.h"

static void check_desc(const struct lxm_oci_desc *d)
{
    if (strlen(d->hex) != 64 || strspn(d->hex, "0123456789abcdef") != 64 || d->size < 0) {
        fprintf(stderr, "fuzz-image-meta: accepted descriptor digest '%s' size %lld\n", d->hex,
                (long long)d->size);
        abort();
    }
}

static void check_failure(int r, const struct lxm_error *err)
{
    if (r < 0 && !err->msg[0]) {
        fprintf(stderr, "fuzz-image-meta: failed (%d) without a message\n", r);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    struct lxm_error err = { 0 };
    struct lxm_image_meta meta = { 0 };
    int r = 0;
    switch (data[0] % 5) {
    case 0:
        r = lxm_lxc_metadata_parse("metadata.yaml", text, len, &meta, &err);
        lxm_image_meta_clear(&meta);
        break;
    case 1:
        r = lxm_export_config_meta("config.yaml", text, len, &meta, &err);
        lxm_image_meta_clear(&meta);
        break;
    case 2: {
        struct lxm_oci_index x;
        (void)lxm_oci_is_index(text, len);
        r = lxm_oci_index_parse("index.json", text, len, &x, &err);
        for (size_t i = 0; r == 0 && i < x.n; i++)
            check_desc(&x.manifests[i]);
        lxm_oci_index_clear(&x);
        break;
    }
    case 3: {
        struct lxm_oci_manifest m;
        r = lxm_oci_manifest_parse("manifest", text, len, &m, &err);
        if (r == 0)
            check_desc(&m.config);
        for (size_t i = 0; r == 0 && i < m.n_layers; i++)
            check_desc(&m.layers[i]);
        lxm_oci_manifest_clear(&m);
        break;
    }
    case 4: {
        struct lxm_oci_config c;
        r = lxm_oci_config_parse("config", text, len, &c, &err);
        lxm_oci_config_clear(&c);
        break;
    }
    }
    check_failure(r, &err);
    return 0;
}

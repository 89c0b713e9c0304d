/* lazy-nft: libnftables, loaded on first use.
 * Included INSTEAD of the library's own header: the library is opened with
 * dlopen() on first use, so commands that never touch it (start, attach,
 * stop, list) do not pay for loading it and its dependency tree at every
 * exec. Every function lxm calls must be listed below; a call to one that
 * is not listed fails to link (the binary does not link the library). */
#pragma once

#include <nftables/libnftables.h>

#define LXM_NFT_FUNCS(X) \
    X(nft_ctx_new) \
    X(nft_ctx_free) \
    X(nft_ctx_buffer_output) \
    X(nft_ctx_buffer_error) \
    X(nft_ctx_get_output_buffer) \
    X(nft_ctx_get_error_buffer) \
    X(nft_run_cmd_from_buffer)

struct lxm_nft_api {
#define X(f) __typeof__(f) *f;
    LXM_NFT_FUNCS(X)
#undef X
};

/* The loaded table; a missing library is a broken installation: the
 * process reports it ("install libnftables1") and exits 1, as a failed dynamic
 * link would have at startup. */
const struct lxm_nft_api *lxm_nft(void);

#define nft_ctx_new (lxm_nft()->nft_ctx_new)
#define nft_ctx_free (lxm_nft()->nft_ctx_free)
#define nft_ctx_buffer_output (lxm_nft()->nft_ctx_buffer_output)
#define nft_ctx_buffer_error (lxm_nft()->nft_ctx_buffer_error)
#define nft_ctx_get_output_buffer (lxm_nft()->nft_ctx_get_output_buffer)
#define nft_ctx_get_error_buffer (lxm_nft()->nft_ctx_get_error_buffer)
#define nft_run_cmd_from_buffer (lxm_nft()->nft_run_cmd_from_buffer)

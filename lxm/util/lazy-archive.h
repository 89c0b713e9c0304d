/* lazy-archive: libarchive, loaded on first use.
 * Included INSTEAD of the library's own header: the library is opened with
 * dlopen() on first use, so commands that never touch it (start, attach,
 * stop, list) do not pay for loading it and its dependency tree at every
 * exec. Every function lxm calls must be listed below; a call to one that
 * is not listed fails to link (the binary does not link the library). */
#pragma once

#include <archive.h>
#include <stdbool.h>
#include <archive_entry.h>

#include "util/cleanup.h"
#include "util/err.h"

#define LXM_ARCHIVE_FUNCS(X) \
    X(archive_entry_copy_pathname) \
    X(archive_entry_filetype) \
    X(archive_entry_free) \
    X(archive_entry_hardlink) \
    X(archive_entry_linkify) \
    X(archive_entry_linkresolver_free) \
    X(archive_entry_linkresolver_new) \
    X(archive_entry_linkresolver_set_strategy) \
    X(archive_entry_new) \
    X(archive_entry_pathname) \
    X(archive_entry_set_filetype) \
    X(archive_entry_set_gid) \
    X(archive_entry_set_hardlink) \
    X(archive_entry_set_mode) \
    X(archive_entry_set_mtime) \
    X(archive_entry_set_pathname) \
    X(archive_entry_set_perm) \
    X(archive_entry_set_rdev) \
    X(archive_entry_set_size) \
    X(archive_entry_set_symlink) \
    X(archive_entry_set_uid) \
    X(archive_entry_size) \
    X(archive_entry_xattr_add_entry) \
    X(archive_errno) \
    X(archive_error_string) \
    X(archive_filter_bytes) \
    X(archive_read_data) \
    X(archive_read_data_block) \
    X(archive_read_disk_can_descend) \
    X(archive_read_disk_descend) \
    X(archive_read_disk_new) \
    X(archive_read_disk_open) \
    X(archive_read_disk_set_behavior) \
    X(archive_read_disk_set_symlink_physical) \
    X(archive_read_free) \
    X(archive_read_new) \
    X(archive_read_next_header) \
    X(archive_read_next_header2) \
    X(archive_read_open) \
    X(archive_read_open_fd) \
    X(archive_read_support_filter_bzip2) \
    X(archive_read_support_filter_gzip) \
    X(archive_read_support_filter_lzma) \
    X(archive_read_support_filter_xz) \
    X(archive_read_support_filter_zstd) \
    X(archive_read_support_format_tar) \
    X(archive_set_error) \
    X(archive_write_add_filter_gzip) \
    X(archive_write_add_filter_xz) \
    X(archive_write_add_filter_zstd) \
    X(archive_write_close) \
    X(archive_write_data) \
    X(archive_write_data_block) \
    X(archive_write_disk_new) \
    X(archive_write_disk_set_options) \
    X(archive_write_finish_entry) \
    X(archive_write_free) \
    X(archive_write_header) \
    X(archive_write_new) \
    X(archive_write_open) \
    X(archive_write_open_fd) \
    X(archive_write_open_filename) \
    X(archive_write_set_bytes_in_last_block) \
    X(archive_write_set_bytes_per_block) \
    X(archive_write_set_filter_option) \
    X(archive_write_set_format_option) \
    X(archive_write_set_format_pax) \
    X(archive_write_set_format_pax_restricted)

struct lxm_archive_api {
#define X(f) __typeof__(f) *f;
    LXM_ARCHIVE_FUNCS(X)
#undef X
};

/* The loaded table; a missing library is a broken installation: the
 * process reports it ("install libarchive13") and exits 1, as a failed dynamic
 * link would have at startup. */
const struct lxm_archive_api *lxm_archive(void);

#define archive_entry_copy_pathname (lxm_archive()->archive_entry_copy_pathname)
#define archive_entry_filetype (lxm_archive()->archive_entry_filetype)
#define archive_entry_free (lxm_archive()->archive_entry_free)
#define archive_entry_hardlink (lxm_archive()->archive_entry_hardlink)
#define archive_entry_linkify (lxm_archive()->archive_entry_linkify)
#define archive_entry_linkresolver_free (lxm_archive()->archive_entry_linkresolver_free)
#define archive_entry_linkresolver_new (lxm_archive()->archive_entry_linkresolver_new)
#define archive_entry_linkresolver_set_strategy (lxm_archive()->archive_entry_linkresolver_set_strategy)
#define archive_entry_new (lxm_archive()->archive_entry_new)
#define archive_entry_pathname (lxm_archive()->archive_entry_pathname)
#define archive_entry_set_filetype (lxm_archive()->archive_entry_set_filetype)
#define archive_entry_set_gid (lxm_archive()->archive_entry_set_gid)
#define archive_entry_set_hardlink (lxm_archive()->archive_entry_set_hardlink)
#define archive_entry_set_mode (lxm_archive()->archive_entry_set_mode)
#define archive_entry_set_mtime (lxm_archive()->archive_entry_set_mtime)
#define archive_entry_set_pathname (lxm_archive()->archive_entry_set_pathname)
#define archive_entry_set_perm (lxm_archive()->archive_entry_set_perm)
#define archive_entry_set_rdev (lxm_archive()->archive_entry_set_rdev)
#define archive_entry_set_size (lxm_archive()->archive_entry_set_size)
#define archive_entry_set_symlink (lxm_archive()->archive_entry_set_symlink)
#define archive_entry_set_uid (lxm_archive()->archive_entry_set_uid)
#define archive_entry_size (lxm_archive()->archive_entry_size)
#define archive_entry_xattr_add_entry (lxm_archive()->archive_entry_xattr_add_entry)
#define archive_errno (lxm_archive()->archive_errno)
#define archive_error_string (lxm_archive()->archive_error_string)
#define archive_filter_bytes (lxm_archive()->archive_filter_bytes)
#define archive_read_data (lxm_archive()->archive_read_data)
#define archive_read_data_block (lxm_archive()->archive_read_data_block)
#define archive_read_disk_can_descend (lxm_archive()->archive_read_disk_can_descend)
#define archive_read_disk_descend (lxm_archive()->archive_read_disk_descend)
#define archive_read_disk_new (lxm_archive()->archive_read_disk_new)
#define archive_read_disk_open (lxm_archive()->archive_read_disk_open)
#define archive_read_disk_set_behavior (lxm_archive()->archive_read_disk_set_behavior)
#define archive_read_disk_set_symlink_physical (lxm_archive()->archive_read_disk_set_symlink_physical)
#define archive_read_free (lxm_archive()->archive_read_free)
#define archive_read_new (lxm_archive()->archive_read_new)
#define archive_read_next_header (lxm_archive()->archive_read_next_header)
#define archive_read_next_header2 (lxm_archive()->archive_read_next_header2)
#define archive_read_open (lxm_archive()->archive_read_open)
#define archive_read_open_fd (lxm_archive()->archive_read_open_fd)
#define archive_read_support_filter_bzip2 (lxm_archive()->archive_read_support_filter_bzip2)
#define archive_read_support_filter_gzip (lxm_archive()->archive_read_support_filter_gzip)
#define archive_read_support_filter_lzma (lxm_archive()->archive_read_support_filter_lzma)
#define archive_read_support_filter_xz (lxm_archive()->archive_read_support_filter_xz)
#define archive_read_support_filter_zstd (lxm_archive()->archive_read_support_filter_zstd)
#define archive_read_support_format_tar (lxm_archive()->archive_read_support_format_tar)
#define archive_set_error (lxm_archive()->archive_set_error)
#define archive_write_add_filter_gzip (lxm_archive()->archive_write_add_filter_gzip)
#define archive_write_add_filter_xz (lxm_archive()->archive_write_add_filter_xz)
#define archive_write_add_filter_zstd (lxm_archive()->archive_write_add_filter_zstd)
#define archive_write_close (lxm_archive()->archive_write_close)
#define archive_write_data (lxm_archive()->archive_write_data)
#define archive_write_data_block (lxm_archive()->archive_write_data_block)
#define archive_write_disk_new (lxm_archive()->archive_write_disk_new)
#define archive_write_disk_set_options (lxm_archive()->archive_write_disk_set_options)
#define archive_write_finish_entry (lxm_archive()->archive_write_finish_entry)
#define archive_write_free (lxm_archive()->archive_write_free)
#define archive_write_header (lxm_archive()->archive_write_header)
#define archive_write_new (lxm_archive()->archive_write_new)
#define archive_write_open (lxm_archive()->archive_write_open)
#define archive_write_open_fd (lxm_archive()->archive_write_open_fd)
#define archive_write_open_filename (lxm_archive()->archive_write_open_filename)
#define archive_write_set_bytes_in_last_block (lxm_archive()->archive_write_set_bytes_in_last_block)
#define archive_write_set_bytes_per_block (lxm_archive()->archive_write_set_bytes_per_block)
#define archive_write_set_filter_option (lxm_archive()->archive_write_set_filter_option)
#define archive_write_set_format_option (lxm_archive()->archive_write_set_format_option)
#define archive_write_set_format_pax (lxm_archive()->archive_write_set_format_pax)
#define archive_write_set_format_pax_restricted (lxm_archive()->archive_write_set_format_pax_restricted)

/* Cleanup helpers for the handles, for _cleanup_(...). */
static inline void archive_readp(struct archive **a)
{
    if (*a)
        archive_read_free(*a);
}
static inline void archive_writep(struct archive **a)
{
    if (*a)
        archive_write_free(*a);
}
static inline void archive_entryp(struct archive_entry **e)
{
    if (*e)
        archive_entry_free(*e);
}
static inline void linkresolverp(struct archive_entry_linkresolver **r)
{
    if (*r)
        archive_entry_linkresolver_free(*r);
}
#define _cleanup_archive_read_ _cleanup_(archive_readp)
#define _cleanup_archive_write_ _cleanup_(archive_writep)
#define _cleanup_archive_entry_ _cleanup_(archive_entryp)
#define _cleanup_linkresolver_ _cleanup_(linkresolverp)

/* Set err to "<fmt>: <why a's last call failed>" and return -errno. A full
 * disk (ENOSPC, EDQUOT) is said in those words, whatever libarchive's own
 * text ("Write failed", "Write error"); otherwise libarchive's message. */
int lxm_archive_error(struct lxm_error *err, struct archive *a, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Whether a's last failure was a full disk or quota. */
bool lxm_archive_out_of_space(struct archive *a);

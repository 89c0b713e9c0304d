/* lazy-image: json-c and libsquashfs, loaded on first use like libarchive
 * (see lazy-archive.h): only image imports need them, and libsquashfs
 * brings five decompressors with it. Every function lxm calls must be
 * listed below. */
#pragma once

#include <json-c/json.h>
#include <sqfs/compressor.h>
#include <sqfs/data_reader.h>
#include <sqfs/dir_reader.h>
#include <sqfs/error.h>
#include <sqfs/id_table.h>
#include <sqfs/inode.h>
#include <sqfs/io.h>
#include <sqfs/meta_reader.h>
#include <sqfs/super.h>
#include <sqfs/xattr.h>
#include <sqfs/xattr_reader.h>

#define LXM_JSON_FUNCS(X) \
    X(json_object_array_get_idx) \
    X(json_object_array_length) \
    X(json_object_get_int64) \
    X(json_object_get_object) \
    X(json_object_get_string) \
    X(json_object_get_type) \
    X(json_object_object_get_ex) \
    X(json_object_put) \
    X(json_tokener_error_desc) \
    X(json_tokener_free) \
    X(json_tokener_get_error) \
    X(json_tokener_new_ex) \
    X(json_tokener_parse_ex)

#define LXM_SQFS_FUNCS(X) \
    X(sqfs_compressor_config_init) \
    X(sqfs_compressor_create) \
    X(sqfs_data_reader_create) \
    X(sqfs_data_reader_load_fragment_table) \
    X(sqfs_data_reader_read) \
    X(sqfs_dir_reader_create) \
    X(sqfs_dir_reader_get_full_hierarchy) \
    X(sqfs_dir_tree_destroy) \
    X(sqfs_free) \
    X(sqfs_get_xattr_prefix) \
    X(sqfs_id_table_create) \
    X(sqfs_id_table_read) \
    X(sqfs_inode_get_file_size) \
    X(sqfs_inode_get_xattr_index) \
    X(sqfs_meta_reader_create) \
    X(sqfs_meta_reader_get_position) \
    X(sqfs_meta_reader_read) \
    X(sqfs_meta_reader_seek) \
    X(sqfs_open_file) \
    X(sqfs_super_read) \
    X(sqfs_tree_node_get_path) \
    X(sqfs_xattr_reader_create) \
    X(sqfs_xattr_reader_get_desc) \
    X(sqfs_xattr_reader_load) \
    X(sqfs_xattr_reader_read_key) \
    X(sqfs_xattr_reader_read_value) \
    X(sqfs_xattr_reader_seek_kv)

struct lxm_json_api {
#define X(f) __typeof__(f) *f;
    LXM_JSON_FUNCS(X)
#undef X
};
struct lxm_sqfs_api {
#define X(f) __typeof__(f) *f;
    LXM_SQFS_FUNCS(X)
#undef X
};

/* The loaded tables; a missing library ends the process with a message
 * naming the Debian package, as lxm_archive() does. */
const struct lxm_json_api *lxm_json(void);
const struct lxm_sqfs_api *lxm_sqfs(void);

#define json_object_array_get_idx (lxm_json()->json_object_array_get_idx)
#define json_object_array_length (lxm_json()->json_object_array_length)
#define json_object_get_int64 (lxm_json()->json_object_get_int64)
#define json_object_get_object (lxm_json()->json_object_get_object)
#define json_object_get_string (lxm_json()->json_object_get_string)
#define json_object_get_type (lxm_json()->json_object_get_type)
#define json_object_object_get_ex (lxm_json()->json_object_object_get_ex)
#define json_object_put (lxm_json()->json_object_put)
#define json_tokener_error_desc (lxm_json()->json_tokener_error_desc)
#define json_tokener_free (lxm_json()->json_tokener_free)
#define json_tokener_get_error (lxm_json()->json_tokener_get_error)
#define json_tokener_new_ex (lxm_json()->json_tokener_new_ex)
#define json_tokener_parse_ex (lxm_json()->json_tokener_parse_ex)

#define sqfs_compressor_config_init (lxm_sqfs()->sqfs_compressor_config_init)
#define sqfs_compressor_create (lxm_sqfs()->sqfs_compressor_create)
#define sqfs_data_reader_create (lxm_sqfs()->sqfs_data_reader_create)
#define sqfs_data_reader_load_fragment_table (lxm_sqfs()->sqfs_data_reader_load_fragment_table)
#define sqfs_data_reader_read (lxm_sqfs()->sqfs_data_reader_read)
#define sqfs_dir_reader_create (lxm_sqfs()->sqfs_dir_reader_create)
#define sqfs_dir_reader_get_full_hierarchy (lxm_sqfs()->sqfs_dir_reader_get_full_hierarchy)
#define sqfs_dir_tree_destroy (lxm_sqfs()->sqfs_dir_tree_destroy)
#define sqfs_free (lxm_sqfs()->sqfs_free)
#define sqfs_get_xattr_prefix (lxm_sqfs()->sqfs_get_xattr_prefix)
#define sqfs_id_table_create (lxm_sqfs()->sqfs_id_table_create)
#define sqfs_id_table_read (lxm_sqfs()->sqfs_id_table_read)
#define sqfs_inode_get_file_size (lxm_sqfs()->sqfs_inode_get_file_size)
#define sqfs_inode_get_xattr_index (lxm_sqfs()->sqfs_inode_get_xattr_index)
#define sqfs_meta_reader_create (lxm_sqfs()->sqfs_meta_reader_create)
#define sqfs_meta_reader_get_position (lxm_sqfs()->sqfs_meta_reader_get_position)
#define sqfs_meta_reader_read (lxm_sqfs()->sqfs_meta_reader_read)
#define sqfs_meta_reader_seek (lxm_sqfs()->sqfs_meta_reader_seek)
#define sqfs_open_file (lxm_sqfs()->sqfs_open_file)
#define sqfs_super_read (lxm_sqfs()->sqfs_super_read)
#define sqfs_tree_node_get_path (lxm_sqfs()->sqfs_tree_node_get_path)
#define sqfs_xattr_reader_create (lxm_sqfs()->sqfs_xattr_reader_create)
#define sqfs_xattr_reader_get_desc (lxm_sqfs()->sqfs_xattr_reader_get_desc)
#define sqfs_xattr_reader_load (lxm_sqfs()->sqfs_xattr_reader_load)
#define sqfs_xattr_reader_read_key (lxm_sqfs()->sqfs_xattr_reader_read_key)
#define sqfs_xattr_reader_read_value (lxm_sqfs()->sqfs_xattr_reader_read_value)
#define sqfs_xattr_reader_seek_kv (lxm_sqfs()->sqfs_xattr_reader_seek_kv)

static inline void json_objectp(json_object **o)
{
    if (*o)
        json_object_put(*o);
}
#define _cleanup_json_ __attribute__((cleanup(json_objectp)))

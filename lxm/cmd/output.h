/* output: the one place that turns results into table, JSON, YAML or CSV.
 * Commands build a small tree of values (objects keep key order) and hand
 * it to lxm_output_print(). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct lxm_value;

struct lxm_value *lxm_value_object(void);
struct lxm_value *lxm_value_array(void);
/* Setters on objects; each returns the value added (objects/arrays nest). */
void lxm_obj_str(struct lxm_value *obj, const char *key, const char *s);   /* NULL -> null */
void lxm_obj_int(struct lxm_value *obj, const char *key, int64_t v);
void lxm_obj_int_or_null(struct lxm_value *obj, const char *key, int64_t v); /* v < 0 -> null */
void lxm_obj_bool(struct lxm_value *obj, const char *key, bool b);
void lxm_obj_number(struct lxm_value *obj, const char *key, double d); /* d < 0 -> null */
void lxm_obj_strv(struct lxm_value *obj, const char *key, char *const *v);
/* A number with a unit: JSON/YAML/CSV keep the raw integer, tables show
 * it for people (1.5GiB, 2m05s) under the key without its unit suffix
 * ("usage_bytes" -> "usage"). v < 0 -> null. */
enum lxm_unit { LXM_UNIT_NONE, LXM_UNIT_BYTES, LXM_UNIT_NS, LXM_UNIT_SECONDS };
void lxm_obj_quantity(struct lxm_value *obj, const char *key, int64_t v, enum lxm_unit unit);
struct lxm_value *lxm_obj_object(struct lxm_value *obj, const char *key);
struct lxm_value *lxm_obj_array(struct lxm_value *obj, const char *key);
void lxm_array_push(struct lxm_value *arr, struct lxm_value *v);
void lxm_value_free(struct lxm_value *v);

enum lxm_output_format { LXM_OUT_TABLE, LXM_OUT_JSON, LXM_OUT_YAML, LXM_OUT_CSV };

/* Print v. For TABLE and CSV, v is an array of flat-ish objects (rows;
 * nested objects become dotted columns, arrays are joined by ','); columns
 * lists the keys to show (NULL = all keys of the first row), headers their
 * titles (NULL = upper-cased keys). A single object in TABLE format prints
 * as aligned "key: value" lines. */
void lxm_output_print(FILE *f, enum lxm_output_format fmt, const struct lxm_value *v,
                      const char *const *columns, const char *const *headers);

/* Human sizes for tables: 1.5GiB, 512MiB, 900KiB, 12B. */
void lxm_format_bytes(char *buf, size_t len, int64_t bytes);
/* Human durations: 0.016s, 42s, 3m05s, 2h03m, 4d02h. */
void lxm_format_seconds(char *buf, size_t len, double seconds);

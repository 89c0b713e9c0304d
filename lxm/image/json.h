/* json: the few helpers every JSON reader of lxm shares (OCI layouts,
 * simplestreams indexes), over the lazily loaded json-c (lazy-image.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "image/lazy-image.h"
#include "util/err.h"

/* Parse len bytes of text as one JSON object; label names it in errors
 * ("LABEL: not valid JSON (...)", "LABEL: expected a JSON object"). */
int lxm_json_parse(const char *label, const char *text, size_t len, json_object **out,
                   struct lxm_error *err);

/* Member key of object o when it has the given type, else NULL. */
json_object *lxm_jget(json_object *o, const char *key, enum json_type type);

/* An optional string member into *out (replacing it): absent is fine,
 * another type is an error. */
int lxm_jstr(const char *label, json_object *o, const char *key, char **out,
             struct lxm_error *err);

/* 64 lowercase hex digits. */
bool lxm_valid_sha256_hex(const char *s);

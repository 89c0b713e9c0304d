#include "image/json.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int lxm_json_parse(const char *label, const char *text, size_t len, json_object **out,
                   struct lxm_error *err)
{
    struct json_tokener *tok = json_tokener_new_ex(32);
    if (!tok)
        return lxm_error_set(err, ENOMEM, "out of memory");
    json_object *o = len <= INT32_MAX ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    enum json_tokener_error je = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!o || je != json_tokener_success) {
        if (o)
            json_object_put(o);
        return lxm_error_set(err, EINVAL, "%s: not valid JSON (%s)", label,
                             je == json_tokener_continue ? "unexpected end"
                                                         : json_tokener_error_desc(je));
    }
    if (json_object_get_type(o) != json_type_object) {
        json_object_put(o);
        return lxm_error_set(err, EINVAL, "%s: expected a JSON object", label);
    }
    *out = o;
    return 0;
}

json_object *lxm_jget(json_object *o, const char *key, enum json_type type)
{
    json_object *v = NULL;
    if (!o || json_object_get_type(o) != json_type_object || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v && json_object_get_type(v) == type ? v : NULL;
}

/* An optional string member: absent is fine, another type is an error. */
int lxm_jstr(const char *label, json_object *o, const char *key, char **out,
                struct lxm_error *err)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return 0;
    if (json_object_get_type(v) != json_type_string)
        return lxm_error_set(err, EINVAL, "%s: \"%s\" must be a string", label, key);
    char *s = strdup(json_object_get_string(v));
    if (!s)
        return lxm_error_set(err, ENOMEM, "out of memory");
    free(*out);
    *out = s;
    return 0;
}

bool lxm_valid_sha256_hex(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

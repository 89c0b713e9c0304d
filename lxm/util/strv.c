#include "util/strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t strv_length(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

int strv_consume(char ***v, char *s)
{
    if (!s)
        return -ENOMEM;
    size_t n = strv_length(*v);
    char **nv = realloc(*v, (n + 2) * sizeof(char *));
    if (!nv) {
        free(s);
        return -ENOMEM;
    }
    nv[n] = s;
    nv[n + 1] = NULL;
    *v = nv;
    return 0;
}

int strv_push(char ***v, const char *s) { return strv_consume(v, strdup(s)); }

char **strv_copy(char *const *v)
{
    char **out = calloc(1, sizeof(char *));
    if (!out)
        return NULL;
    for (size_t i = 0; v && v[i]; i++)
        if (strv_push(&out, v[i]) < 0) {
            strv_free(out);
            return NULL;
        }
    return out;
}

int strv_contains(char *const *v, const char *s)
{
    for (size_t i = 0; v && v[i]; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

#include "util/strv.h"

#include <errno.h>
#include <stdint.h>
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

size_t str_edit_distance(const char *a, const char *b)
{
    enum { MAX = 64 };
    size_t n = strlen(a), m = strlen(b);
    if (n >= MAX || m >= MAX)
        return SIZE_MAX;
    size_t d[MAX][MAX];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < v)
                v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

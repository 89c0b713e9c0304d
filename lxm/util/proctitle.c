#include "util/proctitle.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "util/cleanup.h"

extern char **environ;

static int set_mm(const char *title)
{
    static char buf[256];
    size_t n = strlen(title);
    if (n + 1 > sizeof(buf))
        return -ENOSPC;
    memcpy(buf, title, n + 1);
    for (size_t i = 0; i < n; i++)
        if (buf[i] == ' ')
            buf[i] = '\0'; /* one argument per word, as exec would give */
    /* The start first: below the old end, so start <= end holds between
     * the two calls. */
    if (prctl(PR_SET_MM, PR_SET_MM_ARG_START, (unsigned long)buf, 0, 0) < 0 ||
        prctl(PR_SET_MM, PR_SET_MM_ARG_END, (unsigned long)(buf + n + 1), 0, 0) < 0)
        return -errno;
    return 0;
}

/* arg_start, arg_end, env_start, env_end: fields 48-51 of /proc/self/stat. */
static int read_areas(unsigned long v[4])
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/stat", "re");
    char line[1024];
    if (!f || !fgets(line, sizeof(line), f))
        return -EIO;
    char *p = strrchr(line, ')');
    if (!p)
        return -EIO;
    /* After ") " comes field 3; skip to field 48. */
    p += 2;
    for (int field = 3; field < 48 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (!p || sscanf(p, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4)
        return -EIO;
    return 0;
}

static int copy_environ(unsigned long start, unsigned long end)
{
    for (size_t i = 0; environ && environ[i]; i++) {
        unsigned long a = (unsigned long)environ[i];
        if (a < start || a >= end)
            continue;
        char *copy = strdup(environ[i]);
        if (!copy)
            return -ENOMEM;
        environ[i] = copy; /* leaked on purpose: environ owns it now */
    }
    return 0;
}

int lxm_set_process_title(const char *title)
{
    int r = set_mm(title);
    if (r != -EPERM)
        return r;
    unsigned long v[4];
    r = read_areas(v);
    if (r < 0)
        return r;
    size_t need = strlen(title) + 1, room = v[1] - v[0];
    if (v[1] <= v[0])
        return -EIO;
    if (need > room && v[2] == v[1] && v[3] > v[2]) {
        r = copy_environ(v[2], v[3]);
        if (r < 0)
            return r;
        room = v[3] - v[0];
    }
    if (need > room)
        return -ENOSPC;
    char *area = (char *)v[0];
    /* Title, NUL, then non-NUL filler up to the end: the kernel sees the
     * last byte of argv overwritten and reads up to the first NUL. */
    memset(area, ' ', room);
    memcpy(area, title, need);
    if (need < room)
        area[room - 1] = ' ';
    return 0;
}

/* owner: "PID-STARTTIME" tags for staged files (see owner.h). */
#include "util/owner.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"

/* The first 22 fields of /proc/PID/stat fit: comm is at most 64 bytes
 * and every number at most 20 digits. Read here, not with util/fs.h
 * (which names its temporary files with owner_tag()). */
#define STAT_HEAD 1024

uint64_t proc_starttime_state(pid_t pid, char *state)
{
    char path[64], text[STAT_HEAD + 1];
    if (state)
        *state = '?';
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    _cleanup_close_ int fd = pid > 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    ssize_t n = fd >= 0 ? read(fd, text, STAT_HEAD) : -1;
    if (n <= 0)
        return 0;
    text[n] = '\0';
    /* comm may hold spaces and parens: count fields from the last ')'.
     * Field 3 is the state, 22 the starttime; p walks the spaces before
     * fields 3..22. */
    char *p = strrchr(text, ')');
    if (p)
        p++;
    if (state && p && p[0] == ' ')
        *state = p[1];
    for (int field = 3; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

uint64_t proc_starttime(pid_t pid)
{
    return proc_starttime_state(pid, NULL);
}

const char *owner_tag(void)
{
    static char tag[OWNER_TAG_MAX];
    static pid_t tag_pid;
    pid_t me = getpid();
    if (tag_pid != me) {
        snprintf(tag, sizeof(tag), "%d-%" PRIu64, (int)me, proc_starttime(me));
        tag_pid = me;
    }
    return tag;
}

bool owner_tag_parse(const char *s, pid_t *pid, uint64_t *start)
{
    char *end;
    if (!s || *s < '1' || *s > '9')
        return false;
    long p = strtol(s, &end, 10);
    if (*end != '-' || p <= 0 || end[1] < '0' || end[1] > '9')
        return false;
    uint64_t st = strtoull(end + 1, &end, 10);
    if (*end != '\0' && *end != '.')
        return false;
    *pid = (pid_t)p;
    *start = st;
    return true;
}

bool owner_tag_alive(const char *s)
{
    pid_t pid;
    uint64_t start;
    if (!owner_tag_parse(s, &pid, &start))
        return false;
    uint64_t now = proc_starttime(pid);
    return now != 0 && now == start;
}

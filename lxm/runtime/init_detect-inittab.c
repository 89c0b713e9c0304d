/* init_detect-inittab: a sysvinit tree's /etc/inittab adapted to a
 * container, the way the debian and devuan templates adapt theirs with sed
 * (in C here: nothing of a foreign tree is run). Lines are
 * "id:runlevels:action:process"; comments and lines of another shape are
 * kept as they are. */
#include "runtime/init_detect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/inroot.h"
#include "util/io.h"

#define HALT "/sbin/shutdown -h now"
#define REBOOT "/sbin/shutdown -r now"
#define CONSOLE_GETTY "/sbin/getty --noclear 38400 console"

struct entry {
    const char *id, *runlevels, *action, *process; /* into a copy of the line */
};

/* Split "id:runlevels:action:process"; false for comments, blank lines
 * and anything with fewer fields. */
static bool parse(char *line, struct entry *e)
{
    const char *p = line + strspn(line, " \t");
    if (*p == '#' || *p == '\0')
        return false;
    char *f[4] = { line, NULL, NULL, NULL };
    for (int i = 1; i < 4; i++) {
        char *c = strchr(f[i - 1], ':');
        if (!c)
            return false;
        *c = '\0';
        f[i] = c + 1;
    }
    *e = (struct entry){ f[0], f[1], f[2], f[3] };
    return true;
}

/* A getty on a word of its command line: ttyN (or /dev/ttyN), a virtual
 * terminal a container does not have, or "console". */
static bool getty_on(const char *process, bool console)
{
    if (!strstr(process, "getty"))
        return false;
    _cleanup_free_ char *copy = strdup(process);
    char *save = NULL;
    for (char *w = copy ? strtok_r(copy, " \t", &save) : NULL; w; w = strtok_r(NULL, " \t", &save)) {
        if (strncmp(w, "/dev/", 5) == 0)
            w += 5;
        if (console && strcmp(w, "console") == 0)
            return true;
        if (!console && strncmp(w, "tty", 3) == 0 && w[3] && strspn(w + 3, "0123456789") == strlen(w + 3))
            return true;
    }
    return false;
}

struct adapt {
    FILE *out;
    bool powerwait, ctrlaltdel, console; /* seen (console: a getty on it) */
};

static void adapt_line(struct adapt *a, const char *line)
{
    _cleanup_free_ char *copy = strdup(line);
    struct entry e;
    if (!copy || !parse(copy, &e)) {
        fprintf(a->out, "%s\n", line);
        return;
    }
    const char *process = e.process;
    if (strcmp(e.action, "powerwait") == 0) {
        process = HALT;
        a->powerwait = true;
    } else if (strcmp(e.action, "ctrlaltdel") == 0) {
        process = REBOOT;
        a->ctrlaltdel = true;
    } else if (strcmp(e.action, "respawn") == 0 && getty_on(e.process, false)) {
        if (a->console) {
            fprintf(a->out, "#%s\n", line);
            return;
        }
        process = CONSOLE_GETTY;
        a->console = true;
    }
    fprintf(a->out, "%s:%s:%s:%s\n", e.id, e.runlevels, e.action, process);
}

/* The adapted text of inittab (NUL-terminated, in *out). */
static int adapt_text(const char *orig, char **out, size_t *len)
{
    struct adapt a = { 0 };
    _cleanup_free_ char *text = strdup(orig);
    a.out = text ? open_memstream(out, len) : NULL;
    if (!a.out)
        return -ENOMEM;
    /* A getty on the console already: every VT getty goes. */
    char *save = NULL;
    _cleanup_free_ char *scan = strdup(text);
    for (char *l = scan ? strtok_r(scan, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
        struct entry e;
        if (parse(l, &e) && strcmp(e.action, "respawn") == 0 && getty_on(e.process, true))
            a.console = true;
    }
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        adapt_line(&a, line);
        line = nl ? nl + 1 : line + strlen(line);
    }
    if (!a.powerwait)
        fprintf(a.out, "pf::powerwait:" HALT "\n");
    if (!a.ctrlaltdel)
        fprintf(a.out, "ca:12345:ctrlaltdel:" REBOOT "\n");
    return fclose(a.out) == 0 && scan ? 0 : -ENOMEM;
}

int lxm_inittab_adapt(int rootfd, struct lxm_error *err)
{
    _cleanup_close_ int etc = lxm_open_in_root(rootfd, "/etc", O_PATH | O_DIRECTORY, 0);
    struct stat st;
    /* No inittab, or a link: not one to rewrite. */
    if (etc < 0 || fstatat(etc, "inittab", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
        return 0;
    _cleanup_free_ char *text = NULL, *adapted = NULL;
    size_t len = 0;
    int r = lxm_read_in_root(rootfd, "/etc/inittab", 1 << 20, &text, NULL);
    if (r < 0)
        return lxm_error_errno(err, -r, "read /etc/inittab in the rootfs");
    r = adapt_text(text, &adapted, &len);
    if (r < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (strcmp(text, adapted) == 0)
        return 0;
    r = lxm_replace_at(etc, "inittab", adapted, len, st.st_mode & 07777, st.st_uid, st.st_gid);
    if (r < 0)
        return lxm_error_errno(err, -r, "write /etc/inittab in the rootfs");
    return 1;
}

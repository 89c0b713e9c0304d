#include "image/template.h"
#include "image/source-sum.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/image.h"
#include "image/image_import.h"
#include "runtime/passwd.h"
#include "util/arch.h"
#include "util/child_pipe.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/inroot.h"
#include "util/io.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/strv.h"

extern char **environ;

int lxm_template_release(const struct lxm_template *t, const char *release, const char **out,
                         struct lxm_error *err)
{
    size_t n = strv_length(t->releases);
    if (!release) {
        *out = t->default_release ? t->default_release : n > 0 ? t->releases[0] : NULL;
        return 0;
    }
    if (n == 0)
        return lxm_error_set(err, EINVAL, "template '%s' has no releases (drop -r %s)", t->name, release);
    if (!strv_contains(t->releases, release)) {
        char list[512] = "";
        for (size_t i = 0; i < n; i++)
            snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", t->releases[i]);
        return lxm_error_set(err, EINVAL, "template '%s' has no release '%s' (releases: %s)", t->name,
                             release, list);
    }
    *out = release;
    return 0;
}

/* ---- writing inside a rootfs ---------------------------------------------------- */

/* Replace (never write through) the file at path inside the rootfs:
 * temp file beside it, then rename over whatever was there. */
static int write_in_root(int rootfd, const char *path, const char *data, mode_t mode,
                         struct lxm_error *err)
{
    while (*path == '/')
        path++;
    _cleanup_free_ char *dir = strdup(path);
    if (!dir)
        return lxm_error_set(err, ENOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    const char *base = slash ? path + (slash - dir) + 1 : path;
    if (slash)
        *slash = '\0';
    else
        dir[0] = '\0';
    if (!*base)
        return lxm_error_set(err, EINVAL, "setup file '/%s': not a file name", path);
    _cleanup_close_ int dfd = lxm_mkdir_in_root(rootfd, *dir ? dir : ".");
    if (dfd < 0)
        return lxm_error_errno(err, -dfd, "create directory /%s in the rootfs", dir);
    int r = lxm_replace_at(dfd, base, data, strlen(data), mode, (uid_t)-1, (gid_t)-1);
    return r < 0 ? lxm_error_errno(err, -r, "write /%s in the rootfs", path) : 0;
}

static bool is_file_in_root(int rootfd, const char *path)
{
    _cleanup_close_ int fd = lxm_open_in_root(rootfd, path, O_PATH | O_NOFOLLOW, 0);
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

int lxm_rootfs_set_identity(const char *rootfs, const char *name, struct lxm_error *err)
{
    _cleanup_close_ int rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rootfd < 0)
        return lxm_error_errno(err, errno, "open %s", rootfs);
    return lxm_rootfs_set_identity_at(rootfd, name, err);
}

int lxm_rootfs_set_identity_at(int rootfd, const char *name, struct lxm_error *err)
{
    return lxm_rootfs_set_identity_in(rootfd, rootfd, name, err);
}

int lxm_rootfs_set_identity_in(int viewfd, int rootfd, const char *name, struct lxm_error *err)
{
    _cleanup_free_ char *hostname = xasprintf("%s\n", name);
    _cleanup_free_ char *hosts = xasprintf("127.0.0.1\tlocalhost\n"
                                           "127.0.1.1\t%s\n"
                                           "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                           "ff02::1\tip6-allnodes\n"
                                           "ff02::2\tip6-allrouters\n", name);
    if (!hostname || !hosts)
        return lxm_error_set(err, ENOMEM, "out of memory");
    int r = write_in_root(rootfd, "etc/hostname", hostname, 0644, err);
    if (r == 0)
        r = write_in_root(rootfd, "etc/hosts", hosts, 0644, err);
    if (r < 0 || !is_file_in_root(viewfd, "etc/machine-id"))
        return r;
    /* Each container is its own machine (journald, dbus, DHCP DUIDs). */
    uint8_t id[16];
    if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id))
        return lxm_error_errno(err, errno, "getrandom");
    id[6] = (id[6] & 0x0f) | 0x40; /* a v4 UUID, as systemd makes them */
    id[8] = (id[8] & 0x3f) | 0x80;
    char hex[34];
    for (size_t i = 0; i < sizeof(id); i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    hex[32] = '\n';
    hex[33] = '\0';
    return write_in_root(rootfd, "etc/machine-id", hex, 0444, err);
}

/* ---- running commands ------------------------------------------------------------ */

struct run_opts {
    const char *label;          /* shown before each condensed line */
    const char *chroot;         /* run chrooted into this dir; NULL = on the host */
    const struct lxm_report *progress;
};

struct run_output {
    const struct run_opts *o;
    char line[1024];
    size_t len;
    char last[512];             /* the first "E:" line, else the last line */
    bool last_is_error;
};

/* The command's lines go to the report as they come (a running line, no
 * byte count: verb NULL), for a person to watch. */
static void tell(const struct run_output *out, enum lxm_progress_phase phase, const char *line)
{
    const struct lxm_report *r = out->o->progress;
    if (!r || !r->progress)
        return;
    struct lxm_progress p = {.phase = phase, .label = line, .what = out->o->label};
    r->progress(r->data, &p);
}

static void output_line(struct run_output *out)
{
    out->line[out->len] = '\0';
    const char *l = out->line;
    out->len = 0;
    while (*l == ' ' || *l == '\t')
        l++;
    if (!*l)
        return;
    /* The first "E:" line usually names the cause; later ones the fallout. */
    bool is_error = strncmp(l, "E:", 2) == 0;
    if (!out->last_is_error) {
        snprintf(out->last, sizeof(out->last), "%s", l);
        out->last_is_error = is_error;
    }
    /* label + line (the command layer cuts it to the terminal's width:
     * a setup command can be hundreds of characters long). */
    char shown[1024];
    snprintf(shown, sizeof(shown), "%s: %s", out->o->label, l);
    tell(out, LXM_PROGRESS_STEP, shown);
}

static void read_output(int fd, struct run_output *out)
{
    char buf[4096];
    tell(out, LXM_PROGRESS_BEGIN, NULL);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            /* apt redraws its progress with \r: each redraw is a line. */
            if (buf[i] == '\n' || buf[i] == '\r')
                output_line(out);
            else if (out->len < sizeof(out->line) - 1)
                out->line[out->len++] = buf[i];
        }
    }
    output_line(out);
    tell(out, LXM_PROGRESS_END, NULL);
}

/* A tree from an image has no device nodes (extraction never makes them),
 * and a command writing to a missing /dev/null would leave a plain file
 * there: the chrooted commands get the usual few on a tmpfs of their own
 * mount namespace, gone when they exit. Best effort, after chroot(). */
static void chroot_dev(void)
{
    static const struct {
        const char *path;
        unsigned major, minor;
    } nodes[] = {
        {"/dev/null", 1, 3},    {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
        {"/dev/random", 1, 8},  {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
    };
    struct stat st;
    if (lstat("/dev", &st) < 0 || !S_ISDIR(st.st_mode) ||
        mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
        return;
    for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
        if (mknod(nodes[i].path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) == 0)
            (void)chmod(nodes[i].path, 0666);
}

static _Noreturn void run_child(char *const argv[], const struct run_opts *o, int outfd)
{
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(outfd, 1) < 0 || dup2(outfd, 2) < 0)
        _exit(127);
    /* Nothing of lxm may reach the command: fail rather than leak. Its
     * own errors go where its output goes (fd 2 is the pipe to
     * read_output), so the parent names them. */
    if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
        dprintf(STDERR_FILENO, "E: close_range: %s\n", strerror(errno));
        _exit(127);
    }
    signal(SIGPIPE, SIG_DFL);
    /* lxm blocks Ctrl-C around a create to clean up after it; the
     * command it runs must still get it. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setenv("DEBIAN_FRONTEND", "noninteractive", 1);
    setenv("LC_ALL", "C", 1);
    if (o->chroot) {
        /* A private mount namespace: whatever the command mounts goes
         * away with it instead of staying on the host. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            chroot(o->chroot) < 0 || chdir("/") < 0) {
            dprintf(STDERR_FILENO, "E: chroot %s: %s\n", o->chroot, strerror(errno));
            _exit(127);
        }
        chroot_dev();
        setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
        setenv("HOME", "/root", 1);
    }
    execvp(argv[0], argv);
    dprintf(STDERR_FILENO, "E: run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static int run_command(char *const argv[], const struct run_opts *o, struct lxm_error *err)
{
    int fd;
    pid_t pid = lxm_fork_piped(&fd, err);
    if (pid < 0)
        return (int)pid;
    if (pid == 0)
        run_child(argv, o, fd);
    struct run_output out = { .o = o };
    read_output(fd, &out);
    close(fd);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return lxm_error_errno(err, errno, "wait for %s", argv[0]);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFSIGNALED(status))
        return lxm_error_set(err, EIO, "%s: killed by signal %d%s%s", o->label, WTERMSIG(status),
                             out.last[0] ? ": " : "", out.last);
    return lxm_error_set(err, EIO, "%s failed (exit %d)%s%s", o->label, WEXITSTATUS(status),
                         out.last[0] ? ": " : "", out.last);
}

/* Run argv and collect its stdout (for `busybox --list-full`). */
static int capture_command(char *const argv[], char **out, struct lxm_error *err)
{
    int fd;
    pid_t pid = lxm_fork_piped(&fd, err);
    if (pid < 0)
        return (int)pid;
    if (pid == 0) {
        if (dup2(fd, 1) < 0)
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    size_t len = 0, cap = 16384;
    char *buf = malloc(cap);
    while (buf) {
        if (len + 4096 > cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!buf)
        return lxm_error_set(err, ENOMEM, "out of memory");
    buf[len] = '\0';
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(buf);
        return lxm_error_set(err, EIO, "%s failed", argv[0]);
    }
    *out = buf;
    return 0;
}

/* ---- source: busybox ------------------------------------------------------------- */

/* A dynamically linked busybox would not run in a tree without libc. */
static bool elf_is_static(const char *path)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    Elf64_Ehdr eh;
    if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        return false;
    if (eh.e_ident[EI_CLASS] != ELFCLASS64)
        return true; /* not worth parsing: trust the busybox-static path */
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        off_t off = (off_t)eh.e_phoff + (off_t)i * eh.e_phentsize;
        if (pread(fd, &ph, sizeof(ph), off) != (ssize_t)sizeof(ph))
            return false;
        if (ph.p_type == PT_INTERP)
            return false;
    }
    return true;
}

static int find_busybox(const char **out, struct lxm_error *err)
{
    static const char *candidates[] = { "/bin/busybox", "/usr/bin/busybox", "/sbin/busybox",
                                        "/usr/sbin/busybox", "/usr/lib/busybox/busybox-static" };
    const char *dynamic = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(candidates); i++) {
        if (access(candidates[i], X_OK) < 0)
            continue;
        if (elf_is_static(candidates[i])) {
            *out = candidates[i];
            return 0;
        }
        dynamic = dynamic ? dynamic : candidates[i];
    }
    if (dynamic)
        return lxm_error_set(err, ENOENT, "%s is dynamically linked (install busybox-static)", dynamic);
    return lxm_error_set(err, ENOENT, "no busybox found on the host (install busybox-static)");
}

static int copy_file_at(const char *src, int dirfd, const char *dst, mode_t mode)
{
    _cleanup_close_ int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    _cleanup_close_ int out = openat(dirfd, dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (out < 0)
        return -errno;
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n == 0)
            break;
        if (n > 0)
            continue;
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
            return -errno;
        char buf[65536];
        while ((n = read(in, buf, sizeof(buf))) > 0)
            if (lxm_write_all(out, buf, (size_t)n) < 0)
                return -errno;
        if (n < 0)
            return -errno;
        break;
    }
    return fchmod(out, mode) < 0 ? -errno : 0;
}

static int busybox_tree(int rootfd, struct lxm_error *err)
{
    static const struct { const char *path; mode_t mode; } dirs[] = {
        { "bin", 0755 },  { "sbin", 0755 }, { "usr", 0755 },      { "usr/bin", 0755 },
        { "usr/sbin", 0755 }, { "usr/share", 0755 }, { "usr/share/udhcpc", 0755 },
        { "etc", 0755 },  { "etc/init.d", 0755 }, { "dev", 0755 }, { "proc", 0555 },
        { "sys", 0555 },  { "run", 0755 },  { "tmp", 01777 },     { "root", 0700 },
        { "home", 0755 }, { "mnt", 0755 },  { "var", 0755 },      { "var/log", 0755 },
        { "var/lib", 0755 }, { "var/tmp", 01777 },
    };
    static const struct { const char *path, *target; } links[] = {
        { "var/run", "/run" }, { "etc/mtab", "/proc/mounts" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        if (mkdirat(rootfd, dirs[i].path, dirs[i].mode) < 0 && errno != EEXIST)
            return lxm_error_errno(err, errno, "create /%s", dirs[i].path);
        /* mkdir applies the umask: /tmp must really be 1777. */
        if (fchmodat(rootfd, dirs[i].path, dirs[i].mode, 0) < 0)
            return lxm_error_errno(err, errno, "chmod /%s", dirs[i].path);
    }
    for (size_t i = 0; i < ARRAY_SIZE(links); i++)
        if (symlinkat(links[i].target, rootfd, links[i].path) < 0 && errno != EEXIST)
            return lxm_error_errno(err, errno, "create /%s", links[i].path);
    return 0;
}

/* One symlink to /bin/busybox per applet, where busybox says it lives. */
static int busybox_applets(int rootfd, const char *busybox, struct lxm_error *err)
{
    char *argv[] = { (char *)busybox, (char *)"--list-full", NULL };
    _cleanup_free_ char *list = NULL;
    int r = capture_command(argv, &list, err);
    if (r < 0)
        return lxm_error_prefix(err, "list busybox applets");
    size_t count = 0;
    for (char *save = NULL, *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        while (*line == '/')
            line++;
        if (!*line || strstr(line, "..") || strcmp(line, "bin/busybox") == 0)
            continue;
        char *slash = strrchr(line, '/');
        if (slash) {
            *slash = '\0';
            _cleanup_close_ int dfd = lxm_mkdir_in_root(rootfd, line);
            *slash = '/';
            if (dfd < 0)
                return lxm_error_errno(err, -dfd, "create the directory of /%s", line);
        }
        if (symlinkat("/bin/busybox", rootfd, line) < 0 && errno != EEXIST)
            return lxm_error_errno(err, errno, "link /%s", line);
        count++;
    }
    if (count == 0)
        return lxm_error_set(err, EINVAL, "%s --list-full listed no applets", busybox);
    return 0;
}

static int source_busybox(const char *rootfs, struct lxm_error *err)
{
    const char *busybox = NULL;
    int r = find_busybox(&busybox, err);
    if (r < 0)
        return r;
    _cleanup_close_ int rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rootfd < 0)
        return lxm_error_errno(err, errno, "open %s", rootfs);
    r = busybox_tree(rootfd, err);
    if (r < 0)
        return r;
    /* A copy, not a hard link: the container must not be able to change
     * the host's busybox. */
    r = copy_file_at(busybox, rootfd, "bin/busybox", 0755);
    if (r < 0)
        return lxm_error_errno(err, -r, "copy %s into the rootfs", busybox);
    return busybox_applets(rootfd, busybox, err);
}

/* ---- source: debootstrap --------------------------------------------------------- */

/* Suites that name Debian's main archive (not -security, -updates,
 * backports, or someone else's repository). */
static bool is_debian_suite(const char *suite)
{
    static const char *names[] = { "stable", "testing", "unstable", "sid", "oldstable", "experimental",
                                    "buster", "bullseye", "bookworm", "trixie", "forky", "duke" };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcmp(suite, names[i]) == 0)
            return true;
    return false;
}

static bool is_mirror_uri(const char *uri)
{
    return strncmp(uri, "http://", 7) == 0 || strncmp(uri, "https://", 8) == 0 ||
           strncmp(uri, "file:/", 6) == 0;
}

/* One deb822 stanza: the first URI if it is a "deb" stanza for a Debian
 * suite. */
static char *deb822_stanza_uri(char *stanza)
{
    char *types = NULL, *uris = NULL, *suites = NULL;
    for (char *save = NULL, *l = strtok_r(stanza, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (strncasecmp(l, "Enabled:", 8) == 0 && strstr(l + 8, "no"))
            return NULL;
        if (strncasecmp(l, "Types:", 6) == 0)
            types = l + 6;
        else if (strncasecmp(l, "URIs:", 5) == 0)
            uris = l + 5;
        else if (strncasecmp(l, "Suites:", 7) == 0)
            suites = l + 7;
    }
    if (!types || !uris || !suites)
        return NULL;
    bool deb = false, debian = false;
    for (char *s = NULL, *w = strtok_r(types, " \t", &s); w; w = strtok_r(NULL, " \t", &s))
        deb = deb || strcmp(w, "deb") == 0;
    for (char *s = NULL, *w = strtok_r(suites, " \t", &s); w; w = strtok_r(NULL, " \t", &s))
        debian = debian || is_debian_suite(w);
    char *s = NULL, *uri = strtok_r(uris, " \t", &s);
    return deb && debian && uri && is_mirror_uri(uri) ? strdup(uri) : NULL;
}

static char *mirror_from_sources(const char *file)
{
    _cleanup_free_ char *text = NULL;
    if (read_file(file, &text, NULL) < 0)
        return NULL;
    /* Stanzas are separated by blank lines. */
    char *p = text;
    while (p && *p) {
        char *end = strstr(p, "\n\n");
        if (end)
            *end = '\0';
        char *uri = deb822_stanza_uri(p);
        if (uri)
            return uri;
        p = end ? end + 2 : NULL;
    }
    return NULL;
}

/* One-line format: "deb [options] URI SUITE COMPONENT...". */
static char *mirror_from_list(const char *file)
{
    _cleanup_fclose_ FILE *f = fopen(file, "re");
    char line[1024];
    while (f && fgets(line, sizeof(line), f)) {
        char *save = NULL, *w = strtok_r(line, " \t\n", &save);
        if (!w || strcmp(w, "deb") != 0)
            continue;
        w = strtok_r(NULL, " \t\n", &save);
        if (w && w[0] == '[') { /* [arch=amd64 signed-by=...] */
            while (w && !strchr(w, ']'))
                w = strtok_r(NULL, " \t\n", &save);
            w = w ? strtok_r(NULL, " \t\n", &save) : NULL;
        }
        char *suite = strtok_r(NULL, " \t\n", &save);
        if (w && suite && is_mirror_uri(w) && is_debian_suite(suite))
            return strdup(w);
    }
    return NULL;
}

static int filter_suffix(const struct dirent *d, const char *suffix)
{
    size_t n = strlen(d->d_name), m = strlen(suffix);
    return n > m && strcmp(d->d_name + n - m, suffix) == 0;
}
static int filter_sources(const struct dirent *d) { return filter_suffix(d, ".sources"); }
static int filter_list(const struct dirent *d) { return filter_suffix(d, ".list"); }

static char *mirror_from_dir(const char *dir, int (*filter)(const struct dirent *),
                             char *(*parse)(const char *))
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, filter, alphasort);
    char *uri = NULL;
    for (int i = 0; i < n; i++) {
        _cleanup_free_ char *file = xasprintf("%s/%s", dir, names[i]->d_name);
        if (!uri && file)
            uri = parse(file);
        free(names[i]);
    }
    free(names);
    return uri;
}

/* "host": the Debian mirror the host's apt already uses. */
static int resolve_mirror(const char *mirror, char **out, struct lxm_error *err)
{
    if (mirror && strcmp(mirror, "host") != 0) {
        *out = strdup(mirror);
        return *out ? 0 : lxm_error_set(err, ENOMEM, "out of memory");
    }
    char *uri = mirror_from_dir("/etc/apt/sources.list.d", filter_sources, mirror_from_sources);
    if (!uri)
        uri = mirror_from_list("/etc/apt/sources.list");
    if (!uri)
        uri = mirror_from_dir("/etc/apt/sources.list.d", filter_list, mirror_from_list);
    if (!uri)
        return lxm_error_set(err, ENOENT, "mirror: host: no Debian mirror in /etc/apt/sources.list "
                                          "or /etc/apt/sources.list.d (set source.mirror to a URL)");
    *out = uri;
    return 0;
}

static const char *find_program(const char *const *candidates)
{
    for (; *candidates; candidates++)
        if (access(*candidates, X_OK) == 0)
            return *candidates;
    return NULL;
}

/* The bootstrap command line. Downloaded packages are kept in debs (when
 * given) so that a rebuild, or another --include set of the same release,
 * downloads only what changed. */
static char *join_commas(char *const *v)
{
    char *list = NULL;
    for (size_t i = 0; v && v[i]; i++) {
        char *next = xasprintf("%s%s%s", list ? list : "", list ? "," : "", v[i]);
        free(list);
        if (!(list = next))
            return NULL;
    }
    return list;
}

static int bootstrap_argv(const char *tool, bool mm, const struct lxm_template *t, char **packages,
                          const char *release, const char *rootfs, const char *mirror,
                          const char *debs, char ***out)
{
    _cleanup_strv_free_ char **argv = NULL;
    const char *variant = t->variant ? t->variant : "minbase";
    int r = strv_push(&argv, tool);
    /* debootstrap's default is what mmdebstrap calls standard. */
    if (mm || strcmp(variant, "standard") != 0)
        r |= strv_consume(&argv, xasprintf("--variant=%s", variant));
    if (t->components && t->components[0]) {
        _cleanup_free_ char *list = join_commas(t->components);
        r |= list ? strv_consume(&argv, xasprintf("--components=%s", list)) : -ENOMEM;
    }
    if (t->keyring)
        r |= strv_consume(&argv, xasprintf("--keyring=%s", t->keyring));
    if (packages && packages[0]) {
        _cleanup_free_ char *list = join_commas(packages);
        r |= list ? strv_consume(&argv, xasprintf("--include=%s", list)) : -ENOMEM;
    }
    if (debs && mm) {
        r |= strv_push(&argv, "--skip=essential/unlink");
        r |= strv_push(&argv, "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/");
        r |= strv_consume(&argv, xasprintf("--setup-hook=sync-in %s /var/cache/apt/archives/", debs));
        r |= strv_consume(&argv, xasprintf("--customize-hook=sync-out /var/cache/apt/archives %s", debs));
    } else if (debs) {
        r |= strv_consume(&argv, xasprintf("--cache-dir=%s", debs));
    }
    r |= strv_push(&argv, release);
    r |= strv_push(&argv, rootfs);
    r |= strv_push(&argv, mirror);
    if (r < 0)
        return -ENOMEM;
    *out = TAKE_PTR(argv);
    return 0;
}

/* <cache>/debs/RELEASE-ARCH, or NULL when it cannot be made or its path
 * would need quoting inside mmdebstrap's hooks. */
static char *package_cache(const struct lxm_paths *paths, const char *release, bool make)
{
    char *dir = xasprintf("%s/debs/%s-%s", paths->cache, release, lxm_host_arch());
    if (!dir || dir[0] != '/' || strpbrk(dir, " \t\n'\"\\$`") || (make && mkdir_p(dir, 0700) < 0)) {
        free(dir);
        return NULL;
    }
    return dir;
}

/* The bootstrap command for t (rootfs may be a placeholder in a dry run,
 * which also makes nothing on disk); *mm says which tool it is. */
static int bootstrap_command(const struct lxm_paths *paths, const struct lxm_template *t,
                             const char *release, char **packages, const char *rootfs, bool dry,
                             char ***argv, bool *mm, struct lxm_error *err)
{
    static const char *const mmdebstrap[] = { "/usr/bin/mmdebstrap", "/usr/sbin/mmdebstrap", NULL };
    static const char *const debootstrap[] = { "/usr/sbin/debootstrap", "/sbin/debootstrap",
                                               "/usr/bin/debootstrap", NULL };
    const char *tool = find_program(mmdebstrap);
    *mm = tool != NULL;
    if (!tool)
        tool = find_program(debootstrap);
    if (!tool)
        return lxm_error_set(err, ENOENT, "template '%s' needs mmdebstrap or debootstrap "
                                          "(apt-get install mmdebstrap)", t->name);
    const char *v = t->variant ? t->variant : "minbase";
    if (!*mm && strcmp(v, "minbase") != 0 && strcmp(v, "buildd") != 0 && strcmp(v, "standard") != 0)
        return lxm_error_set(err, EINVAL, "variant '%s' needs mmdebstrap (apt-get install mmdebstrap)",
                             v);
    if (!dry && t->keyring && access(t->keyring, R_OK) < 0)
        return lxm_error_set(err, ENOENT, "template '%s' needs the keyring %s (install the "
                             "distribution's keyring package, e.g. %s-keyring)", t->name,
                             t->keyring, t->name);
    _cleanup_free_ char *mirror = NULL;
    int r = resolve_mirror(t->mirror, &mirror, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *debs = package_cache(paths, release, !dry);
    if (bootstrap_argv(tool, *mm, t, packages, release, rootfs, mirror, debs, argv) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    return 0;
}

static int run_bootstrap(const struct lxm_paths *paths, const struct lxm_template *t,
                         const char *release, char **packages, const char *rootfs,
                         const struct lxm_report *progress, struct lxm_error *err)
{
    _cleanup_strv_free_ char **argv = NULL;
    bool mm = false;
    int r = bootstrap_command(paths, t, release, packages, rootfs, false, &argv, &mm, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *label = xasprintf("%s %s", mm ? "mmdebstrap" : "debootstrap", release);
    if (!label)
        return lxm_error_set(err, ENOMEM, "out of memory");
    lxm_report_notice(progress, LXM_NOTICE_NOTE,
                      "bootstrapping %s %s with %s (first time only: the result is cached)", t->name,
                      release, mm ? "mmdebstrap" : "debootstrap");
    struct run_opts o = { .label = label, .progress = progress };
    return run_command(argv, &o, err);
}

/* The nodes a bootstrap tool made in the tree's /dev: gone, so that this
 * tree is the one every later create extracts from the cache (which never
 * holds device nodes); the container mounts its own /dev anyway. */
static void drop_dev_nodes(const char *rootfs)
{
    _cleanup_close_ int rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int devfd = rootfd < 0 ? -1 : lxm_open_in_root(rootfd, "dev", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
    _cleanup_closedir_ DIR *d = devfd >= 0 ? fdopendir(devfd) : NULL;
    if (!d) {
        if (devfd >= 0)
            close(devfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
            (void)unlinkat(dirfd(d), de->d_name, 0);
    }
}

/* mmdebstrap's sync-in of the package cache gives /var/cache/apt/archives
 * the mode of that cache directory (0700), so apt's sandbox user _apt
 * could not reach archives/partial/ and every apt-get install in the
 * container warned "Download is performed unsandboxed as root"; and the
 * cache's partial/ comes back owned by root. Debian ships archives 0755
 * and partial _apt's; put that back (trees made before this, in the
 * cache, too). */
static void fix_apt_archives(const char *rootfs)
{
    _cleanup_close_ int rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int fd = rootfd < 0 ? -1
                                        : lxm_open_in_root(rootfd, "var/cache/apt/archives",
                                                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0700)
        (void)fchmod(fd, 0755);
    _cleanup_close_ int partial = fd < 0 ? -1
                                         : openat(fd, "partial",
                                                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct lxm_user apt = {0};
    struct lxm_error e = {0};
    if (partial >= 0 && fstat(partial, &st) == 0 && st.st_uid == 0 &&
        lxm_user_resolve(rootfd, "_apt", &apt, &e) == 0 && apt.uid != 0)
        (void)fchown(partial, apt.uid, 0);
    lxm_user_clear(&apt);
}

/* The template's packages and the create's, each once. */
static int merged_packages(const struct lxm_template *t, const struct lxm_provision_opts *opts,
                           char ***out)
{
    const struct lxm_release_packages *rel = NULL;
    for (int i = 0; i < t->n_per_release && opts->release; i++)
        if (strcmp(t->per_release[i].release, opts->release) == 0)
            rel = &t->per_release[i];
    _cleanup_strv_free_ char **packages = NULL;
    char *const *lists[] = { t->include, rel ? rel->include : NULL, opts->include };
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; lists[l] && lists[l][i]; i++) {
            const char *p = lists[l][i];
            bool dropped = l == 0 && rel && strv_contains(rel->exclude, p);
            if (!dropped && !strv_contains(packages, p) && strv_push(&packages, p) < 0)
                return -ENOMEM;
        }
    *out = TAKE_PTR(packages);
    return 0;
}

/* The package set of a build and the name of its bootstrap cache file
 * (said at --debug: tests find the file by it); -ENOMEM. */
static int cache_file(const struct lxm_paths *paths, const struct lxm_template *t,
                      const struct lxm_provision_opts *opts, char ***packages, char **name)
{
    if (merged_packages(t, opts, packages) < 0)
        return -ENOMEM;
    *name = lxm_image_cache_name(t->name, opts->release, lxm_host_arch(), t->variant, *packages);
    if (!*name)
        return -ENOMEM;
    lxm_debug("image cache file: %s/%s", paths->images, *name);
    return 0;
}

int lxm_template_dry_run(const struct lxm_paths *paths, const struct lxm_template *t,
                         const struct lxm_provision_opts *opts, char ***argv, struct lxm_error *err)
{
    *argv = NULL;
    if (opts->from || t->source_type != LXM_SOURCE_DEBOOTSTRAP)
        return 0;
    _cleanup_strv_free_ char **packages = NULL;
    _cleanup_free_ char *name = NULL;
    if (cache_file(paths, t, opts, &packages, &name) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    bool mm;
    return bootstrap_command(paths, t, opts->release, packages, "ROOTFS", true, argv, &mm, err);
}

static int source_debootstrap(const struct lxm_paths *paths, const struct lxm_template *t,
                              const struct lxm_provision_opts *opts, const char *rootfs,
                              struct lxm_error *err)
{
    if (!opts->release)
        return lxm_error_set(err, EINVAL, "template '%s' names no release", t->name);
    _cleanup_strv_free_ char **packages = NULL;
    _cleanup_free_ char *name = NULL;
    if (cache_file(paths, t, opts, &packages, &name) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_free_ char *cached = NULL;
    int r = lxm_image_cache_lookup(paths->images, name, &cached, err);
    if (r < 0)
        return r;
    if (r == 1) {
        lxm_debug("image cache hit: %s", cached);
        r = lxm_image_extract(cached, rootfs, opts->progress, err);
        if (r == 0)
            fix_apt_archives(rootfs);
        return r;
    }
    r = run_bootstrap(paths, t, opts->release, packages, rootfs, opts->progress, err);
    if (r < 0)
        return r;
    drop_dev_nodes(rootfs);
    fix_apt_archives(rootfs);
    struct lxm_error cache_err = { 0 };
    if (lxm_image_cache_store(paths->images, name, rootfs, opts->progress, &cache_err) < 0)
        lxm_warn("image cache: %s (the container is fine; the next create bootstraps again)",
                 cache_err.msg);
    return 0;
}

/* ---- source: tarball -------------------------------------------------------------- */

static int source_tarball(const struct lxm_paths *paths, const struct lxm_template *t,
                          const char *rootfs, const struct lxm_report *progress, struct lxm_error *err)
{
    if (!t->path)
        return lxm_error_set(err, EINVAL, "template '%s' has no source.path (use --from FILE)", t->name);
    /* A relative path is relative to the templates directory. */
    _cleanup_free_ char *path = t->path[0] == '/' ? strdup(t->path)
                                                  : xasprintf("%s/%s", paths->templates, t->path);
    if (!path)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (t->sha256) {
        char got[65];
        int r = sha256_file(path, got);
        if (r < 0)
            return lxm_error_errno(err, -r, "read %s", path);
        if (strcasecmp(got, t->sha256) != 0)
            return lxm_error_set(err, EINVAL, "%s: sha256 is %s, template '%s' expects %s", path, got,
                                 t->name, t->sha256);
    }
    return lxm_image_extract(path, rootfs, progress, err);
}

/* ---- source: an image of any format (--from) ---------------------------------------- */

static int unpack_image(const struct lxm_provision_opts *opts, const char *rootfs,
                        struct lxm_error *err)
{
    struct lxm_image_meta meta;
    int r = lxm_image_unpack_any(opts->from, opts->from_rootfs, rootfs, &meta, opts->progress, err);
    if (r < 0)
        return r;
    if (meta.arch && strcmp(meta.arch, lxm_host_arch()) != 0)
        lxm_warn("%s: the image is for %s, this machine is %s: its programs will not run here "
                 "without emulation", opts->from, meta.arch, lxm_host_arch());
    if (opts->meta) {
        lxm_image_meta_clear(opts->meta);
        *opts->meta = meta;
    } else {
        lxm_image_meta_clear(&meta);
    }
    return 0;
}

/* ---- setup ------------------------------------------------------------------------- */

static int setup_files(const struct lxm_template *t, const char *rootfs, struct lxm_error *err)
{
    if (t->n_files == 0)
        return 0;
    _cleanup_close_ int rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rootfd < 0)
        return lxm_error_errno(err, errno, "open %s", rootfs);
    for (int i = 0; i < t->n_files; i++) {
        const struct lxm_setup_file *f = &t->files[i];
        int r = write_in_root(rootfd, f->path, f->content ? f->content : "",
                              f->mode >= 0 ? (mode_t)f->mode : 0644, err);
        if (r < 0)
            return lxm_error_prefix(err, "template '%s': setup", t->name);
    }
    return 0;
}

static int setup_run(const struct lxm_template *t, const char *rootfs, const struct lxm_report *progress,
                     struct lxm_error *err)
{
    for (size_t i = 0; t->run && t->run[i]; i++) {
        char *argv[] = { (char *)"/bin/sh", (char *)"-c", t->run[i], NULL };
        _cleanup_free_ char *label = xasprintf("setup: %s", t->run[i]);
        if (!label)
            return lxm_error_set(err, ENOMEM, "out of memory");
        struct run_opts o = { .label = label, .chroot = rootfs, .progress = progress };
        int r = run_command(argv, &o, err);
        if (r < 0)
            return lxm_error_prefix(err, "template '%s'", t->name);
    }
    return 0;
}

static int provision_tree(const struct lxm_paths *paths, const struct lxm_template *t,
                          const struct lxm_provision_opts *opts, const char *rootfs,
                          struct lxm_error *err)
{
    int r;
    if (opts->from)
        r = unpack_image(opts, rootfs, err);
    else if (t->source_type == LXM_SOURCE_BUSYBOX)
        r = source_busybox(rootfs, err);
    else if (t->source_type == LXM_SOURCE_DEBOOTSTRAP)
        r = source_debootstrap(paths, t, opts, rootfs, err);
    else
        r = source_tarball(paths, t, rootfs, opts->progress, err);
    if (r < 0)
        return r;
    r = setup_files(t, rootfs, err);
    if (r < 0)
        return r;
    /* Running a foreign tarball's binaries as host root in a chroot is
     * not a sandbox: commands run only in trees the template built. */
    if (opts->from) {
        if (t->run && t->run[0])
            lxm_warn("--from: not running template '%s''s setup commands in a foreign tree", t->name);
        return 0;
    }
    return setup_run(t, rootfs, opts->progress, err);
}

int lxm_template_provision(const struct lxm_paths *paths, const struct lxm_template *t,
                           const struct lxm_provision_opts *opts, const char *rootfs,
                           struct lxm_error *err)
{
    /* Directories made for the tree (and by the bootstrap tools) must be
     * 0755 whatever the caller's umask: services in the container run as
     * other users and need to read them. */
    mode_t old = umask(022);
    int r = provision_tree(paths, t, opts, rootfs, err);
    umask(old);
    return r;
}

/* ---- create-time options (-c template.KEY=VALUE) ---------------------------------- */

static int strdup_into(char **dst, const char *value, struct lxm_error *err)
{
    char *copy = strdup(value);
    if (!copy)
        return lxm_error_set(err, ENOMEM, "out of memory");
    free(*dst);
    *dst = copy;
    return 0;
}

bool lxm_valid_package_name(const char *p)
{
    if (!*p || !((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
        return false;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("+-.", *p)))
            return false;
    return true;
}

/* Boot another init system: its packages instead of the ones it
 * excludes, its signals and its setup instead of the template's. */
static int set_init(struct lxm_template *t, const char *name, struct lxm_error *err)
{
    const char *own = t->init_system ? t->init_system : "systemd";
    if (strcmp(name, own) == 0)
        return 0;
    struct lxm_init_variant *v = NULL;
    for (int i = 0; i < t->n_inits; i++)
        if (strcmp(t->inits[i].name, name) == 0)
            v = &t->inits[i];
    if (!v) {
        char names[256];
        int n = snprintf(names, sizeof(names), "%s", own);
        for (int i = 0; i < t->n_inits && n > 0 && (size_t)n < sizeof(names); i++)
            n += snprintf(names + n, sizeof(names) - (size_t)n, ", %s", t->inits[i].name);
        return lxm_error_set(err, EINVAL, "template '%s' boots no init '%s' (use %s)", t->name,
                             name, names);
    }
    _cleanup_strv_free_ char **include = NULL;
    for (size_t i = 0; t->include && t->include[i]; i++)
        if (!strv_contains(v->exclude, t->include[i]) && strv_push(&include, t->include[i]) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    for (size_t i = 0; v->include && v->include[i]; i++)
        if (!strv_contains(include, v->include[i]) && strv_push(&include, v->include[i]) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    if (strdup_into(&t->init_system, name, err) < 0)
        return -ENOMEM;
    strv_free(t->include);
    t->include = TAKE_PTR(include);
    t->halt_signal = v->halt_signal;
    t->reboot_signal = v->reboot_signal;
    /* The setup moves over; the template frees it with its own fields. */
    for (int i = 0; i < t->n_files; i++) {
        free(t->files[i].path);
        free(t->files[i].content);
    }
    free(t->files);
    strv_free(t->run);
    t->files = v->files, t->n_files = v->n_files, t->run = v->run;
    v->files = NULL, v->n_files = 0, v->run = NULL;
    return 0;
}

static const char *const variants[] = { "minbase", "buildd", "standard", "important", "required",
                                        NULL };

static int set_option(struct lxm_template *t, const char *key, const char *value,
                      struct lxm_error *err)
{
    if (t->source_type != LXM_SOURCE_DEBOOTSTRAP)
        return lxm_error_set(err, EINVAL, "template '%s' does not bootstrap packages", t->name);
    if (strcmp(key, "variant") == 0) {
        for (size_t i = 0; variants[i]; i++)
            if (strcmp(value, variants[i]) == 0)
                return strdup_into(&t->variant, value, err);
        return lxm_error_set(err, EINVAL, "'%s' is not a variant (use minbase, buildd, standard, "
                             "important or required)", value);
    }
    if (strcmp(key, "mirror") == 0) {
        if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0 &&
            strcmp(value, "host") != 0)
            return lxm_error_set(err, EINVAL, "'%s' is not a mirror (use host or an http:// or "
                                 "https:// URL)", value);
        return strdup_into(&t->mirror, value, err);
    }
    if (strcmp(key, "packages") == 0) {
        _cleanup_free_ char *copy = strdup(value);
        char *save = NULL;
        if (!copy)
            return lxm_error_set(err, ENOMEM, "out of memory");
        for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
            if (!lxm_valid_package_name(p))
                return lxm_error_set(err, EINVAL, "'%s' is not a package name", p);
            if (!strv_contains(t->include, p) && strv_push(&t->include, p) < 0)
                return lxm_error_set(err, ENOMEM, "out of memory");
        }
        return 0;
    }
    if (strcmp(key, "init") == 0)
        return set_init(t, value, err);
    return lxm_error_set(err, EINVAL, "unknown template option (variant, packages, mirror, init)");
}

int lxm_template_apply_options(struct lxm_template *t, const struct lxm_global *g,
                               char *const *settings, char ***rest, struct lxm_error *err)
{
    const char *mirror = !g                             ? NULL
                       : strcmp(t->name, "debian") == 0 ? g->mirror_debian
                       : strcmp(t->name, "ubuntu") == 0 ? g->mirror_ubuntu
                       : strcmp(t->name, "devuan") == 0 ? g->mirror_devuan
                                                        : NULL;
    if (mirror && t->source_type == LXM_SOURCE_DEBOOTSTRAP && strdup_into(&t->mirror, mirror, err) < 0)
        return -ENOMEM;
    _cleanup_strv_free_ char **others = NULL;
    for (size_t i = 0; settings && settings[i]; i++) {
        const char *s = settings[i];
        if (strncmp(s, "template.", 9) != 0) {
            if (strv_push(&others, s) < 0)
                return lxm_error_set(err, ENOMEM, "out of memory");
            continue;
        }
        const char *eq = strchr(s, '=');
        _cleanup_free_ char *key = eq ? strndup(s + 9, (size_t)(eq - s - 9)) : NULL;
        if (!eq)
            return lxm_error_set(err, EINVAL, "-c %s: expected KEY=VALUE", s);
        int r = key ? set_option(t, key, eq + 1, err) : lxm_error_set(err, ENOMEM, "out of memory");
        if (r < 0)
            return lxm_error_prefix(err, "-c %s", s);
    }
    *rest = TAKE_PTR(others);
    return 0;
}

/* ---- recipe --------------------------------------------------------------------------- */

static void hash_str(struct sha256_ctx *c, const char *key, const char *value)
{
    sha256_update(c, key, strlen(key));
    sha256_update(c, "=", 1);
    if (value)
        sha256_update(c, value, strlen(value) + 1); /* the NUL ends it unambiguously */
    else
        sha256_update(c, "\xff", 1);
}

/* What the tree is made from, hashed: the file or binary it starts from. */
static int hash_source(const struct lxm_paths *paths, const struct lxm_template *t,
                       const struct lxm_provision_opts *opts, struct sha256_ctx *c, char **desc,
                       struct lxm_error *err)
{
    char sum[65];
    const char *file = NULL;
    _cleanup_free_ char *path = NULL;
    if (opts->from) {
        file = opts->from;
        *desc = xasprintf("file %s", opts->from);
    } else if (t->source_type == LXM_SOURCE_BUSYBOX) {
        int r = find_busybox(&file, err);
        if (r < 0)
            return r;
        *desc = xasprintf("template %s (%s)", t->name, file);
    } else if (t->source_type == LXM_SOURCE_TARBALL) {
        if (!t->path)
            return lxm_error_set(err, EINVAL, "template '%s' has no source.path (use --from FILE)", t->name);
        path = t->path[0] == '/' ? strdup(t->path) : xasprintf("%s/%s", paths->templates, t->path);
        file = path;
        *desc = path ? xasprintf("template %s (%s)", t->name, path) : NULL;
    } else {
        /* debootstrap: the recipe is the package set; the bootstrap
         * tarball cache and the mirror are how it is made, not what. */
        *desc = xasprintf("template %s %s (%s)", t->name, opts->release ? opts->release : "",
                          t->variant ? t->variant : "minbase");
    }
    if (!*desc)
        return lxm_error_set(err, ENOMEM, "out of memory");
    if (opts->from) {
        /* Any image format: a file's sum, an OCI tag's digest, a split pair. */
        int r = lxm_image_source_id(opts->from, opts->from_rootfs, sum, err);
        if (r < 0)
            return r;
        hash_str(c, "source-id", sum);
    } else if (file) {
        int r = lxm_source_sum(paths, file, sum);
        if (r < 0)
            return lxm_error_errno(err, -r, "read %s", file);
        hash_str(c, "source-sha256", sum);
    }
    return 0;
}

int lxm_template_recipe(const struct lxm_paths *paths, const struct lxm_template *t,
                        const struct lxm_provision_opts *opts, char fp[65], char **source,
                        struct lxm_error *err)
{
    struct sha256_ctx c;
    sha256_init(&c);
    hash_str(&c, "lxm-image-recipe", "1");
    hash_str(&c, "template", t->name);
    hash_str(&c, "release", opts->release);
    hash_str(&c, "arch", lxm_host_arch());
    hash_str(&c, "source", opts->from ? "from" : t->source_type == LXM_SOURCE_BUSYBOX ? "busybox"
                                               : t->source_type == LXM_SOURCE_DEBOOTSTRAP ? "debootstrap"
                                                                                         : "tarball");
    hash_str(&c, "variant", t->variant);
    for (size_t i = 0; t->components && t->components[i]; i++)
        hash_str(&c, "component", t->components[i]);
    /* The package set, order-free (lxm_image_cache_name sorts it). */
    _cleanup_strv_free_ char **all = NULL;
    if (merged_packages(t, opts, &all) < 0)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_free_ char *packages = lxm_image_cache_name(t->name, opts->release, lxm_host_arch(),
                                                          t->variant, all);
    if (!packages)
        return lxm_error_set(err, ENOMEM, "out of memory");
    hash_str(&c, "packages", packages);
    for (int i = 0; i < t->n_files; i++) {
        char mode[16];
        snprintf(mode, sizeof(mode), "%o", t->files[i].mode);
        hash_str(&c, "file", t->files[i].path);
        hash_str(&c, "mode", mode);
        hash_str(&c, "content", t->files[i].content);
    }
    for (size_t i = 0; !opts->from && t->run && t->run[i]; i++)
        hash_str(&c, "run", t->run[i]);
    int r = hash_source(paths, t, opts, &c, source, err);
    if (r < 0)
        return r;
    sha256_final_hex(&c, fp);
    return 0;
}

/* ---- listing ------------------------------------------------------------------------ */

static int filter_yaml(const struct dirent *d) { return filter_suffix(d, ".yaml"); }

static int cmp_template(const void *a, const void *b)
{
    const struct lxm_template *x = *(struct lxm_template *const *)a;
    const struct lxm_template *y = *(struct lxm_template *const *)b;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

int lxm_template_list(const struct lxm_paths *paths, struct lxm_template ***out, size_t *n,
                      struct lxm_error *err)
{
    struct dirent **names = NULL;
    int count = scandir(paths->templates, &names, filter_yaml, alphasort);
    if (count < 0) {
        *out = NULL;
        *n = 0;
        if (errno == ENOENT)
            return 0;
        return lxm_error_errno(err, errno, "read %s", paths->templates);
    }
    struct lxm_template **list = calloc((size_t)count + 1, sizeof(*list));
    size_t used = 0;
    for (int i = 0; i < count; i++) {
        _cleanup_free_ char *file = xasprintf("%s/%s", paths->templates, names[i]->d_name);
        struct lxm_error e = { 0 };
        struct lxm_template *t = NULL;
        if (list && file && lxm_template_load(file, &t, &e) == 0)
            list[used++] = t;
        else if (list && file)
            lxm_warn("skipping template %s", e.msg);
        free(names[i]);
    }
    free(names);
    if (!list)
        return lxm_error_set(err, ENOMEM, "out of memory");
    qsort(list, used, sizeof(*list), cmp_template);
    *out = list;
    *n = used;
    return 0;
}

void lxm_template_list_free(struct lxm_template **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        lxm_template_free(list[i]);
    free(list);
}

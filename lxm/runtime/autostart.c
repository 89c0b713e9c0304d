#include "runtime/autostart.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "runtime/ready.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/io.h"
#include "util/strv.h"

static int64_t pick_timeout(int64_t config_ms, int64_t given_ms)
{
    if (given_ms >= 0)
        return given_ms;
    return config_ms != LXM_UNSET ? config_ms : LXM_STOP_TIMEOUT_DEFAULT_MS;
}

int64_t lxm_stop_timeout_of(const struct lxm_config *cfg, int64_t given_ms)
{
    return pick_timeout(cfg ? cfg->stop_timeout_ms : LXM_UNSET, given_ms);
}

/* ---- the plan: every container with its boot keys, in boot order ---------------------- */

struct boot_entry {
    char *name;
    bool config_ok; /* false: config.yaml unreadable, why in msg */
    bool autostart;
    int64_t order;
    int64_t delay_ms;
    int64_t stop_timeout_ms; /* from config, LXM_UNSET = not set */
    char *msg;
};

struct boot_plan {
    struct boot_entry *e;
    size_t n;
};

static void plan_free(struct boot_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->e[i].name);
        free(p->e[i].msg);
    }
    free(p->e);
    p->e = NULL;
    p->n = 0;
}
#define _cleanup_plan_ _cleanup_(plan_free)

static int entry_cmp(const void *a, const void *b)
{
    const struct boot_entry *x = a, *y = b;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int load_entry(const struct lxm_paths *paths, const char *name, struct boot_entry *e)
{
    *e = (struct boot_entry){.stop_timeout_ms = LXM_UNSET};
    if (!(e->name = strdup(name)))
        return -ENOMEM;
    _cleanup_container_ struct lxm_container *c = NULL;
    struct lxm_error lerr = {0};
    int r = lxm_container_new(paths, name, &c, &lerr);
    if (r == 0)
        r = lxm_container_load_config(c, &lerr);
    if (r < 0)
        return (e->msg = strdup(lerr.msg)) ? 0 : -ENOMEM;
    e->config_ok = true;
    e->autostart = c->config->autostart;
    e->order = c->config->autostart_order;
    e->delay_ms = c->config->autostart_delay_ms;
    e->stop_timeout_ms = c->config->stop_timeout_ms;
    return 0;
}

/* Every container (sorted by order, then name). A config that cannot be
 * read is an entry too (config_ok false): the caller decides. */
static int plan_load(const struct lxm_paths *paths, struct boot_plan *p, struct lxm_error *err)
{
    _cleanup_strv_free_ char **names = NULL;
    int r = lxm_container_list_names(paths, &names, err);
    if (r < 0)
        return r;
    size_t n = strv_length(names);
    p->e = calloc(n ? n : 1, sizeof(*p->e));
    if (!p->e)
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        p->n++;
        if (load_entry(paths, names[i], &p->e[i]) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    }
    qsort(p->e, p->n, sizeof(*p->e), entry_cmp);
    return 0;
}

/* 1 = running (any state but STOPPED), 0 = stopped, -errno. */
static int is_up(const struct lxm_paths *paths, const char *name, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    struct lxm_runtime_info info;
    int r = lxm_container_open(paths, name, &c, err);
    if (r == 0)
        r = lxm_runtime_query(c, &info, err);
    return r < 0 ? r : info.state != LXM_STATE_STOPPED;
}

static void sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ---- autostart ------------------------------------------------------------------------- */

/* The one start of `lxm autostart`: the library call `lxm start` makes,
 * with `lxm start`'s defaults: it returns once the guest is ready, or
 * fails after LXM_READY_TIMEOUT_MS with "started but is not ready" (the
 * container left running), which is this container's failure while the
 * others go on. So autostart_delay counts from ready, and the next
 * container starts only then. */
static int start_one(const struct lxm_paths *paths, const char *name, struct lxm_error *err)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = lxm_container_open(paths, name, &c, err);
    if (r < 0)
        return r;
    struct lxm_start_opts opts = {0};
    return lxm_start_ready(c, &opts, LXM_READY_TIMEOUT_MS, err);
}

/* One autostart container: DONE, SKIPPED (already running) or FAILED. */
static enum lxm_boot_result autostart_one(const struct lxm_paths *paths, const char *name,
                                          struct lxm_error *err)
{
    int up = is_up(paths, name, err);
    if (up < 0)
        return LXM_BOOT_FAILED;
    if (up)
        return LXM_BOOT_SKIPPED;
    int r = start_one(paths, name, err);
    /* Started by someone else since we looked: left alone, like one that
     * was running already. */
    if (r == -EEXIST && is_up(paths, name, &(struct lxm_error){0}) == 1)
        return LXM_BOOT_SKIPPED;
    return r < 0 ? LXM_BOOT_FAILED : LXM_BOOT_DONE;
}

static bool wanted(const struct boot_entry *e)
{
    return !e->config_ok || e->autostart;
}

int lxm_autostart_run(const struct lxm_paths *paths, lxm_boot_report_fn report, void *data,
                      struct lxm_error *err)
{
    _cleanup_plan_ struct boot_plan p = {0};
    int r = plan_load(paths, &p, err);
    if (r < 0)
        return r;
    int failed = 0;
    int64_t delay_ms = 0;
    for (size_t i = 0; i < p.n; i++) {
        const struct boot_entry *e = &p.e[i];
        if (!wanted(e))
            continue;
        /* The previous one's delay: only between two starts. */
        sleep_ms(delay_ms);
        delay_ms = 0;
        struct lxm_error cerr = {0};
        enum lxm_boot_result res = LXM_BOOT_FAILED;
        if (!e->config_ok)
            lxm_error_set(&cerr, EINVAL, "%s", e->msg);
        else
            res = autostart_one(paths, e->name, &cerr);
        failed += res == LXM_BOOT_FAILED;
        report(e->name, res, res == LXM_BOOT_FAILED ? cerr.msg : NULL, data);
        if (res == LXM_BOOT_DONE)
            delay_ms = e->delay_ms;
    }
    return failed;
}

/* ---- stop --all -------------------------------------------------------------------------- */

/* One container being stopped by a process of its own. */
struct stopper {
    const struct boot_entry *e;
    pid_t pid;
    int fd; /* read end of its result pipe, -1 once read */
    char buf[LXM_ERROR_MAX];
    size_t len;
};

/* The stopping process: "D" (stopped), "S" (was not running) or "F"
 * and the error, on fd. The container is looked at again under its lock:
 * it may have stopped since the plan was made. */
static void __attribute__((noreturn))
stop_child(const struct lxm_paths *paths, const struct boot_entry *e, int64_t given_ms, int fd)
{
    struct lxm_error cerr = {0};
    struct lxm_container *c = NULL;
    struct lxm_runtime_info info;
    const char *res = "S";
    int r = lxm_container_open_locked(paths, e->name, &c, &cerr);
    if (r == 0)
        r = lxm_runtime_query(c, &info, &cerr);
    if (r == 0 && info.state != LXM_STATE_STOPPED) {
        res = "D";
        r = lxm_runtime_stop(c, pick_timeout(e->stop_timeout_ms, given_ms), false, &cerr);
    }
    if (r < 0)
        res = "F";
    (void)lxm_write_all(fd, res, 1);
    if (r < 0)
        (void)lxm_write_all(fd, cerr.msg, strlen(cerr.msg));
    lxm_container_free(c);
    _exit(r < 0);
}

static int stopper_spawn(const struct lxm_paths *paths, struct stopper *s, int64_t given_ms,
                         struct lxm_error *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return lxm_error_errno(err, errno, "stop %s: pipe", s->e->name);
    s->pid = fork();
    if (s->pid < 0) {
        close(p[0]);
        close(p[1]);
        return lxm_error_errno(err, errno, "stop %s: fork", s->e->name);
    }
    if (s->pid == 0) {
        close(p[0]);
        stop_child(paths, s->e, given_ms, p[1]);
    }
    /* Closed before the next fork: a later child must not hold it open. */
    close(p[1]);
    s->fd = p[0];
    return 0;
}

/* Read what s's process said; at EOF reap it and report. 1 = done. */
static int stopper_read(struct stopper *s, lxm_boot_report_fn report, void *data, int *failed)
{
    ssize_t k = read(s->fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len);
    if (k < 0 && errno == EINTR)
        return 0;
    if (k > 0 && (s->len += (size_t)k) < sizeof(s->buf) - 1)
        return 0;
    close(s->fd);
    s->fd = -1;
    int status = 0;
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        ;
    s->buf[s->len] = '\0';
    enum lxm_boot_result res = s->buf[0] == 'D'   ? LXM_BOOT_DONE
                               : s->buf[0] == 'S' ? LXM_BOOT_SKIPPED
                                                  : LXM_BOOT_FAILED;
    if (res != LXM_BOOT_FAILED && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        res = LXM_BOOT_FAILED;
    const char *msg = s->buf[0] == 'F' ? s->buf + 1 : "its stopping process died";
    *failed += res == LXM_BOOT_FAILED;
    report(s->e->name, res, res == LXM_BOOT_FAILED ? msg : NULL, data);
    return 1;
}

/* Stop the running containers among group[0..n) at the same time; each
 * is reported as it finishes. */
static int stop_group(const struct lxm_paths *paths, const struct boot_entry *group, size_t n,
                      int64_t given_ms, lxm_boot_report_fn report, void *data)
{
    _cleanup_free_ struct stopper *st = calloc(n, sizeof(*st));
    _cleanup_free_ struct pollfd *pfd = calloc(n, sizeof(*pfd));
    if (!st || !pfd)
        return -ENOMEM;
    int failed = 0;
    size_t live = 0;
    for (size_t i = 0; i < n; i++) {
        struct lxm_error cerr = {0};
        st[live] = (struct stopper){.e = &group[i], .fd = -1};
        int up = is_up(paths, group[i].name, &cerr);
        if (up == 0)
            continue;
        if (up > 0 && stopper_spawn(paths, &st[live], given_ms, &cerr) == 0) {
            live++;
            continue;
        }
        failed++;
        report(group[i].name, LXM_BOOT_FAILED, cerr.msg, data);
    }
    for (size_t left = live; left > 0;) {
        for (size_t i = 0; i < live; i++)
            pfd[i] = (struct pollfd){.fd = st[i].fd, .events = POLLIN};
        if (poll(pfd, live, -1) < 0 && errno != EINTR)
            return -errno;
        for (size_t i = 0; i < live; i++)
            if (pfd[i].revents && stopper_read(&st[i], report, data, &failed))
                left--;
    }
    return failed;
}

int lxm_stop_all(const struct lxm_paths *paths, int64_t given_ms, lxm_boot_report_fn report,
                 void *data, struct lxm_error *err)
{
    _cleanup_plan_ struct boot_plan p = {0};
    int r = plan_load(paths, &p, err);
    if (r < 0)
        return r;
    int failed = 0;
    /* Highest order first; a group is the run of equal orders. */
    for (size_t end = p.n; end > 0;) {
        size_t start = end - 1;
        while (start > 0 && p.e[start - 1].order == p.e[end - 1].order)
            start--;
        r = stop_group(paths, &p.e[start], end - start, given_ms, report, data);
        if (r < 0)
            return lxm_error_errno(err, -r, "stop --all");
        failed += r;
        end = start;
    }
    return failed;
}

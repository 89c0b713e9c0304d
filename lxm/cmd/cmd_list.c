/* list, info: what containers exist and what they are doing. State comes
 * from the runtime (monitor or pidfd), usage from the cgroup, addresses
 * from the container's network namespace. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cgroup/cgroup.h"
#include "cmd/cmd.h"
#include "net/network.h"
#include "net/network-ports.h"
#include "lxm/net/addr.h"
#include "net/ipv6.h"
#include "net/nsaddr.h"
#include "cmd/output.h"
#include "runtime/ready.h"
#include "runtime/runtime.h"
#include "storage/storage.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strv.h"

static bool is_active(enum lxm_state s)
{
    return s == LXM_STATE_RUNNING || s == LXM_STATE_FROZEN || s == LXM_STATE_STOPPING ||
           s == LXM_STATE_STARTING;
}

/* Fields shared by list rows and info: name, state, pid, ipv4, ipv6, template... */
/* home_ns: an fd of our own netns, for the address lookups to return to
 * (-1: each opens one). */
static int describe(struct lxm_container *c, struct lxm_value *obj, struct lxm_runtime_info *ri,
                    bool addrs, int home_ns, struct lxm_error *err)
{
    struct lxm_error qerr = { 0 };
    int r = lxm_runtime_query(c, ri, &qerr);
    if (r < 0) {
        lxm_warn("%s: %s", c->name, qerr.msg);
        ri->state = LXM_STATE_ABORTING;
    } else if (ri->monitor_busy) {
        lxm_warn("the monitor of '%s' is alive but did not answer in time; state from its records",
                 c->name);
    } else if (is_active(ri->state) && !ri->monitor_alive) {
        lxm_warn("the monitor of '%s' is gone; its init (pid %d) is still running", c->name,
                 (int)ri->init_pid);
    }
    /* Both families from one dump in the container's netns. */
    _cleanup_strv_free_ char **ips = NULL, **ips6 = NULL;
    if (addrs && is_active(ri->state) && ri->init_pid > 0)
        (void)lxm_nsaddr_list(ri->init_pid, home_ns, &ips, &ips6, NULL);

    const struct lxm_config *cfg = c->config;
    lxm_obj_str(obj, "name", c->name);
    lxm_obj_str(obj, "state", lxm_state_name(ri->state));
    lxm_obj_int_or_null(obj, "pid", ri->init_pid > 0 ? ri->init_pid : -1);
    lxm_obj_strv(obj, "ipv4", ips);
    lxm_obj_strv(obj, "ipv6", ips6);
    lxm_obj_str(obj, "template", cfg ? cfg->template : NULL);
    lxm_obj_str(obj, "release", cfg ? cfg->release : NULL);
    lxm_obj_bool(obj, "autostart", cfg ? cfg->autostart : false);
    return 0;
}

/* lim: the limits as configured (profiles merged), for info; NULL in list. */
static void add_usage(struct lxm_value *obj, struct lxm_container *c, bool active,
                      const struct lxm_limits *lim)
{
    struct lxm_cgroup_stats st = { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1 };
    struct lxm_cgroup *cg = NULL;
    if (active && lxm_cgroup_open(c->id, &cg, NULL) == 0) {
        (void)lxm_cgroup_stats(cg, &st, NULL);
        lxm_cgroup_free(cg);
    }
    struct lxm_value *mem = lxm_obj_object(obj, "memory");
    lxm_obj_quantity(mem, "usage_bytes", st.memory_usage, LXM_UNIT_BYTES);
    lxm_obj_quantity(mem, "limit_bytes", st.memory_limit, LXM_UNIT_BYTES);
    lxm_obj_quantity(mem, "peak_bytes", st.memory_peak, LXM_UNIT_BYTES);
    lxm_obj_quantity(mem, "swap_bytes", st.swap_usage, LXM_UNIT_BYTES);
    lxm_obj_int_or_null(mem, "oom_kills", st.oom_kills);
    struct lxm_value *cpu = lxm_obj_object(obj, "cpu");
    lxm_obj_quantity(cpu, "usage_ns", st.cpu_usage_ns, LXM_UNIT_NS);
    if (lim) {
        lxm_obj_number(cpu, "limit_cpus", lim->cpu); /* of quota, null: none */
        lxm_obj_str(cpu, "cpuset", lim->cpuset);
    }
    struct lxm_value *pids = lxm_obj_object(obj, "pids");
    lxm_obj_int_or_null(pids, "current", st.pids_current);
    lxm_obj_int_or_null(pids, "limit", st.pids_limit);
    struct lxm_value *io = lxm_obj_object(obj, "io");
    lxm_obj_quantity(io, "read_bytes", st.io_read_bytes, LXM_UNIT_BYTES);
    lxm_obj_quantity(io, "write_bytes", st.io_write_bytes, LXM_UNIT_BYTES);
}

/* The container's profiles and how long it has run. */
static void add_extra(struct lxm_value *obj, struct lxm_container *c,
                      const struct lxm_runtime_info *ri)
{
    bool active = is_active(ri->state);
    lxm_obj_strv(obj, "profiles", c->config->profiles);
    lxm_obj_quantity(obj, "uptime_s",
                     active && ri->started_at > 0 ? (int64_t)time(NULL) - ri->started_at : -1,
                     LXM_UNIT_SECONDS);
}

/* Where the rootfs lives and what it owns (the image excluded). */
static void add_storage(struct lxm_value *obj, const struct lxm_container *c)
{
    const struct lxm_storage_ops *ops;
    struct lxm_error ignored = { 0 };
    uint64_t bytes = 0;
    struct lxm_value *st = lxm_obj_object(obj, "storage");
    if (lxm_storage_of(c->dir, &ops, &ignored) < 0)
        return;
    lxm_obj_str(st, "driver", ops->name);
    lxm_obj_str(st, "image", c->config->image);
    lxm_obj_quantity(st, "own_bytes", ops->usage(c->dir, &bytes, &ignored) == 0 ? (int64_t)bytes : -1,
                     LXM_UNIT_BYTES);
}

/* list -c: one row per column, so adding a column is one line. `key` is
 * the row's field (dotted when nested); `needs` is what must be gathered
 * beyond describe(). */
enum { NEED_EXTRA = 1, NEED_USAGE = 2, NEED_STORAGE = 4, NEED_ADDRS = 8, NEED_CONFIG = 16 };
static const struct list_column {
    const char *name;
    const char *key;
    const char *header;
    unsigned needs;
} list_columns[] = {
    {"name", "name", "NAME", 0},
    {"state", "state", "STATE", 0},
    {"ipv4", "ipv4", "IPV4", NEED_ADDRS},
    {"ipv6", "ipv6", "IPV6", NEED_ADDRS},
    {"pid", "pid", "PID", 0},
    {"template", "template", "TEMPLATE", NEED_CONFIG},
    {"release", "release", "RELEASE", NEED_CONFIG},
    {"autostart", "autostart", "AUTOSTART", NEED_CONFIG},
    {"profiles", "profiles", "PROFILES", NEED_EXTRA | NEED_CONFIG},
    {"uptime", "uptime_s", "UPTIME", NEED_EXTRA | NEED_CONFIG},
    {"memory", "memory.usage_bytes", "MEMORY", NEED_USAGE},
    {"memory_limit", "memory.limit_bytes", "MEMORY LIMIT", NEED_USAGE},
    {"cpu", "cpu.usage_ns", "CPU", NEED_USAGE},
    {"processes", "pids.current", "PROCESSES", NEED_USAGE},
    {"disk", "storage.own_bytes", "DISK", NEED_STORAGE | NEED_CONFIG},
    {"storage", "storage.driver", "STORAGE", NEED_STORAGE | NEED_CONFIG},
};
#define LIST_DEFAULT_COLUMNS "name,state,ipv4,ipv6,pid,template,autostart"

static int parse_columns(const char *spec, const char **keys, const char **headers, size_t max,
                         unsigned *needs, struct lxm_error *err)
{
    _cleanup_free_ char *copy = strdup(spec);
    if (!copy)
        return lxm_error_set(err, ENOMEM, "out of memory");
    size_t n = 0;
    char *save = NULL;
    for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        const struct list_column *col = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(list_columns) && !col; i++)
            if (strcmp(list_columns[i].name, w) == 0)
                col = &list_columns[i];
        if (!col) {
            char names[512] = "";
            for (size_t i = 0; i < ARRAY_SIZE(list_columns); i++)
                snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                         i ? ", " : "", list_columns[i].name);
            return lxm_usage_error(err, "list", "-c %s: unknown column '%s' (%s)", spec, w, names);
        }
        if (n + 1 >= max)
            return lxm_usage_error(err, "list", "-c %s: too many columns", spec);
        keys[n] = col->key;
        headers[n++] = col->header;
        *needs |= col->needs;
    }
    if (n == 0)
        return lxm_usage_error(err, "list", "-c '%s': no column named", spec);
    keys[n] = headers[n] = NULL;
    return 0;
}

static void add_usage(struct lxm_value *obj, struct lxm_container *c, bool active,
                      const struct lxm_limits *lim);
static void add_storage(struct lxm_value *obj, const struct lxm_container *c);
static void add_extra(struct lxm_value *obj, struct lxm_container *c,
                      const struct lxm_runtime_info *ri);

static struct lxm_value *list_row(struct lxm_ctx *ctx, const char *name, unsigned needs,
                                  int home_ns)
{
    _cleanup_container_ struct lxm_container *c = NULL;
    if (lxm_container_new(&ctx->paths, name, &c, NULL) < 0)
        return NULL;
    struct lxm_error lerr = { 0 };
    /* config.yaml is parsed only for the columns that show it. */
    if ((needs & NEED_CONFIG) && lxm_container_load_config(c, &lerr) < 0)
        lxm_warn("%s", lerr.msg);
    struct lxm_value *row = lxm_value_object();
    struct lxm_runtime_info ri = { 0 };
    describe(c, row, &ri, needs & NEED_ADDRS, home_ns, &lerr);
    if ((needs & NEED_EXTRA) && c->config)
        add_extra(row, c, &ri);
    if (needs & NEED_USAGE)
        add_usage(row, c, is_active(ri.state), NULL);
    if ((needs & NEED_STORAGE) && c->config)
        add_storage(row, c);
    return row;
}

/* The rows are gathered by a few threads: most of a row's time is spent
 * waiting (for its monitor to answer, for netlink), so with many
 * containers they overlap. Each row is built from its own container and
 * lands at its own index: the order is the names' order. */
struct list_job {
    struct lxm_ctx *ctx;
    char **names;
    struct lxm_value **rows;
    size_t n;
    unsigned needs;
    int home_ns; /* our netns, shared by the threads (describe) */
    atomic_size_t next;
};

static void *list_worker(void *arg)
{
    struct list_job *j = arg;
    for (size_t i; (i = atomic_fetch_add(&j->next, 1)) < j->n;)
        j->rows[i] = list_row(j->ctx, j->names[i], j->needs, j->home_ns);
    return NULL;
}

#define LIST_ROWS_PER_THREAD 16
#define LIST_MAX_THREADS 8

static int list_rows(struct lxm_ctx *ctx, char **names, unsigned needs, struct lxm_value *out,
                     struct lxm_error *err)
{
    struct list_job j = { .ctx = ctx, .names = names, .n = strv_length(names), .needs = needs };
    _cleanup_free_ struct lxm_value **rows = calloc(j.n + 1, sizeof(*rows));
    if (!rows)
        return lxm_error_set(err, ENOMEM, "out of memory");
    j.rows = rows;
    _cleanup_close_ int home_ns =
        needs & NEED_ADDRS ? open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC) : -1;
    j.home_ns = home_ns;
    pthread_t tid[LIST_MAX_THREADS];
    size_t want = j.n / LIST_ROWS_PER_THREAD, started = 0;
    if (want > LIST_MAX_THREADS)
        want = LIST_MAX_THREADS;
    while (started < want && pthread_create(&tid[started], NULL, list_worker, &j) == 0)
        started++;
    list_worker(&j); /* this thread too (alone when there are few rows) */
    for (size_t t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    for (size_t i = 0; i < j.n; i++)
        if (rows[i])
            lxm_array_push(out, rows[i]);
    return 0;
}

/* list NAME...: like LXD's `lxc list web`, a word is a name prefix (web:
 * web, web1, webserver); one with *, ? or [ is a shell pattern for the
 * whole name (fnmatch). A name any of them matches is kept. */
static bool name_matches(const char *name, char *const *filters)
{
    for (size_t i = 0; filters[i]; i++) {
        const char *f = filters[i];
        if (strpbrk(f, "*?[") ? fnmatch(f, name, 0) == 0 : strncmp(name, f, strlen(f)) == 0)
            return true;
    }
    return false;
}

static int keep_matching(char ***names, char *const *filters, struct lxm_error *err)
{
    _cleanup_strv_free_ char **kept = calloc(1, sizeof(char *));
    if (!kept)
        return lxm_error_set(err, ENOMEM, "out of memory");
    for (size_t i = 0; (*names)[i]; i++)
        if (name_matches((*names)[i], filters) && strv_push(&kept, (*names)[i]) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    strv_free(*names);
    *names = TAKE_PTR(kept);
    return 0;
}

int cmd_list(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option opts[] = { { "columns", required_argument, NULL, 'c' }, { 0 } };
    const char *spec = LIST_DEFAULT_COLUMNS;
    bool picked = false;
    _cleanup_strv_free_ char **filters = NULL;
    /* options may follow the names: `list web -c name,state` */
    while (optind < argc) {
        int before = optind;
        int o = lxm_getopt("list", argc, argv, "c:", opts, err);
        if (o == 'h')
            return 0;
        if (o == -1) {
            /* "--" ended the options (optind 0 is getopt's first call) */
            int dashes = optind - 1;
            if (optind >= argc ||
                (dashes >= (before > 0 ? before : 1) && !strcmp(argv[dashes], "--")))
                break;
            if (strv_push(&filters, argv[optind++]) < 0)
                return lxm_error_set(err, ENOMEM, "out of memory");
            continue;
        }
        if (o != 'c')
            return -LXM_EUSAGE;
        spec = optarg;
        picked = true;
    }
    for (; optind < argc; optind++) /* after "--": names only */
        if (strv_push(&filters, argv[optind]) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    const char *keys[ARRAY_SIZE(list_columns) * 2 + 1], *headers[ARRAY_SIZE(list_columns) * 2 + 1];
    unsigned needs = 0;
    int r = parse_columns(spec, keys, headers, ARRAY_SIZE(keys), &needs, err);
    if (r < 0)
        return r;

    _cleanup_strv_free_ char **names = NULL;
    r = lxm_container_list_names(&ctx->paths, &names, err);
    if (r < 0)
        return r;
    if (filters && (r = keep_matching(&names, filters, err)) < 0)
        return r;
    /* CSV without -c keeps every field, in the order of the JSON. */
    bool table = ctx->format == LXM_OUT_TABLE || (ctx->format == LXM_OUT_CSV && picked);
    if (!table)
        needs |= NEED_ADDRS | NEED_CONFIG; /* every row carries every field */
    struct lxm_value *rows = lxm_value_array();
    r = list_rows(ctx, names, needs, rows, err);
    if (r < 0) {
        lxm_value_free(rows);
        return r;
    }
    lxm_output_print(stdout, ctx->format, rows, table ? keys : NULL,
                     ctx->format == LXM_OUT_TABLE ? headers : NULL);
    lxm_value_free(rows);
    return 0;
}

/* The port forwards in place for it (read from nftables). */
static void add_forwards(struct lxm_ctx *ctx, struct lxm_value *obj, const char *name)
{
    _cleanup_free_ struct lxm_portfwd_entry *e = NULL;
    int n = 0;
    struct lxm_error err = {0};
    if (lxm_ports_list(&ctx->paths, name, &e, &n, &err) < 0) {
        lxm_warn("%s: %s", name, err.msg);
        return;
    }
    if (ctx->format == LXM_OUT_TABLE) {
        /* One line, like info's other lists, but each forward has spaces
         * in it: ", " between them, or the comma of a list would not read
         * apart from them ("tcp 0.0.0.0:80 -> 10.0.3.2:80, tcp [::]:80
         * -> [fd42::2]:80"). */
        _cleanup_free_ char *line = NULL;
        size_t len = 0;
        _cleanup_fclose_ FILE *f = open_memstream(&line, &len);
        for (int i = 0; f && i < n; i++) {
            char s[128];
            lxm_portfwd_format(&e[i].f, s, sizeof(s));
            fprintf(f, "%s%s", i ? ", " : "", s);
        }
        if (f && fflush(f) == 0)
            lxm_obj_str(obj, "forwards", n ? line : "-");
        return;
    }
    struct lxm_value *arr = lxm_obj_array(obj, "forwards");
    for (int i = 0; i < n; i++) {
        char l[INET6_ADDRSTRLEN], t[INET6_ADDRSTRLEN];
        lxm_portfwd_addr(&e[i].f, false, l);
        lxm_portfwd_addr(&e[i].f, true, t);
        struct lxm_value *v = lxm_value_object();
        lxm_obj_str(v, "proto", lxm_portfwd_proto_name(e[i].f.proto));
        lxm_obj_str(v, "address", l);
        lxm_obj_int(v, "host", e[i].f.host_port);
        lxm_obj_str(v, "target", t);
        lxm_obj_int(v, "target_port", e[i].f.target_port);
        lxm_array_push(arr, v);
    }
}

int cmd_info(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option opts[] = { { 0 } };
    int o;
    while ((o = lxm_getopt("info", argc, argv, "", opts, err)) != -1) {
        if (o == 'h')
            return 0;
        return -LXM_EUSAGE;
    }
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = lxm_cmd_container_arg(ctx, "info", argc, argv, 0, &c, err);
    if (r < 0)
        return r;
    r = lxm_container_load_config(c, err);
    if (r < 0)
        return r;

    struct lxm_value *obj = lxm_value_object();
    struct lxm_runtime_info ri = { 0 };
    describe(c, obj, &ri, true, -1, err);
    bool active = is_active(ri.state);
    struct lxm_ready_info rd = { .boot_ms = -1 };
    /* A monitor that did not answer the state request is not asked again. */
    if (!ri.monitor_busy)
        lxm_ready_query(c, &rd, NULL);
    /* A container whose monitor died reports RUNNING from its init: ready. */
    lxm_obj_bool(obj, "ready", ri.state == LXM_STATE_RUNNING || (rd.known && rd.ready));
    lxm_obj_str(obj, "status", rd.known && rd.status[0] ? rd.status : NULL);
    lxm_obj_int_or_null(obj, "boot_ms", rd.known ? rd.boot_ms : -1);
    add_extra(obj, c, &ri);
    /* The cpu limits as they apply: a profile's too (best effort). */
    struct lxm_error ignored = {0};
    static const struct lxm_limits unknown = {.cpu = -1};
    bool merged = lxm_config_effective(&ctx->paths, c->config, &ignored) == 0;
    add_usage(obj, c, active, merged ? &c->config->limits : &unknown);
    add_storage(obj, c);
    struct lxm_netif_stats *st = NULL;
    int n = 0;
    if (active && ri.init_pid > 0 && lxm_network_stats(ri.init_pid, &st, &n, NULL) == 0) {
        struct lxm_value *net = lxm_obj_object(obj, "network");
        for (int i = 0; i < n; i++) {
            struct lxm_value *iface = lxm_obj_object(net, st[i].name);
            lxm_obj_quantity(iface, "rx_bytes", (int64_t)st[i].rx_bytes, LXM_UNIT_BYTES);
            lxm_obj_quantity(iface, "tx_bytes", (int64_t)st[i].tx_bytes, LXM_UNIT_BYTES);
        }
        free(st);
    }
    if (active)
        add_forwards(ctx, obj, c->name);
    lxm_output_print(stdout, ctx->format, obj, NULL, NULL);
    lxm_value_free(obj);
    return 0;
}

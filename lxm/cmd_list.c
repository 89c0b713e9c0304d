/* list, info: what containers exist and what they are doing. State comes
 * from the runtime (monitor or pidfd), usage from the cgroup, addresses
 * from the container's network namespace. */
#include <errno.h>
#include <stdlib.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cgroup.h"
#include "cmd.h"
#include "network.h"
#include "network-ports.h"
#include "net/addr.h"
#include "output.h"
#include "runtime.h"
#include "storage.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/strv.h"

static bool is_active(enum lxm_state s)
{
    return s == LXM_STATE_RUNNING || s == LXM_STATE_FROZEN || s == LXM_STATE_STOPPING ||
           s == LXM_STATE_STARTING;
}

/* Fields shared by list rows and info: name, state, pid, ipv4, ipv6, template... */
static int describe(struct lxm_container *c, struct lxm_value *obj, struct lxm_runtime_info *ri,
                    struct lxm_error *err)
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
    _cleanup_strv_free_ char **ips = NULL, **ips6 = NULL;
    if (is_active(ri->state) && ri->init_pid > 0) {
        (void)lxm_network_ipv4(ri->init_pid, &ips, NULL);
        (void)lxm_network_ipv6(ri->init_pid, &ips6, NULL);
    }

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

int cmd_list(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option opts[] = { { 0 } };
    int o;
    while ((o = lxm_getopt("list", argc, argv, "", opts, err)) != -1) {
        if (o == 'h')
            return 0;
        return -LXM_EUSAGE;
    }
    if (optind < argc)
        return lxm_usage_error(err, "list", "unexpected argument '%s'", argv[optind]);

    _cleanup_strv_free_ char **names = NULL;
    int r = lxm_container_list_names(&ctx->paths, &names, err);
    if (r < 0)
        return r;
    struct lxm_value *rows = lxm_value_array();
    for (size_t i = 0; names[i]; i++) {
        _cleanup_container_ struct lxm_container *c = NULL;
        if (lxm_container_new(&ctx->paths, names[i], &c, NULL) < 0)
            continue;
        struct lxm_error lerr = { 0 };
        if (lxm_container_load_config(c, &lerr) < 0)
            lxm_warn("%s", lerr.msg);
        struct lxm_value *row = lxm_value_object();
        struct lxm_runtime_info ri = { 0 };
        describe(c, row, &ri, err);
        lxm_array_push(rows, row);
    }
    static const char *const cols[] = { "name", "state", "ipv4", "ipv6", "pid", "template", "autostart", NULL };
    lxm_output_print(stdout, ctx->format, rows, ctx->format == LXM_OUT_TABLE ? cols : NULL, NULL);
    lxm_value_free(rows);
    return 0;
}

static void add_usage(struct lxm_value *obj, struct lxm_container *c, bool active)
{
    struct lxm_cgroup_stats st = { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1 };
    struct lxm_cgroup *cg = NULL;
    if (active && lxm_cgroup_open(c->id, &cg, NULL) == 0) {
        (void)lxm_cgroup_stats(cg, &st, NULL);
        lxm_cgroup_free(cg);
    }
    struct lxm_value *mem = lxm_obj_object(obj, "memory");
    lxm_obj_int_or_null(mem, "usage_bytes", st.memory_usage);
    lxm_obj_int_or_null(mem, "limit_bytes", st.memory_limit);
    lxm_obj_int_or_null(mem, "peak_bytes", st.memory_peak);
    lxm_obj_int_or_null(mem, "swap_bytes", st.swap_usage);
    lxm_obj_int_or_null(mem, "oom_kills", st.oom_kills);
    struct lxm_value *cpu = lxm_obj_object(obj, "cpu");
    lxm_obj_int_or_null(cpu, "usage_ns", st.cpu_usage_ns);
    struct lxm_value *pids = lxm_obj_object(obj, "pids");
    lxm_obj_int_or_null(pids, "current", st.pids_current);
    lxm_obj_int_or_null(pids, "limit", st.pids_limit);
    struct lxm_value *io = lxm_obj_object(obj, "io");
    lxm_obj_int_or_null(io, "read_bytes", st.io_read_bytes);
    lxm_obj_int_or_null(io, "write_bytes", st.io_write_bytes);
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
    lxm_obj_int_or_null(st, "own_bytes", ops->usage(c->dir, &bytes, &ignored) == 0 ? (int64_t)bytes : -1);
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
    if (ctx->format == LXM_OUT_TABLE) { /* one readable line each */
        _cleanup_strv_free_ char **lines = calloc(1, sizeof(char *));
        for (int i = 0; lines && i < n; i++) {
            char s[80];
            lxm_portfwd_format(&e[i].f, s, sizeof(s));
            (void)strv_push(&lines, s);
        }
        lxm_obj_strv(obj, "forwards", lines);
        return;
    }
    struct lxm_value *arr = lxm_obj_array(obj, "forwards");
    for (int i = 0; i < n; i++) {
        char l[16], t[16];
        lxm_ipv4_format(e[i].f.listen, l);
        lxm_ipv4_format(e[i].f.target, t);
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
    const char *name;
    int r = lxm_arg_name("info", argc, argv, &name, err);
    if (r < 0)
        return r;
    _cleanup_container_ struct lxm_container *c = NULL;
    r = lxm_container_new(&ctx->paths, name, &c, err);
    if (r < 0)
        return r;
    r = lxm_container_load_config(c, err);
    if (r < 0)
        return r;

    struct lxm_value *obj = lxm_value_object();
    struct lxm_runtime_info ri = { 0 };
    describe(c, obj, &ri, err);
    bool active = is_active(ri.state);
    lxm_obj_strv(obj, "profiles", c->config->profiles);
    lxm_obj_int_or_null(obj, "uptime_s",
                        active && ri.started_at > 0 ? (int64_t)time(NULL) - ri.started_at : -1);
    add_usage(obj, c, active);
    add_storage(obj, c);
    struct lxm_netif_stats *st = NULL;
    int n = 0;
    if (active && ri.init_pid > 0 && lxm_network_stats(ri.init_pid, &st, &n, NULL) == 0) {
        struct lxm_value *net = lxm_obj_object(obj, "network");
        for (int i = 0; i < n; i++) {
            struct lxm_value *iface = lxm_obj_object(net, st[i].name);
            lxm_obj_int(iface, "rx_bytes", (int64_t)st[i].rx_bytes);
            lxm_obj_int(iface, "tx_bytes", (int64_t)st[i].tx_bytes);
        }
        free(st);
    }
    if (active)
        add_forwards(ctx, obj, c->name);
    lxm_output_print(stdout, ctx->format, obj, NULL, NULL);
    lxm_value_free(obj);
    return 0;
}

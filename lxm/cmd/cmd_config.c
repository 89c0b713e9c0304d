/* config show/set/unset/edit: argument parsing and
 * printing around the config core. Every read-modify-write of a
 * config.yaml runs under the container's lock, validates the whole result
 * and replaces the file atomically, so a bad value changes nothing. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "net/network-ports.h"
#include "cmd/output.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"
#include "config/ydoc.h"

static void config_freep(struct lxm_config **c)
{
    lxm_config_free(*c);
}
#define _cleanup_config_ __attribute__((cleanup(config_freep)))

/* The effective config (profiles merged) of cfg, in a copy: the profiles
 * it names must exist (a typo fails now, not at the next start), and its
 * limits are what a running container gets. */
static int effective_copy(struct lxm_ctx *ctx, const struct lxm_config *cfg,
                          struct lxm_config **out, struct lxm_error *err)
{
    _cleanup_free_ char *text = NULL;
    _cleanup_config_ struct lxm_config *copy = NULL;
    int r = lxm_config_to_yaml(cfg, &text, err);
    if (r == 0)
        r = lxm_config_parse(cfg->name, text, &copy, err);
    if (r == 0)
        r = lxm_config_effective(&ctx->paths, copy, err);
    if (r == 0)
        *out = TAKE_PTR(copy);
    return r;
}

/* Undo a live ports change: the running container gets the forwards of
 * the saved config.yaml back. */
static void restore_ports(struct lxm_ctx *ctx, struct lxm_container *c)
{
    _cleanup_config_ struct lxm_config *saved = NULL, *eff = NULL;
    struct lxm_error e = {0};
    if (lxm_config_load(c->config_file, &saved, &e) < 0 ||
        effective_copy(ctx, saved, &eff, &e) < 0 || lxm_ports_change(c, eff, &e) < 0)
        lxm_warn("%s: could not put back the saved port forwards: %s", c->name, e.msg);
}

/* All or nothing, with c locked: the running container takes the new
 * limits and port forwards (or is put back as it was and nothing is
 * saved), then save() writes config.yaml (or what the old file says is
 * put back). */
static int change_config(struct lxm_ctx *ctx, struct lxm_container *c, const struct lxm_config *cfg,
                         bool limits, bool ports,
                         int (*save)(struct lxm_container *, const void *, struct lxm_error *),
                         const void *what, struct lxm_error *err)
{
    _cleanup_config_ struct lxm_config *eff = NULL;
    int r = effective_copy(ctx, cfg, &eff, err);
    if (r < 0)
        return r;
    if (limits && (r = lxm_runtime_change_limits(c, &eff->limits, err)) < 0)
        return lxm_error_prefix(err, "config unchanged: applying the limits to running '%s' failed",
                                c->name);
    if (ports && (r = lxm_ports_change(c, eff, err)) < 0) {
        struct lxm_error e = {0};
        if (limits && lxm_runtime_apply_limits(c, &e) < 0)
            lxm_warn("%s: could not put back the saved limits: %s", c->name, e.msg);
        return lxm_error_prefix(err, "config unchanged: running '%s'", c->name);
    }
    r = save(c, what, err);
    if (r < 0 && limits) {
        struct lxm_error e = {0};
        if (lxm_runtime_apply_limits(c, &e) < 0)
            lxm_warn("%s: could not put back the saved limits: %s", c->name, e.msg);
    }
    if (r < 0 && ports)
        restore_ports(ctx, c);
    return r;
}

static int print_config(struct lxm_ctx *ctx, const struct lxm_config *cfg, bool json,
                        struct lxm_error *err)
{
    _cleanup_free_ char *text = NULL;
    int r = json ? lxm_config_to_json(cfg, &text, err) : lxm_config_to_yaml(cfg, &text, err);
    if (r < 0)
        return r;
    fputs(text, stdout);
    return 0;
}

static int config_show(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    static const struct option opts[] = {{"effective", no_argument, NULL, 'e'}, {0}};
    bool effective = false;
    const char *name = NULL;
    /* options may follow the name: `config show web1 -e` */
    while (optind < argc) {
        int o = lxm_getopt("config", argc, argv, "e", opts, err);
        if (o == 'h')
            return 0;
        if (o == -1) {
            if (name)
                return lxm_usage_error(err, "config", "unexpected argument '%s'", argv[optind]);
            name = argv[optind++];
            continue;
        }
        if (o != 'e')
            return -LXM_EUSAGE;
        effective = true;
    }
    if (!name)
        return lxm_usage_error(err, "config", "show: missing container name");
    _cleanup_container_ struct lxm_container *c = NULL;
    int r = lxm_cmd_container(ctx, "config", name, 0, &c, err);
    if (r == 0)
        r = lxm_container_load_config(c, err); /* a broken file is an error */
    if (r == 0 && effective)
        r = lxm_config_effective(&ctx->paths, c->config, err);
    if (r < 0)
        return r;
    if (ctx->format == LXM_OUT_JSON || ctx->format == LXM_OUT_YAML || effective)
        return print_config(ctx, c->config, ctx->format == LXM_OUT_JSON, err);
    _cleanup_free_ char *text = NULL;
    if ((r = lxm_yaml_read_file(c->config_file, &text, NULL, err)) < 0)
        return r;
    fputs(text, stdout);
    return 0;
}

static bool key_under(const char *key, const char *top)
{
    size_t n = strlen(top);
    return !strncmp(key, top, n) && (key[n] == '\0' || key[n] == '.');
}

static bool touches(char *const *keys, const char *top)
{
    for (size_t i = 0; keys && keys[i]; i++)
        if (key_under(keys[i], top))
            return true;
    return false;
}

/* Limits come from the limits keys and from profiles. */
static bool touches_limits(char *const *keys)
{
    for (size_t i = 0; keys && keys[i]; i++)
        if (key_under(keys[i], "limits") || key_under(keys[i], "profiles"))
            return true;
    return false;
}

/* Keys a running container takes at once (limits, ports) or that do not
 * act on it (provenance, autostart and its order and delay, the stop
 * timeout read at each stop). */
static const char *const live_keys[] = {"limits", "ports", "autostart", "autostart_order",
                                        "autostart_delay", "stop_timeout", "template",
                                        "release", "arch", "created"};

/* Keys the monitor reads again when the guest reboots (runtime/hostname.h). */
static const char *const reboot_keys[] = {"hostname"};

static bool key_among(const char *key, const char *const *tops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (key_under(key, tops[i]))
            return true;
    return false;
}

static bool applies_now(const char *key)
{
    return key_among(key, live_keys, ARRAY_SIZE(live_keys));
}

/* One line on stderr naming the keys a running c only gets at its next
 * start (or reboot, when a reboot takes each of them). */
static void note_next_start(struct lxm_container *c, char *const *keys)
{
    char list[256] = "";
    bool at_reboot = true;
    for (size_t i = 0; keys && keys[i]; i++) {
        size_t n = strlen(list);
        if (applies_now(keys[i]))
            continue;
        snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", keys[i]);
        at_reboot = at_reboot && key_among(keys[i], reboot_keys, ARRAY_SIZE(reboot_keys));
    }
    struct lxm_runtime_info info;
    struct lxm_error ignored = {0};
    if (!list[0] || lxm_runtime_query(c, &info, &ignored) < 0 || info.state == LXM_STATE_STOPPED)
        return;
    lxm_info("%s is %s: %s take%s effect at its next start%s ('lxm restart %s')", c->name,
             lxm_state_name(info.state), list, strchr(list, ',') ? "" : "s",
             at_reboot ? " or reboot" : "", c->name);
}

static int save_struct(struct lxm_container *c, const void *cfg, struct lxm_error *err)
{
    return lxm_config_save(cfg, c->config_file, err);
}

static int parse_no_options(int argc, char **argv, struct lxm_error *err)
{
    static const struct option opts[] = {{0}};
    int o;
    while ((o = lxm_getopt("config", argc, argv, "", opts, err)) != -1)
        return o == 'h' ? 1 : -LXM_EUSAGE;
    return 0;
}

/* config set NAME KEY=VALUE... / config unset NAME KEY...: all or nothing. */
static int config_change(struct lxm_ctx *ctx, int argc, char **argv, bool set,
                         struct lxm_error *err)
{
    const char *verb = set ? "set" : "unset";
    int r = parse_no_options(argc, argv, err);
    if (r != 0)
        return r > 0 ? 0 : r;
    if (optind >= argc)
        return lxm_usage_error(err, "config", "%s: missing container name", verb);
    if (optind + 1 >= argc)
        return lxm_usage_error(err, "config", "%s: missing %s", verb, set ? "KEY=VALUE" : "KEY");
    const char *name = argv[optind];
    _cleanup_strv_free_ char **keys = NULL;
    /* LXD's form, one key: `set NAME KEY VALUE` (the key has no '='). */
    bool pair = set && argc - optind == 3 && !strchr(argv[optind + 1], '=');
    if (pair) {
        if (!*argv[optind + 1])
            return lxm_usage_error(err, "config", "set: empty KEY");
        if (strv_push(&keys, argv[optind + 1]) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    }
    for (int i = optind + 1; !pair && i < argc; i++) {
        size_t klen = set ? strcspn(argv[i], "=") : strlen(argv[i]);
        if (klen == 0 || (set && argv[i][klen] != '='))
            return lxm_usage_error(err, "config", "%s: '%s' is not %s", verb, argv[i],
                                   set ? "KEY=VALUE (e.g. limits.memory=512MiB)" : "a KEY");
        if (strv_consume(&keys, strndup(argv[i], klen)) < 0)
            return lxm_error_set(err, ENOMEM, "out of memory");
    }
    _cleanup_container_ struct lxm_container *c = NULL;
    if ((r = lxm_cmd_container(ctx, "config", name, LXM_CMD_LOCKED, &c, err)) < 0 ||
        (r = lxm_container_load_config(c, err)) < 0)
        return r;
    for (int i = 0; keys[i]; i++) {
        const char *value = pair ? argv[optind + 2] : argv[optind + 1 + i] + strlen(keys[i]) + 1;
        r = set ? lxm_config_set(c->config, keys[i], value, err)
                : lxm_config_unset(c->config, keys[i], err);
        if (r < 0)
            return r;
    }
    r = change_config(ctx, c, c->config, touches_limits(keys), touches(keys, "ports"),
                      save_struct, c->config, err);
    if (r == 0)
        note_next_start(c, keys);
    return r;
}

int lxm_run_editor(const char *file, struct lxm_error *err)
{
    const char *editor = getenv("VISUAL");
    if (!editor || !*editor)
        editor = getenv("EDITOR");
    if (!editor || !*editor)
        editor = "vi";
    /* Like git: the editor string is shell text, the file an argument. */
    _cleanup_free_ char *script = xasprintf("%s \"$@\"", editor);
    if (!script)
        return lxm_error_set(err, ENOMEM, "out of memory");
    pid_t pid = fork();
    if (pid < 0)
        return lxm_error_errno(err, errno, "fork");
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", script, "sh", file, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return lxm_error_errno(err, errno, "wait for the editor");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return lxm_error_set(err, ECANCELED, "editor '%s' failed; nothing changed", editor);
    return 0;
}

static int edit_temp_copy(const char *name, const char *text, char **out, struct lxm_error *err)
{
    const char *tmpdir = getenv("TMPDIR");
    _cleanup_free_ char *path =
        xasprintf("%s/lxm-%s-XXXXXX.yaml", tmpdir && *tmpdir ? tmpdir : "/tmp", name);
    if (!path)
        return lxm_error_set(err, ENOMEM, "out of memory");
    _cleanup_close_ int fd = mkostemps(path, 5, O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "create %s", path);
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len)
        return lxm_error_errno(err, errno ? errno : EIO, "write %s", path);
    *out = TAKE_PTR(path);
    return 0;
}

/* The edit must be valid as a whole; on error it is kept for another try. */
static int check_edit(struct lxm_ctx *ctx, const char *name, const char *tmp, const char *edited,
                      struct lxm_config **out, struct lxm_error *err)
{
    _cleanup_config_ struct lxm_config *cfg = NULL, *eff = NULL;
    int r = lxm_config_parse(tmp, edited, &cfg, err);
    if (r == 0 && strcmp(cfg->name, name) != 0)
        r = lxm_error_set(err, EINVAL, "%s: name: cannot be changed (it must stay '%s')", tmp,
                          name);
    if (r == 0)
        r = effective_copy(ctx, cfg, &eff, err);
    if (r < 0)
        return r;
    *out = TAKE_PTR(cfg);
    return 0;
}

/* Save the text as written: the user's comments and layout stay. */
static int save_text(struct lxm_container *c, const void *text, struct lxm_error *err)
{
    int r = write_file_atomic(c->config_file, text, strlen(text), 0644);
    return r < 0 ? lxm_error_errno(err, -r, "write %s", c->config_file) : 0;
}

/* The editor runs without the lock (it may stay open for an hour); the
 * save takes it and refuses when config.yaml changed in the meantime. */
static int commit_edit(struct lxm_ctx *ctx, struct lxm_container *c, const char *old,
                       const char *tmp, const char *edited, struct lxm_error *err)
{
    _cleanup_config_ struct lxm_config *cfg = NULL;
    _cleanup_free_ char *now = NULL;
    int r = check_edit(ctx, c->name, tmp, edited, &cfg, err);
    if (r == 0)
        r = lxm_container_lock(c, err);
    if (r == 0 && (r = read_file(c->config_file, &now, NULL)) < 0)
        r = r == -ENOENT ? lxm_error_set(err, ENOENT, "container '%s' was deleted", c->name)
                         : lxm_error_errno(err, -r, "read %s", c->config_file);
    if (r == 0 && strcmp(now, old) != 0)
        r = lxm_error_set(err, EAGAIN, "%s changed while you edited it", c->config_file);
    if (r == 0)
        r = change_config(ctx, c, cfg, true, true, save_text, edited, err);
    if (r < 0) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof(err->msg) - n, " (config unchanged; your edit is kept in %s)",
                 tmp);
    }
    return r;
}

/* text as YAML without the keys a running container takes at once. */
static char *without_live_keys(const char *text)
{
    _cleanup_config_ struct lxm_config *cfg = NULL;
    struct lxm_error ignored = {0};
    char *out = NULL;
    if (lxm_config_parse("config.yaml", text, &cfg, &ignored) < 0)
        return NULL;
    for (size_t i = 0; i < ARRAY_SIZE(live_keys); i++)
        (void)lxm_config_unset(cfg, live_keys[i], &ignored);
    return lxm_config_to_yaml(cfg, &out, &ignored) < 0 ? NULL : out;
}

/* An edit of a running container that changed more than what applies at
 * once says so, like config set. */
static void note_edit_next_start(struct lxm_container *c, const char *old, const char *edited)
{
    _cleanup_free_ char *a = without_live_keys(old), *b = without_live_keys(edited);
    struct lxm_runtime_info info;
    struct lxm_error ignored = {0};
    if (!a || !b || !strcmp(a, b) || lxm_runtime_query(c, &info, &ignored) < 0 ||
        info.state == LXM_STATE_STOPPED)
        return;
    lxm_info("%s is %s: changes other than limits take effect at its next start "
             "('lxm restart %s')",
             c->name, lxm_state_name(info.state), c->name);
}

static int config_edit(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    int r = parse_no_options(argc, argv, err);
    if (r != 0)
        return r > 0 ? 0 : r;
    _cleanup_container_ struct lxm_container *c = NULL;
    _cleanup_free_ char *old = NULL, *tmp = NULL, *edited = NULL;
    if ((r = lxm_cmd_container_arg(ctx, "config", argc, argv, 0, &c, err)) < 0)
        return r;
    if ((r = lxm_yaml_read_file(c->config_file, &old, NULL, err)) < 0)
        return r;
    if ((r = edit_temp_copy(c->name, old, &tmp, err)) < 0)
        return r;
    r = lxm_run_editor(tmp, err);
    if (r == 0)
        r = lxm_yaml_read_file(tmp, &edited, NULL, err);
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    if (!strcmp(old, edited)) {
        unlink(tmp);
        lxm_info("%s: no changes", c->config_file);
        return 0;
    }
    r = commit_edit(ctx, c, old, tmp, edited, err);
    if (r == 0) {
        unlink(tmp);
        note_edit_next_start(c, old, edited);
    }
    return r;
}

int cmd_config(struct lxm_ctx *ctx, int argc, char **argv, struct lxm_error *err)
{
    if (argc < 2)
        return lxm_usage_error(err, "config", "missing subcommand (show, set, unset or edit)");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        lxm_print_command_help("config");
        return 0;
    }
    const char *sub = argv[1];
    argc--;
    argv++;
    if (!strcmp(sub, "show"))
        return config_show(ctx, argc, argv, err);
    if (!strcmp(sub, "set"))
        return config_change(ctx, argc, argv, true, err);
    if (!strcmp(sub, "unset"))
        return config_change(ctx, argc, argv, false, err);
    if (!strcmp(sub, "edit"))
        return config_edit(ctx, argc, argv, err);
    return lxm_usage_error(err, "config", "unknown subcommand '%s' (show, set, unset or edit)",
                           sub);
}

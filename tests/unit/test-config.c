/* config: the YAML loader on good and bad documents (every error path with
 * its exact file:line:col and message), sizes/durations/signals, names,
 * profile merge order, round trip, set/unset, atomic save. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "runtime/lxcfs.h"
#include "config/container.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/strv.h"
#include "config/ydoc.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

#define FILE_NAME "/x/config.yaml"

static const char full_config[] = "name: web1\n"
                                  "template: debian            # provenance\n"
                                  "release: bookworm\n"
                                  "arch: amd64\n"
                                  "created: 2026-11-29T05:00:00Z\n"
                                  "profiles: [default]\n"
                                  "init: /sbin/init\n"
                                  "signals: {halt: SIGRTMIN+3, reboot: SIGINT}\n"
                                  "hostname: web1\n"
                                  "environment: {LANG: C.UTF-8}\n"
                                  "autostart: true\n"
                                  "autostart_order: 20\n"
                                  "autostart_delay: 3s\n"
                                  "stop_timeout: 45s\n"
                                  "limits:\n"
                                  "  memory: 512MiB\n"
                                  "  memory_swap: 0\n"
                                  "  cpu: 1.5\n"
                                  "  cpu_weight: 100\n"
                                  "  cpuset: \"0\"\n"
                                  "  pids: 2048\n"
                                  "  io_weight: 100\n"
                                  "network:\n"
                                  "  eth0:\n"
                                  "    type: veth\n"
                                  "    bridge: lxmbr0\n"
                                  "    hwaddr: auto\n"
                                  "    mtu: 1500\n"
                                  "    ipv4: dhcp\n"
                                  "    gateway: auto\n"
                                  "mounts:\n"
                                  "  - source: /srv/data\n"
                                  "    path: /data\n"
                                  "    readonly: true\n"
                                  "security:\n"
                                  "  privileged: false\n"
                                  "  idmap: auto\n"
                                  "  nesting: false\n"
                                  "  profile: default\n";

/* Parse text as a container config expecting failure with exactly want. */
static void config_error(const char *text, const char *want, const char *what)
{
    struct lxm_error err = {0};
    struct lxm_config *c = (struct lxm_config *)0x1;
    int r = lxm_config_parse(FILE_NAME, text, &c, &err);
    ok(r == -EINVAL && c == (struct lxm_config *)0x1, "%s: rejected, *out untouched", what);
    is_str(err.msg, want, "%s: message", what);
}

static void test_sizes(void)
{
    static const struct {
        const char *s;
        int r;
        int64_t v;
    } cases[] = {
        {"512MiB", 0, 512LL << 20},
        {"1GB", 0, 1000000000LL},
        {"4096", 0, 4096},
        {"1KB", 0, 1000},
        {"1KiB", 0, 1024},
        {"2GiB", 0, 2LL << 30},
        {"10B", 0, 10},
        {"0", 0, 0},
        {"3 MB", 0, 3000000},
        {"lots", -EINVAL, 0},
        {"-1", -EINVAL, 0},
        {"1.5GiB", -EINVAL, 0},
        {"", -EINVAL, 0},
        {"5mib", -EINVAL, 0},
        {"99999999999999GiB", -ERANGE, 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int64_t v = -42;
        int r = lxm_parse_size(cases[i].s, &v);
        is_int(r, cases[i].r, "size '%s' returns %d", cases[i].s, cases[i].r);
        if (cases[i].r == 0)
            is_int(v, cases[i].v, "size '%s' = %lld", cases[i].s, (long long)cases[i].v);
    }
}

static void test_durations(void)
{
    static const struct {
        const char *s;
        int r;
        int64_t v;
    } cases[] = {
        {"500ms", 0, 500}, {"30s", 0, 30000}, {"2m", 0, 120000},  {"10", 0, 10000},
        {"0s", 0, 0},      {"x", -EINVAL, 0}, {"5d", -EINVAL, 0}, {"-3s", -EINVAL, 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int64_t v = -42;
        int r = lxm_parse_duration_ms(cases[i].s, &v);
        is_int(r, cases[i].r, "duration '%s' returns %d", cases[i].s, cases[i].r);
        if (cases[i].r == 0)
            is_int(v, cases[i].v, "duration '%s' = %lld ms", cases[i].s, (long long)cases[i].v);
    }
}

static void test_signals(void)
{
    int s = 0;
    ok(lxm_parse_signal("SIGRTMIN+3", &s) == 0 && s == SIGRTMIN + 3, "SIGRTMIN+3");
    ok(lxm_parse_signal("SIGUSR2", &s) == 0 && s == SIGUSR2, "SIGUSR2");
    ok(lxm_parse_signal("SIGPWR", &s) == 0 && s == SIGPWR, "SIGPWR");
    ok(lxm_parse_signal("TERM", &s) == 0 && s == SIGTERM, "TERM without SIG");
    ok(lxm_parse_signal("15", &s) == 0 && s == 15, "by number");
    ok(lxm_parse_signal("SIGRTMAX-1", &s) == 0 && s == SIGRTMAX - 1, "SIGRTMAX-1");
    ok(lxm_parse_signal("SIGFOO", &s) < 0, "SIGFOO refused");
    ok(lxm_parse_signal("0", &s) < 0, "0 refused");
    ok(lxm_parse_signal("SIGRTMIN+99", &s) < 0, "SIGRTMIN+99 refused");
}

static void test_names(void)
{
    struct lxm_error err = {0};
    char n63[64], n64[65];
    memset(n63, 'a', 63);
    n63[63] = '\0';
    memset(n64, 'a', 64);
    n64[64] = '\0';
    is_int(lxm_validate_name("../x", &err), -EINVAL, "../x refused");
    is_str(err.msg,
           "invalid container name '../x' (use 1-63 of a-z, 0-9 and '-', starting and ending "
           "with a letter or digit)",
           "name error message");
    ok(lxm_validate_name("A", NULL) < 0, "A refused");
    ok(lxm_validate_name(n64, NULL) < 0, "64 chars refused");
    ok(lxm_validate_name("", NULL) < 0, "empty refused");
    ok(lxm_validate_name("-x", NULL) < 0, "leading '-' refused");
    ok(lxm_validate_name("x-", NULL) < 0, "trailing '-' refused (not a hostname)");
    ok(lxm_validate_name("a/b", NULL) < 0, "slash refused");
    ok(lxm_validate_name(n63, NULL) == 0, "63 chars accepted");
    ok(lxm_validate_name("web-1", NULL) == 0, "web-1 accepted");
    ok(lxm_validate_name("0x", NULL) == 0, "leading digit accepted");
}

static void test_good_config(void)
{
    struct lxm_error err = {0};
    struct lxm_config *c = NULL;
    int r = lxm_config_parse(FILE_NAME, full_config, &c, &err);
    is_int(r, 0, "full config parses (%s)", err.msg);
    if (r < 0)
        return;
    is_str(c->name, "web1", "name");
    is_str(c->release, "bookworm", "release");
    is_int(c->halt_signal, SIGRTMIN + 3, "signals.halt");
    is_int(c->reboot_signal, SIGINT, "signals.reboot");
    is_int(c->stop_timeout_ms, 45000, "stop_timeout");
    ok(c->autostart, "autostart");
    is_int(c->autostart_order, 20, "autostart_order");
    is_int(c->autostart_delay_ms, 3000, "autostart_delay");
    is_int(c->limits.memory, 512LL << 20, "limits.memory");
    is_int(c->limits.memory_swap, 0, "limits.memory_swap");
    ok(c->limits.cpu == 1.5, "limits.cpu");
    is_str(c->limits.cpuset, "0", "limits.cpuset");
    is_int(c->limits.pids, 2048, "limits.pids");
    is_int(c->n_netifs, 1, "one interface");
    is_str(c->netifs[0].name, "eth0", "interface name");
    is_int(c->netifs[0].type, LXM_NET_VETH, "interface type");
    is_int(c->netifs[0].mtu, 1500, "interface mtu");
    is_int(c->n_mounts, 1, "one mount");
    ok(c->mounts[0].readonly, "mount readonly");
    is_int(c->n_environment, 1, "one env var");
    is_str(c->environment[0].value, "C.UTF-8", "env value");
    ok(strv_length(c->profiles) == 1 && !strcmp(c->profiles[0], "default"), "profiles");
    ok(c->security.privileged_set && !c->security.privileged, "security.privileged false");
    is_str(c->security_profile, "default", "security.profile");
    lxm_config_free(c);

    ok(lxm_config_parse(FILE_NAME, "name: x\n", &c, &err) == 0, "minimal config parses");
    is_int(c->limits.memory, LXM_UNSET, "unset memory is LXM_UNSET");
    ok(c->limits.cpu < 0 && c->profiles == NULL, "unset cpu < 0, profiles NULL");
    ok(!c->autostart && c->autostart_order == 0 && c->autostart_delay_ms == 0,
       "autostart off, order 0 and no delay by default");
    lxm_config_free(c);

    ok(lxm_config_parse(FILE_NAME, "name: x\nautostart_order: -5\nautostart_delay: 2\n", &c,
                        &err) == 0, "negative order, delay in bare seconds (%s)", err.msg);
    is_int(c ? c->autostart_order : 0, -5, "autostart_order -5");
    is_int(c ? c->autostart_delay_ms : 0, 2000, "autostart_delay 2 = 2 s");
    lxm_config_free(c);
}

static void test_config_errors(void)
{
    config_error("name: x\nlimits:\n  memory: lots\n",
                 FILE_NAME ":3:11: limits.memory: \"lots\" is not a size (use e.g. 512MiB, at least 4KiB)",
                 "bad size");
    config_error("name: x\nlimits:\n  memroy: 1\n",
                 FILE_NAME ":3:3: limits.memroy: unknown key (use memory, memory_swap, cpu, "
                           "cpu_weight, cpuset, pids, io_weight)",
                 "unknown key");
    config_error("name: x\nstop_timeout: soon\n",
                 FILE_NAME ":2:15: stop_timeout: \"soon\" is not a duration (use e.g. 30s, "
                           "500ms or 2m)",
                 "bad duration");
    config_error("name: x\nsignals: {halt: SIGFOO}\n",
                 FILE_NAME ":2:17: signals.halt: \"SIGFOO\" is not a signal (use a name like "
                           "SIGRTMIN+3, SIGPWR, SIGINT, or a number)",
                 "bad signal");
    config_error("name: x\nlimits: [1, 2]\n",
                 FILE_NAME ":2:9: limits: expected a map, found a list (use memory, memory_swap, "
                           "cpu, cpu_weight, cpuset, pids, io_weight)",
                 "list where a map is expected");
    config_error("name: x\nlimits: {cpuset: 0-1-2}\n",
                 FILE_NAME ":2:18: limits.cpuset: \"0-1-2\" is not a CPU list (use a CPU list, "
                           "e.g. 0-1,3)",
                 "bad cpuset");
    _cleanup_free_ char *online = NULL;
    if (read_file("/sys/devices/system/cpu/online", &online, NULL) == 0) {
        online[strcspn(online, "\n")] = '\0';
        _cleanup_free_ char *want = xasprintf(FILE_NAME ":2:18: limits.cpuset: \"0-4095\" is not "
                                                        "within the host's CPUs (use CPUs from %s)",
                                              online);
        config_error("name: x\nlimits: {cpuset: 0-4095}\n", want, "cpuset beyond the host");
    }
    config_error("name: x\nnetwork:\n  eth0: {ipv4: 10.0.0.300/24}\n",
                 FILE_NAME
                 ":3:16: network.eth0.ipv4: \"10.0.0.300/24\" is not an IPv4 CIDR "
                 "address (use dhcp or an address with a prefix length, e.g. 10.77.0.10/24)",
                 "bad CIDR");
    config_error("name: x\nlimits: {memory: 1\n",
                 FILE_NAME ":3:1: yaml syntax error: did not find expected ',' or '}' (while "
                           "parsing a flow mapping)",
                 "syntax error");
    config_error("name: x\nhostname: a\nname: y\n",
                 FILE_NAME ":3:1: name: duplicate key (each key may appear once; the first is at "
                           "line 1)",
                 "duplicate key");
    config_error("hostname: x\n",
                 FILE_NAME ":1:1: name: missing (every container config has name: NAME)",
                 "missing name");
    config_error("name: ../x\n",
                 FILE_NAME ":1:7: name: \"../x\" is not a valid container name (use 1-63 of a-z, "
                           "0-9 and '-', starting and ending with a letter or digit)",
                 "bad name in the file");
    config_error("name: x\nlimits:\n  cpu_weight: 0\n",
                 FILE_NAME ":3:15: limits.cpu_weight: \"0\" is out of range (use 1..10000)",
                 "cpu_weight out of range");
    config_error("name: x\nlimits: {cpu: 0}\n",
                 FILE_NAME ":2:15: limits.cpu: \"0\" is out of range (use a number of CPUs >= 0.01, "
                           "e.g. 1.5)",
                 "cpu 0");
    config_error("name: x\nlimits: {pids: 0}\n",
                 FILE_NAME ":2:16: limits.pids: \"0\" is out of range (use 1..4194304)", "pids 0");
    config_error("name: x\nnetwork: {eth0: {mtu: 67}}\n",
                 FILE_NAME ":2:23: network.eth0.mtu: \"67\" is out of range (use 68..65535)",
                 "mtu 67");
    config_error("name: x\nnetwork: {eth0: {type: vxlan}}\n",
                 FILE_NAME ":2:24: network.eth0.type: \"vxlan\" is not a valid choice (use veth, "
                           "macvlan or none)",
                 "bad interface type");
    config_error("name: x\nnetwork: {averyveryverylongname: {}}\n",
                 FILE_NAME
                 ":2:11: network.averyveryverylongname: \"averyveryverylongname\" is "
                 "not a valid interface name (use 1-15 characters, no '/', ':' or spaces)",
                 "interface name > 15");
    config_error("name: x\nnetwork: {eth0: {hwaddr: 01:00:5e:00:00:01}}\n",
                 FILE_NAME ":2:26: network.eth0.hwaddr: \"01:00:5e:00:00:01\" is a multicast "
                           "address (use auto or a unicast MAC, e.g. 00:16:3e:12:34:56)",
                 "multicast MAC");
    config_error("name: x\nnetwork: {eth0: {type: macvlan}}\n",
                 FILE_NAME ":2:17: network.eth0.parent: missing (type macvlan needs the host "
                           "interface, e.g. parent: eth0)",
                 "macvlan without parent");
    config_error("name: x\nmounts:\n  - {source: /a, path: data}\n",
                 FILE_NAME ":3:24: mounts[0].path: \"data\" is not an absolute path (use an "
                           "absolute path without '..', e.g. /data)",
                 "relative mount path");
    config_error("name: x\nautostart_order: first\n",
                 FILE_NAME ":2:18: autostart_order: \"first\" is not an integer (use "
                           "-1000000..1000000)",
                 "bad autostart_order");
    config_error("name: x\nautostart_order: 1000001\n",
                 FILE_NAME ":2:18: autostart_order: \"1000001\" is out of range (use "
                           "-1000000..1000000)",
                 "autostart_order out of range");
    config_error("name: x\nautostart_delay: -1s\n",
                 FILE_NAME ":2:18: autostart_delay: \"-1s\" is not a duration (use e.g. 5s, 500ms "
                           "or 1m, at most 1h)",
                 "negative autostart_delay");
    config_error("name: x\nautostart_delay: 2h\n",
                 FILE_NAME ":2:18: autostart_delay: \"2h\" is out of range (use e.g. 5s, 500ms "
                           "or 1m, at most 1h)",
                 "autostart_delay over an hour");
    config_error("name: x\nautostart: maybe\n",
                 FILE_NAME ":2:12: autostart: \"maybe\" is not a boolean (use true or false)",
                 "bad boolean");
    config_error("name: x\nprofiles: default\n",
                 FILE_NAME ":2:11: profiles: expected a list, found a string (use [a, b] or one "
                           "'- item' per line)",
                 "string where a list is expected");
    config_error("- a\n- b\n",
                 FILE_NAME
                 ":1:1: expected a map, found a list (use name, template, release, "
                 "arch, image, created, profiles, init, ready, signals, hostname, environment, "
                 "autostart, autostart_order, autostart_delay, stop_timeout, limits, network, "
                 "mounts, ports, security)",
                 "document is a list");
    config_error("name: &a x\nhostname: *a\n",
                 FILE_NAME ":2:11: yaml: aliases are not supported (write the value out)", "alias");
}

static struct lxm_profile *profile_text(const char *text)
{
    struct lxm_error err = {0};
    struct lxm_profile *p = NULL;
    if (lxm_profile_parse("/p/test.yaml", text, &p, &err) < 0)
        printf("# profile: %s\n", err.msg);
    return p;
}

static void test_profiles(void)
{
    static const char *const shipped[] = {"default", "privileged", "nesting", "unconfined"};
    for (size_t i = 0; i < ARRAY_SIZE(shipped); i++) {
        struct lxm_error err = {0};
        struct lxm_profile *p = NULL;
        _cleanup_free_ char *file = xasprintf(TOP_SRCDIR "/profiles/%s.yaml", shipped[i]);
        is_int(lxm_profile_load(file, &p, &err), 0, "shipped profile %s loads (%s)", shipped[i],
               err.msg);
        if (p)
            is_str(p->name, shipped[i], "profile %s names itself", shipped[i]);
        if (p && i == 0) {
            ok(strv_contains(p->policy.caps_drop, "sys_module") &&
                   strv_contains(p->policy.caps_drop, "sys_time") &&
                   strv_contains(p->policy.caps_drop, "sys_rawio") &&
                   strv_contains(p->policy.caps_drop, "mac_admin") &&
                   strv_contains(p->policy.caps_drop, "mac_override"),
               "default drops at least the 5 capabilities of CONFIG.md");
            ok(p->policy.n_seccomp_rules >= 2, "default has seccomp rules");
            is_str(p->policy.seccomp_rules[0].action, "errno EPERM", "first rule action");
            is_int(p->limits.pids, 4096, "default pids 4096");
            /* no bridge key: the global config's managed bridge */
            ok(p->n_netifs == 1 && p->netifs[0].type == LXM_NET_VETH && !p->netifs[0].bridge,
               "default eth0: veth on the managed bridge");
        }
        if (p && i == 1)
            ok(p->has_security && p->security.privileged, "privileged sets privileged");
        lxm_profile_free(p);
    }
    struct lxm_error err = {0};
    struct lxm_profile *p = NULL;
    ok(lxm_profile_parse("/p/bad.yaml", "seccomp:\n  rules:\n    - action: errno EWHAT\n", &p,
                         &err) < 0,
       "bad seccomp action refused");
    is_str(err.msg,
           "/p/bad.yaml:3:15: seccomp.rules[0].action: \"errno EWHAT\" is not a seccomp action "
           "(use allow, kill, kill_process, log, trap or errno NAME, e.g. errno EPERM)",
           "bad seccomp action message");
    ok(lxm_profile_parse("/p/bad.yaml", "capabilities: {drop: [sys_foo]}\n", &p, &err) < 0,
       "unknown capability refused");
    is_str(err.msg,
           "/p/bad.yaml:1:23: capabilities.drop: \"sys_foo\" is not a capability known to libcap "
           "(use a lowercase capability name without cap_, e.g. sys_admin)",
           "unknown capability message");
    ok(lxm_profile_parse("/p/bad.yaml", "seccomp: {rules: [{action: kill, syscalls: [nope]}]}\n",
                         &p, &err) < 0,
       "unknown syscall refused");
    ok(strstr(err.msg, "\"nope\" is not a system call known to libseccomp") != NULL,
       "unknown syscall message");
    p = profile_text("description: no name\n");
    ok(p && !strcmp(p->name, "test"), "a profile without name: takes the file's name");
    lxm_profile_free(p);
}

static void test_template_global(void)
{
    static const char tmpl[] = "name: debian\n"
                               "description: Debian GNU/Linux, built with debootstrap\n"
                               "releases: [bookworm, trixie]\n"
                               "default_release: bookworm\n"
                               "source:\n"
                               "  type: debootstrap\n"
                               "  variant: minbase\n"
                               "  include: [systemd-sysv, dbus, iproute2]\n"
                               "  mirror: host\n"
                               "init: /sbin/init\n"
                               "signals: {halt: SIGRTMIN+3, reboot: SIGINT}\n"
                               "setup:\n"
                               "  files:\n"
                               "    - path: /etc/network/interfaces.d/eth0\n"
                               "      content: |\n"
                               "        auto eth0\n"
                               "        iface eth0 inet dhcp\n"
                               "      mode: 0644\n"
                               "  run:\n"
                               "    - systemctl mask systemd-udevd.service\n"
                               "profiles: [default]\n";
    struct lxm_error err = {0};
    struct lxm_template *t = NULL;
    is_int(lxm_template_parse("/t/debian.yaml", tmpl, &t, &err), 0, "template parses (%s)",
           err.msg);
    if (t) {
        is_int(t->source_type, LXM_SOURCE_DEBOOTSTRAP, "source.type");
        is_int(t->n_files, 1, "one setup file");
        is_str(t->files[0].content, "auto eth0\niface eth0 inet dhcp\n", "file content");
        is_int(t->files[0].mode, 0644, "file mode");
        is_int(t->halt_signal, SIGRTMIN + 3, "template halt signal");
        is_str(t->run[0], "systemctl mask systemd-udevd.service", "setup.run");
    }
    lxm_template_free(t);
    t = NULL;
    ok(lxm_template_parse("/t/x.yaml", "source: {type: rsync}\n", &t, &err) < 0,
       "bad source type refused");
    is_str(err.msg,
           "/t/x.yaml:1:16: source.type: \"rsync\" is not a valid choice (use busybox, "
           "debootstrap or tarball)",
           "bad source type message");

    struct lxm_global *g = NULL;
    is_int(lxm_global_load("/nonexistent/lxm.yaml", &g, &err), 0, "missing global = defaults");
    if (g) {
        is_str(g->bridge, "lxmbr0", "default bridge");
        ok(g->nat && g->dhcp, "default nat and dhcp");
        is_str(g->storage_driver, "auto", "default storage");
        ok(g->storage_pool == NULL, "no storage pool by default");
        is_str(g->idmap_range, "auto", "default idmap");
        ok(g->ipv4 == NULL, "default ipv4 unset");
        ok(g->dns_upstream == NULL, "default upstream: the host's resolvers");
        is_str(g->dns_domain, "lxm", "default DNS domain");
    }
    lxm_global_free(g);
    g = NULL;
    is_int(lxm_global_parse("/g.yaml", "network: {ipv4: 10.77.0.1/24, nat: false}\n", &g, &err), 0,
           "global parses");
    ok(g && !g->nat && g->dhcp && !strcmp(g->ipv4, "10.77.0.1/24"), "global overrides defaults");
    ok(g && g->ipv6 == NULL, "default ipv6 unset (a ULA made at net up)");
    lxm_global_free(g);
    g = NULL;
    is_int(lxm_global_parse("/g.yaml", "network: {ipv6: 'fd42:1:2::/64'}\n", &g, &err), 0,
           "network.ipv6 PREFIX::/64 parses");
    ok(g && !strcmp(g->ipv6, "fd42:1:2::/64"), "... kept as given");
    lxm_global_free(g);
    g = NULL;
    is_int(lxm_global_parse("/g.yaml", "network: {ipv6: none}\n", &g, &err), 0, "ipv6: none");
    lxm_global_free(g);
    g = NULL;
    ok(lxm_global_parse("/g.yaml", "network:\n  ipv6: 'fd42::/48'\n", &g, &err) < 0,
       "a /48 refused");
    is_str(err.msg,
           "/g.yaml:2:9: network.ipv6: \"fd42::/48\" is not a /64 (SLAAC needs a /64) (use none "
           "or an IPv6 /64, e.g. fd42:1:2::/64 or fd42:1:2::1/64)",
           "... with file, line and column");
    ok(lxm_global_parse("/g.yaml", "network: {ipv6: 'fe80::/64'}\n", &g, &err) < 0,
       "a link-local prefix refused");
    ok(lxm_global_parse("/g.yaml", "network: {ipv6: 10.0.0.0/24}\n", &g, &err) < 0,
       "an IPv4 prefix refused");
    ok(lxm_global_parse("/g.yaml", "storage: {driver: zfs}\n", &g, &err) < 0,
       "bad storage driver refused");
    is_str(err.msg,
           "/g.yaml:1:19: storage.driver: \"zfs\" is not a valid choice (use auto, dir, overlay "
           "or btrfs)",
           "bad storage driver message");
    ok(lxm_global_parse("/g.yaml", "storage: {driver: btrfs, pool: disk.img}\n", &g, &err) < 0,
       "relative pool path refused");
    g = NULL;
    is_int(lxm_global_parse("/g.yaml",
                            "network:\n  dns:\n    upstream: [192.0.2.53, '2001:db8::1#5353']\n"
                            "    domain: lab.test\n",
                            &g, &err),
           0, "dns upstream parses");
    ok(g && strv_length(g->dns_upstream) == 2 && !strcmp(g->dns_upstream[1], "2001:db8::1#5353") &&
           !strcmp(g->dns_domain, "lab.test"),
       "dns upstream and domain read");
    lxm_global_free(g);
    g = NULL;
    is_int(lxm_global_parse("/g.yaml", "network: {dns: {upstream: []}}\n", &g, &err), 0,
           "empty upstream parses");
    ok(g && g->dns_upstream && !g->dns_upstream[0], "upstream: [] is an empty list, not unset");
    lxm_global_free(g);
    g = NULL;
    const char *bad[] = {"192.0.2",     "192.0.2.1#0", "192.0.2.1#65536", "192.0.2.1#",
                         "dns.example", "#53",         "192.0.2.1#5x"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        _cleanup_free_ char *doc = xasprintf("network: {dns: {upstream: ['%s']}}\n", bad[i]);
        ok(lxm_global_parse("/g.yaml", doc, &g, &err) < 0 && strstr(err.msg, "/g.yaml:1:") &&
               strstr(err.msg, "network.dns.upstream"),
           "bad upstream '%s' refused with its place", bad[i]);
    }
    ok(lxm_global_parse("/g.yaml", "network: {dns: {domain: 'a b'}}\n", &g, &err) < 0 &&
           strstr(err.msg, "network.dns.domain"),
       "bad DNS domain refused");
    g = NULL;
    is_int(lxm_global_parse("/g.yaml", NULL, &g, &err), 0, "defaults");
    is_str(g ? g->lxcfs : NULL, "/var/lib/lxcfs", "lxcfs defaults to /var/lib/lxcfs");
    lxm_global_free(g);
    g = NULL;
    is_int(lxm_global_parse("/g.yaml", "lxcfs: false\n", &g, &err), 0, "lxcfs: false parses");
    ok(g && lxm_lxcfs_off(g->lxcfs), "lxcfs: false turns the views off");
    lxm_global_free(g);
    g = NULL;
    is_int(lxm_global_parse("/g.yaml", "lxcfs: /run/lxcfs\n", &g, &err), 0, "lxcfs: PATH parses");
    ok(g && !lxm_lxcfs_off(g->lxcfs) && !strcmp(g->lxcfs, "/run/lxcfs"), "lxcfs path read");
    lxm_global_free(g);
    g = NULL;
    ok(lxm_global_parse("/g.yaml", "lxcfs: run/lxcfs\n", &g, &err) < 0, "relative lxcfs refused");
    is_str(err.msg,
           "/g.yaml:1:8: lxcfs: \"run/lxcfs\" is not an absolute path (use the lxcfs mount point, "
           "e.g. /var/lib/lxcfs, or false to turn it off)",
           "relative lxcfs message");
}

static void test_merge(void)
{
    struct lxm_profile *a = profile_text("name: a\n"
                                         "capabilities: {drop: [sys_time]}\n"
                                         "masked_paths: [/proc/kcore]\n"
                                         "seccomp: {default_action: allow, rules: [{action: "
                                         "errno EPERM, syscalls: [kexec_load]}]}\n"
                                         "network: {eth0: {type: veth, bridge: br-a, mtu: 1400}}\n"
                                         "limits: {pids: 100, memory: 1GiB, cpu: 2}\n");
    struct lxm_profile *b = profile_text("name: b\n"
                                         "capabilities: {drop: [sys_module, sys_time]}\n"
                                         "seccomp: {rules: [{action: kill, syscalls: [keyctl]}]}\n"
                                         "network: {eth0: {bridge: br-b}, eth1: {type: none}}\n"
                                         "security: {privileged: true}\n"
                                         "limits: {pids: 200}\n");
    struct lxm_profile *clear = profile_text("name: c\nmasked_paths: []\nseccomp: {rules: []}\n");
    struct lxm_error err = {0};
    struct lxm_config *c = NULL;
    lxm_config_parse(FILE_NAME, "name: m\nlimits: {memory: 512MiB}\nnetwork: {eth0: {mtu: 9000}}\n",
                     &c, &err);
    ok(a && b && clear && c, "merge inputs parse");
    if (!(a && b && clear && c))
        return;
    struct lxm_profile *ps[] = {a, b};
    is_int(lxm_config_merge(c, ps, 2, &err), 0, "merge");
    is_int(c->limits.pids, 200, "later profile wins (pids)");
    is_int(c->limits.memory, 512LL << 20, "container's own key wins (memory)");
    ok(c->limits.cpu == 2, "key only an earlier profile sets is kept (cpu)");
    is_int(c->n_netifs, 2, "interfaces from all profiles");
    is_str(c->netifs[0].bridge, "br-b", "later profile wins (eth0 bridge)");
    is_int(c->netifs[0].mtu, 9000, "container wins (eth0 mtu)");
    is_int(c->netifs[1].type, LXM_NET_NONE, "eth1 from profile b");
    ok(c->security.privileged, "security.privileged from a profile");
    is_int(strv_length(c->policy.caps_drop), 2, "caps lists concatenated without duplicates");
    is_int(c->policy.n_seccomp_rules, 2, "seccomp rules concatenated");
    is_str(c->policy.seccomp_default, "allow", "seccomp default from a");
    struct lxm_profile *ps2[] = {clear};
    lxm_config_merge(c, ps2, 1, &err);
    ok(c->policy.masked_paths && !c->policy.masked_paths[0], "empty list clears masked_paths");
    is_int(c->policy.n_seccomp_rules, 0, "empty rules list clears the rules");
    lxm_config_free(c);
    lxm_profile_free(a);
    lxm_profile_free(b);
    lxm_profile_free(clear);
}

static void test_effective(void)
{
    struct lxm_paths paths = {0};
    struct lxm_error err = {0};
    setenv("LXM_PROFILES_DIR", TOP_SRCDIR "/profiles", 1);
    char root[] = "/tmp/lxm-test-config.XXXXXX";
    ok(mkdtemp(root) != NULL, "temp root");
    lxm_paths_init(&paths, root, &err);
    struct lxm_config *c = NULL;
    lxm_config_parse(FILE_NAME, "name: e\nprofiles: [default, nesting]\n", &c, &err);
    is_int(lxm_config_effective(&paths, c, &err), 0, "effective with shipped profiles (%s)",
           err.msg);
    ok(c->security.nesting && c->limits.pids == 4096, "nesting + default limits");
    lxm_config_free(c);
    /* a local profile overrides the shipped one */
    _cleanup_free_ char *dir = xasprintf("%s/etc/lxm/profiles", root);
    _cleanup_free_ char *local = xasprintf("%s/default.yaml", dir);
    mkdir_p(dir, 0755);
    write_file_atomic(local, "name: default\nlimits: {pids: 7}\n", 32, 0644);
    lxm_config_parse(FILE_NAME, "name: e\n", &c, &err);
    is_int(lxm_config_effective(&paths, c, &err), 0, "effective, no profiles: = [default]");
    is_int(c->limits.pids, 7, "local profile overrides the shipped one");
    lxm_config_free(c);
    struct lxm_profile *p = NULL;
    is_int(lxm_profile_find(&paths, "nosuch", &p, &err), -ENOENT, "missing profile");
    is_str(err.msg, "profile 'nosuch' not found (see 'lxm profile list')", "missing profile msg");
    struct lxm_template *t = NULL;
    is_int(lxm_template_find(&paths, "nosuch", &t, &err), -ENOENT, "missing template");
    is_str(err.msg, "template 'nosuch' not found (see 'lxm template list')",
           "missing template msg");
    ok(lxm_profile_find(&paths, "../etc/passwd", &p, &err) == -EINVAL, "profile name checked");
    rm_rf(root);
    lxm_paths_free(&paths);
}

static void test_round_trip(void)
{
    struct lxm_error err = {0};
    struct lxm_config *c = NULL, *d = NULL;
    _cleanup_free_ char *y1 = NULL, *y2 = NULL, *json = NULL;
    lxm_config_parse(FILE_NAME, full_config, &c, &err);
    is_int(lxm_config_to_yaml(c, &y1, &err), 0, "to_yaml");
    is_int(lxm_config_parse("/rt.yaml", y1, &d, &err), 0, "to_yaml output parses (%s)", err.msg);
    is_int(lxm_config_to_yaml(d, &y2, &err), 0, "to_yaml again");
    is_str(y2, y1, "parse -> to_yaml -> parse -> to_yaml is stable");
    ok(d && d->limits.memory == c->limits.memory && d->halt_signal == c->halt_signal &&
           d->stop_timeout_ms == c->stop_timeout_ms && d->n_mounts == 1 &&
           d->autostart && d->autostart_order == 20 && d->autostart_delay_ms == 3000,
       "round trip keeps the values");
    lxm_config_to_json(c, &json, &err);
    ok(json && strstr(json, "\"memory\": 536870912"), "json has sizes in bytes");
    lxm_config_free(d);
    d = NULL;
    /* strings that need quoting survive */
    lxm_config_set(c, "environment.WEIRD", "a: b # c \"q\"", &err);
    lxm_config_set(c, "environment.EMPTY", "\"\"", &err);
    free(y1);
    y1 = NULL;
    lxm_config_to_yaml(c, &y1, &err);
    is_int(lxm_config_parse("/rt.yaml", y1, &d, &err), 0, "quoted strings parse back");
    ok(d && d->n_environment == 3 && !strcmp(d->environment[1].value, "a: b # c \"q\""),
       "quoted value round trips");
    lxm_config_free(c);
    lxm_config_free(d);
}

static void test_set_unset(void)
{
    struct lxm_error err = {0};
    struct lxm_config *c = NULL;
    lxm_config_parse(FILE_NAME, full_config, &c, &err);
    _cleanup_free_ char *before = NULL, *after = NULL;
    lxm_config_to_yaml(c, &before, &err);

    is_int(lxm_config_set(c, "limits.memory", "lots", &err), -EINVAL, "set bad size fails");
    is_str(err.msg, "limits.memory: \"lots\" is not a size (use e.g. 512MiB, at least 4KiB)", "set error message");
    is_int(lxm_config_set(c, "limits.memroy", "1GiB", &err), -EINVAL, "set unknown key fails");
    is_str(err.msg,
           "limits.memroy: unknown key (use memory, memory_swap, cpu, cpu_weight, cpuset, pids, "
           "io_weight)",
           "set unknown key message");
    is_int(lxm_config_set(c, "network.eth0.mtu", "10", &err), -EINVAL, "set bad mtu fails");
    is_int(lxm_config_set(c, "name", "other", &err), -EINVAL, "set name refused");
    is_int(lxm_config_set(c, "limits..memory", "1", &err), -EINVAL, "empty key component");
    is_int(lxm_config_unset(c, "limits.bogus", &err), -EINVAL, "unset unknown key fails");
    lxm_config_to_yaml(c, &after, &err);
    is_str(after, before, "config unchanged after failed set/unset");

    is_int(lxm_config_set(c, "limits.memory", "1GiB", &err), 0, "set limits.memory");
    is_int(c->limits.memory, 1LL << 30, "limits.memory set");
    is_int(lxm_config_set(c, "network.eth1.ipv4", "10.0.0.2/24", &err), 0, "set new interface");
    ok(c->n_netifs == 2 && !strcmp(c->netifs[1].ipv4, "10.0.0.2/24"), "eth1 created");
    is_int(lxm_config_set(c, "profiles", "[default, nesting]", &err), 0, "set a list");
    is_int(strv_length(c->profiles), 2, "profiles replaced");
    is_int(lxm_config_set(c, "limits.cpu", "", &err), 0, "KEY= unsets");
    ok(c->limits.cpu < 0, "cpu unset by empty value");
    is_int(lxm_config_unset(c, "network.eth0", &err), 0, "unset an interface");
    ok(c->n_netifs == 1 && !strcmp(c->netifs[0].name, "eth1"), "eth0 removed");
    is_int(lxm_config_unset(c, "environment.LANG", &err), 0, "unset an env var");
    is_int(c->n_environment, 0, "env var removed");
    is_int(lxm_config_unset(c, "limits", &err), 0, "unset a section");
    is_int(c->limits.pids, LXM_UNSET, "section cleared");
    is_int(lxm_config_unset(c, "hostname", &err), 0, "unset hostname");
    ok(c->hostname == NULL, "hostname unset");
    is_int(lxm_config_unset(c, "name", &err), -EINVAL, "unset name refused");
    lxm_config_free(c);
}

static int count_entries(const char *dir)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    return n;
}

static void test_save(void)
{
    struct lxm_error err = {0};
    char dir[] = "/tmp/lxm-test-save.XXXXXX";
    ok(mkdtemp(dir) != NULL, "temp dir");
    _cleanup_free_ char *file = xasprintf("%s/config.yaml", dir);
    struct lxm_config *c = lxm_config_new("saved");
    ok(c != NULL, "config_new");
    lxm_config_set(c, "limits.pids", "10", &err);
    is_int(lxm_config_save(c, file, &err), 0, "save");
    struct lxm_config *d = NULL;
    is_int(lxm_config_load(file, &d, &err), 0, "load what was saved");
    ok(d && d->limits.pids == 10 && !strcmp(d->name, "saved"), "saved values");
    _cleanup_free_ char *old = NULL, *now = NULL;
    read_file(file, &old, NULL);
    free(c->name);
    c->name = strdup("BAD NAME");
    ok(lxm_config_save(c, file, &err) < 0, "saving an invalid config fails");
    read_file(file, &now, NULL);
    is_str(now, old, "the old file is untouched");
    is_int(count_entries(dir), 1, "no temp file left behind");
    struct stat st;
    ok(stat(file, &st) == 0 && (st.st_mode & 0777) == 0644, "saved with mode 0644");
    lxm_config_free(c);
    lxm_config_free(d);
    rm_rf(dir);
}

/* Files with a NUL byte or over the size limit never reach the parser. */
static void test_hostile_files(void)
{
    struct lxm_error err = {0};
    char dir[] = "/tmp/lxm-test-hostile.XXXXXX";
    ok(mkdtemp(dir) != NULL, "temp dir");
    _cleanup_free_ char *file = xasprintf("%s/config.yaml", dir);
    static const char nul_doc[] = "name: c1\nprofiles: [default]\n\0network:\n  eth0: {type: none}\n";
    write_file_atomic(file, nul_doc, sizeof(nul_doc) - 1, 0644);
    struct lxm_config *c = NULL;
    ok(lxm_config_load(file, &c, &err) < 0, "a config.yaml with a NUL byte is refused");
    _cleanup_free_ char *want = xasprintf("%s:3:1: a NUL byte (a YAML file is text: remove it)", file);
    is_str(err.msg, want, "the error says where the NUL is");
    struct lxm_profile *p = NULL;
    ok(lxm_profile_load(file, &p, &err) < 0 && strstr(err.msg, ":3:1: a NUL byte"), "a profile too");
    struct lxm_template *t = NULL;
    ok(lxm_template_load(file, &t, &err) < 0 && strstr(err.msg, ":3:1: a NUL byte"), "a template too");
    struct lxm_global *g = NULL;
    ok(lxm_global_load(file, &g, &err) < 0 && strstr(err.msg, ":3:1: a NUL byte"), "lxm.yaml too");
    ok(lxm_yaml_check_text("x.yaml", "a: b\n  c\0", 10, &err) < 0 && !strcmp(err.msg, "x.yaml:2:4: a NUL byte (a YAML file is text: remove it)"),
       "line and column of a NUL: %s", err.msg);
    is_int(lxm_yaml_check_text("x.yaml", "a: b\n", 5, &err), 0, "text without a NUL passes");

    /* 200 MiB, sparse: refused from its size, never read. */
    _cleanup_free_ char *big = xasprintf("%s/big.yaml", dir);
    int fd = open(big, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ok(fd >= 0 && write(fd, "name: c1\n", 9) == 9 && ftruncate(fd, 200 << 20) == 0, "a 200 MiB file");
    close(fd);
    ok(lxm_config_load(big, &c, &err) < 0 && err.code == EFBIG, "a config over 1 MiB is refused");
    want = (free(want), xasprintf("%s: 209715200 bytes, over the 1 MiB limit for a YAML file (is it really one?)", big));
    is_str(err.msg, want, "the error names the file, its size and the limit");
    ok(lxm_profile_load(big, &p, &err) < 0 && err.code == EFBIG, "a profile too");
    ok(lxm_template_load(big, &t, &err) < 0 && err.code == EFBIG, "a template too");
    /* A file of exactly the limit is still read. */
    ok(truncate(big, LXM_YAML_MAX) == 0, "a file of exactly 1 MiB");
    ok(lxm_config_load(big, &c, &err) < 0 && strstr(err.msg, "a NUL byte"),
       "is read (and refused for its NUL padding, not its size): %s", err.msg);
    rm_rf(dir);
}

/* A pipe holding n bytes of "a" (a child writes them), as a path. */
static char *pipe_of(size_t n, pid_t *child)
{
    int p[2];
    if (pipe2(p, 0) < 0)
        return NULL;
    *child = fork();
    if (*child == 0) {
        close(p[0]);
        static char chunk[65536];
        memset(chunk, 'a', sizeof(chunk));
        while (n > 0) {
            size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
            ssize_t w = write(p[1], chunk, k);
            if (w <= 0)
                _exit(w < 0 && errno == EPIPE ? 0 : 1);
            n -= (size_t)w;
        }
        _exit(0);
    }
    close(p[1]);
    return xasprintf("/proc/self/fd/%d", p[0]);
}

static void test_read_file(void)
{
    struct lxm_error err = {0};
    char dir[] = "/tmp/lxm-test-read.XXXXXX";
    ok(mkdtemp(dir) != NULL, "temp dir");
    _cleanup_free_ char *file = xasprintf("%s/config.yaml", dir);
    static const char doc[] = "name: c1\nprofiles: [default]\n";
    write_file_atomic(file, doc, sizeof(doc) - 1, 0644);
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    is_int(lxm_yaml_read_file(file, &text, &len, &err), 0, "read a small file");
    ok(text && len == sizeof(doc) - 1 && !strcmp(text, doc), "its text, NUL-terminated");
    ok(text && malloc_usable_size(text) < 4096,
       "in a buffer of its size, not of the 1 MiB limit (%zu bytes)",
       text ? malloc_usable_size(text) : 0);
    text = (free(text), NULL);

    write_file_atomic(file, "", 0, 0644);
    ok(lxm_yaml_read_file(file, &text, &len, &err) == 0 && text && len == 0 && !*text,
       "an empty file is an empty text");
    text = (free(text), NULL);

    /* fstat knows no size of a pipe: the buffer grows while it is read. */
    pid_t child;
    _cleanup_free_ char *p = pipe_of(10000, &child);
    ok(p && lxm_yaml_read_file(p, &text, &len, &err) == 0, "read a pipe of 10000 bytes");
    ok(text && len == 10000 && strspn(text, "a") == 10000 && !text[10000], "all of it: %zu", len);
    waitpid(child, NULL, 0);
    text = (free(text), NULL);

    /* A pipe over the limit is refused at one byte more than the limit. */
    p = (free(p), pipe_of(LXM_YAML_MAX + 100, &child));
    signal(SIGPIPE, SIG_IGN);
    ok(p && lxm_yaml_read_file(p, &text, &len, &err) == -EFBIG && !text,
       "a pipe over the limit is refused");
    _cleanup_free_ char *want =
        xasprintf("%s: %d bytes, over the 1 MiB limit for a YAML file (is it really one?)", p,
                  LXM_YAML_MAX + 1);
    is_str(err.msg, want, "the error names it and the limit");
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    signal(SIGPIPE, SIG_DFL);

    ok(lxm_yaml_read_file("/nonexistent/x.yaml", &text, &len, &err) == -ENOENT &&
           !strcmp(err.msg, "read /nonexistent/x.yaml: No such file or directory"),
       "a missing file: %s", err.msg);
    rm_rf(dir);
}

/* The "(use ...)" part of a message is only made for an error now: the
 * key's own check says it, else the key's default, as before. */
static void test_allowed_on_error(void)
{
    config_error("name: x\ncreated: \"\"\n", FILE_NAME ":2:10: created: \"\" is empty",
                 "a check that says nothing: no (use ...)");
    config_error("name: x\nhostname: -web\n",
                 FILE_NAME ":2:11: hostname: \"-web\" is not a valid hostname (use dot-separated "
                           "labels of a-z, A-Z, 0-9 and '-', at most 63 each)",
                 "a check's own (use ...)");
    config_error("name: x\nlimits: {pids: [1]}\n",
                 FILE_NAME ":2:16: limits.pids: expected a single value, found a list (use "
                           "1..4194304)",
                 "a scalar key's default (use ...)");
    config_error("name: x\nprofiles: [default, \"a b\"]\n",
                 FILE_NAME ":2:21: profiles: \"a b\" is not a valid name (use 1-63 of letters, "
                           "digits, '.', '_' and '-')",
                 "a list item's check");
    config_error("name: x\nnetwork:\n  \"a/b\": {type: none}\n",
                 FILE_NAME ":3:3: network.a/b: \"a/b\" is not a valid interface name (use 1-15 "
                           "characters, no '/', ':' or spaces)",
                 "a map key's check");
    config_error("name: x\nsignals: {halt: SIGFOO}\n",
                 FILE_NAME ":2:17: signals.halt: \"SIGFOO\" is not a signal (use a name like "
                           "SIGRTMIN+3, SIGPWR, SIGINT, or a number)",
                 "a key's .allowed");
}

static void test_ports(void)
{
    struct lxm_error err = {0};
    struct lxm_config *c = NULL;
    is_int(lxm_config_parse(FILE_NAME,
                            "name: x\nports:\n  - {host: 8080, container: 80}\n"
                            "  - {host: 5353, container: 53, proto: udp, address: 127.0.0.1}\n",
                            &c, &err),
           0, "ports: parsed");
    if (c) {
        is_int(c->n_ports, 2, "ports: two entries");
        ok(c->ports[0].host == 8080 && c->ports[0].container == 80 &&
               c->ports[0].proto == LXM_PROTO_TCP && !c->ports[0].address,
           "ports: tcp by default, every address");
        ok(c->ports[1].proto == LXM_PROTO_UDP && !strcmp(c->ports[1].address, "127.0.0.1"),
           "ports: udp on 127.0.0.1");
        _cleanup_free_ char *yaml = NULL;
        lxm_config_to_yaml(c, &yaml, &err);
        ok(yaml && strstr(yaml, "ports:\n  - host: 8080\n    container: 80\n    proto: tcp\n"),
           "ports: saved as a list");
        is_int(lxm_config_set(c, "ports", "[{host: 70000, container: 1}]", &err), -EINVAL,
               "ports: set out of range refused");
        is_str(err.msg, "ports[0].host: \"70000\" is out of range (use a port number 1-65535)",
               "ports: set message");
        is_int(c->n_ports, 2, "ports: a refused set changes nothing");
        is_int(lxm_config_set(c, "ports", "[{host: 1, container: 1, proto: udp}]", &err), 0,
               "ports: set replaces the list");
        is_int(c->n_ports, 1, "ports: one entry after set");
        is_int(lxm_config_unset(c, "ports", &err), 0, "ports: unset");
        is_int(c->n_ports, 0, "ports: none after unset");
        lxm_config_free(c);
    }
    config_error("name: x\nports:\n  - {host: 0, container: 80}\n",
                 FILE_NAME
                 ":3:12: ports[0].host: \"0\" is out of range (use a port number 1-65535)",
                 "port 0");
    config_error("name: x\nports:\n  - {host: 65536, container: 80}\n",
                 FILE_NAME ":3:12: ports[0].host: \"65536\" is out of range (use a port number "
                           "1-65535)",
                 "port 65536");
    config_error("name: x\nports:\n  - {host: 80}\n",
                 FILE_NAME ":3:5: ports[0].container: missing (the port in the container, "
                           "1-65535, e.g. container: 80)",
                 "container port missing");
    config_error("name: x\nports:\n  - {host: 80, container: 8, proto: sctp}\n",
                 FILE_NAME ":3:37: ports[0].proto: \"sctp\" is not a valid choice (use tcp or udp)",
                 "proto sctp");
    config_error("name: x\nports:\n  - {host: 80, container: 8, address: 1.2.3}\n",
                 FILE_NAME ":3:39: ports[0].address: \"1.2.3\" is not an IPv4 or IPv6 address (use "
                           "an address of the host, e.g. 127.0.0.1, or 0.0.0.0 or \"::\" for "
                           "every IPv4 or IPv6 one, or leave it out for all)",
                 "address not an address");
    config_error("name: x\nports:\n  - {host: 80, container: 8, address: \"::1\"}\n",
                 FILE_NAME ":3:39: ports[0].address: \"::1\" is the IPv6 loopback: the kernel does "
                           "not route connections from ::1 to a container (IPv6 has no "
                           "route_localnet); use 127.0.0.1 (use an address of the host, e.g. "
                           "127.0.0.1, or 0.0.0.0 or \"::\" for every IPv4 or IPv6 one, or leave it "
                           "out for all)",
                 "address ::1");
    config_error("name: x\nports:\n  - {host: 80, container: 8, address: \"fe80::1\"}\n",
                 FILE_NAME ":3:39: ports[0].address: \"fe80::1\" is a link-local address, which "
                           "needs an interface (use an address of the host, e.g. 127.0.0.1, or "
                           "0.0.0.0 or \"::\" for every IPv4 or IPv6 one, or leave it out for all)",
                 "address link-local");
    config_error("name: x\nports:\n  - {host: 80, container: 8}\n"
                 "  - {host: 80, container: 9, address: \"::\"}\n",
                 FILE_NAME ":4:5: ports[1]: host port tcp/80 is forwarded twice (also by ports[0])",
                 "no address and :: twice");
    config_error("name: x\nports:\n  - {host: 80, container: 8, address: \"fd00::1\"}\n"
                 "  - {host: 80, container: 9, address: \"fd00:0::1\"}\n",
                 FILE_NAME ":4:5: ports[1]: host port tcp/80 is forwarded twice (also by ports[0])",
                 "one IPv6 address twice, written two ways");
    is_int(lxm_config_parse(FILE_NAME,
                            "name: x\nports:\n  - {host: 80, container: 8, address: 0.0.0.0}\n"
                            "  - {host: 80, container: 9, address: \"::\"}\n"
                            "  - {host: 81, container: 9, address: \"fd00::1\"}\n"
                            "  - {host: 81, container: 9, address: \"fd00::2\"}\n",
                            &c, &err),
           0, "ports: one host port for IPv4 and IPv6 apart, two IPv6 addresses apart (%s)",
           err.msg);
    lxm_config_free(c);
    config_error("name: x\nports:\n  - {host: 80, container: 8}\n"
                 "  - {host: 80, container: 9, address: 127.0.0.1}\n",
                 FILE_NAME ":4:5: ports[1]: host port tcp/80 is forwarded twice (also by ports[0])",
                 "host port twice");
    is_int(lxm_config_parse(FILE_NAME,
                            "name: x\nports:\n  - {host: 80, container: 8, proto: udp}\n"
                            "  - {host: 80, container: 9}\n",
                            &c, &err),
           0, "ports: one host port for tcp and udp is fine");
    lxm_config_free(c);
}

/* lxm.yaml is parsed once per command: later calls see the first parse
 * (or its error, word for word) even when the file changes under them,
 * until forgotten. */
static void test_global_once(void)
{
    struct lxm_paths paths = {0};
    struct lxm_error err = {0};
    char root[] = "/tmp/lxm-test-global.XXXXXX";
    ok(mkdtemp(root) != NULL, "temp root");
    is_int(lxm_paths_init(&paths, root, &err), 0, "paths (%s)", err.msg);
    _cleanup_free_ char *dir = xasprintf("%s/etc/lxm", root);
    mkdir_p(dir, 0755);
    const char *one = "network: {bridge: once0}\n";
    write_file_atomic(paths.global_config, one, strlen(one), 0644);
    const struct lxm_global *g = NULL, *g2 = NULL;
    is_int(lxm_paths_global(&paths, &g, &err), 0, "first use parses lxm.yaml (%s)", err.msg);
    is_str(g ? g->bridge : NULL, "once0", "its bridge");
    const char *bad = "network: {bridge: once1}\nlxcfs: [a, b]\n";
    write_file_atomic(paths.global_config, bad, strlen(bad), 0644);
    is_int(lxm_paths_global(&paths, &g2, &err), 0, "a second use does not read it again");
    ok(g2 == g, "and gets the same parse");
    lxm_paths_global_forget(&paths);
    struct lxm_error e1 = {0}, e2 = {0};
    ok(lxm_paths_global(&paths, &g, &e1) < 0 && strstr(e1.msg, "lxm.yaml:2:8: lxcfs"),
       "forgotten: read again, a broken file is refused with its place (%s)", e1.msg);
    write_file_atomic(paths.global_config, one, strlen(one), 0644);
    ok(lxm_paths_global(&paths, &g, &e2) < 0 && strcmp(e1.msg, e2.msg) == 0 && e1.code == e2.code,
       "the same error again, from the one parse");
    lxm_paths_free(&paths);
    rm_rf(root);
}

int main(void)
{
    test_sizes();
    test_durations();
    test_signals();
    test_names();
    test_good_config();
    test_config_errors();
    test_profiles();
    test_template_global();
    test_merge();
    test_effective();
    test_round_trip();
    test_set_unset();
    test_save();
    test_hostile_files();
    test_read_file();
    test_allowed_on_error();
    test_ports();
    test_global_once();
    return done();
}

/* config_keys: the key tables, one row per YAML key of every document
 * (container config, profile, template, global config), and the checks
 * that span several keys of one element. config.c walks these tables for
 * parse, validation, set/unset, merge and save. */
#include "config/config.h"
#include "config/config_table.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

static const char *const net_types[] = {"veth", "macvlan", "none", NULL};
static const char *const source_types[] = {"busybox", "debootstrap", "tarball", NULL};
static const char *const port_protos[] = {"tcp", "udp", NULL};
static const char *const storage_drivers[] = {"auto", "dir", "overlay", "btrfs", NULL};
static const char *const ready_modes[] = {"auto", "notify", "init", NULL};

static int netif_check(struct walk *w, const struct lxm_ynode *at, const char *path, void *elem);
static int mount_check(struct walk *w, const struct lxm_ynode *at, const char *path, void *elem);
static int port_check(struct walk *w, const struct lxm_ynode *at, const char *path, void *elem);
static int rule_check(struct walk *w, const struct lxm_ynode *at, const char *path, void *elem);
static int file_check(struct walk *w, const struct lxm_ynode *at, const char *path, void *elem);

/* ---- the tables ---------------------------------------------------- */

#define O(type, field) offsetof(type, field)
#define K(key, kt, offset, ...)                                                                    \
    {                                                                                              \
        .name = key, .type = kt, .off = offset, __VA_ARGS__                                        \
    }
#define SIGNAL_ALLOWED "use a name like SIGRTMIN+3, SIGPWR, SIGINT, or a number"

static const struct key limits_keys[] = {
    K("memory", KT_SIZE, O(struct lxm_limits, memory), .min = LXM_LIMIT_MEMORY_MIN,
      .max = INT64_MAX, .none = LXM_UNSET, .allowed = "use e.g. 512MiB, at least 4KiB"),
    K("memory_swap", KT_SIZE, O(struct lxm_limits, memory_swap), .min = 0, .max = INT64_MAX,
      .none = LXM_UNSET, .allowed = "use e.g. 1GiB, or 0 for no swap"),
    K("cpu", KT_CPU, O(struct lxm_limits, cpu), .allowed = "use a number of CPUs >= 0.01, e.g. 1.5"),
    K("cpu_weight", KT_INT, O(struct lxm_limits, cpu_weight), .min = 1, .max = 10000,
      .none = LXM_UNSET),
    K("cpuset", KT_STR, O(struct lxm_limits, cpuset), .check = lxm_check_cpuset),
    K("pids", KT_INT, O(struct lxm_limits, pids), .min = 1, .max = 4194304, .none = LXM_UNSET),
    K("io_weight", KT_INT, O(struct lxm_limits, io_weight), .min = 1, .max = 10000,
      .none = LXM_UNSET),
};
const struct table lxm_limits_table = TABLE(limits_keys);

static const struct key netif_keys[] = {
    K("type", KT_ENUM, O(struct lxm_netif, type), .set_off = O(struct lxm_netif, type_set),
      .choices = net_types),
    K("bridge", KT_STR, O(struct lxm_netif, bridge), .check = lxm_check_ifname),
    K("parent", KT_STR, O(struct lxm_netif, parent), .check = lxm_check_ifname),
    K("hwaddr", KT_STR, O(struct lxm_netif, hwaddr), .check = lxm_check_hwaddr),
    K("mtu", KT_INT, O(struct lxm_netif, mtu), .min = 68, .max = 65535, .none = 0),
    K("ipv4", KT_STR, O(struct lxm_netif, ipv4), .check = lxm_check_ipv4_conf),
    K("gateway", KT_STR, O(struct lxm_netif, gateway), .check = lxm_check_gateway),
};
const struct table lxm_netif_table =
    TABLE(netif_keys, .elem_size = sizeof(struct lxm_netif), .named = true,
          .name_off = O(struct lxm_netif, name), .check = netif_check);

static const struct key mount_keys[] = {
    K("source", KT_STR, O(struct lxm_mount, source), .check = lxm_check_abs_path),
    K("path", KT_STR, O(struct lxm_mount, path), .check = lxm_check_abs_path),
    K("readonly", KT_BOOL, O(struct lxm_mount, readonly)),
};
static const struct table mount_table =
    TABLE(mount_keys, .elem_size = sizeof(struct lxm_mount), .check = mount_check);

#define PORT_ALLOWED "use a port number 1-65535"
static const struct key port_keys[] = {
    K("host", KT_INT, O(struct lxm_port, host), .min = 1, .max = 65535, .none = 0,
      .allowed = PORT_ALLOWED),
    K("container", KT_INT, O(struct lxm_port, container), .min = 1, .max = 65535, .none = 0,
      .allowed = PORT_ALLOWED),
    K("proto", KT_ENUM, O(struct lxm_port, proto), .choices = port_protos),
    K("address", KT_STR, O(struct lxm_port, address), .check = lxm_check_host_addr),
};
static const struct table port_table =
    TABLE(port_keys, .elem_size = sizeof(struct lxm_port), .check = port_check);

static const struct key config_signal_keys[] = {
    K("halt", KT_SIGNAL, O(struct lxm_config, halt_signal), .allowed = SIGNAL_ALLOWED),
    K("reboot", KT_SIGNAL, O(struct lxm_config, reboot_signal), .allowed = SIGNAL_ALLOWED),
};
static const struct table config_signal_table = TABLE(config_signal_keys);

static const struct key config_security_keys[] = {
    K("privileged", KT_BOOL, O(struct lxm_config, security.privileged),
      .set_off = O(struct lxm_config, security.privileged_set)),
    K("idmap", KT_STR, O(struct lxm_config, security.idmap), .check = lxm_check_idmap),
    K("nesting", KT_BOOL, O(struct lxm_config, security.nesting),
      .set_off = O(struct lxm_config, security.nesting_set)),
    K("profile", KT_STR, O(struct lxm_config, security_profile), .check = lxm_check_ref),
};
static const struct table config_security_table = TABLE(config_security_keys);

static const struct key config_keys[] = {
    K("name", KT_STR, O(struct lxm_config, name), .check = lxm_check_name),
    K("template", KT_STR, O(struct lxm_config, template), .check = lxm_check_ref),
    K("release", KT_STR, O(struct lxm_config, release), .check = lxm_check_token),
    K("arch", KT_STR, O(struct lxm_config, arch), .check = lxm_check_token),
    K("image", KT_STR, O(struct lxm_config, image), .check = lxm_check_sha256),
    K("created", KT_STR, O(struct lxm_config, created), .check = lxm_check_nonempty),
    K("profiles", KT_STRV, O(struct lxm_config, profiles), .check = lxm_check_ref),
    K("init", KT_STR, O(struct lxm_config, init), .check = lxm_check_abs_path),
    K("ready", KT_STR, O(struct lxm_config, ready), .choices = ready_modes),
    K("signals", KT_STRUCT, 0, .sub = &config_signal_table),
    K("hostname", KT_STR, O(struct lxm_config, hostname), .check = lxm_check_hostname),
    K("environment", KT_ENV, O(struct lxm_config, environment),
      .n_off = O(struct lxm_config, n_environment), .check = lxm_check_env_name),
    K("autostart", KT_BOOL, O(struct lxm_config, autostart)),
    K("autostart_order", KT_INT, O(struct lxm_config, autostart_order), .min = -1000000,
      .max = 1000000, .none = 0),
    K("autostart_delay", KT_DURATION, O(struct lxm_config, autostart_delay_ms), .min = 0,
      .max = 3600 * 1000, .none = 0, .allowed = "use e.g. 5s, 500ms or 1m, at most 1h"),
    K("stop_timeout", KT_DURATION, O(struct lxm_config, stop_timeout_ms), .min = 0,
      .max = 24 * 3600 * 1000, .none = LXM_UNSET, .allowed = "use e.g. 30s, 500ms or 2m"),
    K("limits", KT_STRUCT, O(struct lxm_config, limits), .sub = &lxm_limits_table),
    K("network", KT_NAMED, O(struct lxm_config, netifs), .n_off = O(struct lxm_config, n_netifs),
      .sub = &lxm_netif_table, .check = lxm_check_ifname),
    K("mounts", KT_LIST, O(struct lxm_config, mounts), .n_off = O(struct lxm_config, n_mounts),
      .sub = &mount_table),
    K("ports", KT_LIST, O(struct lxm_config, ports), .n_off = O(struct lxm_config, n_ports),
      .sub = &port_table),
    K("security", KT_STRUCT, 0, .sub = &config_security_table),
};
const struct table lxm_config_table = TABLE(config_keys);

static const struct key rule_keys[] = {
    K("action", KT_STR, O(struct lxm_seccomp_rule, action), .check = lxm_check_seccomp_action),
    K("syscalls", KT_STRV, O(struct lxm_seccomp_rule, syscalls), .check = lxm_check_syscall),
};
static const struct table rule_table =
    TABLE(rule_keys, .elem_size = sizeof(struct lxm_seccomp_rule), .check = rule_check);

static const struct key caps_keys[] = {
    K("drop", KT_STRV, O(struct lxm_policy, caps_drop), .check = lxm_check_cap),
    K("keep", KT_STRV, O(struct lxm_policy, caps_keep), .check = lxm_check_cap),
};
static const struct table caps_table = TABLE(caps_keys);

static const struct key seccomp_keys[] = {
    K("default_action", KT_STR, O(struct lxm_policy, seccomp_default),
      .check = lxm_check_seccomp_action),
    K("rules", KT_LIST, O(struct lxm_policy, seccomp_rules),
      .set_off = O(struct lxm_policy, seccomp_rules_set),
      .n_off = O(struct lxm_policy, n_seccomp_rules), .sub = &rule_table),
};
static const struct table seccomp_table = TABLE(seccomp_keys);

static const struct key apparmor_keys[] = {
    K("profile", KT_STR, O(struct lxm_policy, apparmor_profile),
      .check = lxm_check_apparmor_profile),
    K("required", KT_BOOL, O(struct lxm_policy, apparmor_required),
      .set_off = O(struct lxm_policy, apparmor_required_set)),
    K("deny", KT_STRV, O(struct lxm_policy, apparmor_deny), .check = lxm_check_nonempty),
};
static const struct table apparmor_table = TABLE(apparmor_keys);

static const struct key profile_security_keys[] = {
    K("privileged", KT_BOOL, O(struct lxm_profile, security.privileged),
      .set_off = O(struct lxm_profile, security.privileged_set)),
    K("idmap", KT_STR, O(struct lxm_profile, security.idmap), .check = lxm_check_idmap),
    K("nesting", KT_BOOL, O(struct lxm_profile, security.nesting),
      .set_off = O(struct lxm_profile, security.nesting_set)),
};
const struct table lxm_profile_security_table = TABLE(profile_security_keys);

static const struct key profile_keys[] = {
    K("name", KT_STR, O(struct lxm_profile, name), .check = lxm_check_ref),
    K("description", KT_STR, O(struct lxm_profile, description)),
    K("capabilities", KT_STRUCT, O(struct lxm_profile, policy), .sub = &caps_table),
    K("seccomp", KT_STRUCT, O(struct lxm_profile, policy), .sub = &seccomp_table),
    K("apparmor", KT_STRUCT, O(struct lxm_profile, policy), .sub = &apparmor_table),
    K("masked_paths", KT_STRV, O(struct lxm_profile, policy.masked_paths),
      .check = lxm_check_abs_path),
    K("readonly_paths", KT_STRV, O(struct lxm_profile, policy.readonly_paths),
      .check = lxm_check_abs_path),
    K("devices", KT_STRV, O(struct lxm_profile, policy.devices), .check = lxm_check_device),
    K("no_new_privs", KT_BOOL, O(struct lxm_profile, policy.no_new_privs),
      .set_off = O(struct lxm_profile, policy.no_new_privs_set)),
    K("network", KT_NAMED, O(struct lxm_profile, netifs), .n_off = O(struct lxm_profile, n_netifs),
      .sub = &lxm_netif_table, .check = lxm_check_ifname),
    K("limits", KT_STRUCT, O(struct lxm_profile, limits), .sub = &lxm_limits_table),
    K("security", KT_STRUCT, 0, .sub = &lxm_profile_security_table),
};
const struct table lxm_profile_table = TABLE(profile_keys);

static const struct key file_keys[] = {
    K("path", KT_STR, O(struct lxm_setup_file, path), .check = lxm_check_abs_path),
    K("content", KT_STR, O(struct lxm_setup_file, content)),
    K("mode", KT_MODE, O(struct lxm_setup_file, mode), .none = -1,
      .allowed = "use an octal mode, e.g. 0644"),
};
static const struct table file_table =
    TABLE(file_keys, .elem_size = sizeof(struct lxm_setup_file), .check = file_check);

static const struct key release_packages_keys[] = {
    K("include", KT_STRV, O(struct lxm_release_packages, include), .check = lxm_check_token),
    K("exclude", KT_STRV, O(struct lxm_release_packages, exclude), .check = lxm_check_token),
};
static const struct table release_packages_table =
    TABLE(release_packages_keys, .elem_size = sizeof(struct lxm_release_packages), .named = true,
          .name_off = O(struct lxm_release_packages, release));

static const struct key source_keys[] = {
    K("type", KT_ENUM, O(struct lxm_template, source_type), .choices = source_types),
    K("variant", KT_STR, O(struct lxm_template, variant), .check = lxm_check_token),
    K("include", KT_STRV, O(struct lxm_template, include), .check = lxm_check_token),
    K("mirror", KT_STR, O(struct lxm_template, mirror), .check = lxm_check_mirror),
    K("keyring", KT_STR, O(struct lxm_template, keyring), .check = lxm_check_abs_path),
    K("components", KT_STRV, O(struct lxm_template, components), .check = lxm_check_token),
    K("per_release", KT_NAMED, O(struct lxm_template, per_release),
      .n_off = O(struct lxm_template, n_per_release), .sub = &release_packages_table,
      .check = lxm_check_token),
    K("path", KT_STR, O(struct lxm_template, path), .check = lxm_check_nonempty),
    K("sha256", KT_STR, O(struct lxm_template, sha256), .check = lxm_check_sha256),
};
static const struct table source_table = TABLE(source_keys);

static const struct key template_signal_keys[] = {
    K("halt", KT_SIGNAL, O(struct lxm_template, halt_signal), .allowed = SIGNAL_ALLOWED),
    K("reboot", KT_SIGNAL, O(struct lxm_template, reboot_signal), .allowed = SIGNAL_ALLOWED),
};
static const struct table template_signal_table = TABLE(template_signal_keys);

static const struct key setup_keys[] = {
    K("files", KT_LIST, O(struct lxm_template, files), .n_off = O(struct lxm_template, n_files),
      .sub = &file_table),
    K("run", KT_STRV, O(struct lxm_template, run), .check = lxm_check_nonempty),
};
static const struct table setup_table = TABLE(setup_keys);

static const struct key init_signal_keys[] = {
    K("halt", KT_SIGNAL, O(struct lxm_init_variant, halt_signal), .allowed = SIGNAL_ALLOWED),
    K("reboot", KT_SIGNAL, O(struct lxm_init_variant, reboot_signal), .allowed = SIGNAL_ALLOWED),
};
static const struct table init_signal_table = TABLE(init_signal_keys);
static const struct key init_setup_keys[] = {
    K("files", KT_LIST, O(struct lxm_init_variant, files),
      .n_off = O(struct lxm_init_variant, n_files), .sub = &file_table),
    K("run", KT_STRV, O(struct lxm_init_variant, run), .check = lxm_check_nonempty),
};
static const struct table init_setup_table = TABLE(init_setup_keys);
static const struct key init_variant_keys[] = {
    K("include", KT_STRV, O(struct lxm_init_variant, include), .check = lxm_check_token),
    K("exclude", KT_STRV, O(struct lxm_init_variant, exclude), .check = lxm_check_token),
    K("signals", KT_STRUCT, 0, .sub = &init_signal_table),
    K("setup", KT_STRUCT, 0, .sub = &init_setup_table),
};
static const struct table init_variant_table =
    TABLE(init_variant_keys, .elem_size = sizeof(struct lxm_init_variant), .named = true,
          .name_off = O(struct lxm_init_variant, name));

static const struct key template_keys[] = {
    K("name", KT_STR, O(struct lxm_template, name), .check = lxm_check_ref),
    K("description", KT_STR, O(struct lxm_template, description)),
    K("releases", KT_STRV, O(struct lxm_template, releases), .check = lxm_check_token),
    K("default_release", KT_STR, O(struct lxm_template, default_release), .check = lxm_check_token),
    K("source", KT_STRUCT, 0, .sub = &source_table),
    K("init", KT_STR, O(struct lxm_template, init), .check = lxm_check_abs_path),
    K("init_system", KT_STR, O(struct lxm_template, init_system), .check = lxm_check_token),
    K("inits", KT_NAMED, O(struct lxm_template, inits), .n_off = O(struct lxm_template, n_inits),
      .sub = &init_variant_table, .check = lxm_check_token),
    K("ready", KT_STR, O(struct lxm_template, ready), .choices = ready_modes),
    K("signals", KT_STRUCT, 0, .sub = &template_signal_table),
    K("setup", KT_STRUCT, 0, .sub = &setup_table),
    K("profiles", KT_STRV, O(struct lxm_template, profiles), .check = lxm_check_ref),
};
const struct table lxm_template_table = TABLE(template_keys);

static const struct key global_dns_keys[] = {
    K("upstream", KT_STRV, O(struct lxm_global, dns_upstream), .check = lxm_check_dns_server),
    K("domain", KT_STR, O(struct lxm_global, dns_domain), .check = lxm_check_hostname),
};
static const struct table global_dns_table = TABLE(global_dns_keys);
static const struct key global_network_keys[] = {
    K("bridge", KT_STR, O(struct lxm_global, bridge), .check = lxm_check_ifname),
    K("ipv4", KT_STR, O(struct lxm_global, ipv4), .check = lxm_check_cidr),
    K("ipv6", KT_STR, O(struct lxm_global, ipv6), .check = lxm_check_ipv6_prefix),
    K("nat", KT_BOOL, O(struct lxm_global, nat)),
    K("dhcp", KT_BOOL, O(struct lxm_global, dhcp)),
    K("dns", KT_STRUCT, 0, .sub = &global_dns_table),
};
static const struct key global_storage_keys[] = {
    K("driver", KT_STR, O(struct lxm_global, storage_driver), .choices = storage_drivers),
    K("pool", KT_STR, O(struct lxm_global, storage_pool), .check = lxm_check_abs_path),
};
static const struct key global_idmap_keys[] = {
    K("range", KT_STR, O(struct lxm_global, idmap_range), .check = lxm_check_idrange),
};
static const struct key global_mirror_keys[] = {
    K("debian", KT_STR, O(struct lxm_global, mirror_debian), .check = lxm_check_mirror),
    K("ubuntu", KT_STR, O(struct lxm_global, mirror_ubuntu), .check = lxm_check_mirror),
    K("devuan", KT_STR, O(struct lxm_global, mirror_devuan), .check = lxm_check_mirror),
};
static const struct table global_mirror_table = TABLE(global_mirror_keys);
static const struct table global_network_table = TABLE(global_network_keys);
static const struct table global_storage_table = TABLE(global_storage_keys);
static const struct table global_idmap_table = TABLE(global_idmap_keys);
static const struct key global_keys[] = {
    K("network", KT_STRUCT, 0, .sub = &global_network_table),
    K("storage", KT_STRUCT, 0, .sub = &global_storage_table),
    K("idmap", KT_STRUCT, 0, .sub = &global_idmap_table),
    K("mirrors", KT_STRUCT, 0, .sub = &global_mirror_table),
    K("lxcfs", KT_STR, O(struct lxm_global, lxcfs), .check = lxm_check_lxcfs),
};
const struct table lxm_global_table = TABLE(global_keys);

static const struct key policy_keys[] = {
    K("capabilities", KT_STRUCT, 0, .sub = &caps_table),
    K("seccomp", KT_STRUCT, 0, .sub = &seccomp_table),
    K("apparmor", KT_STRUCT, 0, .sub = &apparmor_table),
    K("masked_paths", KT_STRV, O(struct lxm_policy, masked_paths)),
    K("readonly_paths", KT_STRV, O(struct lxm_policy, readonly_paths)),
    K("devices", KT_STRV, O(struct lxm_policy, devices)),
    K("no_new_privs", KT_BOOL, O(struct lxm_policy, no_new_privs),
      .set_off = O(struct lxm_policy, no_new_privs_set)),
};
const struct table lxm_policy_table = TABLE(policy_keys);

/* ---- checks across the keys of one element -------------------------- */

static int missing(struct walk *w, const struct lxm_ynode *at, const char *path, const char *key,
                   const char *allowed)
{
    _cleanup_free_ char *full = xasprintf("%s.%s", path, key);
    return lxm_walk_error(w, at, full ? full : key, "missing (%s)", allowed);
}

static int netif_check(struct walk *w, const struct lxm_ynode *at, const char *path, void *elem)
{
    const struct lxm_netif *n = elem;
    if (n->type == LXM_NET_MACVLAN && !n->parent)
        return missing(w, at, path, "parent",
                       "type macvlan needs the host interface, e.g. parent: eth0");
    return 0;
}

static int mount_check(struct walk *w, const struct lxm_ynode *at, const char *path, void *elem)
{
    const struct lxm_mount *m = elem;
    if (!m->source)
        return missing(w, at, path, "source", "use the host path, e.g. source: /srv/data");
    if (!m->path)
        return missing(w, at, path, "path", "use the path inside the container, e.g. path: /data");
    return 0;
}

static int port_check(struct walk *w, const struct lxm_ynode *at, const char *path, void *elem)
{
    const struct lxm_port *p = elem;
    if (!p->host)
        return missing(w, at, path, "host", "the port on the host, 1-65535, e.g. host: 8080");
    if (!p->container)
        return missing(w, at, path, "container",
                       "the port in the container, 1-65535, e.g. container: 80");
    return 0;
}

static int rule_check(struct walk *w, const struct lxm_ynode *at, const char *path, void *elem)
{
    const struct lxm_seccomp_rule *r = elem;
    if (!r->action)
        return missing(w, at, path, "action", "use e.g. action: errno EPERM");
    if (strv_length(r->syscalls) == 0)
        return missing(w, at, path, "syscalls", "use a non-empty list, e.g. syscalls: [keyctl]");
    return 0;
}

static int file_check(struct walk *w, const struct lxm_ynode *at, const char *path, void *elem)
{
    const struct lxm_setup_file *f = elem;
    if (!f->path)
        return missing(w, at, path, "path", "use the absolute path in the rootfs");
    return 0;
}

/* ---- checks across elements ----------------------------------------- */

/* The families an entry forwards: 1 IPv4, 2 IPv6, 3 both (no address). */
static int port_families(const struct lxm_port *p)
{
    return !p->address ? 3 : strchr(p->address, ':') ? 2 : 1;
}

/* Every address of its family (or of both). */
static bool port_any(const struct lxm_port *p)
{
    struct in6_addr a6;
    return !p->address || !strcmp(p->address, "0.0.0.0") ||
           (inet_pton(AF_INET6, p->address, &a6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a6));
}

static bool same_listen(const struct lxm_port *a, const struct lxm_port *b)
{
    if (a->proto != b->proto || a->host != b->host || !(port_families(a) & port_families(b)))
        return false;
    if (port_any(a) || port_any(b))
        return true;
    unsigned char x[16], y[16];
    int fam = port_families(a) == 2 ? AF_INET6 : AF_INET;
    return inet_pton(fam, a->address, x) == 1 && inet_pton(fam, b->address, y) == 1 &&
           !memcmp(x, y, fam == AF_INET6 ? 16 : 4);
}

/* The node of ports[i] in a document (NULL when not found). */
static const struct lxm_ynode *port_node(const struct lxm_ynode *root, int i)
{
    if (!root || root->type != LXM_YAML_MAP)
        return NULL;
    for (size_t k = 0; k < root->n; k++) {
        const struct lxm_ynode *key = root->items[2 * k], *v = root->items[2 * k + 1];
        if (key->type == LXM_YAML_SCALAR && !strcmp(key->value, "ports") &&
            v->type == LXM_YAML_SEQ && (size_t)i < v->n)
            return v->items[i];
    }
    return NULL;
}

int lxm_config_ports_check(struct walk *w, const struct lxm_ynode *root, const struct lxm_config *c)
{
    for (int i = 0; i < c->n_ports; i++)
        for (int j = 0; j < i; j++) {
            const struct lxm_port *a = &c->ports[j], *b = &c->ports[i];
            if (!same_listen(a, b))
                continue;
            char path[32];
            snprintf(path, sizeof(path), "ports[%d]", i);
            return lxm_walk_error(w, port_node(root, i), path,
                                  "host port %s/%lld is forwarded twice (also by ports[%d])",
                                  b->proto == LXM_PROTO_UDP ? "udp" : "tcp", (long long)b->host, j);
        }
    return 0;
}

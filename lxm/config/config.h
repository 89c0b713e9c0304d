/* config: every YAML document lxm reads or writes (container config,
 * profile, template, global config) parsed with libyaml into the typed
 * structs below, validated whole before use, with errors that carry
 * FILE:LINE:COL. One table of keys drives parse, set/unset, and save. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

struct lxm_paths;

#define LXM_UNSET (-1)          /* integer limit not set */

/* Sizes in bytes, durations in milliseconds. */
int lxm_parse_size(const char *s, int64_t *out);         /* "512MiB", "1GB", "4096" */
int lxm_parse_duration_ms(const char *s, int64_t *out);  /* "500ms", "30s", "2m" */
int lxm_parse_signal(const char *s, int *out);           /* "SIGRTMIN+3", "SIGPWR", "15" */
/* Container names: [a-z0-9][a-z0-9-]{0,62}, not ending in '-' (the name is
 * the hostname). 0 or -EINVAL with a message. */
int lxm_validate_name(const char *name, struct lxm_error *err);
/* Snapshot names: the same, but a '-' may end them. */
bool lxm_snapshot_name_ok(const char *name);

struct lxm_kv {                 /* one environment variable */
    char *key;
    char *value;
};

/* The smallest limits lxm applies: config.c refuses smaller values when a
 * config is read or set, cgroup.c when it applies them; one bound for both,
 * so a value `config set` takes is never refused by `start`. */
#define LXM_LIMIT_MEMORY_MIN 4096       /* bytes (one page) */
#define LXM_LIMIT_CPU_MIN 0.01          /* CPUs: a 1 ms quota per 100 ms period */
#define LXM_LIMIT_CPU_MAX 1e6

struct lxm_limits {
    int64_t memory;             /* bytes, LXM_UNSET = no limit */
    int64_t memory_swap;        /* bytes of swap allowed; 0 = none */
    double cpu;                 /* CPUs of quota; < 0 = unset */
    int64_t cpu_weight;         /* 1..10000 */
    char *cpuset;               /* "0-1", NULL = unset */
    int64_t pids;
    int64_t io_weight;          /* 1..10000 */
};

enum lxm_net_type { LXM_NET_VETH, LXM_NET_MACVLAN, LXM_NET_NONE };

struct lxm_netif {
    char *name;                 /* in the container: eth0 */
    enum lxm_net_type type;
    char *bridge;               /* veth */
    char *parent;               /* macvlan */
    char *hwaddr;               /* "auto" or aa:bb:.. */
    int64_t mtu;                /* 0 = default */
    char *ipv4;                 /* "dhcp" or "A.B.C.D/N" */
    char *gateway;              /* "auto", NULL or address */
    bool type_set;              /* type was written (merge: overrides profiles) */
};

enum lxm_port_proto { LXM_PROTO_TCP, LXM_PROTO_UDP };

struct lxm_port {               /* one port forward (ports:) */
    int64_t host;               /* 1..65535; 0 = not given */
    int64_t container;          /* 1..65535; 0 = not given */
    int proto;                  /* enum lxm_port_proto */
    char *address;              /* host address to listen on; NULL = all */
};

struct lxm_mount {
    char *source;               /* host path */
    char *path;                 /* container path */
    bool readonly;
};

struct lxm_seccomp_rule {
    char *action;               /* "allow", "kill", "log", "trap", "errno EPERM" */
    char **syscalls;
};

/* Security policy: what profiles carry. Merged in profile order. */
struct lxm_policy {
    char **caps_drop;           /* capability names without CAP_, lowercase */
    char **caps_keep;           /* if set: drop everything else */
    char *seccomp_default;      /* NULL = no filter */
    struct lxm_seccomp_rule *seccomp_rules;
    int n_seccomp_rules;
    char *apparmor_profile;     /* "generated", "unconfined" or a loaded name */
    bool apparmor_required;
    char **apparmor_deny;
    char **masked_paths;
    char **readonly_paths;
    char **devices;             /* extra allowed devices: "fuse", "net/tun" */
    bool no_new_privs;
    bool no_new_privs_set;
    bool apparmor_required_set;
    bool seccomp_rules_set;     /* rules: present, even if empty (an empty list clears) */
};

struct lxm_security {
    bool privileged;
    char *idmap;                /* "auto" or "0 1000000 65536" */
    bool nesting;
    bool privileged_set;        /* explicitly written (merge: overrides profiles) */
    bool nesting_set;
};

struct lxm_profile {
    char *name;
    char *description;
    struct lxm_policy policy;
    struct lxm_netif *netifs;
    int n_netifs;
    struct lxm_limits limits;
    struct lxm_security security;
    bool has_security;
};

enum lxm_source_type { LXM_SOURCE_BUSYBOX, LXM_SOURCE_DEBOOTSTRAP, LXM_SOURCE_TARBALL };

struct lxm_setup_file {
    char *path;
    char *content;
    int mode;                   /* -1 = 0644 */
};

/* Packages one release of a template adds to or takes from source.include. */
struct lxm_release_packages {
    char *release;
    char **include, **exclude;
};

/* Another init system a template can boot (-c template.init=NAME): its
 * packages replace some of source.include, and its signals and setup
 * replace the template's. */
struct lxm_init_variant {
    char *name;                 /* sysvinit, openrc, ... */
    char **include, **exclude;
    int halt_signal, reboot_signal;
    struct lxm_setup_file *files;
    int n_files;
    char **run;
};

struct lxm_template {
    char *name;
    char *description;
    char **releases;
    char *default_release;
    enum lxm_source_type source_type;
    char *variant;
    char **include;
    char *mirror;               /* "host" or URL */
    char *keyring;              /* the archive's OpenPGP keyring (not Debian's), or NULL */
    char **components;          /* archive components, NULL = main */
    struct lxm_release_packages *per_release;
    int n_per_release;
    char *path;                 /* tarball */
    char *sha256;
    char *init;
    char *init_system;          /* what it boots: "systemd" when unset */
    struct lxm_init_variant *inits;
    int n_inits;
    char *ready;                /* auto (NULL) | notify | init: see ready.h */
    int halt_signal;
    int reboot_signal;
    struct lxm_setup_file *files;
    int n_files;
    char **run;
    char **profiles;
};

/* A container's config.yaml. After lxm_config_effective() the policy,
 * limits and netifs also hold what the profiles contributed. */
struct lxm_config {
    char *name;
    char *template;
    char *release;
    char *arch;
    char *image;                /* fingerprint of the image store tree it uses, or NULL */
    char *created;
    char **profiles;
    char *init;
    char *ready;                /* auto (NULL) | notify | init: see ready.h */
    int halt_signal;
    int reboot_signal;
    char *hostname;
    struct lxm_kv *environment;
    int n_environment;
    bool autostart;
    int64_t autostart_order;    /* lower starts first (and stops last); 0 = unset */
    int64_t autostart_delay_ms; /* wait after this one is ready before the next; 0 = none */
    int64_t stop_timeout_ms;    /* stop_timeout: halt -> SIGKILL wait; LXM_UNSET = 30 s */
    struct lxm_limits limits;
    struct lxm_netif *netifs;
    int n_netifs;
    struct lxm_mount *mounts;
    int n_mounts;
    struct lxm_port *ports;
    int n_ports;
    struct lxm_security security;
    char *security_profile;
    struct lxm_policy policy;   /* filled by lxm_config_effective() */
};

struct lxm_global {
    char *bridge;
    char *ipv4;                 /* NULL = pick at first net up */
    char *ipv6;                 /* "ADDR/64" | "none"; NULL = a ULA /64 made at first net up */
    bool nat;
    bool dhcp;
    char **dns_upstream;        /* NULL = the host's resolvers; empty = no forwarding */
    char *dns_domain;           /* "lxm" */
    char *storage_driver;       /* auto | dir | overlay | btrfs */
    char *storage_pool;         /* the loop file of `lxm storage init`; NULL = none */
    char *idmap_range;          /* "auto" or "1000000:65536" */
    char *mirror_debian;        /* mirrors.debian|ubuntu|devuan: the template's */
    char *mirror_ubuntu;        /* source.mirror replaced for every create */
    char *mirror_devuan;
    char *lxcfs;                /* lxcfs mount point, or "false" = off (lxcfs.h) */
};

void lxm_limits_init(struct lxm_limits *l);
/* An empty config (every key unset) with this name; NULL on ENOMEM. */
struct lxm_config *lxm_config_new(const char *name);
/* The interface NAME of c->netifs; with create, appended (all keys unset)
 * when missing. NULL = not there / ENOMEM. */
struct lxm_netif *lxm_config_netif(struct lxm_config *c, const char *name, bool create);

/* Parse a document. file is used in error messages. On error *out is
 * untouched and err holds "FILE:LINE:COL: key: what (allowed)". */
int lxm_config_load(const char *file, struct lxm_config **out, struct lxm_error *err);
int lxm_config_parse(const char *file, const char *text, struct lxm_config **out, struct lxm_error *err);
int lxm_profile_load(const char *file, struct lxm_profile **out, struct lxm_error *err);
int lxm_profile_parse(const char *file, const char *text, struct lxm_profile **out, struct lxm_error *err);
int lxm_template_load(const char *file, struct lxm_template **out, struct lxm_error *err);
int lxm_template_parse(const char *file, const char *text, struct lxm_template **out, struct lxm_error *err);
int lxm_global_load(const char *file, struct lxm_global **out, struct lxm_error *err); /* missing file = defaults */
int lxm_global_parse(const char *file, const char *text, struct lxm_global **out, struct lxm_error *err); /* text NULL = defaults */
/* The global config of these paths (lxm.yaml; defaults when there is
 * none), parsed once per command: the first call reads and parses it,
 * every later one gets the same result, or the same error
 * ("FILE:LINE:COL: ..."). So a broken lxm.yaml fails only what uses it.
 * *out is borrowed: valid until lxm_paths_global_forget or lxm_paths_free. */
int lxm_paths_global(const struct lxm_paths *p, const struct lxm_global **out,
                     struct lxm_error *err);
/* The next lxm_paths_global reads the file again (after writing it, and
 * at a container's reboot, which reads the config of that moment). */
void lxm_paths_global_forget(const struct lxm_paths *p);

/* Find by name in the search path (local profiles dir first, then shipped). */
int lxm_profile_find(const struct lxm_paths *paths, const char *name, struct lxm_profile **out, struct lxm_error *err);
int lxm_template_find(const struct lxm_paths *paths, const char *name, struct lxm_template **out, struct lxm_error *err);
/* The file lxm_profile_find would load (for `profile show`). */
int lxm_profile_path(const struct lxm_paths *paths, const char *name, char **out, struct lxm_error *err);
/* Names of all profiles, local and shipped, sorted and unique. */
int lxm_profile_list(const struct lxm_paths *paths, char ***out, struct lxm_error *err);
/* A profile as one JSON object. */
int lxm_profile_to_json(const struct lxm_profile *p, char **out, struct lxm_error *err);

/* Serialise a container config to YAML (stable key order) and write it
 * atomically. */
int lxm_config_to_yaml(const struct lxm_config *c, char **out, struct lxm_error *err);
int lxm_config_save(const struct lxm_config *c, const char *file, struct lxm_error *err);
/* lxm_config_save without the fsyncs, for a file in a staging directory
 * that its caller makes durable as a whole before renaming it into place. */
int lxm_config_save_staged(const struct lxm_config *c, const char *file, struct lxm_error *err);
/* The same keys as one JSON object (sizes in bytes). */
int lxm_config_to_json(const struct lxm_config *c, char **out, struct lxm_error *err);

/* Set/unset/get a dotted key ("limits.memory", "network.eth0.ipv4") with the
 * same validation as the parser. The config is unchanged on error. */
int lxm_config_set(struct lxm_config *c, const char *key, const char *value, struct lxm_error *err);
int lxm_config_unset(struct lxm_config *c, const char *key, struct lxm_error *err);

/* Merge profiles (in order) under the container's own keys: fills
 * c->policy and the limits/netifs/security the container left unset.
 * Rule (config_merge.c): container keys win, then the LAST profile that
 * sets a key; policy lists concatenate in profile order without
 * duplicates, and an empty list in a later profile clears them. No
 * `profiles:` means [default]. Never save an effective config: it would
 * bake the profiles' values into config.yaml. */
int lxm_config_effective(const struct lxm_paths *paths, struct lxm_config *c, struct lxm_error *err);
/* The same merge with profiles already loaded (unit tests, fuzzers). */
int lxm_config_merge(struct lxm_config *c, struct lxm_profile *const *profiles, int n, struct lxm_error *err);

void lxm_config_free(struct lxm_config *c);
void lxm_profile_free(struct lxm_profile *p);
void lxm_template_free(struct lxm_template *t);
void lxm_global_free(struct lxm_global *g);

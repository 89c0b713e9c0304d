/* config_check: the value parsers and validators behind the config key
 * table (private to config.c). A checker returns NULL when the string is
 * fine, else what is wrong ("is not a CPU list"); it may replace the
 * "what is allowed" text in allowed[]. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define LXM_ALLOWED_MAX 160

typedef const char *(*lxm_check_fn)(const char *s, char *allowed);

const char *lxm_check_name(const char *s, char *allowed);  /* container name */
const char *lxm_check_ref(const char *s, char *allowed);   /* profile/template name */
const char *lxm_check_token(const char *s, char *allowed); /* release, arch */
const char *lxm_check_abs_path(const char *s, char *allowed);
const char *lxm_check_hostname(const char *s, char *allowed);
const char *lxm_check_env_name(const char *s, char *allowed);
const char *lxm_check_ifname(const char *s, char *allowed);
const char *lxm_check_hwaddr(const char *s, char *allowed);    /* auto | MAC */
const char *lxm_check_ipv4_conf(const char *s, char *allowed); /* dhcp | CIDR */
const char *lxm_check_cidr(const char *s, char *allowed);
const char *lxm_check_ipv6_prefix(const char *s, char *allowed); /* none | ADDR/64 */
const char *lxm_check_gateway(const char *s, char *allowed); /* auto | address */
const char *lxm_check_host_addr(const char *s, char *allowed);  /* a unicast IPv4/IPv6 address, not ::1 */
const char *lxm_check_dns_server(const char *s, char *allowed); /* IPv4|IPv6[#PORT] */
const char *lxm_check_cpuset(const char *s, char *allowed);
const char *lxm_check_idmap(const char *s, char *allowed);   /* auto | "0 100000 65536" */
const char *lxm_check_idrange(const char *s, char *allowed); /* auto | "100000:65536" */
const char *lxm_check_lxcfs(const char *s, char *allowed);   /* false | off | /abs/path */
const char *lxm_check_cap(const char *s, char *allowed);
const char *lxm_check_seccomp_action(const char *s, char *allowed);
const char *lxm_check_syscall(const char *s, char *allowed);
const char *lxm_check_apparmor_profile(const char *s, char *allowed);
const char *lxm_check_device(const char *s, char *allowed);
const char *lxm_check_sha256(const char *s, char *allowed);
const char *lxm_check_mirror(const char *s, char *allowed);
const char *lxm_check_nonempty(const char *s, char *allowed);

/* "4096" -> 4096 with range checks; 0 or -EINVAL/-ERANGE. */
int lxm_parse_int64(const char *s, int64_t *out);
/* Inverse of lxm_parse_size: the largest exact binary unit ("512MiB"). */
void lxm_format_size(int64_t bytes, char *buf, size_t len);
/* Inverse of lxm_parse_duration_ms: "30s", "2m", "500ms". */
void lxm_format_duration(int64_t ms, char *buf, size_t len);
/* Inverse of lxm_parse_signal: "SIGTERM", "SIGRTMIN+3". */
void lxm_format_signal(int sig, char *buf, size_t len);

struct lxm_limits;
struct lxm_netif;
/* Table-driven merge steps for config_merge.c: every key dst leaves unset
 * takes src's value. 0 or -ENOMEM. */
int lxm_limits_fill(struct lxm_limits *dst, const struct lxm_limits *src);
int lxm_netif_fill(struct lxm_netif *dst, const struct lxm_netif *src);

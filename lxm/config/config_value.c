/* Value parsers (sizes, durations, signals, names) and the validators the
 * config key table points at. Pure functions, except the cpuset check which
 * reads the host's online CPUs. */
#include "config/config.h"
#include "config/config_check.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>

#include "util/cleanup.h"
#include "util/fs.h"

#define NAME_RULE "use 1-63 of a-z, 0-9 and '-', starting and ending with a letter or digit"

int lxm_parse_int64(const char *s, int64_t *out)
{
    if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '-' || *s == '+'))
        return -EINVAL;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end)
        return -EINVAL;
    if (errno == ERANGE)
        return -ERANGE;
    *out = v;
    return 0;
}

/* Leading unsigned decimal; *end after it. */
static int parse_count(const char *s, uint64_t *v, const char **end)
{
    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    char *e;
    unsigned long long n = strtoull(s, &e, 10);
    if (errno == ERANGE)
        return -ERANGE;
    *v = n;
    *end = e;
    return 0;
}

struct unit {
    const char *name;
    int64_t mult;
};

static int parse_with_units(const char *s, const struct unit *units, size_t n, int64_t *out)
{
    uint64_t v;
    const char *end;
    if (!s)
        return -EINVAL;
    int r = parse_count(s, &v, &end);
    if (r < 0)
        return r;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(end, units[i].name) != 0)
            continue;
        if (v > (uint64_t)(INT64_MAX / units[i].mult))
            return -ERANGE;
        *out = (int64_t)v * units[i].mult;
        return 0;
    }
    return -EINVAL;
}

int lxm_parse_size(const char *s, int64_t *out)
{
    static const struct unit units[] = {
        {"", 1},
        {"B", 1},
        {"KB", 1000LL},
        {"MB", 1000LL * 1000},
        {"GB", 1000LL * 1000 * 1000},
        {"TB", 1000LL * 1000 * 1000 * 1000},
        {"KiB", 1LL << 10},
        {"MiB", 1LL << 20},
        {"GiB", 1LL << 30},
        {"TiB", 1LL << 40},
    };
    return parse_with_units(s, units, ARRAY_SIZE(units), out);
}

/* A bare number is seconds, like `lxm stop -t 30`. */
int lxm_parse_duration_ms(const char *s, int64_t *out)
{
    static const struct unit units[] = {
        {"ms", 1}, {"s", 1000}, {"", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000},
    };
    return parse_with_units(s, units, ARRAY_SIZE(units), out);
}

void lxm_format_size(int64_t bytes, char *buf, size_t len)
{
    static const char *const names[] = {"TiB", "GiB", "MiB", "KiB"};
    for (int i = 0; i < 4; i++) {
        int64_t mult = 1LL << (10 * (4 - i));
        if (bytes > 0 && bytes % mult == 0) {
            snprintf(buf, len, "%lld%s", (long long)(bytes / mult), names[i]);
            return;
        }
    }
    snprintf(buf, len, "%lld", (long long)bytes);
}

void lxm_format_duration(int64_t ms, char *buf, size_t len)
{
    if (ms > 0 && ms % 60000 == 0)
        snprintf(buf, len, "%lldm", (long long)(ms / 60000));
    else if (ms % 1000 == 0)
        snprintf(buf, len, "%llds", (long long)(ms / 1000));
    else
        snprintf(buf, len, "%lldms", (long long)ms);
}

static int parse_rt_signal(const char *name, int *out)
{
    bool max = strncmp(name, "RTMAX", 5) == 0;
    const char *rest = name + 5;
    int base = max ? SIGRTMAX : SIGRTMIN;
    uint64_t off = 0;
    const char *end = rest;
    if (*rest) {
        if (*rest != (max ? '-' : '+') || parse_count(rest + 1, &off, &end) < 0 || *end)
            return -EINVAL;
    }
    if (off > (uint64_t)(SIGRTMAX - SIGRTMIN))
        return -ERANGE;
    *out = max ? base - (int)off : base + (int)off;
    return 0;
}

int lxm_parse_signal(const char *s, int *out)
{
    if (!s || !*s)
        return -EINVAL;
    if (isdigit((unsigned char)*s)) {
        int64_t n;
        if (lxm_parse_int64(s, &n) < 0 || n < 1 || n > SIGRTMAX)
            return -EINVAL;
        *out = (int)n;
        return 0;
    }
    const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
    if (strncmp(name, "RTMIN", 5) == 0 || strncmp(name, "RTMAX", 5) == 0)
        return parse_rt_signal(name, out);
    for (int sig = 1; sig < SIGRTMIN; sig++) {
        const char *abbrev = sigabbrev_np(sig);
        if (abbrev && strcasecmp(name, abbrev) == 0) {
            *out = sig;
            return 0;
        }
    }
    return -EINVAL;
}

void lxm_format_signal(int sig, char *buf, size_t len)
{
    const char *abbrev = sig > 0 && sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;
    if (abbrev)
        snprintf(buf, len, "SIG%s", abbrev);
    else if (sig == SIGRTMIN)
        snprintf(buf, len, "SIGRTMIN");
    else if (sig > SIGRTMIN && sig <= SIGRTMAX)
        snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
    else
        snprintf(buf, len, "%d", sig);
}

/* A container's name is also its hostname and DNS name, so it cannot end
 * in '-' (a hostname label cannot); a snapshot's name may. */
static bool name_ok(const char *name, bool hostname)
{
    size_t n = strlen(name);
    if (n == 0 || n > 63 || (hostname && name[n - 1] == '-'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (i > 0 && ch == '-')))
            return false;
    }
    return true;
}

int lxm_validate_name(const char *name, struct lxm_error *err)
{
    if (!name || !name_ok(name, true))
        return lxm_error_set(err, EINVAL, "invalid container name '%s' (" NAME_RULE ")",
                             name ? name : "");
    return 0;
}

#define ALLOW(...) snprintf(allowed, LXM_ALLOWED_MAX, __VA_ARGS__)

const char *lxm_check_name(const char *s, char *allowed)
{
    ALLOW(NAME_RULE);
    return name_ok(s, true) ? NULL : "is not a valid container name";
}

bool lxm_snapshot_name_ok(const char *name)
{
    return name && name_ok(name, false);
}

static bool chars_ok(const char *s, const char *extra, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || !isalnum((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
            return false;
    return true;
}

const char *lxm_check_ref(const char *s, char *allowed)
{
    ALLOW("use 1-63 of letters, digits, '.', '_' and '-'");
    return chars_ok(s, "._-", 63) ? NULL : "is not a valid name";
}

const char *lxm_check_token(const char *s, char *allowed)
{
    ALLOW("use letters, digits, '.', '_', '+' and '-', e.g. bookworm");
    return chars_ok(s, "._+-", 64) ? NULL : "is not a valid name";
}

const char *lxm_check_nonempty(const char *s, char *allowed)
{
    (void)allowed;
    return *s ? NULL : "is empty";
}

const char *lxm_check_abs_path(const char *s, char *allowed)
{
    ALLOW("use an absolute path without '..', e.g. /data");
    if (s[0] != '/' || strlen(s) > 4095)
        return "is not an absolute path";
    for (const char *p = s; (p = strstr(p, "..")); p += 2)
        if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
            return "contains '..'";
    return NULL;
}

const char *lxm_check_lxcfs(const char *s, char *allowed)
{
    if (strcmp(s, "false") == 0 || strcmp(s, "off") == 0 || strcmp(s, "no") == 0)
        return NULL;
    const char *bad = lxm_check_abs_path(s, allowed);
    ALLOW("use the lxcfs mount point, e.g. /var/lib/lxcfs, or false to turn it off");
    return bad;
}

const char *lxm_check_hostname(const char *s, char *allowed)
{
    ALLOW("use dot-separated labels of a-z, A-Z, 0-9 and '-', at most 63 each");
    size_t n = strlen(s), label = 0;
    if (n == 0 || n > 253)
        return "is not a valid hostname";
    for (size_t i = 0; i <= n; i++) {
        char ch = s[i];
        if (ch == '.' || ch == '\0') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return "is not a valid hostname";
            label = 0;
        } else if (isalnum((unsigned char)ch) || (ch == '-' && label > 0)) {
            label++;
        } else {
            return "is not a valid hostname";
        }
    }
    return NULL;
}

const char *lxm_check_env_name(const char *s, char *allowed)
{
    ALLOW("use letters, digits and '_', not starting with a digit");
    if (!*s || isdigit((unsigned char)*s))
        return "is not a valid variable name";
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return "is not a valid variable name";
    return NULL;
}

const char *lxm_check_ifname(const char *s, char *allowed)
{
    ALLOW("use 1-15 characters, no '/', ':' or spaces");
    size_t n = strlen(s);
    if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
        return "is not a valid interface name";
    for (const char *p = s; *p; p++)
        if (*p == '/' || *p == ':' || isspace((unsigned char)*p) || !isprint((unsigned char)*p))
            return "is not a valid interface name";
    return NULL;
}

const char *lxm_check_hwaddr(const char *s, char *allowed)
{
    ALLOW("use auto or a unicast MAC, e.g. 00:16:3e:12:34:56");
    if (!strcmp(s, "auto"))
        return NULL;
    if (strlen(s) != 17)
        return "is not a MAC address";
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
            return "is not a MAC address";
    }
    unsigned first = (unsigned)strtoul(s, NULL, 16);
    return (first & 1) ? "is a multicast address" : NULL;
}

const char *lxm_check_cidr(const char *s, char *allowed)
{
    ALLOW("use an IPv4 address with a prefix length, e.g. 10.77.0.10/24");
    const char *slash = strchr(s, '/');
    if (!slash || slash - s > 15 || !slash[1] || strlen(slash + 1) > 2)
        return "is not an IPv4 CIDR address";
    char addr[16];
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    struct in_addr in;
    int64_t prefix;
    if (inet_pton(AF_INET, addr, &in) != 1 || !isdigit((unsigned char)slash[1]) ||
        lxm_parse_int64(slash + 1, &prefix) < 0 || prefix > 32)
        return "is not an IPv4 CIDR address";
    return NULL;
}

const char *lxm_check_ipv6_prefix(const char *s, char *allowed)
{
    ALLOW("use none or an IPv6 /64, e.g. fd42:1:2::/64 or fd42:1:2::1/64");
    if (!strcmp(s, "none"))
        return NULL;
    const char *slash = strchr(s, '/');
    char addr[INET6_ADDRSTRLEN];
    struct in6_addr in;
    if (!slash || (size_t)(slash - s) >= sizeof(addr))
        return "is not an IPv6 prefix";
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = '\0';
    if (inet_pton(AF_INET6, addr, &in) != 1)
        return "is not an IPv6 prefix";
    if (strcmp(slash + 1, "64") != 0)
        return "is not a /64 (SLAAC needs a /64)";
    if (in.s6_addr[0] == 0xff || (in.s6_addr[0] == 0xfe && (in.s6_addr[1] & 0xc0) == 0x80))
        return "is a multicast or link-local prefix";
    return NULL;
}

const char *lxm_check_ipv4_conf(const char *s, char *allowed)
{
    if (!strcmp(s, "dhcp"))
        return NULL;
    const char *what = lxm_check_cidr(s, allowed);
    ALLOW("use dhcp or an address with a prefix length, e.g. 10.77.0.10/24");
    return what;
}

const char *lxm_check_dns_server(const char *s, char *allowed)
{
    ALLOW("use an IPv4 or IPv6 address, optionally with #PORT, e.g. 192.0.2.53 or "
          "2001:db8::53#5353");
    char addr[INET6_ADDRSTRLEN];
    const char *hash = strchr(s, '#');
    size_t n = hash ? (size_t)(hash - s) : strlen(s);
    if (n == 0 || n >= sizeof(addr))
        return "is not an IP address";
    memcpy(addr, s, n);
    addr[n] = '\0';
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, addr, buf) != 1 && inet_pton(AF_INET6, addr, buf) != 1)
        return "is not an IP address";
    int64_t port;
    if (hash && (!isdigit((unsigned char)hash[1]) || lxm_parse_int64(hash + 1, &port) < 0 ||
                 port < 1 || port > 65535))
        return "has a bad port (1-65535 after #)";
    return NULL;
}

const char *lxm_check_gateway(const char *s, char *allowed)
{
    ALLOW("use auto or an IPv4 address, e.g. 10.77.0.1");
    struct in_addr in;
    if (!strcmp(s, "auto") || inet_pton(AF_INET, s, &in) == 1)
        return NULL;
    return "is not an IPv4 address";
}

const char *lxm_check_host_addr(const char *s, char *allowed)
{
    ALLOW("use an address of the host, e.g. 127.0.0.1, or 0.0.0.0 or \"::\" for every IPv4 or "
          "IPv6 one, or leave it out for all");
    struct in_addr in;
    struct in6_addr in6;
    if (inet_pton(AF_INET, s, &in) == 1) {
        uint32_t a = ntohl(in.s_addr);
        if ((a >> 28) == 0xe || a == 0xffffffffu)
            return "is a multicast or broadcast address";
        return NULL;
    }
    if (inet_pton(AF_INET6, s, &in6) != 1)
        return "is not an IPv4 or IPv6 address";
    if (IN6_IS_ADDR_MULTICAST(&in6))
        return "is a multicast address";
    if (IN6_IS_ADDR_LINKLOCAL(&in6))
        return "is a link-local address, which needs an interface";
    if (IN6_IS_ADDR_V4MAPPED(&in6))
        return "is an IPv4-mapped address (write the IPv4 address)";
    if (IN6_IS_ADDR_LOOPBACK(&in6))
        return "is the IPv6 loopback: the kernel does not route connections from ::1 to a "
               "container (IPv6 has no route_localnet); use 127.0.0.1";
    return NULL;
}

#define MAX_CPUS 8192

/* "0-1,3" into a bitmap; false on bad syntax. */
static bool cpulist_parse(const char *s, unsigned char *bits)
{
    const char *p = s;
    if (!*p)
        return false;
    for (;;) {
        uint64_t a, b;
        const char *end;
        if (parse_count(p, &a, &end) < 0)
            return false;
        b = a;
        if (*end == '-' && parse_count(end + 1, &b, &end) < 0)
            return false;
        if (a > b || b >= MAX_CPUS)
            return false;
        for (uint64_t i = a; i <= b; i++)
            bits[i / 8] |= (unsigned char)(1u << (i % 8));
        if (*end == '\0' || *end == '\n')
            return true;
        if (*end != ',')
            return false;
        p = end + 1;
    }
}

const char *lxm_check_cpuset(const char *s, char *allowed)
{
    unsigned char want[MAX_CPUS / 8] = {0}, have[MAX_CPUS / 8] = {0};
    ALLOW("use a CPU list, e.g. 0-1,3");
    if (!cpulist_parse(s, want) || strchr(s, '\n'))
        return "is not a CPU list";
    _cleanup_free_ char *online = NULL;
    if (read_file("/sys/devices/system/cpu/online", &online, NULL) < 0 ||
        !cpulist_parse(online, have))
        return NULL; /* cannot tell: the kernel will say at start */
    online[strcspn(online, "\n")] = '\0';
    for (size_t i = 0; i < sizeof(want); i++) {
        if (want[i] & ~have[i]) {
            ALLOW("use CPUs from %s", online);
            return "is not within the host's CPUs";
        }
    }
    return NULL;
}

const char *lxm_check_idmap(const char *s, char *allowed)
{
    ALLOW("use auto or CONTAINER_ID HOST_ID COUNT, e.g. 0 1000000 65536");
    if (!strcmp(s, "auto"))
        return NULL;
    const char *p = s;
    for (;;) {
        uint64_t v[3];
        for (int i = 0; i < 3; i++) {
            while (*p == ' ')
                p++;
            if (parse_count(p, &v[i], &p) < 0 || v[i] > UINT32_MAX)
                return "is not an id map";
        }
        if (v[2] == 0 || v[0] + v[2] > (uint64_t)UINT32_MAX + 1 ||
            v[1] + v[2] > (uint64_t)UINT32_MAX + 1)
            return "is not an id map";
        while (*p == ' ')
            p++;
        if (!*p)
            return NULL;
        if (*p++ != ',')
            return "is not an id map";
    }
}

const char *lxm_check_idrange(const char *s, char *allowed)
{
    ALLOW("use auto or FIRST_HOST_ID:COUNT, e.g. 1000000:65536");
    if (!strcmp(s, "auto"))
        return NULL;
    uint64_t first, count;
    const char *p;
    if (parse_count(s, &first, &p) < 0 || *p != ':' || parse_count(p + 1, &count, &p) < 0 || *p ||
        count == 0 || first + count > (uint64_t)UINT32_MAX + 1)
        return "is not an id range";
    return NULL;
}

const char *lxm_check_cap(const char *s, char *allowed)
{
    ALLOW("use a lowercase capability name without cap_, e.g. sys_admin");
    if (!*s || strncmp(s, "cap_", 4) == 0)
        return "is not a capability name";
    for (const char *p = s; *p; p++)
        if (!islower((unsigned char)*p) && *p != '_' && !isdigit((unsigned char)*p))
            return "is not a capability name";
    _cleanup_free_ char *full = xasprintf("cap_%s", s);
    cap_value_t v;
    if (!full || cap_from_name(full, &v) < 0)
        return "is not a capability known to libcap";
    return NULL;
}

static bool errno_name_ok(const char *s)
{
    int64_t n;
    if (lxm_parse_int64(s, &n) == 0)
        return n >= 1 && n <= 4095;
    for (int e = 1; e < 4096; e++) {
        const char *name = strerrorname_np(e);
        if (name && !strcmp(name, s))
            return true;
    }
    return false;
}

const char *lxm_check_seccomp_action(const char *s, char *allowed)
{
    static const char *const plain[] = {"allow",       "kill", "kill_process",
                                        "kill_thread", "log",  "trap"};
    ALLOW("use allow, kill, kill_process, log, trap or errno NAME, e.g. errno EPERM");
    for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
        if (!strcmp(s, plain[i]))
            return NULL;
    if (strncmp(s, "errno ", 6) == 0 && errno_name_ok(s + 6))
        return NULL;
    return "is not a seccomp action";
}

const char *lxm_check_syscall(const char *s, char *allowed)
{
    ALLOW("use a system call name, e.g. kexec_load");
    if (!*s || seccomp_syscall_resolve_name(s) == __NR_SCMP_ERROR)
        return "is not a system call known to libseccomp";
    return NULL;
}

const char *lxm_check_apparmor_profile(const char *s, char *allowed)
{
    ALLOW("use generated, unconfined or the name of a loaded profile");
    if (!*s)
        return "is empty";
    for (const char *p = s; *p; p++)
        if (isspace((unsigned char)*p) || !isprint((unsigned char)*p))
            return "is not a profile name";
    return NULL;
}

const char *lxm_check_device(const char *s, char *allowed)
{
    ALLOW("use a name below /dev, e.g. fuse or net/tun");
    if (!*s || s[0] == '/' || strstr(s, ".."))
        return "is not a device name";
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_-.", *p))
            return "is not a device name";
    return NULL;
}

const char *lxm_check_sha256(const char *s, char *allowed)
{
    ALLOW("use 64 hexadecimal digits");
    if (strlen(s) != 64)
        return "is not a sha256 digest";
    for (const char *p = s; *p; p++)
        if (!isxdigit((unsigned char)*p))
            return "is not a sha256 digest";
    return NULL;
}

const char *lxm_check_mirror(const char *s, char *allowed)
{
    ALLOW("use host or an http:// or https:// URL");
    if (!strcmp(s, "host") || !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8))
        return NULL;
    return "is not a mirror";
}

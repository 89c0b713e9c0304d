#include "lxm/net/dnsmasq.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lxm/net/addr.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define DNSMASQ_BIN "/usr/sbin/dnsmasq"

static char *pid_file(const char *dir, const char *bridge)
{
    return xasprintf("%s/%s/dnsmasq.pid", dir, bridge);
}

/* Our instance: alive, runs dnsmasq, and was started with our pid file. */
static bool is_ours(pid_t pid, const char *pidfile)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    _cleanup_free_ char *cmd = NULL;
    size_t len = 0;
    if (read_file(path, &cmd, &len) < 0 || len == 0)
        return false;
    const char *base = strrchr(cmd, '/');
    if (strcmp(base ? base + 1 : cmd, "dnsmasq") != 0)
        return false;
    _cleanup_free_ char *want = xasprintf("--pid-file=%s", pidfile);
    for (size_t off = 0; want && off < len; off += strlen(cmd + off) + 1)
        if (strcmp(cmd + off, want) == 0)
            return true;
    return false;
}

pid_t lxm_dnsmasq_pid(const char *dir, const char *bridge)
{
    _cleanup_free_ char *pf = pid_file(dir, bridge);
    _cleanup_free_ char *s = NULL;
    if (!pf || read_file(pf, &s, NULL) < 0)
        return 0;
    char *end;
    long pid = strtol(s, &end, 10);
    if (pid <= 1 || (*end && *end != '\n'))
        return 0;
    return is_ours((pid_t)pid, pf) ? (pid_t)pid : 0;
}

static bool is_stub(const char *addr)
{
    return !strcmp(addr, "127.0.0.53") || !strcmp(addr, "127.0.0.54");
}

const char *lxm_dnsmasq_resolv_file(const char *etc, const char *resolved)
{
    etc = etc ? etc : "/etc/resolv.conf";
    resolved = resolved ? resolved : "/run/systemd/resolve/resolv.conf";
    _cleanup_fclose_ FILE *f = fopen(etc, "re");
    if (!f)
        return etc; /* dnsmasq waits for it to appear */
    char line[512];
    int servers = 0, stubs = 0;
    while (fgets(line, sizeof(line), f)) {
        char kw[16], addr[64];
        if (sscanf(line, " %15s %63s", kw, addr) != 2 || strcmp(kw, "nameserver") != 0)
            continue;
        servers++;
        stubs += is_stub(addr);
    }
    if (servers > 0 && stubs == servers && access(resolved, R_OK) == 0)
        return resolved;
    return etc;
}

/* The server part of "ADDR[#PORT]" is the bridge's own address: dnsmasq
 * would ask itself. */
static bool is_self(const char *server, uint32_t self)
{
    char a[16];
    lxm_ipv4_format(self, a);
    size_t n = strcspn(server, "#");
    return strlen(a) == n && strncmp(server, a, n) == 0 &&
           (!server[n] || strcmp(server + n, "#53") == 0);
}

/* Where unknown names go: --resolv-file, --server=... or nowhere. Names
 * of the domain and single labels never leave (--local, --domain-needed);
 * nor do reverse lookups of private ranges (--bogus-priv). */
static int push_upstream(char ***v, const struct lxm_dnsmasq_cfg *c)
{
    if (!c->upstream) {
        const char *rf = c->resolv_file ? c->resolv_file : lxm_dnsmasq_resolv_file(NULL, NULL);
        return strv_consume(v, xasprintf("--resolv-file=%s", rf));
    }
    int r = strv_push(v, "--no-resolv");
    for (char *const *s = c->upstream; r >= 0 && *s; s++)
        r = strv_consume(v, xasprintf("--server=%s", *s));
    return r;
}

/* Router advertisements with the /64 for SLAAC, stateless DHCPv6 (the
 * DNS server) and DNS on the bridge's IPv6 address. Without NAT66 the
 * router lifetime is 0: the prefix is on-link, nothing routes out. */
static int push_ipv6(char ***v, const struct lxm_dnsmasq_cfg *c)
{
    if (!c->ipv6)
        return 0;
    char a[INET6_ADDRSTRLEN], n[INET6_ADDRSTRLEN];
    struct lxm_cidr6 net = lxm_cidr6_network(c->ipv6);
    lxm_ipv6_format(&c->ipv6->addr, a);
    lxm_ipv6_format(&net.addr, n);
    int r = strv_push(v, "--enable-ra");
    if (r >= 0)
        r = strv_consume(v, xasprintf("--listen-address=%s", a));
    if (r >= 0)
        r = strv_consume(v, xasprintf("--dhcp-range=%s,ra-stateless,%d,1h", n, net.prefix));
    if (r >= 0 && !c->ra_route)
        r = strv_consume(v, xasprintf("--ra-param=%s,60,0", c->bridge));
    return r;
}

/* dnsmasq drops privileges after startup but must still read its host
 * directories: keep root only when they are out of others' reach. */
static const char *pick_user(const char *path)
{
    _cleanup_free_ char *p = strdup(path);
    for (char *slash = p; p && slash; slash = strchr(slash + 1, '/')) {
        char c = slash[1];
        slash[1] = '\0';
        struct stat st;
        bool ok = stat(p, &st) == 0 && (st.st_mode & S_IXOTH);
        slash[1] = c;
        if (!ok)
            return "root";
    }
    if (!p)
        return "root";
    return getpwnam("dnsmasq") ? "dnsmasq" : "nobody";
}

static char **build_argv(const struct lxm_dnsmasq_cfg *c, const char *bdir, const char *pidfile)
{
    struct lxm_cidr net = {c->address, c->prefix};
    uint32_t lo = c->address + 1, hi = lxm_cidr_broadcast(&net) - 1;
    if (lo > hi) { /* bridge at the top: lease below it */
        lo = lxm_cidr_network(&net) + 1;
        hi = c->address - 1;
    }
    char a[16], s[16], e[16], m[16];
    lxm_ipv4_format(c->address, a);
    lxm_ipv4_format(lo, s);
    lxm_ipv4_format(hi, e);
    lxm_ipv4_format(lxm_cidr_mask(c->prefix), m);
    const char *user = pick_user(bdir);
    const char *fixed[] = {DNSMASQ_BIN,
                           "--conf-file=/dev/null",
                           "--no-hosts",
                           "--domain-needed",
                           "--bogus-priv",
                           "--bind-interfaces",
                           "--except-interface=lo",
                           "--dhcp-authoritative",
                           "--no-ping",
                           "--dhcp-rapid-commit",
                           "--expand-hosts",
                           "--dhcp-no-override",
                           "--group=nogroup"};
    char *dyn[] = {
        xasprintf("--interface=%s", c->bridge),
        xasprintf("--listen-address=%s", a),
        xasprintf("--dhcp-range=%s,%s,%s,1h", s, e, m),
        xasprintf("--domain=%s", c->domain),
        xasprintf("--local=/%s/", c->domain),
        xasprintf("--pid-file=%s", pidfile),
        xasprintf("--dhcp-leasefile=%s/dnsmasq.leases", bdir),
        xasprintf("--dhcp-hostsdir=%s/dhcp-hosts", bdir),
        xasprintf("--hostsdir=%s/hosts", bdir),
        xasprintf("--log-facility=%s/dnsmasq.log", bdir),
        xasprintf("--user=%s", user),
    };
    char **v = NULL;
    bool failed = false;
    for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
        failed |= strv_push(&v, fixed[i]) < 0;
    for (size_t i = 0; i < ARRAY_SIZE(dyn); i++) {
        if (failed)
            free(dyn[i]);
        else
            failed = strv_consume(&v, dyn[i]) < 0; /* frees dyn[i] on failure */
    }
    if (failed || push_upstream(&v, c) < 0 || push_ipv6(&v, c) < 0) {
        strv_free(v);
        return NULL;
    }
    return v;
}

/* Exec dnsmasq, which daemonizes and exits 0 once it serves. Its startup
 * complaints go to errfile. */
static int spawn(char **argv, const char *errfile, struct lxm_error *err)
{
    _cleanup_close_ int efd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (efd < 0)
        return lxm_error_errno(err, errno, "open %s", errfile);
    pid_t pid = fork();
    if (pid < 0)
        return lxm_error_errno(err, errno, "fork");
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(efd, 2) < 0)
            _exit(127);
        /* Nothing of ours (container locks above all) may live on in the
         * daemon. */
        close_range(3, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return lxm_error_errno(err, errno, "wait for dnsmasq");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    _cleanup_free_ char *msg = NULL;
    char line[512] = "";
    /* dnsmasq starts its complaint with an empty line. */
    if (read_file(errfile, &msg, NULL) == 0)
        sscanf(msg, " %511[^\n]", line);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !line[0])
        return lxm_error_set(err, ENOENT, "cannot run %s", argv[0]);
    int code = strstr(line, "in use") ? EADDRINUSE : strstr(line, "No such device") ? ENODEV : EIO;
    return lxm_error_set(err, code,
                         "dnsmasq failed (exit %d): %s",
                         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                         line[0] ? line : "no message");
}

/* Does the running pid have exactly argv as its command line? */
static bool same_argv(pid_t pid, char **argv)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    _cleanup_free_ char *cmd = NULL;
    size_t len = 0, off = 0;
    if (read_file(path, &cmd, &len) < 0)
        return false;
    for (char **a = argv; *a; a++) {
        size_t n = strlen(*a) + 1;
        if (off + n > len || memcmp(cmd + off, *a, n) != 0)
            return false;
        off += n;
    }
    return off == len;
}

int lxm_dnsmasq_check(const struct lxm_dnsmasq_cfg *c, struct lxm_error *err)
{
    for (char *const *s = c->upstream; s && *s; s++)
        if (is_self(*s, c->address))
            return lxm_error_set(err, EINVAL,
                                 "DNS upstream %s is the address of %s itself: dnsmasq would "
                                 "ask itself",
                                 *s, c->bridge);
    return 0;
}

int lxm_dnsmasq_ensure(const struct lxm_dnsmasq_cfg *c, pid_t *pid, struct lxm_error *err)
{
    int r = lxm_dnsmasq_check(c, err);
    if (r < 0)
        return r;
    _cleanup_free_ char *bdir = xasprintf("%s/%s", c->dir, c->bridge);
    _cleanup_free_ char *hosts = xasprintf("%s/hosts", bdir ? bdir : "");
    _cleanup_free_ char *dhosts = xasprintf("%s/dhcp-hosts", bdir ? bdir : "");
    _cleanup_free_ char *errfile = xasprintf("%s/dnsmasq.err", bdir ? bdir : "");
    _cleanup_free_ char *pf = pid_file(c->dir, c->bridge);
    if (!bdir || !hosts || !dhosts || !errfile || !pf)
        return lxm_error_set(err, ENOMEM, "dnsmasq: out of memory");
    /* Before the argv: its --user depends on these directories. */
    if ((r = mkdir_p(hosts, 0755)) < 0 || (r = mkdir_p(dhosts, 0755)) < 0)
        return lxm_error_errno(err, -r, "create %s", bdir);
    _cleanup_strv_free_ char **argv = build_argv(c, bdir, pf);
    if (!argv)
        return lxm_error_set(err, ENOMEM, "dnsmasq: out of memory");
    pid_t p = lxm_dnsmasq_pid(c->dir, c->bridge);
    if (p > 0 && same_argv(p, argv)) {
        if (pid)
            *pid = p;
        return 0;
    }
    /* Started with other settings (upstream, domain, resolv file, an
     * older lxm): replace it; leases survive in the lease file. */
    if (p > 0 && (r = lxm_dnsmasq_stop(c->dir, c->bridge, err)) < 0)
        return r;
    unlink(pf);
    /* At startup dnsmasq lists the host's interfaces and their addresses
     * and gives up ("failed to find list of interfaces: No such device")
     * when one vanishes in between: other containers' veths come and go. */
    for (int i = 0; (r = spawn(argv, errfile, err)) == -ENODEV && i < 4; i++)
        usleep(20000 << i);
    if (r < 0)
        return lxm_error_prefix(err, "start DHCP/DNS on %s", c->bridge);
    /* The pid file is written before the parent returns; allow a moment. */
    for (int i = 0; i < 100 && (p = lxm_dnsmasq_pid(c->dir, c->bridge)) == 0; i++)
        usleep(10000);
    if (p == 0)
        return lxm_error_set(err, EIO,
                             "start DHCP/DNS on %s: dnsmasq did not stay up (see %s/dnsmasq.log)",
                             c->bridge, bdir);
    if (pid)
        *pid = p;
    return 0;
}

int lxm_dnsmasq_stop(const char *dir, const char *bridge, struct lxm_error *err)
{
    pid_t pid = lxm_dnsmasq_pid(dir, bridge);
    _cleanup_free_ char *pf = pid_file(dir, bridge);
    if (pid == 0) {
        if (pf)
            unlink(pf);
        return 0;
    }
    _cleanup_close_ int pfd = pidfd_open(pid, 0);
    if (pfd < 0)
        return errno == ESRCH ? 0 : lxm_error_errno(err, errno, "dnsmasq (pid %d)", (int)pid);
    if (pidfd_send_signal(pfd, SIGTERM, NULL, 0) < 0 && errno != ESRCH)
        return lxm_error_errno(err, errno, "stop dnsmasq (pid %d)", (int)pid);
    struct pollfd p = {.fd = pfd, .events = POLLIN};
    if (poll(&p, 1, 2000) == 0) {
        pidfd_send_signal(pfd, SIGKILL, NULL, 0);
        poll(&p, 1, 2000);
    }
    if (pf)
        unlink(pf);
    return 0;
}

static int put_file(const char *path, const char *content, bool *changed)
{
    _cleanup_free_ char *old = NULL;
    bool existed = read_file(path, &old, NULL) == 0;
    if (existed && content && strcmp(old, content) == 0)
        return 0;
    int r = content ? write_file_atomic(path, content, strlen(content), 0644)
                    : (unlink(path) < 0 && errno != ENOENT ? -errno : 0);
    if (r == 0 && existed)
        *changed = true; /* dnsmasq only notices additions itself */
    return r;
}

static int update_host(const char *dir, const char *bridge, const char *key, const char *dline,
                       const char *hline, struct lxm_error *err)
{
    _cleanup_free_ char *d = xasprintf("%s/%s/dhcp-hosts", dir, bridge);
    _cleanup_free_ char *h = xasprintf("%s/%s/hosts", dir, bridge);
    _cleanup_free_ char *df = xasprintf("%s/%s", d ? d : "", key);
    _cleanup_free_ char *hf = xasprintf("%s/%s", h ? h : "", key);
    if (!d || !h || !df || !hf)
        return lxm_error_set(err, ENOMEM, "dnsmasq hosts: out of memory");
    int r;
    if ((dline || hline) && ((r = mkdir_p(d, 0755)) < 0 || (r = mkdir_p(h, 0755)) < 0))
        return lxm_error_errno(err, -r, "create %s", d);
    bool changed = false;
    if ((r = put_file(df, dline, &changed)) < 0)
        return lxm_error_errno(err, -r, "write %s", df);
    if ((r = put_file(hf, hline, &changed)) < 0)
        return lxm_error_errno(err, -r, "write %s", hf);
    pid_t pid = changed ? lxm_dnsmasq_pid(dir, bridge) : 0;
    if (pid > 0)
        kill(pid, SIGHUP);
    return 0;
}

int lxm_dnsmasq_set_host(const char *dir, const char *bridge, const char *key, const char *mac,
                         const char *name, uint32_t ip, const struct in6_addr *ip6,
                         struct lxm_error *err)
{
    char a[16], a6[INET6_ADDRSTRLEN];
    lxm_ipv4_format(ip, a);
    if (ip6)
        lxm_ipv6_format(ip6, a6);
    _cleanup_free_ char *dline =
        ip ? xasprintf("%s,%s,%s\n", mac, a, name) : xasprintf("%s,%s\n", mac, name);
    _cleanup_free_ char *h4 = ip ? xasprintf("%s %s\n", a, name) : strdup("");
    _cleanup_free_ char *h6 = ip6 ? xasprintf("%s %s\n", a6, name) : strdup("");
    _cleanup_free_ char *hline =
        (ip || ip6) && h4 && h6 ? xasprintf("%s%s", h4, h6) : NULL;
    if (!dline || ((ip || ip6) && !hline))
        return lxm_error_set(err, ENOMEM, "dnsmasq hosts: out of memory");
    return update_host(dir, bridge, key, dline, hline, err);
}

int lxm_dnsmasq_remove_host(const char *dir, const char *bridge, const char *key,
                            struct lxm_error *err)
{
    return update_host(dir, bridge, key, NULL, NULL, err);
}

int lxm_dnsmasq_leases(const char *dir, const char *bridge, struct lxm_lease **out, int *n,
                       struct lxm_error *err)
{
    *out = NULL;
    *n = 0;
    _cleanup_free_ char *path = xasprintf("%s/%s/dnsmasq.leases", dir, bridge);
    if (!path)
        return lxm_error_set(err, ENOMEM, "leases: out of memory");
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : lxm_error_errno(err, errno, "open %s", path);
    char line[512];
    _cleanup_free_ struct lxm_lease *v = NULL;
    int count = 0;
    while (fgets(line, sizeof(line), f)) {
        struct lxm_lease l = {0};
        if (sscanf(line, "%" SCNd64 " %17s %15s %63s", &l.expires, l.mac, l.ip, l.hostname) != 4)
            continue;
        struct lxm_lease *nv = realloc(v, (count + 1) * sizeof(*v));
        if (!nv)
            return lxm_error_set(err, ENOMEM, "leases: out of memory");
        v = nv;
        v[count++] = l;
    }
    *out = TAKE_PTR(v);
    *n = count;
    return 0;
}

/* devices: the device allowlist of a container — the standard nodes plus
 * the policy's `devices:` — as v1 devices-cgroup rules and as a cgroup2
 * BPF_PROG_TYPE_CGROUP_DEVICE program. Everything else cannot be opened
 * or created (mknod) inside, whatever a process's capabilities. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "security/devices.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/strv.h"

#define ANY (-1)
#define LOG_SIZE (256 * 1024)

struct dev_rule {
    char type;        /* 'c', 'b' or 'a' */
    int major, minor; /* ANY = wildcard */
    char access[4];   /* subset of "rwm" */
};

/* What every container gets: the nodes a distribution's userspace opens. */
static const struct dev_rule standard[] = {
    {'c', 1, 3, "rwm"},     /* null */
    {'c', 1, 5, "rwm"},     /* zero */
    {'c', 1, 7, "rwm"},     /* full */
    {'c', 1, 8, "rwm"},     /* random */
    {'c', 1, 9, "rwm"},     /* urandom */
    {'c', 5, 0, "rwm"},     /* tty */
    {'c', 5, 1, "rwm"},     /* console */
    {'c', 5, 2, "rwm"},     /* ptmx */
    {'c', 136, ANY, "rwm"}, /* pts/N */
};

/* Well-known names of the policy's `devices:`; others are looked up in
 * the host's /dev. */
static const struct {
    const char *name;
    struct dev_rule rule;
} known[] = {
    {"fuse", {'c', 10, 229, "rwm"}}, {"net/tun", {'c', 10, 200, "rwm"}},
    {"kvm", {'c', 10, 232, "rwm"}},  {"loop-control", {'c', 10, 237, "rwm"}},
    {"loop", {'b', 7, ANY, "rwm"}},  {"ppp", {'c', 108, 0, "rwm"}},
};

static void rule_line(const struct dev_rule *r, char *buf, size_t len);

static int parse_num(const char *s, int *out)
{
    char *end;
    if (strcmp(s, "*") == 0) {
        *out = ANY;
        return 0;
    }
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 0 || v > 0xfffff)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

/* "c 10:229 rwm", "b 7:* rw", "a" */
static int parse_explicit(const char *s, struct dev_rule *r)
{
    char type, maj[16], min[16], acc[8] = "rwm";
    int n = sscanf(s, "%c %15[0-9*]:%15[0-9*] %7s", &type, maj, min, acc);

    if (n == 1 && strcmp(s, "a") == 0) {
        *r = (struct dev_rule){'a', ANY, ANY, "rwm"};
        return 0;
    }
    if (n < 3 || (type != 'c' && type != 'b') || strspn(acc, "rwm") != strlen(acc) ||
        strlen(acc) > 3 || !*acc)
        return -EINVAL;
    if (parse_num(maj, &r->major) < 0 || parse_num(min, &r->minor) < 0)
        return -EINVAL;
    r->type = type;
    memcpy(r->access, acc, strlen(acc) + 1);
    return 0;
}

int lxm_devices_rule(const char *spec, char *buf, size_t len, struct lxm_error *err)
{
    struct dev_rule r;
    struct stat st;
    bool found = false;

    for (size_t i = 0; i < ARRAY_SIZE(known) && !found; i++)
        if (strcmp(spec, known[i].name) == 0)
            r = known[i].rule, found = true;
    if (!found && parse_explicit(spec, &r) == 0)
        found = true;
    if (!found) {
        _cleanup_free_ char *path = xasprintf("/dev/%s", spec);
        if (!path || strstr(spec, "..") || spec[0] == '/' || stat(path, &st) < 0 ||
            !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
            return lxm_error_set(err, EINVAL,
                                 "devices: unknown device '%s' (a name under /dev "
                                 "such as fuse or net/tun, or \"c MAJOR:MINOR rwm\")",
                                 spec);
        r = (struct dev_rule){S_ISCHR(st.st_mode) ? 'c' : 'b', (int)major(st.st_rdev),
                              (int)minor(st.st_rdev), "rwm"};
    }
    rule_line(&r, buf, len);
    return 0;
}

/* All rules, standard first, as parsed structs. */
static int collect(const struct lxm_policy *p, struct dev_rule **out, size_t *n,
                   struct lxm_error *err)
{
    size_t extra = p->devices ? strv_length(p->devices) : 0;
    struct dev_rule *rules = calloc(ARRAY_SIZE(standard) + extra, sizeof(*rules));
    char line[64];
    int r;

    if (!rules)
        return lxm_error_set(err, ENOMEM, "devices: out of memory");
    memcpy(rules, standard, sizeof(standard));
    *n = ARRAY_SIZE(standard);
    for (size_t i = 0; i < extra; i++) {
        if ((r = lxm_devices_rule(p->devices[i], line, sizeof(line), err)) < 0 ||
            parse_explicit(line, &rules[*n]) < 0) {
            free(rules);
            return r < 0 ? r : lxm_error_set(err, EINVAL, "devices: bad rule '%s'", line);
        }
        (*n)++;
    }
    *out = rules;
    return 0;
}

static void rule_line(const struct dev_rule *r, char *buf, size_t len)
{
    char maj[16] = "*", min[16] = "*";
    if (r->major != ANY)
        snprintf(maj, sizeof(maj), "%d", r->major);
    if (r->minor != ANY)
        snprintf(min, sizeof(min), "%d", r->minor);
    if (r->type == 'a')
        snprintf(buf, len, "a");
    else
        snprintf(buf, len, "%c %s:%s %s", r->type, maj, min, r->access);
}

static int apply_v1(const struct dev_rule *rules, size_t n, const char *dir, struct lxm_error *err)
{
    _cleanup_free_ char *deny = xasprintf("%s/devices.deny", dir);
    _cleanup_free_ char *allow = xasprintf("%s/devices.allow", dir);
    char line[64];
    int r;

    if (!deny || !allow)
        return lxm_error_set(err, ENOMEM, "devices: out of memory");
    if ((r = write_string(deny, "a")) < 0)
        return lxm_error_errno(err, -r, "devices: write 'a' to %s", deny);
    /* One open for every rule: each write is one rule to the kernel. */
    _cleanup_close_ int fd = open(allow, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return lxm_error_errno(err, errno, "devices: open %s", allow);
    for (size_t i = 0; i < n; i++) {
        rule_line(&rules[i], line, sizeof(line));
        ssize_t w = write(fd, line, strlen(line));
        if (w < 0 || (size_t)w != strlen(line))
            return lxm_error_errno(err, w < 0 ? errno : EIO, "devices: write '%s' to %s", line,
                                   allow);
    }
    return 0;
}

/* Classic eBPF by hand: the program is a few compares per rule, not worth
 * a BPF toolchain. */
#define INSN(c, d, s, o, i)                                                                        \
    ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define LDX_W(d, s, o) INSN(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define ALU32_K(op, d, i) INSN(BPF_ALU | (op) | BPF_K, d, 0, 0, i)
#define MOV64_X(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_K(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define JNE_K(d, i, o) INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)
#define EXIT() INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static int access_mask(const char *a)
{
    return (strchr(a, 'm') ? BPF_DEVCG_ACC_MKNOD : 0) | (strchr(a, 'r') ? BPF_DEVCG_ACC_READ : 0) |
           (strchr(a, 'w') ? BPF_DEVCG_ACC_WRITE : 0);
}

/* r2 = type, r3 = access, r4 = major, r5 = minor; each rule returns 1 on
 * a match, or jumps to the next rule; the end returns 0 (deny). */
static size_t build_prog(const struct dev_rule *rules, size_t n, struct bpf_insn *p)
{
    size_t k = 0;

    p[k++] = LDX_W(2, 1, 0);
    p[k++] = ALU32_K(BPF_AND, 2, 0xffff);
    p[k++] = LDX_W(3, 1, 0);
    p[k++] = ALU32_K(BPF_RSH, 3, 16);
    p[k++] = LDX_W(4, 1, 4);
    p[k++] = LDX_W(5, 1, 8);
    for (size_t i = 0; i < n; i++) {
        const struct dev_rule *r = &rules[i];
        int acc = access_mask(r->access);
        bool has_type = r->type != 'a', has_acc = acc != 7;
        int len = 2 + has_type + 3 * has_acc + (r->major != ANY) + (r->minor != ANY);
        int left = len; /* instructions from here to the block's end */
        if (has_type)
            left--,
                p[k++] = JNE_K(2, r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, left);
        if (has_acc) {
            p[k++] = MOV64_X(0, 3);
            p[k++] = ALU32_K(BPF_AND, 0, ~acc & 7);
            left -= 3, p[k++] = JNE_K(0, 0, left);
        }
        if (r->major != ANY)
            left--, p[k++] = JNE_K(4, r->major, left);
        if (r->minor != ANY)
            left--, p[k++] = JNE_K(5, r->minor, left);
        p[k++] = MOV64_K(0, 1);
        p[k++] = EXIT();
    }
    p[k++] = MOV64_K(0, 0);
    p[k++] = EXIT();
    return k;
}

static int load_prog(const struct bpf_insn *prog, size_t n, char *log, size_t log_size)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uintptr_t)prog;
    attr.insn_cnt = (uint32_t)n;
    attr.license = (uintptr_t) "GPL";
    if (log) {
        attr.log_buf = (uintptr_t)log;
        attr.log_size = (uint32_t)log_size;
        attr.log_level = 1;
    }
    int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
    return fd < 0 ? -errno : fd;
}

/* The verifier's last line says why it refused; the log is only asked
 * for then (a log too small for the whole trace fails the load with
 * ENOSPC, which is how long allowlists used to fail). */
static int load_failed(const struct bpf_insn *prog, size_t n, int r, struct lxm_error *err)
{
    _cleanup_free_ char *log = NULL;
    if (r == -EINVAL || r == -EACCES) {
        log = calloc(1, LOG_SIZE);
        if (log && load_prog(prog, n, log, LOG_SIZE) >= 0)
            log[0] = '\0';
    }
    const char *last = "";
    if (log && *log) {
        size_t len = strlen(log);
        while (len && log[len - 1] == '\n')
            log[--len] = '\0';
        last = strrchr(log, '\n') ? strrchr(log, '\n') + 1 : log;
    }
    return lxm_error_errno(err, -r, "devices: load the cgroup device program%s%.200s",
                           *last ? ": " : "", last);
}

/* True in a user namespace other than the initial one. */
static bool in_user_ns(void)
{
    _cleanup_free_ char *map = NULL;
    unsigned a, b, c;
    if (read_file("/proc/self/uid_map", &map, NULL) < 0)
        return false;
    return sscanf(map, "%u %u %u", &a, &b, &c) != 3 || a != 0 || b != 0 || c != 4294967295u;
}

static int apply_v2(const struct dev_rule *rules, size_t n, int cgroup_fd, struct lxm_error *err)
{
    _cleanup_free_ struct bpf_insn *prog = calloc(8 + n * 9, sizeof(*prog));
    union bpf_attr attr;

    if (!prog)
        return lxm_error_set(err, ENOMEM, "devices: out of memory");
    size_t len = build_prog(rules, n, prog);
    _cleanup_close_ int fd = load_prog(prog, len, NULL, 0);
    /* Inside a user namespace (an lxm nested in a container) only host
     * root may load device programs. There the enclosing container's rules
     * bound every device access, and nobody inside can mknod a device. */
    if (fd == -EPERM && in_user_ns()) {
        lxm_debug("devices: in a user namespace, the enclosing container's device rules apply");
        return 0;
    }
    if (fd < 0)
        return load_failed(prog, len, fd, err);
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = cgroup_fd;
    attr.attach_bpf_fd = fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    /* MULTI: a systemd inside may attach its own programs below ours; the
     * kernel runs all of them and every one must allow. */
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)) < 0)
        return lxm_error_errno(err, errno, "devices: attach the device program to the cgroup");
    return 0;
}

int lxm_devices_apply(const struct lxm_policy *p, const char *v1_devices_dir, int v2_cgroup_fd,
                      struct lxm_error *err)
{
    _cleanup_free_ struct dev_rule *rules = NULL;
    size_t n = 0;
    int r;

    if ((r = collect(p, &rules, &n, err)) < 0)
        return r;
    if (v1_devices_dir && (r = apply_v1(rules, n, v1_devices_dir, err)) < 0)
        return r;
    if (v2_cgroup_fd >= 0 && (r = apply_v2(rules, n, v2_cgroup_fd, err)) < 0)
        return r;
    return 0;
}

int lxm_devices_apply_cgroup(const struct lxm_policy *p, struct lxm_cgroup *cg,
                             struct lxm_error *err)
{
    const char *v1 = lxm_cgroup_v1_path(cg, "devices");
    int v2 = lxm_cgroup_v2_fd(cg);

    if (!v1 && v2 < 0)
        return lxm_error_set(err, EOPNOTSUPP,
                             "devices: the host has neither a v1 devices "
                             "cgroup nor a cgroup2 for the container");
    /* The kernel checks a device against both where both exist (a hybrid
     * host): the v1 list alone then decides, and a BPF program beside it
     * would only cost its load and its memory. */
    return lxm_devices_apply(p, v1, v1 ? -1 : v2, err);
}

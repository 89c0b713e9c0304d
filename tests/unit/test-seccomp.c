/* seccomp: action parsing, compile errors, the ABIs the exported program
 * checks, and (as root or not: seccomp needs neither) the filter's effect
 * in a forked child, including a 32-bit int $0x80 call on amd64. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "security/security.h"
#include "tap.h"

static char *kexec_calls[] = {"kexec_load", "open_by_handle_at", "init_module", NULL};
static char *key_calls[] = {"keyctl", "add_key", "request_key", NULL};
static char *log_calls[] = {"getppid", NULL};

static struct lxm_seccomp_rule default_rules[] = {
    {"errno EPERM", kexec_calls},
    {"errno ENOSYS", key_calls},
    {"log", log_calls},
};

static struct lxm_policy default_policy(void)
{
    struct lxm_policy p = {0};
    p.seccomp_default = "allow";
    p.seccomp_rules = default_rules;
    p.n_seccomp_rules = 3;
    return p;
}

static void test_actions(void)
{
    struct lxm_error err = {0};
    uint32_t a = 0;

    is_int(lxm_seccomp_parse_action("allow", &a, &err), 0, "allow parses");
    is_int(a, SCMP_ACT_ALLOW, "allow -> SCMP_ACT_ALLOW");
    lxm_seccomp_parse_action("kill", &a, &err);
    is_int(a, SCMP_ACT_KILL_PROCESS, "kill -> kill_process");
    lxm_seccomp_parse_action("log", &a, &err);
    is_int(a, SCMP_ACT_LOG, "log");
    lxm_seccomp_parse_action("trap", &a, &err);
    is_int(a, SCMP_ACT_TRAP, "trap");
    is_int(lxm_seccomp_parse_action("errno EPERM", &a, &err), 0, "errno EPERM parses");
    is_int(a, SCMP_ACT_ERRNO(EPERM), "errno EPERM -> ERRNO(1)");
    lxm_seccomp_parse_action("errno ENOSYS", &a, &err);
    is_int(a, SCMP_ACT_ERRNO(ENOSYS), "errno ENOSYS -> ERRNO(38)");
    lxm_seccomp_parse_action("errno 13", &a, &err);
    is_int(a, SCMP_ACT_ERRNO(13), "errno 13 numeric");
    is_int(lxm_seccomp_parse_action("errno EWHAT", &a, &err), -EINVAL,
           "unknown errno name rejected");
    ok(strstr(err.msg, "EWHAT") != NULL, "error names the action: %s", err.msg);
    is_int(lxm_seccomp_parse_action("errno 5000", &a, &err), -EINVAL,
           "errno out of range rejected");
    is_int(lxm_seccomp_parse_action("deny", &a, &err), -EINVAL, "unknown action rejected");
    ok(strstr(err.msg, "allow") != NULL, "error lists the allowed actions");
}

static void test_unknown_syscall(void)
{
    static char *bad[] = {"getpid", "no_such_syscall", NULL};
    struct lxm_seccomp_rule rules[] = {{"errno EPERM", bad}};
    struct lxm_policy p = {0};
    struct lxm_seccomp *s = NULL;
    struct lxm_error err = {0};

    p.seccomp_default = "allow";
    p.seccomp_rules = rules;
    p.n_seccomp_rules = 1;
    is_int(lxm_seccomp_compile(&p, &s, &err), -EINVAL, "unknown syscall fails the compile");
    ok(strstr(err.msg, "no_such_syscall") != NULL, "error names the syscall: %s", err.msg);
    ok(s == NULL, "nothing returned on error");

    p.seccomp_default = "bogus";
    is_int(lxm_seccomp_compile(&p, &s, &err), -EINVAL, "bad default action fails");
    ok(strstr(err.msg, "default_action") != NULL, "error says default_action: %s", err.msg);

    p.seccomp_default = NULL;
    is_int(lxm_seccomp_compile(&p, &s, &err), 0, "no default action = no filter");
    ok(s == NULL, "no filter object");
}

/* A classic-BPF interpreter for the subset libseccomp emits without
 * argument checks: run the exported program on (arch, nr) as the kernel
 * would. UINT32_MAX = an instruction this test does not know. */
static uint32_t run_filter(const struct sock_filter *f, size_t n, uint32_t arch, uint32_t nr)
{
    uint32_t a = 0;

    for (size_t pc = 0; pc < n; pc++) {
        const struct sock_filter *i = &f[pc];
        switch (i->code) {
        case BPF_LD | BPF_W | BPF_ABS:
            if (i->k == 0)
                a = nr;
            else if (i->k == 4)
                a = arch;
            else
                a = 0; /* instruction pointer and args: zero */
            break;
        case BPF_ALU | BPF_AND | BPF_K: a &= i->k; break;
        case BPF_JMP | BPF_JA: pc += i->k; break;
        case BPF_JMP | BPF_JEQ | BPF_K: pc += a == i->k ? i->jt : i->jf; break;
        case BPF_JMP | BPF_JGT | BPF_K: pc += a > i->k ? i->jt : i->jf; break;
        case BPF_JMP | BPF_JGE | BPF_K: pc += a >= i->k ? i->jt : i->jf; break;
        case BPF_JMP | BPF_JSET | BPF_K: pc += (a & i->k) ? i->jt : i->jf; break;
        case BPF_RET | BPF_K: return i->k;
        default: return UINT32_MAX;
        }
    }
    return UINT32_MAX;
}

#define X32_BIT 0x40000000u

static void test_abis(void)
{
    struct lxm_policy p = default_policy();
    struct lxm_seccomp *s = NULL;
    struct lxm_error err = {0};
    size_t n;

    is_int(lxm_seccomp_compile(&p, &s, &err), 0, "default-like policy compiles");
    const struct sock_filter *f = lxm_seccomp_program(s, &n);
    ok(f && n > 5, "exported program has %zu instructions", n);
    if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
        /* Syscall numbers of each ABI (arch/x86/entry/syscalls/). */
        is_int(run_filter(f, n, AUDIT_ARCH_X86_64, 246), SCMP_ACT_ERRNO(EPERM),
               "x86_64 kexec_load -> EPERM");
        is_int(run_filter(f, n, AUDIT_ARCH_X86_64, 250), SCMP_ACT_ERRNO(ENOSYS),
               "x86_64 keyctl -> ENOSYS");
        is_int(run_filter(f, n, AUDIT_ARCH_X86_64, 39), SCMP_ACT_ALLOW, "x86_64 getpid allowed");
        is_int(run_filter(f, n, AUDIT_ARCH_X86_64, X32_BIT | 528), SCMP_ACT_ERRNO(EPERM),
               "x32 kexec_load -> EPERM");
        is_int(run_filter(f, n, AUDIT_ARCH_X86_64, X32_BIT | 250), SCMP_ACT_ERRNO(ENOSYS),
               "x32 keyctl -> ENOSYS");
        is_int(run_filter(f, n, AUDIT_ARCH_X86_64, X32_BIT | 39), SCMP_ACT_ALLOW,
               "x32 getpid allowed");
        is_int(run_filter(f, n, AUDIT_ARCH_I386, 283), SCMP_ACT_ERRNO(EPERM),
               "i386 kexec_load -> EPERM");
        is_int(run_filter(f, n, AUDIT_ARCH_I386, 288), SCMP_ACT_ERRNO(ENOSYS),
               "i386 keyctl -> ENOSYS");
        is_int(run_filter(f, n, AUDIT_ARCH_I386, 342), SCMP_ACT_ERRNO(EPERM),
               "i386 open_by_handle_at -> EPERM");
        is_int(run_filter(f, n, AUDIT_ARCH_I386, 20), SCMP_ACT_ALLOW, "i386 getpid allowed");
        is_int(run_filter(f, n, AUDIT_ARCH_AARCH64, 104), SCMP_ACT_KILL_PROCESS,
               "a foreign ABI is killed");
    } else if (seccomp_arch_native() == SCMP_ARCH_AARCH64) {
        is_int(run_filter(f, n, AUDIT_ARCH_AARCH64, 104), SCMP_ACT_ERRNO(EPERM),
               "aarch64 kexec_load -> EPERM");
        is_int(run_filter(f, n, AUDIT_ARCH_ARM, 347), SCMP_ACT_ERRNO(EPERM),
               "arm kexec_load -> EPERM");
    }
    lxm_seccomp_free(s);
}

#if defined(__x86_64__)
/* A syscall through the 32-bit entry point (int $0x80, i386 numbers). */
static long int80(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}
#define I386_GETPID 20
#define I386_KEYCTL 288

/* Some kernels (IA32 emulation off, some hypervisors) fault on int $0x80. */
static bool i386_works(void)
{
    int status;
    pid_t pid = fork();
    if (pid == 0)
        _exit(int80(I386_GETPID, 0, 0, 0) == getpid() ? 0 : 1);
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
#endif

/* In a child: load the filter, then check the rules' errno values. The
 * exit code is a bitmask of failed checks. */
static int confined_child(struct lxm_seccomp *s, bool i386)
{
    struct lxm_error err = {0};
    int bad = 0;

    /* Unprivileged test runs need no_new_privs to load a filter. */
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (lxm_seccomp_load(s, &err) < 0)
        return 64;
    errno = 0;
    if (syscall(SYS_kexec_load, 0, 0, NULL, 0) != -1 || errno != EPERM)
        bad |= 1;
    if (syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) != -1 ||
        errno != ENOSYS)
        bad |= 2;
    if (syscall(SYS_getpid) <= 0)
        bad |= 4;
#if defined(__x86_64__)
    if (i386 && (int80(I386_GETPID, 0, 0, 0) != getpid() ||
                 int80(I386_KEYCTL, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) != -ENOSYS))
        bad |= 8;
#endif
    return bad;
}

static void test_load(void)
{
    struct lxm_policy p = default_policy();
    struct lxm_seccomp *s = NULL;
    struct lxm_error err = {0};
    bool i386 = false;
    int status;

#if defined(__x86_64__)
    i386 = i386_works();
#endif
    if (lxm_seccomp_compile(&p, &s, &err) < 0) {
        ok(0, "compile: %s", err.msg);
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(confined_child(s, i386));
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status), "confined child exited normally");
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    ok(code != 64, "filter loads in the child");
    ok(code >= 0 && !(code & 1), "kexec_load -> EPERM under the filter");
    ok(code >= 0 && !(code & 2), "keyctl -> ENOSYS under the filter");
    ok(code >= 0 && !(code & 4), "getpid still allowed");
    if (i386)
        ok(code >= 0 && !(code & 8), "i386 keyctl via int $0x80 also -> ENOSYS (no compat bypass)");
    else
        printf("ok %d - i386 keyctl via int $0x80 # SKIP this kernel does not run i386 syscalls\n",
               ++tap_n);
    lxm_seccomp_free(s);
}

static void test_kill_action(void)
{
    static char *calls[] = {"getppid", NULL};
    struct lxm_seccomp_rule rules[] = {{"kill", calls}};
    struct lxm_policy p = {0};
    struct lxm_seccomp *s = NULL;
    struct lxm_error err = {0};
    int status;

    p.seccomp_default = "allow";
    p.seccomp_rules = rules;
    p.n_seccomp_rules = 1;
    is_int(lxm_seccomp_compile(&p, &s, &err), 0, "kill rule compiles");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (lxm_seccomp_load(s, &err) < 0)
            _exit(64);
        syscall(SYS_getppid);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
       "kill action ends the process with SIGSYS");
    lxm_seccomp_free(s);
}

/* Profiles concatenate rules: the later rule for a syscall wins. */
static void test_override(void)
{
    static char *deny[] = {"bpf", "kexec_load", NULL};
    static char *allow[] = {"bpf", NULL};
    struct lxm_seccomp_rule rules[] = {{"errno EPERM", deny}, {"allow", allow}};
    struct lxm_policy p = {0};
    struct lxm_seccomp *s = NULL;
    struct lxm_error err = {0};
    size_t n;

    p.seccomp_default = "allow";
    p.seccomp_rules = rules;
    p.n_seccomp_rules = 2;
    is_int(lxm_seccomp_compile(&p, &s, &err), 0, "overlapping rules compile");
    const struct sock_filter *f = lxm_seccomp_program(s, &n);
    if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
        is_int(run_filter(f, n, AUDIT_ARCH_X86_64, 321), SCMP_ACT_ALLOW, "later 'allow bpf' wins");
        is_int(run_filter(f, n, AUDIT_ARCH_X86_64, 246), SCMP_ACT_ERRNO(EPERM),
               "kexec_load still denied");
    }
    lxm_seccomp_free(s);

    p.n_seccomp_rules = 0;
    is_int(lxm_seccomp_compile(&p, &s, &err), 0, "allow without rules compiles");
    ok(s == NULL, "and needs no filter");
}

/* Loaded after the capability drop: without sys_admin only under nnp. */
static void test_needs_nnp(void)
{
    static char *keep[] = { "chown", "setuid", NULL };
    struct lxm_policy p = default_policy();
    struct lxm_seccomp *s = NULL;
    struct lxm_error err = { 0 };

    p.caps_keep = keep;
    is_int(lxm_seccomp_compile(&p, &s, &err), -EINVAL, "filter without sys_admin and nnp refused");
    ok(strstr(err.msg, "no_new_privs") != NULL, "and says why: %s", err.msg);
    p.no_new_privs = true;
    is_int(lxm_seccomp_compile(&p, &s, &err), 0, "with no_new_privs it compiles");
    lxm_seccomp_free(s);
}

int main(void)
{
    test_actions();
    test_unknown_syscall();
    test_abis();
    test_load();
    test_kill_action();
    test_override();
    test_needs_nnp();
    return done();
}

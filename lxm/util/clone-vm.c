/* clone-vm: clone3 with a function on a stack of its own (clone-vm.h). */
#include "util/clone-vm.h"

#include <errno.h>
#include <stdint.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)

pid_t lxm_clone3_vm(struct clone_args *args, void *stack, size_t size, int (*fn)(void *),
                    void *arg)
{
    /* With other threads, glibc's set*id() in the child would wait for
     * them to switch too, and the stopped caller's thread never would. */
    if (!__libc_single_threaded) {
        errno = ENOSYS;
        return -1;
    }
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    args->stack = (uint64_t)(uintptr_t)stack;
    args->stack_size = top - (uintptr_t)stack;
    /* The kernel starts the child after the syscall instruction with our
     * registers (but rax, rcx, r11) and its stack pointer at the top of
     * the new stack: it calls fn(arg) there and exits with its value. */
    register long rax __asm__("rax") = SYS_clone3;
    register struct clone_args *rdi __asm__("rdi") = args;
    register size_t rsi __asm__("rsi") = sizeof(*args);
    register int (*r12)(void *) __asm__("r12") = fn;
    register void *r13 __asm__("r13") = arg;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "xor %%ebp, %%ebp\n\t"
                     "mov %%r13, %%rdi\n\t"
                     "call *%%r12\n\t"
                     "mov %%eax, %%edi\n\t"
                     "mov %[nr_exit], %%eax\n\t"
                     "syscall\n\t"
                     "hlt\n"
                     "1:"
                     : "+a"(rax)
                     : "D"(rdi), "S"(rsi), "r"(r12), "r"(r13), [nr_exit] "i"(SYS_exit)
                     : "rcx", "r11", "memory", "cc");
    if (rax < 0) {
        errno = (int)-rax;
        return -1;
    }
    return (pid_t)rax;
}

#else

pid_t lxm_clone3_vm(struct clone_args *args, void *stack, size_t size, int (*fn)(void *),
                    void *arg)
{
    (void)args, (void)stack, (void)size, (void)fn, (void)arg;
    errno = ENOSYS;
    return -1;
}

#endif

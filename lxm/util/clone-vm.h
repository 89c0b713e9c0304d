/* clone-vm: clone3() of a child that shares the caller's memory until it
 * execs (CLONE_VM | CLONE_VFORK in args->flags), on a stack of its own.
 * Such a child costs no copy of the page tables, no copy-on-write faults
 * on either side and no teardown of a copied address space at its exec:
 * about 0.15 ms less than a fork of lxm here. glibc has no clone3
 * wrapper that takes a function, so the entry is a few lines of assembly
 * (x86-64); elsewhere, and in a process that has ever had a second
 * thread, the call fails with ENOSYS and the caller forks.
 *
 * The child runs fn(arg) and must exec or _exit; while it runs, the
 * caller is stopped (CLONE_VFORK), so the child may use the caller's
 * heap, but whatever it changes there (environ, errno) the caller sees
 * afterwards. */
#pragma once

#include <linux/sched.h>
#include <stddef.h>
#include <sys/types.h>

/* The child's pid, or -1 with errno. args->stack and stack_size are set
 * here from stack/size (16-byte aligned top). */
pid_t lxm_clone3_vm(struct clone_args *args, void *stack, size_t size, int (*fn)(void *),
                    void *arg);

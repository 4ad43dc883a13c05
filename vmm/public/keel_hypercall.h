/* SPDX-License-Identifier: MIT */
/*
 * Keel hypercall ABI, shared by the hypervisor and guest-side code (test guests, later the
 * management guest's kernel module). Fixed-width types only.
 *
 * Instruction: VMMCALL on AMD, VMCALL on Intel (CPUID leaf 0x40000000 identifies Keel).
 * 64-bit guests: RAX = number, RDI, RSI, RDX = arguments, result in RAX.
 * 32-bit guests: EAX = number, EBX, ECX, EDX = arguments, result in EAX (sign-extended errno).
 * Every other register is preserved. Results: >= 0 success, or a negative KEEL_E* (below).
 * Guest addresses are guest-physical; the hypervisor copies what it needs once.
 *
 * Freestanding: guest code compiles this header too (the test guests with -Ivmm/public), so it
 * includes nothing but <stdint.h>.
 */
#ifndef KEEL_PUBLIC_HYPERCALL_H
#define KEEL_PUBLIC_HYPERCALL_H

#include <stdint.h>

#define KEEL_CPUID_BASE	     0x40000000u /* EBX,ECX,EDX = "KeelKeelKeel", EAX = max leaf */
#define KEEL_CPUID_SIGNATURE "KeelKeelKeel"

#define KEEL_ABI_VERSION 1

enum keel_hypercall {
	HC_VERSION = 0,	      /* () -> KEEL_ABI_VERSION */
	HC_CONSOLE_WRITE = 1, /* (gpa, len) -> bytes written; len <= HC_CONSOLE_MAX */
	HC_EXIT = 2,	      /* (status) -> does not return: the VM ends with that status */
};

#define HC_CONSOLE_MAX 4096u

/* Errors, returned negated: Linux's errno numbers, which the hypervisor uses too. */
#define KEEL_EPERM  1  /* any call made at CPL > 0 (user space): refused, nothing done */
#define KEEL_EFAULT 14 /* a guest address outside the VM's RAM */
#define KEEL_EINVAL 22 /* a bad length or argument */
#define KEEL_ENOSYS 38 /* an unknown hypercall number */

/* Debug-exit port, compatible with QEMU's isa-debug-exit: writing v ends the VM with status v. */
#define KEEL_DEBUG_EXIT_PORT 0xf4

#endif

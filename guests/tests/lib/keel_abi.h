/* SPDX-License-Identifier: MIT */
/*
 * The parts of Keel's guest ABI the test guests use. This MIRRORS the hypervisor's public header
 * (vmm/public/keel_hypercall.h): keep the two in step, and replace this file with an #include of
 * that header once it is committed.
 *
 * Hypercall instruction: VMMCALL on AMD, VMCALL on Intel (lib/hypercall.c picks one from the CPUID
 * vendor string). Registers:
 *   64-bit guests: RAX = number, RDI, RSI, RDX = arguments 0..2, result in RAX.
 *   32-bit guests: EAX = number, EBX, ECX, EDX = arguments 0..2, result in EAX.
 * Every other register is preserved by the hypervisor. Results: >= 0 success, negative errno.
 * Guest addresses passed as arguments are guest-physical.
 */
#ifndef GUEST_KEEL_ABI_H
#define GUEST_KEEL_ABI_H

#define KEEL_CPUID_BASE	     0x40000000u /* EBX,ECX,EDX = "KeelKeelKeel", EAX = max leaf */
#define KEEL_CPUID_SIGNATURE "KeelKeelKeel"

#define KEEL_ABI_VERSION 1

#define HC_VERSION	 0 /* () -> ABI version (>= 1) */
#define HC_CONSOLE_WRITE 1 /* (gpa, len) -> bytes written; len <= HC_CONSOLE_MAX */
#define HC_EXIT		 2 /* (status) -> does not return: the VM ends with that status */

#define HC_CONSOLE_MAX 4096u

/* Negative errno values returned in RAX/EAX (Linux numbering). */
#define KEEL_EPERM  1  /* a hypercall made at CPL > 0 (user space): refused, nothing done */
#define KEEL_EFAULT 14 /* a guest address outside the VM's RAM */
#define KEEL_EINVAL 22 /* a bad length or argument */
#define KEEL_ENOSYS 38 /* an unknown hypercall number */

/* Debug-exit port, compatible with QEMU's isa-debug-exit: writing v ends the VM with status v. */
#define KEEL_DEBUG_EXIT_PORT 0xf4

#endif

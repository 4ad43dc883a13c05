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
	/*
	 * Management hypercalls, HC_MGMT_FIRST to HC_MGMT_LAST: only the management VM (vm=...,mgmt
	 * on Keel's command line) may make them; any other VM gets -KEEL_EPERM for every number in
	 * the range, known or not, and nothing changes.
	 */
	HC_MGMT_FIRST = 0x100,
	HC_MGMT_LAST = 0x1ff,
	/* (gpa, max) -> the number of VMs (n); writes min(n, max) struct keel_vm_info at gpa, in id
	 * order. max <= KEEL_VM_LIST_MAX, else -KEEL_EINVAL. */
	HC_VM_LIST = 0x100,
};

#define HC_CONSOLE_MAX 4096u

/* Errors, returned negated: Linux's errno numbers, which the hypervisor uses too. */
#define KEEL_EPERM  1  /* any call made at CPL > 0 (user space): refused, nothing done */
#define KEEL_EFAULT 14 /* a guest address outside the VM's RAM */
#define KEEL_EINVAL 22 /* a bad length or argument */
#define KEEL_ENOSYS 38 /* an unknown hypercall number */

/* What HC_VM_LIST reports of each VM (72 bytes, no padding). */
#define KEEL_VM_LIST_MAX 64
#define KEEL_VM_NAME_MAX 32
enum keel_vm_state {
	KEEL_VM_CREATED = 0, /* built, not started yet */
	KEEL_VM_RUNNING = 1,
	KEEL_VM_PAUSED = 2,
	KEEL_VM_DEAD = 3, /* ended, its pages not yet returned */
};
#define KEEL_VM_F_MGMT 1u /* the management VM */
struct keel_vm_info {
	uint32_t id;
	uint32_t state; /* enum keel_vm_state */
	uint32_t vcpus;
	uint32_t flags; /* KEEL_VM_F_* */
	uint64_t mem_bytes;
	uint64_t exits;		     /* VM exits of all its vCPUs */
	uint64_t run_ns;	     /* time its vCPUs ran (guest and exit handling) */
	char name[KEEL_VM_NAME_MAX]; /* NUL-terminated */
};
_Static_assert(sizeof(struct keel_vm_info) == 72, "struct keel_vm_info is 72 bytes");

/* Debug-exit port, compatible with QEMU's isa-debug-exit: writing v ends the VM with status v. */
#define KEEL_DEBUG_EXIT_PORT 0xf4

#endif

/* SPDX-License-Identifier: MIT */
/*
 * int vmx_enter(struct vcpu_gprs *gprs, bool launched, u64 *cr2): one trip into the guest and
 * back, with the current VMCS. Returns 0 after a VM exit, 1 on VMfailInvalid, 2 on VMfailValid (the VMCS's
 * VM-instruction error field says why; SDM vol. 3C §30.2).
 *
 * VM entry loads RSP/RIP/RFLAGS from the VMCS, but every other general register passes through
 * unchanged both ways: the guest's are loaded from `gprs` right before VMLAUNCH/VMRESUME and
 * stored back by vmx_exit_stub, where a VM exit lands (HOST_RIP) with RSP = HOST_RSP, written
 * below to point at the saved `gprs` pointer. A VM exit clears RFLAGS (SDM vol. 3C §27.5.3), so
 * the host's RFLAGS (and its IF) is saved here and restored on the way out.
 *
 * CR2 is not part of the VMCS either: neither VM entry nor VM exit touches it (SDM vol. 3C
 * §26.3.2.1, §27.5.1). The guest's is loaded from *cr2 right before VMLAUNCH/VMRESUME (only if
 * it differs: a MOV to CR2 costs more than a read) and stored back right after the exit, so no
 * VM ever reads another's page-fault address, and a #PF that Keel injects carries its own.
 */
#include "arch/x86/spec_entry.inc"

#define G_RAX 0x00
#define G_RBX 0x08
#define G_RCX 0x10
#define G_RDX 0x18
#define G_RSI 0x20
#define G_RDI 0x28
#define G_RBP 0x30
#define G_R8  0x38
#define G_R9  0x40
#define G_R10 0x48
#define G_R11 0x50
#define G_R12 0x58
#define G_R13 0x60
#define G_R14 0x68
#define G_R15 0x70

#define HOST_RSP 0x6c14

	.section .text
	.globl vmx_enter
vmx_enter:
	pushfq
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdx /* cr2 */
	pushq %rdi /* gprs: found at HOST_RSP after the exit */

	movl $HOST_RSP, %edx
	vmwrite %rsp, %rdx
	jbe .Lfail

	movq 8(%rsp), %rax
	movq (%rax), %rax
	movq %cr2, %rdx
	cmpq %rax, %rdx
	je 3f
	movq %rax, %cr2
3:
	/* VERW here, before the flags tested below: the loads of the guest's own registers that
	 * follow leave nothing of the host's in the buffers. */
	SPEC_BEFORE_ENTRY

	testb %sil, %sil
	/* MOVs do not change the flags tested after them. */
	movq G_RAX(%rdi), %rax
	movq G_RBX(%rdi), %rbx
	movq G_RCX(%rdi), %rcx
	movq G_RDX(%rdi), %rdx
	movq G_RSI(%rdi), %rsi
	movq G_RBP(%rdi), %rbp
	movq G_R8(%rdi), %r8
	movq G_R9(%rdi), %r9
	movq G_R10(%rdi), %r10
	movq G_R11(%rdi), %r11
	movq G_R12(%rdi), %r12
	movq G_R13(%rdi), %r13
	movq G_R14(%rdi), %r14
	movq G_R15(%rdi), %r15
	movq G_RDI(%rdi), %rdi
	jnz 1f
	vmlaunch
	jmp .Lfail
1:	vmresume

	/* Reached only if the entry failed: the guest values just loaded are still in `gprs`. */
.Lfail:
	movl $1, %eax /* VMfailInvalid (CF) */
	jc 2f
	movl $2, %eax /* VMfailValid (ZF) */
2:	addq $16, %rsp
	jmp .Lout

	.globl vmx_exit_stub
vmx_exit_stub:
	pushq %rdi
	movq 8(%rsp), %rdi /* gprs */
	movq %rax, G_RAX(%rdi)
	movq %rbx, G_RBX(%rdi)
	movq %rcx, G_RCX(%rdi)
	movq %rdx, G_RDX(%rdi)
	movq %rsi, G_RSI(%rdi)
	movq %rbp, G_RBP(%rdi)
	movq %r8, G_R8(%rdi)
	movq %r9, G_R9(%rdi)
	movq %r10, G_R10(%rdi)
	movq %r11, G_R11(%rdi)
	movq %r12, G_R12(%rdi)
	movq %r13, G_R13(%rdi)
	movq %r14, G_R14(%rdi)
	movq %r15, G_R15(%rdi)
	popq %rax
	movq %rax, G_RDI(%rdi)
	movq 8(%rsp), %rax /* cr2 */
	movq %cr2, %rdx
	movq %rdx, (%rax)
	SPEC_AFTER_EXIT /* before the first RET */
	addq $16, %rsp
	xorl %eax, %eax

.Lout:
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	popfq /* the host's IF: a pending host interrupt (the external-interrupt exit) is taken here */
	ret

/* SPDX-License-Identifier: MIT */
/*
 * svm_enter(vmcb_pa, gprs, host_save_pa): one trip into the guest and back.
 * The guest's general registers other than RAX/RSP (which live in the VMCB) are loaded from and
 * stored back to `gprs` (struct vcpu_gprs); every host callee-saved register is preserved.
 * VMLOAD/VMSAVE move the state VMRUN does not (FS, GS, TR, LDTR, KernelGSBase, STAR family,
 * SYSENTER MSRs) in and out of the VMCB, and VMLOAD brings the host's back from the page
 * svm_cpu_enable saved it to (APM vol. 2 §15.5.2). GIF stays clear
 * from before VMLOAD to after the host state is back, so no host interrupt sees guest FS/GS/TR.
 */
#include "arch/x86/spec_entry.inc"

#define G_RAX 0x00
#define G_RBX 0x08
#define G_RCX 0x10
#define G_RDX 0x18
#define G_RSI 0x20
#define G_RDI 0x28
#define G_RBP 0x30
#define G_R8 0x38
#define G_R9 0x40
#define G_R10 0x48
#define G_R11 0x50
#define G_R12 0x58
#define G_R13 0x60
#define G_R14 0x68
#define G_R15 0x70

	.section .text
	.globl svm_enter
svm_enter:
	pushfq
	pushq %rbp
	movq %rsp, %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdx /* host save area */
	pushq %rsi /* gprs */
	pushq %rdi /* VMCB */

	clgi
	/* With GIF = 0 a host interrupt stays pending; IF = 1 lets it end the guest's run (the INTR
	 * intercept with V_INTR_MASKING: APM §15.21.1), even if the caller disabled interrupts to
	 * check for pending work without a race. */
	sti
	/* The host's part of that state was saved once, when the CPU enabled SVM. */
	movq (%rsp), %rax
	vmload %rax

	movq G_RBX(%rsi), %rbx
	movq G_RCX(%rsi), %rcx
	movq G_RDX(%rsi), %rdx
	movq G_RDI(%rsi), %rdi
	movq G_RBP(%rsi), %rbp
	movq G_R8(%rsi), %r8
	movq G_R9(%rsi), %r9
	movq G_R10(%rsi), %r10
	movq G_R11(%rsi), %r11
	movq G_R12(%rsi), %r12
	movq G_R13(%rsi), %r13
	movq G_R14(%rsi), %r14
	movq G_R15(%rsi), %r15
	movq G_RSI(%rsi), %rsi

	SPEC_BEFORE_ENTRY
	vmrun %rax

	/* RAX still holds the VMCB address (VMRUN does not change host RAX). */
	pushq %rsi
	movq 16(%rsp), %rsi /* gprs */
	movq %rbx, G_RBX(%rsi)
	movq %rcx, G_RCX(%rsi)
	movq %rdx, G_RDX(%rsi)
	popq %rbx
	movq %rbx, G_RSI(%rsi)
	movq %rdi, G_RDI(%rsi)
	movq %rbp, G_RBP(%rsi)
	movq %r8, G_R8(%rsi)
	movq %r9, G_R9(%rsi)
	movq %r10, G_R10(%rsi)
	movq %r11, G_R11(%rsi)
	movq %r12, G_R12(%rsi)
	movq %r13, G_R13(%rsi)
	movq %r14, G_R14(%rsi)
	movq %r15, G_R15(%rsi)

	vmsave %rax
	movq 16(%rsp), %rax /* host save area */
	vmload %rax
	SPEC_AFTER_EXIT /* before the first RET, with the host's state back */
	stgi /* a pending host interrupt (the INTR exit) is taken here */

	addq $24, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	popfq /* the caller's IF */
	ret

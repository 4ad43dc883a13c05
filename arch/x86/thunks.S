/* SPDX-License-Identifier: MIT */
/*
 * Branch thunks the compiler calls instead of indirect branches (gcc -mindirect-branch=thunk-extern,
 * clang -mretpoline-external-thunk) and, in the gcc build, instead of RET
 * (-mfunction-return=thunk-extern).
 *
 * Each thunk starts as a retpoline (Intel's "Retpoline: a branch target injection mitigation"):
 * the CALL puts a harmless target in the return stack buffer, so a mispredicted RET speculates
 * into the PAUSE/LFENCE loop, never to a target a guest trained. spec_init() rewrites the start of
 * every slot once at boot, before other CPUs run, where the plan says the CPU does not need it
 * (enhanced or automatic IBRS, or spec=off): the indirect thunks become JMP *reg and the return
 * thunk a plain RET. Slots are SPEC_THUNK_SLOT bytes apart, in the order of spec_thunk_regs[].
 */
#define SLOT 32

	.section .text.thunks, "ax"
	.balign SLOT
	.globl spec_thunks
spec_thunks:

.macro THUNK reg
	.balign SLOT
	.globl __x86_indirect_thunk_\reg
__x86_indirect_thunk_\reg:
	call 1f
2:	pause
	lfence
	jmp 2b
1:	movq %\reg, (%rsp)
	ret
	int3
.endm

	THUNK rax
	THUNK rcx
	THUNK rdx
	THUNK rbx
	THUNK rsp
	THUNK rbp
	THUNK rsi
	THUNK rdi
	THUNK r8
	THUNK r9
	THUNK r10
	THUNK r11
	THUNK r12
	THUNK r13
	THUNK r14
	THUNK r15

	/* The return thunk: RET from the stack, predicted from the RSB entry the CALL just made. */
	.balign SLOT
	.globl __x86_return_thunk
__x86_return_thunk:
	call 1f
2:	pause
	lfence
	jmp 2b
1:	leaq 8(%rsp), %rsp
	ret
	int3

	.balign SLOT
	.globl spec_thunks_end
spec_thunks_end:

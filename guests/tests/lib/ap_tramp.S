/* SPDX-License-Identifier: MIT */
/*
 * AP start-up trampoline and the interrupt stubs of the SMP vectors (smp.h).
 *
 * smp_start() copies [ap_tramp_start, ap_tramp_end) to SMP_TRAMP_BASE and fills the parameter
 * block at its end; a SIPI with vector SMP_TRAMP_BASE >> 12 starts the AP at CS:IP =
 * (SMP_TRAMP_BASE >> 4):0000 in real mode (SDM vol 3A, 9.4.4.1). The code is assembled here but
 * runs at SMP_TRAMP_BASE, so every address in it goes through T(). It loads the BSP's GDT, sets
 * CR0.PE, then in 32-bit code the BSP's CR4, CR3 (and EFER for long mode, APM vol 2, 14.6.1) and
 * CR0, which turns paging on when the BSP has it on; 64-bit guests far-jump to the 64-bit code
 * segment. Finally the BSP's IDT, the AP's own stack, and a call to smp_ap_entry().
 */
#include "smp.h"

#define MSR_EFER	0xc0000080
#define CR0_PE		0x1
#define T(x)		((x) - ap_tramp_start + SMP_TRAMP_BASE)
#define P(off)		(T(ap_tramp_params) + (off))

	.section .text.ap_tramp, "ax"
	.globl ap_tramp_start, ap_tramp_end, ap_tramp_params
	.balign 16
	.code16
ap_tramp_start:
	cli
	cld
	xor %ax, %ax
	mov %ax, %ds
	lgdtl P(TP_GDTR) /* a 32-bit base: the runtime's GDT lies below 4 GiB */
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	ljmpl $SMP_CODE32_SEL, $T(ap_pm32)

	.code32
ap_pm32:
	mov $SMP_DATA_SEL, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %fs
	mov %eax, %gs
	mov %eax, %ss
	mov P(TP_CR4), %eax
	mov %eax, %cr4
	mov P(TP_CR3), %eax
	mov %eax, %cr3
#ifdef __x86_64__
	mov $MSR_EFER, %ecx
	mov P(TP_EFER), %eax
	xor %edx, %edx
	wrmsr
	mov P(TP_CR0), %eax
	mov %eax, %cr0
	ljmp $SMP_CODE64_SEL, $T(ap_lm64)

	.code64
ap_lm64:
	lgdt P(TP_GDTR) /* again, with the 64-bit base */
	lidt P(TP_IDTR)
	mov $SMP_DATA_SEL, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %fs
	mov %eax, %gs
	mov %eax, %ss
	mov P(TP_STACK), %rsp
	push $0
	popf
	mov P(TP_ENTRY), %rax
	call *%rax
1:	cli
	hlt
	jmp 1b
#else
	mov P(TP_CR0), %eax
	mov %eax, %cr0 /* paging (if the BSP has it) is an identity map: the next fetch is fine */
	lidt P(TP_IDTR)
	mov P(TP_STACK), %esp
	push $0
	popf
	call *P(TP_ENTRY)
1:	cli
	hlt
	jmp 1b
#endif

	.balign 16
ap_tramp_params:
	.space TP_SIZE
ap_tramp_end:

/*
 * Interrupt stubs for vectors SMP_VECTOR_FIRST..SMP_VECTOR_LAST and SMP_VECTOR_SPURIOUS: push
 * the vector, save the caller-saved registers and call smp_irq(vector), which sends the EOI.
 */
	.text
#ifdef __x86_64__
	.code64
smp_common:
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	mov 72(%rsp), %rdi /* the vector */
	sub $8, %rsp /* 5 + 1 + 9 + 1 quadwords since the CPU aligned the stack */
	call smp_irq
	add $8, %rsp
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	add $8, %rsp
	iretq
#define STUB_PTR .quad
#else
	.code32
smp_common:
	pusha
	push 32(%esp) /* the vector */
	call smp_irq
	add $4, %esp
	popa
	add $4, %esp
	iret
#define STUB_PTR .long
#endif

	.macro smp_stub vec
	.balign 16
smp_stub_\vec:
	push $\vec
	jmp smp_common
	.endm

	.irp vec, 64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,255
	smp_stub \vec
	.endr

	.section .rodata
	.balign 8
	.globl smp_stubs
smp_stubs: /* SMP_VECTOR_FIRST..SMP_VECTOR_LAST, then SMP_VECTOR_SPURIOUS */
	.irp vec, 64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,255
	STUB_PTR smp_stub_\vec
	.endr

	.section .note.GNU-stack, "", @progbits

/* SPDX-License-Identifier: MIT */
/*
 * AP start-up code, copied to a page below 1 MiB; a STARTUP IPI starts it in real mode at
 * CS = page >> 4, IP = 0. It switches through protected mode to long mode on the kernel's page
 * tables (whose root the BSP put below 4 GiB, with this page identity mapped) and jumps to the
 * kernel with the stack and per-CPU pointer the BSP left in the data block at its end.
 */
#include "arch/x86/regs.h"

#define TRAMP_CODE32 0x18
#define OFF(x) ((x) - tramp_start)

	.section .rodata
	.balign 16
	.globl tramp_start, tramp_end
tramp_start:
	.code16
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	movzwl %ax, %ebx
	shll $4, %ebx /* EBX = physical base of this page from here on */
	/* Patch the absolute addresses this copy needs. */
	leal OFF(tramp_gdt)(%ebx), %eax
	movl %eax, OFF(tramp_gdtr) + 2
	leal OFF(tramp_pm)(%ebx), %eax
	movl %eax, OFF(tramp_pm_jump)
	leal OFF(tramp_lm)(%ebx), %eax
	movl %eax, OFF(tramp_lm_jump)
	lgdtl OFF(tramp_gdtr)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl *OFF(tramp_pm_jump)

	.code32
tramp_pm:
	movl $GDT_KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl OFF(tramp_cr4)(%ebx), %eax
	movl %eax, %cr4
	movl OFF(tramp_cr3)(%ebx), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	movl OFF(tramp_efer)(%ebx), %eax
	xorl %edx, %edx
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP | CR0_NE), %eax
	movl %eax, %cr0
	ljmpl *OFF(tramp_lm_jump)(%ebx)

	.code64
tramp_lm:
	movq OFF(tramp_stack)(%rbx), %rsp
	movq OFF(tramp_percpu)(%rbx), %rdi
	movq OFF(tramp_entry)(%rbx), %rax
	xorl %ebp, %ebp
	pushq $0 /* a zero return address ends backtraces here */
	jmp *%rax

	.balign 16
tramp_gdt:
	.quad 0
	.quad 0x00af9a000000ffff /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff /* 0x10: data */
	.quad 0x00cf9a000000ffff /* 0x18: 32-bit code */
tramp_gdtr:
	.short 31
	.long 0
	.balign 4
tramp_pm_jump:
	.long 0
	.short TRAMP_CODE32
	.balign 4
tramp_lm_jump:
	.long 0
	.short GDT_KERNEL_CS

	/* Filled by the BSP (arch/x86/smp.c: struct tramp_data). */
	.balign 8
	.globl tramp_data
tramp_data:
tramp_cr3:
	.quad 0
tramp_cr4:
	.quad 0
tramp_efer:
	.quad 0
tramp_stack:
	.quad 0
tramp_percpu:
	.quad 0
tramp_entry:
	.quad 0
tramp_end:

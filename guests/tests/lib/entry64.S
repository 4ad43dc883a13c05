/* SPDX-License-Identifier: MIT */
/*
 * Long-mode runtime entry. The loader enters _start in 32-bit protected mode (EAX = magic, EBX =
 * information); we load a GDT with a 64-bit code segment, identity-map [0, 1 GiB) with 2 MiB pages
 * (PML4[0] -> PDPT[0] -> one page directory), set CR4.PAE, EFER.LME and CR0.PG (APM vol 2,
 * 14.6.1) and jump to 64-bit code, which calls runtime_main(magic, info) with IF = 0.
 */
#define CODE32_SEL 0x08
#define DATA_SEL   0x10
#define CODE64_SEL 0x18
#define PTE_P      0x001
#define PTE_W      0x002
#define PTE_PS     0x080
#define MSR_EFER   0xc0000080
#define EFER_LME   0x100
#define CR4_PAE    0x20
#define CR0_PE_PG  0x80000001
#define STUB_PTR .quad

	.code32
	.section .text.entry, "ax"
	.globl _start
_start:
	cli
	cld
	mov %eax, %esi
	mov %ebx, %ebp
	lgdt gdt_desc
	ljmp $CODE32_SEL, $1f
1:	mov $DATA_SEL, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %fs
	mov %eax, %gs
	mov %eax, %ss
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	xor %eax, %eax
	rep stosb

	/* PML4[0] -> pdpt, PDPT[0] -> pd, PD[i] -> i * 2 MiB; everything else stays not present. */
	movl $(pdpt + PTE_P + PTE_W), pml4
	movl $(pd + PTE_P + PTE_W), pdpt
	xor %ecx, %ecx
2:	mov %ecx, %eax
	shl $21, %eax
	or $(PTE_P + PTE_W + PTE_PS), %eax
	mov %eax, pd(, %ecx, 8)
	inc %ecx
	cmp $512, %ecx
	jne 2b

	mov $pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov %cr0, %eax
	or $CR0_PE_PG, %eax
	mov %eax, %cr0
	ljmp $CODE64_SEL, $long_mode

	.code64
long_mode:
	mov $DATA_SEL, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %fs
	mov %eax, %gs
	mov %eax, %ss
	mov $stack_top, %rsp
	push $0
	popf
	mov %esi, %edi /* magic */
	mov %ebp, %esi /* information */
	call runtime_main
3:	cli
	hlt
	jmp 3b

	.text
exc_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi /* 16-byte aligned: the CPU aligned it, then 22 quadwords */
	call exc_dispatch
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp /* vector and error code */
	iretq

#include "stubs.inc"

	.section .rodata
	.balign 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff /* CODE32_SEL: 32-bit code, for the entry */
	.quad 0x00cf92000000ffff /* DATA_SEL */
	.quad 0x00af9a000000ffff /* CODE64_SEL: L = 1 */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.bss
	.balign 4096
pml4:	.space 4096
pdpt:	.space 4096
pd:	.space 4096
	.balign 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits

/* SPDX-License-Identifier: MIT */
/*
 * 32-bit runtime entry: the loader leaves us in flat 32-bit protected mode with paging off, EAX =
 * loader magic, EBX = information (multiboot spec 3.2). Load our own GDT (the loader's may be
 * gone), clear .bss, and call runtime_main(magic, info) on our own stack with IF = 0.
 */
#define CODE_SEL 0x08
#define DATA_SEL 0x10
#define STUB_PTR .long

	.code32
	.section .text.entry, "ax"
	.globl _start
_start:
	cli
	cld
	mov %eax, %esi
	mov %ebx, %ebp
	lgdt gdt_desc
	ljmp $CODE_SEL, $1f
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
	mov $stack_top, %esp
	push $0
	popf
	push %ebp
	push %esi
	call runtime_main
2:	cli
	hlt
	jmp 2b

	.text
exc_common:
	pusha
	push %esp
	call exc_dispatch
	add $4, %esp
	popa
	add $8, %esp /* vector and error code */
	iret

#include "stubs.inc"

	.section .rodata
	.balign 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff /* CODE_SEL: 32-bit code, base 0, 4 GiB */
	.quad 0x00cf92000000ffff /* DATA_SEL: data, base 0, 4 GiB */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.bss
	.balign 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits

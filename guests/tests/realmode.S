/* SPDX-License-Identifier: MIT */
/*
 * A boot-sector style guest entered in real mode at 0000:7C00 (vm=...,boot=real): checks it
 * really runs with CR0.PE clear, that CPUID exits work from 16-bit code and show Keel, that an
 * unclaimed port reads all-ones, that string port I/O works as a boot loader's drivers use it
 * (REP INSW into ES:DI with a non-zero ES base, REP OUTSB from DS:SI to COM1's scratch register,
 * read back), then reports on COM1 and the debug-exit port.
 */
#define COM1 0x3f8
#define DEBUG_EXIT 0xf4

	.code16
	.section .text
	.globl _start
_start:
	cli
	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw $0x7c00, %sp

	smsw %ax
	testb $1, %al /* CR0.PE */
	jnz fail
	cmpb $0x80, %dl /* boot drive, as a BIOS passes it */
	jne fail
	movl $0x40000000, %eax
	cpuid
	cmpl $0x6c65654b, %ebx /* "Keel" */
	jne fail
	movw $0x1234, %dx
	inw %dx, %ax
	cmpw $0xffff, %ax
	jne fail

	movw $0x1000, %ax /* ES base 0x10000 */
	movw %ax, %es
	movw $0x10, %di
	movw $3, %cx
	cld
	rep insw /* DX = 0x1234, unclaimed: all-ones */
	cmpw $0x16, %di
	jne fail
	testw %cx, %cx
	jne fail
	cmpw $0xffff, %es:0x14
	jne fail
	xorw %ax, %ax
	movw %ax, %es
	movw $scratch_src, %si
	movw $2, %cx
	movw $0x3ff, %dx
	rep outsb
	cmpw $scratch_src + 2, %si
	jne fail
	inb %dx, %al
	cmpb $0x5b, %al
	jne fail

	movw $pass_msg, %si
	call puts
	xorb %al, %al
	jmp done
fail:
	movw $fail_msg, %si
	call puts
	movb $1, %al
done:
	outb %al, $DEBUG_EXIT
1:	hlt
	jmp 1b

puts:
	lodsb
	testb %al, %al
	jz 2f
	movw $COM1, %dx
	outb %al, %dx
	jmp puts
2:	ret

scratch_src:
	.byte 0x5a, 0x5b
pass_msg:
	.asciz "PASS: realmode\n"
fail_msg:
	.asciz "FAIL: realmode: not in real mode, no Keel CPUID leaf, ports not routed or string I/O wrong\n"

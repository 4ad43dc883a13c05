/* SPDX-License-Identifier: MIT */
/*
 * The two ways into Keel:
 *  - mb_entry32: multiboot1/multiboot2 loaders, 32-bit protected mode, paging off,
 *    EAX = loader magic, EBX = physical address of the information block;
 *  - efi_entry64: keel.efi after ExitBootServices(), 64-bit mode on the firmware's identity map,
 *    RDI = physical address of a struct boot_info.
 * Both switch to the boot page tables below (identity map of the low 4 GiB plus the kernel at
 * KERNEL_VIRT_OFFSET), jump to the kernel's virtual addresses and call into C.
 */
#include "arch/x86/memlayout.h"
#include "arch/x86/regs.h"
#include "boot/multiboot.h"

#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_PS 0x80
#define COM1 0x3f8

	.section .boot.text, "ax"
	.code32
	.globl mb_entry32
mb_entry32:
	cli
	cld
	movl %eax, %edi /* loader magic: first C argument */
	movl %ebx, %esi /* info block: second */

	/* Long mode needs CPUID leaf 0x80000001 EDX.LM (bit 29). */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	btl $29, %edx
	jnc no_long_mode

	lgdt boot_gdt_ptr
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE | CR0_WP), %eax
	movl %eax, %cr0
	ljmp $GDT_KERNEL_CS, $mb_entry64

	/* Nothing to run on: say so on COM1 (and the VGA text screen), then stop. */
no_long_mode:
	movl $no_lm_msg, %esi
	movl $0xb8000, %edi
1:	lodsb
	testb %al, %al
	jz 3f
	movb $0x4f, %ah
	stosw
	movb %al, %bl
	movw $(COM1 + 5), %dx
2:	inb %dx, %al
	testb $0x20, %al
	jz 2b
	movb %bl, %al
	movw $COM1, %dx
	outb %al, %dx
	jmp 1b
3:	hlt
	jmp 3b

	.code64
mb_entry64:
	movl $GDT_KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movabsq $mb_start_high, %rax
	jmp *%rax

	.globl efi_entry64
efi_entry64:
	cli
	cld
	movq %rdi, %r12
	/* The firmware may run with 5-level paging; a 4-level CR3 cannot be loaded then. */
	movq %cr4, %rax
	btq $12, %rax /* CR4.LA57 */
	jc efi_la57
	lgdt boot_gdt_ptr
	movl $boot_pml4, %eax
	movq %rax, %cr3
	/* Reload CS from our GDT with a far return (the firmware stack is identity mapped). */
	pushq $GDT_KERNEL_CS
	leaq 1f(%rip), %rax
	pushq %rax
	lretq
1:	movl $GDT_KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq %r12, %rdi
	movabsq $efi_start_high, %rax
	jmp *%rax

efi_la57:
	/* keel.efi checks CR4.LA57 and refuses to jump here with it set; stop if it did anyway. */
	hlt
	jmp efi_la57

	.section .boot.data, "aw"
no_lm_msg:
	.asciz "keel: this CPU has no 64-bit long mode; cannot boot"

	.balign 16
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff /* 0x10: data */
boot_gdt_end:
	.balign 16
boot_gdt_ptr:
	.short boot_gdt_end - boot_gdt - 1
	.quad boot_gdt

	/* Boot page tables: 2 MiB pages identity-mapping 0-4 GiB; PML4[511]/PDPT[510] maps the first
	 * GiB again at KERNEL_VIRT_OFFSET. Replaced by the kernel's own tables early in boot. */
	.balign 4096
	.globl boot_pml4
boot_pml4:
	.quad boot_pdpt_low + (PTE_P | PTE_W)
	.fill 510, 8, 0
	.quad boot_pdpt_high + (PTE_P | PTE_W)
boot_pdpt_low:
	.quad boot_pd + 0x0000 + (PTE_P | PTE_W)
	.quad boot_pd + 0x1000 + (PTE_P | PTE_W)
	.quad boot_pd + 0x2000 + (PTE_P | PTE_W)
	.quad boot_pd + 0x3000 + (PTE_P | PTE_W)
	.fill 508, 8, 0
boot_pdpt_high:
	.fill 510, 8, 0
	.quad boot_pd + (PTE_P | PTE_W)
	.quad 0
boot_pd:
	.set i, 0
	.rept 2048
	.quad (i << 21) + (PTE_P | PTE_W | PTE_PS)
	.set i, i + 1
	.endr

	/* From here on the kernel's virtual addresses. */
	.section .text.entry, "ax"
mb_start_high:
	movabsq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	call boot_multiboot /* (magic, info) in EDI, ESI */
	ud2

efi_start_high:
	movabsq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	call boot_efi /* (boot_info physical) in RDI */
	ud2

	/* The BSP's boot stack; the page below it stays unmapped as a guard (kernel/mm/paging). */
	.section .bss.page_aligned, "aw", @nobits
	.balign 4096
	.globl boot_stack_guard, boot_stack_top
boot_stack_guard:
	.skip 4096
boot_stack:
	.skip KSTACK_SIZE
boot_stack_top:

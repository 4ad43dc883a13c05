/* First link pass: an empty symbol table (kernel/ksyms.awk writes the real one). */
	.section .ksyms, "a"
	.balign 8
	.globl ksyms_count, ksyms_addrs, ksyms_offsets, ksyms_names
ksyms_count:
	.quad 0
ksyms_addrs:
ksyms_offsets:
ksyms_names:
	.byte 0

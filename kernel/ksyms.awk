# Turns `nm -n` output into the .ksyms section: a count, sorted addresses, then offsets into a
# string blob. Only text symbols are kept (backtraces resolve return addresses).
BEGIN { n = 0 }
$2 ~ /^[tTwW]$/ && $1 ~ /^ffffffff8/ { addr[n] = $1; name[n] = $3; n++ }
END {
	print "\t.section .ksyms, \"a\""
	print "\t.balign 8"
	print "\t.globl ksyms_count, ksyms_addrs, ksyms_offsets, ksyms_names"
	print "ksyms_count:\n\t.quad " n
	print "ksyms_addrs:"
	for (i = 0; i < n; i++) printf "\t.quad 0x%s\n", addr[i]
	print "ksyms_offsets:"
	off = 0
	for (i = 0; i < n; i++) { printf "\t.long %d\n", off; off += length(name[i]) + 1 }
	print "ksyms_names:"
	for (i = 0; i < n; i++) printf "\t.asciz \"%s\"\n", name[i]
}

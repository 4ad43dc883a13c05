/* SPDX-License-Identifier: MIT */
#include "kernel/ksyms.h"

#include "arch/x86/memlayout.h"
#include "kernel/log.h"

extern const u64 ksyms_count;
extern const u64 ksyms_addrs[];
extern const u32 ksyms_offsets[];
extern const char ksyms_names[];
extern char _text[], _etext[];

const char *ksym_lookup(u64 addr, u64 *offset)
{
	u64 lo = 0, hi = ksyms_count;

	if (addr < (u64)(uintptr_t)_text || addr >= (u64)(uintptr_t)_etext || !hi || addr < ksyms_addrs[0])
		return NULL;
	/* Last symbol at or below addr. */
	while (hi - lo > 1) {
		u64 mid = lo + (hi - lo) / 2;

		if (ksyms_addrs[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	*offset = addr - ksyms_addrs[lo];
	return &ksyms_names[ksyms_offsets[lo]];
}

static void print_frame(u64 addr)
{
	u64 off = 0;
	const char *name = ksym_lookup(addr, &off);

	if (name)
		pr_err("  [<%016llx>] %s+0x%llx\n", (unsigned long long)addr, name, (unsigned long long)off);
	else
		pr_err("  [<%016llx>] ?\n", (unsigned long long)addr);
}

static bool plausible_frame(u64 rbp)
{
	/* Kernel stacks live in the image (boot stack), the direct map or the stacks area. */
	return rbp && (rbp & 7) == 0 && rbp >= DIRECTMAP_BASE && rbp < ~0ULL - 16;
}

void backtrace_print(u64 rip, u64 rbp)
{
	u64 last = rip, repeats = 0;

	pr_err("backtrace:\n");
	print_frame(rip);
	for (int depth = 0; depth < 64 && plausible_frame(rbp); depth++) {
		const u64 *frame = (const u64 *)(uintptr_t)rbp;
		u64 ret = frame[1];

		if (!ret)
			break;
		/* Deep recursion (a stack overflow) prints as one line and a count. */
		if (ret == last) {
			repeats++;
		} else {
			if (repeats)
				pr_err("  ... the frame above %llu more times\n", (unsigned long long)repeats);
			repeats = 0;
			print_frame(ret);
		}
		last = ret;
		if (frame[0] <= rbp) /* stacks grow down: callers' frames are above */
			break;
		rbp = frame[0];
	}
	if (repeats)
		pr_err("  ... the frame above %llu more times\n", (unsigned long long)repeats);
}

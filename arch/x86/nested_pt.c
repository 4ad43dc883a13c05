/* SPDX-License-Identifier: MIT */
/* Unmapping from nested page tables, either vendor's (arch/x86/nested_pt.h). */
#include "arch/x86/nested_pt.h"

#include "arch/x86/memlayout.h"

#define ENTRIES 512

static void detach(struct nested_stale *stale, u64 entry, u8 level)
{
	stale->t[stale->nr].table = entry & NESTED_PT_ADDR;
	stale->t[stale->nr].level = level;
	stale->nr++;
}

static bool table_empty(const u64 *t, u64 present)
{
	for (unsigned i = 0; i < ENTRIES; i++)
		if (t[i] & present)
			return false;
	return true;
}

int nested_pt_unmap(u64 *root, u64 present, u64 gpa, u64 size, struct nested_stale *stale)
{
	u64 end = gpa + size;

	if (!size || size > NESTED_UNMAP_MAX || !IS_ALIGNED(gpa | size, GiB(1)) || end > (1ull << 48) || end < gpa)
		return -EINVAL;
	stale->nr = 0;
	for (u64 a = gpa; a < end; a += GiB(1)) {
		u64 *l4e = &root[(a >> 39) & (ENTRIES - 1)], *pdpt, *e;
		unsigned i = (a >> 30) & (ENTRIES - 1);

		if (!(*l4e & present))
			continue;
		pdpt = phys_to_virt(*l4e & NESTED_PT_ADDR);
		e = &pdpt[i];
		if ((*e & present) && !(*e & NESTED_PT_LARGE))
			detach(stale, *e, 2);
		/* One aligned 8-byte store: a walk on another CPU sees the old entry or none. */
		__atomic_store_n(e, 0, __ATOMIC_RELEASE);
		/* At the PDPT's last GiB in the range: is anything left in it? */
		if ((i == ENTRIES - 1 || a + GiB(1) == end) && table_empty(pdpt, present)) {
			detach(stale, *l4e, 3);
			__atomic_store_n(l4e, 0, __ATOMIC_RELEASE);
		}
	}
	return 0;
}

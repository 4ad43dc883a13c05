/* SPDX-License-Identifier: MIT */
/*
 * Binary buddy allocator. The invariant every check below relies on: a managed page is
 * PAGE_FREE or PAGE_ALLOCATED exactly when it starts a free or allocated block, and PAGE_TAIL
 * otherwise. So a free is valid only on a PAGE_ALLOCATED page with the same order, which catches
 * double frees even after the block has merged into a larger one.
 */
#include "kernel/mm/buddy.h"

#include "kernel/log.h"
#include "kernel/panic.h"

#define U64_MAX (~(u64)0)

static inline hpa_t idx_to_pa(const struct buddy *b, u64 idx)
{
	return (b->base_pfn + idx) << PAGE_SHIFT;
}

static void list_push(struct buddy *b, u32 idx, unsigned order)
{
	struct page_meta *m = &b->meta[idx];
	u32 head = b->free_head[order];

	m->state = PAGE_FREE;
	m->order = (u8)order;
	m->prev = BUDDY_NIL;
	m->next = head;
	if (head != BUDDY_NIL)
		b->meta[head].prev = idx;
	b->free_head[order] = idx;
	b->nr_free_blocks[order]++;
	b->free_pages += 1ull << order;
}

/* Takes block idx (a PAGE_FREE head of this order) off its free list; it becomes PAGE_TAIL. */
static void list_remove(struct buddy *b, u32 idx, unsigned order)
{
	struct page_meta *m = &b->meta[idx];

	if (m->prev != BUDDY_NIL)
		b->meta[m->prev].next = m->next;
	else
		b->free_head[order] = m->next;
	if (m->next != BUDDY_NIL)
		b->meta[m->next].prev = m->prev;
	m->next = m->prev = BUDDY_NIL;
	m->state = PAGE_TAIL;
	b->nr_free_blocks[order]--;
	b->free_pages -= 1ull << order;
}

size_t buddy_meta_size(u64 npages)
{
	return (size_t)npages * sizeof(struct page_meta);
}

void buddy_init(struct buddy *b, hpa_t base, u64 npages, void *meta)
{
	if (!IS_ALIGNED(base, PAGE_SIZE) || npages > BUDDY_MAX_PAGES || (npages && !meta))
		panic("buddy_init: bad zone base 0x%llx, %llu pages, metadata %p", (unsigned long long)base,
		      (unsigned long long)npages, meta);
	b->base_pfn = base >> PAGE_SHIFT;
	b->npages = npages;
	b->meta = meta;
	for (unsigned o = 0; o < BUDDY_NR_ORDERS; o++) {
		b->free_head[o] = BUDDY_NIL;
		b->nr_free_blocks[o] = 0;
	}
	b->free_pages = 0;
	b->managed_pages = 0;
	for (u64 i = 0; i < npages; i++)
		b->meta[i] = (struct page_meta){ .next = BUDDY_NIL, .prev = BUDDY_NIL, .state = PAGE_RESERVED };
}

/* Frees the block at idx (its pages all PAGE_TAIL), merging with free buddies as far as it goes. */
static void free_block(struct buddy *b, u64 idx, unsigned order)
{
	u64 pfn = b->base_pfn + idx;

	while (order < BUDDY_MAX_ORDER) {
		u64 buddy_pfn = pfn ^ (1ull << order);
		u64 bi = buddy_pfn - b->base_pfn;

		/* A buddy below the zone wraps to a huge index and fails the bound check too. */
		if (bi >= b->npages || b->meta[bi].state != PAGE_FREE || b->meta[bi].order != order)
			break;
		list_remove(b, (u32)bi, order);
		pfn &= ~(1ull << order);
		order++;
	}
	list_push(b, (u32)(pfn - b->base_pfn), order);
}

void buddy_add_free(struct buddy *b, hpa_t base, u64 len)
{
	u64 zone_start = b->base_pfn, zone_end = b->base_pfn + b->npages;
	u64 end = len > U64_MAX - base ? U64_MAX : base + len;
	u64 spfn, epfn;

	if (base > U64_MAX - (PAGE_SIZE - 1))
		return;
	spfn = MAX(ALIGN_UP(base, PAGE_SIZE) >> PAGE_SHIFT, zone_start);
	epfn = MIN(end >> PAGE_SHIFT, zone_end);
	if (spfn >= epfn)
		return;

	/* Check everything before changing anything. */
	for (u64 pfn = spfn; pfn < epfn; pfn++)
		if (b->meta[pfn - zone_start].state != PAGE_RESERVED)
			panic("buddy_add_free: page 0x%llx released twice (range 0x%llx+0x%llx)",
			      (unsigned long long)(pfn << PAGE_SHIFT), (unsigned long long)base,
			      (unsigned long long)len);
	for (u64 pfn = spfn; pfn < epfn; pfn++)
		b->meta[pfn - zone_start].state = PAGE_TAIL;
	b->managed_pages += epfn - spfn;

	/* Largest aligned blocks first; free_block() merges them with what is already free. */
	for (u64 pfn = spfn; pfn < epfn;) {
		unsigned order = 0;

		while (order < BUDDY_MAX_ORDER && IS_ALIGNED(pfn, 1ull << (order + 1)) &&
		       pfn + (1ull << (order + 1)) <= epfn)
			order++;
		free_block(b, pfn - zone_start, order);
		pfn += 1ull << order;
	}
}

hpa_t buddy_alloc(struct buddy *b, unsigned order)
{
	unsigned o = order;
	u32 idx;

	if (order > BUDDY_MAX_ORDER)
		return INVALID_HPA;
	while (o < BUDDY_NR_ORDERS && b->free_head[o] == BUDDY_NIL)
		o++;
	if (o == BUDDY_NR_ORDERS)
		return INVALID_HPA;

	idx = b->free_head[o];
	list_remove(b, idx, o);
	/* Split: the upper halves go back on the free lists, the lower half is kept. */
	while (o > order) {
		o--;
		list_push(b, idx + (1u << o), o);
	}
	b->meta[idx].state = PAGE_ALLOCATED;
	b->meta[idx].order = (u8)order;
	return idx_to_pa(b, idx);
}

/* The block containing page idx: the nearest head below it whose block reaches idx. */
static bool find_block(const struct buddy *b, u64 idx, u64 *head, unsigned *order)
{
	u64 pfn = b->base_pfn + idx;

	for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) {
		u64 h = (pfn & ~((1ull << k) - 1)) - b->base_pfn;
		const struct page_meta *m;

		if (h >= b->npages)
			break;
		m = &b->meta[h];
		if ((m->state == PAGE_FREE || m->state == PAGE_ALLOCATED) && m->order >= k &&
		    idx < h + (1ull << m->order)) {
			*head = h;
			*order = m->order;
			return true;
		}
	}
	return false;
}

enum buddy_free_error buddy_try_free(struct buddy *b, hpa_t pa, unsigned order, struct buddy_free_report *rep)
{
	u64 pfn = pa >> PAGE_SHIFT, idx = pfn - b->base_pfn;
	const struct page_meta *m;
	u64 head;
	unsigned horder;

	rep->block = INVALID_HPA;
	rep->block_order = 0;
	if (order > BUDDY_MAX_ORDER)
		return rep->err = BUDDY_FREE_BAD_ORDER;
	if (!IS_ALIGNED(pa, PAGE_SIZE << order))
		return rep->err = BUDDY_FREE_MISALIGNED;
	if (pfn < b->base_pfn || idx >= b->npages || b->npages - idx < (1ull << order))
		return rep->err = BUDDY_FREE_OUTSIDE;

	m = &b->meta[idx];
	if (m->state == PAGE_ALLOCATED && m->order == order) {
		b->meta[idx].state = PAGE_TAIL;
		free_block(b, idx, order);
		return rep->err = BUDDY_FREE_OK;
	}
	if (m->state == PAGE_RESERVED)
		return rep->err = BUDDY_FREE_RESERVED;
	if (find_block(b, idx, &head, &horder)) {
		rep->block = idx_to_pa(b, head);
		rep->block_order = horder;
		if (b->meta[head].state == PAGE_FREE)
			return rep->err = BUDDY_FREE_DOUBLE;
		return rep->err = head == idx ? BUDDY_FREE_WRONG_ORDER : BUDDY_FREE_INSIDE_BLOCK;
	}
	/* Unreachable while the invariant holds: every managed page lies in some block. */
	return rep->err = BUDDY_FREE_DOUBLE;
}

void buddy_panic_bad_free(hpa_t pa, unsigned order, const struct buddy_free_report *rep)
{
	static const char *const why[] = {
		[BUDDY_FREE_OK] = "no error",
		[BUDDY_FREE_BAD_ORDER] = "order too large",
		[BUDDY_FREE_MISALIGNED] = "address not aligned to the block size",
		[BUDDY_FREE_OUTSIDE] = "block outside the allocator's zone",
		[BUDDY_FREE_RESERVED] = "page was never given to the allocator (reserved)",
		[BUDDY_FREE_DOUBLE] = "double free: page is already free",
		[BUDDY_FREE_INSIDE_BLOCK] = "address is inside an allocated block, not its start",
		[BUDDY_FREE_WRONG_ORDER] = "block was allocated with a different order",
	};
	const char *reason = (unsigned)rep->err < ARRAY_SIZE(why) ? why[rep->err] : "unknown error";

	if (rep->block != INVALID_HPA)
		panic("page free of 0x%llx order %u: %s (block 0x%llx order %u)", (unsigned long long)pa, order, reason,
		      (unsigned long long)rep->block, rep->block_order);
	panic("page free of 0x%llx order %u: %s", (unsigned long long)pa, order, reason);
}

void buddy_free(struct buddy *b, hpa_t pa, unsigned order)
{
	struct buddy_free_report rep;

	if (buddy_try_free(b, pa, order, &rep) != BUDDY_FREE_OK)
		buddy_panic_bad_free(pa, order, &rep);
}

static int check_fail(const char *what, u64 idx)
{
	pr_err("buddy: inconsistent: %s (page index %llu)\n", what, (unsigned long long)idx);
	return -EINVAL;
}

int buddy_check(const struct buddy *b)
{
	u64 free_pages = 0, used_pages = 0, managed = 0;

	for (unsigned o = 0; o < BUDDY_NR_ORDERS; o++) {
		u64 blocks = 0;
		u32 prev = BUDDY_NIL;

		for (u32 i = b->free_head[o]; i != BUDDY_NIL; prev = i, i = b->meta[i].next) {
			const struct page_meta *m;

			if (i >= b->npages || blocks > b->npages)
				return check_fail("free-list link out of range or cyclic", i);
			m = &b->meta[i];
			if (m->state != PAGE_FREE || m->order != o || m->prev != prev)
				return check_fail("free-list entry with wrong state, order or back link", i);
			if (!IS_ALIGNED(b->base_pfn + i, 1ull << o) || b->npages - i < (1ull << o))
				return check_fail("free block misaligned or past the zone", i);
			for (u64 t = 1; t < (1ull << o); t++)
				if (b->meta[i + t].state != PAGE_TAIL)
					return check_fail("page inside a free block is not a tail", i + t);
			blocks++;
			free_pages += 1ull << o;
		}
		if (blocks != b->nr_free_blocks[o])
			return check_fail("free-block counter differs from the list", o);
	}
	for (u64 i = 0; i < b->npages; i++) {
		const struct page_meta *m = &b->meta[i];

		if (m->state != PAGE_RESERVED)
			managed++;
		if (m->state == PAGE_ALLOCATED)
			used_pages += 1ull << m->order;
	}
	if (free_pages != b->free_pages)
		return check_fail("free-page counter differs from the lists", free_pages);
	if (managed != b->managed_pages || free_pages + used_pages != managed)
		return check_fail("managed-page counter differs from the metadata", managed);
	return 0;
}

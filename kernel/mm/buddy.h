/* SPDX-License-Identifier: MIT */
/*
 * Binary buddy allocator over one zone of physical pages [base, base + npages * PAGE_SIZE).
 *
 * It never touches the memory it manages: the per-page metadata (struct page_meta) lives in an
 * array the caller provides, so the allocator also runs in host unit tests on made-up physical
 * addresses. Blocks of order k are 2^k pages, aligned to 2^k pages in physical address (so an
 * order-9 block can back a 2 MiB large page).
 *
 * Not locked: kernel/mm/page.h wraps the one global zone with a lock.
 */
#ifndef KEEL_MM_BUDDY_H
#define KEEL_MM_BUDDY_H

#include "kernel/types.h"

/* Largest block: 2^18 pages = 1 GiB, the largest page size x86-64 maps. */
#define BUDDY_MAX_ORDER 18
#define BUDDY_NR_ORDERS (BUDDY_MAX_ORDER + 1)

/* Free-list links are u32 page indices; this one means "none". */
#define BUDDY_NIL 0xffffffffu
/* A zone holds at most this many pages (16 TiB - 4 KiB). */
#define BUDDY_MAX_PAGES ((u64)BUDDY_NIL)

enum page_state {
	PAGE_RESERVED = 0,  /* never released to the allocator (firmware, image, holes) */
	PAGE_TAIL = 1,	    /* managed, but not the first page of its block */
	PAGE_FREE = 2,	    /* first page of a free block of 2^order pages, on free list [order] */
	PAGE_ALLOCATED = 3, /* first page of an allocated block of 2^order pages */
};

struct page_meta {
	u32 next, prev; /* free-list links (page indices), BUDDY_NIL at the ends */
	u8 state;	/* enum page_state */
	u8 order;	/* meaningful for PAGE_FREE and PAGE_ALLOCATED */
	u16 pad;
};

struct buddy {
	u64 base_pfn; /* first page frame number of the zone */
	u64 npages;
	struct page_meta *meta; /* npages entries */
	u32 free_head[BUDDY_NR_ORDERS];
	u64 nr_free_blocks[BUDDY_NR_ORDERS];
	u64 free_pages;	   /* pages on the free lists */
	u64 managed_pages; /* pages ever released by buddy_add_free() */
};

/* Bytes of metadata storage buddy_init() needs for npages pages. */
size_t buddy_meta_size(u64 npages);

/*
 * Sets up an empty zone: every page reserved, nothing free. base is page-aligned, npages <=
 * BUDDY_MAX_PAGES, meta points to buddy_meta_size(npages) writable bytes.
 */
void buddy_init(struct buddy *b, hpa_t base, u64 npages, void *meta);

/*
 * Releases the whole pages inside [base, base + len) to the allocator (partial pages at the edges
 * and parts outside the zone are ignored). Each page may be released once: releasing a page that
 * is already managed is a host bug and panics.
 */
void buddy_add_free(struct buddy *b, hpa_t base, u64 len);

/* A block of 2^order pages, aligned to its size; INVALID_HPA when none is free (or order too big). */
hpa_t buddy_alloc(struct buddy *b, unsigned order);

/*
 * Gives back the block at pa that buddy_alloc(b, order) returned. Anything else -- double free, an
 * address that is not the start of an allocated block, a different order, a reserved page, an
 * address outside the zone -- is a broken host invariant and panics with the reason.
 */
void buddy_free(struct buddy *b, hpa_t pa, unsigned order);

/* The reasons buddy_try_free() refuses a block. */
enum buddy_free_error {
	BUDDY_FREE_OK = 0,
	BUDDY_FREE_BAD_ORDER,	 /* order > BUDDY_MAX_ORDER */
	BUDDY_FREE_MISALIGNED,	 /* pa not aligned to 2^order pages */
	BUDDY_FREE_OUTSIDE,	 /* block not inside the zone */
	BUDDY_FREE_RESERVED,	 /* page was never released to the allocator */
	BUDDY_FREE_DOUBLE,	 /* page is already free */
	BUDDY_FREE_INSIDE_BLOCK, /* page inside an allocated block, not its start */
	BUDDY_FREE_WRONG_ORDER,	 /* block was allocated with another order */
};

struct buddy_free_report {
	enum buddy_free_error err;
	hpa_t block; /* the block found at pa (INVALID_HPA if none) */
	unsigned block_order;
};

/*
 * buddy_free() without the panic, for callers that must drop a lock first: returns
 * BUDDY_FREE_OK and frees, or fills *rep and changes nothing. buddy_panic_bad_free() then panics.
 */
enum buddy_free_error buddy_try_free(struct buddy *b, hpa_t pa, unsigned order, struct buddy_free_report *rep);
__noreturn void buddy_panic_bad_free(hpa_t pa, unsigned order, const struct buddy_free_report *rep);

static inline u64 buddy_free_pages(const struct buddy *b)
{
	return b->free_pages;
}

static inline u64 buddy_managed_pages(const struct buddy *b)
{
	return b->managed_pages;
}

/*
 * Walks every free list and checks the invariants (links, states, alignment, counters). Returns 0,
 * or -EINVAL after a pr_err naming the first inconsistency. O(npages); for tests and debugging.
 */
int buddy_check(const struct buddy *b);

#endif

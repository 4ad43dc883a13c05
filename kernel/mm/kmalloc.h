/* SPDX-License-Identifier: MIT */
/*
 * Small-object allocator for the host's own data structures. Callable from every CPU.
 *
 * Requests up to KMALLOC_MAX_SMALL bytes come from one-page slabs of power-of-two size classes
 * (16 ... 2048) and are aligned to their class size; larger ones get 2^order whole pages,
 * page-aligned. A slab whose objects are all free goes back to the page allocator at once.
 */
#ifndef KEEL_MM_KMALLOC_H
#define KEEL_MM_KMALLOC_H

#include "kernel/types.h"

#define KMALLOC_MIN_SIZE  16
#define KMALLOC_MAX_SMALL 2048
/* Largest request: 2^KMALLOC_MAX_ORDER pages (1 GiB, the buddy allocator's largest block). */
#define KMALLOC_MAX_ORDER 18

/* size bytes (0 is treated as 1), or NULL when memory is exhausted or size is too large. */
void *kmalloc(size_t size);
/* kmalloc() with the first size bytes zeroed. */
void *kzalloc(size_t size);
/*
 * Frees a pointer from kmalloc()/kzalloc(); kfree(NULL) does nothing. A double free or a pointer
 * that kmalloc did not return is a broken host invariant and panics with the reason.
 */
void kfree(void *p);

/* Pages kmalloc currently holds (slabs and large blocks), for statistics and leak checks. */
u64 kmalloc_pages_in_use(void);

/*
 * Where kmalloc gets its pages: 2^order pages, aligned to their size, addressable by the CPU.
 * Implemented by kernel/mm/kmalloc_backend.c (page allocator + direct map) in the kernel and by
 * the tests on the host. alloc returns NULL when out of memory. Called with kmalloc's lock held.
 */
void *kmalloc_backend_alloc(unsigned order);
void kmalloc_backend_free(void *va, unsigned order);

#endif

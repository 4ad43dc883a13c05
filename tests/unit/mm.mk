# Host unit tests for physical memory management: memory-map sanitizer, buddy page allocator
# (with the global page allocator built from a memory map) and kmalloc.
UNIT_TESTS += test_memmap test_buddy test_kmalloc

test_memmap_SRCS := tests/unit/test_memmap.c tests/unit/shim.c kernel/mm/memmap.c
test_buddy_SRCS := tests/unit/test_buddy.c tests/unit/shim.c kernel/mm/buddy.c kernel/mm/page.c \
	kernel/mm/memmap.c
# kmalloc's pages come from the test's own backend (aligned_alloc), not from page.c.
test_kmalloc_SRCS := tests/unit/test_kmalloc.c tests/unit/shim.c kernel/mm/kmalloc.c
test_kmalloc_CFLAGS := -pthread

/* SPDX-License-Identifier: MIT */
/* kmalloc over a host backend (aligned_alloc) that counts the pages it hands out. */
#define _GNU_SOURCE /* sched_getaffinity */
#include "shim.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/mm/kmalloc.h"

static u64 backend_pages;		 /* pages kmalloc holds according to the backend */
static unsigned backend_fail_from = ~0u; /* orders >= this fail */

void *kmalloc_backend_alloc(unsigned order)
{
	size_t size = (size_t)PAGE_SIZE << order;
	void *p;

	if (order >= backend_fail_from)
		return NULL;
	p = aligned_alloc(size, size);
	if (p)
		backend_pages += 1ull << order;
	return p;
}

void kmalloc_backend_free(void *va, unsigned order)
{
	assert_int_equal((uintptr_t)va % (PAGE_SIZE << order), 0);
	backend_pages -= 1ull << order;
	free(va);
}

static u64 rng_state = 0x853c49e6748fea9bull;

static u64 rnd(u64 n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

static void expect_all_returned(void)
{
	assert_int_equal(kmalloc_pages_in_use(), 0);
	assert_int_equal(backend_pages, 0);
}

static size_t expected_align(size_t size)
{
	size_t a = KMALLOC_MIN_SIZE;

	if (size > KMALLOC_MAX_SMALL)
		return PAGE_SIZE;
	while (a < size)
		a *= 2;
	return a;
}

static void test_size_classes(void **state)
{
	static const size_t sizes[] = { 0,   1,	  8,   15,  16,	 17,  31,  32,	33,   63,   64,	  65,	127,
					128, 129, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 2047, 2048 };

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		/* Two at a time so neither is the only object in a fresh slab. */
		char *p = kmalloc(sizes[i]), *q = kmalloc(sizes[i]);

		assert_non_null(p);
		assert_non_null(q);
		assert_ptr_not_equal(p, q);
		assert_int_equal((uintptr_t)p % expected_align(sizes[i]), 0);
		assert_int_equal((uintptr_t)q % expected_align(sizes[i]), 0);
		memset(p, 0xab, sizes[i]);
		memset(q, 0xcd, sizes[i]);
		for (size_t j = 0; j < sizes[i]; j++)
			assert_int_equal((u8)p[j], 0xab);
		kfree(p);
		kfree(q);
	}
	kfree(NULL);
	expect_all_returned();
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

static void test_objects_distinct_and_intact(void **state)
{
	enum { N = 2000 };
	static u8 *p[N];
	static size_t size[N];
	static uintptr_t span[N][2];

	for (int i = 0; i < N; i++) {
		size[i] = 1 + rnd(rnd(8) ? 2048 : 20000);
		p[i] = kmalloc(size[i]);
		assert_non_null(p[i]);
		memset(p[i], (u8)i, size[i]);
		span[i][0] = (uintptr_t)p[i];
		span[i][1] = (uintptr_t)p[i] + size[i];
	}
	qsort(span, N, sizeof(span[0]), cmp_ptr);
	for (int i = 1; i < N; i++)
		assert_true(span[i - 1][1] <= span[i][0]);
	for (int i = 0; i < N; i++) {
		for (size_t j = 0; j < size[i]; j++)
			assert_int_equal(p[i][j], (u8)i);
		kfree(p[i]);
	}
	expect_all_returned();
}

static void test_reuse_and_kzalloc(void **state)
{
	u8 *a = kmalloc(100), *b = kmalloc(100), *c, *z;

	/* The freed slot is handed out again. */
	memset(a, 0xff, 100);
	kfree(a);
	c = kmalloc(100);
	assert_ptr_equal(c, a);
	memset(c, 0xff, 100);
	kfree(c);
	z = kzalloc(100);
	assert_ptr_equal(z, a);
	for (int i = 0; i < 100; i++)
		assert_int_equal(z[i], 0);
	kfree(z);
	kfree(b);

	z = kmalloc(20000);
	memset(z, 0x5a, 20000);
	kfree(z);
	z = kzalloc(20000);
	for (int i = 0; i < 20000; i++)
		assert_int_equal(z[i], 0);
	kfree(z);
	expect_all_returned();
}

static void test_large_sizes(void **state)
{
	u8 *p;

	/* Just above the largest class: one page (plus one slab page for the bookkeeping). */
	p = kmalloc(KMALLOC_MAX_SMALL + 1);
	assert_int_equal((uintptr_t)p % PAGE_SIZE, 0);
	assert_int_equal(kmalloc_pages_in_use(), 2);
	kfree(p);
	expect_all_returned();

	p = kmalloc(PAGE_SIZE);
	assert_int_equal(kmalloc_pages_in_use(), 2);
	kfree(p);
	p = kmalloc(PAGE_SIZE + 1);
	assert_int_equal(kmalloc_pages_in_use(), 3);
	memset(p, 1, PAGE_SIZE + 1);
	kfree(p);
	p = kmalloc(MiB(1));
	assert_int_equal((uintptr_t)p % PAGE_SIZE, 0);
	assert_int_equal(kmalloc_pages_in_use(), 257);
	memset(p, 2, MiB(1));
	kfree(p);
	expect_all_returned();

	assert_null(kmalloc((PAGE_SIZE << KMALLOC_MAX_ORDER) + 1));
	assert_null(kmalloc(~(size_t)0));
	assert_null(kzalloc(~(size_t)0 - 10));
	expect_all_returned();
}

static void test_backend_failure(void **state)
{
	backend_fail_from = 0;
	assert_null(kmalloc(16));
	assert_null(kmalloc(5000));
	/* Bookkeeping succeeds, the large block fails: nothing may leak. */
	backend_fail_from = 1;
	assert_null(kmalloc(5000));
	expect_all_returned();
	backend_fail_from = ~0u;
	kfree(kmalloc(5000));
	expect_all_returned();
}

static void test_double_free(void **state)
{
	void *p = kmalloc(32), *keep = kmalloc(32), *big = kmalloc(3 * PAGE_SIZE);

	kfree(p);
	expect_assert_failure(kfree(p));
	kfree(big);
	expect_assert_failure(kfree(big));
	/* The panic left the lock free: kmalloc still works. */
	p = kmalloc(32);
	assert_non_null(p);
	kfree(p);
	kfree(keep);
	expect_all_returned();
}

static void test_foreign_pointers(void **state)
{
	u8 *buf = aligned_alloc(PAGE_SIZE, 2 * PAGE_SIZE);
	u8 *p = kmalloc(64), *big = kmalloc(3 * PAGE_SIZE);

	memset(buf, 0, 2 * PAGE_SIZE);
	memset(big, 0, 3 * PAGE_SIZE);
	expect_assert_failure(kfree(buf + 64));
	expect_assert_failure(kfree(buf));
	expect_assert_failure(kfree(buf + PAGE_SIZE + 200));
	expect_assert_failure(kfree(p + 1));
	expect_assert_failure(kfree(p + 32));
	expect_assert_failure(kfree(p + 64)); /* the next object, never allocated */
	expect_assert_failure(kfree((u8 *)((uintptr_t)p & ~(uintptr_t)(PAGE_SIZE - 1)) + 8)); /* header */
	expect_assert_failure(kfree(big + 16));
	expect_assert_failure(kfree(big + PAGE_SIZE));
	kfree(p);
	kfree(big);
	free(buf);
	expect_all_returned();
}

static void test_many_allocations_return_all_pages(void **state)
{
	enum { N = 20000 };
	static void *p[N];

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			size_t size = rnd(20) ? 1 + rnd(2048) : 2049 + rnd(65536);

			p[i] = rnd(2) ? kmalloc(size) : kzalloc(size);
			assert_non_null(p[i]);
		}
		assert_true(kmalloc_pages_in_use() > 0);
		assert_int_equal(kmalloc_pages_in_use(), backend_pages);
		/* Free in random order. */
		for (int i = N - 1; i > 0; i--) {
			int j = (int)rnd((u64)i + 1);
			void *t = p[i];

			p[i] = p[j];
			p[j] = t;
		}
		for (int i = 0; i < N; i++)
			kfree(p[i]);
		expect_all_returned();
	}
}

/*
 * Several threads at once: the lock must keep every slab and the large table consistent. Two
 * threads, and far fewer rounds when they share one CPU: a spinning waiter then burns its whole
 * time slice each time the lock holder is preempted, which turns seconds into minutes.
 */
#define NTHREADS 2
static int thread_rounds = 30000;
static void *thread_body(void *arg)
{
	enum { SLOTS = 64 };
	u64 seed = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
	u8 *slot[SLOTS] = { 0 };
	size_t len[SLOTS] = { 0 };

	for (int it = 0; it < thread_rounds; it++) {
		unsigned s;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		s = (unsigned)(seed % SLOTS);
		if (slot[s]) {
			for (size_t j = 0; j < len[s]; j++)
				if (slot[s][j] != (u8)(s + (uintptr_t)arg * 7))
					return (void *)1;
			kfree(slot[s]);
			slot[s] = NULL;
		} else {
			len[s] = seed % 64 == 0 ? 5000 + (seed >> 32) % 9000 : 1 + (seed >> 32) % 2048;
			slot[s] = kmalloc(len[s]);
			if (!slot[s])
				return (void *)2;
			memset(slot[s], (u8)(s + (uintptr_t)arg * 7), len[s]);
		}
	}
	for (unsigned s = 0; s < SLOTS; s++)
		kfree(slot[s]);
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[NTHREADS];
	cpu_set_t cpus;

	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) < NTHREADS)
		thread_rounds = 1000;

	for (uintptr_t i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_body, (void *)i), 0);
	for (int i = 0; i < NTHREADS; i++) {
		void *ret;

		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	expect_all_returned();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_classes),	  cmocka_unit_test(test_objects_distinct_and_intact),
		cmocka_unit_test(test_reuse_and_kzalloc), cmocka_unit_test(test_large_sizes),
		cmocka_unit_test(test_backend_failure),	  cmocka_unit_test(test_double_free),
		cmocka_unit_test(test_foreign_pointers),  cmocka_unit_test(test_many_allocations_return_all_pages),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

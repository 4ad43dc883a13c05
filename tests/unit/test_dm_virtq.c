/* SPDX-License-Identifier: MIT */
/*
 * keel-dm's guest RAM translation and split virtqueues (guests/mgmt/dm/guest_mem.c, virtq.c),
 * driven as a Linux driver would fill the rings, and as a hostile one would.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "dm_driver.h"
#include "guests/mgmt/dm/virtq.h"

struct fixture {
	struct drv d;
	struct drv_ring r;
	struct virtq q;
	struct virtq_chain c;
};

static struct fixture *setup_queue(uint16_t size, bool indirect, bool event_idx)
{
	struct fixture *f = calloc(1, sizeof(*f));

	drv_init(&f->d);
	drv_ring_layout(&f->d, &f->r, size);
	f->q = (struct virtq){ .size = size, .desc_gpa = f->r.desc, .avail_gpa = f->r.avail, .used_gpa = f->r.used };
	f->q.indirect = indirect;
	f->q.event_idx = event_idx;
	assert_int_equal(virtq_start(&f->q, &f->d.mem), 0);
	return f;
}

static void teardown_queue(struct fixture *f)
{
	drv_free(&f->d);
	free(f);
}

static void test_guest_mem_bounds(void **state)
{
	struct guest_mem m;
	uint8_t ram[4096];

	(void)state;
	guest_mem_init(&m, ram, sizeof(ram));
	assert_ptr_equal(guest_mem_ptr(&m, 0, 4096), ram);
	assert_ptr_equal(guest_mem_ptr(&m, 4095, 1), ram + 4095);
	assert_null(guest_mem_ptr(&m, 4095, 2));
	assert_null(guest_mem_ptr(&m, 4096, 0));
	assert_null(guest_mem_ptr(&m, 1, UINT64_MAX)); /* gpa + len wraps */
	assert_null(guest_mem_ptr(&m, UINT64_MAX, 2));
	assert_null(guest_mem_ptr(&m, GUEST_MEM_HIGH_RAM, 1)); /* no high RAM */
	assert_int_equal(guest_mem_write(&m, 4094, "abc", 3), -EFAULT);
	assert_int_equal(guest_mem_write(&m, 4093, "abc", 3), 0);
	char out[3];
	assert_int_equal(guest_mem_read(&m, 4093, out, 3), 0);
	assert_memory_equal(out, "abc", 3);
}

/* 3 GiB + 1 MiB of RAM: the last MiB sits at 4 GiB, the hole between is not RAM. */
static void test_guest_mem_high_ram(void **state)
{
	uint64_t size = GUEST_MEM_HOLE + (1u << 20);
	uint8_t *ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct guest_mem m;

	(void)state;
	assert_true(ram != MAP_FAILED);
	guest_mem_init(&m, ram, size);
	assert_int_equal(m.low_ram, GUEST_MEM_HOLE);
	assert_ptr_equal(guest_mem_ptr(&m, GUEST_MEM_HOLE - 4, 4), ram + GUEST_MEM_HOLE - 4);
	assert_null(guest_mem_ptr(&m, GUEST_MEM_HOLE - 4, 8)); /* into the hole */
	assert_null(guest_mem_ptr(&m, GUEST_MEM_HOLE, 1));
	assert_null(guest_mem_ptr(&m, GUEST_MEM_HIGH_RAM - 1, 1));
	assert_ptr_equal(guest_mem_ptr(&m, GUEST_MEM_HIGH_RAM, 16), ram + GUEST_MEM_HOLE);
	assert_ptr_equal(guest_mem_ptr(&m, GUEST_MEM_HIGH_RAM + (1u << 20) - 1, 1), ram + size - 1);
	assert_null(guest_mem_ptr(&m, GUEST_MEM_HIGH_RAM + (1u << 20) - 1, 2));
	assert_null(guest_mem_ptr(&m, GUEST_MEM_HIGH_RAM + (1u << 20), 0));
	munmap(ram, size);
}

static void test_start_checks(void **state)
{
	struct fixture *f = setup_queue(8, false, false);
	struct virtq q = f->q;

	(void)state;
	q.size = 6; /* not a power of 2 */
	assert_int_equal(virtq_start(&q, &f->d.mem), -EINVAL);
	assert_true(q.broken);
	q = f->q;
	q.size = 512; /* more than VIRTQ_MAX */
	assert_int_equal(virtq_start(&q, &f->d.mem), -EINVAL);
	q = f->q;
	q.desc_gpa += 8; /* §2.7: 16-byte aligned */
	assert_int_equal(virtq_start(&q, &f->d.mem), -EINVAL);
	q = f->q;
	q.used_gpa += 2;
	assert_int_equal(virtq_start(&q, &f->d.mem), -EINVAL);
	q = f->q;
	q.used_gpa = DRV_RAM_SIZE - 8; /* leaves RAM */
	assert_int_equal(virtq_start(&q, &f->d.mem), -EINVAL);
	q = f->q;
	assert_int_equal(virtq_start(&q, &f->d.mem), 0);
	assert_false(q.broken);
	teardown_queue(f);
}

static void test_pop_push(void **state)
{
	struct fixture *f = setup_queue(8, false, false);
	uint64_t a = drv_alloc(&f->d, 100), b = drv_alloc(&f->d, 50), w = drv_alloc(&f->d, 200);
	struct drv_buf bufs[] = { { a, 100, false }, { b, 50, false }, { w, 200, true } };
	uint32_t id, len;
	uint16_t head;
	char hdr[120];

	(void)state;
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
	assert_false(virtq_has_work(&f->q));
	memset(drv_ptr(&f->d, a), 'a', 100);
	memset(drv_ptr(&f->d, b), 'b', 50);
	head = drv_add_chain(&f->d, &f->r, bufs, 3);
	assert_true(virtq_has_work(&f->q));
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, head);
	assert_int_equal(f->c.nr_rd, 2);
	assert_int_equal(f->c.nr_wr, 1);
	assert_int_equal(f->c.rd_len, 150);
	assert_int_equal(f->c.wr_len, 200);
	assert_ptr_equal(f->c.seg[0].addr, drv_ptr(&f->d, a));
	assert_ptr_equal(f->c.seg[2].addr, drv_ptr(&f->d, w));
	/* Reads across the two readable buffers; writes into the writable one. */
	assert_int_equal(virtq_chain_read(&f->c, 90, hdr, 20), 20);
	assert_memory_equal(hdr, "aaaaaaaaaabbbbbbbbbb", 20);
	assert_int_equal(virtq_chain_read(&f->c, 140, hdr, 20), 10);
	assert_int_equal(virtq_chain_write(&f->c, 195, "xyzuvw", 6), 5);
	assert_memory_equal(drv_ptr(&f->d, w + 195), "xyzuv", 5);
	struct iovec iov[4];
	assert_int_equal(virtq_chain_iov(&f->c, false, 50, 100, iov, 4), 2);
	assert_int_equal(iov[0].iov_len, 50);
	assert_int_equal(iov[1].iov_len, 50);
	assert_int_equal(virtq_chain_iov(&f->c, false, 50, 101, iov, 4), -EINVAL);
	assert_int_equal(virtq_chain_iov(&f->c, false, 0, 150, iov, 1), -EINVAL);
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
	virtq_push(&f->q, head, 7);
	assert_int_equal(drv_get_used(&f->d, &f->r, &id, &len), 1);
	assert_int_equal(id, head);
	assert_int_equal(len, 7);
	assert_int_equal(drv_get_used(&f->d, &f->r, &id, &len), 0);
	teardown_queue(f);
}

/* A chain that loops: the queue is broken (NEEDS_RESET), nothing more is taken or returned. */
static void test_loop_breaks_queue(void **state)
{
	struct fixture *f = setup_queue(4, false, false);
	uint64_t a = drv_alloc(&f->d, 16);
	uint32_t id, len;

	(void)state;
	drv_set_desc(&f->d, &f->r, 0, a, 16, VIRTQ_DESC_F_NEXT, 1);
	drv_set_desc(&f->d, &f->r, 1, a, 16, VIRTQ_DESC_F_NEXT, 0);
	drv_make_avail(&f->d, &f->r, 0);
	assert_int_equal(virtq_pop(&f->q, &f->c), -EIO);
	assert_true(f->q.broken);
	assert_int_equal(virtq_pop(&f->q, &f->c), -EIO);
	virtq_push(&f->q, 0, 1);
	assert_int_equal(drv_get_used(&f->d, &f->r, &id, &len), 0);
	assert_false(virtq_should_notify(&f->q));
	teardown_queue(f);
}

static void test_bad_indices_break_queue(void **state)
{
	struct fixture *f;
	uint64_t a;

	(void)state;
	/* next out of range */
	f = setup_queue(4, false, false);
	a = drv_alloc(&f->d, 16);
	drv_set_desc(&f->d, &f->r, 0, a, 16, VIRTQ_DESC_F_NEXT, 4);
	drv_make_avail(&f->d, &f->r, 0);
	assert_int_equal(virtq_pop(&f->q, &f->c), -EIO);
	teardown_queue(f);
	/* head out of range */
	f = setup_queue(4, false, false);
	drv_make_avail(&f->d, &f->r, 4);
	assert_int_equal(virtq_pop(&f->q, &f->c), -EIO);
	teardown_queue(f);
	/* avail->idx more than the queue size ahead */
	f = setup_queue(4, false, false);
	f->r.avail_idx = 4;
	drv_make_avail(&f->d, &f->r, 0);
	assert_int_equal(virtq_pop(&f->q, &f->c), -EIO);
	assert_true(f->q.broken);
	teardown_queue(f);
}

/* Buffers outside RAM, or writable before readable: that request fails, the queue goes on. */
static void test_bad_buffers_fail_request(void **state)
{
	struct fixture *f = setup_queue(8, false, false);
	uint64_t a = drv_alloc(&f->d, 64);
	struct drv_buf out_of_ram[] = { { a, 16, false }, { DRV_RAM_SIZE - 8, 16, true } };
	struct drv_buf huge[] = { { a, 0xfffffff0u, false } };
	struct drv_buf order[] = { { a, 16, true }, { a + 16, 16, false } };
	struct drv_buf good[] = { { a, 16, false } };
	uint16_t h;

	(void)state;
	h = drv_add_chain(&f->d, &f->r, out_of_ram, 2);
	assert_int_equal(virtq_pop(&f->q, &f->c), -EFAULT);
	assert_int_equal(f->c.head, h);
	assert_false(f->q.broken);
	h = drv_add_chain(&f->d, &f->r, huge, 1);
	assert_int_equal(virtq_pop(&f->q, &f->c), -EFAULT);
	assert_int_equal(f->c.head, h);
	h = drv_add_chain(&f->d, &f->r, order, 2);
	assert_int_equal(virtq_pop(&f->q, &f->c), -EFAULT);
	h = drv_add_chain(&f->d, &f->r, good, 1);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, h);
	teardown_queue(f);
}

/* The lengths of a chain add up past 4 GiB (§2.7.5.2): RAM of 2 GiB, three 1.5 GiB buffers. */
static void test_length_sum_overflow(void **state)
{
	uint64_t size = 2ull << 30;
	uint8_t *ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct guest_mem m;
	struct virtq q = { .size = 4, .desc_gpa = 0, .avail_gpa = 64, .used_gpa = 128 };
	static struct virtq_chain c;
	struct virtq_desc d = { 0x1000, 0x60000000u, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1 };
	uint16_t one = 1;

	(void)state;
	assert_true(ram != MAP_FAILED);
	guest_mem_init(&m, ram, size);
	assert_int_equal(virtq_start(&q, &m), 0);
	for (uint16_t i = 0; i < 3; i++) {
		d.next = (uint16_t)(i + 1);
		d.flags = VIRTQ_DESC_F_WRITE | (i < 2 ? VIRTQ_DESC_F_NEXT : 0);
		memcpy(ram + 16 * i, &d, sizeof(d));
	}
	memcpy(ram + 64 + VIRTQ_AVAIL_IDX, &one, 2); /* ring[0] = head 0 */
	assert_int_equal(virtq_pop(&q, &c), -EFAULT);
	assert_false(q.broken);
	munmap(ram, size);
}

static void test_indirect(void **state)
{
	struct fixture *f = setup_queue(8, true, false);
	uint64_t t = drv_alloc(&f->d, 64) + 1, a = drv_alloc(&f->d, 32), w = drv_alloc(&f->d, 32);
	struct virtq_desc tab[2] = { { a, 32, VIRTQ_DESC_F_NEXT, 1 }, { w, 32, VIRTQ_DESC_F_WRITE, 0 } };

	(void)state;
	memcpy(drv_ptr(&f->d, t), tab, sizeof(tab)); /* an unaligned table: allowed */
	/* a direct buffer first, then the table (§2.7.5.3.1) */
	drv_set_desc(&f->d, &f->r, 3, a, 8, VIRTQ_DESC_F_NEXT, 5);
	drv_set_desc(&f->d, &f->r, 5, t, sizeof(tab), VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	drv_make_avail(&f->d, &f->r, 3);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	assert_int_equal(f->c.head, 3);
	assert_int_equal(f->c.nr_rd, 2);
	assert_int_equal(f->c.nr_wr, 1);
	assert_int_equal(f->c.rd_len, 40);
	assert_ptr_equal(f->c.seg[2].addr, drv_ptr(&f->d, w));
	/* the table outside RAM: the request fails */
	drv_set_desc(&f->d, &f->r, 0, DRV_RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	drv_make_avail(&f->d, &f->r, 0);
	assert_int_equal(virtq_pop(&f->q, &f->c), -EFAULT);
	assert_false(f->q.broken);
	teardown_queue(f);
}

/* Each misuse of VIRTQ_DESC_F_INDIRECT breaks the queue. */
static void test_indirect_misuse(void **state)
{
	struct {
		bool negotiated;
		uint32_t len;
		uint16_t flags, inner_flags;
	} cases[] = {
		{ false, 32, VIRTQ_DESC_F_INDIRECT, 0 },		    /* not negotiated */
		{ true, 24, VIRTQ_DESC_F_INDIRECT, 0 },			    /* not a multiple of 16 */
		{ true, 0, VIRTQ_DESC_F_INDIRECT, 0 },			    /* empty */
		{ true, 16 * 9, VIRTQ_DESC_F_INDIRECT, 0 },		    /* longer than the queue */
		{ true, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 0 }, /* with NEXT */
		{ true, 32, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_INDIRECT }, /* nested */
		{ true, 32, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT },	    /* loops in the table */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture *f = setup_queue(8, cases[i].negotiated, false);
		uint64_t t = drv_alloc(&f->d, 16 * 9), a = drv_alloc(&f->d, 16);
		struct virtq_desc in = { cases[i].inner_flags == VIRTQ_DESC_F_INDIRECT ? t : a, 16,
					 cases[i].inner_flags, 0 };

		memcpy(drv_ptr(&f->d, t), &in, sizeof(in));
		drv_set_desc(&f->d, &f->r, 0, t, cases[i].len, cases[i].flags, 1);
		drv_make_avail(&f->d, &f->r, 0);
		assert_int_equal(virtq_pop(&f->q, &f->c), -EIO);
		assert_true(f->q.broken);
		teardown_queue(f);
	}
}

/* EVENT_IDX: avail_event follows what the device took; one interrupt for a batch, when the
 * used index passes used_event. */
static void test_event_idx(void **state)
{
	struct fixture *f = setup_queue(8, false, true);
	uint64_t a = drv_alloc(&f->d, 16);
	struct drv_buf b[] = { { a, 16, true } };

	(void)state;
	for (int i = 0; i < 3; i++)
		drv_add_chain(&f->d, &f->r, b, 1);
	drv_set_used_event(&f->d, &f->r, 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(virtq_pop(&f->q, &f->c), 1);
		assert_int_equal(drv_avail_event(&f->d, &f->r), i); /* published before the look */
		virtq_push(&f->q, f->c.head, 1);
	}
	assert_int_equal(virtq_pop(&f->q, &f->c), 0);
	assert_int_equal(drv_avail_event(&f->d, &f->r), 3); /* empty: a doorbell at the next one */
	assert_true(virtq_should_notify(&f->q));	    /* the batch: one interrupt */
	assert_false(virtq_should_notify(&f->q));	    /* nothing new */
	/* the driver wants to hear only after entry 5 is used */
	drv_set_used_event(&f->d, &f->r, 5);
	for (int i = 0; i < 2; i++) {
		drv_add_chain(&f->d, &f->r, b, 1);
		assert_int_equal(virtq_pop(&f->q, &f->c), 1);
		virtq_push(&f->q, f->c.head, 1);
		assert_false(virtq_should_notify(&f->q)); /* used idx 4, then 5 */
	}
	drv_add_chain(&f->d, &f->r, b, 1);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	virtq_push(&f->q, f->c.head, 1);
	assert_true(virtq_should_notify(&f->q)); /* 6 passes 5 */
	teardown_queue(f);
}

static void test_no_interrupt_flag(void **state)
{
	struct fixture *f = setup_queue(8, false, false);
	uint64_t a = drv_alloc(&f->d, 16);
	struct drv_buf b[] = { { a, 16, true } };
	uint16_t no_int = VIRTQ_AVAIL_F_NO_INTERRUPT;

	(void)state;
	assert_false(virtq_should_notify(&f->q)); /* nothing pushed */
	drv_add_chain(&f->d, &f->r, b, 1);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	virtq_push(&f->q, f->c.head, 1);
	assert_true(virtq_should_notify(&f->q));
	memcpy(drv_ptr(&f->d, f->r.avail), &no_int, 2);
	drv_add_chain(&f->d, &f->r, b, 1);
	assert_int_equal(virtq_pop(&f->q, &f->c), 1);
	virtq_push(&f->q, f->c.head, 1);
	assert_false(virtq_should_notify(&f->q));
	teardown_queue(f);
}

/* Wrapping 16-bit indices: 70000 requests through a queue of 4. */
static void test_index_wrap(void **state)
{
	struct fixture *f = setup_queue(4, false, false);
	uint64_t a = drv_alloc(&f->d, 16);
	struct drv_buf b[] = { { a, 16, true } };
	uint32_t id, len;

	(void)state;
	for (unsigned int i = 0; i < 70000; i++) {
		uint16_t h = drv_add_chain(&f->d, &f->r, b, 1);

		assert_int_equal(virtq_pop(&f->q, &f->c), 1);
		virtq_push(&f->q, f->c.head, i & 0xff);
		assert_int_equal(drv_get_used(&f->d, &f->r, &id, &len), 1);
		assert_int_equal(id, h);
		assert_int_equal(len, i & 0xff);
	}
	assert_false(f->q.broken);
	teardown_queue(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_mem_bounds),
		cmocka_unit_test(test_guest_mem_high_ram),
		cmocka_unit_test(test_start_checks),
		cmocka_unit_test(test_pop_push),
		cmocka_unit_test(test_loop_breaks_queue),
		cmocka_unit_test(test_bad_indices_break_queue),
		cmocka_unit_test(test_bad_buffers_fail_request),
		cmocka_unit_test(test_length_sum_overflow),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_indirect_misuse),
		cmocka_unit_test(test_event_idx),
		cmocka_unit_test(test_no_interrupt_flag),
		cmocka_unit_test(test_index_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

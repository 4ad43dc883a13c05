/* SPDX-License-Identifier: MIT */
/*
 * keel-dm's virtio entropy device and console (guests/mgmt/dm/virtio_rng.c, virtio_console.c),
 * driven as Linux's virtio-rng and virtio_console (one port) would.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dm_driver.h"
#include "guests/mgmt/dm/virtio_devs.h"

struct src {
	uint8_t next; /* the byte the source gives next */
	size_t limit; /* bytes it has in all */
	size_t given;
};

static ssize_t fake_entropy(void *opaque, void *buf, size_t len)
{
	struct src *s = opaque;
	size_t n = len < s->limit - s->given ? len : s->limit - s->given;

	for (size_t i = 0; i < n; i++)
		((uint8_t *)buf)[i] = s->next++;
	s->given += n;
	return n ? (ssize_t)n : -EAGAIN;
}

struct rng_fix {
	struct virtio_rng r;
	struct drv d;
	struct src s;
};

static struct rng_fix *rng_start(size_t limit)
{
	struct rng_fix *f = calloc(1, sizeof(*f));

	f->s = (struct src){ 1, limit, 0 };
	drv_init(&f->d);
	virtio_rng_init(&f->r, &f->d.mem, &f->d.irq, fake_entropy, &f->s);
	drv_attach(&f->d, &f->r.vp);
	assert_true(drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1)) & VIRTIO_STATUS_FEATURES_OK);
	drv_setup_queue(&f->d, 0, 8, VIRTIO_MSI_NO_VECTOR);
	drv_driver_ok(&f->d);
	return f;
}

static void rng_stop(struct rng_fix *f)
{
	drv_free(&f->d);
	free(f);
}

static void test_rng(void **state)
{
	struct rng_fix *f = rng_start(1000);
	uint64_t a = drv_alloc(&f->d, 64), b = drv_alloc(&f->d, 16);
	struct drv_buf bufs[] = { { a, 64, true }, { b, 16, true } };
	uint32_t id, len;

	(void)state;
	assert_int_equal(virtio_pci_cfg_read(&f->r.vp, PCI_DEVICE_ID, 2), 0x1044);
	drv_add_chain(&f->d, &f->d.ring[0], bufs, 2);
	drv_kick(&f->d, 0);
	assert_int_equal(drv_get_used(&f->d, &f->d.ring[0], &id, &len), 1);
	assert_int_equal(len, 80);
	for (int i = 0; i < 64; i++)
		assert_int_equal(((uint8_t *)drv_ptr(&f->d, a))[i], (uint8_t)(1 + i));
	assert_int_equal(((uint8_t *)drv_ptr(&f->d, b))[15], 80);
	assert_int_equal(f->d.intx, 1); /* no MSI-X: INTx */
	rng_stop(f);
}

/* A source that runs dry gives what it has; a readable buffer gets nothing. */
static void test_rng_short_and_bad(void **state)
{
	struct rng_fix *f = rng_start(10);
	uint64_t a = drv_alloc(&f->d, 64);
	struct drv_buf ok[] = { { a, 64, true } };
	struct drv_buf bad[] = { { DRV_RAM_SIZE - 4, 64, true } };
	struct drv_buf rd[] = { { a, 64, false } };
	uint32_t id, len;

	(void)state;
	drv_add_chain(&f->d, &f->d.ring[0], bad, 1);
	drv_add_chain(&f->d, &f->d.ring[0], ok, 1);
	drv_add_chain(&f->d, &f->d.ring[0], rd, 1);
	drv_add_chain(&f->d, &f->d.ring[0], ok, 1);
	drv_kick(&f->d, 0);
	assert_int_equal(drv_get_used(&f->d, &f->d.ring[0], &id, &len), 1);
	assert_int_equal(len, 0); /* outside RAM */
	assert_int_equal(drv_get_used(&f->d, &f->d.ring[0], &id, &len), 1);
	assert_int_equal(len, 10);
	assert_int_equal(drv_get_used(&f->d, &f->d.ring[0], &id, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(drv_get_used(&f->d, &f->d.ring[0], &id, &len), 1);
	assert_int_equal(len, 0); /* dry */
	rng_stop(f);
}

struct con_fix {
	struct virtio_console c;
	struct drv d;
	char out[256];
	size_t out_len;
};

static void collect(void *opaque, const void *buf, size_t len)
{
	struct con_fix *f = opaque;

	memcpy(f->out + f->out_len, buf, len);
	f->out_len += len;
}

static void con_setup(struct con_fix *f)
{
	assert_true(drv_negotiate(&f->d, VIRTIO_BIT(VIRTIO_F_VERSION_1)) & VIRTIO_STATUS_FEATURES_OK);
	drv_enable_msix(&f->d);
	drv_setup_queue(&f->d, VIRTIO_CONSOLE_RXQ, 16, 0);
	drv_setup_queue(&f->d, VIRTIO_CONSOLE_TXQ, 16, 1);
}

static struct con_fix *con_start(void)
{
	struct con_fix *f = calloc(1, sizeof(*f));

	drv_init(&f->d);
	virtio_console_init(&f->c, &f->d.mem, &f->d.irq, collect, f);
	drv_attach(&f->d, &f->c.vp);
	con_setup(f);
	return f;
}

static void con_stop(struct con_fix *f)
{
	drv_free(&f->d);
	free(f);
}

static void test_console_output(void **state)
{
	struct con_fix *f = con_start();
	uint64_t a = drv_alloc(&f->d, 8), b = drv_alloc(&f->d, 8);
	struct drv_buf bufs[] = { { a, 6, false }, { b, 6, false } };
	uint32_t id, len;

	(void)state;
	assert_int_equal(virtio_pci_cfg_read(&f->c.vp, PCI_DEVICE_ID, 2), 0x1043);
	assert_false(drv_features(&f->d) & VIRTIO_BIT(1)); /* no VIRTIO_CONSOLE_F_MULTIPORT */
	drv_driver_ok(&f->d);
	memcpy(drv_ptr(&f->d, a), "hello ", 6);
	memcpy(drv_ptr(&f->d, b), "world\n", 6);
	drv_add_chain(&f->d, &f->d.ring[VIRTIO_CONSOLE_TXQ], bufs, 2);
	drv_kick(&f->d, VIRTIO_CONSOLE_TXQ);
	assert_int_equal(f->out_len, 12);
	assert_memory_equal(f->out, "hello world\n", 12);
	assert_int_equal(drv_get_used(&f->d, &f->d.ring[VIRTIO_CONSOLE_TXQ], &id, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(f->d.msi_per_vector[1], 1);
	con_stop(f);
}

/* Input waits for DRIVER_OK and receive buffers, then fills them in order. */
static void test_console_input(void **state)
{
	struct con_fix *f = con_start();
	struct drv_ring *rx = &f->d.ring[VIRTIO_CONSOLE_RXQ];
	uint64_t a = drv_alloc(&f->d, 4), b = drv_alloc(&f->d, 16);
	uint32_t id, len;

	(void)state;
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { a, 4, true } }, 1);
	drv_kick(&f->d, VIRTIO_CONSOLE_RXQ);
	assert_int_equal(virtio_console_input(&f->c, "abcdef", 6), 6);
	assert_int_equal(drv_get_used(&f->d, rx, &id, &len), 0); /* a buffer, but no DRIVER_OK yet */
	drv_driver_ok(&f->d);
	drv_kick(&f->d, VIRTIO_CONSOLE_RXQ);
	assert_int_equal(drv_get_used(&f->d, rx, &id, &len), 1);
	assert_int_equal(len, 4);
	assert_memory_equal(drv_ptr(&f->d, a), "abcd", 4);
	assert_int_equal(f->d.msi_per_vector[0], 1);
	/* "ef" waits for the next buffer */
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { b, 16, true } }, 1);
	drv_kick(&f->d, VIRTIO_CONSOLE_RXQ);
	assert_int_equal(drv_get_used(&f->d, rx, &id, &len), 1);
	assert_int_equal(len, 2);
	assert_memory_equal(drv_ptr(&f->d, b), "ef", 2);
	/* a posted buffer takes new input at once */
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { b, 16, true } }, 1);
	drv_kick(&f->d, VIRTIO_CONSOLE_RXQ);
	assert_int_equal(virtio_console_input(&f->c, "xyz", 3), 3);
	assert_int_equal(drv_get_used(&f->d, rx, &id, &len), 1);
	assert_int_equal(len, 3);
	assert_memory_equal(drv_ptr(&f->d, b), "xyz", 3);
	con_stop(f);
}

/* A full input buffer takes what fits; the ring wraps. */
static void test_console_input_full(void **state)
{
	struct con_fix *f = con_start();
	struct drv_ring *rx = &f->d.ring[VIRTIO_CONSOLE_RXQ];
	uint8_t *big = malloc(2 * VIRTIO_CONSOLE_INBUF);
	uint64_t b = drv_alloc(&f->d, 3000);
	uint32_t id, len;

	(void)state;
	for (int i = 0; i < 2 * VIRTIO_CONSOLE_INBUF; i++)
		big[i] = (uint8_t)(i ^ (i >> 8)); /* no period of 256 */
	drv_driver_ok(&f->d);
	assert_int_equal(virtio_console_input(&f->c, big, VIRTIO_CONSOLE_INBUF - 100), VIRTIO_CONSOLE_INBUF - 100);
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { b, 3000, true } }, 1);
	drv_kick(&f->d, VIRTIO_CONSOLE_RXQ);
	assert_int_equal(drv_get_used(&f->d, rx, &id, &len), 1);
	assert_int_equal(len, 3000);
	/* 996 left at the ring's end; 3100 more fit, of 3200 */
	assert_int_equal(virtio_console_input(&f->c, big + VIRTIO_CONSOLE_INBUF - 100, 3200), 3100);
	drv_add_chain(&f->d, rx, (struct drv_buf[]){ { b, 3000, true } }, 1);
	drv_kick(&f->d, VIRTIO_CONSOLE_RXQ);
	assert_int_equal(drv_get_used(&f->d, rx, &id, &len), 1);
	assert_int_equal(len, 3000);
	assert_memory_equal(drv_ptr(&f->d, b), big + 3000, 3000); /* across the wrap */
	free(big);
	con_stop(f);
}

/* A reset in the middle: queued work is dropped with the queues, a new driver starts clean. */
static void test_console_reset_midway(void **state)
{
	struct con_fix *f = con_start();
	struct drv_ring *tx = &f->d.ring[VIRTIO_CONSOLE_TXQ];
	uint64_t a = drv_alloc(&f->d, 8);
	uint32_t id, len;

	(void)state;
	drv_driver_ok(&f->d);
	memcpy(drv_ptr(&f->d, a), "lost", 4);
	drv_add_chain(&f->d, tx, (struct drv_buf[]){ { a, 4, false } }, 1);
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	drv_kick(&f->d, VIRTIO_CONSOLE_TXQ);
	assert_int_equal(f->out_len, 0);
	assert_int_equal(drv_get_used(&f->d, tx, &id, &len), 0);
	/* the driver starts again with fresh rings */
	con_setup(f);
	drv_driver_ok(&f->d);
	memcpy(drv_ptr(&f->d, a), "back", 4);
	drv_add_chain(&f->d, tx, (struct drv_buf[]){ { a, 4, false } }, 1);
	drv_kick(&f->d, VIRTIO_CONSOLE_TXQ);
	assert_int_equal(f->out_len, 4);
	assert_memory_equal(f->out, "back", 4);
	con_stop(f);
}

/* A broken transmit queue: DEVICE_NEEDS_RESET and a configuration interrupt; receive goes on
 * until the driver resets. */
static void test_console_broken_queue(void **state)
{
	struct con_fix *f = con_start();
	struct drv_ring *tx = &f->d.ring[VIRTIO_CONSOLE_TXQ];

	(void)state;
	drv_common_write(&f->d, VIRTIO_PCI_COMMON_MSIX, 2, 2);
	drv_driver_ok(&f->d);
	drv_set_desc(&f->d, tx, 0, drv_alloc(&f->d, 4), 4, VIRTQ_DESC_F_NEXT, 0); /* loops on itself */
	drv_make_avail(&f->d, tx, 0);
	drv_kick(&f->d, VIRTIO_CONSOLE_TXQ);
	assert_true(drv_common_read(&f->d, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(f->d.msi_per_vector[2], 1);
	assert_int_equal(f->out_len, 0);
	con_stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng),
		cmocka_unit_test(test_rng_short_and_bad),
		cmocka_unit_test(test_console_output),
		cmocka_unit_test(test_console_input),
		cmocka_unit_test(test_console_input_full),
		cmocka_unit_test(test_console_reset_midway),
		cmocka_unit_test(test_console_broken_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

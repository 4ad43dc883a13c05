/* SPDX-License-Identifier: MIT */
/*
 * keel-dm's virtio block device (guests/mgmt/dm/virtio_blk.c) on a temporary raw image, driven
 * as Linux's virtio_blk would: header, data and status in one chain (indirect too), then the
 * used ring and the interrupt.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dm_driver.h"
#include "guests/mgmt/dm/virtio_devs.h"

#define DISK_SECTORS 2048		    /* 1 MiB */
#define SERIAL	     "keel-disk-0123456789" /* exactly 20 bytes: no NUL */

struct blk_fix {
	struct virtio_blk b;
	struct drv d;
	int fd;
	char path[64];
	uint64_t hdr, st; /* gpa of a header and a status byte */
};

static struct blk_fix *start(bool ro, uint64_t features)
{
	struct blk_fix *f = calloc(1, sizeof(*f));

	strcpy(f->path, "/tmp/keel-dm-blk-XXXXXX");
	f->fd = mkstemp(f->path);
	assert_true(f->fd >= 0);
	assert_int_equal(ftruncate(f->fd, DISK_SECTORS * 512), 0);
	drv_init(&f->d);
	assert_int_equal(virtio_blk_init(&f->b, &f->d.mem, &f->d.irq, f->fd, ro, SERIAL), 0);
	drv_attach(&f->d, &f->b.vp);
	assert_true(drv_negotiate(&f->d, features | VIRTIO_BIT(VIRTIO_F_VERSION_1)) & VIRTIO_STATUS_FEATURES_OK);
	drv_enable_msix(&f->d);
	drv_setup_queue(&f->d, 0, 64, 1);
	drv_driver_ok(&f->d);
	f->hdr = drv_alloc(&f->d, 16);
	f->st = drv_alloc(&f->d, 1);
	return f;
}

static void stop(struct blk_fix *f)
{
	close(f->fd);
	unlink(f->path);
	drv_free(&f->d);
	free(f);
}

static void set_hdr(struct blk_fix *f, uint32_t type, uint64_t sector)
{
	struct virtio_blk_req_hdr h = { type, 0, sector };

	memcpy(drv_ptr(&f->d, f->hdr), &h, sizeof(h));
	*(uint8_t *)drv_ptr(&f->d, f->st) = 0xee;
}

/* One request: header, the data buffer (device-writable for IN and GET_ID), status. Returns
 * the status byte; *used the used length. */
static int request(struct blk_fix *f, uint32_t type, uint64_t sector, uint64_t data, uint32_t len, bool in,
		   uint32_t *used)
{
	struct drv_buf bufs[3] = { { f->hdr, 16, false }, { data, len, in }, { f->st, 1, true } };
	uint32_t id, ulen;
	uint16_t head;

	set_hdr(f, type, sector);
	head = len ? drv_add_chain(&f->d, &f->d.ring[0], bufs, 3)
		   : drv_add_chain(&f->d, &f->d.ring[0], (struct drv_buf[]){ bufs[0], bufs[2] }, 2);
	drv_kick(&f->d, 0);
	assert_int_equal(drv_get_used(&f->d, &f->d.ring[0], &id, &ulen), 1);
	assert_int_equal(id, head);
	if (used)
		*used = ulen;
	return *(uint8_t *)drv_ptr(&f->d, f->st);
}

static void test_config(void **state)
{
	struct blk_fix *f = start(false, 0);
	uint64_t feat = drv_features(&f->d);

	(void)state;
	assert_true(feat & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	assert_true(feat & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	assert_false(feat & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_int_equal(virtio_pci_bar_read(&f->b.vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_DEVICE_OFF, 8), DISK_SECTORS);
	assert_int_equal(
	    virtio_pci_bar_read(&f->b.vp, VIRTIO_PCI_MEM_BAR, VIRTIO_PCI_DEVICE_OFF + VIRTIO_BLK_CFG_BLK_SIZE, 4), 512);
	assert_int_equal(virtio_pci_cfg_read(&f->b.vp, PCI_DEVICE_ID, 2), 0x1042);
	stop(f);
}

static void test_read_write(void **state)
{
	struct blk_fix *f = start(false, 0);
	uint64_t buf = drv_alloc(&f->d, 1024);
	uint8_t pattern[1024], back[1024];
	uint32_t used;

	(void)state;
	for (int i = 0; i < 1024; i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(pwrite(f->fd, pattern, 1024, 2 * 512), 1024);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 2, buf, 1024, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1025);
	assert_memory_equal(drv_ptr(&f->d, buf), pattern, 1024);
	assert_int_equal(f->d.msi_per_vector[1], 1);
	memset(drv_ptr(&f->d, buf), 0x5a, 1024);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, DISK_SECTORS - 2, buf, 1024, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	assert_int_equal(pread(f->fd, back, 1024, (DISK_SECTORS - 2) * 512), 1024);
	assert_memory_equal(back, drv_ptr(&f->d, buf), 1024);
	assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	stop(f);
}

static void test_bounds(void **state)
{
	struct blk_fix *f = start(false, 0);
	uint64_t buf = drv_alloc(&f->d, 1024);
	uint32_t used;

	(void)state;
	/* the last sector plus one past the end */
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, buf, 1024, true, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, DISK_SECTORS, buf, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	/* a sector whose byte offset wraps */
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, UINT64_MAX, buf, 512, true, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, UINT64_MAX / 512 + 1, buf, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	/* not whole sectors */
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, buf, 100, true, NULL), VIRTIO_BLK_S_IOERR);
	/* an unknown type */
	assert_int_equal(request(f, 77, 0, buf, 512, true, &used), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(used, 1);
	struct stat st;
	assert_int_equal(fstat(f->fd, &st), 0);
	assert_int_equal(st.st_size, DISK_SECTORS * 512); /* nothing written past the end */
	stop(f);
}

static void test_read_only(void **state)
{
	struct blk_fix *f = start(true, VIRTIO_BIT(VIRTIO_BLK_F_RO));
	uint64_t buf = drv_alloc(&f->d, 512);
	uint8_t back[512], zero[512] = { 0 };

	(void)state;
	assert_true(drv_features(&f->d) & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_false(drv_features(&f->d) & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	memset(drv_ptr(&f->d, buf), 0xaa, 512);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 0, buf, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(pread(f->fd, back, 512, 0), 512);
	assert_memory_equal(back, zero, 512);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, buf, 512, true, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(drv_ptr(&f->d, buf), zero, 512);
	stop(f);
}

static void test_get_id(void **state)
{
	struct blk_fix *f = start(false, 0);
	uint64_t buf = drv_alloc(&f->d, 32);
	uint32_t used;

	(void)state;
	memset(drv_ptr(&f->d, buf), 0xff, 32);
	assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, buf, 20, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 21);
	assert_memory_equal(drv_ptr(&f->d, buf), SERIAL, 20);
	assert_int_equal(*(uint8_t *)drv_ptr(&f->d, buf + 20), 0xff); /* 20 bytes, no more */
	assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, buf, 8, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 9);
	stop(f);
}

static blkcnt_t blocks(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_blocks;
}

/* Discard punches holes: the image keeps its size and gives back its blocks (st_blocks). */
static void test_discard(void **state)
{
	struct blk_fix *f = start(false, VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
	uint64_t seg = drv_alloc(&f->d, 32), buf = drv_alloc(&f->d, 4096);
	struct virtio_blk_discard d[2] = { { 256, 512, 0 }, { 1024, 256, 0 } };
	uint8_t *full = malloc(DISK_SECTORS * 512);
	blkcnt_t before;
	struct stat st;

	(void)state;
	memset(full, 0x77, DISK_SECTORS * 512);
	assert_int_equal(pwrite(f->fd, full, DISK_SECTORS * 512, 0), DISK_SECTORS * 512);
	assert_int_equal(fsync(f->fd), 0);
	before = blocks(f->fd);
	assert_true(before >= DISK_SECTORS);
	memcpy(drv_ptr(&f->d, seg), d, sizeof(d));
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, seg, sizeof(d), false, NULL), VIRTIO_BLK_S_OK);
	if (blocks(f->fd) == before)
		skip();				    /* the file system cannot punch holes */
	assert_true(blocks(f->fd) <= before - 768); /* 768 sectors of 512 bytes, st_blocks' unit */
	assert_int_equal(fstat(f->fd, &st), 0);
	assert_int_equal(st.st_size, DISK_SECTORS * 512);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 256, buf, 4096, true, NULL), VIRTIO_BLK_S_OK);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(((uint8_t *)drv_ptr(&f->d, buf))[i], 0);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 255, buf, 512, true, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(*(uint8_t *)drv_ptr(&f->d, buf), 0x77); /* before the hole: kept */
	/* unmap flag, past the end, a bad size: refused, nothing punched */
	before = blocks(f->fd);
	d[0] = (struct virtio_blk_discard){ 0, 8, VIRTIO_BLK_DISCARD_F_UNMAP };
	memcpy(drv_ptr(&f->d, seg), d, 16);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, seg, 16, false, NULL), VIRTIO_BLK_S_UNSUPP);
	d[0] = (struct virtio_blk_discard){ DISK_SECTORS - 8, 16, 0 };
	memcpy(drv_ptr(&f->d, seg), d, 16);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, seg, 16, false, NULL), VIRTIO_BLK_S_IOERR);
	d[0] = (struct virtio_blk_discard){ UINT64_MAX - 1, 8, 0 };
	memcpy(drv_ptr(&f->d, seg), d, 16);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, seg, 16, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, seg, 12, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(blocks(f->fd), before);
	free(full);
	stop(f);
}

static void test_discard_not_negotiated(void **state)
{
	struct blk_fix *f = start(false, 0);
	uint64_t seg = drv_alloc(&f->d, 16);
	struct virtio_blk_discard d = { 0, 8, 0 };

	(void)state;
	memcpy(drv_ptr(&f->d, seg), &d, sizeof(d));
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, seg, 16, false, NULL), VIRTIO_BLK_S_UNSUPP);
	stop(f);
}

/* Layouts Linux does not use but the spec allows, and ones nothing can answer. */
static void test_odd_layouts(void **state)
{
	struct blk_fix *f = start(false, VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC));
	uint64_t t = drv_alloc(&f->d, 48), buf = drv_alloc(&f->d, 513), small = drv_alloc(&f->d, 8);
	struct virtq_desc tab[2] = { { f->hdr, 16, VIRTQ_DESC_F_NEXT, 1 }, { buf, 513, VIRTQ_DESC_F_WRITE, 0 } };
	struct drv_ring *r = &f->d.ring[0];
	uint32_t id, len;

	(void)state;
	/* indirect: header, then data and status in one writable buffer */
	assert_int_equal(pwrite(f->fd, "hello", 5, 512), 5);
	set_hdr(f, VIRTIO_BLK_T_IN, 1);
	memcpy(drv_ptr(&f->d, t), tab, sizeof(tab));
	drv_set_desc(&f->d, r, 10, t, sizeof(tab), VIRTQ_DESC_F_INDIRECT, 0);
	drv_make_avail(&f->d, r, 10);
	/* a header of 8 bytes: no status can be written, 0 bytes used */
	drv_add_chain(&f->d, r, (struct drv_buf[]){ { small, 8, false }, { f->st, 1, true } }, 2);
	/* no writable byte */
	drv_add_chain(&f->d, r, (struct drv_buf[]){ { f->hdr, 16, false } }, 1);
	drv_kick(&f->d, 0);
	assert_int_equal(drv_get_used(&f->d, r, &id, &len), 1);
	assert_int_equal(id, 10);
	assert_int_equal(len, 513);
	assert_memory_equal(drv_ptr(&f->d, buf), "hello", 5);
	assert_int_equal(*(uint8_t *)drv_ptr(&f->d, buf + 512), VIRTIO_BLK_S_OK);
	assert_int_equal(drv_get_used(&f->d, r, &id, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(drv_get_used(&f->d, r, &id, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(f->d.msi_per_vector[1], 1); /* three completions, one interrupt */
	stop(f);
}

/* A data buffer outside RAM: the request completes with 0 bytes, the disk goes on. */
static void test_buffer_outside_ram(void **state)
{
	struct blk_fix *f = start(false, 0);
	uint64_t buf = drv_alloc(&f->d, 512);
	uint32_t id, len;

	(void)state;
	set_hdr(f, VIRTIO_BLK_T_IN, 0);
	drv_add_chain(
	    &f->d, &f->d.ring[0],
	    (struct drv_buf[]){ { f->hdr, 16, false }, { DRV_RAM_SIZE - 256, 512, true }, { f->st, 1, true } }, 3);
	drv_kick(&f->d, 0);
	assert_int_equal(drv_get_used(&f->d, &f->d.ring[0], &id, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(*(uint8_t *)drv_ptr(&f->d, f->st), 0xee);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, buf, 512, true, NULL), VIRTIO_BLK_S_OK);
	stop(f);
}

/* EVENT_IDX: completions batched into the interrupts the driver asked for (used_event). */
static void test_event_idx_batch(void **state)
{
	struct blk_fix *f = start(false, VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	uint64_t buf = drv_alloc(&f->d, 512);
	struct drv_buf bufs[3] = { { f->hdr, 16, false }, { buf, 512, true }, { f->st, 1, true } };
	struct drv_ring *r = &f->d.ring[0];
	uint32_t id, len;

	(void)state;
	set_hdr(f, VIRTIO_BLK_T_IN, 0);
	drv_set_used_event(&f->d, r, 1); /* wake me once used->idx passes 1 */
	drv_add_chain(&f->d, r, bufs, 3);
	drv_add_chain(&f->d, r, bufs, 3);
	drv_kick(&f->d, 0);
	assert_int_equal(drv_avail_event(&f->d, r), 2);
	assert_int_equal(f->d.msi_per_vector[1], 1);
	drv_set_used_event(&f->d, r, 10); /* not before 10 */
	drv_add_chain(&f->d, r, bufs, 3);
	drv_kick(&f->d, 0);
	assert_int_equal(f->d.msi_per_vector[1], 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(drv_get_used(&f->d, r, &id, &len), 1);
	stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_read_write),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_get_id),
		cmocka_unit_test(test_discard),
		cmocka_unit_test(test_discard_not_negotiated),
		cmocka_unit_test(test_odd_layouts),
		cmocka_unit_test(test_buffer_outside_ram),
		cmocka_unit_test(test_event_idx_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

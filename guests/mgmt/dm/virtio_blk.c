// SPDX-License-Identifier: MIT
/*
 * keel-dm: virtio block device (virtio 1.2 §5.2) on a raw image file. A request is a 16-byte
 * header (device-readable; copied once), data, and a status byte (the last device-writable
 * byte). Data moves with buffered preadv/pwritev straight between the file and the window: the
 * window is a PFN mapping of the guest's RAM (VM_PFNMAP, no struct page), so O_DIRECT, which
 * pins user pages, fails on it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virtio_devs.h"

#define PCI_CLASS_STORAGE_OTHER 0x018000 /* mass storage controller, other */
#define BLK_HDR			sizeof(struct virtio_blk_req_hdr)

static struct virtio_blk *to_blk(struct virtio_pci *vp)
{
	return (struct virtio_blk *)vp;
}

/* Whether sectors [sector, sector + n) are on the disk (no sum can wrap). */
static bool in_disk(const struct virtio_blk *b, uint64_t sector, uint64_t n)
{
	return sector <= b->sectors && n <= b->sectors - sector;
}

static uint8_t blk_rw(struct virtio_blk *b, const struct virtq_chain *c, uint64_t sector, bool in, uint32_t *written)
{
	struct iovec iov[VIRTQ_MAX];
	uint64_t len = in ? c->wr_len - 1u : c->rd_len - BLK_HDR;
	ssize_t done;
	int n;

	if (!in && b->ro)
		return VIRTIO_BLK_S_IOERR; /* §5.2.6.1: no writes with VIRTIO_BLK_F_RO */
	if (len % VIRTIO_BLK_SECTOR || !in_disk(b, sector, len / VIRTIO_BLK_SECTOR))
		return VIRTIO_BLK_S_IOERR;
	n = virtq_chain_iov(c, in, in ? 0 : BLK_HDR, len, iov, VIRTQ_MAX);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	if (n == 0)
		return VIRTIO_BLK_S_OK;
	done = in ? preadv(b->fd, iov, n, (off_t)(sector * VIRTIO_BLK_SECTOR))
		  : pwritev(b->fd, iov, n, (off_t)(sector * VIRTIO_BLK_SECTOR));
	if (done != (ssize_t)len)
		return VIRTIO_BLK_S_IOERR;
	*written = in ? (uint32_t)len : 0;
	return VIRTIO_BLK_S_OK;
}

/* Holes punched with KEEP_SIZE: the disk keeps its size and a sparse image stays sparse. All
 * segments are copied once and checked before any is punched. */
static uint8_t blk_discard(struct virtio_blk *b, const struct virtq_chain *c)
{
	struct virtio_blk_discard seg[VIRTIO_BLK_MAX_DISCARD_SEG];
	uint32_t bytes = c->rd_len - (uint32_t)BLK_HDR, nr = bytes / (uint32_t)sizeof(seg[0]);

	if (!virtio_pci_has_feature(&b->vp, VIRTIO_BLK_F_DISCARD))
		return VIRTIO_BLK_S_UNSUPP;
	if (b->ro)
		return VIRTIO_BLK_S_IOERR;
	if (nr == 0 || bytes % sizeof(seg[0]) || nr > VIRTIO_BLK_MAX_DISCARD_SEG)
		return VIRTIO_BLK_S_IOERR;
	virtq_chain_read(c, BLK_HDR, seg, bytes);
	for (uint32_t i = 0; i < nr; i++) {
		if (seg[i].flags) /* §5.2.6.2: UNSUPP for a discard with unmap (or unknown) flags */
			return VIRTIO_BLK_S_UNSUPP;
		if (seg[i].num_sectors > VIRTIO_BLK_MAX_DISCARD_SECTORS ||
		    !in_disk(b, seg[i].sector, seg[i].num_sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	for (uint32_t i = 0; i < nr; i++)
		if (seg[i].num_sectors && fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						    (off_t)(seg[i].sector * VIRTIO_BLK_SECTOR),
						    (off_t)seg[i].num_sectors * VIRTIO_BLK_SECTOR))
			return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static uint32_t blk_request(struct virtio_pci *vp, const struct virtq_chain *c)
{
	struct virtio_blk *b = to_blk(vp);
	struct virtio_blk_req_hdr h;
	uint32_t written = 0, id_len;
	uint8_t status;

	/* No header or no status byte: nothing can be reported; completed with 0 bytes. */
	if (c->wr_len < 1 || virtq_chain_read(c, 0, &h, sizeof(h)) != sizeof(h))
		return 0;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		status = blk_rw(b, c, h.sector, h.type == VIRTIO_BLK_T_IN, &written);
		break;
	case VIRTIO_BLK_T_FLUSH:
		status = fdatasync(b->fd) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID:
		id_len = c->wr_len - 1 < VIRTIO_BLK_ID_BYTES ? c->wr_len - 1 : VIRTIO_BLK_ID_BYTES;
		written = (uint32_t)virtq_chain_write(c, 0, b->serial, id_len);
		status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
		status = blk_discard(b, c);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	virtq_chain_write(c, c->wr_len - 1, &status, 1);
	return written + 1;
}

static void blk_notify(struct virtio_pci *vp, uint16_t n)
{
	virtio_pci_serve(vp, n, blk_request, &to_blk(vp)->chain);
}

static void put_cfg(uint8_t *cfg, unsigned int off, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, v >>= 8)
		cfg[off + i] = (uint8_t)v;
}

static void blk_config_read(struct virtio_pci *vp, uint32_t off, uint8_t *buf, uint32_t len)
{
	struct virtio_blk *b = to_blk(vp);
	uint8_t cfg[VIRTIO_BLK_CFG_SIZE] = { 0 };

	put_cfg(cfg, VIRTIO_BLK_CFG_CAPACITY, b->sectors, 8);
	put_cfg(cfg, VIRTIO_BLK_CFG_SEG_MAX, VIRTQ_MAX - 2, 4); /* a request's header and status */
	put_cfg(cfg, VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR, 4);
	put_cfg(cfg, VIRTIO_BLK_CFG_MAX_DISCARD_SECT, VIRTIO_BLK_MAX_DISCARD_SECTORS, 4);
	put_cfg(cfg, VIRTIO_BLK_CFG_MAX_DISCARD_SEG, VIRTIO_BLK_MAX_DISCARD_SEG, 4);
	put_cfg(cfg, VIRTIO_BLK_CFG_DISCARD_ALIGN, VIRTIO_BLK_DISCARD_ALIGN, 4);
	memcpy(buf, cfg + off, len);
}

static const struct virtio_dev_ops blk_ops = {
	.type = VIRTIO_ID_BLOCK,
	.class_code = PCI_CLASS_STORAGE_OTHER,
	.nr_queues = 1,
	.queue_max = VIRTQ_MAX,
	.config_size = VIRTIO_BLK_CFG_SIZE,
	.config_read = blk_config_read,
	.notify = blk_notify,
};

int virtio_blk_init(struct virtio_blk *b, const struct guest_mem *mem, const struct virtio_irq *irq, int fd, bool ro,
		    const char *serial)
{
	struct stat st;
	uint64_t f = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		     VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(ro ? VIRTIO_BLK_F_RO : VIRTIO_BLK_F_DISCARD);

	if (fstat(fd, &st))
		return -errno;
	virtio_pci_init(&b->vp, &blk_ops, f, mem, irq);
	b->fd = fd;
	b->ro = ro;
	b->sectors = (uint64_t)st.st_size / VIRTIO_BLK_SECTOR;
	memset(b->serial, 0, sizeof(b->serial)); /* NUL-padded; 20 bytes long: no NUL */
	if (serial)
		memcpy(b->serial, serial, strnlen(serial, sizeof(b->serial)));
	return 0;
}

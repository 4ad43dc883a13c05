/* SPDX-License-Identifier: MIT */
/*
 * keel-dm's devices over the virtio PCI transport (docs/virtio.md): entropy (virtio_rng.c), a
 * single-port console (virtio_console.c), a block device on a raw image (virtio_blk.c). Each
 * embeds its struct virtio_pci first: the main loop drives it through vp.
 */
#ifndef KEEL_DM_VIRTIO_DEVS_H
#define KEEL_DM_VIRTIO_DEVS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "virtio_pci.h"
#include "virtio_spec.h"

/* Fills buf with up to len random bytes: how many, or a negative errno. */
typedef ssize_t (*virtio_entropy_fn)(void *opaque, void *buf, size_t len);

struct virtio_rng {
	struct virtio_pci vp;
	virtio_entropy_fn entropy;
	void *opaque;
	struct virtq_chain chain;
};
void virtio_rng_init(struct virtio_rng *r, const struct guest_mem *mem, const struct virtio_irq *irq,
		     virtio_entropy_fn entropy, void *opaque);
/* The production source: getrandom(2). */
ssize_t virtio_rng_getrandom(void *opaque, void *buf, size_t len);

/* Console output: the bytes the guest wrote (straight from its RAM). */
typedef void (*virtio_output_fn)(void *opaque, const void *buf, size_t len);
#define VIRTIO_CONSOLE_INBUF 4096

struct virtio_console {
	struct virtio_pci vp;
	virtio_output_fn output;
	void *opaque;
	uint8_t in[VIRTIO_CONSOLE_INBUF]; /* input waiting for receive buffers (a ring) */
	size_t in_head, in_len;
	struct virtq_chain chain;
};
void virtio_console_init(struct virtio_console *c, const struct guest_mem *mem, const struct virtio_irq *irq,
			 virtio_output_fn output, void *opaque);
/* Queues input for the guest and hands what it can to its receive buffers; returns how many
 * bytes were taken (fewer when VIRTIO_CONSOLE_INBUF is full). */
size_t virtio_console_input(struct virtio_console *c, const void *buf, size_t len);

#define VIRTIO_BLK_MAX_DISCARD_SEG     32
#define VIRTIO_BLK_MAX_DISCARD_SECTORS 0x400000u /* 2 GiB a segment */
#define VIRTIO_BLK_DISCARD_ALIGN       8u	 /* sectors: 4 KiB, the file system's block */

struct virtio_blk {
	struct virtio_pci vp;
	int fd;
	bool ro;
	uint64_t sectors;
	char serial[VIRTIO_BLK_ID_BYTES];
	struct virtq_chain chain;
};
/* A disk on the raw image open as fd (read-write unless ro), of the file's size in whole
 * sectors; serial: up to 20 bytes for GET_ID. 0 or a negative errno (fstat). */
int virtio_blk_init(struct virtio_blk *b, const struct guest_mem *mem, const struct virtio_irq *irq, int fd, bool ro,
		    const char *serial);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * virtio 1.x split virtqueues, device side (virtio 1.2 §2.7), for a guest that may be hostile.
 * The rings live in guest RAM, which the guest can change at any time: every field is loaded
 * once into a local (no double fetch) and checked there; descriptors are copied before use.
 *
 * A request's fate:
 *   - well formed: virtq_pop() returns 1 and the chain; the device does the work and calls
 *     virtq_push(q, chain.head, bytes written), then virtq_should_notify(q) once per batch;
 *   - a bad buffer (outside RAM, a length sum over 4 GiB, a writable buffer before a readable
 *     one): -EFAULT with chain.head set; the device completes it with virtq_push(q, head, 0) (it
 *     cannot write a status into buffers it cannot trust) and the queue goes on;
 *   - a broken ring (an avail index more than the queue size ahead, a head or next index out of
 *     range, a chain that loops or is longer than the queue, an indirect table inside an indirect
 *     table, with NEXT, not a multiple of 16 bytes or longer than the queue): -EIO and
 *     q->broken; the queue is dead until reset and the transport sets DEVICE_NEEDS_RESET
 *     (§2.1.2), as the driver broke a MUST of §2.7.5 and nothing later on the ring can be
 *     trusted.
 */
#ifndef KEEL_DM_VIRTQ_H
#define KEEL_DM_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "guest_mem.h"

/* The largest queue keel-dm offers; a chain has at most this many buffers (§2.7.5.2). */
#define VIRTQ_MAX 256

struct virtq {
	/* Set by the driver through the transport, used once the queue is enabled. */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx, indirect; /* negotiated VIRTIO_F_RING_EVENT_IDX, _INDIRECT_DESC */
	/* Device state. */
	bool ready, broken;
	uint16_t last_avail;	 /* the next avail ring entry to take */
	uint16_t used_idx;	 /* our used->idx */
	uint16_t signalled_used; /* used_idx when virtq_should_notify last looked */
	const struct guest_mem *mem;
	uint8_t *desc, *avail, *used; /* window addresses of the rings */
};

/* One buffer of a chain, in the window. */
struct virtq_seg {
	uint8_t *addr;
	uint32_t len;
};

/* A popped chain: nr_rd device-readable buffers, then nr_wr device-writable ones. */
struct virtq_chain {
	uint16_t head;
	uint16_t nr_rd, nr_wr;
	uint32_t rd_len, wr_len; /* bytes in each direction */
	struct virtq_seg seg[VIRTQ_MAX];
};

/* Forgets everything (device reset); size and addresses back to 0. */
void virtq_reset(struct virtq *q);
/* Enables the queue: checks size (a power of 2, <= VIRTQ_MAX), the rings' alignment (§2.7:
 * 16, 2, 4) and that they lie in RAM. 0 or -EINVAL (then the queue is broken). */
int virtq_start(struct virtq *q, const struct guest_mem *mem);
/* Whether the driver has made buffers available that were not popped yet. */
bool virtq_has_work(struct virtq *q);
/* Takes the next chain: 1, 0 (none), or a negative errno as above. With EVENT_IDX, each call
 * first publishes avail_event = the chains taken so far, so the call that finds the queue empty
 * asks for a doorbell at the next buffer: a device pops until 0. */
int virtq_pop(struct virtq *q, struct virtq_chain *c);
/* Gives back the last n chains popped and not pushed: the next pops take them again (read and
 * checked anew). For a device that found too few buffers for a whole packet (virtio-net). */
void virtq_unpop(struct virtq *q, uint16_t n);
/* Returns a chain to the driver with len bytes written (release: the used element before the
 * index). */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* Whether the driver wants an interrupt for what was pushed since the last call (used_event
 * with EVENT_IDX, else VIRTQ_AVAIL_F_NO_INTERRUPT); a batch of pushes, one interrupt. */
bool virtq_should_notify(struct virtq *q);

/* Byte-level access to a chain: copy from its readable bytes at `off`, or to its writable bytes
 * at `off`; return how many bytes were copied. */
size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst, size_t len);
size_t virtq_chain_write(const struct virtq_chain *c, size_t off, const void *src, size_t len);
/* The iovecs (at most max) of readable (writable false) or writable bytes [off, off + len) of a
 * chain; returns how many, with exactly len bytes in them, or -EINVAL if the chain is shorter. */
int virtq_chain_iov(const struct virtq_chain *c, bool writable, size_t off, size_t len, struct iovec *iov, int max);

#endif

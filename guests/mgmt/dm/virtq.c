// SPDX-License-Identifier: MIT
/*
 * keel-dm: split virtqueues, device side (virtq.h). Ordering (virtio 1.2 §2.7.13, §2.7.14): the
 * driver writes descriptors and the avail ring entry before avail->idx, so avail->idx is loaded
 * with acquire before the entries it covers; the device writes the used element before
 * used->idx (release); it publishes used->idx before it reads used_event to decide on an
 * interrupt (a full barrier, as the driver's side has between avail->idx and avail_event), and
 * with EVENT_IDX publishes avail_event before it looks at avail->idx again (another).
 */
#include <errno.h>
#include <string.h>

#include "virtio_spec.h"
#include "virtq.h"

/* Ring fields are naturally aligned (virtq_start checks the rings' alignment): single loads and
 * stores the compiler may neither split nor repeat. */
static uint16_t load16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED);
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, v, __ATOMIC_RELAXED);
}

static void store32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, v, __ATOMIC_RELAXED);
}

/* One descriptor, copied once. An indirect table need not be aligned (§2.7.5.3 asks nothing):
 * then byte by byte through a volatile pointer. */
static void read_desc(const uint8_t *p, struct virtq_desc *d)
{
	if (((uintptr_t)p & 7) == 0) {
		uint64_t lo = __atomic_load_n((const uint64_t *)(const void *)p, __ATOMIC_RELAXED);
		uint64_t hi = __atomic_load_n((const uint64_t *)(const void *)(p + 8), __ATOMIC_RELAXED);

		d->addr = lo;
		d->len = (uint32_t)hi;
		d->flags = (uint16_t)(hi >> 32);
		d->next = (uint16_t)(hi >> 48);
		return;
	}
	uint8_t b[sizeof(*d)];
	const volatile uint8_t *v = p;

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = v[i];
	memcpy(d, b, sizeof(b));
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

static int broken(struct virtq *q)
{
	q->broken = true;
	return -EIO;
}

int virtq_start(struct virtq *q, const struct guest_mem *mem)
{
	uint16_t n = q->size;

	q->mem = mem;
	q->last_avail = q->used_idx = q->signalled_used = 0;
	q->broken = false;
	if (n == 0 || n > VIRTQ_MAX || (n & (n - 1)) || (q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		goto bad;
	q->desc = guest_mem_ptr(mem, q->desc_gpa, (uint64_t)n * sizeof(struct virtq_desc));
	q->avail = guest_mem_ptr(mem, q->avail_gpa, VIRTQ_AVAIL_SIZE(n));
	q->used = guest_mem_ptr(mem, q->used_gpa, VIRTQ_USED_SIZE(n));
	/* The window's own alignment (page aligned in keel-dm; a test's buffer might not be). */
	if (!q->desc || !q->avail || !q->used || ((uintptr_t)q->desc & 15) || ((uintptr_t)q->avail & 1) ||
	    ((uintptr_t)q->used & 3))
		goto bad;
	q->ready = true;
	return 0;
bad:
	q->ready = false;
	broken(q);
	return -EINVAL;
}

bool virtq_has_work(struct virtq *q)
{
	if (!q->ready || q->broken)
		return false;
	return __atomic_load_n((const uint16_t *)(const void *)(q->avail + VIRTQ_AVAIL_IDX), __ATOMIC_ACQUIRE) !=
	       q->last_avail;
}

/* Adds buffer d to the chain; a bad buffer sets *err and the walk goes on (to find a broken
 * ring all the same). */
static void add_buffer(struct virtq *q, struct virtq_chain *c, const struct virtq_desc *d, int *err)
{
	uint8_t *p;

	if (*err || d->len == 0)
		return;
	p = guest_mem_ptr(q->mem, d->addr, d->len);
	if (!p) {
		*err = -EFAULT;
		return;
	}
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		if (d->len > UINT32_MAX - c->wr_len)
			*err = -EFAULT;
		else
			c->wr_len += d->len;
		c->seg[c->nr_rd + c->nr_wr++] = (struct virtq_seg){ p, d->len };
	} else if (c->nr_wr || d->len > UINT32_MAX - c->rd_len) {
		*err = -EFAULT; /* message framing: device-readable buffers come first */
	} else {
		c->rd_len += d->len;
		c->seg[c->nr_rd++] = (struct virtq_seg){ p, d->len };
	}
}

/* Walks the chain from head: at most q->size descriptors in all (§2.7.5.2), direct ones and
 * then at most one indirect table (§2.7.5.3.1). */
static int walk(struct virtq *q, struct virtq_chain *c, uint16_t head)
{
	const uint8_t *table = q->desc;
	uint32_t n = q->size, count = 0;
	bool indirect = false;
	uint16_t idx = head;
	int err = 0;

	for (;;) {
		struct virtq_desc d;

		read_desc(table + (size_t)idx * sizeof(d), &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!q->indirect || indirect || (d.flags & VIRTQ_DESC_F_NEXT) || d.len == 0 ||
			    d.len % sizeof(d) || d.len / sizeof(d) > q->size)
				return broken(q);
			table = guest_mem_ptr(q->mem, d.addr, d.len);
			if (!table)
				return -EFAULT;
			n = d.len / sizeof(d);
			indirect = true;
			idx = 0;
			continue;
		}
		if (++count > q->size)
			return broken(q); /* a loop, or longer than the queue */
		add_buffer(q, c, &d, &err);
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return err ? err : 1;
		if (d.next >= n)
			return broken(q);
		idx = d.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	uint16_t avail_idx, head;

	if (q->broken)
		return -EIO;
	if (!q->ready)
		return 0;
	if (q->event_idx) {
		/* avail_event (§2.7.10): ring the doorbell once avail->idx passes what I have
		 * taken. Stored before avail->idx is read, with a full barrier between (a store may
		 * pass a later load): else a buffer the driver adds meanwhile could see the old
		 * avail_event, skip its doorbell, and wait for ever. */
		store16(q->used + VIRTQ_USED_RING(q->size), q->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	avail_idx = __atomic_load_n((const uint16_t *)(const void *)(q->avail + VIRTQ_AVAIL_IDX), __ATOMIC_ACQUIRE);
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return broken(q);
	head = load16(q->avail + VIRTQ_AVAIL_RING(q->last_avail & (q->size - 1)));
	q->last_avail++;
	c->head = head;
	c->nr_rd = c->nr_wr = 0;
	c->rd_len = c->wr_len = 0;
	if (head >= q->size)
		return broken(q);
	return walk(q, c, head);
}

void virtq_unpop(struct virtq *q, uint16_t n)
{
	q->last_avail = (uint16_t)(q->last_avail - n);
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	uint8_t *e;

	if (!q->ready || q->broken)
		return;
	e = q->used + VIRTQ_USED_RING(q->used_idx & (q->size - 1));
	store32(e, head);
	store32(e + 4, len);
	q->used_idx++;
	__atomic_store_n((uint16_t *)(void *)(q->used + VIRTQ_USED_IDX), q->used_idx, __ATOMIC_RELEASE);
}

bool virtq_should_notify(struct virtq *q)
{
	uint16_t old = q->signalled_used, now = q->used_idx;

	if (!q->ready || q->broken || old == now)
		return false;
	q->signalled_used = now;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* used->idx visible before used_event is read */
	if (q->event_idx)			 /* used_event, §2.7.7 */
		return vring_need_event(load16(q->avail + VIRTQ_AVAIL_RING(q->size)), now, old);
	return !(load16(q->avail + VIRTQ_AVAIL_FLAGS) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* The pieces of the readable (or writable) bytes [off, off + len) of a chain, at most max of
 * them: how many, and in *got how many bytes they hold (fewer when the chain is shorter). */
static int pieces(const struct virtq_chain *c, bool writable, size_t off, size_t len, struct iovec *iov, int max,
		  size_t *got)
{
	size_t i = writable ? c->nr_rd : 0, end = writable ? (size_t)c->nr_rd + c->nr_wr : c->nr_rd;
	int nr = 0;

	for (*got = 0; i < end && *got < len && nr < max; i++) {
		const struct virtq_seg *s = &c->seg[i];
		size_t n;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = s->len - off < len - *got ? s->len - off : len - *got;
		iov[nr++] = (struct iovec){ s->addr + off, n };
		*got += n;
		off = 0;
	}
	return nr;
}

static size_t chain_copy(const struct virtq_chain *c, bool writable, size_t off, uint8_t *buf, size_t len)
{
	struct iovec iov[VIRTQ_MAX];
	size_t got, done = 0;
	int nr = pieces(c, writable, off, len, iov, VIRTQ_MAX, &got);

	for (int i = 0; i < nr; done += iov[i++].iov_len) {
		if (writable)
			memcpy(iov[i].iov_base, buf + done, iov[i].iov_len);
		else
			memcpy(buf + done, iov[i].iov_base, iov[i].iov_len);
	}
	return got;
}

size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst, size_t len)
{
	return chain_copy(c, false, off, dst, len);
}

size_t virtq_chain_write(const struct virtq_chain *c, size_t off, const void *src, size_t len)
{
	return chain_copy(c, true, off, (uint8_t *)(uintptr_t)src, len);
}

int virtq_chain_iov(const struct virtq_chain *c, bool writable, size_t off, size_t len, struct iovec *iov, int max)
{
	size_t got;
	int nr = pieces(c, writable, off, len, iov, max, &got);

	return got == len ? nr : -EINVAL;
}

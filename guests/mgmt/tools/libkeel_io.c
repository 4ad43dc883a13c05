// SPDX-License-Identifier: MIT
/* libkeel: I/O requests and interrupts into VMs (libkeel.h). The slot protocol is
 * vmm/public/keel_hypercall.h's: Keel writes a request and then state = PENDING; the device model
 * reads the state (acquire), then the fields, writes data and then state = DONE (release), then
 * looks at vcpu_blocked (after the store: sequentially consistent) and wakes the vCPU if set. */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "keel_ioctl.h"
#include "libkeel.h"
#include "libkeel_internal.h"

static int ioc(struct keel *k, unsigned long cmd, void *arg)
{
	return ioctl(k->fd, cmd, arg) < 0 ? -errno : 0;
}

int keel_io_attach(struct keel *k, uint32_t vm_id, struct keel_io *io)
{
	struct keel_io_attach req = { .vm_id = vm_id };
	long pg = sysconf(_SC_PAGESIZE);
	void *p;
	int ret = ioc(k, KEEL_IOC_IO_ATTACH, &req);

	if (ret)
		return ret;
	p = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_SHARED, k->fd, (off_t)req.mmap_offset);
	if (p == MAP_FAILED) {
		ret = -errno;
		struct keel_io_ref d = { .vm_id = vm_id };
		ioc(k, KEEL_IOC_IO_DETACH, &d);
		return ret;
	}
	*io = (struct keel_io){ .k = k, .vm_id = vm_id, .page = p };
	return 0;
}

int keel_io_detach(struct keel_io *io)
{
	struct keel_io_ref d = { .vm_id = io->vm_id };
	int ret = ioc(io->k, KEEL_IOC_IO_DETACH, &d);

	munmap(io->page, (size_t)sysconf(_SC_PAGESIZE));
	io->page = NULL;
	return ret;
}

int keel_io_claim(struct keel_io *io, const struct keel_claim *c)
{
	struct keel_io_claim req = { .vm_id = io->vm_id, .claim = *c };
	int ret = ioc(io->k, KEEL_IOC_IO_CLAIM, &req);

	return ret ? ret : (int)req.number;
}

int keel_io_unclaim(struct keel_io *io, uint32_t number)
{
	struct keel_io_ref req = { .vm_id = io->vm_id, .arg = number };

	return ioc(io->k, KEEL_IOC_IO_UNCLAIM, &req);
}

int keel_io_notify(struct keel_io *io, uint32_t vcpu)
{
	struct keel_io_ref req = { .vm_id = io->vm_id, .arg = vcpu };

	return ioc(io->k, KEEL_IOC_IO_NOTIFY, &req);
}

int keel_io_irq(struct keel_io *io, const struct keel_irq *irqs, uint32_t n)
{
	struct keel_io_irqs req = { .vm_id = io->vm_id, .count = n, .entries = (uintptr_t)irqs };
	int ret = ioctl(io->k->fd, KEEL_IOC_IO_IRQ, &req);

	return ret < 0 ? -errno : ret;
}

int keel_io_complete(struct keel_io *io, uint32_t vcpu, uint64_t data)
{
	struct keel_ioreq *s = &io->page->slot[vcpu];

	if (vcpu >= KEEL_VM_MAX_VCPUS)
		return -EINVAL;
	if (__atomic_load_n(&s->dir, __ATOMIC_RELAXED) == KEEL_IOREQ_READ)
		__atomic_store_n(&s->data, data, __ATOMIC_RELAXED);
	__atomic_store_n(&s->state, KEEL_IOREQ_DONE, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->vcpu_blocked, __ATOMIC_SEQ_CST))
		return keel_io_notify(io, vcpu);
	return 0;
}

int keel_io_serve(struct keel_io *io, keel_io_request_fn request, keel_io_doorbell_fn doorbell, void *opaque,
		  int timeout_ms)
{
	struct keel_ioreq_page *p = io->page;
	uint32_t n = p->nr_vcpus < KEEL_VM_MAX_VCPUS ? p->nr_vcpus : KEEL_VM_MAX_VCPUS;
	int done = 0;

	if (timeout_ms) {
		struct pollfd pfd = { .fd = io->k->fd, .events = POLLIN };

		/* keel.ko sets dm_sleeping and looks once more before it sleeps. */
		if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
			return -errno;
	}
	uint64_t bits = __atomic_exchange_n(&p->doorbells, 0, __ATOMIC_ACQ_REL);
	if (bits) {
		if (doorbell)
			doorbell(opaque, bits);
		done++;
	}
	for (uint32_t v = 0; v < n; v++) {
		struct keel_ioreq *s = &p->slot[v];
		struct keel_ioreq req;
		int ret;

		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != KEEL_IOREQ_PENDING)
			continue;
		req = *s; /* a copy: the handler sees one consistent request */
		ret = keel_io_complete(io, v, request(opaque, v, &req));
		if (ret)
			return ret;
		done++;
	}
	return done;
}

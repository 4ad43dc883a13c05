// SPDX-License-Identifier: MIT
/*
 * keel-iotest: the device model of the I/O-request test (guests/tests/ioreq.c), in the management
 * VM. It finds the VM by name (or takes its id), attaches, claims and serves until the VM ends:
 *
 *   ports 0x500-0x50f        0x500 dword  magic 0x4b454f49
 *                            0x504 dword  a scratch register per vCPU (any width)
 *                            0x508 byte   IN: 0, 1, 2... per vCPU; OUT: added to the vCPU's sum
 *                            0x509 byte   OUT 1: an MSI (vector 0x41) to the writing vCPU, sent
 *                                         before the write completes; 2/3: INTx (GSI 17) up/down;
 *                                         4: the vCPU's sequence and sum back to 0
 *                            0x50a word   PIO doorbell sets seen;  0x50b byte: --kill dies here
 *                            0x50c word   the vCPU's sum;  0x50e word: the PIO doorbell
 *   MMIO 0xd0000000 (4 KiB)  0x000-0x0ff  256 bytes per vCPU (any width); 0x800 dword: doorbell
 *                                         with data 0x1234; 0x808 dword: MMIO doorbell sets seen
 *                            0x810 dword  write: a guest-physical address below 4 GiB; the device
 *                                         model maps the VM's RAM (its window) and from then on
 *                                         stores its PIO doorbell count there at each doorbell
 *                                         (the bench's "doorbell seen")
 *   PCI 00:05.0              ID 4b45:0105, class ff0000, header type 0, register 0x40 writable
 *
 * usage: keel-iotest [--kill] [--busy] NAME|ID
 *   --kill  SIGKILL itself on the read of port 0x50b, in the middle of that request
 *   --busy  busy-poll the slots (no upcalls) instead of sleeping in poll()
 * Prints "iotest: ..." lines; exit status 0 when the VM ended after being served.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libkeel.h"

#define MAGIC	  0x4b454f49u
#define PIO_BASE  0x500
#define MMIO_BASE 0xd0000000ull
#define PCI_DEVFN (5 << 3)
#define PCI_ID	  0x01054b45u
#define GSI_INTX  17
#define V_MSI	  0x41
#define BELL_DATA 0x1234

struct dev {
	struct keel_io io;
	int kill;
	int bell_pio, bell_mmio; /* claim numbers */
	uint32_t scratch[KEEL_VM_MAX_VCPUS];
	uint8_t seq[KEEL_VM_MAX_VCPUS];
	uint16_t sum[KEEL_VM_MAX_VCPUS];
	uint8_t store[KEEL_VM_MAX_VCPUS][256];
	uint32_t cfg40;
	uint32_t pio_bells, mmio_bells;
	struct keel *k;
	uint32_t vm_id;
	void *ram; /* the VM's window, once the guest asked for the echo */
	uint64_t ram_size;
	volatile uint32_t *echo;
	unsigned long requests, by_type[3];
};

static uint64_t mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static void irq(struct dev *d, const struct keel_irq *q)
{
	int ret = keel_io_irq(&d->io, q, 1);

	if (ret != 1)
		printf("iotest: FAIL irq kind %u: %s\n", q->kind, strerror(ret < 0 ? -ret : EIO));
}

static uint64_t pio(struct dev *d, uint32_t v, const struct keel_ioreq *r)
{
	bool rd = r->dir == KEEL_IOREQ_READ;
	unsigned off = (unsigned)(r->addr - PIO_BASE);

	if (off >= 4 && off < 8) { /* scratch: bytes [off-4, off-4+size) of the vCPU's dword */
		unsigned sh = 8 * (off - 4);
		uint32_t m = (uint32_t)(mask(r->size) << sh);

		if (rd)
			return (d->scratch[v] & m) >> sh;
		d->scratch[v] = (d->scratch[v] & ~m) | ((uint32_t)(r->data << sh) & m);
		return 0;
	}
	switch (off) {
	case 0:
		return MAGIC;
	case 8:
		if (rd)
			return d->seq[v]++;
		d->sum[v] = (uint16_t)(d->sum[v] + (r->data & 0xff));
		return 0;
	case 9:
		if (rd)
			return 0;
		if (r->data == 1) {
			struct keel_irq q = { .kind = KEEL_IRQ_MSI, .addr = 0xfee00000u | v << 12, .data = V_MSI };
			irq(d, &q);
		} else if (r->data == 2 || r->data == 3) {
			struct keel_irq q = { .kind = KEEL_IRQ_GSI_LEVEL, .gsi = GSI_INTX, .level = r->data == 2 };
			irq(d, &q);
		} else if (r->data == 4) {
			d->seq[v] = 0;
			d->sum[v] = 0;
		}
		return 0;
	case 0xa:
		return d->pio_bells;
	case 0xb:
		if (d->kill && rd) {
			printf("iotest: killing myself in the middle of vCPU %u's request\n", v);
			fflush(stdout);
			kill(getpid(), SIGKILL);
		}
		return ~0ull;
	case 0xc:
		return d->sum[v];
	default:
		return rd ? ~0ull : 0;
	}
}

/* The echo word at guest-physical gpa: below the hole under 4 GiB a GPA is its RAM offset in the
 * window (docs/mgmt.md). The window is mapped once, at the first request. */
static void set_echo(struct dev *d, uint32_t gpa)
{
	int ret;

	if (!d->ram && (ret = keel_win_map(d->k, d->vm_id, &d->ram, &d->ram_size))) {
		printf("iotest: FAIL window of VM %u: %s\n", d->vm_id, strerror(-ret));
		d->ram = NULL;
		return;
	}
	if (gpa % 4 || (uint64_t)gpa + 4 > d->ram_size || gpa >= 0xc0000000u) {
		printf("iotest: FAIL echo address %#x outside the VM's RAM\n", gpa);
		return;
	}
	d->echo = (volatile uint32_t *)((char *)d->ram + gpa);
}

static uint64_t mmio(struct dev *d, uint32_t v, const struct keel_ioreq *r)
{
	uint64_t off = r->addr - MMIO_BASE, val = 0;

	if (off < 256 && off + r->size <= 256) {
		if (r->dir == KEEL_IOREQ_READ) {
			memcpy(&val, &d->store[v][off], r->size);
			return val;
		}
		memcpy(&d->store[v][off], &r->data, r->size);
		return 0;
	}
	if (off == 0x808 && r->dir == KEEL_IOREQ_READ)
		return d->mmio_bells;
	if (off == 0x810 && r->dir == KEEL_IOREQ_WRITE && r->size == 4)
		set_echo(d, (uint32_t)r->data);
	return r->dir == KEEL_IOREQ_READ ? ~0ull : 0;
}

static uint64_t cfg(struct dev *d, const struct keel_ioreq *r)
{
	unsigned reg = r->addr & 0xff, sh = 8 * (reg & 3);
	uint32_t dw;

	switch (reg & ~3u) {
	case 0x00:
		dw = PCI_ID;
		break;
	case 0x08:
		dw = 0xff000000u; /* class ff, revision 0 */
		break;
	case 0x40:
		if (r->dir == KEEL_IOREQ_WRITE) {
			uint32_t m = (uint32_t)(mask(r->size) << sh);
			d->cfg40 = (d->cfg40 & ~m) | ((uint32_t)(r->data << sh) & m);
			return 0;
		}
		dw = d->cfg40;
		break;
	default:
		dw = 0;
		break;
	}
	return r->dir == KEEL_IOREQ_READ ? (dw >> sh) & mask(r->size) : 0;
}

static uint64_t request(void *opaque, uint32_t v, const struct keel_ioreq *r)
{
	struct dev *d = opaque;

	d->requests++;
	if (r->type < 3)
		d->by_type[r->type]++;
	if (v >= KEEL_VM_MAX_VCPUS || (r->size != 1 && r->size != 2 && r->size != 4 && r->size != 8))
		return ~0ull;
	switch (r->type) {
	case KEEL_IOREQ_PIO:
		return pio(d, v, r);
	case KEEL_IOREQ_MMIO:
		return mmio(d, v, r);
	default:
		return cfg(d, r);
	}
}

static void doorbell(void *opaque, uint64_t bits)
{
	struct dev *d = opaque;

	if (bits >> d->bell_pio & 1) {
		d->pio_bells++;
		if (d->echo)
			__atomic_store_n(d->echo, d->pio_bells, __ATOMIC_RELEASE);
	}
	if (bits >> d->bell_mmio & 1)
		d->mmio_bells++;
}

/* The VM's id by name (or the number given), waiting up to 30 s for it to show. */
static int find_vm(struct keel *k, const char *what, uint32_t *id, uint32_t *vcpus)
{
	char *end;
	unsigned long num = strtoul(what, &end, 0);

	for (int tries = 0; tries < 300; tries++) {
		struct keel_vm_info vms[KEEL_VM_LIST_MAX];
		int n = keel_vm_list(k, vms, KEEL_VM_LIST_MAX);

		for (int i = 0; i < n && i < KEEL_VM_LIST_MAX; i++) {
			if ((*end == '\0' && *what && vms[i].id == num) ||
			    !strncmp(vms[i].name, what, KEEL_VM_NAME_MAX)) {
				*id = vms[i].id;
				*vcpus = vms[i].vcpus;
				return 0;
			}
		}
		usleep(100000);
	}
	return -ENOENT;
}

static int vm_state(struct keel *k, uint32_t id)
{
	struct keel_vm_info vms[KEEL_VM_LIST_MAX];
	int n = keel_vm_list(k, vms, KEEL_VM_LIST_MAX);

	for (int i = 0; i < n && i < KEEL_VM_LIST_MAX; i++)
		if (vms[i].id == id)
			return (int)vms[i].state;
	return KEEL_VM_DEAD; /* gone from the list */
}

static int claim(struct dev *d, uint32_t type, uint32_t flags, uint64_t base, uint64_t size, uint64_t data)
{
	struct keel_claim c = { .type = type, .flags = flags, .base = base, .size = size, .data = data };
	int n = keel_io_claim(&d->io, &c);

	if (n < 0)
		printf("iotest: FAIL claim type %u at %#llx: %s\n", type, (unsigned long long)base, strerror(-n));
	return n;
}

int main(int argc, char **argv)
{
	static struct dev d;
	int busy = 0, ret, i = 1;
	uint32_t id, vcpus;
	struct keel *k;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--kill"))
			d.kill = 1;
		else if (!strcmp(argv[i], "--busy"))
			busy = 1;
		else
			break;
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: keel-iotest [--kill] [--busy] NAME|ID\n");
		return 2;
	}
	ret = keel_open(NULL, &k);
	if (ret) {
		printf("iotest: FAIL open: %s\n", strerror(-ret));
		return 1;
	}
	if (find_vm(k, argv[i], &id, &vcpus)) {
		printf("iotest: FAIL no VM %s\n", argv[i]);
		return 1;
	}
	d.k = k;
	d.vm_id = id;
	ret = keel_io_attach(k, id, &d.io);
	if (ret) {
		printf("iotest: FAIL attach to VM %u: %s\n", id, strerror(-ret));
		return 1;
	}
	printf("iotest: serving VM %s (id %u, %u vCPUs), page magic %#x for VM %u\n", argv[i], id, vcpus,
	       d.io.page->magic, d.io.page->vm_id);
	/* The doorbells first (inside the wider claims), then the ranges and the function. */
	d.bell_pio = claim(&d, KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL, PIO_BASE + 0xe, 2, 0);
	d.bell_mmio =
	    claim(&d, KEEL_IOREQ_MMIO, KEEL_CLAIM_DOORBELL | KEEL_CLAIM_DATAMATCH, MMIO_BASE + 0x800, 4, BELL_DATA);
	if (d.bell_pio < 0 || d.bell_mmio < 0 || claim(&d, KEEL_IOREQ_MMIO, 0, MMIO_BASE, 4096, 0) < 0 ||
	    claim(&d, KEEL_IOREQ_PCI_CFG, 0, PCI_DEVFN, 1, 0) < 0 || claim(&d, KEEL_IOREQ_PIO, 0, PIO_BASE, 16, 0) < 0)
		return 1;
	/* Bad claims are refused and change nothing. */
	struct keel_claim bad[] = {
		{ .type = KEEL_IOREQ_PIO, .base = PIO_BASE + 4, .size = 4 },	       /* overlaps */
		{ .type = KEEL_IOREQ_PIO, .base = 0x20, .size = 2 },		       /* Keel's PIC */
		{ .type = KEEL_IOREQ_MMIO, .base = 0x100000, .size = 4096 },	       /* RAM */
		{ .type = KEEL_IOREQ_MMIO, .base = MMIO_BASE + 0x10000, .size = 100 }, /* unaligned */
		{ .type = KEEL_IOREQ_PCI_CFG, .base = 0, .size = 1 },		       /* the host bridge */
	};
	for (unsigned b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
		int n = keel_io_claim(&d.io, &bad[b]);
		if (n >= 0)
			printf("iotest: FAIL bad claim %u accepted (%d)\n", b, n);
	}
	printf("iotest: claimed; serving (%s)\n", busy ? "busy polling" : "sleeping in poll");
	fflush(stdout);
	for (unsigned long rounds = 0;; rounds++) {
		ret = keel_io_serve(&d.io, request, doorbell, &d, busy ? 0 : 200);
		if (ret < 0) {
			printf("iotest: FAIL serve: %s\n", strerror(-ret));
			return 1;
		}
		if ((ret == 0 && !busy) || (busy && rounds % 100000 == 0)) {
			if (vm_state(k, id) == KEEL_VM_DEAD)
				break;
		}
	}
	printf("iotest: VM %u ended; %lu requests (pio %lu, mmio %lu, pci %lu), doorbell sets pio %u mmio %u\n", id,
	       d.requests, d.by_type[0], d.by_type[1], d.by_type[2], d.pio_bells, d.mmio_bells);
	keel_io_detach(&d.io);
	keel_close(k);
	return 0;
}

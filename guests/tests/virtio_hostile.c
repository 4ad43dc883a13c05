// SPDX-License-Identifier: MIT
/*
 * A hostile virtio driver (test_mgmt_dm.py; issue 15: "a hostile guest that writes garbage
 * descriptors and rings doorbells in a loop: its own device fails, keel-dm and the other VM do
 * not"). It finds the first virtio function keel-dm serves (slots 3-10), places its BARs (I/O
 * BAR0 at 0xC000, memory BAR2 at 3 GiB, in the windows the DSDT gives), sets up queue 0 as a
 * driver would (virtio 1.2 §3.1.1, §4.1.4.3), then hands the device, one after another:
 *   a descriptor that chains to itself, an index far past the queue size, a buffer outside RAM
 *   with an absurd length,
 * each rung DOORBELLS times, and checks that the device reports DEVICE_NEEDS_RESET (§2.1.2) where
 * the spec asks for it, that a reset recovers it, and that the device keeps answering. The guest
 * passes if it gets through all of it; keel-dm's survival is checked from the management VM.
 * 32-bit protected mode, no paging: BAR2 at 0xC0000000 is reached directly.
 */
#include "guest.h"

GUEST_TEST("virtio_hostile");

#define PCI_VENDOR_VIRTIO 0x1af4
#define BAR0_PORT	  0xc000u
#define BAR2_ADDR	  0xc0000000u
#define DOORBELLS	  2000

/* Common configuration (§4.1.4.3), at BAR2 + 0 (docs/virtio.md). */
#define CC_DFSELECT    0
#define CC_DF	       4
#define CC_GFSELECT    8
#define CC_GF	       12
#define CC_STATUS      20
#define CC_QSELECT     22
#define CC_QSIZE       24
#define CC_QENABLE     28
#define CC_QDESC       32
#define CC_QDRIVER     40
#define CC_QDEVICE     48
#define ST_ACK	       1
#define ST_DRIVER      2
#define ST_DRIVER_OK   4
#define ST_FEATURES_OK 8
#define ST_NEEDS_RESET 0x40
#define QSIZE	       16
#define VRING_NEXT     1

/* The rings, in the VM's RAM (8 MiB in the test: well above the image). */
#define DESC  0x600000u
#define AVAIL 0x601000u
#define USED  0x602000u

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static uint32_t pci_read(unsigned slot, unsigned reg)
{
	outl(0xcf8, 0x80000000u | slot << 11 | reg);
	return inl(0xcfc);
}

static void pci_write(unsigned slot, unsigned reg, uint32_t v)
{
	outl(0xcf8, 0x80000000u | slot << 11 | reg);
	outl(0xcfc, v);
}

static volatile uint8_t *cc8(unsigned off)
{
	return (volatile uint8_t *)(uintptr_t)(BAR2_ADDR + off);
}

static volatile uint16_t *cc16(unsigned off)
{
	return (volatile uint16_t *)(uintptr_t)(BAR2_ADDR + off);
}

static volatile uint32_t *cc32(unsigned off)
{
	return (volatile uint32_t *)(uintptr_t)(BAR2_ADDR + off);
}

/* Reset, ACK, DRIVER, VERSION_1 only, FEATURES_OK, queue 0 of QSIZE at the rings, DRIVER_OK. */
static bool setup(void)
{
	*cc8(CC_STATUS) = 0;
	if (*cc8(CC_STATUS) != 0)
		return false;
	*cc8(CC_STATUS) = ST_ACK | ST_DRIVER;
	*cc32(CC_DFSELECT) = 1;
	if (!(*cc32(CC_DF) & 1)) {
		fail("no VIRTIO_F_VERSION_1 offered");
		return false;
	}
	*cc32(CC_GFSELECT) = 0;
	*cc32(CC_GF) = 0;
	*cc32(CC_GFSELECT) = 1;
	*cc32(CC_GF) = 1;
	*cc8(CC_STATUS) = ST_ACK | ST_DRIVER | ST_FEATURES_OK;
	if (!(*cc8(CC_STATUS) & ST_FEATURES_OK)) {
		fail("FEATURES_OK refused");
		return false;
	}
	for (unsigned i = 0; i < 0x3000; i++)
		((volatile uint8_t *)(uintptr_t)DESC)[i] = 0;
	*cc16(CC_QSELECT) = 0;
	*cc16(CC_QSIZE) = QSIZE;
	*cc32(CC_QDESC) = DESC;
	*cc32(CC_QDESC + 4) = 0;
	*cc32(CC_QDRIVER) = AVAIL;
	*cc32(CC_QDRIVER + 4) = 0;
	*cc32(CC_QDEVICE) = USED;
	*cc32(CC_QDEVICE + 4) = 0;
	*cc16(CC_QENABLE) = 1;
	*cc8(CC_STATUS) = ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK;
	return *cc8(CC_STATUS) == (ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
}

static void ring(void)
{
	for (unsigned i = 0; i < DOORBELLS; i++)
		outw(BAR0_PORT, 0);
}

/* One attack: `poison` writes the rings, then the doorbells; the device must say it needs a reset
 * (broken) or, for a buffer it can refuse alone, return it unused. */
static void attack(const char *what, void (*poison)(void), bool broken)
{
	volatile uint16_t *used_idx = (volatile uint16_t *)(uintptr_t)(USED + 2);
	uint8_t st;

	if (!setup()) {
		fail("%s: the device did not set up (status 0x%x)", what, *cc8(CC_STATUS));
		return;
	}
	poison();
	ring();
	/* Doorbells do not wait for keel-dm: it takes them when it looks next, so a read right
	 * after them may come first. */
	for (unsigned i = 0; i < 1000; i++) {
		st = *cc8(CC_STATUS);
		if (broken ? (st & ST_NEEDS_RESET) != 0 : *used_idx == 1)
			break;
	}
	if (broken)
		CHECK(st & ST_NEEDS_RESET, "%s: status 0x%x, no DEVICE_NEEDS_RESET", what, st);
	else
		CHECK(!(st & ST_NEEDS_RESET) && *used_idx == 1, "%s: status 0x%x, used idx %u", what, st, *used_idx);
	printf("virtio_hostile: %s: %u doorbells, status 0x%x, used idx %u\n", what, DOORBELLS, st, *used_idx);
}

static volatile struct desc *desc(unsigned i)
{
	return (volatile struct desc *)(uintptr_t)(DESC + 16 * i);
}

static void avail(uint16_t head, uint16_t idx)
{
	volatile uint16_t *a = (volatile uint16_t *)(uintptr_t)AVAIL;

	a[2] = head; /* ring[0] */
	a[1] = idx;
}

static void loop_chain(void)
{
	desc(0)->addr = 0x500000;
	desc(0)->len = 64;
	desc(0)->flags = VRING_NEXT;
	desc(0)->next = 0;
	avail(0, 1);
}

static void idx_ahead(void)
{
	desc(0)->addr = 0x500000;
	desc(0)->len = 64;
	avail(0, 1000);
}

static void outside_ram(void)
{
	desc(0)->addr = 0xfffffffff0000000ull;
	desc(0)->len = 0xffffffffu;
	avail(0, 1);
}

void test_main(void)
{
	unsigned slot = 0;

	for (unsigned s = 3; s <= 10 && !slot; s++)
		if ((pci_read(s, 0) & 0xffff) == PCI_VENDOR_VIRTIO)
			slot = s;
	if (!slot)
		fail_now(GUEST_FAIL, "no virtio function in slots 3-10");
	printf("virtio_hostile: 00:%02x.0 is %04x:%04x\n", slot, pci_read(slot, 0) & 0xffff, pci_read(slot, 0) >> 16);
	pci_write(slot, 0x10, BAR0_PORT);
	pci_write(slot, 0x18, BAR2_ADDR);
	pci_write(slot, 0x1c, 0);
	pci_write(slot, 0x04, 7); /* I/O, memory, bus master */
	CHECK((pci_read(slot, 0x10) & ~3u) == BAR0_PORT, "BAR0 reads 0x%x", pci_read(slot, 0x10));

	attack("a chain that loops", loop_chain, true);
	attack("an index past the queue size", idx_ahead, true);
	/* A buffer outside RAM ends only its own request (returned with 0 bytes written). */
	attack("a buffer outside RAM", outside_ram, false);
	/* After all of it, a reset still recovers the device. */
	CHECK(setup(), "the device did not recover after a reset (status 0x%x)", *cc8(CC_STATUS));
	*cc8(CC_STATUS) = 0;
	printf("virtio_hostile: the device recovered after a reset\n");
}

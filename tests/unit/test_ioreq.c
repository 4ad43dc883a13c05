/* SPDX-License-Identifier: MIT */
/*
 * I/O requests (vmm/ioreq.c, vmm/ioreq_check.c) against a fake slot page: the request, log and
 * doorbell state machine of a vCPU, the device model's garbage refused, claims and interrupt
 * batches validated, and the failure paths (detach, the management VM's end).
 */
#include "shim.h"

#include <string.h>

#include "kernel/sched.h"
#include "vmm/exit.h"
#include "vmm/ioreq.h"
#include "vmm/mgmt.h"
#include "vmm/vmm.h"
#include "vmm/platform.h"

static struct vm mgmt, guest;
static struct vcpu mvcpu, gv[2];
static struct keel_ioreq_page page __attribute__((aligned(4096)));
static int kicks[2], upcalls, msis, gsis;
static int last_gsi, last_level;
static u8 io_map[VM_IO_PORTS];
static struct keel_claim claim_buf;
static struct keel_irq irq_buf[KEEL_IRQ_BATCH_MAX + 1];
static char reason_buf[64];

/* Fakes of what ioreq.c calls. */
void sched_kick(struct sched_entity *e)
{
	for (int i = 0; i < 2; i++)
		if (e == &gv[i].se)
			kicks[i]++;
}

void vmm_for_each_vm(vm_visit_fn fn, void *arg)
{
	fn(&mgmt, arg);
	if (guest.state != VM_DEAD || guest.ending)
		fn(&guest, arg);
}

void platform_msi(struct vm *vm, u64 addr, u32 data, const struct vcpu *self)
{
	msis++;
}

void platform_set_gsi(struct vm *vm, unsigned gsi, int level)
{
	gsis++;
	last_gsi = (int)gsi;
	last_level = level;
}

static int boosts;
void platform_ctl_upcall(struct vm *vm, unsigned vector, bool boost)
{
	boosts += boost;
	assert_ptr_equal(vm, &mgmt);
	assert_int_equal(vector, KEEL_UPCALL_IOREQ);
	upcalls++;
}

void platform_pci_windows(const struct vm *vm, struct vpci_windows *w)
{
	*w = (struct vpci_windows){ .io_first = 0xc000,
				    .io_last = 0xffff,
				    .mem32_first = 0xc0000000,
				    .mem32_last = 0xfebfffff,
				    .mem64_first = 0x140000000ull,
				    .mem64_last = 0x140000000ull + (32ull << 30) - 1 };
}

void *gpa_map(struct vm *vm, gpa_t gpa, u64 len)
{
	return vm == &mgmt && gpa == 0x1000 && len == PAGE_SIZE ? &page : NULL;
}

int gpa_read(struct vm *vm, gpa_t gpa, void *buf, u64 len)
{
	if (vm != &mgmt)
		return -EFAULT;
	if (gpa == 0x2000 && len == sizeof(claim_buf))
		memcpy(buf, &claim_buf, len);
	else if (gpa == 0x3000 && len <= sizeof(irq_buf))
		memcpy(buf, irq_buf, len);
	else if (gpa == 0x4000 && len <= sizeof(reason_buf))
		memcpy(buf, reason_buf, len);
	else
		return -EFAULT;
	return 0;
}

/* The exit handlers ioreq_replay() runs: a port access through the VM's port map. */
static u32 io_result;
void handle_io(struct vcpu *v, const struct vm_exit *e)
{
	u32 val = e->io.in ? ~0u : 0x55;
	u8 h = v->vm->io_map[e->io.port];

	/* As exit_io.c: a port nobody claims reads all-ones. */
	if (h)
		v->vm->io[h - 1].fn(v, e->io.port, e->io.size, e->io.in, &val);
	if (!ioreq_waiting(v))
		io_result = val;
}

void handle_npf(struct vcpu *v, const struct vm_exit *e)
{
	fail();
}

static u64 fake_get(struct vcpu *v, enum vcpu_reg r)
{
	return 0x1234;
}

static const struct vcpu_ops fake_ops = { .get = fake_get };
const struct vcpu_ops *vcpu_ops = &fake_ops;

static s64 hc(u64 nr, u64 a0, u64 a1, u64 a2)
{
	return ioreq_hypercall(&mvcpu, nr, a0, a1, a2);
}

static int claim(u32 type, u32 flags, u64 base, u64 size, u64 data)
{
	claim_buf = (struct keel_claim){ .type = type, .flags = flags, .base = base, .size = size, .data = data };
	return (int)hc(HC_IOREQ_CLAIM, 2, 0x2000, 0);
}

static int setup(void **state)
{
	memset(&mgmt, 0, sizeof(mgmt));
	memset(&guest, 0, sizeof(guest));
	memset(&page, 0xa5, sizeof(page)); /* attach must clear it */
	memset(io_map, 0, sizeof(io_map));
	strcpy(mgmt.name, "mgmt");
	mgmt.id = 1;
	mgmt.mgmt = true;
	mgmt.state = VM_RUNNING;
	mvcpu = (struct vcpu){ .vm = &mgmt };
	strcpy(guest.name, "guest");
	guest.id = 2;
	guest.state = VM_RUNNING;
	guest.low_ram = guest.ram_size = 64ull << 20;
	guest.io_map = io_map;
	/* Keel's own: the PIC's ports, the PCI I/O window, the local APIC page. */
	guest.io[guest.nr_io++] = (struct vm_io_handler){ .base = 0x20, .count = 2 };
	io_map[0x20] = io_map[0x21] = 1;
	guest.io[guest.nr_io++] = (struct vm_io_handler){ .base = 0xc000, .count = 0x4000 };
	memset(io_map + 0xc000, 2, 0x4000);
	guest.mmio[guest.nr_mmio++] = (struct vm_mmio_handler){ .base = 0xfee00000, .size = 0x1000 };
	for (int i = 0; i < 2; i++) {
		gv[i] = (struct vcpu){ .vm = &guest, .id = (u32)i };
		guest.vcpus[i] = &gv[i];
	}
	guest.nr_vcpus = 2;
	kicks[0] = kicks[1] = upcalls = msis = gsis = boosts = 0;
	shim_log_reset();
	return 0;
}

static void attach(void)
{
	assert_int_equal(hc(HC_IOREQ_ATTACH, 2, 0x1000, 0), 0);
	assert_int_equal(page.magic, KEEL_IOREQ_MAGIC);
	assert_int_equal(page.nr_vcpus, 2);
	assert_int_equal(page.slot[0].state, KEEL_IOREQ_FREE);
}

/* A port read on vCPU v, through the run loop's steps; returns whether it had to wait. */
static bool port_exit(struct vcpu *v, u16 port, u8 size, bool in)
{
	struct vm_exit e = { .reason = EXIT_IO, .io = { .port = port, .size = size, .in = in } };

	handle_io(v, &e);
	ioreq_exit_done(v, &e);
	return v->ioreq.waiting;
}

static void answer(struct keel_ioreq *s, u64 data)
{
	s->data = data;
	__atomic_store_n(&s->state, KEEL_IOREQ_DONE, __ATOMIC_SEQ_CST);
}

static void test_attach_refused(void **state)
{
	assert_int_equal(hc(HC_IOREQ_ATTACH, 2, 0x1800, 0), -EINVAL); /* unaligned */
	assert_int_equal(hc(HC_IOREQ_ATTACH, 2, 0x5000, 0), -EFAULT); /* not RAM */
	assert_int_equal(hc(HC_IOREQ_ATTACH, 9, 0x1000, 0), -ENOENT); /* no such VM */
	assert_int_equal(hc(HC_IOREQ_ATTACH, 1, 0x1000, 0), -EINVAL); /* itself */
	assert_int_equal(hc(HC_IOREQ_ATTACH, 1ull << 32 | 2, 0x1000, 0), -EINVAL);
	assert_int_equal(hc(HC_IOREQ_CLAIM, 2, 0x2000, 0), -ENOENT); /* not attached */
	attach();
	assert_int_equal(hc(HC_IOREQ_ATTACH, 2, 0x1000, 0), -EBUSY);
	assert_int_equal(hc(0x11f, 2, 0, 0), -ENOSYS);
}

static void test_claims(void **state)
{
	attach();
	/* Keel's ports, a range past 0xffff, bad flags and types. */
	assert_int_equal(claim(KEEL_IOREQ_PIO, 0, 0x20, 1, 0), -EBUSY);
	assert_int_equal(claim(KEEL_IOREQ_PIO, 0, 0xfff0, 0x20, 0), -EINVAL);
	assert_int_equal(claim(KEEL_IOREQ_PIO, 0, 0x100, 0, 0), -EINVAL);
	assert_int_equal(claim(KEEL_IOREQ_PIO, 4, 0x100, 1, 0), -EINVAL);
	assert_int_equal(claim(KEEL_IOREQ_PIO, KEEL_CLAIM_DATAMATCH, 0x100, 1, 0), -EINVAL);
	assert_int_equal(claim(7, 0, 0x100, 1, 0), -EINVAL);
	assert_int_equal(claim(KEEL_IOREQ_PIO, 0, 0x100, 8, 0), 0);
	assert_int_equal(io_map[0x100], guest.ioreq.io_slot);
	assert_int_equal(claim(KEEL_IOREQ_PIO, 0, 0x104, 8, 0), -EBUSY); /* overlap */
	/* A doorbell inside it is fine; a second doorbell on it is not. */
	assert_int_equal(claim(KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL, 0x102, 2, 0), 1);
	assert_int_equal(claim(KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL, 0x102, 1, 0), -EBUSY);
	assert_int_equal(claim(KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL, 0x110, 3, 0), -EINVAL);
	assert_int_equal(claim(KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL | KEEL_CLAIM_DATAMATCH, 0x110, 1, 0x100), -EINVAL);
	/* The PCI I/O window is for BARs: claimable, and given back on unclaim. */
	assert_int_equal(claim(KEEL_IOREQ_PIO, 0, 0xc100, 0x40, 0), 2);
	assert_int_equal(io_map[0xc100], guest.ioreq.io_slot);
	assert_int_equal(hc(HC_IOREQ_UNCLAIM, 2, 2, 0), 0);
	assert_int_equal(io_map[0xc100], 2);
	assert_int_equal(hc(HC_IOREQ_UNCLAIM, 2, 2, 0), -EINVAL);
	/* A doorbell inside a wide window claim, unclaimed last, still gives the window back. */
	assert_int_equal(claim(KEEL_IOREQ_PIO, 0, 0xc100, 0x40, 0), 2);
	assert_int_equal(claim(KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL, 0xc104, 2, 0), 3);
	assert_int_equal(hc(HC_IOREQ_UNCLAIM, 2, 2, 0), 0);
	assert_int_equal(io_map[0xc104], guest.ioreq.io_slot);
	assert_int_equal(io_map[0xc100], 2);
	assert_int_equal(hc(HC_IOREQ_UNCLAIM, 2, 3, 0), 0);
	assert_int_equal(io_map[0xc104], 2);
	assert_int_equal(hc(HC_IOREQ_UNCLAIM, 2, 64, 0), -EINVAL);
	/* MMIO: page aligned, not over RAM nor Keel's devices, not huge. */
	assert_int_equal(claim(KEEL_IOREQ_MMIO, 0, 0x100000, 0x1000, 0), -EINVAL); /* RAM */
	assert_int_equal(claim(KEEL_IOREQ_MMIO, 0, 0xd0000800, 0x1000, 0), -EINVAL);
	assert_int_equal(claim(KEEL_IOREQ_MMIO, 0, 0xfee00000, 0x1000, 0), -EBUSY);
	assert_int_equal(claim(KEEL_IOREQ_MMIO, 0, 0x200000000ull, 1ull << 40, 0), -EINVAL);
	assert_int_equal(claim(KEEL_IOREQ_MMIO, 0, ~0ull << 12, 0x2000, 0), -EINVAL);
	assert_int_equal(claim(KEEL_IOREQ_MMIO, 0, 0xd0000000, 0x2000, 0), 2);
	assert_non_null(ioreq_mmio_find(&guest, 0xd0001fff));
	assert_null(ioreq_mmio_find(&guest, 0xd0002000));
	assert_int_equal(claim(KEEL_IOREQ_MMIO, KEEL_CLAIM_DOORBELL, 0xd0001004, 4, 0), 3);
	assert_int_equal(claim(KEEL_IOREQ_MMIO, KEEL_CLAIM_DOORBELL, 0xd0001006, 4, 0), -EINVAL); /* unaligned */
	/* A zero-sized MMIO doorbell: refused before its alignment is computed (fuzz_mgmt_abi found
	 * the division by zero). */
	assert_int_equal(claim(KEEL_IOREQ_MMIO, KEEL_CLAIM_DOORBELL, 0xd0001008, 0, 0), -EINVAL);
	assert_int_equal(claim(KEEL_IOREQ_MMIO, KEEL_CLAIM_DOORBELL, 0xd0001008, 3, 0), -EINVAL);
	/* PCI functions: not Keel's own (the host bridge at 00:00.0), bus 0 only. */
	guest.pci.slot[0][0].ops = (const void *)1;
	assert_int_equal(claim(KEEL_IOREQ_PCI_CFG, 0, 0, 1, 0), -EBUSY);
	assert_int_equal(claim(KEEL_IOREQ_PCI_CFG, 0, 256, 1, 0), -EINVAL);
	assert_int_equal(claim(KEEL_IOREQ_PCI_CFG, 0, 5 << 3, 2, 0), -EINVAL);
	assert_int_equal(claim(KEEL_IOREQ_PCI_CFG, 0, 5 << 3 | 1, 1, 0), 4);
	assert_true(ioreq_pci_claimed(&guest, 5, 1));
	assert_int_equal(claim(KEEL_IOREQ_PCI_CFG, 0, 5 << 3 | 1, 1, 0), -EBUSY);
	/* A configuration access to it is one request for the device model. */
	u32 val = 0;
	ioreq_pci_cfg(&gv[0], 5 << 11 | 1 << 8 | 0x40, 4, true, &val);
	assert_true(gv[0].ioreq.waiting);
	assert_int_equal(page.slot[0].type, KEEL_IOREQ_PCI_CFG);
	assert_int_equal(page.slot[0].addr, 5 << 11 | 1 << 8 | 0x40);
	assert_int_equal(page.slot[0].claim, 4);
	gv[0].ioreq = (struct vcpu_ioreq){ 0 };
	page.slot[0].state = KEEL_IOREQ_FREE;
	/* Claim numbers run out at 64. */
	for (int i = 5; i < KEEL_CLAIMS_MAX; i++)
		assert_int_equal(claim(KEEL_IOREQ_PIO, 0, (u64)(0x200 + i), 1, 0), i);
	assert_int_equal(claim(KEEL_IOREQ_PIO, 0, 0x300, 1, 0), -ENOSPC);
}

static void test_read_round_trip(void **state)
{
	struct keel_ioreq *s = &page.slot[1];

	attach();
	assert_int_equal(claim(KEEL_IOREQ_PIO, 0, 0x100, 8, 0), 0);
	page.dm_sleeping = 1;
	assert_true(port_exit(&gv[1], 0x104, 2, true));
	/* Published: every field, then PENDING; the sleeping device model was rung once. */
	assert_int_equal(s->state, KEEL_IOREQ_PENDING);
	assert_int_equal(s->type, KEEL_IOREQ_PIO);
	assert_int_equal(s->addr, 0x104);
	assert_int_equal(s->size, 2);
	assert_int_equal(s->dir, KEEL_IOREQ_READ);
	assert_int_equal(s->seq, 1);
	assert_int_equal(upcalls, 1);
	assert_int_equal(boosts, 1); /* a vCPU waits: the device model's vCPUs run first */
	assert_int_equal(page.dm_sleeping, 0);
	assert_true(gv[1].ioreq.replay);
	/* Not answered: the vCPU may not enter, and says it sleeps. */
	assert_false(ioreq_ready(&gv[1]));
	assert_int_equal(s->vcpu_blocked, 1);
	/* Answered and notified: the kick, then the answer taken and the exit handled again. */
	answer(s, 0xbeef);
	assert_int_equal(hc(HC_IOREQ_NOTIFY, 2, 1, 0), 0);
	assert_int_equal(kicks[1], 1);
	assert_int_equal(hc(HC_IOREQ_NOTIFY, 2, 2, 0), -EINVAL);
	assert_true(ioreq_ready(&gv[1]));
	assert_int_equal(s->state, KEEL_IOREQ_FREE);
	assert_int_equal(s->vcpu_blocked, 0);
	io_result = 0;
	ioreq_replay(&gv[1]);
	assert_false(gv[1].ioreq.waiting);
	assert_int_equal(io_result, 0xbeef);
	assert_int_equal(gv[1].ioreq.n_log, 0); /* the instruction completed: log emptied */
	/* The next one has the next seq; a device model that polls gets no upcall. */
	assert_true(port_exit(&gv[1], 0x100, 4, false));
	assert_int_equal(s->seq, 2);
	assert_int_equal(s->data, 0x55);
	assert_int_equal(upcalls, 1);
}

static void test_garbage_answers(void **state)
{
	struct keel_ioreq *s = &page.slot[0];
	struct {
		u32 state, size;
		u64 seq;
	} bad[] = { { 7, 4, 1 }, { KEEL_IOREQ_FREE, 4, 1 }, { KEEL_IOREQ_DONE, 8, 1 }, { KEEL_IOREQ_DONE, 4, 2 } };

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		setup(state);
		attach();
		assert_int_equal(claim(KEEL_IOREQ_PIO, 0, 0x100, 8, 0), 0);
		assert_true(port_exit(&gv[0], 0x100, 4, true));
		s->size = bad[i].size;
		s->seq = bad[i].seq;
		s->state = bad[i].state;
		/* Refused: the served VM ends, naming the device model; the read gets all-ones. */
		assert_true(ioreq_ready(&gv[0]));
		assert_int_equal(guest.state, VM_DEAD);
		assert_non_null(strstr(guest.crash_reason, "device model broke"));
		assert_int_equal(mgmt.state, VM_RUNNING);
		ioreq_replay(&gv[0]);
		assert_int_equal(io_result, 0xffffffffu);
	}
	/* A slot the device model left busy when Keel needs it. */
	setup(state);
	attach();
	assert_int_equal(claim(KEEL_IOREQ_PIO, 0, 0x100, 8, 0), 0);
	page.slot[0].state = KEEL_IOREQ_DONE;
	assert_true(port_exit(&gv[0], 0x100, 1, true));
	assert_int_equal(guest.state, VM_DEAD);
}

static void test_doorbells(void **state)
{
	attach();
	assert_int_equal(claim(KEEL_IOREQ_PIO, 0, 0x100, 8, 0), 0);
	assert_int_equal(claim(KEEL_IOREQ_PIO, KEEL_CLAIM_DOORBELL | KEEL_CLAIM_DATAMATCH, 0x104, 2, 0x55), 1);
	page.dm_sleeping = 1;
	/* The matching write completes at once and sets its bit; the upcall only while asleep. */
	assert_false(port_exit(&gv[0], 0x104, 2, false));
	assert_int_equal(page.doorbells, 2);
	assert_int_equal(page.slot[0].state, KEEL_IOREQ_FREE);
	assert_int_equal(upcalls, 1);
	assert_int_equal(boosts, 0); /* nobody waits for a doorbell */
	assert_false(port_exit(&gv[1], 0x104, 2, false));
	assert_int_equal(page.doorbells, 2); /* coalesced */
	assert_int_equal(upcalls, 1);
	/* Another size, or a read, is an ordinary request of the wider claim. */
	assert_true(port_exit(&gv[0], 0x104, 1, false));
	assert_int_equal(page.slot[0].claim, 0);
}

static void test_detach_and_mgmt_end(void **state)
{
	attach();
	assert_int_equal(claim(KEEL_IOREQ_PIO, 0, 0x100, 8, 0), 0);
	assert_true(port_exit(&gv[0], 0x100, 4, true));
	strcpy(reason_buf, "killed\n");
	assert_int_equal(hc(HC_IOREQ_DETACH, 2, 0x4000, 0), 0);
	/* The VM ends naming the cause; its waiting vCPU completes with all-ones. */
	assert_int_equal(guest.state, VM_DEAD);
	assert_string_equal(guest.crash_reason, "device model gone: killed?");
	assert_int_equal(io_map[0x100], 0);
	assert_true(ioreq_ready(&gv[0]));
	ioreq_replay(&gv[0]);
	assert_int_equal(io_result, 0xffffffffu);
	assert_int_equal(hc(HC_IOREQ_DETACH, 2, 0, 0), -ENOENT);

	setup(state);
	attach();
	ioreq_vm_ending(&mgmt);
	assert_int_equal(guest.state, VM_DEAD);
	assert_non_null(strstr(guest.crash_reason, "management VM ended"));
	assert_null(guest.ioreq.page);
}

static void test_changed_between_passes(void **state)
{
	attach();
	assert_int_equal(claim(KEEL_IOREQ_PIO, 0, 0x100, 8, 0), 0);
	assert_true(port_exit(&gv[0], 0x100, 4, true));
	answer(&page.slot[0], 1);
	assert_true(ioreq_ready(&gv[0]));
	gv[0].ioreq.exit.io.port = 0x101; /* the instruction is another one now */
	ioreq_replay(&gv[0]);
	assert_int_equal(guest.state, VM_DEAD);
	assert_non_null(strstr(guest.crash_reason, "changed while it waited"));
}

static void test_irq_batch(void **state)
{
	attach();
	irq_buf[0] = (struct keel_irq){ .kind = KEEL_IRQ_MSI, .addr = 0xfee00000, .data = 0x41 };
	irq_buf[1] = (struct keel_irq){ .kind = KEEL_IRQ_GSI_LEVEL, .gsi = 17, .level = 1 };
	irq_buf[2] = (struct keel_irq){ .kind = KEEL_IRQ_GSI_PULSE, .gsi = 4 };
	assert_int_equal(hc(HC_IRQ_BATCH, 2, 0x3000, 3), 3);
	assert_int_equal(msis, 1);
	assert_int_equal(gsis, 2);
	assert_int_equal(last_gsi, 4);
	assert_int_equal(last_level, -1);
	/* One bad entry: nothing delivered. */
	struct keel_irq bad[] = {
		{ .kind = 3 },
		{ .kind = KEEL_IRQ_MSI, .addr = 0xfed00000 },
		{ .kind = KEEL_IRQ_MSI, .addr = 0x1fee00000ull },
		{ .kind = KEEL_IRQ_GSI_LEVEL, .gsi = 24, .level = 1 },
		{ .kind = KEEL_IRQ_GSI_LEVEL, .gsi = 3, .level = 2 },
		{ .kind = KEEL_IRQ_GSI_PULSE, .gsi = 3, .level = 1 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		irq_buf[1] = bad[i];
		assert_int_equal(hc(HC_IRQ_BATCH, 2, 0x3000, 3), -EINVAL);
	}
	assert_int_equal(msis, 1);
	assert_int_equal(gsis, 2);
	assert_int_equal(hc(HC_IRQ_BATCH, 2, 0x3000, KEEL_IRQ_BATCH_MAX + 1), -EINVAL);
	assert_int_equal(hc(HC_IRQ_BATCH, 2, 0x9000, 1), -EFAULT);
	assert_int_equal(hc(HC_IRQ_BATCH, 5, 0x3000, 1), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_attach_refused, setup),
		cmocka_unit_test_setup(test_claims, setup),
		cmocka_unit_test_setup(test_read_round_trip, setup),
		cmocka_unit_test_setup(test_garbage_answers, setup),
		cmocka_unit_test_setup(test_doorbells, setup),
		cmocka_unit_test_setup(test_detach_and_mgmt_end, setup),
		cmocka_unit_test_setup(test_changed_between_passes, setup),
		cmocka_unit_test_setup(test_irq_batch, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* The virtual local APIC (vmm/dev/vlapic.c) against Intel SDM vol. 3A ch. 11. */
#include "shim.h"

#include <string.h>

#include "vmm/dev/vlapic.h"

#define MSR(off) (0x800u + (off) / 16)

static u32 rd(struct vlapic *l, u32 off)
{
	return vlapic_read(l, off, 0);
}

/* A write that must not produce an IPI. */
static void wr(struct vlapic *l, u32 off, u32 val)
{
	struct vlapic_ipi ipi;

	assert_false(vlapic_write(l, off, val, 0, &ipi));
}

static void wr_at(struct vlapic *l, u32 off, u32 val, u64 now)
{
	struct vlapic_ipi ipi;

	assert_false(vlapic_write(l, off, val, now, &ipi));
}

/* Reset, then software-enable with spurious vector 0xff. */
static void setup(struct vlapic *l, u32 id)
{
	memset(l, 0xa5, sizeof(*l)); /* reset must not depend on the previous contents */
	vlapic_reset(l, id);
	wr(l, VLAPIC_SVR, 0x1ff);
}

static bool bit_in(struct vlapic *l, u32 base, u8 v)
{
	return rd(l, base + (v / 32) * 16) & (1u << (v % 32));
}

static u32 read_esr(struct vlapic *l)
{
	wr(l, VLAPIC_ESR, 0);
	return rd(l, VLAPIC_ESR);
}

static void test_reset_state(void **state)
{
	static const u32 lvts[] = { VLAPIC_LVT_TIMER, VLAPIC_LVT_THERMAL, VLAPIC_LVT_PMC, VLAPIC_LVT_LINT0,
				    VLAPIC_LVT_LINT1, VLAPIC_LVT_ERROR,	  VLAPIC_LVT_CMCI };
	struct vlapic l;

	memset(&l, 0xa5, sizeof(l));
	vlapic_reset(&l, 3);
	assert_int_equal(l.id, 3);
	assert_false(l.x2apic);
	assert_true(l.hw_enabled);
	assert_int_equal(rd(&l, VLAPIC_ID), 0x03000000);
	assert_int_equal(rd(&l, VLAPIC_VERSION), 0x00060014);
	assert_int_equal(rd(&l, VLAPIC_TPR), 0);
	assert_int_equal(rd(&l, VLAPIC_PPR), 0);
	assert_int_equal(rd(&l, VLAPIC_LDR), 0);
	assert_int_equal(rd(&l, VLAPIC_DFR), 0xffffffff);
	assert_int_equal(rd(&l, VLAPIC_SVR), 0xff);
	assert_int_equal(rd(&l, VLAPIC_ESR), 0);
	assert_int_equal(rd(&l, VLAPIC_ICR_LO), 0);
	assert_int_equal(rd(&l, VLAPIC_ICR_HI), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(lvts); i++)
		assert_int_equal(rd(&l, lvts[i]), 0x00010000);
	for (u32 off = VLAPIC_ISR; off < VLAPIC_ESR; off += 16)
		assert_int_equal(rd(&l, off), 0);
	assert_int_equal(rd(&l, VLAPIC_TIMER_INIT), 0);
	assert_int_equal(rd(&l, VLAPIC_TIMER_CUR), 0);
	assert_int_equal(rd(&l, VLAPIC_TIMER_DIV), 0);
	assert_int_equal(vlapic_timer_next(&l), 0);
	assert_int_equal(l.esr_pending, 0);
	assert_int_equal(l.deadline_ns, 0);
	assert_int_equal(vlapic_pending(&l), -1);
}

static void test_register_masks(void **state)
{
	struct vlapic l;
	struct vlapic_ipi ipi;

	setup(&l, 0);
	wr(&l, VLAPIC_ID, 0xffffffff);
	assert_int_equal(rd(&l, VLAPIC_ID), 0xff000000);
	assert_int_equal(l.id, 0xff);
	wr(&l, VLAPIC_TPR, 0xffffffff);
	assert_int_equal(rd(&l, VLAPIC_TPR), 0xff);
	wr(&l, VLAPIC_TPR, 0);
	wr(&l, VLAPIC_LDR, 0xffffffff);
	assert_int_equal(rd(&l, VLAPIC_LDR), 0xff000000);
	wr(&l, VLAPIC_DFR, 0);
	assert_int_equal(rd(&l, VLAPIC_DFR), 0x0fffffff);
	wr(&l, VLAPIC_SVR, 0xffffffff);
	assert_int_equal(rd(&l, VLAPIC_SVR), 0x3ff);
	wr(&l, VLAPIC_LVT_TIMER, 0xffffffff);
	assert_int_equal(rd(&l, VLAPIC_LVT_TIMER), 0x000700ff);
	wr(&l, VLAPIC_LVT_THERMAL, 0xffffffff);
	assert_int_equal(rd(&l, VLAPIC_LVT_THERMAL), 0x000107ff);
	wr(&l, VLAPIC_LVT_PMC, 0xffffffff);
	assert_int_equal(rd(&l, VLAPIC_LVT_PMC), 0x000107ff);
	wr(&l, VLAPIC_LVT_LINT0, 0xffffffff);
	assert_int_equal(rd(&l, VLAPIC_LVT_LINT0), 0x0001a7ff);
	wr(&l, VLAPIC_LVT_LINT1, 0xffffffff);
	assert_int_equal(rd(&l, VLAPIC_LVT_LINT1), 0x0001a7ff);
	wr(&l, VLAPIC_LVT_ERROR, 0xffffffff);
	assert_int_equal(rd(&l, VLAPIC_LVT_ERROR), 0x000100ff);
	wr(&l, VLAPIC_LVT_CMCI, 0xffffffff);
	assert_int_equal(rd(&l, VLAPIC_LVT_CMCI), 0x000107ff);
	wr(&l, VLAPIC_ICR_HI, 0xffffffff);
	assert_int_equal(rd(&l, VLAPIC_ICR_HI), 0xff000000);
	/* Delivery mode 111b is reserved: nothing sent; delivery status (bit 12) never reads 1. */
	assert_false(vlapic_write(&l, VLAPIC_ICR_LO, 0xffffffff, 0, &ipi));
	assert_int_equal(rd(&l, VLAPIC_ICR_LO), 0x000ccfff);
	wr(&l, VLAPIC_TIMER_DIV, 0xffffffff);
	assert_int_equal(rd(&l, VLAPIC_TIMER_DIV), 0xb);
	/* Read-only, reserved, unaligned and x2APIC-only registers ignore writes. */
	wr(&l, VLAPIC_VERSION, 0);
	assert_int_equal(rd(&l, VLAPIC_VERSION), 0x00060014);
	wr(&l, VLAPIC_PPR, 0xff);
	assert_int_equal(rd(&l, VLAPIC_PPR), 0);
	wr(&l, VLAPIC_IRR + 0x30, 0xffffffff);
	assert_int_equal(rd(&l, VLAPIC_IRR + 0x30), 0);
	wr(&l, VLAPIC_TIMER_CUR, 5);
	assert_int_equal(rd(&l, VLAPIC_TIMER_CUR), 0);
	wr(&l, VLAPIC_SELF_IPI, 0x40);
	assert_int_equal(l.irr[2], 0);
	wr(&l, VLAPIC_TPR + 4, 0x55);
	assert_int_equal(rd(&l, VLAPIC_TPR), 0);
	assert_int_equal(rd(&l, VLAPIC_SVR + 4), 0);
	assert_int_equal(rd(&l, 0x400), 0);
	assert_int_equal(rd(&l, VLAPIC_APR), 0);
	assert_int_equal(rd(&l, VLAPIC_EOI), 0);
}

static void test_ppr_and_pending(void **state)
{
	struct vlapic l;

	setup(&l, 0);
	vlapic_accept(&l, 0x45, false);
	vlapic_accept(&l, 0x32, false);
	assert_true(bit_in(&l, VLAPIC_IRR, 0x45));
	assert_true(bit_in(&l, VLAPIC_IRR, 0x32));
	assert_int_equal(vlapic_pending(&l), 0x45);
	/* Same class as TPR: held back (SDM §11.8.3). */
	wr(&l, VLAPIC_TPR, 0x40);
	assert_int_equal(rd(&l, VLAPIC_PPR), 0x40);
	assert_int_equal(vlapic_pending(&l), -1);
	wr(&l, VLAPIC_TPR, 0x3f);
	assert_int_equal(rd(&l, VLAPIC_PPR), 0x3f);
	assert_int_equal(vlapic_pending(&l), 0x45);
	vlapic_ack(&l, 0x45);
	assert_false(bit_in(&l, VLAPIC_IRR, 0x45));
	assert_true(bit_in(&l, VLAPIC_ISR, 0x45));
	/* ISR class above TPR's: PPR takes the class, sub-class 0. */
	assert_int_equal(rd(&l, VLAPIC_PPR), 0x40);
	assert_int_equal(vlapic_pending(&l), -1);
	/* TPR class equal to ISR's: PPR is all of TPR. */
	wr(&l, VLAPIC_TPR, 0x47);
	assert_int_equal(rd(&l, VLAPIC_PPR), 0x47);
	wr(&l, VLAPIC_TPR, 0);
	assert_int_equal(rd(&l, VLAPIC_PPR), 0x40);
	wr(&l, VLAPIC_EOI, 0);
	assert_false(bit_in(&l, VLAPIC_ISR, 0x45));
	assert_int_equal(rd(&l, VLAPIC_PPR), 0);
	assert_int_equal(vlapic_pending(&l), 0x32);
	/* Acknowledging a vector that is not requested changes nothing. */
	vlapic_ack(&l, 0x99);
	assert_false(bit_in(&l, VLAPIC_ISR, 0x99));
	assert_int_equal(vlapic_pending(&l), 0x32);
}

static void test_eoi_nested(void **state)
{
	struct vlapic l;

	setup(&l, 0);
	vlapic_accept(&l, 0x30, false);
	vlapic_ack(&l, 0x30);
	vlapic_accept(&l, 0x80, false);
	assert_int_equal(vlapic_pending(&l), 0x80); /* higher class nests */
	vlapic_ack(&l, 0x80);
	vlapic_accept(&l, 0x60, true);
	assert_int_equal(vlapic_pending(&l), -1);
	assert_int_equal(rd(&l, VLAPIC_PPR), 0x80);
	wr(&l, VLAPIC_EOI, 0x1234); /* the value does not matter in xAPIC mode */
	assert_false(bit_in(&l, VLAPIC_ISR, 0x80));
	assert_true(bit_in(&l, VLAPIC_ISR, 0x30));
	assert_int_equal(rd(&l, VLAPIC_PPR), 0x30);
	assert_int_equal(vlapic_pending(&l), 0x60);
	vlapic_ack(&l, 0x60);
	assert_true(bit_in(&l, VLAPIC_TMR, 0x60));
	wr(&l, VLAPIC_EOI, 0); /* retires 0x60, the highest in service */
	assert_false(bit_in(&l, VLAPIC_ISR, 0x60));
	assert_true(bit_in(&l, VLAPIC_ISR, 0x30));
	assert_true(bit_in(&l, VLAPIC_TMR, 0x60)); /* TMR stays until the next edge */
	/* A level-triggered vector's EOI is handed over once, for the I/O APIC. */
	assert_int_equal(vlapic_take_level_eoi(&l), 0x60);
	assert_int_equal(vlapic_take_level_eoi(&l), -1);
	wr(&l, VLAPIC_EOI, 0);
	assert_int_equal(vlapic_take_level_eoi(&l), -1); /* 0x30 was edge-triggered */
	assert_int_equal(rd(&l, VLAPIC_ISR + 0x10), 0);
	wr(&l, VLAPIC_EOI, 0); /* nothing in service */
	for (u32 off = VLAPIC_ISR; off < VLAPIC_TMR; off += 16)
		assert_int_equal(rd(&l, off), 0);
	vlapic_accept(&l, 0x60, false);
	assert_false(bit_in(&l, VLAPIC_TMR, 0x60));
}

static void test_illegal_vector_and_esr(void **state)
{
	struct vlapic l;
	struct vlapic_ipi ipi;

	setup(&l, 0);
	vlapic_accept(&l, 5, false);
	vlapic_accept(&l, 15, true);
	assert_int_equal(rd(&l, VLAPIC_IRR), 0);
	assert_int_equal(rd(&l, VLAPIC_TMR), 0);
	assert_int_equal(vlapic_pending(&l), -1);
	/* Latched until the next ESR write, then readable until the one after. */
	assert_int_equal(rd(&l, VLAPIC_ESR), 0);
	wr(&l, VLAPIC_ESR, 0);
	assert_int_equal(rd(&l, VLAPIC_ESR), 0x40);
	assert_int_equal(rd(&l, VLAPIC_ESR), 0x40);
	assert_int_equal(read_esr(&l), 0);
	vlapic_accept(&l, 16, false); /* the first legal vector */
	assert_int_equal(vlapic_pending(&l), 16);
	assert_int_equal(read_esr(&l), 0);
	/* With the error LVT unmasked the error is also an interrupt. */
	wr(&l, VLAPIC_LVT_ERROR, 0xfe);
	vlapic_accept(&l, 1, false);
	assert_int_equal(vlapic_pending(&l), 0xfe);
	assert_false(bit_in(&l, VLAPIC_IRR, 1));
	assert_int_equal(read_esr(&l), 0x40);
	/* An illegal error vector is itself an error (received illegal vector), not a loop. */
	wr(&l, VLAPIC_LVT_ERROR, 0x05);
	vlapic_accept(&l, 2, false);
	assert_int_equal(read_esr(&l), 0x40);
	assert_true(vlapic_write(&l, VLAPIC_ICR_LO, 0x000c0003, 0, &ipi)); /* send illegal vector */
	assert_int_equal(read_esr(&l), 0x60);
	assert_int_equal(rd(&l, VLAPIC_IRR), 0x00010000); /* only vector 16 from above */
	/* Recorded while software-disabled too. */
	wr(&l, VLAPIC_SVR, 0xff);
	vlapic_accept(&l, 7, false);
	assert_int_equal(read_esr(&l), 0x40);
}

static void test_software_disabled(void **state)
{
	struct vlapic l;

	vlapic_reset(&l, 0);
	vlapic_accept(&l, 0x50, false);
	assert_int_equal(rd(&l, VLAPIC_IRR + 0x20), 0); /* dropped */
	assert_int_equal(vlapic_pending(&l), -1);
	/* LVT mask bits cannot be cleared while disabled. */
	wr(&l, VLAPIC_LVT_TIMER, 0x20);
	assert_int_equal(rd(&l, VLAPIC_LVT_TIMER), 0x00010020);
	wr(&l, VLAPIC_SVR, 0x1ff);
	assert_int_equal(rd(&l, VLAPIC_LVT_TIMER), 0x00010020);
	wr(&l, VLAPIC_LVT_TIMER, 0x20);
	wr(&l, VLAPIC_LVT_LINT0, 0x700);
	assert_int_equal(rd(&l, VLAPIC_LVT_TIMER), 0x20);
	vlapic_accept(&l, 0x50, false);
	assert_int_equal(vlapic_pending(&l), 0x50);
	/* Disabling masks every LVT and hides IRR, which is kept. */
	wr(&l, VLAPIC_SVR, 0xff);
	assert_int_equal(rd(&l, VLAPIC_LVT_TIMER), 0x00010020);
	assert_int_equal(rd(&l, VLAPIC_LVT_LINT0), 0x00010700);
	assert_int_equal(vlapic_pending(&l), -1);
	assert_int_equal(rd(&l, VLAPIC_IRR + 0x20), 0x00010000);
	wr(&l, VLAPIC_SVR, 0x1ff);
	assert_int_equal(vlapic_pending(&l), 0x50);
	/* IA32_APIC_BASE.EN clear: nothing accepted either. */
	l.hw_enabled = false;
	vlapic_accept(&l, 0x60, false);
	assert_false(bit_in(&l, VLAPIC_IRR, 0x60));
	assert_int_equal(vlapic_pending(&l), -1);
}

/* Writes ICR low with a poisoned *ipi so every field must be filled. */
static struct vlapic_ipi send(struct vlapic *l, u32 lo)
{
	struct vlapic_ipi ipi;

	memset(&ipi, 0x5a, sizeof(ipi));
	assert_true(vlapic_write(l, VLAPIC_ICR_LO, lo, 0, &ipi));
	return ipi;
}

static void test_icr_decode(void **state)
{
	struct vlapic l;
	struct vlapic_ipi ipi;

	setup(&l, 0);
	wr(&l, VLAPIC_ICR_HI, 0x05000000);
	ipi = send(&l, 0x00001031); /* fixed, vector 0x31, delivery status written as 1 */
	assert_int_equal(ipi.mode, VLAPIC_IPI_FIXED);
	assert_int_equal(ipi.vector, 0x31);
	assert_int_equal(ipi.shorthand, VLAPIC_DEST_FIELD);
	assert_false(ipi.logical);
	assert_false(ipi.level_assert);
	assert_false(ipi.level_trigger);
	assert_int_equal(ipi.dest, 5);
	assert_int_equal(rd(&l, VLAPIC_ICR_LO), 0x31);
	ipi = send(&l, 0x0000c500); /* INIT, level assert */
	assert_int_equal(ipi.mode, VLAPIC_IPI_INIT);
	assert_true(ipi.level_assert);
	assert_true(ipi.level_trigger);
	ipi = send(&l, 0x00008500); /* INIT level de-assert */
	assert_int_equal(ipi.mode, VLAPIC_IPI_INIT);
	assert_false(ipi.level_assert);
	assert_true(ipi.level_trigger);
	ipi = send(&l, 0x00004608);
	assert_int_equal(ipi.mode, VLAPIC_IPI_SIPI);
	assert_int_equal(ipi.vector, 0x08);
	assert_true(ipi.level_assert);
	assert_int_equal(ipi.dest, 5);
	ipi = send(&l, 0x00004400);
	assert_int_equal(ipi.mode, VLAPIC_IPI_NMI);
	ipi = send(&l, 0x00000141);
	assert_int_equal(ipi.mode, VLAPIC_IPI_LOWEST);
	wr(&l, VLAPIC_ICR_HI, 0x0f000000);
	ipi = send(&l, 0x00000831);
	assert_true(ipi.logical);
	assert_int_equal(ipi.dest, 0x0f);
	assert_int_equal(send(&l, 0x00040031).shorthand, VLAPIC_DEST_SELF);
	assert_int_equal(send(&l, 0x00080031).shorthand, VLAPIC_DEST_ALL);
	ipi = send(&l, 0x000c0031);
	assert_int_equal(ipi.shorthand, VLAPIC_DEST_OTHERS);
	assert_int_equal(ipi.vector, 0x31);
	assert_int_equal(read_esr(&l), 0);
	/* Reserved delivery mode 011b: nothing sent. */
	assert_false(vlapic_write(&l, VLAPIC_ICR_LO, 0x00000331, 0, &ipi));
	/* A fixed IPI with an illegal vector still goes out, flagged in the sender's ESR. */
	ipi = send(&l, 0x00000005);
	assert_int_equal(ipi.vector, 5);
	assert_int_equal(read_esr(&l), 0x20);
	send(&l, 0x00004605); /* SIPI vectors are page numbers: no error */
	assert_int_equal(read_esr(&l), 0);
}

static void test_x2apic_msrs(void **state)
{
	struct vlapic l;
	struct vlapic_ipi ipi;
	bool sent;
	u64 v;

	setup(&l, 0x23);
	/* xAPIC mode: the MSRs do not exist. */
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_ID), 0, &v), -EINVAL);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_TPR), 0, 0, &ipi, &sent), -EINVAL);
	l.x2apic = true;
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_ID), 0, &v), 0);
	assert_int_equal(v, 0x23);
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_VERSION), 0, &v), 0);
	assert_int_equal(v, 0x00060014);
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_LDR), 0, &v), 0);
	assert_int_equal(v, 0x00020008);
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_SVR), 0, &v), 0);
	assert_int_equal(v, 0x1ff);
	/* #GP: read-only, absent, write-only and reserved registers; reserved bits. */
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_ID), 0x23, 0, &ipi, &sent), -EINVAL);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_LDR), 0, 0, &ipi, &sent), -EINVAL);
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_DFR), 0, &v), -EINVAL);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_DFR), 0xffffffff, 0, &ipi, &sent), -EINVAL);
	assert_int_equal(vlapic_msr_read(&l, 0x831, 0, &v), -EINVAL);
	assert_int_equal(vlapic_msr_write(&l, 0x831, 0, 0, &ipi, &sent), -EINVAL);
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_APR), 0, &v), -EINVAL);
	assert_int_equal(vlapic_msr_read(&l, 0x801, 0, &v), -EINVAL);
	assert_int_equal(vlapic_msr_read(&l, 0x8ff, 0, &v), -EINVAL);
	assert_int_equal(vlapic_msr_read(&l, 0x900, 0, &v), -EINVAL);
	assert_int_equal(vlapic_msr_read(&l, 0x7ff, 0, &v), -EINVAL);
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_EOI), 0, &v), -EINVAL);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_PPR), 0, 0, &ipi, &sent), -EINVAL);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_ISR), 0, 0, &ipi, &sent), -EINVAL);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_TIMER_CUR), 0, 0, &ipi, &sent), -EINVAL);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_TPR), 0x100, 0, &ipi, &sent), -EINVAL);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_TPR), 1ull << 32, 0, &ipi, &sent), -EINVAL);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_SVR), 0x11ff, 0, &ipi, &sent), -EINVAL);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_LVT_TIMER), 0x1040, 0, &ipi, &sent), -EINVAL);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_TIMER_DIV), 0x4, 0, &ipi, &sent), -EINVAL);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_ESR), 1, 0, &ipi, &sent), -EINVAL);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_EOI), 1, 0, &ipi, &sent), -EINVAL);
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_TPR), 0, &v), 0);
	assert_int_equal(v, 0); /* the failed writes left no trace */
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_LVT_TIMER), 0, &v), 0);
	assert_int_equal(v, 0x00010000);
	/* Valid writes. */
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_TPR), 0x20, 0, &ipi, &sent), 0);
	assert_false(sent);
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_PPR), 0, &v), 0);
	assert_int_equal(v, 0x20);
	vlapic_accept(&l, 0x90, false);
	vlapic_ack(&l, 0x90);
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_ISR) + 4, 0, &v), 0);
	assert_int_equal(v, 0x00010000);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_EOI), 0, 0, &ipi, &sent), 0);
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_ISR) + 4, 0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_ESR), 0, 0, &ipi, &sent), 0);
	/* ICR: one 64-bit MSR, destination in bits 63:32. */
	memset(&ipi, 0x5a, sizeof(ipi));
	assert_int_equal(vlapic_msr_write(&l, 0x830, 0x0001234500004831ull, 0, &ipi, &sent), 0);
	assert_true(sent);
	assert_int_equal(ipi.mode, VLAPIC_IPI_FIXED);
	assert_int_equal(ipi.vector, 0x31);
	assert_int_equal(ipi.dest, 0x00012345);
	assert_true(ipi.logical);
	assert_true(ipi.level_assert);
	assert_int_equal(ipi.shorthand, VLAPIC_DEST_FIELD);
	assert_int_equal(vlapic_msr_read(&l, 0x830, 0, &v), 0);
	assert_int_equal(v, 0x0001234500004831ull);
	sent = true;
	assert_int_equal(vlapic_msr_write(&l, 0x830, 0x1031, 0, &ipi, &sent), -EINVAL); /* bit 12 */
	assert_false(sent);
	assert_int_equal(vlapic_msr_write(&l, 0x830, 0x2031, 0, &ipi, &sent), -EINVAL);
	assert_int_equal(vlapic_msr_write(&l, 0x830, 0x100031, 0, &ipi, &sent), -EINVAL);
	/* Self IPI: fixed, to this APIC. */
	memset(&ipi, 0x5a, sizeof(ipi));
	assert_int_equal(vlapic_msr_write(&l, 0x83f, 0x41, 0, &ipi, &sent), 0);
	assert_true(sent);
	assert_int_equal(ipi.mode, VLAPIC_IPI_FIXED);
	assert_int_equal(ipi.vector, 0x41);
	assert_int_equal(ipi.shorthand, VLAPIC_DEST_SELF);
	assert_false(ipi.logical);
	assert_false(ipi.level_trigger);
	assert_int_equal(vlapic_msr_write(&l, 0x83f, 0x141, 0, &ipi, &sent), -EINVAL);
	assert_false(sent);
	assert_int_equal(vlapic_msr_write(&l, 0x83f, 0x05, 0, &ipi, &sent), 0); /* illegal vector */
	assert_true(sent);
	assert_int_equal(vlapic_msr_write(&l, MSR(VLAPIC_ESR), 0, 0, &ipi, &sent), 0);
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_ESR), 0, &v), 0);
	assert_int_equal(v, 0x20);
	assert_int_equal(vlapic_msr_read(&l, 0x83f, 0, &v), -EINVAL);
	/* The xAPIC page is not decoded in x2APIC mode. */
	assert_int_equal(rd(&l, VLAPIC_TPR), 0);
	assert_false(vlapic_write(&l, VLAPIC_ICR_LO, 0x4031, 0, &ipi));
	/* The x2APIC ID is 32 bits wide; LDR follows it. */
	setup(&l, 0x1234);
	l.x2apic = true;
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_ID), 0, &v), 0);
	assert_int_equal(v, 0x1234);
	assert_int_equal(vlapic_msr_read(&l, MSR(VLAPIC_LDR), 0, &v), 0);
	assert_int_equal(v, 0x01230010);
	assert_true(vlapic_match_dest(&l, 0x1234, false));
	assert_false(vlapic_match_dest(&l, 0x34, false));
}

static void test_dest_match(void **state)
{
	struct vlapic l;

	/* xAPIC physical: 8-bit IDs, 0xff broadcast. */
	setup(&l, 3);
	assert_true(vlapic_match_dest(&l, 3, false));
	assert_false(vlapic_match_dest(&l, 4, false));
	assert_true(vlapic_match_dest(&l, 0xff, false));
	/* Flat model: one bit per APIC. */
	wr(&l, VLAPIC_LDR, 0x04000000);
	assert_true(vlapic_match_dest(&l, 0x04, true));
	assert_true(vlapic_match_dest(&l, 0x06, true));
	assert_false(vlapic_match_dest(&l, 0x03, true));
	assert_false(vlapic_match_dest(&l, 0x00, true));
	assert_true(vlapic_match_dest(&l, 0xff, true));
	/* Cluster model: cluster 3, member bit 1. */
	wr(&l, VLAPIC_DFR, 0x0fffffff);
	wr(&l, VLAPIC_LDR, 0x32000000);
	assert_true(vlapic_match_dest(&l, 0x32, true));
	assert_true(vlapic_match_dest(&l, 0x3e, true));
	assert_false(vlapic_match_dest(&l, 0x34, true));
	assert_false(vlapic_match_dest(&l, 0x22, true));
	assert_false(vlapic_match_dest(&l, 0x02, true)); /* would match in the flat model */
	assert_true(vlapic_match_dest(&l, 0xff, true));
	/* x2APIC: 32-bit IDs, cluster ID 16 bits + member bitmap; 0xff is no broadcast. */
	setup(&l, 0x23);
	l.x2apic = true;
	assert_true(vlapic_match_dest(&l, 0x23, false));
	assert_false(vlapic_match_dest(&l, 0x24, false));
	assert_false(vlapic_match_dest(&l, 0xff, false));
	assert_false(vlapic_match_dest(&l, 0x10023, false));
	assert_true(vlapic_match_dest(&l, 0xffffffff, false));
	assert_true(vlapic_match_dest(&l, 0x00020008, true));
	assert_true(vlapic_match_dest(&l, 0x0002000c, true));
	assert_false(vlapic_match_dest(&l, 0x00020004, true));
	assert_false(vlapic_match_dest(&l, 0x00030008, true));
	assert_false(vlapic_match_dest(&l, 0x00000008, true));
	assert_true(vlapic_match_dest(&l, 0xffffffff, true));
}

static void test_timer_one_shot(void **state)
{
	struct vlapic l;

	setup(&l, 0);
	wr(&l, VLAPIC_LVT_TIMER, 0x40);
	assert_false(vlapic_timer_poll(&l, 1000000)); /* never started */
	wr_at(&l, VLAPIC_TIMER_INIT, 1000, 5000);     /* divide by 2 after reset: 2000 ns */
	assert_int_equal(vlapic_timer_next(&l), 7000);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 5000), 1000);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 5001), 1000);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 5002), 999);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 6998), 1);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 7000), 0);
	assert_false(vlapic_timer_poll(&l, 6999));
	assert_int_equal(vlapic_pending(&l), -1);
	assert_true(vlapic_timer_poll(&l, 7000));
	assert_int_equal(vlapic_pending(&l), 0x40);
	assert_false(bit_in(&l, VLAPIC_TMR, 0x40));
	assert_int_equal(vlapic_timer_next(&l), 0);
	assert_false(vlapic_timer_poll(&l, 9000));
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 9000), 0);
	assert_int_equal(rd(&l, VLAPIC_TIMER_INIT), 1000);
	/* Writing 0 stops a running count. */
	wr_at(&l, VLAPIC_TIMER_INIT, 50, 10000);
	assert_int_equal(vlapic_timer_next(&l), 10100);
	wr_at(&l, VLAPIC_TIMER_INIT, 0, 10050);
	assert_int_equal(vlapic_timer_next(&l), 0);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 10060), 0);
	assert_false(vlapic_timer_poll(&l, 20000));
	/* Masked: the count runs out but raises nothing. */
	vlapic_ack(&l, 0x40);
	wr(&l, VLAPIC_EOI, 0);
	wr(&l, VLAPIC_LVT_TIMER, 0x00010040);
	wr_at(&l, VLAPIC_TIMER_INIT, 10, 30000);
	assert_false(vlapic_timer_poll(&l, 30020));
	assert_int_equal(vlapic_timer_next(&l), 0);
	assert_int_equal(vlapic_pending(&l), -1);
}

#define P 1000000ull /* a 1 ms period: above the periodic floor */
static void test_timer_periodic(void **state)
{
	struct vlapic l;

	setup(&l, 0);
	wr(&l, VLAPIC_TIMER_DIV, 0xb); /* divide by 1 */
	wr(&l, VLAPIC_LVT_TIMER, 0x00020040);
	wr_at(&l, VLAPIC_TIMER_INIT, P, 1000);
	assert_int_equal(vlapic_timer_next(&l), 1000 + P);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 1000 + P / 2), P / 2);
	assert_true(vlapic_timer_poll(&l, 1000 + P));
	assert_int_equal(vlapic_timer_next(&l), 1000 + 2 * P);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 1000 + P), P); /* reloaded */
	/* Polled late: the next deadline stays on the grid, no drift. */
	assert_true(vlapic_timer_poll(&l, 1000 + 2 * P + P * 3 / 10));
	assert_int_equal(vlapic_timer_next(&l), 1000 + 3 * P);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 1000 + 2 * P + P / 2), P / 2);
	/* Far behind: the missed periods collapse into one interrupt. */
	assert_true(vlapic_timer_poll(&l, 1000 + 7 * P + P * 55 / 100));
	assert_int_equal(vlapic_timer_next(&l), 1000 + 8 * P);
	assert_false(vlapic_timer_poll(&l, 1000 + 7 * P + P * 55 / 100 + 1));
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 1000 + 7 * P + P * 55 / 100), P * 45 / 100);
	/* Exactly on a later deadline. */
	assert_true(vlapic_timer_poll(&l, 1000 + 10 * P));
	assert_int_equal(vlapic_timer_next(&l), 1000 + 11 * P);
	assert_int_equal(vlapic_pending(&l), 0x40);
	/* Masking keeps it counting without interrupts. */
	wr(&l, VLAPIC_LVT_TIMER, 0x00030040);
	assert_true(vlapic_timer_masked(&l));
	assert_false(vlapic_timer_poll(&l, 1000 + 11 * P));
	assert_int_equal(vlapic_timer_next(&l), 1000 + 12 * P);
}

/* A periodic timer faster than VLAPIC_MIN_PERIOD_NS interrupts at that floor; its first deadline
 * and its counter keep the programmed period. A one-shot timer keeps its exact deadline. */
static void test_timer_periodic_floor(void **state)
{
	struct vlapic l;

	setup(&l, 0);
	wr(&l, VLAPIC_TIMER_DIV, 0xb);
	wr(&l, VLAPIC_LVT_TIMER, 0x00020040);
	wr_at(&l, VLAPIC_TIMER_INIT, 2000, 1000); /* 2 us */
	assert_false(vlapic_timer_masked(&l));
	assert_int_equal(vlapic_timer_next(&l), 3000);
	assert_true(vlapic_timer_poll(&l, 3000));
	assert_int_equal(vlapic_timer_next(&l), 3000 + VLAPIC_MIN_PERIOD_NS);
	assert_false(vlapic_timer_poll(&l, 3000 + VLAPIC_MIN_PERIOD_NS - 1));
	assert_true(vlapic_timer_poll(&l, 3000 + VLAPIC_MIN_PERIOD_NS));
	wr(&l, VLAPIC_LVT_TIMER, 0x00000040); /* one-shot: exact */
	wr_at(&l, VLAPIC_TIMER_INIT, 2000, 10000000);
	assert_int_equal(vlapic_timer_next(&l), 10002000);
	assert_true(vlapic_timer_poll(&l, 10002000));
	assert_int_equal(vlapic_timer_next(&l), 0);
}
#undef P

static void test_timer_divide(void **state)
{
	static const struct {
		u32 div, by;
	} enc[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 }, { 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 }
	};
	struct vlapic l;

	for (unsigned int i = 0; i < ARRAY_SIZE(enc); i++) {
		setup(&l, 0);
		wr(&l, VLAPIC_LVT_TIMER, 0x40);
		wr(&l, VLAPIC_TIMER_DIV, enc[i].div | 0x4); /* bit 2 is reserved */
		assert_int_equal(rd(&l, VLAPIC_TIMER_DIV), enc[i].div);
		wr_at(&l, VLAPIC_TIMER_INIT, 10, 1000);
		assert_int_equal(vlapic_timer_next(&l), 1000 + 10 * enc[i].by);
		assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 1000 + 3 * enc[i].by), 7);
		assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 1000 + 3 * enc[i].by - 1), 8);
	}
	/* A new divisor mid-count keeps the current count and goes on at the new rate. */
	setup(&l, 0);
	wr(&l, VLAPIC_LVT_TIMER, 0x40);
	wr(&l, VLAPIC_TIMER_DIV, 0xb);
	wr_at(&l, VLAPIC_TIMER_INIT, 1000, 0);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 400), 600);
	wr_at(&l, VLAPIC_TIMER_DIV, 0x0, 400);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 400), 600);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 600), 500);
	assert_int_equal(vlapic_timer_next(&l), 1600);
	assert_true(vlapic_timer_poll(&l, 1600));
	wr_at(&l, VLAPIC_TIMER_DIV, 0xa, 1700); /* after expiry the count stays 0 */
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 1700), 0);
	assert_int_equal(vlapic_timer_next(&l), 0);
}

static void test_timer_mode_change_disarms(void **state)
{
	struct vlapic l;

	setup(&l, 0);
	wr(&l, VLAPIC_LVT_TIMER, 0x40);
	wr_at(&l, VLAPIC_TIMER_INIT, 100, 0);
	wr(&l, VLAPIC_LVT_TIMER, 0x00010040); /* masking alone: still armed */
	assert_int_equal(vlapic_timer_next(&l), 200);
	wr(&l, VLAPIC_LVT_TIMER, 0x00020040); /* to periodic */
	assert_int_equal(vlapic_timer_next(&l), 0);
	assert_int_equal(rd(&l, VLAPIC_TIMER_INIT), 0);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 50), 0);
	assert_false(vlapic_timer_poll(&l, 1000));
	wr_at(&l, VLAPIC_TIMER_INIT, 100, 1000);
	assert_int_equal(vlapic_timer_next(&l), 1200);
	wr(&l, VLAPIC_LVT_TIMER, 0x00000040); /* back to one-shot */
	assert_int_equal(vlapic_timer_next(&l), 0);
	assert_false(vlapic_timer_poll(&l, 5000));
	assert_int_equal(vlapic_pending(&l), -1);
}

static void test_timer_tsc_deadline(void **state)
{
	struct vlapic l;

	setup(&l, 0);
	vlapic_set_deadline(&l, 5000); /* one-shot mode: ignored */
	assert_int_equal(vlapic_timer_next(&l), 0);
	assert_int_equal(l.deadline_ns, 0);
	wr(&l, VLAPIC_LVT_TIMER, 0x00040040);
	vlapic_set_deadline(&l, 5000);
	assert_int_equal(vlapic_timer_next(&l), 5000);
	assert_int_equal(l.deadline_ns, 5000);
	wr_at(&l, VLAPIC_TIMER_INIT, 100, 1000); /* ignored in this mode */
	assert_int_equal(rd(&l, VLAPIC_TIMER_INIT), 0);
	assert_int_equal(vlapic_timer_next(&l), 5000);
	assert_int_equal(vlapic_read(&l, VLAPIC_TIMER_CUR, 2000), 0);
	assert_false(vlapic_timer_poll(&l, 4999));
	assert_true(vlapic_timer_poll(&l, 5000));
	assert_int_equal(vlapic_pending(&l), 0x40);
	assert_int_equal(vlapic_timer_next(&l), 0);
	assert_int_equal(l.deadline_ns, 0);
	assert_false(vlapic_timer_poll(&l, 6000));
	/* Re-armed, then disarmed with 0. */
	vlapic_set_deadline(&l, 7000);
	vlapic_set_deadline(&l, 0);
	assert_false(vlapic_timer_poll(&l, 8000));
	/* Leaving the mode disarms it. */
	vlapic_set_deadline(&l, 9000);
	wr(&l, VLAPIC_LVT_TIMER, 0x40);
	assert_int_equal(vlapic_timer_next(&l), 0);
	assert_int_equal(l.deadline_ns, 0);
	assert_false(vlapic_timer_poll(&l, 10000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_state),
		cmocka_unit_test(test_register_masks),
		cmocka_unit_test(test_ppr_and_pending),
		cmocka_unit_test(test_eoi_nested),
		cmocka_unit_test(test_illegal_vector_and_esr),
		cmocka_unit_test(test_software_disabled),
		cmocka_unit_test(test_icr_decode),
		cmocka_unit_test(test_x2apic_msrs),
		cmocka_unit_test(test_dest_match),
		cmocka_unit_test(test_timer_one_shot),
		cmocka_unit_test(test_timer_periodic),
		cmocka_unit_test(test_timer_periodic_floor),
		cmocka_unit_test(test_timer_divide),
		cmocka_unit_test(test_timer_mode_change_disarms),
		cmocka_unit_test(test_timer_tsc_deadline),
	};

	return cmocka_run_group_tests_name("virtual local APIC", tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* The virtual 8259A pair, 8254 and port 0x61 the hypervisor gives every VM. */
#include "shim.h"

#include "vmm/dev/vpic.h"
#include "vmm/dev/vpit.h"

static void init_pics(struct vpic *p, u8 master_base, u8 slave_base)
{
	vpic_reset(p);
	vpic_write(p, 0x20, 0x11);
	vpic_write(p, 0xa0, 0x11);
	vpic_write(p, 0x21, master_base);
	vpic_write(p, 0xa1, slave_base);
	vpic_write(p, 0x21, 4);
	vpic_write(p, 0xa1, 2);
	vpic_write(p, 0x21, 1);
	vpic_write(p, 0xa1, 1);
	vpic_write(p, 0x21, 0xff);
	vpic_write(p, 0xa1, 0xff);
}

static void test_pic_mask_and_delivery(void **state)
{
	struct vpic p;

	init_pics(&p, 0x20, 0x28);
	assert_int_equal(vpic_read(&p, 0x21), 0xff);
	vpic_raise(&p, 0);
	assert_false(vpic_pending(&p));		     /* masked */
	assert_int_equal(vpic_read(&p, 0x20), 0x01); /* but visible in IRR (OCW3 default) */
	vpic_write(&p, 0x21, 0xfe);
	assert_true(vpic_pending(&p));
	assert_int_equal(vpic_acknowledge(&p), 0x20);
	assert_false(vpic_pending(&p));
	/* In service blocks the next edge of the same line until EOI. */
	vpic_raise(&p, 0);
	assert_false(vpic_pending(&p));
	vpic_write(&p, 0x20, 0x0b); /* OCW3: read ISR */
	assert_int_equal(vpic_read(&p, 0x20), 0x01);
	vpic_write(&p, 0x20, 0x20); /* non-specific EOI */
	assert_true(vpic_pending(&p));
}

static void test_pic_priority_and_cascade(void **state)
{
	struct vpic p;

	init_pics(&p, 0x20, 0x28);
	vpic_write(&p, 0x21, 0x00);
	vpic_write(&p, 0xa1, 0x00);
	vpic_raise(&p, 5);
	vpic_raise(&p, 1);
	vpic_raise(&p, 9);
	assert_int_equal(vpic_acknowledge(&p), 0x21); /* IRQ 1 first */
	/* IRQ 1 in service: lower priorities (2 = slave, 5) wait. */
	assert_false(vpic_pending(&p));
	vpic_write(&p, 0x20, 0x61);		      /* specific EOI for IRQ 1 */
	assert_int_equal(vpic_acknowledge(&p), 0x29); /* slave IRQ 9 through the cascade */
	vpic_write(&p, 0xa0, 0x20);
	vpic_write(&p, 0x20, 0x20);
	assert_int_equal(vpic_acknowledge(&p), 0x25);
	/* Nothing pending: the spurious IRQ 7 vector. */
	vpic_write(&p, 0x20, 0x20);
	assert_int_equal(vpic_acknowledge(&p), 0x27);
	/* Out-of-range lines are ignored. */
	vpic_raise(&p, 16);
	vpic_raise(&p, 1000);
}

/* Count 1 in mode 2 would interrupt every 838 ns: the interrupt comes at most every
 * VPIT_MIN_PERIOD_NS. Mode 0 (one-shot) keeps its exact terminal count. */
static void test_pit_periodic_floor(void **state)
{
	struct vpit t;

	vpit_reset(&t);
	vpit_write(&t, 0x43, 0x34, 0); /* channel 0, lobyte/hibyte, mode 2 */
	vpit_write(&t, 0x40, 1, 0);
	vpit_write(&t, 0x40, 0, 0);
	assert_int_equal(t.period_ns, VPIT_MIN_PERIOD_NS);
	assert_int_equal(t.next_ns, VPIT_MIN_PERIOD_NS);
	assert_false(vpit_expired(&t, VPIT_MIN_PERIOD_NS - 1));
	assert_true(vpit_expired(&t, VPIT_MIN_PERIOD_NS));
	assert_int_equal(t.next_ns, 2 * VPIT_MIN_PERIOD_NS);
	vpit_write(&t, 0x43, 0x30, 1000); /* mode 0 */
	vpit_write(&t, 0x40, 1, 1000);
	vpit_write(&t, 0x40, 0, 1000);
	assert_int_equal(t.next_ns, 1000 + 838);
}

static void test_pit_periodic(void **state)
{
	struct vpit t;
	u64 now = 1000;

	vpit_reset(&t);
	assert_false(vpit_expired(&t, now)); /* not programmed: never fires */
	vpit_write(&t, 0x43, 0x34, now);     /* ch0, lobyte/hibyte, mode 2 */
	vpit_write(&t, 0x40, 1193 & 0xff, now);
	assert_false(vpit_expired(&t, now + 10000000)); /* half-written count: not started */
	vpit_write(&t, 0x40, 1193 >> 8, now);
	assert_int_equal(t.period_ns, 999847); /* 1193 / 1.193182 MHz */
	assert_false(vpit_expired(&t, now + 999000));
	assert_true(vpit_expired(&t, now + 1000000));
	assert_false(vpit_expired(&t, now + 1000001));
	/* Long gaps fire once, not once per missed period. */
	assert_true(vpit_expired(&t, now + 50000000));
	assert_false(vpit_expired(&t, now + 50000001));
	/* The counter counts down from the reload value; the latch holds it. */
	vpit_write(&t, 0x43, 0x00, now + 500000);
	u8 lo = vpit_read(&t, 0x40, now + 900000), hi = vpit_read(&t, 0x40, now + 900000);
	u16 count = (u16)(lo | hi << 8);
	assert_in_range(count, 595, 598); /* 1193 - 0.5 ms * 1.193182 MHz */
}

static void test_pit_one_shot_and_zero(void **state)
{
	struct vpit t;

	vpit_reset(&t);
	vpit_write(&t, 0x43, 0x30, 0); /* mode 0 */
	vpit_write(&t, 0x40, 0, 0);
	vpit_write(&t, 0x40, 0, 0); /* 0 means 65536 */
	assert_int_equal(t.ch[0].reload, 65536);
	assert_true(vpit_expired(&t, 60000000));
	assert_false(vpit_expired(&t, 200000000)); /* one shot */
	/* Programming channel 2 leaves channel 0 alone. */
	vpit_write(&t, 0x43, 0xb6, 0);
	vpit_write(&t, 0x42, 0x12, 0);
	assert_int_equal(t.ch[0].reload, 65536);
	assert_int_equal(t.ch[0].mode, 0);
	assert_int_equal(vpit_read(&t, 0x42, 0), 0); /* half-written count: still the old one */
}

/* The time at which PIT tick k has passed (rounded up to the next ns). */
static u64 tick_ns(u64 k)
{
	return (k * 1000000000ull + VPIT_HZ - 1) / VPIT_HZ;
}

static u16 read16(struct vpit *t, u16 port, u64 now)
{
	u8 lo = vpit_read(t, port, now);

	return (u16)(lo | vpit_read(t, port, now) << 8);
}

static bool out2(struct vpit *t, u64 now)
{
	return vpit_port61_read(t, now) & 0x20;
}

/* Linux's pit_calibrate_tsc: gate 2 high, mode 0, poll OUT2 on port 0x61 until terminal count. */
static void test_pit_ch2_mode0_out2(void **state)
{
	struct vpit t;
	u64 now = 5000000;

	vpit_reset(&t);
	vpit_port61_write(&t, (vpit_port61_read(&t, now) & ~0x02) | 0x01, now);
	vpit_write(&t, 0x43, 0xb0, now); /* channel 2, lobyte/hibyte, mode 0, binary */
	assert_false(out2(&t, now));	 /* mode 0: OUT low after the control word */
	vpit_write(&t, 0x42, 11931 & 0xff, now);
	vpit_write(&t, 0x42, 11931 >> 8, now); /* 10 ms */
	assert_false(out2(&t, now + tick_ns(11930)));
	assert_int_equal(read16(&t, 0x42, now + tick_ns(1000)), 10931);
	assert_true(out2(&t, now + tick_ns(11931)));
	assert_true(out2(&t, now + 30000000)); /* stays high */
	/* The count goes on past terminal count, wrapping through 0xffff. */
	assert_int_equal(read16(&t, 0x42, now + tick_ns(11931 + 5)), 0x10000 - 5);
	/* Channel 2 never touches IRQ 0. */
	assert_int_equal(t.next_ns, 0);
	assert_false(vpit_expired(&t, now + 30000000));
	/* A new control word drops OUT back low. */
	vpit_write(&t, 0x43, 0xb0, now + 40000000);
	assert_false(out2(&t, now + 40000000));
}

static void test_pit_ch2_gate(void **state)
{
	struct vpit t;
	u64 now = 1000;

	vpit_reset(&t);
	vpit_write(&t, 0x43, 0xb0, now);
	vpit_write(&t, 0x42, 0x00, now);
	vpit_write(&t, 0x42, 0x10, now); /* 4096 */
	/* Gate low (reset state): the count is loaded but does not move. */
	assert_int_equal(read16(&t, 0x42, now + 10000000), 4096);
	assert_false(out2(&t, now + 10000000));
	now += 10000000;
	vpit_port61_write(&t, 0x01, now);
	assert_int_equal(read16(&t, 0x42, now + tick_ns(1000)), 3096);
	/* Mode 0 pauses while the gate is low and resumes where it stopped. */
	vpit_port61_write(&t, 0x00, now + tick_ns(1000));
	assert_int_equal(read16(&t, 0x42, now + 50000000), 3096);
	vpit_port61_write(&t, 0x01, now + 50000000);
	assert_int_equal(read16(&t, 0x42, now + 50000000 + tick_ns(96)), 3000);
	assert_true(out2(&t, now + 50000000 + tick_ns(3096)));

	/* Mode 2: a rising gate edge reloads the count; OUT is high while the gate is low. */
	now = 100000000;
	vpit_write(&t, 0x43, 0xb4, now);
	vpit_write(&t, 0x42, 100, now);
	vpit_write(&t, 0x42, 0, now);
	assert_int_equal(read16(&t, 0x42, now + tick_ns(30)), 70);
	assert_false(out2(&t, now + tick_ns(99))); /* one tick low at count 1 */
	assert_true(out2(&t, now + tick_ns(100)));
	vpit_port61_write(&t, 0x00, now + tick_ns(130));
	assert_true(out2(&t, now + tick_ns(199)));
	assert_int_equal(read16(&t, 0x42, now + tick_ns(500)), 70);
	vpit_port61_write(&t, 0x01, now + tick_ns(500));
	assert_int_equal(read16(&t, 0x42, now + tick_ns(500)), 100);
}

/* Linux's quick_pit_calibrate: mode 0 from 0xffff, reading LSB then MSB and watching the MSB fall. */
static void test_pit_msb_polling(void **state)
{
	struct vpit t;
	u64 now = 777;

	vpit_reset(&t);
	vpit_port61_write(&t, 0x01, now);
	vpit_write(&t, 0x43, 0xb0, now);
	vpit_write(&t, 0x42, 0xff, now);
	vpit_write(&t, 0x42, 0xff, now);
	for (u64 k = 0; k < 60000; k += 97) {
		u64 at = now + tick_ns(k);

		vpit_read(&t, 0x42, at); /* LSB, ignored */
		assert_int_equal(vpit_read(&t, 0x42, at), (0xffff - k) >> 8);
	}
}

static void test_pit_latch_and_read_back(void **state)
{
	struct vpit t;
	u64 now = 0;

	vpit_reset(&t);
	vpit_port61_write(&t, 0x01, now);
	vpit_write(&t, 0x43, 0xb0, now);
	/* Read-back of channel 2's status: mode 0, lobyte/hibyte, OUT low, null count. */
	vpit_write(&t, 0x43, 0xe8, now);
	assert_int_equal(vpit_read(&t, 0x42, now), 0x70);
	vpit_write(&t, 0x42, 0xe8, now);
	vpit_write(&t, 0x42, 0x03, now); /* 1000 */
	/* Counter latch: the value at the latch, however late it is read; a second latch is ignored. */
	vpit_write(&t, 0x43, 0x80, now + tick_ns(100));
	vpit_write(&t, 0x43, 0x80, now + tick_ns(200));
	assert_int_equal(read16(&t, 0x42, now + tick_ns(300)), 900);
	assert_int_equal(read16(&t, 0x42, now + tick_ns(300)), 700); /* released after two reads */
	/* Read-back of status and count together: status first, then the count. */
	vpit_write(&t, 0x43, 0xc8, now + tick_ns(1000));
	assert_int_equal(vpit_read(&t, 0x42, now + tick_ns(1500)), 0x80 | 0x30);
	assert_int_equal(read16(&t, 0x42, now + tick_ns(1500)), 0);
	/* Read-back naming only channel 0 leaves channel 2 live. */
	vpit_write(&t, 0x43, 0xc2, now + tick_ns(1000));
	assert_int_equal(read16(&t, 0x42, now + tick_ns(1010)), 0x10000 - 10);
	/* A one-byte access mode: MSB only, LSB taken as 0. */
	vpit_write(&t, 0x43, 0xa0, now);
	vpit_write(&t, 0x42, 0x02, now);
	assert_int_equal(t.ch[2].reload, 0x200);
	assert_int_equal(vpit_read(&t, 0x42, now + tick_ns(256)), 1);
	/* BCD: 0x1000 is one thousand. */
	vpit_write(&t, 0x43, 0xb1, now);
	vpit_write(&t, 0x42, 0x00, now);
	vpit_write(&t, 0x42, 0x10, now);
	assert_int_equal(t.ch[2].reload, 1000);
	assert_int_equal(read16(&t, 0x42, now + tick_ns(1)), 0x0999);
}

static void test_pit_mode3_and_port61(void **state)
{
	struct vpit t;
	u64 now = 0;

	vpit_reset(&t);
	vpit_port61_write(&t, 0xff, now);
	assert_int_equal(vpit_port61_read(&t, 0) & 0xcf, 0x0f); /* bits 0..3 stored, 6 and 7 read 0 */
	vpit_port61_write(&t, 0x03, now);
	vpit_write(&t, 0x43, 0xb6, now); /* mode 3 square wave */
	assert_true(out2(&t, now));
	vpit_write(&t, 0x42, 1000 & 0xff, now);
	vpit_write(&t, 0x42, 1000 >> 8, now);
	assert_true(out2(&t, now + tick_ns(499)));
	assert_false(out2(&t, now + tick_ns(500)));
	assert_true(out2(&t, now + tick_ns(1000)));
	assert_int_equal(read16(&t, 0x42, now + tick_ns(100)), 800); /* decrements by two */
	/* Bit 4 toggles with DRAM refresh, every 15 us. */
	assert_int_not_equal(vpit_port61_read(&t, 1000) & 0x10, vpit_port61_read(&t, 16000) & 0x10);
	assert_int_equal(vpit_port61_read(&t, 1000) & 0x03, 0x03);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pic_mask_and_delivery),
		cmocka_unit_test(test_pic_priority_and_cascade),
		cmocka_unit_test(test_pit_periodic),
		cmocka_unit_test(test_pit_periodic_floor),
		cmocka_unit_test(test_pit_one_shot_and_zero),
		cmocka_unit_test(test_pit_ch2_mode0_out2),
		cmocka_unit_test(test_pit_ch2_gate),
		cmocka_unit_test(test_pit_msb_polling),
		cmocka_unit_test(test_pit_latch_and_read_back),
		cmocka_unit_test(test_pit_mode3_and_port61),
	};

	return cmocka_run_group_tests_name("virtual PIC and PIT", tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* The virtual 8259A pair and 8254 channel 0 the hypervisor gives every VM. */
#include "shim.h"

#include "vmm/vpic.h"
#include "vmm/vpit.h"

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
	assert_int_equal(t.reload, 65536);
	assert_true(vpit_expired(&t, 60000000));
	assert_false(vpit_expired(&t, 200000000)); /* one shot */
	/* Channels 1 and 2 and read-back are ignored without disturbing channel 0. */
	vpit_write(&t, 0x43, 0xb6, 0);
	vpit_write(&t, 0x42, 0x12, 0);
	assert_int_equal(t.reload, 65536);
	assert_int_equal(vpit_read(&t, 0x42, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pic_mask_and_delivery),
		cmocka_unit_test(test_pic_priority_and_cascade),
		cmocka_unit_test(test_pit_periodic),
		cmocka_unit_test(test_pit_one_shot_and_zero),
	};

	return cmocka_run_group_tests_name("virtual PIC and PIT", tests, NULL, NULL);
}

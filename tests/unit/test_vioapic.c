/* SPDX-License-Identifier: MIT */
/* The virtual I/O APIC: registers, edge and level delivery, Remote IRR and EOI. */
#include "shim.h"

#include <string.h>

#include "vmm/dev/vioapic.h"

#define LO(pin) (VIOAPIC_REG_REDIR + 2 * (pin))
#define HI(pin) (VIOAPIC_REG_REDIR + 2 * (pin) + 1)

static u32 reg_read(struct vioapic *io, u32 index)
{
	vioapic_write(io, VIOAPIC_REGSEL, index, NULL, 0);
	return vioapic_read(io, VIOAPIC_WIN);
}

static unsigned reg_write(struct vioapic *io, u32 index, u32 val, struct vioapic_msg *out, unsigned max)
{
	vioapic_write(io, VIOAPIC_REGSEL, index, NULL, 0);
	return vioapic_write(io, VIOAPIC_WIN, val, out, max);
}

/* Programs a pin: high dword first, then the low dword (which may deliver). */
static unsigned program(struct vioapic *io, unsigned pin, u32 lo, u8 dest, struct vioapic_msg *out, unsigned max)
{
	reg_write(io, HI(pin), (u32)dest << 24, NULL, 0);
	return reg_write(io, LO(pin), lo, out, max);
}

static void test_id_version_arb(void **state)
{
	struct vioapic io;

	vioapic_reset(&io, 2);
	assert_int_equal(reg_read(&io, VIOAPIC_REG_ID), 2u << 24);
	assert_int_equal(reg_read(&io, VIOAPIC_REG_VER), 0x00170020); /* 24 entries, version 0x20 */
	assert_int_equal(reg_read(&io, VIOAPIC_REG_ARB), 2u << 24);
	/* ID: bits 27:24 only. */
	reg_write(&io, VIOAPIC_REG_ID, 0xffffffff, NULL, 0);
	assert_int_equal(reg_read(&io, VIOAPIC_REG_ID), 0x0f000000);
	/* VER and ARB are read-only. */
	reg_write(&io, VIOAPIC_REG_VER, 0xffffffff, NULL, 0);
	reg_write(&io, VIOAPIC_REG_ARB, 0, NULL, 0);
	assert_int_equal(reg_read(&io, VIOAPIC_REG_VER), 0x00170020);
	assert_int_equal(reg_read(&io, VIOAPIC_REG_ARB), 0x0f000000);
	/* IOREGSEL keeps bits 7:0. */
	vioapic_write(&io, VIOAPIC_REGSEL, 0x12345601, NULL, 0);
	assert_int_equal(vioapic_read(&io, VIOAPIC_REGSEL), 0x01);
	/* Undecoded offsets read 0, drop writes; the EOI register is write-only. */
	assert_int_equal(vioapic_read(&io, 0x20), 0);
	assert_int_equal(vioapic_read(&io, 0x04), 0);
	assert_int_equal(vioapic_read(&io, VIOAPIC_EOI), 0);
	assert_int_equal(vioapic_write(&io, 0x20, 0xffffffff, NULL, 0), 0);
	assert_int_equal(vioapic_write(&io, 0xffc, 0xffffffff, NULL, 0), 0);
	assert_int_equal(vioapic_read(&io, VIOAPIC_REGSEL), 0x01);
	/* Indexes past the last entry (0x3f) and gaps (0x03-0x0f) read 0, drop writes. */
	assert_int_equal(reg_read(&io, 0x3f), 0);
	for (u32 index = 0x40; index <= 0xff; index++) {
		reg_write(&io, index, 0xffffffff, NULL, 0);
		assert_int_equal(reg_read(&io, index), 0);
	}
	reg_write(&io, 0x03, 0xffffffff, NULL, 0);
	assert_int_equal(reg_read(&io, 0x03), 0);
	for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++)
		assert_int_equal(io.redir[pin], VIOAPIC_RTE_MASKED);
}

static void test_redir_bits(void **state)
{
	struct vioapic io;
	struct vioapic_msg m[VIOAPIC_PINS];

	vioapic_reset(&io, 0);
	for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++) {
		assert_int_equal(reg_read(&io, LO(pin)), 0x00010000); /* masked at power-on */
		assert_int_equal(reg_read(&io, HI(pin)), 0);
	}
	/* Reserved bits, Delivery Status and Remote IRR can't be written. */
	reg_write(&io, LO(5), 0xffffffff, m, VIOAPIC_PINS);
	assert_int_equal(reg_read(&io, LO(5)), 0x0001afff);
	reg_write(&io, HI(5), 0xffffffff, m, VIOAPIC_PINS);
	assert_int_equal(reg_read(&io, HI(5)), 0xff000000);
	assert_int_equal(reg_read(&io, LO(4)), 0x00010000); /* neighbours untouched */
	assert_int_equal(reg_read(&io, LO(6)), 0x00010000);

	/* Remote IRR is set by delivery and survives a guest write that clears bit 14. */
	assert_int_equal(program(&io, 23, 0x8000 | 0x50, 1, m, VIOAPIC_PINS), 0);
	assert_true(vioapic_set_line(&io, 23, true, m));
	assert_int_equal(reg_read(&io, LO(23)), 0xc050);
	assert_int_equal(reg_write(&io, LO(23), 0x8051, m, VIOAPIC_PINS), 0);
	assert_int_equal(reg_read(&io, LO(23)), 0xc051);
	/* Turning the pin edge drops it. */
	reg_write(&io, LO(23), 0x0051, m, VIOAPIC_PINS);
	assert_int_equal(reg_read(&io, LO(23)), 0x0051);
}

static void test_edge(void **state)
{
	struct vioapic io;
	struct vioapic_msg m;

	vioapic_reset(&io, 0);
	/* Lowest priority (1), logical, active low: the level passed in is logical anyway. */
	program(&io, 2, 0x2000 | 0x0800 | 0x0100 | 0x30, 0xab, NULL, 0);
	memset(&m, 0, sizeof(m));
	assert_true(vioapic_set_line(&io, 2, true, &m));
	assert_int_equal(m.vector, 0x30);
	assert_int_equal(m.mode, VIOAPIC_MODE_LOWEST);
	assert_true(m.logical);
	assert_false(m.level);
	assert_int_equal(m.dest, 0xab);
	/* Rising edges only. */
	assert_false(vioapic_set_line(&io, 2, true, &m));
	assert_false(vioapic_set_line(&io, 2, false, &m));
	assert_false(vioapic_set_line(&io, 2, false, &m));
	assert_true(vioapic_set_line(&io, 2, true, &m));
	assert_false(vioapic_set_line(&io, 2, false, &m));
	/* Pulses deliver every time and leave the line low; edge pins never set Remote IRR. */
	assert_true(vioapic_pulse(&io, 2, &m));
	assert_true(vioapic_pulse(&io, 2, &m));
	assert_int_equal(io.line, 0);
	assert_int_equal(reg_read(&io, LO(2)) & VIOAPIC_RTE_REMOTE_IRR, 0);
	/* Fixed, physical, NMI. */
	program(&io, 3, 0x0400, 7, NULL, 0);
	assert_true(vioapic_pulse(&io, 3, &m));
	assert_int_equal(m.mode, VIOAPIC_MODE_NMI);
	assert_false(m.logical);
	assert_int_equal(m.dest, 7);
}

static void test_masked(void **state)
{
	struct vioapic io;
	struct vioapic_msg m[VIOAPIC_PINS];

	vioapic_reset(&io, 0);
	/* A masked edge is lost: unmasking delivers nothing. */
	program(&io, 0, 0x10000 | 0x20, 0, m, VIOAPIC_PINS);
	assert_false(vioapic_pulse(&io, 0, m));
	assert_false(vioapic_set_line(&io, 0, true, m));
	assert_int_equal(reg_write(&io, LO(0), 0x20, m, VIOAPIC_PINS), 0);
	assert_false(vioapic_set_line(&io, 0, true, m)); /* still high: no new edge */
	assert_false(vioapic_set_line(&io, 0, false, m));
	assert_true(vioapic_set_line(&io, 0, true, m));

	/* A masked asserted level pin delivers once unmasked, and only once. */
	program(&io, 11, 0x10000 | 0x8000 | 0x61, 3, m, VIOAPIC_PINS);
	assert_false(vioapic_set_line(&io, 11, true, m));
	assert_int_equal(reg_read(&io, LO(11)) & VIOAPIC_RTE_REMOTE_IRR, 0);
	memset(m, 0, sizeof(m));
	assert_int_equal(reg_write(&io, LO(11), 0x8061, m, VIOAPIC_PINS), 1);
	assert_int_equal(m[0].vector, 0x61);
	assert_true(m[0].level);
	assert_int_equal(m[0].dest, 3);
	assert_int_equal(reg_read(&io, LO(11)), 0xc061);
	assert_int_equal(reg_write(&io, LO(11), 0x8061, m, VIOAPIC_PINS), 0);
	/* Masking again and deasserting: nothing more after the EOI. */
	reg_write(&io, LO(11), 0x18061, m, VIOAPIC_PINS);
	assert_int_equal(vioapic_eoi(&io, 0x61, m, VIOAPIC_PINS), 0);
	vioapic_set_line(&io, 11, false, m);
	assert_int_equal(reg_write(&io, LO(11), 0x8061, m, VIOAPIC_PINS), 0);
	/* A deasserted level pin unmasked delivers nothing. */
	assert_int_equal(reg_read(&io, LO(11)), 0x8061);
}

static void test_level_eoi(void **state)
{
	struct vioapic io;
	struct vioapic_msg m[VIOAPIC_PINS];

	vioapic_reset(&io, 0);
	program(&io, 9, 0x8000 | 0x41, 0, NULL, 0);
	program(&io, 10, 0x8000 | 0x41, 1, NULL, 0); /* shares the vector */
	program(&io, 12, 0x8000 | 0x42, 0, NULL, 0);
	assert_true(vioapic_set_line(&io, 9, true, m));
	assert_true(m[0].level);
	assert_int_equal(m[0].vector, 0x41);
	/* Still asserted, Remote IRR set: nothing until the EOI. */
	assert_false(vioapic_set_line(&io, 9, true, m));
	assert_true(vioapic_set_line(&io, 12, true, m));
	/* An EOI for another vector leaves pin 9 alone. */
	assert_int_equal(vioapic_eoi(&io, 0x40, m, VIOAPIC_PINS), 0);
	assert_true(reg_read(&io, LO(9)) & VIOAPIC_RTE_REMOTE_IRR);
	/* EOI while still asserted: delivered again. */
	memset(m, 0, sizeof(m));
	assert_int_equal(vioapic_eoi(&io, 0x41, m, VIOAPIC_PINS), 1);
	assert_int_equal(m[0].vector, 0x41);
	assert_true(reg_read(&io, LO(9)) & VIOAPIC_RTE_REMOTE_IRR);
	/* Deasserted, then EOI: Remote IRR clears, nothing sent. */
	assert_false(vioapic_set_line(&io, 9, false, m));
	assert_int_equal(vioapic_eoi(&io, 0x41, m, VIOAPIC_PINS), 0);
	assert_int_equal(reg_read(&io, LO(9)), 0x8041);
	assert_true(reg_read(&io, LO(12)) & VIOAPIC_RTE_REMOTE_IRR); /* other vector untouched */
	/* Both pins of a shared vector are released by one EOI and redeliver if asserted. */
	assert_true(vioapic_set_line(&io, 9, true, m));
	assert_true(vioapic_set_line(&io, 10, true, m));
	assert_int_equal(m[0].dest, 1);
	assert_int_equal(vioapic_eoi(&io, 0x41, m, VIOAPIC_PINS), 2);
	assert_int_equal(m[0].dest, 0);
	assert_int_equal(m[1].dest, 1);
}

static void test_eoi_register(void **state)
{
	struct vioapic io;
	struct vioapic_msg m[VIOAPIC_PINS];

	vioapic_reset(&io, 0);
	program(&io, 16, 0x8000 | 0x0800 | 0x71, 0x0f, NULL, 0);
	assert_true(vioapic_set_line(&io, 16, true, m));
	/* Only bits 7:0 name the vector. */
	assert_int_equal(vioapic_write(&io, VIOAPIC_EOI, 0x170, m, VIOAPIC_PINS), 0);
	assert_true(reg_read(&io, LO(16)) & VIOAPIC_RTE_REMOTE_IRR);
	memset(m, 0, sizeof(m));
	assert_int_equal(vioapic_write(&io, VIOAPIC_EOI, 0xffffff71, m, VIOAPIC_PINS), 1);
	assert_int_equal(m[0].vector, 0x71);
	assert_true(m[0].logical);
	assert_int_equal(m[0].dest, 0x0f);
	vioapic_set_line(&io, 16, false, m);
	assert_int_equal(vioapic_write(&io, VIOAPIC_EOI, 0x71, m, VIOAPIC_PINS), 0);
	assert_int_equal(reg_read(&io, LO(16)) & VIOAPIC_RTE_REMOTE_IRR, 0);
}

static void test_eoi_overflow(void **state)
{
	struct vioapic io;
	struct vioapic_msg m[VIOAPIC_PINS];

	vioapic_reset(&io, 0);
	program(&io, 1, 0x8000 | 0x55, 1, NULL, 0);
	program(&io, 2, 0x8000 | 0x55, 2, NULL, 0);
	assert_true(vioapic_set_line(&io, 1, true, m));
	assert_true(vioapic_set_line(&io, 2, true, m));
	/* Room for one: the other stays pending and leaves with the next EOI, whatever its vector. */
	assert_int_equal(vioapic_eoi(&io, 0x55, m, 1), 1);
	assert_int_equal(m[0].dest, 1);
	assert_int_equal(vioapic_eoi(&io, 0x56, NULL, 0), 0);
	assert_int_equal(vioapic_eoi(&io, 0x56, m, VIOAPIC_PINS), 1);
	assert_int_equal(m[0].dest, 2);
}

static void test_bad_pin_and_reset(void **state)
{
	struct vioapic io, copy;
	struct vioapic_msg m;

	vioapic_reset(&io, 1);
	for (unsigned pin = 0; pin < VIOAPIC_PINS; pin++)
		program(&io, pin, 0x20 + pin, 0, NULL, 0);
	memcpy(&copy, &io, sizeof(io));
	assert_false(vioapic_set_line(&io, VIOAPIC_PINS, true, &m));
	assert_false(vioapic_set_line(&io, 32, true, &m));
	assert_false(vioapic_set_line(&io, 0xffffffffu, true, &m));
	assert_false(vioapic_pulse(&io, 1000, &m));
	assert_memory_equal(&io, &copy, sizeof(io));
	/* The last pin works. */
	assert_true(vioapic_pulse(&io, VIOAPIC_PINS - 1, &m));
	assert_int_equal(m.vector, 0x20 + VIOAPIC_PINS - 1);
	/* Reset forgets lines and programming. */
	vioapic_set_line(&io, 4, true, &m);
	vioapic_reset(&io, 0x13);
	assert_int_equal(io.line, 0);
	assert_int_equal(reg_read(&io, VIOAPIC_REG_ID), 0x03000000);
	assert_int_equal(reg_read(&io, LO(4)), 0x00010000);
	assert_false(vioapic_pulse(&io, 4, &m));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_version_arb), cmocka_unit_test(test_redir_bits),
		cmocka_unit_test(test_edge),	       cmocka_unit_test(test_masked),
		cmocka_unit_test(test_level_eoi),      cmocka_unit_test(test_eoi_register),
		cmocka_unit_test(test_eoi_overflow),   cmocka_unit_test(test_bad_pin_and_reset),
	};

	return cmocka_run_group_tests_name("virtual I/O APIC", tests, NULL, NULL);
}

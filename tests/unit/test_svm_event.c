/* SPDX-License-Identifier: MIT */
/*
 * Issue 13 item 7, AMD-V half: a software interrupt (INTn), INT3 or INTO whose delivery an exit
 * cut short goes in again returning past its instruction, on CPUs with NRIPS (NextRIP) and
 * without (RIP, as QEMU's TCG), and an injection cut short again is not moved twice
 * (arch/x86/svm/svm_event.c). Keel used to copy EXITINTINFO back with RIP still on the INT: the
 * handler then returned to the INT and ran twice.
 */
#include "shim.h"

#include <string.h>

#include "arch/x86/svm/vmcb.h"

#define INT_RIP	 0x1000
#define INT_LEN	 2
#define EXT_INTR (EVENTINJ_VALID | EVENTINJ_TYPE_INTR | 0x30)
#define SOFT_80	 (EVENTINJ_VALID | (4ULL << 8) | 0x80)
#define INT3	 (EVENTINJ_VALID | EVENTINJ_TYPE_EXCEPTION | 3)
#define INTO	 (EVENTINJ_VALID | EVENTINJ_TYPE_EXCEPTION | 4)
#define GP	 (EVENTINJ_VALID | EVENTINJ_TYPE_EXCEPTION | EVENTINJ_EV | 13)

static struct vmcb c;
static struct svm_soft_int soft;
static unsigned decodes;
static u64 decode_len;

/* The decoder's answer: the instruction at c.rip is decode_len bytes long (0: unreadable). */
static int fake_end(void *ctx, u64 *next)
{
	(void)ctx;
	decodes++;
	if (!decode_len)
		return -1;
	*next = c.rip + decode_len;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	memset(&c, 0, sizeof(c));
	memset(&soft, 0, sizeof(soft));
	c.rip = INT_RIP;
	c.cs.base = 0x10000;
	decodes = 0;
	decode_len = INT_LEN;
	return 0;
}

static void test_which_events_are_soft(void **state)
{
	u8 op[2];

	(void)state;
	assert_true(svm_event_is_soft(SOFT_80));
	assert_true(svm_event_is_soft(INT3));
	assert_true(svm_event_is_soft(INTO));
	assert_false(svm_event_is_soft(GP));
	assert_false(svm_event_is_soft(EXT_INTR));
	assert_false(svm_event_is_soft(EVENTINJ_VALID | EVENTINJ_TYPE_NMI | 2));
	assert_false(svm_event_is_soft(SOFT_80 & ~EVENTINJ_VALID));
	assert_int_equal(svm_soft_opcode(SOFT_80, op), 2);
	assert_int_equal(op[0], 0xcd);
	assert_int_equal(op[1], 0x80);
	assert_int_equal(svm_soft_opcode(INT3, op), 1);
	assert_int_equal(op[0], 0xcc);
	assert_int_equal(svm_soft_opcode(INTO, op), 1);
	assert_int_equal(op[0], 0xce);
}

/* Without NRIPS the CPU pushes RIP: RIP moves past the INT. */
static void test_no_nrips_moves_rip(void **state)
{
	(void)state;
	c.eventinj = SOFT_80;
	assert_int_equal(svm_requeue_soft(&c, &soft, false, fake_end, NULL), 0);
	assert_int_equal(c.rip, INT_RIP + INT_LEN);
	assert_int_equal(c.eventinj, SOFT_80);
	/* Cut short again: RIP is where Keel put it and stays there; nothing is decoded. */
	assert_int_equal(svm_requeue_soft(&c, &soft, false, fake_end, NULL), 0);
	assert_int_equal(c.rip, INT_RIP + INT_LEN);
	assert_int_equal(decodes, 1);
}

/* With NRIPS the CPU pushes NextRIP: RIP stays on the INT, NextRIP past it, every time. */
static void test_nrips_sets_next_rip(void **state)
{
	(void)state;
	c.eventinj = INT3;
	decode_len = 1;
	c.next_rip = 0xdead; /* stale, from some earlier exit */
	assert_int_equal(svm_requeue_soft(&c, &soft, true, fake_end, NULL), 0);
	assert_int_equal(c.rip, INT_RIP);
	assert_int_equal(c.next_rip, INT_RIP + 1);
	c.next_rip = 0; /* the exit that cut the injection short cleared it */
	assert_int_equal(svm_requeue_soft(&c, &soft, true, fake_end, NULL), 0);
	assert_int_equal(c.rip, INT_RIP);
	assert_int_equal(c.next_rip, INT_RIP + 1);
	assert_int_equal(decodes, 1);
}

/* Two INTs in a row: the second, at the first one's end, is not taken for the first one
 * delivered again once Keel's record says which vector it was and the delivery completed. */
static void test_back_to_back_ints_each_decoded(void **state)
{
	(void)state;
	c.eventinj = SOFT_80;
	assert_int_equal(svm_requeue_soft(&c, &soft, false, fake_end, NULL), 0);
	assert_int_equal(c.rip, INT_RIP + INT_LEN);
	/* The first was delivered (an exit without a software event clears the record, as svm.c
	 * does); then the INT 0x21 right after it is cut short. */
	soft.valid = false;
	c.eventinj = EVENTINJ_VALID | (4ULL << 8) | 0x21;
	assert_int_equal(svm_requeue_soft(&c, &soft, false, fake_end, NULL), 0);
	assert_int_equal(c.rip, INT_RIP + 2 * INT_LEN);
	assert_int_equal(decodes, 2);
	/* Another vector at the recorded place is another instruction too. */
	c.rip = INT_RIP;
	soft = (struct svm_soft_int){
		.valid = true, .vector = 0x80, .cs_base = c.cs.base, .old_rip = 0x0f00, .next_rip = INT_RIP
	};
	c.eventinj = EVENTINJ_VALID | (4ULL << 8) | 0x21;
	assert_int_equal(svm_requeue_soft(&c, &soft, false, fake_end, NULL), 0);
	assert_int_equal(c.rip, INT_RIP + INT_LEN);
}

static void test_unreadable_instruction_fails(void **state)
{
	(void)state;
	c.eventinj = INTO;
	decode_len = 0;
	assert_int_equal(svm_requeue_soft(&c, &soft, false, fake_end, NULL), -1);
	assert_int_equal(c.rip, INT_RIP);
	assert_false(soft.valid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_which_events_are_soft, setup),
		cmocka_unit_test_setup(test_no_nrips_moves_rip, setup),
		cmocka_unit_test_setup(test_nrips_sets_next_rip, setup),
		cmocka_unit_test_setup(test_back_to_back_ints_each_decoded, setup),
		cmocka_unit_test_setup(test_unreadable_instruction_fails, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

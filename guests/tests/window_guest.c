// SPDX-License-Identifier: MIT
/*
 * The VM whose memory window the management VM maps (tests/guests/test_mgmt_window.py,
 * guests/mgmt/tools/keel-wintest.c). It fills one page at RAM offset WIN_PATTERN with a known
 * pattern, prints "window_guest: pattern ready", then waits for the management VM to write
 * WIN_REPLY_VALUE at WIN_REPLY through its window, answers with WIN_ACK_VALUE at WIN_ACK and
 * prints "window_guest: reply seen", and then idles for ever (the test ends with the management
 * VM). Without a reply within about a minute it fails. Needs a hypervisor with a management VM.
 */
#include "guest.h"

GUEST_TEST("window_guest");

#define WIN_PATTERN	0x800000ul /* RAM offset = guest-physical below 3 GiB */
#define WIN_WORDS	512
#define WIN_REPLY	(WIN_PATTERN + 0x1000)
#define WIN_ACK		(WIN_REPLY + 8)
#define WIN_REPLY_VALUE 0x796c7065724e4957ull /* "WINreply" */
#define WIN_ACK_VALUE	0x6b63614b4e4957ull   /* "WINKack" */
#define SPINS		(1ull << 34)

void test_main(void)
{
	volatile uint64_t *p = (volatile uint64_t *)WIN_PATTERN;
	volatile uint64_t *reply = (volatile uint64_t *)WIN_REPLY, *ack = (volatile uint64_t *)WIN_ACK;
	uint64_t n = 0;

	for (unsigned i = 0; i < WIN_WORDS; i++)
		p[i] = 0x57494e0000000000ull | (uint64_t)i << 16 | (uint16_t)~i;
	*reply = 0;
	*ack = 0;
	printf("window_guest: pattern ready\n");
	while (*reply != WIN_REPLY_VALUE && ++n < SPINS)
		__asm__ volatile("pause");
	if (*reply != WIN_REPLY_VALUE)
		fail_now(GUEST_FAIL, "no reply through the window (reads %#llx)", (unsigned long long)*reply);
	*ack = WIN_ACK_VALUE;
	printf("window_guest: reply seen\n");
	for (;;)
		__asm__ volatile("sti; hlt"); /* nothing is unmasked: woken by nothing */
}

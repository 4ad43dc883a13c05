/* SPDX-License-Identifier: MIT */
/*
 * Virtual 8254 channel 0 (Intel 8254 data sheet): modes 0, 2 and 3, binary counting, the latch
 * command and lobyte/hibyte access. Channels 1 and 2 are accepted and ignored. Time comes from
 * the host clock, so the guest sees 1.193182 MHz whatever the host's speed; ticks that were
 * missed while the vCPU did not run are dropped, not queued (as a real PIT's edges would be
 * merged in the PIC's IRR).
 */
#include "vmm/vpit.h"

#define PIT_CH0 0x40
#define PIT_CMD 0x43
/* PIT ticks = ns * 1.193182e-3, as a 32.32 fixed-point multiplier (no 128-bit division here). */
#define NS_TO_TICKS_MULT 5124677ull

void vpit_reset(struct vpit *t)
{
	*t = (struct vpit){ .access = 3, .reload = 65536 };
}

static u16 count_now(const struct vpit *t, u64 now_ns)
{
	u64 ticks;

	if (!t->start_ns)
		return (u16)t->reload;
	ticks = (u64)(((unsigned __int128)(now_ns - t->start_ns) * NS_TO_TICKS_MULT) >> 32);
	if (t->mode == 0)
		return ticks >= t->reload ? 0 : (u16)(t->reload - ticks);
	return (u16)(t->reload - ticks % t->reload);
}

u8 vpit_read(struct vpit *t, u16 port, u64 now_ns)
{
	u16 v;
	u8 out;

	if (port != PIT_CH0)
		return 0;
	v = t->latched ? t->latch : count_now(t, now_ns);
	if (t->access == 1 || (t->access == 3 && !t->read_high)) {
		out = (u8)v;
		if (t->access == 3)
			t->read_high = true;
		else
			t->latched = false;
	} else {
		out = (u8)(v >> 8);
		t->read_high = false;
		t->latched = false;
	}
	return out;
}

static void start(struct vpit *t, u64 now_ns)
{
	t->start_ns = now_ns ? now_ns : 1;
	t->period_ns = (u64)t->reload * 1000000000u / VPIT_HZ; /* fits: reload <= 65536 */
	if (!t->period_ns)
		t->period_ns = 1;
	t->next_ns = now_ns + t->period_ns;
}

void vpit_write(struct vpit *t, u16 port, u8 val, u64 now_ns)
{
	if (port == PIT_CMD) {
		if ((val >> 6) != 0)
			return;		     /* channels 1, 2 and read-back: not modelled */
		if (((val >> 4) & 3) == 0) { /* counter latch */
			t->latch = count_now(t, now_ns);
			t->latched = true;
			return;
		}
		t->access = (val >> 4) & 3;
		t->mode = (val >> 1) & 7;
		if (t->mode > 5)
			t->mode &= 3; /* modes 6 and 7 are aliases of 2 and 3 */
		t->write_high = t->read_high = t->latched = false;
		t->next_ns = 0; /* stopped until the count is written */
		return;
	}
	if (port != PIT_CH0)
		return;
	if (t->access == 1 || (t->access == 3 && !t->write_high)) {
		t->reload = (t->reload & 0xff00) | val;
		if (t->access == 3) {
			t->write_high = true;
			return;
		}
	} else {
		t->reload = (t->reload & 0x00ff) | ((u32)val << 8);
		t->write_high = false;
	}
	if ((t->reload & 0xffff) == 0)
		t->reload = 65536;
	t->reload &= 0x1ffff;
	start(t, now_ns);
}

bool vpit_expired(struct vpit *t, u64 now_ns)
{
	if (!t->next_ns || now_ns < t->next_ns)
		return false;
	if (t->mode == 0) {
		t->next_ns = 0;
		return true;
	}
	t->next_ns += t->period_ns;
	if (t->next_ns <= now_ns)
		t->next_ns = now_ns + t->period_ns;
	return true;
}

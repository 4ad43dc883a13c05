/* SPDX-License-Identifier: MIT */
/*
 * Virtual 8254 (Intel 82C54 data sheet, order 231244): three counters, modes 0..5, binary or BCD
 * counting, lobyte/hibyte access, the counter latch and read-back commands, and channel 2's gate
 * on port 0x61 bit 0 as on every PC. Time comes from the host clock, so the guest sees 1.193182 MHz
 * whatever the host's speed. Only channel 0 interrupts (IRQ 0); ticks that were missed while the
 * vCPU did not run are dropped, not queued (as a real PIT's edges would be merged in the PIC's IRR).
 *
 * Each counter is "ticks counted so far": `ticks` plus the time since `start_ns` while it
 * decrements. A change of gate or programming folds the running part into `ticks` first.
 * Simplifications, none of which Linux or firmware rely on: a count is loaded at once rather than
 * on the next CLK edge (so mode 0's OUT rises after N ticks, not N + 1); a new count written in
 * mode 2 or 3 restarts the period at once instead of at the end of the current one; in modes 1
 * and 5 it waits for the next gate trigger; mode 3 with an odd count reads as if it were even.
 */
#include "vmm/dev/vpit.h"

#define PIT_CH0 0x40
#define PIT_CH2 0x42
#define PIT_CMD 0x43
/* Control word (data sheet "Control Word Format"): SC1 SC0 RW1 RW0 M2 M1 M0 BCD. */
#define CW_SC(v)     ((v) >> 6)
#define CW_RW(v)     (((v) >> 4) & 3)
#define CW_MODE(v)   (((v) >> 1) & 7)
#define CW_BCD	     0x01
#define CW_READ_BACK 3
#define RB_NO_COUNT  0x20 /* read-back: bit clear latches the count */
#define RB_NO_STATUS 0x10 /* read-back: bit clear latches the status */
#define STATUS_OUT   0x80
#define STATUS_NULL  0x40
#define P61_GATE2    0x01
#define P61_WRITABLE 0x0f
#define P61_REFRESH  0x10
#define P61_OUT2     0x20
#define REFRESH_NS   15085 /* DRAM refresh request period of the PC/AT (channel 1, count 18) */
#define NS_PER_SEC   1000000000ull

/* Exact (floor) in 64 bits: the remainder times VPIT_HZ stays below 2^61. */
static u64 ns_to_ticks(u64 ns)
{
	return ns / NS_PER_SEC * VPIT_HZ + ns % NS_PER_SEC * VPIT_HZ / NS_PER_SEC;
}

static u32 modulus(const struct vpit_channel *c)
{
	return c->bcd ? 10000 : 65536;
}

/* Channels 0 and 1 have their gates tied high on a PC. */
static bool gate(const struct vpit *t, unsigned i)
{
	return i != 2 || (t->port61 & P61_GATE2);
}

/* A low gate pauses modes 0, 2, 3 and 4; modes 1 and 5 only start on its rising edge. */
static bool decrementing(const struct vpit *t, unsigned i)
{
	const struct vpit_channel *c = &t->ch[i];

	return c->armed && c->loaded && (c->mode == 1 || c->mode == 5 || gate(t, i));
}

static u64 elapsed(const struct vpit *t, unsigned i, u64 now_ns)
{
	const struct vpit_channel *c = &t->ch[i];

	if (!decrementing(t, i) || now_ns <= c->start_ns)
		return c->ticks;
	return c->ticks + ns_to_ticks(now_ns - c->start_ns);
}

static void fold(struct vpit *t, unsigned i, u64 now_ns)
{
	t->ch[i].ticks = elapsed(t, i, now_ns);
	t->ch[i].start_ns = now_ns;
}

static u16 to_bcd(u32 v)
{
	return (u16)(v % 10 | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 | (v / 1000 % 10) << 12);
}

/* The counting element as the guest reads it. */
static u16 count_now(const struct vpit *t, unsigned i, u64 now_ns)
{
	const struct vpit_channel *c = &t->ch[i];
	u64 e = elapsed(t, i, now_ns), n = c->reload, m = modulus(c), v, in;

	switch (c->mode) {
	case 2:
		v = n - e % n;
		break;
	case 3: /* decrements by two, twice a period: high for the first half, low for the second */
		in = e % n;
		if (in >= (n + 1) / 2)
			in -= (n + 1) / 2;
		v = (n & ~1ull) - 2 * in;
		break;
	default: /* modes 0, 1, 4, 5 keep counting down past terminal count, wrapping */
		v = (n + m - e % m) % m;
		break;
	}
	v %= m;
	return c->bcd ? to_bcd((u32)v) : (u16)v;
}

/* The OUT pin (data sheet, "Mode Definitions"). */
static bool out_now(const struct vpit *t, unsigned i, u64 now_ns)
{
	const struct vpit_channel *c = &t->ch[i];
	u64 e = elapsed(t, i, now_ns), n = c->reload;

	if (!c->armed) /* after a control word: low in mode 0, high in the others */
		return c->mode != 0;
	switch (c->mode) {
	case 0:
		return e >= n;
	case 1:
		return !c->loaded || e >= n;
	case 2:
		return !gate(t, i) || e % n != n - 1;
	case 3:
		return !gate(t, i) || e % n < (n + 1) / 2;
	default: /* 4, 5: one tick low at terminal count */
		return !c->loaded || e != n;
	}
}

void vpit_reset(struct vpit *t)
{
	*t = (struct vpit){ 0 };
	for (unsigned i = 0; i < 3; i++)
		t->ch[i] = (struct vpit_channel){ .access = 3, .reload = 65536 };
}

static void latch_count(struct vpit *t, unsigned i, u64 now_ns)
{
	struct vpit_channel *c = &t->ch[i];

	/* A second latch before the first is read is ignored. */
	if (!c->latched) {
		c->latch = count_now(t, i, now_ns);
		c->latched = true;
	}
}

static void latch_status(struct vpit *t, unsigned i, u64 now_ns)
{
	struct vpit_channel *c = &t->ch[i];

	if (c->status_latched)
		return;
	c->status = (u8)(c->access << 4 | c->mode << 1 | (c->bcd ? CW_BCD : 0));
	if (out_now(t, i, now_ns))
		c->status |= STATUS_OUT;
	if (!c->armed || !c->loaded)
		c->status |= STATUS_NULL; /* the count written is not in the counting element yet */
	c->status_latched = true;
}

u8 vpit_read(struct vpit *t, u16 port, u64 now_ns)
{
	struct vpit_channel *c;
	unsigned i = port - PIT_CH0;
	u16 v;
	u8 out;

	if (port < PIT_CH0 || port > PIT_CH2)
		return 0; /* the control word register is write-only */
	c = &t->ch[i];
	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	v = c->latched ? c->latch : count_now(t, i, now_ns);
	if (c->access == 1 || (c->access == 3 && !c->read_high)) {
		out = (u8)v;
		if (c->access == 3)
			c->read_high = true;
		else
			c->latched = false;
	} else {
		out = (u8)(v >> 8);
		c->read_high = false;
		c->latched = false;
	}
	return out;
}

/* Channel 0's IRQ 0: at terminal count in modes 0 and 4, once a period in modes 2 and 3. */
static void schedule_irq0(struct vpit *t, u64 now_ns)
{
	const struct vpit_channel *c = &t->ch[0];

	t->next_ns = 0;
	if (!c->armed || !c->loaded || c->mode == 1 || c->mode == 5)
		return; /* modes 1 and 5 need a gate edge, and channel 0's gate is tied high */
	t->period_ns = (u64)c->reload * NS_PER_SEC / VPIT_HZ; /* fits: reload <= 65536 */
	/* Periodic modes interrupt at most every VPIT_MIN_PERIOD_NS (a count of 1 would ask for an
	 * interrupt every 838 ns); the counter itself still counts at the programmed rate. */
	if ((c->mode == 2 || c->mode == 3) && t->period_ns < VPIT_MIN_PERIOD_NS)
		t->period_ns = VPIT_MIN_PERIOD_NS;
	if (!t->period_ns)
		t->period_ns = 1;
	t->next_ns = now_ns + t->period_ns;
}

static void control_word(struct vpit *t, u8 val, u64 now_ns)
{
	struct vpit_channel *c;
	unsigned i = CW_SC(val);

	if (i == CW_READ_BACK) {
		for (i = 0; i < 3; i++) {
			if (!(val & (2u << i)))
				continue;
			if (!(val & RB_NO_STATUS))
				latch_status(t, i, now_ns);
			if (!(val & RB_NO_COUNT))
				latch_count(t, i, now_ns);
		}
		return;
	}
	if (CW_RW(val) == 0) {
		latch_count(t, i, now_ns);
		return;
	}
	c = &t->ch[i];
	c->access = CW_RW(val);
	c->mode = CW_MODE(val);
	if (c->mode > 5)
		c->mode &= 3; /* modes 6 and 7 are aliases of 2 and 3 */
	c->bcd = val & CW_BCD;
	c->write_high = c->read_high = c->latched = c->status_latched = false;
	c->armed = c->loaded = false; /* stopped until the count is written */
	c->ticks = 0;
	if (i == 0)
		t->next_ns = 0;
}

static u32 count_from(const struct vpit_channel *c, u16 v)
{
	u32 n = v;

	if (c->bcd) /* invalid digits are taken at face value, then wrapped */
		n = ((v >> 12) * 1000 + (v >> 8 & 15) * 100 + (v >> 4 & 15) * 10 + (v & 15)) % 10000;
	return n ? n : modulus(c); /* 0 is the largest count */
}

void vpit_write(struct vpit *t, u16 port, u8 val, u64 now_ns)
{
	struct vpit_channel *c;
	unsigned i = port - PIT_CH0;
	u16 v;

	if (port == PIT_CMD) {
		control_word(t, val, now_ns);
		return;
	}
	if (port < PIT_CH0 || port > PIT_CH2)
		return;
	c = &t->ch[i];
	if (c->access == 3 && !c->write_high) {
		c->lsb = val;
		c->write_high = true;
		if (c->mode == 0) { /* mode 0: the first byte stops counting, OUT goes low */
			fold(t, i, now_ns);
			c->armed = false;
			if (i == 0)
				t->next_ns = 0;
		}
		return;
	}
	if (c->access == 1)
		v = val;
	else if (c->access == 2)
		v = (u16)(val << 8);
	else
		v = (u16)(c->lsb | val << 8);
	c->write_high = false;
	c->reload = count_from(c, v);
	c->armed = true;
	c->loaded = c->mode != 1 && c->mode != 5;
	c->ticks = 0;
	c->start_ns = now_ns;
	if (i == 0)
		schedule_irq0(t, now_ns);
}

bool vpit_expired(struct vpit *t, u64 now_ns)
{
	if (!t->next_ns || now_ns < t->next_ns)
		return false;
	if (t->ch[0].mode == 0 || t->ch[0].mode == 4) {
		t->next_ns = 0;
		return true;
	}
	t->next_ns += t->period_ns;
	if (t->next_ns <= now_ns)
		t->next_ns = now_ns + t->period_ns;
	return true;
}

u8 vpit_port61_read(struct vpit *t, u64 now_ns)
{
	u8 v = t->port61 & P61_WRITABLE;

	if ((now_ns / REFRESH_NS) & 1)
		v |= P61_REFRESH;
	if (out_now(t, 2, now_ns))
		v |= P61_OUT2;
	return v;
}

void vpit_port61_write(struct vpit *t, u8 val, u64 now_ns)
{
	struct vpit_channel *c = &t->ch[2];
	bool was = gate(t, 2);

	fold(t, 2, now_ns);
	t->port61 = val & P61_WRITABLE;
	/* A rising edge (re)loads the count in modes 1, 2, 3 and 5; modes 0 and 4 just resume. */
	if (!was && gate(t, 2) && c->armed && c->mode != 0 && c->mode != 4) {
		c->loaded = true;
		c->ticks = 0;
	}
}

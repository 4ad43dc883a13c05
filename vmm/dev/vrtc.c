/* SPDX-License-Identifier: MIT */
/*
 * Virtual MC146818A real-time clock (Motorola MC146818A data sheet; the same registers as the
 * DS12887 and every PC chipset's RTC). The clock is a base, Unix time base_secs at host time
 * base_ns, plus the host time since; seconds tick at base_ns + k s. While SET is 1 the clock stands
 * still and the time bytes in cmos[] are the guest's to write; clearing SET makes them the new base.
 *
 * Events are computed lazily: register C and vrtc_poll account whatever happened since the last
 * look, once per kind, so neither a slow guest nor a fast periodic rate can queue interrupts.
 * Not modelled: the divider bits of register A are stored but do not stop the clock, daylight
 * saving (DSE) is stored and ignored, and the square-wave output does not exist on a PC.
 */
#include "vmm/dev/vrtc.h"

#include "kernel/lib/calendar.h"

#define NS_PER_SEC   1000000000ull
#define SECS_PER_DAY 86400
/* UIP rises 244 us before an update cycle and time bytes are unsafe until it falls (data sheet,
 * "Update Cycle"). The update itself takes no time here, so UIP is the 244 us before the tick. */
#define UIP_NS		244000
#define A_RATE(a)	((a)&0x0f)
#define A_WRITABLE	0x7f
#define ALARM_DONT_CARE 0xc0 /* 11xxxxxx in an alarm byte matches any value */
#define HOUR_PM		0x80 /* 12-hour mode */
#define VRTC_INDEX_MASK 0x7f /* bit 7 of the index port is the NMI mask on a PC */
#define EPOCH_WEEKDAY	5    /* 1970-01-01 was a Thursday; the weekday byte counts Sunday as 1 */

static s64 floor_div(s64 a, s64 b)
{
	return a / b - (a % b < 0);
}

static bool binary(const struct vrtc *r)
{
	return r->cmos[VRTC_REG_B] & VRTC_B_DM;
}

static u8 enc(const struct vrtc *r, unsigned v)
{
	return binary(r) ? (u8)v : (u8)(v / 10 << 4 | v % 10);
}

static unsigned dec(const struct vrtc *r, u8 v)
{
	return binary(r) ? v : (v >> 4) * 10 + (v & 15);
}

static u8 enc_hour(const struct vrtc *r, unsigned h)
{
	if (r->cmos[VRTC_REG_B] & VRTC_B_24H)
		return enc(r, h);
	return (u8)(enc(r, h % 12 ? h % 12 : 12) | (h >= 12 ? HOUR_PM : 0));
}

static unsigned dec_hour(const struct vrtc *r, u8 v)
{
	if (r->cmos[VRTC_REG_B] & VRTC_B_24H)
		return dec(r, v);
	return dec(r, v & ~HOUR_PM) % 12 + (v & HOUR_PM ? 12 : 0);
}

static bool is_time_index(unsigned i)
{
	return i == VRTC_SEC || i == VRTC_MIN || i == VRTC_HOUR || (i >= VRTC_WDAY && i <= VRTC_YEAR) ||
	       i == VRTC_CENTURY_INDEX;
}

static s64 now_secs(const struct vrtc *r, u64 now_ns)
{
	return r->base_secs + (s64)(now_ns > r->base_ns ? (now_ns - r->base_ns) / NS_PER_SEC : 0);
}

/* The time bytes for Unix time secs, in the format register B selects. */
static void store_time(struct vrtc *r, s64 secs)
{
	s64 days = floor_div(secs, SECS_PER_DAY), y;
	unsigned tod = (unsigned)(secs - days * SECS_PER_DAY), m, d;

	civil_from_days(days, &y, &m, &d);
	r->cmos[VRTC_SEC] = enc(r, tod % 60);
	r->cmos[VRTC_MIN] = enc(r, tod / 60 % 60);
	r->cmos[VRTC_HOUR] = enc_hour(r, tod / 3600);
	r->cmos[VRTC_WDAY] = enc(r, (unsigned)((days % 7 + 7 + EPOCH_WEEKDAY - 1) % 7) + 1);
	r->cmos[VRTC_MDAY] = enc(r, d);
	r->cmos[VRTC_MONTH] = enc(r, m);
	r->cmos[VRTC_YEAR] = enc(r, (unsigned)(y % 100));
	r->cmos[VRTC_CENTURY_INDEX] = enc(r, (unsigned)(y / 100 % 100));
}

static unsigned clamp(unsigned v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * Unix time from the time bytes. Out-of-range fields, which a real chip would tick through in
 * undefined ways, are clamped; a day past the month's end rolls into the next month. A century
 * byte outside 19..99 (a guest that does not keep it) is replaced by the usual 1970..2069 window.
 * The weekday byte is not an input: it is recomputed from the date.
 */
static s64 load_time(const struct vrtc *r)
{
	unsigned sec = clamp(dec(r, r->cmos[VRTC_SEC]), 0, 59), min = clamp(dec(r, r->cmos[VRTC_MIN]), 0, 59);
	unsigned hour = clamp(dec_hour(r, r->cmos[VRTC_HOUR]), 0, 23);
	unsigned d = clamp(dec(r, r->cmos[VRTC_MDAY]), 1, 31), m = clamp(dec(r, r->cmos[VRTC_MONTH]), 1, 12);
	unsigned yy = clamp(dec(r, r->cmos[VRTC_YEAR]), 0, 99), cc = dec(r, r->cmos[VRTC_CENTURY_INDEX]);
	s64 y = cc >= 19 && cc <= 99 ? cc * 100 + yy : (yy < 70 ? 2000 : 1900) + yy;

	return days_from_civil(y, m, d) * SECS_PER_DAY + hour * 3600 + min * 60 + sec;
}

/* The value 0..n-1 whose encoding is the alarm byte: -1 for don't care, -2 for none (never). */
static int alarm_value(const struct vrtc *r, unsigned index, unsigned n)
{
	u8 v = r->cmos[index];

	if ((v & ALARM_DONT_CARE) == ALARM_DONT_CARE)
		return -1;
	for (unsigned x = 0; x < n; x++)
		if ((index == VRTC_ALARM_HOUR ? enc_hour(r, x) : enc(r, x)) == v)
			return (int)x;
	return -2;
}

/* Finds the first second after `after` whose time of day matches the alarm bytes. */
static bool next_alarm(const struct vrtc *r, s64 after, s64 *at)
{
	int as = alarm_value(r, VRTC_ALARM_SEC, 60), am = alarm_value(r, VRTC_ALARM_MIN, 60);
	int ah = alarm_value(r, VRTC_ALARM_HOUR, 24);
	s64 start = after + 1, day = floor_div(start, SECS_PER_DAY);
	unsigned tod = (unsigned)(start - day * SECS_PER_DAY);

	if (as == -2 || am == -2 || ah == -2)
		return false;
	/* Every minute from this one to the same minute tomorrow. */
	for (unsigned i = 0; i <= 24 * 60; i++) {
		unsigned md = tod / 60 + i, lo = i ? 0 : tod % 60;

		if ((ah >= 0 && md / 60 % 24 != (unsigned)ah) || (am >= 0 && md % 60 != (unsigned)am))
			continue;
		if (as < 0 || (unsigned)as >= lo) {
			*at = day * SECS_PER_DAY + md * 60 + (as < 0 ? lo : (unsigned)as);
			return true;
		}
	}
	return false;
}

static bool running(const struct vrtc *r)
{
	return !(r->cmos[VRTC_REG_B] & VRTC_B_SET);
}

static void arm_alarm(struct vrtc *r, u64 now_ns)
{
	s64 at;

	r->next_af_ns = 0;
	if (running(r) && next_alarm(r, now_secs(r, now_ns), &at))
		r->next_af_ns = r->base_ns + (u64)(at - r->base_secs) * NS_PER_SEC;
}

static u64 next_second(const struct vrtc *r, u64 now_ns)
{
	u64 k = now_ns > r->base_ns ? (now_ns - r->base_ns) / NS_PER_SEC : 0;

	return r->base_ns + (k + 1) * NS_PER_SEC;
}

static void set_base(struct vrtc *r, s64 secs, u64 now_ns)
{
	r->base_secs = secs;
	r->base_ns = now_ns;
	r->next_uf_ns = next_second(r, now_ns);
	arm_alarm(r, now_ns);
}

/* Periodic rate (data sheet table "Periodic Interrupt Rate"): with the 32.768 kHz time base,
 * rates 1 and 2 give 256 and 128 Hz, rate n >= 3 gives 32768 >> (n - 1) Hz; 0 is off. */
static u64 pf_period_ns(unsigned rate)
{
	unsigned shift = rate < 3 ? rate + 6 : rate - 1; /* rates 1, 2 act as 8, 9 */

	return (NS_PER_SEC << shift) >> 15;
}

/* IRQF = PF.PIE + AF.AIE + UF.UIE: the enable bits of B sit where the flags sit in C. */
static void update_irqf(struct vrtc *r)
{
	u8 *c = &r->cmos[VRTC_REG_C];
	u8 flags = VRTC_C_PF | VRTC_C_AF | VRTC_C_UF;

	if (*c & r->cmos[VRTC_REG_B] & flags) {
		*c |= VRTC_C_IRQF;
	} else {
		*c &= (u8)~VRTC_C_IRQF;
		r->irq_line = false;
	}
}

/* Sets in register C the flags of the events since the last call, each at most once. */
static void account(struct vrtc *r, u64 now_ns)
{
	u8 *c = &r->cmos[VRTC_REG_C];

	if (r->next_pf_ns && now_ns >= r->next_pf_ns) {
		u64 p = pf_period_ns(A_RATE(r->cmos[VRTC_REG_A]));

		*c |= VRTC_C_PF;
		r->next_pf_ns += ((now_ns - r->next_pf_ns) / p + 1) * p;
	}
	if (r->next_uf_ns && now_ns >= r->next_uf_ns) {
		*c |= VRTC_C_UF;
		r->next_uf_ns = next_second(r, now_ns);
	}
	if (r->next_af_ns && now_ns >= r->next_af_ns) {
		*c |= VRTC_C_AF;
		arm_alarm(r, now_ns);
	}
	update_irqf(r);
}

void vrtc_init(struct vrtc *r, u64 unix_seconds_at_now, u64 now_ns)
{
	*r = (struct vrtc){ 0 };
	r->cmos[VRTC_REG_A] = 0x26; /* divider 010 (32.768 kHz), rate 6 (1024 Hz), as PC firmware sets */
	r->cmos[VRTC_REG_B] = VRTC_B_24H;
	r->cmos[VRTC_REG_D] = VRTC_D_VRT;
	r->next_pf_ns = now_ns + pf_period_ns(6);
	set_base(r, (s64)unix_seconds_at_now, now_ns);
	store_time(r, r->base_secs);
}

static u8 read_data(struct vrtc *r, unsigned i, u64 now_ns)
{
	u8 v;

	switch (i) {
	case VRTC_REG_A:
		v = r->cmos[VRTC_REG_A];
		if (running(r) && now_ns > r->base_ns && (now_ns - r->base_ns) % NS_PER_SEC >= NS_PER_SEC - UIP_NS)
			v |= VRTC_A_UIP;
		return v;
	case VRTC_REG_C: /* reading C clears it and drops the IRQ line */
		account(r, now_ns);
		v = r->cmos[VRTC_REG_C];
		r->cmos[VRTC_REG_C] = 0;
		r->irq_line = false;
		return v;
	case VRTC_REG_D:
		return VRTC_D_VRT; /* the battery is fine */
	default:
		if (is_time_index(i) && running(r))
			store_time(r, now_secs(r, now_ns));
		return r->cmos[i];
	}
}

static void write_b(struct vrtc *r, u8 val, u64 now_ns)
{
	bool was_set = !running(r);

	account(r, now_ns); /* events so far count under the old enables */
	if (val & VRTC_B_SET)
		val &= (u8)~VRTC_B_UIE; /* SET clears UIE (data sheet, register B) */
	r->cmos[VRTC_REG_B] = val;
	if (!was_set && !running(r)) {
		/* Stop the clock; the time bytes become the guest's, in the new format. */
		store_time(r, now_secs(r, now_ns));
		r->next_uf_ns = r->next_af_ns = 0;
	} else if (was_set && running(r)) {
		set_base(r, load_time(r), now_ns);
	} else {
		arm_alarm(r, now_ns); /* the alarm bytes are compared in the current format */
	}
	update_irqf(r);
}

static void write_data(struct vrtc *r, unsigned i, u8 val, u64 now_ns)
{
	switch (i) {
	case VRTC_REG_A:
		account(r, now_ns);
		if (A_RATE(val) != A_RATE(r->cmos[VRTC_REG_A]))
			r->next_pf_ns = A_RATE(val) ? now_ns + pf_period_ns(A_RATE(val)) : 0;
		r->cmos[VRTC_REG_A] = val & A_WRITABLE; /* UIP is read-only */
		return;
	case VRTC_REG_B:
		write_b(r, val, now_ns);
		return;
	case VRTC_REG_C:
	case VRTC_REG_D:
		return; /* read-only */
	case VRTC_ALARM_SEC:
	case VRTC_ALARM_MIN:
	case VRTC_ALARM_HOUR:
		account(r, now_ns);
		r->cmos[i] = val;
		arm_alarm(r, now_ns);
		return;
	default:
		if (!is_time_index(i) || !running(r)) {
			r->cmos[i] = val;
			return;
		}
		/* A time byte written with the clock running: the clock jumps to the new time now. */
		account(r, now_ns);
		store_time(r, now_secs(r, now_ns));
		r->cmos[i] = val;
		set_base(r, load_time(r), now_ns);
		return;
	}
}

u8 vrtc_read(struct vrtc *r, u16 port, u64 now_ns)
{
	if (port == VRTC_PORT_DATA)
		return read_data(r, r->index & VRTC_INDEX_MASK, now_ns);
	return 0xff; /* the index port is write-only */
}

void vrtc_write(struct vrtc *r, u16 port, u8 val, u64 now_ns)
{
	if (port == VRTC_PORT_INDEX)
		r->index = val;
	else if (port == VRTC_PORT_DATA)
		write_data(r, r->index & VRTC_INDEX_MASK, val, now_ns);
}

bool vrtc_poll(struct vrtc *r, u64 now_ns)
{
	bool irqf;

	account(r, now_ns);
	irqf = r->cmos[VRTC_REG_C] & VRTC_C_IRQF;
	if (!irqf || r->irq_line)
		return false;
	r->irq_line = true;
	return true;
}

static u64 earliest(u64 a, u64 b)
{
	return !a || !b ? a | b : MIN(a, b);
}

u64 vrtc_next_ns(const struct vrtc *r)
{
	u8 b = r->cmos[VRTC_REG_B];
	u64 next = 0;

	if (r->cmos[VRTC_REG_C] & VRTC_C_IRQF)
		return r->irq_line ? 0 : 1;
	if (b & VRTC_B_PIE)
		next = earliest(next, r->next_pf_ns);
	if (b & VRTC_B_UIE)
		next = earliest(next, r->next_uf_ns);
	if (b & VRTC_B_AIE)
		next = earliest(next, r->next_af_ns);
	return next;
}

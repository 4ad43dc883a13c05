/* SPDX-License-Identifier: MIT */
/*
 * Virtual local APIC (Intel SDM vol. 3A ch. 11). One register file serves both interfaces: the
 * xAPIC page masks what the guest writes, as hardware ignores read-only and reserved bits, while
 * the x2APIC MSRs check the same writable masks and raise #GP (-EINVAL) on anything else
 * (SDM §11.12.1.2). Local interrupts and IPIs are delivered at once, so no delivery-status bit
 * (ICR, LVT bit 12) ever reads 1.
 *
 * The timer counts from the caller's clock: start time and deadline are stored, the current
 * count is derived on each read. A periodic timer keeps its phase on the grid start + k * period.
 */
#include "vmm/dev/vlapic.h"

/* Local APIC version register (SDM §11.4.8): version 0x14 (integrated APIC), max LVT entry 6
 * (CMCI included), no EOI-broadcast suppression (bit 24 clear). */
#define APIC_VERSION ((u32)(VLAPIC_NR_LVT - 1) << 16 | 0x14)

#define X2APIC_MSR_FIRST 0x800u
#define X2APIC_MSR_LAST	 0x8ffu

#define SVR_ENABLE   (1u << 8)
#define SVR_WRITABLE 0x3ffu /* vector, software enable, focus checking; bit 12 needs version bit 24 */

#define LVT_VECTOR	 0xffu
#define LVT_MASKED	 (1u << 16)
#define LVT_TIMER_SHIFT	 17 /* mode: 0 one-shot (and reserved 3), 1 periodic, 2 TSC deadline */
#define TIMER_PERIODIC	 1u
#define TIMER_TSC_DEADLN 2u

#define ESR_SEND_ILLEGAL (1u << 5) /* SDM §11.5.3 */
#define ESR_RECV_ILLEGAL (1u << 6)

/* ICR (SDM §11.6.1, figure 11-12): vector, delivery mode, destination mode, level, trigger and
 * shorthand; bit 12 (delivery status) is read-only, the rest reserved. */
#define ICR_VECTOR	    0xffu
#define ICR_MODE_SHIFT	    8
#define ICR_LOGICAL	    (1u << 11)
#define ICR_ASSERT	    (1u << 14)
#define ICR_LEVEL	    (1u << 15)
#define ICR_SHORTHAND_SHIFT 18
#define ICR_WRITABLE	    0x000ccfffu

#define XAPIC_ID_MASK 0xff000000u /* ID, LDR and ICR high keep their 8-bit field in bits 31:24 */
#define DFR_MODEL     0xf0000000u
#define DFR_FLAT      0xf0000000u
#define DIV_WRITABLE  0xbu /* SDM figure 11-10: bits 0, 1 and 3 */

/* Register attributes by offset / 16 (SDM tables 11-1 and 11-6), and the bits a write may set:
 * xAPIC writes are masked with them, as hardware ignores read-only and reserved bits, x2APIC
 * writes outside them are #GP (SDM §11.12.1.2). LVT entries (SDM figure 11-8): vector, delivery
 * mode (not timer and error), polarity and trigger (LINT0/1), mask, timer mode. */
#define REG_R	   0x01
#define REG_W	   0x02
#define REG_XAPIC  0x04 /* absent from the x2APIC MSRs */
#define REG_X2APIC 0x08 /* x2APIC only */
#define REG_X2RO   0x10 /* read-only in x2APIC mode */
#define REG_X2ZERO 0x20 /* x2APIC: only 0 may be written */
#define REG_RW	   (REG_R | REG_W)

static const struct {
	u8 flags;
	u32 mask;
} regs[0x40] = {
	[VLAPIC_ID >> 4] = { REG_RW | REG_X2RO, XAPIC_ID_MASK },
	[VLAPIC_VERSION >> 4] = { REG_R, 0 },
	[VLAPIC_TPR >> 4] = { REG_RW, 0xff },
	[VLAPIC_APR >> 4] = { REG_R | REG_XAPIC, 0 },
	[VLAPIC_PPR >> 4] = { REG_R, 0 },
	[VLAPIC_EOI >> 4] = { REG_W | REG_X2ZERO, ~0u },
	[VLAPIC_RRD >> 4] = { REG_R | REG_XAPIC, 0 },
	[VLAPIC_LDR >> 4] = { REG_RW | REG_X2RO, XAPIC_ID_MASK },
	[VLAPIC_DFR >> 4] = { REG_RW | REG_XAPIC, DFR_MODEL },
	[VLAPIC_SVR >> 4] = { REG_RW, SVR_WRITABLE },
	[VLAPIC_ISR >> 4 ...(VLAPIC_ESR >> 4) - 1] = { REG_R, 0 },
	[VLAPIC_ESR >> 4] = { REG_RW | REG_X2ZERO, ~0u },
	[VLAPIC_LVT_CMCI >> 4] = { REG_RW, 0x000107ff },
	[VLAPIC_ICR_LO >> 4] = { REG_RW, ICR_WRITABLE },
	[VLAPIC_ICR_HI >> 4] = { REG_RW | REG_XAPIC, XAPIC_ID_MASK },
	[VLAPIC_LVT_TIMER >> 4] = { REG_RW, 0x000700ff },
	[VLAPIC_LVT_THERMAL >> 4] = { REG_RW, 0x000107ff },
	[VLAPIC_LVT_PMC >> 4] = { REG_RW, 0x000107ff },
	[VLAPIC_LVT_LINT0 >> 4] = { REG_RW, 0x0001a7ff },
	[VLAPIC_LVT_LINT1 >> 4] = { REG_RW, 0x0001a7ff },
	[VLAPIC_LVT_ERROR >> 4] = { REG_RW, 0x000100ff },
	[VLAPIC_TIMER_INIT >> 4] = { REG_RW, ~0u },
	[VLAPIC_TIMER_CUR >> 4] = { REG_R, 0 },
	[VLAPIC_TIMER_DIV >> 4] = { REG_RW, DIV_WRITABLE },
	[VLAPIC_SELF_IPI >> 4] = { REG_W | REG_X2APIC, ICR_VECTOR },
};

void vlapic_reset(struct vlapic *l, u32 id)
{
	*l = (struct vlapic){ .id = id, .hw_enabled = true, .svr = 0xff, .dfr = 0xffffffff };
	for (int i = 0; i < VLAPIC_NR_LVT; i++)
		l->lvt[i] = LVT_MASKED;
}

static bool sw_enabled(const struct vlapic *l)
{
	return l->hw_enabled && (l->svr & SVR_ENABLE);
}

static int highest_vector(const u32 r[8])
{
	for (int i = 7; i >= 0; i--)
		if (r[i])
			return i * 32 + 31 - __builtin_clz(r[i]);
	return -1;
}

static void set_vec(u32 r[8], u8 v)
{
	r[v >> 5] |= 1u << (v & 31);
}

static void clear_vec(u32 r[8], u8 v)
{
	r[v >> 5] &= ~(1u << (v & 31));
}

/* An error the APIC detects is latched for the next ESR write and signalled through the LVT
 * error entry (SDM §11.5.3). An illegal error vector only adds its own error bit: no loop. */
static void raise_error(struct vlapic *l, u32 bit)
{
	u32 lvt = l->lvt[LVT_ERROR];

	l->esr_pending |= bit;
	if ((lvt & LVT_MASKED) || !sw_enabled(l))
		return;
	if ((lvt & LVT_VECTOR) < 16) {
		l->esr_pending |= ESR_RECV_ILLEGAL;
		return;
	}
	set_vec(l->irr, (u8)lvt);
	clear_vec(l->tmr, (u8)lvt);
}

/* Vectors 0-15 are never set in IRR (SDM §11.5.3, "Received Illegal Vector"); a
 * software-disabled APIC accepts no fixed interrupts (SDM §11.4.7.2). */
static bool accept(struct vlapic *l, u8 vector, bool level)
{
	if (vector < 16) {
		raise_error(l, ESR_RECV_ILLEGAL);
		return false;
	}
	if (!sw_enabled(l))
		return false;
	set_vec(l->irr, vector);
	if (level)
		set_vec(l->tmr, vector);
	else
		clear_vec(l->tmr, vector);
	return true;
}

void vlapic_accept(struct vlapic *l, u8 vector, bool level)
{
	accept(l, vector, level);
}

/* SDM §11.8.3.1: PPR is TPR while TPR's class is at least that of the highest in-service vector,
 * else that class with a zero sub-class. */
static u32 ppr(const struct vlapic *l)
{
	int isrv = highest_vector(l->isr);
	u32 isr_class = isrv < 0 ? 0 : (u32)isrv & 0xf0;

	return (l->tpr & 0xf0) >= isr_class ? l->tpr : isr_class;
}

int vlapic_pending(const struct vlapic *l)
{
	int irrv = highest_vector(l->irr);

	if (!sw_enabled(l) || irrv < 0)
		return -1;
	/* SDM §11.8.3: only a higher priority class than PPR's interrupts the processor. */
	return ((u32)irrv & 0xf0) > (ppr(l) & 0xf0) ? irrv : -1;
}

void vlapic_ack(struct vlapic *l, u8 vector)
{
	if (!(l->irr[vector >> 5] & (1u << (vector & 31))))
		return; /* not requested: nothing to take */
	clear_vec(l->irr, vector);
	set_vec(l->isr, vector);
}

/* SDM §11.8.5: EOI retires the highest-priority in-service interrupt. A level-triggered one
 * (its TMR bit set) is also broadcast to the I/O APIC: recorded for the caller to route. */
static void eoi(struct vlapic *l)
{
	int isrv = highest_vector(l->isr);

	if (isrv < 0)
		return;
	clear_vec(l->isr, (u8)isrv);
	if (l->tmr[isrv / 32] & (1u << (isrv % 32)))
		l->eoi_level = (u16)(0x100 | isrv);
}

int vlapic_take_level_eoi(struct vlapic *l)
{
	int v = l->eoi_level ? (l->eoi_level & 0xff) : -1;

	l->eoi_level = 0;
	return v;
}

u64 vlapic_base_msr(const struct vlapic *l, bool bsp)
{
	return VLAPIC_BASE | (l->hw_enabled ? APIC_BASE_EN : 0) | (l->x2apic ? APIC_BASE_EXTD : 0) |
	       (bsp ? APIC_BASE_BSP : 0);
}

/* SDM §11.12.5 and figure 11-27: the valid transitions between disabled, xAPIC and x2APIC mode. */
int vlapic_set_base_msr(struct vlapic *l, u64 val)
{
	bool en = val & APIC_BASE_EN, extd = val & APIC_BASE_EXTD;
	u32 id = l->id;

	if ((val & ~(APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP)) != VLAPIC_BASE || (extd && !en) ||
	    (l->x2apic && en && !extd) || (!l->hw_enabled && extd))
		return -EINVAL; /* relocation is not supported; the other cases are architectural #GP */
	if (!en) {
		/* Disabling resets the APIC to its power-on state, software-disabled (§11.4.3). */
		vlapic_reset(l, id);
		l->hw_enabled = false;
	} else if (!l->hw_enabled) {
		vlapic_reset(l, id);
	} else if (extd && !l->x2apic) {
		l->x2apic = true;
	}
	return 0;
}

static u32 x2apic_ldr(u32 id)
{
	/* SDM §11.12.10.2: cluster ID in bits 31:16, one bit per member in 15:0. */
	return ((id >> 4) << 16) | (1u << (id & 0xf));
}

static u32 timer_mode(const struct vlapic *l)
{
	return (l->lvt[LVT_TIMER] >> LVT_TIMER_SHIFT) & 3;
}

/* SDM §11.5.4, figure 11-10: divide value encoded in bits 3 and 1:0; 111b is divide by 1. */
static u64 timer_divisor(const struct vlapic *l)
{
	u32 idx = (l->timer_div & 3) | ((l->timer_div >> 1) & 4);

	return idx == 7 ? 1 : 2ull << idx;
}

static u64 timer_period(const struct vlapic *l)
{
	return (u64)l->timer_init * timer_divisor(l); /* ns: VLAPIC_TIMER_HZ is 1 tick/ns */
}

/* A non-zero initial count means the timer was started in one-shot or periodic mode; a one-shot
 * count stays at 0 after expiry until rewritten. `now` is monotonic, so unsigned wrap-around in
 * now - start is exact even when a divide change moved start before 0. */
static u32 timer_current(const struct vlapic *l, u64 now_ns)
{
	u64 ticks;

	if (!l->timer_init || timer_mode(l) == TIMER_TSC_DEADLN)
		return 0;
	ticks = (now_ns - l->timer_start_ns) / timer_divisor(l);
	if (timer_mode(l) == TIMER_PERIODIC)
		return l->timer_init - (u32)(ticks % l->timer_init);
	return ticks >= l->timer_init ? 0 : l->timer_init - (u32)ticks;
}

static void write_timer_init(struct vlapic *l, u32 val, u64 now_ns)
{
	if (timer_mode(l) == TIMER_TSC_DEADLN)
		return; /* SDM §11.5.4.1: ignored in TSC-deadline mode */
	l->timer_init = val;
	l->timer_start_ns = now_ns;
	l->timer_next_ns = val ? now_ns + timer_period(l) : 0;
}

/* The counter keeps its current value and goes on at the new rate: move the start so that the
 * elapsed ticks at the new divisor match, and the deadline to the remaining ticks. */
static void write_timer_div(struct vlapic *l, u32 val, u64 now_ns)
{
	u32 cur = timer_current(l, now_ns);

	l->timer_div = val;
	if (!l->timer_init || timer_mode(l) == TIMER_TSC_DEADLN)
		return;
	l->timer_start_ns = now_ns - (u64)(l->timer_init - cur) * timer_divisor(l);
	if (l->timer_next_ns)
		l->timer_next_ns = now_ns + (u64)cur * timer_divisor(l);
}

static void write_lvt(struct vlapic *l, unsigned int i, u32 val)
{
	u32 old_mode = timer_mode(l);

	/* SDM §11.4.7.2: while software-disabled, the mask bits cannot be cleared. */
	l->lvt[i] = sw_enabled(l) ? val : val | LVT_MASKED;
	/* SDM §11.5.4.1: a write that changes the timer mode disarms the timer; the count stops,
	 * and a TSC deadline is forgotten. */
	if (i == LVT_TIMER && timer_mode(l) != old_mode) {
		l->timer_init = 0;
		l->timer_next_ns = 0;
		l->deadline_ns = 0;
	}
}

static void write_svr(struct vlapic *l, u32 val)
{
	l->svr = val;
	if (!(val & SVR_ENABLE))
		for (int i = 0; i < VLAPIC_NR_LVT; i++)
			l->lvt[i] |= LVT_MASKED;
}

/* Decodes the ICR just written. Delivery modes 011b and 111b are reserved: nothing is sent. */
static bool send_ipi(struct vlapic *l, struct vlapic_ipi *ipi)
{
	u32 lo = l->icr_lo;
	u32 mode = (lo >> ICR_MODE_SHIFT) & 7;

	if (mode == 3 || mode == 7)
		return false;
	if ((mode == VLAPIC_IPI_FIXED || mode == VLAPIC_IPI_LOWEST) && (lo & ICR_VECTOR) < 16)
		raise_error(l, ESR_SEND_ILLEGAL); /* the receiver flags it too, and drops it */
	*ipi = (struct vlapic_ipi){
		.mode = (enum vlapic_ipi_mode)mode,
		.vector = (u8)lo,
		.shorthand = (enum vlapic_shorthand)((lo >> ICR_SHORTHAND_SHIFT) & 3),
		.logical = lo & ICR_LOGICAL,
		.level_assert = lo & ICR_ASSERT,
		.level_trigger = lo & ICR_LEVEL,
		.dest = l->x2apic ? l->icr_hi : l->icr_hi >> 24,
	};
	return true;
}

static bool lvt_index(u32 off, unsigned int *i)
{
	if (off == VLAPIC_LVT_CMCI)
		*i = LVT_CMCI;
	else if (off >= VLAPIC_LVT_TIMER && off <= VLAPIC_LVT_ERROR)
		*i = (off - VLAPIC_LVT_TIMER) >> 4;
	else
		return false;
	return true;
}

/* Whether the register at `off` can be read (need REG_R) or written (REG_W) in this mode. */
static bool reg_ok(const struct vlapic *l, u32 off, u8 need)
{
	u8 f = (off >> 4) < ARRAY_SIZE(regs) ? regs[off >> 4].flags : 0;

	if (!(f & need))
		return false;
	if (l->x2apic)
		return !(f & REG_XAPIC) && !(need == REG_W && (f & REG_X2RO));
	return !(f & REG_X2APIC);
}

static u32 write_mask(const struct vlapic *l, u32 off)
{
	return l->x2apic && (regs[off >> 4].flags & REG_X2ZERO) ? 0 : regs[off >> 4].mask;
}

/* A readable register (reg_ok) as the current mode shows it. */
static u32 reg_read(const struct vlapic *l, u32 off, u64 now_ns)
{
	unsigned int i;

	if (lvt_index(off, &i))
		return l->lvt[i];
	if (off >= VLAPIC_ISR && off < VLAPIC_ESR)
		return (off < VLAPIC_TMR ? l->isr : off < VLAPIC_IRR ? l->tmr : l->irr)[(off >> 4) & 7];
	switch (off) {
	case VLAPIC_ID:
		return l->x2apic ? l->id : l->id << 24;
	case VLAPIC_VERSION:
		return APIC_VERSION;
	case VLAPIC_TPR:
		return l->tpr;
	case VLAPIC_PPR:
		return ppr(l);
	case VLAPIC_LDR:
		return l->x2apic ? x2apic_ldr(l->id) : l->ldr;
	case VLAPIC_DFR:
		return l->dfr;
	case VLAPIC_SVR:
		return l->svr;
	case VLAPIC_ESR:
		return l->esr;
	case VLAPIC_ICR_LO:
		return l->icr_lo;
	case VLAPIC_ICR_HI:
		return l->icr_hi;
	case VLAPIC_TIMER_INIT:
		return l->timer_init;
	case VLAPIC_TIMER_CUR:
		return timer_current(l, now_ns);
	case VLAPIC_TIMER_DIV:
		return l->timer_div;
	default:
		return 0; /* APR and RRD: not implemented since the Pentium 4 */
	}
}

/* Applies a write already masked by write_mask(). Returns true if it produced an IPI. */
static bool reg_write(struct vlapic *l, u32 off, u32 val, u64 now_ns, struct vlapic_ipi *ipi)
{
	unsigned int i;

	if (lvt_index(off, &i)) {
		write_lvt(l, i, val);
		return false;
	}
	switch (off) {
	case VLAPIC_ID:
		l->id = val >> 24;
		break;
	case VLAPIC_TPR:
		l->tpr = val;
		break;
	case VLAPIC_EOI:
		eoi(l);
		break;
	case VLAPIC_LDR:
		l->ldr = val;
		break;
	case VLAPIC_DFR:
		l->dfr = val | ~DFR_MODEL; /* bits 27:0 read as 1s */
		break;
	case VLAPIC_SVR:
		write_svr(l, val);
		break;
	case VLAPIC_ESR:
		/* SDM §11.5.3: a write makes the errors detected since the last write readable. */
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		break;
	case VLAPIC_ICR_LO:
		l->icr_lo = val;
		return send_ipi(l, ipi);
	case VLAPIC_ICR_HI:
		l->icr_hi = val;
		break;
	case VLAPIC_TIMER_INIT:
		write_timer_init(l, val, now_ns);
		break;
	case VLAPIC_TIMER_DIV:
		write_timer_div(l, val, now_ns);
		break;
	case VLAPIC_SELF_IPI:
		if (val < 16)
			raise_error(l, ESR_SEND_ILLEGAL);
		*ipi = (struct vlapic_ipi){
			.mode = VLAPIC_IPI_FIXED, .vector = (u8)val, .shorthand = VLAPIC_DEST_SELF, .dest = l->id
		};
		return true;
	}
	return false;
}

/* In x2APIC mode the page is not decoded (SDM §11.12.1.2): reads 0, writes are dropped. */
u32 vlapic_read(struct vlapic *l, u32 offset, u64 now_ns)
{
	if (l->x2apic || (offset & 0xf) || !reg_ok(l, offset, REG_R))
		return 0;
	return reg_read(l, offset, now_ns);
}

bool vlapic_write(struct vlapic *l, u32 offset, u32 val, u64 now_ns, struct vlapic_ipi *ipi)
{
	if (l->x2apic || (offset & 0xf) || !reg_ok(l, offset, REG_W))
		return false;
	return reg_write(l, offset, val & write_mask(l, offset), now_ns, ipi);
}

static bool msr_offset(const struct vlapic *l, u32 msr, u32 *off)
{
	if (!l->x2apic || msr < X2APIC_MSR_FIRST || msr > X2APIC_MSR_LAST)
		return false;
	*off = (msr - X2APIC_MSR_FIRST) << 4;
	return true;
}

int vlapic_msr_read(struct vlapic *l, u32 msr, u64 now_ns, u64 *val)
{
	u32 off;

	if (!msr_offset(l, msr, &off) || !reg_ok(l, off, REG_R))
		return -EINVAL;
	*val = reg_read(l, off, now_ns);
	/* SDM §11.12.9: in x2APIC mode the ICR is one 64-bit MSR, destination in bits 63:32. */
	if (off == VLAPIC_ICR_LO)
		*val |= (u64)l->icr_hi << 32;
	return 0;
}

int vlapic_msr_write(struct vlapic *l, u32 msr, u64 val, u64 now_ns, struct vlapic_ipi *ipi, bool *sent)
{
	u32 off;
	u64 allowed;

	*sent = false;
	if (!msr_offset(l, msr, &off) || !reg_ok(l, off, REG_W))
		return -EINVAL;
	/* Bits 63:32 are reserved everywhere but in the ICR, where they hold the destination. */
	allowed = write_mask(l, off) | (off == VLAPIC_ICR_LO ? (u64)~0u << 32 : 0);
	if (val & ~allowed)
		return -EINVAL;
	if (off == VLAPIC_ICR_LO)
		l->icr_hi = (u32)(val >> 32);
	*sent = reg_write(l, off, (u32)val, now_ns, ipi);
	return 0;
}

static bool match_logical(const struct vlapic *l, u32 dest)
{
	u32 ldr;

	if (l->x2apic) {
		ldr = x2apic_ldr(l->id);
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
	}
	ldr = l->ldr >> 24;
	dest &= 0xff;
	if ((l->dfr & DFR_MODEL) == DFR_FLAT)
		return ldr & dest; /* SDM §11.6.2.2: one bit per APIC */
	/* Cluster model: cluster in bits 7:4, up to four members as bits 3:0. */
	return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf);
}

bool vlapic_match_dest(const struct vlapic *l, u32 dest, bool logical)
{
	if (!l->x2apic)
		dest &= 0xff;
	if (dest == (l->x2apic ? 0xffffffffu : 0xffu))
		return true;
	if (logical)
		return match_logical(l, dest);
	return l->x2apic ? dest == l->id : dest == (l->id & 0xff);
}

bool vlapic_timer_poll(struct vlapic *l, u64 now_ns)
{
	u32 lvt = l->lvt[LVT_TIMER];
	u64 period;

	if (!l->timer_next_ns || now_ns < l->timer_next_ns)
		return false;
	if (timer_mode(l) == TIMER_PERIODIC) {
		/* Stay on the start + k * period grid; periods missed while the vCPU did not run
		 * collapse into this one interrupt, as edges would in IRR. */
		period = MAX(timer_period(l), VLAPIC_MIN_PERIOD_NS);
		l->timer_next_ns += period;
		if (l->timer_next_ns <= now_ns)
			l->timer_next_ns += ((now_ns - l->timer_next_ns) / period + 1) * period;
	} else {
		/* One-shot, or TSC deadline: the deadline MSR reads 0 once it fired (SDM §11.5.4.1). */
		l->timer_next_ns = 0;
		l->deadline_ns = 0;
	}
	if (lvt & LVT_MASKED)
		return false;
	return accept(l, (u8)lvt, false);
}

void vlapic_set_deadline(struct vlapic *l, u64 deadline_ns)
{
	if (timer_mode(l) != TIMER_TSC_DEADLN)
		return;
	l->deadline_ns = deadline_ns;
	l->timer_next_ns = deadline_ns;
}

u64 vlapic_timer_next(const struct vlapic *l)
{
	return l->timer_next_ns;
}

bool vlapic_sw_enabled(const struct vlapic *l)
{
	return sw_enabled(l);
}

bool vlapic_timer_masked(const struct vlapic *l)
{
	return !sw_enabled(l) || (l->lvt[LVT_TIMER] & LVT_MASKED);
}

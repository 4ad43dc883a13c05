/* SPDX-License-Identifier: MIT */
/*
 * The virtual local APIC of one vCPU (Intel SDM vol. 3A ch. 11): the register file behind the
 * xAPIC MMIO page and the x2APIC MSRs, interrupt acceptance (IRR/ISR/TMR, TPR/PPR, EOI), the
 * interrupt command register and the timer. A pure model: no locking (the caller holds the
 * vCPU's lock), no clock of its own (callers pass `now` in ns), and IPIs are handed back to the
 * caller to route, so it can be tested on the host (tests/unit/test_vlapic.c).
 *
 * The guest sees a timer input clock of VLAPIC_TIMER_HZ before the divider.
 */
#ifndef KEEL_VMM_DEV_VLAPIC_H
#define KEEL_VMM_DEV_VLAPIC_H

#include "kernel/types.h"

#define VLAPIC_BASE	0xfee00000ull /* IA32_APIC_BASE default (SDM §11.4.4) */
#define VLAPIC_SIZE	0x1000
#define VLAPIC_TIMER_HZ 1000000000ull /* 1 ns per tick before the divide configuration */
/* Periodic mode interrupts at most this often (KVM's floor); one-shot and TSC-deadline timers keep
 * their exact deadline, which Linux's hrtimers depend on. */
#define VLAPIC_MIN_PERIOD_NS 200000ull

/* Register offsets in the xAPIC page (SDM table 11-1); x2APIC MSR = 0x800 + offset / 16. */
#define VLAPIC_ID	   0x020
#define VLAPIC_VERSION	   0x030
#define VLAPIC_TPR	   0x080
#define VLAPIC_APR	   0x090
#define VLAPIC_PPR	   0x0a0
#define VLAPIC_EOI	   0x0b0
#define VLAPIC_RRD	   0x0c0
#define VLAPIC_LDR	   0x0d0
#define VLAPIC_DFR	   0x0e0
#define VLAPIC_SVR	   0x0f0
#define VLAPIC_ISR	   0x100 /* 8 registers, 0x10 apart */
#define VLAPIC_TMR	   0x180
#define VLAPIC_IRR	   0x200
#define VLAPIC_ESR	   0x280
#define VLAPIC_LVT_CMCI	   0x2f0
#define VLAPIC_ICR_LO	   0x300
#define VLAPIC_ICR_HI	   0x310
#define VLAPIC_LVT_TIMER   0x320
#define VLAPIC_LVT_THERMAL 0x330
#define VLAPIC_LVT_PMC	   0x340
#define VLAPIC_LVT_LINT0   0x350
#define VLAPIC_LVT_LINT1   0x360
#define VLAPIC_LVT_ERROR   0x370
#define VLAPIC_TIMER_INIT  0x380
#define VLAPIC_TIMER_CUR   0x390
#define VLAPIC_TIMER_DIV   0x3e0
#define VLAPIC_SELF_IPI	   0x3f0 /* x2APIC only */

/* LVT entries, in the order of the lvt[] array. */
enum vlapic_lvt { LVT_TIMER, LVT_THERMAL, LVT_PMC, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_CMCI, VLAPIC_NR_LVT };

/* ICR delivery modes (SDM §11.6.1) as IPI kinds. */
enum vlapic_ipi_mode {
	VLAPIC_IPI_FIXED = 0,
	VLAPIC_IPI_LOWEST = 1,
	VLAPIC_IPI_SMI = 2,
	VLAPIC_IPI_NMI = 4,
	VLAPIC_IPI_INIT = 5,
	VLAPIC_IPI_SIPI = 6,
};

enum vlapic_shorthand { VLAPIC_DEST_FIELD, VLAPIC_DEST_SELF, VLAPIC_DEST_ALL, VLAPIC_DEST_OTHERS };

/* An interprocessor interrupt the guest asked for by writing the ICR; the caller routes it. */
struct vlapic_ipi {
	enum vlapic_ipi_mode mode;
	u8 vector;
	enum vlapic_shorthand shorthand;
	bool logical; /* destination mode */
	bool level_assert;
	bool level_trigger;
	u32 dest; /* xAPIC: ICR[63:56]; x2APIC: ICR[63:32] */
};

struct vlapic {
	u32 id; /* APIC ID (= the vCPU's index) */
	bool x2apic;
	bool hw_enabled; /* IA32_APIC_BASE.EN */
	u32 tpr, svr, ldr, dfr, esr, esr_pending;
	u32 icr_lo, icr_hi;
	u32 irr[8], isr[8], tmr[8];
	u32 lvt[VLAPIC_NR_LVT];
	u32 timer_init, timer_div; /* TIMER_INIT and TIMER_DIV as written */
	u64 timer_start_ns;	   /* when the current count started from timer_init */
	u64 timer_next_ns;	   /* when the timer fires next; 0: not armed */
	u64 deadline_ns;	   /* TSC-deadline mode: IA32_TSC_DEADLINE on the caller's clock, 0: disarmed */
	u16 eoi_level;		   /* 0x100 | vector: an EOI of a level-triggered interrupt to broadcast */
};

/* IA32_APIC_BASE (MSR 0x1b) bits (SDM §11.4.4). */
#define APIC_BASE_BSP  (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN   (1ull << 11)

/* Power-on / INIT state (SDM §11.4.7.1): everything masked, software-disabled. */
void vlapic_reset(struct vlapic *l, u32 id);

/* xAPIC MMIO: a 32-bit access to the register at `offset` (0..0xfff, 16-byte aligned registers;
 * other offsets read 0 and ignore writes). A write to the ICR low word fills *ipi and returns
 * true: the caller delivers it. */
u32 vlapic_read(struct vlapic *l, u32 offset, u64 now_ns);
bool vlapic_write(struct vlapic *l, u32 offset, u32 val, u64 now_ns, struct vlapic_ipi *ipi);

/* x2APIC MSRs 0x800-0x8ff (SDM §11.12): 0 on success, -EINVAL where the architecture raises #GP
 * (reserved or read-only register, reserved bits, xAPIC mode). Same IPI convention as above. */
int vlapic_msr_read(struct vlapic *l, u32 msr, u64 now_ns, u64 *val);
int vlapic_msr_write(struct vlapic *l, u32 msr, u64 val, u64 now_ns, struct vlapic_ipi *ipi, bool *sent);

/* After an EOI: the vector of a level-triggered interrupt it retired (for the I/O APIC's remote
 * IRR), once, or -1. */
int vlapic_take_level_eoi(struct vlapic *l);
/* IA32_APIC_BASE as the guest reads it, and a write to it: -EINVAL where the CPU raises #GP
 * (reserved bits, a base other than VLAPIC_BASE, an invalid mode transition). */
u64 vlapic_base_msr(const struct vlapic *l, bool bsp);
int vlapic_set_base_msr(struct vlapic *l, u64 val);

/* Accepts a fixed interrupt (sets IRR, and TMR if level-triggered). Ignored while the APIC is
 * software-disabled, except that the vector is still recorded for an illegal vector (< 16) in ESR. */
void vlapic_accept(struct vlapic *l, u8 vector, bool level);
/* The highest-priority vector the vCPU should take now (IRR above PPR), or -1. */
int vlapic_pending(const struct vlapic *l);
/* The CPU takes `vector` (from vlapic_pending): IRR -> ISR. */
void vlapic_ack(struct vlapic *l, u8 vector);

/* Fires the timer if it is due at `now` (sets the LVT timer vector in IRR unless masked; a
 * periodic timer re-arms from its previous deadline, so no period is lost or drifts). Returns true
 * if an interrupt was raised. */
bool vlapic_timer_poll(struct vlapic *l, u64 now_ns);
/* TSC-deadline mode (LVT timer mode 2): arms (deadline_ns != 0) or disarms the timer. The caller
 * converts the guest's IA32_TSC_DEADLINE value to its ns clock. Ignored in other modes. */
void vlapic_set_deadline(struct vlapic *l, u64 deadline_ns);
/* When the timer fires next (ns on the caller's clock), or 0 if it is not armed. */
u64 vlapic_timer_next(const struct vlapic *l);
/* Whether the timer's interrupt would be dropped: LVT timer masked, or the APIC software-disabled. */
bool vlapic_timer_masked(const struct vlapic *l);
/* Whether the APIC is software-enabled (SVR bit 8): only then are fixed interrupts delivered. */
bool vlapic_sw_enabled(const struct vlapic *l);

/* Whether an IPI's destination field (physical or logical, flat or cluster per DFR) selects this
 * APIC; x2APIC logical destinations use the cluster/bit form of LDR. Broadcast 0xff (xAPIC) or
 * 0xffffffff (x2APIC) matches every APIC. */
bool vlapic_match_dest(const struct vlapic *l, u32 dest, bool logical);

#endif

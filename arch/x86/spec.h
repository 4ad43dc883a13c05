/* SPDX-License-Identifier: MIT */
/*
 * Transient-execution (speculation) mitigations: what the CPU says about itself, the decision
 * table that turns it into a plan (spec_decide, pure: unit-tested per CPU model), and the pieces
 * of the plan that run on the exit path. docs/mitigations.md says what applies where.
 */
#ifndef KEEL_ARCH_X86_SPEC_H
#define KEEL_ARCH_X86_SPEC_H

#include "arch/x86/regs.h"

/* The MSRs and their bits: arch/x86/msr-index.h (through regs.h). */

/* spec_exit_flags and spec_entry_flags, which the entry stubs test. */
#define SPEC_EXIT_RSB_FULL BIT(0)
#define SPEC_EXIT_RSB_LITE BIT(1)
#define SPEC_EXIT_IBPB	   BIT(2)
#define SPEC_ENTRY_VERW	   BIT(0)
#define SPEC_ENTRY_L1D	   BIT(1)

#ifndef __ASSEMBLER__
#include "arch/x86/cpu.h"
#include "kernel/percpu.h"
#include "kernel/types.h"

/* What the CPU enumerates (spec_probe reads it; unit tests write it per CPU model). */
struct spec_cpu {
	bool amd;	   /* AMD or Hygon: not affected by Meltdown, L1TF, MDS and relatives */
	u32 family;	   /* display family */
	bool spec_ctrl;	   /* IA32_SPEC_CTRL exists (Intel CPUID.7.EDX[26]; AMD 8000_0008.EBX[14], [15] or [24]) */
	bool ibpb;	   /* IA32_PRED_CMD.IBPB (Intel 7.EDX[26]; AMD 8000_0008.EBX[12]) */
	bool ibrs;	   /* SPEC_CTRL.IBRS (Intel 7.EDX[26]; AMD 8000_0008.EBX[14]) */
	bool stibp;	   /* Intel 7.EDX[27]; AMD 8000_0008.EBX[15] */
	bool ssbd;	   /* Intel 7.EDX[31]; AMD 8000_0008.EBX[24] */
	bool l1d_flush;	   /* IA32_FLUSH_CMD (7.EDX[28]) */
	bool md_clear;	   /* VERW clears the CPU's buffers (7.EDX[10]) */
	bool rtm;	   /* TSX (7.EBX[11]): TAA applies */
	bool auto_ibrs;	   /* AMD automatic IBRS (8000_0021.EAX[8]) */
	bool btc_no;	   /* AMD: no branch type confusion (8000_0008.EBX[29]) */
	bool has_arch_cap; /* IA32_ARCH_CAPABILITIES exists (7.EDX[29]) */
	u64 arch_cap;	   /* its value, 0 without it */
	u32 smt_shift;	   /* APIC ID bits that number the threads of a core; 0: no SMT */
};

enum spec_mode { SPEC_AUTO, SPEC_FORCE, SPEC_OFF };

/* The choices that are not the CPU's: the spec= and smt= options, and what the build can do. */
struct spec_opts {
	enum spec_mode mode;
	int smt;	    /* enum opt_tristate: auto, on, off */
	bool return_thunks; /* every RET goes through __x86_return_thunk (the gcc build) */
};
enum spec_rsb { RSB_NONE, RSB_LITE, RSB_FULL };

/* The plan: each mitigation on or off, and why, for the log and docs. */
struct spec_plan {
	bool ibpb_vm_switch;	/* IBPB when a CPU switches from one VM to another */
	bool ibpb_exit;		/* IBPB after every VM exit (AMD branch type confusion, as Xen does) */
	enum spec_rsb rsb_exit; /* fill the return stack buffer after every exit */
	bool host_ibrs;		/* enhanced IBRS: SPEC_CTRL.IBRS set once per CPU */
	bool host_auto_ibrs;	/* EFER.AUTOIBRS set once per CPU */
	bool retpoline;		/* indirect branches through retpolines (else plain indirect jumps) */
	bool return_thunk;	/* RET through a retpoline-style thunk (RSB underflow falls back to the BTB) */
	bool verw_entry;	/* VERW right before every entry (MDS, TAA, MMIO stale data, RFDS) */
	bool l1d_flush_entry;	/* flush L1D before every entry (L1TF) */
	bool l1d_flush_sw;	/* ... by reading a buffer, since IA32_FLUSH_CMD is missing */
	bool smt_off;		/* start one thread per core (smt=auto on a CPU open to MDS or L1TF) */
	bool smt_exposed;	/* siblings share buffers open to MDS or L1TF */
	const char *missing[5]; /* what the CPU would need but cannot do (no microcode) */
	unsigned nr_missing;
};

void spec_decide(const struct spec_cpu *cpu, const struct spec_opts *o, struct spec_plan *plan);
/* One line per decision, "name: on (reason)" or "off (reason)", into buf; returns its length. */
int spec_describe(const struct spec_plan *plan, char *buf, unsigned size);

/* --- Live state, set once at boot by spec_init ------------------------------------------- */

extern u8 spec_exit_flags;  /* read by the entry stubs right after an exit */
extern u8 spec_entry_flags; /* SPEC_ENTRY_VERW: by the stubs; SPEC_ENTRY_L1D: spec_before_entry */
extern u64 spec_host_ctrl;  /* the host's IA32_SPEC_CTRL value */
extern struct spec_cpu spec_cpu_info;
extern struct spec_plan spec_active;

/* On the boot CPU before the others start: probe, decide (spec= and smt= options), log the plan,
 * select the retpoline thunks; then on every CPU (the boot CPU included) spec_init_cpu. */
void spec_init(void);
void spec_init_cpu(void);
/* Whether the CPU with this APIC ID is a second (or later) thread of its core. */
bool spec_is_sibling_thread(u32 apic_id);

void spec_l1d_flush(void);
/* What a guest's IA32_SPEC_CTRL may hold (the bits its CPUID shows), and its
 * IA32_ARCH_CAPABILITIES (vmm/exit_msr.c). */
u64 spec_guest_ctrl_mask(void);
u64 spec_guest_arch_cap(void);
/* The current CPU switches to running guest `owner` (a VM's id): IBPB if it ran another. */
void spec_switch_owner(u64 owner);

/* L1D flushes are conditional, as KVM's default (vmentry_l1d_flush=cond): after anything but
 * the exit fast path (which touches only the vCPU's own state, with interrupts off) the vCPU's
 * run loop calls this, and the next entry flushes. An interrupt on the way ends the fast path. */
static inline void spec_mark_l1d_dirty(void)
{
	this_cpu()->spec_l1d_dirty = true;
}

/* Around the entry stub: the guest's IA32_SPEC_CTRL is live only while it runs, and the host's
 * is back before the exit path calls anything that matters; an L1D flush where the plan says. */
static inline void spec_before_entry(u64 guest_ctrl)
{
	if (__builtin_expect(spec_entry_flags & SPEC_ENTRY_L1D, 0) && this_cpu()->spec_l1d_dirty) {
		this_cpu()->spec_l1d_dirty = false;
		spec_l1d_flush();
	}
	if (__builtin_expect(guest_ctrl != spec_host_ctrl, 0))
		wrmsr(MSR_SPEC_CTRL, guest_ctrl);
}

static inline void spec_after_exit(u64 guest_ctrl)
{
	if (__builtin_expect(guest_ctrl != spec_host_ctrl, 0))
		wrmsr(MSR_SPEC_CTRL, spec_host_ctrl);
}
#endif

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The debug registers belong to the guests: Keel sets no breakpoints, and its DR7 stays disabled
 * (a VM exit sets it to 0x400, SDM vol. 3C §27.5.1; #VMEXIT reloads the host's with every
 * breakpoint disabled, APM vol. 2 §15.6). DR7 is switched by the CPU with the VMCS or the VMCB,
 * and so is DR6 on SVM, but DR0-DR3 (and DR6 on VT-x) pass through VM entry and exit untouched:
 * they are per physical CPU, like the FPU state, so each vCPU's are saved and loaded when the
 * scheduler moves it off and onto a CPU (kernel/sched.c), never on the exit path. In between,
 * the vCPU's values are live in the CPU while Keel handles its exits.
 */
#ifndef KEEL_DEBUGREG_H
#define KEEL_DEBUGREG_H

#include "kernel/types.h"

/* Power-on and INIT values (SDM vol. 3A table 9-1). */
#define DR6_INIT 0xffff0ff0ULL
#define DR7_INIT 0x400ULL

/* DR6 bits (SDM vol. 3B §17.2.3): B0-B3, BD, BS are set by the CPU; RTM is active low. */
#define DR6_B0_B3 0xfULL
#define DR6_BD	  (1ULL << 13)
#define DR6_BS	  (1ULL << 14)
#define DR6_RTM	  (1ULL << 16)

struct guest_dregs {
	u64 dr[4]; /* DR0-DR3: breakpoint linear addresses */
	u64 dr6;   /* on SVM the VMCB's copy is the one VMRUN loads; this one is then unused */
};

/* The power-on state. */
void dregs_guest_init(struct guest_dregs *d);
/* The vCPU leaves or enters this CPU. */
void dregs_guest_save(struct guest_dregs *d);
void dregs_guest_restore(const struct guest_dregs *d);
/* INIT while the vCPU is on this CPU: the power-on state, in d and in the CPU. */
void dregs_guest_reset(struct guest_dregs *d);
/* A #DB exit of the vCPU on this CPU (VT-x): its causes go into the live DR6 (dr6_after_db). */
void dregs_guest_db(u64 pending);
/*
 * DR6 after a #DB whose causes are `pending`, in the format of VT-x's exit qualification for a
 * #DB (the pending-debug-exceptions format: B0-B3, BD, BS, and RTM active high; SDM vol. 3C
 * §27.2.1): the CPU sets the cause bits, clears B0-B3 first, and clears the active-low RTM bit
 * when the #DB hit inside a transaction (SDM vol. 3B §17.2.3). A VM exit on #DB leaves DR6 as it
 * was, so the VMM must apply this before it reflects the #DB to the guest.
 */
static inline u64 dr6_after_db(u64 dr6, u64 pending)
{
	dr6 = (dr6 & ~DR6_B0_B3) | DR6_INIT | (pending & (DR6_B0_B3 | DR6_BD | DR6_BS));
	return pending & DR6_RTM ? dr6 & ~DR6_RTM : dr6;
}

#endif

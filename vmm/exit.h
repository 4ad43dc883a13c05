/* SPDX-License-Identifier: MIT */
#ifndef KEEL_VMM_EXIT_H
#define KEEL_VMM_EXIT_H

#include "vmm/vm.h"

typedef void (*exit_handler_t)(struct vcpu *v, const struct vm_exit *e);

/* One handler per exit family (vmm/exit_*.c). */
void handle_cpuid(struct vcpu *v, const struct vm_exit *e);
void handle_msr(struct vcpu *v, const struct vm_exit *e);
void handle_io(struct vcpu *v, const struct vm_exit *e);
void handle_hypercall(struct vcpu *v, const struct vm_exit *e);
void handle_hlt(struct vcpu *v, const struct vm_exit *e);
void handle_npf(struct vcpu *v, const struct vm_exit *e);
void handle_virt_insn(struct vcpu *v, const struct vm_exit *e);
void handle_exception(struct vcpu *v, const struct vm_exit *e);
void handle_xsetbv(struct vcpu *v, const struct vm_exit *e);
void handle_wbinvd(struct vcpu *v, const struct vm_exit *e);
void handle_rdpmc(struct vcpu *v, const struct vm_exit *e);
void handle_undef_insn(struct vcpu *v, const struct vm_exit *e);
void handle_fatal(struct vcpu *v, const struct vm_exit *e);

/* Port I/O pieces both handle_io() and the fast path use. */
static inline u32 io_mask(u8 size)
{
	return size == 4 ? 0xffffffffu : size == 2 ? 0xffffu : 0xffu;
}

/* IN AL/AX keeps the rest of RAX; IN EAX writes EAX, which zero-extends into RAX (SDM vol. 1
 * §3.4.1.1; outside 64-bit mode the upper half is not visible). */
static inline void io_set_in(struct vcpu *v, u8 size, u32 val)
{
	u32 mask = io_mask(size);

	v->gprs.rax = size == 4 ? val : (v->gprs.rax & ~(u64)mask) | (val & mask);
}

/* The exiting instruction completed and ends at `next`: vcpu_ops->set(VREG_RIP), or on the fast
 * path the backend's own, right after exit_fast (struct vcpu's insn_defer). */
static inline void vcpu_insn_done(struct vcpu *v, u64 next)
{
	if (v->insn_defer) {
		v->insn_next = next;
		v->insn_defer = INSN_DEFERRED;
		return;
	}
	vcpu_ops->set(v, VREG_RIP, next);
}

/* A port no device claims: reads all-ones, writes vanish (as on a PC with nothing there). */
static inline void io_unclaimed(struct vcpu *v, const struct vm_exit *e)
{
	if (e->io.in)
		io_set_in(v, e->io.size, 0xffffffffu);
	vcpu_insn_done(v, e->next_rip);
}

/* Runs one exit through the dispatch table. */
void exit_dispatch(struct vcpu *v, const struct vm_exit *e);
/* exit_fast() is in vmm/exit_fast.h, inlined into the backends' run loops. */
/* Whether the hypercall v is making is short enough for the fast path (exit_fast). */
bool hypercall_is_short(struct vcpu *v);
/* Moves RIP past the exiting instruction: to the CPU-reported next RIP, or else past the bytes at
 * RIP, which after prefixes must be `opcode` (crashes the VM if they are not; returns false). */
bool skip_insn_decode(struct vcpu *v, const struct vm_exit *e, const u8 *opcode, unsigned len);
static inline bool skip_insn(struct vcpu *v, const struct vm_exit *e, const u8 *opcode, unsigned len)
{
	if (__builtin_expect(!e->next_rip, 0))
		return skip_insn_decode(v, e, opcode, len);
	vcpu_insn_done(v, e->next_rip);
	return true;
}
const char *exit_reason_name(enum exit_reason r);

#define EXC_UD 6
#define EXC_GP 13

#endif

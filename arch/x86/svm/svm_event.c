/* SPDX-License-Identifier: MIT */
/*
 * Delivering again an event whose delivery an exit cut short (EXITINTINFO, APM vol. 2 §15.7.2),
 * for the software events: INTn (type 4), INT3 and INTO (type 3, vectors 3 and 4). Their return
 * address is the instruction after them, which VMRUN takes from the VMCB: NextRIP on a CPU with
 * NRIPS (§15.20: the injected software interrupt returns to NextRIP), RIP otherwise (QEMU's
 * TCG). The exit leaves RIP on the INT instruction, so Keel finds its end, and remembers what
 * it did: an injection cut short again leaves RIP where Keel put it, which must not be moved a
 * second time. A pure function of the VMCB and that record (tests/unit/test_svm_event.c).
 */
#include "arch/x86/svm/vmcb.h"

#define EXITINTINFO_TYPE(i) (((i) >> 8) & 7)
#define EXITINTINFO_VEC(i)  ((u8)(i))
#define TYPE_EXCEPTION	    3
#define TYPE_SOFT_INT	    4
#define VEC_BP		    3
#define VEC_OF		    4

bool svm_event_is_soft(u64 info)
{
	if (!(info & EVENTINJ_VALID))
		return false;
	return EXITINTINFO_TYPE(info) == TYPE_SOFT_INT ||
	       (EXITINTINFO_TYPE(info) == TYPE_EXCEPTION &&
		(EXITINTINFO_VEC(info) == VEC_BP || EXITINTINFO_VEC(info) == VEC_OF));
}

unsigned svm_soft_opcode(u64 info, u8 op[2])
{
	if (EXITINTINFO_TYPE(info) == TYPE_SOFT_INT) {
		op[0] = 0xcd; /* INT imm8 */
		op[1] = EXITINTINFO_VEC(info);
		return 2;
	}
	op[0] = EXITINTINFO_VEC(info) == VEC_BP ? 0xcc : 0xce; /* INT3, INTO */
	return 1;
}

int svm_requeue_soft(struct vmcb *c, struct svm_soft_int *s, bool nrips, int (*end)(void *ctx, u64 *next), void *ctx)
{
	u64 old = c->rip, next;

	if (s->valid && s->vector == EXITINTINFO_VEC(c->eventinj) && s->cs_base == c->cs.base &&
	    c->rip == (nrips ? s->old_rip : s->next_rip)) {
		/* Keel's own injection of it, cut short again: RIP is where Keel left it. */
		old = s->old_rip;
		next = s->next_rip;
	} else if (end(ctx, &next) < 0) {
		s->valid = false;
		return -1;
	}
	*s = (struct svm_soft_int){ .valid = true,
				    .vector = EXITINTINFO_VEC(c->eventinj),
				    .cs_base = c->cs.base,
				    .old_rip = old,
				    .next_rip = next };
	if (nrips) {
		c->rip = old;
		c->next_rip = next;
	} else {
		c->rip = next;
	}
	return 0;
}

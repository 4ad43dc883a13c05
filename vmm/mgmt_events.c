/* SPDX-License-Identifier: MIT */
/*
 * Events for the management VM (vmm/mgmt_vm.h): a ring of struct keel_event in Keel's memory,
 * pushed from whichever CPU retired a VM's last vCPU or destroyed it, taken by HC_EVENTS.
 */
#include "vmm/mgmt_vm.h"

#include "kernel/lib/string.h"
#include "kernel/spinlock.h"
#include "vmm/vmm.h"

static spinlock_t events_lock = SPINLOCK_INIT;
static struct keel_event ring[KEEL_EVENTS_MAX];
static u32 head, count;

/* A full ring drops its oldest event: the one that becomes the oldest carries the count of
 * every event lost before it ("dropped"), so the reader learns it where the gap is. */
void mgmt_events_push(const struct keel_event *e)
{
	unsigned long flags = spin_lock_irqsave(&events_lock);

	_Static_assert(KEEL_EVENTS_MAX > 1, "a drop leaves an event to carry the count");
	if (count == KEEL_EVENTS_MAX) {
		u32 lost = ring[head].dropped + 1;

		head = (head + 1) % KEEL_EVENTS_MAX;
		count--;
		ring[head].dropped += lost;
	}
	ring[(head + count) % KEEL_EVENTS_MAX] = *e;
	ring[(head + count) % KEEL_EVENTS_MAX].dropped = 0;
	count++;
	spin_unlock_irqrestore(&events_lock, flags);
	/* No lock held: the upcall takes the VM list lock and the management VM's. */
	vmm_mgmt_upcall(KEEL_UPCALL_EVENT);
}

u32 mgmt_events_take(struct keel_event *out, u32 max)
{
	unsigned long flags = spin_lock_irqsave(&events_lock);
	u32 n = MIN(max, count);

	for (u32 i = 0; i < n; i++)
		out[i] = ring[(head + i) % KEEL_EVENTS_MAX];
	head = (head + n) % KEEL_EVENTS_MAX;
	count -= n;
	spin_unlock_irqrestore(&events_lock, flags);
	return n;
}

u32 mgmt_events_count(void)
{
	return __atomic_load_n(&count, __ATOMIC_RELAXED);
}

void mgmt_vm_end_of(const struct vm *vm, u32 *type, u32 *status, char *reason, size_t len)
{
	*status = 0;
	if (vm->crashed) {
		*type = KEEL_EV_CRASHED;
		kstrlcpy(reason, vm->crash_reason, len);
		return;
	}
	reason[0] = '\0';
	if (vm->end == VM_END_POWEROFF) {
		*type = KEEL_EV_POWEROFF;
	} else if (vm->end == VM_END_RESET) {
		*type = KEEL_EV_RESET;
	} else {
		*type = KEEL_EV_EXITED;
		*status = vm->exit_status;
	}
}

void mgmt_event_ended(const struct vm *vm)
{
	struct keel_event e = { .vm_id = vm->id };

	kstrlcpy(e.name, vm->name, sizeof(e.name));
	mgmt_vm_end_of(vm, &e.type, &e.status, e.reason, sizeof(e.reason));
	mgmt_events_push(&e);
}

void mgmt_event_destroyed(u32 id, const char *name)
{
	struct keel_event e = { .vm_id = id, .type = KEEL_EV_DESTROYED };

	kstrlcpy(e.name, name, sizeof(e.name));
	mgmt_events_push(&e);
}

/* SPDX-License-Identifier: MIT */
/*
 * VMs created and controlled at run time by the management VM (vmm/mgmt.h, docs/mgmt.md):
 * HC_VM_CREATE..HC_MOD_READ of vmm/public/keel_hypercall.h. Every argument is the management
 * VM's and hostile all the same: each structure is copied once out of its RAM, checked whole,
 * and only then acted on; a refused call changes nothing. The VM list (vmm/vmm.c) does the
 * lifecycle under its lock; this file parses, stages boot images and copies results out.
 */
#include "vmm/mgmt.h"

#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm/kmalloc.h"
#include "kernel/mm/page.h"
#include "kernel/sched.h"
#include "kernel/sched_policy.h"
#include "vmm/loader.h"
#include "vmm/mgmt_abi.h"
#include "vmm/mgmt_vm.h"
#include "vmm/vmm.h"

_Static_assert(KEEL_ENOENT == ENOENT && KEEL_ENOMEM == ENOMEM && KEEL_EBUSY == EBUSY && KEEL_EEXIST == EEXIST &&
		   KEEL_ENOSPC == ENOSPC,
	       "vmm/public/keel_hypercall.h's KEEL_E* differ from Keel's errno values");
_Static_assert(KEEL_IMAGE_MAX == VM_CONFIG_MAX_IMAGES && KEEL_VM_MAX_VCPUS == VM_CONFIG_MAX_VCPUS &&
		   KEEL_VM_NAME_MAX == VM_NAME_MAX,
	       "the ABI's limits are the VM list's");
_Static_assert(EXIT_REASON_MAX <= 32, "struct keel_vm_detail has 32 exit reasons");
_Static_assert(KEEL_IMAGE_MAX <= GUEST_MAX_MODULES + 1, "a multiboot kernel takes KEEL_IMAGE_MAX - 1 modules");

/* A VM id from a 64-bit argument: 0 and anything past 32 bits name no VM. */
static bool id_arg(u64 a, u32 *id)
{
	*id = (u32)a;
	return a && a <= 0xffffffffull;
}

/* Whether [gpa, gpa + len) is RAM of vm, in one range: a copy out there cannot fail, so what is
 * taken from a queue to be copied is never lost. */
static bool ram_range(struct vm *vm, u64 gpa, u64 len)
{
	u64 off, room;

	return !len || (vm_ram_offset(vm, gpa, &off, &room) && len <= room);
}

static s64 hc_create(struct vcpu *v, u64 gpa)
{
	struct keel_vm_create req;
	struct vmm_create_args a;
	u32 id = 0;
	int ret;

	if (gpa_read(v->vm, gpa, &req, sizeof(req)))
		return -EFAULT;
	ret = mgmt_check_create(&req);
	if (ret)
		return ret;
	a = (struct vmm_create_args){ .name = req.name,
				      .mem = ALIGN_UP(req.mem_bytes, VM_RAM_CHUNK),
				      .vcpus = req.vcpus,
				      .weight = req.weight ? req.weight : SCHED_WEIGHT_UNIT,
				      .cap = req.cap_pct };
	memcpy(a.affinity, req.affinity, sizeof(a.affinity));
	ret = vmm_create(&a, &id);
	return ret ? ret : (s64)id;
}

static s64 hc_image(struct vcpu *v, u64 vm_id, u64 gpa)
{
	struct keel_vm_image img;
	struct vm_config *c;
	struct vm_stage *st;
	u8 *fresh = NULL;
	u32 id;
	int ret;

	if (gpa_read(v->vm, gpa, &img, sizeof(img)))
		return -EFAULT;
	ret = mgmt_check_image(&img);
	if (ret)
		return ret;
	if (!id_arg(vm_id, &id))
		return -ENOENT;
	c = vmm_hold(id, &ret);
	if (!c)
		return ret;
	st = &c->stage[img.image];
	if (img.offset == 0) {
		/* A new image (or the same one again): its room is set aside now, whole, so
		 * a load never meets a half-allocated image. */
		fresh = st->data && st->total == img.total ? st->data : kmalloc(img.total);
		if (!fresh) {
			pr_warn("vm %u: boot image %u of %llu bytes: not enough memory (%llu MiB free)\n", id,
				img.image, (unsigned long long)img.total,
				(unsigned long long)(page_free_count() * PAGE_SIZE >> 20));
			ret = -ENOMEM;
			goto out;
		}
	} else if (!st->data || st->total != img.total || img.offset != st->filled) {
		ret = -EINVAL; /* not the next piece of the image under way */
		goto out;
	}
	if (gpa_read(v->vm, img.src_gpa, (fresh ? fresh : st->data) + img.offset, img.len)) {
		ret = -EFAULT;
		if (fresh != st->data)
			kfree(fresh);
		goto out;
	}
	if (fresh && fresh != st->data) {
		kfree(st->data);
		st->data = fresh;
		st->total = img.total;
	}
	st->filled = img.offset + img.len;
	ret = 0;
out:
	vmm_release(c);
	return ret;
}

static s64 hc_load(struct vcpu *v, u64 vm_id, u64 gpa)
{
	struct keel_vm_load req; /* copied once; the loaders get its command lines */
	struct guest_image img[KEEL_IMAGE_MAX];
	const char *why = NULL;
	struct vm_config *c;
	u32 id, nr;
	int ret;

	if (gpa_read(v->vm, gpa, &req, sizeof(req)))
		return -EFAULT;
	ret = mgmt_check_load(&req);
	if (ret)
		return ret;
	nr = req.images;
	if (!id_arg(vm_id, &id))
		return -ENOENT;
	c = vmm_hold(id, &ret);
	if (!c)
		return ret;
	for (u32 i = 0; i < nr; i++) {
		const struct vm_stage *st = &c->stage[i];

		if (!st->data || st->filled != st->total) {
			pr_warn("vm %s: load refused: boot image %u is %s\n", c->name, i,
				st->data ? "not complete" : "missing");
			ret = -EINVAL;
			goto out;
		}
		img[i] = (struct guest_image){ st->data, st->total, req.cmdline[i] };
	}
	ret = vmm_load(c, req.kind == KEEL_BOOT_LINUX, img, nr, &why);
	if (ret) {
		pr_warn("vm %s: load refused: %s\n", c->name, why);
		goto out;
	}
	/* Keel keeps no copy after the load. */
	for (u32 i = 0; i < KEEL_IMAGE_MAX; i++) {
		kfree(c->stage[i].data);
		c->stage[i] = (struct vm_stage){ 0 };
	}
out:
	vmm_release(c);
	return ret;
}

void mgmt_vm_info(const struct vm *vm, struct keel_vm_info *e)
{
	enum vm_state s = __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE);

	*e = (struct keel_vm_info){ .id = vm->id,
				    .state = s == VM_CREATED   ? KEEL_VM_CREATED
					     : s == VM_RUNNING ? KEEL_VM_RUNNING
					     : s == VM_PAUSED  ? KEEL_VM_PAUSED
							       : KEEL_VM_DEAD,
				    .vcpus = vm->nr_vcpus,
				    .flags = vm->mgmt ? KEEL_VM_F_MGMT : 0,
				    .mem_bytes = vm->ram_size };
	kstrlcpy(e->name, vm->name, sizeof(e->name));
	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		struct sched_stats st;

		if (!v)
			continue;
		for (u32 r = 0; r < EXIT_REASON_MAX; r++)
			e->exits += v->exit_counts[r];
		sched_entity_stats(&v->se, &st);
		e->run_ns += st.run_ns;
	}
}

/* Under the list lock (vmm_with_vm). */
static void detail_one(struct vm *vm, void *arg)
{
	struct keel_vm_detail *d = arg;

	mgmt_vm_info(vm, &d->info);
	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		struct sched_stats st;

		for (u32 r = 0; r < EXIT_REASON_MAX; r++)
			d->exits_by_reason[r] += vm->vcpus[i]->exit_counts[r];
		sched_entity_stats(&vm->vcpus[i]->se, &st);
		d->vcpu_run_ns[i] = st.run_ns;
	}
	if (d->info.state == KEEL_VM_DEAD)
		mgmt_vm_end_of(vm, &d->end, &d->status, d->reason, sizeof(d->reason));
}

static s64 hc_info(struct vcpu *v, u64 vm_id, u64 gpa)
{
	struct keel_vm_detail d;
	u32 id;
	int ret;

	if (!ram_range(v->vm, gpa, sizeof(d)))
		return -EFAULT;
	if (!id_arg(vm_id, &id))
		return -ENOENT;
	memset(&d, 0, sizeof(d));
	ret = vmm_with_vm(id, detail_one, &d);
	if (ret)
		return ret;
	return gpa_write(v->vm, gpa, &d, sizeof(d)) ? -EFAULT : 0;
}

static s64 hc_events(struct vcpu *v, u64 gpa, u64 max)
{
	struct keel_event ev[KEEL_EVENTS_MAX];
	u32 n;

	if (max > KEEL_EVENTS_MAX)
		return -EINVAL;
	if (!ram_range(v->vm, gpa, max * sizeof(ev[0])))
		return -EFAULT;
	n = mgmt_events_take(ev, (u32)max);
	return gpa_write(v->vm, gpa, ev, n * sizeof(ev[0])) ? -EFAULT : (s64)n;
}

struct console_take {
	u8 *buf;
	u32 len, got;
};

static void take_one(struct vm *vm, void *arg)
{
	struct console_take *t = arg;

	t->got = guest_console_take(vm, t->buf, t->len);
}

static s64 hc_console_read(struct vcpu *v, u64 vm_id, u64 gpa, u64 len)
{
	u8 buf[HC_CONSOLE_MAX];
	struct console_take t = { .buf = buf, .len = (u32)len };
	u32 id;
	int ret;

	if (len > HC_CONSOLE_MAX)
		return -EINVAL;
	if (!ram_range(v->vm, gpa, len))
		return -EFAULT;
	if (!id_arg(vm_id, &id))
		return -ENOENT;
	ret = vmm_with_vm(id, take_one, &t);
	if (ret)
		return ret;
	return gpa_write(v->vm, gpa, buf, t.got) ? -EFAULT : (s64)t.got;
}

static s64 hc_console_input(struct vcpu *v, u64 vm_id, u64 gpa, u64 len)
{
	u8 buf[HC_CONSOLE_MAX];
	u32 id;
	int ret;

	if (len > HC_CONSOLE_MAX)
		return -EINVAL;
	if (gpa_read(v->vm, gpa, buf, len))
		return -EFAULT;
	if (!id_arg(vm_id, &id))
		return -ENOENT;
	ret = vmm_input(id, buf, len);
	return ret ? ret : (s64)len;
}

static void add_ram(struct vm *vm, void *arg)
{
	*(u64 *)arg += vm->ram_size;
}

static s64 hc_mem_info(struct vcpu *v, u64 gpa)
{
	struct keel_mem_info m = { .total_bytes = page_total_count() * PAGE_SIZE,
				   .free_bytes = page_free_count() * PAGE_SIZE };

	vmm_for_each_vm(add_ram, &m.vm_bytes);
	return gpa_write(v->vm, gpa, &m, sizeof(m)) ? -EFAULT : 0;
}

static s64 hc_mod_info(struct vcpu *v, u64 index, u64 gpa)
{
	struct keel_module_info info = { 0 };
	struct guest_image img;

	if (index > 0xffffffffull || vmm_mgmt_module((u32)index, &img))
		return -ENOENT;
	info.size = img.size;
	mgmt_module_name(img.cmdline, (u32)index, info.name);
	return gpa_write(v->vm, gpa, &info, sizeof(info)) ? -EFAULT : 0;
}

/* The module's bytes go straight from Keel's copy to the management VM's RAM, checked to be
 * one RAM range first; the request is read once. */
static s64 hc_mod_read(struct vcpu *v, u64 gpa)
{
	struct keel_module_read r;
	struct guest_image img;
	u32 n;
	int ret;

	if (gpa_read(v->vm, gpa, &r, sizeof(r)))
		return -EFAULT;
	if (vmm_mgmt_module(r.index, &img))
		return -ENOENT;
	ret = mgmt_check_mod_read(&r, img.size, &n);
	if (ret)
		return ret;
	if (!ram_range(v->vm, r.buf, n))
		return -EFAULT;
	return gpa_write(v->vm, r.buf, (const u8 *)img.data + r.offset, n) ? -EFAULT : (s64)n;
}

s64 mgmt_vm_hypercall(struct vcpu *v, u64 nr, u64 a0, u64 a1, u64 a2)
{
	u32 id;

	switch (nr) {
	case HC_VM_CREATE:
		return hc_create(v, a0);
	case HC_VM_IMAGE:
		return hc_image(v, a0, a1);
	case HC_VM_LOAD:
		return hc_load(v, a0, a1);
	case HC_VM_START:
		return id_arg(a0, &id) ? vmm_start(id) : -ENOENT;
	case HC_VM_PAUSE:
	case HC_VM_RESUME:
	case HC_VM_DESTROY:
		return id_arg(a0, &id) ? vmm_op_id(id, (int)(nr - HC_VM_PAUSE)) : -ENOENT;
	case HC_VM_INFO:
		return hc_info(v, a0, a1);
	case HC_EVENTS:
		return hc_events(v, a0, a1);
	case HC_CONSOLE_READ:
		return hc_console_read(v, a0, a1, a2);
	case HC_CONSOLE_INPUT:
		return hc_console_input(v, a0, a1, a2);
	case HC_MEM_INFO:
		return hc_mem_info(v, a0);
	case HC_MOD_INFO:
		return hc_mod_info(v, a0, a1);
	case HC_MOD_READ:
		return hc_mod_read(v, a0);
	}
	return -ENOSYS;
}

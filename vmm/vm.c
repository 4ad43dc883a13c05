/* SPDX-License-Identifier: MIT */
/* VM lifecycle and guest-physical memory. */
#include "vmm/vm.h"

#include "arch/x86/cpu.h"
#include "arch/x86/memlayout.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm/kmalloc.h"
#include "kernel/mm/page.h"

#define CHUNK_ORDER 9 /* RAM comes in 2 MiB host blocks (VM_RAM_CHUNK): NPT maps each with one large page */
#define CHUNK_SIZE  VM_RAM_CHUNK
/* Each 1 GiB-aligned GiB of RAM is first tried as one host block (one nested 1 GiB page). */
#define HUGE_ORDER 18
/* Low bits of a ram_chunks entry (chunks are 2 MiB aligned): part of a 1 GiB block. */
#define CHUNK_HUGE_HEAD 1ull
#define CHUNK_HUGE_TAIL 2ull
#define CHUNK_FLAGS	VM_RAM_CHUNK_FLAGS

static u32 next_vm_id = 1; /* 0 means "none" to the console */

struct vm *vm_create(const char *name, u64 ram_size)
{
	struct vm *vm = kzalloc(sizeof(*vm));

	if (!vm)
		return NULL;
	kstrlcpy(vm->name, name, sizeof(vm->name));
	vm->id = __atomic_fetch_add(&next_vm_id, 1, __ATOMIC_RELAXED);
	vm->state = VM_CREATED;
	/* The guest's TSC starts near 0 and runs at the host's rate, with one offset for every vCPU
	 * on every CPU: with the host's TSCs in sync (invariant TSC, reset together), it never goes
	 * backwards when a vCPU moves. */
	vm->tsc_offset = -rdtsc();
	vm->ram_size = ALIGN_UP(ram_size, CHUNK_SIZE);
	vm->low_ram = MIN(vm->ram_size, VM_RAM_HOLE);
	vm->nr_ram_chunks = vm->ram_size / CHUNK_SIZE;
	vm->ram_chunks = kzalloc(vm->nr_ram_chunks * sizeof(hpa_t));
	vm->io_map = kzalloc(VM_IO_PORTS);
	if (!vm->ram_chunks || !vm->io_map || vcpu_ops->vm_init(vm))
		goto fail;
	/* Chunk i is RAM offset i * CHUNK_SIZE; both RAM ranges start GiB-aligned and the low one
	 * is whole GiBs when the high one exists, so GiB-aligned offsets are GiB-aligned gpas. */
	_Static_assert(VM_RAM_HOLE % GiB(1) == 0 && VM_HIGH_RAM % GiB(1) == 0, "RAM ranges");
	for (u64 i = 0; i < vm->nr_ram_chunks;) {
		u64 off = i * CHUNK_SIZE;
		gpa_t gpa = vm_ram_gpa(vm, off);
		hpa_t pa = INVALID_HPA;

		if (IS_ALIGNED(off, GiB(1)) && vm->ram_size - off >= GiB(1))
			pa = page_alloc_zeroed(HUGE_ORDER);
		if (pa != INVALID_HPA) {
			for (u64 j = 0; j < GiB(1) / CHUNK_SIZE; j++)
				vm->ram_chunks[i + j] = (pa + j * CHUNK_SIZE) | (j ? CHUNK_HUGE_TAIL : CHUNK_HUGE_HEAD);
			vm->nr_huge_blocks++;
			if (vcpu_ops->map(vm, gpa, pa, GiB(1)))
				goto fail;
			i += GiB(1) / CHUNK_SIZE;
			continue;
		}
		pa = page_alloc_zeroed(CHUNK_ORDER);
		if (pa == INVALID_HPA)
			goto fail;
		vm->ram_chunks[i++] = pa;
		if (vcpu_ops->map(vm, gpa, pa, CHUNK_SIZE))
			goto fail;
	}
	vm->regions[vm->nr_regions++] = (struct vm_region){ .base = 0, .size = vm->low_ram, .type = VM_REGION_RAM };
	if (vm->ram_size > vm->low_ram)
		vm->regions[vm->nr_regions++] = (struct vm_region){ .base = VM_HIGH_RAM,
								    .size = vm->ram_size - vm->low_ram,
								    .type = VM_REGION_RAM };
	return vm;
fail:
	pr_err("vm %s: not enough memory for %llu MiB\n", name, (unsigned long long)(ram_size >> 20));
	vm_destroy(vm);
	return NULL;
}

void vm_destroy(struct vm *vm)
{
	for (u32 i = 0; i < vm->nr_vcpus; i++) {
		vcpu_ops->vcpu_destroy(vm->vcpus[i]);
		if (vm->vcpus[i]->fpu_area)
			page_free(virt_to_phys(vm->vcpus[i]->fpu_area), 0);
		kfree(vm->vcpus[i]);
	}
	vcpu_ops->vm_destroy(vm);
	for (u64 i = 0; vm->ram_chunks && i < vm->nr_ram_chunks; i++) {
		hpa_t c = vm->ram_chunks[i];

		if (c & CHUNK_HUGE_HEAD)
			page_free(c & ~CHUNK_FLAGS, HUGE_ORDER);
		else if (c && !(c & CHUNK_HUGE_TAIL))
			page_free(c, CHUNK_ORDER);
	}
	kfree(vm->ram_chunks);
	kfree(vm->io_map);
	kfree(vm);
}

hpa_t gpa_to_hpa(struct vm *vm, gpa_t gpa)
{
	u64 off, room;

	if (!vm_ram_offset(vm, gpa, &off, &room))
		return INVALID_HPA;
	return (vm->ram_chunks[off / CHUNK_SIZE] & ~CHUNK_FLAGS) + off % CHUNK_SIZE;
}

void *gpa_map(struct vm *vm, gpa_t gpa, u64 len)
{
	u64 off, room;

	if (!len || !vm_ram_offset(vm, gpa, &off, &room) || len > room || off % CHUNK_SIZE + len > CHUNK_SIZE)
		return NULL;
	return phys_to_virt((vm->ram_chunks[off / CHUNK_SIZE] & ~CHUNK_FLAGS) + off % CHUNK_SIZE);
}

int gpa_load(struct vm *vm, gpa_t gpa, unsigned size, u64 *val)
{
	const void *p;

	/* Aligned and at most 8 bytes: within one chunk, and RAM ends on a chunk boundary. */
	if ((gpa & (size - 1)) || !(p = vm_ram_ptr(vm, gpa)))
		return -EFAULT;
	*val = size == 8 ? __atomic_load_n((const u64 *)p, __ATOMIC_RELAXED)
			 : __atomic_load_n((const u32 *)p, __ATOMIC_RELAXED);
	return 0;
}

/* Copies piecewise so a range across 2 MiB chunks (separate host blocks) is handled; a range
 * must lie in one RAM range (it may not run into the hole). */
static int gpa_copy(struct vm *vm, gpa_t gpa, void *buf, u64 len, bool to_guest)
{
	u8 *p = buf;
	u64 off, room;

	if (!vm_ram_offset(vm, gpa, &off, &room) || len > room)
		return -EFAULT;
	while (len) {
		u64 n = MIN(len, CHUNK_SIZE - gpa % CHUNK_SIZE);
		u8 *host = phys_to_virt(gpa_to_hpa(vm, gpa));

		if (to_guest)
			memcpy(host, p, n);
		else
			memcpy(p, host, n);
		gpa += n, p += n, len -= n;
	}
	return 0;
}

int gpa_read(struct vm *vm, gpa_t gpa, void *buf, u64 len)
{
	return gpa_copy(vm, gpa, buf, len, false);
}

int gpa_write(struct vm *vm, gpa_t gpa, const void *buf, u64 len)
{
	return gpa_copy(vm, gpa, (void *)(uintptr_t)buf, len, true);
}

int vm_io_register(struct vm *vm, u16 base, u16 count, vm_io_fn fn)
{
	_Static_assert(VM_MAX_IO_HANDLERS < 256, "io_map holds 1 + an index in a byte");
	if (vm->nr_io >= VM_MAX_IO_HANDLERS)
		return -ENOSPC;
	if (!count || (u32)base + count > VM_IO_PORTS)
		return -EINVAL;
	for (u32 p = base; p < (u32)base + count; p++)
		if (vm->io_map[p])
			return -EEXIST;
	vm->io[vm->nr_io++] = (struct vm_io_handler){ .base = base, .count = count, .fn = fn };
	for (u32 p = base; p < (u32)base + count; p++)
		vm->io_map[p] = (u8)vm->nr_io;
	return 0;
}

int vm_mmio_register(struct vm *vm, u64 base, u64 size, vm_mmio_fn fn)
{
	if (vm->nr_mmio >= VM_MAX_MMIO_HANDLERS || vm->nr_regions >= VM_MAX_REGIONS)
		return -ENOSPC;
	if (!size || !IS_ALIGNED(base | size, PAGE_SIZE) || base + size < base || base < vm->low_ram ||
	    (vm->ram_size > vm->low_ram && base < VM_HIGH_RAM + (vm->ram_size - vm->low_ram) &&
	     base + size > VM_HIGH_RAM))
		return -EINVAL; /* it would cover RAM */
	for (u32 i = 0; i < vm->nr_mmio; i++)
		if (base < vm->mmio[i].base + vm->mmio[i].size && vm->mmio[i].base < base + size)
			return -EEXIST;
	vm->mmio[vm->nr_mmio++] = (struct vm_mmio_handler){ .base = base, .size = size, .fn = fn };
	vm->regions[vm->nr_regions++] = (struct vm_region){ .base = base, .size = size, .type = VM_REGION_MMIO };
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* Extended page tables (SDM vol. 3C §28.2) and flushing what the CPU caches from them and under
 * VPIDs (INVEPT/INVVPID, §28.3.3). */
#include "arch/x86/memlayout.h"
#include "arch/x86/nested_pt.h"
#include "arch/x86/vmx/vmx.h"
#include "kernel/mm/page.h"

u64 vmx_eptp(const struct vm *vm)
{
	return vm->arch.vmx.ept_root | EPTP_WALK4 | EPTP_WB;
}

/* Drops this CPU's cached translations for a VM's EPT (and guest-linear ones tagged with it). */
void vmx_ept_flush(const struct vm *vm)
{
	if (vmx_caps.ept & EPT_CAP_INVEPT_SINGLE)
		invept(INVEPT_SINGLE, vmx_eptp(vm));
	else
		invept(INVEPT_ALL, 0);
}

void vmx_vpid_flush(u16 vpid)
{
	if (!vmx_caps.vpid)
		return;
	if (vmx_caps.ept & VPID_CAP_INVVPID_SINGLE)
		invvpid(INVVPID_SINGLE, vpid);
	else
		invvpid(INVVPID_ALL, 0);
}

static u64 *ept_table(u64 *entry)
{
	if (!(*entry & EPT_RWX)) {
		hpa_t pa = page_alloc_zeroed(0);

		if (pa == INVALID_HPA)
			return NULL;
		*entry = pa | EPT_RWX;
	} else if (*entry & EPT_LARGE) {
		return NULL;
	}
	return phys_to_virt(*entry & EPT_ADDR);
}

/* EPT leaves are write-back and ignore the guest's PAT only where Keel says so: not at all (the
 * guest's memory types combine with WB as on bare metal; SDM vol. 3C §28.3.7). */
#define EPT_LEAF (EPT_RWX | EPT_MT_WB)

int vmx_map(struct vm *vm, u64 gpa, hpa_t hpa, u64 size)
{
	int ret = 0;

	while (size) {
		u64 *pml4 = phys_to_virt(vm->arch.vmx.ept_root);
		u64 *pdpt = ept_table(&pml4[(gpa >> 39) & 511]), *pd, *pt;

		if (!pdpt) {
			ret = -ENOMEM;
			break;
		}
		if ((vmx_caps.ept & EPT_CAP_1G) && IS_ALIGNED(gpa | hpa, GiB(1)) && size >= GiB(1)) {
			pdpt[(gpa >> 30) & 511] = hpa | EPT_LEAF | EPT_LARGE;
			gpa += GiB(1), hpa += GiB(1), size -= GiB(1);
			continue;
		}
		if (!(pd = ept_table(&pdpt[(gpa >> 30) & 511]))) {
			ret = -ENOMEM;
			break;
		}
		if ((vmx_caps.ept & EPT_CAP_2M) && IS_ALIGNED(gpa | hpa, MiB(2)) && size >= MiB(2)) {
			pd[(gpa >> 21) & 511] = hpa | EPT_LEAF | EPT_LARGE;
			gpa += MiB(2), hpa += MiB(2), size -= MiB(2);
			continue;
		}
		if (!(pt = ept_table(&pd[(gpa >> 21) & 511]))) {
			ret = -ENOMEM;
			break;
		}
		pt[(gpa >> 12) & 511] = hpa | EPT_LEAF;
		gpa += PAGE_SIZE, hpa += PAGE_SIZE, size -= PAGE_SIZE;
	}
	/* CPUs that ran this VM flush before their next entry (vmx_run); this one flushes now. */
	__atomic_fetch_add(&vm->arch.vmx.ept_generation, 1, __ATOMIC_SEQ_CST);
	vmx_ept_flush(vm);
	return ret;
}

void vmx_ept_free(hpa_t table, int level)
{
	u64 *t = phys_to_virt(table);

	for (int i = 0; level > 1 && i < 512; i++)
		if ((t[i] & EPT_RWX) && !(t[i] & EPT_LARGE))
			vmx_ept_free(t[i] & EPT_ADDR, level - 1);
	page_free(table, 0);
}

int vmx_ept_unmap(struct vm *vm, u64 gpa, u64 size, struct nested_stale *stale)
{
	_Static_assert(EPT_LARGE == NESTED_PT_LARGE && EPT_ADDR == NESTED_PT_ADDR, "EPT layout");
	return nested_pt_unmap(phys_to_virt(vm->arch.vmx.ept_root), EPT_RWX, gpa, size, stale);
}

void vmx_ept_free_stale(struct nested_stale *stale)
{
	for (u32 i = 0; i < stale->nr; i++)
		vmx_ept_free(stale->t[i].table, stale->t[i].level);
	stale->nr = 0;
}

/* v's CPU is about to enter it: INVEPT single-context drops every translation this CPU cached
 * from the VM's EPT (combined mappings of every VPID included; SDM vol. 3C §28.3.3.1). Other
 * CPUs flush when v or another vCPU of the VM enters there (vmx_load_slow on arrival). */
void vmx_flush_tlb(struct vcpu *v)
{
	vmx_ept_flush(v->vm);
}

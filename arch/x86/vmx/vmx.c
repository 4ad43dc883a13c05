/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-x backend (SDM vol. 3C ch. 23-31) behind struct vcpu_ops: VMXON per CPU, one VMCS per
 * vCPU, EPT with VPID, unrestricted guests. Section numbers follow the SDM's vol. 3C chapter
 * numbering of 2016-2022 (ch. 24 VMCS, 26 VM entries, 27 VM exits, 28 address translation).
 */
#include "arch/x86/cpu.h"
#include "arch/x86/memlayout.h"
#include "arch/x86/vmx/vmx.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/mm/page.h"
#include "kernel/panic.h"
#include "kernel/percpu.h"
#include "kernel/smp.h"
#include "vmm/vm.h"

#define NO_CPU (-1)

struct vmx_caps vmx_caps;

/* Per physical CPU: the VMXON region and which VMCS is current (VMPTRLD'ed) there. */
static hpa_t vmxon_region[MAX_CPUS];
hpa_t vmx_current_vmcs[MAX_CPUS];

/*
 * Turns VMX on for this CPU (SDM vol. 3C §23.7 "Enabling and entering VMX operation"):
 * IA32_FEATURE_CONTROL must allow VMXON outside SMX (we lock it so if the firmware left it
 * open), CR0/CR4 must honour the fixed bits (§23.8), and VMXON takes a region stamped with the
 * VMCS revision identifier.
 */
static int vmx_cpu_enable(void)
{
	u32 cpu = this_cpu()->cpu;
	u64 fc = rdmsr(MSR_FEATURE_CONTROL);
	hpa_t region;

	if (!(fc & FEATURE_CONTROL_LOCK))
		wrmsr(MSR_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMXON_OUTSIDE_SMX);
	else if (!(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX))
		return -EPERM;
	if (vmxon_region[cpu])
		return 0;
	region = page_alloc_zeroed(0);
	if (region == INVALID_HPA)
		return -ENOMEM;
	*(u32 *)phys_to_virt(region) = vmx_caps.revision;
	write_cr0((read_cr0() | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1);
	write_cr4((read_cr4() | vmx_caps.cr4_fixed0 | CR4_VMXE) & vmx_caps.cr4_fixed1);
	if (!vmxon(region)) {
		write_cr4(read_cr4() & ~(u64)CR4_VMXE);
		page_free(region, 0);
		return -EIO;
	}
	vmxon_region[cpu] = region;
	/* Nothing from before VMXON may survive under an EPTP or VPID that Keel hands out. */
	invept(INVEPT_ALL, 0);
	if (vmx_caps.vpid)
		invvpid(INVVPID_ALL, 0);
	return 0;
}

static const u32 guest_owned[] = { GUEST_OWNED_MSRS };

/* SDM vol. 3C §24.6.9: read bitmaps for low and high MSRs, then the write bitmaps. */
static void msr_bitmap_allow(u8 *bm, u32 msr)
{
	u32 high = msr >= 0xc0000000u ? 0x400 : 0, bit = msr & 0x1fff;

	bm[high + bit / 8] &= (u8) ~(1u << (bit % 8));
	bm[0x800 + high + bit / 8] &= (u8) ~(1u << (bit % 8));
}

static int vmx_vm_init(struct vm *vm)
{
	struct vmx_vm *x = &vm->arch.vmx;

	x->ept_root = page_alloc_zeroed(0);
	/* Every port and MSR is intercepted: what the guest may touch is decided in vmm/. */
	x->io_bitmaps = page_alloc(1);
	x->msr_bitmap = page_alloc(0);
	if (x->ept_root == INVALID_HPA || x->io_bitmaps == INVALID_HPA || x->msr_bitmap == INVALID_HPA)
		return -ENOMEM;
	memset(phys_to_virt(x->io_bitmaps), 0xff, 2 * PAGE_SIZE);
	memset(phys_to_virt(x->msr_bitmap), 0xff, PAGE_SIZE);
	for (unsigned i = 0; i < ARRAY_SIZE(guest_owned); i++)
		msr_bitmap_allow(phys_to_virt(x->msr_bitmap), guest_owned[i]);
	return 0;
}

static void vmx_vm_destroy(struct vm *vm)
{
	struct vmx_vm *x = &vm->arch.vmx;

	if (x->ept_root != INVALID_HPA && x->ept_root)
		vmx_ept_free(x->ept_root, 4);
	if (x->io_bitmaps != INVALID_HPA && x->io_bitmaps)
		page_free(x->io_bitmaps, 1);
	if (x->msr_bitmap != INVALID_HPA && x->msr_bitmap)
		page_free(x->msr_bitmap, 0);
}

/* Host state that differs between physical CPUs (SDM vol. 3C §24.5). */
static void write_host_percpu_state(void)
{
	struct percpu *p = this_cpu();
	struct {
		u16 limit;
		u64 base;
	} __packed idt;

	__asm__ volatile("sidt %0" : "=m"(idt));
	vmcs_writenat(HOST_CR0, read_cr0());
	vmcs_writenat(HOST_CR3, read_cr3());
	vmcs_writenat(HOST_CR4, read_cr4());
	vmcs_writenat(HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmcs_writenat(HOST_GS_BASE, rdmsr(MSR_GS_BASE)); /* this CPU's struct percpu */
	vmcs_writenat(HOST_TR_BASE, (u64)(uintptr_t)&p->tss);
	vmcs_writenat(HOST_GDTR_BASE, (u64)(uintptr_t)p->gdt);
	vmcs_writenat(HOST_IDTR_BASE, idt.base);
	vmcs_write32(HOST_IA32_SYSENTER_CS, (u32)rdmsr(MSR_SYSENTER_CS));
	vmcs_writenat(HOST_IA32_SYSENTER_ESP, rdmsr(MSR_SYSENTER_ESP));
	vmcs_writenat(HOST_IA32_SYSENTER_EIP, rdmsr(MSR_SYSENTER_EIP));
	vmcs_write64(HOST_IA32_PAT, rdmsr(MSR_PAT));
	vmcs_write64(HOST_IA32_EFER, rdmsr(MSR_EFER));
}

/*
 * MSRs that neither VM entry nor VM exit switch by themselves but a guest can reach without a
 * WRMSR/RDMSR exit: IA32_KERNEL_GS_BASE through SWAPGS. They go through the VM-entry MSR-load and
 * VM-exit MSR-store areas (one guest list used for both) and the VM-exit MSR-load area (the
 * host's list), so no guest sees another's or the host's value (SDM vol. 3C §24.7.2, §24.8.2).
 */
struct vmx_msr_entry {
	u32 index;
	u32 reserved;
	u64 data;
} __packed;
_Static_assert(sizeof(struct vmx_msr_entry) == 16, "MSR-area entry layout (SDM vol. 3C table 24-12)");

static const u32 switched_msrs[] = { MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK };
#define NR_SWITCHED_MSRS ARRAY_SIZE(switched_msrs)
#define MSR_AREA_HOST	 (PAGE_SIZE / 2) /* offset of the host's list in the vCPU's MSR page */

static void write_host_msr_area(struct vcpu *v)
{
	struct vmx_msr_entry *host = (void *)((u8 *)phys_to_virt(v->arch.vmx.msr_area) + MSR_AREA_HOST);

	for (unsigned i = 0; i < NR_SWITCHED_MSRS; i++)
		host[i] = (struct vmx_msr_entry){ .index = switched_msrs[i], .data = rdmsr(switched_msrs[i]) };
}

static void vmclear_here(void *arg)
{
	struct vcpu *v = arg;
	u32 cpu = this_cpu()->cpu;

	vmclear(v->arch.vmx.vmcs_pa);
	if (vmx_current_vmcs[cpu] == v->arch.vmx.vmcs_pa) {
		vmx_current_vmcs[cpu] = 0;
		vmx_current_vcpu[cpu] = NULL;
	}
	v->arch.vmx.cpu = NO_CPU;
	v->arch.vmx.launched = false;
}

/*
 * Makes v's VMCS current on this CPU. A VMCS active on another CPU is cleared there first
 * (VMCLEAR writes its cached state back; SDM vol. 3C §24.11.1); today each vCPU stays on one CPU,
 * so that happens only between vcpu_init (on the BSP) and the first run.
 */
void vmx_load_slow(struct vcpu *v)
{
	struct vmx_vcpu *x = &v->arch.vmx;
	u32 cpu = this_cpu()->cpu;

	if (x->cpu != NO_CPU && (u32)x->cpu != cpu)
		smp_call((u32)x->cpu, vmclear_here, v);
	if (!vmptrld(x->vmcs_pa)) {
		x->vmcs_error = true;
		return;
	}
	vmx_current_vmcs[cpu] = x->vmcs_pa;
	vmx_current_vcpu[cpu] = v;
	if (x->cpu != (s32)cpu) {
		x->cpu = (s32)cpu;
		write_host_percpu_state();
		write_host_msr_area(v);
		/* Translations cached here under this VPID or EPTP may be stale (an earlier owner of
		 * the same VPID, EPT pages reused from an earlier VM; SDM vol. 3C §28.3.3). */
		vmx_vpid_flush(x->vpid);
		vmx_ept_flush(v->vm);
		x->ept_generation = __atomic_load_n(&v->vm->arch.vmx.ept_generation, __ATOMIC_ACQUIRE);
	}
}

static void set_seg(enum vmcs_field sel, u16 selector, u32 ar, u32 limit, u64 base)
{
	/* Selector, limit, access rights and base are at fixed offsets from the selector's
	 * encoding within each group (SDM vol. 3C appendix B). */
	u32 i = (u32)sel - GUEST_ES_SELECTOR;

	vmcs_write16(sel, selector);
	vmcs_write32((enum vmcs_field)(GUEST_ES_LIMIT + i), limit);
	vmcs_write32((enum vmcs_field)(GUEST_ES_AR + i), ar);
	vmcs_writenat((enum vmcs_field)(GUEST_ES_BASE + i), base);
}

/* CR0 bits the guest may not choose itself: the fixed ones, except PE and PG with unrestricted
 * guest (SDM vol. 3C §26.3.1.1). The guest reads its own value through the read shadow. */
static u64 cr0_host_owned(void)
{
	return ((vmx_caps.cr0_fixed0 & ~(u64)(CR0_PE | CR0_PG)) | ~vmx_caps.cr0_fixed1) & 0xffffffffULL;
}

static u64 cr4_host_owned(void)
{
	return (vmx_caps.cr4_fixed0 | ~vmx_caps.cr4_fixed1 | CR4_VMXE) & 0xffffffffULL;
}

/* The guest state of a vCPU at power-on, INIT+SIPI or multiboot entry (SDM vol. 3C §26.3.1 checks;
 * the same starting point as svm.c's). The VMCS must be current. */
static void vmx_set_boot_state(struct vcpu *v, const struct vcpu_boot_state *boot)
{
	u64 cr0;

	if (boot->protected_mode) {
		set_seg(GUEST_CS_SELECTOR, 0x08, AR_CODE32, 0xffffffff, 0);
		set_seg(GUEST_DS_SELECTOR, 0x10, AR_DATA32, 0xffffffff, 0);
		set_seg(GUEST_ES_SELECTOR, 0x10, AR_DATA32, 0xffffffff, 0);
		set_seg(GUEST_SS_SELECTOR, 0x10, AR_DATA32, 0xffffffff, 0);
		set_seg(GUEST_FS_SELECTOR, 0x10, AR_DATA32, 0xffffffff, 0);
		set_seg(GUEST_GS_SELECTOR, 0x10, AR_DATA32, 0xffffffff, 0);
		cr0 = CR0_PE | CR0_ET | CR0_NE;
	} else {
		set_seg(GUEST_CS_SELECTOR, boot->cs_sel, AR_CODE16, 0xffff, (u64)boot->cs_sel << 4);
		set_seg(GUEST_DS_SELECTOR, 0, AR_DATA16, 0xffff, 0);
		set_seg(GUEST_ES_SELECTOR, 0, AR_DATA16, 0xffff, 0);
		set_seg(GUEST_SS_SELECTOR, 0, AR_DATA16, 0xffff, 0);
		set_seg(GUEST_FS_SELECTOR, 0, AR_DATA16, 0xffff, 0);
		set_seg(GUEST_GS_SELECTOR, 0, AR_DATA16, 0xffff, 0);
		cr0 = CR0_ET | CR0_NE;
	}
	set_seg(GUEST_TR_SELECTOR, 0, AR_TSS_BUSY, 0x67, 0);
	set_seg(GUEST_LDTR_SELECTOR, 0, AR_LDT, 0xffff, 0);
	vmcs_writenat(GUEST_GDTR_BASE, 0);
	vmcs_write32(GUEST_GDTR_LIMIT, 0xffff);
	vmcs_writenat(GUEST_IDTR_BASE, 0);
	vmcs_write32(GUEST_IDTR_LIMIT, 0xffff);
	vmcs_writenat(GUEST_CR0, vmx_cr0_real(cr0));
	vmcs_writenat(CR0_READ_SHADOW, cr0);
	vmcs_writenat(GUEST_CR3, 0);
	vmcs_writenat(GUEST_CR4, vmx_cr4_real(0));
	vmcs_writenat(CR4_READ_SHADOW, 0);
	vmcs_write64(GUEST_IA32_EFER, 0);
	vmcs_write64(GUEST_IA32_PAT, PAT_RESET_VALUE);
	vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
	vmcs_writenat(GUEST_DR7, 0x400);
	vmcs_writenat(GUEST_RFLAGS, 2);
	vmcs_writenat(GUEST_RIP, boot->rip);
	vmcs_writenat(GUEST_RSP, boot->rsp);
	vmcs_write32(GUEST_SYSENTER_CS, 0);
	vmcs_writenat(GUEST_SYSENTER_ESP, 0);
	vmcs_writenat(GUEST_SYSENTER_EIP, 0);
	vmcs_write32(GUEST_INTERRUPTIBILITY, 0);
	vmcs_write32(GUEST_ACTIVITY_STATE, 0);
	vmcs_writenat(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write64(VMCS_LINK_POINTER, ~0ULL); /* required: no shadow VMCS (§26.3.1.5) */
	vmcs_write32(VM_ENTRY_INTR_INFO, 0);
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, vmx_caps.cpu); /* no interrupt window requested */
	v->gprs = (struct vcpu_gprs){ .rax = boot->rax, .rbx = boot->rbx, .rdx = boot->rdx, .rsi = boot->rsi };
	v->pending_exc = false;
	v->guest_pat = 0;
	v->arch.vmx.cr2 = 0;
}

static int vmx_vcpu_init(struct vcpu *v, const struct vcpu_boot_state *boot)
{
	static u16 next_vpid = 1; /* VPID 0 is the host's */
	struct vmx_vcpu *x = &v->arch.vmx;
	struct vm *vm = v->vm;
	hpa_t pa = page_alloc_zeroed(0);
	struct vmx_msr_entry *guest_msrs;

	if (pa == INVALID_HPA)
		return -ENOMEM;
	x->msr_area = page_alloc_zeroed(0);
	if (x->msr_area == INVALID_HPA) {
		x->msr_area = 0;
		page_free(pa, 0);
		return -ENOMEM;
	}
	guest_msrs = phys_to_virt(x->msr_area);
	for (unsigned i = 0; i < NR_SWITCHED_MSRS; i++)
		guest_msrs[i] = (struct vmx_msr_entry){ .index = switched_msrs[i] }; /* guests start with 0 */
	*(u32 *)phys_to_virt(pa) = vmx_caps.revision;
	x->vmcs_pa = pa;
	x->cpu = NO_CPU;
	x->vpid = vmx_caps.vpid ? __atomic_fetch_add(&next_vpid, 1, __ATOMIC_SEQ_CST) : 0;
	if (vmx_caps.vpid && x->vpid == 0) /* wrapped: VPIDs are flushed on first use on a CPU */
		x->vpid = __atomic_fetch_add(&next_vpid, 1, __ATOMIC_SEQ_CST);
	if (!vmclear(pa))
		return -EIO;
	vmx_load(v);

	/* Controls */
	vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, vmx_caps.pin);
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, vmx_caps.cpu);
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL, vmx_caps.cpu2);
	vmcs_write32(VM_EXIT_CONTROLS, vmx_caps.exit);
	vmcs_write32(VM_ENTRY_CONTROLS, vmx_caps.entry);
	/* #AC and #DB can be raised endlessly by delivering themselves: always intercept (the
	 * "livelock" errata behind CVE-2015-5307 and CVE-2015-8104). */
	vmcs_write32(EXCEPTION_BITMAP, (1u << VEC_DB) | (1u << VEC_AC));
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write32(CR3_TARGET_COUNT, 0);
	vmcs_write64(VM_ENTRY_MSR_LOAD_ADDR, x->msr_area);
	vmcs_write64(VM_EXIT_MSR_STORE_ADDR, x->msr_area);
	vmcs_write64(VM_EXIT_MSR_LOAD_ADDR, x->msr_area + MSR_AREA_HOST);
	vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, NR_SWITCHED_MSRS);
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, NR_SWITCHED_MSRS);
	vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, NR_SWITCHED_MSRS);
	vmcs_write32(VM_ENTRY_INTR_INFO, 0);
	vmcs_write64(IO_BITMAP_A, vm->arch.vmx.io_bitmaps);
	vmcs_write64(IO_BITMAP_B, vm->arch.vmx.io_bitmaps + PAGE_SIZE);
	vmcs_write64(MSR_BITMAP, vm->arch.vmx.msr_bitmap);
	vmcs_write64(EPT_POINTER, vmx_eptp(vm));
	if (vmx_caps.vpid)
		vmcs_write16(VIRTUAL_PROCESSOR_ID, x->vpid);
	vmcs_write64(TSC_OFFSET, vm->tsc_offset);
	vmcs_writenat(CR0_GUEST_HOST_MASK, cr0_host_owned());
	vmcs_writenat(CR4_GUEST_HOST_MASK, cr4_host_owned());

	/* Host state (the per-CPU part was written by vmx_load) */
	vmcs_write16(HOST_CS_SELECTOR, GDT_KERNEL_CS);
	vmcs_write16(HOST_SS_SELECTOR, GDT_KERNEL_DS);
	vmcs_write16(HOST_DS_SELECTOR, GDT_KERNEL_DS);
	vmcs_write16(HOST_ES_SELECTOR, GDT_KERNEL_DS);
	vmcs_write16(HOST_FS_SELECTOR, 0); /* bases come from HOST_FS_BASE/HOST_GS_BASE */
	vmcs_write16(HOST_GS_SELECTOR, 0);
	vmcs_write16(HOST_TR_SELECTOR, GDT_TSS);
	vmcs_writenat(HOST_RIP, (u64)(uintptr_t)vmx_exit_stub);

	vmx_set_boot_state(v, boot);

	/* Release it: the vCPU's worker CPU loads it again (vmx_load) for its first entry. */
	vmclear_here(v);
	return x->vmcs_error ? -EIO : 0;
}

static void vmx_vcpu_destroy(struct vcpu *v)
{
	struct vmx_vcpu *x = &v->arch.vmx;

	if (!x->vmcs_pa)
		return;
	if (x->cpu != NO_CPU)
		smp_call((u32)x->cpu, vmclear_here, v);
	page_free(x->vmcs_pa, 0);
	x->vmcs_pa = 0;
	if (x->msr_area)
		page_free(x->msr_area, 0);
	x->msr_area = 0;
}

static u64 vmx_get(struct vcpu *v, enum vcpu_reg r)
{
	u32 ar;

	vmx_load(v);
	switch (r) {
	case VREG_RIP:
		return vmcs_readnat(GUEST_RIP);
	case VREG_RSP:
		return vmcs_readnat(GUEST_RSP);
	case VREG_RFLAGS:
		return vmcs_readnat(GUEST_RFLAGS);
	case VREG_CR0:
		return vmx_guest_cr0();
	case VREG_CR2:
		return v->arch.vmx.cr2;
	case VREG_CR3:
		return vmcs_readnat(GUEST_CR3);
	case VREG_CR4: /* CR4.VMXE is Keel's, never the guest's */
		return vmx_guest_cr4();
	case VREG_EFER:
		return vmcs_read64(GUEST_IA32_EFER);
	case VREG_CS_BASE:
		return vmcs_readnat(GUEST_CS_BASE);
	case VREG_CS_ATTR:
		ar = vmcs_read32(GUEST_CS_AR);
		return (ar & AR_L ? CS_ATTR_L : 0) | (ar & AR_DB ? CS_ATTR_DB : 0);
	case VREG_CPL:
		/* VMX keeps no CPL field: it is SS.DPL, which a VM exit saves even when SS is unusable
		 * (SDM vol. 3C §27.3.2; KVM's vmx_get_cpl reads it the same way). */
		return AR_DPL(vmcs_read32(GUEST_SS_AR));
	case VREG_SS_BASE:
		return vmcs_readnat(GUEST_SS_BASE);
	case VREG_SS_LIMIT:
		return vmcs_read32(GUEST_SS_LIMIT);
	case VREG_SS_ATTR:
		return vmcs_read32(GUEST_SS_AR) & AR_DB ? CS_ATTR_DB : 0;
	case VREG_DS_BASE:
		return vmcs_readnat(GUEST_DS_BASE);
	case VREG_DS_LIMIT:
		return vmcs_read32(GUEST_DS_LIMIT);
	case VREG_ES_BASE:
		return vmcs_readnat(GUEST_ES_BASE);
	case VREG_ES_LIMIT:
		return vmcs_read32(GUEST_ES_LIMIT);
	case VREG_CS_LIMIT:
		return vmcs_read32(GUEST_CS_LIMIT);
	case VREG_FS_BASE:
		return vmcs_readnat(GUEST_FS_BASE);
	case VREG_FS_LIMIT:
		return vmcs_read32(GUEST_FS_LIMIT);
	case VREG_GS_BASE:
		return vmcs_readnat(GUEST_GS_BASE);
	case VREG_GS_LIMIT:
		return vmcs_read32(GUEST_GS_LIMIT);
	}
	return 0;
}

static void vmx_code_state(struct vcpu *v, struct vcpu_code_state *s)
{
	/* Like every accessor: an exit handled again after the vCPU waited (vmm/ioreq.c's replay)
	 * runs before entry, when another vCPU's VMCS may be the current one. */
	vmx_load(v);
	*s = (struct vcpu_code_state){ .rip = vmcs_readnat(GUEST_RIP),
				       .cs_base = vmcs_readnat(GUEST_CS_BASE),
				       .cr0 = vmx_guest_cr0(),
				       .cr3 = vmcs_readnat(GUEST_CR3),
				       .cr4 = vmx_guest_cr4(),
				       .efer = vmcs_read64(GUEST_IA32_EFER),
				       .cpl = (u8)AR_DPL(vmcs_read32(GUEST_SS_AR)) };
}

static void vmx_set(struct vcpu *v, enum vcpu_reg r, u64 val)
{
	vmx_load(v);
	switch (r) {
	case VREG_RIP:
		vmx_insn_done(v, val);
		break;
	case VREG_RSP:
		vmcs_writenat(GUEST_RSP, val);
		break;
	case VREG_RFLAGS:
		vmcs_writenat(GUEST_RFLAGS, val);
		break;
	case VREG_EFER:
		vmx_set_efer(val);
		break;
	case VREG_CR2: /* loaded at the next entry (vmx_entry.S) */
		v->arch.vmx.cr2 = val;
		break;
	default:
		break; /* other CR writes reach the backend only as CR-access exits (emulate_cr_write) */
	}
}

static void vmx_inject(struct vcpu *v, u8 vector, bool has_error, u32 error)
{
	v->pending_exc = true;
	v->pending_vector = vector;
	v->pending_has_error = has_error;
	v->pending_error = error;
}

static bool vmx_irq_window_open(struct vcpu *v)
{
	vmx_load(v);
	return !(vmcs_read32(VM_ENTRY_INTR_INFO) & INTR_INFO_VALID) && !v->pending_exc &&
	       (vmcs_readnat(GUEST_RFLAGS) & RFLAGS_IF) &&
	       !(vmcs_read32(GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS));
}

static void vmx_inject_irq(struct vcpu *v, u8 vector)
{
	vmx_load(v);
	vmx_inject_event(INTR_TYPE_EXT_INTR | vector, false, 0);
}

/* Interrupt-window exiting: an exit as soon as RFLAGS.IF=1 and nothing blocks interrupts
 * (SDM vol. 3C §25.2). */
static void vmx_request_irq_window(struct vcpu *v)
{
	vmx_load(v);
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, vmcs_read32(CPU_BASED_VM_EXEC_CONTROL) | CPU_INTR_WINDOW_EXITING);
}

/* Blocking by NMI is the guest's virtual-NMI blocking, kept by the CPU from the injection to the
 * handler's IRET (SDM vol. 3C §25.3, §26.6.1.2). */
static bool vmx_nmi_window_open(struct vcpu *v)
{
	vmx_load(v);
	return !(vmcs_read32(VM_ENTRY_INTR_INFO) & INTR_INFO_VALID) && !v->pending_exc &&
	       !(vmcs_read32(GUEST_INTERRUPTIBILITY) &
		 (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS | INTERRUPTIBILITY_NMI));
}

static void vmx_inject_nmi(struct vcpu *v)
{
	vmx_load(v);
	vmx_inject_event(INTR_TYPE_NMI | 2, false, 0);
}

/* NMI-window exiting: an exit as soon as nothing blocks an NMI (SDM vol. 3C §25.2). Without
 * virtual NMIs there is none, and the next full-path exit injects it. */
static void vmx_request_nmi_window(struct vcpu *v)
{
	vmx_load(v);
	if (vmx_caps.vnmi)
		vmcs_write32(CPU_BASED_VM_EXEC_CONTROL,
			     vmcs_read32(CPU_BASED_VM_EXEC_CONTROL) | CPU_NMI_WINDOW_EXITING);
}

static void vmx_reset(struct vcpu *v, const struct vcpu_boot_state *boot)
{
	struct vmx_msr_entry *guest_msrs = phys_to_virt(v->arch.vmx.msr_area);

	vmx_load(v);
	for (unsigned i = 0; i < NR_SWITCHED_MSRS; i++)
		guest_msrs[i].data = 0;
	vmx_set_boot_state(v, boot);
	vmx_vpid_flush(v->arch.vmx.vpid); /* no translation of the old context survives INIT */
}

/* VMCLEAR here, so that the next CPU to run v can VMPTRLD it (SDM vol. 3C §24.11.1: a VMCS must
 * not be active on two CPUs). */
static void vmx_unload(struct vcpu *v)
{
	if (v->arch.vmx.cpu == (s32)this_cpu()->cpu)
		vmclear_here(v);
}

static bool vmx_set_timer(struct vcpu *v, u64 tsc_deadline)
{
	if (!vmx_caps.preempt_timer)
		return false;
	v->arch.vmx.timer_deadline = tsc_deadline; /* converted to a count at entry (vmx_run) */
	return true;
}

static const struct vcpu_ops vmx_ops = {
	.name = "Intel VT-x",
	.cpu_enable = vmx_cpu_enable,
	.vm_init = vmx_vm_init,
	.vm_destroy = vmx_vm_destroy,
	.map = vmx_map,
	.unmap = vmx_ept_unmap,
	.free_tables = vmx_ept_free_stale,
	.flush_tlb = vmx_flush_tlb,
	.vcpu_init = vmx_vcpu_init,
	.vcpu_destroy = vmx_vcpu_destroy,
	.reset = vmx_reset,
	.unload = vmx_unload,
	.set_timer = vmx_set_timer,
	.run = vmx_run,
	.get = vmx_get,
	.set = vmx_set,
	.code_state = vmx_code_state,
	.inject = vmx_inject,
	.irq_window_open = vmx_irq_window_open,
	.inject_irq = vmx_inject_irq,
	.request_irq_window = vmx_request_irq_window,
	.nmi_window_open = vmx_nmi_window_open,
	.inject_nmi = vmx_inject_nmi,
	.request_nmi_window = vmx_request_nmi_window,
};

/*
 * A control field's value from its capability MSR: bits 31:0 are the allowed 0-settings (1 =
 * must be 1), bits 63:32 the allowed 1-settings (SDM vol. 3C §A.3-A.5). Required features that
 * cannot be 1 are named; optional ones are taken where allowed.
 */
struct ctl_feature {
	u32 bit;
	const char *name;
};

static bool compute_ctls(const char *group, u64 cap, const struct ctl_feature *req, unsigned nreq, u32 optional,
			 u32 *out)
{
	u32 must = (u32)cap, may = (u32)(cap >> 32), want = optional & may;
	bool ok = true;

	for (unsigned i = 0; i < nreq; i++) {
		if (!(may & req[i].bit)) {
			pr_warn("vmx: required %s control missing: %s\n", group, req[i].name);
			ok = false;
		}
		want |= req[i].bit;
	}
	*out = (want | must) & may;
	return ok;
}

#define FEAT(b, n)       \
	{                \
		(b), (n) \
	}

const struct vcpu_ops *vmx_probe(void);
const struct vcpu_ops *vmx_probe(void)
{
	static const struct ctl_feature pin_req[] = { FEAT(PIN_EXTINT_EXITING, "external-interrupt exiting"),
						      FEAT(PIN_NMI_EXITING, "NMI exiting") };
	static const struct ctl_feature cpu_req[] = { FEAT(CPU_HLT_EXITING, "HLT exiting"),
						      FEAT(CPU_USE_IO_BITMAPS, "use I/O bitmaps"),
						      FEAT(CPU_USE_MSR_BITMAPS, "use MSR bitmaps"),
						      FEAT(CPU_CR8_LOAD_EXITING, "CR8-load exiting"),
						      FEAT(CPU_CR8_STORE_EXITING, "CR8-store exiting"),
						      FEAT(CPU_MWAIT_EXITING, "MWAIT exiting"),
						      FEAT(CPU_MONITOR_EXITING, "MONITOR exiting"),
						      FEAT(CPU_RDPMC_EXITING, "RDPMC exiting"),
						      FEAT(CPU_SECONDARY_CONTROLS, "secondary controls") };
	/* WBINVD exiting: a guest must not flush caches that other VMs share (vmm/exit.c). */
	static const struct ctl_feature cpu2_req[] = { FEAT(CPU2_ENABLE_EPT, "EPT"),
						       FEAT(CPU2_UNRESTRICTED, "unrestricted guest"),
						       FEAT(CPU2_WBINVD_EXITING, "WBINVD exiting") };
	static const struct ctl_feature exit_req[] = { FEAT(EXIT_HOST_ADDR_SPACE_64, "host address-space size"),
						       FEAT(EXIT_SAVE_DEBUG_CONTROLS, "save debug controls"),
						       FEAT(EXIT_SAVE_EFER, "save IA32_EFER"),
						       FEAT(EXIT_LOAD_EFER, "load IA32_EFER"),
						       FEAT(EXIT_SAVE_PAT, "save IA32_PAT"),
						       FEAT(EXIT_LOAD_PAT, "load IA32_PAT") };
	static const struct ctl_feature entry_req[] = { FEAT(ENTRY_LOAD_DEBUG_CONTROLS, "load debug controls"),
							FEAT(ENTRY_LOAD_EFER, "load IA32_EFER"),
							FEAT(ENTRY_LOAD_PAT, "load IA32_PAT") };
	u64 basic, fc, cap2;
	u32 cpu_must;
	bool ok = true;

	if (!(cpuid(1, 0).ecx & CPUID1_ECX_VMX))
		return NULL;
	/*
	 * Everything is read from the capability MSRs before CR4.VMXE is touched: an emulator that
	 * advertises VMX without implementing it (QEMU's TCG reads these MSRs as 0, and writing
	 * CR4.VMXE hangs it; ../shared/platform-notes.md) is turned away here.
	 */
	basic = rdmsr(MSR_VMX_BASIC);
	if (!VMX_BASIC_REVISION(basic) || !VMX_BASIC_REGION_SIZE(basic) || VMX_BASIC_REGION_SIZE(basic) > PAGE_SIZE ||
	    VMX_BASIC_MEMTYPE(basic) != 6 || !(basic & VMX_BASIC_TRUE_CTLS) || (basic & VMX_BASIC_32BIT_ADDR)) {
		pr_warn("vmx: CPUID reports VT-x but IA32_VMX_BASIC (%#llx) is unusable; VT-x is not used\n",
			(unsigned long long)basic);
		return NULL;
	}
	fc = rdmsr(MSR_FEATURE_CONTROL);
	if ((fc & FEATURE_CONTROL_LOCK) && !(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX)) {
		pr_warn("vmx: VT-x is disabled by the firmware (IA32_FEATURE_CONTROL locked without "
			"VMXON outside SMX); enable it in the firmware setup\n");
		return NULL;
	}
	vmx_caps.revision = VMX_BASIC_REVISION(basic);
	cap2 = rdmsr(MSR_VMX_PROCBASED_CTLS2);
	ok &= compute_ctls("pin-based", rdmsr(MSR_VMX_TRUE_PINBASED_CTLS), pin_req, ARRAY_SIZE(pin_req),
			   PIN_VIRTUAL_NMIS, &vmx_caps.pin);
	/* Virtual NMIs track the guest's NMI blocking; NMI-window exiting, which needs them, says
	 * when it ends (SDM vol. 3C §24.6.1, §25.2). */
	vmx_caps.vnmi =
	    (vmx_caps.pin & PIN_VIRTUAL_NMIS) && ((rdmsr(MSR_VMX_TRUE_PROCBASED_CTLS) >> 32) & CPU_NMI_WINDOW_EXITING);
	if (!vmx_caps.vnmi)
		vmx_caps.pin &= ~PIN_VIRTUAL_NMIS;
	/* The VMX-preemption timer (SDM vol. 3C §25.5.1) counts down in the guest at the TSC rate
	 * divided by 2^IA32_VMX_MISC[4:0]; the scheduler uses it for slice ends when present. It is
	 * switched on per entry (vmx_run), so it stays out of the default controls. */
	vmx_caps.preempt_timer = (rdmsr(MSR_VMX_TRUE_PINBASED_CTLS) >> 32) & PIN_PREEMPTION_TIMER;
	vmx_caps.preempt_timer_shift = (u8)(rdmsr(MSR_VMX_MISC) & 0x1f);
	ok &= compute_ctls("processor-based", rdmsr(MSR_VMX_TRUE_PROCBASED_CTLS), cpu_req, ARRAY_SIZE(cpu_req),
			   CPU_USE_TSC_OFFSETTING, &vmx_caps.cpu);
	ok &= compute_ctls("secondary processor-based", cap2, cpu2_req, ARRAY_SIZE(cpu2_req),
			   CPU2_ENABLE_VPID | CPU2_ENABLE_RDTSCP | CPU2_ENABLE_INVPCID | CPU2_ENABLE_XSAVES,
			   &vmx_caps.cpu2);
	ok &= compute_ctls("VM-exit", rdmsr(MSR_VMX_TRUE_EXIT_CTLS), exit_req, ARRAY_SIZE(exit_req), 0, &vmx_caps.exit);
	ok &= compute_ctls("VM-entry", rdmsr(MSR_VMX_TRUE_ENTRY_CTLS), entry_req, ARRAY_SIZE(entry_req), 0,
			   &vmx_caps.entry);
	cpu_must = (u32)rdmsr(MSR_VMX_TRUE_PROCBASED_CTLS);
	/* Keel chooses when to exit on CR3 (never; CR8 always: emulate_cr8) and on an interrupt window. */
	vmx_caps.cpu &=
	    ~(CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING | CPU_INTR_WINDOW_EXITING | CPU_NMI_WINDOW_EXITING) |
	    cpu_must;
	vmx_caps.entry &= ~ENTRY_IA32E_GUEST;
	/* With "enable RDTSCP" clear, RDTSCP and RDPID raise #UD in the guest (SDM vol. 3C §25.3):
	 * no exit. With it set they read the CPU's IA32_TSC_AUX, which is the vCPU's own
	 * (vcpu_tsc_aux). */
	if (!cpu_has_tsc_aux())
		vmx_caps.cpu2 &= ~CPU2_ENABLE_RDTSCP;
	vcpu_tsc_aux = vmx_caps.cpu2 & CPU2_ENABLE_RDTSCP;
	vmx_caps.ept = rdmsr(MSR_VMX_EPT_VPID_CAP);
	if (!(vmx_caps.ept & EPT_CAP_WALK4) || !(vmx_caps.ept & EPT_CAP_WB) || !(vmx_caps.ept & EPT_CAP_INVEPT) ||
	    !(vmx_caps.ept & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
		pr_warn("vmx: required EPT feature missing (4-level walk, write-back, INVEPT): caps %#llx\n",
			(unsigned long long)vmx_caps.ept);
		ok = false;
	}
	vmx_caps.vpid = (vmx_caps.cpu2 & CPU2_ENABLE_VPID) && (vmx_caps.ept & VPID_CAP_INVVPID) &&
			(vmx_caps.ept & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL));
	if (!vmx_caps.vpid)
		vmx_caps.cpu2 &= ~CPU2_ENABLE_VPID;
	vmx_caps.cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
	vmx_caps.cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
	vmx_caps.cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
	vmx_caps.cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
	if (!(vmx_caps.cr4_fixed1 & CR4_VMXE)) {
		pr_warn("vmx: IA32_VMX_CR4_FIXED1 does not allow CR4.VMXE\n");
		ok = false;
	}
	if (!ok) {
		pr_warn("vmx: VT-x lacks a feature Keel requires; VT-x is not used\n");
		return NULL;
	}
	pr_info("vmx: Intel VT-x with EPT%s%s, unrestricted guest%s%s%s\n", vmx_caps.ept & EPT_CAP_2M ? " (2M" : "",
		vmx_caps.ept & EPT_CAP_2M ? (vmx_caps.ept & EPT_CAP_1G ? ", 1G pages)" : " pages)") : "",
		vmx_caps.vpid ? ", VPID" : "", vmx_caps.preempt_timer ? ", preemption timer" : "",
		vmx_caps.vnmi ? ", virtual NMIs" : "");
	return &vmx_ops;
}

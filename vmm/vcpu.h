/* SPDX-License-Identifier: MIT */
/* vCPUs and the one interface every vendor backend implements (struct vcpu_ops). */
#ifndef KEEL_VMM_VCPU_H
#define KEEL_VMM_VCPU_H

#include "arch/x86/debugreg.h"
#include "arch/x86/svm/svm_types.h"
#include "arch/x86/vmx/vmx_types.h"
#include "kernel/sched_policy.h"
#include "kernel/spinlock.h"
#include "kernel/types.h"
#include "vmm/dev/vlapic.h"

/* Why the guest stopped running, in vendor-neutral terms (the backend translates). */
enum exit_reason {
	EXIT_NONE,
	EXIT_CPUID,
	EXIT_MSR_READ,
	EXIT_MSR_WRITE,
	EXIT_IO,
	EXIT_HLT,
	EXIT_HYPERCALL,
	EXIT_NPF,  /* nested/extended page fault: MMIO or outside the VM's memory */
	EXIT_INTR, /* a host interrupt arrived while the guest ran */
	EXIT_NMI,
	EXIT_INTR_WINDOW, /* the guest can take an interrupt now */
	EXIT_SHUTDOWN,	  /* triple fault */
	EXIT_VIRT_INSN,	  /* a virtualization instruction (VMRUN, VMCALL on the wrong vendor...) */
	EXIT_EXCEPTION,	  /* an intercepted guest exception (#AC, #DB livelock guards) */
	EXIT_XSETBV,
	EXIT_WBINVD,	 /* WBINVD or WBNOINVD: a no-op (a guest must not flush the shared caches) */
	EXIT_RDPMC,	 /* no virtual PMU: #GP */
	EXIT_UNDEF_INSN, /* an instruction guests do not have (MONITOR, MWAIT, RDPRU): #UD */
	EXIT_ENTRY_FAIL, /* the CPU refused to enter the guest */
	EXIT_PREEMPT,	 /* the backend's own preemption timer expired (set_timer) */
	EXIT_UNKNOWN,
	EXIT_REASON_MAX
};

struct vm_exit {
	enum exit_reason reason;
	u64 hw_reason; /* the vendor's own code, for logs */
	u64 next_rip;  /* RIP after the exiting instruction when the CPU reports it, else 0 */
	union {
		struct {
			u16 port;
			u8 size; /* 1, 2, 4 */
			bool in, string, rep;
		} io;
		struct {
			u32 index;
		} msr;
		struct {
			u64 gpa;
			u64 error; /* vendor fault bits, for logs */
		} npf;
		struct {
			u8 vector;
			u32 error;
			bool reflected; /* the backend delivered it again itself (VT-x: ICEBP) */
		} exc;
	};
};

/*
 * I/O requests (vmm/ioreq.c): an access the device model serves cannot complete inside the exit
 * handler, and one instruction may make several (read-modify-write, MOVS). The handler's k-th
 * such access of the instruction in flight takes log[k] if it holds one, else publishes a
 * request and stops the handler (waiting); once answered, the saved exit is handled again before
 * the guest runs. The log is emptied when a pass finishes without waiting.
 */
#define VCPU_IOREQ_LOG 4
struct vcpu_ioreq_entry {
	u64 addr, data;
	u32 claim;
	u8 type, size, dir;
};
struct vcpu_ioreq {
	struct vm_exit exit; /* the exit handled again once the request is answered */
	u64 seq;	     /* requests published (the slot's seq) */
	u8 n_log;	     /* completed accesses in log[] */
	u8 used;	     /* accesses made by the current pass of the handler */
	bool waiting;	     /* log[n_log] is published: the handler stops, commits nothing */
	bool replay;	     /* exit must be handled again before the next entry */
	struct vcpu_ioreq_entry log[VCPU_IOREQ_LOG];
};

struct vcpu_gprs {
	u64 rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
};

/* General register number n in the instruction encoding's order (ModRM.reg/rm with REX: RAX, RCX,
 * RDX, RBX, RSP, RBP, RSI, RDI, R8-R15); NULL for RSP, which lives in the vendor's state. */
static inline u64 *vcpu_gpr(struct vcpu_gprs *g, unsigned n)
{
	u64 *const slots[16] = { &g->rax, &g->rcx, &g->rdx, &g->rbx, NULL,    &g->rbp, &g->rsi, &g->rdi,
				 &g->r8,  &g->r9,  &g->r10, &g->r11, &g->r12, &g->r13, &g->r14, &g->r15 };

	return slots[n & 15];
}

enum vcpu_reg {
	VREG_RIP,
	VREG_RSP,
	VREG_RFLAGS,
	VREG_CR0,
	VREG_CR2,
	VREG_CR3,
	VREG_CR4,
	VREG_EFER,
	VREG_CS_BASE,
	VREG_CS_ATTR,
	VREG_CPL, /* current privilege level, 0-3 (read only) */
	/* Data segments, read only: base, and limit in bytes (the descriptor's limit with G applied). */
	VREG_SS_BASE,
	VREG_SS_LIMIT,
	VREG_SS_ATTR, /* CS_ATTR_DB only: SS's B flag, 32-bit stack pointer (ESP, not SP) */
	VREG_DS_BASE,
	VREG_DS_LIMIT,
	VREG_ES_BASE,
	VREG_ES_LIMIT,
	/* The rest of the segments a string instruction's override can name (read only). */
	VREG_CS_LIMIT,
	VREG_FS_BASE,
	VREG_FS_LIMIT,
	VREG_GS_BASE,
	VREG_GS_LIMIT
};
#define VREG_NR (VREG_GS_LIMIT + 1)

/*
 * CR4 bits the CPU may have but the guest is told it lacks (the CPUID policy, vmm/exit_cpuid.c,
 * clears their feature bit): setting one raises #GP, as on a CPU without the feature. Only
 * VMXE (CPUID.1:ECX.VMX) today: every other CR4 feature bit is passed through. CR4.MCE stays
 * writable although CPUID.1:EDX.MCE is cleared, as KVM leaves it (Linux sets it unguarded).
 * On VT-x VMXE is host-owned and exits; AMD CPUs have no VMXE, so the CPU's own reserved-bit
 * check raises the #GP there and SVM needs no CR4 write intercept for it.
 */
#define GUEST_CR4_HIDDEN (1ULL << 13) /* CR4.VMXE */

/* VREG_CS_ATTR bits: the code segment's L and D/B flags (VREG_SS_ATTR: D/B only). */
#define CS_ATTR_L  (1u << 0)
#define CS_ATTR_DB (1u << 1)

/* Where a vCPU starts: multiboot-style 32-bit flat protected mode, or real mode with CS =
 * cs_sel (base cs_sel << 4: 0 for a boot sector, the SIPI vector << 8 for an AP). */
struct vcpu_boot_state {
	bool protected_mode;
	u16 cs_sel;
	u64 rip, rsp;
	u64 rax, rbx, rdx, rsi;
};

/* Multiprocessor state (SDM vol. 3A §8.4): APs wait for INIT then SIPI. */
enum vcpu_mp_state { VCPU_MP_RUNNING, VCPU_MP_WAIT_SIPI };

struct vm;

/*
 * Nested page-table pages that vcpu_ops->unmap took out of a VM's tables. A CPU that ran the VM
 * may still hold cached entries that lead into them, so they are freed (free_tables) only after
 * every vCPU of the VM flushed (vm_tlb_flush_sync, vmm/tlb_sync.h): 1 GiB-aligned ranges of at
 * most NESTED_UNMAP_MAX bytes free at most one PD table per GiB and two PDPT tables.
 */
#define NESTED_UNMAP_MAX GiB(32)
#define NESTED_STALE_MAX (NESTED_UNMAP_MAX / GiB(1) + 2)
struct nested_stale {
	u32 nr;
	struct {
		hpa_t table;
		u8 level; /* 2: a page directory (and the page tables under it), 3: a PDPT */
	} t[NESTED_STALE_MAX];
};

enum { INSN_NOW, INSN_DEFER, INSN_DEFERRED }; /* struct vcpu's insn_defer */

struct vcpu {
	struct vm *vm;
	u32 id;
	struct vcpu_gprs gprs; /* RAX is mirrored from the vendor state around each exit */
	/* Set by whatever changes the vCPU's interrupts, timers or run state during an exit (a device
	 * write, an interrupt delivered to it): the next entry takes the full path (vcpu_run.c). */
	bool slow;
	/* The move of RIP past an instruction an exit handler completed: on the fast path
	 * (exit_fast sets INSN_DEFER) skip_insn only records it (INSN_DEFERRED, insn_next) and the
	 * backend does it as soon as exit_fast returns, with no indirect call (vcpu_insn_done). */
	u8 insn_defer;
	bool pending_exc;
	u8 pending_vector;
	bool pending_has_error;
	u32 pending_error;
	u64 insn_next;		  /* INSN_DEFERRED: where the instruction ends */
	u64 guest_pat;		  /* IA32_PAT as the guest set it (0: power-on default) */
	void *fpu_area;		  /* FPU/SSE/AVX state while off the CPU (arch/x86/fpu.h) */
	u64 xcr0;		  /* the guest's XCR0 (0: x87 only) */
	struct guest_dregs dregs; /* DR0-DR3, DR6 while off the CPU (arch/x86/debugreg.h) */
	u64 tsc_aux;		  /* IA32_TSC_AUX, loaded when the vCPU takes a CPU (vcpu_tsc_aux) */
	u64 spec_ctrl;		  /* IA32_SPEC_CTRL, live only while the guest runs (arch/x86/spec.h) */

	/* Interrupt state, under `lock`: other vCPUs and devices send to it. */
	spinlock_t lock;
	struct vlapic lapic;
	enum vcpu_mp_state mp_state;
	bool init_pending, sipi_pending; /* applied by the vCPU's own CPU before its next entry */
	/* An NMI waits (an NMI IPI, an I/O APIC pin in NMI mode): one latch, as the CPU's (SDM vol.
	 * 3A §6.7.1: NMIs that arrive while one is pending are not counted). Injected when the
	 * backend says the guest can take it: not while it handles one (until its IRET). */
	bool nmi_pending;
	u8 sipi_vector;
	volatile bool halted;  /* in HLT: blocked until an interrupt is deliverable */
	volatile bool halt_if; /* RFLAGS.IF at that HLT: without it only INIT wakes the vCPU */
	u64 tsc_deadline;      /* IA32_TSC_DEADLINE as the guest wrote it */

	/* Nested TLB shootdown (vmm/tlb_sync.c): set by v's CPU, with interrupts off, from just
	 * before it looks at vm->tlb_gen for the entry until the backend's run returns; tlb_gen_seen
	 * is the generation v flushed for last. */
	u32 in_guest;
	u64 tlb_gen_seen;

	/* Scheduling (kernel/sched.c); se.affinity is the hard affinity, se.weight/cap_pct the VM's. */
	struct sched_entity se;
	u64 exit_counts[EXIT_REASON_MAX];
	u64 guest_cycles; /* TSC cycles from VM entry to VM exit: time in the guest */
	/* I/O requests to the device model (vmm/ioreq.c): the instruction in flight. */
	struct vcpu_ioreq ioreq;
	union {
		struct svm_vcpu svm;
		struct vmx_vcpu vmx;
	} arch;
};

/* What fetching the guest's instruction needs, read at once (the exit path's decode without NRIPS). */
struct vcpu_code_state {
	u64 rip, cs_base, cr0, cr3, cr4, efer;
	u8 cpl;
};

struct vcpu_ops {
	const char *name;
	/* Turns virtualization on for the calling physical CPU. */
	int (*cpu_enable)(void);
	int (*vm_init)(struct vm *vm);
	void (*vm_destroy)(struct vm *vm);
	/* Maps guest-physical [gpa, gpa+size) to host-physical in the nested page tables. */
	int (*map)(struct vm *vm, u64 gpa, hpa_t hpa, u64 size);
	/* Removes [gpa, gpa+size) (1 GiB aligned, 1 GiB to NESTED_UNMAP_MAX) from the nested page
	 * tables: the entries go at once; table pages left empty are detached into *stale and not
	 * freed. Nothing is flushed: the caller runs vm_tlb_flush_sync(vm), then free_tables. */
	int (*unmap)(struct vm *vm, u64 gpa, u64 size, struct nested_stale *stale);
	void (*free_tables)(struct nested_stale *stale);
	/* On v's CPU with interrupts off, right before the guest is entered: no nested translation
	 * of v's VM cached before this call is used again by v (vmm/tlb_sync.c calls it). */
	void (*flush_tlb)(struct vcpu *v);
	int (*vcpu_init)(struct vcpu *v, const struct vcpu_boot_state *boot);
	void (*vcpu_destroy)(struct vcpu *v);
	/* INIT then start at `boot` (an AP's SIPI): architectural reset state, no pending event.
	 * Called on the CPU that runs v next. */
	void (*reset)(struct vcpu *v, const struct vcpu_boot_state *boot);
	/* This CPU stops running v for now: any state the CPU caches for it is written back, so
	 * that another CPU may run it next (VMCLEAR on VMX). */
	void (*unload)(struct vcpu *v);
	/* Optional (NULL or returns false: not available): a timer of the backend's own that ends
	 * the guest's run with EXIT_PREEMPT at TSC value `tsc_deadline` (the VMX preemption timer),
	 * so the scheduler need not arm the local APIC timer while the guest runs. 0 disarms. */
	bool (*set_timer)(struct vcpu *v, u64 tsc_deadline);
	/* Runs the guest, with interrupts off, until an exit the fast path (exit_fast, which the
	 * backend calls after each exit) does not finish: *exit describes it, and the return value
	 * says whether its handler ran already (the full path must still run before the next
	 * entry) or exit_dispatch() must handle it. */
	bool (*run)(struct vcpu *v, struct vm_exit *exit);
	u64 (*get)(struct vcpu *v, enum vcpu_reg r);
	/* Optional (NULL: read with get): the registers of struct vcpu_code_state in one call. */
	void (*code_state)(struct vcpu *v, struct vcpu_code_state *s);
	/* VREG_RIP means the instruction at RIP completed (an exit handler emulated or skipped it):
	 * the STI/MOV SS shadow ends, and with RFLAGS.TF set the single-step trap follows, a #DB
	 * with DR6.BS, as after any instruction (SDM vol. 3B §17.3.1.4). */
	void (*set)(struct vcpu *v, enum vcpu_reg r, u64 val);
	/* Queues an exception for the next entry. */
	void (*inject)(struct vcpu *v, u8 vector, bool has_error, u32 error);
	/* External interrupts: whether the guest can take one at the next entry (IF set, no
	 * interrupt shadow, no other event queued); inject one; or ask for an EXIT_INTR_WINDOW exit
	 * as soon as it can. */
	bool (*irq_window_open)(struct vcpu *v);
	void (*inject_irq)(struct vcpu *v, u8 vector);
	void (*request_irq_window)(struct vcpu *v);
	/* NMIs, the same way: whether the guest can take one now (no event queued, not blocked by
	 * an NMI whose handler has not yet returned with IRET, no STI/MOV SS shadow); inject one
	 * (blocking NMIs until the guest's IRET); or ask for an exit (EXIT_INTR_WINDOW) as soon as
	 * it can take one. */
	bool (*nmi_window_open)(struct vcpu *v);
	void (*inject_nmi)(struct vcpu *v);
	void (*request_nmi_window)(struct vcpu *v);
};

/* The backend chosen at boot from CPUID (NULL when the CPU has no usable virtualization). */
extern const struct vcpu_ops *vcpu_ops;
/*
 * Set by the backend's probe when guests can run RDTSCP and RDPID natively: the CPU has
 * IA32_TSC_AUX and (VT-x) the "enable RDTSCP" control. Both instructions then read the CPU's
 * IA32_TSC_AUX, which the scheduler loads with the vCPU's own value whenever a vCPU takes a CPU
 * (Keel itself never uses it); CPUID offers them only then (vmm/exit_cpuid.c).
 */
extern bool vcpu_tsc_aux;
/* Chooses and returns it (arch/x86/virt.c). */
const struct vcpu_ops *arch_virt_probe(void);

#endif

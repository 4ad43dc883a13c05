/* SPDX-License-Identifier: MIT */
/*
 * Speculation mitigations on the running CPU: probe what it enumerates, decide (spec_policy.c),
 * then set the host's side once (thunks, IBRS) and leave the flags the exit path tests.
 */
#include "arch/x86/spec.h"

#include "arch/x86/cpu.h"
#include "arch/x86/memlayout.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/options.h"
#include "kernel/percpu.h"

u8 spec_exit_flags;
u8 spec_entry_flags;
/* VERW's operand: any valid data segment selector will do (the flat kernel data segment). */
u16 spec_verw_selector = GDT_KERNEL_DS;
u64 spec_host_ctrl;
struct spec_cpu spec_cpu_info;
struct spec_plan spec_active;

#define LOG_WIDTH 76

/* The thunks of thunks.S, one SPEC_THUNK_SLOT-byte slot per register number, then RET's. */
#define SPEC_THUNK_SLOT 32
extern u8 spec_thunks[], spec_thunks_end[];

static void probe(struct spec_cpu *c)
{
	struct cpuid_regs v = cpuid(0, 0), f1 = cpuid(1, 0), l7 = { 0 }, e8 = { 0 }, e21 = { 0 };
	u32 max = v.eax, xmax = cpuid(0x80000000, 0).eax;

	*c = (struct spec_cpu){ 0 };
	/* "AuthenticAMD" and "HygonGenuine" (EBX holds the first four characters). */
	c->amd = v.ebx == 0x68747541 || v.ebx == 0x6f677948;
	c->family = ((f1.eax >> 8) & 0xf) + (((f1.eax >> 8) & 0xf) == 0xf ? (f1.eax >> 20) & 0xff : 0);
	if (max >= 7)
		l7 = cpuid(7, 0);
	if (xmax >= 0x80000008)
		e8 = cpuid(0x80000008, 0);
	if (xmax >= 0x80000021)
		e21 = cpuid(0x80000021, 0);
	if (c->amd) {
		c->ibpb = e8.ebx & CPUID80000008_EBX_IBPB;
		c->ibrs = e8.ebx & CPUID80000008_EBX_IBRS;
		c->stibp = e8.ebx & CPUID80000008_EBX_STIBP;
		c->ssbd = e8.ebx & CPUID80000008_EBX_SSBD;
		c->btc_no = e8.ebx & CPUID80000008_EBX_BTC_NO;
		c->auto_ibrs = e21.eax & CPUID80000021_EAX_AUTOIBRS;
		c->spec_ctrl = c->ibrs || c->stibp || c->ssbd;
	} else {
		c->spec_ctrl = c->ibpb = c->ibrs = l7.edx & CPUID7_EDX_SPEC_CTRL;
		c->stibp = l7.edx & CPUID7_EDX_STIBP;
		c->ssbd = l7.edx & CPUID7_EDX_SSBD;
	}
	c->md_clear = l7.edx & CPUID7_EDX_MD_CLEAR;
	c->l1d_flush = l7.edx & CPUID7_EDX_L1D_FLUSH;
	c->has_arch_cap = l7.edx & CPUID7_EDX_ARCH_CAP;
	c->rtm = l7.ebx & CPUID7_EBX_RTM;
	if (c->has_arch_cap)
		c->arch_cap = rdmsr(MSR_ARCH_CAPABILITIES);
	/* Threads of a core: the SMT level of the extended topology leaf (SDM vol. 3A §9.9.1). */
	if (max >= 0xb) {
		struct cpuid_regs t = cpuid(0xb, 0);

		if (((t.ecx >> 8) & 0xff) == 1 && (t.ebx & 0xffff) > 1)
			c->smt_shift = t.eax & 0x1f;
	}
}

/* Rewrites the start of a thunk slot through the direct map (the image's text is mapped
 * read-only); only the boot CPU runs, and CPUID after the writes serialises it. */
static void patch(u8 *slot, const u8 *bytes, unsigned n)
{
	volatile u8 *w = phys_to_virt(virt_to_phys(slot));

	/* A byte at a time and the first byte first: the return thunk is in use meanwhile, and a
	 * RET (0xC3) as its first byte already makes it whole. */
	for (unsigned i = 0; i < n; i++)
		w[i] = bytes[i];
}

static void select_thunks(const struct spec_plan *p)
{
	unsigned nr = (unsigned)((spec_thunks_end - spec_thunks) / SPEC_THUNK_SLOT);

	if (!p->retpoline) {
		/* JMP *reg: FF /4 (REX.B for r8-r15), then INT3 against straight-line speculation. */
		for (unsigned r = 0; r < 16 && r < nr; r++) {
			u8 plain[4] = { 0x41, 0xff, (u8)(0xe0 | (r & 7)), 0xcc };

			if (r >= 8)
				patch(spec_thunks + r * SPEC_THUNK_SLOT, plain, 4);
			else
				patch(spec_thunks + r * SPEC_THUNK_SLOT, plain + 1, 3);
		}
	}
	if (!p->return_thunk && nr > 16) {
		static const u8 ret[] = { 0xc3, 0xcc };

		patch(spec_thunks + 16 * SPEC_THUNK_SLOT, ret, sizeof(ret));
	}
	(void)cpuid(0, 0);
}

void spec_init(void)
{
	struct spec_opts o = { .mode = (enum spec_mode)opts.spec,
			       .smt = opts.smt,
			       .return_thunks = KEEL_RETURN_THUNKS };
	char text[768], line[LOG_WIDTH + 1];
	unsigned at = 0;
	int n;

	probe(&spec_cpu_info);
	spec_decide(&spec_cpu_info, &o, &spec_active);
	spec_exit_flags = (spec_active.rsb_exit == RSB_FULL ? SPEC_EXIT_RSB_FULL : 0) |
			  (spec_active.rsb_exit == RSB_LITE ? SPEC_EXIT_RSB_LITE : 0) |
			  (spec_active.ibpb_exit ? SPEC_EXIT_IBPB : 0);
	spec_entry_flags =
	    (spec_active.verw_entry ? SPEC_ENTRY_VERW : 0) | (spec_active.l1d_flush_entry ? SPEC_ENTRY_L1D : 0);
	select_thunks(&spec_active);

	pr_info("spec: %s family %#x, IA32_ARCH_CAPABILITIES %#llx%s; spec=%s\n", spec_cpu_info.amd ? "AMD" : "Intel",
		spec_cpu_info.family, (unsigned long long)spec_cpu_info.arch_cap,
		spec_cpu_info.has_arch_cap ? "" : " (none)",
		opts.spec == SPEC_FORCE ? "force"
		: opts.spec == SPEC_OFF ? "off"
					: "auto");
	/* The plan, "name: state" items joined by "; " into lines of at most LOG_WIDTH characters
	 * (a screen's width on the framebuffer console); what is missing on lines of its own. */
	n = spec_describe(&spec_active, text, sizeof(text));
	for (char *item = text, *end; item < text + n; item = end + 1) {
		bool missing = !strncmp(item, "missing:", 8);

		end = strchr(item, '\n');
		if (!end)
			break;
		*end = '\0';
		if (at && (missing || at + 2 + strlen(item) > LOG_WIDTH)) {
			pr_info("spec: %s\n", line);
			at = 0;
		}
		if (missing) {
			pr_info("spec: %s\n", item);
			continue;
		}
		at += (unsigned)ksnprintf(line + at, sizeof(line) - at, "%s%s", at ? "; " : "", item);
	}
	if (at)
		pr_info("spec: %s\n", line);
	spec_init_cpu();
}

void spec_init_cpu(void)
{
	if (spec_cpu_info.spec_ctrl) {
		/* Enhanced IBRS is set once and left on (SDM: "IBRS_ALL"); otherwise the host runs
		 * with the bits clear and retpolines. A guest's own value is live only while it runs. */
		spec_host_ctrl = spec_active.host_ibrs ? SPEC_CTRL_IBRS : 0;
		wrmsr(MSR_SPEC_CTRL, spec_host_ctrl);
	}
	if (spec_active.host_auto_ibrs)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_AUTOIBRS);
	this_cpu()->spec_owner = 0;
}

bool spec_is_sibling_thread(u32 apic_id)
{
	return spec_active.smt_off && (apic_id & ((1u << spec_cpu_info.smt_shift) - 1));
}

/* The software L1D flush for CPUs without IA32_FLUSH_CMD: read twice the L1D's size (64 KiB),
 * a line at a time, so every line of L1D holds this buffer instead of the last guest's or the
 * host's data (Intel's L1TF guidance). */
static u8 l1d_flush_buf[64 * 1024] __attribute__((aligned(4096)));

void spec_l1d_flush(void)
{
	if (!spec_active.l1d_flush_sw) {
		wrmsr(MSR_FLUSH_CMD, FLUSH_CMD_L1D);
		return;
	}
	for (unsigned i = 0; i < sizeof(l1d_flush_buf); i += 64)
		(void)*(volatile u8 *)&l1d_flush_buf[i];
}

void spec_switch_owner(u64 owner)
{
	struct percpu *p = this_cpu();

	if (p->spec_owner == owner)
		return;
	/* Another VM ran here last (or nothing since boot): its branch predictions must not steer
	 * this one (IBPB, SDM "Indirect Branch Predictor Barrier"). */
	if (p->spec_owner && spec_active.ibpb_vm_switch)
		wrmsr(MSR_PRED_CMD, PRED_CMD_IBPB);
	p->spec_owner = owner;
}

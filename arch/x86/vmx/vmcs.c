/* SPDX-License-Identifier: MIT */
/* VMCS accessors and the VMX instructions Keel uses, each checked for VMfailInvalid (CF) and
 * VMfailValid (ZF) (SDM vol. 3C §30.2 "Conventions"). */
#include "arch/x86/vmx/vmx.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/percpu.h"

struct vcpu *vmx_current_vcpu[MAX_CPUS];

static const char *const insn_errors[] = {
	[1] = "VMCALL in VMX root operation",
	[2] = "VMCLEAR with invalid physical address",
	[3] = "VMCLEAR with VMXON pointer",
	[4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS",
	[6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control field(s)",
	[8] = "VM entry with invalid host-state field(s)",
	[9] = "VMPTRLD with invalid physical address",
	[10] = "VMPTRLD with VMXON pointer",
	[11] = "VMPTRLD with incorrect VMCS revision identifier",
	[12] = "VMREAD/VMWRITE of an unsupported VMCS component",
	[13] = "VMWRITE to a read-only VMCS component",
	[15] = "VMXON in VMX root operation",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "invalid operand to INVEPT/INVVPID",
};

const char *vmx_insn_error_name(u32 e)
{
	return e < ARRAY_SIZE(insn_errors) && insn_errors[e] ? insn_errors[e] : "see SDM vol. 3C §30.4";
}

/* VMfailValid leaves the reason in the current VMCS; VMfailInvalid means there is none. */
void vmcs_failed(const char *op, u32 field)
{
	u32 cpu = this_cpu()->cpu;
	u64 err = 0, current = ~0ull;
	/* VMfailInvalid: no current VMCS, which VMPTRST reports as all ones (SDM vol. 3C §30.3
	 * VMPTRST); otherwise VMfailValid, with the error in the VMCS. */
	bool valid;

	__asm__ volatile("vmptrst %0" : "=m"(current) : : "cc");
	valid = current != ~0ull;
	if (valid)
		__asm__ volatile("vmread %1, %0" : "=r"(err) : "r"((u64)VM_INSTRUCTION_ERROR) : "cc");
	if (valid)
		pr_err("vmx: %s of field %#x failed: VM-instruction error %llu (%s)\n", op, field,
		       (unsigned long long)err, vmx_insn_error_name((u32)err));
	else
		pr_err("vmx: %s of field %#x failed: no current VMCS (VMfailInvalid)\n", op, field);
	if (vmx_current_vcpu[cpu])
		vmx_current_vcpu[cpu]->arch.vmx.vmcs_error = true;
}

/* VMXON, VMCLEAR, VMPTRLD, INVEPT, INVVPID: true on success (CF and ZF clear). */
static bool vmx_insn_ok(const char *what, u8 cf, u8 zf)
{
	if (!(cf | zf))
		return true;
	pr_err("vmx: %s failed (%s)\n", what, cf ? "VMfailInvalid" : "VMfailValid");
	return false;
}

/* VMXON, VMCLEAR and VMPTRLD take a 64-bit physical address in memory and report the same way. */
#define VMX_PA_INSN(fn, mnemonic, name)                                    \
	bool fn(hpa_t pa)                                                  \
	{                                                                  \
		u8 cf, zf;                                                 \
                                                                           \
		__asm__ volatile(mnemonic " %[pa]; setc %[cf]; setz %[zf]" \
				 : [cf] "=qm"(cf), [zf] "=qm"(zf)          \
				 : [pa] "m"(pa)                            \
				 : "cc", "memory");                        \
		return vmx_insn_ok(name, cf, zf);                          \
	}

VMX_PA_INSN(vmxon, "vmxon", "VMXON")
VMX_PA_INSN(vmclear, "vmclear", "VMCLEAR")
VMX_PA_INSN(vmptrld, "vmptrld", "VMPTRLD")

/* INVEPT/INVVPID descriptors (SDM vol. 3C §30.3). */
void invept(u64 type, u64 eptp)
{
	struct {
		u64 eptp, reserved;
	} desc = { eptp, 0 };
	u8 cf, zf;

	__asm__ volatile("invept %[d], %[t]; setc %[cf]; setz %[zf]"
			 : [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [d] "m"(desc), [t] "r"(type)
			 : "cc", "memory");
	vmx_insn_ok("INVEPT", cf, zf);
}

void invvpid(u64 type, u16 vpid)
{
	struct {
		u64 vpid, linear;
	} desc = { vpid, 0 };
	u8 cf, zf;

	__asm__ volatile("invvpid %[d], %[t]; setc %[cf]; setz %[zf]"
			 : [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [d] "m"(desc), [t] "r"(type)
			 : "cc", "memory");
	vmx_insn_ok("INVVPID", cf, zf);
}

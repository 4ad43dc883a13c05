// SPDX-License-Identifier: MIT
/* The hypercall instruction: VMCALL on Intel, VMMCALL elsewhere (AMD, Hygon), chosen once from the
 * CPUID vendor string. Both are three bytes (0f 01 c1 / 0f 01 d9), so a test can skip a #UD. */
#include "guest.h"

static int use_vmcall = -1;

static bool vendor_is_intel(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	char v[12];
	memcpy(v, &r.ebx, 4);
	memcpy(v + 4, &r.edx, 4);
	memcpy(v + 8, &r.ecx, 4);
	return !memcmp(v, "GenuineIntel", 12);
}

long hypercall(unsigned long nr, unsigned long a0, unsigned long a1, unsigned long a2)
{
	unsigned long ret = nr;
	if (use_vmcall < 0)
		use_vmcall = vendor_is_intel();
		/* The hypervisor preserves the argument registers; they are outputs here only so that a
	 * broken one cannot corrupt the compiler's view of them. */
#ifdef __x86_64__
	if (use_vmcall)
		__asm__ volatile("vmcall" : "+a"(ret), "+D"(a0), "+S"(a1), "+d"(a2) : : "memory");
	else
		__asm__ volatile("vmmcall" : "+a"(ret), "+D"(a0), "+S"(a1), "+d"(a2) : : "memory");
#else
	if (use_vmcall)
		__asm__ volatile("vmcall" : "+a"(ret), "+b"(a0), "+c"(a1), "+d"(a2) : : "memory");
	else
		__asm__ volatile("vmmcall" : "+a"(ret), "+b"(a0), "+c"(a1), "+d"(a2) : : "memory");
#endif
	return (long)ret;
}

long hypercall_version(void)
{
	expect_exception(VEC_UD, 3);
	long version = hypercall(HC_VERSION, 0, 0, 0);
	int vec = exception_taken();
	if (vec >= 0) {
		fail("the hypercall instruction raised %s: no hypervisor answered", vector_name(vec));
		return -1;
	}
	return version;
}

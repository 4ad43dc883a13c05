/* SPDX-License-Identifier: MIT */
/* panic(): the host is broken. One CPU reports; every other CPU is stopped with an NMI. */
#include "kernel/panic.h"

#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "kernel/console.h"
#include "kernel/ksyms.h"
#include "kernel/log.h"
#include "kernel/options.h"
#include "kernel/percpu.h"
#include "kernel/power.h"

static volatile u32 panicking = ~0u; /* CPU that panics first, ~0 while none */

bool panic_in_progress(void)
{
	return panicking != ~0u;
}

void panic_begin(void)
{
	u32 me = cpus[0] ? this_cpu()->cpu : 0;
	u32 expect = ~0u;

	irq_disable();
	if (!__atomic_compare_exchange_n(&panicking, &expect, me, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		if (expect != me)
			cpu_stop(); /* someone else reports; we just stop */
		/* A fault while this CPU was already panicking: do not recurse. */
		console_force_unlock();
		pr_err("panic: nested fault during panic; stopping\n");
		cpu_stop();
	}
	/* Stop the others before they print over us. */
	if (lapic_ready())
		lapic_send_nmi_all_but_self();
	console_force_unlock();
}

__noreturn void panic_finish(void)
{
	pr_err("keel: PANIC on CPU %u: system halted\n", cpus[0] ? this_cpu()->cpu : 0);
	if (opts.on_panic == PANIC_REBOOT)
		machine_reboot();
	cpu_stop();
}

__noreturn void panic(const char *fmt, ...)
{
	va_list ap;
	u64 rbp = (u64)(uintptr_t)__builtin_frame_address(0);

	panic_begin();
	pr_err("panic: ");
	va_start(ap, fmt);
	vklog(LOG_ERR, fmt, ap);
	va_end(ap);
	pr_err("\n");
	backtrace_print((u64)(uintptr_t)__builtin_return_address(0), *(const u64 *)(uintptr_t)rbp);
	panic_finish();
}

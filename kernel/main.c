/* SPDX-License-Identifier: MIT */
/* Boot sequence of the bootstrap processor. */
#include "kernel/kernel.h"

#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/fpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/memlayout.h"
#include "arch/x86/paging.h"
#include "arch/x86/pic.h"
#include "arch/x86/spec.h"
#include "arch/x86/tsc.h"
#include "boot/multiboot.h"
#include "drivers/acpi/acpi.h"
#include "drivers/fbcon.h"
#include "drivers/uart16550.h"
#include "kernel/boot_mem.h"
#include "kernel/console.h"
#include "kernel/log.h"
#include "kernel/mm/page.h"
#include "kernel/module.h"
#include "kernel/options.h"
#include "kernel/panic.h"
#include "kernel/percpu.h"
#include "kernel/power.h"
#include "kernel/selftest.h"
#include "kernel/smp.h"
#include "vmm/vm_config.h"
#include "vmm/vmm.h"

static struct percpu bsp_percpu;

static struct console uart_console = { .name = "serial", .write = uart_write };
static void fb_set_error(bool on)
{
	fbcon_set_color(on ? FBCON_COLOR_ERROR : FBCON_COLOR_DEFAULT);
}

static struct console fb_console = { .name = "framebuffer", .write = fbcon_write, .set_error = fb_set_error };

void kernel_early_init(void)
{
	bsp_percpu.self = &bsp_percpu;
	cpus[0] = &bsp_percpu;
	percpu_install(&bsp_percpu);
	idt_init(false);
	cpu_tables_init(&bsp_percpu, false);
	pic_disable();
}

/* ACPI tables live in RAM (direct map) or in firmware-reserved ranges (mapped on demand). */
const void *acpi_map(hpa_t pa, size_t len)
{
	if (phys_is_ram(pa, len))
		return phys_to_virt(pa);
	return ioremap(pa, len, PTE_CACHE_WB);
}

void *acpi_map_mmio(hpa_t pa, size_t len)
{
	return ioremap(pa, len, PTE_CACHE_UC);
}

static void console_init(void)
{
	static const u16 ports[] = { COM1_PORT, COM2_PORT, COM3_PORT, COM4_PORT };
	u16 port;

	if (opts.console == CONSOLE_NONE)
		return;
	port = opts.serial_port ? (u16)opts.serial_port : ports[opts.console];
	if (uart_init(port, (u32)opts.baud))
		console_register(&uart_console);
}

static void fb_init(const struct boot_info *bi)
{
	const struct boot_framebuffer *fb = &bi->fb;
	void *va;

	if (fb->type != BOOT_FB_RGB || !opts.fbcon)
		return;
	va = ioremap(fb->addr, (u64)fb->pitch * fb->height, PTE_CACHE_WC);
	if (!va || fbcon_init(fb, va)) {
		pr_warn("fbcon: cannot use the %ux%u framebuffer at %#llx\n", fb->width, fb->height,
			(unsigned long long)fb->addr);
		return;
	}
	console_register(&fb_console);
	pr_info("fbcon: %ux%u %u bpp framebuffer at %#llx\n", fb->width, fb->height, fb->bpp,
		(unsigned long long)fb->addr);
}

static void acpi_setup(struct boot_info *bi)
{
	if (!bi->rsdp_len && acpi_find_rsdp_bios(bi->rsdp, &bi->rsdp_len) == 0)
		pr_info("acpi: RSDP found in the BIOS area\n");
	if (acpi_init(bi->rsdp, bi->rsdp_len) < 0) {
		pr_err("acpi: no usable ACPI tables; running on the boot CPU only\n");
		return;
	}
	acpi_print_summary();
}

static void modules_report(const struct boot_info *bi)
{
	if (bi->dropped_modules)
		pr_err("module: %u more modules than Keel takes (%u); they are ignored\n", bi->dropped_modules,
		       BOOT_MAX_MODULES);
	for (u32 i = 0; i < bi->nr_modules; i++) {
		const struct boot_module *m = &bi->modules[i];
		struct module_info mi;

		if (!m->size)
			continue; /* already reported by boot_mem_init */
		mi = module_probe(phys_to_virt(m->base), m->size);
		if (mi.kind == MODULE_CORRUPT) {
			pr_err("module %u (%s): corrupt: %s; ignored\n", i, m->cmdline, mi.why);
			continue;
		}
		pr_info("module %u: %s, %llu KiB, %s%s%s\n", i, m->cmdline, (unsigned long long)(m->size >> 10),
			module_kind_name(mi.kind), mi.multiboot1 ? ", multiboot1" : "",
			mi.multiboot2 ? ", multiboot2" : "");
	}
}

static void count_call(void *arg)
{
	__atomic_fetch_add((u32 *)arg, 1, __ATOMIC_SEQ_CST);
}

/* Every CPU must answer an IPI and take timer interrupts before it counts as online. */
static u32 verify_cpus(void)
{
	u32 answered = 0, ticking = 0;
	u64 wait_until = time_ns() + 100000000ULL;

	smp_call_all(count_call, &answered);
	for (u32 c = 0; c < MAX_CPUS; c++) {
		if (!cpus[c] || !cpus[c]->online)
			continue;
		while (!cpus[c]->timer_ticks && time_ns() < wait_until)
			cpu_relax();
		if (cpus[c]->timer_ticks)
			ticking++;
		else
			pr_err("smp: CPU %u takes no timer interrupts\n", c);
	}
	return MIN(answered, ticking);
}

__noreturn void kernel_main(struct boot_info *bi, u32 how, int err)
{
	int problems = options_parse(bi->cmdline, vmm_options, vmm_nr_options);
	u32 online;

	console_init();
	pr_info("Keel hypervisor %s, booted by %s\n", KEEL_VERSION, bi->loader_name[0] ? bi->loader_name : "?");
	if (err) {
		pr_err("boot: the loader's information (magic %#x) could not be read (%d)\n", how, err);
		if (!bi->nr_mem)
			panic("boot: no memory map from the loader");
	}
	pr_info("cmdline: %s\n", bi->cmdline);
	if (problems)
		pr_err("cmdline: %d problem%s (see above); those options keep their defaults\n", problems,
		       problems == 1 ? "" : "s");

	boot_mem_init(bi);
	if (cpu_tables_init(&bsp_percpu, true))
		panic("no memory for the boot CPU's IST stacks");
	idt_init(true);
	fpu_init_cpu();
	fb_init(bi);
	acpi_setup(bi);
	tsc_init();
	spec_init(); /* with interrupts off: it rewrites the branch thunks */

	if (lapic_init(acpi.madt.lapic_address))
		panic("no local APIC");
	bsp_percpu.apic_id = lapic_id();
	bsp_percpu.online = true;
	nr_cpus_online = 1;
	lapic_init_cpu();
	lapic_timer_start(100);
	irq_enable();

	smp_boot();
	online = verify_cpus();
	modules_report(bi);

	klog(LOG_ALWAYS, "keel: %u/%u CPUs online\n", online, nr_cpus_present);
	klog(LOG_ALWAYS, "keel: %llu MiB usable memory, %llu MiB free\n",
	     (unsigned long long)(boot_mem_usable_bytes() >> 20),
	     (unsigned long long)((page_free_count() * PAGE_SIZE) >> 20));

	selftest_fault();
	vmm_run_all(bi);
	switch (opts.on_finish) {
	case FINISH_POWEROFF:
		machine_poweroff();
	case FINISH_REBOOT:
		machine_reboot();
	case FINISH_HALT:
		machine_halt();
	default:
		break;
	}
	for (;;)
		irq_enable_and_halt();
}

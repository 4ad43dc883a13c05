/* SPDX-License-Identifier: MIT */
#include "kernel/options.h"

#include "kernel/cmdline.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"

struct keel_options opts = {
	.console = CONSOLE_COM1,
	.baud = 115200,
	.loglevel = LOG_INFO,
	.timestamps = true,
	.fbcon = true,
	.x2apic = OPT_AUTO,
	.on_finish = FINISH_WAIT,
	.on_panic = PANIC_HALT,
	.sched_slice_us = 5000,
	.sched_period_ms = 100,
};

static const char *const console_names[] = { "com1", "com2", "com3", "com4", "none", NULL };
static const char *const level_names[] = { "err", "warn", "info", "debug", NULL };
static const char *const tristate_names[] = { "auto", "on", "off", NULL };
static const char *const finish_names[] = { "wait", "poweroff", "reboot", "halt", NULL };
static const char *const panic_names[] = { "halt", "reboot", NULL };
static const char *const tsc_names[] = { "auto", "cpuid", "hpet", "pmtimer", "pit", NULL };
static const char *const spec_names[] = { "auto", "force", "off", NULL };
static const char *const fault_names[] = { "none",   "pagefault",      "ud", "stack_overflow", "panic", "ap_panic",
					   "relock", "panic_in_guest", NULL };

static const struct cmdline_option option_table[] = {
	{ .name = "console",
	  .type = CMDLINE_ENUM,
	  .value = &opts.console,
	  .choices = console_names,
	  .help = "serial console" },
	{ .name = "serial_port",
	  .type = CMDLINE_UINT,
	  .value = &opts.serial_port,
	  .min = 1,
	  .max = 0xffff,
	  .help = "UART I/O port" },
	{ .name = "baud", .type = CMDLINE_UINT, .value = &opts.baud, .min = 50, .max = 115200, .help = "serial speed" },
	{ .name = "loglevel",
	  .type = CMDLINE_ENUM,
	  .value = &opts.loglevel,
	  .choices = level_names,
	  .help = "console log level" },
	{ .name = "timestamps", .type = CMDLINE_BOOL, .value = &opts.timestamps, .help = "time stamps on log lines" },
	{ .name = "fbcon", .type = CMDLINE_BOOL, .value = &opts.fbcon, .help = "framebuffer console" },
	{ .name = "maxcpus",
	  .type = CMDLINE_UINT,
	  .value = &opts.maxcpus,
	  .min = 1,
	  .max = 4096,
	  .help = "CPUs to start" },
	{ .name = "mem",
	  .type = CMDLINE_SIZE,
	  .value = &opts.mem,
	  .min = MiB(16),
	  .max = ~0ULL,
	  .help = "usable memory limit" },
	{ .name = "x2apic",
	  .type = CMDLINE_ENUM,
	  .value = &opts.x2apic,
	  .choices = tristate_names,
	  .help = "x2APIC mode" },
	{ .name = "tsc_source",
	  .type = CMDLINE_ENUM,
	  .value = &opts.tsc_source,
	  .choices = tsc_names,
	  .help = "TSC frequency source" },
	{ .name = "spec",
	  .type = CMDLINE_ENUM,
	  .value = &opts.spec,
	  .choices = spec_names,
	  .help = "speculation mitigations" },
	{ .name = "smt",
	  .type = CMDLINE_ENUM,
	  .value = &opts.smt,
	  .choices = tristate_names,
	  .help = "SMT sibling threads" },
	{ .name = "on_finish",
	  .type = CMDLINE_ENUM,
	  .value = &opts.on_finish,
	  .choices = finish_names,
	  .help = "when nothing is left to run" },
	{ .name = "on_panic",
	  .type = CMDLINE_ENUM,
	  .value = &opts.on_panic,
	  .choices = panic_names,
	  .help = "after a panic" },
	{ .name = "sched_slice",
	  .type = CMDLINE_UINT,
	  .value = &opts.sched_slice_us,
	  .min = 100,
	  .max = 1000000,
	  .help = "vCPU time slice (us)" },
	{ .name = "sched_period",
	  .type = CMDLINE_UINT,
	  .value = &opts.sched_period_ms,
	  .min = 10,
	  .max = 10000,
	  .help = "cap accounting period (ms)" },
	{ .name = "fault",
	  .type = CMDLINE_ENUM,
	  .value = &opts.fault,
	  .choices = fault_names,
	  .help = "raise a fault after boot (testing)" },
};

int options_parse(const char *cmdline, const struct cmdline_option *more, size_t nr_more)
{
	struct cmdline_option all[ARRAY_SIZE(option_table) + OPTIONS_MAX_MORE];

	if (nr_more > OPTIONS_MAX_MORE)
		nr_more = OPTIONS_MAX_MORE;
	memcpy(all, option_table, sizeof(option_table));
	memcpy(all + ARRAY_SIZE(option_table), more, nr_more * sizeof(*more));
	return cmdline_parse(cmdline, all, ARRAY_SIZE(option_table) + nr_more);
}

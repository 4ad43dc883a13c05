/* SPDX-License-Identifier: MIT */
#include "kernel/options.h"

#include "kernel/cmdline.h"
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
};

static const char *const console_names[] = { "com1", "com2", "com3", "com4", "none", NULL };
static const char *const level_names[] = { "err", "warn", "info", "debug", NULL };
static const char *const tristate_names[] = { "auto", "on", "off", NULL };
static const char *const finish_names[] = { "wait", "poweroff", "reboot", "halt", NULL };
static const char *const panic_names[] = { "halt", "reboot", NULL };
static const char *const tsc_names[] = { "auto", "cpuid", "hpet", "pmtimer", "pit", NULL };
static const char *const fault_names[] = { "none", "pagefault", "ud", "stack_overflow", "panic", "ap_panic", NULL };

static const struct cmdline_option option_table[] = {
	{ "console", CMDLINE_ENUM, &opts.console, 0, 0, 0, console_names, "serial console" },
	{ "serial_port", CMDLINE_UINT, &opts.serial_port, 0, 1, 0xffff, NULL, "UART I/O port" },
	{ "baud", CMDLINE_UINT, &opts.baud, 0, 50, 115200, NULL, "serial speed" },
	{ "loglevel", CMDLINE_ENUM, &opts.loglevel, 0, 0, 0, level_names, "console log level" },
	{ "timestamps", CMDLINE_BOOL, &opts.timestamps, 0, 0, 0, NULL, "time stamps on log lines" },
	{ "fbcon", CMDLINE_BOOL, &opts.fbcon, 0, 0, 0, NULL, "framebuffer console" },
	{ "maxcpus", CMDLINE_UINT, &opts.maxcpus, 0, 1, 4096, NULL, "CPUs to start" },
	{ "mem", CMDLINE_SIZE, &opts.mem, 0, MiB(16), ~0ULL, NULL, "usable memory limit" },
	{ "x2apic", CMDLINE_ENUM, &opts.x2apic, 0, 0, 0, tristate_names, "x2APIC mode" },
	{ "tsc_source", CMDLINE_ENUM, &opts.tsc_source, 0, 0, 0, tsc_names, "TSC frequency source" },
	{ "on_finish", CMDLINE_ENUM, &opts.on_finish, 0, 0, 0, finish_names, "when nothing is left to run" },
	{ "on_panic", CMDLINE_ENUM, &opts.on_panic, 0, 0, 0, panic_names, "after a panic" },
	{ "fault", CMDLINE_ENUM, &opts.fault, 0, 0, 0, fault_names, "raise a fault after boot (testing)" },
};

int options_parse(const char *cmdline)
{
	return cmdline_parse(cmdline, option_table, ARRAY_SIZE(option_table));
}

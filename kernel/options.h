/* SPDX-License-Identifier: MIT */
/* Keel's command-line options (documented in README.md, "Boot options"). */
#ifndef KEEL_OPTIONS_H
#define KEEL_OPTIONS_H

#include "kernel/cmdline.h"
#include "kernel/types.h"

enum opt_console { CONSOLE_COM1, CONSOLE_COM2, CONSOLE_COM3, CONSOLE_COM4, CONSOLE_NONE };
enum opt_tristate { OPT_AUTO, OPT_ON, OPT_OFF };
enum opt_finish { FINISH_WAIT, FINISH_POWEROFF, FINISH_REBOOT, FINISH_HALT };
enum opt_panic { PANIC_HALT, PANIC_REBOOT };
enum opt_tsc_source { TSC_SRC_AUTO, TSC_SRC_CPUID, TSC_SRC_HPET, TSC_SRC_PMTIMER, TSC_SRC_PIT };
enum opt_fault {
	FAULT_NONE,
	FAULT_PAGE,
	FAULT_UD,
	FAULT_STACK,
	FAULT_PANIC,
	FAULT_AP_PANIC,
	FAULT_RELOCK,
	FAULT_GUEST_PANIC
};

struct keel_options {
	int console;	 /* enum opt_console */
	u64 serial_port; /* overrides the COMn port when nonzero */
	u64 baud;
	int loglevel; /* enum log_level */
	bool timestamps;
	bool fbcon;
	u64 maxcpus;	     /* 0: all */
	u64 mem;	     /* usable memory limit in bytes; 0: none */
	int x2apic;	     /* enum opt_tristate */
	int tsc_source;	     /* enum opt_tsc_source: where the TSC frequency comes from */
	int on_finish;	     /* enum opt_finish: what to do when there is nothing left to run */
	int on_panic;	     /* enum opt_panic */
	int fault;	     /* enum opt_fault: raise a fault on purpose after boot (tests the reporting) */
	u64 sched_slice_us;  /* the scheduler's time slice */
	u64 sched_period_ms; /* the period over which caps are accounted */
	int spec;	     /* enum spec_mode (arch/x86/spec.h): auto, force, off */
	int smt;	     /* enum opt_tristate: SMT siblings (auto: offline where MDS/L1TF reach them) */
};

extern struct keel_options opts;

/* Parses the hypervisor command line into opts, and the options of the layers above the kernel
 * (`more`: the VMM's vm=, at most OPTIONS_MAX_MORE) into theirs; returns the number of problems
 * (each warned). */
#define OPTIONS_MAX_MORE 4
int options_parse(const char *cmdline, const struct cmdline_option *more, size_t nr_more);

#endif

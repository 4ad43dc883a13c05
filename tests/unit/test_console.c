/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor console (vmm/console.c) against fake VMs: the Ctrl-A escape and input focus,
 * line editing, command dispatch and the tables' columns. The VM manager, the scheduler and the
 * hardware (UART, I/O APIC, local APIC) are fakes that record what the console asked of them.
 */
#include "shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/desc.h"
#include "arch/x86/ioapic.h"
#include "arch/x86/lapic.h"
#include "arch/x86/tsc.h"
#include "drivers/uart16550.h"
#include "kernel/sched.h"
#include "vmm/console.h"
#include "vmm/exit.h"
#include "vmm/vm.h"
#include "vmm/vmm.h"

#define NVMS   3
#define NVCPUS 2
#define MS     1000000ull
#define CTRL_A "\x01"

/* Fake VMs: ids 1..3, named alpha, beta, gamma. */
static struct vm vms[NVMS];
static struct vcpu vcpus[NVMS][NVCPUS];
static struct sched_stats stats[NVMS][NVCPUS];
static bool live[NVMS];
static bool in_for_each;
static int action_result;
static char last_action[16], last_action_arg[64];
static u8 input_got[NVMS][1024];
static size_t input_len[NVMS];
static int name_fails; /* vmm_vm_name fails this many times (a VM ending as we look) */

static struct vm *vm_by_arg(const char *arg)
{
	char *end;
	unsigned long id;

	for (int i = 0; i < NVMS; i++)
		if (live[i] && !strcmp(vms[i].name, arg))
			return &vms[i];
	id = strtoul(arg, &end, 10);
	if (*end || id < 1 || id > NVMS || !live[id - 1])
		return NULL;
	return &vms[id - 1];
}

void vmm_for_each_vm(vm_visit_fn fn, void *arg)
{
	in_for_each = true;
	for (int i = 0; i < NVMS; i++)
		if (live[i])
			fn(&vms[i], arg);
	in_for_each = false;
}

static int action(const char *what, const char *arg)
{
	assert_false(in_for_each); /* vmm.h: not from inside vmm_for_each_vm */
	snprintf(last_action, sizeof(last_action), "%s", what);
	snprintf(last_action_arg, sizeof(last_action_arg), "%s", arg);
	if (!vm_by_arg(arg))
		return -ENOENT;
	return action_result;
}

int vmm_pause(const char *vm)
{
	return action("pause", vm);
}

int vmm_resume(const char *vm)
{
	return action("resume", vm);
}

int vmm_destroy(const char *vm)
{
	int r = action("destroy", vm);

	if (!r)
		live[vm_by_arg(vm)->id - 1] = false;
	return r;
}

int vmm_input(u32 vm_id, const u8 *buf, size_t len)
{
	assert_false(in_for_each);
	assert_true(vm_id >= 1 && vm_id <= NVMS);
	if (!live[vm_id - 1])
		return -ENOENT;
	assert_true(input_len[vm_id - 1] + len <= sizeof(input_got[0]));
	memcpy(input_got[vm_id - 1] + input_len[vm_id - 1], buf, len);
	input_len[vm_id - 1] += len;
	return 0;
}

u32 vmm_next_vm(u32 vm_id)
{
	for (u32 id = vm_id + 1; id <= NVMS; id++)
		if (live[id - 1])
			return id;
	return 0;
}

int vmm_vm_name(u32 vm_id, char *buf, size_t len)
{
	if (vm_id < 1 || vm_id > NVMS || !live[vm_id - 1])
		return -ENOENT;
	if (name_fails > 0) {
		name_fails--;
		return -ENOENT;
	}
	snprintf(buf, len, "%s", vms[vm_id - 1].name);
	return 0;
}

void sched_entity_stats(const struct sched_entity *e, struct sched_stats *out)
{
	const struct vcpu *v = container_of(e, struct vcpu, se);

	*out = stats[v->vm - vms][v->id];
}

u64 sched_slice_ns(void)
{
	return 5 * MS;
}

u64 sched_period_ns(void)
{
	return 100 * MS + 250000;
}

const char *exit_reason_name(enum exit_reason r)
{
	switch (r) {
	case EXIT_IO:
		return "io";
	case EXIT_HLT:
		return "hlt";
	case EXIT_INTR_WINDOW:
		return "intr-window";
	default:
		return "other";
	}
}

/* Hardware fakes. */
static u64 now_ns;
static int uart_irq = 4, route_result;
static u8 route_irq, route_vector;
static u32 route_dest;
static irq_handler_t handlers[256];
static int eois;
static const u8 *uart_pending;
static size_t uart_pending_len;
static struct percpu bsp = { .apic_id = 7 };
struct percpu *cpus[MAX_CPUS] = { &bsp };
u32 nr_cpus_online = 4;

u64 time_ns(void)
{
	return now_ns;
}

int uart_isa_irq(void)
{
	return uart_irq;
}

bool uart_rx_irq_enable(void)
{
	return true;
}

size_t uart_read(u8 *buf, size_t max)
{
	size_t n = uart_pending_len < max ? uart_pending_len : max;

	memcpy(buf, uart_pending, n);
	uart_pending += n;
	uart_pending_len -= n;
	return n;
}

int ioapic_route_isa_irq(u8 isa_irq, u8 vector, u32 dest_apic_id)
{
	route_irq = isa_irq;
	route_vector = vector;
	route_dest = dest_apic_id;
	return route_result;
}

void irq_set_handler(u8 vector, irq_handler_t h)
{
	handlers[vector] = h;
}

void lapic_eoi(void)
{
	eois++;
}

static void add_vm(int i, const char *name, u32 nr_vcpus, u64 ram)
{
	struct vm *vm = &vms[i];

	snprintf(vm->name, sizeof(vm->name), "%s", name);
	vm->id = (u32)i + 1;
	vm->state = VM_RUNNING;
	vm->ram_size = ram;
	vm->nr_vcpus = nr_vcpus;
	for (u32 v = 0; v < nr_vcpus; v++) {
		vcpus[i][v].vm = vm;
		vcpus[i][v].id = v;
		vm->vcpus[v] = &vcpus[i][v];
		stats[i][v] = (struct sched_stats){
			.state = SE_RUNNABLE, .cpu = (s32)v, .affinity = ~0ull, .weight = 256, .cap_pct = 0
		};
	}
	live[i] = true;
}

static int setup(void **state)
{
	memset(vms, 0, sizeof(vms));
	memset(vcpus, 0, sizeof(vcpus));
	memset(stats, 0, sizeof(stats));
	memset(live, 0, sizeof(live));
	memset(input_got, 0, sizeof(input_got));
	memset(input_len, 0, sizeof(input_len));
	memset(handlers, 0, sizeof(handlers));
	action_result = 0;
	last_action[0] = last_action_arg[0] = '\0';
	name_fails = 0;
	uart_irq = 4;
	route_result = 0;
	eois = 0;
	now_ns = 1000 * MS;
	add_vm(0, "alpha", 2, MiB(512));
	add_vm(1, "beta", 1, MiB(64));
	add_vm(2, "gamma", 1, GiB(2));
	hvcon_init();
	shim_log_reset();
	return 0;
}

static void type(const char *s)
{
	hvcon_input((const u8 *)s, strlen(s));
}

static int count(const char *haystack, const char *needle)
{
	int n = 0;

	for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/*
 * Finds the output line whose first whitespace-separated tokens are `first` and (unless NULL)
 * `second`, and splits it into tok[]; returns the number of tokens, 0 if there is no such line.
 */
static int row(const char *first, const char *second, char tok[][64], int max)
{
	char copy[sizeof(shim_log)], *save_line, *line;

	snprintf(copy, sizeof(copy), "%s", shim_log);
	for (line = strtok_r(copy, "\n", &save_line); line; line = strtok_r(NULL, "\n", &save_line)) {
		char *save, *t;
		int n = 0;

		for (t = strtok_r(line, " \t", &save); t && n < max; t = strtok_r(NULL, " \t", &save))
			snprintf(tok[n++], 64, "%s", t);
		if (n && !strcmp(tok[0], first) && (!second || (n > 1 && !strcmp(tok[1], second))))
			return n;
	}
	return 0;
}

/* The escape */

static void test_escape_switches_to_first_vm(void **state)
{
	assert_int_equal(hvcon_focus(), 0);
	type(CTRL_A CTRL_A CTRL_A);
	assert_int_equal(hvcon_focus(), 1);
	assert_true(shim_log_contains("keel: console input goes to vm alpha (Ctrl-A three times to switch)\n"));
	type("ls\r");
	assert_int_equal(input_len[0], 3);
	assert_memory_equal(input_got[0], "ls\r", 3);
	assert_int_equal(input_len[1], 0);
	assert_false(shim_log_contains("keel> ")); /* nothing went to the line editor */
}

static void test_escape_across_batches(void **state)
{
	type(CTRL_A);
	type(CTRL_A);
	assert_int_equal(hvcon_focus(), 0);
	type(CTRL_A "x");
	assert_int_equal(hvcon_focus(), 1);
	assert_int_equal(input_len[0], 1);
	assert_memory_equal(input_got[0], "x", 1);
}

static void test_broken_escape_is_forwarded(void **state)
{
	type(CTRL_A CTRL_A CTRL_A); /* to alpha */
	type(CTRL_A CTRL_A "q");
	assert_int_equal(hvcon_focus(), 1);
	assert_int_equal(input_len[0], 3);
	assert_memory_equal(input_got[0], "\x01\x01q", 3);
	/* One held back at the end of a batch is not sent yet, nor lost. */
	type("a" CTRL_A);
	assert_int_equal(input_len[0], 4);
	type("b");
	assert_int_equal(input_len[0], 6);
	assert_memory_equal(input_got[0] + 3,
			    "a\x01"
			    "b",
			    3);
	/* Four in a row: three switch, the fourth starts a new count. */
	type(CTRL_A CTRL_A CTRL_A CTRL_A "z");
	assert_int_equal(hvcon_focus(), 2);
	assert_int_equal(input_len[1], 2);
	assert_memory_equal(input_got[1], "\x01z", 2);
}

static void test_long_input_to_vm(void **state)
{
	char burst[300];

	for (size_t i = 0; i < sizeof(burst) - 1; i++)
		burst[i] = (char)('a' + i % 26);
	burst[sizeof(burst) - 1] = '\0';
	type(CTRL_A CTRL_A CTRL_A);
	type(burst);
	assert_int_equal(input_len[0], sizeof(burst) - 1);
	assert_memory_equal(input_got[0], burst, sizeof(burst) - 1);
}

static void test_focus_cycles_back_to_hypervisor(void **state)
{
	type(CTRL_A CTRL_A CTRL_A);
	assert_int_equal(hvcon_focus(), 1);
	type(CTRL_A CTRL_A CTRL_A);
	assert_int_equal(hvcon_focus(), 2);
	assert_true(shim_log_contains("keel: console input goes to vm beta (Ctrl-A three times to switch)\n"));
	type(CTRL_A CTRL_A CTRL_A);
	assert_int_equal(hvcon_focus(), 3);
	shim_log_reset();
	type(CTRL_A CTRL_A CTRL_A);
	assert_int_equal(hvcon_focus(), 0);
	assert_string_equal(shim_log, "keel: console input goes to the hypervisor\nkeel> ");
	type("sched\r");
	assert_true(shim_log_contains("keel: scheduler slice"));
	for (int i = 0; i < NVMS; i++)
		assert_int_equal(input_len[i], 0);
}

static void test_focused_vm_disappears(void **state)
{
	type(CTRL_A CTRL_A CTRL_A CTRL_A CTRL_A CTRL_A); /* beta */
	assert_int_equal(hvcon_focus(), 2);
	live[1] = false; /* destroyed elsewhere */
	shim_log_reset();
	type("hi");
	assert_int_equal(hvcon_focus(), 0);
	assert_true(shim_log_contains("keel: vm 2 is gone\nkeel: console input goes to the hypervisor\nkeel> "));
	/* Input is the hypervisor's again. */
	type("help\r");
	assert_true(shim_log_contains("keel: hypervisor console commands:"));
}

static void test_switch_skips_vanished_vms(void **state)
{
	type(CTRL_A CTRL_A CTRL_A); /* alpha */
	live[1] = false;	    /* beta ends */
	type(CTRL_A CTRL_A CTRL_A);
	assert_int_equal(hvcon_focus(), 3); /* past the gap */
	/* A VM that ends between "next" and "name" is skipped too. */
	type(CTRL_A CTRL_A CTRL_A);
	assert_int_equal(hvcon_focus(), 0);
	name_fails = 1;
	type(CTRL_A CTRL_A CTRL_A);
	assert_int_equal(hvcon_focus(), 3);
	/* No VM at all: straight back to the hypervisor. */
	memset(live, 0, sizeof(live));
	type(CTRL_A CTRL_A CTRL_A);
	assert_int_equal(hvcon_focus(), 0);
	type(CTRL_A CTRL_A CTRL_A);
	assert_int_equal(hvcon_focus(), 0);
}

/* Line editing */

static void test_line_editing(void **state)
{
	/* Backspace and DEL erase, with "\b \b" on screen. */
	type("lisx\b\x7f"
	     "st\r");
	assert_true(shim_log_contains("lisx\b \b\b \bst\n"));
	assert_true(row("ID", "Name", (char[8][64]){ 0 }, 8) > 0);
	assert_true(shim_log_contains("alpha"));
	/* Ctrl-U forgets the line. */
	shim_log_reset();
	type("destroy alpha\x15sched\r");
	assert_string_equal(last_action, "");
	assert_true(shim_log_contains("keel: scheduler slice 5.000 ms, cap period 100.250 ms\n"));
	/* Backspace on an empty line does nothing; other control characters are ignored. */
	shim_log_reset();
	type("\b\x02\x1bsc\thed\r");
	assert_false(shim_log_contains("\b"));
	assert_true(shim_log_contains("keel: scheduler slice"));
}

static void test_line_ends(void **state)
{
	/* CR LF is one line; LF alone and CR alone end lines too; empty lines just prompt again. */
	type("sched\r\nsched\nsched\r\r");
	assert_int_equal(count(shim_log, "keel: scheduler slice"), 3);
	assert_int_equal(count(shim_log, "keel> "), 4);
}

static void test_line_too_long(void **state)
{
	char line[HVCON_LINE_MAX + 40];

	memset(line, 'x', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\r';
	line[sizeof(line) - 1] = '\0';
	type(line);
	/* What fits is kept, the rest dropped: an unknown command of HVCON_LINE_MAX-1 characters. */
	char expect[HVCON_LINE_MAX + 40];

	snprintf(expect, sizeof(expect), "keel: unknown command '%.*s' (try help)\n", HVCON_LINE_MAX - 1, line);
	assert_true(shim_log_contains(expect));
	assert_false(shim_log_contains("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'"));
}

/* Commands */

static void test_pause_resume_destroy(void **state)
{
	type("pause alpha\r");
	assert_string_equal(last_action, "pause");
	assert_string_equal(last_action_arg, "alpha");
	assert_true(shim_log_contains("keel: vm alpha paused\n"));

	type("resume 2\r"); /* by id: the message names it */
	assert_string_equal(last_action, "resume");
	assert_string_equal(last_action_arg, "2");
	assert_true(shim_log_contains("keel: vm beta resumed\n"));

	type("  destroy  gamma \r"); /* blanks around words do not matter */
	assert_string_equal(last_action, "destroy");
	assert_true(shim_log_contains("keel: vm gamma destroyed\n"));
	assert_false(live[2]);

	shim_log_reset();
	type("destroy gamma\r"); /* gone now */
	assert_string_equal(shim_log, "destroy gamma\nkeel: no vm 'gamma'\nkeel> ");
	type("pause 9\r");
	assert_true(shim_log_contains("keel: no vm '9'\n"));

	action_result = -EINVAL;
	vms[0].state = VM_PAUSED;
	type("pause 1\r");
	assert_true(shim_log_contains("keel: cannot pause vm alpha: it is paused\n"));
	action_result = -EBUSY;
	type("resume alpha\r");
	assert_true(shim_log_contains("keel: cannot resume vm alpha (error -16)\n"));
}

static void test_unknown_and_usage(void **state)
{
	type("frobnicate\r");
	assert_true(shim_log_contains("keel: unknown command 'frobnicate' (try help)\n"));
	type("pause\r");
	assert_true(shim_log_contains("keel: usage: pause NAME|ID\n"));
	type("list extra\r");
	assert_true(shim_log_contains("keel: usage: list\n"));
	type("exits a b c d e\r");
	assert_true(shim_log_contains("keel: usage: exits NAME|ID\n"));
	assert_string_equal(last_action, "");
	type("help\r");
	for (const char *c = "help list vcpus top exits pause resume destroy sched"; *c;) {
		char word[16];
		int n;

		sscanf(c, "%15s%n", word, &n);
		char needle[32];

		snprintf(needle, sizeof(needle), "\n  %s ", word);
		assert_true(shim_log_contains(needle));
		c += n;
		while (*c == ' ')
			c++;
	}
	assert_true(shim_log_contains("vcpu-list"));
}

static void test_list(void **state)
{
	char tok[16][64];

	vcpus[0][0].exit_counts[EXIT_IO] = 10;
	vcpus[0][1].exit_counts[EXIT_HLT] = 5;
	stats[0][0].weight = stats[0][1].weight = 512;
	stats[0][0].cap_pct = stats[0][1].cap_pct = 50;
	vms[1].state = VM_PAUSED;
	type("list\r");
	assert_int_equal(row("ID", NULL, tok, 16), 8);
	assert_string_equal(tok[1], "Name");
	assert_string_equal(tok[4], "Mem(MiB)");
	assert_string_equal(tok[7], "Exits");
	assert_int_equal(row("1", "alpha", tok, 16), 8);
	assert_string_equal(tok[2], "running");
	assert_string_equal(tok[3], "2");
	assert_string_equal(tok[4], "512");
	assert_string_equal(tok[5], "512");
	assert_string_equal(tok[6], "50");
	assert_string_equal(tok[7], "15");
	assert_int_equal(row("2", "beta", tok, 16), 8);
	assert_string_equal(tok[2], "paused");
	assert_int_equal(row("3", "gamma", tok, 16), 8);
	assert_string_equal(tok[4], "2048");
}

static void test_vcpus(void **state)
{
	char tok[20][64];
	static const char *const header[] = {
		"VM",	  "ID",	 "vCPU",    "CPU",	"State",     "Affinity", "Ran-on",
		"Weight", "Cap", "Run(ms)", "Wait(ms)", "Block(ms)", "Migr",	 "Exits"
	};

	stats[0][0] = (struct sched_stats){ .state = SE_RUNNING,
					    .cpu = 1,
					    .affinity = 0x5,
					    .ran_on = 0x3,
					    .weight = 300,
					    .cap_pct = 25,
					    .migrations = 4,
					    .run_ns = 1234567891,
					    .wait_ns = 5000,
					    .block_ns = 42 * MS };
	stats[0][1] = (struct sched_stats){ .state = SE_BLOCKED, .cpu = -1, .affinity = 0xf, .ran_on = 0 };
	vcpus[0][0].exit_counts[EXIT_IO] = 7;
	vcpus[0][0].exit_counts[EXIT_HLT] = 3;
	vcpus[2][0].mp_state = VCPU_MP_WAIT_SIPI;
	vms[1].state = VM_DEAD;
	/* Names with blanks stay one token. */
	snprintf(vms[2].name, sizeof(vms[2].name), "my vm");
	type("vcpus\r");
	assert_int_equal(row("VM", "ID", tok, 20), 14);
	for (int i = 0; i < 14; i++)
		assert_string_equal(tok[i], header[i]);
	assert_int_equal(row("alpha", "1", tok, 20), 14);
	assert_string_equal(tok[2], "0");
	assert_string_equal(tok[3], "1");
	assert_string_equal(tok[4], "running");
	assert_string_equal(tok[5], "0,2");
	assert_string_equal(tok[6], "0-1");
	assert_string_equal(tok[7], "300");
	assert_string_equal(tok[8], "25");
	assert_string_equal(tok[9], "1234.567");
	assert_string_equal(tok[10], "0.005");
	assert_string_equal(tok[11], "42.000");
	assert_string_equal(tok[12], "4");
	assert_string_equal(tok[13], "10");
	/* The second vCPU of alpha: on no run queue, never ran, may run anywhere. */
	shim_log_reset();
	type("vcpu-list\r");
	{
		char copy[sizeof(shim_log)];
		char *second;

		snprintf(copy, sizeof(copy), "%s", shim_log);
		second = strstr(strstr(copy, "\nalpha ") + 1, "\nalpha ");
		assert_non_null(second);
		assert_int_equal(sscanf(second, " alpha %63s %63s %63s %63s %63s %63s", tok[1], tok[2], tok[3], tok[4],
					tok[5], tok[6]),
				 6);
		assert_string_equal(tok[2], "1");
		assert_string_equal(tok[3], "-");
		assert_string_equal(tok[4], "blocked");
		assert_string_equal(tok[5], "all");
		assert_string_equal(tok[6], "-");
	}
	assert_int_equal(row("beta", "2", tok, 20), 14);
	assert_string_equal(tok[4], "dead");
	assert_int_equal(row("my_vm", "3", tok, 20), 14);
	assert_string_equal(tok[4], "wait-sipi");
	vms[2].state = VM_PAUSED;
	shim_log_reset();
	type("vcpus\r");
	assert_int_equal(row("my_vm", "3", tok, 20), 14);
	assert_string_equal(tok[4], "paused");
	/* A name with a blank cannot be typed as one word (its id can). */
	type("pause my vm\r");
	assert_true(shim_log_contains("keel: usage: pause NAME|ID\n"));
}

static void test_top(void **state)
{
	char tok[8][64];

	/* hvcon_init ran at 1000 ms: 2 s later alpha ran 3 s on two vCPUs, beta 0.5 s. */
	now_ns = 3000 * MS;
	stats[0][0].run_ns = 2000 * MS;
	stats[0][1].run_ns = 1000 * MS;
	stats[1][0].run_ns = 500 * MS;
	type("top\r");
	assert_true(shim_log_contains("keel: top over the last 2000.000 ms (CPU%: percent of one physical CPU)\n"));
	assert_int_equal(row("ID", "VM", tok, 8), 6);
	assert_string_equal(tok[4], "CPU(%)");
	assert_int_equal(row("1", "alpha", tok, 8), 6);
	assert_string_equal(tok[4], "150.0");
	assert_string_equal(tok[5], "3000.000");
	assert_int_equal(row("2", "beta", tok, 8), 6);
	assert_string_equal(tok[4], "25.0");
	assert_int_equal(row("3", "gamma", tok, 8), 6);
	assert_string_equal(tok[4], "0.0");
	/* The next one covers only the time since. */
	shim_log_reset();
	now_ns = 4000 * MS;
	stats[0][0].run_ns += 333 * MS;
	stats[1][0].run_ns += 1000 * MS;
	type("top\r");
	assert_true(shim_log_contains("keel: top over the last 1000.000 ms"));
	assert_int_equal(row("1", "alpha", tok, 8), 6);
	assert_string_equal(tok[4], "33.3");
	assert_int_equal(row("2", "beta", tok, 8), 6);
	assert_string_equal(tok[4], "100.0");
}

static void test_exits(void **state)
{
	char tok[8][64];

	vcpus[0][0].exit_counts[EXIT_IO] = 7;
	vcpus[0][1].exit_counts[EXIT_IO] = 2;
	vcpus[0][1].exit_counts[EXIT_INTR_WINDOW] = 11;
	type("exits alpha\r");
	assert_true(shim_log_contains("keel: exits of vm alpha (id 1) by reason and vCPU\n"));
	assert_int_equal(row("Reason", NULL, tok, 8), 4);
	assert_string_equal(tok[1], "vCPU0");
	assert_string_equal(tok[2], "vCPU1");
	assert_string_equal(tok[3], "Total");
	assert_int_equal(row("io", NULL, tok, 8), 4);
	assert_string_equal(tok[1], "7");
	assert_string_equal(tok[2], "2");
	assert_string_equal(tok[3], "9");
	assert_int_equal(row("intr-window", NULL, tok, 8), 4);
	assert_string_equal(tok[1], "0");
	assert_string_equal(tok[3], "11");
	assert_int_equal(row("hlt", NULL, tok, 8), 0); /* no exits of that kind: no row */
	assert_int_equal(row("total", NULL, tok, 8), 4);
	assert_string_equal(tok[1], "7");
	assert_string_equal(tok[2], "13");
	assert_string_equal(tok[3], "20");
	shim_log_reset();
	type("exits 2\r");
	assert_true(shim_log_contains("keel: exits of vm beta (id 2)"));
	type("exits nope\r");
	assert_true(shim_log_contains("keel: no vm 'nope'\n"));
}

/* CPU lists */

static void test_cpulist(void **state)
{
	char buf[64];

	assert_int_equal(hvcon_format_cpulist(buf, sizeof(buf), 0x3, 0), 3);
	assert_string_equal(buf, "0-1");
	hvcon_format_cpulist(buf, sizeof(buf), 0xd, 0);
	assert_string_equal(buf, "0,2-3");
	hvcon_format_cpulist(buf, sizeof(buf), 0x5, 0);
	assert_string_equal(buf, "0,2");
	hvcon_format_cpulist(buf, sizeof(buf), 0x3, 2);
	assert_string_equal(buf, "all");
	hvcon_format_cpulist(buf, sizeof(buf), ~0ull, 4);
	assert_string_equal(buf, "all");
	hvcon_format_cpulist(buf, sizeof(buf), 0x7, 4);
	assert_string_equal(buf, "0-2");
	hvcon_format_cpulist(buf, sizeof(buf), 0, 4);
	assert_string_equal(buf, "-");
	hvcon_format_cpulist(buf, sizeof(buf), 1ull << 63, 0);
	assert_string_equal(buf, "63");
	hvcon_format_cpulist(buf, sizeof(buf), ~0ull, 64);
	assert_string_equal(buf, "all");
	hvcon_format_cpulist(buf, sizeof(buf), 0x8000000000000ff1ull, 0);
	assert_string_equal(buf, "0,4-11,63");
	/* A short buffer is cut, terminated, and the length it needed is returned. */
	assert_int_equal(hvcon_format_cpulist(buf, 4, 0x15, 0), 5);
	assert_string_equal(buf, "0,2");
}

/* The hardware side */

static void test_init_routes_uart_irq(void **state)
{
	/* More than the handler reads at a time: it must empty the UART. */
	static const u8 typed[] = "this is not a command at all, only long\rsched\r";

	assert_int_equal(route_irq, 4);
	assert_int_equal(route_vector, VEC_UART);
	assert_int_equal(route_dest, 7); /* the boot CPU's APIC ID */
	assert_non_null(handlers[VEC_UART]);
	uart_pending = typed;
	uart_pending_len = sizeof(typed) - 1;
	handlers[VEC_UART](NULL);
	assert_int_equal(uart_pending_len, 0); /* drained: the edge-triggered line falls */
	assert_int_equal(eois, 1);
	assert_true(shim_log_contains("keel: unknown command 'this'"));
	assert_true(shim_log_contains("keel: scheduler slice"));
}

static void test_init_without_input(void **state)
{
	uart_irq = -1;
	hvcon_init();
	assert_true(shim_log_contains("keel: console input is unavailable (no UART on a COM1-COM4 port)\n"));
	uart_irq = 3;
	route_result = -ENOSYS;
	shim_log_reset();
	hvcon_init();
	assert_int_equal(route_irq, 3);
	assert_string_equal(shim_log, "keel: console input is unavailable (no I/O APIC)\n");
	route_result = 0;
	shim_log_reset();
	hvcon_init();
	assert_true(shim_log_contains("keel: hypervisor console on the serial port"));
	assert_false(shim_log_contains("unavailable"));
}

static void test_init_resets_focus(void **state)
{
	type(CTRL_A CTRL_A CTRL_A);
	assert_int_equal(hvcon_focus(), 1);
	type(CTRL_A CTRL_A);
	hvcon_init();
	assert_int_equal(hvcon_focus(), 0);
	type(CTRL_A "sched\r"); /* the two held before do not count any more */
	assert_int_equal(hvcon_focus(), 0);
	assert_true(shim_log_contains("keel: scheduler slice"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_escape_switches_to_first_vm, setup),
		cmocka_unit_test_setup(test_escape_across_batches, setup),
		cmocka_unit_test_setup(test_broken_escape_is_forwarded, setup),
		cmocka_unit_test_setup(test_long_input_to_vm, setup),
		cmocka_unit_test_setup(test_focus_cycles_back_to_hypervisor, setup),
		cmocka_unit_test_setup(test_focused_vm_disappears, setup),
		cmocka_unit_test_setup(test_switch_skips_vanished_vms, setup),
		cmocka_unit_test_setup(test_line_editing, setup),
		cmocka_unit_test_setup(test_line_ends, setup),
		cmocka_unit_test_setup(test_line_too_long, setup),
		cmocka_unit_test_setup(test_pause_resume_destroy, setup),
		cmocka_unit_test_setup(test_unknown_and_usage, setup),
		cmocka_unit_test_setup(test_list, setup),
		cmocka_unit_test_setup(test_vcpus, setup),
		cmocka_unit_test_setup(test_top, setup),
		cmocka_unit_test_setup(test_exits, setup),
		cmocka_unit_test(test_cpulist),
		cmocka_unit_test_setup(test_init_routes_uart_irq, setup),
		cmocka_unit_test_setup(test_init_without_input, setup),
		cmocka_unit_test_setup(test_init_resets_focus, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

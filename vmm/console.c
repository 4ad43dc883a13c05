/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor console. Input arrives by interrupt on the boot CPU and is handled right there,
 * under one irqsave lock: the Ctrl-A escape, then either the focused VM's COM1 or the line editor
 * and the commands. The commands read VMs only through vmm_for_each_vm() and sched_entity_stats(),
 * copying what they show into a snapshot first, so the VM list lock is never held while a table
 * goes out at serial speed.
 *
 * Every value in a table is one token without blanks (names are shown with blanks as '_'), so
 * scripts can split lines on whitespace; the formats are in README.md "Hypervisor console".
 */
#include "vmm/console.h"

#include "arch/x86/desc.h"
#include "arch/x86/ioapic.h"
#include "arch/x86/lapic.h"
#include "arch/x86/tsc.h"
#include "drivers/uart16550.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/log.h"
#include "kernel/percpu.h"
#include "kernel/sched.h"
#include "kernel/spinlock.h"
#include "vmm/exit.h"
#include "vmm/vm.h"
#include "vmm/vm_config.h"
#include "vmm/vmm.h"

#define CTRL_U	     0x15
#define DEL	     0x7f
#define MAX_ARGS     4
#define VM_OUT_BATCH 64 /* bytes for the focused VM are handed over in batches this big */

#define con_print(...) klog(LOG_ALWAYS, __VA_ARGS__)

struct vcpu_snap {
	bool present;
	bool wait_sipi;
	u32 id;
	u64 exits;
	struct sched_stats st;
};

struct vm_snap {
	u32 id;
	char name[VM_NAME_MAX];	 /* as the VM has it, for lookups */
	char shown[VM_NAME_MAX]; /* blanks and control characters as '_' */
	enum vm_state state;
	u64 ram_size;
	u32 nr_vcpus;
	struct vcpu_snap vcpus[VM_MAX_VCPUS];
};

struct top_base {
	u32 id;
	u64 run_ns;
};

/* Everything below is under con.lock. */
static struct {
	spinlock_t lock;
	u32 focus;   /* 0: the hypervisor, else a VM id */
	u32 escapes; /* Ctrl-A bytes held back: maybe the start of the escape */
	char line[HVCON_LINE_MAX];
	u32 len;
	bool last_cr;  /* CR LF ends one line, not two */
	bool mid_line; /* the prompt or typed text is on screen without a newline after it */
	u8 out[VM_OUT_BATCH];
	u32 out_len;
	u64 top_ns; /* when `top` last looked (or hvcon_init ran) */
	struct top_base top[MAX_VMS];
	u32 nr_top;
	struct vm_snap snap[MAX_VMS];
	u32 nr_snap, dropped_snap;
	u32 exits_id; /* the VM whose exits are copied into exits[] */
	bool exits_found;
	u32 exits_nr_vcpus;
	u64 exits[VM_MAX_VCPUS][EXIT_REASON_MAX];
} con;

/* CPU lists */

static void put_char(char *buf, size_t size, size_t *n, char c)
{
	if (*n + 1 < size)
		buf[*n] = c;
	(*n)++;
}

static void put_str(char *buf, size_t size, size_t *n, const char *s)
{
	while (*s)
		put_char(buf, size, n, *s++);
}

static void put_uint(char *buf, size_t size, size_t *n, u32 v)
{
	char tmp[12];

	ksnprintf(tmp, sizeof(tmp), "%u", v);
	put_str(buf, size, n, tmp);
}

size_t hvcon_format_cpulist(char *buf, size_t size, u64 mask, u32 all_cpus)
{
	u64 all = all_cpus >= 64 ? ~0ull : (1ull << all_cpus) - 1;
	size_t n = 0;

	if (!mask) {
		put_str(buf, size, &n, "-");
	} else if (all_cpus && (mask & all) == all) {
		put_str(buf, size, &n, "all");
	} else {
		for (u32 c = 0; c < 64; c++) {
			u32 end = c;

			if (!(mask & (1ull << c)))
				continue;
			while (end + 1 < 64 && (mask & (1ull << (end + 1))))
				end++;
			if (n)
				put_char(buf, size, &n, ',');
			put_uint(buf, size, &n, c);
			if (end > c) {
				put_char(buf, size, &n, '-');
				put_uint(buf, size, &n, end);
			}
			c = end;
		}
	}
	if (size)
		buf[MIN(n, size - 1)] = '\0';
	return n;
}

/* Snapshots */

static void copy_shown(char *dst, const char *src, size_t size)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i]; i++)
		dst[i] = (src[i] <= ' ' || src[i] == DEL) ? '_' : src[i];
	dst[i] = '\0';
	if (!i && size > 1) {
		dst[0] = '?';
		dst[1] = '\0';
	}
}

static void snap_vm(struct vm *vm, void *arg)
{
	struct vm_snap *s;

	if (con.nr_snap == MAX_VMS) {
		con.dropped_snap++;
		return;
	}
	s = &con.snap[con.nr_snap++];
	*s = (struct vm_snap){ .id = vm->id, .state = vm->state, .ram_size = vm->ram_size };
	kstrlcpy(s->name, vm->name, sizeof(s->name));
	copy_shown(s->shown, vm->name, sizeof(s->shown));
	s->nr_vcpus = MIN(vm->nr_vcpus, (u32)VM_MAX_VCPUS);
	for (u32 i = 0; i < s->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		struct vcpu_snap *vs = &s->vcpus[i];

		if (!v)
			continue;
		vs->present = true;
		vs->id = v->id;
		vs->wait_sipi = v->mp_state == VCPU_MP_WAIT_SIPI;
		for (u32 r = 0; r < EXIT_REASON_MAX; r++)
			vs->exits += v->exit_counts[r];
		sched_entity_stats(&v->se, &vs->st);
	}
}

static void take_snapshot(void)
{
	con.nr_snap = 0;
	con.dropped_snap = 0;
	vmm_for_each_vm(snap_vm, NULL);
}

static bool parse_id(const char *s, u32 *id)
{
	u64 v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (u64)(*s - '0');
		if (v > 0xffffffffull)
			return false;
	}
	*id = (u32)v;
	return true;
}

/* A VM of the snapshot by name or else by id; NULL if none. */
static const struct vm_snap *find_vm(const char *arg)
{
	u32 id;

	for (u32 i = 0; i < con.nr_snap; i++)
		if (!strcmp(con.snap[i].name, arg))
			return &con.snap[i];
	if (!parse_id(arg, &id))
		return NULL;
	for (u32 i = 0; i < con.nr_snap; i++)
		if (con.snap[i].id == id)
			return &con.snap[i];
	return NULL;
}

static void snap_exits(struct vm *vm, void *arg)
{
	if (vm->id != con.exits_id)
		return;
	con.exits_found = true;
	con.exits_nr_vcpus = MIN(vm->nr_vcpus, (u32)VM_MAX_VCPUS);
	for (u32 i = 0; i < con.exits_nr_vcpus; i++)
		for (u32 r = 0; r < EXIT_REASON_MAX; r++)
			con.exits[i][r] = vm->vcpus[i] ? vm->vcpus[i]->exit_counts[r] : 0;
}

/* Formatting helpers */

struct ms_str {
	char s[24];
};

static struct ms_str ms(u64 ns)
{
	struct ms_str m;

	ksnprintf(m.s, sizeof(m.s), "%llu.%03llu", (unsigned long long)(ns / 1000000),
		  (unsigned long long)(ns / 1000 % 1000));
	return m;
}

static const char *vm_state_name(enum vm_state s)
{
	switch (s) {
	case VM_CREATED:
		return "created";
	case VM_RUNNING:
		return "running";
	case VM_PAUSED:
		return "paused";
	case VM_DEAD:
		return "dead";
	}
	return "?";
}

static const char *vcpu_state_name(const struct vm_snap *vm, const struct vcpu_snap *v)
{
	if (vm->state == VM_DEAD)
		return "dead";
	if (vm->state == VM_PAUSED)
		return "paused";
	if (v->wait_sipi)
		return "wait-sipi";
	switch (v->st.state) {
	case SE_RUNNING:
		return "running";
	case SE_RUNNABLE:
		return "runnable";
	case SE_BLOCKED:
		return "blocked";
	}
	return "?";
}

static void report_dropped(void)
{
	if (con.dropped_snap)
		con_print("keel: %u more VMs not shown\n", con.dropped_snap);
}

/* Commands */

static void cmd_help(const char *arg);

static void cmd_list(const char *arg)
{
	take_snapshot();
	con_print("%4s  %-16s %-8s %5s %8s %6s %4s %12s\n", "ID", "Name", "State", "vCPUs", "Mem(MiB)", "Weight", "Cap",
		  "Exits");
	for (u32 i = 0; i < con.nr_snap; i++) {
		const struct vm_snap *s = &con.snap[i];
		char weight[12] = "-", cap[12] = "-";
		u64 exits = 0;

		for (u32 v = 0; v < s->nr_vcpus; v++) {
			const struct vcpu_snap *vs = &s->vcpus[v];

			if (!vs->present)
				continue;
			exits += vs->exits;
			if (weight[0] == '-') {
				/* Weight and cap are the VM's: every vCPU carries the same. */
				ksnprintf(weight, sizeof(weight), "%u", vs->st.weight);
				ksnprintf(cap, sizeof(cap), "%u", vs->st.cap_pct);
			}
		}
		con_print("%4u  %-16s %-8s %5u %8llu %6s %4s %12llu\n", s->id, s->shown, vm_state_name(s->state),
			  s->nr_vcpus, (unsigned long long)(s->ram_size >> 20), weight, cap, (unsigned long long)exits);
	}
	report_dropped();
}

#define VCPU_ROW "%-16s %4s %4s %4s %-9s %-9s %-9s %6s %4s %12s %12s %12s %5s %10s\n"

static void cmd_vcpus(const char *arg)
{
	take_snapshot();
	con_print(VCPU_ROW, "VM", "ID", "vCPU", "CPU", "State", "Affinity", "Ran-on", "Weight", "Cap", "Run(ms)",
		  "Wait(ms)", "Block(ms)", "Migr", "Exits");
	for (u32 i = 0; i < con.nr_snap; i++) {
		const struct vm_snap *s = &con.snap[i];

		for (u32 v = 0; v < s->nr_vcpus; v++) {
			const struct vcpu_snap *vs = &s->vcpus[v];
			char id[12], vcpu[12], cpu[12] = "-", aff[72], ran[72], weight[12], cap[12], migr[12],
					       exits[24];

			if (!vs->present)
				continue;
			ksnprintf(id, sizeof(id), "%u", s->id);
			ksnprintf(vcpu, sizeof(vcpu), "%u", vs->id);
			if (vs->st.cpu >= 0)
				ksnprintf(cpu, sizeof(cpu), "%d", vs->st.cpu);
			hvcon_format_cpulist(aff, sizeof(aff), vs->st.affinity, nr_cpus_online);
			hvcon_format_cpulist(ran, sizeof(ran), vs->st.ran_on, 0);
			ksnprintf(weight, sizeof(weight), "%u", vs->st.weight);
			ksnprintf(cap, sizeof(cap), "%u", vs->st.cap_pct);
			ksnprintf(migr, sizeof(migr), "%u", vs->st.migrations);
			ksnprintf(exits, sizeof(exits), "%llu", (unsigned long long)vs->exits);
			con_print(VCPU_ROW, s->shown, id, vcpu, cpu, vcpu_state_name(s, vs), aff, ran, weight, cap,
				  ms(vs->st.run_ns).s, ms(vs->st.wait_ns).s, ms(vs->st.block_ns).s, migr, exits);
		}
	}
	report_dropped();
}

static u64 top_baseline(u32 id)
{
	for (u32 i = 0; i < con.nr_top; i++)
		if (con.top[i].id == id)
			return con.top[i].run_ns;
	return 0; /* new since the last look: all of its run time is in the interval */
}

static void cmd_top(const char *arg)
{
	u64 now = time_ns(), interval = now - con.top_ns;

	take_snapshot();
	con_print("keel: top over the last %s ms (CPU%%: percent of one physical CPU)\n", ms(interval).s);
	con_print("%4s  %-16s %-8s %5s %7s %12s\n", "ID", "VM", "State", "vCPUs", "CPU(%)", "Run(ms)");
	for (u32 i = 0; i < con.nr_snap; i++) {
		const struct vm_snap *s = &con.snap[i];
		u64 run = 0, base = top_baseline(s->id), delta, tenths = 0;

		for (u32 v = 0; v < s->nr_vcpus; v++)
			if (s->vcpus[v].present)
				run += s->vcpus[v].st.run_ns;
		delta = run > base ? run - base : 0;
		if (interval) /* tenths of a percent, without overflowing for long intervals */
			tenths = delta <= ~0ull / 1000 ? delta * 1000 / interval : delta / (interval / 1000 ?: 1);
		con_print("%4u  %-16s %-8s %5u %5llu.%llu %12s\n", s->id, s->shown, vm_state_name(s->state),
			  s->nr_vcpus, (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10),
			  ms(delta).s);
		con.top[i] = (struct top_base){ .id = s->id, .run_ns = run };
	}
	con.nr_top = con.nr_snap;
	con.top_ns = now;
	report_dropped();
}

static void cmd_exits(const char *arg)
{
	const struct vm_snap *s;
	u64 totals[VM_MAX_VCPUS + 1] = { 0 };
	char row[32 + 12 * (VM_MAX_VCPUS + 1)];
	size_t n;

	take_snapshot();
	s = find_vm(arg);
	if (!s) {
		con_print("keel: no vm '%s'\n", arg);
		return;
	}
	con.exits_id = s->id;
	con.exits_found = false;
	vmm_for_each_vm(snap_exits, NULL);
	if (!con.exits_found) {
		con_print("keel: no vm '%s'\n", arg);
		return;
	}
	con_print("keel: exits of vm %s (id %u) by reason and vCPU\n", s->shown, s->id);
	n = (size_t)ksnprintf(row, sizeof(row), "%-12s", "Reason");
	for (u32 v = 0; v < con.exits_nr_vcpus; v++) {
		char head[12];

		ksnprintf(head, sizeof(head), "vCPU%u", v);
		n += (size_t)ksnprintf(row + n, sizeof(row) - n, " %10s", head);
	}
	con_print("%s %10s\n", row, "Total");
	for (u32 r = 0; r < EXIT_REASON_MAX; r++) {
		u64 total = 0;

		for (u32 v = 0; v < con.exits_nr_vcpus; v++)
			total += con.exits[v][r];
		if (!total)
			continue;
		n = (size_t)ksnprintf(row, sizeof(row), "%-12s", exit_reason_name((enum exit_reason)r));
		for (u32 v = 0; v < con.exits_nr_vcpus; v++) {
			n +=
			    (size_t)ksnprintf(row + n, sizeof(row) - n, " %10llu", (unsigned long long)con.exits[v][r]);
			totals[v] += con.exits[v][r];
		}
		totals[VM_MAX_VCPUS] += total;
		con_print("%s %10llu\n", row, (unsigned long long)total);
	}
	n = (size_t)ksnprintf(row, sizeof(row), "%-12s", "total");
	for (u32 v = 0; v < con.exits_nr_vcpus; v++)
		n += (size_t)ksnprintf(row + n, sizeof(row) - n, " %10llu", (unsigned long long)totals[v]);
	con_print("%s %10llu\n", row, (unsigned long long)totals[VM_MAX_VCPUS]);
}

static void vm_action(const char *arg, int (*fn)(const char *vm), const char *verb, const char *done)
{
	const struct vm_snap *s;
	const char *shown = arg;
	int err;

	take_snapshot();
	s = find_vm(arg);
	if (s)
		shown = s->shown;
	err = fn(arg);
	if (!err)
		con_print("keel: vm %s %s\n", shown, done);
	else if (err == -ENOENT)
		con_print("keel: no vm '%s'\n", arg);
	else if (err == -EINVAL)
		con_print("keel: cannot %s vm %s: it is %s\n", verb, shown, s ? vm_state_name(s->state) : "not ready");
	else
		con_print("keel: cannot %s vm %s (error %d)\n", verb, shown, err);
}

static void cmd_pause(const char *arg)
{
	vm_action(arg, vmm_pause, "pause", "paused");
}

static void cmd_resume(const char *arg)
{
	vm_action(arg, vmm_resume, "resume", "resumed");
}

static void cmd_destroy(const char *arg)
{
	vm_action(arg, vmm_destroy, "destroy", "destroyed");
}

static void cmd_sched(const char *arg)
{
	con_print("keel: scheduler slice %s ms, cap period %s ms\n", ms(sched_slice_ns()).s, ms(sched_period_ns()).s);
}

struct command {
	const char *name;
	const char *arg; /* NULL: takes no argument */
	const char *help;
	void (*fn)(const char *arg);
};

static const struct command commands[] = {
	{ "help", NULL, "this list", cmd_help },
	{ "list", NULL, "VMs: state, vCPUs, memory, weight, cap, exits", cmd_list },
	{ "vcpus", NULL, "vCPUs: CPU, state, affinity, run/wait/block time, migrations, exits", cmd_vcpus },
	{ "vcpu-list", NULL, NULL, cmd_vcpus }, /* xl's name */
	{ "top", NULL, "each VM's CPU share since the previous top", cmd_top },
	{ "exits", "NAME|ID", "a VM's exits by reason and vCPU", cmd_exits },
	{ "pause", "NAME|ID", "stop running a VM", cmd_pause },
	{ "resume", "NAME|ID", "run a paused VM again", cmd_resume },
	{ "destroy", "NAME|ID", "end a VM now", cmd_destroy },
	{ "sched", NULL, "the scheduler's slice and cap period", cmd_sched },
};

static void cmd_help(const char *arg)
{
	con_print("keel: hypervisor console commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *c = &commands[i];
		char usage[32];

		if (!c->help)
			continue;
		ksnprintf(usage, sizeof(usage), "%s %s", c->name, c->arg ?: "");
		con_print("  %-18s %s%s\n", usage, c->help, c->fn == cmd_vcpus ? " (also vcpu-list)" : "");
	}
	con_print("  Ctrl-A three times: console input to the next VM's COM1, and after the last back here\n");
}

static void run_line(char *line)
{
	char *argv[MAX_ARGS];
	u32 argc = 0;
	char *p = line;

	while (*p) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (argc < MAX_ARGS)
			argv[argc] = p;
		argc++; /* counted on past MAX_ARGS: then it is a usage error */
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	if (!argc)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *c = &commands[i];

		if (strcmp(c->name, argv[0]))
			continue;
		if (argc != (c->arg ? 2u : 1u)) {
			con_print("keel: usage: %s%s%s\n", c->name, c->arg ? " " : "", c->arg ?: "");
			return;
		}
		c->fn(c->arg ? argv[1] : NULL);
		return;
	}
	con_print("keel: unknown command '%s' (try help)\n", argv[0]);
}

/* Input */

static void prompt(void)
{
	con_print("keel> ");
	con.mid_line = true;
}

static void end_line(void)
{
	if (con.mid_line)
		con_print("\n");
	con.mid_line = false;
}

static void line_input(u8 b)
{
	bool after_cr = con.last_cr;

	con.last_cr = b == '\r';
	if (b == '\n' && after_cr)
		return; /* the LF of CR LF */
	switch (b) {
	case '\n':
	case '\r':
		end_line();
		con.line[con.len] = '\0';
		con.len = 0;
		run_line(con.line);
		prompt();
		return;
	case '\b':
	case DEL:
		if (con.len) {
			con.len--;
			con_print("\b \b");
		}
		return;
	case CTRL_U:
		for (; con.len; con.len--)
			con_print("\b \b");
		return;
	default:
		break;
	}
	if (b < ' ' || b >= DEL || con.len == HVCON_LINE_MAX - 1)
		return; /* other control characters, and what does not fit */
	con.line[con.len++] = (char)b;
	con_print("%c", b);
	con.mid_line = true;
}

static void to_hypervisor(void)
{
	con.focus = 0;
	con.len = 0;
	con.last_cr = false;
	con_print("keel: console input goes to the hypervisor\n");
	prompt();
}

/* Hands what was typed for the focused VM to it; if the VM is gone, input returns here. */
static void vm_flush(void)
{
	u32 id = con.focus;
	int err;

	if (!id || !con.out_len)
		return;
	err = vmm_input(id, con.out, con.out_len);
	con.out_len = 0;
	if (err == -ENOENT) {
		end_line();
		con_print("keel: vm %u is gone\n", id);
		to_hypervisor();
	}
}

static void switch_focus(void)
{
	char name[VM_NAME_MAX], shown[VM_NAME_MAX];
	u32 next = con.focus;

	vm_flush();
	end_line();
	/* Bounded: a VM list that changes under us must not keep us here. */
	for (u32 tries = 0; tries <= MAX_VMS; tries++) {
		next = vmm_next_vm(next);
		if (!next)
			break;
		if (vmm_vm_name(next, name, sizeof(name)))
			continue; /* ended just now */
		con.focus = next;
		con.len = 0;
		copy_shown(shown, name, sizeof(shown));
		con_print("keel: console input goes to vm %s (Ctrl-A three times to switch)\n", shown);
		return;
	}
	to_hypervisor();
}

static void deliver(u8 b)
{
	if (!con.focus) {
		line_input(b);
		return;
	}
	con.out[con.out_len++] = b;
	if (con.out_len == sizeof(con.out))
		vm_flush();
}

static void input_locked(const u8 *buf, size_t len)
{
	spin_assert_held(&con.lock);
	for (size_t i = 0; i < len; i++) {
		u8 b = buf[i];

		if (b == HVCON_ESCAPE) {
			if (++con.escapes == HVCON_ESCAPE_COUNT) {
				con.escapes = 0;
				switch_focus();
			}
			continue;
		}
		/* Not the escape after all: the Ctrl-As held back go where input goes. */
		for (; con.escapes; con.escapes--)
			deliver(HVCON_ESCAPE);
		deliver(b);
	}
	vm_flush();
}

void hvcon_input(const u8 *buf, size_t len)
{
	unsigned long flags = spin_lock_irqsave(&con.lock);

	input_locked(buf, len);
	spin_unlock_irqrestore(&con.lock, flags);
}

u32 hvcon_focus(void)
{
	return con.focus;
}

/* Hardware */

static void hvcon_irq(struct trap_frame *f)
{
	unsigned long flags = spin_lock_irqsave(&con.lock);
	u8 buf[32];
	size_t n;

	/* Edge triggered: the line only falls, ready for the next edge, once the UART is empty. */
	while ((n = uart_read(buf, sizeof(buf))) > 0)
		input_locked(buf, n);
	spin_unlock_irqrestore(&con.lock, flags);
	lapic_eoi();
}

void hvcon_init(void)
{
	unsigned long flags = spin_lock_irqsave(&con.lock);
	int irq, err;

	con.focus = 0;
	con.escapes = 0;
	con.len = 0;
	con.last_cr = false;
	con.mid_line = false;
	con.out_len = 0;
	con.nr_top = 0;
	con.top_ns = time_ns();
	spin_unlock_irqrestore(&con.lock, flags);

	irq = uart_isa_irq();
	if (irq < 0) {
		con_print("keel: console input is unavailable (no UART on a COM1-COM4 port)\n");
		return;
	}
	irq_set_handler(VEC_UART, hvcon_irq);
	err = ioapic_route_isa_irq((u8)irq, VEC_UART, cpus[0]->apic_id);
	if (err) {
		con_print("keel: console input is unavailable (%s)\n",
			  err == -ENOSYS ? "no I/O APIC" : "the UART's IRQ has no I/O APIC input");
		return;
	}
	if (!uart_rx_irq_enable()) {
		con_print("keel: console input is unavailable (no UART)\n");
		return;
	}
	con_print("keel: hypervisor console on the serial port: type help; Ctrl-A three times switches input "
		  "to each VM and back\n");
}

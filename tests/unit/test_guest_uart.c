/* SPDX-License-Identifier: MIT */
/*
 * The guest's COM1 (vmm/dev/vuart.c) through its port handler, as a vCPU reaches it: receiver
 * FIFO and overrun, divisor latch, interrupt identification and priorities, loopback, modem
 * status, and IRQ 4 raised exactly when an enabled condition newly arises; and the output path
 * (issue 11 item 6): bytes go into the VM's output ring on the exit path and reach the console
 * only through guest_console_drain(), a budget at a time, under a slow fake UART.
 */
#include "shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/dev/vuart.h"
#include "vmm/platform.h"
#include "vmm/public/keel_hypercall.h"

#define COM1 0x3f8
#define RBR  0
#define THR  0
#define DLL  0
#define IER  1
#define DLM  1
#define IIR  2
#define FCR  2
#define LCR  3
#define MCR  4
#define LSR  5
#define MSR  6
#define SCR  7

/* The fake UART behind Keel's console: 115200 baud, 10 bits a byte. Whatever the code under test
 * prints costs this much time per byte on a real line. */
#define UART_US_PER_BYTE 87

static struct vm vm, vm2;
static struct vcpu vcpu = { .vm = &vm };
static vm_io_fn com1_fn, exit_fn;
static int irqs, exit_status = -1;
static int wrong; /* output cases that came out wrong (check_shown) */

int vm_io_register(struct vm *v, u16 base, u16 count, vm_io_fn fn)
{
	if (v == &vm2)
		return 0; /* a second VM, reached through the output functions only */
	assert_ptr_equal(v, &vm);
	if (base == COM1) {
		assert_int_equal(count, 8);
		com1_fn = fn;
	} else {
		assert_int_equal(base, KEEL_DEBUG_EXIT_PORT);
		exit_fn = fn;
	}
	return 0;
}

void vm_exit_status(struct vm *v, u32 status)
{
	exit_status = (int)status;
}

void platform_set_irq(struct vm *v, u8 irq)
{
	assert_ptr_equal(v, &vm);
	assert_int_equal(irq, 4);
	irqs++;
}

static u8 in(unsigned reg)
{
	u32 val = 0xdeadbeef;

	com1_fn(&vcpu, (u16)(COM1 + reg), 1, true, &val);
	assert_true(val <= 0xff);
	return (u8)val;
}

static void out(unsigned reg, u8 v)
{
	u32 val = v;

	com1_fn(&vcpu, (u16)(COM1 + reg), 1, false, &val);
}

static void input(const char *s)
{
	guest_console_input(&vm, (const u8 *)s, strlen(s));
}

/* Microseconds the fake UART has spent on what was printed since the last shim_log_reset(). */
static unsigned long uart_us(void)
{
	return shim_log_bytes * UART_US_PER_BYTE;
}

/* As the vCPU's run loop does before each entry, until nothing is left. */
static void drain_all(struct vm *v)
{
	for (int i = 0; guest_console_drain(v, GUEST_OUT_BUDGET); i++)
		assert_true(i < GUEST_OUT_RING);
}

static u32 write_str(struct vm *v, const char *s)
{
	return guest_console_write(v, s, (u32)strlen(s));
}

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	snprintf(vm.name, sizeof(vm.name), "g");
	/* As a VM that ran before: the device must come up in its reset state regardless. */
	memset(&vm.uart, 0x5a, sizeof(vm.uart));
	vm.uart.lock = (spinlock_t)SPINLOCK_INIT;
	com1_fn = exit_fn = NULL;
	irqs = 0;
	wrong = 0;
	exit_status = -1;
	assert_int_equal(guest_devices_init(&vm), 0);
	memset(&vm2, 0, sizeof(vm2));
	snprintf(vm2.name, sizeof(vm2.name), "h");
	assert_int_equal(guest_devices_init(&vm2), 0);
	assert_non_null(com1_fn);
	assert_non_null(exit_fn);
	shim_log_reset();
	return 0;
}

static void test_reset_state(void **state)
{
	assert_int_equal(in(IER), 0);
	assert_int_equal(in(IIR), 0x01); /* no interrupt, FIFOs off */
	assert_int_equal(in(LCR), 0);
	assert_int_equal(in(MCR), 0);
	assert_int_equal(in(LSR), 0x60); /* transmitter empty, no data */
	assert_int_equal(in(MSR), 0xb0); /* DCD, DSR, CTS: a terminal is there */
	assert_int_equal(in(SCR), 0);
	out(SCR, 0xa5);
	assert_int_equal(in(SCR), 0xa5);
}

static void test_rx_fifo(void **state)
{
	input("abc");
	assert_int_equal(in(LSR)&0x01, 0x01);
	assert_int_equal(in(RBR), 'a');
	assert_int_equal(in(RBR), 'b');
	assert_int_equal(in(LSR)&0x01, 0x01);
	assert_int_equal(in(RBR), 'c');
	assert_int_equal(in(LSR), 0x60);
	assert_int_equal(in(RBR), 0); /* empty */
	/* Wraps around the ring. */
	for (int round = 0; round < 3; round++) {
		input("0123456789");
		for (const char *p = "0123456789"; *p; p++)
			assert_int_equal(in(RBR), *p);
	}
	assert_int_equal(in(LSR)&0x01, 0);
	assert_int_equal(irqs, 0); /* no interrupt enabled */
}

static void test_rx_backlog(void **state)
{
	/* 40 bytes at once: 16 in the FIFO, the rest follows as the guest reads. */
	input("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd");
	assert_int_equal(in(LSR), 0x61); /* DR, THRE, TEMT: no overrun */
	for (int i = 0; i < 40; i++)
		assert_int_equal(in(RBR), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd"[i]);
	assert_int_equal(in(LSR), 0x60);
}

static void test_rx_overrun(void **state)
{
	static char big[GUEST_UART_FIFO + GUEST_UART_BACKLOG + 5];

	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('A' + i % 26);
	input(big);			 /* 4 bytes more than the FIFO and the backlog hold */
	assert_int_equal(in(LSR), 0x63); /* DR, OE, THRE, TEMT */
	assert_int_equal(in(LSR), 0x61); /* OE clears when read */
	for (int i = 0; i < GUEST_UART_FIFO + GUEST_UART_BACKLOG; i++)
		assert_int_equal(in(RBR), 'A' + i % 26);
	assert_int_equal(in(LSR), 0x60);
	input("x");
	assert_int_equal(in(LSR), 0x61);
	assert_int_equal(in(RBR), 'x');
}

static void test_divisor_latch(void **state)
{
	out(IER, 0x01);
	input("z");
	out(LCR, 0x83); /* DLAB, 8N1 */
	out(DLL, 0x0c);
	out(DLM, 0x02);
	assert_int_equal(in(DLL), 0x0c);
	assert_int_equal(in(DLM), 0x02);
	assert_int_equal(in(LCR), 0x83);
	out(LCR, 0x03);
	assert_int_equal(in(IER), 0x01); /* the latch did not touch IER */
	assert_int_equal(in(RBR), 'z');	 /* nor the receiver */
	out(LCR, 0x83);
	assert_int_equal(in(DLL), 0x0c);
	assert_int_equal(in(DLM), 0x02);
	out(LCR, 0x03);
	out(IER, 0xff);
	assert_int_equal(in(IER), 0x0f); /* only bits 0-3 exist */
	/* Writing THR with DLAB set is the latch, not a character. */
	out(LCR, 0x80);
	out(THR, '\n');
	out(LCR, 0x00);
	guest_console_flush(&vm);
	assert_false(shim_log_contains("[g]"));
}

static void test_iir_priorities(void **state)
{
	out(IER, 0x0f); /* THR is empty: THRE pending at once */
	out(MCR, 0x10); /* loopback: the modem lines now follow MCR */
	in(MSR);	/* (acknowledge that change) */
	out(MCR, 0x11); /* DTR -> DSR: a modem status change */
	out(THR, 'x');	/* loops back: received data */
	for (int i = 0; i < 16; i++)
		out(THR, 'y');		 /* and one too many: an overrun */
	assert_int_equal(in(IIR), 0x06); /* receiver line status first */
	assert_int_equal(in(LSR)&0x03, 0x03);
	assert_int_equal(in(IIR), 0x04); /* then received data */
	assert_int_equal(in(IIR), 0x04); /* (reading IIR does not clear that) */
	for (int i = 0; i < 16; i++)
		assert_int_equal(in(RBR), i ? 'y' : 'x');
	assert_int_equal(in(IIR), 0x02);	/* then THR empty, cleared by reading IIR */
	assert_int_equal(in(IIR), 0x00);	/* then modem status */
	assert_int_equal(in(MSR), 0x20 | 0x02); /* DSR and its delta */
	assert_int_equal(in(IIR), 0x01);
	assert_int_equal(in(MSR), 0x20);
	/* Masked sources are not reported. */
	out(MCR, 0x10);
	out(IER, 0x00);
	assert_int_equal(in(IIR), 0x01);
}

static void test_iir_fifo_and_trigger(void **state)
{
	out(IER, 0x01);
	out(FCR, 0xc1); /* FIFOs on, trigger at 14 */
	assert_int_equal(in(IIR), 0xc1);
	input("abc");
	assert_int_equal(in(IIR), 0xcc); /* below the trigger level: character timeout */
	input("defghijklmn");
	assert_int_equal(in(IIR), 0xc4); /* 14: data available */
	out(FCR, 0xc3);			 /* clear the receiver */
	assert_int_equal(in(LSR)&0x01, 0);
	assert_int_equal(in(IIR), 0xc1);
	out(FCR, 0x41); /* trigger at 4 */
	input("abcd");
	assert_int_equal(in(IIR), 0xc4);
	out(FCR, 0x00); /* FIFOs off: the receiver is emptied, IIR bits 6-7 clear */
	assert_int_equal(in(IIR), 0x01);
	input("a");
	assert_int_equal(in(IIR), 0x04);
}

static void test_loopback(void **state)
{
	out(MCR, 0x1f); /* loopback, DTR, RTS, OUT1, OUT2 */
	assert_int_equal(in(MSR)&0xf0, 0xf0);
	out(THR, 'H');
	out(THR, '\n');
	drain_all(&vm);
	assert_false(shim_log_contains("[g]")); /* nothing went out */
	assert_int_equal(in(RBR), 'H');
	assert_int_equal(in(RBR), '\n');
	input("in");
	assert_int_equal(in(LSR)&0x01, 0); /* the serial input is disconnected: it waits */
	out(MCR, 0x1b);			   /* OUT1 (RI) off: trailing edge */
	assert_int_equal(in(MSR), 0x80 | 0x20 | 0x10 | 0x04);
	out(MCR, 0x1f); /* RI on again: a leading edge is no event */
	assert_int_equal(in(MSR), 0xf0);
	out(MCR, 0x00);
	assert_int_equal(in(MSR)&0xf0, 0xb0); /* back to the outside lines */
	assert_int_equal(in(RBR), 'i');	      /* and to what waited on them */
	assert_int_equal(in(RBR), 'n');
	assert_int_equal(in(LSR)&0x01, 0);
	out(THR, 'o');
	out(THR, 'k');
	out(THR, '\n');
	drain_all(&vm);
	assert_true(shim_log_contains("[g] ok\n"));
}

static void test_irq_only_when_enabled(void **state)
{
	input("a");
	out(THR, 'x');
	assert_int_equal(irqs, 0);
	in(RBR);

	out(IER, 0x01); /* RX data */
	assert_int_equal(irqs, 0);
	input("b");
	assert_int_equal(irqs, 1);
	input("c"); /* still pending: not a new condition */
	assert_int_equal(irqs, 1);
	in(RBR);
	in(RBR);
	input("d");
	assert_int_equal(irqs, 2);
	out(IER, 0x00);
	out(IER, 0x01); /* enabling with data waiting raises it */
	assert_int_equal(irqs, 3);
	in(RBR);

	out(IER, 0x03); /* THRE: enabling with THR empty interrupts */
	assert_int_equal(irqs, 4);
	out(IER, 0x03); /* already enabled: nothing new */
	assert_int_equal(irqs, 4);
	assert_int_equal(in(IIR), 0x02);
	out(THR, 'x'); /* each character sent empties THR again */
	assert_int_equal(irqs, 5);
	out(THR, 'y');
	assert_int_equal(irqs, 6);
	out(IER, 0x01);
	out(THR, 'z');
	assert_int_equal(irqs, 6);

	out(IER, 0x08); /* modem status */
	out(MCR, 0x10);
	assert_int_equal(irqs, 7);
	out(IER, 0x04); /* line status */
	for (int i = 0; i < 17; i++)
		out(THR, 'o');
	assert_int_equal(irqs, 8);
}

static void test_thre_on_enable(void **state)
{
	/* Nothing sent yet: enabling the THRE interrupt alone raises it, as drivers expect. */
	out(IER, 0x02);
	assert_int_equal(irqs, 1);
	assert_int_equal(in(IIR), 0x02);
	assert_int_equal(in(IIR), 0x01);
	out(IER, 0x00);
	out(IER, 0x02);
	assert_int_equal(irqs, 2);
}

static void test_output_lines(void **state)
{
	for (const char *p = "hello\r\n\x1b[2Jx\n"; *p; p++)
		out(THR, (u8)*p);
	drain_all(&vm);
	assert_true(shim_log_contains("[g] hello\n"));
	assert_true(shim_log_contains("[g] ?[2Jx\n")); /* no escape sequences reach the terminal */
	out(THR, 'p');
	guest_console_flush(&vm);
	assert_true(shim_log_contains("[g] p\n"));
	/* A line longer than the buffer comes out in pieces, none lost. */
	shim_log_reset();
	for (int i = 0; i < 200; i++)
		out(THR, (u8)('a' + i % 26));
	out(THR, '\n');
	drain_all(&vm);
	assert_int_equal((int)strlen(shim_log), 200 + 2 * (4 + 1));
}

/* Sends `bytes` then a newline, through COM1's THR and then as HC_CONSOLE_WRITE does (here one
 * guest_console_write per byte), and checks each time that exactly the line `shown` came out.
 * Mismatches are counted in `wrong`, so that one run lists every case that fails. */

static void check_shown(const char *bytes, const char *shown)
{
	char want[256];

	snprintf(want, sizeof(want), "[g] %s\n", shown);
	for (int path = 0; path < 2; path++) {
		shim_log_reset();
		for (const char *p = bytes;; p++) {
			char c = *p ? *p : '\n';

			if (path == 0)
				out(THR, (u8)c);
			else
				assert_int_equal(guest_console_write(&vm, &c, 1), 1);
			if (!*p)
				break;
		}
		drain_all(&vm);
		if (strcmp(shim_log, want)) {
			print_error("%s: sent \"%s\", shown \"%s\", expected \"%s\"\n", path ? "hypercall" : "COM1",
				    bytes, shim_log, want);
			wrong++;
		}
	}
}

/* The console log the management VM reads (HC_CONSOLE_READ): the same filtered lines, taken
 * once, bounded at VM_CONLOG_SIZE with the oldest bytes dropped. */
static void test_console_log(void **state)
{
	char buf[VM_CONLOG_SIZE + 1];
	u32 n;

	write_str(&vm, "one\r\ntwo\x1b\n");
	write_str(&vm2, "other\n");
	drain_all(&vm);
	drain_all(&vm2);
	n = guest_console_take(&vm, buf, 4);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "one\n", 4);
	n = guest_console_take(&vm, buf, sizeof(buf));
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "two?\n", 5);
	assert_int_equal(guest_console_take(&vm, buf, sizeof(buf)), 0);
	assert_int_equal(guest_console_take(&vm2, buf, sizeof(buf)), 6);
	/* More than it keeps: the newest VM_CONLOG_SIZE bytes stay. 100 lines of 99 bytes + LF. */
	for (int i = 0; i < 100; i++) {
		char line[128];

		snprintf(line, sizeof(line), "%03d%096d\n", i, 0);
		while (write_str(&vm, line) == 0)
			drain_all(&vm);
		drain_all(&vm);
	}
	n = guest_console_take(&vm, buf, sizeof(buf));
	assert_int_equal(n, VM_CONLOG_SIZE);
	buf[n] = '\0';
	assert_memory_equal(buf + n - 100, "099", 3); /* the last line is whole, at the end */
	assert_null(strstr(buf, "\n000"));	      /* the first lines went */
	assert_int_equal(guest_console_take(&vm, buf, sizeof(buf)), 0);
}

static void test_output_filters_controls(void **state)
{
	/* C0 controls, ESC included: whole escape sequences lose their introducer. */
	check_shown("\x1b[2J\x1b]0;pwned\x07", "?[2J?]0;pwned?");
	check_shown("tab\there\r", "tab\there");
	check_shown("a\x7fz", "a?z"); /* DEL */
	/* Raw C1: 8-bit CSI, OSC ... ST, DCS, NEL, and the range's ends. */
	check_shown("\x9bH", "?H");
	check_shown("\x9dtitle\x9c", "?title?");
	check_shown("\x80\x85\x90\x9f", "????");
	/* The same controls as UTF-8 (U+0080-U+009F): one '?' each. */
	check_shown("\xc2\x9bH", "?H");
	check_shown("\xc2\x9dtitle\xc2\x9c", "?title?");
	check_shown("\xc2\x80\xc2\x85\xc2\x9f", "???");
	assert_int_equal(wrong, 0);
}

static void test_output_utf8(void **state)
{
	/* Well-formed UTF-8 passes as it is, at every length and at the edges of the excluded ranges:
	 * U+00A0 (first after C1), U+07FF, U+0800, U+D7FF and U+E000 (around the surrogates), U+FFFD,
	 * U+10000, U+10FFFF. */
	const char *ok[] = { "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad",
			     "\xc2\xa0\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbd",
			     "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		check_shown(ok[i], ok[i]);
	/* Ill-formed: one '?' per maximal subpart; the byte that broke a sequence starts afresh. */
	check_shown("\xc0\xaf|\xc1\xbf", "??|??");	 /* overlong 2-byte */
	check_shown("\xe0\x80\xaf", "???");		 /* overlong 3-byte */
	check_shown("\xf0\x80\x80\xaf", "????");	 /* overlong 4-byte */
	check_shown("\xed\xa0\x80", "???");		 /* a surrogate */
	check_shown("\xf4\x90\x80\x80", "????");	 /* past U+10FFFF */
	check_shown("\xf5\x80|\xfe|\xff", "??|?|?");	 /* never in UTF-8 */
	check_shown("\xe2\x82x|\xf0\x9f\x98Z", "?x|?Z"); /* cut short by ASCII */
	check_shown("\xe2\x82\xc3\xa9", "?\xc3\xa9");	 /* ... by another sequence */
	check_shown("\xe2\x82", "?");			 /* ... by the newline */
	check_shown("\xe2\x82\x1b", "??");
	assert_int_equal(wrong, 0);
	/* ... by the VM's end. */
	shim_log_reset();
	out(THR, 0xe2);
	guest_console_flush(&vm);
	assert_string_equal(shim_log, "[g] ?\n");
}

static void test_output_whole_characters(void **state)
{
	/* A character is never split between two output lines (each is printed on its own). */
	for (int i = 0; i < 157; i++)
		out(THR, 'a');
	for (const char *p = "\xe2\x82\xac\n"; *p; p++)
		out(THR, (u8)*p);
	drain_all(&vm);
	assert_int_equal((int)strlen(shim_log), 4 + 157 + 1 + 4 + 3 + 1);
	assert_string_equal(shim_log + 4 + 157, "\n[g] \xe2\x82\xac\n");
}

static void test_debug_exit(void **state)
{
	u32 v = 0x31;

	out(THR, 'b');
	exit_fn(&vcpu, KEEL_DEBUG_EXIT_PORT, 1, false, &v);
	assert_int_equal(exit_status, 0x31);
	assert_int_equal(uart_us(), 0); /* not printed on the exit path ... */
	guest_console_flush(&vm);
	assert_string_equal(shim_log, "[g] b\n"); /* ... but when the VM has ended */
}

/* Issue 11 item 6: guest output through the VM's ring. */

/* 4 KiB of "x\n", the write that used to hold a CPU for about a second on a real UART. */
static char xs[GUEST_OUT_RING + 1];

static void fill_xs(void)
{
	for (int i = 0; i < GUEST_OUT_RING; i++)
		xs[i] = (i & 1) ? '\n' : 'x';
}

/* The number of lines "[name] x" at the start of the log, and whether nothing else is there. */
static int count_lines(const char *log, const char *line, bool *only)
{
	size_t len = strlen(line);
	int n = 0;

	while (!strncmp(log, line, len)) {
		log += len;
		n++;
	}
	*only = !*log;
	return n;
}

static void test_write_costs_no_uart_time(void **state)
{
	bool only;

	fill_xs();
	/* HC_CONSOLE_WRITE of 4 KiB: the exit path copies into the ring and prints nothing. */
	assert_int_equal(guest_console_write(&vm, xs, GUEST_OUT_RING), GUEST_OUT_RING);
	assert_int_equal(uart_us(), 0);
	drain_all(&vm);
	assert_int_equal(count_lines(shim_log, "[g] x\n", &only), GUEST_OUT_RING / 2);
	assert_true(only);
	/* The same through COM1's THR, byte by byte as a driver polling THRE sends it. */
	shim_log_reset();
	for (int i = 0; i < GUEST_OUT_RING; i++) {
		assert_true(in(LSR)&0x20);
		out(THR, (u8)xs[i]);
	}
	assert_int_equal(uart_us(), 0);
	drain_all(&vm);
	assert_int_equal(count_lines(shim_log, "[g] x\n", &only), GUEST_OUT_RING / 2);
	assert_true(only);
}

static void test_drain_budget(void **state)
{
	const int lines_per_step = GUEST_OUT_BUDGET / 2;
	bool only;
	int steps = 0;

	fill_xs();
	assert_int_equal(guest_console_write(&vm, xs, GUEST_OUT_RING), GUEST_OUT_RING);
	assert_int_equal(uart_us(), 0);
	/* Each step prints the budget's worth and no more: 64 lines of "x\n" (6 bytes each shown,
	 * about 33 ms of the fake UART), then the CPU goes back to the guest or to another VM. */
	for (bool more = true; more; steps++) {
		unsigned long before = uart_us();

		more = guest_console_drain(&vm, GUEST_OUT_BUDGET);
		assert_int_equal(uart_us() - before, (unsigned long)lines_per_step * 6 * UART_US_PER_BYTE);
		assert_int_equal(count_lines(shim_log, "[g] x\n", &only), (steps + 1) * lines_per_step);
		assert_true(only);
	}
	assert_int_equal(steps, GUEST_OUT_RING / GUEST_OUT_BUDGET);
	assert_false(guest_console_drain(&vm, GUEST_OUT_BUDGET)); /* empty: nothing to do */
	/* A smaller budget takes less; a line is printed only once it is whole. */
	shim_log_reset();
	assert_int_equal(write_str(&vm, "abcdefgh\nij\n"), 12);
	assert_true(guest_console_drain(&vm, 5));
	assert_string_equal(shim_log, "");
	assert_true(guest_console_drain(&vm, 5));
	assert_string_equal(shim_log, "[g] abcdefgh\n");
	assert_false(guest_console_drain(&vm, 5));
	assert_string_equal(shim_log, "[g] abcdefgh\n[g] ij\n");
}

/* Fills a VM's ring with numbered lines "<c>NNNN\n" (6 bytes): one line per 6 bytes of budget. */
static int fill_numbered(struct vm *v, char c)
{
	char line[8];
	int n = 0;

	for (;; n++) {
		assert_true(n < GUEST_OUT_RING / 6 + 1); /* bounded however much a write takes */
		snprintf(line, sizeof(line), "%c%04d\n", c, n);
		if (guest_console_write(v, line, 6) < 6)
			return n; /* the ring is full: that line went in only in part */
	}
}

static void test_two_vms_interleave(void **state)
{
	int na = fill_numbered(&vm, 'a'), nb = fill_numbered(&vm2, 'b');
	int seen[2] = { 0, 0 }, rounds = 0;
	char *line, *save, copy[sizeof(shim_log)];

	assert_int_equal(na, GUEST_OUT_RING / 6);
	assert_int_equal(nb, GUEST_OUT_RING / 6);
	assert_int_equal(uart_us(), 0);
	/* Two CPUs' run loops take turns at the console (its lock is FIFO-fair); each prints its
	 * own VM's budget per turn. Neither VM gets ahead of the other by more than one budget. */
	for (bool more = true; more; rounds++) {
		more = guest_console_drain(&vm, GUEST_OUT_BUDGET);
		more |= guest_console_drain(&vm2, GUEST_OUT_BUDGET);
	}
	assert_int_equal(rounds, GUEST_OUT_RING / GUEST_OUT_BUDGET);
	guest_console_flush(&vm); /* the last partial line of each */
	guest_console_flush(&vm2);
	snprintf(copy, sizeof(copy), "%s", shim_log);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int who, num;
		char c, want[16];

		who = !strncmp(line, "[h] ", 4);
		c = who ? 'b' : 'a';
		assert_true(!strncmp(line, who ? "[h] " : "[g] ", 4));
		/* Whole lines, each VM's in order. */
		if (seen[who] == (who ? nb : na)) {
			snprintf(want, sizeof(want), "%c%04d", c, seen[who]);
			assert_true(!strncmp(line + 4, want, strlen(line + 4)) && strlen(line + 4) < 5);
		} else {
			assert_int_equal(sscanf(line + 4, "%c%d", &c, &num), 2);
			assert_int_equal(c, who ? 'b' : 'a');
			assert_int_equal(num, seen[who]);
		}
		seen[who]++;
		assert_true(abs(seen[0] - seen[1]) <= GUEST_OUT_BUDGET / 6 + 1);
	}
	assert_int_equal(seen[0], na + 1);
	assert_int_equal(seen[1], nb + 1);
}

static void test_full_ring_flow_control(void **state)
{
	int written = 0, irqs_full, waits = 0;
	bool only;

	out(IER, 0x02); /* THRE interrupt */
	assert_int_equal(in(IIR), 0x02);
	/* A driver that sends while THRE is set fills the ring and then sees the transmitter busy:
	 * THRE and TEMT clear, and no THRE interrupt. */
	while (in(LSR)&0x20) {
		out(THR, (u8)((written & 1) ? '\n' : 'x'));
		written++;
		assert_true(written <= GUEST_OUT_RING);
	}
	assert_int_equal(written, GUEST_OUT_RING);
	assert_int_equal(in(LSR), 0x00);
	assert_int_equal(in(IIR), 0x01);
	irqs_full = irqs;
	/* The HC_CONSOLE_WRITE path writes what fits: nothing now. */
	assert_int_equal(write_str(&vm, "hc\n"), 0);
	/* The drain makes room: THRE is back, with its interrupt; TEMT once all is out. */
	assert_true(guest_console_drain(&vm, GUEST_OUT_BUDGET));
	assert_int_equal(irqs, irqs_full + 1);
	assert_int_equal(in(IIR), 0x02);
	assert_int_equal(in(LSR), 0x20);
	assert_int_equal(write_str(&vm, "hc\n"), 3);
	/* A polling driver sending 4 KiB more, with the run loop draining between its exits: it
	 * waits at times, and nothing is lost. */
	for (int i = 0; i < GUEST_OUT_RING; i++) {
		while (!(in(LSR)&0x20)) {
			guest_console_drain(&vm, GUEST_OUT_BUDGET);
			waits++;
		}
		out(THR, (u8)((i & 1) ? '\n' : 'x'));
	}
	assert_true(waits > 0);
	guest_console_flush(&vm);
	assert_int_equal(in(LSR), 0x60);
	assert_false(shim_log_contains("lost"));
	only = strstr(shim_log, "[g] hc\n") != NULL;
	assert_true(only);
	assert_int_equal(count_lines(strstr(shim_log, "[g] hc\n") + 7, "[g] x\n", &only), GUEST_OUT_RING / 2);
	assert_true(only);
	/* A driver that ignores THRE loses what it writes while the ring is full, and is told so. */
	shim_log_reset();
	for (int i = 0; i < GUEST_OUT_RING + 3; i++)
		out(THR, 'y');
	guest_console_flush(&vm);
	assert_true(shim_log_contains("vm g: 3 bytes of COM1 output lost"));
}

static void test_order_within_vm(void **state)
{
	/* THR and HC_CONSOLE_WRITE bytes, in the order written, drained in odd-sized pieces: lines
	 * come out whole and in order, however the pieces fall. */
	static const char want[] = "[g] one two three\n[g] four\n[g] five \xe2\x82\xac six\n";

	for (u32 budget = 1; budget <= 16; budget++) {
		shim_log_reset();
		out(THR, 'o');
		out(THR, 'n');
		assert_int_equal(write_str(&vm, "e two"), 5);
		for (const char *p = " three\nfour"; *p; p++)
			out(THR, (u8)*p);
		assert_int_equal(write_str(&vm, "\nfive \xe2\x82"), 8);
		out(THR, 0xac);
		assert_int_equal(write_str(&vm, " six\n"), 5);
		assert_int_equal(uart_us(), 0);
		while (guest_console_drain(&vm, budget))
			;
		assert_string_equal(shim_log, want);
	}
}

static void test_end_flush(void **state)
{
	u32 status = 0;
	bool only;

	/* A VM fills its ring, leaves a line unfinished and ends (debug-exit port). */
	fill_xs();
	assert_int_equal(guest_console_write(&vm, xs, GUEST_OUT_RING - 4), GUEST_OUT_RING - 4);
	assert_int_equal(write_str(&vm, "tail"), 4);
	assert_true(guest_console_drain(&vm, GUEST_OUT_BUDGET));
	exit_fn(&vcpu, KEEL_DEBUG_EXIT_PORT, 1, false, &status);
	assert_int_equal(exit_status, 0);
	assert_int_equal(uart_us(), (unsigned long)GUEST_OUT_BUDGET / 2 * 6 * UART_US_PER_BYTE);
	/* Its end: everything left comes out in one call, the unfinished line last, so Keel's line
	 * about the end (printed next by vmm_vm_finished) follows the VM's own last output. */
	guest_console_flush(&vm);
	assert_int_equal(count_lines(shim_log, "[g] x\n", &only), (GUEST_OUT_RING - 4) / 2);
	assert_string_equal(strstr(shim_log, "[g] tail"), "[g] tail\n");
	assert_false(guest_console_drain(&vm, GUEST_OUT_BUDGET));
	assert_int_equal(vm.con_len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reset_state, setup),
		cmocka_unit_test_setup(test_rx_fifo, setup),
		cmocka_unit_test_setup(test_rx_backlog, setup),
		cmocka_unit_test_setup(test_rx_overrun, setup),
		cmocka_unit_test_setup(test_divisor_latch, setup),
		cmocka_unit_test_setup(test_iir_priorities, setup),
		cmocka_unit_test_setup(test_iir_fifo_and_trigger, setup),
		cmocka_unit_test_setup(test_loopback, setup),
		cmocka_unit_test_setup(test_irq_only_when_enabled, setup),
		cmocka_unit_test_setup(test_thre_on_enable, setup),
		cmocka_unit_test_setup(test_output_lines, setup),
		cmocka_unit_test_setup(test_output_filters_controls, setup),
		cmocka_unit_test_setup(test_output_utf8, setup),
		cmocka_unit_test_setup(test_output_whole_characters, setup),
		cmocka_unit_test_setup(test_debug_exit, setup),
		cmocka_unit_test_setup(test_write_costs_no_uart_time, setup),
		cmocka_unit_test_setup(test_drain_budget, setup),
		cmocka_unit_test_setup(test_two_vms_interleave, setup),
		cmocka_unit_test_setup(test_full_ring_flow_control, setup),
		cmocka_unit_test_setup(test_order_within_vm, setup),
		cmocka_unit_test_setup(test_end_flush, setup),
		cmocka_unit_test_setup(test_console_log, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

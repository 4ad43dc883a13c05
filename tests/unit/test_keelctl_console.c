// SPDX-License-Identifier: MIT
/*
 * keelctl console (guests/mgmt/tools/keelctl_console.c), mostly without a terminal: console_session
 * driven through pipes and a socketpair over a fake libkeel whose COM1 output is a script of
 * chunks and whose input is recorded. The guest's bytes reach the output unchanged (NULs and
 * escapes included), typed bytes reach the guest up to Ctrl-] and not after, the VM's end and
 * keel-dm's socket closing end the session with the documented status; on a pty, the terminal
 * is raw during the session and as it was after.
 */
#define _GNU_SOURCE /* posix_openpt, ptsname */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "keelctl.h"
#include "keelctl_dm.h"

#define VM_ID 4

/* The fake VM: COM1 output as chunks, then (once they are taken) an action. */
static struct {
	const char *chunk[8];
	size_t len[8];
	unsigned nr, next;
	int type_fd; /* once the chunks are out: type_text written here */
	const char *type_text;
	size_t type_len;
	uint32_t state, end, status; /* what keel_vm_info says */
	const char *reason;
	int gone;		  /* -ENOENT from everything */
	const char *last;	  /* output a dead VM still has: read after the death is seen */
	int input_max;		  /* keel_console_input takes at most this many (0: all) */
	int input_zeroes;	  /* ... and says 0 this many times first */
	unsigned char input[256]; /* what the guest was sent */
	size_t input_len;
	int reads_after_end;
	int dead_seen; /* keel_vm_info said DEAD: only then is `last` there */
	int info_calls;
	int raw_seen; /* fd 0 was a terminal in raw mode during a read */
} vm;

static char run_dir[] = "/tmp/keelctl-console-XXXXXX";

const char *keelctl_run_dir(void)
{
	return run_dir;
}

int keel_console_read(struct keel *k, uint32_t id, void *buf, uint32_t len)
{
	struct termios t;

	assert_int_equal(id, VM_ID);
	if (!tcgetattr(STDIN_FILENO, &t) && !(t.c_lflag & (ICANON | ECHO | ISIG)))
		vm.raw_seen = 1;
	if (vm.gone)
		return -ENOENT;
	if (vm.next < vm.nr) {
		size_t n = vm.len[vm.next];

		assert_true(n <= len);
		memcpy(buf, vm.chunk[vm.next++], n);
		if (vm.next == vm.nr && vm.type_text)
			assert_int_equal(write(vm.type_fd, vm.type_text, vm.type_len), (ssize_t)vm.type_len);
		return (int)n;
	}
	if (vm.dead_seen && vm.last) {
		size_t n = strlen(vm.last);

		memcpy(buf, vm.last, n);
		vm.last = NULL;
		vm.reads_after_end++;
		return (int)n;
	}
	return 0;
}

int keel_console_input(struct keel *k, uint32_t id, const void *buf, uint32_t len)
{
	uint32_t n = vm.input_max && len > (uint32_t)vm.input_max ? (uint32_t)vm.input_max : len;

	assert_int_equal(id, VM_ID);
	if (vm.input_zeroes) {
		vm.input_zeroes--;
		return 0;
	}
	assert_true(vm.input_len + n <= sizeof(vm.input));
	memcpy(vm.input + vm.input_len, buf, n);
	vm.input_len += n;
	return (int)n;
}

int keel_vm_info(struct keel *k, uint32_t id, struct keel_vm_detail *out)
{
	assert_int_equal(id, VM_ID);
	vm.info_calls++;
	if (vm.gone)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->info.id = id;
	strcpy(out->info.name, "g1");
	out->info.state = vm.state;
	vm.dead_seen |= vm.state == KEEL_VM_DEAD;
	out->end = vm.end;
	out->status = vm.status;
	if (vm.reason)
		snprintf(out->reason, sizeof(out->reason), "%s", vm.reason);
	return 0;
}

int keel_vm_lookup(struct keel *k, const char *name, uint32_t *id)
{
	if (strcmp(name, "g1") && strcmp(name, "4"))
		return -ENOENT;
	*id = VM_ID;
	return 0;
}

/* Pipes: in (what is typed), out (the guest's output), msg (keelctl's lines). */
static int in[2], out[2], msg[2];

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	vm.state = KEEL_VM_RUNNING;
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(msg), 0);
	vm.type_fd = in[1];
	return 0;
}

static int teardown(void **state)
{
	int fds[] = { in[0], in[1], out[0], out[1], msg[0], msg[1] };

	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return 0;
}

static void chunk(const void *p, size_t len)
{
	vm.chunk[vm.nr] = p;
	vm.len[vm.nr++] = len;
}

static int session(struct console_opts *o)
{
	*o = (struct console_opts){
		.name = "g1", .sock_fd = o->sock_fd, .msg_fd = msg[1], .poll_ms = 1, .stop = o->stop
	};
	return console_session(NULL, VM_ID, in[0], out[1], o);
}

/* What fd holds now (its writer closed): into buf, the count. */
static size_t drain(int *pair, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	close(pair[1]);
	pair[1] = -1;
	while (got < len && (n = read(pair[0], buf + got, len - got)) > 0)
		got += (size_t)n;
	return got;
}

static void assert_msgs(const char *want)
{
	char buf[1024];
	size_t n = drain(msg, buf, sizeof(buf) - 1);

	buf[n] = '\0';
	assert_string_equal(buf, want);
}

/* Every byte value, escapes and NULs, in chunks as Keel hands them: out unchanged; then Ctrl-]. */
static void test_passthrough(void **state)
{
	static char all[256], esc[] = "\033[2J\033[H\r\n\0\0x";
	struct console_opts o = { .sock_fd = -1 };
	char got[1024];
	size_t n;

	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	chunk("boot\n", 5);
	chunk(all, sizeof(all));
	chunk(esc, sizeof(esc) - 1);
	vm.type_text = "\x1d";
	vm.type_len = 1;
	assert_int_equal(session(&o), 0);
	assert_int_equal(o.end, CONSOLE_DETACHED);
	n = drain(out, got, sizeof(got));
	assert_int_equal(n, 5 + sizeof(all) + sizeof(esc) - 1);
	assert_memory_equal(got, "boot\n", 5);
	assert_memory_equal(got + 5, all, sizeof(all));
	assert_memory_equal(got + 5 + sizeof(all), esc, sizeof(esc) - 1);
	assert_int_equal(vm.input_len, 0);  /* Ctrl-] is not sent */
	assert_int_equal(vm.info_calls, 0); /* output flowed: read again at once, the VM not asked */
	assert_msgs("Connected to g1 (COM1); Ctrl-] detaches\nkeelctl: detached from g1\n");
}

/* Typed bytes reach COM1 in order, raw (CR, NUL, ESC), whatever Keel's queue takes at a time;
 * nothing after Ctrl-]. */
static void test_input(void **state)
{
	static const char typed[] = "ls -l\r\0\033[A\x03q\x1dnot this";
	struct console_opts o = { .sock_fd = -1 };

	vm.input_max = 3;
	vm.input_zeroes = 2;
	assert_int_equal(write(in[1], typed, sizeof(typed) - 1), (ssize_t)sizeof(typed) - 1);
	assert_int_equal(session(&o), 0);
	assert_int_equal(o.end, CONSOLE_DETACHED);
	assert_int_equal(vm.input_len, 12);
	assert_memory_equal(vm.input, "ls -l\r\0\033[A\x03q", 12);
	assert_msgs("Connected to g1 (COM1); Ctrl-] detaches\nkeelctl: detached from g1\n");
}

/* The VM dies: what it printed last is shown, then why; a clean exit is 0, a crash 1. */
static void test_vm_end(void **state)
{
	struct console_opts o = { .sock_fd = -1 };
	char got[64];
	size_t n;

	chunk("shutting down\n", 14);
	vm.state = KEEL_VM_DEAD;
	vm.end = KEEL_EV_EXITED;
	vm.last = "bye\n";
	assert_int_equal(session(&o), 0);
	assert_int_equal(o.end, CONSOLE_VM_ENDED);
	assert_int_equal(vm.reads_after_end, 1);
	n = drain(out, got, sizeof(got));
	assert_int_equal(n, 18);
	assert_memory_equal(got, "shutting down\nbye\n", 18);
	assert_msgs("Connected to g1 (COM1); Ctrl-] detaches\nkeelctl: g1 exited with status 0\n");
}

static void test_vm_crash(void **state)
{
	struct console_opts o = { .sock_fd = -1 };

	vm.state = KEEL_VM_DEAD;
	vm.end = KEEL_EV_CRASHED;
	vm.reason = "triple fault";
	assert_int_equal(session(&o), 1);
	assert_msgs("Connected to g1 (COM1); Ctrl-] detaches\nkeelctl: g1 crashed: triple fault\n");
}

static void test_vm_destroyed(void **state)
{
	struct console_opts o = { .sock_fd = -1 };

	vm.gone = 1;
	assert_int_equal(session(&o), 1);
	assert_int_equal(o.end, CONSOLE_VM_ENDED);
	assert_msgs("Connected to g1 (COM1); Ctrl-] detaches\nkeelctl: g1 was destroyed\n");
}

/* The end of the input detaches (status 0); a signal ends it with status 1. */
static void test_input_end_and_signal(void **state)
{
	static volatile sig_atomic_t stop = 1;
	struct console_opts o = { .sock_fd = -1 };

	close(in[1]);
	in[1] = -1;
	assert_int_equal(session(&o), 0);
	assert_int_equal(o.end, CONSOLE_INPUT_ENDED);
	o.stop = &stop;
	assert_int_equal(session(&o), 1);
	assert_int_equal(o.end, CONSOLE_SIGNAL);
}

/* --hvc: keel-dm's socket both ways, bytes unchanged; Ctrl-] detaches. */
static void test_hvc(void **state)
{
	static const char from_guest[] = "login: \0\033[1m\xff";
	struct console_opts o;
	int sv[2];
	char got[64];
	size_t n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], from_guest, sizeof(from_guest) - 1), (ssize_t)sizeof(from_guest) - 1);
	assert_int_equal(write(in[1], "root\r\x1dx", 7), 7);
	o.sock_fd = sv[0];
	o.stop = NULL;
	assert_int_equal(session(&o), 0);
	assert_int_equal(o.end, CONSOLE_DETACHED);
	n = drain(out, got, sizeof(got));
	assert_int_equal(n, sizeof(from_guest) - 1);
	assert_memory_equal(got, from_guest, n);
	close(sv[0]);
	n = (size_t)read(sv[1], got, sizeof(got));
	assert_int_equal(n, 5);
	assert_memory_equal(got, "root\r", 5);
	close(sv[1]);
	assert_int_equal(vm.input_len, 0); /* nothing went to COM1 */
	assert_msgs("Connected to g1 (hvc0); Ctrl-] detaches\nkeelctl: detached from g1\n");
}

/* keel-dm closes the socket: the VM ended (0 for a power-off), or keel-dm went while it lives (1). */
static void test_hvc_closed(void **state)
{
	struct console_opts o;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	o.sock_fd = sv[0];
	o.stop = NULL;
	assert_int_equal(session(&o), 1);
	assert_int_equal(o.end, CONSOLE_CLOSED);
	vm.state = KEEL_VM_DEAD;
	vm.end = KEEL_EV_POWEROFF;
	assert_int_equal(session(&o), 0);
	assert_int_equal(o.end, CONSOLE_VM_ENDED);
	close(sv[0]);
	assert_msgs("Connected to g1 (hvc0); Ctrl-] detaches\nkeelctl: keel-dm closed g1's virtio console\n"
		    "Connected to g1 (hvc0); Ctrl-] detaches\nkeelctl: g1 powered off\n");
}

static int command(const char *a, const char *b, const char *c)
{
	char *argv[] = { "keelctl", "console", (char *)a, (char *)b, (char *)c, NULL };
	int argc = 2 + !!a + !!b + !!c;

	return keelctl_console_command(NULL, argc, argv);
}

/* The command: usage, --hvc with no keel-dm, --hvc --once (the log), an unknown VM. */
static void test_command(void **state)
{
	char log[128];
	FILE *f;

	assert_int_equal(command(NULL, NULL, NULL), 2);
	assert_int_equal(command("--bogus", "g1", NULL), 2);
	assert_int_equal(command("g1", "g2", NULL), 2);
	assert_int_equal(command("--once", "--interactive", "g1"), 2);
	assert_int_equal(command("nosuch", NULL, NULL), 1);
	assert_non_null(mkdtemp(run_dir));
	assert_int_equal(command("--interactive", "--hvc", "g1"), 1); /* no socket: no keel-dm */
	assert_int_equal(command("--hvc", "--once", "g1"), 1);	      /* no log either */
	assert_int_equal(command("--hvc", "g1", NULL), 1);	      /* no terminal: the log */
	snprintf(log, sizeof(log), "%s/g1.hvc", run_dir);
	f = fopen(log, "w");
	assert_non_null(f);
	fputs("hvc output\n", f);
	fclose(f);
	assert_int_equal(command("--once", "--hvc", "4"), 0);
	unlink(log);
	chunk("x", 1);
	assert_int_equal(command("--once", "g1", NULL), 0);
	assert_int_equal(vm.next, 1); /* COM1 was read */
	rmdir(run_dir);
}

/* On a terminal (a pty here): raw mode during the session, the terminal as it was afterwards. */
static void test_terminal(void **state)
{
	struct termios before, after;
	int m = posix_openpt(O_RDWR | O_NOCTTY), s, saved = dup(STDIN_FILENO), saved_out = dup(STDOUT_FILENO);
	char got[64];

	if (m < 0) {
		close(saved);
		skip(); /* no /dev/ptmx here */
	}
	assert_true(saved >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	assert_true(s >= 0);
	assert_int_equal(tcgetattr(s, &before), 0);
	assert_true(before.c_lflag & ICANON);
	/* stdin alone on the terminal (the management VM's scripts): no session, COM1 printed */
	dup2(s, STDIN_FILENO);
	chunk("a", 1);
	assert_int_equal(command("g1", NULL, NULL), 0);
	assert_int_equal(vm.raw_seen, 0);
	assert_int_equal(vm.next, 1);
	/* both: a session */
	fflush(stdout);
	dup2(s, STDOUT_FILENO);
	chunk("prompt> ", 8);
	vm.type_fd = m; /* typed on the terminal once the prompt is out */
	vm.type_text = "ls\r\x1d";
	vm.type_len = 4;
	assert_int_equal(command("g1", NULL, NULL), 0);
	dup2(saved, STDIN_FILENO);
	dup2(saved_out, STDOUT_FILENO);
	close(saved);
	close(saved_out);
	assert_int_equal(read(m, got, sizeof(got)), 8); /* the guest's output on the terminal */
	assert_memory_equal(got, "prompt> ", 8);
	assert_int_equal(vm.raw_seen, 1);
	assert_int_equal(vm.input_len, 3);
	assert_memory_equal(vm.input, "ls\r", 3);
	assert_int_equal(tcgetattr(s, &after), 0);
	assert_int_equal(after.c_lflag, before.c_lflag);
	assert_int_equal(after.c_iflag, before.c_iflag);
	assert_int_equal(after.c_oflag, before.c_oflag);
	close(s);
	close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_passthrough, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_destroyed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_input_end_and_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hvc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hvc_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_terminal, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

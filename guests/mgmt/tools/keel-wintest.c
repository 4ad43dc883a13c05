// SPDX-License-Identifier: MIT
/*
 * keel-wintest NAME: the memory window against VM NAME running guests/tests/window_guest.c
 * (tests/guests/test_mgmt_window.py). Maps the VM's window, reads the pattern the guest wrote,
 * writes a reply the guest checks, waits for its answer; then revokes the window and checks
 * that an access gets SIGBUS, in this process and in a child that inherited the mapping, and
 * that a window mapped again at the same place is not reachable through the stale mapping.
 * Prints "wintest: ..." lines, FAIL lines for failed checks, and "wintest: PASS" at the end.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libkeel.h"

/* guests/tests/window_guest.c */
#define WIN_PATTERN	0x800000ul
#define WIN_WORDS	512
#define WIN_REPLY	(WIN_PATTERN + 0x1000)
#define WIN_ACK		(WIN_REPLY + 8)
#define WIN_REPLY_VALUE 0x796c7065724e4957ull
#define WIN_ACK_VALUE	0x6b63614b4e4957ull
#define WAIT_SECONDS	60

static int failures;
static sigjmp_buf bus_jump;
static volatile sig_atomic_t bus_seen;

#define FAIL(...)                                     \
	do {                                          \
		printf("wintest: FAIL " __VA_ARGS__); \
		putchar('\n');                        \
		failures++;                           \
	} while (0)

static void on_sigbus(int sig)
{
	(void)sig;
	bus_seen = 1;
	siglongjmp(bus_jump, 1);
}

static uint64_t word(unsigned i)
{
	return 0x57494e0000000000ull | (uint64_t)i << 16 | (uint16_t)~i;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* Waits until *p == v; false after WAIT_SECONDS. */
static int wait_for(volatile uint64_t *p, uint64_t v)
{
	double end = now() + WAIT_SECONDS;

	while (*p != v) {
		if (now() > end)
			return 0;
		usleep(1000);
	}
	return 1;
}

/* Reads *p, catching SIGBUS: 1 if the access got SIGBUS. */
static int access_faults(volatile uint64_t *p, uint64_t *val)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;

	bus_seen = 0;
	sigaction(SIGBUS, &sa, &old);
	if (!sigsetjmp(bus_jump, 1))
		*val = *p;
	sigaction(SIGBUS, &old, NULL);
	return bus_seen;
}

static int find_vms(struct keel *k, const char *name, uint32_t *id, uint32_t *mgmt)
{
	struct keel_vm_info vms[KEEL_VM_LIST_MAX];
	int n = keel_vm_list(k, vms, KEEL_VM_LIST_MAX), found = 0;

	for (int i = 0; i < n && i < KEEL_VM_LIST_MAX; i++) {
		if (!strcmp(vms[i].name, name))
			*id = vms[i].id, found |= 1;
		if (vms[i].flags & KEEL_VM_F_MGMT)
			*mgmt = vms[i].id, found |= 2;
	}
	return found == 3 ? 0 : n < 0 ? n : -ENOENT;
}

/* A child inherits the mapping and touches it after the parent revoked the window. */
static pid_t child_touching_later(volatile uint64_t *p, int *go)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char c;

		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(2);
		(void)*p; /* SIGBUS kills it here */
		_exit(0);
	}
	close(fds[0]);
	*go = fds[1];
	return pid;
}

int main(int argc, char **argv)
{
	struct keel *k;
	uint32_t id = 0, mgmt = 0;
	uint64_t size = 0, size2 = 0, val = 0;
	void *mem = NULL, *mem2 = NULL, *tmp;
	volatile uint64_t *w;
	unsigned bad = 0;
	int err, go = -1, status = 0;
	pid_t child;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: keel-wintest VM-NAME\n");
		return 2;
	}
	err = keel_open(NULL, &k);
	if (err) {
		FAIL("open /dev/keel: %s", strerror(-err));
		return 1;
	}
	err = find_vms(k, argv[1], &id, &mgmt);
	if (err) {
		FAIL("no VM %s or no management VM in the list: %s", argv[1], strerror(-err));
		return 1;
	}
	/* Refused: a VM that does not exist, the management VM itself. */
	if ((err = keel_win_map(k, 0xfffffff0u, &tmp, &size)) != -ENOENT)
		FAIL("window onto VM 0xfffffff0: %d, expected -ENOENT", err);
	if ((err = keel_win_map(k, mgmt, &tmp, &size)) != -EINVAL)
		FAIL("window onto the management VM: %d, expected -EINVAL", err);

	err = keel_win_map(k, id, &mem, &size);
	if (err) {
		FAIL("map the window of %s (id %u): %s", argv[1], id, strerror(-err));
		return 1;
	}
	printf("wintest: window of %s (id %u): %llu MiB at %p\n", argv[1], id, (unsigned long long)(size >> 20), mem);
	if ((err = keel_win_map(k, id, &tmp, &size2)) != -EEXIST)
		FAIL("a second window onto the same VM: %d, expected -EEXIST", err);
	w = mem;
	if (size < WIN_ACK + 8) {
		FAIL("window of %llu bytes: too small", (unsigned long long)size);
		return 1;
	}
	/* The guest fills the pattern as it starts: wait for its last word, then check them all. */
	if (!wait_for(&w[WIN_PATTERN / 8 + WIN_WORDS - 1], word(WIN_WORDS - 1)))
		FAIL("the pattern never appeared (last word %#llx)",
		     (unsigned long long)w[WIN_PATTERN / 8 + WIN_WORDS - 1]);
	for (unsigned i = 0; i < WIN_WORDS; i++)
		bad += w[WIN_PATTERN / 8 + i] != word(i);
	if (bad)
		FAIL("%u of %u pattern words differ (first: %#llx)", bad, WIN_WORDS,
		     (unsigned long long)w[WIN_PATTERN / 8]);
	else
		printf("wintest: pattern read through the window (%u words)\n", WIN_WORDS);
	w[WIN_REPLY / 8] = WIN_REPLY_VALUE;
	if (wait_for(&w[WIN_ACK / 8], WIN_ACK_VALUE))
		printf("wintest: the guest answered the reply written through the window\n");
	else
		FAIL("no answer from the guest (ack word %#llx)", (unsigned long long)w[WIN_ACK / 8]);

	/* Revoke, with the mapping still in place here and in a child. */
	child = child_touching_later(&w[WIN_PATTERN / 8], &go);
	if (child < 0)
		FAIL("fork: %s", strerror(errno));
	err = keel_win_unmap(k, id, NULL, 0);
	if (err)
		FAIL("revoke: %s", strerror(-err));
	if (access_faults(&w[WIN_PATTERN / 8], &val))
		printf("wintest: SIGBUS on an access after the revocation\n");
	else
		FAIL("read %#llx after the revocation, expected SIGBUS", (unsigned long long)val);
	if (child > 0) {
		if (write(go, "g", 1) != 1 || waitpid(child, &status, 0) != child)
			FAIL("child: %s", strerror(errno));
		else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS)
			printf("wintest: the child's inherited mapping got SIGBUS too\n");
		else
			FAIL("child status %#x, expected death by SIGBUS", status);
		close(go);
	}
	if ((err = keel_win_unmap(k, id, NULL, 0)) != -ENOENT)
		FAIL("revoking twice: %d, expected -ENOENT", err);

	/* Mapped again: the same slot of BAR2, the same RAM; the old mapping still reaches nothing. */
	err = keel_win_map(k, id, &mem2, &size2);
	if (err) {
		FAIL("map again: %s", strerror(-err));
	} else {
		if (((volatile uint64_t *)mem2)[WIN_PATTERN / 8] != word(0))
			FAIL("the new window reads %#llx",
			     (unsigned long long)((volatile uint64_t *)mem2)[WIN_PATTERN / 8]);
		if (access_faults(&w[WIN_PATTERN / 8], &val))
			printf("wintest: the stale mapping still gets SIGBUS with a new window in place\n");
		else
			FAIL("the stale mapping read %#llx from the new window", (unsigned long long)val);
		if ((err = keel_win_unmap(k, id, mem2, size2)))
			FAIL("unmap the new window: %s", strerror(-err));
	}
	munmap(mem, size);
	keel_close(k);
	printf("wintest: %s\n", failures ? "FAILED" : "PASS");
	return failures ? 1 : 0;
}

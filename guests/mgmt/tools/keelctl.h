/* SPDX-License-Identifier: MIT */
/* What keelctl's files share. */
#ifndef KEELCTL_H
#define KEELCTL_H

#include <signal.h>
#include <stdio.h>

#include "libkeel.h"

/* A string as JSON string content: quotes, backslashes and control characters escaped. */
void json_name(const char *s);
/* Status 2 (usage or config error) whose message is already printed: no usage text after it. */
#define KEELCTL_EXIT_SAID 0x102
/* The VM lifecycle's commands (keelctl_vm.c): the exit status (or KEELCTL_EXIT_SAID), or -1 if
 * argv[1] is none of them. */
int keelctl_vm_command(struct keel *k, int argc, char **argv);

/* keelctl console (keelctl_console.c). How a session ended: */
enum console_end {
	CONSOLE_DETACHED,    /* Ctrl-] */
	CONSOLE_INPUT_ENDED, /* end of file on the input */
	CONSOLE_VM_ENDED,    /* the VM is dead or gone */
	CONSOLE_CLOSED,	     /* keel-dm closed the socket and the VM lives on */
	CONSOLE_SIGNAL,	     /* *stop was set (SIGTERM, SIGHUP, SIGINT) */
	CONSOLE_ERROR,	     /* libkeel, a read or a write failed: err says why */
};
#define CONSOLE_ESCAPE	0x1d /* Ctrl-], as telnet and virsh */
#define CONSOLE_POLL_MS 50   /* how often COM1 is read: Keel offers no wait for console output */
struct console_opts {
	const char *name; /* for the messages */
	int sock_fd;	  /* --hvc: keel-dm's console socket; -1: COM1 through libkeel */
	int msg_fd;	  /* where "Connected to ..." and how it ended go; -1: nowhere */
	int crlf;	  /* the terminal is raw: messages end in "\r\n" */
	int poll_ms;
	volatile sig_atomic_t *stop; /* set by a signal handler: the session ends */
	/* out */
	enum console_end end;
	int err;
};
/* An interactive session on VM id: the guest's output to out_fd byte for byte, in_fd's bytes to
 * its input until Ctrl-] (not sent), in_fd's end, the VM's end or *stop. Prints the start line
 * and how it ended on msg_fd; returns the exit status (0 or 1, docs/mgmt.md). */
int console_session(struct keel *k, uint32_t id, int in_fd, int out_fd, struct console_opts *o);
int keelctl_console_command(struct keel *k, int argc, char **argv);

/* keelctl top (keelctl_top.c). One look at every VM, at t_ns (CLOCK_MONOTONIC). */
struct top_sample {
	uint64_t t_ns;
	uint32_t n;
	struct keel_vm_info vms[KEEL_VM_LIST_MAX];
};
/* A VM's line: rates over the interval, or cpu_pct < 0 when it has no earlier sample. */
struct top_row {
	const struct keel_vm_info *vm;
	double cpu_pct, exits_per_s;
};
/* Takes the sample (keel_vm_list): 0 or a negative errno. */
int top_sample(struct keel *k, struct top_sample *s, uint64_t t_ns);
/* cur's rows against prev (NULL: none), matched by id: returns how many (cur->n). */
uint32_t top_rows(const struct top_sample *prev, const struct top_sample *cur, struct top_row *rows);
/* The table: a summary line, the header and one line per row. */
void top_print(FILE *out, const struct top_row *rows, uint32_t n);
int keelctl_top_command(struct keel *k, int argc, char **argv);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * keel-dm: where the virtio console's bytes go (dm_console_sock.c). The guest's output is
 * appended to a log (stdout or --console-log) and copied to the client of a UNIX socket
 * (--console-socket PATH, `keelctl console --hvc`); what the client sends is the guest's input.
 * One client at a time: a second one is told so and closed.
 */
#ifndef DM_CONSOLE_SOCK_H
#define DM_CONSOLE_SOCK_H

#include <poll.h>
#include <stddef.h>

/* What the socket's clients hear when one is connected already. */
#define DM_CONSOLE_BUSY_MSG "keel-dm: the console has a client already\r\n"
#define DM_CONSOLE_PENDING  512 /* client bytes waiting for room in the device's input ring */

/* Takes up to len bytes of input for the guest; returns how many (virtio_console_input). */
typedef size_t (*dm_console_input_fn)(void *opaque, const void *buf, size_t len);

struct dm_console_sock {
	int log_fd;    /* every byte of output; -1: none */
	int listen_fd; /* -1: no socket */
	int client_fd; /* -1: no client */
	const char *path;
	dm_console_input_fn input;
	void *input_opaque;
	unsigned char pending[DM_CONSOLE_PENDING];
	size_t pending_len;
	unsigned long clients, refused, dropped; /* output bytes a slow client missed */
};

/* No socket yet: output to log_fd only. */
void dm_console_sock_init(struct dm_console_sock *s, int log_fd, dm_console_input_fn input, void *opaque);
/* Listens on path (a stale socket there is replaced; mode 0600): 0 or a negative errno. */
int dm_console_sock_listen(struct dm_console_sock *s, const char *path);
/* Closes the client and the socket and unlinks it. */
void dm_console_sock_close(struct dm_console_sock *s);
/* The guest's output (a virtio_output_fn, opaque = s): to the log, then to the client if it can
 * take it without blocking (else it misses those bytes: the guest never waits for a client). */
void dm_console_sock_output(void *opaque, const void *buf, size_t len);
/* The fds to wait on into p (2 at most); returns how many. */
int dm_console_sock_pollfds(struct dm_console_sock *s, struct pollfd *p);
/* After poll(): accepts or refuses a client, forwards its bytes, notices it left. p and n as
 * dm_console_sock_pollfds gave them. */
void dm_console_sock_handle(struct dm_console_sock *s, const struct pollfd *p, int n);
/* Polls keel_fd (POLLIN: I/O requests) and the socket's fds for at most timeout_ms and handles
 * the socket: the caller then serves the VM with keel_io_serve(..., 0). Returns poll's result. */
int dm_console_sock_wait(struct dm_console_sock *s, int keel_fd, int timeout_ms);

#endif

// SPDX-License-Identifier: MIT
/* keel-dm: the virtio console's log and socket (dm_console_sock.h). */
#define _GNU_SOURCE /* accept4 */
#include "dm_console_sock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

void dm_console_sock_init(struct dm_console_sock *s, int log_fd, dm_console_input_fn input, void *opaque)
{
	*s = (struct dm_console_sock){
		.log_fd = log_fd, .listen_fd = -1, .client_fd = -1, .input = input, .input_opaque = opaque
	};
}

int dm_console_sock_listen(struct dm_console_sock *s, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	mode_t umask_was;
	int fd, ret;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A socket left by a keel-dm that was killed: nobody listens there any more. */
	unlink(path);
	/* Mode 0600 from the start: whoever connects types into the guest's console. */
	umask_was = umask(0177);
	ret = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(umask_was);
	if (ret || listen(fd, 2)) {
		int err = -errno;

		close(fd);
		unlink(path);
		return err;
	}
	s->listen_fd = fd;
	s->path = path;
	return 0;
}

static void drop_client(struct dm_console_sock *s)
{
	if (s->client_fd < 0)
		return;
	close(s->client_fd);
	s->client_fd = -1;
	s->pending_len = 0;
}

void dm_console_sock_close(struct dm_console_sock *s)
{
	drop_client(s);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
		s->listen_fd = -1;
	}
}

/* 0, or -1 when fd takes no more without blocking or is gone. */
static int write_all(int fd, const void *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf = (const char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

void dm_console_sock_output(void *opaque, const void *buf, size_t len)
{
	struct dm_console_sock *s = opaque;

	if (s->log_fd >= 0)
		write_all(s->log_fd, buf, len); /* output lost rather than the guest stalled */
	if (s->client_fd >= 0 && write_all(s->client_fd, buf, len)) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			s->dropped += len; /* a part may have gone: the log has it all */
		else
			drop_client(s);
	}
}

int dm_console_sock_pollfds(struct dm_console_sock *s, struct pollfd *p)
{
	int n = 0;

	if (s->listen_fd >= 0)
		p[n++] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
	/* While the device's input ring is full, the client waits (its end is still noticed). */
	if (s->client_fd >= 0)
		p[n++] = (struct pollfd){ .fd = s->client_fd, .events = s->pending_len ? 0 : POLLIN };
	return n;
}

/* What waits goes to the guest, as much as the device takes. */
static void push_pending(struct dm_console_sock *s)
{
	size_t n;

	if (!s->pending_len)
		return;
	n = s->input(s->input_opaque, s->pending, s->pending_len);
	memmove(s->pending, s->pending + n, s->pending_len - n);
	s->pending_len -= n;
}

static void accept_client(struct dm_console_sock *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (s->client_fd >= 0) {
		if (write(fd, DM_CONSOLE_BUSY_MSG, sizeof(DM_CONSOLE_BUSY_MSG) - 1) < 0) {
			/* it left already */
		}
		close(fd);
		s->refused++;
		return;
	}
	s->client_fd = fd;
	s->clients++;
}

static void read_client(struct dm_console_sock *s)
{
	ssize_t n = read(s->client_fd, s->pending, sizeof(s->pending));

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		drop_client(s);
		return;
	}
	s->pending_len = (size_t)n;
	push_pending(s);
}

void dm_console_sock_handle(struct dm_console_sock *s, const struct pollfd *p, int n)
{
	push_pending(s);
	for (int i = 0; i < n; i++) {
		if (!p[i].revents)
			continue;
		if (p[i].fd == s->listen_fd)
			accept_client(s);
		else if (p[i].fd == s->client_fd && (p[i].revents & POLLIN) && !s->pending_len)
			read_client(s);
		else if (p[i].fd == s->client_fd && (p[i].revents & (POLLHUP | POLLERR | POLLNVAL)))
			drop_client(s);
	}
}

int dm_console_sock_wait(struct dm_console_sock *s, int keel_fd, int timeout_ms)
{
	struct pollfd p[3] = { { .fd = keel_fd, .events = POLLIN } };
	int n = 1 + dm_console_sock_pollfds(s, p + 1), ret;

	/* Bytes waiting for room: look again soon rather than in timeout_ms. */
	if (s->pending_len && timeout_ms > 50)
		timeout_ms = 50;
	ret = poll(p, (nfds_t)n, timeout_ms);
	if (ret < 0)
		return -errno;
	dm_console_sock_handle(s, p + 1, n - 1);
	return ret;
}

// SPDX-License-Identifier: MIT
/*
 * keelctl console [--once | --interactive] [--hvc] VM (docs/mgmt.md). Unless stdin and stdout are
 * both terminals (or with --once) it prints what COM1 output Keel holds and returns, as scripts
 * use it. On a terminal (or with --interactive) it is a session, as `virsh console`: stdin raw, the guest's output streamed, each byte
 * typed sent to the guest, Ctrl-] detaches. COM1 goes through libkeel, which has no wait for
 * output, so the session reads it every CONSOLE_POLL_MS; --hvc is the guest's virtio console,
 * through the UNIX socket of its keel-dm (DIR/NAME.hvc.sock, keelctl_dm.h), where it sleeps in poll().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "keelctl.h"
#include "keelctl_dm.h"

#define INPUT_RETRIES 200 /* x 10 ms: how long typed bytes wait for room in Keel's COM1 queue */

static void say(const struct console_opts *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (o->msg_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	n += snprintf(line + n, 3, "%s", o->crlf ? "\r\n" : "\n");
	if (write(o->msg_fd, line, (size_t)n) < 0) {
		/* nowhere else to say it */
	}
}

/* 0 or a negative errno. */
static int write_all(int fd, const void *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf = (const char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Typed bytes to the guest: 0 or a negative errno. Keel's COM1 queue may take fewer than asked. */
static int send_input(struct keel *k, uint32_t id, const struct console_opts *o, const char *buf, size_t len)
{
	int tries = 0;

	if (o->sock_fd >= 0)
		return write_all(o->sock_fd, buf, len);
	while (len) {
		uint32_t chunk = len < HC_CONSOLE_MAX ? (uint32_t)len : HC_CONSOLE_MAX;
		int n = keel_console_input(k, id, buf, chunk);

		if (n < 0)
			return n;
		if (n == 0) {
			if (++tries > INPUT_RETRIES)
				return 0; /* the guest reads nothing: the rest is dropped, as a UART's FIFO would */
			sleep_ms(10);
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* What came in on in_fd: forwarded up to Ctrl-]. 1 if the session ends (o->end set), else 0. */
static int typed(struct keel *k, uint32_t id, int in_fd, struct console_opts *o)
{
	char buf[1024], *esc;
	ssize_t n = read(in_fd, buf, sizeof(buf));
	int err;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		o->end = n ? CONSOLE_ERROR : CONSOLE_INPUT_ENDED;
		o->err = n ? -errno : 0;
		return 1;
	}
	esc = memchr(buf, CONSOLE_ESCAPE, (size_t)n);
	err = send_input(k, id, o, buf, esc ? (size_t)(esc - buf) : (size_t)n);
	if (err) {
		o->end = CONSOLE_ERROR;
		o->err = err;
		return 1;
	}
	if (esc) {
		o->end = CONSOLE_DETACHED;
		return 1;
	}
	return 0;
}

/* 1 when the VM is dead or gone, 0 when it lives, a negative errno when Keel cannot say. */
static int vm_ended(struct keel *k, uint32_t id)
{
	struct keel_vm_detail d;
	int err = keel_vm_info(k, id, &d);

	if (err == -ENOENT)
		return 1;
	return err ? err : d.info.state == KEEL_VM_DEAD;
}

/* COM1: Keel's console log, read every poll_ms. */
static void com1_session(struct keel *k, uint32_t id, int in_fd, int out_fd, struct console_opts *o)
{
	char buf[HC_CONSOLE_MAX];

	for (;;) {
		struct pollfd p = { .fd = in_fd, .events = POLLIN };
		int n = keel_console_read(k, id, buf, sizeof(buf)), ended, err;

		if (n == -ENOENT) { /* destroyed meanwhile */
			o->end = CONSOLE_VM_ENDED;
			return;
		}
		err = n < 0 ? n : n > 0 ? write_all(out_fd, buf, (size_t)n) : 0;
		if (err) {
			o->end = CONSOLE_ERROR;
			o->err = err;
			return;
		}
		if (o->stop && *o->stop) {
			o->end = CONSOLE_SIGNAL;
			return;
		}
		/* While output flows, it is read again at once (after a look at the input); the VM's
		 * state is asked only when there is none, so what a dead VM printed last is shown before
		 * why it ended. */
		if (n == 0 && (ended = vm_ended(k, id)) != 0) {
			o->end = ended > 0 ? CONSOLE_VM_ENDED : CONSOLE_ERROR;
			o->err = ended < 0 ? ended : 0;
			if (ended > 0 && (n = keel_console_read(k, id, buf, sizeof(buf))) > 0)
				write_all(out_fd, buf, (size_t)n);
			return;
		}
		if (poll(&p, 1, n > 0 ? 0 : o->poll_ms) > 0 && typed(k, id, in_fd, o))
			return;
	}
}

/* --hvc: keel-dm's socket carries both ways; it closes when keel-dm stops (the VM ended). */
static void hvc_session(struct keel *k, uint32_t id, int in_fd, int out_fd, struct console_opts *o)
{
	char buf[4096];

	for (;;) {
		struct pollfd p[2] = { { .fd = o->sock_fd, .events = POLLIN }, { .fd = in_fd, .events = POLLIN } };
		ssize_t n;
		int err, ended;

		if (o->stop && *o->stop) {
			o->end = CONSOLE_SIGNAL;
			return;
		}
		if (poll(p, 2, -1) < 0)
			continue; /* EINTR: *stop says */
		if (p[0].revents) {
			n = read(o->sock_fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				ended = vm_ended(k, id);
				o->end = ended > 0 ? CONSOLE_VM_ENDED : ended == 0 ? CONSOLE_CLOSED : CONSOLE_ERROR;
				o->err = ended < 0 ? ended : 0;
				return;
			}
			err = write_all(out_fd, buf, (size_t)n);
			if (err) {
				o->end = CONSOLE_ERROR;
				o->err = err;
				return;
			}
			continue; /* output first, as for COM1 */
		}
		if (p[1].revents && typed(k, id, in_fd, o))
			return;
	}
}

/* How the VM ended, said, and the exit status: 0 for an end the guest chose cleanly (exit status
 * 0, power-off, reset), 1 for a crash, a non-zero status or a destroy. */
static int said_vm_end(struct keel *k, uint32_t id, const struct console_opts *o)
{
	static const char *const ends[] = { "ended", "exited", "powered off", "reset", "crashed", "destroyed" };
	struct keel_vm_detail d;
	char reason[sizeof(d.reason) + 1];

	if (keel_vm_info(k, id, &d)) {
		say(o, "keelctl: %s was destroyed", o->name);
		return 1;
	}
	memcpy(reason, d.reason, sizeof(d.reason));
	reason[sizeof(d.reason)] = '\0';
	if (d.end == KEEL_EV_EXITED)
		say(o, "keelctl: %s exited with status %u", o->name, d.status);
	else
		say(o, "keelctl: %s %s%s%s", o->name, d.end < 6 ? ends[d.end] : "ended", reason[0] ? ": " : "", reason);
	return d.end == KEEL_EV_POWEROFF || d.end == KEEL_EV_RESET || (d.end == KEEL_EV_EXITED && !d.status) ? 0 : 1;
}

int console_session(struct keel *k, uint32_t id, int in_fd, int out_fd, struct console_opts *o)
{
	o->end = CONSOLE_ERROR;
	o->err = 0;
	say(o, "Connected to %s (%s); Ctrl-] detaches", o->name, o->sock_fd >= 0 ? "hvc0" : "COM1");
	if (o->sock_fd >= 0)
		hvc_session(k, id, in_fd, out_fd, o);
	else
		com1_session(k, id, in_fd, out_fd, o);
	switch (o->end) {
	case CONSOLE_DETACHED:
		say(o, "keelctl: detached from %s", o->name);
		return 0;
	case CONSOLE_INPUT_ENDED:
		say(o, "keelctl: end of input: detached from %s", o->name);
		return 0;
	case CONSOLE_VM_ENDED:
		return said_vm_end(k, id, o);
	case CONSOLE_CLOSED:
		say(o, "keelctl: keel-dm closed %s's virtio console", o->name);
		return 1;
	case CONSOLE_SIGNAL:
		say(o, "keelctl: signal: detached from %s", o->name);
		return 1;
	default:
		say(o, "keelctl: console %s: %s", o->name, strerror(o->err ? -o->err : EIO));
		return 1;
	}
}

/* --once: what Keel holds of COM1 (and takes it); with --hvc, the virtio console's log. */
static int once(struct keel *k, uint32_t id, const char *name, int hvc)
{
	char buf[HC_CONSOLE_MAX], path[KEELCFG_PATH_MAX];
	int n, fd;

	if (!hvc) {
		while ((n = keel_console_read(k, id, buf, sizeof(buf))) > 0)
			write_all(STDOUT_FILENO, buf, (size_t)n);
		if (n < 0)
			fprintf(stderr, "keelctl: console %s: %s\n", name, strerror(-n));
		return n < 0;
	}
	snprintf(path, sizeof(path), "%s/%s.hvc", keelctl_run_dir(), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "keelctl: %s has no virtio console (no keel-dm): %s: %s\n", name, path,
			strerror(errno));
		return 1;
	}
	while ((n = (int)read(fd, buf, sizeof(buf))) > 0)
		write_all(STDOUT_FILENO, buf, (size_t)n);
	close(fd);
	return 0;
}

/* keel-dm's console socket for VM name: the fd, or -1 (said why). */
static int hvc_connect(const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, n = snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s" KEELCTL_HVC_SOCK_SUFFIX, keelctl_run_dir(), name);

	if (n < 0 || (size_t)n >= sizeof(a.sun_path)) {
		fprintf(stderr, "keelctl: console %s: socket path too long\n", name);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return fd;
	if (errno == ENOENT || errno == ECONNREFUSED)
		fprintf(stderr, "keelctl: %s has no virtio console (no keel-dm)\n", name);
	else
		fprintf(stderr, "keelctl: console %s: %s: %s\n", name, a.sun_path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* console [--once | --interactive] [--hvc] VM: the exit status, 2 for usage. */
int keelctl_console_command(struct keel *k, int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal }, old[3];
	static const int sigs[3] = { SIGTERM, SIGHUP, SIGINT };
	struct console_opts o = { .sock_fd = -1, .msg_fd = STDERR_FILENO, .poll_ms = CONSOLE_POLL_MS };
	const char *vm = NULL;
	int hvc = 0, mode = 0; /* 1 --once, 2 --interactive */
	struct keel_vm_detail d;
	char name[KEEL_VM_NAME_MAX];
	struct termios saved, raw;
	uint32_t id;
	int err, ret, is_tty;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--hvc"))
			hvc = 1;
		else if (!strcmp(argv[i], "--once") && !mode)
			mode = 1;
		else if (!strcmp(argv[i], "--interactive") && !mode)
			mode = 2;
		else if (argv[i][0] != '-' && !vm)
			vm = argv[i];
		else
			return 2;
	}
	if (!vm)
		return 2;
	err = keel_vm_lookup(k, vm, &id);
	if (!err)
		err = keel_vm_info(k, id, &d);
	if (err) {
		fprintf(stderr, "keelctl: console %s: %s\n", vm, strerror(-err));
		return 1;
	}
	memcpy(name, d.info.name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	/* Both ends: the management VM's test scripts run with the serial console as stdin and
	 * their output in a file or a pipe, and must get --once's behaviour. */
	is_tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	if (mode == 1 || (!mode && !is_tty))
		return once(k, id, name, hvc);
	if (hvc && (o.sock_fd = hvc_connect(name)) < 0)
		return 1;
	o.name = name;
	o.stop = &stop_signal;
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]); /* no SA_RESTART: poll() returns and the session looks */
	if (is_tty && !tcgetattr(STDIN_FILENO, &saved)) {
		raw = saved;
		cfmakeraw(&raw);
		if (!tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw))
			o.crlf = 1;
	}
	ret = console_session(k, id, STDIN_FILENO, STDOUT_FILENO, &o);
	if (o.crlf)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (o.sock_fd >= 0)
		close(o.sock_fd);
	return ret;
}

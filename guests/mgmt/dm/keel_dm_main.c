// SPDX-License-Identifier: MIT
/*
 * keel-dm: the device model of one VM, in the management VM (docs/virtio.md). It attaches to the
 * VM through libkeel, gives it virtio PCI functions (dm_loop.c) and serves them until the VM
 * ends or keel-dm is told to stop (SIGTERM, SIGINT).
 *
 * It must be attached before the VM starts: the guest enumerates PCI once, at boot, and a
 * function nobody has claimed yet reads as absent (all-ones). Without --foreground, keel-dm goes
 * to the background once its functions are claimed and the parent exits 0 only then, so
 * `keel-dm --vm NAME ... && keelctl start NAME` is the way to start a VM with devices.
 *
 * Exit status: 0 the VM ended or a signal stopped keel-dm; 1 a failure of Keel or libkeel;
 * 2 bad arguments, a disk that cannot be opened or a TAP that cannot be set up (nothing was
 * attached).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm_console_sock.h"
#include "dm_loop.h"
#include "libkeel.h"
#include "tap.h"
#include "virtio_devs.h"

/* keel_io_serve(-1) would sleep for ever once the VM ends: Keel drops the request page
 * silently, and the event that says so (POLLPRI) is global and level-triggered, so a device
 * model cannot wait for it without spinning or taking events meant for the toolstack. keel-dm
 * sleeps in poll() at most this long, then asks whether its VM is still there. */
#define DM_IDLE_MS 1000

#define USAGE                                                                                        \
	"usage: keel-dm --vm ID|NAME [--disk PATH[,ro][,serial=S]]... [--rng] [--console]\n"         \
	"               [--console-log PATH] [--console-socket PATH]\n"                              \
	"               [--net [mac=MAC][,bridge=BR][,tap=NAME]]... [--foreground | --ready-fd N]\n" \
	"  Serves virtio devices to one VM: raw disk images (virtio-blk, read-write unless ro),\n"   \
	"  entropy (virtio-rng), a console (virtio-console, output to stdout or --console-log),\n"   \
	"  network cards (virtio-net on TAP NAME, default kd<id>.<n>, in bridge BR if given).\n"     \
	"  --console-socket: the console's output also to that UNIX socket's one client, whose\n"    \
	"  bytes are its input.\n"                                                                   \
	"  Start it before the VM (keelctl create, keel-dm, keelctl start): the guest looks for\n"   \
	"  PCI functions at boot. Without --foreground it goes to the background once it serves;\n"  \
	"  --ready-fd N: in the foreground, one byte on fd N once it serves (0) or fails (not 0).\n" \
	"  Stopping keel-dm (SIGTERM) ends the VM: its devices are gone.\n"

struct disk_arg {
	char *path;
	bool ro;
	const char *serial;
	int fd;
};

struct opts {
	const char *vm;
	struct disk_arg disk[DM_MAX_DEVS];
	unsigned int nr_disks;
	struct dm_net_arg net[DM_NET_MAX];
	unsigned int nr_nets;
	bool rng, console, foreground;
	int ready_fd; /* --ready-fd: one byte there when it serves (0) or fails; else -1 */
	const char *console_log;
	const char *console_socket; /* --console-socket: keelctl console --hvc's way in */
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* keel-dm maps no file: a SIGBUS is an access to the VM's window after Keel revoked it, which it
 * does when the VM is destroyed (keel_win_unmap's contract), possibly in the middle of a request.
 * The VM is gone, so keel-dm is done; closing /dev/keel at exit detaches what is left. */
static void on_sigbus(int sig)
{
	static const char msg[] = "keel-dm: the VM's memory was revoked (the VM was destroyed): exiting\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to do */
	}
	_exit(0);
}

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "keel-dm: %s%s%s\n%s", what, arg ? ": " : "", arg ? arg : "", USAGE);
	return 2;
}

/* PATH[,ro][,rw][,serial=S]: a path with a comma cannot be named (xl's positional disk specs
 * have the same limit). */
static int parse_disk(struct disk_arg *d, char *spec)
{
	char *opt = strchr(spec, ',');

	*d = (struct disk_arg){ .path = spec, .fd = -1 };
	while (opt) {
		char *next = strchr(opt + 1, ',');

		*opt++ = '\0';
		if (next)
			*next = '\0';
		if (!strcmp(opt, "ro"))
			d->ro = true;
		else if (!strcmp(opt, "rw"))
			d->ro = false;
		else if (!strncmp(opt, "serial=", 7) && strlen(opt + 7) <= VIRTIO_BLK_ID_BYTES)
			d->serial = opt + 7;
		else
			return usage_error("bad disk option (ro, rw, serial= up to 20 characters)", opt);
		opt = next;
	}
	return *d->path ? 0 : usage_error("--disk needs a path", NULL);
}

static int parse(int argc, char **argv, struct opts *o)
{
	o->ready_fd = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;

		if (!strcmp(a, "--vm") && more) {
			o->vm = argv[++i];
		} else if (!strcmp(a, "--disk") && more) {
			int ret;

			if (o->nr_disks == DM_MAX_DEVS)
				return usage_error("too many disks", NULL);
			ret = parse_disk(&o->disk[o->nr_disks], argv[++i]);
			if (ret)
				return ret;
			o->nr_disks++;
		} else if (!strcmp(a, "--net")) {
			const char *bad = NULL;
			/* its options may all be left out: `--net` alone is a card with defaults */
			char *spec = more && argv[i + 1][0] != '-' ? argv[++i] : "";

			if (o->nr_nets == DM_NET_MAX)
				return usage_error("too many network cards (4 at most)", NULL);
			if (dm_net_parse(&o->net[o->nr_nets++], spec, &bad))
				return usage_error(
				    "bad --net option (mac=XX:XX:XX:XX:XX:XX unicast, bridge=, tap= up to 15 "
				    "characters)",
				    bad);
		} else if (!strcmp(a, "--rng")) {
			o->rng = true;
		} else if (!strcmp(a, "--console")) {
			o->console = true;
		} else if (!strcmp(a, "--console-log") && more) {
			o->console_log = argv[++i];
			o->console = true;
		} else if (!strcmp(a, "--console-socket") && more) {
			o->console_socket = argv[++i];
			o->console = true;
		} else if (!strcmp(a, "--foreground")) {
			o->foreground = true;
		} else if (!strcmp(a, "--ready-fd") && more) {
			char *end;
			long fd = strtol(argv[++i], &end, 10);

			if (*end || end == argv[i] || fd < 3 || fd > 1023)
				return usage_error("bad --ready-fd (3..1023)", argv[i]);
			o->ready_fd = (int)fd;
			o->foreground = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(USAGE, stdout);
			exit(0);
		} else {
			return usage_error("unknown or incomplete option", a);
		}
	}
	if (!o->vm)
		return usage_error("--vm is required", NULL);
	if (o->nr_disks + o->nr_nets + o->rng + o->console == 0)
		return usage_error("no device to serve (--disk, --net, --rng, --console)", NULL);
	if (o->nr_disks + o->nr_nets + o->rng + o->console > DM_MAX_DEVS)
		return usage_error("too many devices (8 at most)", NULL);
	return 0;
}

/* Disks are opened before anything is attached: a missing image or one that cannot be opened
 * in the mode asked must not leave a VM with a device model that fails later. */
static int open_disks(struct opts *o)
{
	for (unsigned int i = 0; i < o->nr_disks; i++) {
		struct disk_arg *d = &o->disk[i];
		struct stat st;

		d->fd = open(d->path, (d->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (d->fd < 0) {
			fprintf(stderr, "keel-dm: disk %s: cannot open it %s: %s\n", d->path,
				d->ro ? "read-only" : "read-write", strerror(errno));
			return 2;
		}
		if (fstat(d->fd, &st) || !S_ISREG(st.st_mode)) {
			fprintf(stderr, "keel-dm: disk %s: not a regular file (raw images only)\n", d->path);
			return 2;
		}
		if (st.st_size % VIRTIO_BLK_SECTOR)
			fprintf(stderr, "keel-dm: disk %s: %lld bytes, not whole sectors: the last %lld are not seen\n",
				d->path, (long long)st.st_size, (long long)(st.st_size % VIRTIO_BLK_SECTOR));
	}
	return 0;
}

/* The console's input from its socket's client. */
static size_t console_in(void *opaque, const void *buf, size_t len)
{
	return virtio_console_input(opaque, buf, len);
}

/* libkeel behind dm_loop's ops. */
static int op_claim(void *opaque, const struct keel_claim *c)
{
	return keel_io_claim(opaque, c);
}

static int op_unclaim(void *opaque, uint32_t number)
{
	return keel_io_unclaim(opaque, number);
}

static int op_irq(void *opaque, const struct keel_irq *irqs, uint32_t n)
{
	return keel_io_irq(opaque, irqs, n);
}

static const struct dm_ops keel_ops = { op_claim, op_unclaim, op_irq };

static bool vm_gone(struct keel *k, uint32_t id)
{
	struct keel_vm_detail det;
	int ret = keel_vm_info(k, id, &det);

	return ret == -ENOENT || (!ret && det.info.state == KEEL_VM_DEAD);
}

/* The TAPs, once the VM's id and name are known (the default TAP name and MAC come from them),
 * before anything is attached. */
static int open_taps(struct opts *o, uint32_t id, const char *vm_name)
{
	for (unsigned int i = 0; i < o->nr_nets; i++) {
		struct dm_net_arg *a = &o->net[i];
		const char *step = "";

		if (!a->tap[0])
			snprintf(a->tap, sizeof(a->tap), DM_TAP_PREFIX "%u.%u", id, i);
		if (!a->has_mac)
			virtio_net_mac_from_name(vm_name, i, a->mac);
		a->fd = dm_tap_open(a->tap, a->bridge, &a->offloads, &step);
		if (a->fd < 0) {
			fprintf(stderr, "keel-dm: TAP %s%s%s: %s: %s\n", a->tap, a->bridge[0] ? " in bridge " : "",
				a->bridge, step, strerror(-a->fd));
			return 2;
		}
	}
	return 0;
}

/* Sleeps until /dev/keel (requests, doorbells) or a TAP that can take a packet is readable, or
 * timeout_ms: how many are, 0 (timeout) or -errno. */
/* pfd: /dev/keel, the TAPs, then the console socket's fds (*nc of them, 2 at most). */
static int wait_work(struct keel *k, struct virtio_net *net, unsigned int nr_nets, struct dm_console_sock *cs,
		     struct pollfd *pfd, int *nc, int timeout_ms)
{
	int ret;

	pfd[0] = (struct pollfd){ .fd = keel_fd(k), .events = POLLIN };
	for (unsigned int i = 0; i < nr_nets; i++) /* a fd of -1 is skipped: a packet waits */
		pfd[1 + i] = (struct pollfd){ .fd = virtio_net_rx_ready(&net[i]) ? net[i].fd : -1, .events = POLLIN };
	*nc = cs->listen_fd >= 0 ? dm_console_sock_pollfds(cs, &pfd[1 + nr_nets]) : 0;
	ret = poll(pfd, 1 + nr_nets + (unsigned int)*nc, timeout_ms);
	return ret < 0 ? (errno == EINTR ? 0 : -errno) : ret;
}

/* The background: the parent waits for the child's word (one byte, its exit status) that it
 * serves, so that whoever started keel-dm can start the VM next. */
static int daemonize(int *ready_fd)
{
	int p[2];
	pid_t pid;
	unsigned char st = 1;

	if (pipe(p))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &st, 1) != 1)
			st = 1; /* the child ended before it served */
		exit(st);
	}
	close(p[0]);
	setsid();
	*ready_fd = p[1];
	return 0;
}

static void tell_parent(int *ready_fd, unsigned char status)
{
	if (*ready_fd < 0)
		return;
	if (write(*ready_fd, &status, 1) != 1)
		fprintf(stderr, "keel-dm: cannot tell the parent: %s\n", strerror(errno));
	close(*ready_fd);
	*ready_fd = -1;
}

static int fail(int *ready_fd, const char *what, int err)
{
	fprintf(stderr, "keel-dm: %s: %s\n", what, strerror(err < 0 ? -err : err));
	tell_parent(ready_fd, 1);
	return 1;
}

int main(int argc, char **argv)
{
	static struct opts o;
	static struct dm_loop loop;
	static struct virtio_blk blk[DM_MAX_DEVS];
	static struct virtio_rng rng;
	static struct virtio_console con;
	static struct virtio_net net[DM_NET_MAX];
	static struct guest_mem mem;
	struct pollfd pfd[1 + DM_NET_MAX + 2];
	static struct dm_console_sock csock;
	struct sigaction sa = { .sa_handler = on_signal };
	struct keel_vm_detail det;
	struct keel_io io;
	struct keel *k;
	char line[512];
	size_t used;
	void *ram;
	uint64_t ram_size;
	uint32_t id;
	int ret, ready_fd = -1, out_fd = STDOUT_FILENO;
	const char *why = "its VM ended";

	ret = parse(argc, argv, &o);
	if (ret)
		return ret;
	ret = open_disks(&o);
	if (ret)
		return ret;
	if (o.console_log) {
		out_fd = open(o.console_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (out_fd < 0) {
			fprintf(stderr, "keel-dm: console log %s: %s\n", o.console_log, strerror(errno));
			return 2;
		}
	}
	dm_console_sock_init(&csock, out_fd, console_in, &con);
	ready_fd = o.ready_fd;
	if (!o.foreground && (ret = daemonize(&ready_fd)))
		return fail(&ready_fd, "cannot go to the background", ret);
	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: poll() returns and the loop looks */
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGBUS, on_sigbus);

	ret = keel_open(NULL, &k);
	if (ret)
		return fail(&ready_fd, "cannot open " KEEL_DEVICE " (is keel.ko loaded?)", ret);
	ret = keel_vm_lookup(k, o.vm, &id);
	if (ret) {
		fprintf(stderr, "keel-dm: no VM %s\n", o.vm);
		tell_parent(&ready_fd, 2);
		return 2;
	}
	ret = keel_vm_info(k, id, &det);
	if (ret)
		return fail(&ready_fd, "VM info", ret);
	if (det.info.state != KEEL_VM_CREATED)
		fprintf(stderr,
			"keel-dm: warning: VM %u (%s) is %s: a guest that has already booted sees the functions only "
			"after a PCI rescan\n",
			id, det.info.name, keel_vm_state_name(det.info.state));
	ret = open_taps(&o, id, det.info.name);
	if (ret) {
		tell_parent(&ready_fd, 2);
		return ret;
	}
	ret = keel_win_map(k, id, &ram, &ram_size);
	if (ret)
		return fail(&ready_fd, "cannot map the VM's memory", ret);
	guest_mem_init(&mem, ram, ram_size);
	ret = keel_io_attach(k, id, &io);
	if (ret)
		return fail(&ready_fd, "cannot attach to the VM", ret);

	dm_loop_init(&loop, &keel_ops, &io);
	used = (size_t)snprintf(line, sizeof(line), "keel-dm: serving VM %u (%s):", id, det.info.name);
	for (unsigned int i = 0; i < o.nr_disks; i++) {
		ret = virtio_blk_init(&blk[i], &mem, dm_loop_next_irq(&loop), o.disk[i].fd, o.disk[i].ro,
				      o.disk[i].serial);
		ret = ret ?: dm_loop_add(&loop, &blk[i].vp);
		if (ret)
			return fail(&ready_fd, o.disk[i].path, ret);
		used += (size_t)snprintf(line + used, sizeof(line) - used, " 00:%02x.0 blk %s (%s),",
					 loop.dev[loop.nr_devs - 1].slot, o.disk[i].path, o.disk[i].ro ? "ro" : "rw");
		used = used < sizeof(line) ? used : sizeof(line) - 1;
	}
	if (o.rng) {
		virtio_rng_init(&rng, &mem, dm_loop_next_irq(&loop), virtio_rng_getrandom, NULL);
		ret = dm_loop_add(&loop, &rng.vp);
		if (ret)
			return fail(&ready_fd, "virtio-rng", ret);
		used += (size_t)snprintf(line + used, sizeof(line) - used, " 00:%02x.0 rng,",
					 loop.dev[loop.nr_devs - 1].slot);
		used = used < sizeof(line) ? used : sizeof(line) - 1;
	}
	if (o.console) {
		if (o.console_socket && (ret = dm_console_sock_listen(&csock, o.console_socket)))
			return fail(&ready_fd, o.console_socket, ret);
		virtio_console_init(&con, &mem, dm_loop_next_irq(&loop), dm_console_sock_output, &csock);
		ret = dm_loop_add(&loop, &con.vp);
		if (ret)
			return fail(&ready_fd, "virtio-console", ret);
		used += (size_t)snprintf(line + used, sizeof(line) - used, " 00:%02x.0 console (%s%s%s),",
					 loop.dev[loop.nr_devs - 1].slot, o.console_log ? o.console_log : "stdout",
					 o.console_socket ? ", socket " : "", o.console_socket ? o.console_socket : "");
		used = used < sizeof(line) ? used : sizeof(line) - 1;
	}
	for (unsigned int i = 0; i < o.nr_nets; i++) {
		const uint8_t *m = o.net[i].mac;

		virtio_net_init(&net[i], &mem, dm_loop_next_irq(&loop), o.net[i].fd, m,
				o.net[i].offloads ? dm_tap_set_offload : NULL, &o.net[i].fd);
		ret = dm_loop_add(&loop, &net[i].vp);
		if (ret)
			return fail(&ready_fd, "virtio-net", ret);
		used += (size_t)snprintf(line + used, sizeof(line) - used,
					 " 00:%02x.0 net %02x:%02x:%02x:%02x:%02x:%02x on %s%s%s,",
					 loop.dev[loop.nr_devs - 1].slot, m[0], m[1], m[2], m[3], m[4], m[5],
					 o.net[i].tap, o.net[i].bridge[0] ? " in " : "", o.net[i].bridge);
		used = used < sizeof(line) ? used : sizeof(line) - 1;
	}
	line[used - 1] = '\0'; /* the last comma */
	fprintf(stderr, "%s\n", line);
	tell_parent(&ready_fd, 0);

	for (;;) {
		/* keel_io_serve polls /dev/keel only: keel-dm polls it with the TAPs and the console
		 * socket, then takes the requests and doorbells without waiting, then the packets. */
		int nc = 0, woke = wait_work(k, net, o.nr_nets, &csock, pfd, &nc, DM_IDLE_MS);

		if (woke > 0 && nc)
			dm_console_sock_handle(&csock, &pfd[1 + o.nr_nets], nc);
		ret = woke < 0 ? woke : keel_io_serve(&io, dm_loop_request, dm_loop_doorbell, &loop, 0);
		for (unsigned int i = 0; ret >= 0 && woke > 0 && i < o.nr_nets; i++) {
			if (pfd[1 + i].revents & POLLIN) {
				virtio_net_rx(&net[i]);
			} else if (pfd[1 + i].revents) { /* the TAP was deleted: poll would spin */
				fprintf(stderr, "keel-dm: TAP %s is gone: its card drops every packet\n", o.net[i].tap);
				net[i].fd = -1;
			}
		}
		dm_loop_flush(&loop);
		if (stop_signal) {
			why = stop_signal == SIGINT ? "SIGINT" : "SIGTERM";
			break;
		}
		if (ret < 0 || loop.error) {
			int err = ret < 0 ? ret : loop.error;

			/* -ENOENT: Keel no longer has the VM served by us (it ended). */
			if (err != -ENOENT) {
				fprintf(stderr, "keel-dm: serving VM %u: %s\n", id, strerror(-err));
				ret = 1;
				goto out;
			}
			break;
		}
		if (woke == 0 && ret == 0 && vm_gone(k, id))
			break;
	}
	ret = 0;
out:
	fprintf(stderr,
		"keel-dm: VM %u (%s): stopping (%s); %lu requests (%lu refused), %lu doorbells, %lu interrupts\n", id,
		det.info.name, why, loop.requests, loop.bad_requests, loop.doorbells, loop.irqs_sent);
	/* Detaching ends the VM if it still runs (its devices are gone); then the window. */
	dm_console_sock_close(&csock);
	keel_io_detach(&io);
	keel_win_unmap(k, id, ram, ram_size);
	keel_close(k);
	for (unsigned int i = 0; i < o.nr_disks; i++)
		close(o.disk[i].fd);
	for (unsigned int i = 0; i < o.nr_nets; i++)
		close(o.net[i].fd);
	return ret;
}

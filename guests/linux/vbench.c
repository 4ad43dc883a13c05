/* SPDX-License-Identifier: MIT */
/*
 * vbench: the virtio benchmarks of issue 15, run inside a Linux guest (keelbench= in
 * guests/linux/init; tests/bench/bench_virtio.py drives it through guests/mgmt/tests/vbench.sh).
 *
 * Under QEMU's -icount shift=0,sleep=off the TSC advances one tick per instruction the emulated
 * machine runs, whichever VM runs it, so `lfence; rdtsc` around a request counts every instruction
 * spent on it: the guest's driver, Keel, the management VM and keel-dm (the method of
 * ../shared/platform-notes.md, "Yardsticks for device-model performance").
 *
 *   vbench [-w] blk DEVICE          an empty phase (the measuring method's own exits), then 4 KiB
 *                                   random O_DIRECT reads at queue depth 1 (pread, median per
 *                                   request), at depth 32 (Linux AIO, 32 per io_submit, mean per
 *                                   request), sequential 1 MiB O_DIRECT reads (per MiB)
 *   vbench server PORT              two TCP connections, then exit: a 1-byte echo (TCP_NODELAY),
 *                                   then a sink that answers one byte at the sender's EOF
 *   vbench [-w] client ADDR PORT    1-byte TCP request/response round trips (median), then 16 MiB
 *                                   sent in 64 KiB writes until the sink's answer (per MiB)
 *
 * With -w each phase first prints "keel-bench: ready PHASE" and waits for a line on stdin, so
 * that whoever drives it (vbench.sh, through keelctl input) can read the VMs' exit counters just
 * before the phase and just after its "keel-bench: PHASE ..." result line. Each result line
 * names the requests the phase issued (warm-up included), for exits per request.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BLK	     4096u
#define QD1_WARM     64
#define QD1_N	     1001
#define QD32	     32
#define QD32_WARM    4
#define QD32_BATCH   64
#define SEQ_CHUNK    (1u << 20)
#define NET_WARM     100
#define NET_N	     1001
#define STREAM_MIB   16
#define STREAM_CHUNK 65536
#define MAX_SAMPLES  1001

static int wait_for_go;

static uint64_t tsc(void)
{
	uint32_t lo, hi;

	/* lfence: the earlier instructions have completed before the TSC is read (AMD APM vol 3, RDTSC). */
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

static void __attribute__((noreturn)) die(const char *what)
{
	printf("keel-bench: FAIL %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

/* "ready PHASE", then a line on stdin (only with -w). */
static void ready(const char *phase)
{
	char line[64];

	if (!wait_for_go)
		return;
	printf("keel-bench: ready %s\n", phase);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin)) {
		printf("keel-bench: FAIL %s: no go on stdin\n", phase);
		exit(1);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

/* xorshift64: the same offsets every run. */
static uint64_t rng = 0x6b65656c62656e63ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static off_t rand_block(uint64_t blocks)
{
	return (off_t)(next_rand() % blocks * BLK);
}

static long io_setup(unsigned nr, aio_context_t *ctx)
{
	return syscall(SYS_io_setup, nr, ctx);
}

static long io_submit(aio_context_t ctx, long n, struct iocb **v)
{
	return syscall(SYS_io_submit, ctx, n, v);
}

static long io_getevents(aio_context_t ctx, long min, long max, struct io_event *ev)
{
	return syscall(SYS_io_getevents, ctx, min, max, ev, NULL);
}

static uint64_t samples[MAX_SAMPLES];

/* One phase's result line from samples[0..n): the median and the mean per request, of n
 * measured after `warm` unmeasured ones. */
static void report_samples(const char *phase, int n, int warm)
{
	uint64_t sum = 0;

	for (int i = 0; i < n; i++)
		sum += samples[i];
	printf("keel-bench: %s median %llu mean %llu samples %d requests %d\n", phase,
	       (unsigned long long)median(samples, (size_t)n), (unsigned long long)(sum / (uint64_t)n), n, warm + n);
}

static void blk_qd1(int fd, char *buf, uint64_t blocks)
{
	ready("blk_qd1");
	for (int i = 0; i < QD1_WARM + QD1_N; i++) {
		off_t off = rand_block(blocks);
		uint64_t t0 = tsc();

		if (pread(fd, buf, BLK, off) != (ssize_t)BLK)
			die("blk_qd1 pread");
		uint64_t t = tsc() - t0;

		if (i >= QD1_WARM)
			samples[i - QD1_WARM] = t;
	}
	report_samples("blk_qd1", QD1_N, QD1_WARM);
}

static void blk_qd32(int fd, char *bufs, uint64_t blocks)
{
	aio_context_t ctx = 0;
	struct iocb cbs[QD32], *cbp[QD32];
	struct io_event ev[QD32];
	uint64_t total = 0;

	if (io_setup(QD32, &ctx) < 0)
		die("io_setup");
	ready("blk_qd32");
	for (int b = 0; b < QD32_WARM + QD32_BATCH; b++) {
		for (int i = 0; i < QD32; i++) {
			memset(&cbs[i], 0, sizeof(cbs[i]));
			cbs[i].aio_fildes = (uint32_t)fd;
			cbs[i].aio_lio_opcode = IOCB_CMD_PREAD;
			cbs[i].aio_buf = (uint64_t)(uintptr_t)(bufs + (size_t)i * BLK);
			cbs[i].aio_nbytes = BLK;
			cbs[i].aio_offset = rand_block(blocks);
			cbp[i] = &cbs[i];
		}
		uint64_t t0 = tsc();

		if (io_submit(ctx, QD32, cbp) != QD32)
			die("io_submit");
		for (long got = 0; got < QD32;) {
			long n = io_getevents(ctx, 1, QD32 - got, ev);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				die("io_getevents");
			for (long i = 0; i < n; i++) {
				if (ev[i].res != BLK) {
					errno = ev[i].res < 0 ? (int)-ev[i].res : EIO;
					die("blk_qd32 read");
				}
			}
			got += n;
		}
		uint64_t t = tsc() - t0;

		if (b >= QD32_WARM)
			total += t;
	}
	printf("keel-bench: blk_qd32 mean %llu batches %d requests %d\n",
	       (unsigned long long)(total / (QD32_BATCH * QD32)), QD32_BATCH, (QD32_WARM + QD32_BATCH) * QD32);
	syscall(SYS_io_destroy, ctx);
}

/* The whole device in 1 MiB reads, twice: the first pass warms up, the second is measured. */
static void blk_seq(int fd, char *buf, uint64_t bytes)
{
	uint64_t mib = bytes / SEQ_CHUNK, total = 0;

	ready("blk_seq");
	for (int pass = 0; pass < 2; pass++) {
		uint64_t t0 = tsc();

		for (uint64_t i = 0; i < mib; i++)
			if (pread(fd, buf, SEQ_CHUNK, (off_t)(i * SEQ_CHUNK)) != (ssize_t)SEQ_CHUNK)
				die("blk_seq pread");
		if (pass)
			total = tsc() - t0;
	}
	printf("keel-bench: blk_seq per_mib %llu mib %llu requests %llu\n", (unsigned long long)(total / mib),
	       (unsigned long long)mib, (unsigned long long)(2 * mib));
}

static int blk(const char *dev)
{
	int fd = open(dev, O_RDONLY | O_DIRECT);
	char *buf;
	off_t bytes;

	if (fd < 0)
		die(dev);
	bytes = lseek(fd, 0, SEEK_END);
	if (bytes < (off_t)SEQ_CHUNK)
		die("device size");
	if (posix_memalign((void **)&buf, BLK, SEQ_CHUNK > QD32 * BLK ? SEQ_CHUNK : QD32 * BLK))
		die("posix_memalign");
	/* Touch the buffer: no page faults inside a measured request. */
	memset(buf, 0, SEQ_CHUNK);
	printf("keel-bench: blk %s %lld bytes\n", dev, (long long)bytes);
	/* Nothing between go and the result: what the counters see here is the method's own cost. */
	ready("null");
	printf("keel-bench: null requests 1\n");
	blk_qd1(fd, buf, (uint64_t)bytes / BLK);
	blk_qd32(fd, buf, (uint64_t)bytes / BLK);
	blk_seq(fd, buf, (uint64_t)bytes);
	close(fd);
	return 0;
}

static void nodelay(int s)
{
	int one = 1;

	if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		die("TCP_NODELAY");
}

/* The sink: everything until EOF, then one byte back (the sender's end of its timing). */
static void sink(int c)
{
	static char buf[STREAM_CHUNK];
	ssize_t n;
	long long total = 0;

	while ((n = read(c, buf, sizeof(buf))) > 0)
		total += n;
	if (n < 0 || write(c, "k", 1) != 1)
		die("sink");
	printf("keel-bench: server took %lld bytes\n", total);
}

static int server(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
	char b;
	ssize_t n;
	long count = 0;

	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("socket");
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 1))
		die("bind");
	printf("keel-bench: server listening on %d\n", port);
	fflush(stdout);
	for (int conn = 0; conn < 2; conn++) {
		int c = accept(s, NULL, NULL);

		if (c < 0)
			die("accept");
		nodelay(c);
		if (conn) {
			sink(c);
		} else {
			while ((n = read(c, &b, 1)) == 1) {
				if (write(c, &b, 1) != 1)
					die("server write");
				count++;
			}
			printf("keel-bench: server echoed %ld bytes\n", count);
		}
		fflush(stdout);
		close(c);
	}
	close(s);
	return 0;
}

static int connect_to(const struct sockaddr_in *a)
{
	/* The server may still be starting: try for a while. */
	for (int i = 0; i < 100; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s < 0)
			die("socket");
		if (!connect(s, (const struct sockaddr *)a, sizeof(*a))) {
			nodelay(s);
			return s;
		}
		close(s);
		usleep(100000);
	}
	die("connect");
}

/* The guest's eth0 packets, sent and received (GSO packets count once). */
static long long eth0_packets(void)
{
	static const char *const f[] = { "/sys/class/net/eth0/statistics/tx_packets",
					 "/sys/class/net/eth0/statistics/rx_packets" };
	long long total = 0;

	for (int i = 0; i < 2; i++) {
		FILE *fp = fopen(f[i], "r");
		long long v = 0;

		if (!fp || fscanf(fp, "%lld", &v) != 1)
			die(f[i]);
		fclose(fp);
		total += v;
	}
	return total;
}

static void round_trips(int s)
{
	char b = 'k';

	ready("net_rr");
	for (int i = 0; i < NET_WARM + NET_N; i++) {
		uint64_t t0 = tsc();

		if (write(s, &b, 1) != 1 || read(s, &b, 1) != 1)
			die("round trip");
		uint64_t t = tsc() - t0;

		if (i >= NET_WARM)
			samples[i - NET_WARM] = t;
	}
	report_samples("net_rr", NET_N, NET_WARM);
}

static void stream(int s)
{
	static char buf[STREAM_CHUNK];
	long long p0;
	char b;

	memset(buf, 'k', sizeof(buf));
	ready("net_stream");
	p0 = eth0_packets();
	uint64_t t0 = tsc();

	for (int i = 0; i < STREAM_MIB * (1 << 20) / STREAM_CHUNK; i++)
		if (write(s, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			die("stream write");
	if (shutdown(s, SHUT_WR) || read(s, &b, 1) != 1)
		die("stream end");
	uint64_t t = tsc() - t0;

	printf("keel-bench: net_stream per_mib %llu mib %d packets %lld requests %d\n",
	       (unsigned long long)(t / STREAM_MIB), STREAM_MIB, eth0_packets() - p0, STREAM_MIB);
}

static int client(const char *addr, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int s;

	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
		errno = EINVAL;
		die(addr);
	}
	s = connect_to(&a);
	round_trips(s);
	close(s);
	s = connect_to(&a);
	stream(s);
	close(s);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: vbench [-w] blk DEVICE | server PORT | [-w] client ADDR PORT\n");
	return 2;
}

int main(int argc, char **argv)
{
	int r;

	if (argc > 1 && !strcmp(argv[1], "-w")) {
		wait_for_go = 1;
		argv++;
		argc--;
	}
	if (argc == 3 && !strcmp(argv[1], "blk"))
		r = blk(argv[2]);
	else if (argc == 3 && !strcmp(argv[1], "server"))
		r = server(atoi(argv[2]));
	else if (argc == 4 && !strcmp(argv[1], "client"))
		r = client(argv[2], atoi(argv[3]));
	else
		return usage();
	fflush(stdout);
	return r;
}

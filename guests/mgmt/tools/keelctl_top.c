// SPDX-License-Identifier: MIT
/*
 * keelctl top [-d SECONDS] [-n ITERATIONS] [-b] (docs/mgmt.md): every VM's state, vCPUs, memory,
 * and its CPU use and exits per second over the last interval, from the run-time and exit
 * counters of two looks at keel_vm_list, as xentop does. On a terminal it redraws the table every
 * interval until q; -n or -b (or no terminal) is batch mode, as `top -b`: plain tables one after
 * the other, each over a whole interval, no screen control.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "keelctl.h"

#define TOP_MAX_INTERVAL_S 3600.0

int top_sample(struct keel *k, struct top_sample *s, uint64_t t_ns)
{
	int n = keel_vm_list(k, s->vms, KEEL_VM_LIST_MAX);

	if (n < 0)
		return n;
	s->n = n > KEEL_VM_LIST_MAX ? KEEL_VM_LIST_MAX : (uint32_t)n;
	s->t_ns = t_ns;
	return 0;
}

uint32_t top_rows(const struct top_sample *prev, const struct top_sample *cur, struct top_row *rows)
{
	uint64_t dt = prev && cur->t_ns > prev->t_ns ? cur->t_ns - prev->t_ns : 0;

	for (uint32_t i = 0; i < cur->n; i++) {
		const struct keel_vm_info *v = &cur->vms[i], *was = NULL;

		for (uint32_t j = 0; dt && j < prev->n && !was; j++)
			if (prev->vms[j].id == v->id) /* ids are never reused */
				was = &prev->vms[j];
		rows[i] = (struct top_row){ .vm = v, .cpu_pct = -1, .exits_per_s = -1 };
		if (!was)
			continue;
		/* Counters only grow; a smaller one (a slot reused under an old id) counts as none. */
		rows[i].cpu_pct = v->run_ns > was->run_ns ? (double)(v->run_ns - was->run_ns) * 100.0 / (double)dt : 0;
		rows[i].exits_per_s = v->exits > was->exits ? (double)(v->exits - was->exits) * 1e9 / (double)dt : 0;
	}
	return cur->n;
}

void top_print(FILE *out, const struct top_row *rows, uint32_t n)
{
	uint32_t running = 0;
	double total = 0;
	int any = 0;

	for (uint32_t i = 0; i < n; i++) {
		running += rows[i].vm->state == KEEL_VM_RUNNING;
		if (rows[i].cpu_pct >= 0) {
			total += rows[i].cpu_pct;
			any = 1;
		}
	}
	fprintf(out, "keelctl top: %u VM%s, %u running", n, n == 1 ? "" : "s", running);
	if (any)
		fprintf(out, ", %.1f%% CPU in all", total);
	fprintf(out, "\n%4s  %-16s %-8s %5s %8s %7s %10s %10s\n", "ID", "Name", "State", "vCPUs", "Mem(MiB)", "CPU(%)",
		"Exits/s", "CPU(s)");
	for (uint32_t i = 0; i < n; i++) {
		const struct keel_vm_info *v = rows[i].vm;
		char name[KEEL_VM_NAME_MAX];

		memcpy(name, v->name, sizeof(name));
		name[sizeof(name) - 1] = '\0';
		fprintf(out, "%4u  %-16s %-8s %5u %8llu ", v->id, name, keel_vm_state_name(v->state), v->vcpus,
			(unsigned long long)(v->mem_bytes >> 20));
		if (rows[i].cpu_pct >= 0)
			fprintf(out, "%7.1f %10.0f", rows[i].cpu_pct, rows[i].exits_per_s);
		else
			fprintf(out, "%7s %10s", "-", "-");
		fprintf(out, " %10.1f\n", (double)v->run_ns / 1e9);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One table over [prev, now]: 0, or 1 with the reason printed. */
static int show(struct keel *k, struct top_sample *prev, struct top_sample *cur, int first, FILE *out)
{
	static struct top_row rows[KEEL_VM_LIST_MAX];
	int err = top_sample(k, cur, now_ns());
	uint32_t n;

	if (err) {
		fprintf(stderr, "keelctl: top: %s\n", strerror(-err));
		return 1;
	}
	n = top_rows(first ? NULL : prev, cur, rows);
	top_print(out, rows, n);
	fflush(out);
	*prev = *cur;
	return 0;
}

static int batch(struct keel *k, double interval, long iterations, FILE *out)
{
	static struct top_sample prev, cur;
	struct timespec ts = { .tv_sec = (time_t)interval,
			       .tv_nsec = (long)((interval - (double)(time_t)interval) * 1e9) };
	int err = top_sample(k, &prev, now_ns());

	if (err) {
		fprintf(stderr, "keelctl: top: %s\n", strerror(-err));
		return 1;
	}
	for (long i = 0; !iterations || i < iterations; i++) {
		while (nanosleep(&ts, &ts) && errno == EINTR) {
		}
		ts = (struct timespec){ .tv_sec = (time_t)interval,
					.tv_nsec = (long)((interval - (double)(time_t)interval) * 1e9) };
		if (i)
			fputc('\n', out);
		if (show(k, &prev, &cur, 0, out))
			return 1;
	}
	return 0;
}

static volatile sig_atomic_t quit_signal;

static void on_signal(int sig)
{
	quit_signal = sig;
}

/* On a terminal: the screen redrawn each interval; q (or Ctrl-C, SIGTERM, SIGHUP) quits, with the
 * terminal as it was. */
static int interactive(struct keel *k, double interval)
{
	static struct top_sample prev, cur;
	static const int sigs[3] = { SIGTERM, SIGHUP, SIGINT };
	struct sigaction sa = { .sa_handler = on_signal }, old[3];
	struct termios saved, t;
	int have_tty = !tcgetattr(STDIN_FILENO, &saved), ret = 0;

	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]); /* no SA_RESTART: poll() returns */

	if (have_tty) {
		t = saved;
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	for (int first = 1;; first = 0) {
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		char c = 0;

		fputs("\033[H\033[2J", stdout);
		if (show(k, &prev, &cur, first, stdout)) {
			ret = 1;
			break;
		}
		printf("(every %.1f s; q quits)\n", interval);
		fflush(stdout);
		if (poll(&p, 1, (int)(interval * 1000)) > 0 && (read(STDIN_FILENO, &c, 1) <= 0 || c == 'q' || c == 'Q'))
			break;
		if (quit_signal)
			break;
	}
	if (have_tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	return ret;
}

int keelctl_top_command(struct keel *k, int argc, char **argv)
{
	double interval = 1.0;
	long iterations = 0;
	int batch_mode = 0;

	for (int i = 2; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "-b")) {
			batch_mode = 1;
		} else if (!strcmp(argv[i], "-d") && i + 1 < argc) {
			interval = strtod(argv[++i], &end);
			if (end == argv[i] || *end || !(interval >= 0.01 && interval <= TOP_MAX_INTERVAL_S))
				return 2;
		} else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			iterations = strtol(argv[++i], &end, 10);
			if (end == argv[i] || *end || iterations < 1)
				return 2;
			batch_mode = 1;
		} else {
			return 2;
		}
	}
	if (batch_mode || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return batch(k, interval, iterations, stdout);
	return interactive(k, interval);
}

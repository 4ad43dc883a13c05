// SPDX-License-Identifier: MIT
/*
 * keelctl's per-VM monitor (keelctl_mon.h; docs/mgmt.md, "A VM from a config file"): what
 * on_poweroff, on_reboot and on_crash say, done when the VM ends.
 *
 * It does not take Keel's events: they are one global queue, which `keelctl events` and every
 * other monitor read too. POLLPRI on /dev/keel (level-triggered until someone takes them) only
 * wakes it early; it then looks at its own VM (HC_VM_INFO), and at least every poll_ms anyway.
 * Who destroys a dead VM is settled by Keel: the monitor's own HC_VM_DESTROY fails (-EINVAL,
 * already on its way, or -ENOENT) when someone else destroyed it first, and then it ends without
 * restarting anything. `keelctl destroy` stops the monitor before it destroys (keelctl_mon_stop),
 * so a restart is never half done under it.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keelctl_dm.h"
#include "keelctl_mon.h"

enum keelcfg_action keelctl_mon_action(const struct keelcfg *cfg, uint32_t end, uint32_t status, enum keelcfg_key *key)
{
	enum keelcfg_key k = end == KEEL_EV_POWEROFF || (end == KEEL_EV_EXITED && status == 0) ? KEELCFG_ON_POWEROFF
			     : end == KEEL_EV_RESET					       ? KEELCFG_ON_REBOOT
			     : end == KEEL_EV_CRASHED || end == KEEL_EV_EXITED		       ? KEELCFG_ON_CRASH
											       : KEELCFG_NR_KEYS;

	if (key)
		*key = k;
	return k == KEELCFG_ON_POWEROFF ? cfg->on_poweroff
	       : k == KEELCFG_ON_REBOOT ? cfg->on_reboot
	       : k == KEELCFG_ON_CRASH	? cfg->on_crash
					: KEELCFG_PRESERVE;
}

int keelctl_mon_wanted(const struct keelcfg *cfg)
{
	return cfg->on_poweroff != KEELCFG_PRESERVE || cfg->on_reboot != KEELCFG_PRESERVE ||
	       cfg->on_crash != KEELCFG_PRESERVE;
}

void keelctl_mon_guard_started(struct keelctl_mon_guard *g, uint64_t now_ns)
{
	g->started_ns = now_ns;
}

int keelctl_mon_guard_allow(struct keelctl_mon_guard *g, uint64_t now_ns)
{
	if (now_ns - g->started_ns < (uint64_t)KEELCTL_MON_FAST_S * 1000000000ull)
		g->fast++;
	else
		g->fast = 0;
	return g->fast <= KEELCTL_MON_FAST_MAX;
}

uint64_t keelctl_mon_clock_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void say(struct keelctl_mon *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct keelctl_mon *m, const char *fmt, ...)
{
	va_list ap;
	time_t t = time(NULL);
	struct tm tm;
	char when[32];

	if (!m->log)
		return;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(m->log, "%s keelctl monitor %s: ", when, m->cfg->name);
	va_start(ap, fmt);
	vfprintf(m->log, fmt, ap);
	va_end(ap);
	fputc('\n', m->log);
	fflush(m->log);
}

static const char *action_name(enum keelcfg_action a)
{
	return a == KEELCFG_DESTROY ? "destroy" : a == KEELCFG_RESTART ? "restart" : "preserve";
}

/* "gone" (0) once a process is no more or a zombie not ours to reap. */
static int process_alive(pid_t pid)
{
	char path[64], buf[256], *paren;
	int status;
	FILE *f;
	size_t n;

	if (waitpid(pid, &status, WNOHANG) == pid || (kill(pid, 0) && errno == ESRCH))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

static void sleep_ms(int ms)
{
	if (ms > 0)
		usleep((useconds_t)ms * 1000);
}

/* The old keel-dm ends once its VM is gone (within a second: DM_IDLE_MS); the new one would
 * take its console socket's path, which the old one removes when it ends. */
#define MON_DM_WAIT_MS 10000
static void wait_dm(struct keelctl_mon *m)
{
	int ms = 0;

	while (m->dm_pid > 0 && process_alive(m->dm_pid)) {
		if (ms == MON_DM_WAIT_MS) {
			say(m, "keel-dm pid %d still there %d s after its VM: stopped (SIGKILL)", m->dm_pid,
			    MON_DM_WAIT_MS / 1000);
			kill(m->dm_pid, SIGKILL);
		} else if (ms > MON_DM_WAIT_MS + 2000) {
			break;
		}
		sleep_ms(m->poll_ms ? 20 : 0);
		ms += 20;
	}
	m->dm_pid = 0;
}

/* Destroys the dead VM and waits until it is gone: 0, 1 if someone else destroyed it, -1 if it
 * failed. */
#define MON_GONE_WAIT_MS 10000
static int destroy_vm(struct keel *k, struct keelctl_mon *m)
{
	struct keel_vm_detail d;
	int err = keel_vm_destroy(k, m->id);

	if (err == -ENOENT || err == -EINVAL) {
		say(m, "id %u: already destroyed by someone else", m->id);
		return 1;
	}
	if (err) {
		say(m, "id %u: destroy failed: %s", m->id, strerror(-err));
		return -1;
	}
	for (int ms = 0; keel_vm_info(k, m->id, &d) != -ENOENT; ms += 5) {
		if (ms >= MON_GONE_WAIT_MS) {
			say(m, "id %u: still in Keel's list %d s after its destroy", m->id, MON_GONE_WAIT_MS / 1000);
			return -1;
		}
		sleep_ms(m->poll_ms ? 5 : 0);
	}
	wait_dm(m);
	return 0;
}

/* The VM is dead: the action. -1 when it was restarted (watch on), else how the monitor ends. */
static int ended(struct keel *k, struct keelctl_mon *m, const struct keel_vm_detail *d)
{
	enum keelcfg_key key;
	enum keelcfg_action act = keelctl_mon_action(m->cfg, d->end, d->status, &key);
	char how[192], reason[sizeof(d->reason)];
	int loop = 0, r;
	uint32_t old = m->id;

	memcpy(reason, d->reason, sizeof(reason));
	reason[sizeof(reason) - 1] = '\0';
	if (key == KEELCFG_NR_KEYS) {
		say(m, "id %u: ended by a destroy", m->id);
		return KEELCTL_MON_GONE;
	}
	if (d->end == KEEL_EV_EXITED)
		snprintf(how, sizeof(how), "exited with status %u", d->status);
	else if (d->end == KEEL_EV_CRASHED)
		snprintf(how, sizeof(how), "crashed: %s", reason);
	else
		snprintf(how, sizeof(how), "%s", keel_event_name(d->end));
	say(m, "id %u: %s: %s = \"%s\"", m->id, how, keelcfg_key_name(key), action_name(act));
	if (act == KEELCFG_PRESERVE) {
		say(m, "id %u: preserved (dead until keelctl destroy); the monitor ends", m->id);
		return KEELCTL_MON_PRESERVED;
	}
	if (act == KEELCFG_RESTART && !keelctl_mon_guard_allow(&m->guard, m->now_ns())) {
		say(m,
		    "id %u: restart loop: it ended within %d s of its start %u times in a row; not restarted, "
		    "destroyed",
		    m->id, KEELCTL_MON_FAST_S, m->guard.fast);
		act = KEELCFG_DESTROY;
		loop = 1;
	}
	r = destroy_vm(k, m);
	if (r)
		return r > 0 ? KEELCTL_MON_GONE : KEELCTL_MON_FAILED;
	if (act == KEELCFG_DESTROY) {
		say(m, "id %u: destroyed", old);
		return loop ? KEELCTL_MON_LOOP : KEELCTL_MON_DESTROYED;
	}
	if (*m->stop) {
		say(m, "id %u: destroyed, not restarted: the monitor was stopped", old);
		return KEELCTL_MON_STOPPED;
	}
	if (m->recreate(k, m->arg, &m->id, &m->dm_pid)) {
		say(m, "restart failed (the lines above say why); the monitor ends");
		return KEELCTL_MON_FAILED;
	}
	keelctl_mon_guard_started(&m->guard, m->now_ns());
	m->restarts++;
	say(m, "id %u: restarted as id %u (restart %u)", old, m->id, m->restarts);
	return -1;
}

enum keelctl_mon_end keelctl_mon_run(struct keel *k, struct keelctl_mon *m)
{
	say(m, "watching id %u: on_poweroff = \"%s\", on_reboot = \"%s\", on_crash = \"%s\"", m->id,
	    action_name(m->cfg->on_poweroff), action_name(m->cfg->on_reboot), action_name(m->cfg->on_crash));
	keelctl_mon_guard_started(&m->guard, m->now_ns());
	for (;;) {
		struct keel_vm_detail d;
		int err, r;

		if (*m->stop) {
			say(m, "id %u: stopped (SIGTERM): the VM is left as it is", m->id);
			return KEELCTL_MON_STOPPED;
		}
		err = keel_vm_info(k, m->id, &d);
		if (err == -ENOENT) {
			say(m, "id %u: gone (destroyed by someone else); the monitor ends", m->id);
			return KEELCTL_MON_GONE;
		}
		if (err) {
			say(m, "id %u: info failed: %s", m->id, strerror(-err));
			return KEELCTL_MON_FAILED;
		}
		if (d.info.state == KEEL_VM_DEAD) {
			r = ended(k, m, &d);
			if (r >= 0)
				return (enum keelctl_mon_end)r;
			continue;
		}
		/* Events stay pending until someone takes them: a wake-up with nothing for this VM
		 * must not turn into a spin. */
		if (keel_events_wait(k, m->poll_ms) > 0)
			sleep_ms(m->poll_ms < 100 ? m->poll_ms : 100);
	}
}

static volatile sig_atomic_t mon_stop;
static void on_signal(int sig)
{
	(void)sig;
	mon_stop = 1;
}

static void pid_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s" KEELCTL_MON_PID_SUFFIX, keelctl_run_dir(), name);
}

/* The monitor's side: DIR/NAME.mon.pid locked and its pid in it. 0 or -1. The monitor of an
 * earlier VM of that name ends within its poll once that VM is gone: wait for it that long. */
#define MON_LOCK_WAIT_MS 5000
static int take_pid_file(const struct keelcfg *cfg)
{
	const char *name = cfg->name;
	char path[KEELCFG_PATH_MAX + 64];
	int fd;

	pid_path(path, sizeof(path), name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "keelctl monitor: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int ms = 0; flock(fd, LOCK_EX | LOCK_NB); ms += 10) {
		if (errno != EWOULDBLOCK || ms >= MON_LOCK_WAIT_MS) {
			fprintf(stderr, "keelctl monitor: %s: %s\n", path,
				errno == EWOULDBLOCK ? "another monitor holds it" : strerror(errno));
			close(fd);
			return -1;
		}
		sleep_ms(10);
	}
	if (ftruncate(fd, 0) ||
	    dprintf(fd, "%d\non_poweroff=%s on_reboot=%s on_crash=%s\n", (int)getpid(), action_name(cfg->on_poweroff),
		    action_name(cfg->on_reboot), action_name(cfg->on_crash)) < 0) {
		fprintf(stderr, "keelctl monitor: %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd; /* kept open, locked, until the monitor ends */
}

/* Every fd but 0-2 and keep[]: the caller's pipes must see their end when the caller ends. */
static void close_others(const int *keep, int n)
{
	long max = sysconf(_SC_OPEN_MAX);

	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++) {
		int kept = 0;

		for (int i = 0; i < n; i++)
			kept |= keep[i] == fd;
		if (!kept)
			close(fd);
	}
}

#define MON_START_WAIT_MS (MON_LOCK_WAIT_MS + 10000)
int keelctl_mon_start(struct keel *k, struct keelctl_mon *m)
{
	const char *dir = keelctl_run_dir(), *name = m->cfg->name;
	char log[KEELCFG_PATH_MAX + 64];
	unsigned char ready = 1;
	int p[2], status, got = 0;
	pid_t pid;

	if (keelctl_mkdir_p(dir)) {
		int err = -errno;

		fprintf(stderr, "keelctl: create %s: cannot make %s: %s\n", name, dir, strerror(errno));
		return err;
	}
	snprintf(log, sizeof(log), "%s/%s" KEELCTL_MON_LOG_SUFFIX, dir, name);
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(p[0]);
		close(p[1]);
		return err;
	}
	if (pid == 0) {
		int keep[] = { p[1], keel_fd(k) }, fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644), lock;
		struct sigaction sa = { .sa_handler = on_signal };
		enum keelctl_mon_end end;

		setsid();
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		close(fd);
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0)
			_exit(127);
		close(fd);
		close(p[0]);
		close_others(keep, 2);
		setvbuf(stdout, NULL, _IOLBF, 0);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
		lock = take_pid_file(m->cfg);
		if (lock < 0)
			_exit(1);
		if (write(p[1], "", 1) != 1)
			_exit(1);
		close(p[1]);
		m->stop = &mon_stop;
		m->log = stdout;
		end = keelctl_mon_run(k, m);
		fflush(stdout);
		_exit(end <= KEELCTL_MON_STOPPED ? 0 : 1);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		int n = poll(&pf, 1, MON_START_WAIT_MS);

		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && read(p[0], &ready, 1) == 1)
			got = 1;
		break;
	}
	close(p[0]);
	if (got && ready == 0)
		return pid;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	fprintf(stderr, "keelctl: create %s: its monitor did not start (log: %s)\n", name, log);
	return -EIO;
}

/* The monitor's pid file of VM `name`, open for reading, or -1 (none, or a name no VM has). */
static int open_pid_file(const char *name)
{
	char path[KEELCFG_PATH_MAX + 64];

	if (!name[0] || strchr(name, '/'))
		return -1;
	pid_path(path, sizeof(path), name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

int keelctl_mon_stop(const char *name)
{
	int fd = open_pid_file(name), signalled = 0;

	if (fd < 0)
		return 0;
	for (int ms = 0;; ms += 10) {
		char buf[32];
		ssize_t n;

		if (!flock(fd, LOCK_EX | LOCK_NB)) { /* nobody holds it: no monitor, or it has ended */
			close(fd);
			return ms > 0;
		}
		if (ms >= KEELCTL_MON_STOP_MS) {
			close(fd);
			return -ETIMEDOUT;
		}
		/* Its pid, once it has written it (it locks first). */
		n = signalled ? 0 : pread(fd, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			long pid;

			buf[n] = '\0';
			pid = strtol(buf, NULL, 10);
			if (pid > 1 && !kill((pid_t)pid, SIGTERM))
				signalled = 1;
		}
		sleep_ms(10);
	}
}

int keelctl_mon_query(const char *name, struct keelctl_mon_info *out)
{
	char buf[128];
	int fd, held;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	fd = open_pid_file(name);
	if (fd < 0)
		return 0;
	held = flock(fd, LOCK_SH | LOCK_NB) != 0;
	if (!held)
		flock(fd, LOCK_UN);
	n = held ? pread(fd, buf, sizeof(buf) - 1, 0) : 0;
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return sscanf(buf, "%d on_poweroff=%9s on_reboot=%9s on_crash=%9s", &out->pid, out->on_poweroff, out->on_reboot,
		      out->on_crash) == 4;
}

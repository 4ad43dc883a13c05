// SPDX-License-Identifier: MIT
/*
 * keelctl's per-VM monitor (guests/mgmt/tools/keelctl_mon.c): which key an end maps to, the
 * restart-loop guard, the monitor's loop over a fake libkeel and a fake clock (destroy, restart
 * under new ids, the guard stopping a loop, a VM destroyed by someone else, preserve, a failed
 * restart, SIGTERM's flag), and the process: forked with its pid file locked, its log, none of
 * the caller's pipes kept open, stopped by keelctl_mon_stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "keelctl_mon.h"

/* The fake Keel: one VM, id f.id, that runs for f.running_for looks (-1: for ever), then is dead
 * with f.end, f.status, f.reason. */
static struct {
	int infos, destroys, recreates, waits;
	uint32_t id;
	int running_for, gone;
	uint32_t end, status;
	const char *reason;
	int destroy_err, recreate_err, stop_at; /* stop_at: the recreate that sets *stop */
	uint64_t now, step;			/* the clock: each look at it moves it on by step */
	int real_sleep;
} f;
static volatile sig_atomic_t stop;

int keel_vm_info(struct keel *k, uint32_t id, struct keel_vm_detail *out)
{
	f.infos++;
	if (id != f.id || f.gone)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->info.id = id;
	if (f.running_for) {
		if (f.running_for > 0)
			f.running_for--;
		out->info.state = KEEL_VM_RUNNING;
		return 0;
	}
	out->info.state = KEEL_VM_DEAD;
	out->end = f.end;
	out->status = f.status;
	snprintf(out->reason, sizeof(out->reason), "%s", f.reason ? f.reason : "");
	return 0;
}

int keel_vm_destroy(struct keel *k, uint32_t id)
{
	f.destroys++;
	if (f.destroy_err)
		return f.destroy_err;
	if (id != f.id || f.gone)
		return -ENOENT;
	f.gone = 1;
	return 0;
}

int keel_events_wait(struct keel *k, int timeout_ms)
{
	f.waits++;
	if (f.real_sleep)
		usleep((useconds_t)timeout_ms * 1000);
	return 0;
}

const char *keel_event_name(uint32_t type)
{
	static const char *const names[] = { "?", "exited", "poweroff", "reset", "crashed", "destroyed" };

	return type < 6 ? names[type] : "?";
}

int keel_fd(struct keel *k)
{
	return -1;
}

static int fake_recreate(struct keel *k, void *arg, uint32_t *id, int *dm_pid)
{
	f.recreates++;
	if (f.stop_at && f.recreates == f.stop_at)
		stop = 1;
	if (f.recreate_err)
		return 1;
	f.id += 10;
	f.gone = 0;
	f.running_for = 2;
	*id = f.id;
	*dm_pid = 0;
	return 0;
}

static uint64_t fake_now(void)
{
	f.now += f.step;
	return f.now;
}

static char logbuf[16384];
static struct keelcfg cfg;

/* The monitor of VM 5 with these actions, run to its end over the fake; its log in logbuf. */
static struct keelctl_mon mon(enum keelcfg_action off, enum keelcfg_action reboot, enum keelcfg_action crash)
{
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "vm1");
	cfg.on_poweroff = off;
	cfg.on_reboot = reboot;
	cfg.on_crash = crash;
	memset(&f, 0, sizeof(f));
	f.id = 5;
	f.running_for = 3;
	f.step = 1000000000ull; /* 1 s */
	stop = 0;
	return (struct keelctl_mon){
		.cfg = &cfg, .id = 5, .recreate = fake_recreate, .stop = &stop, .now_ns = fake_now, .poll_ms = 0
	};
}

static enum keelctl_mon_end run(struct keelctl_mon *m)
{
	FILE *log = fmemopen(logbuf, sizeof(logbuf), "w");
	enum keelctl_mon_end end;

	assert_non_null(log);
	memset(logbuf, 0, sizeof(logbuf));
	m->log = log;
	end = keelctl_mon_run(NULL, m);
	fclose(log);
	return end;
}

static void test_action(void **state)
{
	struct keelcfg c = { .on_poweroff = KEELCFG_DESTROY,
			     .on_reboot = KEELCFG_RESTART,
			     .on_crash = KEELCFG_PRESERVE };
	enum keelcfg_key key;

	assert_int_equal(keelctl_mon_action(&c, KEEL_EV_POWEROFF, 0, &key), KEELCFG_DESTROY);
	assert_int_equal(key, KEELCFG_ON_POWEROFF);
	assert_int_equal(keelctl_mon_action(&c, KEEL_EV_EXITED, 0, &key), KEELCFG_DESTROY);
	assert_int_equal(key, KEELCFG_ON_POWEROFF);
	assert_int_equal(keelctl_mon_action(&c, KEEL_EV_RESET, 0, &key), KEELCFG_RESTART);
	assert_int_equal(key, KEELCFG_ON_REBOOT);
	assert_int_equal(keelctl_mon_action(&c, KEEL_EV_CRASHED, 0, &key), KEELCFG_PRESERVE);
	assert_int_equal(key, KEELCFG_ON_CRASH);
	/* an exit with a status other than 0 is a failure: on_crash */
	c.on_crash = KEELCFG_RESTART;
	assert_int_equal(keelctl_mon_action(&c, KEEL_EV_EXITED, 3, &key), KEELCFG_RESTART);
	assert_int_equal(key, KEELCFG_ON_CRASH);
	/* a destroy, or what Keel does not say: nothing to do */
	assert_int_equal(keelctl_mon_action(&c, KEEL_EV_DESTROYED, 0, &key), KEELCFG_PRESERVE);
	assert_int_equal(key, KEELCFG_NR_KEYS);
	assert_int_equal(keelctl_mon_action(&c, 0, 0, &key), KEELCFG_PRESERVE);
	assert_int_equal(keelctl_mon_action(&c, 99, 0, NULL), KEELCFG_PRESERVE);

	assert_true(keelctl_mon_wanted(&c));
	memset(&c, 0, sizeof(c));
	assert_false(keelctl_mon_wanted(&c)); /* the default: all "preserve", no monitor */
	c.on_crash = KEELCFG_DESTROY;
	assert_true(keelctl_mon_wanted(&c));
}

static void test_guard(void **state)
{
	const uint64_t s = 1000000000ull;
	struct keelctl_mon_guard g = { 0 };
	uint64_t t = 100 * s;

	/* KEELCTL_MON_FAST_MAX fast ends in a row are restarted; the next is refused */
	for (int i = 0; i < KEELCTL_MON_FAST_MAX; i++) {
		keelctl_mon_guard_started(&g, t);
		t += 2 * s;
		assert_true(keelctl_mon_guard_allow(&g, t));
	}
	keelctl_mon_guard_started(&g, t);
	assert_false(keelctl_mon_guard_allow(&g, t + (KEELCTL_MON_FAST_S * s - 1)));
	/* a run of KEELCTL_MON_FAST_S or more starts the count again */
	g.fast = KEELCTL_MON_FAST_MAX;
	keelctl_mon_guard_started(&g, t);
	assert_true(keelctl_mon_guard_allow(&g, t + KEELCTL_MON_FAST_S * s));
	assert_int_equal(g.fast, 0);
	for (int i = 0; i < KEELCTL_MON_FAST_MAX; i++)
		assert_true(keelctl_mon_guard_allow(&g, t + s));
	assert_false(keelctl_mon_guard_allow(&g, t + s));
}

/* on_poweroff = "destroy": the VM powers off, the monitor destroys it and ends. */
static void test_destroy(void **state)
{
	struct keelctl_mon m = mon(KEELCFG_DESTROY, KEELCFG_PRESERVE, KEELCFG_PRESERVE);

	f.end = KEEL_EV_POWEROFF;
	assert_int_equal(run(&m), KEELCTL_MON_DESTROYED);
	assert_int_equal(f.destroys, 1);
	assert_int_equal(f.recreates, 0);
	assert_true(f.gone);
	assert_true(f.waits >= 3); /* it slept between its looks */
	assert_non_null(strstr(logbuf, "id 5: poweroff: on_poweroff = \"destroy\""));
	assert_non_null(strstr(logbuf, "id 5: destroyed"));
}

/* on_reboot = "restart" for a VM that resets at once: restarted under new ids until the guard
 * sees a loop, then destroyed. */
static void test_restart_loop(void **state)
{
	struct keelctl_mon m = mon(KEELCFG_PRESERVE, KEELCFG_RESTART, KEELCFG_PRESERVE);

	f.end = KEEL_EV_RESET;
	assert_int_equal(run(&m), KEELCTL_MON_LOOP);
	assert_int_equal(f.recreates, KEELCTL_MON_FAST_MAX);
	assert_int_equal(m.restarts, KEELCTL_MON_FAST_MAX);
	assert_int_equal(f.destroys, KEELCTL_MON_FAST_MAX + 1);
	assert_int_equal(m.id, 5 + 10 * KEELCTL_MON_FAST_MAX);
	assert_true(f.gone);
	assert_non_null(strstr(logbuf, "id 5: restarted as id 15 (restart 1)"));
	assert_non_null(strstr(logbuf, "id 45: restarted as id 55 (restart 5)"));
	assert_non_null(strstr(logbuf, "id 55: restart loop: it ended within 10 s of its start 6 times in a row"));
	assert_non_null(strstr(logbuf, "id 55: destroyed"));
}

/* Restarts far apart are no loop: it goes on until stopped, which takes effect after the restart
 * under way. */
static void test_restart_slow(void **state)
{
	struct keelctl_mon m = mon(KEELCFG_PRESERVE, KEELCFG_PRESERVE, KEELCFG_RESTART);

	f.end = KEEL_EV_CRASHED;
	f.reason = "triple fault";
	f.step = 20 * 1000000000ull;
	f.stop_at = 8;
	assert_int_equal(run(&m), KEELCTL_MON_STOPPED);
	assert_int_equal(f.recreates, 8);
	assert_int_equal(f.destroys, 8);
	assert_int_equal(m.id, 85);
	assert_false(f.gone); /* a stop leaves the VM as it is */
	assert_non_null(strstr(logbuf, "id 5: crashed: triple fault: on_crash = \"restart\""));
	assert_non_null(strstr(logbuf, "id 85: stopped (SIGTERM)"));
}

/* Someone else destroyed it: gone from the list, or Keel refuses the monitor's destroy (already
 * on its way), which a running VM destroyed from outside shows as a crash first. No restart. */
static void test_destroyed_by_someone_else(void **state)
{
	struct keelctl_mon m = mon(KEELCFG_RESTART, KEELCFG_RESTART, KEELCFG_RESTART);

	f.gone = 1;
	assert_int_equal(run(&m), KEELCTL_MON_GONE);
	assert_int_equal(f.destroys, 0);
	assert_non_null(strstr(logbuf, "id 5: gone (destroyed by someone else)"));

	m = mon(KEELCFG_RESTART, KEELCFG_RESTART, KEELCFG_RESTART);
	f.end = KEEL_EV_CRASHED;
	f.reason = "destroyed by the management VM";
	f.destroy_err = -EINVAL;
	assert_int_equal(run(&m), KEELCTL_MON_GONE);
	assert_int_equal(f.destroys, 1);
	assert_int_equal(f.recreates, 0);
	assert_non_null(strstr(logbuf, "already destroyed by someone else"));

	m = mon(KEELCFG_DESTROY, KEELCFG_RESTART, KEELCFG_RESTART);
	f.end = KEEL_EV_POWEROFF;
	f.destroy_err = -ENOENT;
	assert_int_equal(run(&m), KEELCTL_MON_GONE);

	/* a destroy that fails otherwise is the monitor's failure */
	m = mon(KEELCFG_DESTROY, KEELCFG_RESTART, KEELCFG_RESTART);
	f.end = KEEL_EV_POWEROFF;
	f.destroy_err = -EIO;
	assert_int_equal(run(&m), KEELCTL_MON_FAILED);
}

/* An end whose action is "preserve": the VM stays dead, the monitor ends; a stop before the end
 * touches nothing; a failed restart ends the monitor. */
static void test_preserve_stop_fail(void **state)
{
	struct keelctl_mon m = mon(KEELCFG_PRESERVE, KEELCFG_RESTART, KEELCFG_RESTART);

	f.end = KEEL_EV_EXITED;
	assert_int_equal(run(&m), KEELCTL_MON_PRESERVED);
	assert_int_equal(f.destroys, 0);
	assert_non_null(strstr(logbuf, "id 5: exited with status 0: on_poweroff = \"preserve\""));

	m = mon(KEELCFG_DESTROY, KEELCFG_RESTART, KEELCFG_RESTART);
	f.running_for = -1;
	stop = 1;
	assert_int_equal(run(&m), KEELCTL_MON_STOPPED);
	assert_int_equal(f.destroys, 0);

	m = mon(KEELCFG_DESTROY, KEELCFG_RESTART, KEELCFG_RESTART);
	f.end = KEEL_EV_EXITED;
	f.status = 1;
	f.recreate_err = 1;
	assert_int_equal(run(&m), KEELCTL_MON_FAILED);
	assert_int_equal(f.destroys, 1);
	assert_int_equal(f.recreates, 1);
	assert_non_null(strstr(logbuf, "id 5: exited with status 1: on_crash = \"restart\""));
	assert_non_null(strstr(logbuf, "restart failed"));
}

static char dir[] = "/tmp/keelctl-mon-XXXXXX";

static void read_file(const char *name, char *buf, size_t len)
{
	char path[256];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(buf, 1, len - 1, fp);
	buf[n] = '\0';
	fclose(fp);
}

/* The process: its own session, its pid file locked and its log, the caller's pipe not kept;
 * keelctl_mon_stop ends it (status 0) and then finds none. */
static void test_process(void **state)
{
	struct keelctl_mon m = mon(KEELCFG_DESTROY, KEELCFG_RESTART, KEELCFG_RESTART);
	char buf[4096], path[256];
	int caller[2], status, pid, fd;
	struct keelctl_mon_info info;
	struct pollfd p;

	assert_non_null(mkdtemp(dir));
	setenv("KEEL_RUN_DIR", dir, 1);
	f.running_for = -1;
	f.real_sleep = 1;
	m.poll_ms = 20;
	m.now_ns = keelctl_mon_clock_ns;
	assert_int_equal(pipe(caller), 0); /* as a shell's $(...) gives keelctl */
	pid = keelctl_mon_start(NULL, &m);
	assert_true(pid > 0);
	close(caller[1]);
	p = (struct pollfd){ .fd = caller[0], .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(read(caller[0], buf, 1), 0); /* end of file: the monitor does not hold it */
	close(caller[0]);

	read_file("vm1.mon.pid", buf, sizeof(buf));
	assert_int_equal(atoi(buf), pid);
	assert_int_equal(keelctl_mon_query("vm1", &info), 1); /* what keelctl info shows */
	assert_int_equal(info.pid, pid);
	assert_string_equal(info.on_poweroff, "destroy");
	assert_string_equal(info.on_reboot, "restart");
	assert_string_equal(info.on_crash, "restart");
	snprintf(path, sizeof(path), "%s/vm1.mon.pid", dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1); /* held while it runs */
	assert_int_equal(getsid(pid), pid);

	assert_int_equal(keelctl_mon_stop("vm1"), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
	read_file("vm1.mon.log", buf, sizeof(buf));
	assert_non_null(strstr(buf, "keelctl monitor vm1: watching id 5: on_poweroff = \"destroy\", on_reboot = "
				    "\"restart\", on_crash = \"restart\""));
	assert_non_null(strstr(buf, "keelctl monitor vm1: id 5: stopped (SIGTERM)"));
	assert_int_equal(keelctl_mon_stop("vm1"), 0); /* none runs: a stale pid file is ignored */
	assert_int_equal(keelctl_mon_query("vm1", &info), 0);
	assert_int_equal(keelctl_mon_stop("other"), 0); /* no pid file */
	assert_int_equal(keelctl_mon_stop("../x"), 0);

	/* It ends by itself when the VM is gone: status 0 too. */
	m = mon(KEELCFG_DESTROY, KEELCFG_RESTART, KEELCFG_RESTART);
	f.gone = 1;
	m.now_ns = keelctl_mon_clock_ns;
	pid = keelctl_mon_start(NULL, &m);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	read_file("vm1.mon.log", buf, sizeof(buf));
	assert_non_null(strstr(buf, "id 5: gone (destroyed by someone else)"));

	unlink(path);
	snprintf(path, sizeof(path), "%s/vm1.mon.log", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_action),
		cmocka_unit_test(test_guard),
		cmocka_unit_test(test_destroy),
		cmocka_unit_test(test_restart_loop),
		cmocka_unit_test(test_restart_slow),
		cmocka_unit_test(test_destroyed_by_someone_else),
		cmocka_unit_test(test_preserve_stop_fail),
		cmocka_unit_test(test_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

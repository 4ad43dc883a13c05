/* SPDX-License-Identifier: MIT */
/*
 * keelctl's per-VM monitor (keelctl_mon.c; docs/mgmt.md, "A VM from a config file"): as xl forks
 * one per domain, `keelctl create FILE` whose config has an on_poweroff, on_reboot or on_crash
 * other than "preserve" leaves a process behind that waits for the VM's end and destroys or
 * restarts it. It holds DIR/NAME.mon.pid locked (flock) while it runs; `keelctl destroy` stops it
 * (SIGTERM) before it destroys the VM, so the two never race.
 */
#ifndef KEELCTL_MON_H
#define KEELCTL_MON_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "keelcfg.h"
#include "libkeel.h"

#define KEELCTL_MON_LOG_SUFFIX ".mon.log"
#define KEELCTL_MON_PID_SUFFIX ".mon.pid"
/* The restart-loop guard: a VM that ends less than KEELCTL_MON_FAST_S after its start ended
 * fast; after KEELCTL_MON_FAST_MAX restarts in a row that each ended fast, the next fast end is
 * not restarted: the monitor destroys the VM and says so in its log. */
#define KEELCTL_MON_FAST_S   10
#define KEELCTL_MON_FAST_MAX 5
/* How often the monitor looks at its VM when no event wakes it (events are Keel's one global
 * queue, taken by `keelctl events`: the monitor never takes them, it only wakes on them). */
#define KEELCTL_MON_POLL_MS 500
/* How long `keelctl destroy` waits for a monitor to finish what it does and stop. */
#define KEELCTL_MON_STOP_MS 30000

/* The action for a VM that ended (struct keel_vm_detail's end and status): a poweroff or an exit
 * with status 0 -> on_poweroff; a reset -> on_reboot; a crash or an exit with another status ->
 * on_crash. *key (if not NULL) says which key decided; an end that is none of these (a destroy)
 * is PRESERVE with *key KEELCFG_NR_KEYS. */
enum keelcfg_action keelctl_mon_action(const struct keelcfg *cfg, uint32_t end, uint32_t status, enum keelcfg_key *key);
/* 1 if the config asks for a monitor: any action other than "preserve". */
int keelctl_mon_wanted(const struct keelcfg *cfg);

struct keelctl_mon_guard {
	uint64_t started_ns; /* when the VM (last) started */
	uint32_t fast;	     /* fast ends in a row */
};
void keelctl_mon_guard_started(struct keelctl_mon_guard *g, uint64_t now_ns);
/* The VM ended at now_ns: 1 if it may be restarted, 0 if that would be a restart loop. */
int keelctl_mon_guard_allow(struct keelctl_mon_guard *g, uint64_t now_ns);

/* How a monitor ended (its exit status: 0 for the first four, 1 for the others). */
enum keelctl_mon_end {
	KEELCTL_MON_DESTROYED, /* it applied "destroy" */
	KEELCTL_MON_PRESERVED, /* the action was "preserve": the VM stays dead */
	KEELCTL_MON_GONE,      /* someone else destroyed the VM */
	KEELCTL_MON_STOPPED,   /* a signal (keelctl destroy) */
	KEELCTL_MON_LOOP,      /* the restart-loop guard refused a restart: it destroyed the VM */
	KEELCTL_MON_FAILED,    /* a destroy or a restart failed: the log says why */
};

struct keelctl_mon {
	const struct keelcfg *cfg;
	uint32_t id;
	int dm_pid; /* the VM's keel-dm, 0 none: a restart waits for it to end */
	/* Makes the VM again (create, load, keel-dm) and starts it: 0 with *id and *dm_pid set,
	 * or not 0 (it said why on stderr). */
	int (*recreate)(struct keel *k, void *arg, uint32_t *id, int *dm_pid);
	void *arg;
	volatile sig_atomic_t *stop; /* set by SIGTERM's handler */
	uint64_t (*now_ns)(void);    /* CLOCK_MONOTONIC, or the test's clock */
	int poll_ms;		     /* KEELCTL_MON_POLL_MS */
	FILE *log;
	struct keelctl_mon_guard guard;
	uint32_t restarts; /* out: how many */
};
/* Watches m->id until the monitor's work is done; see enum keelctl_mon_end. */
enum keelctl_mon_end keelctl_mon_run(struct keel *k, struct keelctl_mon *m);
uint64_t keelctl_mon_clock_ns(void);

/* Forks the monitor for VM id (its own session, stdin /dev/null, stdout and stderr to
 * DIR/NAME.mon.log, no other fd of the caller's) and waits until it holds DIR/NAME.mon.pid: its
 * pid, or a negative errno (said on stderr). k stays the caller's. */
int keelctl_mon_start(struct keel *k, struct keelctl_mon *m);
/* What NAME.mon.pid says while its monitor runs (its pid, then its actions on one line:
 * "on_poweroff=A on_reboot=A on_crash=A"). */
struct keelctl_mon_info {
	int pid;
	char on_poweroff[10], on_reboot[10], on_crash[10];
};
/* 1 with *out filled if a monitor runs for NAME (it holds the lock), else 0. */
int keelctl_mon_query(const char *name, struct keelctl_mon_info *out);
/* Stops NAME's monitor, if one runs, and waits until it has ended: 1 if it did, 0 if none ran,
 * a negative errno if it is still there after KEELCTL_MON_STOP_MS. */
int keelctl_mon_stop(const char *name);

#endif

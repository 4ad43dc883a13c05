/* SPDX-License-Identifier: MIT */
/*
 * The scheduler's mechanism (kernel/sched.c) through its seam, on the simulated CPU of
 * sched_sim.h: the entities are fakes behind struct sched_ops, each following a script of work
 * and stops, and every op the scheduler calls is counted and checked against kernel/sched.h's
 * rules (interrupts on, loaded before it runs, never touched after retire). The tests: block with
 * a deadline, wake by a kick, no lost wake-up, no polling of blocked entities, the end of entities
 * and of the loop, load/unload around runs.
 */
#include "shim.h"

#include <string.h>

#include "kernel/sched.h"
#include "sched_sim.h"

#define US 1000ull
#define MS (1000 * US)
#define S  (1000 * MS)

#define MAX_STEPS 4
#define MAX_FAKES 4
#define MAX_CALLS 1000000 /* ops called in one test: beyond, the loop has run away */

/* A step of a fake's script: `work` ns of running (over as many runs as deadlines cut it into),
 * then `stop`. */
struct step {
	u64 work;
	enum sched_stop stop;
	u64 wake;		  /* SCHED_BLOCK: ops->wake_time, ns after the test began; 0: a kick only */
	bool kick_before_prepare; /* a kick just before sched_prepare_block(): stale, it must not count */
	bool kick_after_prepare;  /* a kick between sched_prepare_block() and returning SCHED_BLOCK */
};

enum op { OP_RUN, OP_WAKE_TIME, OP_LOAD, OP_UNLOAD, OP_RETIRE, OP_NR };
static const char *const op_names[OP_NR] = { "run", "wake_time", "load", "unload", "retire" };

struct fake {
	struct sched_entity se;
	const char *name;
	const struct step *script;
	u32 nr_steps;
	u64 quantum; /* nonzero: each run gives the CPU back (SCHED_PREEMPT) after this much work */
	u32 step;    /* in progress; nr_steps once it returned SCHED_DONE */
	u32 started; /* steps begun */
	u64 left;    /* work left in the step */
	u64 wake;    /* what wake_time answers (time_ns clock), 0: none */
	enum sched_stop last_stop;
	bool loaded, retired;
	struct fake *respawn; /* added to the scheduler from this one's retire (a VM restarted) */
	/* What the scheduler did to it. */
	u32 calls[OP_NR];
	u32 while_blocked[OP_NR]; /* calls while its state was SE_BLOCKED */
	u32 blocks;		  /* times it returned SCHED_BLOCK */
	u32 runs_after_done;
	u32 needless_reloads;	/* unloaded and loaded again with nothing else on the CPU between */
	u64 step_at[MAX_STEPS]; /* when each step's first run began */
	u64 retired_at;
};

static struct fake *fakes[MAX_FAKES];
static u32 nr_fakes;
static u32 nr_calls;
static const struct fake *last_unloaded;
static u32 halts_at_unload;

static struct fake *fake_of(struct sched_entity *e)
{
	return container_of(e, struct fake, se);
}

static void audit(struct fake *f, enum op op)
{
	if (++nr_calls > MAX_CALLS)
		fail_msg("%u calls of the ops: the loop runs away", nr_calls);
	f->calls[op]++;
	if (f->se.state == SE_BLOCKED)
		f->while_blocked[op]++;
	if (f->retired)
		sim_violation("%s of %s after it was retired", op_names[op], f->name);
	if (!sim.irqs_on)
		sim_violation("%s of %s with interrupts off", op_names[op], f->name);
}

static enum sched_stop fake_run(struct sched_entity *e, u64 deadline)
{
	struct fake *f = fake_of(e);
	const struct step *st;
	u64 ran = 0;

	audit(f, OP_RUN);
	if (!f->loaded)
		sim_violation("%s runs without being loaded", f->name);
	if (f->step == f->nr_steps) {
		f->runs_after_done++;
		sim_violation("%s runs after it returned SCHED_DONE", f->name);
		return SCHED_DONE;
	}
	if (sim.ending)
		return f->last_stop = SCHED_DONE;
	st = &f->script[f->step];
	if (f->started == f->step)
		f->step_at[f->started++] = sim.now;
	/* As vmm/vcpu_run.c: look at the deadline with interrupts off, arm the timer, enter. */
	while (f->left) {
		u64 d;

		irq_disable();
		if (sched_should_stop(deadline) || (f->quantum && ran >= f->quantum)) {
			irq_enable();
			return f->last_stop = SCHED_PREEMPT;
		}
		sched_arm_timer(deadline);
		d = sim_guest(f->quantum ? MIN(f->left, f->quantum - ran) : f->left);
		f->left -= d;
		ran += d;
		irq_enable(); /* the interrupt that ended the guest's run, if any, is taken here */
	}
	if (++f->step < f->nr_steps)
		f->left = f->script[f->step].work;
	if (st->stop == SCHED_BLOCK) {
		if (st->kick_before_prepare)
			sched_kick(e);
		sched_prepare_block(e);
		if (st->kick_after_prepare)
			sched_kick(e);
		f->wake = st->wake ? sim.t0 + st->wake : 0;
		f->blocks++;
	}
	return f->last_stop = st->stop;
}

static u64 fake_wake_time(struct sched_entity *e)
{
	struct fake *f = fake_of(e);

	audit(f, OP_WAKE_TIME);
	if (f->last_stop != SCHED_BLOCK)
		sim_violation("wake_time of %s, which did not block", f->name);
	return f->wake;
}

static void fake_load(struct sched_entity *e)
{
	struct fake *f = fake_of(e);

	audit(f, OP_LOAD);
	if (f->loaded || sim.held)
		sim_violation("%s loaded while the CPU holds %s", f->name,
			      sim.held ? ((struct fake *)sim.held)->name : "");
	if (last_unloaded == f && sim.halts == halts_at_unload)
		f->needless_reloads++;
	f->loaded = true;
	sim.held = f;
}

static void fake_unload(struct sched_entity *e)
{
	struct fake *f = fake_of(e);

	audit(f, OP_UNLOAD);
	if (!f->loaded || sim.held != f)
		sim_violation("%s unloaded but not loaded", f->name);
	f->loaded = false;
	sim.held = NULL;
	last_unloaded = f;
	halts_at_unload = sim.halts;
}

static void fake_retire(struct sched_entity *e)
{
	struct fake *f = fake_of(e);

	audit(f, OP_RETIRE);
	if (f->retired)
		return;
	if (f->loaded)
		sim_violation("%s retired with its state still loaded", f->name);
	if (f->last_stop != SCHED_DONE)
		sim_violation("%s retired without returning SCHED_DONE", f->name);
	f->retired = true;
	f->retired_at = sim.now;
	if (f->respawn && sched_entity_add(&f->respawn->se))
		sim_violation("%s could not be added from %s's retire", f->respawn->name, f->name);
}

static const struct sched_ops fake_ops = {
	.run = fake_run,
	.wake_time = fake_wake_time,
	.load = fake_load,
	.unload = fake_unload,
	.retire = fake_retire,
};

static void fake(struct fake *f, const char *name, const struct step *script, u32 nr_steps)
{
	assert_true(nr_fakes < MAX_FAKES && nr_steps <= MAX_STEPS);
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->script = script;
	f->nr_steps = nr_steps;
	f->left = script[0].work;
	f->last_stop = SCHED_PREEMPT;
	f->se.id = nr_fakes;
	f->se.weight = SCHED_WEIGHT_UNIT;
	f->se.affinity = 1; /* CPU 0 */
	f->se.cpu = -1;
	fakes[nr_fakes++] = f;
}

#define FAKE(f, ...)                                                  \
	do {                                                          \
		static const struct step script_[] = { __VA_ARGS__ }; \
		fake(&f, #f, script_, (u32)ARRAY_SIZE(script_));      \
	} while (0)

static void kick(void *arg)
{
	sched_kick(&((struct fake *)arg)->se);
}

/* After a hang: every entity not yet retired is kicked and ends at its next run (sim.ending),
 * so the loop returns and the next test starts with an empty scheduler. */
static void end_all(void)
{
	for (u32 i = 0; i < nr_fakes; i++)
		if (!fakes[i]->retired)
			sched_kick(&fakes[i]->se);
}

static int setup(void **state)
{
	sim_reset();
	sim.on_hang = end_all;
	nr_fakes = 0;
	nr_calls = 0;
	last_unloaded = NULL;
	return 0;
}

/* Adds the fakes (those added from a retire are not added here), runs CPU 0's loop until it
 * returns, and checks what holds for every test: no broken rule, no hang, each fake retired
 * exactly once and nothing left loaded. */
static void run_loop(u32 nr_added)
{
	sched_setup(&fake_ops);
	for (u32 i = 0; i < nr_added; i++)
		assert_int_equal(sched_entity_add(&fakes[i]->se), 0);
	sched_cpu_loop();
	sim_check();
	for (u32 i = 0; i < nr_fakes; i++) {
		assert_true(fakes[i]->retired);
		assert_int_equal(fakes[i]->calls[OP_RETIRE], 1);
	}
	assert_null(sim.held);
}

/* 1. Block with a deadline: not run again before its wake time, run at once when it comes. */
static void test_block_until_wake_time_idle(void **state)
{
	struct fake a;

	/* 3.5 s: longer than the timer is armed for at once (1 s, MAX_TIMER_WAIT in sched.c). */
	FAKE(a, { .work = 100 * US, .stop = SCHED_BLOCK, .wake = 3500 * MS }, { .work = 100 * US, .stop = SCHED_DONE });
	run_loop(1);
	assert_int_equal(a.blocks, 1);
	assert_true(a.step_at[1] >= sim.t0 + 3500 * MS);
	assert_true(a.step_at[1] <= sim.t0 + 3500 * MS + 1 * US);
}

/* The same while b keeps the CPU busy: a's wake time in the middle of one of b's slices. */
static void block_while_busy(u64 quantum)
{
	struct fake a, b;

	FAKE(a, { .work = 100 * US, .stop = SCHED_BLOCK, .wake = 12300 * US },
	     { .work = 100 * US, .stop = SCHED_DONE });
	FAKE(b, { .work = 40 * MS, .stop = SCHED_DONE });
	b.quantum = quantum;
	run_loop(2);
	assert_true(a.step_at[1] >= sim.t0 + 12300 * US);
	assert_true(a.step_at[1] <= sim.t0 + 12300 * US + 1 * US);
}

/* b would run to its slice's end: its run's deadline must be a's wake time. */
static void test_block_until_wake_time_busy(void **state)
{
	block_while_busy(0);
}

/* b gives the CPU back every 100 us: of the many decisions before a's wake time, none wakes it. */
static void test_block_not_woken_early(void **state)
{
	block_while_busy(100 * US);
}

/* 2. Wake by event: blocked with no wake time, it stays blocked while time passes (another
 * entity running, then the CPU idle), and runs as soon as it is kicked. */
static void test_kick_wakes_blocked(void **state)
{
	struct fake a, b;

	FAKE(a, { .work = 100 * US, .stop = SCHED_BLOCK }, { .work = 100 * US, .stop = SCHED_BLOCK },
	     { .work = 100 * US, .stop = SCHED_DONE });
	FAKE(b, { .work = 50 * MS, .stop = SCHED_DONE });
	sim_at(sim.t0 + 12300 * US, kick, &a); /* while b runs */
	sim_at(sim.t0 + 2 * S, kick, &a);      /* while the CPU is idle */
	run_loop(2);
	assert_int_equal(a.step_at[1], sim.t0 + 12300 * US);
	assert_int_equal(a.step_at[2], sim.t0 + 2 * S);
	/* b ended at about 50 ms: from there the CPU slept, no timer armed, until the kick. */
	assert_int_equal(sim.halts, 1);
	assert_int_equal(sim.untimed_halts, 1);
}

/* 3. No lost wake-up: a kick after sched_prepare_block() keeps the entity from blocking. */
static void test_kick_after_prepare_block(void **state)
{
	struct fake a;

	FAKE(a, { .work = 100 * US, .stop = SCHED_BLOCK, .kick_after_prepare = true },
	     { .work = 100 * US, .stop = SCHED_DONE });
	run_loop(1);
	assert_int_equal(a.blocks, 1);
	assert_int_equal(a.step_at[1], sim.t0 + 100 * US); /* at once */
	assert_int_equal(a.se.block_ns, 0);
	assert_int_equal(sim.halts, 0);
}

/* ...but a kick before sched_prepare_block() is stale: the entity blocks until the next one. */
static void test_kick_before_prepare_block(void **state)
{
	struct fake a;

	FAKE(a, { .work = 100 * US, .stop = SCHED_BLOCK, .kick_before_prepare = true },
	     { .work = 100 * US, .stop = SCHED_DONE });
	sim_at(sim.t0 + 1 * S, kick, &a);
	run_loop(1);
	assert_int_equal(a.step_at[1], sim.t0 + 1 * S);
	assert_int_equal(sim.untimed_halts, 1);
}

/* 4. No polling: while blocked, an entity's ops are not called (but one unload as it leaves the
 * CPU); wake_time is asked once, as it blocks. The idle CPU wakes only for a wake time. */
static void test_blocked_not_polled(void **state)
{
	struct fake a, b, c, *blocked[] = { &a, &c };

	FAKE(a, { .work = 100 * US, .stop = SCHED_BLOCK, .wake = 3500 * MS }, { .work = 100 * US, .stop = SCHED_DONE });
	FAKE(b, { .work = 1 * S, .stop = SCHED_DONE }); /* 200 slices while a and c are blocked */
	FAKE(c, { .work = 100 * US, .stop = SCHED_BLOCK }, { .work = 100 * US, .stop = SCHED_DONE });
	sim_at(sim.t0 + 5 * S, kick, &c);
	run_loop(3);
	for (u32 i = 0; i < ARRAY_SIZE(blocked); i++) {
		struct fake *f = blocked[i];

		assert_int_equal(f->blocks, 1);
		assert_int_equal(f->calls[OP_WAKE_TIME], 1);
		assert_int_equal(f->while_blocked[OP_RUN], 0);
		assert_int_equal(f->while_blocked[OP_WAKE_TIME], 0);
		assert_int_equal(f->while_blocked[OP_LOAD], 0);
		assert_int_equal(f->while_blocked[OP_RETIRE], 0);
		assert_true(f->while_blocked[OP_UNLOAD] <= 1);
	}
	assert_true(a.step_at[1] >= sim.t0 + 3500 * MS);
	assert_int_equal(c.step_at[1], sim.t0 + 5 * S);
	/* Idle from b's end (~1 s) to a's wake time (3.5 s): the timer is armed for at most 1 s at
	 * a time (MAX_TIMER_WAIT in sched.c), so 3 halts; then one untimed halt until c's kick. */
	assert_true(sim.halts <= 4);
	assert_int_equal(sim.untimed_halts, 1);
}

/* 5. SCHED_DONE: retire exactly once, never run again; the loop returns only when every entity
 * has ended, those added from a retire (a restarted VM) included, not while one is blocked. */
static void test_done_retires_once(void **state)
{
	struct fake a, b, c, d;

	FAKE(a, { .work = 2 * MS, .stop = SCHED_DONE });
	FAKE(b, { .work = 100 * US, .stop = SCHED_BLOCK }, { .work = 3 * MS, .stop = SCHED_DONE });
	FAKE(c, { .work = 12 * MS, .stop = SCHED_DONE });
	FAKE(d, { .work = 1 * MS, .stop = SCHED_DONE });
	a.respawn = &d;
	sim_at(sim.t0 + 50 * MS, kick, &b); /* after a, c and d have ended */
	run_loop(3);
	for (u32 i = 0; i < nr_fakes; i++)
		assert_int_equal(fakes[i]->runs_after_done, 0);
	assert_int_equal(a.calls[OP_RUN], 1);
	assert_true(d.step_at[0] >= a.retired_at);
	assert_true(d.retired_at < sim.t0 + 50 * MS);
	/* The CPU idled with b blocked, and did not leave the loop. */
	assert_true(b.retired_at >= sim.t0 + 53 * MS);
}

/* 6. Load before the first run on the CPU, unload when it leaves the CPU (another entity runs,
 * the CPU idles, the entity ends), nothing reloaded while it stays. */
static void test_load_unload_pairs(void **state)
{
	struct fake a, b, c;

	FAKE(a, { .work = 12 * MS, .stop = SCHED_BLOCK, .wake = 35 * MS }, { .work = 3 * MS, .stop = SCHED_DONE });
	FAKE(b, { .work = 30 * MS, .stop = SCHED_BLOCK }, { .work = 1 * MS, .stop = SCHED_DONE });
	FAKE(c, { .work = 1 * MS, .stop = SCHED_BLOCK }, { .work = 1 * MS, .stop = SCHED_DONE });
	/* b blocks last, at about 46 ms: the CPU idles with b's state until it lets go of it. */
	sim_at(sim.t0 + 100 * MS, kick, &b);
	sim_at(sim.t0 + 100 * MS, kick, &c);
	run_loop(3);
	for (u32 i = 0; i < nr_fakes; i++) {
		struct fake *f = fakes[i];

		assert_int_equal(f->calls[OP_LOAD], f->calls[OP_UNLOAD]);
		assert_int_equal(f->needless_reloads, 0);
		assert_false(f->loaded);
	}
	assert_true(a.calls[OP_LOAD] >= 2); /* b ran between its two steps */
	assert_true(b.calls[OP_LOAD] >= 2);
	assert_int_equal(b.while_blocked[OP_UNLOAD], 1); /* as the CPU went idle */
	assert_int_equal(c.calls[OP_LOAD], 2);		 /* before and after the idle stretch */
	assert_int_equal(sim.halts, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_block_until_wake_time_idle, setup),
		cmocka_unit_test_setup(test_block_until_wake_time_busy, setup),
		cmocka_unit_test_setup(test_block_not_woken_early, setup),
		cmocka_unit_test_setup(test_kick_wakes_blocked, setup),
		cmocka_unit_test_setup(test_kick_after_prepare_block, setup),
		cmocka_unit_test_setup(test_kick_before_prepare_block, setup),
		cmocka_unit_test_setup(test_blocked_not_polled, setup),
		cmocka_unit_test_setup(test_done_retires_once, setup),
		cmocka_unit_test_setup(test_load_unload_pairs, setup),
	};

	return cmocka_run_group_tests_name("scheduler mechanism", tests, NULL, NULL);
}

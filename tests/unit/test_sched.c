/* SPDX-License-Identifier: MIT */
/* The vCPU scheduling policy on a simulated clock: shares by weight, caps, affinity, starvation,
 * wake-up latency and balancing. */
#include "shim.h"

#include <stdio.h>
#include <string.h>

#include "kernel/sched_policy.h"

#define MS     1000000ull
#define US     1000ull
#define SLICE  (10 * MS)
#define PERIOD (100 * MS)

static struct sched s;

/* Runs every CPU until `end`: each runs its pick until the pick's deadline, then picks again.
 * Balancing and the accounting period happen on their own schedule, as the real ticks would. */
static void simulate(u64 start, u64 end, void (*pinned_check)(void))
{
	u64 now = start, next_balance = start;

	for (u32 c = 0; c < s.nr_cpus; c++)
		sched_pick(&s, c, now);
	while (now < end) {
		u64 next = end;

		for (u32 c = 0; c < s.nr_cpus; c++) {
			u64 d = sched_deadline(&s, c);

			if (d <= now || !s.cpu[c].curr) {
				sched_pick(&s, c, now);
				d = sched_deadline(&s, c);
			}
			if (d == ~0ull)
				d = now + MS; /* idle CPUs look again every ms (a throttled entity may refill) */
			next = MIN(next, d);
		}
		next = MIN(next, s.period_start_ns + PERIOD);
		next = MIN(next, next_balance);
		now = MAX(next, now + 1);
		sched_period(&s, now);
		if (now >= next_balance) {
			sched_balance(&s, now);
			next_balance = now + 50 * MS;
		}
		if (pinned_check)
			pinned_check();
	}
	for (u32 c = 0; c < s.nr_cpus; c++)
		sched_pick(&s, c, end); /* charge the last runs */
}

static void entity(struct sched_entity *e, u32 id, u32 weight, u32 cap, u64 affinity)
{
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->weight = weight;
	e->cap_pct = cap;
	e->affinity = affinity;
	e->cpu = -1;
}

static void test_weights_1_1_2_4(void **state)
{
	/* The scenario: 4 VMs x 2 vCPUs on 2 CPUs, VM weights 1:1:2:4. */
	static const u32 w[4] = { 1, 1, 2, 4 };
	struct sched_entity e[8];
	u64 total = 0, vm_run[4] = { 0 };

	sched_init(&s, 2, SLICE, PERIOD, 0);
	for (int i = 0; i < 8; i++) {
		entity(&e[i], (u32)i, w[i / 2] * SCHED_WEIGHT_UNIT, 0, 3);
		assert_int_equal(sched_add(&s, &e[i], 0), 0);
	}
	simulate(0, 20000 * MS, NULL);
	for (int i = 0; i < 8; i++) {
		vm_run[i / 2] += e[i].run_ns;
		total += e[i].run_ns;
	}
	assert_true(total > 2 * 19900 * MS); /* both CPUs busy all the time */
	for (int v = 0; v < 4; v++) {
		double want = (double)w[v] / 8.0, got = (double)vm_run[v] / (double)total;

		print_message("vm %d: share %.4f, want %.4f\n", v, got, want);
		assert_true(got > want * 0.95 && got < want * 1.05);
	}
}

static void test_cap(void **state)
{
	struct sched_entity capped, other;

	sched_init(&s, 1, SLICE, PERIOD, 0);
	entity(&capped, 1, SCHED_WEIGHT_UNIT * 8, 25, 1);
	assert_int_equal(sched_add(&s, &capped, 0), 0);
	simulate(0, 5000 * MS, NULL);
	/* Alone on an otherwise idle CPU, still at most 25%. */
	assert_true(capped.run_ns <= 5000 * MS / 4 + MS);
	assert_true(capped.run_ns >= 5000 * MS / 4 - 2 * PERIOD / 4);
	/* With a competitor of lower weight, the cap still binds and the rest goes to the other. */
	entity(&other, 2, SCHED_WEIGHT_UNIT, 0, 1);
	assert_int_equal(sched_add(&s, &other, 5000 * MS), 0);
	capped.run_ns = 0;
	simulate(5000 * MS, 10000 * MS, NULL);
	assert_true(capped.run_ns <= 5000 * MS / 4 + MS);
	assert_true(other.run_ns >= 5000 * MS * 3 / 4 - 2 * MS);
}

static struct sched_entity pin[6];

static void check_pins(void)
{
	assert_int_equal(pin[0].cpu, 1);
	assert_int_equal(pin[1].cpu, 1);
	assert_int_equal(pin[2].cpu, 3);
}

/* A VM's cap is shared by its vCPUs: two capped at 50% together on two idle CPUs stay at 50% of
 * one CPU in total, although both run at once (each gets its part of what is left). */
static void test_group_cap(void **state)
{
	struct sched_cap vm_cap = { .pct = 50 };
	struct sched_entity a, b;

	sched_init(&s, 2, SLICE, PERIOD, 0);
	entity(&a, 1, SCHED_WEIGHT_UNIT, 50, 3);
	entity(&b, 2, SCHED_WEIGHT_UNIT, 50, 3);
	a.group = b.group = &vm_cap;
	assert_int_equal(sched_add(&s, &a, 0), 0);
	assert_int_equal(sched_add(&s, &b, 0), 0);
	assert_int_not_equal(a.cpu, b.cpu);
	simulate(0, 5000 * MS, NULL);
	/* No overrun beyond the simulation's 1 ms step (it was one period's budget before the split). */
	assert_true(a.run_ns + b.run_ns <= 5000 * MS / 2 + MS);
	assert_true(a.run_ns + b.run_ns >= 5000 * MS / 2 - PERIOD);
	/* Both got a fair part of it. */
	assert_true(a.run_ns > 5000 * MS / 8 && b.run_ns > 5000 * MS / 8);
}

/* Time spent for a VM before its vCPUs join (rebuilding it after a reset) is debt of its cap:
 * a VM that resets in a loop cannot get its rebuilds for free outside its cap. */
static void test_charged_before_start(void **state)
{
	struct sched_cap vm_cap = { .pct = 10, .charged_ns = 25 * MS };
	struct sched_entity e;

	sched_init(&s, 1, SLICE, PERIOD, 0);
	entity(&e, 1, SCHED_WEIGHT_UNIT, 10, 1);
	e.group = &vm_cap;
	assert_int_equal(sched_add(&s, &e, 0), 0);
	/* 10 ms of budget minus 25 ms spent: throttled for this period and the next. */
	assert_true(sched_throttled(&e));
	assert_null(sched_pick(&s, 0, 0));
	sched_period(&s, PERIOD);
	assert_null(sched_pick(&s, 0, PERIOD));
	sched_period(&s, 2 * PERIOD);
	assert_ptr_equal(sched_pick(&s, 0, 2 * PERIOD), &e);
	assert_int_equal(sched_deadline(&s, 0), 2 * PERIOD + 5 * MS);
	/* Without a cap the charge changes nothing. */
	vm_cap = (struct sched_cap){ .charged_ns = 25 * MS };
	entity(&e, 1, SCHED_WEIGHT_UNIT, 0, 1);
	e.group = &vm_cap;
	sched_init(&s, 1, SLICE, PERIOD, 0);
	assert_int_equal(sched_add(&s, &e, 0), 0);
	assert_false(sched_throttled(&e));
}

/* An overrun (a late timer) is debt: the next period's budget is smaller by as much. */
/* Issue 12: the time a CPU spends switching to an entity, and waking from idle for it, is that
 * entity's (its cap bounds it); idle time is nobody's. */
static void test_switch_and_wake_charged_to_incoming(void **state)
{
	struct sched_entity a, b;

	sched_init(&s, 1, SLICE, PERIOD, 0);
	entity(&a, 1, SCHED_WEIGHT_UNIT, 0, 1);
	entity(&b, 2, SCHED_WEIGHT_UNIT, 0, 1);
	assert_int_equal(sched_add(&s, &a, 0), 0);
	assert_int_equal(sched_add(&s, &b, 0), 0);
	assert_ptr_equal(sched_pick(&s, 0, 0), &a);
	/* a blocks at 1 ms; the CPU picks b at 1.3 ms: b's run starts at 1 ms. */
	sched_block(&s, 0, 1 * MS);
	assert_ptr_equal(sched_pick(&s, 0, 1 * MS + 300 * US), &b);
	assert_int_equal(sched_deadline(&s, 0), 1 * MS + SLICE);
	sched_block(&s, 0, 3 * MS);
	assert_int_equal(a.run_ns, 1 * MS);
	assert_int_equal(b.run_ns, 2 * MS);
	assert_int_equal(b.wait_ns, 1 * MS);
	/* Nothing runnable: idle from 3.2 ms; woken at 10 ms for a, picked at 10.4 ms: a pays from 10 ms,
	 * none of the idle time. */
	assert_null(sched_pick(&s, 0, 3 * MS + 200 * US));
	assert_int_equal(sched_wake(&s, &a, 9 * MS), 0);
	sched_cpu_woke(&s, 0, 10 * MS);
	assert_ptr_equal(sched_pick(&s, 0, 10 * MS + 400 * US), &a);
	sched_block(&s, 0, 11 * MS);
	assert_int_equal(a.run_ns, 2 * MS);
	/* Woken during the switch: charged from when it became runnable, not before. */
	assert_int_equal(sched_wake(&s, &b, 11 * MS + 100 * US), 0);
	assert_ptr_equal(sched_pick(&s, 0, 11 * MS + 300 * US), &b);
	sched_block(&s, 0, 12 * MS);
	assert_int_equal(b.run_ns, 2 * MS + 900 * US);
	/* A CPU that wakes and finds nothing charges nobody, later. */
	sched_cpu_woke(&s, 0, 20 * MS);
	assert_null(sched_pick(&s, 0, 20 * MS + 100 * US));
	assert_int_equal(sched_wake(&s, &a, 30 * MS), 0);
	assert_ptr_equal(sched_pick(&s, 0, 30 * MS), &a);
	sched_block(&s, 0, 31 * MS);
	assert_int_equal(a.run_ns, 3 * MS);
}

static void test_cap_overrun_is_debt(void **state)
{
	struct sched_entity e;

	sched_init(&s, 1, SLICE, PERIOD, 0);
	entity(&e, 1, SCHED_WEIGHT_UNIT, 10, 1);
	assert_int_equal(sched_add(&s, &e, 0), 0);
	assert_ptr_equal(sched_pick(&s, 0, 0), &e);
	assert_int_equal(sched_deadline(&s, 0), 10 * MS); /* 10% of 100 ms */
	/* The CPU noticed 3 ms late. */
	assert_null(sched_pick(&s, 0, 13 * MS));
	assert_true(sched_throttled(&e));
	sched_period(&s, PERIOD);
	assert_ptr_equal(sched_pick(&s, 0, PERIOD), &e);
	assert_int_equal(sched_deadline(&s, 0), PERIOD + 7 * MS);
	/* A debt larger than a whole budget skips a period. */
	assert_null(sched_pick(&s, 0, PERIOD + 25 * MS));
	sched_period(&s, 2 * PERIOD);
	assert_null(sched_pick(&s, 0, 2 * PERIOD));
	sched_period(&s, 3 * PERIOD);
	assert_ptr_equal(sched_pick(&s, 0, 3 * PERIOD), &e);
	assert_int_equal(sched_deadline(&s, 0), 3 * PERIOD + 2 * MS);
}

/* An entity that joins a queue whose others are all blocked starts at the queue's clock, not at
 * 0: when they wake they share at once instead of waiting for it to catch up on their past. */
static void test_join_while_others_sleep(void **state)
{
	struct sched_entity a, b;
	u64 a_before;

	sched_init(&s, 2, SLICE, PERIOD, 0);
	entity(&a, 1, SCHED_WEIGHT_UNIT, 0, 2);
	assert_int_equal(sched_add(&s, &a, 0), 0);
	assert_ptr_equal(sched_pick(&s, 1, 0), &a);
	sched_block(&s, 1, 1000 * MS); /* ran 1 s alone, then sleeps */
	entity(&b, 2, SCHED_WEIGHT_UNIT, 0, 2);
	assert_int_equal(sched_add(&s, &b, 1000 * MS), 0);
	assert_int_equal(b.vruntime, a.vruntime);
	assert_int_equal(sched_wake(&s, &a, 1001 * MS), 1); /* its CPU is idle: kick it */
	a_before = a.run_ns;
	simulate(1001 * MS, 1201 * MS, NULL);
	/* Both get about half of the 200 ms. */
	assert_true(a.run_ns - a_before >= 80 * MS);
	assert_true(b.run_ns >= 80 * MS);
}

/* Moving between queues keeps an entity's lag against the new clock, bounded: a long history
 * on a busy queue does not become a long wait on an idle one. */
static void test_move_places_relative(void **state)
{
	struct sched_entity e[3];

	sched_init(&s, 2, SLICE, PERIOD, 0);
	for (u32 i = 0; i < 3; i++) {
		entity(&e[i], i + 1, SCHED_WEIGHT_UNIT, 0, 3);
		assert_int_equal(sched_add(&s, &e[i], 0), 0);
	}
	simulate(0, 1000 * MS, NULL);
	for (u32 c = 0; c < 2; c++) {
		u64 m = s.cpu[c].min_vruntime;

		for (u32 i = 0; i < s.cpu[c].nr; i++) {
			const struct sched_entity *x = s.cpu[c].rq[i];

			assert_true(x->vruntime + SLICE >= m);
			assert_true(x->vruntime <= m + 2 * SLICE * SCHED_WEIGHT_UNIT / x->weight + SLICE);
		}
	}
}

static void test_affinity(void **state)
{
	sched_init(&s, 4, SLICE, PERIOD, 0);
	entity(&pin[0], 0, SCHED_WEIGHT_UNIT, 0, 1u << 1);
	entity(&pin[1], 1, SCHED_WEIGHT_UNIT, 0, 1u << 1);
	entity(&pin[2], 2, SCHED_WEIGHT_UNIT * 4, 0, 1u << 3);
	for (int i = 3; i < 6; i++)
		entity(&pin[i], (u32)i, SCHED_WEIGHT_UNIT, 0, 0xf);
	for (int i = 0; i < 6; i++)
		assert_int_equal(sched_add(&s, &pin[i], 0), 0);
	simulate(0, 2000 * MS, check_pins);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pin[i].migrations, 0);
	/* No allowed CPU at all. */
	struct sched_entity nowhere;

	entity(&nowhere, 9, SCHED_WEIGHT_UNIT, 0, 1u << 7);
	assert_int_equal(sched_add(&s, &nowhere, 0), -EINVAL);
	entity(&nowhere, 9, 0, 0, 1);
	assert_int_equal(sched_add(&s, &nowhere, 0), -EINVAL);
}

static void test_no_starvation(void **state)
{
	struct sched_entity heavy, light;
	u64 last_run = 0, worst_gap = 0, now;

	sched_init(&s, 1, SLICE, PERIOD, 0);
	entity(&heavy, 1, 65535, 0, 1);
	entity(&light, 2, 1, 0, 1);
	sched_add(&s, &heavy, 0);
	sched_add(&s, &light, 0);
	for (now = 0; now < 100000 * MS; now += SLICE) {
		struct sched_entity *e = sched_pick(&s, 0, now);

		if (e == &light) {
			worst_gap = MAX(worst_gap, now - last_run);
			last_run = now;
		}
	}
	sched_pick(&s, 0, now);
	/* 1 : 65535 still runs, within a bounded wait (its weight ratio in slices). */
	assert_true(light.run_ns > 0);
	assert_true(worst_gap <= 65536 * SLICE);
}

static void test_wakeup_latency(void **state)
{
	struct sched_entity sleeper, spinner;
	struct sched_entity *e;

	sched_init(&s, 1, SLICE, PERIOD, 0);
	entity(&sleeper, 1, SCHED_WEIGHT_UNIT, 0, 1);
	entity(&spinner, 2, SCHED_WEIGHT_UNIT, 0, 1);
	sched_add(&s, &sleeper, 0);
	sched_add(&s, &spinner, 0);
	e = sched_pick(&s, 0, 0);
	assert_ptr_equal(e, &sleeper);
	sched_block(&s, 0, 1 * MS);
	assert_ptr_equal(sched_pick(&s, 0, 1 * MS), &spinner);
	/* The spinner runs a long time alone; the sleeper's wake preempts it at once... */
	for (u64 t = 1 * MS; t < 1000 * MS; t += SLICE)
		assert_ptr_equal(sched_pick(&s, 0, t), &spinner);
	assert_int_equal(sched_wake(&s, &sleeper, 1000 * MS), 0);
	assert_ptr_equal(sched_pick(&s, 0, 1000 * MS), &sleeper);
	/* ...but the credit from sleeping is bounded: within two slices the spinner runs again. */
	bool spinner_back = false;

	for (u64 t = 1000 * MS + SLICE; t <= 1000 * MS + 2 * SLICE; t += SLICE)
		spinner_back |= sched_pick(&s, 0, t) == &spinner;
	assert_true(spinner_back);
	assert_true(sleeper.block_ns == 999 * MS);
	/* Waking something runnable is a no-op. */
	assert_int_equal(sched_wake(&s, &spinner, 1100 * MS), -1);
}

/* dm ran a slice and a half, then blocked; `other` runs now, `spinner` waits. */
static void boost_history(struct sched_entity *dm, struct sched_entity *other, struct sched_entity *spinner)
{
	sched_init(&s, 1, SLICE, PERIOD, 0);
	entity(dm, 1, SCHED_WEIGHT_UNIT, 0, 1);
	entity(other, 2, SCHED_WEIGHT_UNIT, 0, 1);
	entity(spinner, 3, SCHED_WEIGHT_UNIT, 0, 1);
	sched_add(&s, dm, 0);
	sched_add(&s, other, 0);
	sched_add(&s, spinner, 0);
	assert_ptr_equal(sched_pick(&s, 0, 0), dm);
	sched_block(&s, 0, 3 * SLICE / 2);
	assert_ptr_equal(sched_pick(&s, 0, 3 * SLICE / 2), other);
}

static void test_wakeup_boost(void **state)
{
	struct sched_entity dm, other, spinner, lone;
	const u64 t = 3 * SLICE / 2 + MS;

	/* A plain wake-up queues dm behind both (its virtual time is ahead): it waits. */
	boost_history(&dm, &other, &spinner);
	assert_int_equal(sched_wake(&s, &dm, t), -1);
	assert_ptr_not_equal(sched_pick(&s, 0, t), &dm);
	/* Boosted: at the head, and the running entity is preempted at once. */
	boost_history(&dm, &other, &spinner);
	assert_int_equal(sched_boost(&s, &dm, t), 0);
	assert_int_equal(dm.state, SE_RUNNABLE);
	assert_ptr_equal(sched_pick(&s, 0, t), &dm);
	/* Running: nothing to do. */
	assert_int_equal(sched_boost(&s, &dm, t + MS), -1);
	/* The credit is bounded as a sleeper's: both others run again within two slices. */
	bool other_back = false, spinner_back = false;

	for (u64 now = t + SLICE; now <= t + 3 * SLICE; now += SLICE) {
		struct sched_entity *e = sched_pick(&s, 0, now);

		other_back |= e == &other;
		spinner_back |= e == &spinner;
	}
	assert_true(other_back && spinner_back);
	/* Not queued: nothing. */
	entity(&lone, 9, SCHED_WEIGHT_UNIT, 0, 1);
	assert_int_equal(sched_boost(&s, &lone, t), -1);
}

static void test_balancing_converges(void **state)
{
	struct sched_entity e[8];
	int moves = 0;

	sched_init(&s, 4, SLICE, PERIOD, 0);
	/* Everything starts on CPU 0 (as if added while the others were offline). */
	s.nr_cpus = 1;
	for (int i = 0; i < 8; i++) {
		entity(&e[i], (u32)i, SCHED_WEIGHT_UNIT, 0, 0xf);
		sched_add(&s, &e[i], 0);
	}
	s.nr_cpus = 4;
	while (sched_balance(&s, 0))
		assert_true(++moves <= 8);
	for (u32 c = 0; c < 4; c++)
		assert_int_equal(sched_load(&s, c), 2 * SCHED_WEIGHT_UNIT);
	assert_int_equal(moves, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weights_1_1_2_4),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_group_cap),
		cmocka_unit_test(test_cap_overrun_is_debt),
		cmocka_unit_test(test_charged_before_start),
		cmocka_unit_test(test_switch_and_wake_charged_to_incoming),
		cmocka_unit_test(test_join_while_others_sleep),
		cmocka_unit_test(test_move_places_relative),
		cmocka_unit_test(test_affinity),
		cmocka_unit_test(test_no_starvation),
		cmocka_unit_test(test_wakeup_latency),
		cmocka_unit_test(test_wakeup_boost),
		cmocka_unit_test(test_balancing_converges),
	};

	return cmocka_run_group_tests_name("scheduling policy", tests, NULL, NULL);
}
